//! The oxv vDSO (man 7 vdso): a tiny ELF shared object the kernel maps into
//! every program so it can read the clocks and its CPU number without a
//! system call.
//!
//! This crate is the pure half, testable on the host:
//!
//! - [`build`] wraps a blob of position-independent machine code into the
//!   image Linux's x86-64 vDSO looks like to a C library: an `ET_DYN` ELF
//!   linked at address 0 with one `PT_LOAD`, `PT_DYNAMIC` and a `PT_NOTE`
//!   (the "Linux" version note), `.dynsym`/`.dynstr`, a SysV `.hash`
//!   (`DT_HASH`: musl reads only that, glibc takes it when there is no
//!   `DT_GNU_HASH`), `DT_SONAME` `linux-vdso.so.1` and symbol versions
//!   (`DT_VERSYM`/`DT_VERDEF`: base version plus `LINUX_2.6`). Each function
//!   of [`Func`] is exported twice, as `__vdso_<name>` (global) and
//!   `<name>` (weak), both at version `LINUX_2.6`, as Linux does. glibc
//!   looks them up by name and version, musl by name and checks the
//!   version through `DT_VERSYM` when present.
//! - [`vvar`]: the layout of the data page mapped right below the image,
//!   which the code reads RIP-relative, its seqlock writer and reader, and
//!   the TSC-to-nanosecond scaling shared by the kernel's own clocks and
//!   the vDSO (so both give the same time for the same TSC value).
//!
//! The machine code itself is assembly in `oxv-hal` (where all assembly
//! lives); it is placed at [`TEXT_OFFSET`] in the image and finds the vvar
//! page at `image start - vvar::SIZE`. The kernel (`kernel/src/linux/vdso.rs`)
//! builds the image once at boot, maps vvar + image into each new address
//! space and passes the image address as `AT_SYSINFO_EHDR`.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;

pub mod vvar;

/// Where the code blob starts in the image. Everything else (ELF header,
/// program and section headers, symbol, string, hash and version tables)
/// must fit below it; the code finds the vvar page at a fixed distance
/// from its own start, `TEXT_OFFSET + vvar::SIZE`.
pub const TEXT_OFFSET: u64 = 0x800;

/// `DT_SONAME` of Linux's x86-64 vDSO.
pub const SONAME: &str = "linux-vdso.so.1";

/// The symbol version of every exported function.
pub const VERSION: &str = "LINUX_2.6";

/// The functions the vDSO exports (Linux x86-64 names, man 7 vdso).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Func {
    /// `clock_gettime(clockid_t, struct timespec *)`.
    ClockGettime,
    /// `gettimeofday(struct timeval *, struct timezone *)`.
    Gettimeofday,
    /// `time(time_t *)`.
    Time,
    /// `getcpu(unsigned *cpu, unsigned *node, void *cache)`.
    Getcpu,
    /// `clock_getres(clockid_t, struct timespec *)`.
    ClockGetres,
}

impl Func {
    /// Every function, in the order of their symbols in `.dynsym`.
    pub const ALL: [Func; 5] = [
        Func::ClockGettime,
        Func::Gettimeofday,
        Func::Time,
        Func::Getcpu,
        Func::ClockGetres,
    ];

    /// The plain name (`clock_gettime`), exported as a weak alias.
    pub const fn name(self) -> &'static str {
        match self {
            Func::ClockGettime => "clock_gettime",
            Func::Gettimeofday => "gettimeofday",
            Func::Time => "time",
            Func::Getcpu => "getcpu",
            Func::ClockGetres => "clock_getres",
        }
    }

    /// The prefixed name (`__vdso_clock_gettime`), exported as global.
    pub const fn vdso_name(self) -> &'static str {
        match self {
            Func::ClockGettime => "__vdso_clock_gettime",
            Func::Gettimeofday => "__vdso_gettimeofday",
            Func::Time => "__vdso_time",
            Func::Getcpu => "__vdso_getcpu",
            Func::ClockGetres => "__vdso_clock_getres",
        }
    }
}

