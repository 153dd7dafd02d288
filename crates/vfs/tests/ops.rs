//! Path-level operations with Linux's errno choices: open, mkdir, mknod,
//! symlink, link, unlink, rmdir, rename (man 2 of each).

mod common;

use common::{same, World};
use oxv_vfs::node::{
    makedev, read_all, FileType, O_APPEND, O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_PATH,
    O_RDONLY, O_RDWR, O_TMPFILE, O_TRUNC, O_WRONLY, RENAME_EXCHANGE, RENAME_NOREPLACE,
    RENAME_WHITEOUT, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT,
};
use oxv_vfs::{Errno, OpenRequest, Opened};

fn open(w: &World, path: &str, flags: u32) -> Result<Opened, Errno> {
    w.r().open(
        &w.root,
        path.as_bytes(),
        OpenRequest {
            flags,
            mode: 0o640,
            uid: 7,
            gid: 8,
        },
    )
}

fn setup() -> World {
    let w = World::new();
    w.mkdir("/d").unwrap();
    w.mkdir("/d/sub").unwrap();
    w.write("/d/f", b"data").unwrap();
    w.symlink("/d/f", "/lf").unwrap();
    w.symlink("/d", "/ld").unwrap();
    w.symlink("/d/new-target", "/dangling").unwrap();
    w
}

#[test]
fn open_create_and_exclusive() {
    let w = setup();
    let o = open(&w, "/d/n", O_CREAT | O_WRONLY).unwrap();
    assert!(o.created);
    let m = o.inode.metadata();
    assert_eq!(m.mode, 0o100640);
    assert_eq!((m.uid, m.gid), (7, 8));
    // Existing, without and with O_EXCL.
    assert!(!open(&w, "/d/n", O_CREAT | O_WRONLY).unwrap().created);
    assert_eq!(
        open(&w, "/d/n", O_CREAT | O_EXCL).err(),
        Some(Errno::EEXIST)
    );
    // O_EXCL does not follow: even a dangling link is EEXIST.
    assert_eq!(
        open(&w, "/dangling", O_CREAT | O_EXCL).err(),
        Some(Errno::EEXIST)
    );
    // Without O_EXCL a dangling link creates its target.
    let o = open(&w, "/dangling", O_CREAT | O_RDWR).unwrap();
    assert!(o.created);
    assert!(same(&o.inode, &w.get("/d/new-target").unwrap()));
    // O_CREAT on a directory; trailing slash.
    assert_eq!(
        open(&w, "/d", O_CREAT | O_RDONLY).err(),
        Some(Errno::EISDIR)
    );
    assert_eq!(
        open(&w, "/d/x/", O_CREAT | O_RDWR).err(),
        Some(Errno::EISDIR)
    );
    assert_eq!(
        open(&w, "/d/f/", O_CREAT | O_RDWR).err(),
        Some(Errno::EISDIR)
    );
    assert_eq!(
        open(&w, "/d/.", O_CREAT | O_RDONLY).err(),
        Some(Errno::EISDIR)
    );
    assert_eq!(open(&w, "/d/nope/x", O_CREAT).err(), Some(Errno::ENOENT));
    assert_eq!(open(&w, "/d/f/x", O_CREAT).err(), Some(Errno::ENOTDIR));
    assert_eq!(
        open(&w, "/d/g", O_CREAT | O_DIRECTORY).err(),
        Some(Errno::EINVAL)
    );
    assert_eq!(
        open(&w, "/d", O_TMPFILE | O_RDWR).err(),
        Some(Errno::EOPNOTSUPP)
    );
}

