//! Starting the other CPUs (application processors).
//!
//! CPUs are found in the MP table (Intel MultiProcessor Specification 1.4,
//! chapter 4), which qboot leaves in low memory on microvm and q35. Each AP
//! is started with INIT and STARTUP IPIs (SDM vol. 3A 8.4.4) at a small
//! real-mode trampoline copied to [`TRAMPOLINE`]; the trampoline enters
//! long mode on the boot page tables (which identity-map low memory and map
//! the kernel) and calls `hal_ap_entry` on the stack the kernel provided,
//! which switches to the kernel's page tables and sets the CPU up.

use core::arch::global_asm;
use core::sync::atomic::{AtomicU64, Ordering};

use super::apic;
use super::cpu::{self, spin_cell::Once};
use super::percpu::MAX_CPUS;
use super::phys::{boot_slice, write_phys};

/// Physical address the trampoline is copied to (page aligned, below 1 MiB,
/// the STARTUP IPI vector is its page number). The kernel must keep this
/// page out of its frame allocator.
pub const TRAMPOLINE: u64 = 0x8000;

global_asm!(
    r#"
    .section .rodata.ap_trampoline, "a", @progbits
    .global hal_ap_tramp_start
    .global hal_ap_tramp_end
    .code16
hal_ap_tramp_start:
    cli
    cld
    movw %cs, %ax
    movw %ax, %ds
    movw $(ap_gdtr - hal_ap_tramp_start), %bx
    lgdtl (%bx)
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    .byte 0x66, 0xea
    .long {base} + (ap_prot32 - hal_ap_tramp_start)
    .word 0x08

    .code32
ap_prot32:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movl %cr4, %eax
    orl $(1 << 5), %eax
    movl %eax, %cr4
    movl ${base} + (ap_cr3 - hal_ap_tramp_start), %esi
    movl (%esi), %eax
    movl %eax, %cr3
    movl $0xC0000080, %ecx
    rdmsr
    orl 8(%esi), %eax
    wrmsr
    movl %cr0, %eax
    orl $((1 << 31) | (1 << 16)), %eax
    movl %eax, %cr0
    .byte 0xea
    .long {base} + (ap_long - hal_ap_tramp_start)
    .word 0x18

    .code64
ap_long:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorl %eax, %eax
    movw %ax, %fs
    movw %ax, %gs
    movl ${base} + (ap_stack - hal_ap_tramp_start), %eax
    movq (%rax), %rdx
    movq 8(%rax), %rdi
    movq 24(%rax), %rsi
    movq 32(%rax), %rcx
    movq 16(%rax), %rax
    jmpq *%rax

    .balign 8
ap_gdt:
    .quad 0
    .quad 0x00cf9a000000ffff
    .quad 0x00cf92000000ffff
    .quad 0x00af9a000000ffff
ap_gdtr:
    .word 31
    .long {base} + (ap_gdt - hal_ap_tramp_start)
    .balign 8
ap_cr3:
    .quad 0
ap_efer:
    .quad 0
ap_stack:
    .quad 0
ap_cpu:
    .quad 0
ap_entry:
    .quad 0
ap_ist:
    .quad 0
ap_kernel_cr3:
    .quad 0
hal_ap_tramp_end:
    .code64
"#,
    base = const TRAMPOLINE,
    options(att_syntax),
);

// Runs in the kernel's higher half, still on the boot page tables: switch
// to the kernel's page tables (which map the AP's stack), then call Rust.
// rdi = cpu, rsi = IST top, rdx = stack top, rcx = kernel CR3.
global_asm!(
    r#"
    .section .text.ap_stub, "ax", @progbits
    .global hal_ap_stub
hal_ap_stub:
    mov cr3, rcx
    mov rsp, rdx
    xor ebp, ebp
    call {entry}
    ud2
"#,
    entry = sym hal_ap_entry,
);

extern "C" {
    static hal_ap_tramp_start: u8;
    static hal_ap_tramp_end: u8;
    static boot_pml4: u8;
}

/// Quads of data at the end of the trampoline: boot cr3, efer, stack, cpu,
/// entry stub, ist, kernel cr3.
const DATA_QUADS: u64 = 7;

/// What an AP runs once it is set up (registered by the kernel).
pub type ApMain = fn(cpu: usize) -> !;

static AP_MAIN: Once<ApMain> = Once::new();
static KERNEL_CR3: AtomicU64 = AtomicU64::new(0);
static ALIVE: AtomicU64 = AtomicU64::new(0);

