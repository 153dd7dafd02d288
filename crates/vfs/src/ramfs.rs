//! The RAM file system (tmpfs semantics, man 5 tmpfs).
//!
//! [`RamFs::new`] builds one instance from a [`RamFsConfig`]; its root is an
//! ordinary [`Inode`] that the kernel mounts (`/`, `/tmp`, `/dev/shm`, ...).
//! Every node is a [`RamInode`]:
//!
//! - directories: a `BTreeMap` from name to child under the directory's own
//!   `RwLock`, and a weak pointer to the parent for `..`. Listings resume
//!   after the last returned *name* ([`DirCursor::After`]), so concurrent
//!   removals never make a reader skip or repeat an entry (OSv #68).
//! - regular files: sparse pages. A file is a map from 2 MiB chunk index to
//!   a chunk of 512 optional 4 KiB pages; absent pages are holes that read as
//!   zeros, which is what `SEEK_DATA`/`SEEK_HOLE` report. A write copies each
//!   byte once into its page, so appending N bytes in any number of writes
//!   costs O(N) (OSv #884 reallocated the whole file per write). Each file's
//!   data has its own `RwLock`: readers of one file run in parallel, and no
//!   lock is shared between different files.
//! - symlinks (immutable target), FIFOs, sockets and device nodes (metadata
//!   only: the kernel maps `rdev` or the FIFO to its own objects).
//!
//! Hard links share the node; `nlink` counts names, and data is freed when
//! the last name *and* the last open reference are gone (unlinked open
//! files keep working).
//!
//! Space: pages are charged against the per-mount limit
//! ([`RamFsConfig::max_bytes`]) and against the kernel's [`MemoryBudget`];
//! either refusing gives ENOSPC, and page allocation is fallible
//! (`try_reserve`), so running out of memory fails a write instead of
//! panicking the kernel. A write that runs out part-way returns the bytes
//! written so far. Map nodes for the 2 MiB chunks and directory entries are
//! small infallible allocations.
//!
//! Timestamps: writes and truncation set mtime/ctime; reads do not touch
//! atime (like a `noatime` mount). Permission checks are the caller's.
//!
//! Lock order: the file system's rename lock, then directory entry locks
//! (ancestor before descendant, otherwise by inode number, only within a
//! rename), then a file's data lock, then the attribute lock and the parent
//! pointer lock (leaves). `read_dir` never holds a lock while calling its
//! sink.
//!
//! Key types: [`RamFs`], [`RamFsConfig`], [`RamInode`], [`MemoryBudget`],
//! [`RamFsStats`]. Called by: the kernel's fs setup (mounts) and, through
//! [`Inode`], the path resolver and the fd layer.

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
    alloc_fs_id, check_new_name, Clock, DirCursor, DirEntry, EpochClock, FileType, Inode, InodeRef,
    Metadata, StatFs, Timespec, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, MAX_FILE_SIZE, NAME_MAX,
    PATH_MAX, RENAME_EXCHANGE, RENAME_NOREPLACE, RENAME_WHITEOUT, S_IALLUGO, S_IFMT, S_ISGID,
    S_ISUID, S_IXGRP, TMPFS_MAGIC,
};

/// Page size of file data.
pub const PAGE_SIZE: usize = 4096;
const PAGE: u64 = PAGE_SIZE as u64;
const CHUNK_SHIFT: u32 = 9;
const CHUNK_PAGES: usize = 1 << CHUNK_SHIFT;
const CHUNK_MASK: u64 = CHUNK_PAGES as u64 - 1;
/// `st_size` contribution of one directory entry (Linux `BOGO_DIRENT_SIZE`).
const BOGO_DIRENT_SIZE: u64 = 20;
/// Directory entries copied per lock acquisition in `read_dir`.
const READDIR_BATCH: usize = 32;

/// The kernel's say on whether memory may be spent on file data. The ramfs
/// asks before allocating pages and answers ENOSPC when refused, instead of
/// letting the VM run out of memory.
pub trait MemoryBudget: Send + Sync {
    /// Asks for `pages` pages (4 KiB each); `false` refuses.
    fn reserve(&self, pages: usize) -> bool;
    /// Returns `pages` pages reserved earlier.
    fn release(&self, pages: usize);
}

/// A budget that never refuses.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unlimited;

impl MemoryBudget for Unlimited {
    fn reserve(&self, _pages: usize) -> bool {
        true
    }
    fn release(&self, _pages: usize) {}
}

/// A fixed pool of pages (tests, or a kernel that carves out a share).
#[derive(Debug, Default)]
pub struct PagePool {
    limit: u64,
    used: AtomicU64,
}

impl PagePool {
    /// A pool of `pages` pages.
    pub const fn new(pages: u64) -> Self {
        PagePool {
            limit: pages,
            used: AtomicU64::new(0),
        }
    }

    /// Pages currently reserved.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }
}

impl MemoryBudget for PagePool {
    fn reserve(&self, pages: usize) -> bool {
        self.used
            .try_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                u.checked_add(pages as u64).filter(|&t| t <= self.limit)
            })
            .is_ok()
    }
    fn release(&self, pages: usize) {
        self.used.fetch_sub(pages as u64, Ordering::AcqRel);
    }
}

