//! The kernel log: lines on the console's log channel.
//!
//! Lines are sent only when the host asked for them (`oxv run --verbose`),
//! except panic reports, which always go out so the host can explain a
//! failure.

use core::fmt::Write;
use core::sync::atomic::{AtomicBool, Ordering};

use oxv_abi::console::GuestChannel;

use crate::drivers::console;

static VERBOSE: AtomicBool = AtomicBool::new(false);

/// Turns log output on or off.
pub(crate) fn set_verbose(on: bool) {
    VERBOSE.store(on, Ordering::Relaxed);
}

/// Whether log output is on (`oxv run --verbose`).
pub(crate) fn verbose() -> bool {
    VERBOSE.load(Ordering::Relaxed)
}

/// A fixed-size line buffer; longer lines are cut.
pub(crate) struct LineBuf {
    buf: [u8; 512],
    len: usize,
}

impl LineBuf {
    pub(crate) const fn new() -> Self {
        Self {
            buf: [0; 512],
            len: 0,
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Write for LineBuf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// Sends one formatted line, always (used for panics).
pub(crate) fn emit(args: core::fmt::Arguments<'_>) {
    let mut line = LineBuf::new();
    let _ = line.write_fmt(args);
    let _ = line.write_str("\n");
    console::send(GuestChannel::Log, line.as_bytes());
}

/// Sends one line on the panic path (no locks taken).
pub(crate) fn emit_panic(args: core::fmt::Arguments<'_>) {
    let mut line = LineBuf::new();
    let _ = line.write_fmt(args);
    let _ = line.write_str("\n");
    console::send_unlocked(GuestChannel::Log, line.as_bytes());
}

/// Sends one formatted line if verbose logging is on, stamped like dmesg
/// with the seconds since kernel entry (so `--verbose` shows where boot
/// time goes).
pub(crate) fn log(args: core::fmt::Arguments<'_>) {
    if VERBOSE.load(Ordering::Relaxed) {
        let us = crate::sched::clock::monotonic_ns() / 1000;
        emit(format_args!(
            "[{:5}.{:06}] {args}",
            us / 1_000_000,
            us % 1_000_000
        ));
    }
}

/// Logs a line on the kernel log (shown with `oxv run --verbose`).
#[macro_export]
macro_rules! klog {
    ($($arg:tt)*) => { $crate::log::log(format_args!($($arg)*)) };
}
