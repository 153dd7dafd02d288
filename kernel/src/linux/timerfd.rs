//! timerfd (man 2 timerfd_create): a timer whose expirations are read as a
//! counter. Expirations are computed from the clock when looked at, so no
//! kernel timer is needed; waiters use [`File::deadline`].

use alloc::vec::Vec;
use core::any::Any;

use oxv_abi::errno::Errno;
use oxv_hal::sync::SpinLock;
use oxv_vfs::Metadata;

use super::anon_inode::anon_inode_metadata;
use super::file::{File, IoCx, POLLIN};
use crate::sched::clock;

#[derive(Default, Clone, Copy)]
struct State {
    /// Next expiry, monotonic ns (0 = disarmed).
    next: u64,
    /// Period in ns (0 = one-shot).
    interval: u64,
    /// Expirations not yet read.
    ticks: u64,
    /// Expirations ever (edge-triggered epoll).
    total: u64,
}

/// A timerfd.
pub(crate) struct TimerFd {
    pub(crate) clock: u32,
    state: SpinLock<State>,
}

impl TimerFd {
    pub(crate) fn new(clock: u32) -> Self {
        Self {
            clock,
            state: SpinLock::new(State::default()),
        }
    }

    fn update(s: &mut State) {
        let now = clock::monotonic_ns();
        if s.next != 0 && now >= s.next {
            if let Some(k) = (now - s.next).checked_div(s.interval) {
                let n = k + 1;
                s.ticks += n;
                s.total += n;
                s.next += n * s.interval;
            } else {
                s.ticks += 1;
                s.total += 1;
                s.next = 0;
            }
        }
    }

    /// (remaining ns, interval ns) as timerfd_gettime reports them.
    pub(crate) fn get(&self) -> (u64, u64) {
        let mut s = self.state.lock();
        Self::update(&mut s);
        let left = if s.next == 0 {
            0
        } else {
            s.next.saturating_sub(clock::monotonic_ns()).max(1)
        };
        (left, s.interval)
    }

    /// Arms (or disarms with `first` = 0) at monotonic `first`, repeating
    /// every `interval`; returns the previous setting.
    pub(crate) fn set(&self, first: u64, interval: u64) -> (u64, u64) {
        let old = self.get();
        let mut s = self.state.lock();
        *s = State {
            next: first,
            interval: if first == 0 { 0 } else { interval },
            ticks: 0,
            total: s.total + 1,
        };
        drop(s);
        super::file::notify();
        old
    }
}

impl File for TimerFd {
    fn read(&self, io: &IoCx<'_>, _off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if buf.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let deadline = self.deadline();
        let n = io.wait_until(deadline.map(|d| d.max(1)), || {
            let mut s = self.state.lock();
            Self::update(&mut s);
            (s.ticks > 0).then(|| core::mem::take(&mut s.ticks))
        });
        let n = match n {
            Ok(n) => n,
            // The deadline passed: look again (it has expired now).
            Err(Errno::ETIMEDOUT) => return self.read(io, 0, buf),
            Err(e) => return Err(e),
        };
        buf[..8].copy_from_slice(&n.to_le_bytes());
        Ok(8)
    }

    fn poll(&self) -> u16 {
        let mut s = self.state.lock();
        Self::update(&mut s);
        if s.ticks > 0 {
            POLLIN
        } else {
            0
        }
    }

    fn event_gen(&self) -> u64 {
        let mut s = self.state.lock();
        Self::update(&mut s);
        s.total
    }

    fn deadline(&self) -> Option<u64> {
        let s = self.state.lock();
        (s.next != 0).then_some(s.next)
    }

    fn metadata(&self) -> Metadata {
        anon_inode_metadata()
    }

    fn describe(&self) -> Vec<u8> {
        b"anon_inode:[timerfd]".to_vec()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
