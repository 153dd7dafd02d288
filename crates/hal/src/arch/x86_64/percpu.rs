//! Per-CPU data reached through GS while in the kernel.
//!
//! The trap and syscall entry code addresses fields by fixed offsets
//! (`PERCPU_*` below), so the layout is `repr(C)` and checked by const
//! asserts. One slot per possible CPU, in a static array.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU64, Ordering};

/// Most CPUs the hal supports.
pub const MAX_CPUS: usize = 64;

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
const PERCPU_CPU_ID: usize = 32;

const _: () = assert!(core::mem::offset_of!(PerCpu, kernel_rsp) == PERCPU_KERNEL_RSP);
const _: () = assert!(core::mem::offset_of!(PerCpu, ctx_top) == PERCPU_CTX_TOP);
const _: () = assert!(core::mem::offset_of!(PerCpu, user_rsp) == PERCPU_USER_RSP);
const _: () = assert!(core::mem::offset_of!(PerCpu, cpu_id) == PERCPU_CPU_ID);

struct PerCpuCell(UnsafeCell<PerCpu>);

// SAFETY: each CPU only touches its own slot (through GS) with interrupts
// off; a slot is initialised once by its CPU before GS points at it.
unsafe impl Sync for PerCpuCell {}

#[allow(clippy::declare_interior_mutable_const)]
const SLOT: PerCpuCell = PerCpuCell(UnsafeCell::new(PerCpu {
    self_ptr: 0,
    kernel_rsp: 0,
    ctx_top: 0,
    user_rsp: 0,
    cpu_id: 0,
}));

static SLOTS: [PerCpuCell; MAX_CPUS] = [SLOT; MAX_CPUS];

/// Local APIC ID of each CPU index (written at bring-up).
pub(crate) static APIC_IDS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// Points GS at slot `cpu`; called once on each CPU.
pub(crate) fn init(cpu: usize) {
    let p = SLOTS[cpu].0.get();
    // SAFETY: slot `cpu` belongs to the calling CPU, which initialises it
    // before anything reads it through GS.
    unsafe {
        (*p).self_ptr = p as u64;
        (*p).cpu_id = cpu as u64;
    }
    super::cpu::wrmsr(super::cpu::MSR_GS_BASE, p as u64);
    super::cpu::wrmsr(super::cpu::MSR_KERNEL_GS_BASE, 0);
    APIC_IDS[cpu].store(u64::from(super::apic::local_apic_id()), Ordering::Relaxed);
    // The vDSO's getcpu reads the CPU index back with rdtscp/rdpid.
    let f = super::cpu::features();
    if f.rdtscp || f.rdpid {
        super::cpu::wrmsr(super::cpu::MSR_TSC_AUX, cpu as u64);
    }
}

/// Index of the running CPU.
pub fn cpu_id() -> usize {
    let id: u64;
    // SAFETY: GS points at this CPU's slot in kernel mode once `init` ran;
    // the read has no side effects.
    unsafe {
        core::arch::asm!("mov {}, gs:[{off}]", out(reg) id, off = const PERCPU_CPU_ID, options(nostack, readonly))
    };
    id as usize
}

/// Local APIC ID of CPU `cpu`.
pub fn apic_id_of(cpu: usize) -> u32 {
    APIC_IDS
        .get(cpu)
        .map_or(0, |a| a.load(Ordering::Relaxed) as u32)
}
