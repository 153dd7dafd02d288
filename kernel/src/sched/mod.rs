//! Scheduling and time: kernel threads, per-CPU run queues, wait queues,
//! timers and the clocks.
//!
//! Every user thread is a kernel thread that runs the Linux run loop on its
//! own kernel stack. The kernel runs with interrupts disabled; they are
//! enabled only in user mode and while a CPU idles, so wake-ups from
//! interrupt handlers happen in the idle loop and preemption happens when a
//! timer interrupt returns a user thread to its run loop
//! ([`preempt_point`]).

pub(crate) mod clock;
mod cpu;
mod thread;
mod timer;
mod wait;

pub(crate) use cpu::{
    arm_slice_timer, block, idle_loop, init_boot_cpu, interrupt_user, is_idling, online_mask,
    preempt_point, prepare_block, this_cpu, yield_now, BlockToken,
};
pub(crate) use thread::{spawn, Thread};
pub(crate) use timer::{call_at, cancel as cancel_timer, sleep_until, Key as TimerKey};
pub(crate) use wait::{WaitQueue, WaitResult};
