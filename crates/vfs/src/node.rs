//! The inode interface every oxv file system implements.
//!
//! [`Inode`] is one object-safe trait covering files, directories, symlinks
//! and special files; the kernel holds inodes as [`InodeRef`]
//! (`Arc<dyn Inode>`). A file system implements the methods that make sense
//! for its node types; the default bodies return the errors Linux returns when
//! an operation does not apply (ENOTDIR for directory operations on a
//! non-directory, EISDIR for data operations on a directory, EROFS when
//! [`Inode::read_only`] is set, EPERM for hard links to directories, ...).
//!
//! Identity is `(fs_id, ino)`: a file system may hand out a fresh object for
//! the same file on every lookup (the rofs adapter does), so the VFS never
//! compares `Arc` pointers. `fs_id` doubles as `st_dev` and is how
//! cross-file-system `rename`/`link` are detected (EXDEV).
//!
//! Key types: [`Inode`], [`Metadata`] (everything `stat(2)` reports),
//! [`StatFs`] (`statfs(2)`), [`DirEntry`] and [`DirCursor`] (`getdents64(2)`),
//! [`FileType`], [`Timespec`], the [`Clock`] hook, and Linux constants
//! (`S_IF*`, `O_*`, `RENAME_*`, `FALLOC_FL_*`, `POLL*`, file-system magics).
//!
//! Called by: the path resolver ([`crate::path`]), the mount table, and the
//! kernel's fd layer and file syscalls; implemented by [`crate::ramfs`],
//! [`crate::synthetic`] and the kernel's rofs adapter.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU64, Ordering};

use oxv_abi::errno::Errno;

/// How the kernel holds an inode.
pub type InodeRef = Arc<dyn Inode>;

// ---------------------------------------------------------------------------
// Linux constants (include/uapi/linux/stat.h, fcntl.h, fs.h, falloc.h, poll.h,
// magic.h).

/// Mask of the file-type bits in `st_mode`.
pub const S_IFMT: u32 = 0o170000;
/// Socket.
pub const S_IFSOCK: u32 = 0o140000;
/// Symbolic link.
pub const S_IFLNK: u32 = 0o120000;
/// Regular file.
pub const S_IFREG: u32 = 0o100000;
/// Block device.
pub const S_IFBLK: u32 = 0o060000;
/// Directory.
pub const S_IFDIR: u32 = 0o040000;
/// Character device.
pub const S_IFCHR: u32 = 0o020000;
/// FIFO.
pub const S_IFIFO: u32 = 0o010000;
/// Set-user-ID bit.
pub const S_ISUID: u32 = 0o4000;
/// Set-group-ID bit.
pub const S_ISGID: u32 = 0o2000;
/// Sticky bit.
pub const S_ISVTX: u32 = 0o1000;
/// Group execute bit.
pub const S_IXGRP: u32 = 0o010;
/// Mask of the permission bits (including setuid/setgid/sticky).
pub const S_IALLUGO: u32 = 0o7777;

/// Longest file-name component, bytes (`NAME_MAX`).
pub const NAME_MAX: usize = 255;
/// Longest path including the terminating NUL (`PATH_MAX`); a path of
/// `PATH_MAX` bytes or more is ENAMETOOLONG.
pub const PATH_MAX: usize = 4096;
/// Symlink expansions allowed in one resolution before ELOOP (man 7
/// path_resolution).
pub const SYMLOOP_MAX: u32 = 40;
/// Largest file size (`MAX_LFS_FILESIZE` on 64-bit).
pub const MAX_FILE_SIZE: u64 = i64::MAX as u64;

/// `renameat2` flag: fail with EEXIST if the new name exists.
pub const RENAME_NOREPLACE: u32 = 1;
/// `renameat2` flag: atomically exchange the two names.
pub const RENAME_EXCHANGE: u32 = 2;
/// `renameat2` flag: leave a whiteout (overlay file systems; unsupported).
pub const RENAME_WHITEOUT: u32 = 4;