/// How to build a [`RamFs`].
#[derive(Clone)]
pub struct RamFsConfig {
    /// Data size limit (`size=`), rounded down to pages; `None`: no limit
    /// besides the budget.
    pub max_bytes: Option<u64>,
    /// Inode limit (`nr_inodes=`), including the root.
    pub max_inodes: Option<u64>,
    /// Permission bits of the root directory (`mode=`, tmpfs default 1777).
    pub root_mode: u32,
    /// Owner of the root directory.
    pub root_uid: u32,
    /// Group of the root directory.
    pub root_gid: u32,
    /// Where page allocations are approved.
    pub budget: Arc<dyn MemoryBudget>,
    /// Time source for timestamps.
    pub clock: Arc<dyn Clock>,
    /// The file-system id; `None` takes [`alloc_fs_id`].
    pub fs_id: Option<u64>,
}

impl Default for RamFsConfig {
    fn default() -> Self {
        RamFsConfig {
            max_bytes: None,
            max_inodes: None,
            root_mode: 0o1777,
            root_uid: 0,
            root_gid: 0,
            budget: Arc::new(Unlimited),
            clock: Arc::new(EpochClock),
            fs_id: None,
        }
    }
}

/// Counters of one [`RamFs`] (monitoring, and the O(N) append test).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RamFsStats {
    /// Pages of file data currently held.
    pub pages_used: u64,
    /// Pages ever allocated.
    pub pages_allocated: u64,
    /// Bytes ever copied into file pages by writes.
    pub bytes_written: u64,
    /// Inodes currently alive (linked or still open).
    pub inodes_used: u64,
}

struct Shared {
    fs_id: u64,
    root_ino: u64,
    max_pages: Option<u64>,
    max_inodes: Option<u64>,
    pages_used: AtomicU64,
    inodes_used: AtomicU64,
    next_ino: AtomicU64,
    pages_allocated: AtomicU64,
    bytes_written: AtomicU64,
    budget: Arc<dyn MemoryBudget>,
    clock: Arc<dyn Clock>,
    /// Serializes renames (Linux `s_vfs_rename_mutex`), so the ancestry
    /// checks and the parent pointers stay stable during one.
    rename_lock: Mutex<()>,
}

impl Shared {
    fn now(&self) -> Timespec {
        self.clock.now()
    }

    fn reserve_pages(&self, n: u64) -> Result<(), Errno> {
        if n == 0 {
            return Ok(());
        }
        let max = self.max_pages.unwrap_or(u64::MAX);
        self.pages_used
            .try_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                u.checked_add(n).filter(|&t| t <= max)
            })
            .map_err(|_| Errno::ENOSPC)?;
        if !self.budget.reserve(n as usize) {
            self.pages_used.fetch_sub(n, Ordering::AcqRel);
            return Err(Errno::ENOSPC);
        }
        Ok(())
    }

    fn release_pages(&self, n: u64) {
        if n > 0 {
            self.pages_used.fetch_sub(n, Ordering::AcqRel);
            self.budget.release(n as usize);
        }
    }
}

/// One RAM file-system instance.
pub struct RamFs {
    shared: Arc<Shared>,
    root: Arc<RamInode>,
}

impl core::fmt::Debug for RamFs {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RamFs")
            .field("fs_id", &self.shared.fs_id)
            .field("stats", &self.stats())
            .finish()
    }
}

impl RamFs {
    /// A new, empty file system.
    pub fn new(config: RamFsConfig) -> RamFs {
        let shared = Arc::new(Shared {
            fs_id: config.fs_id.unwrap_or_else(alloc_fs_id),
            root_ino: 1,
            max_pages: config.max_bytes.map(|b| b / PAGE),
            max_inodes: config.max_inodes,
            pages_used: AtomicU64::new(0),
            inodes_used: AtomicU64::new(1),
            next_ino: AtomicU64::new(2),
            pages_allocated: AtomicU64::new(0),
            bytes_written: AtomicU64::new(0),
            budget: config.budget,
            clock: config.clock,
            rename_lock: Mutex::new(()),
        });
        let now = shared.now();
        let root = Arc::new_cyclic(|me| RamInode {
            fs: shared.clone(),
            ino: 1,
            kind: FileType::Directory,
            me: me.clone(),
            attr: Mutex::new(Attr {
                mode: FileType::Directory.mode_bits() | (config.root_mode & S_IALLUGO),
                nlink: 2,
                uid: config.root_uid,
                gid: config.root_gid,
                atime: now,
                mtime: now,
                ctime: now,
                rdev: 0,
            }),
            body: Body::Dir(DirBody {
                entries: RwLock::new(DirData::default()),
                parent: Mutex::new(Weak::new()),
            }),
        });
        RamFs { shared, root }
    }

    /// The root directory.
    pub fn root(&self) -> InodeRef {
        self.root.clone()
    }

    /// The file-system id (`st_dev` of every node).
    pub fn fs_id(&self) -> u64 {
        self.shared.fs_id
    }

    /// Current counters.
    pub fn stats(&self) -> RamFsStats {
        let s = &self.shared;
        RamFsStats {
            pages_used: s.pages_used.load(Ordering::Relaxed),
            pages_allocated: s.pages_allocated.load(Ordering::Relaxed),
            bytes_written: s.bytes_written.load(Ordering::Relaxed),
            inodes_used: s.inodes_used.load(Ordering::Relaxed),
        }
    }
}

