//! The descriptor table: descriptor numbers -> open file descriptions,
//! with the close-on-exec flag per descriptor.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::errno::Errno;
use super::file::OpenFile;

/// Most descriptors (RLIMIT_NOFILE hard cap).
pub(crate) const MAX_FDS: usize = 4096;

/// One descriptor slot.
#[derive(Clone)]
pub(crate) struct FdEntry {
    pub(crate) file: Arc<OpenFile>,
    pub(crate) cloexec: bool,
}

/// The descriptor table.
#[derive(Default)]
pub(crate) struct FdTable {
    slots: Vec<Option<FdEntry>>,
}

impl FdTable {
    pub(crate) fn get(&self, fd: i32) -> Result<Arc<OpenFile>, Errno> {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.slots.get(i))
            .and_then(|s| s.as_ref())
            .map(|e| e.file.clone())
            .ok_or(Errno::EBADF)
    }

    pub(crate) fn entry_mut(&mut self, fd: i32) -> Result<&mut FdEntry, Errno> {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.slots.get_mut(i))
            .and_then(|s| s.as_mut())
            .ok_or(Errno::EBADF)
    }

    /// Removes descriptor `fd`, returning its description (the caller drops
    /// it outside the table's lock).
    pub(crate) fn close(&mut self, fd: i32) -> Result<Arc<OpenFile>, Errno> {
        let slot = usize::try_from(fd)
            .ok()
            .and_then(|i| self.slots.get_mut(i))
            .ok_or(Errno::EBADF)?;
        slot.take().map(|e| e.file).ok_or(Errno::EBADF)
    }

    /// Installs `entry` at the lowest free descriptor >= `min`.
    pub(crate) fn insert_from(
        &mut self,
        min: usize,
        entry: FdEntry,
        limit: usize,
    ) -> Result<i32, Errno> {
        let limit = limit.min(MAX_FDS);
        let mut i = min;
        while i < self.slots.len() && self.slots[i].is_some() {
            i += 1;
        }
        if i >= limit {
            return Err(Errno::EMFILE);
        }
        if i >= self.slots.len() {
            self.slots.resize(i + 1, None);
        }
        self.slots[i] = Some(entry);
        Ok(i as i32)
    }

    /// Installs `entry` at exactly `fd`; returns what was there.
    pub(crate) fn insert_at(
        &mut self,
        fd: usize,
        entry: FdEntry,
        limit: usize,
    ) -> Result<Option<FdEntry>, Errno> {
        if fd >= limit.min(MAX_FDS) {
            return Err(Errno::EBADF);
        }
        if fd >= self.slots.len() {
            self.slots.resize(fd + 1, None);
        }
        Ok(self.slots[fd].replace(entry))
    }

    /// Open descriptors, in order (for /proc/self/fd).
    pub(crate) fn list(&self) -> Vec<(i32, Arc<OpenFile>)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|e| (i as i32, e.file.clone())))
            .collect()
    }
}
