//! Building blocks for kernel-provided trees: `/dev`, `/proc`, `/sys`.
//!
//! A [`SynthFs`] is one such file system instance (its `fs_id`, inode
//! numbers, `statfs` magic and clock). It makes the nodes:
//!
//! - [`SynthDir`]: a directory of fixed entries ([`SynthDir::insert`]) plus,
//!   optionally, entries produced on demand by a closure
//!   ([`SynthDir::set_dynamic`], e.g. one directory per process in
//!   `/proc`). Listings are name-ordered with name cursors, like ramfs.
//! - [`GenFile`]: a file whose content a closure generates (`Fn() ->
//!   Vec<u8>`). Each `open` gets its own snapshot that is regenerated when
//!   read from offset 0 again, like Linux's seq_file; an optional writer
//!   closure receives writes (e.g. `/proc/sys` knobs).
//! - [`SynthSymlink`]: a symlink whose target a closure computes
//!   (`/proc/self`, `/proc/self/exe`, `/dev/fd`).
//! - [`DeviceNode`]: a character device: a [`CharDevice`] (read, write,
//!   open, poll, ioctl hooks) with a device number; [`NullDevice`],
//!   [`ZeroDevice`], [`FullDevice`] are ready-made.
//!
//! The trees are read-only in the ways Linux's procfs is: creating a file
//! is EACCES (a directory without `create`), other directory changes and
//! `chmod`/`chown` are EPERM, opening a generated file for writing without a
//! writer is EACCES; timestamps may be set (`touch /dev/null` works).
//! Generated files report size 0, as procfs does.
//!
//! Called by: the kernel's devfs/procfs setup; through [`Inode`], by the
//! resolver and the fd layer.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use core::ops::Bound;
use core::sync::atomic::{AtomicU64, Ordering};

use oxv_abi::errno::Errno;
use spin::{Mutex, RwLock};

use crate::node::{
    alloc_fs_id, Clock, DirCursor, DirEntry, FileType, Inode, InodeRef, Metadata, StatFs, Timespec,
    O_ACCMODE, O_RDONLY, O_TRUNC, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM, S_IFCHR, S_IFDIR,
    S_IFLNK, S_IFREG,
};

/// Produces the entries of a dynamic directory: `(name, node)` pairs.
pub type EntryGen = dyn Fn() -> Vec<(Vec<u8>, InodeRef)> + Send + Sync;
/// Produces the content of a generated file.
pub type ContentGen = dyn Fn() -> Vec<u8> + Send + Sync;
/// Receives a write to a generated file; returns the bytes consumed.
pub type WriteHook = dyn Fn(&[u8]) -> Result<usize, Errno> + Send + Sync;

/// One synthetic file-system instance.
pub struct SynthFs {
    fs_id: u64,
    magic: u64,
    next_ino: AtomicU64,
    clock: Arc<dyn Clock>,
}

impl core::fmt::Debug for SynthFs {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SynthFs")
            .field("fs_id", &self.fs_id)
            .field("magic", &self.magic)
            .finish()
    }
}

/// The [`Inode`] methods every node here answers from its [`Attr`]: file
/// system id, inode number, type and statfs.
macro_rules! attr_inode_methods {
    ($kind:ident) => {
        fn fs_id(&self) -> u64 {
            self.attr.fs.fs_id
        }
        fn as_any(&self) -> &dyn Any {
            self
        }
        fn ino(&self) -> u64 {
            self.attr.ino
        }
        fn file_type(&self) -> FileType {
            FileType::$kind
        }
        fn statfs(&self) -> StatFs {
            self.attr.statfs()
        }
    };
}

/// Attributes shared by all synthetic nodes.
struct Attr {
    fs: Arc<SynthFs>,
    ino: u64,
    mode: u32,
    rdev: u64,
    /// atime, mtime, ctime.
    times: Mutex<[Timespec; 3]>,
}

impl Attr {
    fn new(fs: &Arc<SynthFs>, mode: u32, rdev: u64) -> Attr {
        let now = fs.clock.now();
        Attr {
            fs: fs.clone(),
            ino: fs.next_ino.fetch_add(1, Ordering::Relaxed),
            mode,
            rdev,
            times: Mutex::new([now; 3]),
        }
    }

    fn metadata(&self, nlink: u64, size: u64) -> Metadata {
        let [atime, mtime, ctime] = *self.times.lock();
        Metadata {
            ino: self.ino,
            dev: self.fs.fs_id,
            mode: self.mode,
            nlink,
            uid: 0,
            gid: 0,
            size,
            blocks: 0,
            blksize: 4096,
            atime,
            mtime,
            ctime,
            rdev: self.rdev,
        }
    }

