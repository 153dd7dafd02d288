//! eventfd (man 2 eventfd): a 64-bit counter readable as a file, in
//! counter or semaphore mode.

use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU64, Ordering};

use oxv_abi::errno::Errno;
use oxv_hal::sync::SpinLock;
use oxv_vfs::Metadata;

use super::anon_inode::anon_inode_metadata;
use super::file::{notify, File, IoCx, POLLERR, POLLIN, POLLOUT};

const MAX: u64 = u64::MAX - 1;

/// An eventfd.
pub(crate) struct EventFd {
    count: SpinLock<u64>,
    gen: AtomicU64,
    semaphore: bool,
}

impl EventFd {
    pub(crate) fn new(initial: u64, semaphore: bool) -> Self {
        Self {
            count: SpinLock::new(initial),
            gen: AtomicU64::new(0),
            semaphore,
        }
    }
}

impl File for EventFd {
    fn read(&self, io: &IoCx<'_>, _off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if buf.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let v = io.wait(|| {
            let mut c = self.count.lock();
            if *c == 0 {
                return None;
            }
            let v = if self.semaphore { 1 } else { *c };
            *c -= v;
            Some(v)
        })?;
        buf[..8].copy_from_slice(&v.to_le_bytes());
        self.gen.fetch_add(1, Ordering::AcqRel);
        notify();
        Ok(8)
    }

    fn write(&self, io: &IoCx<'_>, _off: u64, buf: &[u8]) -> Result<usize, Errno> {
        if buf.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let v = u64::from_le_bytes(buf[..8].try_into().map_err(|_| Errno::EINVAL)?);
        if v == u64::MAX {
            return Err(Errno::EINVAL);
        }
        io.wait(|| {
            let mut c = self.count.lock();
            if MAX - *c < v {
                return None;
            }
            *c += v;
            Some(())
        })?;
        self.gen.fetch_add(1, Ordering::AcqRel);
        notify();
        Ok(8)
    }

    fn poll(&self) -> u16 {
        let c = *self.count.lock();
        let mut r = 0;
        if c > 0 {
            r |= POLLIN;
        }
        if c < MAX {
            r |= POLLOUT;
        }
        if c == u64::MAX {
            r |= POLLERR;
        }
        r
    }

    fn event_gen(&self) -> u64 {
        self.gen.load(Ordering::Acquire)
    }

    fn metadata(&self) -> Metadata {
        anon_inode_metadata()
    }

    fn describe(&self) -> Vec<u8> {
        b"anon_inode:[eventfd]".to_vec()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
