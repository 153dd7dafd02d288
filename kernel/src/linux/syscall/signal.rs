//! Signal system calls: rt_sigaction, rt_sigprocmask, rt_sigreturn,
//! rt_sigpending, sigaltstack, kill/tkill/tgkill to the program itself.

use super::{Args, SyscallCx};
use crate::linux::errno::{Errno, SysResult};
use crate::linux::process::PID;
use crate::linux::signal::{
    self as sig, bit, restore_frame, AltStack, SigAction, SigInfo, NSIG, SIGKILL, SIGSTOP,
    SI_TKILL, SI_USER, SS_DISABLE, SS_ONSTACK, UNBLOCKABLE,
};
use crate::linux::uaccess::{read_bytes, write_u64, Out};

fn signum(s: u64) -> Result<u32, Errno> {
    let s = s as i64;
    if (1..=i64::from(NSIG)).contains(&s) {
        Ok(s as u32)
    } else {
        Err(Errno::EINVAL)
    }
}

pub(super) fn sys_rt_sigaction(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let [sig, act, old, size, ..] = a;
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let sig = signum(sig)?;
    let new = if act != 0 {
        let b = read_bytes(act, 32)?;
        let w = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
        Some(SigAction {
            handler: w(0),
            flags: w(1),
            restorer: w(2),
            mask: w(3) & !UNBLOCKABLE,
        })
    } else {
        None
    };
    if new.is_some() && (sig == SIGKILL || sig == SIGSTOP) {
        return Err(Errno::EINVAL);
    }
    let prev = {
        let mut s = cx.proc.signals.lock();
        let prev = s.action(sig);
        if let Some(n) = new {
            s.actions[(sig - 1) as usize] = n;
            // Setting SIG_IGN (or SIG_DFL for an ignored-by-default signal)
            // discards a pending instance (POSIX).
            let ignored = n.handler == crate::linux::signal::SIG_IGN
                || (n.handler == crate::linux::signal::SIG_DFL
                    && crate::linux::signal::default_action(sig)
                        == crate::linux::signal::DefaultAction::Ignore);
            if ignored {
                s.pending &= !bit(sig);
                for t in cx.proc.threads.lock().values() {
                    t.sig.lock().pending &= !bit(sig);
                }
            }
        }
        prev
    };
    if old != 0 {
        let mut o = Out::default();
        o.u64(prev.handler)
            .u64(prev.flags)
            .u64(prev.restorer)
            .u64(prev.mask);
        o.write_to(old)?;
    }
    Ok(0)
}

pub(super) fn sys_rt_sigprocmask(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    const SIG_BLOCK: u64 = 0;
    const SIG_UNBLOCK: u64 = 1;
    const SIG_SETMASK: u64 = 2;
    let [how, set, old, size, ..] = a;
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let new = if set != 0 {
        let b = read_bytes(set, 8)?;
        Some(u64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8])))
    } else {
        None
    };
    let mut s = cx.thread.sig.lock();
    let prev = s.mask;
    if let Some(n) = new {
        s.mask = match how {
            SIG_BLOCK => prev | n,
            SIG_UNBLOCK => prev & !n,
            SIG_SETMASK => n,
            _ => return Err(Errno::EINVAL),
        } & !UNBLOCKABLE;
    }
    drop(s);
    if old != 0 {
        write_u64(old, prev)?;
    }
    Ok(0)
}

pub(super) fn sys_rt_sigpending(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    if a[1] > 8 {
        return Err(Errno::EINVAL);
    }
    let pp = cx.proc.signals.lock().pending;
    let s = cx.thread.sig.lock();
    let pending = (s.pending | pp) & s.mask;
    drop(s);
    let bytes = pending.to_le_bytes();
    crate::linux::uaccess::write_bytes(a[0], &bytes[..a[1] as usize])?;
    Ok(0)
}

