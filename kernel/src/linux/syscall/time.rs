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
            crate::linux::vdso::set_realtime_ns(ns as i64);
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
    let rel = if abs {
        (ns as i64 - now).max(0) as u64
    } else {
        ns
    };
    // An absolute sleep reports no remaining time (man 2 clock_nanosleep).
    sleep_until(
        cx,
        clock::monotonic_ns().saturating_add(rel),
        if abs { 0 } else { a[3] },
    )
}

/// ITIMER_REAL of the process: the pending callback and its period.
static ITIMER_REAL: oxv_hal::sync::SpinLock<Option<(crate::sched::TimerKey, u64, u64)>> =
    oxv_hal::sync::SpinLock::new(None);

fn arm_real(deadline: u64, interval: u64) {
    let key = crate::sched::call_at(deadline, move || {
        if let Some(p) = crate::linux::process::current() {
            let info = crate::linux::signal::SigInfo {
                signo: 14,
                code: 0x80,
                addr: 0,
                pid: 0,
                value: 0,
            };
            crate::linux::signal::send_to_process(&p, info);
        }
        let mut g = ITIMER_REAL.lock();
        *g = None;
        drop(g);
        if interval != 0 {
            arm_real(deadline + interval, interval);
        }
    });
    *ITIMER_REAL.lock() = Some((key, deadline, interval));
}

/// Sets ITIMER_REAL; returns the old (remaining, interval) in ns.
fn set_real(value: u64, interval: u64) -> (u64, u64) {
    let old = ITIMER_REAL.lock().take();
    let now = clock::monotonic_ns();
    let old = old.map_or((0, 0), |(key, d, i)| {
        crate::sched::cancel_timer(key);
        (d.saturating_sub(now).max(1), i)
    });
    if value != 0 {
        arm_real(now + value, interval);
    }
    old
}

fn get_real() -> (u64, u64) {
    let now = clock::monotonic_ns();
    ITIMER_REAL
        .lock()
        .map_or((0, 0), |(_, d, i)| (d.saturating_sub(now).max(1), i))
}

fn read_timeval(addr: u64) -> Result<u64, Errno> {
    let b = read_bytes(addr, 16)?;
    let sec = i64::from_le_bytes(b[..8].try_into().map_err(|_| Errno::EFAULT)?);
    let usec = i64::from_le_bytes(b[8..].try_into().map_err(|_| Errno::EFAULT)?);
    if sec < 0 || !(0..1_000_000).contains(&usec) {
        return Err(Errno::EINVAL);
    }
    Ok(sec as u64 * 1_000_000_000 + usec as u64 * 1000)
}

fn write_itimerval(addr: u64, value: u64, interval: u64) -> Result<(), Errno> {
    let mut o = Out::default();
    let us = |ns: u64| ns.div_ceil(1000);
    o.u64(us(interval) / 1_000_000)
        .u64(us(interval) % 1_000_000)
        .u64(us(value) / 1_000_000)
        .u64(us(value) % 1_000_000);
    o.write_to(addr)
}

const ITIMER_REAL_ID: u64 = 0;

pub(super) fn sys_setitimer(_cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    if a[0] != ITIMER_REAL_ID {
        if a[0] > 2 {
            return Err(Errno::EINVAL);
        }
        crate::log_once!("setitimer: ITIMER_VIRTUAL and ITIMER_PROF are not supported: EINVAL");
        return Err(Errno::EINVAL);
    }
    let (interval, value) = if a[1] == 0 {
        (0, 0)
    } else {
        (read_timeval(a[1])?, read_timeval(a[1] + 16)?)
    };
    let (ov, oi) = set_real(value, interval);
    if a[2] != 0 {
        write_itimerval(a[2], ov, oi)?;
    }
    Ok(0)
}

pub(super) fn sys_getitimer(_cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    match a[0] {
        ITIMER_REAL_ID => {
            let (v, i) = get_real();
            write_itimerval(a[1], v, i)?;
            Ok(0)
        }
        1 | 2 => write_itimerval(a[1], 0, 0).map(|_| 0),
        _ => Err(Errno::EINVAL),
    }
}

pub(super) fn sys_alarm(_cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let secs = a[0] as u32 as u64;
    let (old, _) = set_real(secs * 1_000_000_000, 0);
    // Remaining seconds, rounded (alarm(2)).
    Ok(old.div_ceil(1_000_000_000) as usize)
}

/// Clock ticks per second (USER_HZ).
const USER_HZ: u64 = 100;

pub(super) fn sys_times(_cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let cpu = clock::cpu_ns() / (1_000_000_000 / USER_HZ);
    if a[0] != 0 {
        let mut o = Out::default();
        o.u64(cpu).u64(0).u64(0).u64(0);
        o.write_to(a[0])?;
    }
    Ok((clock::monotonic_ns() / (1_000_000_000 / USER_HZ)) as usize)
}

pub(super) fn sys_getrusage(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    const RUSAGE_SELF: i64 = 0;
    const RUSAGE_CHILDREN: i64 = -1;
    const RUSAGE_THREAD: i64 = 1;
    let who = i64::from(a[0] as i32);
    let (cpu, rss_kb) = match who {
        RUSAGE_SELF | RUSAGE_THREAD => (
            clock::cpu_ns(),
            cx.proc.aspace.lock().resident_pages() as u64 * 4,
        ),
        RUSAGE_CHILDREN => (0, 0),
        _ => return Err(Errno::EINVAL),
    };
    let mut o = Out::default();
    o.u64(cpu / 1_000_000_000).u64((cpu % 1_000_000_000) / 1000); // ru_utime
    o.u64(0).u64(0); // ru_stime
    o.u64(rss_kb); // ru_maxrss
    o.zeros(144 - o.0.len());
    o.write_to(a[1])?;
    Ok(0)
}
