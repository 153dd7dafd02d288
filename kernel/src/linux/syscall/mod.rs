//! The system call table.
//!
//! One declarative table maps Linux x86-64 numbers to `sys_<name>`
//! handlers, one file per family; the macro generates the dispatcher.
//! Handlers get the raw argument registers and return `SysResult`; the
//! errno conversion happens once, in the run loop. An unknown number
//! returns ENOSYS and is logged once, by name.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use oxv_hal::UserContext;

use alloc::sync::Arc;

use super::errno::{Errno, SysResult};
use super::process::{LinuxThread, Process};

mod event;
mod fs;
mod futex;
mod info;
mod io;
mod ipc;
mod mem;
pub(crate) mod names;
mod proc;
mod sched;
mod signal;
mod thread;
pub(crate) mod time;

pub(crate) use info::release;
pub(crate) use thread::thread_exit;

/// How a syscall ends the thread or the program.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Exit {
    /// exit: this thread ends with this status.
    Thread(i32),
    /// exit_group: the program ends with this status.
    Group(i32),
}

/// Everything a handler may touch.
pub(crate) struct SyscallCx<'a> {
    pub(crate) proc: &'a Arc<Process>,
    pub(crate) thread: &'a Arc<LinuxThread>,
    pub(crate) ctx: &'a mut UserContext,
    /// Set by a handler that ends the program.
    pub(crate) exit: Option<Exit>,
}

/// Syscall arguments (rdi, rsi, rdx, r10, r8, r9).
pub(crate) type Args = [u64; 6];

macro_rules! syscall_table {
    ($($nr:literal => $handler:path),* $(,)?) => {
        /// Runs syscall `nr`.
        pub(crate) fn dispatch(cx: &mut SyscallCx<'_>, nr: u64, a: Args) -> SysResult {
            count(nr, &a);
            match nr {
                $($nr => $handler(cx, a),)*
                _ => unknown(nr),
            }
        }
    };
}

