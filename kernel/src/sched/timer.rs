//! Timers: threads sleeping until a deadline on the monotonic clock.
//!
//! One ordered map of (deadline, id) -> (thread, blocking sequence). The
//! idle loop and the preemption point fire expired entries; CPUs arm their
//! local APIC timer for the earliest deadline before halting or entering
//! user mode, so a deadline is met within the timer's resolution.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use oxv_hal::sync::SpinLock;

use super::clock::monotonic_ns;
use super::cpu::{current, schedule, wake};
use super::thread::Thread;

/// A timer's identity: (deadline, unique id).
pub(crate) type Key = (u64, u64);

/// What happens when a timer fires.
enum Action {
    /// Wake a thread out of one blocking episode.
    Wake(Arc<Thread>, u64),
    /// Run a kernel callback (with interrupts off, no locks held).
    Call(alloc::boxed::Box<dyn FnOnce() + Send>),
}

static TIMERS: SpinLock<BTreeMap<Key, Action>> = SpinLock::new(BTreeMap::new());
static NEXT: AtomicU64 = AtomicU64::new(0);

/// Arms a wake-up of `t` out of blocking episode `seq` at `deadline`.
pub(super) fn add(deadline: u64, t: Arc<Thread>, seq: u64) -> Key {
    let key = (deadline, NEXT.fetch_add(1, Ordering::Relaxed));
    TIMERS.lock().insert(key, Action::Wake(t, seq));
    key
}

/// Runs `f` at monotonic time `deadline` (itimers, alarm). The callback
/// runs from the idle loop or a preemption point, so it must be short and
/// must not block.
pub(crate) fn call_at(deadline: u64, f: impl FnOnce() + Send + 'static) -> Key {
    let key = (deadline, NEXT.fetch_add(1, Ordering::Relaxed));
    TIMERS
        .lock()
        .insert(key, Action::Call(alloc::boxed::Box::new(f)));
    // Make sure some CPU notices the new earliest deadline.
    crate::smp::kick_all_idle();
    key
}

/// Cancels a callback timer; true if it had not fired yet.
pub(crate) fn cancel(key: Key) -> bool {
    TIMERS.lock().remove(&key).is_some()
}

/// Cancels a timer (no-op if it already fired).
pub(super) fn remove(key: Key) {
    TIMERS.lock().remove(&key);
}

/// The earliest deadline.
pub(crate) fn next_deadline() -> Option<u64> {
    TIMERS.lock().keys().next().map(|k| k.0)
}

/// Wakes every thread whose deadline has passed.
pub(crate) fn run_expired() {
    let now = monotonic_ns();
    loop {
        let fired = {
            let mut t = TIMERS.lock();
            match t.keys().next().copied() {
                Some(k) if k.0 <= now => t.remove(&k),
                _ => None,
            }
        };
        match fired {
            Some(Action::Wake(thread, seq)) => {
                wake(&thread, seq);
            }
            Some(Action::Call(f)) => f(),
            None => break,
        }
    }
}

/// Blocks the current thread until `deadline` (monotonic ns). Returns
/// false if it was woken earlier (a signal or another `wake_any`).
pub(crate) fn sleep_until(deadline: u64) -> bool {
    let me = current();
    if monotonic_ns() >= deadline {
        return true;
    }
    let seq = me.begin_block();
    let key = add(deadline, me.clone(), seq);
    drop(me);
    schedule();
    remove(key);
    monotonic_ns() >= deadline
}
