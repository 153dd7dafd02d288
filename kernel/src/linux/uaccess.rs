//! Reading and writing the program's memory from system calls.
//!
//! Thin wrappers over `oxv_hal::copy_{from,to}_user` that speak `Errno`
//! (a bad pointer is EFAULT, never a kernel fault) plus little-endian
//! encoders for the structures the ABI passes around.

use alloc::vec::Vec;

use oxv_hal::{copy_from_user, copy_to_user};

use super::errno::{Errno, IntoErrno};

/// Largest single buffer a syscall copies through the kernel at once.
pub(crate) const CHUNK: usize = 64 * 1024;

/// Copies `len` bytes from the program.
pub(crate) fn read_bytes(addr: u64, len: usize) -> Result<Vec<u8>, Errno> {
    let mut v = alloc::vec![0u8; len];
    copy_from_user(&mut v, addr).errno()?;
    Ok(v)
}

/// Copies `data` into the program.
pub(crate) fn write_bytes(addr: u64, data: &[u8]) -> Result<(), Errno> {
    copy_to_user(addr, data).errno()
}

/// Reads a u64.
pub(crate) fn read_u64(addr: u64) -> Result<u64, Errno> {
    let mut b = [0u8; 8];
    copy_from_user(&mut b, addr).errno()?;
    Ok(u64::from_le_bytes(b))
}

/// Reads a u32.
pub(crate) fn read_u32(addr: u64) -> Result<u32, Errno> {
    let mut b = [0u8; 4];
    copy_from_user(&mut b, addr).errno()?;
    Ok(u32::from_le_bytes(b))
}

/// Writes a u64.
pub(crate) fn write_u64(addr: u64, v: u64) -> Result<(), Errno> {
    write_bytes(addr, &v.to_le_bytes())
}

/// Writes a u32.
pub(crate) fn write_u32(addr: u64, v: u32) -> Result<(), Errno> {
    write_bytes(addr, &v.to_le_bytes())
}

/// Reads a NUL-terminated string of at most `max` bytes (without the NUL);
/// ENAMETOOLONG if no NUL comes within `max`.
pub(crate) fn read_cstr(addr: u64, max: usize) -> Result<Vec<u8>, Errno> {
    let mut out = Vec::new();
    let mut a = addr;
    while out.len() < max {
        // Never cross a page in one copy: the next page may be unmapped
        // even though the string ends before it.
        let to_page_end = (4096 - (a % 4096)) as usize;
        let n = to_page_end.min(max - out.len());
        let mut buf = alloc::vec![0u8; n];
        copy_from_user(&mut buf, a).errno()?;
        if let Some(p) = buf.iter().position(|&b| b == 0) {
            out.extend_from_slice(&buf[..p]);
            return Ok(out);
        }
        out.extend_from_slice(&buf);
        a += n as u64;
    }
    Err(Errno::ENAMETOOLONG)
}

/// Reads an iovec array: (base, len) pairs.
pub(crate) fn read_iovecs(addr: u64, count: usize) -> Result<Vec<(u64, usize)>, Errno> {
    const IOV_MAX: usize = 1024;
    if count > IOV_MAX {
        return Err(Errno::EINVAL);
    }
    let raw = read_bytes(addr, count * 16)?;
    let mut v = Vec::with_capacity(count);
    let mut total: usize = 0;
    for c in raw.as_chunks::<16>().0 {
        let base = u64::from_le_bytes(c[..8].try_into().unwrap_or([0; 8]));
        let len = u64::from_le_bytes(c[8..].try_into().unwrap_or([0; 8]));
        if len > isize::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        total = total
            .checked_add(len as usize)
            .filter(|&t| t <= isize::MAX as usize)
            .ok_or(Errno::EINVAL)?;
        v.push((base, len as usize));
    }
    Ok(v)
}

/// Little-endian structure builder.
#[derive(Default)]
pub(crate) struct Out(pub(crate) Vec<u8>);

impl Out {
    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub(crate) fn i64(&mut self, v: i64) -> &mut Self {
        self.u64(v as u64)
    }
    pub(crate) fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub(crate) fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub(crate) fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.0.extend_from_slice(b);
        self
    }
    pub(crate) fn zeros(&mut self, n: usize) -> &mut Self {
        self.0.resize(self.0.len() + n, 0);
        self
    }
    /// Copies the built structure to the program.
    pub(crate) fn write_to(&self, addr: u64) -> Result<(), Errno> {
        write_bytes(addr, &self.0)
    }
}
