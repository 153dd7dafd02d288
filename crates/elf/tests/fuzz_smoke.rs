//! Deterministic fuzz smoke test: mutate valid images with a xorshift PRNG
//! and parse each one. Nothing may panic; whatever parses must keep the
//! documented invariants. (The libFuzzer target is in `fuzz/`.)

mod common;

use oxv_elf::*;

/// Checks what `parse` promises about an accepted file.
fn exercise(bytes: &[u8]) -> bool {
    let Ok(elf) = parse(bytes) else { return false };
    assert_eq!(elf.program_headers().count(), usize::from(elf.phnum()));
    let (lo, hi) = elf.image_span();
    assert!(lo < hi && lo % PAGE_SIZE == 0 && hi % PAGE_SIZE == 0);
    let mut prev_end = 0;
    let mut entry_ok = false;
    for seg in elf.load_segments() {
        assert_eq!(seg.data.len() as u64, seg.filesz);
        assert!(seg.filesz <= seg.memsz);
        assert!(seg.vaddr >= prev_end, "overlap or disorder");
        let end = seg.vaddr + seg.memsz;
        assert!(lo <= seg.vaddr && end <= hi);
        if elf.kind() == Kind::Exec {
            assert!(end <= USER_END);
        }
        entry_ok |= seg.flags.executable && (seg.vaddr..end).contains(&elf.entry());
        prev_end = end;
    }
    assert!(entry_ok);
    if let Some(bias) = elf.load_bias(DYN_BASE) {
        assert_eq!(bias % elf.max_align(), 0);
        assert!(hi + bias <= USER_END);
    }
    if let Some(path) = elf.interp() {
        assert!(!path.is_empty() && !path.contains(&0));
    }
    let _ = (elf.tls(), elf.phdr_vaddr(), elf.stack_executable());
    true
}

fn mutate(rng: &mut common::Rng, b: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(6) {
        match rng.below(10) {
            // Most mutations hit the headers, where the parser looks.
            0..=4 => {
                let i = rng.below(b.len().min(0x200) as u64) as usize;
                b[i] ^= 1 << rng.below(8);
            }
            5 | 6 => {
                let i = rng.below(b.len().min(0x200) as u64) as usize;
                b[i] = rng.next() as u8;
            }
            7 => {
                // An interesting 64-bit value at an 8-byte aligned field.
                let i = (rng.below(b.len().min(0x200) as u64 / 8) * 8) as usize;
                let vals = [
                    0,
                    1,
                    u64::MAX,
                    0x1000,
                    0x40_0000,
                    USER_END,
                    b.len() as u64,
                    1 << 63,
                ];
                let v = vals[rng.below(vals.len() as u64) as usize];
                b[i..i + 8].copy_from_slice(&v.to_le_bytes());
            }
            8 => {
                let n = rng.below(b.len() as u64 + 1) as usize;
                b.truncate(n);
                if b.len() < 8 {
                    return;
                }
            }
            _ => {
                let i = rng.below(b.len() as u64) as usize;
                b[i] = rng.next() as u8;
            }
        }
    }
}

#[test]
fn mutated_images_never_panic() {
    let seeds = [common::exec().build(), common::dyn_interp().build()];
    let mut rng = common::Rng(0x9e37_79b9_7f4a_7c15);
    let mut accepted = 0;
    const ROUNDS: usize = 50_000;
    for round in 0..ROUNDS {
        let mut b = seeds[round % 2].clone();
        mutate(&mut rng, &mut b);
        if exercise(&b) {
            accepted += 1;
        }
    }
    println!("fuzz smoke: {accepted} of {ROUNDS} mutants accepted");
    // The mutator must leave some files valid, or it tests only the first check.
    assert!(accepted > ROUNDS / 50, "only {accepted} accepted");
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = common::Rng(42);
    for _ in 0..20_000 {
        let len = rng.below(512) as usize;
        let mut b: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if len >= 8 && rng.below(2) == 0 {
            b[..8].copy_from_slice(b"\x7fELF\x02\x01\x01\x00");
        }
        exercise(&b);
    }
}
