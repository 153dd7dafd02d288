//! PVH entry: the 32-bit trampoline that QEMU (or any PVH loader) jumps to.
//!
//! The loader finds the entry through the `.note.Xen` ELF note
//! (XEN_ELFNOTE_PHYS32_ENTRY = 18) and enters in 32-bit protected mode,
//! paging off, no stack, with EBX holding the physical address of
//! `hvm_start_info` (xen/include/public/arch-x86/hvm/start_info.h).
//!
//! The trampoline records the TSC (the boot chart's "kernel entry"), builds
//! boot page tables that map the first 1 GiB three times (identity, the
//! direct map at [`super::paging::PHYS_OFFSET`], and the kernel image window
//! at `KERNEL_BASE`), enters long mode and calls [`hal_boot_entry`] on the
//! boot stack in the higher half. The kernel replaces these tables as soon as
//! it knows the memory map.

use core::arch::global_asm;

global_asm!(
    r#"
    .section .note.Xen, "a", @note
    .balign 4
    .long 4
    .long 4
    .long 18
    .asciz "Xen"
    .long pvh_start

    .section .boot.text, "ax", @progbits
    .code32
    .global pvh_start
pvh_start:
    cli
    cld
    mov [boot_start_info], ebx
    rdtsc
    mov [boot_tsc], eax
    mov [boot_tsc + 4], edx

    /* Page directory: 512 x 2 MiB identity pages = the first 1 GiB. */
    xor ecx, ecx
1:
    mov eax, ecx
    shl eax, 21
    or eax, 0x83
    mov [boot_pd + ecx * 8], eax
    mov dword ptr [boot_pd + ecx * 8 + 4], 0
    inc ecx
    cmp ecx, 512
    jne 1b

    mov eax, offset boot_pdpt_low
    or eax, 3
    mov [boot_pml4], eax
    mov [boot_pml4 + 256 * 8], eax
    mov eax, offset boot_pdpt_high
    or eax, 3
    mov [boot_pml4 + 511 * 8], eax
    mov eax, offset boot_pd
    or eax, 3
    mov [boot_pdpt_low], eax
    mov [boot_pdpt_high + 510 * 8], eax

    mov eax, cr4
    or eax, 1 << 5
    mov cr4, eax
    mov eax, offset boot_pml4
    mov cr3, eax

    /* EFER.LME, plus EFER.NXE when the CPU has NX. */
    mov esi, 1 << 8
    mov eax, 0x80000001
    cpuid
    test edx, 1 << 20
    jz 2f
    or esi, 1 << 11
2:
    mov ecx, 0xC0000080
    rdmsr
    or eax, esi
    wrmsr

    mov eax, cr0
    or eax, (1 << 31) | (1 << 16) | 1
    mov cr0, eax

    lgdt [boot_gdtr]
    mov eax, offset pvh_long
    push 0x08
    push eax
    retf

    .code64
pvh_long:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    movabs rsp, offset {stack} + {stack_len}
    xor ebp, ebp
    mov edi, dword ptr [rip + boot_start_info]
    mov rsi, qword ptr [rip + boot_tsc]
    movabs rax, offset {entry}
    call rax
3:
    hlt
    jmp 3b

    .section .boot.data, "aw", @progbits
    .balign 8
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff
    .quad 0x00cf92000000ffff
boot_gdtr:
    .word 23
    .long boot_gdt
boot_start_info:
    .long 0
    .balign 8
boot_tsc:
    .quad 0

    .section .boot.bss, "aw", @nobits
    .balign 4096
    .global boot_pml4
boot_pml4:
    .skip 4096
boot_pdpt_low:
    .skip 4096
boot_pdpt_high:
    .skip 4096
boot_pd:
    .skip 4096
"#,
    stack = sym super::stack::BOOT_STACK_REGION,
    stack_len = const super::stack::GUARD_LEN + super::stack::BOOT_STACK_LEN,
    entry = sym hal_boot_entry,
);

/// First Rust code: runs in long mode on the boot stack, with the boot page
/// tables. Sets up the CPU, parses the boot information and hands over to the
/// kernel's entry point (registered with [`crate::entry!`]).
extern "C" fn hal_boot_entry(start_info_phys: u32, boot_tsc: u64) -> ! {
    super::cpu::init_bsp();
    let info = crate::boot_info::BootInfo::parse(u64::from(start_info_phys), boot_tsc);
    extern "Rust" {
        fn __oxv_kernel_main(info: crate::boot_info::BootInfo) -> !;
    }
    // SAFETY: the kernel binary defines `__oxv_kernel_main` through the
    // `entry!` macro with exactly this signature; the linker fails otherwise.
    unsafe { __oxv_kernel_main(info) }
}
