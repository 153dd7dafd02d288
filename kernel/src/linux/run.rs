//! Running the program: start it, then loop over traps until it exits.
//!
//! Each return to user mode first delivers a pending signal, if any.
//! Page faults are resolved through the address space (demand paging) or
//! become SIGSEGV; other CPU exceptions become their Linux signals.

use alloc::sync::Arc;

use oxv_hal::{Trap, UserContext};

use super::errno::Errno;
use super::process::Process;
use super::signal::{self, Disposition, SigInfo, SEGV_ACCERR, SEGV_MAPERR, SIGSEGV};
use super::syscall::{self, Exit, SyscallCx, ThreadState};
use crate::mm::user_space::{Access, FaultError};

/// How the program ended.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ending {
    Exited(i32),
    Killed { sig: u32, fault_addr: u64, rip: u64 },
}

fn deliver(proc: &Process, ctx: &mut UserContext) -> Option<Ending> {
    let mut s = proc.signals.lock();
    match s.next() {
        Disposition::None => None,
        Disposition::Kill(info) => Some(killed(info, ctx)),
        Disposition::Handle(sig, act, info) => {
            let old_mask = s.mask;
            let alt = s.altstack;
            let mut block = act.mask;
            if act.flags & signal::SA_NODEFER == 0 {
                block |= signal::bit(sig);
            }
            s.mask |= block & !signal::UNBLOCKABLE;
            drop(s);
            if signal::setup_frame(ctx, sig, &act, &info, old_mask, &alt).is_err() {
                // No usable stack for the handler: Linux kills with SIGSEGV.
                return Some(killed(
                    SigInfo {
                        signo: SIGSEGV,
                        code: 0x80,
                        addr: ctx.rsp,
                        pid: 0,
                    },
                    ctx,
                ));
            }
            None
        }
    }
}

fn killed(info: SigInfo, ctx: &UserContext) -> Ending {
    Ending::Killed {
        sig: info.signo,
        fault_addr: info.addr,
        rip: ctx.rip,
    }
}

fn errno_return(r: Result<usize, Errno>) -> u64 {
    match r {
        Ok(v) => v as u64,
        Err(e) => (-(e.0 as i64)) as u64,
    }
}

/// Runs the program to its end.
pub(crate) fn run(proc: Arc<Process>, mut ctx: UserContext) -> Ending {
    let mut thread = ThreadState {
        tid: super::process::PID,
        ..ThreadState::default()
    };
    loop {
        if let Some(end) = deliver(&proc, &mut ctx) {
            return end;
        }
        match ctx.run() {
            Trap::Syscall => {
                let (nr, args) = ctx.syscall_args();
                let mut cx = SyscallCx {
                    proc: &proc,
                    ctx: &mut ctx,
                    thread: &mut thread,
                    exit: None,
                };
                let r = syscall::dispatch(&mut cx, nr, args);
                match cx.exit {
                    Some(Exit::Code(c)) => return Ending::Exited(c),
                    Some(Exit::Signal(info)) => return killed(info, &ctx),
                    None => ctx.set_syscall_return(errno_return(r)),
                }
            }
            Trap::PageFault {
                addr, write, fetch, ..
            } => {
                let r = proc
                    .aspace
                    .lock()
                    .handle_fault(addr, Access { write, exec: fetch });
                match r {
                    Ok(()) => {}
                    Err(e) => {
                        let code = if e == FaultError::Forbidden {
                            SEGV_ACCERR
                        } else {
                            SEGV_MAPERR
                        };
                        proc.signals.lock().force(SigInfo {
                            signo: SIGSEGV,
                            code,
                            addr,
                            pid: 0,
                        });
                    }
                }
            }
            Trap::Exception { vector, .. } => {
                let (signo, code) = signal::for_exception(vector);
                let addr = if signo == SIGSEGV { 0 } else { ctx.rip };
                proc.signals.lock().force(SigInfo {
                    signo,
                    code,
                    addr,
                    pid: 0,
                });
            }
            Trap::Interrupt(_) => {}
        }
    }
}