pub(super) fn sys_rt_sigreturn(cx: &mut SyscallCx<'_>, _a: Args) -> SysResult {
    match restore_frame(cx.ctx) {
        Ok((mask, alt)) => {
            let mut s = cx.thread.sig.lock();
            s.mask = mask;
            if alt.flags & SS_DISABLE == 0 || s.altstack.flags & SS_DISABLE == 0 {
                s.altstack = AltStack {
                    sp: alt.sp,
                    flags: alt.flags & SS_DISABLE,
                    size: alt.size,
                };
            }
            Ok(cx.ctx.rax as usize)
        }
        Err(_) => {
            // A corrupt frame: Linux kills with SIGSEGV.
            let info = SigInfo {
                signo: sig::SIGSEGV,
                code: 0x80,
                addr: 0,
                pid: 0,
                value: 0,
            };
            sig::force(cx.proc, cx.thread, info);
            Ok(cx.ctx.rax as usize)
        }
    }
}

pub(super) fn sys_sigaltstack(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    const MINSIGSTKSZ: u64 = 2048;
    let [ss, old, ..] = a;
    let cur = cx.thread.sig.lock().altstack;
    let on = cur.contains(cx.ctx.rsp);
    if ss != 0 {
        let b = read_bytes(ss, 24)?;
        let sp = u64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8]));
        let flags = u32::from_le_bytes(b[8..12].try_into().unwrap_or([0; 4]));
        let size = u64::from_le_bytes(b[16..24].try_into().unwrap_or([0; 8]));
        if on {
            return Err(Errno::EPERM);
        }
        const SS_AUTODISARM: u32 = 1 << 31;
        if flags & !(SS_DISABLE | SS_ONSTACK | SS_AUTODISARM) != 0 {
            return Err(Errno::EINVAL);
        }
        let new = if flags & SS_DISABLE != 0 {
            AltStack::default()
        } else {
            if size < MINSIGSTKSZ {
                return Err(Errno::ENOMEM);
            }
            AltStack { sp, flags: 0, size }
        };
        cx.thread.sig.lock().altstack = new;
    }
    if old != 0 {
        let flags = if cur.flags & SS_DISABLE != 0 {
            SS_DISABLE
        } else if on {
            SS_ONSTACK
        } else {
            0
        };
        let mut o = Out::default();
        o.u64(cur.sp).u32(flags).u32(0).u64(cur.size);
        o.write_to(old)?;
    }
    Ok(0)
}

fn send_process(cx: &SyscallCx<'_>, signo: u64, code: i32) -> SysResult {
    if signo == 0 {
        return Ok(0);
    }
    let signo = signum(signo)?;
    sig::send_to_process(
        cx.proc,
        SigInfo {
            signo,
            code,
            addr: 0,
            pid: PID,
            value: 0,
        },
    );
    Ok(0)
}

fn send_thread(cx: &SyscallCx<'_>, tid: u32, signo: u64) -> SysResult {
    let t = cx.proc.thread(tid).ok_or(Errno::ESRCH)?;
    if signo == 0 {
        return Ok(0);
    }
    let signo = signum(signo)?;
    sig::send_to_thread(
        cx.proc,
        &t,
        SigInfo {
            signo,
            code: SI_TKILL,
            addr: 0,
            pid: PID,
            value: 0,
        },
    );
    Ok(0)
}

pub(super) fn sys_kill(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let pid = a[0] as i32;
    // 0 (own group), -1 (everyone it may signal) and its own pid all reach
    // only the program itself.
    if pid == 0 || pid == -1 || pid == PID as i32 || pid == -(PID as i32) {
        send_process(cx, a[1], SI_USER)
    } else {
        if a[1] != 0 {
            signum(a[1])?;
        }
        Err(Errno::ESRCH)
    }
}

pub(super) fn sys_tkill(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    if a[0] as i32 <= 0 {
        return Err(Errno::EINVAL);
    }
    send_thread(cx, a[0] as u32, a[1])
}

pub(super) fn sys_tgkill(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    if a[0] as i32 <= 0 || a[1] as i32 <= 0 {
        return Err(Errno::EINVAL);
    }
    if a[0] as u32 != PID {
        return Err(Errno::ESRCH);
    }
    send_thread(cx, a[1] as u32, a[2])
}

