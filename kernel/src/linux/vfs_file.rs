//! Files and directories from the VFS as open files.

use alloc::vec::Vec;
use core::any::Any;

use oxv_abi::errno::Errno;
use oxv_vfs::{FileType, InodeRef, Metadata};

use super::file::{File, IoCx};

/// An opened VFS node.
pub(crate) struct VfsFile {
    /// The node the path named (metadata, identity).
    pub(crate) inode: InodeRef,
    /// Where I/O goes (the node, or its per-open object).
    pub(crate) io: InodeRef,
    /// The path it was opened by (for /proc/self/fd).
    pub(crate) path: Vec<u8>,
}

impl File for VfsFile {
    fn read(&self, _io: &IoCx<'_>, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if self.inode.file_type() == FileType::Directory {
            return Err(Errno::EISDIR);
        }
        self.io.read_at(off, buf)
    }

    fn write(&self, _io: &IoCx<'_>, off: u64, buf: &[u8]) -> Result<usize, Errno> {
        let r = self.io.write_at(off, buf);
        super::file::notify();
        r
    }

    fn append(&self, _io: &IoCx<'_>, buf: &[u8]) -> Result<(u64, usize), Errno> {
        let r = self.io.append(buf);
        super::file::notify();
        r
    }

    fn seekable(&self) -> bool {
        !matches!(self.inode.file_type(), FileType::Fifo | FileType::Socket)
    }

    fn poll(&self) -> u16 {
        self.io.poll()
    }

    fn metadata(&self) -> Metadata {
        self.inode.metadata()
    }

    fn inode(&self) -> Option<InodeRef> {
        Some(self.inode.clone())
    }

    fn ioctl(&self, _io: &IoCx<'_>, cmd: u32, arg: u64) -> Result<usize, Errno> {
        self.io.ioctl(cmd, arg).map(|v| v as usize)
    }

    fn describe(&self) -> Vec<u8> {
        self.path.clone()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
