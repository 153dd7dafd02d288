//! Split virtqueues (VIRTIO 1.2 section 2.7), driver side.
//!
//! A [`SplitQueue`] owns the bookkeeping of one virtqueue whose three parts
//! ([`QueueLayout`]: descriptor table 2.7.5, available ring 2.7.6, used ring
//! 2.7.8) the caller placed in device-visible memory and announced to the
//! device through its transport. It
//!
//! - keeps the free descriptors on a list threaded through a private copy of
//!   the `next` links (so a misbehaving device that scribbles on the table
//!   cannot corrupt the driver's state),
//! - turns a list of [`Buffer`]s into a descriptor chain (2.7.13.1), puts its
//!   head in the available ring and publishes the new `idx` after a barrier
//!   (2.7.13.2, 2.7.13.3); the head index is the request's token,
//! - hands completions back from the used ring (2.7.14) in the order the
//!   device produced them, returning each chain to the free list; used
//!   entries naming a descriptor that is not the head of an outstanding
//!   chain are counted and skipped, never trusted,
//! - reports whether the device wants a notification (the used ring's
//!   `VIRTQ_USED_F_NO_NOTIFY`, 2.7.10) and can ask the device to suppress
//!   used-buffer notifications (`VIRTQ_AVAIL_F_NO_INTERRUPT`, 2.7.7).
//!
//! Notifying the device is the transport's job (4.1.5.2, 4.2.3.3); the
//! queue only says whether one is needed. Neither VIRTIO_F_EVENT_IDX nor
//! indirect descriptors are used.

use alloc::vec;
use alloc::vec::Vec;

use crate::mem::DmaMemory;

/// Descriptor flag: the chain continues at `next` (2.7.5).
pub const VIRTQ_DESC_F_NEXT: u16 = 1;
/// Descriptor flag: the buffer is device write-only (2.7.5).
pub const VIRTQ_DESC_F_WRITE: u16 = 2;
/// Available-ring flag: the driver does not want used-buffer notifications (2.7.7).
pub const VIRTQ_AVAIL_F_NO_INTERRUPT: u16 = 1;
/// Used-ring flag: the device does not want available-buffer notifications (2.7.10).
pub const VIRTQ_USED_F_NO_NOTIFY: u16 = 1;
/// Largest queue size the spec allows (2.7).
pub const MAX_QUEUE_SIZE: u16 = 32768;

/// Size of one descriptor table entry (`struct virtq_desc`).
pub const DESC_SIZE: u64 = 16;

/// Where the three parts of a queue live (physical addresses) and how many
/// entries it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLayout {
    /// Number of descriptors (a power of two, 1..=32768).
    pub size: u16,
    /// Descriptor table ("Descriptor Area"), 16-byte aligned.
    pub desc: u64,
    /// Available ring ("Driver Area"), 2-byte aligned.
    pub avail: u64,
    /// Used ring ("Device Area"), 4-byte aligned.
    pub used: u64,
}

impl QueueLayout {
    /// Bytes of the descriptor table for `size` entries.
    pub const fn desc_bytes(size: u16) -> u64 {
        DESC_SIZE * size as u64
    }

    /// Bytes of the available ring (flags, idx, ring, used_event).
    pub const fn avail_bytes(size: u16) -> u64 {
        6 + 2 * size as u64
    }

    /// Bytes of the used ring (flags, idx, ring, avail_event).
    pub const fn used_bytes(size: u16) -> u64 {
        6 + 8 * size as u64
    }

    /// A layout that puts the three parts one after another from `base`,
    /// each aligned as 2.7 requires. Returns the layout and its total size.
    pub fn contiguous(base: u64, size: u16) -> (Self, u64) {
        let desc = base.next_multiple_of(16);
        let avail = (desc + Self::desc_bytes(size)).next_multiple_of(2);
        let used = (avail + Self::avail_bytes(size)).next_multiple_of(4);
        let end = used + Self::used_bytes(size);
        (
            Self {
                size,
                desc,
                avail,
                used,
            },
            end - base,
        )
    }

    fn check(&self) -> Result<(), QueueError> {
        let ok = self.size != 0
            && self.size <= MAX_QUEUE_SIZE
            && self.size.is_power_of_two()
            && self.desc & 15 == 0
            && self.avail & 1 == 0
            && self.used & 3 == 0;
        if ok {
            Ok(())
        } else {
            Err(QueueError::BadLayout)
        }
    }
}

