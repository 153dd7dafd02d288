//! virtio-blk (5.2) on any transport: capacity and block size from the
//! configuration space (5.2.4), initialization (5.2.5), and read, write and
//! flush requests (5.2.6) on request queue 0.
//!
//! Each request is a three-descriptor chain: the 16-byte header and the
//! status byte live in one shared frame (32 bytes per slot), the data in a
//! per-slot contiguous [`DmaBuffer`] of up to [`MAX_REQUEST`] bytes. Large
//! transfers are split by `oxv_virtio::blk::plan` and pipelined: up to
//! [`MAX_SLOTS`] requests are in flight at once, refilled as completions
//! arrive. Completion is interrupt driven; every wait ends after
//! [`TIMEOUT_NS`] without progress with EIO, after which the device is
//! reset and marked broken (its buffers are leaked, not freed, in case it
//! still writes them).
//!
//! Threads: one transfer runs at a time per device, later ones sleep on a
//! wait queue; the spin lock over the device state is taken only to queue
//! and harvest requests, never across a wait or a data copy.
//!
//! Callers: the file-system layer through [`BlockDevice`]; `probe` in the
//! parent module creates the devices.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use core::sync::atomic::{AtomicBool, Ordering};

use oxv_abi::errno::Errno;
use oxv_hal::sync::SpinLock;
use oxv_virtio::blk::{
    config, feature, plan, req_status, req_type, Piece, RequestHeader, SECTOR_SIZE,
};
use oxv_virtio::device_id;
use oxv_virtio::queue::Buffer;

use super::queue::Virtqueue;
use super::transport::{self, Transport};
use super::DmaBuffer;
use crate::sched::{clock, WaitQueue};

/// What a file system needs from a disk.
pub(crate) trait BlockDevice: Send + Sync {
    /// Reads up to `buf.len()` bytes at byte `offset`; returns how many
    /// were read (fewer only at the end of the device, 0 past it).
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno>;
    /// Size in bytes.
    fn len(&self) -> u64;
}

/// Descriptors in the request queue.
const QUEUE_SIZE: u16 = 256;
/// Largest data transfer of one request.
pub(crate) const MAX_REQUEST: u32 = 256 * 1024;
/// Most requests in flight.
pub(crate) const MAX_SLOTS: usize = 8;
/// Longest wait for any progress.
pub(crate) const TIMEOUT_NS: u64 = 10_000_000_000;
/// Header (16 bytes) + status (1 byte) per slot in the header frame.
const SLOT_STRIDE: usize = 32;
/// Where the status byte sits in a slot.
const STATUS_OFF: usize = RequestHeader::LEN;

/// One request of a transfer.
#[derive(Debug, Clone, Copy)]
struct Task {
    kind: u32,
    sector: u64,
    bytes: u32,
}

impl Task {
    /// The device read that fills one planned piece.
    fn read(p: &Piece) -> Self {
        Self {
            kind: req_type::IN,
            sector: p.sector,
            bytes: p.bytes,
        }
    }
}

/// A virtio block device.
#[derive(Debug)]
pub(crate) struct BlkDevice {
    name: String,
    /// Capacity in 512-byte sectors.
    capacity: u64,
    block_size: u32,
    read_only: bool,
    can_flush: bool,
    max_request: u32,
    inner: SpinLock<Inner>,
    /// A transfer is running (see `run`).
    busy: AtomicBool,
    /// Transfers waiting for `busy` to clear.
    waiters: WaitQueue,
}

struct Inner {
    transport: Box<dyn Transport>,
    queue: Virtqueue,
    /// Request headers and status bytes, [`SLOT_STRIDE`] bytes per slot.
    headers: DmaBuffer,
    /// Data buffers, allocated on first use (shared with the running
    /// transfer, which copies without holding the lock).
    slots: Vec<Arc<DmaBuffer>>,
    /// Token (head descriptor) -> (task, slot) of the requests in flight.
    pending: Vec<Option<(usize, usize)>>,
    max_slots: usize,
    broken: bool,
}

impl core::fmt::Debug for Inner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Inner")
            .field("slots", &self.slots.len())
            .field("broken", &self.broken)
            .finish()
    }
}

