//! Header and program header validation on hand-built images.

mod common;

use common::{dyn_interp, exec, Img, Ph, INTERP};
use oxv_elf::*;

fn err(img: &Img) -> ElfError {
    match parse(&img.build()) {
        Ok(_) => panic!("accepted: {img:#x?}"),
        Err(e) => e,
    }
}

fn ok(img: &Img) {
    let bytes = img.build();
    if let Err(e) = parse(&bytes) {
        panic!("rejected ({e}): {img:#x?}");
    }
}

#[test]
fn valid_exec() {
    let bytes = exec().build();
    let elf = parse(&bytes).unwrap();
    assert_eq!(elf.kind(), Kind::Exec);
    assert_eq!(elf.entry(), 0x40_0200);
    assert_eq!((elf.phoff(), elf.phentsize(), elf.phnum()), (64, 56, 5));
    assert_eq!(elf.program_headers().len(), 5);
    assert_eq!(elf.program_headers().nth(3).unwrap().p_type, PT_TLS);
    let segs: Vec<_> = elf.load_segments().collect();
    assert_eq!(segs.len(), 2);
    assert_eq!(
        (segs[0].index, segs[0].vaddr, segs[0].memsz, segs[0].filesz),
        (1, 0x40_0000, 0x1000, 0x1000)
    );
    assert_eq!(
        segs[0].flags,
        SegmentFlags {
            readable: true,
            writable: false,
            executable: true
        }
    );
    assert_eq!(segs[0].data.len(), 0x1000);
    assert_eq!(&segs[0].data[..4], b"\x7fELF");
    assert_eq!(
        (
            segs[1].index,
            segs[1].vaddr,
            segs[1].memsz,
            segs[1].file_offset
        ),
        (2, 0x40_1000, 0x3000, 0x1000)
    );
    assert_eq!(
        segs[1].flags,
        SegmentFlags {
            readable: true,
            writable: true,
            executable: false
        }
    );
    assert_eq!(segs[1].data.len(), 0x100);
    assert_eq!(elf.image_span(), (0x40_0000, 0x40_4000));
    assert_eq!(elf.max_align(), 0x1000);
    assert_eq!(elf.load_bias(DYN_BASE), Some(0));
    assert_eq!(elf.phdr_vaddr(), Some(0x40_0040));
    assert_eq!(elf.interp(), None);
    assert_eq!(
        elf.tls(),
        Some(Tls {
            vaddr: 0x40_1000,
            filesz: 0x10,
            memsz: 0x20,
            align: 8
        })
    );
    assert!(!elf.stack_executable());
    assert_eq!(elf.bytes().len(), 0x1100);
}

#[test]
fn valid_dyn_with_interp() {
    let bytes = dyn_interp().build();
    let elf = parse(&bytes).unwrap();
    assert_eq!(elf.kind(), Kind::Dyn);
    assert_eq!(elf.interp(), Some(INTERP));
    assert_eq!(elf.image_span(), (0, 0x3000));
    assert_eq!(elf.tls(), None);
    assert_eq!(elf.load_bias(DYN_BASE), Some(DYN_BASE));
    assert_eq!(elf.load_bias(0), Some(0));
    // Rounded up to the page (the largest alignment here).
    assert_eq!(elf.load_bias(0x1234), Some(0x2000));
    assert_eq!(elf.load_bias(USER_END - 0x2000), None);
    assert_eq!(elf.load_bias(USER_END - 0x3000), Some(USER_END - 0x3000));
}

#[test]
fn dyn_bias_respects_large_alignment() {
    let mut img = dyn_interp();
    img.phdrs[2].align = 0x20_0000;
    img.phdrs[3].vaddr = 0x20_1000;
    img.entry = 0x100;
    let bytes = img.build();
    let elf = parse(&bytes).unwrap();
    assert_eq!(elf.max_align(), 0x20_0000);
    assert_eq!(elf.load_bias(DYN_BASE), Some(0x5555_5560_0000));
    assert_eq!(elf.image_span(), (0, 0x20_3000));
}

