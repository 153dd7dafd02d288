//! Framing of the serial console.
//!
//! oxv uses one serial line (COM1) in each direction. Guest to host, every
//! byte belongs to a frame: `FRAME_MAGIC, channel, len_lo, len_hi, payload`
//! with `len <= MAX_PAYLOAD`. That keeps the program's stdout and stderr
//! separate and byte-exact (binary data included) and lets kernel messages,
//! the exit record and the boot chart share the line.
//!
//! Host to guest, the host's stdin is sent as frames of the same shape on
//! channel [`HostChannel::StdinData`]; end of file is one empty frame on
//! [`HostChannel::StdinEof`].

/// First byte of every frame, so the host can detect a desynchronised stream.
pub const FRAME_MAGIC: u8 = 0xF5;
/// Bytes in a frame header.
pub const HEADER_LEN: usize = 4;
/// Largest payload in one frame.
pub const MAX_PAYLOAD: usize = 4096;

/// Guest-to-host channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum GuestChannel {
    /// The program's fd 1.
    Stdout = 1,
    /// The program's fd 2.
    Stderr = 2,
    /// Kernel log lines (UTF-8 text, one or more lines).
    Log = 3,
    /// The exit record ([`crate::exit::ExitRecord`]); the last frame the guest sends.
    Exit = 4,
    /// The boot chart ([`crate::bootchart::BootChart`]).
    BootChart = 5,
    /// Empty frame: the guest's receiver is set up; the host may send stdin.
    /// (Bytes sent earlier could be lost when the guest resets the UART.)
    StdinReady = 6,
}

impl GuestChannel {
    /// Decodes a channel byte.
    pub fn from_u8(b: u8) -> Option<Self> {
        Some(match b {
            1 => Self::Stdout,
            2 => Self::Stderr,
            3 => Self::Log,
            4 => Self::Exit,
            5 => Self::BootChart,
            6 => Self::StdinReady,
            _ => return None,
        })
    }
}

/// Host-to-guest channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum HostChannel {
    /// Bytes of the host's stdin.
    StdinData = 1,
    /// The host's stdin reached end of file.
    StdinEof = 2,
}

impl HostChannel {
    /// Decodes a channel byte.
    pub fn from_u8(b: u8) -> Option<Self> {
        Some(match b {
            1 => Self::StdinData,
            2 => Self::StdinEof,
            _ => return None,
        })
    }
}

/// Builds a frame header for `len` payload bytes on channel `chan`.
///
/// `len` must not exceed [`MAX_PAYLOAD`]; callers split longer writes.
pub fn header(chan: u8, len: usize) -> [u8; HEADER_LEN] {
    debug_assert!(len <= MAX_PAYLOAD);
    let l = (len as u16).to_le_bytes();
    [FRAME_MAGIC, chan, l[0], l[1]]
}

/// A parsed frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Raw channel byte.
    pub chan: u8,
    /// Payload length.
    pub len: usize,
}

/// Why a header was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// The first byte was not [`FRAME_MAGIC`].
    BadMagic(u8),
    /// The length exceeds [`MAX_PAYLOAD`].
    TooLong(usize),
}

/// Parses a frame header.
pub fn parse_header(h: [u8; HEADER_LEN]) -> Result<Header, HeaderError> {
    if h[0] != FRAME_MAGIC {
        return Err(HeaderError::BadMagic(h[0]));
    }
    let len = u16::from_le_bytes([h[2], h[3]]) as usize;
    if len > MAX_PAYLOAD {
        return Err(HeaderError::TooLong(len));
    }
    Ok(Header { chan: h[1], len })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip() {
        for len in [0, 1, 255, 256, MAX_PAYLOAD] {
            let h = parse_header(header(GuestChannel::Stderr as u8, len)).unwrap();
            assert_eq!(h.len, len);
            assert_eq!(GuestChannel::from_u8(h.chan), Some(GuestChannel::Stderr));
        }
    }

    #[test]
    fn header_rejects_garbage() {
        assert_eq!(parse_header([0, 1, 0, 0]), Err(HeaderError::BadMagic(0)));
        let l = ((MAX_PAYLOAD + 1) as u16).to_le_bytes();
        assert!(matches!(
            parse_header([FRAME_MAGIC, 1, l[0], l[1]]),
            Err(HeaderError::TooLong(_))
        ));
    }
}
