//! Switching between kernel threads.
//!
//! A suspended thread is just its saved stack pointer: [`switch`] pushes the
//! callee-saved registers (the System V ABI says the caller already saved
//! the rest), stores RSP, loads the other thread's RSP and pops its
//! registers. A new thread's stack is prepared by [`prepare_stack`] so the
//! first switch to it "returns" into `hal_thread_start`, which calls the
//! thread's entry function with its argument.

use core::arch::global_asm;

global_asm!(
    r#"
    .section .text.context, "ax", @progbits
    .global hal_switch_context
/* rdi = where to store the current RSP, rsi = RSP to switch to */
hal_switch_context:
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    mov [rdi], rsp
    mov rsp, rsi
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret

    .global hal_thread_start
hal_thread_start:
    pop rax
    pop rdi
    xor ebp, ebp
    call rax
    ud2
"#
);

extern "C" {
    fn hal_switch_context(save_rsp: *mut u64, load_rsp: u64);
    fn hal_thread_start();
}

/// The stack top given to [`prepare_stack`] is not 16-byte aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MisalignedStack;

/// Entry function of a new kernel thread.
pub type ThreadEntry = extern "C" fn(arg: usize) -> !;

/// A stack pointer saved by [`switch`] or made by [`prepare_stack`].
///
/// Shared between the thread that owns it and the scheduler; the scheduler
/// guarantees that a context is only written by its own running thread
/// (while switching away) and only read while that thread is suspended.
#[derive(Debug, Default)]
pub struct SavedContext {
    rsp: core::cell::UnsafeCell<u64>,
}

// SAFETY: see the type's documentation: accesses are serialised by the
// scheduler's thread states (a thread is switched to only after it has been
// switched away from, and the switch publishes the value with the
// scheduler's lock or atomic release/acquire).
unsafe impl Sync for SavedContext {}

/// Writes the initial frame of a new thread at the top of its stack and
/// returns the context to switch to. `top` must be the 16-byte aligned end
/// of a stack the caller owns (mapped, writable, at least one page).
pub fn prepare_stack(
    top: u64,
    entry: ThreadEntry,
    arg: usize,
) -> Result<SavedContext, MisalignedStack> {
    if !top.is_multiple_of(16) {
        return Err(MisalignedStack);
    }
    // Layout, from the new RSP upwards: six callee-saved registers (zero),
    // the return address (hal_thread_start), entry and arg. After
    // hal_thread_start pops the last two, RSP is `top` (16-aligned), so the
    // entry function starts with RSP % 16 == 8, as after any call.
    let frame: [u64; 9] = [
        0,
        0,
        0,
        0,
        0,
        0,
        hal_thread_start as *const () as u64,
        entry as usize as u64,
        arg as u64,
    ];
    let rsp = top - 72;
    // SAFETY: the caller guarantees `top` ends a writable stack it owns; the
    // 72 bytes below it are inside that stack and unused.
    unsafe { core::ptr::copy_nonoverlapping(frame.as_ptr(), rsp as *mut u64, frame.len()) };
    Ok(SavedContext {
        rsp: core::cell::UnsafeCell::new(rsp),
    })
}

impl SavedContext {
    /// An empty slot (filled by [`switch`] or `copy_from`).
    pub const fn new() -> Self {
        Self {
            rsp: core::cell::UnsafeCell::new(0),
        }
    }

    /// Copies `other`'s saved stack pointer into `self` (the scheduler's
    /// per-CPU "next" slot, so it holds no reference to the next thread
    /// across the switch).
    pub fn copy_from(&self, other: &SavedContext) {
        // SAFETY: both cells are only accessed by the scheduler on this CPU
        // at this point: `other` belongs to a suspended thread, `self` to
        // this CPU.
        unsafe { *self.rsp.get() = *other.rsp.get() };
    }
}

/// Suspends the running thread into `save` and resumes `load`.
///
/// Interrupts should be disabled by the caller (the scheduler); the resumed
/// thread continues with the interrupt state it had when it was suspended.
pub fn switch(save: &SavedContext, load: &SavedContext) {
    // SAFETY: `save` belongs to the running thread (only it writes it);
    // `load` was produced by `prepare_stack` or by a previous `switch` of a
    // thread that is not running (the scheduler resumes a context at most
    // once per suspension), so it points at a valid frame on a live stack.
    unsafe { hal_switch_context(save.rsp.get(), *load.rsp.get()) };
}