syscall_table! {
    0 => io::sys_read,
    1 => io::sys_write,
    3 => io::sys_close,
    2 => fs::sys_open,
    4 => fs::sys_stat,
    5 => io::sys_fstat,
    6 => fs::sys_lstat,
    7 => io::sys_poll,
    8 => io::sys_lseek,
    9 => mem::sys_mmap,
    10 => mem::sys_mprotect,
    11 => mem::sys_munmap,
    12 => mem::sys_brk,
    13 => signal::sys_rt_sigaction,
    14 => signal::sys_rt_sigprocmask,
    15 => signal::sys_rt_sigreturn,
    16 => io::sys_ioctl,
    17 => io::sys_pread64,
    18 => io::sys_pwrite64,
    19 => io::sys_readv,
    20 => io::sys_writev,
    21 => fs::sys_access,
    22 => ipc::sys_pipe,
    23 => io::sys_select,
    24 => sched::sys_sched_yield,
    25 => mem::sys_mremap,
    28 => mem::sys_madvise,
    32 => io::sys_dup,
    33 => io::sys_dup2,
    35 => time::sys_nanosleep,
    36 => time::sys_getitimer,
    37 => time::sys_alarm,
    38 => time::sys_setitimer,
    39 => proc::sys_getpid,
    56 => thread::sys_clone,
    57 => thread::sys_fork,
    58 => thread::sys_vfork,
    60 => thread::sys_exit,
    62 => signal::sys_kill,
    63 => info::sys_uname,
    40 => fs::sys_sendfile,
    72 => io::sys_fcntl,
    74 => fs::sys_fsync,
    75 => fs::sys_fsync,
    76 => fs::sys_truncate,
    77 => fs::sys_ftruncate,
    78 => fs::sys_getdents,
    79 => fs::sys_getcwd,
    80 => fs::sys_chdir,
    81 => fs::sys_fchdir,
    82 => fs::sys_rename,
    83 => fs::sys_mkdir,
    84 => fs::sys_rmdir,
    85 => fs::sys_creat,
    86 => fs::sys_link,
    87 => fs::sys_unlink,
    88 => fs::sys_symlink,
    89 => fs::sys_readlink,
    90 => fs::sys_chmod,
    91 => fs::sys_fchmod,
    92 => fs::sys_chown,
    93 => fs::sys_fchown,
    94 => fs::sys_lchown,
    95 => proc::sys_umask,
    96 => time::sys_gettimeofday,
    97 => proc::sys_getrlimit,
    98 => time::sys_getrusage,
    99 => info::sys_sysinfo,
    100 => time::sys_times,
    102 => proc::sys_getuid,
    104 => proc::sys_getgid,
    107 => proc::sys_geteuid,
    108 => proc::sys_getegid,
    110 => proc::sys_getppid,
    111 => proc::sys_getpgrp,
    121 => proc::sys_getpgid,
    124 => proc::sys_getsid,
    127 => signal::sys_rt_sigpending,
    128 => signal::sys_rt_sigtimedwait,
    129 => signal::sys_rt_sigqueueinfo,
    130 => signal::sys_rt_sigsuspend,
    131 => signal::sys_sigaltstack,
    133 => fs::sys_mknod,
    137 => fs::sys_statfs,
    138 => fs::sys_fstatfs,
    140 => proc::sys_getpriority,
    141 => proc::sys_setpriority,
    157 => proc::sys_prctl,
    158 => proc::sys_arch_prctl,
    160 => proc::sys_setrlimit,
    162 => fs::sys_sync,
    186 => thread::sys_gettid,
    200 => signal::sys_tkill,
    201 => time::sys_time,
    202 => futex::sys_futex,
    203 => sched::sys_sched_setaffinity,
    204 => sched::sys_sched_getaffinity,
    213 => event::sys_epoll_create,
    217 => fs::sys_getdents64,
    218 => thread::sys_set_tid_address,
    227 => time::sys_clock_settime,
    228 => time::sys_clock_gettime,
    229 => time::sys_clock_getres,
    230 => time::sys_clock_nanosleep,
    231 => thread::sys_exit_group,
    232 => event::sys_epoll_wait,
    233 => event::sys_epoll_ctl,
    234 => signal::sys_tgkill,
    257 => fs::sys_openat,
    258 => fs::sys_mkdirat,
    259 => fs::sys_mknodat,
    260 => fs::sys_fchownat,
    262 => fs::sys_newfstatat,
    263 => fs::sys_unlinkat,
    264 => fs::sys_renameat,
    265 => fs::sys_linkat,
    266 => fs::sys_symlinkat,
    267 => fs::sys_readlinkat,
    268 => fs::sys_fchmodat,
    269 => fs::sys_faccessat,
    270 => io::sys_pselect6,
    271 => io::sys_ppoll,
    273 => thread::sys_set_robust_list,
    274 => thread::sys_get_robust_list,
    280 => fs::sys_utimensat,
    281 => event::sys_epoll_pwait,
    282 => event::sys_signalfd,
    283 => event::sys_timerfd_create,
    284 => ipc::sys_eventfd,
    285 => fs::sys_fallocate,
    286 => event::sys_timerfd_settime,
    287 => event::sys_timerfd_gettime,
    289 => event::sys_signalfd4,
    290 => ipc::sys_eventfd2,
    291 => event::sys_epoll_create1,
    292 => io::sys_dup3,
    293 => ipc::sys_pipe2,
    295 => io::sys_preadv,
    296 => io::sys_pwritev,
    297 => signal::sys_rt_tgsigqueueinfo,
    302 => proc::sys_prlimit64,
    306 => fs::sys_syncfs,
    309 => sched::sys_getcpu,
    316 => fs::sys_renameat2,
    318 => info::sys_getrandom,
    326 => fs::sys_copy_file_range,
    327 => io::sys_preadv2,
    328 => io::sys_pwritev2,
    332 => fs::sys_statx,
    436 => io::sys_close_range,
    437 => fs::sys_openat2,
    439 => fs::sys_faccessat2,
    441 => event::sys_epoll_pwait2,
    435 => thread::sys_clone3,
}

