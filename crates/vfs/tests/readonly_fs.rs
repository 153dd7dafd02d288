//! The trait defaults, seen through a minimal read-only file system shaped
//! like the kernel's rofs adapter: an immutable image, a fresh inode object
//! per lookup (identity is `(fs_id, ino)`), positional directory cursors,
//! and only the read-side methods implemented. Also a ramfs mounted on it.

mod common;

use std::any::Any;
use std::sync::Arc;

use oxv_vfs::node::{
    alloc_fs_id, makedev, read_all, read_dir_all, FileType, O_CREAT, O_RDONLY, O_RDWR, O_TRUNC,
    O_WRONLY, SQUASHFS_MAGIC, ST_RDONLY, S_IFDIR, S_IFLNK, S_IFREG,
};
use oxv_vfs::{
    DirCursor, DirEntry, Errno, Inode, InodeRef, Metadata, MountTable, OpenRequest, Resolver,
    StatFs,
};

struct Node {
    mode: u32,
    parent: usize,
    children: Vec<(&'static str, usize)>,
    data: &'static [u8],
}

struct Image {
    fs_id: u64,
    nodes: Vec<Node>,
}

/// One inode of the image; made afresh on every lookup.
struct RoInode {
    img: Arc<Image>,
    idx: usize,
}

impl RoInode {
    fn node(&self) -> &Node {
        &self.img.nodes[self.idx]
    }
    fn at(&self, idx: usize) -> InodeRef {
        Arc::new(RoInode {
            img: self.img.clone(),
            idx,
        })
    }
}

impl Inode for RoInode {
    fn metadata(&self) -> Metadata {
        let n = self.node();
        Metadata {
            ino: self.idx as u64 + 1,
            dev: self.img.fs_id,
            mode: n.mode,
            nlink: 1,
            size: n.data.len() as u64,
            blksize: 4096,
            ..Metadata::default()
        }
    }
    fn fs_id(&self) -> u64 {
        self.img.fs_id
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn read_only(&self) -> bool {
        true
    }
    fn statfs(&self) -> StatFs {
        StatFs {
            fs_type: SQUASHFS_MAGIC,
            fsid: self.img.fs_id,
            flags: ST_RDONLY,
            ..StatFs::default()
        }
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if self.file_type() != FileType::Regular {
            return Err(if self.file_type() == FileType::Directory {
                Errno::EISDIR
            } else {
                Errno::EINVAL
            });
        }
        let data = self.node().data;
        let off = (offset as usize).min(data.len());
        let n = buf.len().min(data.len() - off);
        buf[..n].copy_from_slice(&data[off..off + n]);
        Ok(n)
    }
    fn lookup(&self, name: &[u8]) -> Result<InodeRef, Errno> {
        if self.file_type() != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        if name == b".." {
            return Ok(self.at(self.node().parent));
        }
        self.node()
            .children
            .iter()
            .find(|(n, _)| n.as_bytes() == name)
            .map(|&(_, i)| self.at(i))
            .ok_or(Errno::ENOENT)
    }
    fn readlink(&self) -> Result<Vec<u8>, Errno> {
        if self.file_type() != FileType::Symlink {
            return Err(Errno::EINVAL);
        }
        Ok(self.node().data.to_vec())
    }
    fn read_dir(
        &self,
        cursor: &DirCursor,
        sink: &mut dyn FnMut(DirEntry) -> bool,
    ) -> Result<(), Errno> {
        if self.file_type() != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        let mut entries = Vec::new();
        if *cursor == DirCursor::Start {
            entries.push((b".".to_vec(), self.idx, DirCursor::Dot));
        }
        if matches!(cursor, DirCursor::Start | DirCursor::Dot) {
            entries.push((b"..".to_vec(), self.node().parent, DirCursor::DotDot));
        }
        let first = match cursor {
            DirCursor::Pos(p) => *p as usize,
            DirCursor::After(_) => return Err(Errno::EINVAL),
            _ => 0,
        };
        for (i, (name, idx)) in self.node().children.iter().enumerate().skip(first) {
            entries.push((name.as_bytes().to_vec(), *idx, DirCursor::Pos(i as u64 + 1)));
        }
        for (name, idx, next) in entries {
            let e = DirEntry {
                ino: idx as u64 + 1,
                kind: FileType::from_mode(self.img.nodes[idx].mode).unwrap(),
                name,
                next,
            };
            if !sink(e) {
                break;
            }
        }
        Ok(())
    }
}

/// `/` { bin/ { sh }, etc/ { motd }, tmp/, link -> etc/motd }
fn image() -> InodeRef {
    let dir = |parent, children| Node {
        mode: S_IFDIR | 0o755,
        parent,
        children,
        data: b"",
    };
    let file = |parent, data| Node {
        mode: S_IFREG | 0o644,
        parent,
        children: vec![],
        data,
    };
    let img = Arc::new(Image {
        fs_id: alloc_fs_id(),
        nodes: vec![
            dir(0, vec![("bin", 1), ("etc", 3), ("tmp", 5), ("link", 6)]),
            dir(0, vec![("sh", 2)]),
            file(1, b"\x7fELF"),
            dir(0, vec![("motd", 4)]),
            file(3, b"welcome\n"),
            dir(0, vec![]),
            Node {
                mode: S_IFLNK | 0o777,
                parent: 0,
                children: vec![],
                data: b"etc/motd",
            },
        ],
    });
    Arc::new(RoInode { img, idx: 0 })
}

fn open(r: &Resolver<'_>, root: &InodeRef, path: &str, flags: u32) -> Result<InodeRef, Errno> {
    r.open(
        root,
        path.as_bytes(),
        OpenRequest {
            flags,
            mode: 0o644,
            uid: 0,
            gid: 0,
        },
    )
    .map(|o| o.io)
}

#[test]
fn trait_defaults_give_linux_errors() {
    let root = image();
    let file = root.lookup(b"etc").unwrap().lookup(b"motd").unwrap();
    let link = root.lookup(b"link").unwrap();
    // Data operations.
    assert_eq!(file.write_at(0, b"x").err(), Some(Errno::EROFS));
    assert_eq!(file.append(b"x").err(), Some(Errno::EROFS));
    assert_eq!(file.truncate(0).err(), Some(Errno::EROFS));
    assert_eq!(file.allocate(0, 0, 1).err(), Some(Errno::EROFS));
    assert_eq!(root.write_at(0, b"x").err(), Some(Errno::EISDIR));
    assert_eq!(root.truncate(0).err(), Some(Errno::EISDIR));
    assert_eq!(root.allocate(0, 0, 1).err(), Some(Errno::EISDIR));
    assert_eq!(link.allocate(0, 0, 1).err(), Some(Errno::ENODEV));
    // Default SEEK_DATA/SEEK_HOLE: all data, hole at the end.
    assert_eq!(file.seek_data(3).unwrap(), 3);
    assert_eq!(file.seek_hole(3).unwrap(), 8);
    assert_eq!(file.seek_data(8).err(), Some(Errno::ENXIO));
    assert_eq!(file.seek_hole(9).err(), Some(Errno::ENXIO));
    // Directory operations.
    assert_eq!(root.create(b"n", 0o644, 0, 0).err(), Some(Errno::EROFS));
    assert_eq!(
        root.mknod(b"n", 0o644, makedev(1, 3), 0, 0).err(),
        Some(Errno::EROFS)
    );
    assert_eq!(root.mkdir(b"n", 0o755, 0, 0).err(), Some(Errno::EROFS));
    assert_eq!(root.symlink(b"n", b"t", 0, 0).err(), Some(Errno::EROFS));
    assert_eq!(root.unlink(b"link").err(), Some(Errno::EROFS));
    assert_eq!(root.rmdir(b"tmp").err(), Some(Errno::EROFS));
    assert_eq!(root.link(b"n", &file).err(), Some(Errno::EROFS));
    assert_eq!(root.link(b"n", &root).err(), Some(Errno::EPERM));
    assert_eq!(file.create(b"n", 0o644, 0, 0).err(), Some(Errno::ENOTDIR));
    assert_eq!(file.mkdir(b"n", 0o755, 0, 0).err(), Some(Errno::ENOTDIR));
    assert_eq!(file.link(b"n", &file).err(), Some(Errno::ENOTDIR));
    assert_eq!(
        file.rename(b"a", &root, b"b", 0).err(),
        Some(Errno::ENOTDIR)
    );
    assert_eq!(
        root.rename(b"link", &root, b"l2", 0).err(),
        Some(Errno::EROFS)
    );
    let ram = common::ramfs();
    assert_eq!(
        root.rename(b"link", &ram.root(), b"l2", 0).err(),
        Some(Errno::EXDEV)
    );
    assert_eq!(
        root.link(b"n", &ram.root().create(b"f", 0o644, 0, 0).unwrap())
            .err(),
        Some(Errno::EXDEV)
    );
    // Attributes and misc.
    assert_eq!(file.set_mode(0o600).err(), Some(Errno::EROFS));
    assert_eq!(file.set_owner(Some(1), None).err(), Some(Errno::EROFS));
    assert_eq!(file.set_times(None, None).err(), Some(Errno::EROFS));
    assert_eq!(file.ioctl(0x5401, 0).err(), Some(Errno::ENOTTY));
    assert!(file.open(O_RDONLY).unwrap().is_none());
    assert_eq!(file.sync(), Ok(()));
    assert_eq!(file.ino(), 5);
    assert_eq!(file.file_type(), FileType::Regular);
    assert_eq!(root.statfs().flags, ST_RDONLY);
}

#[test]
fn resolution_and_ops_on_a_read_only_tree() {
    let root = image();
    let mounts = MountTable::new(root.clone(), "/dev/vda", "rofs", "", true);
    let r = Resolver::new(&mounts, &root);
    assert_eq!(
        read_all(&*r.resolve(&root, b"/link", true).unwrap()).unwrap(),
        b"welcome\n"
    );
    assert_eq!(r.readlink(&root, b"/link").unwrap(), b"etc/motd");
    let etc = r.resolve(&root, b"/bin/../etc", true).unwrap();
    assert_eq!(etc.ino(), 4);
    assert_eq!(r.resolve(&etc, b"../../..", true).unwrap().ino(), 1);
    assert_eq!(
        r.resolve(&root, b"/link/", true).err(),
        Some(Errno::ENOTDIR)
    );
    // Opening for reading works; anything that writes is EROFS, while
    // creation of an existing name is EEXIST first.
    assert!(open(&r, &root, "/etc/motd", O_RDONLY).is_ok());
    assert!(open(&r, &root, "/etc/motd", O_CREAT | O_RDONLY).is_ok());
    assert_eq!(
        open(&r, &root, "/etc/motd", O_WRONLY).err(),
        Some(Errno::EROFS)
    );
    assert_eq!(
        open(&r, &root, "/etc/motd", O_RDWR | O_TRUNC).err(),
        Some(Errno::EROFS)
    );
    assert_eq!(
        open(&r, &root, "/etc/new", O_CREAT | O_RDWR).err(),
        Some(Errno::EROFS)
    );
    assert_eq!(
        r.mkdir(&root, b"/etc", 0o755, 0, 0).err(),
        Some(Errno::EEXIST)
    );
    assert_eq!(
        r.mkdir(&root, b"/etc/x", 0o755, 0, 0).err(),
        Some(Errno::EROFS)
    );
    assert_eq!(r.unlink(&root, b"/etc/motd").err(), Some(Errno::EROFS));
    // Positional cursors work through the same read_dir contract.
    let names: Vec<Vec<u8>> = read_dir_all(&*root)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, [&b"."[..], b"..", b"bin", b"etc", b"tmp", b"link"]);
    let mut after_two = Vec::new();
    root.read_dir(&DirCursor::Pos(2), &mut |e| {
        after_two.push(e.name);
        true
    })
    .unwrap();
    assert_eq!(after_two, [b"tmp".to_vec(), b"link".to_vec()]);

