//! Pipes (man 7 pipe): a 64 KiB ring shared by a read end and a write end.
//! Writes of at most PIPE_BUF bytes are atomic; a write with no reader
//! left fails with EPIPE and raises SIGPIPE; a read with no writer left
//! sees end of file.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use oxv_abi::errno::Errno;
use oxv_hal::sync::SpinLock;
use oxv_vfs::Metadata;

use super::anon_inode::pseudo_fs_metadata;
use super::file::{notify, File, IoCx, POLLERR, POLLHUP, POLLIN, POLLOUT};
use super::signal::{self, SigInfo};

/// Capacity of a pipe (F_GETPIPE_SZ).
pub(crate) const PIPE_SIZE: usize = 65536;
/// Writes up to this size are atomic.
pub(crate) const PIPE_BUF: usize = 4096;

/// Device number of the pipe file system.
const PIPEFS_DEV: u64 = 0xc;

static NEXT_INO: AtomicU64 = AtomicU64::new(1000);
const SIGPIPE: u32 = 13;

struct Pipe {
    buf: SpinLock<VecDeque<u8>>,
    /// Events for the read end (data written, writer gone) and the write
    /// end (space freed, reader gone).
    read_gen: AtomicU64,
    write_gen: AtomicU64,
    readers: AtomicUsize,
    writers: AtomicUsize,
    ino: u64,
}

/// One end of a pipe.
pub(crate) struct PipeEnd {
    pipe: Arc<Pipe>,
    write: bool,
}

/// A new pipe: (read end, write end).
pub(crate) fn new_pipe() -> (Arc<PipeEnd>, Arc<PipeEnd>) {
    let p = Arc::new(Pipe {
        buf: SpinLock::new(VecDeque::new()),
        read_gen: AtomicU64::new(0),
        write_gen: AtomicU64::new(0),
        readers: AtomicUsize::new(1),
        writers: AtomicUsize::new(1),
        ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
    });
    (
        Arc::new(PipeEnd {
            pipe: p.clone(),
            write: false,
        }),
        Arc::new(PipeEnd {
            pipe: p,
            write: true,
        }),
    )
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        if self.write {
            self.pipe.writers.fetch_sub(1, Ordering::AcqRel);
            self.pipe.read_gen.fetch_add(1, Ordering::AcqRel);
        } else {
            self.pipe.readers.fetch_sub(1, Ordering::AcqRel);
            self.pipe.write_gen.fetch_add(1, Ordering::AcqRel);
        }
        notify();
    }
}

impl File for PipeEnd {
    fn read(&self, io: &IoCx<'_>, _off: u64, out: &mut [u8]) -> Result<usize, Errno> {
        if self.write {
            return Err(Errno::EBADF);
        }
        if out.is_empty() {
            return Ok(0);
        }
        let n = io.wait(|| {
            let mut b = self.pipe.buf.lock();
            if b.is_empty() {
                return (self.pipe.writers.load(Ordering::Acquire) == 0).then_some(0);
            }
            let n = out.len().min(b.len());
            for (dst, src) in out.iter_mut().zip(b.drain(..n)) {
                *dst = src;
            }
            Some(n)
        })?;
        if n > 0 {
            self.pipe.write_gen.fetch_add(1, Ordering::AcqRel);
            notify();
        }
        Ok(n)
    }

    fn write(&self, io: &IoCx<'_>, _off: u64, data: &[u8]) -> Result<usize, Errno> {
        if !self.write {
            return Err(Errno::EBADF);
        }
        let mut done = 0;
        while done < data.len() {
            let left = &data[done..];
            let r = io.wait(|| {
                if self.pipe.readers.load(Ordering::Acquire) == 0 {
                    return Some(Err(Errno::EPIPE));
                }
                let mut b = self.pipe.buf.lock();
                let room = PIPE_SIZE - b.len();
                // Small writes go in whole or wait; big ones in pieces.
                let need = if left.len() <= PIPE_BUF {
                    left.len()
                } else {
                    1
                };
                if room < need {
                    return None;
                }
                let n = room.min(left.len());
                b.extend(&left[..n]);
                Some(Ok(n))
            });
            match r {
                Ok(Ok(n)) => {
                    done += n;
                    self.pipe.read_gen.fetch_add(1, Ordering::AcqRel);
                    notify();
                }
                Ok(Err(e)) => {
                    signal::send_to_thread(
                        io.proc,
                        io.thread,
                        SigInfo {
                            signo: SIGPIPE,
                            code: 0,
                            addr: 0,
                            pid: 1,
                            value: 0,
                        },
                    );
                    return if done > 0 { Ok(done) } else { Err(e) };
                }
                Err(e) => return if done > 0 { Ok(done) } else { Err(e) },
            }
        }
        Ok(done)
    }

    fn poll(&self) -> u16 {
        let b = self.pipe.buf.lock();
        if self.write {
            let mut r = 0;
            if PIPE_SIZE - b.len() >= PIPE_BUF {
                r |= POLLOUT;
            }
            if self.pipe.readers.load(Ordering::Acquire) == 0 {
                r |= POLLERR;
            }
            r
        } else {
            let mut r = 0;
            if !b.is_empty() {
                r |= POLLIN;
            }
            if self.pipe.writers.load(Ordering::Acquire) == 0 {
                r |= POLLHUP;
            }
            r
        }
    }

    fn event_gen(&self) -> u64 {
        if self.write {
            self.pipe.write_gen.load(Ordering::Acquire)
        } else {
            self.pipe.read_gen.load(Ordering::Acquire)
        }
    }

    fn metadata(&self) -> Metadata {
        pseudo_fs_metadata(
            PIPEFS_DEV,
            self.pipe.ino,
            oxv_vfs::node::S_IFIFO | 0o600,
            self.pipe.buf.lock().len() as u64,
        )
    }

    fn ioctl(&self, _io: &IoCx<'_>, cmd: u32, arg: u64) -> Result<usize, Errno> {
        const FIONREAD: u32 = 0x541b;
        if cmd == FIONREAD {
            let n = self.pipe.buf.lock().len() as u32;
            super::uaccess::write_u32(arg, n)?;
            return Ok(0);
        }
        Err(Errno::ENOTTY)
    }

    fn describe(&self) -> Vec<u8> {
        alloc::format!("pipe:[{}]", self.pipe.ino).into_bytes()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