/// Whether syscall `nr` is restarted after a handler with SA_RESTART
/// interrupted it (I/O and futex waits); poll, select, epoll, sleeps and
/// signal waits never are, as on Linux.
pub(crate) fn restartable(nr: u64) -> bool {
    matches!(
        nr,
        0 | 1 | 2 | 16 | 17 | 18 | 19 | 20 | 40 | 72 | 202 | 257 | 295 | 296 | 326
    )
}

/// Calls per syscall number below 512, counted only with `--verbose`
/// and logged when the program ends (like `strace -c`).
static COUNTS: [AtomicU32; 512] = [const { AtomicU32::new(0) }; 512];
/// clock_gettime calls per clock id (15: any other id), counted likewise:
/// the ids the vDSO answers should not show up.
static CLOCK_COUNTS: [AtomicU32; 16] = [const { AtomicU32::new(0) }; 16];
const NR_CLOCK_GETTIME: u64 = 228;

#[inline]
fn count(nr: u64, a: &Args) {
    if !crate::log::verbose() {
        return;
    }
    if let Some(c) = COUNTS.get(nr as usize) {
        c.fetch_add(1, Ordering::Relaxed);
    }
    if nr == NR_CLOCK_GETTIME {
        let id = (a[0] as u32 as usize).min(15);
        CLOCK_COUNTS[id].fetch_add(1, Ordering::Relaxed);
    }
}

/// Logs the per-syscall call counts (with `--verbose`).
pub(crate) fn log_counts() {
    use core::fmt::Write;
    if !crate::log::verbose() {
        return;
    }
    fn text(l: &crate::log::LineBuf) -> &str {
        core::str::from_utf8(l.as_bytes()).unwrap_or("")
    }
    let mut line = crate::log::LineBuf::new();
    let mut n = 0;
    for (nr, c) in COUNTS.iter().enumerate() {
        let c = c.load(Ordering::Relaxed);
        if c == 0 {
            continue;
        }
        if n % 8 == 0 && n > 0 {
            crate::klog!("syscall counts:{}", text(&line));
            line = crate::log::LineBuf::new();
        }
        let _ = match names::name(nr as u64) {
            Some(name) => write!(line, " {name} {c}"),
            None => write!(line, " #{nr} {c}"),
        };
        n += 1;
    }
    if n > 0 {
        crate::klog!("syscall counts:{}", text(&line));
    }
    let mut line = crate::log::LineBuf::new();
    for (id, c) in CLOCK_COUNTS.iter().enumerate() {
        let c = c.load(Ordering::Relaxed);
        if c != 0 {
            let _ = write!(line, " clock {id}: {c}");
        }
    }
    if !line.as_bytes().is_empty() {
        crate::klog!("clock_gettime syscalls by clock id:{}", text(&line));
    }
}

/// One bit per syscall number below 512: already logged as missing.
static LOGGED: [AtomicU64; 8] = [const { AtomicU64::new(0) }; 8];

fn unknown(nr: u64) -> SysResult {
    let first = match LOGGED.get((nr / 64) as usize) {
        Some(w) => w.fetch_or(1 << (nr % 64), Ordering::Relaxed) & (1 << (nr % 64)) == 0,
        None => true,
    };
    if first {
        match names::name(nr) {
            Some(n) => crate::klog!("syscall {n} ({nr}) is not implemented: ENOSYS"),
            None => crate::klog!("unknown syscall number {nr}: ENOSYS"),
        }
    }
    Err(Errno::ENOSYS)
}

/// Logs `what` once per call site (for partially supported features).
#[macro_export]
macro_rules! log_once {
    ($($arg:tt)*) => {{
        static DONE: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
        if !DONE.swap(true, core::sync::atomic::Ordering::Relaxed) {
            $crate::klog!($($arg)*);
        }
    }};
}
