//! The image reader: [`RofsReader`] over any [`Storage`].
//!
//! `open` checks the superblock (magic, version, checksum, features, block
//! size) and that every table lies inside the image and the storage, then
//! reads the root inode. Everything else is read on demand and checked
//! where it is read: each inode and directory entry against its own
//! CRC32C and ranges, each data block against the CRC32C in its block-map
//! entry before it is decompressed. Damage of any kind is an error
//! (`EIO` for the kernel), never a panic and never wrong bytes.
//!
//! Decompressed blocks (and, for storage that is not plain memory, 4 KiB
//! metadata pages) go through a shared LRU cache ([`crate::cache`]) whose
//! lock is held only for the map operations, so reads of different files
//! decompress in parallel. The reader is `Sync` when the storage is.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::cmp::Ordering;

use spin::Mutex;

use crate::cache::{Cache, CacheStats, Key};
use crate::error::{RofsError, StorageError};
use crate::format::{
    BlockEntry, FileType, RawDirent, RawInode, Superblock, BLOCK_ENTRY_LEN, DIRENT_LEN, INODE_LEN,
    NAME_MAX, SUPERBLOCK_LEN, TARGET_MAX,
};

/// Result of reader operations.
pub type Result<T> = core::result::Result<T, RofsError>;

/// Where the image bytes live: a virtio block device, memory, a host file.
pub trait Storage {
    /// Fills `buf` with the bytes at `off`; the whole range must exist.
    fn read_at(&self, off: u64, buf: &mut [u8]) -> core::result::Result<(), StorageError>;

    /// Length in bytes.
    fn len(&self) -> u64;

    /// Whether the storage is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The whole storage as one slice, if it is plain memory. The reader
    /// then reads metadata straight from it instead of caching pages.
    fn as_slice(&self) -> Option<&[u8]> {
        None
    }
}

impl Storage for [u8] {
    fn read_at(&self, off: u64, buf: &mut [u8]) -> core::result::Result<(), StorageError> {
        let start = usize::try_from(off).map_err(|_| StorageError::OutOfBounds)?;
        let end = start
            .checked_add(buf.len())
            .ok_or(StorageError::OutOfBounds)?;
        let src = self.get(start..end).ok_or(StorageError::OutOfBounds)?;
        buf.copy_from_slice(src);
        Ok(())
    }
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }
    fn as_slice(&self) -> Option<&[u8]> {
        Some(self)
    }
}

impl Storage for Vec<u8> {
    fn read_at(&self, off: u64, buf: &mut [u8]) -> core::result::Result<(), StorageError> {
        self.as_slice().read_at(off, buf)
    }
    fn len(&self) -> u64 {
        Vec::len(self) as u64
    }
    fn as_slice(&self) -> Option<&[u8]> {
        Some(self)
    }
}

impl<T: Storage + ?Sized> Storage for &T {
    fn read_at(&self, off: u64, buf: &mut [u8]) -> core::result::Result<(), StorageError> {
        (**self).read_at(off, buf)
    }
    fn len(&self) -> u64 {
        (**self).len()
    }
    fn as_slice(&self) -> Option<&[u8]> {
        (**self).as_slice()
    }
}

impl<T: Storage + ?Sized> Storage for alloc::boxed::Box<T> {
    fn read_at(&self, off: u64, buf: &mut [u8]) -> core::result::Result<(), StorageError> {
        (**self).read_at(off, buf)
    }
    fn len(&self) -> u64 {
        (**self).len()
    }
    fn as_slice(&self) -> Option<&[u8]> {
        (**self).as_slice()
    }
}

impl<T: Storage + ?Sized> Storage for Arc<T> {
    fn read_at(&self, off: u64, buf: &mut [u8]) -> core::result::Result<(), StorageError> {
        (**self).read_at(off, buf)
    }
    fn len(&self) -> u64 {
        (**self).len()
    }
    fn as_slice(&self) -> Option<&[u8]> {
        (**self).as_slice()
    }
}

/// Metadata page size for storage that is not plain memory.
const META_PAGE: u64 = 4096;

/// Default cache budget: 1 MiB.
pub const DEFAULT_CACHE_BUDGET: usize = 1 << 20;

