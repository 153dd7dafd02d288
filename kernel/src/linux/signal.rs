//! Signals for the one process: dispositions, masks, pending sets, and
//! delivery through Linux's x86-64 `rt_sigframe` (arch/x86/kernel/signal.c),
//! so handlers see the `siginfo_t` and `ucontext_t` Linux would give them and
//! `rt_sigreturn` restores everything, the FPU state included.

use oxv_hal::{FpuArea, UserContext};

use super::process::{LinuxThread, Process};

use super::errno::Errno;
use super::uaccess::{read_bytes, Out};

#[allow(dead_code)] // Linux ABI number, not referenced yet
pub(crate) const SIGHUP: u32 = 1;
#[allow(dead_code)] // Linux ABI number, not referenced yet
pub(crate) const SIGINT: u32 = 2;
#[allow(dead_code)] // Linux ABI number, not referenced yet
pub(crate) const SIGQUIT: u32 = 3;
pub(crate) const SIGILL: u32 = 4;
pub(crate) const SIGTRAP: u32 = 5;
#[allow(dead_code)] // Linux ABI number, not referenced yet
pub(crate) const SIGABRT: u32 = 6;
pub(crate) const SIGBUS: u32 = 7;
pub(crate) const SIGFPE: u32 = 8;
pub(crate) const SIGKILL: u32 = 9;
pub(crate) const SIGSEGV: u32 = 11;
#[allow(dead_code)] // Linux ABI number, not referenced yet
pub(crate) const SIGPIPE: u32 = 13;
pub(crate) const SIGCHLD: u32 = 17;
pub(crate) const SIGCONT: u32 = 18;
pub(crate) const SIGSTOP: u32 = 19;
pub(crate) const SIGTSTP: u32 = 20;
pub(crate) const SIGTTIN: u32 = 21;
pub(crate) const SIGTTOU: u32 = 22;
pub(crate) const SIGURG: u32 = 23;
pub(crate) const SIGWINCH: u32 = 28;
/// Highest signal number (SIGRTMAX).
pub(crate) const NSIG: u32 = 64;

pub(crate) const SIG_DFL: u64 = 0;
pub(crate) const SIG_IGN: u64 = 1;

#[allow(dead_code)] // Linux ABI number, not referenced yet
pub(crate) const SA_SIGINFO: u64 = 0x4;
pub(crate) const SA_ONSTACK: u64 = 0x0800_0000;
pub(crate) const SA_RESTART: u64 = 0x1000_0000;
pub(crate) const SA_NODEFER: u64 = 0x4000_0000;
pub(crate) const SA_RESETHAND: u64 = 0x8000_0000;

/// si_code values.
pub(crate) const SI_USER: i32 = 0;
pub(crate) const SI_TKILL: i32 = -6;
pub(crate) const SEGV_MAPERR: i32 = 1;
pub(crate) const SEGV_ACCERR: i32 = 2;
pub(crate) const ILL_ILLOPN: i32 = 2;
pub(crate) const FPE_INTDIV: i32 = 1;
pub(crate) const TRAP_BRKPT: i32 = 1;
pub(crate) const BUS_ADRALN: i32 = 1;

pub(crate) const SS_ONSTACK: u32 = 1;
pub(crate) const SS_DISABLE: u32 = 2;

/// Bit for signal `sig` in a 64-bit set.
pub(crate) fn bit(sig: u32) -> u64 {
    1u64 << (sig - 1)
}

/// Signals that can never be caught or blocked.
pub(crate) const UNBLOCKABLE: u64 = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1));

/// One `struct sigaction` (kernel layout: handler, flags, restorer, mask).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SigAction {
    pub(crate) handler: u64,
    pub(crate) flags: u64,
    pub(crate) restorer: u64,
    pub(crate) mask: u64,
}

/// What a signal does by default (man 7 signal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DefaultAction {
    Terminate,
    Ignore,
    Stop,
}