/// One function in the code blob: its entry at `offset` bytes from the
/// blob's start, `size` bytes long (for `st_size`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Which function.
    pub func: Func,
    /// Offset of the entry point in the code blob.
    pub offset: u32,
    /// Length of the function in bytes.
    pub size: u32,
}

/// What to build.
#[derive(Clone, Copy, Debug)]
pub struct Spec<'a> {
    /// Position-independent machine code, placed at [`TEXT_OFFSET`].
    pub code: &'a [u8],
    /// Exported functions (each at most once).
    pub entries: &'a [Entry],
    /// `LINUX_VERSION_CODE` for the "Linux" ELF note:
    /// `major << 16 | minor << 8 | patch`.
    pub linux_version: u32,
}

/// Why [`build`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildError {
    /// The headers and tables do not fit below [`TEXT_OFFSET`].
    HeadersTooBig,
    /// An entry lies outside the code blob.
    EntryOutOfRange,
    /// A function is listed twice.
    DuplicateEntry,
}

impl core::fmt::Display for BuildError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            BuildError::HeadersTooBig => "vDSO headers do not fit below the text",
            BuildError::EntryOutOfRange => "vDSO entry point outside the code",
            BuildError::DuplicateEntry => "vDSO function listed twice",
        })
    }
}

/// The SysV ELF hash (`DT_HASH` buckets, `vd_hash` of version definitions).
pub fn elf_hash(name: &[u8]) -> u32 {
    let mut h: u32 = 0;
    for &c in name {
        h = (h << 4).wrapping_add(u32::from(c));
        let g = h & 0xf000_0000;
        if g != 0 {
            h ^= g >> 24;
        }
        h &= !g;
    }
    h
}

// ELF constants (System V gABI, LSB symbol versioning, x86-64 psABI).
const ET_DYN: u16 = 3;
const EM_X86_64: u16 = 62;
const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PT_NOTE: u32 = 4;
const PF_X: u32 = 1;
const PF_R: u32 = 4;
const SHT_PROGBITS: u32 = 1;
const SHT_STRTAB: u32 = 3;
const SHT_HASH: u32 = 5;
const SHT_DYNAMIC: u32 = 6;
const SHT_NOTE: u32 = 7;
const SHT_DYNSYM: u32 = 11;
const SHT_GNU_VERDEF: u32 = 0x6fff_fffd;
const SHT_GNU_VERSYM: u32 = 0x6fff_ffff;
const SHF_ALLOC: u64 = 2;
const SHF_EXECINSTR: u64 = 4;
const STB_GLOBAL: u8 = 1;
const STB_WEAK: u8 = 2;
const STT_FUNC: u8 = 2;
const DT_NULL: u64 = 0;
const DT_HASH: u64 = 4;
const DT_STRTAB: u64 = 5;
const DT_SYMTAB: u64 = 6;
const DT_STRSZ: u64 = 10;
const DT_SYMENT: u64 = 11;
const DT_SONAME: u64 = 14;
const DT_VERSYM: u64 = 0x6fff_fff0;
const DT_VERDEF: u64 = 0x6fff_fffc;
const DT_VERDEFNUM: u64 = 0x6fff_fffd;
const VER_FLG_BASE: u16 = 1;

const EHDR_SIZE: usize = 64;
const PHDR_SIZE: usize = 56;
const SHDR_SIZE: usize = 64;
const SYM_SIZE: usize = 24;
const VERDEF_SIZE: usize = 20;
const VERDAUX_SIZE: usize = 8;
const PHNUM: usize = 3;

// Section indices: null, .hash, .dynsym, .dynstr, .gnu.version,
// .gnu.version_d, .note.Linux, .dynamic, .text, .shstrtab.
const SH_DYNSYM: u32 = 2;
const SH_DYNSTR: u32 = 3;
const SH_TEXT: u16 = 8;
const SH_SHSTRTAB: u32 = 9;
const SHNUM: usize = 10;

