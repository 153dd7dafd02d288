//! Why `oxv` could not run a program to its end, and which exit code says so.
//!
//! [`Error`] covers everything that stops a run on the host side: a missing
//! or unrunnable program, a missing QEMU, a VM that died without an exit
//! record, a corrupted console stream, host I/O failures. How the *program*
//! ended (exit code, signal, kernel panic, timeout) is not an error; see
//! [`crate::Ending`]. Messages carry no `oxv: ` prefix; the CLI adds it.

use std::fmt;
use std::io;

use oxv_abi::exit::{EXIT_BAD_PROGRAM, EXIT_HOST_FAILURE, EXIT_NOT_FOUND, EXIT_USAGE};

use crate::qemu::QemuOrigin;

/// A host-side failure; [`Error::exit_code`] maps it to `oxv`'s exit code.
#[derive(Debug)]
pub enum Error {
    /// The program file does not exist (exit 127).
    NotFound {
        /// The path as the user gave it.
        path: String,
    },
    /// The path exists but cannot be run: a directory, not a regular file,
    /// unreadable (exit 126). `reason` reads like `is a directory`.
    NotRunnable {
        /// The path as the user gave it.
        path: String,
        /// Why, e.g. `is a directory`.
        reason: String,
    },
    /// The file is not a program oxv can run: bad ELF, wrong architecture,
    /// dynamically linked (exit 126).
    BadProgram {
        /// The path as the user gave it.
        path: String,
        /// Why, e.g. `not an ELF file`.
        reason: String,
    },
    /// The QEMU binary could not be started (exit 125).
    QemuNotFound {
        /// The binary we tried.
        binary: String,
        /// Where its name came from.
        origin: QemuOrigin,
    },
    /// QEMU exited without the guest sending an exit record (exit 125).
    VmDied {
        /// QEMU's exit status, as text (`1`, `signal 9`).
        status: String,
        /// The last lines QEMU wrote to its stderr.
        stderr_tail: String,
    },
    /// The guest-to-host console stream was not valid framing (exit 125).
    Protocol(String),
    /// The launch record could not be built (exit 125).
    Launch(String),
    /// A manifest, `--add`, `--dir` or other image input is wrong: a
    /// missing host file, a relative or duplicate guest path, a TOML error
    /// (exit 2). The message names the offending entry.
    Manifest(String),
    /// An image could not be written (exit 125).
    Image(String),
    /// A host I/O operation failed (exit 125).
    Io {
        /// What we were doing.
        context: String,
        /// The underlying error.
        source: io::Error,
    },
}

impl Error {
    /// `oxv`'s exit code for this error (see `oxv_abi::exit`).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::NotFound { .. } => EXIT_NOT_FOUND,
            Error::NotRunnable { .. } | Error::BadProgram { .. } => EXIT_BAD_PROGRAM,
            Error::Manifest(_) => EXIT_USAGE,
            Error::QemuNotFound { .. }
            | Error::VmDied { .. }
            | Error::Protocol(_)
            | Error::Launch(_)
            | Error::Image(_)
            | Error::Io { .. } => EXIT_HOST_FAILURE,
        }
    }

    /// Wraps an I/O error with what we were doing.
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotFound { path } => write!(f, "{path}: no such file"),
            Error::NotRunnable { path, reason } => write!(f, "{path}: {reason}"),
            Error::BadProgram { path, reason } => write!(f, "cannot run {path}: {reason}"),
            Error::QemuNotFound { binary, origin } => match origin {
                QemuOrigin::Default => {
                    write!(f, "{binary} not found; install the qemu-system-x86 package")
                }
                QemuOrigin::Env => write!(f, "{binary} (from OXV_QEMU) not found"),
                QemuOrigin::Config => write!(f, "{binary} not found"),
            },
            Error::VmDied {
                status,
                stderr_tail,
            } => {
                write!(f, "VM died unexpectedly (qemu exit status {status})")?;
                if stderr_tail.trim().is_empty() {
                    write!(f, "; qemu printed nothing")
                } else {
                    write!(f, ": {}", stderr_tail.trim_end())
                }
            }
            Error::Protocol(msg) => write!(f, "console protocol error: {msg}"),
            Error::Launch(msg) => write!(f, "cannot build the launch record: {msg}"),
            Error::Manifest(msg) => f.write_str(msg),
            Error::Image(msg) => write!(f, "cannot build the image: {msg}"),
            Error::Io { context, source } => write!(f, "{context}: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_codes() {
        let e = Error::NotFound { path: "./a".into() };
        assert_eq!(e.to_string(), "./a: no such file");
        assert_eq!(e.exit_code(), 127);
        let e = Error::QemuNotFound {
            binary: "qemu-system-x86_64".into(),
            origin: QemuOrigin::Default,
        };
        assert_eq!(
            e.to_string(),
            "qemu-system-x86_64 not found; install the qemu-system-x86 package"
        );
        assert_eq!(e.exit_code(), 125);
        let e = Error::VmDied {
            status: "1".into(),
            stderr_tail: "qemu: boom\n".into(),
        };
        assert_eq!(
            e.to_string(),
            "VM died unexpectedly (qemu exit status 1): qemu: boom"
        );
        let e = Error::BadProgram {
            path: "x".into(),
            reason: "not an ELF file".into(),
        };
        assert_eq!(e.to_string(), "cannot run x: not an ELF file");
        assert_eq!(e.exit_code(), 126);
    }
}
