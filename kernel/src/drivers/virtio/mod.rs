//! Virtio devices (VIRTIO 1.2), in three layers that later drivers reuse:
//!
//! 1. Transports ([`transport::Transport`]): virtio-mmio version 2 devices
//!    named on the command line ([`mmio`], spec 4.2) and modern virtio-pci
//!    functions found by enumerating PCI configuration space ([`pci`],
//!    spec 4.1). Both do feature negotiation, the status handshake of 3.1.1,
//!    queue setup, notifications, interrupt acknowledgement and device
//!    configuration reads (2.5).
//! 2. Virtqueues ([`queue::Virtqueue`]): a split virtqueue (2.7) in frames
//!    from the frame allocator; the ring arithmetic is `oxv_virtio::queue`,
//!    host-tested.
//! 3. Devices: virtio-blk ([`blk::BlkDevice`], 5.2), which implements
//!    [`blk::BlockDevice`] for the file-system layer.
//!
//! Device memory: [`PhysMem`] is the direct map seen as
//! `oxv_virtio::mem::DmaMemory`; [`DmaBuffer`] owns physically contiguous
//! frames a device reads or writes. Interrupts: every device gets its own
//! vector from [`alloc_vector`] (I/O APIC route for virtio-mmio, MSI-X for
//! PCI); the kernel's interrupt hook sends the EOI and wakes
//! `sched::clock::wait_until`, whose caller acknowledges the device and
//! looks at the used ring. Every wait has a deadline; a device that does
//! not answer in time is an EIO, never a hang.
//!
//! Called once at boot through [`probe`], after the clocks are running and
//! before the program's address space is created (devices mapped later
//! above 512 GiB would not be visible in an already-built page table).

pub(crate) mod blk;
pub(crate) mod mmio;
pub(crate) mod pci;
pub(crate) mod queue;
pub(crate) mod transport;

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU8, Ordering};

use oxv_hal::heap::PageSource;
use oxv_hal::{PAGE_SIZE, PHYS_OFFSET};
use oxv_virtio::mem::DmaMemory;

use crate::mm::frames::HeapPages;

#[allow(unused_imports)] // for the file-system layer
pub(crate) use blk::{BlkDevice, BlockDevice};

/// Finds the virtio block devices: virtio-mmio devices named on `cmdline`
/// (microvm) and virtio-pci functions (q35, pc). Devices that fail to
/// initialize are logged and left out.
pub(crate) fn probe(cmdline: &[u8]) -> Vec<Arc<BlkDevice>> {
    let mut found = Vec::new();
    for t in mmio::probe(cmdline) {
        if let Some(d) = blk::BlkDevice::attach(t) {
            found.push(Arc::new(d));
        }
    }
    for t in pci::probe() {
        if let Some(d) = blk::BlkDevice::attach(t) {
            found.push(Arc::new(d));
        }
    }
    found
}

/// The boot command line (where virtio-mmio devices are named). The PVH
/// loader may put it outside RAM (QEMU: below 1 MiB, in the BIOS hole),
/// which the kernel's direct map leaves out, so its pages are mapped here
/// first.
pub(crate) fn boot_cmdline(info: &oxv_hal::boot_info::BootInfo) -> &'static [u8] {
    let (pa, len) = info.cmdline;
    if len == 0 || !map_device(pa, len as u64) {
        return &[];
    }
    info.cmdline_bytes()
}

/// First interrupt vector handed to virtio devices (below: exceptions,
/// the APIC timer 0x20, the serial port 0x24).
const VECTOR_BASE: u8 = 0x30;
/// One past the last one.
const VECTOR_END: u8 = 0x50;
static NEXT_VECTOR: AtomicU8 = AtomicU8::new(VECTOR_BASE);

/// A fresh interrupt vector for one device, or `None` when all are taken
/// (the device then works by polling on the clock's wake-ups).
pub(crate) fn alloc_vector() -> Option<u8> {
    let v = NEXT_VECTOR.fetch_add(1, Ordering::Relaxed);
    (v < VECTOR_END).then_some(v)
}

/// Maps the device registers at `pa..pa + len` uncached, page by page;
/// pages mapped before (two devices on one page) are fine.
pub(crate) fn map_device(pa: u64, len: u64) -> bool {
    let start = pa & !(PAGE_SIZE - 1);
    let Some(end) = pa.checked_add(len.max(1)) else {
        return false;
    };
    let mut page = start;
    while page < end {
        match crate::mm::kernel_space::map_mmio(page, PAGE_SIZE) {
            Ok(()) | Err(oxv_hal::MapError::AlreadyMapped) => {}
            Err(e) => {
                crate::klog!("virtio: cannot map {page:#x}: {e:?}");
                return false;
            }
        }
        page += PAGE_SIZE;
    }
    true
}

/// Physical memory through the direct map, as the virtqueue code sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PhysMem;

impl DmaMemory for PhysMem {
    fn read(&self, pa: u64, out: &mut [u8]) {
        oxv_hal::read_phys(pa, out);
    }

    fn write(&self, pa: u64, data: &[u8]) {
        oxv_hal::write_phys(pa, data);
    }

    fn barrier(&self) {
        oxv_hal::dma_barrier();
    }
}

/// Physically contiguous, zeroed, page-aligned frames owned by a driver and
/// lent to a device. Freed on drop, so a buffer the device may still
/// write must be leaked instead ([`DmaBuffer::leak`]), as drivers do after
/// a timeout.
#[derive(Debug)]
pub(crate) struct DmaBuffer {
    pa: u64,
    pages: usize,
}

impl DmaBuffer {
    /// At least `bytes` bytes (whole pages), zeroed; `None` if memory is short.
    pub(crate) fn new(bytes: usize) -> Option<Self> {
        let pages = bytes.div_ceil(PAGE_SIZE as usize).max(1);
        let va = HeapPages.alloc_pages(pages)?;
        let pa = va - PHYS_OFFSET;
        for i in 0..pages as u64 {
            oxv_hal::zero_frame(pa + i * PAGE_SIZE);
        }
        Some(Self { pa, pages })
    }

    /// Physical address of the first byte.
    pub(crate) fn pa(&self) -> u64 {
        self.pa
    }

    /// Size in bytes.
    pub(crate) fn len(&self) -> usize {
        self.pages * PAGE_SIZE as usize
    }

    /// Copies out of the buffer from offset `off` (clamped to the buffer).
    pub(crate) fn read(&self, off: usize, out: &mut [u8]) {
        let n = out.len().min(self.len().saturating_sub(off));
        oxv_hal::read_phys(self.pa + off as u64, &mut out[..n]);
    }

    /// Copies into the buffer at offset `off` (clamped to the buffer).
    pub(crate) fn write(&self, off: usize, data: &[u8]) {
        let n = data.len().min(self.len().saturating_sub(off));
        oxv_hal::write_phys(self.pa + off as u64, &data[..n]);
    }

    /// Gives the frames up for good (the device may still write them);
    /// the buffer is empty afterwards.
    pub(crate) fn leak(&mut self) {
        self.pages = 0;
    }
}

impl Drop for DmaBuffer {
    fn drop(&mut self) {
        if self.pages > 0 {
            HeapPages.free_pages(self.pa + PHYS_OFFSET, self.pages);
        }
    }
}