/// What `stat` needs to know about an inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InodeInfo {
    /// Inode number (`st_ino`), `1..=inode_count`.
    pub ino: u32,
    /// File type (also in the `S_IFMT` bits of `mode`).
    pub kind: FileType,
    /// `st_mode`: type and permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Link count.
    pub nlink: u32,
    /// Size in bytes: file length, symlink target length; for a
    /// directory, its number of entries (without `.` and `..`).
    pub size: u64,
    /// Modification time, seconds since the epoch (also used for atime
    /// and ctime: the image is read-only).
    pub mtime_sec: i64,
    /// Nanoseconds of the modification time.
    pub mtime_nsec: u32,
    /// Device number (Linux `dev_t` encoding) of device nodes, else 0.
    pub rdev: u64,
    /// Directories: inode number of the parent (the root's is itself).
    pub parent: u32,
    count: u32,
    data: u64,
    aux: u32,
}

impl InodeInfo {
    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.kind == FileType::Directory
    }

    /// Number of entries of a directory (0 for other types).
    pub fn entries(&self) -> u32 {
        if self.is_dir() {
            self.count
        } else {
            0
        }
    }
}

/// One directory entry.
#[derive(Clone, Copy)]
pub struct DirEntry {
    /// Inode number of the target.
    pub ino: u32,
    /// Type of the target (`d_type`).
    pub kind: FileType,
    /// Position in the directory; the entry after it is at `index + 1`.
    pub index: u32,
    name: [u8; NAME_MAX],
    name_len: u8,
}

impl DirEntry {
    /// The name (1 to 255 bytes, no `/` or NUL).
    pub fn name(&self) -> &[u8] {
        &self.name[..self.name_len as usize]
    }

    /// The cursor of the entry after this one, for [`RofsReader::read_dir`].
    pub fn next_cursor(&self) -> u64 {
        u64::from(self.index) + 1
    }
}

impl core::fmt::Debug for DirEntry {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DirEntry")
            .field("ino", &self.ino)
            .field("kind", &self.kind)
            .field("index", &self.index)
            .field("name", &alloc::string::String::from_utf8_lossy(self.name()))
            .finish()
    }
}

/// File-system numbers for `statfs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatFs {
    /// Block size (`f_bsize`, `f_frsize`).
    pub block_size: u64,
    /// Image size in blocks (`f_blocks`; `f_bfree` and `f_bavail` are 0).
    pub blocks: u64,
    /// Number of inodes (`f_files`; `f_ffree` is 0).
    pub files: u64,
    /// Longest name (`f_namelen`).
    pub name_max: u64,
    /// Image length in bytes.
    pub image_len: u64,
    /// Sum of regular file sizes.
    pub file_bytes: u64,
}

/// A read-only view of one image.
pub struct RofsReader<S> {
    storage: S,
    sb: Superblock,
    cache: Mutex<Cache>,
}

impl<S> core::fmt::Debug for RofsReader<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RofsReader")
            .field("superblock", &self.sb)
            .finish_non_exhaustive()
    }
}

/// Whether `buf` starts like an oxv image (the magic only).
pub fn has_magic(buf: &[u8]) -> bool {
    buf.len() >= crate::format::MAGIC.len()
        && buf[..crate::format::MAGIC.len()] == crate::format::MAGIC
}

fn corrupt(what: &'static str) -> RofsError {
    RofsError::Corrupt(what)
}

/// Checks a single path component.
fn check_name(name: &[u8]) -> Result<()> {
    if name.len() > NAME_MAX {
        return Err(RofsError::NameTooLong);
    }
    if name.is_empty() || name.iter().any(|&b| b == b'/' || b == 0) {
        return Err(RofsError::InvalidName);
    }
    Ok(())
}

impl<S: Storage> RofsReader<S> {
    /// Opens an image with the default cache budget.
    pub fn open(storage: S) -> Result<Self> {
        Self::with_cache_budget(storage, DEFAULT_CACHE_BUDGET)
    }

    /// Opens an image whose cache may hold `budget` bytes.
    pub fn with_cache_budget(storage: S, budget: usize) -> Result<Self> {
        let mut head = [0u8; SUPERBLOCK_LEN];
        let avail = storage.len().min(SUPERBLOCK_LEN as u64) as usize;
        storage.read_at(0, &mut head[..avail])?;
        let sb = Superblock::decode(&head[..avail])?;
        if sb.image_len > storage.len() {
            return Err(RofsError::Truncated);
        }
        let r = RofsReader {
            storage,
            sb,
            cache: Mutex::new(Cache::new(budget)),
        };
        let root = r.inode(sb.root_ino)?;
        if !root.is_dir() {
            return Err(corrupt("root is not a directory"));
        }
        Ok(r)
    }