/// `fallocate` mode: do not change the file size.
pub const FALLOC_FL_KEEP_SIZE: u32 = 0x01;
/// `fallocate` mode: deallocate the range (needs KEEP_SIZE).
pub const FALLOC_FL_PUNCH_HOLE: u32 = 0x02;
/// `fallocate` mode: remove the range and shift the rest down.
pub const FALLOC_FL_COLLAPSE_RANGE: u32 = 0x08;
/// `fallocate` mode: zero the range.
pub const FALLOC_FL_ZERO_RANGE: u32 = 0x10;
/// `fallocate` mode: insert a hole, shifting the rest up.
pub const FALLOC_FL_INSERT_RANGE: u32 = 0x20;

/// Access-mode mask of the `open` flags.
pub const O_ACCMODE: u32 = 0o3;
/// Open for reading only.
pub const O_RDONLY: u32 = 0o0;
/// Open for writing only.
pub const O_WRONLY: u32 = 0o1;
/// Open for reading and writing.
pub const O_RDWR: u32 = 0o2;
/// Create the file if it does not exist.
pub const O_CREAT: u32 = 0o100;
/// With O_CREAT: fail if the file exists.
pub const O_EXCL: u32 = 0o200;
/// Do not make the terminal the controlling terminal.
pub const O_NOCTTY: u32 = 0o400;
/// Truncate a regular file to length 0.
pub const O_TRUNC: u32 = 0o1000;
/// Append on each write.
pub const O_APPEND: u32 = 0o2000;
/// Non-blocking I/O.
pub const O_NONBLOCK: u32 = 0o4000;
/// Fail unless the path names a directory.
pub const O_DIRECTORY: u32 = 0o200000;
/// Fail with ELOOP if the last component is a symlink.
pub const O_NOFOLLOW: u32 = 0o400000;
/// Close on exec.
pub const O_CLOEXEC: u32 = 0o2000000;
/// Obtain a location-only descriptor.
pub const O_PATH: u32 = 0o10000000;
/// Create an unnamed temporary file (includes O_DIRECTORY).
pub const O_TMPFILE: u32 = 0o20000000 | O_DIRECTORY;

/// `poll` event: data to read.
pub const POLLIN: u16 = 0x001;
/// `poll` event: urgent data.
pub const POLLPRI: u16 = 0x002;
/// `poll` event: writing will not block.
pub const POLLOUT: u16 = 0x004;
/// `poll` event: error.
pub const POLLERR: u16 = 0x008;
/// `poll` event: hang-up.
pub const POLLHUP: u16 = 0x010;
/// `poll` event: normal data to read.
pub const POLLRDNORM: u16 = 0x040;
/// `poll` event: normal data may be written.
pub const POLLWRNORM: u16 = 0x100;

/// `statfs.f_type` of tmpfs (and devtmpfs).
pub const TMPFS_MAGIC: u64 = 0x0102_1994;
/// `statfs.f_type` of procfs.
pub const PROC_SUPER_MAGIC: u64 = 0x9fa0;
/// `statfs.f_type` of sysfs.
pub const SYSFS_MAGIC: u64 = 0x6265_6572;
/// `statfs.f_type` of squashfs (a read-only compressed image, like rofs).
pub const SQUASHFS_MAGIC: u64 = 0x7371_7368;

/// `statfs.f_flags`: mounted read-only (`ST_RDONLY`).
pub const ST_RDONLY: u64 = 1;

/// Builds a device number the way glibc's `makedev` does.
pub const fn makedev(major: u32, minor: u32) -> u64 {
    let (ma, mi) = (major as u64, minor as u64);
    ((ma & 0xffff_f000) << 32) | ((ma & 0xfff) << 8) | ((mi & 0xffff_ff00) << 12) | (mi & 0xff)
}

static NEXT_FS_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh anonymous file-system id (also used as `st_dev`). Every mounted
/// file-system instance needs a distinct id; file systems built by this crate
/// take one from here unless given one.
pub fn alloc_fs_id() -> u64 {
    NEXT_FS_ID.fetch_add(1, Ordering::Relaxed)
}

