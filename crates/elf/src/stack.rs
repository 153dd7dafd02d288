//! The initial process stack: `argc`, `argv`, `envp` and the auxiliary
//! vector, laid out as the x86-64 psABI section 3.4.1 ("Initial Stack and
//! Register State") specifies and in the order Linux `create_elf_tables`
//! (`fs/binfmt_elf.c`) uses, so C libraries find what they expect.
//!
//! From high to low addresses: an 8-byte zero end marker, the `execfn`
//! string, the environment strings, the argument strings (so `argv[0]` is
//! lowest), alignment to 16, the platform string `"x86_64"`, the 16
//! `AT_RANDOM` bytes, padding, then the auxiliary vector ending with
//! `AT_NULL`, `NULL`, the `envp` pointers, `NULL`, the `argv` pointers and
//! `argc` at the 16-byte aligned initial `rsp`.

use core::fmt;

/// End of the auxiliary vector.
pub const AT_NULL: u64 = 0;
/// Address of the program headers.
pub const AT_PHDR: u64 = 3;
/// Size of one program header.
pub const AT_PHENT: u64 = 4;
/// Number of program headers.
pub const AT_PHNUM: u64 = 5;
/// Page size.
pub const AT_PAGESZ: u64 = 6;
/// Base address of the interpreter (0 for static programs).
pub const AT_BASE: u64 = 7;
/// Flags (0 on Linux).
pub const AT_FLAGS: u64 = 8;
/// Entry point of the program (with bias).
pub const AT_ENTRY: u64 = 9;
/// Real user id.
pub const AT_UID: u64 = 11;
/// Effective user id.
pub const AT_EUID: u64 = 12;
/// Real group id.
pub const AT_GID: u64 = 13;
/// Effective group id.
pub const AT_EGID: u64 = 14;
/// Address of the platform string.
pub const AT_PLATFORM: u64 = 15;
/// CPU capabilities (CPUID.1:EDX on x86).
pub const AT_HWCAP: u64 = 16;
/// Clock ticks per second for `times()`.
pub const AT_CLKTCK: u64 = 17;
/// Secure mode (setuid); 0 or 1.
pub const AT_SECURE: u64 = 23;
/// Address of 16 random bytes.
pub const AT_RANDOM: u64 = 25;
/// More CPU capabilities.
pub const AT_HWCAP2: u64 = 26;
/// Address of the executable's file name string.
pub const AT_EXECFN: u64 = 31;
/// Address of the vDSO ELF header.
pub const AT_SYSINFO_EHDR: u64 = 33;
/// Minimal signal stack size the kernel needs.
pub const AT_MINSIGSTKSZ: u64 = 51;

/// The platform string passed through `AT_PLATFORM`.
pub const PLATFORM: &[u8] = b"x86_64";

/// What goes on the initial stack. Strings are given without their NUL
/// terminator (one is appended); a string containing NUL appears truncated to
/// the program. Addresses are final (load bias already added).
#[derive(Debug, Clone, Copy)]
pub struct StackArgs<'a> {
    /// Argument strings.
    pub argv: &'a [&'a [u8]],
    /// Environment strings (`NAME=value`).
    pub envp: &'a [&'a [u8]],
    /// Path the program was executed as (`AT_EXECFN`).
    pub execfn: &'a [u8],
    /// The 16 `AT_RANDOM` bytes (stack protector and pointer guard seeds).
    pub random: [u8; 16],
    /// `AT_PHDR`: address of the program headers in memory.
    pub phdr: u64,
    /// `AT_PHENT`: size of one program header (56).
    pub phent: u64,
    /// `AT_PHNUM`: number of program headers.
    pub phnum: u64,
    /// `AT_PAGESZ`: page size (4096).
    pub pagesz: u64,
    /// `AT_BASE`: interpreter base address, 0 without interpreter.
    pub base: u64,
    /// `AT_FLAGS` (0 on Linux).
    pub flags: u64,
    /// `AT_ENTRY`: the program's entry point (not the interpreter's).
    pub entry: u64,
    /// `AT_UID`.
    pub uid: u32,
    /// `AT_EUID`.
    pub euid: u32,
    /// `AT_GID`.
    pub gid: u32,
    /// `AT_EGID`.
    pub egid: u32,
    /// `AT_SECURE`.
    pub secure: bool,
    /// `AT_HWCAP`.
    pub hwcap: u64,
    /// `AT_HWCAP2`.
    pub hwcap2: u64,
    /// `AT_CLKTCK` (100 on Linux).
    pub clktck: u64,
    /// `AT_MINSIGSTKSZ`: bytes the kernel's signal frame needs.
    pub minsigstksz: u64,
    /// `AT_SYSINFO_EHDR`: vDSO address; the entry is omitted when `None`.
    pub sysinfo_ehdr: Option<u64>,
}

