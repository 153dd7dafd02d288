//! Register save sequences shared by the trap, system-call and user-entry
//! assembly. Their order is the layout of `UserContext` and
//! `KernelTrapFrame` (r15 at the lowest address), so it is written once.
//! Each macro expands to a template string for `global_asm!`.

/// Pushes the 15 general registers, rax first, r15 last.
macro_rules! push_gprs {
    () => {
        "push rax\npush rbx\npush rcx\npush rdx\npush rsi\npush rdi\npush rbp\n\
         push r8\npush r9\npush r10\npush r11\npush r12\npush r13\npush r14\npush r15"
    };
}

/// Pops what [`push_gprs`] pushed.
macro_rules! pop_gprs {
    () => {
        "pop r15\npop r14\npop r13\npop r12\npop r11\npop r10\npop r9\npop r8\n\
         pop rbp\npop rdi\npop rsi\npop rdx\npop rcx\npop rbx\npop rax"
    };
}

/// Saves the kernel's callee-saved registers before it leaves for user mode.
macro_rules! push_callee_saved {
    () => {
        "push rbx\npush rbp\npush r12\npush r13\npush r14\npush r15"
    };
}

/// Restores them when user mode traps or calls back into the kernel.
macro_rules! pop_callee_saved {
    () => {
        "pop r15\npop r14\npop r13\npop r12\npop rbp\npop rbx"
    };
}
