//! The framed console: the program's stdout/stderr, the kernel log, the exit
//! record and the boot chart share COM1 as frames (see `oxv_abi::console`);
//! the host's stdin arrives the same way.

use oxv_abi::console::{header, parse_header, GuestChannel, HostChannel, HEADER_LEN, MAX_PAYLOAD};
use oxv_hal::sync::SpinLock;

use super::serial;

static TX: SpinLock<()> = SpinLock::new(());

/// Sends `data` on `chan`, split into frames.
pub(crate) fn send(chan: GuestChannel, data: &[u8]) {
    let _g = TX.lock();
    if data.is_empty() {
        serial::write_all(&header(chan as u8, 0));
    }
    for chunk in data.chunks(MAX_PAYLOAD) {
        serial::write_all(&header(chan as u8, chunk.len()));
        serial::write_all(chunk);
    }
}

/// Receive side: parses host frames and hands out stdin bytes.
struct Rx {
    hdr: [u8; HEADER_LEN],
    hdr_len: usize,
    /// Payload bytes of the current data frame not yet consumed.
    remaining: usize,
    /// Bytes of a non-data frame still to skip.
    skip: usize,
    eof: bool,
    broken: bool,
}

static RX: SpinLock<Rx> = SpinLock::new(Rx {
    hdr: [0; HEADER_LEN],
    hdr_len: 0,
    remaining: 0,
    skip: 0,
    eof: false,
    broken: false,
});

/// Result of a non-blocking stdin read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StdinRead {
    /// This many bytes were stored.
    Data(usize),
    /// End of file.
    Eof,
    /// Nothing available yet.
    Empty,
}

/// Reads what is available of stdin into `buf` without waiting.
pub(crate) fn stdin_try_read(buf: &mut [u8]) -> StdinRead {
    let mut rx = RX.lock();
    let mut n = 0;
    while n < buf.len() {
        if rx.eof || rx.broken {
            break;
        }
        let Some(b) = serial::try_read_byte() else {
            break;
        };
        if rx.remaining > 0 {
            buf[n] = b;
            n += 1;
            rx.remaining -= 1;
            continue;
        }
        if rx.skip > 0 {
            rx.skip -= 1;
            continue;
        }
        let i = rx.hdr_len;
        rx.hdr[i] = b;
        rx.hdr_len += 1;
        if rx.hdr_len == HEADER_LEN {
            rx.hdr_len = 0;
            match parse_header(rx.hdr) {
                Ok(h) => match HostChannel::from_u8(h.chan) {
                    Some(HostChannel::StdinData) => rx.remaining = h.len,
                    Some(HostChannel::StdinEof) => rx.eof = true,
                    None => rx.skip = h.len,
                },
                Err(_) => {
                    let hdr = rx.hdr;
                    rx.broken = true;
                    drop(rx);
                    crate::klog!("console: bad frame from host ({:02x?}); stdin closed", hdr);
                    return if n > 0 {
                        StdinRead::Data(n)
                    } else {
                        StdinRead::Eof
                    };
                }
            }
        }
    }
    if n > 0 {
        StdinRead::Data(n)
    } else if rx.eof || rx.broken {
        StdinRead::Eof
    } else {
        StdinRead::Empty
    }
}

/// Whether a read of stdin would not block (data, or end of file).
/// A pending frame header counts as ready: the host only sends data frames
/// with a payload, or the end-of-file frame.
pub(crate) fn stdin_ready() -> bool {
    let rx = RX.lock();
    rx.eof || rx.broken || serial_has_byte()
}

fn serial_has_byte() -> bool {
    oxv_hal::Port8::new(0x3fd).read() & 1 != 0
}

/// Sends a frame without taking the transmit lock: for the panic path,
/// where the lock may be held by the code that panicked. A frame in flight
/// may be cut, which the host then reports as a protocol error.
pub(crate) fn send_unlocked(chan: GuestChannel, data: &[u8]) {
    for chunk in data.chunks(MAX_PAYLOAD) {
        serial::write_all(&header(chan as u8, chunk.len()));
        serial::write_all(chunk);
    }
}
