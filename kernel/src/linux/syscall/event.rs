//! epoll, timerfd and signalfd system calls (man 2 epoll_ctl, epoll_wait,
//! timerfd_create, signalfd).

use alloc::sync::Arc;

use super::io::{file, with_sigmask};
use super::ipc::install;
use super::{Args, SyscallCx};
use crate::linux::epoll::{Epoll, EPOLLEXCLUSIVE, EPOLLONESHOT, EPOLLWAKEUP};
use crate::linux::errno::{Errno, SysResult};
use crate::linux::file::IoCx;
use crate::linux::signalfd::SignalFd;
use crate::linux::timerfd::TimerFd;
use crate::linux::uaccess::{read_bytes, Out};
use crate::sched::clock;

const O_NONBLOCK: u64 = 0o4000;
const O_CLOEXEC: u64 = 0o2000000;

/// The epoll instance behind an open file; EINVAL for any other kind.
fn as_epoll(f: &crate::linux::file::OpenFile) -> Result<&Epoll, Errno> {
    f.file.as_any().downcast_ref::<Epoll>().ok_or(Errno::EINVAL)
}

pub(super) fn sys_epoll_create(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    if a[0] as i32 <= 0 {
        return Err(Errno::EINVAL);
    }
    install(cx, Arc::new(Epoll::new()), oxv_vfs::node::O_RDWR, false).map(|fd| fd as usize)
}

pub(super) fn sys_epoll_create1(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    if a[0] & !O_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    install(
        cx,
        Arc::new(Epoll::new()),
        oxv_vfs::node::O_RDWR,
        a[0] & O_CLOEXEC != 0,
    )
    .map(|fd| fd as usize)
}

pub(super) fn sys_epoll_ctl(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    const ADD: u64 = 1;
    const DEL: u64 = 2;
    const MOD: u64 = 3;
    let epf = file(cx, a[0])?;
    let ep = as_epoll(&epf)?;
    let target = file(cx, a[2])?;
    if Arc::ptr_eq(&epf, &target) {
        return Err(Errno::EINVAL);
    }
    // Regular files and directories are always ready: epoll refuses them.
    let kind = target.file.metadata().mode & oxv_vfs::node::S_IFMT;
    if kind == oxv_vfs::node::S_IFREG || kind == oxv_vfs::node::S_IFDIR {
        return Err(Errno::EPERM);
    }
    let fd = a[2] as i32;
    let (events, data) = if a[1] == DEL {
        (0, 0)
    } else {
        let b = read_bytes(a[3], 12)?;
        (
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            u64::from_le_bytes(b[4..12].try_into().map_err(|_| Errno::EFAULT)?),
        )
    };
    if events & EPOLLEXCLUSIVE != 0 && (a[1] == MOD || events & (EPOLLONESHOT | EPOLLWAKEUP) != 0) {
        return Err(Errno::EINVAL);
    }
    if a[1] == ADD {
        if let Some(inner) = target.file.as_any().downcast_ref::<Epoll>() {
            if inner.reaches(&epf, 1) {
                return Err(Errno::ELOOP);
            }
        }
    }
    match a[1] {
        ADD => ep.add(fd, &target, events, data)?,
        MOD => ep.modify(fd, &target, events, data)?,
        DEL => ep.delete(fd, &target)?,
        _ => return Err(Errno::EINVAL),
    }
    crate::linux::file::notify();
    Ok(0)
}

fn do_wait(
    cx: &SyscallCx<'_>,
    epfd: u64,
    events: u64,
    max: u64,
    timeout_ns: Option<u64>,
) -> SysResult {
    let max = max as i32;
    if max <= 0 || max as usize > (i32::MAX as usize) / 12 {
        return Err(Errno::EINVAL);
    }
    let epf = file(cx, epfd)?;
    let ep = as_epoll(&epf)?;
    let user_deadline = timeout_ns.map(|t| clock::monotonic_ns().saturating_add(t));
    let io = IoCx {
        proc: cx.proc,
        thread: cx.thread,
        nonblock: timeout_ns == Some(0),
    };
    let ready = loop {
        // Wake for timerfds in the set even when the user timeout is later.
        let deadline = match (user_deadline, ep.next_deadline()) {
            (Some(u), Some(t)) => Some(u.min(t)),
            (u, t) => u.or(t),
        };
        match io.wait_until(deadline, || {
            let r = ep.collect(max as usize);
            (!r.is_empty()).then_some(r)
        }) {
            Ok(r) => break r,
            Err(Errno::EAGAIN) => break alloc::vec::Vec::new(),
            Err(Errno::ETIMEDOUT) if user_deadline.is_some_and(|u| clock::monotonic_ns() >= u) => {
                break ep.collect(max as usize);
            }
            Err(Errno::ETIMEDOUT) => continue,
            Err(e) => return Err(e),
        }
    };
    let mut o = Out::default();
    for (ev, data) in &ready {
        o.u32(*ev).u64(*data);
    }
    o.write_to(events)?;
    Ok(ready.len())
}