impl<'a> StackArgs<'a> {
    /// Arguments with Linux's usual values for the rest: page size 4096,
    /// 100 clock ticks, `phent` 56, `minsigstksz` 2048 (`MINSIGSTKSZ`),
    /// ids 0, no vDSO, all addresses 0 (set `phdr`, `phnum`, `entry`, `base`
    /// before use).
    pub fn new(
        argv: &'a [&'a [u8]],
        envp: &'a [&'a [u8]],
        execfn: &'a [u8],
        random: [u8; 16],
    ) -> Self {
        StackArgs {
            argv,
            envp,
            execfn,
            random,
            phdr: 0,
            phent: crate::PHDR_SIZE as u64,
            phnum: 0,
            pagesz: crate::PAGE_SIZE,
            base: 0,
            flags: 0,
            entry: 0,
            uid: 0,
            euid: 0,
            gid: 0,
            egid: 0,
            secure: false,
            hwcap: 0,
            hwcap2: 0,
            clktck: 100,
            minsigstksz: 2048,
            sysinfo_ehdr: None,
        }
    }
}

/// Why the initial stack could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackError {
    /// The strings and tables do not fit in the buffer (the kernel reports
    /// `E2BIG`).
    TooBig,
    /// `out.len()` is larger than `stack_top`, so the range would wrap.
    BadRange,
}

impl fmt::Display for StackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StackError::TooBig => "argument list too long",
            StackError::BadRange => "stack range wraps below address 0",
        })
    }
}

impl core::error::Error for StackError {}

/// Where things went; all values are user addresses except `size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitialStack {
    /// Initial `rsp`: points at `argc`, 16-byte aligned.
    pub rsp: u64,
    /// Bytes used at the top of the buffer (`stack_top - rsp`).
    pub size: usize,
    /// Address of `argv[0]` (the pointer array).
    pub argv: u64,
    /// Address of `envp[0]` (the pointer array).
    pub envp: u64,
    /// Address of the first auxiliary vector entry.
    pub auxv: u64,
    /// Number of auxiliary vector entries, `AT_NULL` included.
    pub auxv_len: usize,
    /// Start of the argument strings (for `/proc/self/cmdline`).
    pub arg_start: u64,
    /// End of the argument strings.
    pub arg_end: u64,
    /// Start of the environment strings (for `/proc/self/environ`).
    pub env_start: u64,
    /// End of the environment strings.
    pub env_end: u64,
    /// Address of the `execfn` string.
    pub execfn: u64,
    /// Address of the platform string.
    pub platform: u64,
    /// Address of the 16 random bytes.
    pub random: u64,
}

/// Writes downward into `out`, which represents `[base, base + out.len())`.
struct Writer<'o> {
    out: &'o mut [u8],
    base: u64,
    sp: u64,
}

impl Writer<'_> {
    /// Moves `sp` down by `len` bytes, then aligns it down to `align`.
    fn reserve(&mut self, len: usize, align: u64) -> Result<u64, StackError> {
        let sp = self.sp.checked_sub(len as u64).ok_or(StackError::TooBig)? & !(align - 1);
        if sp < self.base {
            return Err(StackError::TooBig);
        }
        self.sp = sp;
        Ok(sp)
    }

    /// The buffer bytes at address `at`, already reserved.
    fn at(&mut self, at: u64, len: usize) -> &mut [u8] {
        let i = (at - self.base) as usize;
        &mut self.out[i..i + len]
    }

    fn push(&mut self, bytes: &[u8]) -> Result<u64, StackError> {
        let at = self.reserve(bytes.len(), 1)?;
        self.at(at, bytes.len()).copy_from_slice(bytes);
        Ok(at)
    }

    fn push_cstr(&mut self, s: &[u8]) -> Result<u64, StackError> {
        let len = s.len().checked_add(1).ok_or(StackError::TooBig)?;
        let at = self.reserve(len, 1)?;
        let dst = self.at(at, len);
        dst[..s.len()].copy_from_slice(s);
        dst[s.len()] = 0;
        Ok(at)
    }

    fn put_words(&mut self, at: &mut u64, words: &[u64]) {
        for w in words {
            self.at(*at, 8).copy_from_slice(&w.to_le_bytes());
            *at += 8;
        }
    }

    /// Writes one pointer per string of `strs`, packed from `start` on.
    fn put_string_pointers(&mut self, at: &mut u64, mut start: u64, strs: &[&[u8]]) {
        for s in strs {
            self.put_words(at, &[start]);
            start += s.len() as u64 + 1;
        }
        self.put_words(at, &[0]);
    }
}

