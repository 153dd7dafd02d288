//! Process and identity system calls: exit, ids, limits, cwd, readlink of
//! /proc/self/exe, arch_prctl, the thread bookkeeping glibc and musl set up
//! at start (set_tid_address, set_robust_list).

use super::{Args, SyscallCx};
use crate::linux::errno::{Errno, SysResult};
use crate::linux::process::{Rlimit, PID, RLIM_NLIMITS};
use crate::linux::uaccess::{read_bytes, write_u64, Out};

pub(super) fn sys_getpid(_cx: &mut SyscallCx<'_>, _a: Args) -> SysResult {
    Ok(PID as usize)
}

/// The program's parent is the host, outside the VM: Linux reports 0 for
/// a process whose parent is in another PID namespace.
pub(super) fn sys_getppid(_cx: &mut SyscallCx<'_>, _a: Args) -> SysResult {
    Ok(0)
}

pub(super) fn sys_getpgrp(_cx: &mut SyscallCx<'_>, _a: Args) -> SysResult {
    Ok(PID as usize)
}

fn self_or_esrch(pid: u64) -> Result<(), Errno> {
    if pid as i32 == 0 || pid as u32 == PID {
        Ok(())
    } else {
        Err(Errno::ESRCH)
    }
}

pub(super) fn sys_getpgid(_cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    self_or_esrch(a[0])?;
    Ok(PID as usize)
}

pub(super) fn sys_getsid(_cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    self_or_esrch(a[0])?;
    Ok(PID as usize)
}

/// The program runs as root inside its VM.
pub(super) fn sys_getuid(_cx: &mut SyscallCx<'_>, _a: Args) -> SysResult {
    Ok(0)
}

pub(super) fn sys_geteuid(_cx: &mut SyscallCx<'_>, _a: Args) -> SysResult {
    Ok(0)
}

pub(super) fn sys_getgid(_cx: &mut SyscallCx<'_>, _a: Args) -> SysResult {
    Ok(0)
}

pub(super) fn sys_getegid(_cx: &mut SyscallCx<'_>, _a: Args) -> SysResult {
    Ok(0)
}

pub(super) fn sys_umask(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let mut m = cx.proc.umask.lock();
    let old = *m;
    *m = (a[0] as u32) & 0o777;
    Ok(old as usize)
}

pub(super) fn sys_arch_prctl(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    const ARCH_SET_GS: u64 = 0x1001;
    const ARCH_SET_FS: u64 = 0x1002;
    const ARCH_GET_FS: u64 = 0x1003;
    const ARCH_GET_GS: u64 = 0x1004;
    const ARCH_GET_CPUID: u64 = 0x1011;
    const ARCH_SET_CPUID: u64 = 0x1012;
    match a[0] {
        ARCH_SET_FS | ARCH_SET_GS if a[1] >= oxv_hal::USER_END => Err(Errno::EPERM),
        ARCH_SET_FS => {
            cx.ctx.fs_base = a[1];
            Ok(0)
        }
        ARCH_SET_GS => {
            cx.ctx.gs_base = a[1];
            Ok(0)
        }
        ARCH_GET_FS => write_u64(a[1], cx.ctx.fs_base).map(|_| 0),
        ARCH_GET_GS => write_u64(a[1], cx.ctx.gs_base).map(|_| 0),
        ARCH_GET_CPUID => Ok(1),
        ARCH_SET_CPUID => Err(Errno::ENODEV),
        _ => Err(Errno::EINVAL),
    }
}

fn resource(r: u64) -> Result<usize, Errno> {
    let r = r as usize;
    if r < RLIM_NLIMITS {
        Ok(r)
    } else {
        Err(Errno::EINVAL)
    }
}

fn write_rlimit(addr: u64, l: Rlimit) -> Result<(), Errno> {
    let mut o = Out::default();
    o.u64(l.cur).u64(l.max);
    o.write_to(addr)
}

fn read_rlimit(addr: u64) -> Result<Rlimit, Errno> {
    let b = read_bytes(addr, 16)?;
    let cur = u64::from_le_bytes(b[..8].try_into().map_err(|_| Errno::EFAULT)?);
    let max = u64::from_le_bytes(b[8..].try_into().map_err(|_| Errno::EFAULT)?);
    if cur > max {
        return Err(Errno::EINVAL);
    }
    Ok(Rlimit { cur, max })
}

fn prlimit(cx: &SyscallCx<'_>, res: u64, new: u64, old: u64) -> SysResult {
    let r = resource(res)?;
    let new = if new != 0 {
        Some(read_rlimit(new)?)
    } else {
        None
    };
    let mut lims = cx.proc.rlimits.lock();
    let cur = lims[r];
    if let Some(n) = new {
        // Raising the hard limit needs privilege; the program is root, but
        // the descriptor table has a fixed ceiling.
        if r == 7 && n.max > crate::linux::fd::MAX_FDS as u64 {
            return Err(Errno::EPERM);
        }
        lims[r] = n;
    }
    drop(lims);
    if old != 0 {
        write_rlimit(old, cur)?;
    }
    Ok(0)
}

