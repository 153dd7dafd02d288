//! Per-CPU scheduling state: the running thread, the run queue, the idle
//! thread, and the switch itself.
//!
//! Switching protocol: `schedule` picks the next thread and switches; the
//! thread that resumes calls `finish_switch`, which marks the previous
//! thread as off the CPU and, if it is still runnable, puts it back on a
//! run queue. Until then nobody else may run the previous thread, which is
//! why `wake` waits for `on_cpu` to clear before enqueueing.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use oxv_hal::sync::SpinLock;

use super::thread::{Thread, DEAD, READY, RUNNING};

/// Most CPUs oxv drives.
pub(crate) const MAX_CPUS: usize = 64;
/// Time slice of a user thread when others wait for the CPU.
const SLICE_NS: u64 = 10_000_000;

pub(super) struct Cpu {
    current: SpinLock<Option<Arc<Thread>>>,
    idle: SpinLock<Option<Arc<Thread>>>,
    rq: SpinLock<VecDeque<Arc<Thread>>>,
    prev: SpinLock<Option<Arc<Thread>>>,
    pub(super) online: AtomicBool,
    pub(super) idling: AtomicBool,
    slice_end: AtomicU64,
    queued: AtomicUsize,
}

#[allow(clippy::declare_interior_mutable_const)]
const CPU_INIT: Cpu = Cpu {
    current: SpinLock::new(None),
    idle: SpinLock::new(None),
    rq: SpinLock::new(VecDeque::new()),
    prev: SpinLock::new(None),
    online: AtomicBool::new(false),
    idling: AtomicBool::new(false),
    slice_end: AtomicU64::new(0),
    queued: AtomicUsize::new(0),
};

pub(super) static CPUS: [Cpu; MAX_CPUS] = [CPU_INIT; MAX_CPUS];
static ONLINE_MASK: AtomicU64 = AtomicU64::new(0);

/// Index of the running CPU.
pub(crate) fn this_cpu() -> usize {
    oxv_hal::cpu_id()
}

/// Whether `cpu` is halted in its idle loop.
pub(crate) fn is_idling(cpu: usize) -> bool {
    CPUS[cpu].idling.load(Ordering::SeqCst)
}

/// Mask of online CPUs.
pub(crate) fn online_mask() -> u64 {
    ONLINE_MASK.load(Ordering::Acquire)
}

/// The running thread.
pub(crate) fn current() -> Arc<Thread> {
    CPUS[this_cpu()]
        .current
        .lock()
        .clone()
        .expect("scheduler not initialised on this CPU")
}

/// Whether the caller is a CPU's idle (boot) context, which must halt
/// instead of blocking. Also true before the scheduler runs on this CPU.
pub(crate) fn is_idle_context() -> bool {
    CPUS[this_cpu()]
        .current
        .lock()
        .as_ref()
        .is_none_or(|t| t.idle)
}

/// Makes the code running on `cpu` at boot its idle thread.
pub(crate) fn init_boot_cpu(cpu: usize) {
    let t = Thread::adopt_boot(cpu);
    let c = &CPUS[cpu];
    *c.idle.lock() = Some(t.clone());
    *c.current.lock() = Some(t);
    c.online.store(true, Ordering::Release);
    ONLINE_MASK.fetch_or(1 << cpu, Ordering::AcqRel);
}

fn pick_cpu(t: &Thread) -> usize {
    let allowed = t.affinity.load(Ordering::Relaxed) & online_mask();
    let last = t.cpu.load(Ordering::Relaxed);
    if allowed == 0 {
        return last;
    }
    let mut best = last;
    let mut best_len = usize::MAX;
    for (cpu, c) in CPUS.iter().enumerate() {
        if allowed & (1 << cpu) == 0 {
            continue;
        }
        let mut len = c.queued.load(Ordering::Relaxed) * 2;
        if !c.idling.load(Ordering::Relaxed) {
            len += 1;
        }
        if cpu == last {
            len = len.saturating_sub(1);
        }
        if len < best_len {
            best = cpu;
            best_len = len;
        }
    }
    best
}

/// Puts a READY thread on a run queue and nudges an idle CPU; a thread is
/// queued at most once (wakers and the CPU switching away may race here).
pub(super) fn enqueue(t: Arc<Thread>) {
    if t.in_rq.swap(true, Ordering::SeqCst) {
        return;
    }
    let cpu = pick_cpu(&t);
    t.cpu.store(cpu, Ordering::Relaxed);
    let c = &CPUS[cpu];
    c.rq.lock().push_back(t);
    // SeqCst pairs with the idle loop's store of `idling` and load of
    // `queued`: one of the two sides must see the other's write, or the
    // CPU could halt with work queued.
    c.queued.fetch_add(1, Ordering::SeqCst);
    if cpu != this_cpu() && c.idling.load(Ordering::SeqCst) {
        crate::smp::kick(cpu);
    }
}