pub(crate) fn default_action(sig: u32) -> DefaultAction {
    match sig {
        SIGCHLD | SIGURG | SIGWINCH | SIGCONT => DefaultAction::Ignore,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => DefaultAction::Stop,
        _ => DefaultAction::Terminate,
    }
}

/// Details of one pending signal.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SigInfo {
    pub(crate) signo: u32,
    pub(crate) code: i32,
    /// si_addr for faults.
    pub(crate) addr: u64,
    /// si_pid for kill.
    pub(crate) pid: u32,
    /// si_value (sigqueue), si_overrun/timer data.
    pub(crate) value: u64,
}

impl SigInfo {
    fn encode(&self) -> [u8; 128] {
        let mut b = [0u8; 128];
        b[0..4].copy_from_slice(&self.signo.to_le_bytes());
        b[8..12].copy_from_slice(&self.code.to_le_bytes());
        if self.addr != 0 || matches!(self.signo, SIGSEGV | SIGBUS | SIGILL | SIGFPE | SIGTRAP) {
            b[16..24].copy_from_slice(&self.addr.to_le_bytes());
        } else {
            b[16..20].copy_from_slice(&self.pid.to_le_bytes());
            b[24..32].copy_from_slice(&self.value.to_le_bytes());
        }
        b
    }
}

/// Alternate signal stack (sigaltstack).
#[derive(Debug, Clone, Copy)]
pub(crate) struct AltStack {
    pub(crate) sp: u64,
    pub(crate) flags: u32,
    pub(crate) size: u64,
}

impl Default for AltStack {
    fn default() -> Self {
        Self {
            sp: 0,
            flags: SS_DISABLE,
            size: 0,
        }
    }
}

impl AltStack {
    pub(crate) fn contains(&self, sp: u64) -> bool {
        self.flags & SS_DISABLE == 0 && sp > self.sp && sp <= self.sp + self.size
    }
}

/// Process-wide signal state: dispositions and process-directed pending
/// signals (kill).
#[derive(Debug, Clone)]
pub(crate) struct ProcessSignals {
    pub(crate) actions: [SigAction; NSIG as usize],
    pub(crate) pending: u64,
    pub(crate) info: [SigInfo; NSIG as usize],
}

impl Default for ProcessSignals {
    fn default() -> Self {
        Self {
            actions: [SigAction::default(); NSIG as usize],
            pending: 0,
            info: [SigInfo::default(); NSIG as usize],
        }
    }
}

/// Per-thread signal state: mask, thread-directed pending signals (tgkill,
/// faults), alternate stack.
#[derive(Debug, Clone)]
pub(crate) struct ThreadSignals {
    pub(crate) mask: u64,
    /// The mask to restore after the next handler (rt_sigsuspend, pselect).
    pub(crate) saved_mask: Option<u64>,
    /// The syscall to restart if the next handler has SA_RESTART.
    pub(crate) restart: Option<u64>,
    pub(crate) pending: u64,
    pub(crate) info: [SigInfo; NSIG as usize],
    pub(crate) altstack: AltStack,
}

impl ThreadSignals {
    pub(crate) fn with_mask(mask: u64) -> Self {
        Self {
            mask,
            saved_mask: None,
            restart: None,
            pending: 0,
            info: [SigInfo::default(); NSIG as usize],
            altstack: AltStack::default(),
        }
    }
}

/// What the run loop must do about pending signals.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Disposition {
    /// Nothing deliverable.
    None,
    /// Run the handler; the last field is the mask to restore afterwards.
    Handle(u32, SigAction, SigInfo, u64),
    /// The process dies of this signal.
    Kill(SigInfo),
}

impl ProcessSignals {
    pub(crate) fn action(&self, sig: u32) -> SigAction {
        self.actions[(sig - 1) as usize]
    }

