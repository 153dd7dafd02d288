//! Path resolution (man 7 path_resolution) and the path-level operations
//! built on it.
//!
//! A [`Resolver`] walks a path over a process root and the [`MountTable`]:
//!
//! - an absolute path starts at the root, a relative one at the given start
//!   directory (the kernel passes the cwd or a dirfd's inode);
//! - empty components (`a//b`) are skipped, `.` stays, `..` goes to the
//!   parent; `..` at the process root stays there, and `..` at the root of
//!   a mounted file system continues from the mountpoint, so it reaches the
//!   mountpoint's parent;
//! - after every lookup, a directory with something mounted on it is
//!   replaced by the mounted root (stacked mounts: the top one);
//! - symlinks in the middle are always followed, relative ones from the
//!   directory holding the link and absolute ones from the root; the last
//!   component's symlink is followed when asked (`follow_last`: not for
//!   `O_NOFOLLOW`, `lstat`, `AT_SYMLINK_NOFOLLOW`) or when a trailing slash
//!   follows it; more than [`SYMLOOP_MAX`] (40) expansions is ELOOP and an
//!   empty target ENOENT;
//! - a path of [`PATH_MAX`] bytes or more, or a component longer than
//!   [`NAME_MAX`], is ENAMETOOLONG; an empty path is ENOENT (the kernel
//!   handles `AT_EMPTY_PATH` itself);
//! - a non-directory in the middle is ENOTDIR, and so is a trailing slash
//!   after a non-directory.
//!
//! Three modes: [`Resolver::resolve`] (the inode), [`Resolver::resolve_parent`]
//! (the directory holding the last component plus its name, for create,
//! unlink, rename; the last component is not looked up) and
//! [`Resolver::resolve_create`] (`open(O_CREAT)`: the inode, or the directory
//! and name where it would be created, following a dangling last symlink to
//! create its target as Linux does).
//!
//! The operations (`open`, `mkdir`, `mknod`, `symlink`, `link`, `unlink`,
//! `rmdir`, `rename`, `readlink`) add the checks Linux makes above the file
//! system, in Linux's order: `.`/`..` as last component, trailing-slash
//! rules, EEXIST before EROFS for creation, EROFS (read-only mount or file
//! system) before ENOENT for removal, EXDEV across mounts, EBUSY for
//! mountpoints. Permission (DAC) checks are not made here: oxv runs a single
//! program, and the kernel may check [`crate::Metadata::permits`] itself.
//!
//! Key types: [`Resolver`], [`Parent`], [`LastKind`], [`CreateTarget`],
//! [`OpenRequest`], [`Opened`]. Called by: the kernel's file syscalls
//! (`openat`, `stat`, `mkdirat`, `renameat2`, `chdir`, `execve`, ...).

use alloc::vec::Vec;

use oxv_abi::errno::Errno;

use crate::mount::MountTable;
use crate::node::{
    same_inode, FileType, InodeRef, NAME_MAX, O_ACCMODE, O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW,
    O_PATH, O_RDONLY, O_TMPFILE, O_TRUNC, PATH_MAX, RENAME_EXCHANGE, RENAME_NOREPLACE,
    RENAME_WHITEOUT, SYMLOOP_MAX, S_IALLUGO, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFMT, S_IFREG,
    S_IFSOCK,
};

/// What the last component of a path is, in [`Resolver::resolve_parent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LastKind {
    /// An ordinary name.
    Normal,
    /// `.`
    Dot,
    /// `..`
    DotDot,
    /// No component at all: the path is `/` (or only slashes).
    Root,
}

/// The result of [`Resolver::resolve_parent`].
#[derive(Clone)]
pub struct Parent {
    /// The directory the last component would be looked up in (for
    /// [`LastKind::Root`], the root itself).
    pub dir: InodeRef,
    /// The last component (empty for [`LastKind::Root`]).
    pub name: Vec<u8>,
    /// What the last component is.
    pub kind: LastKind,
    /// Whether the path ended with one or more slashes after it.
    pub trailing_slash: bool,
}

impl core::fmt::Debug for Parent {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Parent")
            .field("dir_ino", &self.dir.ino())
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("trailing_slash", &self.trailing_slash)
            .finish()
    }
}

