//! Open files: the [`File`] trait every kind of open file implements
//! (console streams, VFS files and directories, pipes, eventfds, epoll
//! instances, ...) and [`IoCx`], the context blocking operations wait in.
//!
//! Blocking is uniform: an operation that cannot proceed waits on the
//! global I/O event queue (woken by every interrupt and every state change
//! of any file) until its condition holds, a signal arrives (EINTR) or,
//! for non-blocking descriptors, fails at once with EAGAIN.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;

use oxv_abi::errno::Errno;
use oxv_vfs::{InodeRef, Metadata};

use super::process::{LinuxThread, Process};
use crate::sched::{clock, WaitResult};

/// poll(2) event bits.
pub(crate) const POLLIN: u16 = 0x1;
pub(crate) const POLLPRI: u16 = 0x2;
pub(crate) const POLLOUT: u16 = 0x4;
pub(crate) const POLLERR: u16 = 0x8;
pub(crate) const POLLHUP: u16 = 0x10;
pub(crate) const POLLNVAL: u16 = 0x20;
pub(crate) const POLLRDNORM: u16 = 0x40;
pub(crate) const POLLWRNORM: u16 = 0x100;

/// Who is doing the I/O, for blocking and signals.
pub(crate) struct IoCx<'a> {
    pub(crate) proc: &'a Process,
    pub(crate) thread: &'a LinuxThread,
    pub(crate) nonblock: bool,
}

impl IoCx<'_> {
    /// Whether a signal is waiting for this thread.
    pub(crate) fn interrupted(&self) -> bool {
        super::signal::has_deliverable(self.proc, self.thread)
    }

    /// Waits until `cond` yields a value; EAGAIN at once if non-blocking,
    /// EINTR when a signal arrives first, ETIMEDOUT after `deadline`.
    pub(crate) fn wait_until<R>(
        &self,
        deadline: Option<u64>,
        mut cond: impl FnMut() -> Option<R>,
    ) -> Result<R, Errno> {
        if let Some(r) = cond() {
            return Ok(r);
        }
        if self.nonblock {
            return Err(Errno::EAGAIN);
        }
        let mut intr = false;
        let r = clock::IRQ_EVENTS.wait(deadline, || {
            if let Some(r) = cond() {
                return Some(Some(r));
            }
            if self.interrupted() {
                intr = true;
                return Some(None);
            }
            None
        });
        match r {
            WaitResult::Ready(Some(v)) => Ok(v),
            WaitResult::Ready(None) => Err(Errno::EINTR),
            WaitResult::TimedOut => Err(Errno::ETIMEDOUT),
        }
    }

    /// [`IoCx::wait_until`] without a deadline.
    pub(crate) fn wait<R>(&self, cond: impl FnMut() -> Option<R>) -> Result<R, Errno> {
        self.wait_until(None, cond)
    }
}

static GENERATION: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(1);

/// Counts file state changes (edge-triggered epoll).
pub(crate) fn generation() -> u64 {
    GENERATION.load(core::sync::atomic::Ordering::Acquire)
}

/// Tells every waiter that some file's state changed.
pub(crate) fn notify() {
    GENERATION.fetch_add(1, core::sync::atomic::Ordering::AcqRel);
    clock::IRQ_EVENTS.wake_all();
}

/// An open file.
pub(crate) trait File: Send + Sync {
    /// Reads at `off` (ignored by streams) into `buf`.
    fn read(&self, _io: &IoCx<'_>, _off: u64, _buf: &mut [u8]) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }

    /// Writes `buf` at `off` (ignored by streams).
    fn write(&self, _io: &IoCx<'_>, _off: u64, _buf: &[u8]) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }

    /// Appends `buf` atomically (O_APPEND); returns (offset written at, bytes).
    fn append(&self, io: &IoCx<'_>, buf: &[u8]) -> Result<(u64, usize), Errno> {
        self.write(io, 0, buf).map(|n| (0, n))
    }

    /// Whether the file has a position (regular files, directories,
    /// devices); streams give ESPIPE for lseek/pread/pwrite.
    fn seekable(&self) -> bool {
        false
    }

    /// Readiness for poll/epoll: POLLIN, POLLOUT, POLLHUP, POLLERR bits.
    fn poll(&self) -> u16 {
        POLLIN | POLLOUT
    }

    /// stat(2) data.
    fn metadata(&self) -> Metadata;

    /// The VFS inode behind this file, if any (for *at, fchdir, getdents,
    /// ftruncate, fsync...).
    fn inode(&self) -> Option<InodeRef> {
        None
    }

    /// ioctl(2).
    fn ioctl(&self, _io: &IoCx<'_>, _cmd: u32, _arg: u64) -> Result<usize, Errno> {
        Err(Errno::ENOTTY)
    }

    /// A counter that changes whenever an event worth an edge-triggered
    /// epoll report happens on this file (new data, new space, hang-up).
    /// The default, the global generation, is coarse but never misses one.
    fn event_gen(&self) -> u64 {
        generation()
    }

    /// A monotonic time at which `poll` may change by itself (timerfd), so
    /// waiters set their deadline no later than it.
    fn deadline(&self) -> Option<u64> {
        None
    }

    /// What /proc/self/fd/N links to.
    fn describe(&self) -> Vec<u8>;

    /// For downcasting (epoll, eventfd, ...).
    fn as_any(&self) -> &dyn Any;
}

/// An open file description: the file, its status flags and its offset,
/// shared by duplicated descriptors.
pub(crate) struct OpenFile {
    pub(crate) file: Arc<dyn File>,
    pub(crate) flags: oxv_hal::sync::SpinLock<u32>,
    pub(crate) offset: oxv_hal::sync::SpinLock<u64>,
    /// Directory reading position (getdents64).
    pub(crate) dir_cursor: oxv_hal::sync::SpinLock<oxv_vfs::DirCursor>,
}

impl OpenFile {
    pub(crate) fn new(file: Arc<dyn File>, flags: u32) -> Arc<Self> {
        Arc::new(Self {
            file,
            flags: oxv_hal::sync::SpinLock::new(flags),
            offset: oxv_hal::sync::SpinLock::new(0),
            dir_cursor: oxv_hal::sync::SpinLock::new(oxv_vfs::DirCursor::Start),
        })
    }

    pub(crate) fn readable(&self) -> bool {
        let f = *self.flags.lock();
        f & oxv_vfs::node::O_PATH == 0 && f & 3 != oxv_vfs::node::O_WRONLY
    }

    pub(crate) fn writable(&self) -> bool {
        let f = *self.flags.lock();
        f & oxv_vfs::node::O_PATH == 0 && f & 3 != oxv_vfs::node::O_RDONLY
    }

    pub(crate) fn nonblocking(&self) -> bool {
        *self.flags.lock() & oxv_vfs::node::O_NONBLOCK != 0
    }

    pub(crate) fn io<'a>(&self, proc: &'a Process, thread: &'a LinuxThread) -> IoCx<'a> {
        IoCx {
            proc,
            thread,
            nonblock: self.nonblocking(),
        }
    }
}

/// Whether two open files are the same file (same inode).
pub(crate) fn same_file(a: &OpenFile, b: &OpenFile) -> bool {
    let (x, y) = (a.file.metadata(), b.file.metadata());
    x.dev == y.dev && x.ino == y.ino
}
