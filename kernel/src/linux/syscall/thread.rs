//! Threads: clone/clone3 with thread flags, exit, exit_group, thread ids,
//! the robust futex list (man 2 clone, set_robust_list, get_robust_list).
//! There is one process, so fork and vfork (and clones that would make a
//! new process) return ENOSYS.

use alloc::boxed::Box;
use alloc::sync::Arc;

use oxv_hal::FpuArea;

use super::{Args, Exit, SyscallCx};
use crate::linux::errno::{Errno, SysResult};
use crate::linux::process::{LinuxThread, Process};
use crate::linux::uaccess::{read_bytes, read_u32, write_u32};

const CLONE_VM: u64 = 0x100;
const CLONE_FS: u64 = 0x200;
const CLONE_FILES: u64 = 0x400;
const CLONE_SIGHAND: u64 = 0x800;
const CLONE_PIDFD: u64 = 0x1000;
const CLONE_PTRACE: u64 = 0x2000;
const CLONE_VFORK: u64 = 0x4000;
const CLONE_PARENT: u64 = 0x8000;
const CLONE_THREAD: u64 = 0x10000;
const CLONE_NEWNS: u64 = 0x20000;
const CLONE_SYSVSEM: u64 = 0x40000;
const CLONE_SETTLS: u64 = 0x80000;
const CLONE_PARENT_SETTID: u64 = 0x100000;
const CLONE_CHILD_CLEARTID: u64 = 0x200000;
const CLONE_DETACHED: u64 = 0x400000;
const CLONE_UNTRACED: u64 = 0x800000;
const CLONE_CHILD_SETTID: u64 = 0x0100_0000;
const CLONE_IO: u64 = 0x8000_0000;

/// Flags a thread clone may carry.
const THREAD_FLAGS: u64 = CLONE_VM
    | CLONE_FS
    | CLONE_FILES
    | CLONE_SIGHAND
    | CLONE_THREAD
    | CLONE_SYSVSEM
    | CLONE_SETTLS
    | CLONE_PARENT_SETTID
    | CLONE_CHILD_CLEARTID
    | CLONE_CHILD_SETTID
    | CLONE_DETACHED
    | CLONE_UNTRACED
    | CLONE_IO
    | CLONE_PTRACE;

struct CloneArgs {
    flags: u64,
    stack: u64,
    parent_tid: u64,
    child_tid: u64,
    tls: u64,
}

fn do_clone(cx: &mut SyscallCx<'_>, c: CloneArgs) -> SysResult {
    let f = c.flags;
    if f & CLONE_THREAD != 0 && f & CLONE_SIGHAND == 0
        || f & CLONE_SIGHAND != 0 && f & CLONE_VM == 0
    {
        return Err(Errno::EINVAL);
    }
    if f & CLONE_THREAD == 0
        || f & CLONE_VFORK != 0
        || f & (CLONE_NEWNS | CLONE_PIDFD | CLONE_PARENT) != 0
    {
        crate::log_once!("clone without CLONE_THREAD (a new process) is not supported: ENOSYS");
        return Err(Errno::ENOSYS);
    }
    if f & !(THREAD_FLAGS | 0xff) != 0 {
        crate::klog!(
            "clone: unsupported flags {:#x}: EINVAL",
            f & !(THREAD_FLAGS | 0xff)
        );
        return Err(Errno::EINVAL);
    }
    let nproc = cx.proc.rlimits.lock()[6].cur;
    if cx.proc.thread_count() as u64 >= nproc {
        return Err(Errno::EAGAIN);
    }
    let tid = cx.proc.alloc_tid();
    let mask = cx.thread.sig.lock().mask;
    let child = Arc::new(LinuxThread::new(tid, mask));
    if f & CLONE_PARENT_SETTID != 0 {
        write_u32(c.parent_tid, tid)?;
    }
    if f & CLONE_CHILD_SETTID != 0 {
        write_u32(c.child_tid, tid)?;
    }
    if f & CLONE_CHILD_CLEARTID != 0 {
        child
            .clear_child_tid
            .store(c.child_tid, core::sync::atomic::Ordering::Relaxed);
    }
    let mut ctx = cx.ctx.clone();
    ctx.rax = 0;
    if c.stack != 0 {
        ctx.rsp = c.stack;
    }
    if f & CLONE_SETTLS != 0 {
        ctx.fs_base = c.tls;
    }
    // The child starts with the parent's FPU state (rounding modes, masks).
    let mut fpu = Box::new(FpuArea::default());
    oxv_hal::fpu_save(&mut fpu);
    crate::linux::run::spawn_thread(cx.proc, child, ctx, fpu)?;
    Ok(tid as usize)
}

pub(super) fn sys_clone(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    do_clone(
        cx,
        CloneArgs {
            flags: a[0],
            stack: a[1],
            parent_tid: a[2],
            child_tid: a[3],
            tls: a[4],
        },
    )
}

