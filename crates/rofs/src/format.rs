//! The on-disk layout: superblock, inode, directory-entry and block-map
//! records, shared by the reader and the writer. `docs/rofs.md` is the
//! specification; this module is its code form. All integers are
//! little-endian; every record carries a CRC32C.

use crate::crc32c;

/// Magic at offset 0 of every image.
pub const MAGIC: [u8; 8] = *b"OXVROFS\0";
/// The format version this crate reads and writes.
pub const VERSION: u16 = 1;
/// Size of the superblock, the first bytes of the image.
pub const SUPERBLOCK_LEN: usize = 128;
/// Size of one inode record.
pub const INODE_LEN: usize = 64;
/// Size of one directory-entry record.
pub const DIRENT_LEN: usize = 16;
/// Size of one block-map entry.
pub const BLOCK_ENTRY_LEN: usize = 16;
/// The only codec of version 1: LZ4 block format (no frame).
pub const CODEC_LZ4: u8 = 1;
/// Smallest block size (log2): 4 KiB.
pub const MIN_BLOCK_LOG2: u8 = 12;
/// Largest block size (log2): 1 MiB.
pub const MAX_BLOCK_LOG2: u8 = 20;
/// Default block size (log2): 32 KiB, chosen by measurement (docs/rofs.md).
pub const DEFAULT_BLOCK_LOG2: u8 = 15;
/// Longest name of a directory entry (NAME_MAX).
pub const NAME_MAX: usize = 255;
/// Longest symlink target (PATH_MAX - 1).
pub const TARGET_MAX: usize = 4095;
/// Incompatible feature bits this reader understands (none yet).
pub const INCOMPAT_KNOWN: u32 = 0;

/// `st_mode` file type mask and values (Linux `<sys/stat.h>`).
pub mod mode {
    /// File type mask.
    pub const S_IFMT: u32 = 0o170000;
    /// Socket.
    pub const S_IFSOCK: u32 = 0o140000;
    /// Symbolic link.
    pub const S_IFLNK: u32 = 0o120000;
    /// Regular file.
    pub const S_IFREG: u32 = 0o100000;
    /// Block device.
    pub const S_IFBLK: u32 = 0o060000;
    /// Directory.
    pub const S_IFDIR: u32 = 0o040000;
    /// Character device.
    pub const S_IFCHR: u32 = 0o020000;
    /// FIFO.
    pub const S_IFIFO: u32 = 0o010000;
    /// Permission and set-id/sticky bits.
    pub const PERM_MASK: u32 = 0o7777;
}

/// The type of an inode, from the `S_IFMT` bits of its mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileType {
    /// Regular file.
    Regular,
    /// Directory.
    Directory,
    /// Symbolic link.
    Symlink,
    /// Character device.
    CharDevice,
    /// Block device.
    BlockDevice,
    /// Named pipe.
    Fifo,
    /// Unix socket.
    Socket,
}

impl FileType {
    /// The type encoded in `mode`'s `S_IFMT` bits, if valid.
    pub fn from_mode(m: u32) -> Option<Self> {
        Some(match m & mode::S_IFMT {
            mode::S_IFREG => Self::Regular,
            mode::S_IFDIR => Self::Directory,
            mode::S_IFLNK => Self::Symlink,
            mode::S_IFCHR => Self::CharDevice,
            mode::S_IFBLK => Self::BlockDevice,
            mode::S_IFIFO => Self::Fifo,
            mode::S_IFSOCK => Self::Socket,
            _ => return None,
        })
    }

    /// The `S_IFMT` bits.
    pub fn mode_bits(self) -> u32 {
        match self {
            Self::Regular => mode::S_IFREG,
            Self::Directory => mode::S_IFDIR,
            Self::Symlink => mode::S_IFLNK,
            Self::CharDevice => mode::S_IFCHR,
            Self::BlockDevice => mode::S_IFBLK,
            Self::Fifo => mode::S_IFIFO,
            Self::Socket => mode::S_IFSOCK,
        }
    }

