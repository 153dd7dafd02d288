//! ELF64 header and program header validation ([`parse`]) and the view of a
//! validated program ([`Elf`]).
//!
//! Layouts follow the System V gABI ("ELF Header", "Program Header"); the
//! checks follow what Linux `fs/binfmt_elf.c` (`load_elf_binary`,
//! `load_elf_phdrs`) needs to map a program, made stricter where a file would
//! only crash later (segments past the end of the file, entry point outside
//! executable code).

use core::fmt;

/// Page size the loader works with (x86-64 base pages).
pub const PAGE_SIZE: u64 = 4096;
/// First address above the user half: Linux `TASK_SIZE_MAX` for 4-level
/// paging (`0x0000_8000_0000_0000` minus one guard page). Every loaded byte
/// must lie below it.
pub const USER_END: u64 = 0x0000_7fff_ffff_f000;
/// Default base for `ET_DYN` programs: Linux `ELF_ET_DYN_BASE` on x86-64
/// without address randomization (where gdb shows PIE programs).
pub const DYN_BASE: u64 = 0x5555_5555_4000;

/// Size of one ELF64 program header (`e_phentsize`).
pub const PHDR_SIZE: usize = 56;
const EHDR_SIZE: usize = 64;
/// Linux refuses program header tables larger than 64 KiB.
const MAX_PHNUM: usize = 65536 / PHDR_SIZE;
/// Linux bounds `PT_INTERP` by `PATH_MAX`, terminating NUL included.
const MAX_INTERP: u64 = 4096;

/// `e_machine` of x86-64 programs.
pub const EM_X86_64: u16 = 62;
/// `e_type`: relocatable object file (`.o`).
pub const ET_REL: u16 = 1;
/// `e_type`: executable at fixed addresses.
pub const ET_EXEC: u16 = 2;
/// `e_type`: position-independent (PIE, static-pie, shared object).
pub const ET_DYN: u16 = 3;
/// `e_type`: core dump.
pub const ET_CORE: u16 = 4;

/// `p_type`: unused entry.
pub const PT_NULL: u32 = 0;
/// `p_type`: loadable segment.
pub const PT_LOAD: u32 = 1;
/// `p_type`: dynamic linking information.
pub const PT_DYNAMIC: u32 = 2;
/// `p_type`: path of the program interpreter (dynamic linker).
pub const PT_INTERP: u32 = 3;
/// `p_type`: notes.
pub const PT_NOTE: u32 = 4;
/// `p_type`: the program header table itself.
pub const PT_PHDR: u32 = 6;
/// `p_type`: thread-local storage template.
pub const PT_TLS: u32 = 7;
/// `p_type`: `.eh_frame_hdr` (GNU).
pub const PT_GNU_EH_FRAME: u32 = 0x6474_e550;
/// `p_type`: stack permissions (GNU); `PF_X` means executable stack.
pub const PT_GNU_STACK: u32 = 0x6474_e551;
/// `p_type`: read-only after relocation (GNU).
pub const PT_GNU_RELRO: u32 = 0x6474_e552;
/// `p_type`: `.note.gnu.property` (GNU).
pub const PT_GNU_PROPERTY: u32 = 0x6474_e553;

/// `p_flags`: executable.
pub const PF_X: u32 = 1;
/// `p_flags`: writable.
pub const PF_W: u32 = 2;
/// `p_flags`: readable.
pub const PF_R: u32 = 4;

