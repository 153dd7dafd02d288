//! oxv-vfs: the kernel's virtual file system core as pure logic.
//!
//! Everything here is `no_std` + `alloc`, free of `unsafe` and of hardware, so
//! host `cargo test -p oxv-vfs` checks the Linux semantics directly. The
//! kernel's `fs` module and its file-system syscalls build on it:
//!
//! - [`node`]: the [`Inode`] trait every file system implements (rofs
//!   adapter, [`ramfs`], [`synthetic`] trees), plus [`Metadata`], [`StatFs`],
//!   [`DirEntry`]/[`DirCursor`], Linux mode/flag constants and the [`Clock`]
//!   hook.
//! - [`mount`]: the [`MountTable`]: which file system is mounted on which
//!   directory, crossing mounts both ways, the `/proc/mounts` listing.
//! - [`path`]: the [`Resolver`]: Linux path resolution (man 7
//!   path_resolution) over the mount table, and the path-level operations
//!   (`open`, `mkdir`, `unlink`, `rename`, ...) with Linux's errno precedence.
//! - [`ramfs`]: the RAM file system (tmpfs): sparse paged files, hard links,
//!   per-mount size limit with a [`ramfs::MemoryBudget`] hook.
//! - [`synthetic`]: building blocks for kernel-provided trees such as `/dev`
//!   and `/proc`: static/dynamic directories, generated files, generated
//!   symlinks, character devices.
//!
//! Errors are always [`oxv_abi::errno::Errno`]. Locks are `spin` locks; no
//! interrupt handler ever enters this layer. Names and paths are byte strings
//! (`&[u8]`), as in Linux, where a name is any bytes except `/` and NUL.
//!
//! # Integration (kernel side)
//!
//! - **Mounting.** Build the root file system's root inode, then
//!   `MountTable::new(root, "rootfs", "rofs", "", true)`; further mounts go
//!   through [`MountTable::mount`] with the mountpoint inode obtained from
//!   [`Resolver::resolve`]. Each file-system instance is mounted once.
//! - **A file system** (e.g. the rofs adapter) implements [`Inode`]:
//!   `metadata`, `fs_id`, `as_any`, `read_only() -> true`, `read_at`,
//!   `lookup` (answering `..`), `readlink`, `read_dir` (positional
//!   [`DirCursor::Pos`] cursors are fine for an immutable image); the default
//!   bodies give EROFS/ENOTDIR/EISDIR/... for everything else. It may return a
//!   fresh object per lookup: identity is `(fs_id, ino)`.
//! - **Syscalls** make a `Resolver::new(&mounts, &process_root)` per call and
//!   use its operations; relative paths start at the cwd or dirfd inode.
//! - **Open files** keep [`Opened::io`] (I/O target) and [`Opened::inode`]
//!   (stat, fchdir), the offset, and for directories a [`DirCursor`]. Writes
//!   with `O_APPEND` use [`Inode::append`]. `getdents64` calls
//!   [`Inode::read_dir`] with a sink that encodes into a kernel buffer and
//!   refuses the first entry that does not fit, then stores that last
//!   accepted entry's `next` cursor; `d_off` can be a per-open counter, and
//!   `lseek(fd, 0, SEEK_SET)` resets the cursor to [`DirCursor::Start`].
//! - **statfs** on a read-only mount: OR `ST_RDONLY` into
//!   [`StatFs::flags`] using [`MountTable::is_read_only`].
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod mount;
pub mod node;
pub mod path;
pub mod ramfs;
pub mod synthetic;

pub use mount::{MountInfo, MountTable};
pub use node::{Clock, DirCursor, DirEntry, FileType, Inode, InodeRef, Metadata, StatFs, Timespec};
pub use oxv_abi::errno::Errno;
pub use path::{CreateTarget, LastKind, OpenRequest, Opened, Parent, Resolver};
