//! The one inode behind epoll, eventfd, timerfd and signalfd descriptors.
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
    let now = crate::fs::now();
    Metadata {
        ino: ANON_INODE_INO,
        dev: ANON_INODE_DEV,
        mode: 0o600,
        nlink: 1,
        uid: 0,
        gid: 0,
        size: 0,
        blocks: 0,
        blksize: 4096,
        atime: now,
        mtime: now,
        ctime: now,
        rdev: 0,
    }
}
