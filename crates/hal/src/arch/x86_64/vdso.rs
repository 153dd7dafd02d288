//! The vDSO's machine code (man 7 vdso): `clock_gettime`, `gettimeofday`,
//! `time`, `getcpu` and `clock_getres` for user mode, without a system call.
//!
//! The code is assembled into the kernel image as plain bytes
//! (`.rodata.oxv_vdso`, never executed by the kernel); the kernel wraps
//! them into an ELF image with `oxv_vdso::build`, which puts them at
//! `oxv_vdso::TEXT_OFFSET`, and maps that image into each program right
//! after the vvar page. The code is position independent and reaches the
//! vvar page RIP-relative at the fixed distance `TEXT_OFFSET + vvar::SIZE`
//! below its own start; field offsets come from `oxv_vdso::vvar`.
//!
//! Clocks: a seqlock read of the vvar page and `lfence; rdtsc`, then
//! `ns = ((tsc - boot_tsc) * mult) >> shift` (128-bit `mul`, `shrd`) plus
//! the REALTIME or TAI offset. Clock ids the vDSO does not handle, a
//! clock mode other than TSC, or a negative result make the real `syscall`
//! (whose raw return value, 0 or -errno, is returned as Linux's vDSO
//! does). `getcpu` reads `IA32_TSC_AUX` (`node << 12 | cpu`, written on
//! every CPU by `percpu::init`) with `rdpid` or `rdtscp`, or makes the
//! system call, as the vvar page says. Each entry starts with `endbr64`
//! (a no-op without CET), like Linux's.

use core::arch::global_asm;

use oxv_vdso::vvar;
use oxv_vdso::{Entry, Func};

