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
