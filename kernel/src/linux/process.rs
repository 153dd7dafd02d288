//! The one process oxv runs: its address space, file descriptors, limits,
//! signal dispositions and identity.

use alloc::sync::Arc;
use alloc::vec::Vec;

use oxv_hal::sync::SpinLock;

use super::fd::FdTable;
use super::signal::SignalState;
use crate::mm::user_space::{Access, AddressSpace};

/// The process ID the program sees (it is the only process).
pub(crate) const PID: u32 = 1;

/// getrlimit/setrlimit resources (include/uapi/asm-generic/resource.h).
pub(crate) const RLIM_NLIMITS: usize = 16;
/// RLIM_INFINITY.
pub(crate) const RLIM_INFINITY: u64 = u64::MAX;

/// One resource limit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rlimit {
    pub(crate) cur: u64,
    pub(crate) max: u64,
}

fn default_rlimits() -> [Rlimit; RLIM_NLIMITS] {
    let inf = Rlimit {
        cur: RLIM_INFINITY,
        max: RLIM_INFINITY,
    };
    let mut r = [inf; RLIM_NLIMITS];
    r[3] = Rlimit {
        cur: 8 << 20,
        max: RLIM_INFINITY,
    }; // STACK
    r[4] = Rlimit {
        cur: 0,
        max: RLIM_INFINITY,
    }; // CORE
    r[7] = Rlimit {
        cur: 1024,
        max: 4096,
    }; // NOFILE
    r[8] = Rlimit {
        cur: 8 << 20,
        max: 8 << 20,
    }; // MEMLOCK
    r[6] = Rlimit { cur: 1, max: 1 }; // NPROC: one process
    r[14] = Rlimit { cur: 0, max: 0 }; // RTPRIO
    r[13] = Rlimit { cur: 0, max: 0 }; // NICE
    r
}

/// Terminal facts from the host.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TtyInfo {
    pub(crate) is_tty: [bool; 3],
    pub(crate) rows: u16,
    pub(crate) cols: u16,
}

/// Process-wide state.
pub(crate) struct Process {
    pub(crate) aspace: SpinLock<AddressSpace>,
    pub(crate) fds: SpinLock<FdTable>,
    pub(crate) rlimits: SpinLock<[Rlimit; RLIM_NLIMITS]>,
    pub(crate) signals: SpinLock<SignalState>,
    /// The program's path in the guest (/proc/self/exe, AT_EXECFN).
    pub(crate) exe: Vec<u8>,
    pub(crate) tty: TtyInfo,
    pub(crate) umask: SpinLock<u32>,
}

impl Process {
    pub(crate) fn new(aspace: AddressSpace, exe: Vec<u8>, tty: TtyInfo) -> Self {
        Self {
            aspace: SpinLock::new(aspace),
            fds: SpinLock::new(FdTable::with_stdio()),
            rlimits: SpinLock::new(default_rlimits()),
            signals: SpinLock::new(SignalState::default()),
            exe,
            tty,
            umask: SpinLock::new(0o022),
        }
    }
}

static CURRENT: SpinLock<Option<Arc<Process>>> = SpinLock::new(None);

/// Makes `p` the running process.
pub(crate) fn set_current(p: Arc<Process>) {
    *CURRENT.lock() = Some(p);
}

/// The running process, if any.
pub(crate) fn current() -> Option<Arc<Process>> {
    CURRENT.lock().clone()
}

/// Page faults the kernel takes while copying to or from the program.
pub(crate) fn user_fault_hook(addr: u64, write: bool) -> bool {
    let Some(p) = current() else { return false };
    let r = p
        .aspace
        .lock()
        .handle_fault(addr, Access { write, exec: false });
    r.is_ok()
}