/// APIC IDs of the enabled processors listed in the MP table, BSP first;
/// `None` if there is no MP table.
pub fn processors(out: &mut [u32; MAX_CPUS]) -> Option<usize> {
    let find = |start: u64, len: u64| -> Option<u64> {
        let area = boot_slice(start, len as usize);
        (0..len as usize)
            .step_by(16)
            .find(|&i| area.get(i..i + 4) == Some(b"_MP_"))
            .map(|i| start + i as u64)
    };
    let fp = find(0x9_fc00, 0x400).or_else(|| find(0xf_0000, 0x1_0000))?;
    let fps = boot_slice(fp, 16);
    let table = u64::from(u32::from_le_bytes(fps[4..8].try_into().ok()?));
    if table == 0 || table >= 0x10_0000 {
        return None;
    }
    let hdr = boot_slice(table, 44);
    if &hdr[..4] != b"PCMP" {
        return None;
    }
    let len = u64::from(u16::from_le_bytes([hdr[4], hdr[5]]));
    let count = u16::from_le_bytes([hdr[34], hdr[35]]) as usize;
    if table + len > 0x10_0000 {
        return None;
    }
    let body = boot_slice(table + 44, len.saturating_sub(44) as usize);
    let (mut off, mut n, mut bsp_first) = (0usize, 0usize, None);
    // qboot leaves the entry count at 0; the base table length is reliable.
    let limit = if count == 0 { usize::MAX } else { count };
    for _ in 0..limit {
        let Some(&kind) = body.get(off) else { break };
        if kind > 4 {
            break;
        }
        let size = if kind == 0 { 20 } else { 8 };
        if kind == 0 {
            let Some(e) = body.get(off..off + 20) else {
                break;
            };
            let (id, flags) = (u32::from(e[1]), e[3]);
            if flags & 1 != 0 && n < MAX_CPUS {
                if flags & 2 != 0 {
                    bsp_first = Some(n);
                }
                out[n] = id;
                n += 1;
            }
        }
        off += size;
    }
    if let Some(b) = bsp_first {
        out[..n].swap(0, b);
    }
    Some(n)
}

/// Registers what APs run after set-up; call before [`start_ap`].
pub fn set_ap_main(f: ApMain) {
    AP_MAIN.set(f);
}

extern "C" fn hal_ap_entry(cpu: u64, ist_top: u64) -> ! {
    cpu::init_ap(cpu as usize, ist_top);
    apic::init();
    ALIVE.store(cpu, Ordering::Release);
    match AP_MAIN.get() {
        Some(f) => f(cpu as usize),
        None => loop {
            cpu::halt();
        },
    }
}

/// Starts the CPU with local APIC ID `apic_id` as CPU index `cpu`, on the
/// stack ending at `stack_top` (and `ist_top` for double faults). Waits
/// until it has checked in, or fails after a while.
pub fn start_ap(
    cpu: usize,
    apic_id: u32,
    stack_top: u64,
    ist_top: u64,
) -> Result<(), ApStartError> {
    if cpu == 0 || cpu >= MAX_CPUS {
        return Err(ApStartError::BadIndex);
    }
    let start = core::ptr::addr_of!(hal_ap_tramp_start) as u64;
    let end = core::ptr::addr_of!(hal_ap_tramp_end) as u64;
    // The trampoline's bytes, read through the kernel image mapping.
    let len = (end - start) as usize;
    let mut bytes = [0u8; 512];
    if len > bytes.len() {
        return Err(ApStartError::TrampolineTooBig);
    }
    for (i, b) in bytes[..len].iter_mut().enumerate() {
        // SAFETY: reading the kernel's own read-only trampoline template.
        *b = unsafe { core::ptr::read_volatile((start + i as u64) as *const u8) };
    }
    let boot_cr3 = core::ptr::addr_of!(boot_pml4) as u64;
    KERNEL_CR3.store(cpu::read_cr3() & 0x000f_ffff_ffff_f000, Ordering::Release);
    let efer = cpu::rdmsr(cpu::MSR_EFER) & ((1 << 8) | (1 << 11));
    let data = len - (DATA_QUADS as usize) * 8;
    extern "C" {
        fn hal_ap_stub();
    }
    let entry = hal_ap_stub as *const () as u64;
    let kernel_cr3 = KERNEL_CR3.load(Ordering::Acquire);
    for (i, v) in [
        boot_cr3, efer, stack_top, cpu as u64, entry, ist_top, kernel_cr3,
    ]
    .iter()
    .enumerate()
    {
        bytes[data + i * 8..data + i * 8 + 8].copy_from_slice(&v.to_le_bytes());
    }
    write_phys(TRAMPOLINE, &bytes[..len]);
    super::phys::dma_barrier();
    ALIVE.store(u64::MAX, Ordering::Release);
    apic::send_init(apic_id);
    spin_cycles(200_000);
    for _ in 0..2 {
        apic::send_startup(apic_id, (TRAMPOLINE >> 12) as u8);
        // Up to ~100 ms (at >= 1 GHz) for the AP to check in.
        for _ in 0..1000 {
            if ALIVE.load(Ordering::Acquire) == cpu as u64 {
                return Ok(());
            }
            spin_cycles(100_000);
        }
    }
    Err(ApStartError::NoAnswer)
}

/// Why an application processor did not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApStartError {
    /// CPU index 0 (the BSP) or beyond [`MAX_CPUS`].
    BadIndex,
    /// The trampoline does not fit its buffer (a build problem).
    TrampolineTooBig,
    /// The CPU did not check in after INIT and two STARTUP IPIs.
    NoAnswer,
}

fn spin_cycles(n: u64) {
    let t0 = cpu::rdtsc();
    while cpu::rdtsc().wrapping_sub(t0) < n {
        core::hint::spin_loop();
    }
}