/// Why a file is not a program oxv can run. `Display` gives a one-line
/// message for users; segment numbers are program header indices, as
/// `readelf -l` counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ElfError {
    /// No ELF magic (`\x7fELF`).
    NotElf,
    /// The file ends inside the ELF header.
    TruncatedHeader,
    /// `EI_CLASS` is `ELFCLASS32`.
    Not64Bit,
    /// `EI_DATA` is `ELFDATA2MSB`.
    BigEndian,
    /// `EI_CLASS` or `EI_DATA` holds an undefined value.
    BadIdent,
    /// `EI_VERSION` or `e_version` is not `EV_CURRENT` (1).
    BadVersion,
    /// `e_machine` is not `EM_X86_64`; holds the machine found.
    WrongMachine(u16),
    /// `e_type` is neither `ET_EXEC` nor `ET_DYN`; holds the type found.
    NotExecutable(u16),
    /// `e_phentsize` is not 56; holds the size found.
    BadPhentsize(u16),
    /// `e_phnum` is 0 or the table is larger than 64 KiB; holds `e_phnum`.
    BadPhnum(u16),
    /// The program header table extends past the end of the file.
    TruncatedProgramHeaders,
    /// The file bytes of a `PT_LOAD` segment extend past the end of the file.
    TruncatedSegment {
        /// Program header index.
        index: usize,
    },
    /// A `PT_LOAD` segment has `p_filesz > p_memsz`.
    FileSizeExceedsMemSize {
        /// Program header index.
        index: usize,
    },
    /// A `PT_LOAD` segment's `p_align` is not 0, 1 or a power of two.
    BadAlignment {
        /// Program header index.
        index: usize,
    },
    /// A `PT_LOAD` segment's `p_vaddr` and `p_offset` differ modulo the page
    /// size or modulo `p_align`, so it cannot be mapped.
    Misaligned {
        /// Program header index.
        index: usize,
    },
    /// A `PT_LOAD` segment's `p_vaddr + p_memsz` wraps around.
    AddressOverflow {
        /// Program header index.
        index: usize,
    },
    /// A `PT_LOAD` segment of an `ET_EXEC` file reaches [`USER_END`] or above.
    OutsideUserSpace {
        /// Program header index.
        index: usize,
    },
    /// `PT_LOAD` segments are not in ascending `p_vaddr` order.
    Unsorted {
        /// Program header index of the segment out of order.
        index: usize,
    },
    /// Two `PT_LOAD` segments overlap in memory.
    Overlap {
        /// Program header index of the later segment.
        index: usize,
    },
    /// The file has no `PT_LOAD` segment.
    NoLoadSegments,
    /// The span of the `ET_DYN` image does not fit in the user half.
    ImageTooLarge,
    /// The entry point is not inside an executable `PT_LOAD` segment.
    BadEntry(u64),
    /// `PT_INTERP` extends past the end of the file.
    TruncatedInterp,
    /// `PT_INTERP` is empty, longer than `PATH_MAX` or not NUL-terminated.
    BadInterp,
}

fn machine_name(m: u16) -> Option<&'static str> {
    Some(match m {
        0 => "no machine",
        2 => "sparc",
        3 => "i386",
        8 => "mips",
        20 => "powerpc",
        21 => "ppc64",
        22 => "s390",
        40 => "arm (32-bit)",
        43 => "sparc64",
        50 => "ia64",
        183 => "aarch64",
        243 => "riscv",
        258 => "loongarch",
        _ => return None,
    })
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ElfError::*;
        match *self {
            NotElf => f.write_str("not an ELF file"),
            TruncatedHeader => f.write_str("truncated: file ends inside the ELF header"),
            Not64Bit => f.write_str("32-bit ELF (only x86-64 64-bit programs run)"),
            BigEndian => f.write_str("big-endian ELF (only x86-64 programs run)"),
            BadIdent => f.write_str("damaged ELF header (invalid class or byte order)"),
            BadVersion => f.write_str("unsupported ELF version"),
            WrongMachine(m) => match machine_name(m) {
                Some(name) => write!(f, "built for {name}, not x86-64"),
                None => write!(f, "built for machine type {m}, not x86-64"),
            },
            NotExecutable(ET_REL) => f.write_str("relocatable object file, not an executable"),
            NotExecutable(ET_CORE) => f.write_str("core dump, not an executable"),
            NotExecutable(t) => write!(f, "unknown ELF file type {t:#x}, not an executable"),
            BadPhentsize(n) => write!(f, "bad program header entry size {n} (expected 56)"),
            BadPhnum(0) => f.write_str("no program headers"),
            BadPhnum(n) => write!(f, "too many program headers ({n})"),
            TruncatedProgramHeaders => {
                f.write_str("truncated: program header table extends past end of file")
            }
            TruncatedSegment { index } => {
                write!(f, "truncated: segment {index} extends past end of file")
            }
            FileSizeExceedsMemSize { index } => {
                write!(f, "segment {index}: file size larger than memory size")
            }
            BadAlignment { index } => {
                write!(f, "segment {index}: alignment is not a power of two")
            }
            Misaligned { index } => write!(
                f,
                "segment {index}: address and file offset disagree modulo the alignment"
            ),
            AddressOverflow { index } => {
                write!(f, "segment {index}: address range wraps around")
            }
            OutsideUserSpace { index } => {
                write!(f, "segment {index} lies outside the user address range")
            }
            Unsorted { index } => {
                write!(f, "segment {index} is not in ascending address order")
            }
            Overlap { index } => write!(f, "segment {index} overlaps an earlier segment"),
            NoLoadSegments => f.write_str("no loadable segments"),
            ImageTooLarge => f.write_str("program image too large for the address space"),
            BadEntry(e) => write!(f, "entry point {e:#x} is not in an executable segment"),
            TruncatedInterp => f.write_str("truncated: interpreter path extends past end of file"),
            BadInterp => f.write_str("invalid interpreter path (PT_INTERP)"),
        }
    }
}

