//! futex (man 2 futex): WAIT, WAKE, REQUEUE, CMP_REQUEUE, WAKE_OP,
//! WAIT_BITSET, WAKE_BITSET, with the PRIVATE flag and relative or absolute
//! timeouts on MONOTONIC or REALTIME. There is one address space, so private
//! and shared futexes are both keyed by the user address. PI futexes
//! (LOCK_PI and friends) return ENOSYS.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, Ordering};

use oxv_hal::sync::SpinLock;

use super::{Args, SyscallCx};
use crate::linux::errno::{Errno, SysResult};
use crate::linux::signal;
use crate::linux::uaccess::read_u32;
use crate::sched::{self, clock, BlockToken};

const FUTEX_WAIT: u64 = 0;
const FUTEX_WAKE: u64 = 1;
const FUTEX_REQUEUE: u64 = 3;
const FUTEX_CMP_REQUEUE: u64 = 4;
const FUTEX_WAKE_OP: u64 = 5;
const FUTEX_WAIT_BITSET: u64 = 9;
const FUTEX_WAKE_BITSET: u64 = 10;
const FUTEX_PRIVATE: u64 = 128;
const FUTEX_CLOCK_REALTIME: u64 = 256;

struct Waiter {
    token: BlockToken,
    bitset: u32,
    /// Set by a waker that took this waiter off the list.
    woken: Arc<AtomicBool>,
}

static FUTEXES: SpinLock<BTreeMap<u64, VecDeque<Waiter>>> = SpinLock::new(BTreeMap::new());

/// Wakes up to `n` waiters on `uaddr` whose bitset intersects `bitset`.
pub(crate) fn wake(uaddr: u64, n: usize, bitset: u32) -> usize {
    let mut table = FUTEXES.lock();
    wake_locked(&mut table, uaddr, n, bitset)
}

fn wake_locked(
    table: &mut BTreeMap<u64, VecDeque<Waiter>>,
    uaddr: u64,
    n: usize,
    bitset: u32,
) -> usize {
    let Some(q) = table.get_mut(&uaddr) else {
        return 0;
    };
    let mut woken = 0;
    let mut i = 0;
    while i < q.len() && woken < n {
        if q[i].bitset & bitset != 0 {
            if let Some(w) = q.remove(i) {
                w.woken.store(true, Ordering::Release);
                w.token.wake();
                woken += 1;
            }
        } else {
            i += 1;
        }
    }
    if q.is_empty() {
        table.remove(&uaddr);
    }
    woken
}

fn wait(cx: &SyscallCx<'_>, uaddr: u64, val: u32, deadline: Option<u64>, bitset: u32) -> SysResult {
    let woken = Arc::new(AtomicBool::new(false));
    {
        let mut table = FUTEXES.lock();
        if read_u32(uaddr)? != val {
            return Err(Errno::EAGAIN);
        }
        if signal::has_deliverable(cx.proc, cx.thread) {
            return Err(Errno::EINTR);
        }
        let token = sched::prepare_block();
        table.entry(uaddr).or_default().push_back(Waiter {
            token: token.clone(),
            bitset,
            woken: woken.clone(),
        });
        drop(table);
        // A signal that arrived after the check above found us blocked and
        // woke us; block() then returns at once.
        sched::block(token, deadline);
    }
    if woken.load(Ordering::Acquire) {
        return Ok(0);
    }
    // Not woken by FUTEX_WAKE: take ourselves off the list.
    {
        let mut table = FUTEXES.lock();
        if let Some(q) = table.get_mut(&uaddr) {
            q.retain(|w| !Arc::ptr_eq(&w.woken, &woken));
            if q.is_empty() {
                table.remove(&uaddr);
            }
        }
    }
    if woken.load(Ordering::Acquire) {
        return Ok(0);
    }
    if deadline.is_some_and(|d| clock::monotonic_ns() >= d) {
        Err(Errno::ETIMEDOUT)
    } else {
        Err(Errno::EINTR)
    }
}

fn requeue(
    uaddr: u64,
    n_wake: usize,
    n_requeue: usize,
    uaddr2: u64,
    cmp: Option<u32>,
) -> SysResult {
    let mut table = FUTEXES.lock();
    if let Some(v) = cmp {
        if read_u32(uaddr)? != v {
            return Err(Errno::EAGAIN);
        }
    }
    let woken = wake_locked(&mut table, uaddr, n_wake, u32::MAX);
    let mut moved = 0;
    if uaddr != uaddr2 {
        let mut take = VecDeque::new();
        if let Some(q) = table.get_mut(&uaddr) {
            while moved < n_requeue {
                match q.pop_front() {
                    Some(w) => {
                        take.push_back(w);
                        moved += 1;
                    }
                    None => break,
                }
            }
            if q.is_empty() {
                table.remove(&uaddr);
            }
        }
        if !take.is_empty() {
            table.entry(uaddr2).or_default().extend(take);
        }
    }
    Ok(woken + moved)
}