    fn set_times(&self, atime: Option<Timespec>, mtime: Option<Timespec>) {
        let now = self.fs.clock.now();
        let mut t = self.times.lock();
        if let Some(a) = atime {
            t[0] = a;
        }
        if let Some(m) = mtime {
            t[1] = m;
        }
        t[2] = now;
    }

    fn statfs(&self) -> StatFs {
        StatFs {
            fs_type: self.fs.magic,
            fsid: self.fs.fs_id,
            ..StatFs::default()
        }
    }
}

impl SynthFs {
    /// A new instance with `statfs` magic `magic` (e.g.
    /// [`crate::node::PROC_SUPER_MAGIC`]) and a time source.
    pub fn new(magic: u64, clock: Arc<dyn Clock>) -> Arc<SynthFs> {
        Arc::new(SynthFs {
            fs_id: alloc_fs_id(),
            magic,
            next_ino: AtomicU64::new(1),
            clock,
        })
    }

    /// The file-system id.
    pub fn fs_id(&self) -> u64 {
        self.fs_id
    }

    /// An empty directory with permission bits `perm` (procfs uses 0o555,
    /// `/dev` 0o755). The first directory made is inode 1; use it as the
    /// root.
    pub fn dir(self: &Arc<Self>, perm: u32) -> Arc<SynthDir> {
        let attr = Attr::new(self, S_IFDIR | (perm & 0o7777), 0);
        Arc::new_cyclic(|me| SynthDir {
            attr,
            me: me.clone(),
            parent: Mutex::new(Weak::new()),
            fixed: RwLock::new(BTreeMap::new()),
            dynamic: RwLock::new(None),
        })
    }

    /// A directory holding `entries` (see [`SynthFs::dir`]).
    pub fn dir_with(
        self: &Arc<Self>,
        perm: u32,
        entries: impl IntoIterator<Item = (Vec<u8>, InodeRef)>,
    ) -> Arc<SynthDir> {
        let d = self.dir(perm);
        for (name, node) in entries {
            d.insert(&name, node);
        }
        d
    }

    /// A read-only generated file (mode 0o444).
    pub fn file(
        self: &Arc<Self>,
        content: impl Fn() -> Vec<u8> + Send + Sync + 'static,
    ) -> Arc<GenFile> {
        self.gen_file(0o444, Box::new(content), None)
    }

    /// A generated file that also accepts writes (mode 0o644).
    pub fn file_rw(
        self: &Arc<Self>,
        content: impl Fn() -> Vec<u8> + Send + Sync + 'static,
        writer: impl Fn(&[u8]) -> Result<usize, Errno> + Send + Sync + 'static,
    ) -> Arc<GenFile> {
        self.gen_file(0o644, Box::new(content), Some(Box::new(writer)))
    }

    fn gen_file(
        self: &Arc<Self>,
        perm: u32,
        content: Box<ContentGen>,
        writer: Option<Box<WriteHook>>,
    ) -> Arc<GenFile> {
        let attr = Attr::new(self, S_IFREG | perm, 0);
        Arc::new_cyclic(|me| GenFile {
            attr,
            me: me.clone(),
            content,
            writer,
        })
    }

    /// A symlink whose target is computed on every `readlink`.
    pub fn symlink(
        self: &Arc<Self>,
        target: impl Fn() -> Vec<u8> + Send + Sync + 'static,
    ) -> Arc<SynthSymlink> {
        Arc::new(SynthSymlink {
            attr: Attr::new(self, S_IFLNK | 0o777, 0),
            target: Box::new(target),
        })
    }

    /// A character device node with device number `rdev` (see
    /// [`crate::node::makedev`]) and permission bits `perm`.
    pub fn device(
        self: &Arc<Self>,
        device: Arc<dyn CharDevice>,
        rdev: u64,
        perm: u32,
    ) -> Arc<DeviceNode> {
        Arc::new(DeviceNode {
            attr: Attr::new(self, S_IFCHR | (perm & 0o7777), rdev),
            device,
        })
    }
}

// ---------------------------------------------------------------------------

/// A synthetic directory: fixed entries plus optional generated ones.
pub struct SynthDir {
    attr: Attr,
    me: Weak<SynthDir>,
    parent: Mutex<Weak<SynthDir>>,
    fixed: RwLock<BTreeMap<Vec<u8>, InodeRef>>,
    dynamic: RwLock<Option<Box<EntryGen>>>,
}

impl core::fmt::Debug for SynthDir {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SynthDir")
            .field("ino", &self.attr.ino)
            .finish()
    }
}

