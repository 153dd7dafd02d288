//! GDT and TSS.
//!
//! Layout (fixed, the `syscall`/`sysret` MSR encoding depends on it):
//! 0x08 kernel code, 0x10 kernel data, 0x18 user data, 0x20 user code,
//! 0x28 TSS (16 bytes). User selectors carry RPL 3: CS 0x23, SS 0x1b.
//! The TSS holds RSP0 (where the CPU puts the trap frame when user code is
//! interrupted: the current `UserContext`) and IST1 (double fault / NMI).

use core::arch::asm;
use core::cell::UnsafeCell;

pub(crate) const KERNEL_CS: u16 = 0x08;
pub(crate) const KERNEL_DS: u16 = 0x10;
/// User code selector (RPL 3).
pub const USER_CS: u16 = 0x23;
/// User data/stack selector (RPL 3).
pub const USER_SS: u16 = 0x1b;
const TSS_SEL: u16 = 0x28;

#[repr(C, packed(4))]
struct Tss {
    _r0: u32,
    rsp: [u64; 3],
    _r1: u64,
    ist: [u64; 7],
    _r2: u64,
    _r3: u16,
    iomap_base: u16,
}

struct Tables {
    gdt: UnsafeCell<[u64; 7]>,
    tss: UnsafeCell<Tss>,
}

// SAFETY: each CPU's tables are written by that CPU only: at its
// bring-up, then RSP0 before entering user mode (with interrupts off).
unsafe impl Sync for Tables {}

#[allow(clippy::declare_interior_mutable_const)]
const TABLES_INIT: Tables = Tables {
    gdt: UnsafeCell::new([
        0,
        0x00af_9a00_0000_ffff, // kernel code 64
        0x00cf_9200_0000_ffff, // kernel data
        0x00cf_f200_0000_ffff, // user data (DPL 3)
        0x00af_fa00_0000_ffff, // user code 64 (DPL 3)
        0,
        0,
    ]),
    tss: UnsafeCell::new(Tss {
        _r0: 0,
        rsp: [0; 3],
        _r1: 0,
        ist: [0; 7],
        _r2: 0,
        _r3: 0,
        iomap_base: core::mem::size_of::<Tss>() as u16,
    }),
};

static TABLES: [Tables; super::percpu::MAX_CPUS] = [TABLES_INIT; super::percpu::MAX_CPUS];

#[repr(C, packed)]
struct Pointer {
    limit: u16,
    base: u64,
}

/// Loads CPU `cpu`'s GDT and TSS; `ist_top` is its double-fault stack.
pub(crate) fn init(cpu: usize, ist_top: u64) {
    let t = &TABLES[cpu];
    let tss_addr = t.tss.get() as u64;
    let limit = (core::mem::size_of::<Tss>() - 1) as u64;
    let low = (limit & 0xffff)
        | ((tss_addr & 0xff_ffff) << 16)
        | (0x89 << 40)
        | (((limit >> 16) & 0xf) << 48)
        | (((tss_addr >> 24) & 0xff) << 56);
    let high = tss_addr >> 32;
    // SAFETY: only CPU `cpu` touches its tables, and it is not using them yet.
    unsafe {
        let gdt = &mut *t.gdt.get();
        gdt[5] = low;
        gdt[6] = high;
        (*t.tss.get()).ist[0] = ist_top;
    }
    let ptr = Pointer {
        limit: (core::mem::size_of::<[u64; 7]>() - 1) as u16,
        base: t.gdt.get() as u64,
    };
    // SAFETY: the GDT is static and valid; reloading CS via a far return and
    // the data segments with valid selectors keeps the kernel running.
    unsafe {
        asm!(
            "lgdt [{ptr}]",
            "push {cs}",
            "lea {tmp}, [rip + 2f]",
            "push {tmp}",
            "retfq",
            "2:",
            "mov ds, {ds:x}",
            "mov es, {ds:x}",
            "mov ss, {ds:x}",
            "ltr {tss:x}",
            ptr = in(reg) &ptr,
            cs = const KERNEL_CS as u64,
            tmp = out(reg) _,
            ds = in(reg) KERNEL_DS as u64,
            tss = in(reg) TSS_SEL as u64,
        );
    }
}

/// Sets TSS.RSP0: where the CPU builds the trap frame on a user->kernel trap.
pub(crate) fn set_rsp0(rsp0: u64) {
    // SAFETY: only the owning CPU writes its TSS, with interrupts disabled
    // (called right before entering user mode).
    unsafe {
        let tss = TABLES[super::percpu::cpu_id()].tss.get();
        core::ptr::addr_of_mut!((*tss).rsp).write_unaligned([rsp0, 0, 0]);
    }
}