#[test]
fn dyn_at_nonzero_base() {
    let mut img = dyn_interp();
    for ph in &mut img.phdrs[2..4] {
        ph.vaddr += 0x10_0000;
    }
    img.phdrs[0].vaddr += 0x10_0000;
    img.entry += 0x10_0000;
    let bytes = img.build();
    let elf = parse(&bytes).unwrap();
    assert_eq!(elf.image_span(), (0x10_0000, 0x10_3000));
    assert_eq!(elf.load_bias(DYN_BASE), Some(DYN_BASE - 0x10_0000));
    assert_eq!(elf.load_bias(0), Some(0));
}

#[test]
fn every_truncation_is_an_error() {
    for img in [exec(), dyn_interp()] {
        let bytes = img.build();
        for n in 0..bytes.len() {
            let e = parse(&bytes[..n])
                .err()
                .unwrap_or_else(|| panic!("prefix {n} accepted"));
            let want = match n {
                0..4 => ElfError::NotElf,
                4..64 => ElfError::TruncatedHeader,
                64..344 => ElfError::TruncatedProgramHeaders,
                _ => e,
            };
            assert_eq!(e, want, "prefix {n}");
        }
    }
    let bytes = exec().build();
    assert_eq!(
        parse(&bytes[..0x1000]).unwrap_err(),
        ElfError::TruncatedSegment { index: 2 }
    );
}

#[test]
fn ident_errors() {
    let set = |i: usize, v: u8| {
        let mut img = exec();
        img.ident[i] = v;
        err(&img)
    };
    assert_eq!(set(0, 0x7e), ElfError::NotElf);
    assert_eq!(set(3, b'f'), ElfError::NotElf);
    assert_eq!(set(4, 1), ElfError::Not64Bit);
    assert_eq!(set(4, 0), ElfError::BadIdent);
    assert_eq!(set(4, 3), ElfError::BadIdent);
    assert_eq!(set(5, 2), ElfError::BigEndian);
    assert_eq!(set(5, 0), ElfError::BadIdent);
    assert_eq!(set(6, 0), ElfError::BadVersion);
    let mut img = exec();
    img.version = 2;
    assert_eq!(err(&img), ElfError::BadVersion);
    // A 32-bit file needs only its ident to be recognised.
    assert_eq!(
        parse(b"\x7fELF\x01\x01\x01").unwrap_err(),
        ElfError::Not64Bit
    );
    assert_eq!(parse(b"#!/bin/sh\n").unwrap_err(), ElfError::NotElf);
    assert_eq!(parse(b"").unwrap_err(), ElfError::NotElf);
}

#[test]
fn machine_and_type() {
    for (m, name) in [
        (183, "aarch64"),
        (243, "riscv"),
        (3, "i386"),
        (40, "arm"),
        (21, "ppc64"),
        (22, "s390"),
    ] {
        let mut img = exec();
        img.machine = m;
        let e = err(&img);
        assert_eq!(e, ElfError::WrongMachine(m));
        let msg = e.to_string();
        assert!(
            msg.starts_with(&format!("built for {name}")) && msg.ends_with("not x86-64"),
            "{msg}"
        );
    }
    let mut img = exec();
    img.machine = 9999;
    assert_eq!(
        err(&img).to_string(),
        "built for machine type 9999, not x86-64"
    );

    for (t, e) in [
        (1, ElfError::NotExecutable(1)),
        (4, ElfError::NotExecutable(4)),
        (0, ElfError::NotExecutable(0)),
    ] {
        let mut img = exec();
        img.e_type = t;
        assert_eq!(err(&img), e);
    }
}

