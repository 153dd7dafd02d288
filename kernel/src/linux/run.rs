//! Running the program's threads: each thread loops over traps until it
//! exits; the process ends when its last thread exits, on exit_group, or
//! on a fatal signal.
//!
//! Each return to user mode first delivers a pending signal, if any.
//! Page faults are resolved through the address space (demand paging) or
//! become SIGSEGV; other CPU exceptions become their Linux signals; timer
//! interrupts are preemption points.

use alloc::sync::Arc;

use oxv_hal::{Trap, UserContext};

use super::errno::Errno;
use super::process::{LinuxThread, Process};
use super::signal::{self, Disposition, SigInfo, SEGV_ACCERR, SEGV_MAPERR, SIGSEGV};
use super::syscall::{self, Exit, SyscallCx};
use crate::mm::user_space::{Access, FaultError};

/// How the program ended.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ending {
    Exited(i32),
    Killed {
        sig: u32,
        fault_addr: u64,
        rip: u64,
    },
    /// A page fault found no free frame: the program is killed (SIGKILL),
    /// as Linux's OOM killer would.
    OutOfMemory {
        fault_addr: u64,
        rip: u64,
    },
}

fn deliver(proc: &Process, t: &LinuxThread, ctx: &mut UserContext) -> Option<Ending> {
    match signal::next(proc, t) {
        Disposition::None => None,
        Disposition::Kill(info) => Some(killed(info, ctx)),
        Disposition::Handle(sig, act, info, old_mask) => {
            let (alt, restart) = {
                let mut ts = t.sig.lock();
                (ts.altstack, ts.restart.take())
            };
            if let Some(nr) = restart.filter(|_| act.flags & signal::SA_RESTART != 0) {
                // Back to the `syscall` instruction with the number restored
                // (man 7 signal, "Interruption of system calls").
                ctx.rip -= 2;
                ctx.rax = nr;
            }
            if signal::setup_frame(ctx, sig, &act, &info, old_mask, &alt).is_err() {
                // No usable stack for the handler: Linux kills with SIGSEGV.
                return Some(killed(
                    SigInfo {
                        signo: SIGSEGV,
                        code: 0x80,
                        addr: ctx.rsp,
                        pid: 0,
                        value: 0,
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

/// Runs one thread of the program until it exits (`exit`); the whole
/// program's end (exit_group, a fatal signal) never returns.
pub(crate) fn thread_main(proc: Arc<Process>, me: Arc<LinuxThread>, mut ctx: UserContext) {
    loop {
        if let Some(end) = deliver(&proc, &me, &mut ctx) {
            crate::power::finish(end);
        }
        crate::sched::arm_slice_timer();
        if oxv_hal::current_root() != proc.pt_root {
            // First user code of this process on this CPU.
            proc.aspace.lock().activate();
        }
        match ctx.run() {
            Trap::Syscall => {
                let (nr, args) = ctx.syscall_args();
                let mut cx = SyscallCx {
                    proc: &proc,
                    thread: &me,
                    ctx: &mut ctx,
                    exit: None,
                };
                let r = syscall::dispatch(&mut cx, nr, args);
                me.sig.lock().restart =
                    (r == Err(Errno::EINTR) && syscall::restartable(nr)).then_some(nr);
                match cx.exit {
                    Some(Exit::Group(c)) => crate::power::finish(Ending::Exited(c)),
                    Some(Exit::Thread(c)) => {
                        super::syscall::thread_exit(&proc, &me, c);
                        return;
                    }
                    None => ctx.set_syscall_return(errno_return(r)),
                }
            }
            Trap::PageFault {
                addr, write, fetch, ..
            } => {
                let r =
                    crate::mm::user_space::fault(&proc.aspace, addr, Access { write, exec: fetch });
                if let Err(e) = r {
                    if e == FaultError::NoMemory {
                        let (free, total) = crate::mm::frames::counts();
                        crate::log::emit(format_args!(
                            "out of memory: page fault at {addr:#x} with {} of {} KiB free; killing the program",
                            free * 4,
                            total * 4
                        ));
                        crate::power::finish(Ending::OutOfMemory {
                            fault_addr: addr,
                            rip: ctx.rip,
                        });
                    }
                    let info = match e {
                        FaultError::Forbidden => SigInfo {
                            signo: SIGSEGV,
                            code: SEGV_ACCERR,
                            addr,
                            pid: 0,
                            value: 0,
                        },
                        // A file page that cannot be read: SIGBUS (BUS_ADRERR).
                        FaultError::Io => SigInfo {
                            signo: signal::SIGBUS,
                            code: 2,
                            addr,
                            pid: 0,
                            value: 0,
                        },
                        _ => SigInfo {
                            signo: SIGSEGV,
                            code: SEGV_MAPERR,
                            addr,
                            pid: 0,
                            value: 0,
                        },
                    };
                    signal::force(&proc, &me, info);
                }
            }
            Trap::Exception { vector, .. } => {
                let (signo, code) = signal::for_exception(vector);
                let addr = if signo == SIGSEGV { 0 } else { ctx.rip };
                signal::force(
                    &proc,
                    &me,
                    SigInfo {
                        signo,
                        code,
                        addr,
                        pid: 0,
                        value: 0,
                    },
                );
            }
            Trap::Interrupt(_) => crate::sched::preempt_point(),
        }
    }
}

/// Starts thread `me` of `proc` with registers `ctx` and FPU state `fpu`
/// on a new kernel thread.
pub(crate) fn spawn_thread(
    proc: &Arc<Process>,
    me: Arc<LinuxThread>,
    ctx: UserContext,
    fpu: alloc::boxed::Box<oxv_hal::FpuArea>,
) -> Result<(), Errno> {
    let (p, m) = (proc.clone(), me.clone());
    proc.threads.lock().insert(me.tid, me.clone());
    let affinity = crate::sched::online_mask();
    match crate::sched::spawn(
        alloc::boxed::Box::new(move || thread_main(p, m, ctx)),
        Some(fpu),
        affinity,
    ) {
        Some(t) => {
            *me.sched.lock() = Some(t);
            Ok(())
        }
        None => {
            proc.threads.lock().remove(&me.tid);
            Err(Errno::EAGAIN)
        }
    }
}
