//! Memory system calls: mmap, munmap, mprotect, mremap, madvise, brk
//! (man 2 mmap and friends). Only anonymous memory exists so far; mapping a
//! descriptor fails like mapping a pipe or terminal does on Linux (ENODEV).

use oxv_mm::vma::{Placement, Prot, RemapFlags, VmaKind};

use super::{Args, SyscallCx};
use crate::linux::errno::{Errno, IntoErrno, SysResult};
use crate::mm::user_space::commit;

const MAP_SHARED: u64 = 0x01;
const MAP_SHARED_VALIDATE: u64 = 0x03;
const MAP_FIXED: u64 = 0x10;
const MAP_ANONYMOUS: u64 = 0x20;
const MAP_GROWSDOWN: u64 = 0x100;
const MAP_STACK: u64 = 0x20000;
const MAP_FIXED_NOREPLACE: u64 = 0x100000;

fn prot(bits: u64) -> Result<Prot, Errno> {
    // PROT_GROWSDOWN/GROWSUP are accepted by Linux for mprotect; ignore them.
    Prot::from_bits(bits & 0x7)
        .filter(|_| bits & !0x0300_0007 == 0)
        .ok_or(Errno::EINVAL)
}

pub(super) fn sys_mmap(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let [addr, len, prot_bits, flags, fd, off] = a;
    let p = prot(prot_bits)?;
    let kind = flags & MAP_SHARED_VALIDATE;
    // Exactly one of MAP_SHARED, MAP_PRIVATE (0x02) or MAP_SHARED_VALIDATE.
    if kind == 0 {
        return Err(Errno::EINVAL);
    }
    if len == 0 || off % 4096 != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & MAP_ANONYMOUS == 0 {
        cx.proc.fds.lock().get(fd as i32)?;
        return Err(Errno::ENODEV);
    }
    if kind == MAP_SHARED || kind == MAP_SHARED_VALIDATE {
        // One process: shared anonymous memory behaves as private.
        crate::log_once!("mmap: MAP_SHARED anonymous memory is private (there is one process)");
    }
    let placement = if flags & MAP_FIXED_NOREPLACE != 0 {
        Placement::FixedNoReplace
    } else if flags & MAP_FIXED != 0 {
        Placement::Fixed
    } else {
        Placement::Hint
    };
    let vkind = if flags & (MAP_STACK | MAP_GROWSDOWN) != 0 {
        VmaKind::Stack
    } else {
        VmaKind::Anon
    };
    let r = cx
        .proc
        .aspace
        .lock()
        .map_anon(addr, len, p, vkind, placement)
        .errno();
    commit(&cx.proc.aspace);
    Ok(r? as usize)
}

pub(super) fn sys_munmap(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let r = cx.proc.aspace.lock().unmap(a[0], a[1]).errno();
    commit(&cx.proc.aspace);
    r?;
    Ok(0)
}

pub(super) fn sys_mprotect(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    if !a[0].is_multiple_of(4096) {
        return Err(Errno::EINVAL);
    }
    if a[1] == 0 {
        return Ok(0);
    }
    let p = prot(a[2])?;
    let r = cx.proc.aspace.lock().protect(a[0], a[1], p).errno();
    commit(&cx.proc.aspace);
    r?;
    Ok(0)
}

pub(super) fn sys_mremap(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let flags = RemapFlags::from_bits_retain(a[3] as u32);
    let r = cx
        .proc
        .aspace
        .lock()
        .remap(a[0], a[1], a[2], flags, a[4])
        .errno();
    commit(&cx.proc.aspace);
    Ok(r? as usize)
}

pub(super) fn sys_madvise(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    const MADV_DONTNEED: u64 = 4;
    const MADV_FREE: u64 = 8;
    const MADV_REMOVE: u64 = 9;
    let [addr, len, advice, ..] = a;
    if addr % 4096 != 0 {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Ok(0);
    }
    match advice {
        MADV_DONTNEED | MADV_FREE | MADV_REMOVE => {
            let r = cx.proc.aspace.lock().discard(addr, len).errno();
            commit(&cx.proc.aspace);
            r?;
            Ok(0)
        }
        // Pure hints (NORMAL, RANDOM, SEQUENTIAL, WILLNEED, HUGEPAGE, ...)
        // do not change what the program observes.
        0..=3 | 10..=21 | 100 | 101 => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

pub(super) fn sys_brk(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let r = cx.proc.aspace.lock().set_brk(a[0]);
    commit(&cx.proc.aspace);
    Ok(r as usize)
}