impl core::error::Error for ElfError {}

/// Whether addresses are absolute or need a load bias.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `ET_EXEC`: loads at the addresses in the file (bias 0).
    Exec,
    /// `ET_DYN`: PIE or static-pie; loads anywhere, see [`Elf::load_bias`].
    Dyn,
}

/// One raw program header (`Elf64_Phdr`), fields as in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgramHeader {
    /// Segment type (`PT_*`).
    pub p_type: u32,
    /// Permission flags (`PF_*`).
    pub flags: u32,
    /// File offset of the segment.
    pub offset: u64,
    /// Virtual address (before bias).
    pub vaddr: u64,
    /// Physical address (unused by Linux).
    pub paddr: u64,
    /// Bytes in the file.
    pub filesz: u64,
    /// Bytes in memory.
    pub memsz: u64,
    /// Alignment.
    pub align: u64,
}

impl ProgramHeader {
    fn read(b: &[u8]) -> Self {
        ProgramHeader {
            p_type: le32(b, 0),
            flags: le32(b, 4),
            offset: le64(b, 8),
            vaddr: le64(b, 16),
            paddr: le64(b, 24),
            filesz: le64(b, 32),
            memsz: le64(b, 40),
            align: le64(b, 48),
        }
    }
}

/// Memory permissions of a segment, from `p_flags`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SegmentFlags {
    /// `PF_R`.
    pub readable: bool,
    /// `PF_W`.
    pub writable: bool,
    /// `PF_X`.
    pub executable: bool,
}

impl SegmentFlags {
    /// Decodes `p_flags`.
    pub fn from_bits(flags: u32) -> Self {
        SegmentFlags {
            readable: flags & PF_R != 0,
            writable: flags & PF_W != 0,
            executable: flags & PF_X != 0,
        }
    }
}

/// A validated `PT_LOAD` segment: `memsz` bytes at `vaddr` (+ bias), the
/// first `filesz` of which are `data`, the rest zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadSegment<'a> {
    /// Program header index.
    pub index: usize,
    /// Virtual address (before bias; not necessarily page-aligned).
    pub vaddr: u64,
    /// Size in memory.
    pub memsz: u64,
    /// File offset of `data`.
    pub file_offset: u64,
    /// Size in the file (`<= memsz`).
    pub filesz: u64,
    /// Permissions.
    pub flags: SegmentFlags,
    /// The `filesz` file bytes of the segment.
    pub data: &'a [u8],
}

/// The `PT_TLS` template, as in the file. Not validated: the C library reads
/// it itself (through `AT_PHDR`), the kernel only passes it on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tls {
    /// Address of the initialization image (before bias).
    pub vaddr: u64,
    /// Size of the initialization image.
    pub filesz: u64,
    /// Total size of the TLS block.
    pub memsz: u64,
    /// Alignment of the TLS block.
    pub align: u64,
}

/// A validated ELF64 x86-64 executable borrowed from its file bytes.
///
/// Every `PT_LOAD` segment lies within the file, is mappable (address and
/// offset congruent modulo the page size), does not wrap, and does not overlap
/// another; segments are in ascending order; the entry point is inside an
/// executable segment. For [`Kind::Exec`] the whole image is below
/// [`USER_END`].
#[derive(Debug, Clone, Copy)]
pub struct Elf<'a> {
    bytes: &'a [u8],
    kind: Kind,
    entry: u64,
    phoff: u64,
    phnum: u16,
    span: (u64, u64),
    max_align: u64,
    phdr_vaddr: Option<u64>,
    interp: Option<&'a [u8]>,
    tls: Option<Tls>,
    stack_executable: bool,
}