#[test]
fn open_existing_checks() {
    let w = setup();
    assert_eq!(open(&w, "/nope", O_RDONLY).err(), Some(Errno::ENOENT));
    assert_eq!(open(&w, "/d/f/", O_RDONLY).err(), Some(Errno::ENOTDIR));
    assert_eq!(open(&w, "/d/f", O_DIRECTORY).err(), Some(Errno::ENOTDIR));
    assert!(open(&w, "/d", O_DIRECTORY).is_ok());
    assert!(open(&w, "/ld", O_DIRECTORY).is_ok());
    assert_eq!(open(&w, "/d", O_WRONLY).err(), Some(Errno::EISDIR));
    assert_eq!(open(&w, "/d", O_RDWR).err(), Some(Errno::EISDIR));
    assert_eq!(
        open(&w, "/d", O_RDONLY | O_TRUNC).err(),
        Some(Errno::EISDIR)
    );
    // O_NOFOLLOW: ELOOP on a final symlink, fine in the middle.
    assert_eq!(
        open(&w, "/lf", O_RDONLY | O_NOFOLLOW).err(),
        Some(Errno::ELOOP)
    );
    assert!(open(&w, "/ld/f", O_RDONLY | O_NOFOLLOW).is_ok());
    assert_eq!(
        open(&w, "/lf", O_CREAT | O_NOFOLLOW).err(),
        Some(Errno::ELOOP)
    );
    // O_PATH resolves only; with O_NOFOLLOW it yields the link itself.
    let o = open(&w, "/lf", O_PATH | O_NOFOLLOW).unwrap();
    assert_eq!(o.inode.file_type(), FileType::Symlink);
    assert_eq!(
        open(&w, "/d/f", O_PATH | O_DIRECTORY).err(),
        Some(Errno::ENOTDIR)
    );
    // O_TRUNC empties a regular file; O_APPEND is the fd layer's business.
    let o = open(&w, "/lf", O_WRONLY | O_TRUNC | O_APPEND).unwrap();
    assert_eq!(o.inode.metadata().size, 0);
    assert_eq!(o.io.append(b"ab").unwrap(), (0, 2));
    assert_eq!(o.io.append(b"cd").unwrap(), (2, 2));
    assert_eq!(w.read("/d/f").unwrap(), b"abcd");
}

#[test]
fn read_only_mount() {
    let w = setup();
    w.mounts.set_read_only(w.fs.fs_id(), true).unwrap();
    assert!(open(&w, "/d/f", O_RDONLY).is_ok());
    assert_eq!(open(&w, "/d/f", O_WRONLY).err(), Some(Errno::EROFS));
    assert_eq!(
        open(&w, "/d/f", O_RDONLY | O_TRUNC).err(),
        Some(Errno::EROFS)
    );
    assert_eq!(
        open(&w, "/d/new", O_CREAT | O_WRONLY).err(),
        Some(Errno::EROFS)
    );
    // Existing file with O_CREAT and read-only access is fine.
    assert!(open(&w, "/d/f", O_CREAT | O_RDONLY).is_ok());
    // Creation: EEXIST beats EROFS; removal: EROFS beats ENOENT.
    assert_eq!(w.mkdir("/d").err(), Some(Errno::EEXIST));
    assert_eq!(w.mkdir("/d/x").err(), Some(Errno::EROFS));
    assert_eq!(w.symlink("x", "/d/f").err(), Some(Errno::EEXIST));
    assert_eq!(w.symlink("x", "/d/y").err(), Some(Errno::EROFS));
    assert_eq!(w.r().unlink(&w.root, b"/d/nope").err(), Some(Errno::EROFS));
    assert_eq!(w.r().unlink(&w.root, b"/d/f").err(), Some(Errno::EROFS));
    assert_eq!(w.r().rmdir(&w.root, b"/d/sub").err(), Some(Errno::EROFS));
    assert_eq!(
        w.r().rename(&w.root, b"/d/f", &w.root, b"/d/g", 0).err(),
        Some(Errno::EROFS)
    );
    assert_eq!(
        w.r().link(&w.root, b"/d/f", &w.root, b"/d/h", false).err(),
        Some(Errno::EROFS)
    );
    w.mounts.set_read_only(w.fs.fs_id(), false).unwrap();
    assert!(w.mkdir("/d/x").is_ok());
}