/// What initialization learned about the device.
struct Setup {
    capacity: u64,
    block_size: u32,
    read_only: bool,
    can_flush: bool,
    max_request: u32,
    queue: Virtqueue,
    headers: DmaBuffer,
}

/// Steps 1-7 of 3.1.1 for a block device (5.2.5): features, request queue
/// 0, configuration.
fn setup(t: &mut dyn Transport) -> Result<Setup, Errno> {
    let supported =
        feature::RO | feature::BLK_SIZE | feature::FLUSH | feature::SIZE_MAX | feature::SEG_MAX;
    let features = transport::begin_init(t, supported, 0)?;
    let queue = Virtqueue::new(t, 0, QUEUE_SIZE)?;
    let capacity = t.config_u64(config::CAPACITY);
    let mut block_size = 512;
    if features & feature::BLK_SIZE != 0 {
        let bs = t.config_u32(config::BLK_SIZE);
        if bs.is_power_of_two() && (512..=1 << 20).contains(&bs) {
            block_size = bs;
        }
    }
    let mut max_request = MAX_REQUEST;
    if features & feature::SIZE_MAX != 0 {
        max_request = max_request.min(t.config_u32(config::SIZE_MAX));
    }
    let sector = SECTOR_SIZE as u32;
    let max_request = (max_request / sector).max(1) * sector;
    let headers = DmaBuffer::new(4096).ok_or(Errno::ENOMEM)?;
    Ok(Setup {
        capacity,
        block_size,
        read_only: features & feature::RO != 0,
        can_flush: features & feature::FLUSH != 0,
        max_request,
        queue,
        headers,
    })
}

impl BlkDevice {
    /// Initializes the block device behind `t` (5.2.5); `None` if it is not
    /// a block device or does not come up (logged).
    pub(crate) fn attach(t: impl Transport + 'static) -> Option<Self> {
        let mut t: Box<dyn Transport> = Box::new(t);
        if t.device_type() != device_id::BLOCK {
            crate::klog!(
                "virtio: {}: device type {} has no driver",
                t.name(),
                t.device_type()
            );
            return None;
        }
        let s = match setup(&mut *t) {
            Ok(s) => s,
            Err(e) => {
                crate::klog!(
                    "virtio-blk {}: initialization failed: {}",
                    t.name(),
                    e.name()
                );
                transport::fail(&mut *t);
                return None;
            }
        };
        transport::finish_init(&mut *t);
        let qsize = usize::from(s.queue.size());
        let max_slots = MAX_SLOTS.min(qsize / 3).min(s.headers.len() / SLOT_STRIDE);
        let dev = Self {
            name: t.name(),
            capacity: s.capacity,
            block_size: s.block_size,
            read_only: s.read_only,
            can_flush: s.can_flush,
            max_request: s.max_request,
            inner: SpinLock::new(Inner {
                transport: t,
                queue: s.queue,
                headers: s.headers,
                slots: Vec::new(),
                pending: vec![None; qsize],
                max_slots,
                broken: false,
            }),
            busy: AtomicBool::new(false),
            waiters: WaitQueue::new(),
        };
        crate::klog!(
            "virtio-blk {}: {} sectors ({} KiB), block size {}{}{}, requests up to {} KiB x {}",
            dev.name,
            dev.capacity,
            dev.capacity / 2,
            dev.block_size,
            if dev.read_only { ", read-only" } else { "" },
            if dev.can_flush { ", flush" } else { "" },
            dev.max_request / 1024,
            max_slots,
        );
        Some(dev)
    }

    /// Writes whole sectors starting at `sector` (a multiple of 512 bytes).
    /// EROFS on a read-only device, ENOSPC past the end.
    #[allow(dead_code)] // the write path for a persistent file system; no caller yet
    pub(crate) fn write(&self, sector: u64, data: &[u8]) -> Result<(), Errno> {
        if self.read_only {
            return Err(Errno::EROFS);
        }
        self.check_range(sector, data.len()).map_err(|e| {
            if e == Errno::EIO {
                Errno::ENOSPC
            } else {
                e
            }
        })?;
        let chunk = self.max_request as usize;
        let tasks: Vec<Task> = data
            .chunks(chunk)
            .enumerate()
            .map(|(k, c)| Task {
                kind: req_type::OUT,
                sector: sector + (k * chunk) as u64 / SECTOR_SIZE,
                bytes: c.len() as u32,
            })
            .collect();
        self.run(
            &tasks,
            |k, buf| buf.write(0, &data[k * chunk..(k * chunk + chunk).min(data.len())]),
            |_, _| {},
        )
    }

