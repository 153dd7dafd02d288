//! The console streams the host wires to the program's fds 0, 1 and 2:
//! stdin reads host input frames, stdout/stderr send output frames. A
//! stream reports itself as a terminal only when the host's was one.

use alloc::vec::Vec;
use core::any::Any;

use oxv_abi::console::GuestChannel;
use oxv_abi::errno::Errno;
use oxv_hal::sync::SpinLock;
use oxv_vfs::Metadata;

use super::file::{File, IoCx, POLLIN, POLLOUT};
use super::uaccess::{self, read_bytes, write_bytes, Out};
use crate::drivers::console::{self, StdinRead};

/// Which console stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    Stdin,
    Stdout,
    Stderr,
}

/// A console stream as an open file.
pub(crate) struct ConsoleFile {
    pub(crate) stream: Stream,
    pub(crate) tty: bool,
    pub(crate) winsize: (u16, u16),
}

/// Terminal settings of the console (kernel `struct termios`, 36 bytes).
static TERMIOS: SpinLock<[u8; 36]> = SpinLock::new(default_termios());
static WINSIZE: SpinLock<Option<(u16, u16)>> = SpinLock::new(None);

const fn default_termios() -> [u8; 36] {
    let mut t = [0u8; 36];
    let f: [u32; 4] = [0o2400, 0o5, 0o277, 0o105073]; // iflag oflag cflag lflag
    let mut i = 0;
    while i < 4 {
        let b = f[i].to_le_bytes();
        t[i * 4] = b[0];
        t[i * 4 + 1] = b[1];
        t[i * 4 + 2] = b[2];
        t[i * 4 + 3] = b[3];
        i += 1;
    }
    // c_cc: INTR QUIT ERASE KILL EOF TIME MIN SWTC START STOP SUSP EOL REPRINT DISCARD WERASE LNEXT EOL2
    let cc = [
        3u8, 0x1c, 0x7f, 0x15, 4, 0, 1, 0, 0x11, 0x13, 0x1a, 0, 0x12, 0x0f, 0x17, 0x16, 0,
    ];
    let mut j = 0;
    while j < cc.len() {
        t[17 + j] = cc[j];
        j += 1;
    }
    t
}

impl ConsoleFile {
    fn channel(&self) -> GuestChannel {
        if self.stream == Stream::Stderr {
            GuestChannel::Stderr
        } else {
            GuestChannel::Stdout
        }
    }
}

impl File for ConsoleFile {
    fn read(&self, io: &IoCx<'_>, _off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if self.stream != Stream::Stdin {
            return Err(Errno::EBADF);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        io.wait(|| match console::stdin_try_read(buf) {
            StdinRead::Data(n) => Some(n),
            StdinRead::Eof => Some(0),
            StdinRead::Empty => None,
        })
    }

    fn write(&self, _io: &IoCx<'_>, _off: u64, buf: &[u8]) -> Result<usize, Errno> {
        if self.stream == Stream::Stdin {
            return Err(Errno::EBADF);
        }
        console::send(self.channel(), buf);
        Ok(buf.len())
    }

    fn poll(&self) -> u16 {
        match self.stream {
            Stream::Stdin if console::stdin_ready() => POLLIN,
            Stream::Stdin => 0,
            _ => POLLOUT,
        }
    }

    fn metadata(&self) -> Metadata {
        let now = crate::fs::now();
        let (mode, rdev, ino, dev) = if self.tty {
            (
                oxv_vfs::node::S_IFCHR | 0o620,
                oxv_vfs::node::makedev(136, 0),
                3,
                0x16,
            )
        } else {
            (
                oxv_vfs::node::S_IFIFO | 0o600,
                0,
                100 + self.stream as u64,
                0xd,
            )
        };
        Metadata {
            ino,
            dev,
            mode,
            nlink: 1,
            uid: 0,
            gid: 0,
            size: 0,
            blocks: 0,
            blksize: if self.tty { 1024 } else { 4096 },
            atime: now,
            mtime: now,
            ctime: now,
            rdev,
        }
    }

    fn ioctl(&self, _io: &IoCx<'_>, cmd: u32, arg: u64) -> Result<usize, Errno> {
        const TCGETS: u32 = 0x5401;
        const TCSETS: u32 = 0x5402;
        const TCSETSW: u32 = 0x5403;
        const TCSETSF: u32 = 0x5404;
        const TIOCGPGRP: u32 = 0x540f;
        const TIOCGWINSZ: u32 = 0x5413;
        const TIOCSWINSZ: u32 = 0x5414;
        const FIONREAD: u32 = 0x541b;
        if !self.tty {
            return Err(Errno::ENOTTY);
        }
        match cmd {
            TCGETS => write_bytes(arg, &*TERMIOS.lock()).map(|_| 0),
            TCSETS | TCSETSW | TCSETSF => {
                let t = read_bytes(arg, 36)?;
                TERMIOS.lock().copy_from_slice(&t);
                crate::log_once!("tty: terminal settings are kept in the guest; the host terminal stays as it is");
                Ok(0)
            }
            TIOCGWINSZ => {
                let (rows, cols) = WINSIZE.lock().unwrap_or(self.winsize);
                let mut o = Out::default();
                o.u16(rows).u16(cols).u16(0).u16(0);
                o.write_to(arg).map(|_| 0)
            }
            TIOCSWINSZ => {
                let w = read_bytes(arg, 8)?;
                *WINSIZE.lock() = Some((
                    u16::from_le_bytes([w[0], w[1]]),
                    u16::from_le_bytes([w[2], w[3]]),
                ));
                Ok(0)
            }
            TIOCGPGRP => uaccess::write_u32(arg, super::process::PID).map(|_| 0),
            FIONREAD => {
                let n = u32::from(self.stream == Stream::Stdin && console::stdin_ready());
                uaccess::write_u32(arg, n).map(|_| 0)
            }
            _ => {
                crate::klog!("ioctl {cmd:#x} on the console is not supported: ENOTTY");
                Err(Errno::ENOTTY)
            }
        }
    }

    fn describe(&self) -> Vec<u8> {
        if self.tty {
            b"/dev/pts/0".to_vec()
        } else {
            alloc::format!("pipe:[{}]", 100 + self.stream as u64).into_bytes()
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// fds 0, 1 and 2 on the console, as the host wired them.
pub(crate) fn stdio_fds(tty: &super::process::TtyInfo) -> super::fd::FdTable {
    let mut t = super::fd::FdTable::default();
    for (i, (stream, flags)) in [
        (Stream::Stdin, oxv_vfs::node::O_RDONLY),
        (Stream::Stdout, oxv_vfs::node::O_WRONLY),
        (Stream::Stderr, oxv_vfs::node::O_WRONLY),
    ]
    .into_iter()
    .enumerate()
    {
        let f = alloc::sync::Arc::new(ConsoleFile {
            stream,
            tty: tty.is_tty[i],
            winsize: (tty.rows, tty.cols),
        });
        let entry = super::fd::FdEntry {
            file: super::file::OpenFile::new(f, flags),
            cloexec: false,
        };
        let _ = t.insert_at(i, entry, super::fd::MAX_FDS);
    }
    t
}
