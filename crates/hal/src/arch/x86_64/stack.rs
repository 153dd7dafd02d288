//! The boot stack, with a guard page below it.
//!
//! The kernel leaves the guard page unmapped when it builds its page tables,
//! so an overflow of the boot stack faults (a double fault on the IST stack,
//! reported as a kernel panic) instead of silently corrupting `.bss`.

use core::cell::UnsafeCell;

/// Usable size of the boot stack.
pub const BOOT_STACK_LEN: usize = 64 * 1024;
/// Size of the guard area at the bottom of the boot stack region.
pub const GUARD_LEN: usize = 4096;

#[repr(C, align(4096))]
pub struct StackRegion<const N: usize>(UnsafeCell<[u8; N]>);

// SAFETY: the region is only ever used as raw stack memory by the CPU; Rust
// code never forms references into it.
unsafe impl<const N: usize> Sync for StackRegion<N> {}

impl<const N: usize> StackRegion<N> {
    pub const fn new() -> Self {
        Self(UnsafeCell::new([0; N]))
    }

    pub fn base(&self) -> u64 {
        self.0.get() as u64
    }

    pub fn top(&self) -> u64 {
        self.base() + N as u64
    }
}

#[link_section = ".bss.boot_stack"]
#[no_mangle]
pub static BOOT_STACK_REGION: StackRegion<{ GUARD_LEN + BOOT_STACK_LEN }> = StackRegion::new();

/// Double-fault and NMI stack (IST1): a known-good stack for reporting
/// kernel stack overflows.
#[link_section = ".bss.boot_stack"]
pub static IST_STACK: StackRegion<{ 16 * 1024 }> = StackRegion::new();

/// Virtual address of the boot stack's guard page.
pub fn boot_stack_guard() -> u64 {
    BOOT_STACK_REGION.base()
}
