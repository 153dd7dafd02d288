//! Running user code: [`UserContext::run`] and the `syscall` entry.
//!
//! User mode is entered like a function call (the model of Asterinas and
//! rCore): `run` saves the kernel's callee-saved registers and stack pointer
//! in per-CPU data, loads the program's registers from the context and
//! `iretq`s. The next `syscall`, exception or interrupt stores the program's
//! registers back into the same context (TSS.RSP0 and the syscall entry both
//! point the stack at its trap-frame end) and returns from `run` with the
//! reason in [`Trap`].

use core::arch::global_asm;

use super::cpu::{
    self, MSR_EFER, MSR_FS_BASE, MSR_KERNEL_GS_BASE, MSR_LSTAR, MSR_SFMASK, MSR_STAR,
};
use super::gdt::{self, USER_CS, USER_SS};
use super::percpu::{PERCPU_CTX_TOP, PERCPU_KERNEL_RSP, PERCPU_USER_RSP};

/// Vector number recorded for a `syscall` instruction.
const VECTOR_SYSCALL: u64 = 256;
/// Offset of the end of the hardware trap frame inside [`UserContext`].
const TRAP_END: usize = 22 * 8;

/// The program's registers, as saved on entry to the kernel.
#[repr(C, align(16))]
#[derive(Debug, Clone, Default)]
pub struct UserContext {
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
    /// Trap vector (exception number, interrupt vector, or syscall marker).
    pub vector: u64,
    /// CPU error code (0 when the vector has none).
    pub error_code: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
    /// FS base (TLS pointer), loaded on entry.
    pub fs_base: u64,
    /// GS base, loaded on entry.
    pub gs_base: u64,
}

const _: () = assert!(core::mem::offset_of!(UserContext, fs_base) == TRAP_END);
const _: () = assert!(TRAP_END.is_multiple_of(16));

/// Why [`UserContext::run`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trap {
    /// The program executed `syscall`; the number is in `rax`.
    Syscall,
    /// A page fault at `addr`.
    PageFault {
        /// Faulting address (CR2).
        addr: u64,
        /// The access was a write.
        write: bool,
        /// The page was present (a protection violation).
        present: bool,
        /// The access was an instruction fetch.
        fetch: bool,
    },
    /// Another CPU exception.
    Exception {
        /// Vector number.
        vector: u8,
        /// CPU error code.
        error_code: u64,
    },
    /// A hardware interrupt arrived while the program ran (already dispatched).
    Interrupt(u8),
}

/// The lowest non-user address: user pointers must lie below it.
pub const USER_END: u64 = 0x0000_8000_0000_0000;

global_asm!(
    r#"
    .section .text.user, "ax", @progbits
    .global hal_enter_user
hal_enter_user:
"#,
    push_callee_saved!(),
    r#"
    mov gs:[{kernel_rsp}], rsp
    lea rax, [rdi + {trap_end}]
    mov gs:[{ctx_top}], rax
    mov rsp, rdi
"#,
    pop_gprs!(),
    r#"
    add rsp, 16
    swapgs
    iretq

    .global hal_syscall_entry
hal_syscall_entry:
    swapgs
    mov gs:[{user_rsp}], rsp
    mov rsp, gs:[{ctx_top}]
    push {user_ss}
    push qword ptr gs:[{user_rsp}]
    push r11
    push {user_cs}
    push rcx
    push 0
    push {vec_syscall}
"#,
    push_gprs!(),
    r#"
    mov rsp, gs:[{kernel_rsp}]
"#,
    pop_callee_saved!(),
    r#"
    ret
"#,
    kernel_rsp = const PERCPU_KERNEL_RSP,
    ctx_top = const PERCPU_CTX_TOP,
    user_rsp = const PERCPU_USER_RSP,
    trap_end = const TRAP_END,
    user_ss = const USER_SS as u64,
    user_cs = const USER_CS as u64,
    vec_syscall = const VECTOR_SYSCALL,
);

