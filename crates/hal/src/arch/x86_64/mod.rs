//! x86-64 support: boot, CPU setup, paging, traps, user mode, user copy, I/O.

#[macro_use]
mod asm_frames;

pub(crate) mod apic;
pub(crate) mod boot;
pub(crate) mod context;
pub(crate) mod cpu;
pub(crate) mod fpu;
pub(crate) mod gdt;
pub(crate) mod idt;
pub(crate) mod io;
pub(crate) mod paging;
pub(crate) mod percpu;
pub(crate) mod phys;
pub(crate) mod smp;
pub(crate) mod stack;
pub(crate) mod user;
pub(crate) mod usercopy;
pub(crate) mod vdso;