#[test]
fn mkdir_rules() {
    let w = setup();
    assert!(w.mkdir("/d/a/").is_ok());
    assert!(w.mkdir("/d/b//").is_ok());
    assert_eq!(w.mkdir("/d/a").err(), Some(Errno::EEXIST));
    assert_eq!(w.mkdir("/d/f").err(), Some(Errno::EEXIST));
    assert_eq!(w.mkdir("/d/f/").err(), Some(Errno::EEXIST));
    assert_eq!(w.mkdir("/dangling").err(), Some(Errno::EEXIST));
    assert_eq!(w.mkdir("/").err(), Some(Errno::EEXIST));
    assert_eq!(w.mkdir("/d/.").err(), Some(Errno::EEXIST));
    assert_eq!(w.mkdir("/d/..").err(), Some(Errno::EEXIST));
    assert_eq!(w.mkdir("/nope/a").err(), Some(Errno::ENOENT));
    assert_eq!(w.mkdir("/d/f/a").err(), Some(Errno::ENOTDIR));
    let m = w.get("/d/a").unwrap().metadata();
    assert_eq!(m.mode & S_IFMT, S_IFDIR);
    assert_eq!(m.nlink, 2);
}

#[test]
fn mknod_types() {
    let w = setup();
    let r = w.r();
    let fifo = r
        .mknod(&w.root, b"/d/fifo", S_IFIFO | 0o600, 0, 0, 0)
        .unwrap();
    assert_eq!(fifo.file_type(), FileType::Fifo);
    let dev = makedev(1, 3);
    let null = r
        .mknod(&w.root, b"/d/null", S_IFCHR | 0o666, dev, 0, 0)
        .unwrap();
    let m = null.metadata();
    assert_eq!((m.mode, m.rdev), (S_IFCHR | 0o666, dev));
    let reg = r.mknod(&w.root, b"/d/reg", 0o600, 0, 0, 0).unwrap();
    assert_eq!(reg.file_type(), FileType::Regular);
    assert_eq!(
        r.mknod(&w.root, b"/d/x", S_IFDIR | 0o700, 0, 0, 0).err(),
        Some(Errno::EPERM)
    );
    assert_eq!(
        r.mknod(&w.root, b"/d/x", S_IFLNK | 0o700, 0, 0, 0).err(),
        Some(Errno::EINVAL)
    );
    assert_eq!(
        r.mknod(&w.root, b"/d/x", 0o170000, 0, 0, 0).err(),
        Some(Errno::EINVAL)
    );
    assert_eq!(
        r.mknod(&w.root, b"/d/fifo", S_IFIFO, 0, 0, 0).err(),
        Some(Errno::EEXIST)
    );
    assert_eq!(
        r.mknod(&w.root, b"/d/y/", S_IFIFO, 0, 0, 0).err(),
        Some(Errno::ENOENT)
    );
    // Special files have no data operations.
    assert_eq!(fifo.read_at(0, &mut [0; 4]).err(), Some(Errno::EINVAL));
}

#[test]
fn symlink_and_readlink() {
    let w = setup();
    let r = w.r();
    assert_eq!(w.symlink("", "/e").err(), Some(Errno::ENOENT));
    assert_eq!(w.symlink("x", "/d/f").err(), Some(Errno::EEXIST));
    assert_eq!(w.symlink("x", "/lf").err(), Some(Errno::EEXIST));
    assert_eq!(w.symlink("x", "/d/q/").err(), Some(Errno::ENOENT));
    assert_eq!(w.symlink("x", "/").err(), Some(Errno::EEXIST));
    let l = w.symlink("any thing/../x", "/d/l").unwrap();
    assert_eq!(l.metadata().mode, 0o120777);
    assert_eq!(l.metadata().size, 14);
    assert_eq!(r.readlink(&w.root, b"/d/l").unwrap(), b"any thing/../x");
    assert_eq!(r.readlink(&w.root, b"/d/f").err(), Some(Errno::EINVAL));
    assert_eq!(r.readlink(&w.root, b"/d").err(), Some(Errno::EINVAL));
    // readlink does not follow the last component, but does the middle.
    assert_eq!(r.readlink(&w.root, b"/ld/l").unwrap(), b"any thing/../x");
}