pub(super) fn sys_rt_sigsuspend(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    if a[1] != 8 {
        return Err(Errno::EINVAL);
    }
    let mask = crate::linux::uaccess::read_u64(a[0])? & !UNBLOCKABLE;
    {
        let mut ts = cx.thread.sig.lock();
        ts.saved_mask = Some(ts.mask);
        ts.mask = mask;
    }
    let io = crate::linux::file::IoCx {
        proc: cx.proc,
        thread: cx.thread,
        nonblock: false,
    };
    // Only a signal ends the wait; the handler's frame restores the old mask.
    let r: Result<(), Errno> = io.wait(|| None);
    if r.is_err() && !sig::has_deliverable(cx.proc, cx.thread) {
        let mut ts = cx.thread.sig.lock();
        if let Some(m) = ts.saved_mask.take() {
            ts.mask = m;
        }
    }
    Err(Errno::EINTR)
}

fn write_siginfo(addr: u64, info: &SigInfo) -> Result<(), Errno> {
    let mut b = [0u8; 128];
    b[0..4].copy_from_slice(&info.signo.to_le_bytes());
    b[8..12].copy_from_slice(&info.code.to_le_bytes());
    b[16..20].copy_from_slice(&info.pid.to_le_bytes());
    b[24..32].copy_from_slice(&info.value.to_le_bytes());
    if info.addr != 0 {
        b[16..24].copy_from_slice(&info.addr.to_le_bytes());
    }
    crate::linux::uaccess::write_bytes(addr, &b)
}

pub(super) fn sys_rt_sigtimedwait(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    if a[3] != 8 {
        return Err(Errno::EINVAL);
    }
    let set = crate::linux::uaccess::read_u64(a[0])? & !UNBLOCKABLE;
    let deadline = if a[2] == 0 {
        None
    } else {
        Some(crate::sched::clock::monotonic_ns().saturating_add(super::time::read_timespec(a[2])?))
    };
    let io = crate::linux::file::IoCx {
        proc: cx.proc,
        thread: cx.thread,
        nonblock: deadline.is_some_and(|d| d <= crate::sched::clock::monotonic_ns()),
    };
    let info = match io.wait_until(deadline, || sig::dequeue(cx.proc, cx.thread, set)) {
        Ok(i) => i,
        Err(Errno::ETIMEDOUT) | Err(Errno::EAGAIN) => return Err(Errno::EAGAIN),
        Err(e) => return Err(e),
    };
    if a[1] != 0 {
        write_siginfo(a[1], &info)?;
    }
    Ok(info.signo as usize)
}

fn read_queued(cx: &SyscallCx<'_>, signo: u64, info: u64) -> Result<SigInfo, Errno> {
    let signo = signum(signo)?;
    let b = read_bytes(info, 128)?;
    let code = i32::from_le_bytes([b[8], b[9], b[10], b[11]]);
    // Only the kernel may send SI_USER/SI_KERNEL-style positive codes to
    // another process; to itself anything but SI_TKILL is allowed (Linux).
    if code >= 0 || code == SI_TKILL {
        let _ = cx;
        return Err(Errno::EPERM);
    }
    let value = u64::from_le_bytes(b[24..32].try_into().map_err(|_| Errno::EFAULT)?);
    Ok(SigInfo {
        signo,
        code,
        addr: 0,
        pid: PID,
        value,
    })
}

pub(super) fn sys_rt_sigqueueinfo(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    if a[0] as u32 != PID {
        return Err(Errno::ESRCH);
    }
    let info = read_queued(cx, a[1], a[2])?;
    sig::send_to_process(cx.proc, info);
    Ok(0)
}

pub(super) fn sys_rt_tgsigqueueinfo(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    if a[0] as u32 != PID {
        return Err(Errno::ESRCH);
    }
    let t = cx.proc.thread(a[1] as u32).ok_or(Errno::ESRCH)?;
    let info = read_queued(cx, a[2], a[3])?;
    sig::send_to_thread(cx.proc, &t, info);
    Ok(0)
}
