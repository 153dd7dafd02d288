//! TSC frequency discovery.
//!
//! In order: CPUID leaf 0x15 (TSC/crystal ratio), the hypervisor timing leaf
//! 0x40000010 (TSC kHz, offered by KVM/VMware-style hypervisors), and as a
//! last resort a short calibration against the local APIC timer, whose
//! counter runs at 1 GHz under QEMU and KVM (their emulated APIC bus clock).
//! The result is cached; the kernel's clocks are built on it.

use core::sync::atomic::Ordering;

use crate::arch::cpu::{self, cpuid, rdtsc, TSC_HZ};
use crate::arch::io::Mmio32;

const IA32_APIC_BASE: u32 = 0x1b;
const LAPIC_SVR: u64 = 0xf0;
const LAPIC_LVT_TIMER: u64 = 0x320;
const LAPIC_TIMER_INIT: u64 = 0x380;
const LAPIC_TIMER_CURRENT: u64 = 0x390;
const LAPIC_TIMER_DIVIDE: u64 = 0x3e0;
/// Emulated APIC bus frequency under QEMU and KVM.
const VIRTUAL_APIC_HZ: u64 = 1_000_000_000;
/// Calibration window, in APIC ticks (ns at 1 GHz): 0.5 ms, about 0.2%
/// precision given the ~1 us uncertainty of each TSC/APIC sample pair.
const CALIBRATION_TICKS: u32 = 500_000;

/// Physical address of the local APIC's registers.
pub fn lapic_phys() -> u64 {
    cpu::rdmsr(IA32_APIC_BASE) & 0x000f_ffff_ffff_f000
}

fn from_cpuid() -> Option<u64> {
    let max = cpuid(0, 0).eax;
    if max >= 0x15 {
        let c = cpuid(0x15, 0);
        if c.eax != 0 && c.ebx != 0 && c.ecx != 0 {
            return Some(u64::from(c.ecx) * u64::from(c.ebx) / u64::from(c.eax));
        }
    }
    if cpu::features().hypervisor {
        let h = cpuid(0x4000_0000, 0);
        if h.eax >= 0x4000_0010 {
            let t = cpuid(0x4000_0010, 0);
            if t.eax != 0 {
                return Some(u64::from(t.eax) * 1000);
            }
        }
    }
    None
}

fn from_lapic() -> u64 {
    let base = lapic_phys();
    let reg = |off: u64| Mmio32::at_phys(base + off);
    reg(LAPIC_SVR).write(reg(LAPIC_SVR).read() | 0x1ff);
    reg(LAPIC_TIMER_DIVIDE).write(0b1011); // divide by 1
    reg(LAPIC_LVT_TIMER).write(1 << 16 | 0xef); // masked, one-shot
    reg(LAPIC_TIMER_INIT).write(u32::MAX);
    let sample = || {
        let a = rdtsc();
        let c = reg(LAPIC_TIMER_CURRENT).read();
        let b = rdtsc();
        (a / 2 + b / 2, c)
    };
    let (t0, c0) = sample();
    let (mut t1, mut c1) = sample();
    while c0.wrapping_sub(c1) < CALIBRATION_TICKS {
        (t1, c1) = sample();
    }
    reg(LAPIC_TIMER_INIT).write(0);
    let ticks = u64::from(c0.wrapping_sub(c1));
    ((t1 - t0) as u128 * VIRTUAL_APIC_HZ as u128 / ticks as u128) as u64
}

/// TSC ticks per second; determined on first use (a few ms at most).
/// The kernel must have mapped the local APIC page before calling this.
pub fn tsc_hz() -> u64 {
    if let Some(hz) = cpu::tsc_hz() {
        return hz;
    }
    let hz = from_cpuid().unwrap_or_else(from_lapic).max(1);
    TSC_HZ.store(hz, Ordering::Relaxed);
    hz
}