#[test]
fn link_rules() {
    let w = setup();
    let r = w.r();
    r.link(&w.root, b"/d/f", &w.root, b"/d/f2", false).unwrap();
    let f = w.get("/d/f").unwrap();
    assert!(same(&f, &w.get("/d/f2").unwrap()));
    assert_eq!(f.metadata().nlink, 2);
    assert_eq!(
        r.link(&w.root, b"/d", &w.root, b"/d2", false).err(),
        Some(Errno::EPERM)
    );
    assert_eq!(
        r.link(&w.root, b"/d/f", &w.root, b"/d/f2", false).err(),
        Some(Errno::EEXIST)
    );
    assert_eq!(
        r.link(&w.root, b"/d/f", &w.root, b"/d/sub", false).err(),
        Some(Errno::EEXIST)
    );
    assert_eq!(
        r.link(&w.root, b"/d/f", &w.root, b"/d/n/", false).err(),
        Some(Errno::ENOENT)
    );
    assert_eq!(
        r.link(&w.root, b"/nope", &w.root, b"/d/n", false).err(),
        Some(Errno::ENOENT)
    );
    assert_eq!(
        r.link(&w.root, b"/d/f", &w.root, b"/d/.", false).err(),
        Some(Errno::EEXIST)
    );
    // A link to a symlink: itself without follow, its target with follow.
    r.link(&w.root, b"/lf", &w.root, b"/lf2", false).unwrap();
    assert_eq!(w.lget("/lf2").unwrap().file_type(), FileType::Symlink);
    r.link(&w.root, b"/lf", &w.root, b"/f3", true).unwrap();
    assert!(same(&w.get("/f3").unwrap(), &f));
    assert_eq!(f.metadata().nlink, 3);
    // Across file systems.
    w.mkdir("/mnt").unwrap();
    w.mount_ramfs("/mnt");
    assert_eq!(
        r.link(&w.root, b"/d/f", &w.root, b"/mnt/f", false).err(),
        Some(Errno::EXDEV)
    );
}

#[test]
fn unlink_rules() {
    let w = setup();
    let r = w.r();
    let f = w.get("/d/f").unwrap();
    assert_eq!(r.unlink(&w.root, b"/d").err(), Some(Errno::EISDIR));
    assert_eq!(r.unlink(&w.root, b"/d/sub/").err(), Some(Errno::EISDIR));
    assert_eq!(r.unlink(&w.root, b"/d/f/").err(), Some(Errno::ENOTDIR));
    assert_eq!(r.unlink(&w.root, b"/d/.").err(), Some(Errno::EISDIR));
    assert_eq!(r.unlink(&w.root, b"/d/..").err(), Some(Errno::EISDIR));
    assert_eq!(r.unlink(&w.root, b"/").err(), Some(Errno::EISDIR));
    assert_eq!(r.unlink(&w.root, b"/d/nope").err(), Some(Errno::ENOENT));
    assert_eq!(r.unlink(&w.root, b"/d/nope/").err(), Some(Errno::ENOENT));
    assert_eq!(r.unlink(&w.root, b"/ld/").err(), Some(Errno::ENOTDIR));
    // Unlinking a symlink removes the link, not the target.
    r.unlink(&w.root, b"/lf").unwrap();
    assert!(w.get("/d/f").is_ok());
    r.unlink(&w.root, b"/d/f").unwrap();
    assert_eq!(w.get("/d/f").err(), Some(Errno::ENOENT));
    // The open file lives on with nlink 0.
    assert_eq!(f.metadata().nlink, 0);
    assert_eq!(read_all(&*f).unwrap(), b"data");
    f.write_at(4, b"!").unwrap();
    assert_eq!(read_all(&*f).unwrap(), b"data!");
    // It cannot be linked back (no O_TMPFILE).
    assert_eq!(
        w.get("/d").unwrap().link(b"back", &f).err(),
        Some(Errno::ENOENT)
    );
}