    /// Whether `sig` would be discarded on arrival.
    pub(crate) fn ignored(&self, sig: u32) -> bool {
        let act = self.action(sig);
        sig != SIGKILL
            && (act.handler == SIG_IGN
                || (act.handler == SIG_DFL && default_action(sig) == DefaultAction::Ignore))
    }
}

fn add_pending(pending: &mut u64, infos: &mut [SigInfo; NSIG as usize], info: SigInfo) {
    let sig = info.signo;
    if *pending & bit(sig) == 0 {
        infos[(sig - 1) as usize] = info;
    }
    *pending |= bit(sig);
}

/// Sends a process-directed signal (kill): queued on the process and the
/// first thread that does not block it is interrupted to take it.
pub(crate) fn send_to_process(proc: &Process, info: SigInfo) {
    let target = {
        let mut ps = proc.signals.lock();
        if ps.ignored(info.signo) {
            return;
        }
        let ProcessSignals {
            pending,
            info: infos,
            ..
        } = &mut *ps;
        add_pending(pending, infos, info);
        let threads = proc.threads.lock();
        threads
            .values()
            .find(|t| t.sig.lock().mask & bit(info.signo) == 0)
            .cloned()
    };
    if let Some(t) = target {
        interrupt(&t);
    }
}

/// Sends a thread-directed signal (tgkill, raise).
pub(crate) fn send_to_thread(proc: &Process, t: &LinuxThread, info: SigInfo) {
    if proc.signals.lock().ignored(info.signo) {
        return;
    }
    {
        let mut ts = t.sig.lock();
        let ThreadSignals {
            pending,
            info: infos,
            ..
        } = &mut *ts;
        add_pending(pending, infos, info);
    }
    interrupt(t);
}

/// Makes `t` notice a new signal: wake it from a blocking wait, or bring it
/// into the kernel if it runs on another CPU.
fn interrupt(t: &LinuxThread) {
    t.kick();
    if let Some(s) = t.sched.lock().clone() {
        crate::sched::interrupt_user(&s);
    }
}

/// A synchronous fault of the current thread: delivered even if blocked or
/// ignored (then it kills, as Linux's force_sig does).
pub(crate) fn force(proc: &Process, t: &LinuxThread, info: SigInfo) {
    let sig = info.signo;
    let i = (sig - 1) as usize;
    let mut ps = proc.signals.lock();
    let mut ts = t.sig.lock();
    if ts.mask & bit(sig) != 0 || ps.actions[i].handler == SIG_IGN {
        ps.actions[i] = SigAction::default();
        ts.mask &= !bit(sig);
    }
    ts.info[i] = info;
    ts.pending |= bit(sig);
}

/// Takes the lowest pending signal in `set` for `t` (thread-directed
/// first), for sigtimedwait and signalfd.
pub(crate) fn dequeue(proc: &Process, t: &LinuxThread, set: u64) -> Option<SigInfo> {
    let mut ps = proc.signals.lock();
    let mut ts = t.sig.lock();
    let ready = (ts.pending | ps.pending) & set;
    if ready == 0 {
        return None;
    }
    let sig = ready.trailing_zeros() + 1;
    let i = (sig - 1) as usize;
    Some(if ts.pending & bit(sig) != 0 {
        ts.pending &= !bit(sig);
        ts.info[i]
    } else {
        ps.pending &= !bit(sig);
        ps.info[i]
    })
}

/// Pending signals of `t` (thread and process) in `set`.
pub(crate) fn pending_in(proc: &Process, t: &LinuxThread, set: u64) -> u64 {
    let pp = proc.signals.lock().pending;
    (t.sig.lock().pending | pp) & set
}

/// [`has_deliverable`] with the thread's signal state already locked.
pub(crate) fn has_deliverable_locked(ts: &ThreadSignals, proc: &Process) -> bool {
    let pp = proc.signals.lock().pending;
    (pp | ts.pending) & !(ts.mask & !UNBLOCKABLE) != 0
}