#[derive(Clone, Copy)]
struct Attr {
    mode: u32,
    nlink: u32,
    uid: u32,
    gid: u32,
    atime: Timespec,
    mtime: Timespec,
    ctime: Timespec,
    rdev: u64,
}

/// A node of a [`RamFs`]: directory, regular file, symlink or special file.
pub struct RamInode {
    fs: Arc<Shared>,
    ino: u64,
    kind: FileType,
    me: Weak<RamInode>,
    attr: Mutex<Attr>,
    body: Body,
}

impl core::fmt::Debug for RamInode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RamInode")
            .field("fs_id", &self.fs.fs_id)
            .field("ino", &self.ino)
            .field("kind", &self.kind)
            .finish()
    }
}

enum Body {
    File(RwLock<FileData>),
    Dir(DirBody),
    Symlink(Vec<u8>),
    Special,
}

struct DirBody {
    entries: RwLock<DirData>,
    /// The parent directory; empty for the root.
    parent: Mutex<Weak<RamInode>>,
}

#[derive(Default)]
struct DirData {
    map: BTreeMap<Vec<u8>, Arc<RamInode>>,
    /// Set by rmdir: nothing may be created in a removed directory.
    removed: bool,
}

type Page = Box<[u8]>;

struct Chunk {
    pages: Box<[Option<Page>]>,
    count: u32,
}

#[derive(Default)]
struct FileData {
    size: u64,
    chunks: BTreeMap<u64, Chunk>,
    pages: u64,
}

fn try_alloc_page() -> Option<Page> {
    let mut v: Vec<u8> = Vec::new();
    v.try_reserve_exact(PAGE_SIZE).ok()?;
    v.resize(PAGE_SIZE, 0);
    Some(v.into_boxed_slice())
}

fn try_alloc_chunk() -> Option<Chunk> {
    let mut v: Vec<Option<Page>> = Vec::new();
    v.try_reserve_exact(CHUNK_PAGES).ok()?;
    v.resize_with(CHUNK_PAGES, || None);
    Some(Chunk {
        pages: v.into_boxed_slice(),
        count: 0,
    })
}

impl FileData {
    fn page(&self, idx: u64) -> Option<&[u8]> {
        self.chunks
            .get(&(idx >> CHUNK_SHIFT))
            .and_then(|c| c.pages[(idx & CHUNK_MASK) as usize].as_deref())
    }

    fn page_mut(&mut self, idx: u64) -> Option<&mut [u8]> {
        self.chunks
            .get_mut(&(idx >> CHUNK_SHIFT))
            .and_then(|c| c.pages[(idx & CHUNK_MASK) as usize].as_deref_mut())
    }

    /// The page at `idx`, allocating it (charged to `fs`) if absent.
    fn page_or_alloc(&mut self, idx: u64, fs: &Shared) -> Result<&mut [u8], Errno> {
        if self.page(idx).is_none() {
            fs.reserve_pages(1)?;
            if let Err(e) = self.insert_page(idx, fs) {
                fs.release_pages(1);
                return Err(e);
            }
        }
        self.page_mut(idx).ok_or(Errno::EIO)
    }