fn wake_op(uaddr: u64, n: usize, uaddr2: u64, n2: usize, enc: u32) -> SysResult {
    let mut oparg = ((enc << 8) as i32 >> 20) as u32;
    let cmparg = ((enc << 20) as i32 >> 20) as u32;
    let op = (enc >> 28) & 0xf;
    let cmp = (enc >> 24) & 0xf;
    if op & 8 != 0 {
        oparg = 1u32.checked_shl(oparg).unwrap_or(0);
    }
    let mut table = FUTEXES.lock();
    // Atomic read-modify-write of *uaddr2 against the program's atomics.
    let mut old = read_u32(uaddr2)?;
    loop {
        let new = match op & 7 {
            0 => oparg,
            1 => old.wrapping_add(oparg),
            2 => old | oparg,
            3 => old & !oparg,
            4 => old ^ oparg,
            _ => return Err(Errno::ENOSYS),
        };
        let found = oxv_hal::cmpxchg_user_u32(uaddr2, old, new).map_err(|_| Errno::EFAULT)?;
        if found == old {
            break;
        }
        old = found;
    }
    let mut woken = wake_locked(&mut table, uaddr, n, u32::MAX);
    let (o, a) = (old as i32, cmparg as i32);
    let hit = match cmp {
        0 => o == a,
        1 => o != a,
        2 => o < a,
        3 => o <= a,
        4 => o > a,
        5 => o >= a,
        _ => return Err(Errno::ENOSYS),
    };
    if hit {
        woken += wake_locked(&mut table, uaddr2, n2, u32::MAX);
    }
    Ok(woken)
}

pub(super) fn sys_futex(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let [uaddr, op, val, timeout, uaddr2, val3] = a;
    if uaddr % 4 != 0 {
        return Err(Errno::EINVAL);
    }
    let cmd = op & !(FUTEX_PRIVATE | FUTEX_CLOCK_REALTIME);
    if op & FUTEX_CLOCK_REALTIME != 0 && !matches!(cmd, FUTEX_WAIT | FUTEX_WAIT_BITSET) {
        return Err(Errno::ENOSYS);
    }
    match cmd {
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            let bitset = if cmd == FUTEX_WAIT {
                u32::MAX
            } else {
                val3 as u32
            };
            if bitset == 0 {
                return Err(Errno::EINVAL);
            }
            let deadline = if timeout == 0 {
                None
            } else {
                let ns = super::time::read_timespec(timeout)?;
                // FUTEX_WAIT: relative; WAIT_BITSET: absolute on MONOTONIC or,
                // with FUTEX_CLOCK_REALTIME, REALTIME.
                Some(if cmd == FUTEX_WAIT && op & FUTEX_CLOCK_REALTIME == 0 {
                    clock::monotonic_ns().saturating_add(ns)
                } else {
                    let now = if op & FUTEX_CLOCK_REALTIME != 0 {
                        clock::realtime_ns()
                    } else {
                        clock::monotonic_ns() as i64
                    };
                    let rel = if cmd == FUTEX_WAIT {
                        ns
                    } else {
                        (ns as i64 - now).max(0) as u64
                    };
                    clock::monotonic_ns().saturating_add(rel)
                })
            };
            wait(cx, uaddr, val as u32, deadline, bitset)
        }
        FUTEX_WAKE | FUTEX_WAKE_BITSET => {
            let bitset = if cmd == FUTEX_WAKE {
                u32::MAX
            } else {
                val3 as u32
            };
            if bitset == 0 {
                return Err(Errno::EINVAL);
            }
            // Linux wakes one waiter even for a count of 0.
            Ok(wake(uaddr, (val as u32 as usize).max(1), bitset))
        }
        FUTEX_REQUEUE => requeue(
            uaddr,
            val as u32 as usize,
            timeout as u32 as usize,
            uaddr2,
            None,
        ),
        FUTEX_CMP_REQUEUE => requeue(
            uaddr,
            val as u32 as usize,
            timeout as u32 as usize,
            uaddr2,
            Some(val3 as u32),
        ),
        FUTEX_WAKE_OP => wake_op(
            uaddr,
            val as u32 as usize,
            uaddr2,
            timeout as u32 as usize,
            val3 as u32,
        ),
        _ => {
            crate::log_once!("futex: PI and other operations are not supported: ENOSYS");
            Err(Errno::ENOSYS)
        }
    }
}
