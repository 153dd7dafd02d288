//! Loading the program: ELF segments into a fresh address space, the stack
//! with argv, envp and the auxiliary vector (x86-64 psABI 3.4.1), the break.

use alloc::vec::Vec;

use oxv_elf::{build_initial_stack, Elf, ElfError, Kind, StackArgs, DYN_BASE, PAGE_SIZE};
use oxv_hal::UserContext;
use oxv_mm::vma::{Placement, Prot, VmaKind, DEFAULT_MMAP_BASE, USER_MAX};

use crate::mm::user_space::{AddressSpace, PageSource};

/// Top of the main thread's stack.
pub(crate) const STACK_TOP: u64 = USER_MAX;
/// Size of the main stack area (RLIMIT_STACK default).
pub(crate) const STACK_SIZE: u64 = 8 << 20;
/// argv + envp may use at most a quarter of the stack, as on Linux.
const MAX_ARG_BYTES: usize = (STACK_SIZE / 4) as usize;

/// Why the program could not be loaded.
#[derive(Debug)]
pub(crate) enum LoadError {
    Elf(ElfError),
    Dynamic,
    TooBig,
    NoMemory,
}

impl core::fmt::Display for LoadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Elf(e) => write!(f, "{e}"),
            Self::Dynamic => f.write_str("dynamically linked programs are not supported yet"),
            Self::TooBig => f.write_str("arguments and environment too large (E2BIG)"),
            Self::NoMemory => f.write_str("out of memory while loading the program"),
        }
    }
}

/// A loaded program, ready to run once its stack image is copied in.
pub(crate) struct Loaded {
    pub(crate) aspace: AddressSpace,
    pub(crate) ctx: UserContext,
    /// Bytes to copy to `ctx.rsp` in the new address space.
    pub(crate) stack_image: Vec<u8>,
}

fn prot_of(flags: oxv_elf::SegmentFlags) -> Prot {
    let mut p = Prot::NONE;
    if flags.readable {
        p = p | Prot::READ;
    }
    if flags.writable {
        p = p | Prot::WRITE;
    }
    if flags.executable {
        p = p | Prot::EXEC;
    }
    p
}

/// The program to load: bytes in memory (copied in at once), or a file
/// whose pages are read on first touch (only what runs costs time and
/// memory).
pub(crate) enum Program<'a> {
    Bytes(&'a [u8]),
    File {
        head: Vec<u8>,
        len: u64,
        source: alloc::sync::Arc<dyn PageSource>,
    },
}

fn load_segments(
    elf: &Elf<'_>,
    bias: u64,
    aspace: &mut AddressSpace,
    source: Option<&alloc::sync::Arc<dyn PageSource>>,
) -> Result<u64, LoadError> {
    let file = elf.bytes();
    let mut image_end = 0;
    for seg in elf.load_segments() {
        let vaddr = seg.vaddr + bias;
        let start = vaddr & !(PAGE_SIZE - 1);
        let end = (vaddr + seg.memsz).div_ceil(PAGE_SIZE) * PAGE_SIZE;
        image_end = image_end.max(vaddr + seg.memsz);
        let file_end = seg.file_offset + seg.filesz;
        if let Some(src) = source {
            let file_off = seg.file_offset - (vaddr - start);
            aspace
                .map_file(
                    start,
                    end,
                    prot_of(seg.flags),
                    file_off,
                    file_end,
                    src.clone(),
                )
                .map_err(|_| LoadError::NoMemory)?;
            continue;
        }
        // Like Linux's mmap of the segment: each page shows the file from
        // the page-aligned offset, up to the end of the segment's file
        // bytes; the rest (bss) is zero.
        let fill = |va: u64, page: &mut [u8; 4096]| {
            let page_off = seg.file_offset - (vaddr - va);
            if page_off >= file_end {
                return;
            }
            let n = (file_end - page_off).min(4096) as usize;
            let from = page_off as usize;
            if let Some(src) = file.get(from..from + n) {
                page[..n].copy_from_slice(src);
            }
        };
        aspace
            .map_image(start, end, prot_of(seg.flags), fill)
            .map_err(|_| LoadError::NoMemory)?;
    }
    Ok(image_end)
}

/// Loads `program` and prepares its first thread.
pub(crate) fn load(
    program: &Program<'_>,
    exec_path: &[u8],
    argv: &[&[u8]],
    envp: &[&[u8]],
) -> Result<Loaded, LoadError> {
    let (elf, source) = match program {
        Program::Bytes(b) => (oxv_elf::parse(b).map_err(LoadError::Elf)?, None),
        Program::File { head, len, source } => (
            oxv_elf::parse_headers(head, *len).map_err(LoadError::Elf)?,
            Some(source),
        ),
    };
    if elf.interp().is_some() {
        return Err(LoadError::Dynamic);
    }
    let bias = match elf.kind() {
        Kind::Exec => 0,
        Kind::Dyn => elf.load_bias(DYN_BASE).ok_or(LoadError::NoMemory)?,
    };
    let mut aspace = AddressSpace::new().ok_or(LoadError::NoMemory)?;
    let image_end = load_segments(&elf, bias, &mut aspace, source)?;

    let brk = image_end.div_ceil(PAGE_SIZE) * PAGE_SIZE;
    aspace.init_brk(brk, DEFAULT_MMAP_BASE - (1 << 30));

    let stack_prot = if elf.stack_executable() {
        Prot::RW | Prot::EXEC
    } else {
        Prot::RW
    };
    aspace
        .map_anon(
            STACK_TOP - STACK_SIZE,
            STACK_SIZE,
            stack_prot,
            VmaKind::Stack,
            Placement::Fixed,
        )
        .map_err(|_| LoadError::NoMemory)?;

    let arg_bytes: usize = argv
        .iter()
        .chain(envp.iter())
        .map(|s| s.len() + 1 + 8)
        .sum::<usize>()
        + exec_path.len();
    if arg_bytes > MAX_ARG_BYTES {
        return Err(LoadError::TooBig);
    }
    let mut random = [0u8; 16];
    crate::random::fill(&mut random);
    let mut args = StackArgs::new(argv, envp, exec_path, random);
    args.phdr = elf.phdr_vaddr().map_or(0, |p| p + bias);
    args.phent = u64::from(elf.phentsize());
    args.phnum = u64::from(elf.phnum());
    args.entry = elf.entry() + bias;
    args.hwcap = u64::from(oxv_hal::features().leaf1_edx);
    args.minsigstksz = (oxv_hal::fpu_area_size() as u64 + 1024).max(2048);
    args.sysinfo_ehdr = super::vdso::map_into(&mut aspace);
    let mut buf = alloc::vec![0u8; arg_bytes + 4096];
    let st = build_initial_stack(STACK_TOP, &args, &mut buf).map_err(|_| LoadError::TooBig)?;
    let stack_image = buf[buf.len() - st.size..].to_vec();
    let ctx = UserContext::new(elf.entry() + bias, st.rsp);
    Ok(Loaded {
        aspace,
        ctx,
        stack_image,
    })
}