extern "C" {
    fn hal_enter_user(ctx: *mut UserContext);
    fn hal_syscall_entry();
}

pub(crate) fn init_syscall_msrs() {
    cpu::wrmsr(MSR_EFER, cpu::rdmsr(MSR_EFER) | 1); // SCE
                                                    // SYSCALL: CS = 0x08, SS = 0x10. SYSRET base 0x10 (CS 0x20|3, SS 0x18|3).
    cpu::wrmsr(MSR_STAR, (0x10u64 << 48) | (0x08u64 << 32));
    cpu::wrmsr(MSR_LSTAR, hal_syscall_entry as *const () as u64);
    // Clear TF, IF, DF, AC (and NT) on entry.
    cpu::wrmsr(
        MSR_SFMASK,
        (1 << 8) | (1 << 9) | (1 << 10) | (1 << 18) | (1 << 14),
    );
}

/// RFLAGS bits a program may control: CF PF AF ZF SF TF DF OF AC ID.
const USER_RFLAGS: u64 =
    0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | (1 << 18) | (1 << 21);

fn canonical_user(addr: u64) -> bool {
    addr < USER_END
}

impl UserContext {
    /// A context that starts at `entry` with stack pointer `rsp`.
    pub fn new(entry: u64, rsp: u64) -> Self {
        Self {
            rip: entry,
            rsp,
            rflags: 0x202,
            cs: u64::from(USER_CS),
            ss: u64::from(USER_SS),
            ..Self::default()
        }
    }

    /// Runs the program until the next trap.
    pub fn run(&mut self) -> Trap {
        // iretq to a non-canonical RIP or RSP would fault in kernel mode;
        // Linux delivers SIGSEGV for that, so report it as a #GP.
        if !canonical_user(self.rip) || !canonical_user(self.rsp) {
            return Trap::Exception {
                vector: 13,
                error_code: 0,
            };
        }
        self.cs = u64::from(USER_CS);
        self.ss = u64::from(USER_SS);
        self.rflags = (self.rflags & USER_RFLAGS) | 0x202;
        let fs = if canonical_user(self.fs_base) {
            self.fs_base
        } else {
            0
        };
        let gs = if canonical_user(self.gs_base) {
            self.gs_base
        } else {
            0
        };
        cpu::wrmsr(MSR_FS_BASE, fs);
        cpu::wrmsr(MSR_KERNEL_GS_BASE, gs);
        let ctx: *mut UserContext = self;
        gdt::set_rsp0(ctx as u64 + TRAP_END as u64);
        // SAFETY: `ctx` is a valid, exclusively borrowed, 16-aligned
        // UserContext that outlives the call; its CS/SS/RFLAGS/RIP/RSP were
        // sanitised above, so iretq cannot fault in kernel mode. The entry
        // code returns here on the next trap with the registers stored back.
        unsafe { hal_enter_user(ctx) };
        match self.vector {
            VECTOR_SYSCALL => Trap::Syscall,
            14 => Trap::PageFault {
                addr: cpu::read_cr2(),
                write: self.error_code & 2 != 0,
                present: self.error_code & 1 != 0,
                fetch: self.error_code & 16 != 0,
            },
            v if v < 32 => Trap::Exception {
                vector: v as u8,
                error_code: self.error_code,
            },
            v => {
                super::idt::dispatch_irq(v as u8);
                Trap::Interrupt(v as u8)
            }
        }
    }

    /// Syscall number and arguments (Linux x86-64 convention).
    pub fn syscall_args(&self) -> (u64, [u64; 6]) {
        (
            self.rax,
            [self.rdi, self.rsi, self.rdx, self.r10, self.r8, self.r9],
        )
    }

    /// Sets the syscall return value.
    pub fn set_syscall_return(&mut self, value: u64) {
        self.rax = value;
    }
}