/// One buffer of a request: physical address, length and direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buffer {
    /// Physical address.
    pub addr: u64,
    /// Length in bytes.
    pub len: u32,
    /// The device writes it (otherwise the device only reads it).
    pub device_writable: bool,
}

impl Buffer {
    /// A buffer the device reads.
    pub const fn readable(addr: u64, len: u32) -> Self {
        Self {
            addr,
            len,
            device_writable: false,
        }
    }

    /// A buffer the device writes.
    pub const fn writable(addr: u64, len: u32) -> Self {
        Self {
            addr,
            len,
            device_writable: true,
        }
    }
}

/// Why a request could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueError {
    /// The layout breaks the size or alignment rules of 2.7.
    BadLayout,
    /// A request needs at least one buffer.
    NoBuffers,
    /// Not enough free descriptors now (retry after completions).
    Full,
    /// More buffers than the queue has descriptors: it can never fit.
    TooLong,
    /// A device-readable buffer follows a device-writable one (2.7.4.2:
    /// writable buffers come last).
    BadOrder,
    /// The buffers add up to more than 2^32 bytes (2.7.5.2).
    TooBig,
}

/// The token of a queued request: the index of its chain's head descriptor.
pub type Token = u16;

/// A completed request: its token and the number of bytes the device says
/// it wrote into the device-writable buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Used {
    /// Token returned by [`SplitQueue::add`].
    pub token: Token,
    /// Bytes written by the device.
    pub len: u32,
}

/// Driver side of one split virtqueue. See the module docs.
#[derive(Debug)]
pub struct SplitQueue<M: DmaMemory> {
    mem: M,
    layout: QueueLayout,
    /// Private `next` links: the free list, and the chains in flight.
    next: Vec<u16>,
    /// For each descriptor that heads a chain in flight, the chain length;
    /// 0 elsewhere.
    chain_len: Vec<u16>,
    free_head: u16,
    num_free: u16,
    /// Shadow of `avail.idx` (free-running).
    avail_idx: u16,
    /// The used-ring index up to which completions were consumed.
    last_used: u16,
    bad_used: u64,
}

impl<M: DmaMemory> SplitQueue<M> {
    /// Takes over a queue whose parts are at `layout`. The memory must be
    /// zeroed or at least hold zero `flags` and `idx` in both rings; this
    /// writes them again, so the caller may also pass dirty memory.
    pub fn new(mem: M, layout: QueueLayout) -> Result<Self, QueueError> {
        layout.check()?;
        let n = layout.size;
        // Free list 0 -> 1 -> ... -> n-1 (the last link is never followed).
        let next = (0..n).map(|i| i.wrapping_add(1) % n).collect();
        mem.write(layout.avail, &[0; 4]);
        mem.write(layout.used, &[0; 4]);
        Ok(Self {
            mem,
            layout,
            next,
            chain_len: vec![0; usize::from(n)],
            free_head: 0,
            num_free: n,
            avail_idx: 0,
            last_used: 0,
            bad_used: 0,
        })
    }

    /// The memory accessor.
    pub fn mem(&self) -> &M {
        &self.mem
    }

    /// Where the queue lives.
    pub fn layout(&self) -> QueueLayout {
        self.layout
    }

    /// Number of descriptors.
    pub fn size(&self) -> u16 {
        self.layout.size
    }

    /// Free descriptors.
    pub fn num_free(&self) -> u16 {
        self.num_free
    }

    /// Whether no request is outstanding.
    pub fn is_idle(&self) -> bool {
        self.num_free == self.layout.size
    }

    /// Used-ring entries that named no outstanding chain (device bugs).
    pub fn bad_used_count(&self) -> u64 {
        self.bad_used
    }

    fn desc_addr(&self, i: u16) -> u64 {
        self.layout.desc + DESC_SIZE * u64::from(i)
    }