    /// The decoded superblock.
    pub fn superblock(&self) -> &Superblock {
        &self.sb
    }

    /// The storage the image is read from.
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// Inode number of the root directory.
    pub fn root(&self) -> u32 {
        self.sb.root_ino
    }

    /// The block size.
    pub fn block_size(&self) -> u64 {
        self.sb.block_size()
    }

    /// Numbers for `statfs`.
    pub fn statfs(&self) -> StatFs {
        StatFs {
            block_size: self.sb.block_size(),
            blocks: self.sb.image_len.div_ceil(self.sb.block_size()),
            files: self.sb.inode_count.into(),
            name_max: NAME_MAX as u64,
            image_len: self.sb.image_len,
            file_bytes: self.sb.file_bytes,
        }
    }

    /// Cache statistics.
    pub fn cache_stats(&self) -> CacheStats {
        self.cache.lock().stats()
    }

    /// Sets the cache budget in bytes (evicting down to it).
    pub fn set_cache_budget(&self, budget: usize) {
        self.cache.lock().set_budget(budget);
    }

    /// Frees at least `bytes` of cache if it holds that much (least
    /// recently used first); returns the bytes freed. The budget stays.
    pub fn shrink(&self, bytes: usize) -> usize {
        self.cache.lock().shrink(bytes)
    }

    /// Reads metadata bytes at absolute offset `off` (already range-checked
    /// against a table by the caller).
    fn read_meta(&self, off: u64, buf: &mut [u8]) -> Result<()> {
        let end = off
            .checked_add(buf.len() as u64)
            .filter(|&e| e <= self.sb.image_len)
            .ok_or(corrupt("metadata range"))?;
        if let Some(all) = self.storage.as_slice() {
            let src = all
                .get(off as usize..end as usize)
                .ok_or(RofsError::Truncated)?;
            buf.copy_from_slice(src);
            return Ok(());
        }
        let mut done = 0usize;
        while done < buf.len() {
            let pos = off + done as u64;
            let page_off = pos & !(META_PAGE - 1);
            let page = self.meta_page(page_off)?;
            let page: &[u8] = &page[..];
            let in_page = (pos - page_off) as usize;
            let n = (buf.len() - done).min(page.len().saturating_sub(in_page));
            if n == 0 {
                return Err(RofsError::Truncated);
            }
            buf[done..done + n].copy_from_slice(&page[in_page..in_page + n]);
            done += n;
        }
        Ok(())
    }

    fn meta_page(&self, page_off: u64) -> Result<Arc<Vec<u8>>> {
        let key: Key = (page_off, 0);
        if let Some(p) = self.cache.lock().get(key) {
            return Ok(p);
        }
        let len = (self.sb.image_len - page_off).min(META_PAGE) as usize;
        let mut page = vec![0u8; len];
        self.storage.read_at(page_off, &mut page)?;
        let page = Arc::new(page);
        self.cache.lock().insert(key, page.clone());
        Ok(page)
    }

    /// The inode `ino`.
    pub fn inode(&self, ino: u32) -> Result<InodeInfo> {
        if ino == 0 || ino > self.sb.inode_count {
            return Err(RofsError::NoSuchInode(ino));
        }
        let mut b = [0u8; INODE_LEN];
        let off = self.sb.inode_off + u64::from(ino - 1) * INODE_LEN as u64;
        self.read_meta(off, &mut b)?;
        let raw = RawInode::decode(&b, ino).ok_or(RofsError::Checksum("inode"))?;
        let kind = FileType::from_mode(raw.mode).ok_or(corrupt("inode type"))?;
        if raw.nlink == 0 {
            return Err(corrupt("inode link count"));
        }
        let mut rdev = 0;
        match kind {
            FileType::Regular => {
                let blocks = raw.size.div_ceil(self.sb.block_size());
                if blocks != u64::from(raw.count) {
                    return Err(corrupt("file block count"));
                }
                let end = raw.data.checked_add(blocks);
                if end.is_none_or(|e| e > self.sb.blockmap_count) {
                    return Err(corrupt("file block map range"));
                }
            }
            FileType::Directory => {
                let end = raw.data.checked_add(raw.count.into());
                if end.is_none_or(|e| e > self.sb.dirent_count.into())
                    || raw.size != u64::from(raw.count)
                {
                    return Err(corrupt("directory entry range"));
                }
                if raw.parent == 0 || raw.parent > self.sb.inode_count {
                    return Err(corrupt("directory parent"));
                }
            }
            FileType::Symlink => {
                let end = raw.data.checked_add(raw.size);
                if raw.size == 0
                    || raw.size > TARGET_MAX as u64
                    || end.is_none_or(|e| e > self.sb.strings_len)
                {
                    return Err(corrupt("symlink target range"));
                }
            }
            FileType::CharDevice | FileType::BlockDevice => rdev = raw.data,
            FileType::Fifo | FileType::Socket => {}
        }
        Ok(InodeInfo {
            ino,
            kind,
            mode: raw.mode,
            uid: raw.uid,
            gid: raw.gid,
            nlink: raw.nlink,
            size: raw.size,
            mtime_sec: raw.mtime_sec,
            mtime_nsec: raw.mtime_nsec,
            rdev,
            parent: if kind == FileType::Directory {
                raw.parent
            } else {
                0
            },
            count: raw.count,
            data: raw.data,
            aux: raw.aux,
        })
    }