/// The result of [`Resolver::resolve_create`].
#[derive(Clone)]
pub enum CreateTarget {
    /// The path names an existing file (a symlink only if not followed).
    Exists(InodeRef),
    /// Nothing exists there; it would be `name` in `dir`.
    Absent {
        /// The directory to create in.
        dir: InodeRef,
        /// The name to create.
        name: Vec<u8>,
    },
}

impl core::fmt::Debug for CreateTarget {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CreateTarget::Exists(i) => write!(f, "Exists(ino {})", i.ino()),
            CreateTarget::Absent { dir, name } => {
                write!(f, "Absent(dir ino {}, {:?})", dir.ino(), name)
            }
        }
    }
}

/// Arguments of [`Resolver::open`].
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenRequest {
    /// `open(2)` flags (`O_*`).
    pub flags: u32,
    /// Permission bits for a created file (umask already applied).
    pub mode: u32,
    /// Owner of a created file.
    pub uid: u32,
    /// Group of a created file.
    pub gid: u32,
}

/// The result of [`Resolver::open`].
#[derive(Clone)]
pub struct Opened {
    /// The file the path names (for `fstat`, `fchdir`, identity).
    pub inode: InodeRef,
    /// Where the open file description does its I/O: `inode` itself, or a
    /// per-open object from [`crate::Inode::open`].
    pub io: InodeRef,
    /// Whether `O_CREAT` created the file.
    pub created: bool,
}

impl core::fmt::Debug for Opened {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Opened")
            .field("ino", &self.inode.ino())
            .field("created", &self.created)
            .finish()
    }
}

/// Path resolution over a process root and the mount table. Cheap to make
/// per call (two references).
#[derive(Clone, Copy)]
pub struct Resolver<'a> {
    mounts: &'a MountTable,
    root: &'a InodeRef,
}

impl core::fmt::Debug for Resolver<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Resolver")
            .field("root_ino", &self.root.ino())
            .finish()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Full,
    Parent,
    Create,
}

enum Walked {
    Found(InodeRef),
    Parent(Parent),
    Absent { dir: InodeRef, name: Vec<u8> },
}

/// The component source: the original path plus a stack of symlink
/// targets being expanded.
struct Components<'p> {
    base: &'p [u8],
    base_pos: usize,
    stack: Vec<(Vec<u8>, usize)>,
}

impl<'p> Components<'p> {
    fn new(base: &'p [u8]) -> Self {
        Components {
            base,
            base_pos: 0,
            stack: Vec::new(),
        }
    }

    /// Copies the next component into `out`; `false` when none is left.
    fn next(&mut self, out: &mut Vec<u8>) -> bool {
        loop {
            let (buf, pos): (&[u8], &mut usize) = match self.stack.last_mut() {
                Some((b, p)) => (b.as_slice(), p),
                None => (self.base, &mut self.base_pos),
            };
            while *pos < buf.len() && buf[*pos] == b'/' {
                *pos += 1;
            }
            if *pos >= buf.len() {
                if self.stack.pop().is_none() {
                    return false;
                }
                continue;
            }
            let start = *pos;
            while *pos < buf.len() && buf[*pos] != b'/' {
                *pos += 1;
            }
            out.clear();
            out.extend_from_slice(&buf[start..*pos]);
            return true;
        }
    }

    /// `(is_last, trailing_slash)` for the component just returned: last if
    /// only slashes remain anywhere; trailing if any slash remains.
    fn position(&self) -> (bool, bool) {
        let mut trailing = false;
        let frames = self
            .stack
            .iter()
            .map(|(b, p)| &b[*p..])
            .chain(core::iter::once(&self.base[self.base_pos..]));
        for rest in frames {
            if rest.iter().any(|&c| c != b'/') {
                return (false, trailing);
            }
            trailing |= !rest.is_empty();
        }
        (true, trailing)
    }

    fn push(&mut self, target: Vec<u8>) {
        self.stack.push((target, 0));
    }
}

fn is_dir(node: &InodeRef) -> bool {
    node.file_type() == FileType::Directory
}

impl<'a> Resolver<'a> {
    /// A resolver whose `/` is `root` (the process root, normally
    /// `mounts.root()`).
    pub fn new(mounts: &'a MountTable, root: &'a InodeRef) -> Self {
        Resolver { mounts, root }
    }