fn le16(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}

fn le32(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

fn le64(b: &[u8], o: usize) -> u64 {
    let mut a = [0; 8];
    a.copy_from_slice(&b[o..o + 8]);
    u64::from_le_bytes(a)
}

/// `bytes[offset..offset + len]`, or `None` if any of it is outside.
fn range(bytes: &[u8], offset: u64, len: u64) -> Option<&[u8]> {
    let start = usize::try_from(offset).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    bytes.get(start..end)
}

fn page_down(a: u64) -> u64 {
    a & !(PAGE_SIZE - 1)
}

/// Validates `bytes` as an ELF64 x86-64 executable (see [`Elf`] for what
/// holds afterwards). Never panics, whatever the input.
pub fn parse(bytes: &[u8]) -> Result<Elf<'_>, ElfError> {
    parse_impl(bytes, bytes.len() as u64)
}

/// Parses from the first bytes of a file of `file_len` bytes: `head` must
/// hold the ELF header, the program header table and the PT_INTERP string
/// (the first page or two of any normal program), else the error says
/// which is cut off. Segment bounds are checked against `file_len`.
/// [`LoadSegment::data`] then holds only the part of a segment inside
/// `head`; loaders that page segments in from the file do not use it.
pub fn parse_headers(head: &[u8], file_len: u64) -> Result<Elf<'_>, ElfError> {
    if (head.len() as u64) > file_len {
        return Err(ElfError::TruncatedHeader);
    }
    parse_impl(head, file_len)
}

fn parse_impl(bytes: &[u8], file_len: u64) -> Result<Elf<'_>, ElfError> {
    if !bytes.starts_with(b"\x7fELF") {
        return Err(ElfError::NotElf);
    }
    match bytes.get(4) {
        None => return Err(ElfError::TruncatedHeader),
        Some(2) => {}
        Some(1) => return Err(ElfError::Not64Bit),
        Some(_) => return Err(ElfError::BadIdent),
    }
    match bytes.get(5) {
        None => return Err(ElfError::TruncatedHeader),
        Some(1) => {}
        Some(2) => return Err(ElfError::BigEndian),
        Some(_) => return Err(ElfError::BadIdent),
    }
    let h = bytes.get(..EHDR_SIZE).ok_or(ElfError::TruncatedHeader)?;
    if h[6] != 1 || le32(h, 20) != 1 {
        return Err(ElfError::BadVersion);
    }
    let machine = le16(h, 18);
    if machine != EM_X86_64 {
        return Err(ElfError::WrongMachine(machine));
    }
    let kind = match le16(h, 16) {
        ET_EXEC => Kind::Exec,
        ET_DYN => Kind::Dyn,
        t => return Err(ElfError::NotExecutable(t)),
    };
    let entry = le64(h, 24);
    let phoff = le64(h, 32);
    let phentsize = le16(h, 54);
    if usize::from(phentsize) != PHDR_SIZE {
        return Err(ElfError::BadPhentsize(phentsize));
    }
    let phnum = le16(h, 56);
    if phnum == 0 || usize::from(phnum) > MAX_PHNUM {
        return Err(ElfError::BadPhnum(phnum));
    }
    let table = range(bytes, phoff, u64::from(phnum) * PHDR_SIZE as u64)
        .ok_or(ElfError::TruncatedProgramHeaders)?;

    let mut elf = Elf {
        bytes,
        kind,
        entry,
        phoff,
        phnum,
        span: (u64::MAX, 0),
        max_align: PAGE_SIZE,
        phdr_vaddr: None,
        interp: None,
        tls: None,
        stack_executable: false,
    };
    // Linux takes the first PT_INTERP / PT_GNU_STACK; do the same for the rest.
    let (mut seen_stack, mut pt_phdr, mut loaded_phdr) = (false, None, None);
    let mut prev: Option<(u64, u64)> = None; // (vaddr, end) of the last PT_LOAD
    let mut entry_ok = false;
    for (index, raw) in table.as_chunks::<PHDR_SIZE>().0.iter().enumerate() {
        let ph = ProgramHeader::read(raw);
        match ph.p_type {
            PT_LOAD => {
                let end = check_load(index, &ph, file_len, kind)?;
                if let Some((pv, pend)) = prev {
                    if ph.vaddr < pv {
                        return Err(ElfError::Unsorted { index });
                    }
                    if ph.vaddr < pend {
                        return Err(ElfError::Overlap { index });
                    }
                }
                prev = Some((ph.vaddr, end));
                elf.span.0 = elf.span.0.min(page_down(ph.vaddr));
                // check_load guarantees end + PAGE_SIZE - 1 does not wrap.
                elf.span.1 = elf.span.1.max(page_down(end + PAGE_SIZE - 1));
                elf.max_align = elf.max_align.max(ph.align);
                if ph.flags & PF_X != 0 && (ph.vaddr..end).contains(&entry) {
                    entry_ok = true;
                }
                // As Linux: the PT_LOAD whose file bytes hold e_phoff maps the table.
                if loaded_phdr.is_none() && ph.offset <= phoff && phoff - ph.offset < ph.filesz {
                    loaded_phdr = Some(phoff - ph.offset + ph.vaddr);
                }
            }
            PT_INTERP if elf.interp.is_none() => elf.interp = Some(read_interp(bytes, &ph)?),
            PT_GNU_STACK if !seen_stack => {
                seen_stack = true;
                elf.stack_executable = ph.flags & PF_X != 0;
            }
            PT_TLS if elf.tls.is_none() => {
                elf.tls = Some(Tls {
                    vaddr: ph.vaddr,
                    filesz: ph.filesz,
                    memsz: ph.memsz,
                    align: ph.align,
                })
            }
            PT_PHDR if pt_phdr.is_none() => pt_phdr = Some(ph.vaddr),
            _ => {}
        }
    }
    if prev.is_none() {
        return Err(ElfError::NoLoadSegments);
    }
    if elf.span.1 - elf.span.0 > USER_END {
        return Err(ElfError::ImageTooLarge);
    }
    if !entry_ok {
        return Err(ElfError::BadEntry(entry));
    }
    elf.phdr_vaddr = pt_phdr.or(loaded_phdr);
    Ok(elf)
}