/// Little-endian writer into a growing byte vector.
struct Out(Vec<u8>);

impl Out {
    fn align(&mut self, a: usize) -> usize {
        while !self.0.len().is_multiple_of(a) {
            self.0.push(0);
        }
        self.0.len()
    }
    fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.0.extend_from_slice(b);
        self
    }
    fn put_u32(&mut self, at: usize, v: u32) {
        self.0[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    fn put_u64(&mut self, at: usize, v: u64) {
        self.0[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }
}

/// A string table under construction.
struct StrTab(Vec<u8>);

impl StrTab {
    fn new() -> Self {
        StrTab(alloc::vec![0])
    }
    fn add(&mut self, s: &str) -> u32 {
        let at = self.0.len() as u32;
        self.0.extend_from_slice(s.as_bytes());
        self.0.push(0);
        at
    }
}

/// One exported symbol.
struct Sym {
    name: &'static str,
    name_off: u32,
    bind: u8,
    value: u64,
    size: u64,
}

/// A section header's fields, in order.
struct Shdr {
    name: u32,
    kind: u32,
    flags: u64,
    offset: u64,
    size: u64,
    link: u32,
    info: u32,
    align: u64,
    entsize: u64,
}

/// Builds the vDSO image described by `spec` (see the crate docs for its
/// shape). Addresses in the image are relative to its start (it is linked
/// at 0); the whole image is one read+execute `PT_LOAD`.
pub fn build(spec: &Spec<'_>) -> Result<Vec<u8>, BuildError> {
    for (i, e) in spec.entries.iter().enumerate() {
        let end = u64::from(e.offset) + u64::from(e.size);
        if end > spec.code.len() as u64 || e.size == 0 {
            return Err(BuildError::EntryOutOfRange);
        }
        if spec.entries[..i].iter().any(|o| o.func == e.func) {
            return Err(BuildError::DuplicateEntry);
        }
    }

    // Symbols: index 0 is the null symbol; then per function the weak
    // plain name and the global prefixed name.
    let mut dynstr = StrTab::new();
    let mut syms: Vec<Sym> = Vec::new();
    for e in spec.entries {
        let value = TEXT_OFFSET + u64::from(e.offset);
        for (name, bind) in [(e.func.name(), STB_WEAK), (e.func.vdso_name(), STB_GLOBAL)] {
            syms.push(Sym {
                name,
                name_off: dynstr.add(name),
                bind,
                value,
                size: u64::from(e.size),
            });
        }
    }
    let soname_off = dynstr.add(SONAME);
    let version_off = dynstr.add(VERSION);
    let nsyms = syms.len() + 1;

    let mut shstr = StrTab::new();
    let sh_names = [
        0,
        shstr.add(".hash"),
        shstr.add(".dynsym"),
        shstr.add(".dynstr"),
        shstr.add(".gnu.version"),
        shstr.add(".gnu.version_d"),
        shstr.add(".note.Linux"),
        shstr.add(".dynamic"),
        shstr.add(".text"),
        shstr.add(".shstrtab"),
    ];

    let mut o = Out(Vec::with_capacity(TEXT_OFFSET as usize + spec.code.len()));
    // ELF header; e_shoff is patched once known.
    o.bytes(b"\x7fELF").u8(2).u8(1).u8(1).u8(0).bytes(&[0; 8]);
    o.u16(ET_DYN).u16(EM_X86_64).u32(1).u64(0);
    o.u64(EHDR_SIZE as u64);
    let shoff_at = o.0.len();
    o.u64(0)
        .u32(0)
        .u16(EHDR_SIZE as u16)
        .u16(PHDR_SIZE as u16)
        .u16(PHNUM as u16);
    o.u16(SHDR_SIZE as u16)
        .u16(SHNUM as u16)
        .u16(SH_SHSTRTAB as u16);
    // Program headers, patched below.
    let phdr_at = o.0.len();
    o.bytes(&[0; PHDR_SIZE * PHNUM]);

    // .hash: nbucket, nchain, buckets, chains.
    let hash_off = o.align(8);
    let nbucket = nsyms.max(1);
    let mut buckets = alloc::vec![0u32; nbucket];
    let mut chains = alloc::vec![0u32; nsyms];
    for (i, s) in syms.iter().enumerate() {
        let idx = i + 1;
        let b = elf_hash(s.name.as_bytes()) as usize % nbucket;
        chains[idx] = buckets[b];
        buckets[b] = idx as u32;
    }
    o.u32(nbucket as u32).u32(nsyms as u32);
    buckets.iter().chain(chains.iter()).for_each(|&w| {
        o.u32(w);
    });
    let hash_size = o.0.len() - hash_off;

    // .dynsym
    let dynsym_off = o.align(8);
    o.bytes(&[0; SYM_SIZE]);
    for s in &syms {
        o.u32(s.name_off)
            .u8(s.bind << 4 | STT_FUNC)
            .u8(0)
            .u16(SH_TEXT)
            .u64(s.value)
            .u64(s.size);
    }
    let dynsym_size = o.0.len() - dynsym_off;

    // .dynstr
    let dynstr_off = o.0.len();
    o.bytes(&dynstr.0);

    // .gnu.version: local for the null symbol, LINUX_2.6 (index 2) for all.
    let versym_off = o.align(2);
    o.u16(0);
    for _ in &syms {
        o.u16(2);
    }

    // .gnu.version_d: the base version (the soname) and LINUX_2.6.
    let verdef_off = o.align(4);
    let verdef_entry = (VERDEF_SIZE + VERDAUX_SIZE) as u32;
    for (ndx, flags, name, name_off, next) in [
        (1u16, VER_FLG_BASE, SONAME, soname_off, verdef_entry),
        (2, 0, VERSION, version_off, 0),
    ] {
        o.u16(1)
            .u16(flags)
            .u16(ndx)
            .u16(1)
            .u32(elf_hash(name.as_bytes()));
        o.u32(VERDEF_SIZE as u32).u32(next);
        o.u32(name_off).u32(0);
    }

    // The "Linux" note: LINUX_VERSION_CODE, as Linux's vDSO carries.
    let note_off = o.align(4);
    o.u32(6)
        .u32(4)
        .u32(0)
        .bytes(b"Linux\0\0\0")
        .u32(spec.linux_version);
    let note_size = o.0.len() - note_off;

    // .dynamic (d_ptr values are image offsets: the image is linked at 0).
    let dynamic_off = o.align(8);
    for (tag, val) in [
        (DT_HASH, hash_off as u64),
        (DT_STRTAB, dynstr_off as u64),
        (DT_SYMTAB, dynsym_off as u64),
        (DT_STRSZ, dynstr.0.len() as u64),
        (DT_SYMENT, SYM_SIZE as u64),
        (DT_SONAME, u64::from(soname_off)),
        (DT_VERSYM, versym_off as u64),
        (DT_VERDEF, verdef_off as u64),
        (DT_VERDEFNUM, 2),
        (DT_NULL, 0),
    ] {
        o.u64(tag).u64(val);
    }
    let dynamic_size = o.0.len() - dynamic_off;

    // .shstrtab and the section headers (not needed at run time, but they
    // let debuggers and `object`/`readelf` see the symbols).
    let shstrtab_off = o.0.len();
    o.bytes(&shstr.0);
    let shoff = o.align(8);
    let text_len = spec.code.len() as u64;
    let sections = [
        Shdr {
            name: 0,
            kind: 0,
            flags: 0,
            offset: 0,
            size: 0,
            link: 0,
            info: 0,
            align: 0,
            entsize: 0,
        },
        Shdr {
            name: sh_names[1],
            kind: SHT_HASH,
            flags: SHF_ALLOC,
            offset: hash_off as u64,
            size: hash_size as u64,
            link: SH_DYNSYM,
            info: 0,
            align: 8,
            entsize: 4,
        },
        Shdr {
            name: sh_names[2],
            kind: SHT_DYNSYM,
            flags: SHF_ALLOC,
            offset: dynsym_off as u64,
            size: dynsym_size as u64,
            link: SH_DYNSTR,
            info: 1,
            align: 8,
            entsize: SYM_SIZE as u64,
        },
        Shdr {
            name: sh_names[3],
            kind: SHT_STRTAB,
            flags: SHF_ALLOC,
            offset: dynstr_off as u64,
            size: dynstr.0.len() as u64,
            link: 0,
            info: 0,
            align: 1,
            entsize: 0,
        },
        Shdr {
            name: sh_names[4],
            kind: SHT_GNU_VERSYM,
            flags: SHF_ALLOC,
            offset: versym_off as u64,
            size: 2 * nsyms as u64,
            link: SH_DYNSYM,
            info: 0,
            align: 2,
            entsize: 2,
        },
        Shdr {
            name: sh_names[5],
            kind: SHT_GNU_VERDEF,
            flags: SHF_ALLOC,
            offset: verdef_off as u64,
            size: 2 * u64::from(verdef_entry),
            link: SH_DYNSTR,
            info: 2,
            align: 4,
            entsize: 0,
        },
        Shdr {
            name: sh_names[6],
            kind: SHT_NOTE,
            flags: SHF_ALLOC,
            offset: note_off as u64,
            size: note_size as u64,
            link: 0,
            info: 0,
            align: 4,
            entsize: 0,
        },
        Shdr {
            name: sh_names[7],
            kind: SHT_DYNAMIC,
            flags: SHF_ALLOC,
            offset: dynamic_off as u64,
            size: dynamic_size as u64,
            link: SH_DYNSTR,
            info: 0,
            align: 8,
            entsize: 16,
        },
        Shdr {
            name: sh_names[8],
            kind: SHT_PROGBITS,
            flags: SHF_ALLOC | SHF_EXECINSTR,
            offset: TEXT_OFFSET,
            size: text_len,
            link: 0,
            info: 0,
            align: 16,
            entsize: 0,
        },
        Shdr {
            name: sh_names[9],
            kind: SHT_STRTAB,
            flags: 0,
            offset: shstrtab_off as u64,
            size: shstr.0.len() as u64,
            link: 0,
            info: 0,
            align: 1,
            entsize: 0,
        },
    ];
    for s in &sections {
        // Allocated sections have their offset as address (linked at 0).
        let addr = if s.flags & SHF_ALLOC != 0 {
            s.offset
        } else {
            0
        };
        o.u32(s.name)
            .u32(s.kind)
            .u64(s.flags)
            .u64(addr)
            .u64(s.offset)
            .u64(s.size);
        o.u32(s.link).u32(s.info).u64(s.align).u64(s.entsize);
    }
    if o.0.len() as u64 > TEXT_OFFSET {
        return Err(BuildError::HeadersTooBig);
    }
    o.put_u64(shoff_at, shoff as u64);

    o.0.resize(TEXT_OFFSET as usize, 0);
    o.bytes(spec.code);
    let total = o.0.len() as u64;

    let phdrs = [
        (PT_LOAD, PF_R | PF_X, 0u64, total, 4096u64),
        (PT_DYNAMIC, PF_R, dynamic_off as u64, dynamic_size as u64, 8),
        (PT_NOTE, PF_R, note_off as u64, note_size as u64, 4),
    ];
    for (i, (kind, flags, off, size, align)) in phdrs.into_iter().enumerate() {
        let at = phdr_at + i * PHDR_SIZE;
        o.put_u32(at, kind);
        o.put_u32(at + 4, flags);
        for (j, v) in [off, off, off, size, size, align].into_iter().enumerate() {
            o.put_u64(at + 8 + 8 * j, v);
        }
    }
    Ok(o.0)
}

#[cfg(test)]
mod tests;