    /// Allocates the (absent) page at `idx`; the caller reserved it.
    fn insert_page(&mut self, idx: u64, fs: &Shared) -> Result<(), Errno> {
        let key = idx >> CHUNK_SHIFT;
        if let alloc::collections::btree_map::Entry::Vacant(slot) = self.chunks.entry(key) {
            slot.insert(try_alloc_chunk().ok_or(Errno::ENOSPC)?);
        }
        let page = try_alloc_page();
        let chunk = self.chunks.get_mut(&key).ok_or(Errno::EIO)?;
        let Some(page) = page else {
            if chunk.count == 0 {
                self.chunks.remove(&key);
            }
            return Err(Errno::ENOSPC);
        };
        chunk.pages[(idx & CHUNK_MASK) as usize] = Some(page);
        chunk.count += 1;
        self.pages += 1;
        fs.pages_allocated.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Frees the pages with index in `first..end`; returns how many.
    fn free_range(&mut self, first: u64, end: u64) -> u64 {
        if first >= end {
            return 0;
        }
        let mut freed = 0u64;
        let mut empty = Vec::new();
        let range = (first >> CHUNK_SHIFT)..=((end - 1) >> CHUNK_SHIFT);
        for (&key, chunk) in self.chunks.range_mut(range) {
            let base = key << CHUNK_SHIFT;
            let lo = first.max(base);
            let hi = end.min(base + CHUNK_PAGES as u64);
            for i in lo..hi {
                if chunk.pages[(i - base) as usize].take().is_some() {
                    chunk.count -= 1;
                    freed += 1;
                }
            }
            if chunk.count == 0 {
                empty.push(key);
            }
        }
        for key in empty {
            self.chunks.remove(&key);
        }
        self.pages -= freed;
        freed
    }

    /// Zeroes bytes `from..to` (within one page) if the page exists.
    fn zero_in_page(&mut self, idx: u64, from: usize, to: usize) {
        if let Some(p) = self.page_mut(idx) {
            p[from..to].fill(0);
        }
    }

    /// First allocated page with index >= `idx`.
    fn next_data_page(&self, idx: u64) -> Option<u64> {
        for (&key, chunk) in self.chunks.range(idx >> CHUNK_SHIFT..) {
            let base = key << CHUNK_SHIFT;
            let start = idx.saturating_sub(base) as usize;
            if let Some(i) = (start..CHUNK_PAGES).find(|&i| chunk.pages[i].is_some()) {
                return Some(base + i as u64);
            }
        }
        None
    }

    /// First absent page with index >= `idx`.
    fn next_hole_page(&self, idx: u64) -> u64 {
        let mut expect = idx;
        for (&key, chunk) in self.chunks.range(idx >> CHUNK_SHIFT..) {
            let base = key << CHUNK_SHIFT;
            if base > expect {
                return expect;
            }
            let start = (expect - base) as usize;
            if let Some(i) = (start..CHUNK_PAGES).find(|&i| chunk.pages[i].is_none()) {
                return base + i as u64;
            }
            expect = base + CHUNK_PAGES as u64;
        }
        expect
    }

    fn read(&self, offset: u64, buf: &mut [u8]) -> usize {
        if offset >= self.size {
            return 0;
        }
        let n = (buf.len() as u64).min(self.size - offset) as usize;
        let mut done = 0;
        while done < n {
            let pos = offset + done as u64;
            let in_page = (pos % PAGE) as usize;
            let k = (PAGE_SIZE - in_page).min(n - done);
            let dst = &mut buf[done..done + k];
            match self.page(pos / PAGE) {
                Some(p) => dst.copy_from_slice(&p[in_page..in_page + k]),
                None => dst.fill(0),
            }
            done += k;
        }
        n
    }

    fn write(&mut self, offset: u64, buf: &[u8], fs: &Shared) -> Result<usize, Errno> {
        if buf.is_empty() {
            return Ok(0);
        }
        if offset >= MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        let len = (buf.len() as u64).min(MAX_FILE_SIZE - offset) as usize;
        let mut done = 0;
        while done < len {
            let pos = offset + done as u64;
            let in_page = (pos % PAGE) as usize;
            let k = (PAGE_SIZE - in_page).min(len - done);
            let page = match self.page_or_alloc(pos / PAGE, fs) {
                Ok(p) => p,
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            };
            page[in_page..in_page + k].copy_from_slice(&buf[done..done + k]);
            done += k;
        }
        fs.bytes_written.fetch_add(done as u64, Ordering::Relaxed);
        self.size = self.size.max(offset + done as u64);
        Ok(done)
    }
}

impl Drop for RamInode {
    fn drop(&mut self) {
        self.fs.inodes_used.fetch_sub(1, Ordering::AcqRel);
        if let Body::File(data) = &mut self.body {
            let pages = data.get_mut().pages;
            self.fs.release_pages(pages);
        }
    }
}

/// Downcasts a generic inode to a node of this ramfs.
fn as_ram<'a>(fs: &Shared, node: &'a InodeRef) -> Result<&'a RamInode, Errno> {
    match node.as_any().downcast_ref::<RamInode>() {
        Some(r) if r.fs.fs_id == fs.fs_id => Ok(r),
        _ => Err(Errno::EXDEV),
    }
}

/// Whether `a` is `d` or one of its ancestors. Callers hold the rename lock
/// (parent pointers only change under it).
fn is_ancestor_or_self(a: &RamInode, d: &Arc<RamInode>) -> bool {
    let mut cur = d.clone();
    loop {
        if cur.ino == a.ino {
            return true;
        }
        let Body::Dir(b) = &cur.body else {
            return false;
        };
        let parent = b.parent.lock().upgrade();
        match parent {
            Some(p) => cur = p,
            None => return false,
        }
    }
}

impl RamInode {
    fn arc(&self) -> Result<Arc<RamInode>, Errno> {
        self.me.upgrade().ok_or(Errno::ENOENT)
    }

    fn dir(&self) -> Result<&DirBody, Errno> {
        match &self.body {
            Body::Dir(b) => Ok(b),
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn file(&self) -> Result<&RwLock<FileData>, Errno> {
        match &self.body {
            Body::File(d) => Ok(d),
            Body::Dir(_) => Err(Errno::EISDIR),
            _ => Err(Errno::EINVAL),
        }
    }

    fn set_parent(&self, parent: &Arc<RamInode>) {
        if let Body::Dir(b) = &self.body {
            *b.parent.lock() = Arc::downgrade(parent);
        }
    }

    fn touch_dir(&self, now: Timespec, nlink_delta: i32) {
        let mut a = self.attr.lock();
        a.mtime = now;
        a.ctime = now;
        a.nlink = a.nlink.saturating_add_signed(nlink_delta);
    }

    fn touch_ctime(&self, now: Timespec, nlink_delta: i32) {
        let mut a = self.attr.lock();
        a.ctime = now;
        a.nlink = a.nlink.saturating_add_signed(nlink_delta);
    }

    /// The parent directory (`..`); the root answers itself.
    fn parent_dir(&self, b: &DirBody) -> Result<Arc<RamInode>, Errno> {
        if self.ino == self.fs.root_ino {
            return self.arc();
        }
        b.parent.lock().upgrade().ok_or(Errno::ENOENT)
    }

    fn new_node(
        &self,
        kind: FileType,
        perm: u32,
        uid: u32,
        gid: u32,
        rdev: u64,
        body: Body,
    ) -> Result<Arc<RamInode>, Errno> {
        let fs = &self.fs;
        let max = fs.max_inodes.unwrap_or(u64::MAX);
        fs.inodes_used
            .try_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                (u < max).then_some(u + 1)
            })
            .map_err(|_| Errno::ENOSPC)?;
        // inode_init_owner: a setgid directory passes on its group (and,
        // to subdirectories, the setgid bit).
        let (mut perm, mut gid) = (perm & S_IALLUGO, gid);
        {
            let a = self.attr.lock();
            if a.mode & S_ISGID != 0 {
                gid = a.gid;
                if kind == FileType::Directory {
                    perm |= S_ISGID;
                }
            }
        }
        let now = fs.now();
        let ino = fs.next_ino.fetch_add(1, Ordering::Relaxed);
        Ok(Arc::new_cyclic(|me| RamInode {
            fs: fs.clone(),
            ino,
            kind,
            me: me.clone(),
            attr: Mutex::new(Attr {
                mode: kind.mode_bits() | perm,
                nlink: if kind == FileType::Directory { 2 } else { 1 },
                uid,
                gid,
                atime: now,
                mtime: now,
                ctime: now,
                rdev,
            }),
            body,
        }))
    }

