//! Descriptor I/O: read, write and their vector and positional forms,
//! lseek, close, dup, fcntl, fstat/statx, ioctl, poll/ppoll/select.
//!
//! Data moves through a kernel buffer in chunks; a fault on the program's
//! buffer after some bytes moved returns the count so far, before any EFAULT,
//! as Linux does.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::{Args, SyscallCx};
use crate::linux::errno::{Errno, SysResult};
use crate::linux::fd::FdEntry;
use crate::linux::file::{OpenFile, POLLERR, POLLHUP, POLLNVAL};
use crate::linux::uaccess::{self, read_bytes, read_iovecs, write_bytes, Out, CHUNK};
use crate::sched::clock;

pub(super) fn file(cx: &SyscallCx<'_>, fd: u64) -> Result<Arc<OpenFile>, Errno> {
    cx.proc.fds.lock().get(fd as i32)
}

/// Reads up to `len` bytes into user memory at `buf`, at `pos` or at (and
/// advancing) the file offset.
pub(super) fn read_into(
    cx: &SyscallCx<'_>,
    of: &OpenFile,
    buf: u64,
    len: usize,
    pos: Option<u64>,
) -> SysResult {
    if !of.readable() {
        return Err(Errno::EBADF);
    }
    let io = of.io(cx.proc, cx.thread);
    let seekable = of.file.seekable();
    if pos.is_some() && !seekable {
        return Err(Errno::ESPIPE);
    }
    let mut done = 0usize;
    let mut k = alloc::vec![0u8; len.min(CHUNK)];
    while done < len {
        let n = (len - done).min(k.len());
        let off = match pos {
            Some(p) => p + done as u64,
            None if seekable => *of.offset.lock(),
            None => 0,
        };
        let got = match of.file.read(&io, off, &mut k[..n]) {
            Ok(g) => g,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        if got == 0 {
            break;
        }
        if let Err(e) = write_bytes(buf + done as u64, &k[..got]) {
            if done == 0 {
                return Err(e);
            }
            break;
        }
        if pos.is_none() && seekable {
            *of.offset.lock() = off + got as u64;
        }
        done += got;
        // Streams return what is there; files keep going until short.
        if got < n || !seekable {
            break;
        }
    }
    Ok(done)
}

/// Writes `len` bytes from user memory at `buf`.
pub(super) fn write_from(
    cx: &SyscallCx<'_>,
    of: &OpenFile,
    buf: u64,
    len: usize,
    pos: Option<u64>,
) -> SysResult {
    if !of.writable() {
        return Err(Errno::EBADF);
    }
    let io = of.io(cx.proc, cx.thread);
    let seekable = of.file.seekable();
    if pos.is_some() && !seekable {
        return Err(Errno::ESPIPE);
    }
    // With O_APPEND even pwrite appends (a Linux quirk, man 2 pwrite BUGS).
    let append = *of.flags.lock() & oxv_vfs::node::O_APPEND != 0 && seekable;
    let mut done = 0usize;
    while done < len {
        let n = (len - done).min(CHUNK);
        let data = match read_bytes(buf + done as u64, n) {
            Ok(d) => d,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        let r = if append {
            of.file.append(&io, &data).map(|(at, w)| {
                if pos.is_none() {
                    *of.offset.lock() = at + w as u64;
                }
                w
            })
        } else {
            let off = match pos {
                Some(p) => p + done as u64,
                None if seekable => *of.offset.lock(),
                None => 0,
            };
            of.file.write(&io, off, &data).inspect(|&w| {
                if pos.is_none() && seekable {
                    *of.offset.lock() = off + w as u64;
                }
            })
        };
        let w = match r {
            Ok(w) => w,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        done += w;
        if w < n {
            break;
        }
    }
    Ok(done)
}

fn count(a: u64) -> usize {
    (a as usize).min(isize::MAX as usize & !4095)
}

pub(super) fn sys_read(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let f = file(cx, a[0])?;
    read_into(cx, &f, a[1], count(a[2]), None)
}

pub(super) fn sys_write(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let f = file(cx, a[0])?;
    write_from(cx, &f, a[1], count(a[2]), None)
}

fn pos_arg(p: u64) -> Result<u64, Errno> {
    if (p as i64) < 0 {
        Err(Errno::EINVAL)
    } else {
        Ok(p)
    }
}

pub(super) fn sys_pread64(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let f = file(cx, a[0])?;
    if !f.file.seekable() {
        return Err(Errno::ESPIPE);
    }
    read_into(cx, &f, a[1], count(a[2]), Some(pos_arg(a[3])?))
}

pub(super) fn sys_pwrite64(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let f = file(cx, a[0])?;
    if !f.file.seekable() {
        return Err(Errno::ESPIPE);
    }
    write_from(cx, &f, a[1], count(a[2]), Some(pos_arg(a[3])?))
}

fn vector_io(
    cx: &SyscallCx<'_>,
    fd: u64,
    iov: u64,
    cnt: u64,
    pos: Option<u64>,
    write: bool,
) -> SysResult {
    let f = file(cx, fd)?;
    if pos.is_some() && !f.file.seekable() {
        return Err(Errno::ESPIPE);
    }
    if write && !f.writable() || !write && !f.readable() {
        return Err(Errno::EBADF);
    }
    let iov = read_iovecs(iov, cnt as usize)?;
    if write && !f.file.seekable() {
        // One stream write for the whole vector (atomic for pipes up to
        // PIPE_BUF, one frame run on the console).
        let mut data = Vec::new();
        for (base, len) in &iov {
            match read_bytes(*base, *len) {
                Ok(d) => data.extend_from_slice(&d),
                Err(e) if data.is_empty() => return Err(e),
                Err(_) => break,
            }
        }
        let io = f.io(cx.proc, cx.thread);
        let mut done = 0;
        while done < data.len() {
            match f.file.write(&io, 0, &data[done..]) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
        }
        return Ok(done);
    }
    let mut total = 0usize;
    for (base, len) in iov {
        if len == 0 {
            continue;
        }
        let p = pos.map(|p| p + total as u64);
        let r = if write {
            write_from(cx, &f, base, len, p)
        } else {
            read_into(cx, &f, base, len, p)
        };
        let n = match r {
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

pub(super) fn sys_readv(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    vector_io(cx, a[0], a[1], a[2], None, false)
}

pub(super) fn sys_writev(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    vector_io(cx, a[0], a[1], a[2], None, true)
}

pub(super) fn sys_preadv(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    vector_io(cx, a[0], a[1], a[2], Some(pos_arg(a[3])?), false)
}

pub(super) fn sys_pwritev(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    vector_io(cx, a[0], a[1], a[2], Some(pos_arg(a[3])?), true)
}

pub(super) fn sys_preadv2(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let pos = if a[3] as i64 == -1 {
        None
    } else {
        Some(pos_arg(a[3])?)
    };
    vector_io(cx, a[0], a[1], a[2], pos, false)
}

pub(super) fn sys_pwritev2(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let pos = if a[3] as i64 == -1 {
        None
    } else {
        Some(pos_arg(a[3])?)
    };
    vector_io(cx, a[0], a[1], a[2], pos, true)
}

pub(super) fn sys_lseek(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    const SEEK_SET: u64 = 0;
    const SEEK_CUR: u64 = 1;
    const SEEK_END: u64 = 2;
    const SEEK_DATA: u64 = 3;
    const SEEK_HOLE: u64 = 4;
    let f = file(cx, a[0])?;
    if !f.file.seekable() {
        return Err(Errno::ESPIPE);
    }
    // Character devices (/dev/null, /dev/zero, ...) have no position.
    if f.file.metadata().mode & oxv_vfs::node::S_IFMT == oxv_vfs::node::S_IFCHR {
        return Ok(0);
    }
    let off = a[1] as i64;
    let mut pos = f.offset.lock();
    let new = match a[2] {
        SEEK_SET => off,
        SEEK_CUR => (*pos as i64).checked_add(off).ok_or(Errno::EOVERFLOW)?,
        SEEK_END => (f.file.metadata().size as i64)
            .checked_add(off)
            .ok_or(Errno::EOVERFLOW)?,
        SEEK_DATA | SEEK_HOLE => {
            let node = f.file.inode().ok_or(Errno::EINVAL)?;
            if off < 0 {
                return Err(Errno::ENXIO);
            }
            let r = if a[2] == SEEK_DATA {
                node.seek_data(off as u64)?
            } else {
                node.seek_hole(off as u64)?
            };
            r as i64
        }
        _ => return Err(Errno::EINVAL),
    };
    if new < 0 {
        return Err(Errno::EINVAL);
    }
    *pos = new as u64;
    if new == 0 {
        *f.dir_cursor.lock() = oxv_vfs::DirCursor::Start;
    }
    Ok(new as usize)
}

pub(super) fn sys_close(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let f = cx.proc.fds.lock().close(a[0] as i32)?;
    drop(f);
    crate::linux::file::notify();
    Ok(0)
}

pub(super) fn sys_close_range(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    const CLOSE_RANGE_CLOEXEC: u64 = 4;
    const CLOSE_RANGE_UNSHARE: u64 = 2;
    let (first, last) = (a[0] as u32, a[1] as u32);
    if first > last || a[2] & !(CLOSE_RANGE_CLOEXEC | CLOSE_RANGE_UNSHARE) != 0 {
        return Err(Errno::EINVAL);
    }
    let mut dropped = Vec::new();
    {
        let mut fds = cx.proc.fds.lock();
        for (fd, _) in fds.list() {
            if (fd as u32) < first || fd as u32 > last {
                continue;
            }
            if a[2] & CLOSE_RANGE_CLOEXEC != 0 {
                if let Ok(e) = fds.entry_mut(fd) {
                    e.cloexec = true;
                }
            } else if let Ok(f) = fds.close(fd) {
                dropped.push(f);
            }
        }
    }
    drop(dropped);
    crate::linux::file::notify();
    Ok(0)
}

pub(super) fn nofile_limit(cx: &SyscallCx<'_>) -> usize {
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
    let replaced = {
        let mut fds = cx.proc.fds.lock();
        let f = fds.get(old as i32)?;
        let new = usize::try_from(new as i32).map_err(|_| Errno::EBADF)?;
        fds.insert_at(new, FdEntry { file: f, cloexec }, limit)?
    };
    drop(replaced);
    Ok(new as i32 as usize)
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
    const F_GETLK: u64 = 5;
    const F_SETLK: u64 = 6;
    const F_SETLKW: u64 = 7;
    const F_DUPFD_CLOEXEC: u64 = 1030;
    const F_GETPIPE_SZ: u64 = 1032;
    const FD_CLOEXEC: u64 = 1;
    const SETFL_MASK: u32 =
        oxv_vfs::node::O_APPEND | oxv_vfs::node::O_NONBLOCK | 0o40000 | 0o1000000; // + O_DIRECT, O_NOATIME
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
        F_GETLK | F_SETLK | F_SETLKW => {
            // One process: no other process can hold a record lock, so every
            // lock is granted; F_GETLK reports F_UNLCK (l_type = 2).
            fds.get(fd)?;
            if a[1] == F_GETLK {
                drop(fds);
                let mut t = read_bytes(a[2], 2)?;
                t[0] = 2;
                t[1] = 0;
                write_bytes(a[2], &t)?;
            }
            Ok(0)
        }
        F_GETPIPE_SZ => {
            fds.get(fd)?;
            Ok(crate::linux::pipe::PIPE_SIZE)
        }
        cmd => {
            fds.get(fd)?;
            crate::klog!("fcntl command {cmd} is not supported: EINVAL");
            Err(Errno::EINVAL)
        }
    }
}

fn makedev_split(dev: u64) -> (u32, u32) {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    (major as u32, minor as u32)
}

/// Writes a `struct stat` (x86-64 layout, 144 bytes).
pub(super) fn write_stat(m: &oxv_vfs::Metadata, addr: u64) -> Result<(), Errno> {
    let mut o = Out::default();
    o.u64(m.dev).u64(m.ino).u64(m.nlink);
    o.u32(m.mode).u32(m.uid).u32(m.gid).u32(0);
    o.u64(m.rdev)
        .u64(m.size)
        .u64(u64::from(m.blksize))
        .u64(m.blocks);
    for t in [m.atime, m.mtime, m.ctime] {
        o.i64(t.sec).i64(i64::from(t.nsec));
    }
    o.zeros(24);
    o.write_to(addr)
}

/// Writes a `struct statx` (256 bytes).
pub(super) fn write_statx(m: &oxv_vfs::Metadata, addr: u64) -> Result<(), Errno> {
    const STATX_BASIC_STATS: u32 = 0x7ff;
    let mut o = Out::default();
    o.u32(STATX_BASIC_STATS).u32(m.blksize).u64(0);
    o.u32(m.nlink as u32)
        .u32(m.uid)
        .u32(m.gid)
        .u16(m.mode as u16)
        .u16(0);
    o.u64(m.ino).u64(m.size).u64(m.blocks).u64(0);
    for t in [m.atime, m.ctime, m.ctime, m.mtime] {
        o.i64(t.sec).u32(t.nsec).u32(0);
    }
    let (rmaj, rmin) = makedev_split(m.rdev);
    let (dmaj, dmin) = makedev_split(m.dev);
    o.u32(rmaj).u32(rmin).u32(dmaj).u32(dmin);
    o.zeros(256 - o.0.len());
    o.write_to(addr)
}

pub(super) fn sys_fstat(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let f = file(cx, a[0])?;
    write_stat(&f.file.metadata(), a[1])?;
    Ok(0)
}

pub(super) fn sys_ioctl(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    const FIONBIO: u64 = 0x5421;
    const FIONCLEX: u64 = 0x5450;
    const FIOCLEX: u64 = 0x5451;
    let f = file(cx, a[0])?;
    match a[1] {
        FIONBIO => {
            let on = uaccess::read_u32(a[2])? != 0;
            let mut fl = f.flags.lock();
            *fl = if on {
                *fl | oxv_vfs::node::O_NONBLOCK
            } else {
                *fl & !oxv_vfs::node::O_NONBLOCK
            };
            Ok(0)
        }
        FIOCLEX | FIONCLEX => {
            cx.proc.fds.lock().entry_mut(a[0] as i32)?.cloexec = a[1] == FIOCLEX;
            Ok(0)
        }
        cmd => {
            let io = f.io(cx.proc, cx.thread);
            f.file.ioctl(&io, cmd as u32, a[2])
        }
    }
}

/// Readiness of `fd` for the events in `events` (POLLERR/POLLHUP always).
pub(crate) fn poll_fd(cx: &SyscallCx<'_>, fd: i32, events: u16) -> u16 {
    let Ok(f) = cx.proc.fds.lock().get(fd) else {
        return POLLNVAL;
    };
    let r = f.file.poll();
    r & (events | POLLERR | POLLHUP)
}

fn do_poll(cx: &SyscallCx<'_>, addr: u64, nfds: u64, timeout_ns: Option<u64>) -> SysResult {
    if nfds as usize > nofile_limit(cx).max(1024) {
        return Err(Errno::EINVAL);
    }
    let raw = read_bytes(addr, nfds as usize * 8)?;
    let fds: Vec<(i32, u16)> = raw
        .as_chunks::<8>()
        .0
        .iter()
        .map(|c| {
            (
                i32::from_le_bytes([c[0], c[1], c[2], c[3]]),
                u16::from_le_bytes([c[4], c[5]]),
            )
        })
        .collect();
    let scan = |cx: &SyscallCx<'_>| -> (usize, Vec<u16>) {
        let rev: Vec<u16> = fds
            .iter()
            .map(|&(fd, ev)| if fd < 0 { 0 } else { poll_fd(cx, fd, ev) })
            .collect();
        (rev.iter().filter(|&&r| r != 0).count(), rev)
    };
    let deadline = timeout_ns.map(|t| clock::monotonic_ns().saturating_add(t));
    let io = crate::linux::file::IoCx {
        proc: cx.proc,
        thread: cx.thread,
        nonblock: timeout_ns == Some(0),
    };
    let (n, rev) = match io.wait_until(deadline, || {
        let (n, rev) = scan(cx);
        (n > 0).then_some((n, rev))
    }) {
        Ok(r) => r,
        Err(Errno::EAGAIN) | Err(Errno::ETIMEDOUT) => scan(cx),
        Err(e) => return Err(e),
    };
    let mut out = Out::default();
    for ((fd, ev), r) in fds.iter().zip(rev) {
        out.u32(*fd as u32).u16(*ev).u16(r);
    }
    out.write_to(addr)?;
    Ok(n)
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

/// Runs `f` with the thread's signal mask replaced by the one at `mask`
/// (ppoll, pselect6, epoll_pwait), restoring it afterwards.
pub(crate) fn with_sigmask<R>(
    cx: &SyscallCx<'_>,
    mask: u64,
    size: u64,
    f: impl FnOnce() -> R,
) -> Result<R, Errno> {
    if mask == 0 {
        return Ok(f());
    }
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let m = uaccess::read_u64(mask)? & !crate::linux::signal::UNBLOCKABLE;
    let old = core::mem::replace(&mut cx.thread.sig.lock().mask, m);
    let r = f();
    let mut ts = cx.thread.sig.lock();
    if crate::linux::signal::has_deliverable_locked(&ts, cx.proc) {
        // A signal let in by the temporary mask is delivered on the way
        // out, and the handler's frame restores the old mask (as Linux
        // does for ppoll, pselect6, epoll_pwait).
        ts.saved_mask = Some(old);
    } else {
        ts.mask = old;
    }
    Ok(r)
}

pub(super) fn sys_ppoll(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let timeout = if a[2] == 0 {
        None
    } else {
        Some(super::time::read_timespec(a[2])?)
    };
    with_sigmask(cx, a[3], a[4], || do_poll(cx, a[0], a[1], timeout))?
}

fn do_select(cx: &SyscallCx<'_>, nfds: u64, sets: [u64; 3], timeout_ns: Option<u64>) -> SysResult {
    use crate::linux::file::{POLLIN, POLLOUT, POLLPRI, POLLRDNORM, POLLWRNORM};
    let n = nfds as usize;
    if n > 1024 || (nfds as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let bytes = n.div_ceil(64) * 8;
    let mut input = [Vec::new(), Vec::new(), Vec::new()];
    for (i, &s) in sets.iter().enumerate() {
        input[i] = if s != 0 {
            read_bytes(s, bytes)?
        } else {
            alloc::vec![0u8; bytes]
        };
    }
    let isset = |v: &Vec<u8>, fd: usize| v[fd / 8] & (1 << (fd % 8)) != 0;
    for fd in 0..n {
        if (0..3).any(|k| isset(&input[k], fd)) && cx.proc.fds.lock().get(fd as i32).is_err() {
            return Err(Errno::EBADF);
        }
    }
    let masks = [
        POLLIN | POLLRDNORM | POLLHUP | POLLERR,
        POLLOUT | POLLWRNORM | POLLERR,
        POLLPRI,
    ];
    let scan = || {
        let mut out = [
            alloc::vec![0u8; bytes],
            alloc::vec![0u8; bytes],
            alloc::vec![0u8; bytes],
        ];
        let mut count = 0;
        for fd in 0..n {
            if !(0..3).any(|k| isset(&input[k], fd)) {
                continue;
            }
            let r = poll_fd(cx, fd as i32, 0xffff);
            for k in 0..3 {
                if isset(&input[k], fd) && r & masks[k] != 0 {
                    out[k][fd / 8] |= 1 << (fd % 8);
                    count += 1;
                }
            }
        }
        (count, out)
    };
    let deadline = timeout_ns.map(|t| clock::monotonic_ns().saturating_add(t));
    let io = crate::linux::file::IoCx {
        proc: cx.proc,
        thread: cx.thread,
        nonblock: timeout_ns == Some(0),
    };
    let (count, out) = match io.wait_until(deadline, || {
        let r = scan();
        (r.0 > 0).then_some(r)
    }) {
        Ok(r) => r,
        Err(Errno::EAGAIN) | Err(Errno::ETIMEDOUT) => scan(),
        Err(e) => return Err(e),
    };
    for (k, &s) in sets.iter().enumerate() {
        if s != 0 {
            write_bytes(s, &out[k])?;
        }
    }
    Ok(count)
}

pub(super) fn sys_select(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let timeout = if a[4] == 0 {
        None
    } else {
        let b = read_bytes(a[4], 16)?;
        let sec = i64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8]));
        let usec = i64::from_le_bytes(b[8..].try_into().unwrap_or([0; 8]));
        if sec < 0 || !(0..1_000_000).contains(&usec) {
            return Err(Errno::EINVAL);
        }
        Some(sec as u64 * 1_000_000_000 + usec as u64 * 1000)
    };
    let start = clock::monotonic_ns();
    let r = do_select(cx, a[0], [a[1], a[2], a[3]], timeout);
    if let Some(t) = timeout {
        // Linux's select stores the time not slept.
        let left = t.saturating_sub(clock::monotonic_ns() - start);
        let mut o = Out::default();
        o.u64(left / 1_000_000_000)
            .u64((left % 1_000_000_000) / 1000);
        o.write_to(a[4])?;
    }
    r
}

pub(super) fn sys_pselect6(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let timeout = if a[4] == 0 {
        None
    } else {
        Some(super::time::read_timespec(a[4])?)
    };
    // a[5] points at { const sigset_t *ss; size_t ss_len; }.
    let (mask, size) = if a[5] != 0 {
        let b = read_bytes(a[5], 16)?;
        (
            u64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8])),
            u64::from_le_bytes(b[8..].try_into().unwrap_or([0; 8])),
        )
    } else {
        (0, 8)
    };
    with_sigmask(cx, mask, size, || {
        do_select(cx, a[0], [a[1], a[2], a[3]], timeout)
    })?
}