/// Builds the initial stack of a new process into `out`, which stands for the
/// user memory `[stack_top - out.len(), stack_top)`; bytes below the returned
/// `rsp` are left untouched. The caller maps `out` at that range (or copies
/// its top `size` bytes there) and starts the program with `rsp`.
pub fn build_initial_stack(
    stack_top: u64,
    args: &StackArgs<'_>,
    out: &mut [u8],
) -> Result<InitialStack, StackError> {
    let base = stack_top
        .checked_sub(out.len() as u64)
        .ok_or(StackError::BadRange)?;
    let mut w = Writer {
        out,
        base,
        sp: stack_top,
    };

    w.push(&[0; 8])?;
    let execfn = w.push_cstr(args.execfn)?;
    let env_end = w.sp;
    for s in args.envp.iter().rev() {
        w.push_cstr(s)?;
    }
    let env_start = w.sp;
    let arg_end = w.sp;
    for s in args.argv.iter().rev() {
        w.push_cstr(s)?;
    }
    let arg_start = w.sp;
    w.reserve(0, 16)?;
    let platform = w.push_cstr(PLATFORM)?;
    let random = w.push(&args.random)?;

    let auxv_all = [
        (AT_SYSINFO_EHDR, args.sysinfo_ehdr.unwrap_or(0)),
        (AT_MINSIGSTKSZ, args.minsigstksz),
        (AT_HWCAP, args.hwcap),
        (AT_PAGESZ, args.pagesz),
        (AT_CLKTCK, args.clktck),
        (AT_PHDR, args.phdr),
        (AT_PHENT, args.phent),
        (AT_PHNUM, args.phnum),
        (AT_BASE, args.base),
        (AT_FLAGS, args.flags),
        (AT_ENTRY, args.entry),
        (AT_UID, args.uid.into()),
        (AT_EUID, args.euid.into()),
        (AT_GID, args.gid.into()),
        (AT_EGID, args.egid.into()),
        (AT_SECURE, args.secure.into()),
        (AT_RANDOM, random),
        (AT_HWCAP2, args.hwcap2),
        (AT_EXECFN, execfn),
        (AT_PLATFORM, platform),
        (AT_NULL, 0),
    ];
    let auxv = if args.sysinfo_ehdr.is_some() {
        &auxv_all[..]
    } else {
        &auxv_all[1..]
    };

    // argc, argv pointers + NULL, envp pointers + NULL, auxv pairs.
    let words = args
        .argv
        .len()
        .checked_add(args.envp.len())
        .and_then(|n| n.checked_add(3 + 2 * auxv.len()))
        .and_then(|n| n.checked_mul(8))
        .ok_or(StackError::TooBig)?;
    let rsp = w.reserve(words, 16)?;

    let mut at = rsp;
    w.put_words(&mut at, &[args.argv.len() as u64]);
    let argv = at;
    w.put_string_pointers(&mut at, arg_start, args.argv);
    let envp = at;
    w.put_string_pointers(&mut at, env_start, args.envp);
    let auxv_at = at;
    for &(key, value) in auxv {
        w.put_words(&mut at, &[key, value]);
    }

    Ok(InitialStack {
        rsp,
        size: (stack_top - rsp) as usize,
        argv,
        envp,
        auxv: auxv_at,
        auxv_len: auxv.len(),
        arg_start,
        arg_end,
        env_start,
        env_end,
        execfn,
        platform,
        random,
    })
}
