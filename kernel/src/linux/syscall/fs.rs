//! Path system calls: open, stat, directories, links, renames, symlinks,
//! attributes, cwd, truncation, statfs, getdents and getdents64, sendfile and
//! copy_file_range. Paths resolve through the VFS (crates/vfs) from the
//! root, the working directory or a directory descriptor.

use alloc::sync::Arc;
use alloc::vec::Vec;

use oxv_vfs::{FileType, InodeRef, OpenRequest, Timespec};

use super::io::{file, nofile_limit, write_stat, write_statx};
use super::{Args, SyscallCx};
use crate::linux::errno::{Errno, SysResult};
use crate::linux::fd::FdEntry;
use crate::linux::file::OpenFile;
use crate::linux::uaccess::{read_bytes, read_cstr, write_bytes, Out};
use crate::linux::vfs_file::VfsFile;

const AT_FDCWD: i32 = -100;
const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
const AT_REMOVEDIR: u64 = 0x200;
const AT_SYMLINK_FOLLOW: u64 = 0x400;
const AT_EMPTY_PATH: u64 = 0x1000;
const PATH_MAX: usize = 4096;
const O_LARGEFILE: u32 = 0o100000;
const AT_NO_AUTOMOUNT: u64 = 0x800;
/// Flags the stat family accepts (AT_STATX_* sync modes included).
const STAT_FLAGS: u64 = AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | 0x6000;

fn path_arg(addr: u64) -> Result<Vec<u8>, Errno> {
    read_cstr(addr, PATH_MAX)
}

/// The directory a relative path starts at: the cwd or `dirfd`'s inode.
fn start_dir(cx: &SyscallCx<'_>, dirfd: u64, path: &[u8]) -> Result<InodeRef, Errno> {
    if path.first() == Some(&b'/') {
        return Ok(crate::fs::vfs().root().clone());
    }
    if dirfd as i32 == AT_FDCWD {
        return Ok(cx.proc.cwd.lock().1.clone());
    }
    let f = file(cx, dirfd)?;
    let node = f.file.inode().ok_or(Errno::ENOTDIR)?;
    if node.file_type() != FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    Ok(node)
}

/// Resolves `path` relative to `dirfd` (AT_EMPTY_PATH: the fd itself).
fn lookup_at(
    cx: &SyscallCx<'_>,
    dirfd: u64,
    path: &[u8],
    flags: u64,
    follow: bool,
) -> Result<InodeRef, Errno> {
    if path.is_empty() {
        if flags & AT_EMPTY_PATH == 0 {
            return Err(Errno::ENOENT);
        }
        if dirfd as i32 == AT_FDCWD {
            return Ok(cx.proc.cwd.lock().1.clone());
        }
        return file(cx, dirfd)?.file.inode().ok_or(Errno::EBADF);
    }
    let start = start_dir(cx, dirfd, path)?;
    crate::fs::vfs().resolver().resolve(&start, path, follow)
}

/// Joins a path to the cwd's (or the dirfd's) path, for /proc/self/fd.
fn full_path(cx: &SyscallCx<'_>, dirfd: u64, path: &[u8]) -> Vec<u8> {
    if path.first() == Some(&b'/') {
        return path.to_vec();
    }
    let mut base = if dirfd as i32 == AT_FDCWD {
        cx.proc.cwd.lock().0.clone()
    } else {
        file(cx, dirfd)
            .map(|f| f.file.describe())
            .unwrap_or_default()
    };
    if base.last() != Some(&b'/') {
        base.push(b'/');
    }
    base.extend_from_slice(path);
    normalize(&base)
}