// ---------------------------------------------------------------------------

/// A point in time as `struct timespec` carries it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timespec {
    /// Seconds since the epoch.
    pub sec: i64,
    /// Nanoseconds, `0..1_000_000_000`.
    pub nsec: u32,
}

impl Timespec {
    /// `sec` seconds, zero nanoseconds.
    pub const fn from_secs(sec: i64) -> Self {
        Timespec { sec, nsec: 0 }
    }
}

/// Where file systems get the current time for timestamps. The kernel
/// implements it over its realtime clock; any `Fn() -> Timespec` works.
pub trait Clock: Send + Sync {
    /// The current realtime (`CLOCK_REALTIME`).
    fn now(&self) -> Timespec;
}

impl<F: Fn() -> Timespec + Send + Sync> Clock for F {
    fn now(&self) -> Timespec {
        self()
    }
}

/// A clock stuck at the epoch (tests, early boot).
#[derive(Debug, Clone, Copy, Default)]
pub struct EpochClock;

impl Clock for EpochClock {
    fn now(&self) -> Timespec {
        Timespec::default()
    }
}

/// The type of a file, from the `S_IFMT` bits of its mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileType {
    /// `S_IFIFO`.
    Fifo,
    /// `S_IFCHR`.
    CharDevice,
    /// `S_IFDIR`.
    Directory,
    /// `S_IFBLK`.
    BlockDevice,
    /// `S_IFREG`.
    Regular,
    /// `S_IFLNK`.
    Symlink,
    /// `S_IFSOCK`.
    Socket,
}

impl FileType {
    /// The type encoded in `mode`'s `S_IFMT` bits, if valid.
    pub const fn from_mode(mode: u32) -> Option<FileType> {
        Some(match mode & S_IFMT {
            S_IFIFO => FileType::Fifo,
            S_IFCHR => FileType::CharDevice,
            S_IFDIR => FileType::Directory,
            S_IFBLK => FileType::BlockDevice,
            S_IFREG => FileType::Regular,
            S_IFLNK => FileType::Symlink,
            S_IFSOCK => FileType::Socket,
            _ => return None,
        })
    }

    /// The `S_IFMT` bits of this type.
    pub const fn mode_bits(self) -> u32 {
        match self {
            FileType::Fifo => S_IFIFO,
            FileType::CharDevice => S_IFCHR,
            FileType::Directory => S_IFDIR,
            FileType::BlockDevice => S_IFBLK,
            FileType::Regular => S_IFREG,
            FileType::Symlink => S_IFLNK,
            FileType::Socket => S_IFSOCK,
        }
    }

    /// The `d_type` value (`DT_*`) `getdents64` reports.
    pub const fn dt(self) -> u8 {
        match self {
            FileType::Fifo => 1,
            FileType::CharDevice => 2,
            FileType::Directory => 4,
            FileType::BlockDevice => 6,
            FileType::Regular => 8,
            FileType::Symlink => 10,
            FileType::Socket => 12,
        }
    }
}

/// What `stat(2)` reports about an inode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Metadata {
    /// Inode number, unique within the file system.
    pub ino: u64,
    /// Device id of the file system (`st_dev`), its `fs_id`.
    pub dev: u64,
    /// Type and permission bits (`st_mode`).
    pub mode: u32,
    /// Hard-link count.
    pub nlink: u64,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Size in bytes (symlink: target length; directory: fs-specific).
    pub size: u64,
    /// Allocated 512-byte blocks.
    pub blocks: u64,
    /// Preferred I/O size.
    pub blksize: u32,
    /// Last access.
    pub atime: Timespec,
    /// Last data modification.
    pub mtime: Timespec,
    /// Last status change.
    pub ctime: Timespec,
    /// Device number of a character or block special file.
    pub rdev: u64,
}

