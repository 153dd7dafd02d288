//! File I/O system calls on descriptors: read, write and their vector and
//! positional forms, close, dup, fcntl, stat, ioctl, poll.
//!
//! The only files so far are the console streams (fds 0-2 as the host
//! wired them: a terminal or a pipe/file). Pipes and terminals cannot seek,
//! so lseek/pread/pwrite give ESPIPE, as on Linux.

use alloc::sync::Arc;
use alloc::vec::Vec;

use oxv_abi::console::GuestChannel;
use oxv_hal::sync::SpinLock;

use super::{Args, SyscallCx};
use crate::drivers::console::{self, StdinRead};
use crate::linux::errno::{Errno, SysResult};
use crate::linux::fd::{FdEntry, FileKind, OpenFile, Stream, O_ACCMODE, O_NONBLOCK, SETFL_MASK};
use crate::linux::uaccess::{self, read_bytes, read_cstr, read_iovecs, write_bytes, Out, CHUNK};
use crate::sched::clock;

const AT_FDCWD: i32 = -100;
const AT_EMPTY_PATH: u64 = 0x1000;
const PATH_MAX: usize = 4096;

fn file(cx: &SyscallCx<'_>, fd: u64) -> Result<Arc<OpenFile>, Errno> {
    cx.proc.fds.lock().get(fd as i32)
}

fn is_tty(cx: &SyscallCx<'_>, s: Stream) -> bool {
    cx.proc.tty.is_tty[s as usize]
}

/// Reads up to `len` bytes of stdin into user memory at `buf`.
fn read_stdin(cx: &SyscallCx<'_>, f: &OpenFile, buf: u64, len: usize) -> SysResult {
    if len == 0 {
        return Ok(0);
    }
    let mut k = alloc::vec![0u8; len.min(CHUNK)];
    let r = loop {
        match console::stdin_try_read(&mut k) {
            StdinRead::Data(n) => break n,
            StdinRead::Eof => break 0,
            StdinRead::Empty if f.nonblocking() => return Err(Errno::EAGAIN),
            StdinRead::Empty => {
                let signalled = || crate::linux::signal::has_deliverable(cx.proc, cx.thread);
                clock::wait_until(u64::MAX, || console::stdin_ready() || signalled());
                if !console::stdin_ready() && signalled() {
                    return Err(Errno::EINTR);
                }
            }
        }
    };
    write_bytes(buf, &k[..r])?;
    Ok(r)
}

fn channel(s: Stream) -> GuestChannel {
    if s == Stream::Stderr {
        GuestChannel::Stderr
    } else {
        GuestChannel::Stdout
    }
}

