//! Kernel threads: a stack, a saved context, a state word.
//!
//! The state word packs a blocking sequence number with the state, so a
//! wake-up aimed at one wait (a timer, a wait queue entry) can never wake
//! the thread out of a later, different wait: `wake(seq)` only succeeds
//! while the thread is still blocked in wait number `seq`.

use alloc::boxed::Box;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use oxv_hal::sync::SpinLock;
use oxv_hal::{FpuArea, SavedContext};

use crate::mm::kernel_space::KernelStack;

pub(super) const RUNNING: u64 = 0;
pub(super) const READY: u64 = 1;
pub(super) const BLOCKED: u64 = 2;
pub(super) const DEAD: u64 = 3;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

type Start = Box<dyn FnOnce() + Send>;

/// A kernel thread.
pub(crate) struct Thread {
    /// Scheduler id (not the Linux tid).
    pub(crate) id: u64,
    pub(super) ctx: SavedContext,
    _stack: Option<KernelStack>,
    /// (block sequence << 2) | state.
    state: AtomicU64,
    /// Still executing on a CPU (possibly in the middle of switching away).
    pub(super) on_cpu: AtomicBool,
    /// On a run queue (claimed by whoever queued it).
    pub(super) in_rq: AtomicBool,
    /// CPU it last ran on.
    pub(super) cpu: AtomicUsize,
    /// Allowed CPUs (bit per CPU).
    pub(crate) affinity: AtomicU64,
    pub(super) idle: bool,
    start: SpinLock<Option<Start>>,
    /// Saved user FPU/SSE state while switched out (user threads only).
    pub(super) fpu: Option<SpinLock<Box<FpuArea>>>,
}

impl core::fmt::Debug for Thread {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Thread({})", self.id)
    }
}

impl Thread {
    /// The thread that is already running on a CPU at boot (its idle thread).
    pub(super) fn adopt_boot(cpu: usize) -> Arc<Thread> {
        Arc::new(Thread {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            ctx: SavedContext::default(),
            _stack: None,
            state: AtomicU64::new(RUNNING),
            on_cpu: AtomicBool::new(true),
            in_rq: AtomicBool::new(false),
            cpu: AtomicUsize::new(cpu),
            affinity: AtomicU64::new(1 << cpu),
            idle: true,
            start: SpinLock::new(None),
            fpu: None,
        })
    }

    pub(super) fn state(&self) -> (u64, u64) {
        let v = self.state.load(Ordering::Acquire);
        (v >> 2, v & 3)
    }

    pub(super) fn set_state(&self, st: u64) {
        let (seq, _) = self.state();
        self.state.store((seq << 2) | st, Ordering::Release);
    }

    /// Enters a new blocking episode; returns its sequence number.
    pub(super) fn begin_block(&self) -> u64 {
        let (seq, _) = self.state();
        let seq = seq.wrapping_add(1) & (u64::MAX >> 2);
        self.state.store((seq << 2) | BLOCKED, Ordering::Release);
        seq
    }

    /// BLOCKED(seq) -> READY; true if this call made the transition.
    pub(super) fn try_unblock(&self, seq: u64) -> bool {
        self.state
            .compare_exchange(
                (seq << 2) | BLOCKED,
                (seq << 2) | READY,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
    }

    /// The current blocking sequence, if blocked.
    pub(super) fn blocked_seq(&self) -> Option<u64> {
        let (seq, st) = self.state();
        (st == BLOCKED).then_some(seq)
    }

    /// Wakes the thread out of whatever it is blocked in (signals, exit).
    pub(crate) fn wake_any(self: &Arc<Self>) {
        if let Some(seq) = self.blocked_seq() {
            super::cpu::wake(self, seq);
        }
    }

    pub(super) fn take_start(&self) -> Option<Start> {
        self.start.lock().take()
    }
}

extern "C" fn thread_entry(_arg: usize) -> ! {
    super::cpu::finish_switch();
    let start = {
        let me = super::cpu::current();
        if let Some(f) = &me.fpu {
            let _ = oxv_hal::fpu_restore(&f.lock());
        }
        me.take_start()
    };
    // No reference to this thread may stay on its own stack past this
    // point, or it would never be freed.
    if let Some(f) = start {
        f();
    }
    super::cpu::exit_current()
}

/// Creates a thread that runs `f` and makes it runnable. A thread that runs
/// user code gets `fpu`, its initial FPU/SSE state, which the scheduler
/// then saves and restores around switches. None if there is no memory.
pub(crate) fn spawn(f: Start, fpu: Option<Box<FpuArea>>, affinity: u64) -> Option<Arc<Thread>> {
    let stack = KernelStack::new()?;
    let ctx = oxv_hal::prepare_stack(stack.top(), thread_entry, 0).ok()?;
    let t = Arc::new(Thread {
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        ctx,
        _stack: Some(stack),
        state: AtomicU64::new(READY),
        on_cpu: AtomicBool::new(false),
        in_rq: AtomicBool::new(false),
        cpu: AtomicUsize::new(super::cpu::this_cpu()),
        affinity: AtomicU64::new(affinity),
        idle: false,
        start: SpinLock::new(Some(f)),
        fpu: fpu.map(SpinLock::new),
    });
    super::cpu::enqueue(t.clone());
    Some(t)
}