    fn dir_inode(&self, ino: u32) -> Result<InodeInfo> {
        let d = self.inode(ino)?;
        if !d.is_dir() {
            return Err(RofsError::NotDirectory);
        }
        Ok(d)
    }

    /// Entry `index` of directory `dir` (already checked to be in range).
    fn entry_of(&self, dir: &InodeInfo, index: u32) -> Result<DirEntry> {
        let global = dir.data + u64::from(index);
        let global32 = u32::try_from(global).map_err(|_| corrupt("directory index"))?;
        let mut b = [0u8; DIRENT_LEN];
        self.read_meta(self.sb.dirent_off + global * DIRENT_LEN as u64, &mut b)?;
        let raw = RawDirent::decode(&b).ok_or(RofsError::Checksum("directory entry"))?;
        let len = raw.name_len as usize;
        if len == 0 || len > NAME_MAX {
            return Err(RofsError::Checksum("directory entry"));
        }
        let name_end = u64::from(raw.name_off) + len as u64;
        if name_end > self.sb.strings_len {
            return Err(RofsError::Checksum("directory entry"));
        }
        let mut name = [0u8; NAME_MAX];
        self.read_meta(
            self.sb.strings_off + u64::from(raw.name_off),
            &mut name[..len],
        )?;
        if raw.checksum(global32, &name[..len]) != raw.crc {
            return Err(RofsError::Checksum("directory entry"));
        }
        let n = &name[..len];
        if check_name(n).is_err() || n == b"." || n == b".." {
            return Err(corrupt("directory entry name"));
        }
        if raw.ino == 0 || raw.ino > self.sb.inode_count {
            return Err(corrupt("directory entry inode"));
        }
        let kind = FileType::from_dtype(raw.dtype).ok_or(corrupt("directory entry type"))?;
        Ok(DirEntry {
            ino: raw.ino,
            kind,
            index,
            name,
            name_len: len as u8,
        })
    }