#[test]
fn program_header_table() {
    let mut img = exec();
    img.phentsize = 64;
    assert_eq!(err(&img), ElfError::BadPhentsize(64));

    let mut img = exec();
    img.phnum = Some(0);
    assert_eq!(err(&img), ElfError::BadPhnum(0));
    img.phnum = Some(1171);
    assert_eq!(err(&img), ElfError::BadPhnum(1171));
    img.phnum = Some(0xffff);
    assert_eq!(err(&img), ElfError::BadPhnum(0xffff));
    // 30 headers would run past the end of the 0x1100-byte file.
    img.phnum = Some(30);
    img.phoff = 0x1100 - 29 * 56;
    img.phdrs.clear();
    assert_eq!(err(&img), ElfError::TruncatedProgramHeaders);

    for phoff in [0x1100, u64::MAX, u64::MAX - 100] {
        let mut img = exec();
        let table = img.build()[64..64 + 5 * 56].to_vec();
        img.phoff = phoff;
        img.phdrs.clear();
        img.phnum = Some(5);
        img.blobs = vec![(64, table)];
        assert_eq!(err(&img), ElfError::TruncatedProgramHeaders);
    }
}

#[test]
fn load_segment_errors() {
    let with = |f: &dyn Fn(&mut Img)| {
        let mut img = exec();
        f(&mut img);
        err(&img)
    };
    assert_eq!(
        with(&|i| i.phdrs[2].filesz = 0x3001),
        ElfError::FileSizeExceedsMemSize { index: 2 }
    );
    assert_eq!(
        with(&|i| i.phdrs[2].filesz = 0x101),
        ElfError::TruncatedSegment { index: 2 }
    );
    assert_eq!(
        with(&|i| i.phdrs[2].offset = u64::MAX - 0x10),
        ElfError::TruncatedSegment { index: 2 }
    );
    assert_eq!(
        with(&|i| i.phdrs[1].align = 0x1800),
        ElfError::BadAlignment { index: 1 }
    );
    assert_eq!(
        with(&|i| i.phdrs[2].align = 3),
        ElfError::BadAlignment { index: 2 }
    );
    // Address and file offset in different places within the page.
    assert_eq!(
        with(&|i| i.phdrs[2].vaddr = 0x40_1010),
        ElfError::Misaligned { index: 2 }
    );
    assert_eq!(
        with(&|i| {
            i.phdrs[2].vaddr = 0x40_1010;
            i.phdrs[2].align = 16;
        }),
        ElfError::Misaligned { index: 2 }
    );
    // Page-congruent but not congruent modulo p_align.
    assert_eq!(
        with(&|i| i.phdrs[2].align = 0x80_0000),
        ElfError::Misaligned { index: 2 }
    );
    assert_eq!(
        with(&|i| {
            i.phdrs[2].memsz = u64::MAX - 0x40_0000;
        }),
        ElfError::AddressOverflow { index: 2 }
    );
    assert_eq!(
        with(&|i| {
            i.phdrs[2].vaddr = USER_END - 0x1000;
            i.phdrs[2].offset = 0x1000;
            i.phdrs[2].memsz = 0x1001;
        }),
        ElfError::OutsideUserSpace { index: 2 }
    );
    assert_eq!(
        with(&|i| i.phdrs[1].memsz = 0x1001),
        ElfError::Overlap { index: 2 }
    );
    assert_eq!(
        with(&|i| {
            i.phdrs[1].p_type = PT_NOTE;
            i.phdrs[2].p_type = PT_NULL;
        }),
        ElfError::NoLoadSegments
    );
}