impl Metadata {
    /// The file type from `mode` (regular if the type bits are invalid).
    pub fn file_type(&self) -> FileType {
        FileType::from_mode(self.mode).unwrap_or(FileType::Regular)
    }

    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.mode & S_IFMT == S_IFDIR
    }

    /// Classic Unix permission check (man 7 credentials, man 2 access):
    /// `mask` is a combination of 4 (read), 2 (write), 1 (execute/search).
    /// uid 0 passes read/write always and execute when any execute bit is
    /// set or the file is a directory. `groups` are the supplementary groups.
    pub fn permits(&self, uid: u32, gid: u32, groups: &[u32], mask: u32) -> bool {
        let mask = mask & 7;
        if uid == 0 {
            return mask & 1 == 0 || self.is_dir() || self.mode & 0o111 != 0;
        }
        let bits = if uid == self.uid {
            self.mode >> 6
        } else if gid == self.gid || groups.contains(&self.gid) {
            self.mode >> 3
        } else {
            self.mode
        } & 7;
        bits & mask == mask
    }
}

/// What `statfs(2)` reports about a file system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatFs {
    /// File-system magic (`f_type`), e.g. [`TMPFS_MAGIC`].
    pub fs_type: u64,
    /// Block size (`f_bsize`).
    pub bsize: u64,
    /// Total blocks (`f_blocks`).
    pub blocks: u64,
    /// Free blocks (`f_bfree`).
    pub bfree: u64,
    /// Blocks available to unprivileged users (`f_bavail`).
    pub bavail: u64,
    /// Total inodes (`f_files`).
    pub files: u64,
    /// Free inodes (`f_ffree`).
    pub ffree: u64,
    /// File-system id (`f_fsid`).
    pub fsid: u64,
    /// Longest name (`f_namelen`).
    pub namelen: u64,
    /// Fragment size (`f_frsize`).
    pub frsize: u64,
    /// Mount flags (`f_flags`, `ST_*`).
    pub flags: u64,
}

impl Default for StatFs {
    fn default() -> Self {
        StatFs {
            fs_type: 0,
            bsize: 4096,
            blocks: 0,
            bfree: 0,
            bavail: 0,
            files: 0,
            ffree: 0,
            fsid: 0,
            namelen: NAME_MAX as u64,
            frsize: 4096,
            flags: 0,
        }
    }
}

/// A position in a directory listing: where the next [`Inode::read_dir`]
/// call resumes. The kernel stores one per open directory description;
/// `lseek(fd, 0, SEEK_SET)` resets it to [`DirCursor::Start`].
///
/// Name-ordered file systems ([`crate::ramfs`], [`crate::synthetic`]) resume
/// *after a name*, so entries removed concurrently never make a listing skip
/// or repeat the remaining ones (the OSv #68 failure of index cursors).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum DirCursor {
    /// Nothing returned yet; `.` comes next.
    #[default]
    Start,
    /// `.` returned; `..` comes next.
    Dot,
    /// `.` and `..` returned; the first real entry comes next.
    DotDot,
    /// Resume with the first entry whose name sorts after this one.
    After(Vec<u8>),
    /// Resume at this file-system-defined position (for file systems whose
    /// listing order is fixed, such as a read-only image).
    Pos(u64),
}

/// One directory entry as `getdents64(2)` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// Inode number (`d_ino`).
    pub ino: u64,
    /// File type (`d_type`).
    pub kind: FileType,
    /// Name, without a trailing NUL.
    pub name: Vec<u8>,
    /// Cursor that resumes the listing after this entry.
    pub next: DirCursor,
}

/// The interface of every file, directory, symlink and special file.
///
/// The trait is object-safe; the kernel uses `Arc<dyn Inode>`. Offsets and
/// lengths are `u64`: the syscall layer rejects negative values (EINVAL)
/// before calling. Names are single path components (never empty, `.`, `..`
/// or containing `/`, except that [`Inode::lookup`] must answer `..`).
pub trait Inode: Send + Sync {
    // --- identity and attributes -------------------------------------------

    /// Everything `stat(2)` reports.
    fn metadata(&self) -> Metadata;

