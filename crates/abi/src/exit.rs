//! How a run ends: the exit record the kernel sends, and `oxv`'s exit codes.
//!
//! The program's own status passes through unchanged (`exit(n)` makes `oxv`
//! exit with `n & 0xff`); a program killed by a signal gives `128 + signal`,
//! as a shell reports it. The codes below are `oxv`'s own and are documented
//! in README.md; they sit just under the shell's 126/127 convention.

use crate::bytes::Reader;

/// `oxv` exit code: the kernel panicked (a bug in oxv; the reason is printed).
pub const EXIT_KERNEL_PANIC: i32 = 120;
/// `oxv` exit code: the VM hit `--timeout` and was stopped.
pub const EXIT_TIMEOUT: i32 = 124;
/// `oxv` exit code: a host-side failure (QEMU missing, VM died, I/O error).
pub const EXIT_HOST_FAILURE: i32 = 125;
/// `oxv` exit code: the program cannot be run (not ELF, wrong arch, truncated...).
pub const EXIT_BAD_PROGRAM: i32 = 126;
/// `oxv` exit code: the program file does not exist.
pub const EXIT_NOT_FOUND: i32 = 127;
/// `oxv` exit code: bad command-line usage.
pub const EXIT_USAGE: i32 = 2;

/// Value the guest writes to the isa-debug-exit port after a clean end
/// (QEMU then exits with `(v << 1) | 1`).
pub const DEBUG_EXIT_OK: u8 = 0;
/// Value the guest writes to the isa-debug-exit port after a kernel panic.
pub const DEBUG_EXIT_PANIC: u8 = 1;
/// I/O port of QEMU's isa-debug-exit device as oxv configures it.
pub const DEBUG_EXIT_PORT: u16 = 0xf4;

/// How the program (or the kernel) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    /// The program called exit/exit_group with `code`.
    Exited,
    /// The program was killed by signal `signal`.
    Signaled,
    /// The kernel panicked; the reason went to the log channel.
    Panic,
    /// The kernel refused to start the program (bad ELF, out of memory...).
    LoadFailed,
    /// The program touched memory when no frame was left, even after the
    /// caches gave theirs back; like Linux's OOM killer, oxv ends it with
    /// SIGKILL (`signal` 9; `fault_addr` and `rip` say where).
    OutOfMemory,
}

/// The last frame the guest sends on [`crate::console::GuestChannel::Exit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitRecord {
    /// How it ended.
    pub kind: ExitKind,
    /// Exit code for [`ExitKind::Exited`], else 0.
    pub code: i32,
    /// Signal number for [`ExitKind::Signaled`] and [`ExitKind::OutOfMemory`], else 0.
    pub signal: u32,
    /// Faulting address for SIGSEGV/SIGBUS, else 0.
    pub fault_addr: u64,
    /// User instruction pointer at the fault, else 0.
    pub rip: u64,
}

/// Encoded size of an [`ExitRecord`].
pub const EXIT_RECORD_LEN: usize = 1 + 4 + 4 + 8 + 8;

impl ExitRecord {
    /// Encodes the record.
    pub fn encode(&self) -> [u8; EXIT_RECORD_LEN] {
        let mut out = [0u8; EXIT_RECORD_LEN];
        out[0] = match self.kind {
            ExitKind::Exited => 0,
            ExitKind::Signaled => 1,
            ExitKind::Panic => 2,
            ExitKind::LoadFailed => 3,
            ExitKind::OutOfMemory => 4,
        };
        out[1..5].copy_from_slice(&self.code.to_le_bytes());
        out[5..9].copy_from_slice(&self.signal.to_le_bytes());
        out[9..17].copy_from_slice(&self.fault_addr.to_le_bytes());
        out[17..25].copy_from_slice(&self.rip.to_le_bytes());
        out
    }

    /// Decodes a record; `None` if it is malformed.
    pub fn decode(buf: &[u8]) -> Option<Self> {
        let mut r = Reader::new(buf);
        let kind = match r.u8()? {
            0 => ExitKind::Exited,
            1 => ExitKind::Signaled,
            2 => ExitKind::Panic,
            3 => ExitKind::LoadFailed,
            4 => ExitKind::OutOfMemory,
            _ => return None,
        };
        Some(Self {
            kind,
            code: r.u32()? as i32,
            signal: r.u32()?,
            fault_addr: r.u64()?,
            rip: r.u64()?,
        })
    }
}

/// Linux signal names, for messages like `killed by SIGSEGV`.
pub fn signal_name(sig: u32) -> &'static str {
    const NAMES: [&str; 32] = [
        "SIG0",
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    NAMES.get(sig as usize).copied().unwrap_or("SIGRT")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for kind in [
            ExitKind::Exited,
            ExitKind::Signaled,
            ExitKind::Panic,
            ExitKind::LoadFailed,
            ExitKind::OutOfMemory,
        ] {
            let r = ExitRecord {
                kind,
                code: -1,
                signal: 11,
                fault_addr: 0xdead_beef,
                rip: 0x40_1000,
            };
            assert_eq!(ExitRecord::decode(&r.encode()), Some(r));
        }
    }

    #[test]
    fn rejects_short_and_bad_kind() {
        let r = ExitRecord {
            kind: ExitKind::Exited,
            code: 3,
            signal: 0,
            fault_addr: 0,
            rip: 0,
        };
        let e = r.encode();
        assert_eq!(ExitRecord::decode(&e[..EXIT_RECORD_LEN - 1]), None);
        let mut bad = e;
        bad[0] = 9;
        assert_eq!(ExitRecord::decode(&bad), None);
    }

    #[test]
    fn names() {
        assert_eq!(signal_name(11), "SIGSEGV");
        assert_eq!(signal_name(6), "SIGABRT");
        assert_eq!(signal_name(40), "SIGRT");
    }
}
