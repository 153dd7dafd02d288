//! The mount table: which file system is mounted on which directory.
//!
//! A mount attaches the root inode of a file-system instance to a directory
//! (the mountpoint) of an already mounted one. Mountpoints are keyed by
//! `(fs_id, ino)`, so file systems that build a fresh inode object per lookup
//! still match. Path resolution crosses mounts downwards after every lookup
//! ([`MountTable::mounted_on`]) and upwards when `..` is taken at a mounted
//! root ([`MountTable::mountpoint_of`]), as man 7 path_resolution describes.
//! Mounting on a directory that is itself a mounted root stacks the new
//! mount on top, as Linux does.
//!
//! Each file-system instance may be mounted once (no bind mounts): that lets
//! the kernel hold plain inodes (cwd, dirfds) instead of (mount, inode)
//! pairs, because a mounted root identifies its mount by `fs_id`.
//!
//! Key types: [`MountTable`], [`MountInfo`] (one row of `/proc/mounts`).
//! Called by: the kernel's boot sequence and `mount`/`umount2` syscalls,
//! procfs (`/proc/mounts`), and [`crate::path::Resolver`].

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use oxv_abi::errno::Errno;
use spin::RwLock;

use crate::node::{FileType, Inode, InodeRef};

/// One mounted file system, as listed in `/proc/mounts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountInfo {
    /// Mount id (1 for the root mount).
    pub id: u64,
    /// Id of the mount this one is attached to (the root mount: itself).
    pub parent_id: u64,
    /// The mounted file system's `fs_id`.
    pub fs_id: u64,
    /// Source ("device") name, e.g. `rootfs`, `tmpfs`, `proc`.
    pub source: String,
    /// Absolute path of the mountpoint as given at mount time.
    pub target: String,
    /// File-system type, e.g. `tmpfs`.
    pub fstype: String,
    /// File-system options without `rw`/`ro` (e.g. `size=65536k,mode=1777`).
    pub options: String,
    /// Mounted read-only (`MS_RDONLY`).
    pub read_only: bool,
}

struct MountRec {
    info: MountInfo,
    root: InodeRef,
    root_ino: u64,
    /// `(fs_id, ino)` of the mountpoint, and the mountpoint inode itself.
    on: Option<((u64, u64), InodeRef)>,
}

struct Inner {
    mounts: Vec<MountRec>,
    next_id: u64,
}

/// The system-wide mount table. Cheap to query concurrently (a read lock and
/// a scan over a handful of mounts).
pub struct MountTable {
    inner: RwLock<Inner>,
}

impl core::fmt::Debug for MountTable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.list()).finish()
    }
}

impl MountTable {
    /// A table whose root mount (id 1, target `/`) is `root`.
    pub fn new(root: InodeRef, source: &str, fstype: &str, options: &str, read_only: bool) -> Self {
        let info = MountInfo {
            id: 1,
            parent_id: 1,
            fs_id: root.fs_id(),
            source: source.into(),
            target: "/".into(),
            fstype: fstype.into(),
            options: options.into(),
            read_only,
        };
        let root_ino = root.ino();
        MountTable {
            inner: RwLock::new(Inner {
                mounts: alloc::vec![MountRec {
                    info,
                    root,
                    root_ino,
                    on: None
                }],
                next_id: 2,
            }),
        }
    }

    /// The root directory of the root mount (`/`).
    pub fn root(&self) -> InodeRef {
        self.inner.read().mounts[0].root.clone()
    }

    /// Mounts the file system whose root is `root` on the directory
    /// `mountpoint` (already resolved, so it may itself be a mounted root:
    /// the new mount stacks on top). `target` is the mountpoint's absolute
    /// path for listings. Returns the new mount id. ENOTDIR if either is not
    /// a directory; EBUSY if this file-system instance is already mounted.
    #[allow(clippy::too_many_arguments)]
    pub fn mount(
        &self,
        mountpoint: &InodeRef,
        target: &str,
        root: InodeRef,
        source: &str,
        fstype: &str,
        options: &str,
        read_only: bool,
    ) -> Result<u64, Errno> {
        if mountpoint.file_type() != FileType::Directory || root.file_type() != FileType::Directory
        {
            return Err(Errno::ENOTDIR);
        }
        let key = (mountpoint.fs_id(), mountpoint.ino());
        let fs_id = root.fs_id();
        let root_ino = root.ino();
        let mut inner = self.inner.write();
        if inner.mounts.iter().any(|m| m.info.fs_id == fs_id) {
            return Err(Errno::EBUSY);
        }
        let parent_id = inner
            .mounts
            .iter()
            .rev()
            .find(|m| m.info.fs_id == key.0)
            .map_or(1, |m| m.info.id);
        let id = inner.next_id;
        inner.next_id += 1;
        inner.mounts.push(MountRec {
            info: MountInfo {
                id,
                parent_id,
                fs_id,
                source: source.into(),
                target: target.into(),
                fstype: fstype.into(),
                options: options.into(),
                read_only,
            },
            root,
            root_ino,
            on: Some((key, mountpoint.clone())),
        });
        Ok(id)
    }

