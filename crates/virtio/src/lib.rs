//! Pure virtio logic of the oxv kernel, written against the VIRTIO 1.2
//! specification (OASIS, "Virtual I/O Device (VIRTIO) Version 1.2"; section
//! numbers below and in the modules refer to it).
//!
//! Everything here is arithmetic and byte layout, so host `cargo test`
//! checks it; the kernel's `drivers::virtio` supplies the hardware access
//! (MMIO registers, PCI configuration ports, DMA memory, interrupts).
//!
//! - [`queue`]: [`queue::SplitQueue`], a split virtqueue (2.7) over an
//!   abstract [`mem::DmaMemory`]: descriptor free list, chained descriptors,
//!   available and used rings, several requests in flight.
//! - [`mem`]: the [`mem::DmaMemory`] trait (little-endian access to
//!   device-visible memory by physical address).
//! - [`cmdline`]: parser for the `virtio_mmio.device=<size>@<addr>:<irq>`
//!   command-line entries QEMU microvm and Firecracker append (4.2 devices).
//! - [`pci`]: virtio PCI capability discovery (4.1.4) and BAR decoding.
//! - [`blk`]: the virtio-blk request layout, feature bits and config space
//!   offsets (5.2), and the planner that splits byte ranges into requests.
//! - This file: device status bits (2.1), reserved feature bits (6), device
//!   IDs (5) and feature negotiation (3.1.1).
//!
//! The crate is `no_std` (with `alloc` for the queue's bookkeeping), has no
//! dependencies and no `unsafe`. Callers: `kernel/src/drivers/virtio/`
//! (transports, virtio-blk), and later virtio-net.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod blk;
pub mod cmdline;
pub mod mem;
pub mod pci;
pub mod queue;

/// Device status bits (2.1 Device Status Field).
pub mod status {
    /// The guest OS has found the device and recognized it as a virtio device.
    pub const ACKNOWLEDGE: u8 = 1;
    /// The guest OS knows how to drive the device.
    pub const DRIVER: u8 = 2;
    /// The driver is set up and ready to drive the device.
    pub const DRIVER_OK: u8 = 4;
    /// The driver has acknowledged the features it understands.
    pub const FEATURES_OK: u8 = 8;
    /// The device has hit an error it cannot recover from.
    pub const DEVICE_NEEDS_RESET: u8 = 64;
    /// The driver has given up on the device.
    pub const FAILED: u8 = 128;
}

/// Reserved (device-independent) feature bits (6 Reserved Feature Bits).
pub mod feature {
    /// Indirect descriptors (2.7.5.3).
    pub const INDIRECT_DESC: u64 = 1 << 28;
    /// `used_event` / `avail_event` notification suppression (2.7.7, 2.7.10).
    pub const EVENT_IDX: u64 = 1 << 29;
    /// Compliance with this specification (no legacy interface). Required.
    pub const VERSION_1: u64 = 1 << 32;
    /// The device sits behind an IOMMU / platform-specific DMA translation.
    pub const ACCESS_PLATFORM: u64 = 1 << 33;
    /// Packed virtqueues (2.8).
    pub const RING_PACKED: u64 = 1 << 34;
    /// Buffers are used in the order they were made available.
    pub const IN_ORDER: u64 = 1 << 35;
}

/// Virtio device IDs (5 Device Types).
pub mod device_id {
    /// Network card (5.1).
    pub const NET: u32 = 1;
    /// Block device (5.2).
    pub const BLOCK: u32 = 2;
    /// Console (5.3).
    pub const CONSOLE: u32 = 3;
    /// Entropy source (5.4).
    pub const ENTROPY: u32 = 4;
}

/// Why feature negotiation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeatureError {
    /// The device does not offer VIRTIO_F_VERSION_1: a legacy-only device.
    NotVersion1,
    /// The device lacks a feature the driver cannot work without.
    Missing(u64),
}

/// The features the driver accepts (3.1.1 step 4): the intersection of what
/// the device offers and what the driver supports. VIRTIO_F_VERSION_1 is
/// always required, and so is every bit in `required`.
pub fn negotiate(offered: u64, supported: u64, required: u64) -> Result<u64, FeatureError> {
    if offered & feature::VERSION_1 == 0 {
        return Err(FeatureError::NotVersion1);
    }
    let missing = required & !offered;
    if missing != 0 {
        return Err(FeatureError::Missing(missing));
    }
    Ok(offered & (supported | required | feature::VERSION_1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_requires_version_1() {
        assert_eq!(
            negotiate(0xffff_ffff, u64::MAX, 0),
            Err(FeatureError::NotVersion1)
        );
        let offered = feature::VERSION_1 | feature::EVENT_IDX | 1 << 5 | 1 << 9;
        assert_eq!(
            negotiate(offered, 1 << 9, 0),
            Ok(feature::VERSION_1 | 1 << 9)
        );
        assert_eq!(
            negotiate(offered, 0, 1 << 5),
            Ok(feature::VERSION_1 | 1 << 5)
        );
        assert_eq!(
            negotiate(offered, 0, 1 << 6),
            Err(FeatureError::Missing(1 << 6))
        );
        // Never accepts something the device did not offer.
        assert_eq!(
            negotiate(feature::VERSION_1, u64::MAX, 0),
            Ok(feature::VERSION_1)
        );
    }
}
