//! A split virtqueue (2.7) in memory from the frame allocator, set up on a
//! transport. The ring arithmetic is `oxv_virtio::queue::SplitQueue`; this
//! type owns the frames behind it and adds the transport-side steps:
//! choosing the size (4.1.5.1.3, 4.2.3.2), announcing the part addresses,
//! and notifying the device when the ring asks for it (2.7.13.4).

use oxv_abi::errno::Errno;
use oxv_virtio::queue::{Buffer, QueueError, QueueLayout, SplitQueue, Token, Used};

use super::transport::Transport;
use super::{DmaBuffer, PhysMem};

/// One virtqueue of one device.
#[derive(Debug)]
pub(crate) struct Virtqueue {
    index: u16,
    ring: SplitQueue<PhysMem>,
    /// Descriptor table, available and used ring, back to back.
    memory: DmaBuffer,
}

impl Virtqueue {
    /// Sets up queue `index` with at most `max_size` descriptors (the
    /// device's maximum if smaller, rounded down to a power of two).
    pub(crate) fn new(t: &mut dyn Transport, index: u16, max_size: u16) -> Result<Self, Errno> {
        let dev_max = t.max_queue_size(index);
        let want = dev_max.min(max_size);
        if want == 0 {
            return Err(Errno::ENODEV);
        }
        let size = 1u16 << (15 - want.leading_zeros().min(15));
        let (_, bytes) = QueueLayout::contiguous(0, size);
        let memory = DmaBuffer::new(bytes as usize).ok_or(Errno::ENOMEM)?;
        let (layout, _) = QueueLayout::contiguous(memory.pa(), size);
        let ring = SplitQueue::new(PhysMem, layout).map_err(|_| Errno::EINVAL)?;
        t.enable_queue(index, &layout)?;
        Ok(Self {
            index,
            ring,
            memory,
        })
    }

    /// Number of descriptors.
    pub(crate) fn size(&self) -> u16 {
        self.ring.size()
    }

    /// Queues a request (see `SplitQueue::add`); call [`Self::kick`] after
    /// a batch.
    pub(crate) fn add(&mut self, bufs: &[Buffer]) -> Result<Token, QueueError> {
        self.ring.add(bufs)
    }

    /// Notifies the device of new buffers unless it asked not to be.
    pub(crate) fn kick(&self, t: &dyn Transport) {
        if self.ring.should_notify() {
            t.notify(self.index);
        }
    }

    /// Whether completions are waiting.
    pub(crate) fn has_used(&self) -> bool {
        self.ring.has_used()
    }

    /// The next completion.
    pub(crate) fn poll_used(&mut self) -> Option<Used> {
        self.ring.poll_used()
    }

    /// Gives up the queue memory without freeing it: for a device that may
    /// still write to it (after a timeout).
    pub(crate) fn leak(&mut self) {
        self.memory.leak();
    }
}