    /// Unmounts the mount whose root is `root` (what resolving the target
    /// path yields). EINVAL if `root` is not a mounted root; EBUSY for the
    /// root mount or when another mount sits on this one. Open files on the
    /// unmounted file system keep working (a lazy unmount).
    pub fn umount(&self, root: &dyn Inode) -> Result<MountInfo, Errno> {
        let (fs_id, ino) = (root.fs_id(), root.ino());
        let mut inner = self.inner.write();
        let idx = inner
            .mounts
            .iter()
            .position(|m| m.info.fs_id == fs_id && m.root_ino == ino)
            .ok_or(Errno::EINVAL)?;
        if idx == 0 {
            return Err(Errno::EBUSY);
        }
        if inner
            .mounts
            .iter()
            .any(|m| m.on.as_ref().is_some_and(|(k, _)| k.0 == fs_id))
        {
            return Err(Errno::EBUSY);
        }
        Ok(inner.mounts.remove(idx).info)
    }

    /// If a file system is mounted on `dir`, the root of the top-most mount
    /// stacked there; otherwise `None`. Resolution calls this after every
    /// lookup.
    pub fn mounted_on(&self, dir: &dyn Inode) -> Option<InodeRef> {
        let inner = self.inner.read();
        if inner.mounts.len() == 1 {
            return None;
        }
        let mut key = (dir.fs_id(), dir.ino());
        let mut found = None;
        // Follow stacked mounts: a mount on a mounted root.
        'outer: loop {
            for m in inner.mounts[1..].iter().rev() {
                if m.on.as_ref().is_some_and(|(k, _)| *k == key) {
                    key = (m.info.fs_id, m.root_ino);
                    found = Some(m.root.clone());
                    continue 'outer;
                }
            }
            return found;
        }
    }

    /// If `dir` is the root of a mounted (non-root) file system, the
    /// directory it is mounted on; otherwise `None`. `..` at a mounted root
    /// continues from there.
    pub fn mountpoint_of(&self, dir: &dyn Inode) -> Option<InodeRef> {
        let (fs_id, ino) = (dir.fs_id(), dir.ino());
        let inner = self.inner.read();
        inner.mounts[1..]
            .iter()
            .find(|m| m.info.fs_id == fs_id && m.root_ino == ino)
            .and_then(|m| m.on.as_ref().map(|(_, mp)| mp.clone()))
    }

    /// Whether `node` is a mountpoint (something is mounted on it).
    pub fn is_mountpoint(&self, node: &dyn Inode) -> bool {
        let key = (node.fs_id(), node.ino());
        let inner = self.inner.read();
        inner.mounts[1..]
            .iter()
            .any(|m| m.on.as_ref().is_some_and(|(k, _)| *k == key))
    }

    /// Whether the mount holding file system `fs_id` is read-only (false for
    /// file systems that are not mounted).
    pub fn is_read_only(&self, fs_id: u64) -> bool {
        let inner = self.inner.read();
        inner
            .mounts
            .iter()
            .any(|m| m.info.fs_id == fs_id && m.info.read_only)
    }

    /// Changes the read-only flag of the mount holding `fs_id` (`mount -o
    /// remount,ro`). EINVAL if not mounted.
    pub fn set_read_only(&self, fs_id: u64, read_only: bool) -> Result<(), Errno> {
        let mut inner = self.inner.write();
        let m = inner
            .mounts
            .iter_mut()
            .find(|m| m.info.fs_id == fs_id)
            .ok_or(Errno::EINVAL)?;
        m.info.read_only = read_only;
        Ok(())
    }

    /// The mount holding file system `fs_id`.
    pub fn info_of(&self, fs_id: u64) -> Option<MountInfo> {
        let inner = self.inner.read();
        inner
            .mounts
            .iter()
            .find(|m| m.info.fs_id == fs_id)
            .map(|m| m.info.clone())
    }

    /// All mounts in mount order (root first).
    pub fn list(&self) -> Vec<MountInfo> {
        self.inner
            .read()
            .mounts
            .iter()
            .map(|m| m.info.clone())
            .collect()
    }

    /// The content of `/proc/mounts` (man 5 proc_mounts, fstab format):
    /// `source target fstype rw|ro[,options] 0 0` per line, with space, tab,
    /// newline and backslash escaped as octal (`\040`, ...).
    pub fn proc_mounts(&self) -> String {
        let mut out = String::new();
        for m in self.list() {
            push_escaped(&mut out, &m.source);
            out.push(' ');
            push_escaped(&mut out, &m.target);
            out.push(' ');
            push_escaped(&mut out, &m.fstype);
            out.push_str(if m.read_only { " ro" } else { " rw" });
            if !m.options.is_empty() {
                out.push(',');
                push_escaped(&mut out, &m.options);
            }
            out.push_str(" 0 0\n");
        }
        out
    }
}

fn push_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            ' ' | '\t' | '\n' | '\\' => {
                let _ = write!(out, "\\{:03o}", c as u32);
            }
            c => out.push(c),
        }
    }
}
