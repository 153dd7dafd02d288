//! signalfd (man 2 signalfd): pending signals of the reading thread in the
//! fd's mask, read as `struct signalfd_siginfo` records (128 bytes).

use alloc::vec::Vec;
use core::any::Any;

use oxv_abi::errno::Errno;
use oxv_hal::sync::SpinLock;
use oxv_vfs::Metadata;

use super::anon_inode::anon_inode_metadata;
use super::file::{File, IoCx, POLLIN};
use super::signal;

/// A signalfd.
pub(crate) struct SignalFd {
    pub(crate) mask: SpinLock<u64>,
}

impl File for SignalFd {
    fn read(&self, io: &IoCx<'_>, _off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if buf.len() < 128 {
            return Err(Errno::EINVAL);
        }
        let mask = *self.mask.lock();
        let first = io.wait(|| signal::dequeue(io.proc, io.thread, mask))?;
        let mut n = 0;
        let mut next = Some(first);
        while let Some(info) = next {
            let rec = &mut buf[n..n + 128];
            rec.fill(0);
            rec[0..4].copy_from_slice(&info.signo.to_le_bytes());
            rec[8..12].copy_from_slice(&info.code.to_le_bytes());
            rec[12..16].copy_from_slice(&info.pid.to_le_bytes());
            rec[44..48].copy_from_slice(&(info.value as u32).to_le_bytes()); // ssi_int
            rec[48..56].copy_from_slice(&info.value.to_le_bytes()); // ssi_ptr
            rec[72..80].copy_from_slice(&info.addr.to_le_bytes());
            n += 128;
            next = if buf.len() - n >= 128 {
                signal::dequeue(io.proc, io.thread, mask)
            } else {
                None
            };
        }
        Ok(n)
    }

    fn poll(&self) -> u16 {
        // Readiness depends on the reader; report for the process's threads.
        let mask = *self.mask.lock();
        let Some(p) = super::process::current() else {
            return 0;
        };
        let any = p
            .threads
            .lock()
            .values()
            .any(|t| signal::pending_in(&p, t, mask) != 0);
        if any {
            POLLIN
        } else {
            0
        }
    }

    fn metadata(&self) -> Metadata {
        anon_inode_metadata()
    }

    fn describe(&self) -> Vec<u8> {
        b"anon_inode:[signalfd]".to_vec()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
