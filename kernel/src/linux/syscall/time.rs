//! Time system calls: clock_gettime/getres/settime, gettimeofday, time,
//! nanosleep, clock_nanosleep (man 2 clock_gettime, nanosleep).

use super::{Args, SyscallCx};
use crate::linux::errno::{Errno, SysResult};
use crate::linux::uaccess::{read_bytes, write_u64, Out};
use crate::sched::clock;

const NS: i64 = 1_000_000_000;

/// Reads a `struct timespec` and returns it in ns; EINVAL if malformed.
pub(crate) fn read_timespec(addr: u64) -> Result<u64, Errno> {
    let b = read_bytes(addr, 16)?;
    let sec = i64::from_le_bytes(b[..8].try_into().map_err(|_| Errno::EFAULT)?);
    let nsec = i64::from_le_bytes(b[8..].try_into().map_err(|_| Errno::EFAULT)?);
    if sec < 0 || !(0..NS).contains(&nsec) {
        return Err(Errno::EINVAL);
    }
    Ok((sec as u64)
        .saturating_mul(NS as u64)
        .saturating_add(nsec as u64))
}

fn write_timespec(addr: u64, ns: i64) -> Result<(), Errno> {
    let mut o = Out::default();
    o.i64(ns.div_euclid(NS)).i64(ns.rem_euclid(NS));
    o.write_to(addr)
}

fn clock_id(a: u64) -> Result<u32, Errno> {
    let id = a as i32;
    // Negative ids name per-process/thread CPU clocks (clock_getcpuclockid);
    // the only process and thread map to the CPU-time clock.
    if id < 0 {
        return Ok(clock::CLOCK_PROCESS_CPUTIME_ID);
    }
    Ok(id as u32)
}

pub(super) fn sys_clock_gettime(_cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let ns = clock::read(clock_id(a[0])?).ok_or(Errno::EINVAL)?;
    write_timespec(a[1], ns)?;
    Ok(0)
}

pub(super) fn sys_clock_getres(_cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let res = clock::resolution(clock_id(a[0])?).ok_or(Errno::EINVAL)?;
    if a[1] != 0 {
        write_timespec(a[1], res)?;
    }
    Ok(0)
}

pub(super) fn sys_clock_settime(_cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let id = clock_id(a[0])?;
    let ns = read_timespec(a[1])?;
    match id {
        clock::CLOCK_REALTIME => {
            clock::set_realtime_ns(ns as i64);
            Ok(0)
        }
        _ if clock::read(id).is_some() => Err(Errno::EINVAL),
        _ => Err(Errno::EINVAL),
    }
}

pub(super) fn sys_gettimeofday(_cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    if a[0] != 0 {
        let ns = clock::realtime_ns();
        let mut o = Out::default();
        o.i64(ns.div_euclid(NS)).i64(ns.rem_euclid(NS) / 1000);
        o.write_to(a[0])?;
    }
    if a[1] != 0 {
        // struct timezone: always UTC.
        write_u64(a[1], 0)?;
    }
    Ok(0)
}

pub(super) fn sys_time(_cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let t = clock::realtime_ns().div_euclid(NS);
    if a[0] != 0 {
        write_u64(a[0], t as u64)?;
    }
    Ok(t as usize)
}

/// Sleeps until `deadline` (monotonic ns); EINTR if a signal arrives
/// first, after storing the remaining time at `rem` (if not 0).
fn sleep_until(cx: &SyscallCx<'_>, deadline: u64, rem: u64) -> SysResult {
    loop {
        if crate::linux::signal::has_deliverable(cx.proc, cx.thread) {
            if rem != 0 {
                let left = deadline.saturating_sub(clock::monotonic_ns());
                write_timespec(rem, left as i64)?;
            }
            return Err(Errno::EINTR);
        }
        if crate::sched::sleep_until(deadline) {
            return Ok(0);
        }
    }
}

pub(super) fn sys_nanosleep(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let ns = read_timespec(a[0])?;
    sleep_until(cx, clock::monotonic_ns().saturating_add(ns), a[1])
}

pub(super) fn sys_clock_nanosleep(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    const TIMER_ABSTIME: u64 = 1;
    let id = clock_id(a[0])?;
    if matches!(id, clock::CLOCK_THREAD_CPUTIME_ID) {
        return Err(Errno::EINVAL);
    }
    let now = clock::read(id).ok_or(Errno::EINVAL)?;
    let ns = read_timespec(a[2])?;
    let abs = a[1] & TIMER_ABSTIME != 0;
    let rel = if abs { (ns as i64 - now).max(0) as u64 } else { ns };
    // An absolute sleep reports no remaining time (man 2 clock_nanosleep).
    sleep_until(cx, clock::monotonic_ns().saturating_add(rel), if abs { 0 } else { a[3] })
}
