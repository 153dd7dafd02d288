//! The Linux ABI: the program's process state, ELF loading, the syscall
//! table, signals.

pub(crate) mod errno;
pub(crate) mod exec;
pub(crate) mod fd;
pub(crate) mod process;
pub(crate) mod run;
pub(crate) mod signal;
pub(crate) mod syscall;
pub(crate) mod uaccess;