impl SynthDir {
    /// Adds (or replaces) the fixed entry `name`. A [`SynthDir`] child gets
    /// this directory as its `..`.
    pub fn insert(&self, name: &[u8], node: InodeRef) {
        self.adopt(&node);
        self.fixed.write().insert(name.to_vec(), node);
    }

    /// Removes the fixed entry `name`.
    pub fn remove(&self, name: &[u8]) -> Option<InodeRef> {
        self.fixed.write().remove(name)
    }

    /// Sets the generator of dynamic entries, consulted on every lookup and
    /// listing after the fixed entries (a fixed entry wins on a name clash).
    pub fn set_dynamic(
        &self,
        entries: impl Fn() -> Vec<(Vec<u8>, InodeRef)> + Send + Sync + 'static,
    ) {
        *self.dynamic.write() = Some(Box::new(entries));
    }

    fn adopt(&self, node: &InodeRef) {
        if let Some(d) = node.as_any().downcast_ref::<SynthDir>() {
            let mut p = d.parent.lock();
            if p.upgrade().is_none() {
                *p = self.me.clone();
            }
        }
    }

    fn dynamic_entries(&self) -> Vec<(Vec<u8>, InodeRef)> {
        match &*self.dynamic.read() {
            Some(g) => g(),
            None => Vec::new(),
        }
    }

    fn parent_ino(&self) -> u64 {
        self.parent
            .lock()
            .upgrade()
            .map_or(self.attr.ino, |p| p.attr.ino)
    }
}

impl Inode for SynthDir {
    fn metadata(&self) -> Metadata {
        self.attr.metadata(2, 0)
    }
    attr_inode_methods!(Directory);

    fn lookup(&self, name: &[u8]) -> Result<InodeRef, Errno> {
        if name == b"." || name == b".." {
            let target = if name == b".." {
                self.parent.lock().upgrade()
            } else {
                None
            };
            return match target.or_else(|| self.me.upgrade()) {
                Some(d) => Ok(d),
                None => Err(Errno::ENOENT),
            };
        }
        if let Some(n) = self.fixed.read().get(name) {
            return Ok(n.clone());
        }
        let found = self
            .dynamic_entries()
            .into_iter()
            .find(|(n, _)| n.as_slice() == name)
            .map(|(_, node)| node)
            .ok_or(Errno::ENOENT)?;
        self.adopt(&found);
        Ok(found)
    }

    fn read_dir(
        &self,
        cursor: &DirCursor,
        sink: &mut dyn FnMut(DirEntry) -> bool,
    ) -> Result<(), Errno> {
        let mut out = Vec::new();
        if *cursor == DirCursor::Start {
            out.push(DirEntry {
                ino: self.attr.ino,
                kind: FileType::Directory,
                name: b".".to_vec(),
                next: DirCursor::Dot,
            });
        }
        if matches!(cursor, DirCursor::Start | DirCursor::Dot) {
            out.push(DirEntry {
                ino: self.parent_ino(),
                kind: FileType::Directory,
                name: b"..".to_vec(),
                next: DirCursor::DotDot,
            });
        }
        let lower = match cursor {
            DirCursor::After(n) => Bound::Excluded(n.as_slice()),
            DirCursor::Pos(_) => return Err(Errno::EINVAL),
            _ => Bound::Unbounded,
        };
        // Merge fixed and dynamic entries by name, outside any lock.
        let mut all: BTreeMap<Vec<u8>, InodeRef> = self.dynamic_entries().into_iter().collect();
        for (k, v) in self
            .fixed
            .read()
            .range::<[u8], _>((lower, Bound::Unbounded))
        {
            all.insert(k.clone(), v.clone());
        }
        for (name, node) in all.range::<[u8], _>((lower, Bound::Unbounded)) {
            out.push(DirEntry {
                ino: node.ino(),
                kind: node.file_type(),
                name: name.clone(),
                next: DirCursor::After(name.clone()),
            });
        }
        for e in out {
            if !sink(e) {
                break;
            }
        }
        Ok(())
    }

    fn mknod(&self, _: &[u8], _: u32, _: u64, _: u32, _: u32) -> Result<InodeRef, Errno> {
        Err(Errno::EPERM)
    }
    fn create(&self, _: &[u8], _: u32, _: u32, _: u32) -> Result<InodeRef, Errno> {
        Err(Errno::EACCES)
    }
    fn set_times(&self, atime: Option<Timespec>, mtime: Option<Timespec>) -> Result<(), Errno> {
        self.attr.set_times(atime, mtime);
        Ok(())
    }
}

