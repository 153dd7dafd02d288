//! Fuzz `oxv_elf::parse` with arbitrary bytes; on success, walk everything
//! the parsed view exposes and build an initial stack from it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oxv_elf::{build_initial_stack, parse, StackArgs, DYN_BASE};

fuzz_target!(|data: &[u8]| {
    let Ok(elf) = parse(data) else { return };
    for ph in elf.program_headers() {
        let _ = ph;
    }
    for seg in elf.load_segments() {
        assert_eq!(seg.data.len() as u64, seg.filesz);
        assert!(seg.filesz <= seg.memsz);
    }
    let bias = elf.load_bias(DYN_BASE).unwrap_or(0);
    let interp = elf.interp().unwrap_or(b"");
    let argv: [&[u8]; 2] = [b"prog", interp];
    let mut args = StackArgs::new(&argv, &[], b"/prog", [0; 16]);
    args.phdr = elf.phdr_vaddr().unwrap_or(0).wrapping_add(bias);
    args.phnum = u64::from(elf.phnum());
    args.entry = elf.entry().wrapping_add(bias);
    let mut stack = [0u8; 8192];
    let _ = build_initial_stack(0x7fff_ffff_f000, &args, &mut stack);
    let _ = (elf.tls(), elf.stack_executable(), elf.image_span());
});