    /// The file-system instance this inode belongs to; equals
    /// `metadata().dev`. Two inodes are the same file iff `fs_id` and `ino`
    /// are equal.
    fn fs_id(&self) -> u64;

    /// `self` as `Any`, for downcasting to the concrete type
    /// (`fn as_any(&self) -> &dyn Any { self }`).
    fn as_any(&self) -> &dyn Any;

    /// The inode number (cheaper than `metadata().ino` where overridden).
    fn ino(&self) -> u64 {
        self.metadata().ino
    }

    /// The file type (cheaper than decoding `metadata().mode` where
    /// overridden).
    fn file_type(&self) -> FileType {
        self.metadata().file_type()
    }

    /// Whether the file system cannot be modified; the default mutating
    /// methods then return EROFS.
    fn read_only(&self) -> bool {
        false
    }

    /// Called by `open(2)` once the path resolved and the generic checks
    /// passed. `Ok(None)`: do I/O through this inode. `Ok(Some(io))`: do I/O
    /// through `io` for this open file description (per-open state, such as
    /// a snapshot of generated content). `flags` are the `open` flags.
    fn open(&self, flags: u32) -> Result<Option<InodeRef>, Errno> {
        let _ = flags;
        Ok(None)
    }

    /// `poll(2)` readiness (`POLL*` bits). Files are always ready.
    fn poll(&self) -> u16 {
        POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM
    }

    /// Device-specific `ioctl(2)`; `arg` is passed through untouched.
    fn ioctl(&self, cmd: u32, arg: u64) -> Result<u64, Errno> {
        let _ = (cmd, arg);
        Err(Errno::ENOTTY)
    }

    // --- data ---------------------------------------------------------------

