//! The one inode behind epoll, eventfd, timerfd and signalfd descriptors,
//! and the metadata of other pseudo-file-system objects (pipes).
//!
//! Linux backs all of these with a single shared `anon_inode_inode`, so
//! `fstat` reports the same device and inode number for each; programs that
//! compare them (to tell an eventfd from a pipe, say) see what they expect.

use oxv_vfs::Metadata;

/// Device number of the anonymous-inode filesystem.
const ANON_INODE_DEV: u64 = 0xd;
/// Inode number shared by every anonymous-inode file.
const ANON_INODE_INO: u64 = 1;

/// What `fstat` reports for an anonymous-inode file.
pub(crate) fn anon_inode_metadata() -> Metadata {
    pseudo_fs_metadata(ANON_INODE_DEV, ANON_INODE_INO, 0o600, 0)
}

/// What `fstat` reports for a kernel object that lives on no real file
/// system (anonymous inodes, pipes): owned by root, times of now.
pub(crate) fn pseudo_fs_metadata(dev: u64, ino: u64, mode: u32, size: u64) -> Metadata {
    let now = crate::fs::now();
    Metadata {
        ino,
        dev,
        mode,
        nlink: 1,
        uid: 0,
        gid: 0,
        size,
        blocks: 0,
        blksize: 4096,
        atime: now,
        mtime: now,
        ctime: now,
        rdev: 0,
    }
}