    /// Flushes the device's write cache (a no-op without VIRTIO_BLK_F_FLUSH:
    /// then the device writes through).
    #[allow(dead_code)] // the write path for a persistent file system; no caller yet
    pub(crate) fn flush(&self) -> Result<(), Errno> {
        if !self.can_flush {
            return Ok(());
        }
        self.run(
            &[Task {
                kind: req_type::FLUSH,
                sector: 0,
                bytes: 0,
            }],
            |_, _| {},
            |_, _| {},
        )
    }

    /// `len` bytes from `sector`: whole sectors, inside the device.
    #[allow(dead_code)] // used by `write` only
    fn check_range(&self, sector: u64, len: usize) -> Result<(), Errno> {
        if !(len as u64).is_multiple_of(SECTOR_SIZE) {
            return Err(Errno::EINVAL);
        }
        let end = sector
            .checked_add(len as u64 / SECTOR_SIZE)
            .ok_or(Errno::EINVAL)?;
        if end > self.capacity {
            return Err(Errno::EIO);
        }
        Ok(())
    }

    /// Runs `tasks` with up to `max_slots` in flight. `before(k, buf)` fills
    /// the data buffer of task `k` before it is queued (writes);
    /// `after(k, buf)` takes the data of a successful task (reads).
    ///
    /// One transfer runs at a time (others sleep on `waiters`); the state
    /// lock is held only to queue and harvest requests, never while waiting
    /// or copying, so other threads and interrupts keep running.
    fn run(
        &self,
        tasks: &[Task],
        mut before: impl FnMut(usize, &DmaBuffer),
        mut after: impl FnMut(usize, &DmaBuffer),
    ) -> Result<(), Errno> {
        let _transfer = self.begin_transfer();
        // This transfer's view of the data buffers (slot -> buffer).
        let mut bufs: Vec<Arc<DmaBuffer>> = {
            let inner = self.inner.lock();
            if inner.broken {
                return Err(Errno::EIO);
            }
            inner.slots.clone()
        };
        let mut free: Vec<usize> = (0..bufs.len()).rev().collect();
        let mut next = 0;
        let mut in_flight = 0;
        let mut error = None;
        loop {
            let mut added = false;
            while error.is_none() && next < tasks.len() {
                let slot = match free.pop() {
                    Some(s) => s,
                    None => match self.inner.lock().grow(self.max_request) {
                        Some(b) => {
                            bufs.push(b);
                            bufs.len() - 1
                        }
                        None => break,
                    },
                };
                before(next, &bufs[slot]);
                let mut inner = self.inner.lock();
                match inner.submit(slot, tasks[next]) {
                    Ok(token) => {
                        inner.pending[usize::from(token)] = Some((next, slot));
                        next += 1;
                        in_flight += 1;
                        added = true;
                    }
                    Err(e) => {
                        free.push(slot);
                        error = Some(e);
                    }
                }
            }
            if added {
                let inner = self.inner.lock();
                inner.queue.kick(&*inner.transport);
            }
            if in_flight == 0 {
                if error.is_none() && next < tasks.len() {
                    // Not even one data buffer could be allocated.
                    error = Some(Errno::ENOMEM);
                }
                break;
            }
            let deadline = clock::monotonic_ns() + TIMEOUT_NS;
            let progressed = clock::wait_until(deadline, || {
                let inner = self.inner.lock();
                inner.transport.ack_interrupt();
                inner.queue.has_used()
            });
            // (task, slot, status) of the requests that completed.
            let mut done: Vec<(usize, usize, u8)> = Vec::new();
            {
                let mut inner = self.inner.lock();
                if !progressed {
                    crate::klog!(
                        "virtio-blk {}: no completion in {} s; device disabled",
                        self.name,
                        TIMEOUT_NS / 1_000_000_000
                    );
                    inner.give_up();
                    return Err(Errno::EIO);
                }
                while let Some(used) = inner.queue.poll_used() {
                    let Some((k, slot)) = inner
                        .pending
                        .get_mut(usize::from(used.token))
                        .and_then(Option::take)
                    else {
                        continue;
                    };
                    let mut status = [0xff];
                    inner
                        .headers
                        .read(slot * SLOT_STRIDE + STATUS_OFF, &mut status);
                    done.push((k, slot, status[0]));
                }
            }
            for (k, slot, status) in done {
                in_flight -= 1;
                if status == req_status::OK {
                    after(k, &bufs[slot]);
                } else if error.is_none() {
                    let t = tasks[k];
                    crate::klog!(
                        "virtio-blk {}: request type {} at sector {} failed with status {}",
                        self.name,
                        t.kind,
                        t.sector,
                        status
                    );
                    error = Some(if status == req_status::UNSUPP {
                        Errno::EOPNOTSUPP
                    } else {
                        Errno::EIO
                    });
                }
                free.push(slot);
            }
        }
        error.map_or(Ok(()), Err)
    }