/// Lexical normalisation of an absolute path (`.`, `..`, `//`).
pub(crate) fn normalize(p: &[u8]) -> Vec<u8> {
    let mut parts: Vec<&[u8]> = Vec::new();
    for c in p.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    let mut out = Vec::new();
    for c in parts {
        out.push(b'/');
        out.extend_from_slice(c);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    out
}

fn do_open(cx: &SyscallCx<'_>, dirfd: u64, path_addr: u64, flags: u64, mode: u64) -> SysResult {
    let path = path_arg(path_addr)?;
    let flags = flags as u32;
    let start = start_dir(cx, dirfd, &path)?;
    let umask = *cx.proc.umask.lock();
    let req = OpenRequest {
        flags,
        mode: (mode as u32) & 0o7777 & !umask,
        uid: 0,
        gid: 0,
    };
    let opened = crate::fs::vfs().resolver().open(&start, &path, req)?;
    let full = full_path(cx, dirfd, &path);
    let follow = flags & oxv_vfs::node::O_NOFOLLOW == 0;
    let shown = if follow {
        crate::fs::canonical(b"/", &full).unwrap_or(full)
    } else {
        full
    };
    let vf = VfsFile {
        inode: opened.inode,
        io: opened.io,
        path: shown,
    };
    // Creation flags do not stay on the description; 64-bit opens are
    // O_LARGEFILE (Linux's force_o_largefile), except O_PATH handles.
    let mut keep = flags
        & !(oxv_vfs::node::O_CREAT
            | oxv_vfs::node::O_EXCL
            | oxv_vfs::node::O_NOCTTY
            | oxv_vfs::node::O_TRUNC
            | oxv_vfs::node::O_CLOEXEC);
    if flags & oxv_vfs::node::O_PATH != 0 {
        keep = oxv_vfs::node::O_PATH
            | (flags & (oxv_vfs::node::O_DIRECTORY | oxv_vfs::node::O_NOFOLLOW));
    } else {
        keep |= O_LARGEFILE;
    }
    let of = OpenFile::new(Arc::new(vf), keep);
    let limit = nofile_limit(cx);
    let cloexec = flags & oxv_vfs::node::O_CLOEXEC != 0;
    let fd = cx
        .proc
        .fds
        .lock()
        .insert_from(0, FdEntry { file: of, cloexec }, limit)?;
    Ok(fd as usize)
}

pub(super) fn sys_open(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    do_open(cx, AT_FDCWD as u64, a[0], a[1], a[2])
}

pub(super) fn sys_openat(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    do_open(cx, a[0], a[1], a[2], a[3])
}

pub(super) fn sys_openat2(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    // struct open_how { u64 flags; u64 mode; u64 resolve; }
    if a[3] < 24 {
        return Err(Errno::EINVAL);
    }
    let b = read_bytes(a[2], 24)?;
    let w = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
    if w(2) != 0 {
        crate::log_once!("openat2: RESOLVE_* flags are not supported: EINVAL");
        return Err(Errno::EINVAL);
    }
    do_open(cx, a[0], a[1], w(0), w(1))
}

pub(super) fn sys_creat(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let flags = (oxv_vfs::node::O_CREAT | oxv_vfs::node::O_WRONLY | oxv_vfs::node::O_TRUNC) as u64;
    do_open(cx, AT_FDCWD as u64, a[0], flags, a[1])
}

fn stat_at(cx: &SyscallCx<'_>, dirfd: u64, path: u64, buf: u64, flags: u64) -> SysResult {
    if flags & !STAT_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    let p = path_arg(path)?;
    let follow = flags & AT_SYMLINK_NOFOLLOW == 0;
    let node = lookup_at(cx, dirfd, &p, flags, follow)?;
    write_stat(&node.metadata(), buf)?;
    Ok(0)
}

pub(super) fn sys_stat(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    stat_at(cx, AT_FDCWD as u64, a[0], a[1], 0)
}

pub(super) fn sys_lstat(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    stat_at(cx, AT_FDCWD as u64, a[0], a[1], AT_SYMLINK_NOFOLLOW)
}

pub(super) fn sys_newfstatat(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    if a[3] & !STAT_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    let p = path_arg(a[1])?;
    if p.is_empty() && a[3] & AT_EMPTY_PATH != 0 && a[0] as i32 != AT_FDCWD {
        let f = file(cx, a[0])?;
        write_stat(&f.file.metadata(), a[2])?;
        return Ok(0);
    }
    stat_at(cx, a[0], a[1], a[2], a[3])
}

pub(super) fn sys_statx(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    const STATX_RESERVED: u64 = 0x8000_0000;
    if a[3] & STATX_RESERVED != 0 || a[2] & !STAT_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    let p = path_arg(a[1])?;
    let m = if p.is_empty() && a[2] & AT_EMPTY_PATH != 0 && a[0] as i32 != AT_FDCWD {
        file(cx, a[0])?.file.metadata()
    } else {
        lookup_at(cx, a[0], &p, a[2], a[2] & AT_SYMLINK_NOFOLLOW == 0)?.metadata()
    };
    write_statx(&m, a[4])?;
    Ok(0)
}

fn access_at(cx: &SyscallCx<'_>, dirfd: u64, path: u64, mode: u64, flags: u64) -> SysResult {
    const W_OK: u64 = 2;
    if mode & !7 != 0 {
        return Err(Errno::EINVAL);
    }
    let p = path_arg(path)?;
    let node = lookup_at(cx, dirfd, &p, flags, flags & AT_SYMLINK_NOFOLLOW == 0)?;
    // The program runs as root: everything is allowed except writing to a
    // read-only file system, and executing needs some x bit.
    if mode & W_OK != 0 && crate::fs::vfs().mounts.is_read_only(node.fs_id()) {
        return Err(Errno::EROFS);
    }
    if mode & 1 != 0 && node.file_type() != FileType::Directory && node.metadata().mode & 0o111 == 0
    {
        return Err(Errno::EACCES);
    }
    Ok(0)
}

pub(super) fn sys_access(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    access_at(cx, AT_FDCWD as u64, a[0], a[1], 0)
}

pub(super) fn sys_faccessat(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    access_at(cx, a[0], a[1], a[2], 0)
}

pub(super) fn sys_faccessat2(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    const AT_EACCESS: u64 = 0x200;
    if a[3] & !(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    access_at(cx, a[0], a[1], a[2], a[3])
}

fn mkdir_at(cx: &SyscallCx<'_>, dirfd: u64, path: u64, mode: u64) -> SysResult {
    let p = path_arg(path)?;
    let start = start_dir(cx, dirfd, &p)?;
    let umask = *cx.proc.umask.lock();
    crate::fs::vfs()
        .resolver()
        .mkdir(&start, &p, (mode as u32) & 0o7777 & !umask, 0, 0)?;
    Ok(0)
}

pub(super) fn sys_mkdir(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    mkdir_at(cx, AT_FDCWD as u64, a[0], a[1])
}

pub(super) fn sys_mkdirat(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    mkdir_at(cx, a[0], a[1], a[2])
}

fn mknod_at(cx: &SyscallCx<'_>, dirfd: u64, path: u64, mode: u64, dev: u64) -> SysResult {
    let p = path_arg(path)?;
    let start = start_dir(cx, dirfd, &p)?;
    let umask = *cx.proc.umask.lock();
    let mode = mode as u32;
    let m = (mode & oxv_vfs::node::S_IFMT) | (mode & 0o7777 & !umask);
    crate::fs::vfs()
        .resolver()
        .mknod(&start, &p, m, dev, 0, 0)?;
    Ok(0)
}

pub(super) fn sys_mknod(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    mknod_at(cx, AT_FDCWD as u64, a[0], a[1], a[2])
}

pub(super) fn sys_mknodat(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    mknod_at(cx, a[0], a[1], a[2], a[3])
}

pub(super) fn sys_rmdir(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let p = path_arg(a[0])?;
    let start = start_dir(cx, AT_FDCWD as u64, &p)?;
    crate::fs::vfs().resolver().rmdir(&start, &p)?;
    Ok(0)
}

fn unlink_at(cx: &SyscallCx<'_>, dirfd: u64, path: u64, flags: u64) -> SysResult {
    if flags & !AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    let p = path_arg(path)?;
    let start = start_dir(cx, dirfd, &p)?;
    let r = crate::fs::vfs().resolver();
    if flags & AT_REMOVEDIR != 0 {
        r.rmdir(&start, &p)?;
    } else {
        r.unlink(&start, &p)?;
    }
    Ok(0)
}

pub(super) fn sys_unlink(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    unlink_at(cx, AT_FDCWD as u64, a[0], 0)
}

pub(super) fn sys_unlinkat(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    unlink_at(cx, a[0], a[1], a[2])
}

fn rename_at(
    cx: &SyscallCx<'_>,
    olddir: u64,
    old: u64,
    newdir: u64,
    new: u64,
    flags: u64,
) -> SysResult {
    let (op, np) = (path_arg(old)?, path_arg(new)?);
    let os = start_dir(cx, olddir, &op)?;
    let ns = start_dir(cx, newdir, &np)?;
    crate::fs::vfs()
        .resolver()
        .rename(&os, &op, &ns, &np, flags as u32)?;
    Ok(0)
}

pub(super) fn sys_rename(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    rename_at(cx, AT_FDCWD as u64, a[0], AT_FDCWD as u64, a[1], 0)
}

pub(super) fn sys_renameat(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    rename_at(cx, a[0], a[1], a[2], a[3], 0)
}

pub(super) fn sys_renameat2(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    rename_at(cx, a[0], a[1], a[2], a[3], a[4])
}

fn link_at(
    cx: &SyscallCx<'_>,
    olddir: u64,
    old: u64,
    newdir: u64,
    new: u64,
    flags: u64,
) -> SysResult {
    if flags & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let (op, np) = (path_arg(old)?, path_arg(new)?);
    let ns = start_dir(cx, newdir, &np)?;
    let r = crate::fs::vfs().resolver();
    if op.is_empty() && flags & AT_EMPTY_PATH != 0 {
        let target = lookup_at(cx, olddir, &op, flags, false)?;
        let parent = r.resolve_parent(&ns, &np)?;
        parent.dir.link(&parent.name, &target)?;
        return Ok(0);
    }
    let os = start_dir(cx, olddir, &op)?;
    r.link(&os, &op, &ns, &np, flags & AT_SYMLINK_FOLLOW != 0)?;
    Ok(0)
}

pub(super) fn sys_link(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    link_at(cx, AT_FDCWD as u64, a[0], AT_FDCWD as u64, a[1], 0)
}

pub(super) fn sys_linkat(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    link_at(cx, a[0], a[1], a[2], a[3], a[4])
}

fn symlink_at(cx: &SyscallCx<'_>, target: u64, dirfd: u64, path: u64) -> SysResult {
    let t = path_arg(target)?;
    if t.is_empty() {
        return Err(Errno::ENOENT);
    }
    let p = path_arg(path)?;
    let start = start_dir(cx, dirfd, &p)?;
    crate::fs::vfs().resolver().symlink(&t, &start, &p, 0, 0)?;
    Ok(0)
}

pub(super) fn sys_symlink(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    symlink_at(cx, a[0], AT_FDCWD as u64, a[1])
}

pub(super) fn sys_symlinkat(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    symlink_at(cx, a[0], a[1], a[2])
}

fn readlink_at(cx: &SyscallCx<'_>, dirfd: u64, path: u64, buf: u64, size: u64) -> SysResult {
    if (size as i64) <= 0 {
        return Err(Errno::EINVAL);
    }
    let p = path_arg(path)?;
    let node = lookup_at(cx, dirfd, &p, AT_EMPTY_PATH, false)?;
    if node.file_type() != FileType::Symlink {
        return Err(Errno::EINVAL);
    }
    let t = node.readlink()?;
    let n = t.len().min(size as usize);
    write_bytes(buf, &t[..n])?;
    Ok(n)
}

pub(super) fn sys_readlink(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    readlink_at(cx, AT_FDCWD as u64, a[0], a[1], a[2])
}

pub(super) fn sys_readlinkat(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    readlink_at(cx, a[0], a[1], a[2], a[3])
}

pub(super) fn sys_getcwd(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let (mut p, node) = cx.proc.cwd.lock().clone();
    // A removed working directory has no path (getcwd ENOENT).
    if node.metadata().nlink == 0 {
        return Err(Errno::ENOENT);
    }
    p.push(0);
    if (a[1] as usize) < p.len() {
        return Err(Errno::ERANGE);
    }
    write_bytes(a[0], &p)?;
    Ok(p.len())
}

fn set_cwd(cx: &SyscallCx<'_>, node: InodeRef, path: Vec<u8>) -> SysResult {
    if node.file_type() != FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    *cx.proc.cwd.lock() = (path, node);
    Ok(0)
}

pub(super) fn sys_chdir(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let p = path_arg(a[0])?;
    let node = lookup_at(cx, AT_FDCWD as u64, &p, 0, true)?;
    let base = cx.proc.cwd.lock().0.clone();
    let real = crate::fs::canonical(&base, &p)?;
    set_cwd(cx, node, real)
}

pub(super) fn sys_fchdir(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let f = file(cx, a[0])?;
    let node = f.file.inode().ok_or(Errno::ENOTDIR)?;
    set_cwd(cx, node, f.file.describe())
}

fn truncate_node(cx: &SyscallCx<'_>, node: &InodeRef, len: u64) -> SysResult {
    if (len as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    match node.file_type() {
        FileType::Directory => return Err(Errno::EISDIR),
        FileType::Regular => {}
        _ => return Err(Errno::EINVAL),
    }
    if crate::fs::vfs().mounts.is_read_only(node.fs_id()) {
        return Err(Errno::EROFS);
    }
    let _ = cx;
    node.truncate(len)?;
    Ok(0)
}

pub(super) fn sys_truncate(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let p = path_arg(a[0])?;
    let node = lookup_at(cx, AT_FDCWD as u64, &p, 0, true)?;
    truncate_node(cx, &node, a[1])
}

pub(super) fn sys_ftruncate(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let f = file(cx, a[0])?;
    if !f.writable() {
        return Err(Errno::EINVAL);
    }
    let node = f.file.inode().ok_or(Errno::EINVAL)?;
    truncate_node(cx, &node, a[1])
}

pub(super) fn sys_fallocate(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let f = file(cx, a[0])?;
    if !f.writable() {
        return Err(Errno::EBADF);
    }
    let node = f.file.inode().ok_or(Errno::ESPIPE)?;
    if (a[2] as i64) < 0 || (a[3] as i64) <= 0 {
        return Err(Errno::EINVAL);
    }
    node.allocate(a[1] as u32, a[2], a[3])?;
    Ok(0)
}

pub(super) fn sys_fsync(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let f = file(cx, a[0])?;
    match f.file.inode() {
        Some(n) => n.sync().map(|_| 0),
        None => Err(Errno::EINVAL),
    }
}

pub(super) fn sys_syncfs(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    file(cx, a[0])?;
    Ok(0)
}

pub(super) fn sys_sync(_cx: &mut SyscallCx<'_>, _a: Args) -> SysResult {
    Ok(0)
}

fn write_statfs(node: &InodeRef, addr: u64) -> SysResult {
    let s = node.statfs();
    let mut flags = s.flags;
    if crate::fs::vfs().mounts.is_read_only(node.fs_id()) {
        flags |= oxv_vfs::node::ST_RDONLY;
    }
    let mut o = Out::default();
    o.u64(s.fs_type)
        .u64(s.bsize)
        .u64(s.blocks)
        .u64(s.bfree)
        .u64(s.bavail)
        .u64(s.files)
        .u64(s.ffree);
    o.u64(s.fsid).u64(s.namelen).u64(s.frsize).u64(flags);
    o.zeros(120 - o.0.len());
    o.write_to(addr)?;
    Ok(0)
}

pub(super) fn sys_statfs(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let p = path_arg(a[0])?;
    let node = lookup_at(cx, AT_FDCWD as u64, &p, 0, true)?;
    write_statfs(&node, a[1])
}

pub(super) fn sys_fstatfs(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let f = file(cx, a[0])?;
    let node = f
        .file
        .inode()
        .unwrap_or_else(|| crate::fs::vfs().root().clone());
    write_statfs(&node, a[1])
}

fn read_times(addr: u64) -> Result<[Option<Timespec>; 2], Errno> {
    const UTIME_NOW: i64 = (1 << 30) - 1;
    const UTIME_OMIT: i64 = (1 << 30) - 2;
    let now = crate::fs::now();
    if addr == 0 {
        return Ok([Some(now), Some(now)]);
    }
    let b = read_bytes(addr, 32)?;
    let mut out = [None, None];
    for (i, t) in out.iter_mut().enumerate() {
        let sec = i64::from_le_bytes(b[i * 16..i * 16 + 8].try_into().unwrap_or([0; 8]));
        let nsec = i64::from_le_bytes(b[i * 16 + 8..i * 16 + 16].try_into().unwrap_or([0; 8]));
        *t = match nsec {
            UTIME_NOW => Some(now),
            UTIME_OMIT => None,
            n if (0..1_000_000_000).contains(&n) => Some(Timespec {
                sec,
                nsec: n as u32,
            }),
            _ => return Err(Errno::EINVAL),
        };
    }
    Ok(out)
}

pub(super) fn sys_utimensat(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    if a[3] & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let times = read_times(a[2])?;
    let node = if a[1] == 0 {
        file(cx, a[0])?.file.inode().ok_or(Errno::EBADF)?
    } else {
        let p = path_arg(a[1])?;
        lookup_at(cx, a[0], &p, a[3], a[3] & AT_SYMLINK_NOFOLLOW == 0)?
    };
    if crate::fs::vfs().mounts.is_read_only(node.fs_id()) {
        return Err(Errno::EROFS);
    }
    node.set_times(times[0], times[1])?;
    Ok(0)
}

fn chmod_node(node: &InodeRef, mode: u64) -> SysResult {
    if crate::fs::vfs().mounts.is_read_only(node.fs_id()) {
        return Err(Errno::EROFS);
    }
    node.set_mode(mode as u32 & 0o7777)?;
    Ok(0)
}

pub(super) fn sys_chmod(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let p = path_arg(a[0])?;
    chmod_node(&lookup_at(cx, AT_FDCWD as u64, &p, 0, true)?, a[1])
}

/// A descriptor usable for metadata changes (not an O_PATH handle).
fn real_file(cx: &SyscallCx<'_>, fd: u64) -> Result<Arc<OpenFile>, Errno> {
    let f = file(cx, fd)?;
    if *f.flags.lock() & oxv_vfs::node::O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    Ok(f)
}

pub(super) fn sys_fchmod(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    real_file(cx, a[0])?;
    chmod_node(&file(cx, a[0])?.file.inode().ok_or(Errno::EBADF)?, a[1])
}

pub(super) fn sys_fchmodat(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let p = path_arg(a[1])?;
    chmod_node(&lookup_at(cx, a[0], &p, 0, true)?, a[2])
}

fn chown_node(node: &InodeRef, uid: u64, gid: u64) -> SysResult {
    if crate::fs::vfs().mounts.is_read_only(node.fs_id()) {
        return Err(Errno::EROFS);
    }
    let id = |v: u64| {
        if v as u32 == u32::MAX {
            None
        } else {
            Some(v as u32)
        }
    };
    node.set_owner(id(uid), id(gid))?;
    Ok(0)
}

pub(super) fn sys_chown(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let p = path_arg(a[0])?;
    chown_node(&lookup_at(cx, AT_FDCWD as u64, &p, 0, true)?, a[1], a[2])
}

pub(super) fn sys_lchown(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let p = path_arg(a[0])?;
    chown_node(&lookup_at(cx, AT_FDCWD as u64, &p, 0, false)?, a[1], a[2])
}

pub(super) fn sys_fchown(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    real_file(cx, a[0])?;
    chown_node(
        &file(cx, a[0])?.file.inode().ok_or(Errno::EBADF)?,
        a[1],
        a[2],
    )
}

pub(super) fn sys_fchownat(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    if a[4] & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let p = path_arg(a[1])?;
    chown_node(
        &lookup_at(cx, a[0], &p, a[4], a[4] & AT_SYMLINK_NOFOLLOW == 0)?,
        a[2],
        a[3],
    )
}

pub(super) fn sys_getdents64(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    read_dirents(cx, a, DirentFormat::Dirent64)
}

/// The older getdents: still called by some static binaries and old libcs.
pub(super) fn sys_getdents(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    read_dirents(cx, a, DirentFormat::Dirent)
}

/// The two record layouts the getdents calls return.
#[derive(Clone, Copy)]
enum DirentFormat {
    /// `struct linux_dirent`: ino, off, reclen, name, NUL, padding, and the
    /// type in the record's last byte.
    Dirent,
    /// `struct linux_dirent64`: ino, off, reclen, type, name, NUL, padding.
    Dirent64,
}

impl DirentFormat {
    /// Bytes before the name (ino, off, reclen and, for dirent64, the type).
    fn header(self) -> usize {
        match self {
            Self::Dirent => 18,
            Self::Dirent64 => 19,
        }
    }

    /// Record length for a name: header, name, NUL (and the trailing type
    /// byte for the old layout), rounded up to 8.
    fn reclen(self, name_len: usize) -> usize {
        let tail = match self {
            Self::Dirent => 2,
            Self::Dirent64 => 1,
        };
        (self.header() + name_len + tail).next_multiple_of(8)
    }

    fn encode(self, out: &mut Vec<u8>, ino: u64, off: u64, dt: u8, name: &[u8]) {
        let reclen = self.reclen(name.len());
        let end = out.len() + reclen;
        out.extend_from_slice(&ino.to_le_bytes());
        out.extend_from_slice(&off.to_le_bytes());
        out.extend_from_slice(&(reclen as u16).to_le_bytes());
        if let Self::Dirent64 = self {
            out.push(dt);
        }
        out.extend_from_slice(name);
        out.resize(end, 0);
        if let Self::Dirent = self {
            out[end - 1] = dt;
        }
    }
}

/// Fills the program's buffer with as many directory records as fit,
/// from the descriptor's cursor on; the cursor and offset move only once
/// the records have reached the program.
fn read_dirents(cx: &mut SyscallCx<'_>, a: Args, format: DirentFormat) -> SysResult {
    let f = file(cx, a[0])?;
    let node = f.file.inode().ok_or(Errno::ENOTDIR)?;
    if node.file_type() != FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    let cap = (a[2] as usize).min(1 << 20);
    let mut out: Vec<u8> = Vec::new();
    let cursor = f.dir_cursor.lock().clone();
    let mut next = cursor.clone();
    let start = *f.offset.lock();
    let mut pos = start;
    let mut too_small = false;
    node.read_dir(&cursor, &mut |e| {
        if out.len() + format.reclen(e.name.len()) > cap {
            too_small = out.is_empty();
            return false;
        }
        pos += 1;
        format.encode(&mut out, e.ino, pos, e.kind.dt(), &e.name);
        next = e.next.clone();
        true
    })?;
    if too_small {
        return Err(Errno::EINVAL);
    }
    write_bytes(a[1], &out)?;
    *f.dir_cursor.lock() = next;
    *f.offset.lock() = pos;
    Ok(out.len())
}

/// Copies up to `count` bytes between descriptors through the kernel.
fn copy_between(
    cx: &SyscallCx<'_>,
    from: &OpenFile,
    mut in_pos: Option<u64>,
    to: &OpenFile,
    mut out_pos: Option<u64>,
    count: usize,
) -> Result<(usize, Option<u64>, Option<u64>), Errno> {
    if !from.readable() || !to.writable() {
        return Err(Errno::EBADF);
    }
    let rio = from.io(cx.proc, cx.thread);
    let wio = to.io(cx.proc, cx.thread);
    let mut buf = alloc::vec![0u8; count.min(64 * 1024)];
    let mut done = 0;
    while done < count {
        let n = (count - done).min(buf.len());
        let off = in_pos.unwrap_or_else(|| {
            if from.file.seekable() {
                *from.offset.lock()
            } else {
                0
            }
        });
        let got = match from.file.read(&rio, off, &mut buf[..n]) {
            Ok(0) => break,
            Ok(g) => g,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        let woff = out_pos.unwrap_or_else(|| {
            if to.file.seekable() {
                *to.offset.lock()
            } else {
                0
            }
        });
        let w = match to.file.write(&wio, woff, &buf[..got]) {
            Ok(w) => w,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        match in_pos.as_mut() {
            Some(p) => *p += w as u64,
            None if from.file.seekable() => *from.offset.lock() = off + w as u64,
            None => {}
        }
        match out_pos.as_mut() {
            Some(p) => *p += w as u64,
            None if to.file.seekable() => *to.offset.lock() = woff + w as u64,
            None => {}
        }
        done += w;
        if w < got || got < n {
            break;
        }
    }
    Ok((done, in_pos, out_pos))
}

fn read_off(addr: u64) -> Result<Option<u64>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let v = crate::linux::uaccess::read_u64(addr)?;
    if (v as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(Some(v))
}

pub(super) fn sys_sendfile(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let (out, inp) = (file(cx, a[0])?, file(cx, a[1])?);
    if inp.file.metadata().mode & oxv_vfs::node::S_IFMT == oxv_vfs::node::S_IFDIR {
        return Err(Errno::EINVAL);
    }
    let pos = read_off(a[2])?;
    if pos.is_some() && !inp.file.seekable() {
        return Err(Errno::ESPIPE);
    }
    let (n, in_pos, _) = copy_between(cx, &inp, pos, &out, None, (a[3] as usize).min(0x7fff_f000))?;
    if let Some(p) = in_pos {
        crate::linux::uaccess::write_u64(a[2], p)?;
    }
    Ok(n)
}

pub(super) fn sys_copy_file_range(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    if a[5] != 0 {
        return Err(Errno::EINVAL);
    }
    let (inp, out) = (file(cx, a[0])?, file(cx, a[2])?);
    let (ip, op) = (read_off(a[1])?, read_off(a[3])?);
    let (in_kind, out_kind) = (
        inp.file.metadata().mode & oxv_vfs::node::S_IFMT,
        out.file.metadata().mode & oxv_vfs::node::S_IFMT,
    );
    if in_kind == oxv_vfs::node::S_IFDIR || out_kind == oxv_vfs::node::S_IFDIR {
        return Err(Errno::EISDIR);
    }
    if in_kind != oxv_vfs::node::S_IFREG || out_kind != oxv_vfs::node::S_IFREG {
        return Err(Errno::EINVAL);
    }
    if *out.flags.lock() & oxv_vfs::node::O_APPEND != 0 {
        return Err(Errno::EBADF);
    }
    // The same file with overlapping ranges is EINVAL (man 2 copy_file_range).
    let same = crate::linux::file::same_file(&inp, &out);
    if same {
        let len = a[4];
        let i = ip.unwrap_or_else(|| *inp.offset.lock());
        let o = op.unwrap_or_else(|| *out.offset.lock());
        if i < o.saturating_add(len) && o < i.saturating_add(len) {
            return Err(Errno::EINVAL);
        }
    }
    let (n, ip2, op2) = copy_between(cx, &inp, ip, &out, op, (a[4] as usize).min(0x7fff_f000))?;
    if let Some(p) = ip2.filter(|_| a[1] != 0) {
        crate::linux::uaccess::write_u64(a[1], p)?;
    }
    if let Some(p) = op2.filter(|_| a[3] != 0) {
        crate::linux::uaccess::write_u64(a[3], p)?;
    }
    Ok(n)
}