/// Checks one `PT_LOAD` header; returns `vaddr + memsz`.
fn check_load(
    index: usize,
    ph: &ProgramHeader,
    file_len: u64,
    kind: Kind,
) -> Result<u64, ElfError> {
    if ph.filesz > ph.memsz {
        return Err(ElfError::FileSizeExceedsMemSize { index });
    }
    if ph.filesz > 0 {
        match ph.offset.checked_add(ph.filesz) {
            Some(end) if end <= file_len => {}
            _ => return Err(ElfError::TruncatedSegment { index }),
        }
    }
    if ph.align > 1 && !ph.align.is_power_of_two() {
        return Err(ElfError::BadAlignment { index });
    }
    // File pages are mapped at page granularity, so file-backed segments need
    // page congruence; gABI asks for congruence modulo p_align as well.
    let modulus = ph.align.max(PAGE_SIZE);
    if (ph.filesz > 0 || ph.align >= PAGE_SIZE)
        && ph.vaddr.wrapping_sub(ph.offset) & (modulus - 1) != 0
    {
        return Err(ElfError::Misaligned { index });
    }
    let end = ph
        .vaddr
        .checked_add(ph.memsz)
        .filter(|e| e.checked_add(PAGE_SIZE - 1).is_some())
        .ok_or(ElfError::AddressOverflow { index })?;
    if kind == Kind::Exec && end > USER_END {
        return Err(ElfError::OutsideUserSpace { index });
    }
    Ok(end)
}

fn read_interp<'a>(bytes: &'a [u8], ph: &ProgramHeader) -> Result<&'a [u8], ElfError> {
    if ph.filesz < 2 || ph.filesz > MAX_INTERP {
        return Err(ElfError::BadInterp);
    }
    let raw = range(bytes, ph.offset, ph.filesz).ok_or(ElfError::TruncatedInterp)?;
    match raw.split_last() {
        Some((0, path)) => match path.iter().position(|&c| c == 0) {
            None => Ok(path),
            Some(0) => Err(ElfError::BadInterp),
            Some(n) => Ok(&path[..n]),
        },
        _ => Err(ElfError::BadInterp),
    }
}