#[test]
fn rmdir_rules() {
    let w = setup();
    let r = w.r();
    assert_eq!(r.rmdir(&w.root, b"/d").err(), Some(Errno::ENOTEMPTY));
    assert_eq!(r.rmdir(&w.root, b"/d/f").err(), Some(Errno::ENOTDIR));
    assert_eq!(r.rmdir(&w.root, b"/ld").err(), Some(Errno::ENOTDIR));
    assert_eq!(r.rmdir(&w.root, b"/ld/").err(), Some(Errno::ENOTDIR));
    assert_eq!(r.rmdir(&w.root, b"/d/sub/.").err(), Some(Errno::EINVAL));
    assert_eq!(r.rmdir(&w.root, b"/d/sub/..").err(), Some(Errno::ENOTEMPTY));
    assert_eq!(r.rmdir(&w.root, b"/").err(), Some(Errno::EBUSY));
    assert_eq!(r.rmdir(&w.root, b"/d/nope").err(), Some(Errno::ENOENT));
    let d = w.get("/d").unwrap();
    let sub = w.get("/d/sub").unwrap();
    assert_eq!(d.metadata().nlink, 3);
    r.rmdir(&w.root, b"/d/sub/").unwrap();
    assert_eq!(d.metadata().nlink, 2);
    assert_eq!(sub.metadata().nlink, 0);
    // Nothing can be created in a removed directory (a deleted cwd).
    assert_eq!(r.mkdir(&sub, b"x", 0o755, 0, 0).err(), Some(Errno::ENOENT));
    assert_eq!(sub.create(b"x", 0o644, 0, 0).err(), Some(Errno::ENOENT));
    assert_eq!(
        r.open(
            &sub,
            b"x",
            OpenRequest {
                flags: O_CREAT,
                ..Default::default()
            }
        )
        .err(),
        Some(Errno::ENOENT)
    );
    // A mountpoint is busy.
    w.mkdir("/mnt").unwrap();
    w.mount_ramfs("/mnt");
    assert_eq!(r.rmdir(&w.root, b"/mnt").err(), Some(Errno::EBUSY));
    assert_eq!(r.unlink(&w.root, b"/mnt").err(), Some(Errno::EISDIR));
}

#[test]
fn rename_basic_and_overwrite() {
    let w = setup();
    let r = w.r();
    let f = w.get("/d/f").unwrap();
    r.rename(&w.root, b"/d/f", &w.root, b"/d/g", 0).unwrap();
    assert_eq!(w.get("/d/f").err(), Some(Errno::ENOENT));
    assert!(same(&w.get("/d/g").unwrap(), &f));
    // Overwrite a file: the victim loses a link.
    let v = w.write("/d/v", b"victim").unwrap();
    r.rename(&w.root, b"/d/g", &w.root, b"/d/v", 0).unwrap();
    assert!(same(&w.get("/d/v").unwrap(), &f));
    assert_eq!(v.metadata().nlink, 0);
    // Hard links to the same file: nothing happens, both names stay.
    r.link(&w.root, b"/d/v", &w.root, b"/d/v2", false).unwrap();
    r.rename(&w.root, b"/d/v", &w.root, b"/d/v2", 0).unwrap();
    assert!(w.get("/d/v").is_ok() && w.get("/d/v2").is_ok());
    assert_eq!(f.metadata().nlink, 2);
    assert_eq!(
        r.rename(&w.root, b"/d/v", &w.root, b"/d/v2", RENAME_NOREPLACE)
            .err(),
        Some(Errno::EEXIST)
    );
    let d = w.get("/d").unwrap();
    assert_eq!(
        d.rename(b"v", &d, b"v2", RENAME_NOREPLACE).err(),
        Some(Errno::EEXIST)
    );
    // Type mismatches.
    w.mkdir("/d/e").unwrap();
    assert_eq!(
        r.rename(&w.root, b"/d/v", &w.root, b"/d/e", 0).err(),
        Some(Errno::EISDIR)
    );
    assert_eq!(
        r.rename(&w.root, b"/d/e", &w.root, b"/d/v", 0).err(),
        Some(Errno::ENOTDIR)
    );
    // A directory replaces an empty one, not a non-empty one.
    w.mkdir("/x").unwrap();
    let e = w.get("/d/e").unwrap();
    r.rename(&w.root, b"/x", &w.root, b"/d/e", 0).unwrap();
    assert_eq!(e.metadata().nlink, 0);
    assert_eq!(
        r.rename(&w.root, b"/d/e", &w.root, b"/d", 0).err(),
        Some(Errno::ENOTEMPTY)
    );
    // Missing source.
    assert_eq!(
        r.rename(&w.root, b"/d/none", &w.root, b"/d/z", 0).err(),
        Some(Errno::ENOENT)
    );
    assert_eq!(
        r.rename(&w.root, b"/d/v", &w.root, b"/nope/z", 0).err(),
        Some(Errno::ENOENT)
    );
}