    /// The `d_type` value of `getdents64` (`DT_REG`, `DT_DIR`, ...).
    pub fn dtype(self) -> u8 {
        match self {
            Self::Fifo => 1,
            Self::CharDevice => 2,
            Self::Directory => 4,
            Self::BlockDevice => 6,
            Self::Regular => 8,
            Self::Symlink => 10,
            Self::Socket => 12,
        }
    }

    /// The inverse of [`FileType::dtype`].
    pub fn from_dtype(d: u8) -> Option<Self> {
        Some(match d {
            1 => Self::Fifo,
            2 => Self::CharDevice,
            4 => Self::Directory,
            6 => Self::BlockDevice,
            8 => Self::Regular,
            10 => Self::Symlink,
            12 => Self::Socket,
            _ => return None,
        })
    }
}

fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}
fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}
fn u64_at(b: &[u8], o: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[o..o + 8]);
    u64::from_le_bytes(a)
}
fn put16(b: &mut [u8], o: usize, v: u16) {
    b[o..o + 2].copy_from_slice(&v.to_le_bytes());
}
fn put32(b: &mut [u8], o: usize, v: u32) {
    b[o..o + 4].copy_from_slice(&v.to_le_bytes());
}
fn put64(b: &mut [u8], o: usize, v: u64) {
    b[o..o + 8].copy_from_slice(&v.to_le_bytes());
}

/// The superblock (offset 0, [`SUPERBLOCK_LEN`] bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Superblock {
    /// log2 of the block size.
    pub block_log2: u8,
    /// Codec of compressed blocks ([`CODEC_LZ4`]).
    pub codec: u8,
    /// Features a reader may ignore.
    pub compat: u32,
    /// Features a reader must understand ([`INCOMPAT_KNOWN`]).
    pub incompat: u32,
    /// Total image length in bytes.
    pub image_len: u64,
    /// Offset of the inode table.
    pub inode_off: u64,
    /// Number of inodes (inode numbers are `1..=inode_count`).
    pub inode_count: u32,
    /// Inode number of the root directory.
    pub root_ino: u32,
    /// Offset of the directory-entry table.
    pub dirent_off: u64,
    /// Number of directory entries.
    pub dirent_count: u32,
    /// Offset of the block map.
    pub blockmap_off: u64,
    /// Number of block-map entries.
    pub blockmap_count: u64,
    /// Offset of the string area (names, symlink targets).
    pub strings_off: u64,
    /// Length of the string area.
    pub strings_len: u64,
    /// Offset of the data area (stored blocks).
    pub data_off: u64,
    /// Length of the data area.
    pub data_len: u64,
    /// Sum of the sizes of all regular files (each hard-linked inode once).
    pub file_bytes: u64,
}

/// Why a superblock was rejected (before any table is looked at).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuperblockError {
    /// Fewer than [`SUPERBLOCK_LEN`] bytes.
    Truncated,
    /// Not an oxv image.
    BadMagic,
    /// A version this crate does not know.
    BadVersion(u16),
    /// The header checksum does not match.
    BadChecksum,
    /// Unknown incompatible feature bits.
    Unsupported(u32),
    /// A field is out of range.
    Invalid(&'static str),
}

impl Superblock {
    /// Encodes the superblock, checksum included.
    pub fn encode(&self) -> [u8; SUPERBLOCK_LEN] {
        let mut b = [0u8; SUPERBLOCK_LEN];
        b[0..8].copy_from_slice(&MAGIC);
        put16(&mut b, 8, VERSION);
        put16(&mut b, 10, SUPERBLOCK_LEN as u16);
        b[12] = self.block_log2;
        b[13] = self.codec;
        put32(&mut b, 16, self.compat);
        put32(&mut b, 20, self.incompat);
        put64(&mut b, 24, self.image_len);
        put64(&mut b, 32, self.inode_off);
        put32(&mut b, 40, self.inode_count);
        put32(&mut b, 44, self.root_ino);
        put64(&mut b, 48, self.dirent_off);
        put32(&mut b, 56, self.dirent_count);
        put64(&mut b, 64, self.blockmap_off);
        put64(&mut b, 72, self.blockmap_count);
        put64(&mut b, 80, self.strings_off);
        put64(&mut b, 88, self.strings_len);
        put64(&mut b, 96, self.data_off);
        put64(&mut b, 104, self.data_len);
        put64(&mut b, 112, self.file_bytes);
        let crc = crc32c::crc32c(&b[..124]);
        put32(&mut b, 124, crc);
        b
    }