global_asm!(
    r#"
    .section .rodata.oxv_vdso, "a", @progbits
    .balign 16
    .global hal_vdso_start
    .global hal_vdso_end
    .global hal_vdso_table
hal_vdso_start:
.Lvdso_start:

/* Internal: r11d = a handled clock id. Returns rax = ns with CF clear, or
   CF set when the vDSO cannot read the clock (the caller makes the system
   call). Clobbers rax, rcx, rdx, r8, r9, r10; keeps rdi, rsi, r11. */
.Lvdso_ns:
    lea r8, [rip + .Lvdso_start - {vvar_dist}]
.Lvdso_ns_retry:
    mov r9, qword ptr [r8 + {seq}]
    test r9d, 1
    jnz .Lvdso_ns_busy
    cmp qword ptr [r8 + {clock_mode}], {mode_tsc}
    jne .Lvdso_ns_fail
    xor r10d, r10d
    mov eax, {realtime_clocks}
    bt eax, r11d
    jnc .Lvdso_ns_not_real
    mov r10, qword ptr [r8 + {realtime_offset}]
    jmp .Lvdso_ns_read
.Lvdso_ns_not_real:
    cmp r11d, {tai_clock}
    jne .Lvdso_ns_read
    mov r10, qword ptr [r8 + {tai_offset}]
.Lvdso_ns_read:
    lfence
    rdtsc
    shl rdx, 32
    or rax, rdx
    sub rax, qword ptr [r8 + {boot_tsc}]
    jae .Lvdso_ns_scale
    xor eax, eax
.Lvdso_ns_scale:
    mul qword ptr [r8 + {mult}]
    mov ecx, dword ptr [r8 + {shift}]
    shrd rax, rdx, cl
    add rax, r10
    cmp r9, qword ptr [r8 + {seq}]
    jne .Lvdso_ns_retry
    /* test clears CF; a negative time goes to the system call. */
    test rax, rax
    js .Lvdso_ns_fail
    ret
.Lvdso_ns_busy:
    pause
    jmp .Lvdso_ns_retry
.Lvdso_ns_fail:
    stc
    ret

/* int clock_gettime(clockid_t edi, struct timespec *rsi) */
    .balign 16
.Lvdso_cgt:
    endbr64
    cmp edi, 31
    ja .Lvdso_cgt_sys
    mov eax, {handled}
    bt eax, edi
    jnc .Lvdso_cgt_sys
    mov r11d, edi
    call .Lvdso_ns
    jc .Lvdso_cgt_sys
    xor edx, edx
    mov ecx, 1000000000
    div rcx
    mov qword ptr [rsi], rax
    mov qword ptr [rsi + 8], rdx
    xor eax, eax
    ret
.Lvdso_cgt_sys:
    mov eax, 228
    syscall
    ret
.Lvdso_cgt_end:

/* int gettimeofday(struct timeval *rdi, struct timezone *rsi) */
    .balign 16
.Lvdso_gtod:
    endbr64
    test rdi, rdi
    jz .Lvdso_gtod_tz
    xor r11d, r11d
    call .Lvdso_ns
    jc .Lvdso_gtod_sys
    xor edx, edx
    mov ecx, 1000
    div rcx
    xor edx, edx
    mov ecx, 1000000
    div rcx
    mov qword ptr [rdi], rax
    mov qword ptr [rdi + 8], rdx
.Lvdso_gtod_tz:
    test rsi, rsi
    jz .Lvdso_gtod_done
    mov qword ptr [rsi], 0
.Lvdso_gtod_done:
    xor eax, eax
    ret
.Lvdso_gtod_sys:
    mov eax, 96
    syscall
    ret
.Lvdso_gtod_end:

/* time_t time(time_t *rdi) */
    .balign 16
.Lvdso_time:
    endbr64
    xor r11d, r11d
    call .Lvdso_ns
    jc .Lvdso_time_sys
    xor edx, edx
    mov ecx, 1000000000
    div rcx
    test rdi, rdi
    jz .Lvdso_time_done
    mov qword ptr [rdi], rax
.Lvdso_time_done:
    ret
.Lvdso_time_sys:
    mov eax, 201
    syscall
    ret
.Lvdso_time_end:

/* int getcpu(unsigned *rdi cpu, unsigned *rsi node, void *rdx cache) */
    .balign 16
.Lvdso_getcpu:
    endbr64
    lea r8, [rip + .Lvdso_start - {vvar_dist}]
    mov rax, qword ptr [r8 + {getcpu_mode}]
    cmp rax, {getcpu_rdpid}
    je .Lvdso_getcpu_rdpid
    cmp rax, {getcpu_rdtscp}
    jne .Lvdso_getcpu_sys
    rdtscp
    jmp .Lvdso_getcpu_store
.Lvdso_getcpu_rdpid:
    rdpid rcx
.Lvdso_getcpu_store:
    test rdi, rdi
    jz .Lvdso_getcpu_node
    mov eax, ecx
    and eax, 0xfff
    mov dword ptr [rdi], eax
.Lvdso_getcpu_node:
    test rsi, rsi
    jz .Lvdso_getcpu_done
    shr ecx, 12
    mov dword ptr [rsi], ecx
.Lvdso_getcpu_done:
    xor eax, eax
    ret
.Lvdso_getcpu_sys:
    mov eax, 309
    syscall
    ret
.Lvdso_getcpu_end:

/* int clock_getres(clockid_t edi, struct timespec *rsi) */
    .balign 16
.Lvdso_getres:
    endbr64
    cmp edi, 31
    ja .Lvdso_getres_sys
    mov eax, {handled}
    bt eax, edi
    jnc .Lvdso_getres_sys
    test rsi, rsi
    jz .Lvdso_getres_done
    lea r8, [rip + .Lvdso_start - {vvar_dist}]
    mov rax, qword ptr [r8 + {hres_res}]
    mov ecx, {coarse_clocks}
    bt ecx, edi
    jnc .Lvdso_getres_store
    mov rax, qword ptr [r8 + {coarse_res}]
.Lvdso_getres_store:
    mov qword ptr [rsi], 0
    mov qword ptr [rsi + 8], rax
.Lvdso_getres_done:
    xor eax, eax
    ret
.Lvdso_getres_sys:
    mov eax, 229
    syscall
    ret
.Lvdso_getres_end:
hal_vdso_end:

/* Entry offset and size of each function, in oxv_vdso::Func::ALL order. */
    .balign 4
hal_vdso_table:
    .long .Lvdso_cgt - .Lvdso_start, .Lvdso_cgt_end - .Lvdso_cgt
    .long .Lvdso_gtod - .Lvdso_start, .Lvdso_gtod_end - .Lvdso_gtod
    .long .Lvdso_time - .Lvdso_start, .Lvdso_time_end - .Lvdso_time
    .long .Lvdso_getcpu - .Lvdso_start, .Lvdso_getcpu_end - .Lvdso_getcpu
    .long .Lvdso_getres - .Lvdso_start, .Lvdso_getres_end - .Lvdso_getres
"#,
    vvar_dist = const oxv_vdso::TEXT_OFFSET + vvar::SIZE,
    seq = const vvar::SEQ,
    clock_mode = const vvar::CLOCK_MODE,
    mode_tsc = const vvar::CLOCK_MODE_TSC,
    boot_tsc = const vvar::BOOT_TSC,
    mult = const vvar::MULT,
    shift = const vvar::SHIFT,
    realtime_offset = const vvar::REALTIME_OFFSET,
    tai_offset = const vvar::TAI_OFFSET,
    hres_res = const vvar::HRES_RES,
    coarse_res = const vvar::COARSE_RES,
    getcpu_mode = const vvar::GETCPU_MODE,
    getcpu_rdtscp = const vvar::GETCPU_RDTSCP,
    getcpu_rdpid = const vvar::GETCPU_RDPID,
    handled = const vvar::HANDLED_CLOCKS,
    realtime_clocks = const vvar::REALTIME_CLOCKS,
    tai_clock = const vvar::TAI_CLOCK,
    coarse_clocks = const vvar::COARSE_CLOCKS,
);

extern "C" {
    static hal_vdso_start: u8;
    static hal_vdso_end: u8;
    static hal_vdso_table: [u32; 2 * Func::ALL.len()];
}

/// The vDSO code blob and its entry points, for `oxv_vdso::build`.
#[derive(Debug, Clone, Copy)]
pub struct VdsoCode {
    /// Position-independent code; must be placed at `oxv_vdso::TEXT_OFFSET`
    /// of an image mapped right after the vvar page.
    pub code: &'static [u8],
    /// Every function of `oxv_vdso::Func::ALL`.
    pub entries: [Entry; Func::ALL.len()],
}

/// The vDSO's machine code.
pub fn vdso_code() -> VdsoCode {
    let start = core::ptr::addr_of!(hal_vdso_start);
    let end = core::ptr::addr_of!(hal_vdso_end) as usize;
    let len = end - start as usize;
    // SAFETY: the symbols delimit the read-only `.rodata.oxv_vdso` bytes
    // assembled above (end after start, same section), which live for the
    // kernel's lifetime and are never written.
    let code = unsafe { core::slice::from_raw_parts(start, len) };
    // SAFETY: the table is ten `.long`s in the same read-only section.
    let table = unsafe { core::ptr::addr_of!(hal_vdso_table).read() };
    let entries = core::array::from_fn(|i| Entry {
        func: Func::ALL[i],
        offset: table[2 * i],
        size: table[2 * i + 1],
    });
    VdsoCode { code, entries }
}
