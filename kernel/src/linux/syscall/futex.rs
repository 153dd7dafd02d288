//! futex (man 2 futex). With one thread nobody else can wake a waiter, so
//! WAIT checks the value (EAGAIN on mismatch) and then sleeps until its
//! timeout (ETIMEDOUT); without a timeout it would sleep forever, which is
//! reported as a deadlock instead of hanging the VM. WAKE wakes nobody.

use super::{Args, Exit, SyscallCx};
use crate::linux::errno::{Errno, SysResult};
use crate::linux::signal::{SigInfo, SIGKILL};
use crate::linux::uaccess::read_u32;
use crate::sched::clock;

const FUTEX_WAIT: u64 = 0;
const FUTEX_WAKE: u64 = 1;
const FUTEX_REQUEUE: u64 = 3;
const FUTEX_CMP_REQUEUE: u64 = 4;
const FUTEX_WAKE_OP: u64 = 5;
const FUTEX_WAIT_BITSET: u64 = 9;
const FUTEX_WAKE_BITSET: u64 = 10;
const FUTEX_PRIVATE: u64 = 128;
const FUTEX_CLOCK_REALTIME: u64 = 256;

pub(super) fn sys_futex(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let [uaddr, op, val, timeout, uaddr2, val3] = a;
    if uaddr % 4 != 0 {
        return Err(Errno::EINVAL);
    }
    let cmd = op & !(FUTEX_PRIVATE | FUTEX_CLOCK_REALTIME);
    match cmd {
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            if cmd == FUTEX_WAIT_BITSET && val3 as u32 == 0 {
                return Err(Errno::EINVAL);
            }
            if read_u32(uaddr)? != val as u32 {
                return Err(Errno::EAGAIN);
            }
            if timeout == 0 {
                crate::klog!(
                    "futex: the only thread waits with no timeout and nobody can wake it: deadlock"
                );
                cx.exit = Some(Exit::Signal(SigInfo {
                    signo: SIGKILL,
                    code: 0,
                    addr: 0,
                    pid: 0,
                }));
                return Ok(0);
            }
            let ns = super::time::read_timespec(timeout)?;
            // FUTEX_WAIT takes a relative timeout; WAIT_BITSET an absolute
            // one on MONOTONIC (or REALTIME with FUTEX_CLOCK_REALTIME).
            let deadline = if cmd == FUTEX_WAIT {
                clock::monotonic_ns().saturating_add(ns)
            } else {
                let now = if op & FUTEX_CLOCK_REALTIME != 0 {
                    clock::realtime_ns()
                } else {
                    clock::monotonic_ns() as i64
                };
                clock::monotonic_ns().saturating_add((ns as i64 - now).max(0) as u64)
            };
            clock::wait_until(deadline, || false);
            Err(Errno::ETIMEDOUT)
        }
        FUTEX_WAKE | FUTEX_WAKE_BITSET => {
            if cmd == FUTEX_WAKE_BITSET && val3 as u32 == 0 {
                return Err(Errno::EINVAL);
            }
            Ok(0)
        }
        FUTEX_REQUEUE => Ok(0),
        FUTEX_CMP_REQUEUE => {
            if read_u32(uaddr)? != val3 as u32 {
                return Err(Errno::EAGAIN);
            }
            Ok(0)
        }
        FUTEX_WAKE_OP => {
            // *uaddr2 = op(*uaddr2, oparg) happens even when nobody waits.
            let enc = val3 as u32;
            let mut oparg = ((enc << 8) as i32 >> 20) as u32;
            let opc = (enc >> 28) & 0xf;
            if opc & 8 != 0 {
                oparg = 1u32.checked_shl(oparg).unwrap_or(0);
            }
            let old = read_u32(uaddr2)?;
            let new = match opc & 7 {
                0 => oparg,
                1 => old.wrapping_add(oparg),
                2 => old | oparg,
                3 => old & !oparg,
                4 => old ^ oparg,
                _ => return Err(Errno::ENOSYS),
            };
            crate::linux::uaccess::write_u32(uaddr2, new)?;
            Ok(0)
        }
        _ => {
            crate::klog!("futex operation {cmd} is not supported: ENOSYS");
            Err(Errno::ENOSYS)
        }
    }
}