    /// Decodes and checks the superblock fields on their own (magic,
    /// version, checksum, features, block size, table bounds inside
    /// `image_len`). The caller checks `image_len` against the storage.
    pub fn decode(b: &[u8]) -> Result<Self, SuperblockError> {
        if b.len() >= 8 && b[..8] != MAGIC {
            return Err(SuperblockError::BadMagic);
        }
        if b.len() < SUPERBLOCK_LEN {
            return Err(SuperblockError::Truncated);
        }
        let version = u16_at(b, 8);
        if version != VERSION {
            return Err(SuperblockError::BadVersion(version));
        }
        if crc32c::crc32c(&b[..124]) != u32_at(b, 124) {
            return Err(SuperblockError::BadChecksum);
        }
        let inv = SuperblockError::Invalid;
        if u16_at(b, 10) as usize != SUPERBLOCK_LEN {
            return Err(inv("header length"));
        }
        if b[14] != 0 || b[15] != 0 || u32_at(b, 60) != 0 || u32_at(b, 120) != 0 {
            return Err(inv("reserved field not zero"));
        }
        let sb = Superblock {
            block_log2: b[12],
            codec: b[13],
            compat: u32_at(b, 16),
            incompat: u32_at(b, 20),
            image_len: u64_at(b, 24),
            inode_off: u64_at(b, 32),
            inode_count: u32_at(b, 40),
            root_ino: u32_at(b, 44),
            dirent_off: u64_at(b, 48),
            dirent_count: u32_at(b, 56),
            blockmap_off: u64_at(b, 64),
            blockmap_count: u64_at(b, 72),
            strings_off: u64_at(b, 80),
            strings_len: u64_at(b, 88),
            data_off: u64_at(b, 96),
            data_len: u64_at(b, 104),
            file_bytes: u64_at(b, 112),
        };
        if sb.incompat & !INCOMPAT_KNOWN != 0 {
            return Err(SuperblockError::Unsupported(sb.incompat & !INCOMPAT_KNOWN));
        }
        if !(MIN_BLOCK_LOG2..=MAX_BLOCK_LOG2).contains(&sb.block_log2) {
            return Err(inv("block size"));
        }
        if sb.codec != CODEC_LZ4 {
            return Err(inv("codec"));
        }
        if sb.inode_count == 0 || sb.inode_count == u32::MAX {
            return Err(inv("inode count"));
        }
        if sb.root_ino == 0 || sb.root_ino > sb.inode_count {
            return Err(inv("root inode"));
        }
        let region = |off: u64, count: u64, size: u64, what: &'static str| {
            let len = count.checked_mul(size).ok_or(inv(what))?;
            let end = off.checked_add(len).ok_or(inv(what))?;
            if off < SUPERBLOCK_LEN as u64 || end > sb.image_len {
                return Err(inv(what));
            }
            Ok(())
        };
        region(
            sb.inode_off,
            sb.inode_count.into(),
            INODE_LEN as u64,
            "inode table",
        )?;
        region(
            sb.dirent_off,
            sb.dirent_count.into(),
            DIRENT_LEN as u64,
            "directory table",
        )?;
        region(
            sb.blockmap_off,
            sb.blockmap_count,
            BLOCK_ENTRY_LEN as u64,
            "block map",
        )?;
        region(sb.strings_off, sb.strings_len, 1, "string area")?;
        region(sb.data_off, sb.data_len, 1, "data area")?;
        Ok(sb)
    }

    /// The block size in bytes.
    pub fn block_size(&self) -> u64 {
        1u64 << self.block_log2
    }
}