fn ms_timeout(t: u64) -> Option<u64> {
    let t = t as i32;
    (t >= 0).then(|| t as u64 * 1_000_000)
}

pub(super) fn sys_epoll_wait(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    do_wait(cx, a[0], a[1], a[2], ms_timeout(a[3]))
}

pub(super) fn sys_epoll_pwait(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    with_sigmask(cx, a[4], a[5], || {
        do_wait(cx, a[0], a[1], a[2], ms_timeout(a[3]))
    })?
}

pub(super) fn sys_epoll_pwait2(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let timeout = if a[3] == 0 {
        None
    } else {
        Some(super::time::read_timespec(a[3])?)
    };
    with_sigmask(cx, a[4], a[5], || do_wait(cx, a[0], a[1], a[2], timeout))?
}

pub(super) fn sys_timerfd_create(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let id = a[0] as u32;
    if !matches!(
        id,
        clock::CLOCK_REALTIME
            | clock::CLOCK_MONOTONIC
            | clock::CLOCK_BOOTTIME
            | clock::CLOCK_REALTIME_ALARM
            | clock::CLOCK_BOOTTIME_ALARM
    ) {
        return Err(Errno::EINVAL);
    }
    if a[1] & !(O_NONBLOCK | O_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let t = Arc::new(TimerFd::new(id));
    install(
        cx,
        t,
        oxv_vfs::node::O_RDWR | (a[1] & O_NONBLOCK) as u32,
        a[1] & O_CLOEXEC != 0,
    )
    .map(|fd| fd as usize)
}

/// The timerfd behind an open file; EINVAL for any other kind.
fn as_timerfd(f: &crate::linux::file::OpenFile) -> Result<&TimerFd, Errno> {
    f.file
        .as_any()
        .downcast_ref::<TimerFd>()
        .ok_or(Errno::EINVAL)
}

fn write_itimerspec(addr: u64, value: u64, interval: u64) -> Result<(), Errno> {
    let mut o = Out::default();
    let ns = 1_000_000_000;
    o.u64(interval / ns)
        .u64(interval % ns)
        .u64(value / ns)
        .u64(value % ns);
    o.write_to(addr)
}

fn read_itimerspec(addr: u64) -> Result<(u64, u64), Errno> {
    let interval = super::time::read_timespec(addr)?;
    let value = super::time::read_timespec(addr + 16)?;
    Ok((interval, value))
}

pub(super) fn sys_timerfd_settime(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    const TFD_TIMER_ABSTIME: u64 = 1;
    const TFD_TIMER_CANCEL_ON_SET: u64 = 2;
    if a[1] & !(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET) != 0 {
        return Err(Errno::EINVAL);
    }
    let f = file(cx, a[0])?;
    let t = as_timerfd(&f)?;
    let (interval, value) = read_itimerspec(a[2])?;
    let first = if value == 0 {
        0
    } else if a[1] & TFD_TIMER_ABSTIME != 0 {
        let now = clock::read(t.clock).unwrap_or(0);
        clock::monotonic_ns() + (value as i64 - now).max(0) as u64
    } else {
        clock::monotonic_ns() + value
    };
    let (old_value, old_interval) = t.set(first.max(u64::from(value != 0)), interval);
    if a[3] != 0 {
        write_itimerspec(a[3], old_value, old_interval)?;
    }
    Ok(0)
}

pub(super) fn sys_timerfd_gettime(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let f = file(cx, a[0])?;
    let t = as_timerfd(&f)?;
    let (value, interval) = t.get();
    write_itimerspec(a[1], value, interval)?;
    Ok(0)
}

fn do_signalfd(cx: &SyscallCx<'_>, fd: u64, mask_addr: u64, size: u64, flags: u64) -> SysResult {
    if size != 8 || flags & !(O_NONBLOCK | O_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let mask = crate::linux::uaccess::read_u64(mask_addr)? & !crate::linux::signal::UNBLOCKABLE;
    if fd as i32 != -1 {
        let f = file(cx, fd)?;
        let s = f
            .file
            .as_any()
            .downcast_ref::<SignalFd>()
            .ok_or(Errno::EINVAL)?;
        *s.mask.lock() = mask;
        return Ok(fd as i32 as usize);
    }
    let s = Arc::new(SignalFd {
        mask: oxv_hal::sync::SpinLock::new(mask),
    });
    install(
        cx,
        s,
        oxv_vfs::node::O_RDWR | (flags & O_NONBLOCK) as u32,
        flags & O_CLOEXEC != 0,
    )
    .map(|fd| fd as usize)
}

pub(super) fn sys_signalfd(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    do_signalfd(cx, a[0], a[1], a[2], 0)
}

pub(super) fn sys_signalfd4(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    do_signalfd(cx, a[0], a[1], a[2], a[3])
}