    /// Looks `name` up in directory `dir` (binary search; `.` and `..`
    /// are answered from the directory itself). `Ok(None)`: no such entry.
    pub fn lookup(&self, dir: u32, name: &[u8]) -> Result<Option<u32>> {
        let d = self.dir_inode(dir)?;
        check_name(name)?;
        if name == b"." {
            return Ok(Some(dir));
        }
        if name == b".." {
            return Ok(Some(d.parent));
        }
        let (mut lo, mut hi) = (0u32, d.count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let e = self.entry_of(&d, mid)?;
            match e.name().cmp(name) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => return Ok(Some(e.ino)),
            }
        }
        Ok(None)
    }

    /// Resolves an absolute or root-relative path without following
    /// symlinks (`.` and `..` allowed). `Ok(None)`: some component is missing.
    pub fn lookup_path(&self, path: &[u8]) -> Result<Option<u32>> {
        let mut ino = self.root();
        for comp in path.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
            match self.lookup(ino, comp)? {
                Some(next) => ino = next,
                None => return Ok(None),
            }
        }
        Ok(Some(ino))
    }

    /// Entry `index` of directory `dir` in the stable (sorted) order;
    /// `Ok(None)` past the end.
    pub fn dir_entry(&self, dir: u32, index: u64) -> Result<Option<DirEntry>> {
        let d = self.dir_inode(dir)?;
        if index >= u64::from(d.count) {
            return Ok(None);
        }
        self.entry_of(&d, index as u32).map(Some)
    }

    /// The entries of `dir` from `cursor` on (0 is the first entry; each
    /// entry's [`DirEntry::next_cursor`] continues after it). Cursors stay
    /// valid for the life of the image.
    pub fn read_dir(&self, dir: u32, cursor: u64) -> Result<ReadDir<'_, S>> {
        let d = self.dir_inode(dir)?;
        Ok(ReadDir {
            reader: self,
            dir: d,
            next: cursor.min(u64::from(d.count)) as u32,
        })
    }

    /// Copies the target of symlink `ino` into `buf`; returns its length.
    pub fn read_link(&self, ino: u32, buf: &mut [u8]) -> Result<usize> {
        let i = self.inode(ino)?;
        if i.kind != FileType::Symlink {
            return Err(RofsError::NotSymlink);
        }
        let n = i.size as usize;
        let out = buf.get_mut(..n).ok_or(RofsError::BufferTooSmall)?;
        self.read_meta(self.sb.strings_off + i.data, out)?;
        if crate::crc32c::crc32c(out) != i.aux {
            return Err(RofsError::Checksum("symlink target"));
        }
        Ok(n)
    }

    /// The target of symlink `ino`.
    pub fn read_link_vec(&self, ino: u32) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; TARGET_MAX];
        let n = self.read_link(ino, &mut buf)?;
        buf.truncate(n);
        Ok(buf)
    }

    fn file_inode(&self, ino: u32) -> Result<InodeInfo> {
        let i = self.inode(ino)?;
        match i.kind {
            FileType::Regular => Ok(i),
            FileType::Directory => Err(RofsError::IsDirectory),
            _ => Err(RofsError::NotRegular),
        }
    }

    /// Block-map entry `block` of file `f` (in range by the caller).
    fn block_entry(&self, f: &InodeInfo, block: u64) -> Result<BlockEntry> {
        let mut b = [0u8; BLOCK_ENTRY_LEN];
        let idx = f.data + block;
        self.read_meta(self.sb.blockmap_off + idx * BLOCK_ENTRY_LEN as u64, &mut b)?;
        Ok(BlockEntry::decode(&b))
    }

    /// Logical length of block `block` of file `f`.
    fn block_len(&self, f: &InodeInfo, block: u64) -> usize {
        let start = block << self.sb.block_log2;
        (f.size - start).min(self.sb.block_size()) as usize
    }

    /// The decompressed, verified bytes of a stored block of `logical` bytes.
    fn load_block(&self, e: BlockEntry, logical: usize) -> Result<Arc<Vec<u8>>> {
        let stored = e.stored_len as usize;
        let data_end = self.sb.data_off + self.sb.data_len;
        let end = e.offset.checked_add(u64::from(e.stored_len));
        if stored == 0
            || stored > logical
            || e.offset < self.sb.data_off
            || end.is_none_or(|x| x > data_end)
        {
            return Err(RofsError::Checksum("block map entry"));
        }
        let key: Key = (e.offset, e.stored_len);
        if let Some(b) = self.cache.lock().get(key) {
            if b[..].len() != logical {
                return Err(corrupt("shared block length"));
            }
            return Ok(b);
        }
        let mut raw = vec![0u8; stored];
        self.storage.read_at(e.offset, &mut raw)?;
        if crate::crc32c::crc32c(&raw) != e.crc {
            return Err(RofsError::Checksum("data block"));
        }
        let block = if stored == logical {
            raw
        } else {
            let mut out = vec![0u8; logical];
            decompress(&raw, &mut out)?;
            out
        };
        let block = Arc::new(block);
        self.cache.lock().insert(key, block.clone());
        Ok(block)
    }

    /// Reads file `ino` from `offset` into `buf`; returns the number of
    /// bytes read (short only at end of file). Only the blocks that
    /// overlap the range are decompressed; holes read as zeros.
    pub fn read_file(&self, ino: u32, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let f = self.file_inode(ino)?;
        if offset >= f.size || buf.is_empty() {
            return Ok(0);
        }
        let n = (f.size - offset).min(buf.len() as u64) as usize;
        let log2 = self.sb.block_log2;
        let mut done = 0usize;
        while done < n {
            let pos = offset + done as u64;
            let block = pos >> log2;
            let in_block = (pos - (block << log2)) as usize;
            let logical = self.block_len(&f, block);
            let take = (logical - in_block).min(n - done);
            let out = &mut buf[done..done + take];
            let e = self.block_entry(&f, block)?;
            if e.is_hole() {
                out.fill(0);
            } else {
                let data = self.load_block(e, logical)?;
                out.copy_from_slice(&data[in_block..in_block + take]);
            }
            done += take;
        }
        Ok(n)
    }

    /// `SEEK_DATA`: the first offset at or after `offset` that is not in
    /// a hole; `Ok(None)` (ENXIO) if there is none before end of file.
    pub fn next_data(&self, ino: u32, offset: u64) -> Result<Option<u64>> {
        let f = self.file_inode(ino)?;
        if offset >= f.size {
            return Ok(None);
        }
        self.first_block_from(&f, offset, false)
    }

    /// `SEEK_HOLE`: the first offset at or after `offset` inside a hole,
    /// or the file size (the implicit hole at end of file); `Ok(None)`
    /// (ENXIO) if `offset` is at or past the end.
    pub fn next_hole(&self, ino: u32, offset: u64) -> Result<Option<u64>> {
        let f = self.file_inode(ino)?;
        if offset >= f.size {
            return Ok(None);
        }
        Ok(Some(
            self.first_block_from(&f, offset, true)?.unwrap_or(f.size),
        ))
    }

    /// The first offset at or after `offset` in a stored block that is a
    /// hole (`hole`) or holds data (`!hole`); `None` past the last block.
    fn first_block_from(&self, f: &InodeInfo, offset: u64, hole: bool) -> Result<Option<u64>> {
        let log2 = self.sb.block_log2;
        for block in (offset >> log2)..u64::from(f.count) {
            if self.block_entry(f, block)?.is_hole() == hole {
                return Ok(Some(offset.max(block << log2)));
            }
        }
        Ok(None)
    }

    /// Number of bytes file `ino` occupies in the image (stored blocks;
    /// holes and shared blocks counted as stored).
    pub fn stored_bytes(&self, ino: u32) -> Result<u64> {
        let f = self.file_inode(ino)?;
        let mut total = 0u64;
        for block in 0..u64::from(f.count) {
            total += u64::from(self.block_entry(&f, block)?.stored_len);
        }
        Ok(total)
    }
}