#[test]
fn load_segment_edge_cases_accepted() {
    let with = |f: &dyn Fn(&mut Img)| {
        let mut img = exec();
        f(&mut img);
        ok(&img);
    };
    // p_align 0 and 1 mean "no constraint" beyond page congruence.
    with(&|i| i.phdrs[1].align = 0);
    with(&|i| i.phdrs[2].align = 1);
    // Two segments sharing a page without sharing bytes (Linux maps both).
    with(&|i| {
        i.phdrs[1].filesz = 0x800;
        i.phdrs[1].memsz = 0x800;
        i.phdrs[2].vaddr = 0x40_0800;
        i.phdrs[2].offset = 0x800;
        i.phdrs[2].filesz = 0x900;
    });
    // A bss-only segment needs no page congruence with small alignment.
    with(&|i| {
        i.phdrs[2].filesz = 0;
        i.phdrs[2].offset = 0;
        i.phdrs[2].vaddr = 0x40_1010;
        i.phdrs[2].align = 16;
    });
    // Ending exactly at the top of the user range.
    with(&|i| {
        i.phdrs[2].vaddr = USER_END - 0x3000;
        i.phdrs[2].memsz = 0x3000;
    });
    // An empty load segment after the others.
    with(&|i| {
        i.phdrs[4] = Ph::new(PT_LOAD, PF_R, 0, 0x50_0000, 0, 0, 0x1000);
    });
}

#[test]
fn unsorted_segments() {
    let mut img = exec();
    img.phdrs.swap(1, 2);
    assert_eq!(err(&img), ElfError::Unsorted { index: 2 });
}

#[test]
fn dyn_address_limits() {
    // ET_DYN addresses are relative: a high address is fine until biased.
    let mut img = dyn_interp();
    for ph in &mut img.phdrs[2..4] {
        ph.vaddr += 0xffff_0000_0000_0000;
    }
    img.entry += 0xffff_0000_0000_0000;
    let bytes = img.build();
    let elf = parse(&bytes).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(elf.load_bias(DYN_BASE), None);

    let mut img = dyn_interp();
    img.phdrs[3].vaddr = 0x8000_0000_1000;
    assert_eq!(err(&img), ElfError::ImageTooLarge);

    let mut img = dyn_interp();
    img.phdrs[3].vaddr = u64::MAX - 0xfff;
    img.phdrs[3].memsz = 0x1000;
    img.phdrs[3].filesz = 0x100;
    assert_eq!(err(&img), ElfError::AddressOverflow { index: 3 });
}

#[test]
fn entry_point() {
    for entry in [
        0,
        0x3f_ffff,
        0x40_1000,
        0x40_1fff,
        0x40_3fff,
        0x40_4000,
        u64::MAX,
    ] {
        let mut img = exec();
        img.entry = entry;
        assert_eq!(err(&img), ElfError::BadEntry(entry), "{entry:#x}");
    }
    for entry in [0x40_0000, 0x40_0fff] {
        let mut img = exec();
        img.entry = entry;
        ok(&img);
    }
    let mut img = exec();
    img.entry = 0x40_1000;
    img.phdrs[2].flags |= PF_X;
    ok(&img);
}

#[test]
fn interp() {
    let with = |f: &dyn Fn(&mut Img)| {
        let mut img = dyn_interp();
        f(&mut img);
        parse(&img.build()).map(|e| e.interp().map(<[u8]>::to_vec))
    };
    // Not NUL-terminated.
    assert_eq!(with(&|i| i.phdrs[1].filesz -= 1), Err(ElfError::BadInterp));
    assert_eq!(with(&|i| i.phdrs[1].filesz = 1), Err(ElfError::BadInterp));
    assert_eq!(with(&|i| i.phdrs[1].filesz = 0), Err(ElfError::BadInterp));
    assert_eq!(
        with(&|i| i.phdrs[1].filesz = 4097),
        Err(ElfError::BadInterp)
    );
    assert_eq!(
        with(&|i| i.phdrs[1].offset = 0x10f0),
        Err(ElfError::TruncatedInterp)
    );
    assert_eq!(
        with(&|i| i.phdrs[1].offset = u64::MAX),
        Err(ElfError::TruncatedInterp)
    );
    // Empty path.
    assert_eq!(with(&|i| i.blobs[0].1[0] = 0), Err(ElfError::BadInterp));
    // An inner NUL ends the path, as for a C string.
    assert_eq!(with(&|i| i.blobs[0].1[6] = 0), Ok(Some(b"/lib64".to_vec())));
    // The first PT_INTERP wins, as in Linux.
    assert_eq!(
        with(&|i| {
            i.phdrs[4] = Ph::new(PT_INTERP, PF_R, 0x400, 0x400, 3, 3, 1);
        }),
        Ok(Some(INTERP.to_vec()))
    );
    // ET_EXEC may have an interpreter too (dynamic non-PIE).
    let mut img = exec();
    img.phdrs[4] = Ph::new(PT_INTERP, PF_R, 0x300, 0x40_0300, 4, 4, 1);
    img.blobs = vec![(0x300, b"/ld\0".to_vec())];
    let bytes = img.build();
    assert_eq!(parse(&bytes).unwrap().interp(), Some(&b"/ld"[..]));
}