/// An inode record ([`INODE_LEN`] bytes).
///
/// `data` and `count` depend on the type: a regular file's block map is
/// entries `data..data + count` (`count` = number of blocks); a
/// directory's entries are `data..data + count` of the directory table; a
/// symlink's target is `size` bytes at string offset `data`, with `aux` its
/// CRC32C; a device's `data` is its `rdev` (Linux `dev_t` encoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RawInode {
    /// `st_mode`: type and permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Link count.
    pub nlink: u32,
    /// Size in bytes (directories: number of entries).
    pub size: u64,
    /// Modification time, seconds since the epoch.
    pub mtime_sec: i64,
    /// Nanoseconds of the modification time.
    pub mtime_nsec: u32,
    /// See the type docs.
    pub count: u32,
    /// See the type docs.
    pub data: u64,
    /// See the type docs.
    pub aux: u32,
    /// Directories: inode number of the parent (the root is its own parent).
    pub parent: u32,
}

impl RawInode {
    /// Encodes the record for inode number `ino` (the checksum covers it).
    pub fn encode(&self, ino: u32) -> [u8; INODE_LEN] {
        let mut b = [0u8; INODE_LEN];
        put32(&mut b, 0, self.mode);
        put32(&mut b, 4, self.uid);
        put32(&mut b, 8, self.gid);
        put32(&mut b, 12, self.nlink);
        put64(&mut b, 16, self.size);
        put64(&mut b, 24, self.mtime_sec as u64);
        put32(&mut b, 32, self.mtime_nsec);
        put32(&mut b, 36, self.count);
        put64(&mut b, 40, self.data);
        put32(&mut b, 48, self.aux);
        put32(&mut b, 52, self.parent);
        let crc = crc32c::update(crc32c::crc32c(&ino.to_le_bytes()), &b[..60]);
        put32(&mut b, 60, crc);
        b
    }

    /// Decodes the record of inode `ino`; `None` if its checksum or a
    /// reserved field is wrong.
    pub fn decode(b: &[u8; INODE_LEN], ino: u32) -> Option<Self> {
        let crc = crc32c::update(crc32c::crc32c(&ino.to_le_bytes()), &b[..60]);
        if crc != u32_at(b, 60) || u32_at(b, 56) != 0 {
            return None;
        }
        Some(RawInode {
            mode: u32_at(b, 0),
            uid: u32_at(b, 4),
            gid: u32_at(b, 8),
            nlink: u32_at(b, 12),
            size: u64_at(b, 16),
            mtime_sec: u64_at(b, 24) as i64,
            mtime_nsec: u32_at(b, 32),
            count: u32_at(b, 36),
            data: u64_at(b, 40),
            aux: u32_at(b, 48),
            parent: u32_at(b, 52),
        })
    }
}

/// A directory-entry record ([`DIRENT_LEN`] bytes); the name lives in the
/// string area. The checksum covers the entry's index, the record and the
/// name bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RawDirent {
    /// Inode number.
    pub ino: u32,
    /// Offset of the name in the string area.
    pub name_off: u32,
    /// Length of the name.
    pub name_len: u16,
    /// `d_type` of the target.
    pub dtype: u8,
    /// CRC32C (see [`RawDirent::checksum`]).
    pub crc: u32,
}

impl RawDirent {
    /// The checksum of entry `index` with this record and `name`.
    pub fn checksum(&self, index: u32, name: &[u8]) -> u32 {
        let mut b = [0u8; 16];
        put32(&mut b, 0, index);
        put32(&mut b, 4, self.ino);
        put32(&mut b, 8, self.name_off);
        put16(&mut b, 12, self.name_len);
        b[14] = self.dtype;
        crc32c::update(crc32c::crc32c(&b[..15]), name)
    }

    /// Encodes the record.
    pub fn encode(&self) -> [u8; DIRENT_LEN] {
        let mut b = [0u8; DIRENT_LEN];
        put32(&mut b, 0, self.ino);
        put32(&mut b, 4, self.name_off);
        put16(&mut b, 8, self.name_len);
        b[10] = self.dtype;
        put32(&mut b, 12, self.crc);
        b
    }