/// LZ4-decompresses `src` into exactly `out.len()` bytes.
pub(crate) fn decompress(src: &[u8], out: &mut [u8]) -> Result<()> {
    match lz4_flex::block::decompress_into(src, out) {
        Ok(n) if n == out.len() => Ok(()),
        _ => Err(corrupt("compressed block")),
    }
}

/// Iterator over directory entries from a cursor ([`RofsReader::read_dir`]).
pub struct ReadDir<'a, S> {
    reader: &'a RofsReader<S>,
    dir: InodeInfo,
    next: u32,
}

impl<S> core::fmt::Debug for ReadDir<'_, S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ReadDir")
            .field("dir", &self.dir.ino)
            .field("next", &self.next)
            .finish()
    }
}

impl<S> ReadDir<'_, S> {
    /// The cursor of the next entry this iterator returns.
    pub fn cursor(&self) -> u64 {
        self.next.into()
    }
}

impl<S: Storage> Iterator for ReadDir<'_, S> {
    type Item = Result<DirEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.dir.count {
            return None;
        }
        let r = self.reader.entry_of(&self.dir, self.next);
        // An error ends the iteration after it is reported.
        self.next = if r.is_ok() {
            self.next + 1
        } else {
            self.dir.count
        };
        Some(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decompress_never_panics_on_garbage() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut out = vec![0u8; 4096];
        for len in 0..300usize {
            let src: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            let _ = decompress(&src, &mut out);
            let _ = decompress(&src, &mut out[..len.min(4096)]);
        }
    }

    #[test]
    fn slice_storage_bounds() {
        let s: &[u8] = b"hello";
        let mut b = [0u8; 3];
        assert!(s.read_at(2, &mut b).is_ok());
        assert_eq!(&b, b"llo");
        assert_eq!(s.read_at(3, &mut b), Err(StorageError::OutOfBounds));
        assert_eq!(s.read_at(u64::MAX, &mut b), Err(StorageError::OutOfBounds));
        assert!(!has_magic(s));
    }

    #[test]
    fn reader_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<RofsReader<Vec<u8>>>();
        check::<RofsReader<&[u8]>>();
    }
}