    /// The mount table.
    pub fn mounts(&self) -> &'a MountTable {
        self.mounts
    }

    /// Resolves `path` to an inode. `start` is the directory relative paths
    /// begin at. `follow_last`: follow a symlink in the last component.
    pub fn resolve(
        &self,
        start: &InodeRef,
        path: &[u8],
        follow_last: bool,
    ) -> Result<InodeRef, Errno> {
        match self.walk(start, path, follow_last, Mode::Full)? {
            Walked::Found(i) => Ok(i),
            _ => Err(Errno::EIO),
        }
    }

    /// Resolves `path` and requires a directory (`chdir`, `O_DIRECTORY`).
    pub fn resolve_dir(&self, start: &InodeRef, path: &[u8]) -> Result<InodeRef, Errno> {
        let node = self.resolve(start, path, true)?;
        if !is_dir(&node) {
            return Err(Errno::ENOTDIR);
        }
        Ok(node)
    }

    /// Resolves all but the last component of `path` (following symlinks
    /// there) and reports the last one without looking it up.
    pub fn resolve_parent(&self, start: &InodeRef, path: &[u8]) -> Result<Parent, Errno> {
        match self.walk(start, path, false, Mode::Parent)? {
            Walked::Parent(p) => Ok(p),
            Walked::Found(dir) => Ok(Parent {
                dir,
                name: Vec::new(),
                kind: LastKind::Root,
                trailing_slash: false,
            }),
            Walked::Absent { .. } => Err(Errno::EIO),
        }
    }

    /// Resolution for `open(O_CREAT)`: the existing inode, or where to
    /// create it. A trailing slash after the last name is EISDIR (Linux
    /// refuses to create through `name/`). With `follow_last`, a dangling
    /// symlink yields the location of its target.
    pub fn resolve_create(
        &self,
        start: &InodeRef,
        path: &[u8],
        follow_last: bool,
    ) -> Result<CreateTarget, Errno> {
        match self.walk(start, path, follow_last, Mode::Create)? {
            Walked::Found(i) => Ok(CreateTarget::Exists(i)),
            Walked::Absent { dir, name } => Ok(CreateTarget::Absent { dir, name }),
            Walked::Parent(_) => Err(Errno::EIO),
        }
    }

    fn cross_down(&self, node: InodeRef) -> InodeRef {
        if !is_dir(&node) {
            return node;
        }
        self.mounts.mounted_on(&*node).unwrap_or(node)
    }

    fn dotdot(&self, mut cur: InodeRef) -> Result<InodeRef, Errno> {
        loop {
            if same_inode(&*cur, &**self.root) {
                return Ok(cur);
            }
            match self.mounts.mountpoint_of(&*cur) {
                Some(mp) => cur = mp,
                None => break,
            }
        }
        let parent = cur.lookup(b"..")?;
        Ok(self.cross_down(parent))
    }

    fn walk(
        &self,
        start: &InodeRef,
        path: &[u8],
        follow_last: bool,
        mode: Mode,
    ) -> Result<Walked, Errno> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        if path.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let mut cur = if path[0] == b'/' {
            self.root.clone()
        } else {
            start.clone()
        };
        let mut comps = Components::new(path);
        let mut comp = Vec::new();
        let mut links = 0u32;
        while comps.next(&mut comp) {
            let (is_last, trailing) = comps.position();
            if !is_dir(&cur) {
                return Err(Errno::ENOTDIR);
            }
            let last_here = is_last && mode == Mode::Parent;
            if comp == b"." || comp == b".." {
                if last_here {
                    let kind = if comp == b"." {
                        LastKind::Dot
                    } else {
                        LastKind::DotDot
                    };
                    return Ok(Walked::Parent(Parent {
                        dir: cur,
                        name: comp,
                        kind,
                        trailing_slash: trailing,
                    }));
                }
                if comp == b".." {
                    cur = self.dotdot(cur)?;
                }
                continue;
            }
            if comp.len() > NAME_MAX {
                return Err(Errno::ENAMETOOLONG);
            }
            if last_here {
                return Ok(Walked::Parent(Parent {
                    dir: cur,
                    name: comp,
                    kind: LastKind::Normal,
                    trailing_slash: trailing,
                }));
            }
            if is_last && trailing && mode == Mode::Create {
                return Err(Errno::EISDIR);
            }
            let next = match cur.lookup(&comp) {
                Ok(n) => n,
                Err(Errno::ENOENT) if is_last && mode == Mode::Create => {
                    return Ok(Walked::Absent {
                        dir: cur,
                        name: comp,
                    });
                }
                Err(e) => return Err(e),
            };
            let next = self.cross_down(next);
            if next.file_type() == FileType::Symlink && (!is_last || follow_last || trailing) {
                links += 1;
                if links > SYMLOOP_MAX {
                    return Err(Errno::ELOOP);
                }
                let target = next.readlink()?;
                if target.is_empty() {
                    return Err(Errno::ENOENT);
                }
                if target[0] == b'/' {
                    cur = self.root.clone();
                }
                comps.push(target);
                continue;
            }
            if is_last && trailing && !is_dir(&next) {
                return Err(Errno::ENOTDIR);
            }
            cur = next;
        }
        Ok(Walked::Found(cur))
    }

    // --- path-level operations ------------------------------------------------

    /// EROFS if `node`'s file system is read-only or mounted read-only.
    pub fn check_writable(&self, node: &InodeRef) -> Result<(), Errno> {
        if node.read_only() || self.mounts.is_read_only(node.fs_id()) {
            return Err(Errno::EROFS);
        }
        Ok(())
    }

    /// The parent for creating a new entry (mkdir, mknod, symlink, link):
    /// EEXIST for `.`/`..`/`/` or an existing name, ENOENT for `name/` when
    /// `allow_trailing` is false, then EROFS.
    fn create_parent(
        &self,
        start: &InodeRef,
        path: &[u8],
        allow_trailing: bool,
    ) -> Result<Parent, Errno> {
        let p = self.resolve_parent(start, path)?;
        if p.kind != LastKind::Normal {
            return Err(Errno::EEXIST);
        }
        let exists = || p.dir.lookup(&p.name).is_ok();
        if p.trailing_slash && !allow_trailing {
            return Err(if exists() {
                Errno::EEXIST
            } else {
                Errno::ENOENT
            });
        }
        if let Err(e) = self.check_writable(&p.dir) {
            return Err(if exists() { Errno::EEXIST } else { e });
        }
        Ok(p)
    }

    /// `open(2)`/`openat(2)` on a path: resolution plus the checks of man 2
    /// open — O_CREAT/O_EXCL (EEXIST), O_NOFOLLOW (ELOOP), O_DIRECTORY
    /// (ENOTDIR), writing or O_CREAT on a directory (EISDIR), EROFS for
    /// writing a regular file or directory on a read-only mount, O_TRUNC of
    /// a regular file, then [`crate::Inode::open`]. O_PATH only resolves.
    /// O_TMPFILE is EOPNOTSUPP; O_CREAT|O_DIRECTORY is EINVAL.
    pub fn open(&self, start: &InodeRef, path: &[u8], req: OpenRequest) -> Result<Opened, Errno> {
        let flags = req.flags;
        if flags & O_TMPFILE == O_TMPFILE {
            return Err(Errno::EOPNOTSUPP);
        }
        if flags & O_PATH != 0 {
            let inode = self.resolve(start, path, flags & O_NOFOLLOW == 0)?;
            if flags & O_DIRECTORY != 0 && !is_dir(&inode) {
                return Err(Errno::ENOTDIR);
            }
            return Ok(Opened {
                io: inode.clone(),
                inode,
                created: false,
            });
        }
        if flags & O_CREAT != 0 && flags & O_DIRECTORY != 0 {
            return Err(Errno::EINVAL);
        }
        let excl = flags & O_CREAT != 0 && flags & O_EXCL != 0;
        let (inode, created) = if flags & O_CREAT != 0 {
            self.open_create(start, path, req, excl)?
        } else {
            (self.resolve(start, path, flags & O_NOFOLLOW == 0)?, false)
        };
        let kind = inode.file_type();
        if kind == FileType::Symlink {
            return Err(Errno::ELOOP);
        }
        if flags & O_DIRECTORY != 0 && kind != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        let writes = flags & O_ACCMODE != O_RDONLY || flags & O_TRUNC != 0;
        if kind == FileType::Directory && (writes || flags & O_CREAT != 0) {
            return Err(Errno::EISDIR);
        }
        if writes && !created && kind == FileType::Regular {
            self.check_writable(&inode)?;
        }
        let io = inode.open(flags)?.unwrap_or_else(|| inode.clone());
        if flags & O_TRUNC != 0 && !created && kind == FileType::Regular {
            inode.truncate(0)?;
        }
        Ok(Opened { inode, io, created })
    }

    fn open_create(
        &self,
        start: &InodeRef,
        path: &[u8],
        req: OpenRequest,
        excl: bool,
    ) -> Result<(InodeRef, bool), Errno> {
        let follow = !excl && req.flags & O_NOFOLLOW == 0;
        // A racing creator may win between lookup and create; retry then.
        for _ in 0..8 {
            match self.resolve_create(start, path, follow)? {
                CreateTarget::Exists(_) if excl => return Err(Errno::EEXIST),
                CreateTarget::Exists(i) => return Ok((i, false)),
                CreateTarget::Absent { dir, name } => {
                    self.check_writable(&dir)?;
                    let mode = S_IFREG | (req.mode & S_IALLUGO);
                    match dir.create(&name, mode, req.uid, req.gid) {
                        Ok(i) => return Ok((i, true)),
                        Err(Errno::EEXIST) if !excl => continue,
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Err(Errno::EEXIST)
    }

    /// `mkdir(2)`: `mode` is the permission bits (umask applied). A trailing
    /// slash is allowed.
    pub fn mkdir(
        &self,
        start: &InodeRef,
        path: &[u8],
        mode: u32,
        uid: u32,
        gid: u32,
    ) -> Result<InodeRef, Errno> {
        let p = self.create_parent(start, path, true)?;
        p.dir.mkdir(&p.name, mode & S_IALLUGO, uid, gid)
    }

    /// `mknod(2)`: regular files (type 0 or S_IFREG), FIFOs, sockets and
    /// device nodes; S_IFDIR is EPERM, other types EINVAL.
    pub fn mknod(
        &self,
        start: &InodeRef,
        path: &[u8],
        mode: u32,
        rdev: u64,
        uid: u32,
        gid: u32,
    ) -> Result<InodeRef, Errno> {
        let mode = match mode & S_IFMT {
            0 => mode | S_IFREG,
            S_IFREG | S_IFCHR | S_IFBLK | S_IFIFO | S_IFSOCK => mode,
            S_IFDIR => return Err(Errno::EPERM),
            _ => return Err(Errno::EINVAL),
        };
        let p = self.create_parent(start, path, false)?;
        p.dir.mknod(&p.name, mode, rdev, uid, gid)
    }

    /// `symlink(2)`: creates `path` pointing at `target` (stored verbatim).
    pub fn symlink(
        &self,
        target: &[u8],
        start: &InodeRef,
        path: &[u8],
        uid: u32,
        gid: u32,
    ) -> Result<InodeRef, Errno> {
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        if target.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let p = self.create_parent(start, path, false)?;
        p.dir.symlink(&p.name, target, uid, gid)
    }

    /// `linkat(2)`: a new name `new_path` for the file `old_path` names
    /// (`follow`: `AT_SYMLINK_FOLLOW`). EXDEV across file systems, EPERM for
    /// a directory.
    pub fn link(
        &self,
        old_start: &InodeRef,
        old_path: &[u8],
        new_start: &InodeRef,
        new_path: &[u8],
        follow: bool,
    ) -> Result<(), Errno> {
        let old = self.resolve(old_start, old_path, follow)?;
        let p = self.create_parent(new_start, new_path, false)?;
        if p.dir.lookup(&p.name).is_ok() {
            return Err(Errno::EEXIST);
        }
        if old.fs_id() != p.dir.fs_id() {
            return Err(Errno::EXDEV);
        }
        if is_dir(&old) {
            return Err(Errno::EPERM);
        }
        p.dir.link(&p.name, &old)
    }

    /// `unlink(2)`: removes a non-directory. `.`/`..` is EISDIR; `name/` is
    /// EISDIR for a directory and ENOTDIR otherwise. (Mountpoints are
    /// directories, so EISDIR covers them too.)
    pub fn unlink(&self, start: &InodeRef, path: &[u8]) -> Result<(), Errno> {
        let p = self.resolve_parent(start, path)?;
        if p.kind != LastKind::Normal {
            return Err(Errno::EISDIR);
        }
        self.check_writable(&p.dir)?;
        let victim = p.dir.lookup(&p.name)?;
        if p.trailing_slash {
            return Err(if is_dir(&victim) {
                Errno::EISDIR
            } else {
                Errno::ENOTDIR
            });
        }
        if is_dir(&victim) {
            return Err(Errno::EISDIR);
        }
        p.dir.unlink(&p.name)
    }

    /// `rmdir(2)`: removes an empty directory. `.` is EINVAL, `..`
    /// ENOTEMPTY, `/` EBUSY, a mountpoint EBUSY.
    pub fn rmdir(&self, start: &InodeRef, path: &[u8]) -> Result<(), Errno> {
        let p = self.resolve_parent(start, path)?;
        match p.kind {
            LastKind::Normal => {}
            LastKind::Dot => return Err(Errno::EINVAL),
            LastKind::DotDot => return Err(Errno::ENOTEMPTY),
            LastKind::Root => return Err(Errno::EBUSY),
        }
        self.check_writable(&p.dir)?;
        let victim = p.dir.lookup(&p.name)?;
        if !is_dir(&victim) {
            return Err(Errno::ENOTDIR);
        }
        if self.mounts.is_mountpoint(&*victim) {
            return Err(Errno::EBUSY);
        }
        p.dir.rmdir(&p.name)
    }

    /// `renameat2(2)` with `flags` from [`RENAME_NOREPLACE`] and
    /// [`RENAME_EXCHANGE`]. Checks in Linux's order: flags (EINVAL), EXDEV,
    /// `.`/`..`/`/` (EBUSY, or EEXIST for a NOREPLACE target), EROFS,
    /// ENOENT, EEXIST (NOREPLACE), trailing slashes on non-directories
    /// (ENOTDIR), mountpoints (EBUSY); the file system then reports EINVAL
    /// (a directory into its own subtree), ENOTEMPTY, ENOTDIR, EISDIR.
    pub fn rename(
        &self,
        old_start: &InodeRef,
        old_path: &[u8],
        new_start: &InodeRef,
        new_path: &[u8],
        flags: u32,
    ) -> Result<(), Errno> {
        let known = RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT;
        if flags & !known != 0
            || flags & (RENAME_NOREPLACE | RENAME_EXCHANGE) == RENAME_NOREPLACE | RENAME_EXCHANGE
            || (flags & RENAME_WHITEOUT != 0 && flags & RENAME_EXCHANGE != 0)
        {
            return Err(Errno::EINVAL);
        }
        let op = self.resolve_parent(old_start, old_path)?;
        let np = self.resolve_parent(new_start, new_path)?;
        if op.dir.fs_id() != np.dir.fs_id() {
            return Err(Errno::EXDEV);
        }
        if op.kind != LastKind::Normal {
            return Err(Errno::EBUSY);
        }
        if np.kind != LastKind::Normal {
            return Err(if flags & RENAME_NOREPLACE != 0 {
                Errno::EEXIST
            } else {
                Errno::EBUSY
            });
        }
        self.check_writable(&op.dir)?;
        let old = op.dir.lookup(&op.name)?;
        let new = match np.dir.lookup(&np.name) {
            Ok(n) => Some(n),
            Err(Errno::ENOENT) => None,
            Err(e) => return Err(e),
        };
        if flags & RENAME_NOREPLACE != 0 && new.is_some() {
            return Err(Errno::EEXIST);
        }
        if flags & RENAME_EXCHANGE != 0 {
            let Some(n) = &new else {
                return Err(Errno::ENOENT);
            };
            if !is_dir(n) && np.trailing_slash {
                return Err(Errno::ENOTDIR);
            }
        }
        if !is_dir(&old)
            && (op.trailing_slash || (flags & RENAME_EXCHANGE == 0 && np.trailing_slash))
        {
            return Err(Errno::ENOTDIR);
        }
        if self.mounts.is_mountpoint(&*old)
            || new
                .as_ref()
                .is_some_and(|n| self.mounts.is_mountpoint(&**n))
        {
            return Err(Errno::EBUSY);
        }
        op.dir.rename(&op.name, &np.dir, &np.name, flags)
    }

    /// `readlink(2)`: the target of the symlink `path` names (EINVAL if it
    /// is not a symlink).
    pub fn readlink(&self, start: &InodeRef, path: &[u8]) -> Result<Vec<u8>, Errno> {
        self.resolve(start, path, false)?.readlink()
    }
}
