//! oxv-rofs: the compressed read-only image format of oxv's root file
//! system.
//!
//! An image is one byte string: a 128-byte superblock, the data area
//! (regular-file blocks, each compressed independently with LZ4 or
//! stored raw, deduplicated, all-zero blocks left out as holes), then the
//! inode table, the directory-entry table (each directory's entries sorted
//! by name, so lookup is a binary search), the block map and the string
//! area (names, symlink targets). Every record carries a CRC32C. The
//! specification, with the codec and block-size measurements behind the
//! defaults, is `docs/rofs.md`.
//!
//! Key types: [`RofsReader`] over a [`Storage`] (no_std + alloc; the
//! kernel mounts images from memory or virtio-blk with it), and, with the
//! `std` feature, [`ImageBuilder`] (the host's `oxv build` and `oxv run`).
//! The [`format`] module is the on-disk layout both share.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod cache;
pub mod crc32c;
mod error;
pub mod format;
mod reader;
#[cfg(feature = "std")]
mod writer;

pub use cache::CacheStats;
pub use error::{errno, RofsError, StorageError};
pub use format::{FileType, Superblock, SuperblockError};
pub use reader::{
    has_magic, DirEntry, InodeInfo, ReadDir, Result, RofsReader, StatFs, Storage,
    DEFAULT_CACHE_BUDGET,
};
#[cfg(feature = "std")]
pub use writer::{BuildError, Compression, FileStorage, ImageBuilder, Meta, WriteStats};
