//! Host tests: the image is parsed back with the `object` crate and with
//! re-implementations of the two lookups that matter, musl's `__vdsosym`
//! (program headers, `DT_HASH` for the symbol count, `DT_VERSYM` +
//! `DT_VERDEF` version check) and glibc's (SysV hash chains, then name and
//! version match through the version-definition index table).

extern crate std;

use std::collections::HashMap;
use std::string::{String, ToString};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::vec::Vec;

use object::read::elf::ElfFile64;
use object::{Object, ObjectKind, ObjectSection, ObjectSymbol, SymbolIndex};

use super::vvar::{self, Data};
use super::*;

const CODE_LEN: usize = 300;

fn entries() -> Vec<Entry> {
    Func::ALL
        .iter()
        .enumerate()
        .map(|(i, &func)| Entry {
            func,
            offset: 16 + 48 * i as u32,
            size: 40,
        })
        .collect()
}

fn image() -> Vec<u8> {
    let code: Vec<u8> = (0..CODE_LEN).map(|i| i as u8).collect();
    build(&Spec {
        code: &code,
        entries: &entries(),
        linux_version: 0x06_01_00,
    })
    .unwrap()
}

fn u16_at(b: &[u8], o: u64) -> u16 {
    u16::from_le_bytes(b[o as usize..o as usize + 2].try_into().unwrap())
}
fn u32_at(b: &[u8], o: u64) -> u32 {
    u32::from_le_bytes(b[o as usize..o as usize + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], o: u64) -> u64 {
    u64::from_le_bytes(b[o as usize..o as usize + 8].try_into().unwrap())
}
fn cstr(b: &[u8], o: u64) -> &str {
    let s = &b[o as usize..];
    std::str::from_utf8(&s[..s.iter().position(|&c| c == 0).unwrap()]).unwrap()
}

#[test]
fn elf_hash_known_values() {
    // glibc's VDSO_HASH for "LINUX_2.6" (sysdeps/unix/sysv/linux/x86_64).
    assert_eq!(elf_hash(b"LINUX_2.6"), 61_765_110);
    assert_eq!(elf_hash(b""), 0);
    // A long name exercises the high-nibble fold.
    let h = elf_hash(b"a_rather_long_symbol_name_for_the_fold");
    assert_eq!(h & 0xf000_0000, 0);
}

#[test]
fn object_parses_dynamic_symbols_and_versions() {
    let img = image();
    assert_eq!(img.len() as u64, TEXT_OFFSET + CODE_LEN as u64);
    let file = ElfFile64::<object::Endianness>::parse(&img[..]).unwrap();
    assert_eq!(file.kind(), ObjectKind::Dynamic);
    assert_eq!(file.architecture(), object::Architecture::X86_64);
    let text = file.section_by_name(".text").unwrap();
    assert_eq!(text.address(), TEXT_OFFSET);
    assert_eq!(text.size(), CODE_LEN as u64);
    assert_eq!(text.data().unwrap()[..4], [0, 1, 2, 3]);

    let endian = file.endian();
    let versions = file
        .elf_section_table()
        .versions(endian, &img[..])
        .unwrap()
        .unwrap();
    let mut seen: HashMap<String, (u64, u64, bool)> = HashMap::new();
    for sym in file.dynamic_symbols() {
        let name = sym.name().unwrap().to_string();
        assert_eq!(sym.section_index(), Some(text.index()), "{name}");
        assert_eq!(sym.kind(), object::SymbolKind::Text);
        let vi = versions.version_index(endian, sym.index());
        assert_eq!(vi.0, 2, "{name}: versym");
        let v = versions.version(vi.index()).unwrap().unwrap();
        assert_eq!(v.name(), b"LINUX_2.6");
        assert_eq!(v.hash(), 61_765_110);
        seen.insert(name, (sym.address(), sym.size(), sym.is_weak()));
    }
    assert_eq!(seen.len(), 2 * Func::ALL.len());
    for e in entries() {
        let addr = TEXT_OFFSET + u64::from(e.offset);
        assert_eq!(seen[e.func.vdso_name()], (addr, 40, false));
        assert_eq!(seen[e.func.name()], (addr, 40, true));
    }
}

#[test]
fn program_headers_dynamic_and_note() {
    let img = image();
    let file = ElfFile64::<object::Endianness>::parse(&img[..]).unwrap();
    let endian = file.endian();
    use object::read::elf::{Dyn as _, FileHeader, ProgramHeader};
    let phdrs = file.elf_header().program_headers(endian, &img[..]).unwrap();
    assert_eq!(phdrs.len(), 3);
    // One PT_LOAD from offset 0 at address 0 covering the image, R+X.
    let load = &phdrs[0];
    assert_eq!(load.p_type(endian), object::elf::PT_LOAD);
    assert_eq!((load.p_offset(endian), load.p_vaddr(endian)), (0, 0));
    assert_eq!(load.p_filesz(endian), img.len() as u64);
    assert_eq!(load.p_memsz(endian), img.len() as u64);
    assert_eq!(load.p_flags(endian), object::elf::PF_R | object::elf::PF_X);
    // PT_DYNAMIC is read-only (glibc then adds the load address itself).
    assert_eq!(phdrs[1].p_type(endian), object::elf::PT_DYNAMIC);
    assert_eq!(phdrs[1].p_flags(endian), object::elf::PF_R);
    let dynamic = phdrs[1].dynamic(endian, &img[..]).unwrap().unwrap();
    let tags: Vec<object::elf::DynamicTag> = dynamic.iter().map(|d| d.d_tag(endian)).collect();
    for t in [
        object::elf::DT_HASH,
        object::elf::DT_STRTAB,
        object::elf::DT_SYMTAB,
        object::elf::DT_SONAME,
        object::elf::DT_VERSYM,
        object::elf::DT_VERDEF,
    ] {
        assert!(tags.contains(&t), "missing dynamic tag {t:?}");
    }
    assert_eq!(*tags.last().unwrap(), object::elf::DT_NULL);
    // The "Linux" note with the version code.
    assert_eq!(phdrs[2].p_type(endian), object::elf::PT_NOTE);
    let mut notes = phdrs[2].notes(endian, &img[..]).unwrap().unwrap();
    let note = notes.next().unwrap().unwrap();
    assert_eq!(note.name(), b"Linux");
    assert_eq!(note.desc(), &0x06_01_00u32.to_le_bytes());
    assert!(notes.next().unwrap().is_none());
}

/// The dynamic entries musl and glibc read: tag -> value.
fn dynamic_of(img: &[u8]) -> (u64, HashMap<u64, u64>) {
    let phoff = u64_at(img, 0x20);
    let phnum = u16_at(img, 0x38) as u64;
    let mut base = None;
    let mut dynv = None;
    for i in 0..phnum {
        let ph = phoff + i * 56;
        match u32_at(img, ph) {
            1 => base = Some(u64_at(img, ph + 8).wrapping_sub(u64_at(img, ph + 16))),
            2 => dynv = Some(u64_at(img, ph + 8)),
            _ => {}
        }
    }
    let (base, mut at) = (base.unwrap(), dynv.unwrap());
    let mut d = HashMap::new();
    loop {
        let (tag, val) = (u64_at(img, at), u64_at(img, at + 8));
        if tag == 0 {
            return (base, d);
        }
        d.insert(tag, val);
        at += 16;
    }
}

/// musl `src/internal/vdso.c`: symbol count from DT_HASH, linear scan,
/// type/binding/shndx filters, `checkver` through the verdef chain.
fn musl_lookup(img: &[u8], vername: &str, name: &str) -> Option<u64> {
    let (base, d) = dynamic_of(img);
    let strings = base + d[&5];
    let syms = base + d[&6];
    let hashtab = base + *d.get(&4)?;
    let versym = d.get(&0x6fff_fff0).map(|v| base + v);
    let verdef = d.get(&0x6fff_fffc).map(|v| base + v);
    let nsym = u32_at(img, hashtab + 4) as u64;
    for i in 0..nsym {
        let s = syms + i * 24;
        let info = img[s as usize + 4];
        const OK_TYPES: u32 = 1 << 0 | 1 << 1 | 1 << 2 | 1 << 5;
        const OK_BINDS: u32 = 1 << 1 | 1 << 2 | 1 << 10;
        if (1 << (info & 0xf)) & OK_TYPES == 0 || (1 << (info >> 4)) & OK_BINDS == 0 {
            continue;
        }
        if u16_at(img, s + 6) == 0 || cstr(img, strings + u64::from(u32_at(img, s))) != name {
            continue;
        }
        if let (Some(vs), Some(mut def)) = (versym, verdef) {
            let vsym = u16_at(img, vs + 2 * i) & 0x7fff;
            loop {
                if u16_at(img, def + 2) & 1 == 0 && u16_at(img, def + 4) & 0x7fff == vsym {
                    break;
                }
                let next = u32_at(img, def + 16);
                if next == 0 {
                    return None;
                }
                def += u64::from(next);
            }
            let aux = def + u64::from(u32_at(img, def + 12));
            if cstr(img, strings + u64::from(u32_at(img, aux))) != vername {
                continue;
            }
        }
        return Some(base + u64_at(img, s + 8));
    }
    None
}

/// glibc's DT_HASH lookup (`do_lookup_x` with `check_match`): bucket
/// chain, name compare, then the version index table built from DT_VERDEF
/// (`_dl_check_map_versions`) must give the same name and hash.
fn glibc_lookup(img: &[u8], vername: &str, vhash: u32, name: &str) -> Option<u64> {
    let (base, d) = dynamic_of(img);
    let strings = base + d[&5];
    let syms = base + d[&6];
    let hashtab = base + d[&4];
    let versym = base + d[&0x6fff_fff0];
    let mut versions: HashMap<u16, (String, u32)> = HashMap::new();
    let mut def = base + d[&0x6fff_fffc];
    for _ in 0..d[&0x6fff_fffd] {
        let aux = def + u64::from(u32_at(img, def + 12));
        let vname = cstr(img, strings + u64::from(u32_at(img, aux))).to_string();
        versions.insert(u16_at(img, def + 4) & 0x7fff, (vname, u32_at(img, def + 8)));
        def += u64::from(u32_at(img, def + 16));
    }
    let nbucket = u64::from(u32_at(img, hashtab));
    let bucket = |i: u64| u64::from(u32_at(img, hashtab + 8 + 4 * i));
    let chain = |i: u64| u64::from(u32_at(img, hashtab + 8 + 4 * nbucket + 4 * i));
    let mut i = bucket(u64::from(elf_hash(name.as_bytes())) % nbucket);
    while i != 0 {
        let s = syms + i * 24;
        if cstr(img, strings + u64::from(u32_at(img, s))) == name && u16_at(img, s + 6) != 0 {
            let ndx = u16_at(img, versym + 2 * i) & 0x7fff;
            let (vn, vh) = &versions[&ndx];
            if vn == vername && *vh == vhash {
                return Some(base + u64_at(img, s + 8));
            }
        }
        i = chain(i);
    }
    None
}

#[test]
fn musl_and_glibc_lookups_find_every_symbol() {
    let img = image();
    for e in entries() {
        let addr = TEXT_OFFSET + u64::from(e.offset);
        for name in [e.func.name(), e.func.vdso_name()] {
            assert_eq!(
                musl_lookup(&img, "LINUX_2.6", name),
                Some(addr),
                "musl {name}"
            );
            assert_eq!(
                glibc_lookup(&img, "LINUX_2.6", 61_765_110, name),
                Some(addr),
                "glibc {name}"
            );
        }
    }
    assert_eq!(musl_lookup(&img, "LINUX_2.6", "clock_settime"), None);
    assert_eq!(musl_lookup(&img, "LINUX_2.7", "__vdso_time"), None);
    assert_eq!(
        glibc_lookup(&img, "LINUX_2.6", 61_765_110, "__vdso_nothing"),
        None
    );
    // The base version is the soname, flagged VER_FLG_BASE.
    let (base, d) = dynamic_of(&img);
    assert_eq!(cstr(&img, base + d[&5] + d[&14]), SONAME);
}

#[test]
fn partial_entry_list_and_errors() {
    let code = [0x90u8; 64];
    let one = [Entry {
        func: Func::Time,
        offset: 8,
        size: 8,
    }];
    let img = build(&Spec {
        code: &code,
        entries: &one,
        linux_version: 0,
    })
    .unwrap();
    assert_eq!(
        musl_lookup(&img, "LINUX_2.6", "__vdso_time"),
        Some(TEXT_OFFSET + 8)
    );
    assert_eq!(musl_lookup(&img, "LINUX_2.6", "__vdso_clock_gettime"), None);

    let out = [Entry {
        func: Func::Time,
        offset: 60,
        size: 8,
    }];
    assert_eq!(
        build(&Spec {
            code: &code,
            entries: &out,
            linux_version: 0
        }),
        Err(BuildError::EntryOutOfRange)
    );
    let dup = [one[0], one[0]];
    assert_eq!(
        build(&Spec {
            code: &code,
            entries: &dup,
            linux_version: 0
        }),
        Err(BuildError::DuplicateEntry)
    );
    // No entries at all still gives a valid (empty) shared object.
    let img = build(&Spec {
        code: &code,
        entries: &[],
        linux_version: 0,
    })
    .unwrap();
    let file = ElfFile64::<object::Endianness>::parse(&img[..]).unwrap();
    assert_eq!(file.dynamic_symbols().count(), 0);
    assert!(file.symbol_by_index(SymbolIndex(1)).is_err());
}

#[test]
fn mult_shift_is_precise() {
    for hz in [
        1u64,
        1_000_000,
        100_000_000,
        999_999_999,
        1_000_000_000,
        1_000_000_001,
        2_100_000_000,
        2_899_999_000,
        3_000_000_000,
        5_400_000_000,
        u64::MAX,
    ] {
        let (mult, shift) = vvar::mult_shift(hz);
        assert!(shift <= 63);
        // One hour and ten years of ticks (where that fits in u64).
        for secs in [0u64, 1, 3600, 10 * 365 * 86_400] {
            let Some(ticks) = hz.checked_mul(secs) else {
                continue;
            };
            let exact = (u128::from(ticks) * 1_000_000_000 / u128::from(hz)) as u64;
            let got = vvar::ticks_to_ns(ticks, mult, shift);
            assert!(got >= exact, "hz {hz} secs {secs}: {got} < {exact}");
            // Error below 1 ns per 2^30 ns (about 1 ns per second).
            assert!(
                got - exact <= exact / (1 << 30) + 1,
                "hz {hz} secs {secs}: {got} vs {exact}"
            );
            if hz <= 10_000_000_000 {
                assert_eq!(vvar::ticks_to_ns(hz, mult, shift), 1_000_000_000, "hz {hz}");
            }
        }
    }
    assert_eq!(vvar::mult_shift(1_000_000_000), (1 << 63, 63));
    assert_eq!(vvar::ticks_to_ns(12_345, 1 << 63, 63), 12_345);
}

#[test]
fn ticks_to_ns_is_monotonic() {
    let (mult, shift) = vvar::mult_shift(2_899_999_000);
    let mut last = 0;
    for t in (0..10_000_000u64)
        .step_by(7)
        .chain([u64::MAX / 4, u64::MAX / 2])
    {
        let ns = vvar::ticks_to_ns(t, mult, shift);
        assert!(ns >= last);
        last = ns;
    }
}

fn sample() -> Data {
    let (mult, shift) = vvar::mult_shift(3_000_000_000);
    Data {
        clock_mode: vvar::CLOCK_MODE_TSC,
        boot_tsc: 1_000,
        mult,
        shift,
        realtime_offset: 1_700_000_000_000_000_000,
        tai_offset: 1_700_000_037_000_000_000,
        hres_res: 1,
        coarse_res: 4_000_000,
        getcpu_mode: vvar::GETCPU_RDTSCP,
    }
}

#[test]
fn layout_and_clock_selection() {
    let d = sample();
    assert_eq!(Data::from_words(&d.words()), d);
    let offsets = [
        vvar::SEQ,
        vvar::CLOCK_MODE,
        vvar::BOOT_TSC,
        vvar::MULT,
        vvar::SHIFT,
        vvar::REALTIME_OFFSET,
        vvar::TAI_OFFSET,
        vvar::HRES_RES,
        vvar::COARSE_RES,
        vvar::GETCPU_MODE,
    ];
    for (i, o) in offsets.iter().enumerate() {
        assert_eq!(*o, 8 * i, "offsets are consecutive words");
    }
    assert_eq!(offsets.len(), vvar::WORDS);
    let tsc = 1_000 + 3_000_000_000; // one second after boot
    assert_eq!(d.clock_ns(1, tsc), Some(1_000_000_000));
    for id in [1, 4, 6, 7] {
        assert_eq!(d.clock_ns(id, tsc), Some(1_000_000_000), "clock {id}");
    }
    for id in [0, 5] {
        assert_eq!(
            d.clock_ns(id, tsc),
            Some(1_700_000_001_000_000_000),
            "clock {id}"
        );
    }
    assert_eq!(d.clock_ns(11, tsc), Some(1_700_000_038_000_000_000));
    for id in [2, 3, 8, 9, 10, 12, 31, 32, u32::MAX] {
        assert_eq!(d.clock_ns(id, tsc), None, "clock {id} goes to the syscall");
    }
    // TSC before boot_tsc clamps to 0.
    assert_eq!(d.clock_ns(1, 0), Some(0));
    let off = Data {
        clock_mode: vvar::CLOCK_MODE_NONE,
        ..d
    };
    assert_eq!(off.clock_ns(1, tsc), None);
    let negative = Data {
        realtime_offset: -5_000_000_000,
        ..d
    };
    assert_eq!(
        negative.clock_ns(0, tsc),
        None,
        "negative REALTIME goes to the syscall"
    );
}

#[test]
fn seqlock_round_trip_and_sequence() {
    let page: Vec<AtomicU64> = (0..512).map(|_| AtomicU64::new(0)).collect();
    let d = sample();
    vvar::publish(&page, &d);
    assert_eq!(page[0].load(Ordering::Relaxed), 2);
    assert_eq!(vvar::read(&page), d);
    let d2 = Data {
        realtime_offset: 42,
        ..d
    };
    vvar::publish(&page, &d2);
    assert_eq!(page[0].load(Ordering::Relaxed), 4);
    assert_eq!(vvar::read(&page), d2);
    assert!(page[vvar::WORDS..]
        .iter()
        .all(|w| w.load(Ordering::Relaxed) == 0));
}

#[test]
fn seqlock_readers_never_see_torn_data() {
    let page: Arc<Vec<AtomicU64>> = Arc::new((0..512).map(|_| AtomicU64::new(0)).collect());
    // Every published Data has realtime_offset == boot_tsc == tai_offset.
    let gen = |i: u64| Data {
        boot_tsc: i,
        realtime_offset: i as i64,
        tai_offset: i as i64,
        mult: i,
        ..sample()
    };
    vvar::publish(&page, &gen(0));
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (page, stop) = (page.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let d = vvar::read(&page);
                    assert_eq!(d.realtime_offset, d.boot_tsc as i64);
                    assert_eq!(d.tai_offset, d.boot_tsc as i64);
                    assert_eq!(d.mult, d.boot_tsc);
                    n += 1;
                }
                n
            })
        })
        .collect();
    for i in 1..200_000 {
        vvar::publish(&page, &gen(i));
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
}