pub(super) fn sys_clone3(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    const VER0: u64 = 64;
    let size = a[1];
    if !(VER0..=4096).contains(&size) {
        return Err(Errno::EINVAL);
    }
    let b = read_bytes(a[0], size as usize)?;
    let w = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
    // Fields past the ones this kernel knows must be zero (man 2 clone3).
    if b[88.min(b.len())..].iter().any(|&x| x != 0) {
        return Err(Errno::E2BIG);
    }
    let (flags, child_tid, parent_tid, exit_signal, stack, stack_size, tls) =
        (w(0), w(2), w(3), w(4), w(5), w(6), w(7));
    if size >= 80 && w(9) != 0 {
        return Err(Errno::EINVAL); // set_tid needs PID namespaces
    }
    if exit_signal != 0 && flags & CLONE_THREAD != 0 {
        return Err(Errno::EINVAL);
    }
    if (stack == 0) != (stack_size == 0) {
        return Err(Errno::EINVAL);
    }
    let sp = if stack != 0 {
        stack.checked_add(stack_size).ok_or(Errno::EINVAL)?
    } else {
        0
    };
    do_clone(
        cx,
        CloneArgs {
            flags,
            stack: sp,
            parent_tid,
            child_tid,
            tls,
        },
    )
}

pub(super) fn sys_fork(_cx: &mut SyscallCx<'_>, _a: Args) -> SysResult {
    crate::log_once!("fork is not supported (oxv runs one process): ENOSYS");
    Err(Errno::ENOSYS)
}

pub(super) fn sys_vfork(_cx: &mut SyscallCx<'_>, _a: Args) -> SysResult {
    crate::log_once!("vfork is not supported (oxv runs one process): ENOSYS");
    Err(Errno::ENOSYS)
}

pub(super) fn sys_exit(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    cx.exit = Some(Exit::Thread((a[0] & 0xff) as i32));
    Ok(0)
}

pub(super) fn sys_exit_group(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    cx.exit = Some(Exit::Group((a[0] & 0xff) as i32));
    Ok(0)
}

pub(super) fn sys_gettid(cx: &mut SyscallCx<'_>, _a: Args) -> SysResult {
    Ok(cx.thread.tid as usize)
}

pub(super) fn sys_set_tid_address(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    cx.thread
        .clear_child_tid
        .store(a[0], core::sync::atomic::Ordering::Relaxed);
    Ok(cx.thread.tid as usize)
}

pub(super) fn sys_set_robust_list(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    // sizeof(struct robust_list_head) on x86-64.
    if a[1] != 24 {
        return Err(Errno::EINVAL);
    }
    *cx.thread.robust_list.lock() = (a[0], a[1]);
    Ok(0)
}

pub(super) fn sys_get_robust_list(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let t = if a[0] == 0 {
        cx.thread.clone()
    } else {
        cx.proc.thread(a[0] as u32).ok_or(Errno::ESRCH)?
    };
    let (head, len) = *t.robust_list.lock();
    crate::linux::uaccess::write_u64(a[1], head)?;
    crate::linux::uaccess::write_u64(a[2], len)?;
    Ok(0)
}

const FUTEX_WAITERS: u32 = 0x8000_0000;
const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
/// Linux's bound on robust-list walks (ROBUST_LIST_LIMIT).
const ROBUST_LIST_LIMIT: usize = 2048;

/// Marks a robust futex held by a dying thread (kernel/futex/core.c
/// handle_futex_death).
fn futex_death(uaddr: u64, tid: u32) {
    let Ok(v) = read_u32(uaddr) else { return };
    if v & FUTEX_TID_MASK != tid {
        return;
    }
    let new = (v & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
    if oxv_hal::cmpxchg_user_u32(uaddr, v, new) == Ok(v) && v & FUTEX_WAITERS != 0 {
        super::futex::wake(uaddr, 1, u32::MAX);
    }
}

fn walk_robust_list(head: u64, tid: u32) {
    if head == 0 {
        return;
    }
    let r = |a: u64| crate::linux::uaccess::read_u64(a);
    let (Ok(mut entry), Ok(offset), Ok(pending)) = (r(head), r(head + 8), r(head + 16)) else {
        return;
    };
    let offset = offset as i64;
    let mut n = 0;
    while entry != head && entry != 0 && n < ROBUST_LIST_LIMIT {
        let next = r(entry & !1).unwrap_or(head);
        if entry != pending {
            futex_death((entry & !1).wrapping_add(offset as u64), tid);
        }
        entry = next;
        n += 1;
    }
    if pending != 0 {
        futex_death((pending & !1).wrapping_add(offset as u64), tid);
    }
}

/// Ends thread `me`: wakes its joiner through clear_child_tid, releases its
/// robust futexes, and ends the program if it was the last thread. The
/// caller (the thread's run loop) then returns, dropping its references.
pub(crate) fn thread_exit(proc: &Arc<Process>, me: &Arc<LinuxThread>, code: i32) {
    walk_robust_list(me.robust_list.lock().0, me.tid);
    let ctid = me
        .clear_child_tid
        .load(core::sync::atomic::Ordering::Relaxed);
    if ctid != 0 && write_u32(ctid, 0).is_ok() {
        super::futex::wake(ctid, 1, u32::MAX);
    }
    let last = {
        let mut t = proc.threads.lock();
        t.remove(&me.tid);
        t.is_empty()
    };
    if last {
        crate::power::finish(crate::linux::run::Ending::Exited(code));
    }
    // Break the thread <-> kernel-thread reference cycle.
    *me.sched.lock() = None;
}
