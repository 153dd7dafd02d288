//! IDT, trap entry stubs and kernel-mode trap handling.
//!
//! Every vector has a 16-byte stub that pushes a dummy error code where the
//! CPU does not push one, then the vector number, and jumps to
//! `trap_common`. Traps from user mode land in the running `UserContext`
//! (TSS.RSP0 points at its end) and return from `UserContext::run`; traps
//! from kernel mode build a [`KernelTrapFrame`] on the kernel stack and call
//! `hal_kernel_trap`: page faults in the user-copy routines are resolved or
//! turned into EFAULT, interrupts go to the registered hook, anything else is
//! a kernel panic with vector, RIP, CR2, error code and a backtrace.

use core::arch::{asm, global_asm};
use core::cell::UnsafeCell;

use super::cpu::spin_cell::Once;
use super::percpu::PERCPU_KERNEL_RSP;

global_asm!(
    r#"
    .section .text.traps, "ax", @progbits
    .balign 16
    .global hal_trap_stubs
hal_trap_stubs:
    .set vec, 0
    .rept 256
    .balign 16
    .if (vec == 8) || (vec == 10) || (vec == 11) || (vec == 12) || (vec == 13) || (vec == 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    .else
    push 0
    .endif
    push vec
    jmp hal_trap_common
    .set vec, vec + 1
    .endr

hal_trap_common:
    test byte ptr [rsp + 24], 3
    jnz 1f
"#,
    push_gprs!(),
    r#"
    mov rdi, rsp
    cld
    call {kernel_trap}
"#,
    pop_gprs!(),
    r#"
    add rsp, 16
    iretq
1:
    swapgs
"#,
    push_gprs!(),
    r#"
    mov rsp, gs:[{kernel_rsp}]
"#,
    pop_callee_saved!(),
    r#"
    ret
"#,
    kernel_trap = sym hal_kernel_trap,
    kernel_rsp = const PERCPU_KERNEL_RSP,
);

/// Registers saved on a trap taken in kernel mode.
#[repr(C)]
#[derive(Debug)]
pub struct KernelTrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    pub vector: u64,
    pub error_code: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

#[repr(C, align(16))]
struct Idt(UnsafeCell<[[u64; 2]; 256]>);

// SAFETY: written once during single-threaded boot.
unsafe impl Sync for Idt {}

static IDT: Idt = Idt(UnsafeCell::new([[0; 2]; 256]));

pub(crate) fn init() {
    extern "C" {
        static hal_trap_stubs: u8;
    }
    let base = core::ptr::addr_of!(hal_trap_stubs) as u64;
    // SAFETY: boot is single-threaded; the IDT is not loaded yet.
    let idt = unsafe { &mut *IDT.0.get() };
    for (v, entry) in idt.iter_mut().enumerate() {
        let handler = base + (v as u64) * 16;
        let ist: u64 = if matches!(v, 2 | 8 | 18) { 1 } else { 0 };
        let dpl: u64 = if v == 3 { 3 } else { 0 };
        let type_attr: u64 = 0x80 | (dpl << 5) | 0xe;
        entry[0] = (handler & 0xffff)
            | (u64::from(super::gdt::KERNEL_CS) << 16)
            | (ist << 32)
            | (type_attr << 40)
            | (((handler >> 16) & 0xffff) << 48);
        entry[1] = handler >> 32;
    }
}

/// Loads the (shared) IDT on the calling CPU.
pub(crate) fn load() {
    #[repr(C, packed)]
    struct Pointer {
        limit: u16,
        base: u64,
    }
    let ptr = Pointer {
        limit: (256 * 16 - 1) as u16,
        base: IDT.0.get() as u64,
    };
    // SAFETY: the IDT is static, fully initialised and its stubs exist.
    unsafe { asm!("lidt [{}]", in(reg) &ptr, options(nostack)) };
}

/// Called for a page fault in kernel mode on a user address inside a
/// user-copy routine: returns true if the page was made present (retry).
pub type UserFaultHook = fn(addr: u64, write: bool) -> bool;
/// Called for an interrupt vector (>= 32), in kernel or user mode.
pub type IrqHook = fn(vector: u8);

static USER_FAULT_HOOK: Once<UserFaultHook> = Once::new();
static IRQ_HOOK: Once<IrqHook> = Once::new();

/// Registers the handler for page faults the kernel takes on user memory
/// (demand paging while copying to or from the program).
pub fn set_user_fault_hook(hook: UserFaultHook) {
    USER_FAULT_HOOK.set(hook);
}

/// Registers the interrupt handler.
pub fn set_irq_hook(hook: IrqHook) {
    IRQ_HOOK.set(hook);
}

/// Dispatches an interrupt vector to the registered hook.
pub(crate) fn dispatch_irq(vector: u8) {
    if let Some(h) = IRQ_HOOK.get() {
        h(vector);
    }
}

/// Human name of an exception vector.
pub fn exception_name(v: u64) -> &'static str {
    const NAMES: [&str; 22] = [
        "divide error",
        "debug",
        "NMI",
        "breakpoint",
        "overflow",
        "bound range",
        "invalid opcode",
        "device not available",
        "double fault",
        "coprocessor overrun",
        "invalid TSS",
        "segment not present",
        "stack fault",
        "general protection",
        "page fault",
        "reserved",
        "x87 FP error",
        "alignment check",
        "machine check",
        "SIMD FP error",
        "virtualization",
        "control protection",
    ];
    NAMES
        .get(v as usize)
        .copied()
        .unwrap_or("unknown exception")
}

extern "C" fn hal_kernel_trap(f: &mut KernelTrapFrame) {
    if f.vector >= 32 {
        dispatch_irq(f.vector as u8);
        return;
    }
    if f.vector == 14 {
        let addr = super::cpu::read_cr2();
        if let Some(fixup) = super::usercopy::fixup_for(f.rip) {
            if addr < crate::USER_END {
                let write = f.error_code & 2 != 0;
                if let Some(hook) = USER_FAULT_HOOK.get() {
                    if hook(addr, write) {
                        return;
                    }
                }
            }
            f.rip = fixup;
            return;
        }
        crate::backtrace::set_trap_origin(f.rip, f.rbp);
        panic!(
            "CPU exception: page fault (vector 14) at rip {:#x}, cr2 {:#x}, error code {:#x}",
            f.rip, addr, f.error_code
        );
    }
    crate::backtrace::set_trap_origin(f.rip, f.rbp);
    panic!(
        "CPU exception: {} (vector {}) at rip {:#x}, cr2 {:#x}, error code {:#x}, rsp {:#x}",
        exception_name(f.vector),
        f.vector,
        f.rip,
        super::cpu::read_cr2(),
        f.error_code,
        f.rsp
    );
}