    /// Waits for the device to be free and takes it for one transfer. The
    /// wait is bounded by the holder's own deadlines.
    fn begin_transfer(&self) -> TransferGuard<'_> {
        let _ = self.waiters.wait(None, || {
            self.busy
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .ok()
                .map(|_| ())
        });
        TransferGuard(self)
    }
}

/// Ownership of a device for one transfer; released on drop.
struct TransferGuard<'a>(&'a BlkDevice);

impl Drop for TransferGuard<'_> {
    fn drop(&mut self) {
        self.0.busy.store(false, Ordering::Release);
        self.0.waiters.wake_n(1);
    }
}

impl Inner {
    /// Adds a data buffer, if the limit and memory allow; its slot is the
    /// new last index.
    fn grow(&mut self, bytes: u32) -> Option<Arc<DmaBuffer>> {
        if self.slots.len() >= self.max_slots {
            return None;
        }
        let b = Arc::new(DmaBuffer::new(bytes as usize)?);
        self.slots.push(b.clone());
        Some(b)
    }

    /// Queues `task` using `slot`'s header, status byte and data buffer.
    fn submit(&mut self, slot: usize, task: Task) -> Result<u16, Errno> {
        let h = RequestHeader {
            kind: task.kind,
            sector: task.sector,
        };
        let off = slot * SLOT_STRIDE;
        self.headers.write(off, &h.encode());
        self.headers.write(off + STATUS_OFF, &[0xff]);
        let hdr = Buffer::readable(self.headers.pa() + off as u64, RequestHeader::LEN as u32);
        let status = Buffer::writable(self.headers.pa() + (off + STATUS_OFF) as u64, 1);
        let data_pa = self.slots[slot].pa();
        let r = match task.kind {
            req_type::IN => self
                .queue
                .add(&[hdr, Buffer::writable(data_pa, task.bytes), status]),
            req_type::OUT => self
                .queue
                .add(&[hdr, Buffer::readable(data_pa, task.bytes), status]),
            _ => self.queue.add(&[hdr, status]),
        };
        r.map_err(|e| {
            crate::klog!("virtio-blk: cannot queue a request: {e:?}");
            Errno::EIO
        })
    }

    /// After a timeout: reset the device, keep its memory forever.
    fn give_up(&mut self) {
        let _ = transport::reset(&mut *self.transport);
        self.broken = true;
        self.queue.leak();
        self.headers.leak();
        for s in self.slots.drain(..) {
            // Never dropped, so never freed.
            core::mem::forget(s);
        }
    }
}

impl BlockDevice for BlkDevice {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let p = plan(offset, buf.len(), self.len(), self.max_request);
        let total = p.total();
        let pieces: Vec<Piece> = p.collect();
        let tasks: Vec<Task> = pieces.iter().map(Task::read).collect();
        self.run(
            &tasks,
            |_, _| {},
            |k, data| {
                let p = pieces[k];
                data.read(p.skip as usize, &mut buf[p.dst..p.dst + p.copy as usize]);
            },
        )?;
        Ok(total)
    }

    fn len(&self) -> u64 {
        self.capacity.saturating_mul(SECTOR_SIZE)
    }
}