    /// Creates a child under the entry lock: ENOENT in a removed directory,
    /// EEXIST for an existing name.
    fn add_child(
        &self,
        name: &[u8],
        make: impl FnOnce(&Self) -> Result<Arc<RamInode>, Errno>,
    ) -> Result<InodeRef, Errno> {
        let b = self.dir()?;
        check_new_name(name)?;
        let mut g = b.entries.write();
        if g.removed {
            return Err(Errno::ENOENT);
        }
        if g.map.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        let node = make(self)?;
        let is_dir = node.kind == FileType::Directory;
        g.map.insert(name.to_vec(), node.clone());
        drop(g);
        self.touch_dir(node.attr.lock().ctime, i32::from(is_dir));
        Ok(node)
    }

    fn rename_in(
        src_dir: &Arc<RamInode>,
        dst_dir: &Arc<RamInode>,
        s: &mut DirData,
        mut d: Option<&mut DirData>,
        old_name: &[u8],
        new_name: &[u8],
        flags: u32,
    ) -> Result<(), Errno> {
        macro_rules! dst {
            () => {
                match d.as_deref_mut() {
                    Some(x) => x,
                    None => &mut *s,
                }
            };
        }
        if s.removed || dst!().removed {
            return Err(Errno::ENOENT);
        }
        let old = s.map.get(old_name).cloned().ok_or(Errno::ENOENT)?;
        let new = dst!().map.get(new_name).cloned();
        if flags & RENAME_NOREPLACE != 0 && new.is_some() {
            return Err(Errno::EEXIST);
        }
        // man 2 rename: two links to the same file: do nothing.
        if new.as_ref().is_some_and(|n| n.ino == old.ino) {
            return Ok(());
        }
        let old_is_dir = old.kind == FileType::Directory;
        // A directory cannot move into its own subtree.
        if old_is_dir && is_ancestor_or_self(&old, dst_dir) {
            return Err(Errno::EINVAL);
        }
        let now = src_dir.fs.now();
        let moves = src_dir.ino != dst_dir.ino;
        if flags & RENAME_EXCHANGE != 0 {
            let new = new.ok_or(Errno::ENOENT)?;
            let new_is_dir = new.kind == FileType::Directory;
            if new_is_dir && is_ancestor_or_self(&new, src_dir) {
                return Err(Errno::EINVAL);
            }
            s.map.insert(old_name.to_vec(), new.clone());
            dst!().map.insert(new_name.to_vec(), old.clone());
            if moves {
                if old_is_dir {
                    old.set_parent(dst_dir);
                }
                if new_is_dir {
                    new.set_parent(src_dir);
                }
            }
            let shift = i32::from(moves && old_is_dir) - i32::from(moves && new_is_dir);
            src_dir.touch_dir(now, -shift);
            dst_dir.touch_dir(now, shift);
            old.touch_ctime(now, 0);
            new.touch_ctime(now, 0);
            return Ok(());
        }
        let mut dst_delta = 0i32;
        if let Some(victim) = &new {
            let victim_is_dir = victim.kind == FileType::Directory;
            // The target is an ancestor of the source: not empty.
            if victim_is_dir && is_ancestor_or_self(victim, src_dir) {
                return Err(Errno::ENOTEMPTY);
            }
            if old_is_dir && !victim_is_dir {
                return Err(Errno::ENOTDIR);
            }
            if !old_is_dir && victim_is_dir {
                return Err(Errno::EISDIR);
            }
            if victim_is_dir {
                let vb = victim.dir()?;
                let mut vg = vb.entries.write();
                if !vg.map.is_empty() {
                    return Err(Errno::ENOTEMPTY);
                }
                vg.removed = true;
                drop(vg);
                victim.attr.lock().nlink = 0;
                victim.touch_ctime(now, 0);
                dst_delta -= 1;
            } else {
                victim.touch_ctime(now, -1);
            }
        }
        s.map.remove(old_name);
        dst!().map.insert(new_name.to_vec(), old.clone());
        let mut src_delta = 0i32;
        if old_is_dir && moves {
            old.set_parent(dst_dir);
            src_delta -= 1;
            dst_delta += 1;
        }
        old.touch_ctime(now, 0);
        if moves {
            src_dir.touch_dir(now, src_delta);
            dst_dir.touch_dir(now, dst_delta);
        } else {
            src_dir.touch_dir(now, src_delta + dst_delta);
        }
        Ok(())
    }
}