pub(super) fn sys_prlimit64(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    if a[0] != 0 && a[0] as u32 != PID {
        return Err(Errno::ESRCH);
    }
    prlimit(cx, a[1], a[2], a[3])
}

pub(super) fn sys_getrlimit(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    prlimit(cx, a[0], 0, a[1])
}

pub(super) fn sys_setrlimit(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    prlimit(cx, a[0], a[1], 0)
}

/// Process and thread nice values are recorded (they do not change
/// scheduling yet); the program is root, so any value in -20..=19 goes.
pub(super) fn sys_getpriority(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    const PRIO_PROCESS: u64 = 0;
    if a[0] > 2 {
        return Err(Errno::EINVAL);
    }
    let t = if a[0] == PRIO_PROCESS && (a[1] as u32 == 0 || a[1] as u32 == PID) {
        cx.thread.clone()
    } else if a[0] == PRIO_PROCESS {
        cx.proc.thread(a[1] as u32).ok_or(Errno::ESRCH)?
    } else if a[1] as u32 == 0 {
        cx.thread.clone()
    } else {
        return Err(Errno::ESRCH);
    };
    let nice = t.nice.load(core::sync::atomic::Ordering::Relaxed) as i32;
    // The syscall returns 20 - nice (1..=40), libc converts.
    Ok((20 - nice) as usize)
}

pub(super) fn sys_setpriority(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    if a[0] > 2 {
        return Err(Errno::EINVAL);
    }
    let nice = (a[2] as i32).clamp(-20, 19);
    let targets: alloc::vec::Vec<_> = if a[1] as u32 == 0 || a[1] as u32 == PID {
        cx.proc.threads.lock().values().cloned().collect()
    } else {
        alloc::vec![cx.proc.thread(a[1] as u32).ok_or(Errno::ESRCH)?]
    };
    for t in targets {
        t.nice
            .store(nice as u32, core::sync::atomic::Ordering::Relaxed);
    }
    Ok(0)
}

/// prctl(2): the options programs and runtimes use at start-up. Thread
/// names are kept (/proc/self/task/N/comm is a later addition); the rest
/// answer as for a root process without capabilities restrictions.
pub(super) fn sys_prctl(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    const PR_SET_PDEATHSIG: u64 = 1;
    const PR_GET_PDEATHSIG: u64 = 2;
    const PR_GET_DUMPABLE: u64 = 3;
    const PR_SET_DUMPABLE: u64 = 4;
    const PR_SET_NAME: u64 = 15;
    const PR_GET_NAME: u64 = 16;
    const PR_GET_SECCOMP: u64 = 21;
    const PR_CAPBSET_READ: u64 = 23;
    const PR_SET_TIMERSLACK: u64 = 29;
    const PR_GET_TIMERSLACK: u64 = 30;
    const PR_SET_NO_NEW_PRIVS: u64 = 38;
    const PR_GET_NO_NEW_PRIVS: u64 = 39;
    const PR_SET_VMA: u64 = 0x5356_4d41;
    match a[0] {
        PR_SET_PDEATHSIG => {
            if a[1] > 64 {
                return Err(Errno::EINVAL);
            }
            // The parent is the host; it never dies while the VM runs.
            Ok(0)
        }
        PR_GET_PDEATHSIG => crate::linux::uaccess::write_u32(a[1], 0).map(|_| 0),
        PR_GET_DUMPABLE => Ok(1),
        PR_SET_DUMPABLE => {
            if a[1] > 1 {
                return Err(Errno::EINVAL);
            }
            Ok(0)
        }
        PR_SET_NAME => {
            let name =
                read_bytes(a[1], 16).or_else(|_| crate::linux::uaccess::read_cstr(a[1], 16))?;
            let end = name
                .iter()
                .position(|&b| b == 0)
                .unwrap_or(name.len())
                .min(15);
            *cx.thread.name.lock() = name[..end].to_vec();
            Ok(0)
        }
        PR_GET_NAME => {
            let mut out = [0u8; 16];
            let n = cx.thread.name.lock().clone();
            out[..n.len().min(15)].copy_from_slice(&n[..n.len().min(15)]);
            crate::linux::uaccess::write_bytes(a[1], &out).map(|_| 0)
        }
        PR_GET_SECCOMP => Ok(0),
        PR_CAPBSET_READ => {
            if a[1] > 40 {
                return Err(Errno::EINVAL);
            }
            Ok(1)
        }
        PR_SET_TIMERSLACK => Ok(0),
        PR_GET_TIMERSLACK => Ok(50_000),
        PR_SET_NO_NEW_PRIVS => {
            if a[1] != 1 || a[2] != 0 || a[3] != 0 || a[4] != 0 {
                return Err(Errno::EINVAL);
            }
            Ok(0)
        }
        PR_GET_NO_NEW_PRIVS => Ok(0),
        PR_SET_VMA => Err(Errno::EINVAL),
        op => {
            crate::klog!("prctl option {op} is not supported: EINVAL");
            Err(Errno::EINVAL)
        }
    }
}
