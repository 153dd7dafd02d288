//! Frame-pointer backtraces for kernel panics.
//!
//! The kernel is built with frame pointers, so each frame starts with the
//! caller's RBP followed by the return address. The walk stops at anything
//! that is not an aligned, mapped kernel address.

use core::sync::atomic::{AtomicU64, Ordering};

use crate::arch::paging::{PageTable, PHYS_OFFSET};

static TRAP_RIP: AtomicU64 = AtomicU64::new(0);
static TRAP_RBP: AtomicU64 = AtomicU64::new(0);

/// Records where a CPU exception interrupted the kernel, so the panic
/// backtrace starts at the faulting code rather than in the trap handler.
pub(crate) fn set_trap_origin(rip: u64, rbp: u64) {
    TRAP_RIP.store(rip, Ordering::Relaxed);
    TRAP_RBP.store(rbp, Ordering::Relaxed);
}

fn current_rbp() -> u64 {
    let rbp: u64;
    // SAFETY: reading RBP has no side effects.
    unsafe { core::arch::asm!("mov {}, rbp", out(reg) rbp, options(nomem, nostack)) };
    rbp
}

fn readable(pt: &PageTable, addr: u64) -> bool {
    addr >= PHYS_OFFSET
        && addr.is_multiple_of(8)
        && pt.translate(addr).is_some()
        && pt.translate(addr + 8).is_some()
}

/// Calls `f` with each return address, innermost first (at most `max`).
pub fn walk(max: usize, mut f: impl FnMut(u64)) {
    let pt = PageTable::current();
    let trap_rip = TRAP_RIP.swap(0, Ordering::Relaxed);
    let mut rbp = if trap_rip != 0 {
        f(trap_rip);
        TRAP_RBP.load(Ordering::Relaxed)
    } else {
        current_rbp()
    };
    for _ in 0..max {
        if !readable(&pt, rbp) {
            break;
        }
        // SAFETY: `rbp` and `rbp + 8` are mapped, aligned kernel addresses
        // (checked above); reading stale stack data is harmless.
        let (next, ret) = unsafe { (*(rbp as *const u64), *((rbp + 8) as *const u64)) };
        if ret == 0 {
            break;
        }
        f(ret);
        if next <= rbp {
            break;
        }
        rbp = next;
    }
}
