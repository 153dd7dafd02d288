//! Wait queues: block until a condition holds, with an optional deadline.
//!
//! The condition is evaluated with the queue's lock held and the waker
//! changes state before taking the same lock to wake, so a wake-up cannot
//! fall between "condition false" and "asleep". Each wait is one blocking
//! episode of the thread (see `thread`), so stale queue entries and timers
//! can never wake it out of a later wait.

use alloc::collections::VecDeque;
use alloc::sync::Arc;

use oxv_hal::sync::SpinLock;

use super::clock::monotonic_ns;
use super::cpu::{current, schedule, wake};
use super::thread::Thread;
use super::timer;

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WaitResult<R> {
    /// The condition produced a value.
    Ready(R),
    /// The deadline passed first.
    TimedOut,
}

/// Threads waiting for something.
pub(crate) struct WaitQueue {
    q: SpinLock<VecDeque<(Arc<Thread>, u64)>>,
}

impl core::fmt::Debug for WaitQueue {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("WaitQueue")
    }
}

impl Default for WaitQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitQueue {
    pub(crate) const fn new() -> Self {
        Self {
            q: SpinLock::new(VecDeque::new()),
        }
    }

    /// Waits until `cond` returns `Some`, or until `deadline` (monotonic ns).
    /// `cond` runs with the queue locked; it must not block.
    pub(crate) fn wait<R>(
        &self,
        deadline: Option<u64>,
        mut cond: impl FnMut() -> Option<R>,
    ) -> WaitResult<R> {
        let me = current();
        loop {
            let mut q = self.q.lock();
            if let Some(r) = cond() {
                return WaitResult::Ready(r);
            }
            if deadline.is_some_and(|d| monotonic_ns() >= d) {
                return WaitResult::TimedOut;
            }
            let seq = me.begin_block();
            q.push_back((me.clone(), seq));
            drop(q);
            let key = deadline.map(|d| timer::add(d, me.clone(), seq));
            schedule();
            if let Some(k) = key {
                timer::remove(k);
            }
            self.q
                .lock()
                .retain(|(t, s)| !(Arc::ptr_eq(t, &me) && *s == seq));
        }
    }

    /// Wakes up to `n` waiters; returns how many were woken.
    pub(crate) fn wake_n(&self, n: usize) -> usize {
        let mut woken = 0;
        while woken < n {
            let Some((t, seq)) = self.q.lock().pop_front() else {
                break;
            };
            if wake(&t, seq) {
                woken += 1;
            }
        }
        woken
    }

    /// Wakes every waiter.
    pub(crate) fn wake_all(&self) -> usize {
        self.wake_n(usize::MAX)
    }
}
