//! File descriptors. For now the only files are the console streams the
//! host wires to the program's fds 0, 1 and 2; the VFS of a later issue
//! adds regular files, pipes and sockets behind the same [`FileKind`].

use alloc::sync::Arc;
use alloc::vec::Vec;

use oxv_hal::sync::SpinLock;

use super::errno::Errno;

pub(crate) const O_RDONLY: u32 = 0;
pub(crate) const O_WRONLY: u32 = 1;
#[allow(dead_code)] // used once files can be opened read-write
pub(crate) const O_RDWR: u32 = 2;
pub(crate) const O_ACCMODE: u32 = 3;
pub(crate) const O_APPEND: u32 = 0o2000;
pub(crate) const O_NONBLOCK: u32 = 0o4000;
/// Status flags F_SETFL may change.
pub(crate) const SETFL_MASK: u32 = O_APPEND | O_NONBLOCK;

/// Which console stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    Stdin,
    Stdout,
    Stderr,
}

/// What an open file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    Console(Stream),
}

/// An open file description (shared by dup'ed descriptors).
#[derive(Debug)]
pub(crate) struct OpenFile {
    pub(crate) kind: FileKind,
    pub(crate) flags: SpinLock<u32>,
}

impl OpenFile {
    pub(crate) fn readable(&self) -> bool {
        *self.flags.lock() & O_ACCMODE != O_WRONLY
    }

    pub(crate) fn writable(&self) -> bool {
        *self.flags.lock() & O_ACCMODE != O_RDONLY
    }

    pub(crate) fn nonblocking(&self) -> bool {
        *self.flags.lock() & O_NONBLOCK != 0
    }
}

/// One descriptor slot.
#[derive(Debug, Clone)]
pub(crate) struct FdEntry {
    pub(crate) file: Arc<OpenFile>,
    pub(crate) cloexec: bool,
}

/// The descriptor table.
#[derive(Debug, Default)]
pub(crate) struct FdTable {
    slots: Vec<Option<FdEntry>>,
}

/// Most descriptors (RLIMIT_NOFILE hard cap).
pub(crate) const MAX_FDS: usize = 4096;

impl FdTable {
    /// fds 0, 1, 2 on the console.
    pub(crate) fn with_stdio() -> Self {
        let mk = |s, flags| {
            Some(FdEntry {
                file: Arc::new(OpenFile {
                    kind: FileKind::Console(s),
                    flags: SpinLock::new(flags),
                }),
                cloexec: false,
            })
        };
        Self {
            slots: alloc::vec![
                mk(Stream::Stdin, O_RDONLY),
                mk(Stream::Stdout, O_WRONLY),
                mk(Stream::Stderr, O_WRONLY)
            ],
        }
    }

    pub(crate) fn get(&self, fd: i32) -> Result<Arc<OpenFile>, Errno> {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.slots.get(i))
            .and_then(|s| s.as_ref())
            .map(|e| e.file.clone())
            .ok_or(Errno::EBADF)
    }

    pub(crate) fn entry_mut(&mut self, fd: i32) -> Result<&mut FdEntry, Errno> {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.slots.get_mut(i))
            .and_then(|s| s.as_mut())
            .ok_or(Errno::EBADF)
    }

    pub(crate) fn close(&mut self, fd: i32) -> Result<(), Errno> {
        let slot = usize::try_from(fd)
            .ok()
            .and_then(|i| self.slots.get_mut(i))
            .ok_or(Errno::EBADF)?;
        slot.take().map(|_| ()).ok_or(Errno::EBADF)
    }

    /// Installs `entry` at the lowest free descriptor >= `min`.
    pub(crate) fn insert_from(
        &mut self,
        min: usize,
        entry: FdEntry,
        limit: usize,
    ) -> Result<i32, Errno> {
        let limit = limit.min(MAX_FDS);
        let mut i = min;
        while i < self.slots.len() && self.slots[i].is_some() {
            i += 1;
        }
        if i >= limit {
            return Err(Errno::EMFILE);
        }
        if i >= self.slots.len() {
            self.slots.resize(i + 1, None);
        }
        self.slots[i] = Some(entry);
        Ok(i as i32)
    }

    /// Installs `entry` at exactly `fd`, closing what was there.
    pub(crate) fn insert_at(
        &mut self,
        fd: usize,
        entry: FdEntry,
        limit: usize,
    ) -> Result<(), Errno> {
        if fd >= limit.min(MAX_FDS) {
            return Err(Errno::EBADF);
        }
        if fd >= self.slots.len() {
            self.slots.resize(fd + 1, None);
        }
        self.slots[fd] = Some(entry);
        Ok(())
    }
}