// ---------------------------------------------------------------------------

/// A file whose content a closure generates.
pub struct GenFile {
    attr: Attr,
    me: Weak<GenFile>,
    content: Box<ContentGen>,
    writer: Option<Box<WriteHook>>,
}

impl core::fmt::Debug for GenFile {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("GenFile")
            .field("ino", &self.attr.ino)
            .finish()
    }
}

fn copy_out(data: &[u8], offset: u64, buf: &mut [u8]) -> usize {
    let Ok(off) = usize::try_from(offset) else {
        return 0;
    };
    if off >= data.len() {
        return 0;
    }
    let n = buf.len().min(data.len() - off);
    buf[..n].copy_from_slice(&data[off..off + n]);
    n
}

impl GenFile {
    fn write_hook(&self, buf: &[u8]) -> Result<usize, Errno> {
        match &self.writer {
            Some(w) => w(buf),
            None => Err(Errno::EACCES),
        }
    }

    fn truncate_hook(&self) -> Result<(), Errno> {
        // Shell redirection opens with O_TRUNC; procfs ignores it.
        if self.writer.is_some() {
            Ok(())
        } else {
            Err(Errno::EACCES)
        }
    }
}

impl Inode for GenFile {
    fn metadata(&self) -> Metadata {
        self.attr.metadata(1, 0)
    }
    attr_inode_methods!(Regular);

    /// EACCES when opened for writing without a writer; otherwise a
    /// per-open snapshot.
    fn open(&self, flags: u32) -> Result<Option<InodeRef>, Errno> {
        let writes = flags & O_ACCMODE != O_RDONLY || flags & O_TRUNC != 0;
        if writes && self.writer.is_none() {
            return Err(Errno::EACCES);
        }
        let file = self.me.upgrade().ok_or(Errno::ENOENT)?;
        Ok(Some(Arc::new(GenSnapshot {
            file,
            data: Mutex::new(None),
        })))
    }

    /// Without an open snapshot (`pread` on the inode): generated afresh.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        Ok(copy_out(&(self.content)(), offset, buf))
    }

    fn write_at(&self, _offset: u64, buf: &[u8]) -> Result<usize, Errno> {
        self.write_hook(buf)
    }

    fn truncate(&self, _len: u64) -> Result<(), Errno> {
        self.truncate_hook()
    }

    fn set_times(&self, atime: Option<Timespec>, mtime: Option<Timespec>) -> Result<(), Errno> {
        self.attr.set_times(atime, mtime);
        Ok(())
    }
}

/// The per-open view of a [`GenFile`]: content generated on the first read
/// and again whenever a read starts at offset 0 (seq_file behaviour), so a
/// reader going through the file in pieces sees one consistent snapshot.
struct GenSnapshot {
    file: Arc<GenFile>,
    data: Mutex<Option<Arc<Vec<u8>>>>,
}

impl GenSnapshot {
    fn content(&self, offset: u64) -> Arc<Vec<u8>> {
        let mut d = self.data.lock();
        match &*d {
            Some(c) if offset != 0 => c.clone(),
            _ => {
                // Generate without holding the lock (the closure may be slow
                // or read other synthetic files).
                drop(d);
                let fresh = Arc::new((self.file.content)());
                d = self.data.lock();
                *d = Some(fresh.clone());
                fresh
            }
        }
    }
}

impl Inode for GenSnapshot {
    fn metadata(&self) -> Metadata {
        self.file.metadata()
    }
    fn fs_id(&self) -> u64 {
        self.file.fs_id()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn ino(&self) -> u64 {
        self.file.attr.ino
    }
    fn file_type(&self) -> FileType {
        FileType::Regular
    }
    fn statfs(&self) -> StatFs {
        self.file.statfs()
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        Ok(copy_out(&self.content(offset), offset, buf))
    }
    fn write_at(&self, _offset: u64, buf: &[u8]) -> Result<usize, Errno> {
        self.file.write_hook(buf)
    }
    fn truncate(&self, _len: u64) -> Result<(), Errno> {
        self.file.truncate_hook()
    }
    fn set_times(&self, atime: Option<Timespec>, mtime: Option<Timespec>) -> Result<(), Errno> {
        self.file.set_times(atime, mtime)
    }
}

// ---------------------------------------------------------------------------

/// A symlink whose target a closure computes.
pub struct SynthSymlink {
    attr: Attr,
    target: Box<ContentGen>,
}

impl core::fmt::Debug for SynthSymlink {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SynthSymlink")
            .field("ino", &self.attr.ino)
            .finish()
    }
}