    /// Reads at `offset` into `buf`; returns the bytes read (0 at or past
    /// the end). `pread(2)`.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let _ = (offset, buf);
        Err(match self.file_type() {
            FileType::Directory => Errno::EISDIR,
            _ => Errno::EINVAL,
        })
    }

    /// Writes `buf` at `offset`, extending the file as needed; returns the
    /// bytes written. `pwrite(2)`.
    fn write_at(&self, offset: u64, buf: &[u8]) -> Result<usize, Errno> {
        let _ = (offset, buf);
        Err(data_op_error(self, Errno::EINVAL))
    }

    /// Writes `buf` at the current end of file atomically with respect to
    /// other appends (`O_APPEND`); returns `(offset written at, bytes)`.
    fn append(&self, buf: &[u8]) -> Result<(u64, usize), Errno> {
        let offset = self.metadata().size;
        self.write_at(offset, buf).map(|n| (offset, n))
    }

    /// Sets the size to `len`, dropping data past it or extending with a
    /// hole. `truncate(2)`.
    fn truncate(&self, len: u64) -> Result<(), Errno> {
        let _ = len;
        Err(data_op_error(self, Errno::EINVAL))
    }

    /// `fallocate(2)` with `mode` a combination of `FALLOC_FL_*`.
    /// EOPNOTSUPP unless the file system implements it.
    fn allocate(&self, mode: u32, offset: u64, len: u64) -> Result<(), Errno> {
        let _ = (mode, offset, len);
        Err(match self.file_type() {
            FileType::Regular => data_op_error(self, Errno::EOPNOTSUPP),
            FileType::Directory => Errno::EISDIR,
            _ => Errno::ENODEV,
        })
    }

    /// `lseek(SEEK_DATA)`: the first data offset at or after `offset`; ENXIO
    /// at or past the end. Default: the whole file is data.
    fn seek_data(&self, offset: u64) -> Result<u64, Errno> {
        if offset >= self.metadata().size {
            return Err(Errno::ENXIO);
        }
        Ok(offset)
    }

    /// `lseek(SEEK_HOLE)`: the first hole offset at or after `offset` (the
    /// end of file counts as a hole); ENXIO at or past the end. Default: the
    /// only hole is at the end.
    fn seek_hole(&self, offset: u64) -> Result<u64, Errno> {
        let size = self.metadata().size;
        if offset >= size {
            return Err(Errno::ENXIO);
        }
        Ok(size)
    }

    /// Flushes data and metadata to stable storage (`fsync(2)`).
    fn sync(&self) -> Result<(), Errno> {
        Ok(())
    }

    /// `statfs(2)` of the file system holding this inode.
    fn statfs(&self) -> StatFs {
        StatFs {
            fsid: self.fs_id(),
            flags: if self.read_only() { ST_RDONLY } else { 0 },
            ..StatFs::default()
        }
    }

    // --- directories --------------------------------------------------------

    /// Finds `name` in this directory. Must answer `..` (the parent; a file
    /// system's root answers itself); the resolver never asks for `.`.
    fn lookup(&self, name: &[u8]) -> Result<InodeRef, Errno> {
        let _ = name;
        Err(if self.file_type() == FileType::Directory {
            Errno::ENOENT
        } else {
            Errno::ENOTDIR
        })
    }

    /// Creates a regular file, FIFO, socket or device node named `name`;
    /// `mode` holds the type bits (0 means regular) and permissions. EEXIST
    /// if the name exists. Default: [`Inode::mknod`] with `rdev` 0.
    fn create(&self, name: &[u8], mode: u32, uid: u32, gid: u32) -> Result<InodeRef, Errno> {
        self.mknod(name, mode, 0, uid, gid)
    }

    /// Like [`Inode::create`], with the device number of a device node.
    fn mknod(
        &self,
        name: &[u8],
        mode: u32,
        rdev: u64,
        uid: u32,
        gid: u32,
    ) -> Result<InodeRef, Errno> {
        let _ = (name, mode, rdev, uid, gid);
        Err(dir_op_error(self, Errno::EPERM))
    }

    /// Creates a directory.
    fn mkdir(&self, name: &[u8], mode: u32, uid: u32, gid: u32) -> Result<InodeRef, Errno> {
        let _ = (name, mode, uid, gid);
        Err(dir_op_error(self, Errno::EPERM))
    }

    /// Creates a symbolic link `name` pointing at `target`.
    fn symlink(&self, name: &[u8], target: &[u8], uid: u32, gid: u32) -> Result<InodeRef, Errno> {
        let _ = (name, target, uid, gid);
        Err(dir_op_error(self, Errno::EPERM))
    }

    /// Adds a hard link `name` to `target`. EPERM for a directory target,
    /// EXDEV across file systems.
    fn link(&self, name: &[u8], target: &InodeRef) -> Result<(), Errno> {
        let _ = name;
        if self.file_type() != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        if target.file_type() == FileType::Directory {
            return Err(Errno::EPERM);
        }
        if target.fs_id() != self.fs_id() {
            return Err(Errno::EXDEV);
        }
        Err(dir_op_error(self, Errno::EPERM))
    }

    /// Removes the non-directory entry `name` (EISDIR for a directory).
    fn unlink(&self, name: &[u8]) -> Result<(), Errno> {
        let _ = name;
        Err(dir_op_error(self, Errno::EPERM))
    }

    /// Removes the empty directory `name` (ENOTDIR, ENOTEMPTY).
    fn rmdir(&self, name: &[u8]) -> Result<(), Errno> {
        let _ = name;
        Err(dir_op_error(self, Errno::EPERM))
    }

    /// `renameat2(2)`: moves entry `old_name` of this directory to
    /// `new_name` in `new_dir`. `flags`: [`RENAME_NOREPLACE`],
    /// [`RENAME_EXCHANGE`]. EXDEV if `new_dir` is another file system.
    fn rename(
        &self,
        old_name: &[u8],
        new_dir: &InodeRef,
        new_name: &[u8],
        flags: u32,
    ) -> Result<(), Errno> {
        let _ = (old_name, new_name, flags);
        if self.file_type() != FileType::Directory || new_dir.file_type() != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        if new_dir.fs_id() != self.fs_id() {
            return Err(Errno::EXDEV);
        }
        Err(dir_op_error(self, Errno::EPERM))
    }

    /// Lists entries starting at `cursor`: `.` and `..` first, then the
    /// others. Each entry goes to `sink`; when `sink` returns `false` the
    /// entry was *not* consumed and listing stops. The caller resumes from
    /// the `next` cursor of the last consumed entry. Implementations must not
    /// hold their locks while calling `sink`.
    fn read_dir(
        &self,
        cursor: &DirCursor,
        sink: &mut dyn FnMut(DirEntry) -> bool,
    ) -> Result<(), Errno> {
        let _ = (cursor, sink);
        Err(Errno::ENOTDIR)
    }

    // --- symlinks -------------------------------------------------------------

    /// The target of a symbolic link (EINVAL for other types).
    fn readlink(&self) -> Result<Vec<u8>, Errno> {
        Err(Errno::EINVAL)
    }

    // --- attribute changes ----------------------------------------------------

    /// `utimensat(2)`: sets the given times (`None`: leave unchanged; the
    /// kernel resolves `UTIME_NOW` to a time) and sets ctime to now.
    fn set_times(&self, atime: Option<Timespec>, mtime: Option<Timespec>) -> Result<(), Errno> {
        let _ = (atime, mtime);
        Err(attr_op_error(self))
    }

    /// `chmod(2)`: sets the permission bits (`mode & 0o7777`).
    fn set_mode(&self, mode: u32) -> Result<(), Errno> {
        let _ = mode;
        Err(attr_op_error(self))
    }

    /// `chown(2)`: sets owner and/or group (`None`: unchanged).
    fn set_owner(&self, uid: Option<u32>, gid: Option<u32>) -> Result<(), Errno> {
        let _ = (uid, gid);
        Err(attr_op_error(self))
    }
}

