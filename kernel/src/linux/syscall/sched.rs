//! Scheduler system calls. One CPU runs the program for now, so the
//! affinity mask is CPU 0 (`--cpus` brings the others up in a later issue).

use super::{Args, SyscallCx};
use crate::linux::errno::{Errno, SysResult};
use crate::linux::process::PID;
use crate::linux::uaccess::{read_bytes, write_bytes, write_u32};

fn check_pid(pid: u64, cx: &SyscallCx<'_>) -> Result<(), Errno> {
    let p = pid as i32;
    if p == 0 || p as u32 == PID || cx.proc.thread(p as u32).is_some() {
        Ok(())
    } else {
        Err(Errno::ESRCH)
    }
}

pub(super) fn sys_sched_yield(_cx: &mut SyscallCx<'_>, _a: Args) -> SysResult {
    crate::sched::yield_now();
    Ok(0)
}

pub(super) fn sys_sched_getaffinity(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    check_pid(a[0], cx)?;
    let len = a[1] as usize;
    // The kernel's cpumask is 8 bytes here; smaller or unaligned buffers fail.
    if len < 8 || !len.is_multiple_of(8) {
        return Err(Errno::EINVAL);
    }
    let t = if a[0] as i32 == 0 {
        cx.thread.clone()
    } else {
        cx.proc
            .thread(a[0] as u32)
            .unwrap_or_else(|| cx.thread.clone())
    };
    let affinity = t.sched.lock().as_ref().map_or(u64::MAX, |s| {
        s.affinity.load(core::sync::atomic::Ordering::Relaxed)
    });
    let mask = affinity & crate::sched::online_mask();
    write_bytes(a[2], &mask.to_le_bytes())?;
    Ok(8)
}

pub(super) fn sys_sched_setaffinity(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    check_pid(a[0], cx)?;
    let len = (a[1] as usize).min(8);
    let m = read_bytes(a[2], len)?;
    let mut bytes = [0u8; 8];
    bytes[..len].copy_from_slice(&m);
    let mask = u64::from_le_bytes(bytes) & crate::sched::online_mask();
    if mask == 0 {
        return Err(Errno::EINVAL);
    }
    let t = if a[0] as i32 == 0 {
        cx.thread.clone()
    } else {
        cx.proc.thread(a[0] as u32).ok_or(Errno::ESRCH)?
    };
    if let Some(s) = t.sched.lock().as_ref() {
        s.affinity
            .store(mask, core::sync::atomic::Ordering::Relaxed);
    }
    if t.tid == cx.thread.tid && mask & (1 << crate::sched::this_cpu()) == 0 {
        crate::sched::yield_now();
    }
    Ok(0)
}

pub(super) fn sys_getcpu(_cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    if a[0] != 0 {
        write_u32(a[0], oxv_hal::cpu_id() as u32)?;
    }
    if a[1] != 0 {
        write_u32(a[1], 0)?;
    }
    Ok(0)
}