/// Wakes `t` out of blocking episode `seq`; false if it already left it.
pub(super) fn wake(t: &Arc<Thread>, seq: u64) -> bool {
    if !t.try_unblock(seq) {
        return false;
    }
    // Still on its CPU: either it has not switched away yet (then
    // `schedule` sees READY and keeps it running) or it is switching (then
    // `finish_switch` on that CPU queues it).
    if !t.on_cpu.load(Ordering::SeqCst) {
        enqueue(t.clone());
    }
    true
}

fn pop_ready(cpu: usize) -> Option<Arc<Thread>> {
    let c = &CPUS[cpu];
    let t = c.rq.lock().pop_front();
    if t.is_some() {
        c.queued.fetch_sub(1, Ordering::Relaxed);
    }
    t
}

/// Takes a thread from the busiest other CPU that this CPU may run.
fn steal(me: usize) -> Option<Arc<Thread>> {
    let mut victim = None;
    let mut most = 1;
    for (cpu, c) in CPUS.iter().enumerate() {
        if cpu == me || !c.online.load(Ordering::Relaxed) {
            continue;
        }
        let n = c.queued.load(Ordering::Relaxed);
        if n >= most {
            most = n;
            victim = Some(cpu);
        }
    }
    let v = victim?;
    let c = &CPUS[v];
    let mut q = c.rq.lock();
    let pos = q
        .iter()
        .position(|t| t.affinity.load(Ordering::Relaxed) & (1 << me) != 0)?;
    let t = q.remove(pos)?;
    c.queued.fetch_sub(1, Ordering::Relaxed);
    Some(t)
}

/// Switches to the next runnable thread (or the idle thread). The caller
/// has already set its own state (READY to stay runnable, BLOCKED to wait,
/// DEAD to exit).
pub(crate) fn schedule() {
    let cpu = this_cpu();
    let c = &CPUS[cpu];
    let prev = c.current.lock().clone().expect("no current thread");
    let next = pop_ready(cpu).or_else(|| steal(cpu));
    let next = match next {
        Some(n) => n,
        None => {
            if prev.state().1 == READY || prev.state().1 == RUNNING {
                // Nothing else to run: keep going.
                prev.set_state(RUNNING);
                return;
            }
            c.idle.lock().clone().expect("no idle thread")
        }
    };
    if Arc::ptr_eq(&next, &prev) {
        prev.set_state(RUNNING);
        return;
    }
    if let Some(f) = &prev.fpu {
        oxv_hal::fpu_save(&mut f.lock());
    }
    next.set_state(RUNNING);
    next.in_rq.store(false, Ordering::SeqCst);
    next.on_cpu.store(true, Ordering::SeqCst);
    next.cpu.store(cpu, Ordering::Relaxed);
    // No reference to `next` may stay on `prev`'s stack across the switch:
    // if `prev` is exiting it never resumes to drop it.
    LOAD[cpu].copy_from(&next.ctx);
    *c.current.lock() = Some(next);
    c.slice_end
        .store(super::clock::monotonic_ns() + SLICE_NS, Ordering::Relaxed);
    if prev.state().1 == DEAD {
        // The next thread's finish_switch drops the last reference, after
        // this stack is no longer in use.
        *c.prev.lock() = Some(prev);
        oxv_hal::switch_context(&DEAD_SAVE[cpu], &LOAD[cpu]);
        unreachable!("an exited thread was resumed");
    }
    *c.prev.lock() = Some(prev.clone());
    oxv_hal::switch_context(&prev.ctx, &LOAD[cpu]);
    // Resumed (possibly on another CPU).
    finish_switch();
    if let Some(f) = &prev.fpu {
        let _ = oxv_hal::fpu_restore(&f.lock());
    }
}

/// The per-CPU copy of the next thread's context (see `schedule`).
#[allow(clippy::declare_interior_mutable_const)]
const SAVED_INIT: oxv_hal::SavedContext = oxv_hal::SavedContext::new();
static LOAD: [oxv_hal::SavedContext; MAX_CPUS] = [SAVED_INIT; MAX_CPUS];
/// Where an exiting thread's context goes (nobody reads it).
static DEAD_SAVE: [oxv_hal::SavedContext; MAX_CPUS] = [SAVED_INIT; MAX_CPUS];

