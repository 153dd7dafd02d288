//! Errors of the reader, and the Linux errno each one becomes.

use core::fmt;

use crate::format::SuperblockError;

/// A failed read from the backing [`crate::Storage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageError {
    /// The range is outside the storage.
    OutOfBounds,
    /// The device reported an error.
    Io,
}

/// Why a reader operation failed. [`RofsError::errno`] gives the Linux
/// error number the kernel returns for it: every kind of damage
/// (checksum mismatch, out-of-range field, undecodable block, storage
/// failure) is `EIO`; the reader never returns wrong bytes instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RofsError {
    /// Reading the backing storage failed.
    Storage(StorageError),
    /// The superblock is missing, not an oxv image, or invalid.
    Superblock(SuperblockError),
    /// The storage is shorter than the image claims to be.
    Truncated,
    /// A checksum did not match (`what` names the record kind).
    Checksum(&'static str),
    /// A record is inconsistent (`what` names the field).
    Corrupt(&'static str),
    /// No inode has this number.
    NoSuchInode(u32),
    /// The inode is not a directory.
    NotDirectory,
    /// The inode is a directory.
    IsDirectory,
    /// The inode is not a symbolic link.
    NotSymlink,
    /// The inode is neither a regular file nor a directory (no data).
    NotRegular,
    /// A name is empty or contains `/` or NUL.
    InvalidName,
    /// A name is longer than 255 bytes.
    NameTooLong,
    /// The caller's buffer is too small (e.g. for a symlink target).
    BufferTooSmall,
}

/// Linux error numbers used by [`RofsError::errno`].
pub mod errno {
    /// No such file or directory.
    pub const ENOENT: i32 = 2;
    /// I/O error.
    pub const EIO: i32 = 5;
    /// Not a directory.
    pub const ENOTDIR: i32 = 20;
    /// Is a directory.
    pub const EISDIR: i32 = 21;
    /// Invalid argument.
    pub const EINVAL: i32 = 22;
    /// Result too large (buffer too small).
    pub const ERANGE: i32 = 34;
    /// File name too long.
    pub const ENAMETOOLONG: i32 = 36;
}

impl RofsError {
    /// The Linux errno for this error (positive).
    pub fn errno(&self) -> i32 {
        match self {
            RofsError::Storage(_)
            | RofsError::Superblock(_)
            | RofsError::Truncated
            | RofsError::Checksum(_)
            | RofsError::Corrupt(_) => errno::EIO,
            RofsError::NoSuchInode(_) => errno::ENOENT,
            RofsError::NotDirectory => errno::ENOTDIR,
            RofsError::IsDirectory => errno::EISDIR,
            RofsError::NotSymlink | RofsError::NotRegular | RofsError::InvalidName => errno::EINVAL,
            RofsError::NameTooLong => errno::ENAMETOOLONG,
            RofsError::BufferTooSmall => errno::ERANGE,
        }
    }
}

impl From<StorageError> for RofsError {
    fn from(e: StorageError) -> Self {
        RofsError::Storage(e)
    }
}

impl From<SuperblockError> for RofsError {
    fn from(e: SuperblockError) -> Self {
        RofsError::Superblock(e)
    }
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorageError::OutOfBounds => f.write_str("read past the end of the storage"),
            StorageError::Io => f.write_str("storage I/O error"),
        }
    }
}

impl fmt::Display for SuperblockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SuperblockError::Truncated => f.write_str("too short for an oxv image"),
            SuperblockError::BadMagic => f.write_str("not an oxv image (bad magic)"),
            SuperblockError::BadVersion(v) => write!(f, "unsupported image version {v}"),
            SuperblockError::BadChecksum => f.write_str("superblock checksum mismatch"),
            SuperblockError::Unsupported(bits) => {
                write!(f, "unsupported image features {bits:#x}")
            }
            SuperblockError::Invalid(what) => write!(f, "invalid superblock: {what}"),
        }
    }
}

impl fmt::Display for RofsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RofsError::Storage(e) => write!(f, "{e}"),
            RofsError::Superblock(e) => write!(f, "{e}"),
            RofsError::Truncated => f.write_str("image truncated"),
            RofsError::Checksum(what) => write!(f, "checksum mismatch in {what}"),
            RofsError::Corrupt(what) => write!(f, "corrupt image: {what}"),
            RofsError::NoSuchInode(ino) => write!(f, "no inode {ino}"),
            RofsError::NotDirectory => f.write_str("not a directory"),
            RofsError::IsDirectory => f.write_str("is a directory"),
            RofsError::NotSymlink => f.write_str("not a symbolic link"),
            RofsError::NotRegular => f.write_str("not a regular file"),
            RofsError::InvalidName => f.write_str("invalid file name"),
            RofsError::NameTooLong => f.write_str("file name too long"),
            RofsError::BufferTooSmall => f.write_str("buffer too small"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for RofsError {}