/// Writes `len` bytes from user memory at `buf` to a console stream.
fn write_console(s: Stream, buf: u64, len: usize) -> SysResult {
    let mut done = 0;
    while done < len {
        let n = (len - done).min(CHUNK);
        let data = match read_bytes(buf + done as u64, n) {
            Ok(d) => d,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        console::send(channel(s), &data);
        done += n;
    }
    Ok(done)
}

fn do_read(cx: &SyscallCx<'_>, f: &OpenFile, buf: u64, len: usize) -> SysResult {
    if !f.readable() {
        return Err(Errno::EBADF);
    }
    match f.kind {
        FileKind::Console(Stream::Stdin) => read_stdin(cx, f, buf, len),
        FileKind::Console(_) => Err(Errno::EBADF),
    }
}

fn do_write(f: &OpenFile, buf: u64, len: usize) -> SysResult {
    if !f.writable() {
        return Err(Errno::EBADF);
    }
    match f.kind {
        FileKind::Console(s) => write_console(s, buf, len),
    }
}

pub(super) fn sys_read(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let f = file(cx, a[0])?;
    do_read(cx, &f, a[1], (a[2] as usize).min(isize::MAX as usize))
}

pub(super) fn sys_write(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let f = file(cx, a[0])?;
    do_write(&f, a[1], (a[2] as usize).min(isize::MAX as usize))
}

pub(super) fn sys_readv(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let f = file(cx, a[0])?;
    let iov = read_iovecs(a[1], a[2] as usize)?;
    let mut total = 0;
    for (base, len) in iov {
        if len == 0 {
            continue;
        }
        let n = match do_read(cx, &f, base, len) {
            Ok(n) => n,
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        };
        total += n;
        if n < len {
            break;
        }
    }
    Ok(total)
}

pub(super) fn sys_writev(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let f = file(cx, a[0])?;
    let iov = read_iovecs(a[1], a[2] as usize)?;
    if !f.writable() {
        return Err(Errno::EBADF);
    }
    // Gather first so one writev is one contiguous write on the stream.
    let mut data = Vec::new();
    for (base, len) in iov {
        match read_bytes(base, len) {
            Ok(d) => data.extend_from_slice(&d),
            Err(e) if data.is_empty() => return Err(e),
            Err(_) => break,
        }
    }
    match f.kind {
        FileKind::Console(s) => console::send(channel(s), &data),
    }
    Ok(data.len())
}

fn not_seekable(cx: &SyscallCx<'_>, fd: u64) -> SysResult {
    file(cx, fd)?;
    Err(Errno::ESPIPE)
}

pub(super) fn sys_pread64(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    not_seekable(cx, a[0])
}

pub(super) fn sys_pwrite64(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    not_seekable(cx, a[0])
}

pub(super) fn sys_lseek(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    not_seekable(cx, a[0])
}

pub(super) fn sys_close(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    cx.proc.fds.lock().close(a[0] as i32)?;
    Ok(0)
}

fn nofile_limit(cx: &SyscallCx<'_>) -> usize {
    cx.proc.rlimits.lock()[7].cur.min(u64::from(u32::MAX)) as usize
}

pub(super) fn sys_dup(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let limit = nofile_limit(cx);
    let mut fds = cx.proc.fds.lock();
    let f = fds.get(a[0] as i32)?;
    fds.insert_from(
        0,
        FdEntry {
            file: f,
            cloexec: false,
        },
        limit,
    )
    .map(|fd| fd as usize)
}

fn dup_to(cx: &SyscallCx<'_>, old: u64, new: u64, cloexec: bool) -> SysResult {
    let limit = nofile_limit(cx);
    let mut fds = cx.proc.fds.lock();
    let f = fds.get(old as i32)?;
    let new = usize::try_from(new as i32).map_err(|_| Errno::EBADF)?;
    fds.insert_at(new, FdEntry { file: f, cloexec }, limit)?;
    Ok(new)
}

pub(super) fn sys_dup2(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    if a[0] as i32 == a[1] as i32 {
        file(cx, a[0])?;
        return Ok(a[1] as i32 as usize);
    }
    dup_to(cx, a[0], a[1], false)
}

pub(super) fn sys_dup3(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    const O_CLOEXEC: u64 = 0o2000000;
    if a[2] & !O_CLOEXEC != 0 || a[0] as i32 == a[1] as i32 {
        return Err(Errno::EINVAL);
    }
    dup_to(cx, a[0], a[1], a[2] & O_CLOEXEC != 0)
}

pub(super) fn sys_fcntl(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    const F_DUPFD: u64 = 0;
    const F_GETFD: u64 = 1;
    const F_SETFD: u64 = 2;
    const F_GETFL: u64 = 3;
    const F_SETFL: u64 = 4;
    const F_DUPFD_CLOEXEC: u64 = 1030;
    const FD_CLOEXEC: u64 = 1;
    let fd = a[0] as i32;
    let limit = nofile_limit(cx);
    let mut fds = cx.proc.fds.lock();
    match a[1] {
        F_DUPFD | F_DUPFD_CLOEXEC => {
            let f = fds.get(fd)?;
            let min = usize::try_from(a[2] as i32).map_err(|_| Errno::EINVAL)?;
            if min >= limit {
                return Err(Errno::EINVAL);
            }
            fds.insert_from(
                min,
                FdEntry {
                    file: f,
                    cloexec: a[1] == F_DUPFD_CLOEXEC,
                },
                limit,
            )
            .map(|n| n as usize)
        }
        F_GETFD => Ok(if fds.entry_mut(fd)?.cloexec {
            FD_CLOEXEC as usize
        } else {
            0
        }),
        F_SETFD => {
            fds.entry_mut(fd)?.cloexec = a[2] & FD_CLOEXEC != 0;
            Ok(0)
        }
        F_GETFL => Ok(*fds.get(fd)?.flags.lock() as usize),
        F_SETFL => {
            let f = fds.get(fd)?;
            let mut fl = f.flags.lock();
            *fl = (*fl & !SETFL_MASK) | (a[2] as u32 & SETFL_MASK);
            Ok(0)
        }
        cmd => {
            fds.get(fd)?;
            crate::klog!("fcntl command {cmd} is not supported: EINVAL");
            Err(Errno::EINVAL)
        }
    }
}

/// Stat data for one file.
struct StatData {
    dev: u64,
    ino: u64,
    mode: u32,
    nlink: u32,
    rdev_major: u32,
    rdev_minor: u32,
    size: u64,
    blksize: u32,
}

fn stat_of(cx: &SyscallCx<'_>, f: &OpenFile) -> StatData {
    const S_IFCHR: u32 = 0o020000;
    const S_IFIFO: u32 = 0o010000;
    match f.kind {
        FileKind::Console(s) if is_tty(cx, s) => StatData {
            dev: 0x16,
            ino: 3,
            mode: S_IFCHR | 0o620,
            nlink: 1,
            rdev_major: 136,
            rdev_minor: 0,
            size: 0,
            blksize: 1024,
        },
        FileKind::Console(s) => StatData {
            dev: 0xd,
            ino: 100 + s as u64,
            mode: S_IFIFO | 0o600,
            nlink: 1,
            rdev_major: 0,
            rdev_minor: 0,
            size: 0,
            blksize: 4096,
        },
    }
}

fn makedev(major: u32, minor: u32) -> u64 {
    (u64::from(major & 0xfffff000) << 32)
        | (u64::from(major & 0xfff) << 8)
        | (u64::from(minor & 0xffffff00) << 12)
        | u64::from(minor & 0xff)
}

fn write_stat(st: &StatData, addr: u64) -> Result<(), Errno> {
    let now = clock::realtime_ns();
    let (sec, nsec) = (now.div_euclid(1_000_000_000), now.rem_euclid(1_000_000_000));
    let mut o = Out::default();
    o.u64(st.dev).u64(st.ino).u64(u64::from(st.nlink));
    o.u32(st.mode).u32(0).u32(0).u32(0);
    o.u64(makedev(st.rdev_major, st.rdev_minor));
    o.u64(st.size)
        .u64(u64::from(st.blksize))
        .u64(st.size.div_ceil(512));
    for _ in 0..3 {
        o.i64(sec).i64(nsec);
    }
    o.zeros(24);
    o.write_to(addr)
}

pub(super) fn sys_fstat(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let f = file(cx, a[0])?;
    write_stat(&stat_of(cx, &f), a[1])?;
    Ok(0)
}

/// Paths: there is no file system yet (a later issue adds one), so every
/// path lookup fails with ENOENT after the path itself is validated.
fn lookup(path: u64) -> Result<(), Errno> {
    let p = read_cstr(path, PATH_MAX)?;
    if p.is_empty() {
        return Err(Errno::ENOENT);
    }
    crate::log_once!("file system not available yet: path lookups fail with ENOENT");
    Err(Errno::ENOENT)
}

pub(super) fn sys_stat(_cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    lookup(a[0]).map(|_| 0)
}

pub(super) fn sys_lstat(_cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    lookup(a[0]).map(|_| 0)
}

pub(super) fn sys_newfstatat(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let p = read_cstr(a[1], PATH_MAX)?;
    if p.is_empty() && a[3] & AT_EMPTY_PATH != 0 {
        if a[0] as i32 == AT_FDCWD {
            return Err(Errno::ENOENT);
        }
        let f = file(cx, a[0])?;
        write_stat(&stat_of(cx, &f), a[2])?;
        return Ok(0);
    }
    lookup(a[1]).map(|_| 0)
}

pub(super) fn sys_statx(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    const STATX_BASIC_STATS: u32 = 0x7ff;
    let p = read_cstr(a[1], PATH_MAX)?;
    if !(p.is_empty() && a[2] & AT_EMPTY_PATH != 0) {
        return lookup(a[1]).map(|_| 0);
    }
    let f = file(cx, a[0])?;
    let st = stat_of(cx, &f);
    let now = clock::realtime_ns();
    let (sec, nsec) = (
        now.div_euclid(1_000_000_000),
        now.rem_euclid(1_000_000_000) as u32,
    );
    let mut o = Out::default();
    o.u32(STATX_BASIC_STATS).u32(st.blksize).u64(0);
    o.u32(st.nlink).u32(0).u32(0).u16(st.mode as u16).u16(0);
    o.u64(st.ino).u64(st.size).u64(st.size.div_ceil(512)).u64(0);
    for _ in 0..4 {
        o.i64(sec).u32(nsec).u32(0);
    }
    o.u32(st.rdev_major)
        .u32(st.rdev_minor)
        .u32((st.dev >> 8) as u32)
        .u32((st.dev & 0xff) as u32);
    o.zeros(256 - o.0.len());
    o.write_to(a[4])?;
    Ok(0)
}

/// Terminal settings of the console (kernel `struct termios`, 36 bytes).
static TERMIOS: SpinLock<[u8; 36]> = SpinLock::new(default_termios());

const fn default_termios() -> [u8; 36] {
    let mut t = [0u8; 36];
    let iflag: u32 = 0o2400; // ICRNL | IXON
    let oflag: u32 = 0o5; // OPOST | ONLCR
    let cflag: u32 = 0o277; // B38400 | CS8 | CREAD
    let lflag: u32 = 0o105073; // ISIG ICANON ECHO ECHOE ECHOK ECHOCTL ECHOKE IEXTEN
    let f = [iflag, oflag, cflag, lflag];
    let mut i = 0;
    while i < 4 {
        let b = f[i].to_le_bytes();
        t[i * 4] = b[0];
        t[i * 4 + 1] = b[1];
        t[i * 4 + 2] = b[2];
        t[i * 4 + 3] = b[3];
        i += 1;
    }
    // c_line = 0, then c_cc: INTR QUIT ERASE KILL EOF TIME MIN SWTC START STOP SUSP EOL REPRINT DISCARD WERASE LNEXT EOL2
    let cc = [
        3u8, 0x1c, 0x7f, 0x15, 4, 0, 1, 0, 0x11, 0x13, 0x1a, 0, 0x12, 0x0f, 0x17, 0x16, 0,
    ];
    let mut j = 0;
    while j < cc.len() {
        t[17 + j] = cc[j];
        j += 1;
    }
    t
}

static WINSIZE: SpinLock<Option<(u16, u16)>> = SpinLock::new(None);

pub(super) fn sys_ioctl(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    const TCGETS: u64 = 0x5401;
    const TCSETS: u64 = 0x5402;
    const TCSETSW: u64 = 0x5403;
    const TCSETSF: u64 = 0x5404;
    const TIOCGPGRP: u64 = 0x540f;
    const TIOCGWINSZ: u64 = 0x5413;
    const TIOCSWINSZ: u64 = 0x5414;
    const FIONREAD: u64 = 0x541b;
    const FIONBIO: u64 = 0x5421;
    const FIONCLEX: u64 = 0x5450;
    const FIOCLEX: u64 = 0x5451;
    let f = file(cx, a[0])?;
    match a[1] {
        FIONBIO => {
            let on = uaccess::read_u32(a[2])? != 0;
            let mut fl = f.flags.lock();
            *fl = if on {
                *fl | O_NONBLOCK
            } else {
                *fl & !O_NONBLOCK
            };
            return Ok(0);
        }
        FIOCLEX | FIONCLEX => {
            cx.proc.fds.lock().entry_mut(a[0] as i32)?.cloexec = a[1] == FIOCLEX;
            return Ok(0);
        }
        _ => {}
    }
    let FileKind::Console(s) = f.kind;
    if !is_tty(cx, s) {
        return Err(Errno::ENOTTY);
    }
    match a[1] {
        TCGETS => write_bytes(a[2], &*TERMIOS.lock()).map(|_| 0),
        TCSETS | TCSETSW | TCSETSF => {
            let t = read_bytes(a[2], 36)?;
            TERMIOS.lock().copy_from_slice(&t);
            crate::log_once!(
                "tty: terminal settings are kept in the guest; the host terminal stays as it is"
            );
            Ok(0)
        }
        TIOCGWINSZ => {
            let (rows, cols) = WINSIZE
                .lock()
                .unwrap_or((cx.proc.tty.rows, cx.proc.tty.cols));
            let mut o = Out::default();
            o.u16(rows).u16(cols).u16(0).u16(0);
            o.write_to(a[2]).map(|_| 0)
        }
        TIOCSWINSZ => {
            let w = read_bytes(a[2], 8)?;
            *WINSIZE.lock() = Some((
                u16::from_le_bytes([w[0], w[1]]),
                u16::from_le_bytes([w[2], w[3]]),
            ));
            Ok(0)
        }
        TIOCGPGRP => uaccess::write_u32(a[2], crate::linux::process::PID).map(|_| 0),
        FIONREAD => {
            let n = u32::from(s == Stream::Stdin && console::stdin_ready());
            uaccess::write_u32(a[2], n).map(|_| 0)
        }
        req => {
            crate::klog!("ioctl {req:#x} on the console is not supported: ENOTTY");
            Err(Errno::ENOTTY)
        }
    }
}

const POLLIN: u16 = 0x1;
const POLLOUT: u16 = 0x4;
const POLLNVAL: u16 = 0x20;

fn poll_once(cx: &SyscallCx<'_>, fds: &mut [(i32, u16, u16)]) -> usize {
    let mut ready = 0;
    for (fd, events, revents) in fds.iter_mut() {
        *revents = 0;
        if *fd < 0 {
            continue;
        }
        let Ok(f) = cx.proc.fds.lock().get(*fd) else {
            *revents = POLLNVAL;
            ready += 1;
            continue;
        };
        let mut r = 0;
        if f.readable()
            && matches!(f.kind, FileKind::Console(Stream::Stdin))
            && console::stdin_ready()
        {
            r |= POLLIN;
        }
        if f.writable() {
            r |= POLLOUT;
        }
        *revents = r & (*events | 0x18); // POLLERR | POLLHUP always reported
        if *revents != 0 {
            ready += 1;
        }
    }
    ready
}

fn do_poll(cx: &SyscallCx<'_>, addr: u64, nfds: u64, timeout_ns: Option<u64>) -> SysResult {
    if nfds > 4096 {
        return Err(Errno::EINVAL);
    }
    let raw = read_bytes(addr, nfds as usize * 8)?;
    let mut fds: Vec<(i32, u16, u16)> = raw
        .chunks_exact(8)
        .map(|c| {
            (
                i32::from_le_bytes([c[0], c[1], c[2], c[3]]),
                u16::from_le_bytes([c[4], c[5]]),
                0,
            )
        })
        .collect();
    let deadline = timeout_ns.map(|t| clock::monotonic_ns().saturating_add(t));
    let mut n = poll_once(cx, &mut fds);
    if n == 0 && deadline != Some(0) {
        let until = deadline.unwrap_or(u64::MAX);
        clock::wait_until(until, console::stdin_ready);
        n = poll_once(cx, &mut fds);
    }
    let mut out = Out::default();
    for (fd, ev, rev) in &fds {
        o_pollfd(&mut out, *fd, *ev, *rev);
    }
    out.write_to(addr)?;
    Ok(n)
}

fn o_pollfd(o: &mut Out, fd: i32, ev: u16, rev: u16) {
    o.u32(fd as u32).u16(ev).u16(rev);
}

pub(super) fn sys_poll(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let t = a[2] as i32;
    let timeout = if t < 0 {
        None
    } else {
        Some(t as u64 * 1_000_000)
    };
    do_poll(cx, a[0], a[1], timeout)
}

pub(super) fn sys_ppoll(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let timeout = if a[2] == 0 {
        None
    } else {
        let ts = crate::linux::syscall::time::read_timespec(a[2])?;
        Some(ts)
    };
    do_poll(cx, a[0], a[1], timeout)
}

#[allow(dead_code)]
const _: u32 = O_ACCMODE;
