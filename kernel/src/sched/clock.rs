//! Clocks: MONOTONIC/BOOTTIME from the TSC (counted from kernel entry),
//! REALTIME as the host's wall clock at launch plus monotonic time, and the
//! CPU-time clocks (the program is the only thing running, so its CPU time
//! is the time spent outside the idle loop).
//!
//! REALTIME is offset by the VM start-up time (the host stamps the launch
//! record just before starting QEMU), i.e. it runs a few tens of
//! milliseconds behind the host clock; `clock_settime` can correct it.

use core::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};

static BOOT_TSC: AtomicU64 = AtomicU64::new(0);
static WALL_AT_BOOT_NS: AtomicI64 = AtomicI64::new(0);
/// Nanoseconds spent idle (waiting for input or sleeping).
static IDLE_NS: AtomicU64 = AtomicU64::new(0);

pub(crate) const CLOCK_REALTIME: u32 = 0;
pub(crate) const CLOCK_MONOTONIC: u32 = 1;
pub(crate) const CLOCK_PROCESS_CPUTIME_ID: u32 = 2;
pub(crate) const CLOCK_THREAD_CPUTIME_ID: u32 = 3;
pub(crate) const CLOCK_MONOTONIC_RAW: u32 = 4;
pub(crate) const CLOCK_REALTIME_COARSE: u32 = 5;
pub(crate) const CLOCK_MONOTONIC_COARSE: u32 = 6;
pub(crate) const CLOCK_BOOTTIME: u32 = 7;
pub(crate) const CLOCK_REALTIME_ALARM: u32 = 8;
pub(crate) const CLOCK_BOOTTIME_ALARM: u32 = 9;
pub(crate) const CLOCK_TAI: u32 = 11;

/// Starts the clocks.
pub(crate) fn init(boot_tsc: u64, wall_clock_ns: u64) {
    BOOT_TSC.store(boot_tsc, Ordering::Relaxed);
    WALL_AT_BOOT_NS.store(wall_clock_ns as i64, Ordering::Relaxed);
}

/// TSC-to-ns scale (`oxv_vdso::vvar::mult_shift`); 0 until first use.
static MULT: AtomicU64 = AtomicU64::new(0);
static SHIFT: AtomicU32 = AtomicU32::new(0);

/// The TSC scale `(mult, shift)`: ns = (ticks * mult) >> shift. The vDSO
/// computes user-mode time with the same pair, so both agree exactly.
pub(crate) fn tsc_scale() -> (u64, u32) {
    let m = MULT.load(Ordering::Acquire);
    if m != 0 {
        return (m, SHIFT.load(Ordering::Relaxed));
    }
    let (m, s) = oxv_vdso::vvar::mult_shift(oxv_hal::tsc_hz());
    SHIFT.store(s, Ordering::Relaxed);
    MULT.store(m, Ordering::Release);
    (m, s)
}

/// TSC value at monotonic time 0.
pub(crate) fn boot_tsc() -> u64 {
    BOOT_TSC.load(Ordering::Relaxed)
}

/// REALTIME minus MONOTONIC, in ns.
pub(crate) fn realtime_offset_ns() -> i64 {
    WALL_AT_BOOT_NS.load(Ordering::Relaxed)
}

/// TAI minus REALTIME, in ns.
pub(crate) const TAI_MINUS_REALTIME_NS: i64 = 37_000_000_000;

/// Nanoseconds since kernel entry.
pub(crate) fn monotonic_ns() -> u64 {
    let (mult, shift) = tsc_scale();
    let ticks = oxv_hal::rdtsc().saturating_sub(BOOT_TSC.load(Ordering::Relaxed));
    oxv_vdso::vvar::ticks_to_ns(ticks, mult, shift)
}

/// Nanoseconds since the epoch.
pub(crate) fn realtime_ns() -> i64 {
    WALL_AT_BOOT_NS.load(Ordering::Relaxed) + monotonic_ns() as i64
}

/// Sets the wall clock (clock_settime(CLOCK_REALTIME)).
pub(crate) fn set_realtime_ns(ns: i64) {
    WALL_AT_BOOT_NS.store(ns - monotonic_ns() as i64, Ordering::Relaxed);
}

/// CPU time used by the program, in ns: the time the online CPUs were not
/// halted since boot (nothing else runs in the VM).
pub(crate) fn cpu_ns() -> u64 {
    let cpus = u64::from(super::cpu::online_mask().count_ones().max(1));
    (monotonic_ns() * cpus).saturating_sub(IDLE_NS.load(Ordering::Relaxed))
}

/// Reads clock `id` in ns (None for an unknown clock).
pub(crate) fn read(id: u32) -> Option<i64> {
    Some(match id {
        CLOCK_REALTIME | CLOCK_REALTIME_COARSE | CLOCK_REALTIME_ALARM => realtime_ns(),
        CLOCK_TAI => realtime_ns() + TAI_MINUS_REALTIME_NS,
        CLOCK_MONOTONIC
        | CLOCK_MONOTONIC_RAW
        | CLOCK_MONOTONIC_COARSE
        | CLOCK_BOOTTIME
        | CLOCK_BOOTTIME_ALARM => monotonic_ns() as i64,
        CLOCK_PROCESS_CPUTIME_ID | CLOCK_THREAD_CPUTIME_ID => cpu_ns() as i64,
        _ => return None,
    })
}

/// Resolution of clock `id` in ns.
pub(crate) fn resolution(id: u32) -> Option<i64> {
    match id {
        CLOCK_REALTIME_COARSE | CLOCK_MONOTONIC_COARSE => Some(4_000_000),
        _ => read(id).map(|_| 1),
    }
}

/// Longest single timer arm, so a wrong APIC frequency cannot oversleep much.
const MAX_ARM_NS: u64 = 1_000_000;

/// Interrupts wake this queue; code that waits for a device polls its
/// condition after every interrupt (see [`wait_until`]).
pub(crate) static IRQ_EVENTS: super::WaitQueue = super::WaitQueue::new();

/// Waits until `wake()` holds or monotonic time `deadline_ns` passes,
/// re-checking after every interrupt. Returns true if `wake()` held. The
/// CPU halts meanwhile (a waiting thread blocks; the idle context itself
/// halts with the local APIC timer armed; one tick is one nanosecond under
/// QEMU and KVM).
pub(crate) fn wait_until(deadline_ns: u64, mut wake: impl FnMut() -> bool) -> bool {
    let start = monotonic_ns();
    let idle_context = super::cpu::is_idle_context();
    let woken = loop {
        if wake() {
            break true;
        }
        let now = monotonic_ns();
        if now >= deadline_ns {
            break false;
        }
        let step = deadline_ns.min(now + MAX_ARM_NS);
        if idle_context {
            oxv_hal::irq::arm_timer((step - now) as u32);
            oxv_hal::irq::wait_for_interrupt();
        } else {
            let _ = IRQ_EVENTS.wait(Some(step), || wake().then_some(()));
        }
    };
    if idle_context {
        oxv_hal::irq::arm_timer(0);
        add_idle(monotonic_ns().saturating_sub(start));
    }
    woken
}

/// Total time CPUs spent halted, in ns (/proc/uptime).
pub(crate) fn idle_ns() -> u64 {
    IDLE_NS.load(Ordering::Relaxed)
}

/// Records time a CPU spent halted.
pub(crate) fn add_idle(ns: u64) {
    IDLE_NS.fetch_add(ns, Ordering::Relaxed);
}