    /// Decodes the record (the checksum is checked once the name is read).
    pub fn decode(b: &[u8; DIRENT_LEN]) -> Option<Self> {
        if b[11] != 0 {
            return None;
        }
        Some(RawDirent {
            ino: u32_at(b, 0),
            name_off: u32_at(b, 4),
            name_len: u16_at(b, 8),
            dtype: b[10],
            crc: u32_at(b, 12),
        })
    }
}

/// A block-map entry ([`BLOCK_ENTRY_LEN`] bytes).
///
/// A hole (an all-zero block, never stored) is `offset = u64::MAX`,
/// `stored_len = 0`, `crc = 0`. Otherwise `stored_len` bytes at `offset`
/// hold the block: raw when `stored_len` equals the block's logical length,
/// LZ4-compressed when smaller; `crc` is the CRC32C of the stored bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockEntry {
    /// Absolute image offset of the stored bytes.
    pub offset: u64,
    /// Number of stored bytes.
    pub stored_len: u32,
    /// CRC32C of the stored bytes.
    pub crc: u32,
}

impl BlockEntry {
    /// The hole entry.
    pub const HOLE: BlockEntry = BlockEntry {
        offset: u64::MAX,
        stored_len: 0,
        crc: 0,
    };

    /// Whether this is a hole.
    pub fn is_hole(&self) -> bool {
        *self == Self::HOLE
    }

    /// Encodes the entry.
    pub fn encode(&self) -> [u8; BLOCK_ENTRY_LEN] {
        let mut b = [0u8; BLOCK_ENTRY_LEN];
        put64(&mut b, 0, self.offset);
        put32(&mut b, 8, self.stored_len);
        put32(&mut b, 12, self.crc);
        b
    }

    /// Decodes the entry.
    pub fn decode(b: &[u8; BLOCK_ENTRY_LEN]) -> Self {
        BlockEntry {
            offset: u64_at(b, 0),
            stored_len: u32_at(b, 8),
            crc: u32_at(b, 12),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let sb = Superblock {
            block_log2: 15,
            codec: CODEC_LZ4,
            image_len: 4096,
            inode_off: 128,
            inode_count: 2,
            root_ino: 1,
            dirent_off: 256,
            dirent_count: 1,
            blockmap_off: 272,
            blockmap_count: 0,
            strings_off: 272,
            strings_len: 3,
            data_off: 275,
            data_len: 0,
            ..Default::default()
        };
        assert_eq!(Superblock::decode(&sb.encode()), Ok(sb));
        let ino = RawInode {
            mode: 0o100644,
            uid: 1,
            gid: 2,
            nlink: 3,
            size: 4,
            mtime_sec: -5,
            mtime_nsec: 6,
            count: 7,
            data: 8,
            aux: 9,
            parent: 10,
        };
        assert_eq!(RawInode::decode(&ino.encode(7), 7), Some(ino));
        assert_eq!(RawInode::decode(&ino.encode(7), 8), None);
        let d = RawDirent {
            ino: 5,
            name_off: 9,
            name_len: 3,
            dtype: 8,
            crc: 77,
        };
        assert_eq!(RawDirent::decode(&d.encode()), Some(d));
        let e = BlockEntry {
            offset: 1,
            stored_len: 2,
            crc: 3,
        };
        assert_eq!(BlockEntry::decode(&e.encode()), e);
        assert!(BlockEntry::decode(&BlockEntry::HOLE.encode()).is_hole());
    }

    #[test]
    fn file_types() {
        for t in [
            FileType::Regular,
            FileType::Directory,
            FileType::Symlink,
            FileType::CharDevice,
            FileType::BlockDevice,
            FileType::Fifo,
            FileType::Socket,
        ] {
            assert_eq!(FileType::from_mode(t.mode_bits() | 0o755), Some(t));
            assert_eq!(FileType::from_dtype(t.dtype()), Some(t));
        }
        assert_eq!(FileType::from_mode(0o644), None);
        assert_eq!(FileType::from_dtype(0), None);
    }
}
