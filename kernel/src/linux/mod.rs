//! The Linux ABI: the program's process state, ELF loading, the syscall
//! table, signals.

pub(crate) mod anon_inode;
pub(crate) mod console_file;
pub(crate) mod epoll;
pub(crate) mod errno;
pub(crate) mod eventfd;
pub(crate) mod exec;
pub(crate) mod fd;
pub(crate) mod file;
pub(crate) mod pipe;
pub(crate) mod process;
pub(crate) mod run;
pub(crate) mod signal;
pub(crate) mod signalfd;
pub(crate) mod syscall;
pub(crate) mod timerfd;
pub(crate) mod uaccess;
pub(crate) mod vdso;
pub(crate) mod vfs_file;
