//! pipe, pipe2, eventfd, eventfd2: descriptor pairs and counters.

use alloc::sync::Arc;

use super::io::nofile_limit;
use super::{Args, SyscallCx};
use crate::linux::errno::{Errno, SysResult};
use crate::linux::eventfd::EventFd;
use crate::linux::fd::FdEntry;
use crate::linux::file::{File, OpenFile};
use crate::linux::uaccess::Out;

const O_NONBLOCK: u64 = 0o4000;
const O_CLOEXEC: u64 = 0o2000000;
const O_DIRECT: u64 = 0o40000;

/// Installs a new open file and returns its descriptor.
pub(crate) fn install(
    cx: &SyscallCx<'_>,
    file: Arc<dyn File>,
    flags: u32,
    cloexec: bool,
) -> Result<i32, Errno> {
    let limit = nofile_limit(cx);
    cx.proc.fds.lock().insert_from(
        0,
        FdEntry {
            file: OpenFile::new(file, flags),
            cloexec,
        },
        limit,
    )
}

fn do_pipe(cx: &SyscallCx<'_>, addr: u64, flags: u64) -> SysResult {
    if flags & !(O_NONBLOCK | O_CLOEXEC | O_DIRECT) != 0 {
        return Err(Errno::EINVAL);
    }
    let (r, w) = crate::linux::pipe::new_pipe();
    let nb = (flags & O_NONBLOCK) as u32;
    let cloexec = flags & O_CLOEXEC != 0;
    let rfd = install(cx, r, oxv_vfs::node::O_RDONLY | nb, cloexec)?;
    let wfd = match install(cx, w, oxv_vfs::node::O_WRONLY | nb, cloexec) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = cx.proc.fds.lock().close(rfd);
            return Err(e);
        }
    };
    let mut o = Out::default();
    o.u32(rfd as u32).u32(wfd as u32);
    if let Err(e) = o.write_to(addr) {
        let mut fds = cx.proc.fds.lock();
        let _ = fds.close(rfd);
        let _ = fds.close(wfd);
        return Err(e);
    }
    Ok(0)
}

pub(super) fn sys_pipe(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    do_pipe(cx, a[0], 0)
}

pub(super) fn sys_pipe2(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    do_pipe(cx, a[0], a[1])
}

fn do_eventfd(cx: &SyscallCx<'_>, initval: u64, flags: u64) -> SysResult {
    const EFD_SEMAPHORE: u64 = 1;
    if flags & !(EFD_SEMAPHORE | O_NONBLOCK | O_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let e = Arc::new(EventFd::new(
        initval & 0xffff_ffff,
        flags & EFD_SEMAPHORE != 0,
    ));
    let fd = install(
        cx,
        e,
        oxv_vfs::node::O_RDWR | (flags & O_NONBLOCK) as u32,
        flags & O_CLOEXEC != 0,
    )?;
    Ok(fd as usize)
}

pub(super) fn sys_eventfd(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    do_eventfd(cx, a[0], 0)
}

pub(super) fn sys_eventfd2(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    do_eventfd(cx, a[0], a[1])
}