/// Completes a switch on the thread that now runs: releases the previous one.
pub(super) fn finish_switch() {
    let c = &CPUS[this_cpu()];
    let Some(prev) = c.prev.lock().take() else {
        return;
    };
    // Publish "off the CPU" before looking at the state: a waker that saw
    // the thread still on the CPU left the queueing to us.
    prev.on_cpu.store(false, Ordering::SeqCst);
    if !prev.idle && prev.state().1 == READY {
        enqueue(prev);
    }
}

/// Brings `t` into the kernel if it is running user code on another CPU
/// (so it notices a signal or exits).
pub(crate) fn interrupt_user(t: &Thread) {
    let cpu = t.cpu.load(Ordering::Relaxed);
    if t.on_cpu.load(Ordering::Acquire) && cpu != this_cpu() {
        crate::smp::kick(cpu);
    }
}

/// Gives up the CPU, staying runnable.
pub(crate) fn yield_now() {
    let me = current();
    me.set_state(READY);
    schedule();
}

/// Called when a user thread comes back from an interrupt: switch if its
/// slice is over and another thread waits for this CPU.
pub(crate) fn preempt_point() {
    super::timer::run_expired();
    let c = &CPUS[this_cpu()];
    if c.queued.load(Ordering::Relaxed) > 0
        && super::clock::monotonic_ns() >= c.slice_end.load(Ordering::Relaxed)
    {
        yield_now();
    } else {
        arm_slice_timer();
    }
}

/// Arms the local timer for the end of the slice (when others wait) or the
/// next timer deadline, whichever is first.
pub(crate) fn arm_slice_timer() {
    let c = &CPUS[this_cpu()];
    let now = super::clock::monotonic_ns();
    let mut until = super::timer::next_deadline().unwrap_or(u64::MAX);
    if c.queued.load(Ordering::Relaxed) > 0 {
        until = until.min(c.slice_end.load(Ordering::Relaxed).max(now + 100_000));
    }
    if until == u64::MAX {
        oxv_hal::irq::arm_timer(0);
    } else {
        oxv_hal::irq::arm_timer(until.saturating_sub(now).clamp(1_000, 1_000_000_000) as u32);
    }
}

/// Ends the running thread.
pub(crate) fn exit_current() -> ! {
    let me = current();
    me.set_state(DEAD);
    drop(me);
    schedule();
    unreachable!("a dead thread was scheduled");
}

/// The idle loop of a CPU: run timers, run threads, halt.
pub(crate) fn idle_loop() -> ! {
    let cpu = this_cpu();
    let c = &CPUS[cpu];
    loop {
        super::timer::run_expired();
        if c.queued.load(Ordering::Acquire) > 0
            || CPUS.iter().any(|o| o.queued.load(Ordering::Relaxed) > 1)
        {
            schedule();
            continue;
        }
        c.idling.store(true, Ordering::SeqCst);
        // Re-check after announcing idleness: an enqueue that missed the
        // flag left its thread in the queue, which this sees.
        if c.queued.load(Ordering::SeqCst) == 0 {
            let now = super::clock::monotonic_ns();
            match super::timer::next_deadline() {
                Some(d) if d > now => {
                    oxv_hal::irq::arm_timer((d - now).clamp(1_000, 1_000_000_000) as u32)
                }
                Some(_) => oxv_hal::irq::arm_timer(1_000),
                None => oxv_hal::irq::arm_timer(0),
            }
            let t0 = super::clock::monotonic_ns();
            oxv_hal::irq::wait_for_interrupt();
            super::clock::add_idle(super::clock::monotonic_ns().saturating_sub(t0));
        }
        c.idling.store(false, Ordering::Release);
    }
}

/// A blocking episode of the current thread, prepared before it is
/// published to wakers (futex lists, ...).
#[derive(Clone)]
pub(crate) struct BlockToken {
    thread: Arc<Thread>,
    seq: u64,
}

impl BlockToken {
    /// Wakes the thread out of this episode; false if it already left it.
    pub(crate) fn wake(&self) -> bool {
        wake(&self.thread, self.seq)
    }
}

/// Marks the current thread blocked (it keeps running until [`block`]).
pub(crate) fn prepare_block() -> BlockToken {
    let thread = current();
    let seq = thread.begin_block();
    BlockToken { thread, seq }
}

/// Sleeps in the episode of `token` until woken or until `deadline`.
pub(crate) fn block(token: BlockToken, deadline: Option<u64>) {
    let key = deadline.map(|d| super::timer::add(d, token.thread.clone(), token.seq));
    drop(token);
    schedule();
    if let Some(k) = key {
        super::timer::remove(k);
    }
}