impl Inode for SynthSymlink {
    fn metadata(&self) -> Metadata {
        self.attr.metadata(1, (self.target)().len() as u64)
    }
    attr_inode_methods!(Symlink);
    fn readlink(&self) -> Result<Vec<u8>, Errno> {
        Ok((self.target)())
    }
    fn set_times(&self, atime: Option<Timespec>, mtime: Option<Timespec>) -> Result<(), Errno> {
        self.attr.set_times(atime, mtime);
        Ok(())
    }
}

// ---------------------------------------------------------------------------

/// A character device as the kernel implements it; [`DeviceNode`] makes it
/// an inode. Reads and writes get the file offset (most devices ignore it).
pub trait CharDevice: Send + Sync {
    /// Reads into `buf`; 0 is end of file. A device with nothing to read
    /// yet returns EAGAIN and reports readiness through [`CharDevice::poll`].
    fn read(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno>;
    /// Writes `buf`; returns the bytes taken.
    fn write(&self, offset: u64, buf: &[u8]) -> Result<usize, Errno>;
    /// Called on every `open` of the node with the `open` flags.
    fn open(&self, flags: u32) -> Result<(), Errno> {
        let _ = flags;
        Ok(())
    }
    /// `poll` readiness (`POLL*` bits).
    fn poll(&self) -> u16 {
        POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM
    }
    /// Device `ioctl`; `arg` is passed through untouched.
    fn ioctl(&self, cmd: u32, arg: u64) -> Result<u64, Errno> {
        let _ = (cmd, arg);
        Err(Errno::ENOTTY)
    }
}

/// `/dev/null`: reads end at once, writes vanish.
#[derive(Debug, Clone, Copy, Default)]
pub struct NullDevice;

impl CharDevice for NullDevice {
    fn read(&self, _: u64, _: &mut [u8]) -> Result<usize, Errno> {
        Ok(0)
    }
    fn write(&self, _: u64, buf: &[u8]) -> Result<usize, Errno> {
        Ok(buf.len())
    }
}

/// `/dev/zero`: reads zeros, writes vanish.
#[derive(Debug, Clone, Copy, Default)]
pub struct ZeroDevice;

impl CharDevice for ZeroDevice {
    fn read(&self, _: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        buf.fill(0);
        Ok(buf.len())
    }
    fn write(&self, _: u64, buf: &[u8]) -> Result<usize, Errno> {
        Ok(buf.len())
    }
}

/// `/dev/full`: reads zeros, writes fail with ENOSPC.
#[derive(Debug, Clone, Copy, Default)]
pub struct FullDevice;

impl CharDevice for FullDevice {
    fn read(&self, _: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        buf.fill(0);
        Ok(buf.len())
    }
    fn write(&self, _: u64, _: &[u8]) -> Result<usize, Errno> {
        Err(Errno::ENOSPC)
    }
}

/// A character-device inode: a [`CharDevice`] with a device number.
pub struct DeviceNode {
    attr: Attr,
    device: Arc<dyn CharDevice>,
}

impl core::fmt::Debug for DeviceNode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DeviceNode")
            .field("ino", &self.attr.ino)
            .field("rdev", &self.attr.rdev)
            .finish()
    }
}

impl DeviceNode {
    /// The device behind this node.
    pub fn device(&self) -> &Arc<dyn CharDevice> {
        &self.device
    }
}

impl Inode for DeviceNode {
    fn metadata(&self) -> Metadata {
        self.attr.metadata(1, 0)
    }
    attr_inode_methods!(CharDevice);
    fn open(&self, flags: u32) -> Result<Option<InodeRef>, Errno> {
        self.device.open(flags)?;
        Ok(None)
    }
    fn poll(&self) -> u16 {
        self.device.poll()
    }
    fn ioctl(&self, cmd: u32, arg: u64) -> Result<u64, Errno> {
        self.device.ioctl(cmd, arg)
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        self.device.read(offset, buf)
    }
    fn write_at(&self, offset: u64, buf: &[u8]) -> Result<usize, Errno> {
        self.device.write(offset, buf)
    }
    fn append(&self, buf: &[u8]) -> Result<(u64, usize), Errno> {
        self.device.write(0, buf).map(|n| (0, n))
    }
    /// `O_TRUNC` on a device is ignored, as on Linux.
    fn truncate(&self, _len: u64) -> Result<(), Errno> {
        Ok(())
    }
    fn set_times(&self, atime: Option<Timespec>, mtime: Option<Timespec>) -> Result<(), Errno> {
        self.attr.set_times(atime, mtime);
        Ok(())
    }
}
