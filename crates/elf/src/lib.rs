//! ELF64 program parsing and the initial process stack for x86-64 Linux
//! programs.
//!
//! Two pure, allocation-free pieces used by both the kernel (to load a
//! program) and the host CLI (to refuse a program before booting a VM):
//!
//! - [`parse`] validates an ELF64 executable (`ET_EXEC`, or `ET_DYN` for PIE
//!   and static-pie) as described by the System V gABI ("ELF Header" and
//!   "Program Header" chapters) and the x86-64 psABI (chapter 5, "Program
//!   Loading and Dynamic Linking"), with the extra checks Linux
//!   `fs/binfmt_elf.c` applies. The result, [`Elf`], exposes the load
//!   segments ([`LoadSegment`], with their file bytes), the entry point,
//!   `PT_INTERP`, `PT_TLS`, `PT_PHDR` and `PT_GNU_STACK`. Errors
//!   ([`ElfError`]) print messages a user understands.
//! - [`build_initial_stack`] lays out `argc`, `argv`, `envp` and the
//!   auxiliary vector at the top of a new stack as the x86-64 psABI
//!   (section 3.4.1, "Initial Stack and Register State") specifies and as
//!   Linux `create_elf_tables` does, into a caller-supplied byte buffer.
//!
//! Addresses in an `ET_DYN` file are relative: the loader picks a load bias
//! ([`Elf::load_bias`]) and adds it to every segment address, the entry point
//! and [`Elf::phdr_vaddr`]. For `ET_EXEC` the bias is 0.
//!
//! ```
//! use oxv_elf::{build_initial_stack, parse, StackArgs, DYN_BASE};
//!
//! /// What a loader does with a program: returns (entry, rsp).
//! fn load(program: &[u8], stack: &mut [u8], stack_top: u64) -> Option<(u64, u64)> {
//!     let elf = parse(program).ok()?;
//!     let bias = elf.load_bias(DYN_BASE)?;
//!     for seg in elf.load_segments() {
//!         // map seg.memsz bytes at seg.vaddr + bias with seg.flags,
//!         // copy seg.data there, zero the rest
//!     }
//!     let argv: [&[u8]; 1] = [b"/prog"];
//!     let mut args = StackArgs::new(&argv, &[], b"/prog", [7; 16]);
//!     args.phdr = elf.phdr_vaddr().map_or(0, |a| a + bias);
//!     args.phnum = elf.phnum().into();
//!     args.entry = elf.entry() + bias;
//!     let st = build_initial_stack(stack_top, &args, stack).ok()?;
//!     Some((elf.entry() + bias, st.rsp))
//! }
//!
//! let err = parse(b"#!/bin/sh\necho hi\n").unwrap_err();
//! assert_eq!(err.to_string(), "not an ELF file");
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod image;
mod stack;

pub use image::{
    parse, parse_headers, Elf, ElfError, Kind, LoadSegment, ProgramHeader, SegmentFlags, Tls,
    DYN_BASE, EM_X86_64, ET_CORE, ET_DYN, ET_EXEC, ET_REL, PAGE_SIZE, PF_R, PF_W, PF_X, PHDR_SIZE,
    PT_DYNAMIC, PT_GNU_EH_FRAME, PT_GNU_PROPERTY, PT_GNU_RELRO, PT_GNU_STACK, PT_INTERP, PT_LOAD,
    PT_NOTE, PT_NULL, PT_PHDR, PT_TLS, USER_END,
};
pub use stack::{
    build_initial_stack, InitialStack, StackArgs, StackError, AT_BASE, AT_CLKTCK, AT_EGID,
    AT_ENTRY, AT_EUID, AT_EXECFN, AT_FLAGS, AT_GID, AT_HWCAP, AT_HWCAP2, AT_MINSIGSTKSZ, AT_NULL,
    AT_PAGESZ, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PLATFORM, AT_RANDOM, AT_SECURE, AT_SYSINFO_EHDR,
    AT_UID, PLATFORM,
};
