//! The read-only root image (crates/rofs) as a VFS file system.
//!
//! The image is read lazily through [`Storage`]: from memory when the host
//! passed it in the launch record, or from the first virtio block device.
//! Decompressed blocks live in the reader's cache, which has a byte budget
//! and gives memory back under pressure ([`shrink_caches`]).

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;

use oxv_abi::errno::Errno;
use oxv_hal::sync::SpinLock;
use oxv_rofs::{InodeInfo, RofsError, RofsReader, Storage, StorageError};
use oxv_vfs::node::{alloc_fs_id, DirEntry, Timespec, SQUASHFS_MAGIC};
use oxv_vfs::{DirCursor, FileType, Inode, InodeRef, Metadata, StatFs};

use crate::drivers::virtio::BlockDevice;

/// The image in memory (the launch record's payload, reserved at boot).
pub(crate) struct MemStorage(pub(crate) &'static [u8]);

impl Storage for MemStorage {
    fn read_at(&self, off: u64, buf: &mut [u8]) -> Result<(), StorageError> {
        self.0.read_at(off, buf)
    }

    fn len(&self) -> u64 {
        self.0.len() as u64
    }

    fn as_slice(&self) -> Option<&[u8]> {
        Some(self.0)
    }
}

/// The image on a block device.
pub(crate) struct BlockStorage(pub(crate) Arc<dyn BlockDevice>);

impl Storage for BlockStorage {
    fn read_at(&self, off: u64, buf: &mut [u8]) -> Result<(), StorageError> {
        match self.0.read_at(off, buf) {
            Ok(n) if n == buf.len() => Ok(()),
            Ok(_) => Err(StorageError::OutOfBounds),
            Err(_) => Err(StorageError::Io),
        }
    }

    fn len(&self) -> u64 {
        self.0.len()
    }
}

type Reader = RofsReader<Box<dyn Storage + Send + Sync>>;

/// One mounted image.
pub(crate) struct RofsFs {
    reader: Reader,
    fs_id: u64,
}

static MOUNTED: SpinLock<Vec<Arc<RofsFs>>> = SpinLock::new(Vec::new());

/// Default budget of decompressed blocks kept in memory.
const CACHE_BUDGET: usize = 2 << 20;

fn err(e: RofsError) -> Errno {
    Errno(e.errno())
}

impl RofsFs {
    /// Opens an image; its root directory as an inode.
    pub(crate) fn open(storage: Box<dyn Storage + Send + Sync>) -> Result<InodeRef, RofsError> {
        let reader = RofsReader::with_cache_budget(storage, CACHE_BUDGET)?;
        let fs = Arc::new(RofsFs {
            reader,
            fs_id: alloc_fs_id(),
        });
        MOUNTED.lock().push(fs.clone());
        let root = fs.reader.root();
        let info = fs.reader.inode(root)?;
        Ok(Arc::new(RofsNode { fs, info }))
    }
}

/// Gives back up to `bytes` of decompressed-block cache (memory pressure);
/// the memory manager calls this when frames run out.
pub(crate) fn shrink_caches(bytes: usize) -> usize {
    let fss: Vec<Arc<RofsFs>> = MOUNTED.lock().clone();
    fss.iter().map(|f| f.reader.shrink(bytes)).sum()
}

/// Bytes of decompressed blocks cached now.
pub(crate) fn cached_bytes() -> usize {
    MOUNTED
        .lock()
        .iter()
        .map(|f| f.reader.cache_stats().bytes)
        .sum()
}

struct RofsNode {
    fs: Arc<RofsFs>,
    info: InodeInfo,
}

impl RofsNode {
    fn node(&self, ino: u32) -> Result<InodeRef, Errno> {
        let info = self.fs.reader.inode(ino).map_err(err)?;
        Ok(Arc::new(RofsNode {
            fs: self.fs.clone(),
            info,
        }))
    }

    fn kind(&self) -> FileType {
        FileType::from_mode(self.info.mode).unwrap_or(FileType::Regular)
    }
}

impl Inode for RofsNode {
    fn metadata(&self) -> Metadata {
        let t = Timespec {
            sec: self.info.mtime_sec,
            nsec: self.info.mtime_nsec,
        };
        let stored = if self.info.is_dir() {
            0
        } else {
            self.fs.reader.stored_bytes(self.info.ino).unwrap_or(0)
        };
        Metadata {
            ino: u64::from(self.info.ino),
            dev: self.fs_id(),
            mode: self.info.mode,
            nlink: u64::from(self.info.nlink),
            uid: self.info.uid,
            gid: self.info.gid,
            size: self.info.size,
            blocks: stored.div_ceil(512),
            blksize: self.fs.reader.block_size() as u32,
            atime: t,
            mtime: t,
            ctime: t,
            rdev: self.info.rdev,
        }
    }

    fn fs_id(&self) -> u64 {
        self.fs.fs_id
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn ino(&self) -> u64 {
        u64::from(self.info.ino)
    }

    fn file_type(&self) -> FileType {
        self.kind()
    }

    fn read_only(&self) -> bool {
        true
    }

    fn read_at(&self, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        match self.kind() {
            FileType::Directory => Err(Errno::EISDIR),
            FileType::Regular => self
                .fs
                .reader
                .read_file(self.info.ino, off, buf)
                .map_err(err),
            _ => Err(Errno::EINVAL),
        }
    }

    fn seek_data(&self, off: u64) -> Result<u64, Errno> {
        match self.fs.reader.next_data(self.info.ino, off).map_err(err)? {
            Some(o) => Ok(o),
            None => Err(Errno::ENXIO),
        }
    }

    fn seek_hole(&self, off: u64) -> Result<u64, Errno> {
        if off >= self.info.size {
            return Err(Errno::ENXIO);
        }
        Ok(self
            .fs
            .reader
            .next_hole(self.info.ino, off)
            .map_err(err)?
            .unwrap_or(self.info.size))
    }

    fn statfs(&self) -> StatFs {
        let s = self.fs.reader.statfs();
        StatFs {
            fs_type: SQUASHFS_MAGIC,
            bsize: s.block_size,
            blocks: s.blocks,
            bfree: 0,
            bavail: 0,
            files: s.files,
            ffree: 0,
            fsid: self.fs.fs_id,
            namelen: 255,
            frsize: s.block_size,
            flags: oxv_vfs::node::ST_RDONLY,
        }
    }

    fn lookup(&self, name: &[u8]) -> Result<InodeRef, Errno> {
        if !self.info.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        match name {
            b"." => self.node(self.info.ino),
            b".." => self.node(self.info.parent),
            _ => match self.fs.reader.lookup(self.info.ino, name).map_err(err)? {
                Some(ino) => self.node(ino),
                None => Err(Errno::ENOENT),
            },
        }
    }

    fn read_dir(
        &self,
        cursor: &DirCursor,
        sink: &mut dyn FnMut(DirEntry) -> bool,
    ) -> Result<(), Errno> {
        if !self.info.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        // Positions: 0 ".", 1 "..", 2 + i entry i.
        let mut pos = match cursor {
            DirCursor::Start => 0,
            DirCursor::Dot => 1,
            DirCursor::DotDot => 2,
            DirCursor::Pos(p) => *p,
            DirCursor::After(_) => return Err(Errno::EINVAL),
        };
        if pos == 0 {
            let e = DirEntry {
                ino: u64::from(self.info.ino),
                kind: FileType::Directory,
                name: b".".to_vec(),
                next: DirCursor::Pos(1),
            };
            if !sink(e) {
                return Ok(());
            }
            pos = 1;
        }
        if pos == 1 {
            let e = DirEntry {
                ino: u64::from(self.info.parent),
                kind: FileType::Directory,
                name: b"..".to_vec(),
                next: DirCursor::Pos(2),
            };
            if !sink(e) {
                return Ok(());
            }
            pos = 2;
        }
        for r in self
            .fs
            .reader
            .read_dir(self.info.ino, pos - 2)
            .map_err(err)?
        {
            let d = r.map_err(err)?;
            let kind = FileType::from_mode(kind_bits(d.kind)).unwrap_or(FileType::Regular);
            let e = DirEntry {
                ino: u64::from(d.ino),
                kind,
                name: d.name().to_vec(),
                next: DirCursor::Pos(d.next_cursor() + 2),
            };
            if !sink(e) {
                break;
            }
        }
        Ok(())
    }

    fn readlink(&self) -> Result<Vec<u8>, Errno> {
        self.fs.reader.read_link_vec(self.info.ino).map_err(err)
    }
}

fn kind_bits(k: oxv_rofs::FileType) -> u32 {
    use oxv_vfs::node::*;
    match k {
        oxv_rofs::FileType::Regular => S_IFREG,
        oxv_rofs::FileType::Directory => S_IFDIR,
        oxv_rofs::FileType::Symlink => S_IFLNK,
        oxv_rofs::FileType::CharDevice => S_IFCHR,
        oxv_rofs::FileType::BlockDevice => S_IFBLK,
        oxv_rofs::FileType::Fifo => S_IFIFO,
        _ => S_IFSOCK,
    }
}