#[test]
fn rename_directories_nlink_and_subtree() {
    let w = setup();
    let r = w.r();
    w.mkdir("/d/sub/deep").unwrap();
    w.mkdir("/other").unwrap();
    let d = w.get("/d").unwrap();
    let other = w.get("/other").unwrap();
    let root_links = w.root.metadata().nlink;
    assert_eq!(d.metadata().nlink, 3);
    // Into its own subtree: EINVAL (also onto itself as parent).
    assert_eq!(
        r.rename(&w.root, b"/d", &w.root, b"/d/sub/deep/d", 0).err(),
        Some(Errno::EINVAL)
    );
    assert_eq!(
        r.rename(&w.root, b"/d", &w.root, b"/d/x", 0).err(),
        Some(Errno::EINVAL)
    );
    assert_eq!(
        r.rename(&w.root, b"/d/sub", &w.root, b"/d/sub/deep/x", 0)
            .err(),
        Some(Errno::EINVAL)
    );
    // Over an ancestor of the source: ENOTEMPTY.
    assert_eq!(
        r.rename(&w.root, b"/d/sub/deep", &w.root, b"/d", 0).err(),
        Some(Errno::ENOTEMPTY)
    );
    // Even for a file source: Linux reports the "trap" before EISDIR.
    assert_eq!(
        r.rename(&w.root, b"/d/f", &w.root, b"/d", 0).err(),
        Some(Errno::ENOTEMPTY)
    );
    assert_eq!(
        r.rename(&w.root, b"/d/f", &w.root, b"/other", 0).err(),
        Some(Errno::EISDIR)
    );
    // Moving a directory fixes both parents' link counts and `..`.
    r.rename(&w.root, b"/d/sub", &w.root, b"/other/sub", 0)
        .unwrap();
    assert_eq!(d.metadata().nlink, 2);
    assert_eq!(other.metadata().nlink, 3);
    assert!(same(&w.get("/other/sub/deep/../..").unwrap(), &other));
    // Within one directory, link counts stay.
    r.rename(&w.root, b"/other/sub", &w.root, b"/other/sub2", 0)
        .unwrap();
    assert_eq!(other.metadata().nlink, 3);
    assert_eq!(w.root.metadata().nlink, root_links);
    // Trailing slashes: fine on directories, ENOTDIR on files.
    r.rename(&w.root, b"/other/sub2/", &w.root, b"/other/sub3/", 0)
        .unwrap();
    assert_eq!(
        r.rename(&w.root, b"/d/f/", &w.root, b"/d/g", 0).err(),
        Some(Errno::ENOTDIR)
    );
    assert_eq!(
        r.rename(&w.root, b"/d/f", &w.root, b"/d/g/", 0).err(),
        Some(Errno::ENOTDIR)
    );
    assert_eq!(
        r.rename(&w.root, b"/lf/", &w.root, b"/x", 0).err(),
        Some(Errno::ENOTDIR)
    );
    // `.`, `..` and `/` are busy.
    assert_eq!(
        r.rename(&w.root, b"/d/.", &w.root, b"/x", 0).err(),
        Some(Errno::EBUSY)
    );
    assert_eq!(
        r.rename(&w.root, b"/d/f", &w.root, b"/d/..", 0).err(),
        Some(Errno::EBUSY)
    );
    assert_eq!(
        r.rename(&w.root, b"/", &w.root, b"/x", 0).err(),
        Some(Errno::EBUSY)
    );
    assert_eq!(
        r.rename(&w.root, b"/d/f", &w.root, b"/d/..", RENAME_NOREPLACE)
            .err(),
        Some(Errno::EEXIST)
    );
}

