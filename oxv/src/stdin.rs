//! Forwards the host's stdin to the guest as console frames.
//!
//! [`forward`] reads the input in chunks of up to `MAX_PAYLOAD` bytes and
//! writes each as a `StdinData` frame to QEMU's stdin (the serial line);
//! at end of file it sends one empty `StdinEof` frame. A write error means
//! the VM is gone and ends it quietly. [`spawn`] runs it on a detached
//! thread: the caller never joins it, because a terminal on stdin may
//! never reach end of file.

use std::io::{self, Read, Write};
use std::thread;

use oxv_abi::console::{header, HostChannel, HEADER_LEN, MAX_PAYLOAD};

/// One host-to-guest frame, header and payload contiguous.
pub fn frame(chan: HostChannel, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(HEADER_LEN + payload.len());
    f.extend_from_slice(&header(chan as u8, payload.len()));
    f.extend_from_slice(payload);
    f
}

/// Copies `input` to `vm` as frames until end of file (then sends
/// `StdinEof`) or until `vm` stops accepting bytes.
pub fn forward(mut input: impl Read, mut vm: impl Write) {
    let mut buf = vec![0u8; MAX_PAYLOAD];
    loop {
        let n = match input.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // An unreadable stdin is treated as end of file.
            Err(_) => 0,
        };
        let f = if n == 0 {
            frame(HostChannel::StdinEof, &[])
        } else {
            frame(HostChannel::StdinData, &buf[..n])
        };
        if vm.write_all(&f).and_then(|_| vm.flush()).is_err() || n == 0 {
            return;
        }
    }
}

/// Runs [`forward`] on a detached thread once `ready` fires (the guest
/// announced its receiver); if `ready` is dropped first, the VM is gone and
/// nothing is sent.
pub fn spawn<R, W>(input: R, vm: W, ready: std::sync::mpsc::Receiver<()>)
where
    R: Read + Send + 'static,
    W: Write + Send + 'static,
{
    // If the thread cannot be created the guest simply never sees stdin data.
    let _ = thread::Builder::new()
        .name("oxv-stdin".into())
        .spawn(move || {
            if ready.recv().is_ok() {
                forward(input, vm);
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxv_abi::console::{parse_header, FRAME_MAGIC};

    /// Splits a host-to-guest stream back into (channel, payload) frames.
    fn frames(mut s: &[u8]) -> Vec<(HostChannel, Vec<u8>)> {
        let mut v = Vec::new();
        while !s.is_empty() {
            let h = parse_header(s[..HEADER_LEN].try_into().unwrap()).unwrap();
            let payload = s[HEADER_LEN..HEADER_LEN + h.len].to_vec();
            v.push((HostChannel::from_u8(h.chan).unwrap(), payload));
            s = &s[HEADER_LEN + h.len..];
        }
        v
    }

    #[test]
    fn data_then_one_eof() {
        let input: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        let mut out = Vec::new();
        forward(&input[..], &mut out);
        let f = frames(&out);
        assert!(f.iter().all(|(_, p)| p.len() <= MAX_PAYLOAD));
        let (last, data) = f.split_last().unwrap();
        assert_eq!(*last, (HostChannel::StdinEof, vec![]));
        assert!(data.iter().all(|(c, _)| *c == HostChannel::StdinData));
        let joined: Vec<u8> = data.iter().flat_map(|(_, p)| p.clone()).collect();
        assert_eq!(joined, input);
    }

    #[test]
    fn empty_input_is_just_eof() {
        let mut out = Vec::new();
        forward(&b""[..], &mut out);
        assert_eq!(out, vec![FRAME_MAGIC, HostChannel::StdinEof as u8, 0, 0]);
    }

    struct Gone;
    impl Write for Gone {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// An endless input: only the broken pipe can end the loop.
    struct Endless;
    impl Read for Endless {
        fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
            b.fill(b'y');
            Ok(b.len())
        }
    }

    #[test]
    fn broken_pipe_ends_quietly() {
        forward(Endless, Gone);
    }
}