fn check_rename_name(name: &[u8]) -> Result<(), Errno> {
    if name == b"." || name == b".." {
        return Err(Errno::EBUSY);
    }
    match check_new_name(name) {
        Err(Errno::EEXIST) => Err(Errno::EBUSY),
        r => r,
    }
}

impl Inode for RamInode {
    fn metadata(&self) -> Metadata {
        let (size, blocks) = match &self.body {
            Body::File(d) => {
                let d = d.read();
                (d.size, d.pages * (PAGE / 512))
            }
            Body::Dir(b) => {
                let n = b.entries.read().map.len() as u64;
                ((n + 2) * BOGO_DIRENT_SIZE, 0)
            }
            Body::Symlink(t) => (t.len() as u64, 0),
            Body::Special => (0, 0),
        };
        let a = *self.attr.lock();
        Metadata {
            ino: self.ino,
            dev: self.fs.fs_id,
            mode: a.mode,
            nlink: u64::from(a.nlink),
            uid: a.uid,
            gid: a.gid,
            size,
            blocks,
            blksize: PAGE_SIZE as u32,
            atime: a.atime,
            mtime: a.mtime,
            ctime: a.ctime,
            rdev: a.rdev,
        }
    }

    fn fs_id(&self) -> u64 {
        self.fs.fs_id
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn ino(&self) -> u64 {
        self.ino
    }

    fn file_type(&self) -> FileType {
        self.kind
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        Ok(self.file()?.read().read(offset, buf))
    }

    fn write_at(&self, offset: u64, buf: &[u8]) -> Result<usize, Errno> {
        let n = self.file()?.write().write(offset, buf, &self.fs)?;
        self.modified();
        Ok(n)
    }

    fn append(&self, buf: &[u8]) -> Result<(u64, usize), Errno> {
        let mut d = self.file()?.write();
        let offset = d.size;
        let n = d.write(offset, buf, &self.fs)?;
        drop(d);
        self.modified();
        Ok((offset, n))
    }

    fn truncate(&self, len: u64) -> Result<(), Errno> {
        if len > MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        let mut d = self.file()?.write();
        let old = d.size;
        if len < old {
            let freed = d.free_range(len.div_ceil(PAGE), u64::MAX);
            self.fs.release_pages(freed);
            let tail = (len % PAGE) as usize;
            if tail != 0 {
                d.zero_in_page(len / PAGE, tail, PAGE_SIZE);
            }
        }
        d.size = len;
        drop(d);
        // man 2 truncate: timestamps change only if the size changed.
        if len != old {
            self.modified();
        }
        Ok(())
    }

    fn allocate(&self, mode: u32, offset: u64, len: u64) -> Result<(), Errno> {
        let data = self.file().map_err(|e| match e {
            Errno::EINVAL => Errno::ENODEV,
            e => e,
        })?;
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        let end = offset
            .checked_add(len)
            .filter(|&e| e <= MAX_FILE_SIZE)
            .ok_or(Errno::EFBIG)?;
        let (first, last) = (offset / PAGE, (end - 1) / PAGE);
        match mode {
            0 | FALLOC_FL_KEEP_SIZE => {
                let mut d = data.write();
                let missing: Vec<u64> = (first..=last).filter(|&i| d.page(i).is_none()).collect();
                self.fs.reserve_pages(missing.len() as u64)?;
                for (n, &idx) in missing.iter().enumerate() {
                    if let Err(e) = d.insert_page(idx, &self.fs) {
                        for &undo in &missing[..n] {
                            d.free_range(undo, undo + 1);
                        }
                        self.fs.release_pages(missing.len() as u64);
                        return Err(e);
                    }
                }
                let grew = mode == 0 && end > d.size;
                if grew {
                    d.size = end;
                }
                drop(d);
                let now = self.fs.now();
                let mut a = self.attr.lock();
                a.ctime = now;
                if grew {
                    a.mtime = now;
                }
                Ok(())
            }
            m if m == FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE => {
                let mut d = data.write();
                let (head, tail) = ((offset % PAGE) as usize, (end % PAGE) as usize);
                if first == end / PAGE {
                    // Within one page.
                    d.zero_in_page(first, head, tail);
                } else {
                    if head != 0 {
                        d.zero_in_page(first, head, PAGE_SIZE);
                    }
                    if tail != 0 {
                        d.zero_in_page(end / PAGE, 0, tail);
                    }
                    let freed = d.free_range(offset.div_ceil(PAGE), end / PAGE);
                    self.fs.release_pages(freed);
                }
                drop(d);
                self.modified();
                Ok(())
            }
            _ => Err(Errno::EOPNOTSUPP),
        }
    }

    fn seek_data(&self, offset: u64) -> Result<u64, Errno> {
        let d = self.file()?.read();
        if offset >= d.size {
            return Err(Errno::ENXIO);
        }
        let page = d.next_data_page(offset / PAGE).ok_or(Errno::ENXIO)?;
        let pos = offset.max(page * PAGE);
        if pos >= d.size {
            return Err(Errno::ENXIO);
        }
        Ok(pos)
    }

    fn seek_hole(&self, offset: u64) -> Result<u64, Errno> {
        let d = self.file()?.read();
        if offset >= d.size {
            return Err(Errno::ENXIO);
        }
        let page = d.next_hole_page(offset / PAGE);
        Ok(offset.max(page.saturating_mul(PAGE)).min(d.size))
    }

    fn statfs(&self) -> StatFs {
        let fs = &self.fs;
        let used = fs.pages_used.load(Ordering::Relaxed);
        let blocks = fs.max_pages.unwrap_or(0);
        let files = fs.max_inodes.unwrap_or(0);
        let ifree = files.saturating_sub(fs.inodes_used.load(Ordering::Relaxed));
        StatFs {
            fs_type: TMPFS_MAGIC,
            bsize: PAGE,
            blocks,
            bfree: blocks.saturating_sub(used),
            bavail: blocks.saturating_sub(used),
            files,
            ffree: ifree,
            fsid: fs.fs_id,
            namelen: NAME_MAX as u64,
            frsize: PAGE,
            flags: 0,
        }
    }

    fn lookup(&self, name: &[u8]) -> Result<InodeRef, Errno> {
        let b = self.dir()?;
        if name == b".." {
            return Ok(self.parent_dir(b)?);
        }
        if name == b"." {
            return Ok(self.arc()?);
        }
        let g = b.entries.read();
        match g.map.get(name) {
            Some(n) => Ok(n.clone()),
            None => Err(Errno::ENOENT),
        }
    }

    fn mknod(
        &self,
        name: &[u8],
        mode: u32,
        rdev: u64,
        uid: u32,
        gid: u32,
    ) -> Result<InodeRef, Errno> {
        let kind = match mode & S_IFMT {
            0 => FileType::Regular,
            t => match FileType::from_mode(t) {
                Some(FileType::Directory) => return Err(Errno::EPERM),
                Some(FileType::Symlink) | None => return Err(Errno::EINVAL),
                Some(k) => k,
            },
        };
        let rdev = match kind {
            FileType::CharDevice | FileType::BlockDevice => rdev,
            _ => 0,
        };
        self.add_child(name, |dir| {
            let body = if kind == FileType::Regular {
                Body::File(RwLock::new(FileData::default()))
            } else {
                Body::Special
            };
            dir.new_node(kind, mode, uid, gid, rdev, body)
        })
    }

    fn mkdir(&self, name: &[u8], mode: u32, uid: u32, gid: u32) -> Result<InodeRef, Errno> {
        let me = self.arc()?;
        self.add_child(name, |dir| {
            let body = Body::Dir(DirBody {
                entries: RwLock::new(DirData::default()),
                parent: Mutex::new(Arc::downgrade(&me)),
            });
            dir.new_node(FileType::Directory, mode, uid, gid, 0, body)
        })
    }

    fn symlink(&self, name: &[u8], target: &[u8], uid: u32, gid: u32) -> Result<InodeRef, Errno> {
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        if target.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let mut t = Vec::new();
        t.try_reserve_exact(target.len())
            .map_err(|_| Errno::ENOSPC)?;
        t.extend_from_slice(target);
        self.add_child(name, |dir| {
            dir.new_node(FileType::Symlink, 0o777, uid, gid, 0, Body::Symlink(t))
        })
    }

    fn link(&self, name: &[u8], target: &InodeRef) -> Result<(), Errno> {
        let b = self.dir()?;
        if target.file_type() == FileType::Directory {
            return Err(Errno::EPERM);
        }
        let t = as_ram(&self.fs, target)?.arc()?;
        check_new_name(name)?;
        let mut g = b.entries.write();
        if g.removed {
            return Err(Errno::ENOENT);
        }
        if g.map.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        let now = self.fs.now();
        {
            let mut a = t.attr.lock();
            if a.nlink == 0 {
                return Err(Errno::ENOENT);
            }
            if a.nlink == u32::MAX {
                return Err(Errno::EMLINK);
            }
            a.nlink += 1;
            a.ctime = now;
        }
        g.map.insert(name.to_vec(), t);
        drop(g);
        self.touch_dir(now, 0);
        Ok(())
    }

    fn unlink(&self, name: &[u8]) -> Result<(), Errno> {
        let b = self.dir()?;
        if name == b"." || name == b".." {
            return Err(Errno::EISDIR);
        }
        let mut g = b.entries.write();
        let child = g.map.get(name).ok_or(Errno::ENOENT)?;
        if child.kind == FileType::Directory {
            return Err(Errno::EISDIR);
        }
        let Some(child) = g.map.remove(name) else {
            return Err(Errno::ENOENT);
        };
        drop(g);
        let now = self.fs.now();
        child.touch_ctime(now, -1);
        self.touch_dir(now, 0);
        Ok(())
    }

    fn rmdir(&self, name: &[u8]) -> Result<(), Errno> {
        let b = self.dir()?;
        if name == b"." {
            return Err(Errno::EINVAL);
        }
        if name == b".." {
            return Err(Errno::ENOTEMPTY);
        }
        let mut g = b.entries.write();
        let child = g.map.get(name).cloned().ok_or(Errno::ENOENT)?;
        let cb = child.dir()?;
        {
            let mut cg = cb.entries.write();
            if !cg.map.is_empty() {
                return Err(Errno::ENOTEMPTY);
            }
            cg.removed = true;
        }
        g.map.remove(name);
        drop(g);
        let now = self.fs.now();
        {
            let mut a = child.attr.lock();
            a.nlink = 0;
            a.ctime = now;
        }
        self.touch_dir(now, -1);
        Ok(())
    }

    fn rename(
        &self,
        old_name: &[u8],
        new_dir: &InodeRef,
        new_name: &[u8],
        flags: u32,
    ) -> Result<(), Errno> {
        let known = RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT;
        if flags & !known != 0
            || flags & (RENAME_NOREPLACE | RENAME_EXCHANGE) == RENAME_NOREPLACE | RENAME_EXCHANGE
            || flags & RENAME_WHITEOUT != 0
        {
            return Err(Errno::EINVAL);
        }
        let sb = self.dir()?;
        let dst = as_ram(&self.fs, new_dir)?;
        let db = dst.dir()?;
        check_rename_name(old_name)?;
        check_rename_name(new_name)?;
        let _serial = self.fs.rename_lock.lock();
        let (src_arc, dst_arc) = (self.arc()?, dst.arc()?);
        if self.ino == dst.ino {
            let mut g = sb.entries.write();
            return Self::rename_in(&src_arc, &dst_arc, &mut g, None, old_name, new_name, flags);
        }
        // Ancestor first (rmdir locks parent then child), else by inode.
        let dst_first = is_ancestor_or_self(dst, &src_arc)
            || (!is_ancestor_or_self(self, &dst_arc) && dst.ino < self.ino);
        let (mut gs, mut gd) = if dst_first {
            let gd = db.entries.write();
            (sb.entries.write(), gd)
        } else {
            let gs = sb.entries.write();
            (gs, db.entries.write())
        };
        Self::rename_in(
            &src_arc,
            &dst_arc,
            &mut gs,
            Some(&mut gd),
            old_name,
            new_name,
            flags,
        )
    }

    fn read_dir(
        &self,
        cursor: &DirCursor,
        sink: &mut dyn FnMut(DirEntry) -> bool,
    ) -> Result<(), Errno> {
        let b = self.dir()?;
        let mut cur = cursor.clone();
        loop {
            let mut batch = Vec::new();
            if cur == DirCursor::Start {
                batch.push(DirEntry {
                    ino: self.ino,
                    kind: FileType::Directory,
                    name: b".".to_vec(),
                    next: DirCursor::Dot,
                });
            }
            if matches!(cur, DirCursor::Start | DirCursor::Dot) {
                let parent = self.parent_dir(b).map_or(self.ino, |p| p.ino);
                batch.push(DirEntry {
                    ino: parent,
                    kind: FileType::Directory,
                    name: b"..".to_vec(),
                    next: DirCursor::DotDot,
                });
            }
            let lower = match &cur {
                DirCursor::After(name) => Bound::Excluded(name.as_slice()),
                DirCursor::Pos(_) => return Err(Errno::EINVAL),
                _ => Bound::Unbounded,
            };
            {
                let g = b.entries.read();
                for (name, node) in g
                    .map
                    .range::<[u8], _>((lower, Bound::Unbounded))
                    .take(READDIR_BATCH)
                {
                    batch.push(DirEntry {
                        ino: node.ino,
                        kind: node.kind,
                        name: name.clone(),
                        next: DirCursor::After(name.clone()),
                    });
                }
            }
            if batch.is_empty() {
                return Ok(());
            }
            for e in batch {
                let next = e.next.clone();
                if !sink(e) {
                    return Ok(());
                }
                cur = next;
            }
        }
    }

    fn readlink(&self) -> Result<Vec<u8>, Errno> {
        match &self.body {
            Body::Symlink(t) => Ok(t.clone()),
            _ => Err(Errno::EINVAL),
        }
    }

    fn set_times(&self, atime: Option<Timespec>, mtime: Option<Timespec>) -> Result<(), Errno> {
        let now = self.fs.now();
        let mut a = self.attr.lock();
        if let Some(t) = atime {
            a.atime = t;
        }
        if let Some(t) = mtime {
            a.mtime = t;
        }
        a.ctime = now;
        Ok(())
    }

    fn set_mode(&self, mode: u32) -> Result<(), Errno> {
        let now = self.fs.now();
        let mut a = self.attr.lock();
        a.mode = (a.mode & S_IFMT) | (mode & S_IALLUGO);
        a.ctime = now;
        Ok(())
    }

    fn set_owner(&self, uid: Option<u32>, gid: Option<u32>) -> Result<(), Errno> {
        let now = self.fs.now();
        let mut a = self.attr.lock();
        if let Some(u) = uid {
            a.uid = u;
        }
        if let Some(g) = gid {
            a.gid = g;
        }
        // man 2 chown: changing the owner or group of a non-directory
        // clears set-user-ID, and set-group-ID when group-executable.
        if (uid.is_some() || gid.is_some()) && self.kind != FileType::Directory {
            a.mode &= !S_ISUID;
            if a.mode & S_IXGRP != 0 {
                a.mode &= !S_ISGID;
            }
        }
        a.ctime = now;
        Ok(())
    }
}

impl RamInode {
    /// After a data change: mtime/ctime to now; a write drops set-user-ID
    /// and (group-executable) set-group-ID, as Linux's `file_remove_privs`.
    fn modified(&self) {
        let now = self.fs.now();
        let mut a = self.attr.lock();
        a.mtime = now;
        a.ctime = now;
        a.mode &= !S_ISUID;
        if a.mode & S_IXGRP != 0 {
            a.mode &= !S_ISGID;
        }
    }
}