/// The error of a data operation that the node does not implement.
fn data_op_error<T: Inode + ?Sized>(node: &T, fallback: Errno) -> Errno {
    if node.file_type() == FileType::Directory {
        Errno::EISDIR
    } else if node.read_only() {
        Errno::EROFS
    } else {
        fallback
    }
}

/// The error of a directory-modifying operation that the node does not
/// implement.
fn dir_op_error<T: Inode + ?Sized>(node: &T, fallback: Errno) -> Errno {
    if node.file_type() != FileType::Directory {
        Errno::ENOTDIR
    } else if node.read_only() {
        Errno::EROFS
    } else {
        fallback
    }
}

fn attr_op_error<T: Inode + ?Sized>(node: &T) -> Errno {
    if node.read_only() {
        Errno::EROFS
    } else {
        Errno::EPERM
    }
}

/// Whether two inodes are the same file (`fs_id` and `ino` equal).
pub fn same_inode(a: &dyn Inode, b: &dyn Inode) -> bool {
    a.fs_id() == b.fs_id() && a.ino() == b.ino()
}

/// Reads a whole directory listing (including `.` and `..`).
pub fn read_dir_all(dir: &dyn Inode) -> Result<Vec<DirEntry>, Errno> {
    let mut out = Vec::new();
    dir.read_dir(&DirCursor::Start, &mut |e| {
        out.push(e);
        true
    })?;
    Ok(out)
}

/// Reads a whole file from offset 0 (tests, small generated files).
pub fn read_all(file: &dyn Inode) -> Result<Vec<u8>, Errno> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = file.read_at(out.len() as u64, &mut buf)?;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&buf[..n]);
    }
}

/// Checks a single name component the way Linux does before creating an
/// entry: empty is ENOENT, longer than [`NAME_MAX`] is ENAMETOOLONG, `.`/`..`
/// is EEXIST, a `/` or NUL inside is EINVAL.
pub fn check_new_name(name: &[u8]) -> Result<(), Errno> {
    if name.is_empty() {
        return Err(Errno::ENOENT);
    }
    if name.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    if name == b"." || name == b".." {
        return Err(Errno::EEXIST);
    }
    if name.iter().any(|&b| b == b'/' || b == 0) {
        return Err(Errno::EINVAL);
    }
    Ok(())
}