#[test]
fn stack_and_phdr() {
    let mut img = exec();
    img.phdrs[4].flags |= PF_X;
    assert!(parse(&img.build()).unwrap().stack_executable());
    // No PT_GNU_STACK: non-executable stack for 64-bit programs.
    img.phdrs[4].p_type = PT_NULL;
    assert!(!parse(&img.build()).unwrap().stack_executable());

    // Without PT_PHDR the address comes from the PT_LOAD holding e_phoff.
    let mut img = exec();
    img.phdrs[0].p_type = PT_NULL;
    assert_eq!(parse(&img.build()).unwrap().phdr_vaddr(), Some(0x40_0040));
    // PT_PHDR wins when present.
    let mut img = exec();
    img.phdrs[0].vaddr = 0x40_0080;
    assert_eq!(parse(&img.build()).unwrap().phdr_vaddr(), Some(0x40_0080));
    // Table not loaded at all.
    let mut img = exec();
    img.phdrs[0].p_type = PT_NULL;
    img.phdrs[1].offset = 0x1000;
    img.phdrs[1].vaddr = 0x40_0000;
    img.phdrs[1].filesz = 0x100;
    img.phdrs[2].offset = 0x1000;
    assert_eq!(parse(&img.build()).unwrap().phdr_vaddr(), None);
}

#[test]
fn messages() {
    let cases: &[(ElfError, &str)] = &[
        (ElfError::NotElf, "not an ELF file"),
        (
            ElfError::Not64Bit,
            "32-bit ELF (only x86-64 64-bit programs run)",
        ),
        (ElfError::WrongMachine(183), "built for aarch64, not x86-64"),
        (ElfError::WrongMachine(3), "built for i386, not x86-64"),
        (
            ElfError::TruncatedSegment { index: 2 },
            "truncated: segment 2 extends past end of file",
        ),
        (
            ElfError::NotExecutable(1),
            "relocatable object file, not an executable",
        ),
        (ElfError::NotExecutable(4), "core dump, not an executable"),
        (
            ElfError::BadEntry(0x1234),
            "entry point 0x1234 is not in an executable segment",
        ),
        (ElfError::BadPhnum(0), "no program headers"),
    ];
    for (e, msg) in cases {
        assert_eq!(e.to_string(), *msg);
    }
}

#[test]
fn parse_headers_checks_bounds_against_the_file_length() {
    // A real program: the first 4 KiB parse with the true length, and a
    // length shorter than a segment's file bytes is refused.
    let path = std::path::Path::new("/bin/true");
    let Ok(bytes) = std::fs::read(path) else {
        return;
    };
    let head = &bytes[..bytes.len().min(4096)];
    let full = oxv_elf::parse(&bytes).unwrap();
    let part = oxv_elf::parse_headers(head, bytes.len() as u64).unwrap();
    assert_eq!(full.entry(), part.entry());
    assert_eq!(full.image_span(), part.image_span());
    assert_eq!(full.load_segments().count(), part.load_segments().count());
    assert!(oxv_elf::parse_headers(head, 4096).is_err() || bytes.len() <= 4096);
    assert!(oxv_elf::parse_headers(&bytes, 10).is_err());
}
