//! Linux error numbers: the shared [`Errno`] type plus the conversions the
//! kernel needs. Handlers return [`SysResult`]; the dispatcher turns an
//! `Errno` into the negative return value once.

pub(crate) use oxv_abi::errno::Errno;

/// Converts lower-layer errors into errno values.
pub(crate) trait IntoErrno<T> {
    fn errno(self) -> Result<T, Errno>;
}

impl<T> IntoErrno<T> for Result<T, oxv_mm::vma::VmError> {
    fn errno(self) -> Result<T, Errno> {
        self.map_err(|e| Errno(e.errno()))
    }
}

impl<T> IntoErrno<T> for Result<T, oxv_hal::UserFault> {
    fn errno(self) -> Result<T, Errno> {
        self.map_err(|_| Errno::EFAULT)
    }
}

/// What every syscall handler returns.
pub(crate) type SysResult = Result<usize, Errno>;