/// Whether a signal is deliverable to `t` now (blocking calls return EINTR).
pub(crate) fn has_deliverable(proc: &Process, t: &LinuxThread) -> bool {
    let pp = proc.signals.lock().pending;
    let ts = t.sig.lock();
    (pp | ts.pending) & !(ts.mask & !UNBLOCKABLE) != 0
}

/// Picks the next deliverable signal for `t` (lowest number first, as Linux).
pub(crate) fn next(proc: &Process, t: &LinuxThread) -> Disposition {
    let mut ps = proc.signals.lock();
    let mut ts = t.sig.lock();
    loop {
        let blocked = ts.mask & !UNBLOCKABLE;
        let ready = (ts.pending | ps.pending) & !blocked;
        if ready == 0 {
            return Disposition::None;
        }
        let sig = ready.trailing_zeros() + 1;
        let i = (sig - 1) as usize;
        let info = if ts.pending & bit(sig) != 0 {
            ts.pending &= !bit(sig);
            ts.info[i]
        } else {
            ps.pending &= !bit(sig);
            ps.info[i]
        };
        let act = ps.action(sig);
        match act.handler {
            SIG_IGN if sig != SIGKILL => continue,
            SIG_DFL => match default_action(sig) {
                DefaultAction::Ignore => continue,
                DefaultAction::Stop => {
                    crate::klog!("signal {sig}: stop requested; oxv has no job control, ignored");
                    continue;
                }
                DefaultAction::Terminate => return Disposition::Kill(info),
            },
            _ if sig == SIGKILL || sig == SIGSTOP => return Disposition::Kill(info),
            _ => {
                if act.flags & SA_RESETHAND != 0 {
                    ps.actions[i] = SigAction::default();
                }
                let mut block = act.mask;
                if act.flags & SA_NODEFER == 0 {
                    block |= bit(sig);
                }
                let old = ts.saved_mask.take().unwrap_or(ts.mask);
                ts.mask |= block & !UNBLOCKABLE;
                return Disposition::Handle(sig, act, info, old);
            }
        }
    }
}

const UC_SIGCONTEXT_SS: u64 = 0x2;
const UC_STRICT_RESTORE_SS: u64 = 0x4;
/// Bytes of `struct rt_sigframe` before the FPU state: pretcode (8),
/// ucontext (304), siginfo (128).
const FRAME_LEN: u64 = 8 + 304 + 128;
const UC_OFFSET: u64 = 8;
const INFO_OFFSET: u64 = 8 + 304;

/// Builds the signal frame on the user stack and points `ctx` at the
/// handler. `old_mask` is the mask to restore on return. Returns EFAULT if
/// the stack is unusable (the caller then kills with SIGSEGV).
pub(crate) fn setup_frame(
    ctx: &mut UserContext,
    sig: u32,
    act: &SigAction,
    info: &SigInfo,
    old_mask: u64,
    alt: &AltStack,
) -> Result<(), Errno> {
    let mut sp = ctx.rsp;
    let on_alt = alt.contains(sp);
    if act.flags & SA_ONSTACK != 0 && alt.flags & SS_DISABLE == 0 && !on_alt {
        sp = alt.sp + alt.size;
    } else {
        sp -= 128; // red zone
    }
    let fpu_len = oxv_hal::fpu_area_size() as u64;
    let fp_addr = (sp - fpu_len) & !63;
    let frame = ((fp_addr - FRAME_LEN) & !15) - 8;

    let mut fpu = FpuArea::default();
    oxv_hal::fpu_save(&mut fpu);
    super::uaccess::write_bytes(fp_addr, &fpu.0[..fpu_len as usize])?;

    let mut o = Out::default();
    o.u64(act.restorer);
    // ucontext: flags, link, stack_t
    o.u64(UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS).u64(0);
    o.u64(alt.sp)
        .u32(if on_alt { SS_ONSTACK } else { alt.flags })
        .u32(0)
        .u64(alt.size);
    // sigcontext
    for r in [
        ctx.r8, ctx.r9, ctx.r10, ctx.r11, ctx.r12, ctx.r13, ctx.r14, ctx.r15, ctx.rdi, ctx.rsi,
        ctx.rbp, ctx.rbx, ctx.rdx, ctx.rax, ctx.rcx, ctx.rsp, ctx.rip, ctx.rflags,
    ] {
        o.u64(r);
    }
    o.u16(ctx.cs as u16).u16(0).u16(0).u16(ctx.ss as u16);
    let (trapno, err) = if ctx.vector < 32 {
        (ctx.vector, ctx.error_code)
    } else {
        (0, 0)
    };
    o.u64(err)
        .u64(trapno)
        .u64(old_mask)
        .u64(info.addr)
        .u64(fp_addr);
    o.zeros(64);
    o.u64(old_mask);
    debug_assert_eq!(o.0.len() as u64, INFO_OFFSET);
    o.bytes(&info.encode());
    o.write_to(frame)?;

    ctx.rsp = frame;
    ctx.rip = act.handler;
    ctx.rdi = u64::from(sig);
    ctx.rsi = frame + INFO_OFFSET;
    ctx.rdx = frame + UC_OFFSET;
    ctx.rax = 0;
    ctx.rflags &= !(1 << 10 | 1 << 8); // DF, TF
    Ok(())
}

