//! Architecture code. Only x86-64 exists; its modules are re-exported by
//! name so the rest of hal never reaches into `x86_64` directly.

mod x86_64;

pub(crate) use x86_64::{
    apic, context, cpu, fpu, gdt, idt, io, paging, percpu, phys, smp, stack, user, usercopy, vdso,
};
