//! /dev: null, zero, full, random, urandom, tty, console, and the stdin,
//! stdout, stderr and fd links into /proc/self/fd.

use alloc::sync::Arc;
use alloc::vec::Vec;

use oxv_abi::console::GuestChannel;
use oxv_abi::errno::Errno;
use oxv_vfs::node::{makedev, TMPFS_MAGIC};
use oxv_vfs::synthetic::{CharDevice, FullDevice, NullDevice, SynthFs, ZeroDevice};
use oxv_vfs::InodeRef;

use crate::drivers::console::{self, StdinRead};

/// /dev/random and /dev/urandom: the kernel CSPRNG (never blocks).
struct RandomDevice;

impl CharDevice for RandomDevice {
    fn read(&self, _off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        crate::random::fill(buf);
        Ok(buf.len())
    }

    fn write(&self, _off: u64, buf: &[u8]) -> Result<usize, Errno> {
        // Linux mixes written data into the pool; adding it as entropy
        // needs privilege, mixing it in is harmless.
        Ok(buf.len())
    }
}

/// /dev/tty and /dev/console: the console (stdin for reading, stdout for
/// writing). Reads return what has arrived (possibly nothing yet).
struct ConsoleDevice;

impl CharDevice for ConsoleDevice {
    fn read(&self, _off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        match console::stdin_try_read(buf) {
            StdinRead::Data(n) => Ok(n),
            StdinRead::Eof => Ok(0),
            StdinRead::Empty => Err(Errno::EAGAIN),
        }
    }

    fn write(&self, _off: u64, buf: &[u8]) -> Result<usize, Errno> {
        console::send(GuestChannel::Stdout, buf);
        Ok(buf.len())
    }
}

/// Builds the /dev tree.
pub(crate) fn build() -> InodeRef {
    let fs = SynthFs::new(TMPFS_MAGIC, super::clock());
    let dev = |d: Arc<dyn CharDevice>, major, minor, perm| -> InodeRef {
        fs.device(d, makedev(major, minor), perm)
    };
    let link = |t: &'static [u8]| -> InodeRef { fs.symlink(move || t.to_vec()) };
    let entries: Vec<(Vec<u8>, InodeRef)> = alloc::vec![
        (b"null".to_vec(), dev(Arc::new(NullDevice), 1, 3, 0o666)),
        (b"zero".to_vec(), dev(Arc::new(ZeroDevice), 1, 5, 0o666)),
        (b"full".to_vec(), dev(Arc::new(FullDevice), 1, 7, 0o666)),
        (b"random".to_vec(), dev(Arc::new(RandomDevice), 1, 8, 0o666)),
        (
            b"urandom".to_vec(),
            dev(Arc::new(RandomDevice), 1, 9, 0o666)
        ),
        (b"tty".to_vec(), dev(Arc::new(ConsoleDevice), 5, 0, 0o666)),
        (
            b"console".to_vec(),
            dev(Arc::new(ConsoleDevice), 5, 1, 0o600)
        ),
        (b"stdin".to_vec(), link(b"/proc/self/fd/0")),
        (b"stdout".to_vec(), link(b"/proc/self/fd/1")),
        (b"stderr".to_vec(), link(b"/proc/self/fd/2")),
        (b"fd".to_vec(), link(b"/proc/self/fd")),
        (b"shm".to_vec(), fs.dir(0o1777) as InodeRef),
        (b"pts".to_vec(), fs.dir(0o755) as InodeRef),
    ];
    fs.dir_with(0o755, entries)
}
