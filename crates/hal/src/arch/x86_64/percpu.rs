//! Per-CPU data reached through GS while in the kernel.
//!
//! The trap and syscall entry code addresses fields by fixed offsets
//! (`PERCPU_*` below), so the layout is `repr(C)` and checked by const asserts.

use core::cell::UnsafeCell;

#[repr(C)]
pub(crate) struct PerCpu {
    self_ptr: u64,
    /// Kernel RSP saved by `hal_enter_user`, restored on the next trap.
    kernel_rsp: u64,
    /// Top of the trap-frame part of the running `UserContext`.
    ctx_top: u64,
    /// Scratch slot for the user RSP in the syscall entry.
    user_rsp: u64,
    cpu_id: u64,
}

pub(crate) const PERCPU_KERNEL_RSP: usize = 8;
pub(crate) const PERCPU_CTX_TOP: usize = 16;
pub(crate) const PERCPU_USER_RSP: usize = 24;

const _: () = assert!(core::mem::offset_of!(PerCpu, kernel_rsp) == PERCPU_KERNEL_RSP);
const _: () = assert!(core::mem::offset_of!(PerCpu, ctx_top) == PERCPU_CTX_TOP);
const _: () = assert!(core::mem::offset_of!(PerCpu, user_rsp) == PERCPU_USER_RSP);

struct PerCpuCell(UnsafeCell<PerCpu>);

// SAFETY: each CPU only touches its own PerCpu (through GS) with interrupts off.
unsafe impl Sync for PerCpuCell {}

static BSP: PerCpuCell = PerCpuCell(UnsafeCell::new(PerCpu {
    self_ptr: 0,
    kernel_rsp: 0,
    ctx_top: 0,
    user_rsp: 0,
    cpu_id: 0,
}));

pub(crate) fn init_bsp() {
    let p = BSP.0.get();
    // SAFETY: boot is single-threaded; nobody else references BSP yet.
    unsafe { (*p).self_ptr = p as u64 };
    super::cpu::wrmsr(super::cpu::MSR_GS_BASE, p as u64);
    super::cpu::wrmsr(super::cpu::MSR_KERNEL_GS_BASE, 0);
}

/// Index of the running CPU.
pub fn cpu_id() -> usize {
    // SAFETY: GS points at this CPU's PerCpu once init_bsp ran; cpu_id is
    // written only at init.
    unsafe { (*BSP.0.get()).cpu_id as usize }
}
