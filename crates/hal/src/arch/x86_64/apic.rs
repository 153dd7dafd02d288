//! Local APIC and I/O APIC: routing device interrupts, end-of-interrupt,
//! the one-shot timer, and halting until an interrupt arrives.
//!
//! Register layouts follow the Intel SDM vol. 3A ch. 11 (local APIC) and
//! the 82093AA I/O APIC datasheet. The kernel maps both register pages
//! uncached in the direct map before calling [`init`].

use core::arch::asm;

use super::io::Mmio32;

/// Physical address of the I/O APIC on PC-compatible machines (microvm, q35).
pub const IOAPIC_PHYS: u64 = 0xfec0_0000;
/// Vector of the local APIC timer.
pub const TIMER_VECTOR: u8 = 0x20;
/// Vector of spurious interrupts (never acknowledged).
pub const SPURIOUS_VECTOR: u8 = 0xff;

const LAPIC_TPR: u64 = 0x80;
const LAPIC_EOI: u64 = 0xb0;
const LAPIC_SVR: u64 = 0xf0;
const LAPIC_LVT_TIMER: u64 = 0x320;
const LAPIC_TIMER_INIT: u64 = 0x380;
const LAPIC_TIMER_DIVIDE: u64 = 0x3e0;

fn lapic(off: u64) -> Mmio32 {
    Mmio32::at_phys(crate::time::lapic_phys() + off)
}

/// The calling CPU's local APIC ID.
pub fn local_apic_id() -> u32 {
    super::cpu::cpuid(1, 0).ebx >> 24
}

/// Enables the local APIC (spurious vector, accept all priorities).
pub fn init() {
    lapic(LAPIC_TPR).write(0);
    lapic(LAPIC_SVR).write(0x100 | u32::from(SPURIOUS_VECTOR));
    lapic(LAPIC_TIMER_DIVIDE).write(0b1011);
    lapic(LAPIC_LVT_TIMER).write(1 << 16 | u32::from(TIMER_VECTOR));
}

/// Routes legacy IRQ `irq` (I/O APIC pin, edge triggered, active high) to
/// `vector` on the boot CPU.
pub fn route_irq(irq: u8, vector: u8) {
    let sel = Mmio32::at_phys(IOAPIC_PHYS);
    let win = Mmio32::at_phys(IOAPIC_PHYS + 0x10);
    let reg = 0x10 + 2 * u32::from(irq);
    sel.write(reg + 1);
    win.write(0); // destination: APIC ID 0
    sel.write(reg);
    win.write(u32::from(vector)); // fixed, physical, edge, high, unmasked
}

const LAPIC_ICR_LOW: u64 = 0x300;
const LAPIC_ICR_HIGH: u64 = 0x310;

/// Sends a fixed interrupt `vector` to the CPU with local APIC ID `apic_id`.
pub fn send_ipi(apic_id: u32, vector: u8) {
    lapic(LAPIC_ICR_HIGH).write(apic_id << 24);
    lapic(LAPIC_ICR_LOW).write(u32::from(vector) | 1 << 14);
    while lapic(LAPIC_ICR_LOW).read() & (1 << 12) != 0 {
        core::hint::spin_loop();
    }
}

/// Sends INIT (assert) to `apic_id` (SDM vol. 3A 8.4.4.1).
pub fn send_init(apic_id: u32) {
    lapic(LAPIC_ICR_HIGH).write(apic_id << 24);
    lapic(LAPIC_ICR_LOW).write(0x4500);
    while lapic(LAPIC_ICR_LOW).read() & (1 << 12) != 0 {
        core::hint::spin_loop();
    }
}

/// Sends a STARTUP IPI: the AP starts in real mode at `page << 12`.
pub fn send_startup(apic_id: u32, page: u8) {
    lapic(LAPIC_ICR_HIGH).write(apic_id << 24);
    lapic(LAPIC_ICR_LOW).write(0x4600 | u32::from(page));
    while lapic(LAPIC_ICR_LOW).read() & (1 << 12) != 0 {
        core::hint::spin_loop();
    }
}

/// Acknowledges the interrupt being handled.
pub fn eoi() {
    lapic(LAPIC_EOI).write(0);
}

/// Arms the one-shot timer to fire after `ticks` APIC ticks (0 disarms).
pub fn arm_timer(ticks: u32) {
    lapic(LAPIC_LVT_TIMER).write(u32::from(TIMER_VECTOR));
    lapic(LAPIC_TIMER_INIT).write(ticks);
}

/// Enables interrupts, halts until one arrives (and is handled), then
/// disables them again. Call with interrupts disabled after checking the
/// wake-up condition: `sti` takes effect only after `hlt` starts, so an
/// interrupt that arrives in between still ends the halt.
pub fn wait_for_interrupt() {
    // SAFETY: the kernel runs with interrupts disabled; enabling them just
    // for the halt lets registered handlers run; they leave no state behind.
    unsafe { asm!("sti", "hlt", "cli", options(nomem, nostack)) };
}