    /// Queues a request made of `bufs` (device-readable ones first) and
    /// publishes it in the available ring. Returns its token. The device
    /// still has to be notified (see [`SplitQueue::should_notify`]); one
    /// notification after several `add`s covers them all.
    pub fn add(&mut self, bufs: &[Buffer]) -> Result<Token, QueueError> {
        if bufs.is_empty() {
            return Err(QueueError::NoBuffers);
        }
        if bufs.len() > usize::from(self.layout.size) {
            return Err(QueueError::TooLong);
        }
        if bufs
            .windows(2)
            .any(|w| w[0].device_writable && !w[1].device_writable)
        {
            return Err(QueueError::BadOrder);
        }
        if bufs.iter().map(|b| u64::from(b.len)).sum::<u64>() > 1 << 32 {
            return Err(QueueError::TooBig);
        }
        let n = bufs.len() as u16;
        if n > self.num_free {
            return Err(QueueError::Full);
        }
        // 2.7.13.1: place the buffers into free descriptors, chained.
        let head = self.free_head;
        let mut cur = head;
        for (i, b) in bufs.iter().enumerate() {
            let last = i + 1 == bufs.len();
            let next = self.next[usize::from(cur)];
            let mut flags = 0;
            if !last {
                flags |= VIRTQ_DESC_F_NEXT;
            }
            if b.device_writable {
                flags |= VIRTQ_DESC_F_WRITE;
            }
            let mut d = [0u8; 16];
            d[0..8].copy_from_slice(&b.addr.to_le_bytes());
            d[8..12].copy_from_slice(&b.len.to_le_bytes());
            d[12..14].copy_from_slice(&flags.to_le_bytes());
            d[14..16].copy_from_slice(&(if last { 0 } else { next }).to_le_bytes());
            self.mem.write(self.desc_addr(cur), &d);
            if !last {
                cur = next;
            } else {
                self.free_head = next;
            }
        }
        self.num_free -= n;
        self.chain_len[usize::from(head)] = n;
        // 2.7.13.2: the head goes into the next available-ring slot.
        let slot = self.avail_idx % self.layout.size;
        self.mem
            .write_u16(self.layout.avail + 4 + 2 * u64::from(slot), head);
        // 2.7.13.3: descriptors and ring entry before the idx update.
        self.mem.barrier();
        self.avail_idx = self.avail_idx.wrapping_add(1);
        self.mem.write_u16(self.layout.avail + 2, self.avail_idx);
        Ok(head)
    }

    /// Whether the device wants an available-buffer notification for what
    /// was added (2.7.10 without VIRTIO_F_EVENT_IDX). Includes the barrier
    /// 2.7.13.4 asks for between publishing `idx` and reading the flags.
    pub fn should_notify(&self) -> bool {
        self.mem.barrier();
        self.mem.read_u16(self.layout.used) & VIRTQ_USED_F_NO_NOTIFY == 0
    }

    /// Asks the device to send (or not send) used-buffer notifications
    /// (2.7.7). Only advice: the device may notify anyway.
    pub fn set_used_notifications(&mut self, enabled: bool) {
        let flags = if enabled {
            0
        } else {
            VIRTQ_AVAIL_F_NO_INTERRUPT
        };
        self.mem.write_u16(self.layout.avail, flags);
        self.mem.barrier();
    }

    /// Whether the used ring holds entries not yet taken by [`Self::poll_used`].
    pub fn has_used(&self) -> bool {
        self.mem.read_u16(self.layout.used + 2) != self.last_used
    }

    /// Takes the next completion from the used ring (2.7.14), returning the
    /// chain's descriptors to the free list. `None` when the device has
    /// produced nothing new.
    pub fn poll_used(&mut self) -> Option<Used> {
        loop {
            let used_idx = self.mem.read_u16(self.layout.used + 2);
            if used_idx == self.last_used {
                return None;
            }
            // Read the ring entry only after seeing the idx that covers it.
            self.mem.barrier();
            let slot = self.last_used % self.layout.size;
            let elem = self.layout.used + 4 + 8 * u64::from(slot);
            let id = self.mem.read_u32(elem);
            let len = self.mem.read_u32(elem + 4);
            self.last_used = self.last_used.wrapping_add(1);
            match self.release(id) {
                Some(token) => return Some(Used { token, len }),
                None => self.bad_used += 1,
            }
        }
    }

    /// Returns the chain headed by `id` to the free list, if `id` heads one.
    fn release(&mut self, id: u32) -> Option<Token> {
        let head = u16::try_from(id).ok().filter(|&h| h < self.layout.size)?;
        let n = self.chain_len[usize::from(head)];
        if n == 0 {
            return None;
        }
        let mut last = head;
        for _ in 1..n {
            last = self.next[usize::from(last)];
        }
        self.next[usize::from(last)] = self.free_head;
        self.free_head = head;
        self.num_free += n;
        self.chain_len[usize::from(head)] = 0;
        Some(head)
    }
}

#[cfg(test)]
mod tests;
