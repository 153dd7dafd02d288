//! The system call table.
//!
//! One declarative table maps Linux x86-64 numbers to `sys_<name>`
//! handlers, one file per family; the macro generates the dispatcher.
//! Handlers get the raw argument registers and return `SysResult`; the
//! errno conversion happens once, in the run loop. An unknown number
//! returns ENOSYS and is logged once, by name.

use core::sync::atomic::{AtomicU64, Ordering};

use oxv_hal::UserContext;

use alloc::sync::Arc;

use super::errno::{Errno, SysResult};
use super::process::{LinuxThread, Process};
use super::signal::SigInfo;

mod futex;
mod info;
mod io;
mod mem;
pub(crate) mod names;
mod proc;
mod sched;
mod signal;
mod thread;
pub(crate) mod time;

pub(crate) use thread::thread_exit;

/// How a syscall ends the thread or the program.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Exit {
    /// exit: this thread ends with this status.
    Thread(i32),
    /// exit_group: the program ends with this status.
    Group(i32),
    /// The program is killed by a signal.
    Signal(SigInfo),
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
    4 => io::sys_stat,
    5 => io::sys_fstat,
    6 => io::sys_lstat,
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
    24 => sched::sys_sched_yield,
    25 => mem::sys_mremap,
    28 => mem::sys_madvise,
    32 => io::sys_dup,
    33 => io::sys_dup2,
    35 => time::sys_nanosleep,
    39 => proc::sys_getpid,
    56 => thread::sys_clone,
    57 => thread::sys_fork,
    58 => thread::sys_vfork,
    60 => thread::sys_exit,
    62 => signal::sys_kill,
    63 => info::sys_uname,
    72 => io::sys_fcntl,
    79 => proc::sys_getcwd,
    89 => proc::sys_readlink,
    95 => proc::sys_umask,
    96 => time::sys_gettimeofday,
    97 => proc::sys_getrlimit,
    99 => info::sys_sysinfo,
    102 => proc::sys_getuid,
    104 => proc::sys_getgid,
    107 => proc::sys_geteuid,
    108 => proc::sys_getegid,
    110 => proc::sys_getppid,
    111 => proc::sys_getpgrp,
    121 => proc::sys_getpgid,
    124 => proc::sys_getsid,
    127 => signal::sys_rt_sigpending,
    131 => signal::sys_sigaltstack,
    158 => proc::sys_arch_prctl,
    160 => proc::sys_setrlimit,
    186 => thread::sys_gettid,
    200 => signal::sys_tkill,
    201 => time::sys_time,
    202 => futex::sys_futex,
    203 => sched::sys_sched_setaffinity,
    204 => sched::sys_sched_getaffinity,
    218 => thread::sys_set_tid_address,
    227 => time::sys_clock_settime,
    228 => time::sys_clock_gettime,
    229 => time::sys_clock_getres,
    230 => time::sys_clock_nanosleep,
    231 => thread::sys_exit_group,
    234 => signal::sys_tgkill,
    262 => io::sys_newfstatat,
    267 => proc::sys_readlinkat,
    271 => io::sys_ppoll,
    273 => thread::sys_set_robust_list,
    274 => thread::sys_get_robust_list,
    292 => io::sys_dup3,
    302 => proc::sys_prlimit64,
    309 => sched::sys_getcpu,
    318 => info::sys_getrandom,
    332 => io::sys_statx,
    435 => thread::sys_clone3,
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
