//! The one process oxv runs and its threads: the address space, file
//! descriptors, limits, signal dispositions and identity are shared; each
//! thread has its own id, signal mask, pending set and alternate stack.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use oxv_hal::sync::SpinLock;

use super::fd::FdTable;
use super::signal::{ProcessSignals, ThreadSignals};
use crate::mm::user_space::{Access, AddressSpace};
use crate::sched;

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
    r[6] = Rlimit {
        cur: 4096,
        max: 4096,
    }; // NPROC: threads count here
    r[7] = Rlimit {
        cur: 1024,
        max: 4096,
    }; // NOFILE
    r[8] = Rlimit {
        cur: 8 << 20,
        max: 8 << 20,
    }; // MEMLOCK
    r[13] = Rlimit { cur: 0, max: 0 }; // NICE
    r[14] = Rlimit { cur: 0, max: 0 }; // RTPRIO
    r
}

/// Terminal facts from the host.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TtyInfo {
    pub(crate) is_tty: [bool; 3],
    pub(crate) rows: u16,
    pub(crate) cols: u16,
}

/// One thread of the program.
pub(crate) struct LinuxThread {
    pub(crate) tid: u32,
    /// The kernel thread running it (set right after it is spawned).
    pub(crate) sched: SpinLock<Option<Arc<sched::Thread>>>,
    pub(crate) sig: SpinLock<ThreadSignals>,
    pub(crate) clear_child_tid: AtomicU64,
    pub(crate) robust_list: SpinLock<(u64, u64)>,
    pub(crate) nice: AtomicU32,
    /// Thread name (prctl PR_SET_NAME, pthread_setname_np).
    pub(crate) name: SpinLock<Vec<u8>>,
}

impl LinuxThread {
    pub(crate) fn new(tid: u32, mask: u64) -> Self {
        Self {
            tid,
            sched: SpinLock::new(None),
            sig: SpinLock::new(ThreadSignals::with_mask(mask)),
            clear_child_tid: AtomicU64::new(0),
            robust_list: SpinLock::new((0, 0)),
            nice: AtomicU32::new(0),
            name: SpinLock::new(Vec::new()),
        }
    }

    /// Interrupts a blocking wait of this thread (a signal arrived).
    pub(crate) fn kick(&self) {
        if let Some(t) = self.sched.lock().clone() {
            t.wake_any();
        }
    }
}

/// Process-wide state.
pub(crate) struct Process {
    pub(crate) aspace: SpinLock<AddressSpace>,
    /// Page-table root of `aspace` (fixed for the process's life).
    pub(crate) pt_root: u64,
    pub(crate) fds: SpinLock<FdTable>,
    pub(crate) rlimits: SpinLock<[Rlimit; RLIM_NLIMITS]>,
    pub(crate) signals: SpinLock<ProcessSignals>,
    pub(crate) threads: SpinLock<BTreeMap<u32, Arc<LinuxThread>>>,
    next_tid: AtomicU32,
    /// The program's path in the guest (/proc/self/exe, AT_EXECFN).
    pub(crate) exe: Vec<u8>,
    /// argv and envp as NUL-terminated strings (/proc/self/cmdline, environ).
    pub(crate) cmdline: Vec<u8>,
    pub(crate) environ: Vec<u8>,
    /// Working directory: its path and its inode.
    pub(crate) cwd: SpinLock<(Vec<u8>, oxv_vfs::InodeRef)>,
    pub(crate) umask: SpinLock<u32>,
}

/// What a new process starts with.
pub(crate) struct ProcessSpec {
    pub(crate) exe: Vec<u8>,
    pub(crate) cmdline: Vec<u8>,
    pub(crate) environ: Vec<u8>,
    pub(crate) cwd: (Vec<u8>, oxv_vfs::InodeRef),
    pub(crate) fds: FdTable,
}

impl Process {
    pub(crate) fn new(aspace: AddressSpace, spec: ProcessSpec) -> Self {
        Self {
            pt_root: aspace.root(),
            aspace: SpinLock::new(aspace),
            fds: SpinLock::new(spec.fds),
            rlimits: SpinLock::new(default_rlimits()),
            signals: SpinLock::new(ProcessSignals::default()),
            threads: SpinLock::new(BTreeMap::new()),
            next_tid: AtomicU32::new(PID),
            exe: spec.exe,
            cmdline: spec.cmdline,
            environ: spec.environ,
            cwd: SpinLock::new(spec.cwd),
            umask: SpinLock::new(0o022),
        }
    }

    /// Allocates a thread id (the first is the PID).
    pub(crate) fn alloc_tid(&self) -> u32 {
        self.next_tid.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn thread(&self, tid: u32) -> Option<Arc<LinuxThread>> {
        self.threads.lock().get(&tid).cloned()
    }

    pub(crate) fn thread_count(&self) -> usize {
        self.threads.lock().len()
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
    crate::mm::user_space::fault(&p.aspace, addr, Access { write, exec: false }).is_ok()
}