/// Restores the context saved by [`setup_frame`] (rt_sigreturn): the frame
/// starts 8 bytes below the current user RSP (the handler's `ret` popped
/// the restorer address). Returns the mask and alternate stack to restore.
pub(crate) fn restore_frame(ctx: &mut UserContext) -> Result<(u64, AltStack), Errno> {
    let frame = ctx.rsp - 8;
    let uc = read_bytes(frame + UC_OFFSET, 304)?;
    let u = |off: usize| u64::from_le_bytes(uc[off..off + 8].try_into().unwrap_or([0; 8]));
    let alt = AltStack {
        sp: u(16),
        flags: u32::from_le_bytes(uc[24..28].try_into().unwrap_or([0; 4])),
        size: u(32),
    };
    let mc = 40;
    let g = |i: usize| u(mc + i * 8);
    ctx.r8 = g(0);
    ctx.r9 = g(1);
    ctx.r10 = g(2);
    ctx.r11 = g(3);
    ctx.r12 = g(4);
    ctx.r13 = g(5);
    ctx.r14 = g(6);
    ctx.r15 = g(7);
    ctx.rdi = g(8);
    ctx.rsi = g(9);
    ctx.rbp = g(10);
    ctx.rbx = g(11);
    ctx.rdx = g(12);
    ctx.rax = g(13);
    ctx.rcx = g(14);
    ctx.rsp = g(15);
    ctx.rip = g(16);
    ctx.rflags = g(17);
    let fp_addr = g(23);
    let mask = u(mc + 256);
    if fp_addr != 0 {
        let len = oxv_hal::fpu_area_size();
        let bytes = read_bytes(fp_addr, len)?;
        let mut fpu = FpuArea::default();
        fpu.0[..len].copy_from_slice(&bytes);
        oxv_hal::fpu_restore(&fpu).map_err(|_| Errno::EFAULT)?;
    }
    Ok((mask & !UNBLOCKABLE, alt))
}

/// The signal a CPU exception turns into, with its si_code.
pub(crate) fn for_exception(vector: u8) -> (u32, i32) {
    match vector {
        0 => (SIGFPE, FPE_INTDIV),
        1 | 3 => (SIGTRAP, TRAP_BRKPT),
        6 => (SIGILL, ILL_ILLOPN),
        16 | 19 => (SIGFPE, 0),
        17 => (SIGBUS, BUS_ADRALN),
        _ => (SIGSEGV, 0x80), // SI_KERNEL, as Linux reports #GP
    }
}
