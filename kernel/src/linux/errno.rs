//! Linux error numbers (include/uapi/asm-generic/errno-base.h, errno.h).
//!
//! Handlers return `Result<usize, Errno>`; the dispatcher turns an `Errno`
//! into the negative return value once.

/// A Linux errno value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Errno(pub(crate) i32);

macro_rules! errnos {
    ($($name:ident = $v:expr),* $(,)?) => {
        impl Errno {
            $(pub(crate) const $name: Errno = Errno($v);)*
        }
    };
}

errnos! {
    EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, ENXIO = 6, E2BIG = 7,
    ENOEXEC = 8, EBADF = 9, ECHILD = 10, EAGAIN = 11, ENOMEM = 12, EACCES = 13,
    EFAULT = 14, EBUSY = 16, EEXIST = 17, EXDEV = 18, ENODEV = 19, ENOTDIR = 20,
    EISDIR = 21, EINVAL = 22, ENFILE = 23, EMFILE = 24, ENOTTY = 25, EFBIG = 27,
    ENOSPC = 28, ESPIPE = 29, EROFS = 30, EPIPE = 32, EDOM = 33, ERANGE = 34,
    ENAMETOOLONG = 36, ENOSYS = 38, ENOTEMPTY = 39, ELOOP = 40, ETIMEDOUT = 110,
    EOPNOTSUPP = 95,
}

impl From<oxv_mm::vma::VmError> for Errno {
    fn from(e: oxv_mm::vma::VmError) -> Self {
        Errno(e.errno())
    }
}

impl From<oxv_hal::UserFault> for Errno {
    fn from(_: oxv_hal::UserFault) -> Self {
        Errno::EFAULT
    }
}

/// What every syscall handler returns.
pub(crate) type SysResult = Result<usize, Errno>;