#[test]
fn rename_flags() {
    let w = setup();
    let r = w.r();
    w.write("/d/g", b"g").unwrap();
    assert_eq!(
        r.rename(&w.root, b"/d/f", &w.root, b"/d/g", RENAME_NOREPLACE)
            .err(),
        Some(Errno::EEXIST)
    );
    r.rename(&w.root, b"/d/f", &w.root, b"/d/h", RENAME_NOREPLACE)
        .unwrap();
    assert_eq!(
        r.rename(
            &w.root,
            b"/d/h",
            &w.root,
            b"/d/g",
            RENAME_NOREPLACE | RENAME_EXCHANGE
        )
        .err(),
        Some(Errno::EINVAL)
    );
    assert_eq!(
        r.rename(&w.root, b"/d/h", &w.root, b"/d/g", 0x80).err(),
        Some(Errno::EINVAL)
    );
    assert_eq!(
        r.rename(&w.root, b"/d/h", &w.root, b"/d/g", RENAME_WHITEOUT)
            .err(),
        Some(Errno::EINVAL)
    );
    // Exchange needs both.
    assert_eq!(
        r.rename(&w.root, b"/d/h", &w.root, b"/d/none", RENAME_EXCHANGE)
            .err(),
        Some(Errno::ENOENT)
    );
    // Exchange a file and a directory in different parents.
    w.mkdir("/e").unwrap();
    w.mkdir("/e/dir").unwrap();
    w.mkdir("/e/dir/in").unwrap();
    let (d, e) = (w.get("/d").unwrap(), w.get("/e").unwrap());
    let (h, dir) = (w.get("/d/h").unwrap(), w.get("/e/dir").unwrap());
    let (dn, en) = (d.metadata().nlink, e.metadata().nlink);
    r.rename(&w.root, b"/d/h", &w.root, b"/e/dir", RENAME_EXCHANGE)
        .unwrap();
    assert!(same(&w.get("/d/h").unwrap(), &dir));
    assert!(same(&w.get("/e/dir").unwrap(), &h));
    assert_eq!(d.metadata().nlink, dn + 1);
    assert_eq!(e.metadata().nlink, en - 1);
    assert!(same(&w.get("/d/h/in/../..").unwrap(), &d));
    // Exchange two directories where one contains the other: EINVAL.
    assert_eq!(
        r.rename(&w.root, b"/d", &w.root, b"/d/h/in", RENAME_EXCHANGE)
            .err(),
        Some(Errno::EINVAL)
    );
    assert_eq!(
        r.rename(&w.root, b"/d/h/in", &w.root, b"/d", RENAME_EXCHANGE)
            .err(),
        Some(Errno::EINVAL)
    );
    // Exchange with a trailing slash on a non-directory target.
    assert_eq!(
        r.rename(&w.root, b"/d/h", &w.root, b"/e/dir/", RENAME_EXCHANGE)
            .err(),
        Some(Errno::ENOTDIR)
    );
    // Exchange of the same file is a no-op.
    r.rename(&w.root, b"/d/g", &w.root, b"/d/g", RENAME_EXCHANGE)
        .unwrap();
}

#[test]
fn rename_across_mounts_and_mountpoints() {
    let w = setup();
    let r = w.r();
    w.mkdir("/mnt").unwrap();
    let m = w.mount_ramfs("/mnt");
    m.root().mkdir(b"in", 0o755, 0, 0).unwrap();
    assert_eq!(
        r.rename(&w.root, b"/d/f", &w.root, b"/mnt/f", 0).err(),
        Some(Errno::EXDEV)
    );
    assert_eq!(
        r.rename(&w.root, b"/mnt/in", &w.root, b"/d/in", 0).err(),
        Some(Errno::EXDEV)
    );
    // The fs-level check as well.
    assert_eq!(
        w.get("/d").unwrap().rename(b"f", &m.root(), b"f", 0).err(),
        Some(Errno::EXDEV)
    );
    // A mountpoint cannot be renamed or replaced.
    assert_eq!(
        r.rename(&w.root, b"/mnt", &w.root, b"/mnt2", 0).err(),
        Some(Errno::EBUSY)
    );
    w.mkdir("/empty").unwrap();
    assert_eq!(
        r.rename(&w.root, b"/empty", &w.root, b"/mnt", 0).err(),
        Some(Errno::EBUSY)
    );
    // Inside the mount all is normal.
    r.rename(&w.root, b"/mnt/in", &w.root, b"/mnt/out", 0)
        .unwrap();
    assert!(w.get("/mnt/out").is_ok());
}