impl<'a> Elf<'a> {
    /// The whole file.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// `ET_EXEC` or `ET_DYN`.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Entry point (`e_entry`, before bias).
    pub fn entry(&self) -> u64 {
        self.entry
    }

    /// File offset of the program header table (`e_phoff`).
    pub fn phoff(&self) -> u64 {
        self.phoff
    }

    /// Size of one program header (`e_phentsize`, always 56); for `AT_PHENT`.
    pub fn phentsize(&self) -> u16 {
        PHDR_SIZE as u16
    }

    /// Number of program headers (`e_phnum`); for `AT_PHNUM`.
    pub fn phnum(&self) -> u16 {
        self.phnum
    }

    /// All program headers, in file order.
    pub fn program_headers(&self) -> impl ExactSizeIterator<Item = ProgramHeader> + 'a {
        let len = usize::from(self.phnum) * PHDR_SIZE;
        range(self.bytes, self.phoff, len as u64)
            .unwrap_or(&[])
            .as_chunks::<PHDR_SIZE>()
            .0
            .iter()
            .map(|raw| ProgramHeader::read(raw))
    }

    /// The `PT_LOAD` segments, in ascending address order.
    pub fn load_segments(&self) -> impl Iterator<Item = LoadSegment<'a>> + 'a {
        let bytes = self.bytes;
        self.program_headers()
            .enumerate()
            .filter(|(_, ph)| ph.p_type == PT_LOAD)
            .map(move |(index, ph)| LoadSegment {
                index,
                vaddr: ph.vaddr,
                memsz: ph.memsz,
                file_offset: ph.offset,
                filesz: ph.filesz,
                flags: SegmentFlags::from_bits(ph.flags),
                data: range(bytes, ph.offset, ph.filesz).unwrap_or(&[]),
            })
    }

    /// `(start, end)` of the image, page-aligned: the lowest segment address
    /// rounded down and the highest segment end rounded up (before bias).
    pub fn image_span(&self) -> (u64, u64) {
        self.span
    }

    /// Largest `p_align` of the `PT_LOAD` segments, at least [`PAGE_SIZE`].
    pub fn max_align(&self) -> u64 {
        self.max_align
    }

    /// The load bias to add to every address of the file (segments, entry,
    /// [`phdr_vaddr`](Self::phdr_vaddr)).
    ///
    /// `Exec`: always 0. `Dyn`: the smallest multiple of
    /// [`max_align`](Self::max_align) that puts the image at or above `base`
    /// (e.g. [`DYN_BASE`]); `None` if the image then does not end below
    /// [`USER_END`].
    pub fn load_bias(&self, base: u64) -> Option<u64> {
        let (lo, hi) = self.span;
        let bias = match self.kind {
            Kind::Exec => return Some(0),
            Kind::Dyn => base
                .saturating_sub(lo)
                .checked_next_multiple_of(self.max_align)?,
        };
        hi.checked_add(bias).filter(|&end| end <= USER_END)?;
        Some(bias)
    }

    /// Address of the program header table in memory (before bias), for
    /// `AT_PHDR`: `PT_PHDR`'s address if present, else computed from the
    /// `PT_LOAD` segment whose file bytes contain `e_phoff` (as Linux does).
    /// `None` if the table is not loaded (Linux then passes 0).
    pub fn phdr_vaddr(&self) -> Option<u64> {
        self.phdr_vaddr
    }

    /// The interpreter path from `PT_INTERP` (without the NUL), if any.
    /// Static programs (including static-pie) have none.
    pub fn interp(&self) -> Option<&'a [u8]> {
        self.interp
    }

    /// The `PT_TLS` template, if any.
    pub fn tls(&self) -> Option<Tls> {
        self.tls
    }

    /// Whether the stack must be executable: `PT_GNU_STACK` with `PF_X`.
    /// Without `PT_GNU_STACK`, Linux gives 64-bit programs a non-executable
    /// stack, so this is `false`.
    pub fn stack_executable(&self) -> bool {
        self.stack_executable
    }
}