    // A ramfs on /tmp of the read-only root: the mountpoint is matched by
    // (fs_id, ino) although every lookup makes a new inode object.
    let tmp = common::ramfs();
    let mp = r.resolve(&root, b"/tmp", true).unwrap();
    mounts
        .mount(&mp, "/tmp", tmp.root(), "tmpfs", "tmpfs", "", false)
        .unwrap();
    let o = open(&r, &root, "/tmp/scratch", O_CREAT | O_RDWR).unwrap();
    o.write_at(0, b"ok").unwrap();
    assert_eq!(
        read_all(&*r.resolve(&root, b"/bin/../tmp/scratch", true).unwrap()).unwrap(),
        b"ok"
    );
    assert_eq!(r.resolve(&root, b"/tmp/..", true).unwrap().ino(), 1);
    assert_eq!(
        r.rename(&root, b"/tmp/scratch", &root, b"/etc/scratch", 0)
            .err(),
        Some(Errno::EXDEV)
    );
    assert_eq!(
        r.link(&root, b"/etc/motd", &root, b"/tmp/motd", false)
            .err(),
        Some(Errno::EXDEV)
    );
    assert_eq!(r.rmdir(&root, b"/tmp").err(), Some(Errno::EROFS));
    mounts.set_read_only(root.fs_id(), false).unwrap();
    // Now the mount is writable, but the file system itself still is not,
    // and the mountpoint is busy.
    assert_eq!(r.rmdir(&root, b"/tmp").err(), Some(Errno::EROFS));
}
