//! What a device driver needs from a virtio transport, and the
//! transport-independent initialization sequence (3.1.1).
//!
//! [`Transport`] is implemented by `mmio::MmioTransport` (4.2) and
//! `pci::PciTransport` (4.1). A driver calls [`begin_init`] (reset,
//! ACKNOWLEDGE, DRIVER, feature negotiation, FEATURES_OK), sets up its
//! queues (`queue::Virtqueue::new`), reads its configuration, then
//! [`finish_init`] (DRIVER_OK). On any error it calls [`fail`].

use alloc::string::String;

use oxv_abi::errno::Errno;
use oxv_virtio::queue::QueueLayout;
use oxv_virtio::{negotiate, status, FeatureError};

use crate::sched::clock;

/// A virtio transport: one device's control registers.
pub(crate) trait Transport: Send {
    /// A short name for logs (e.g. `mmio@0xfeb00e00`, `pci 00:03.0`).
    fn name(&self) -> String;
    /// Virtio device type (5: 1 = net, 2 = block, ...).
    fn device_type(&self) -> u32;
    /// The 64 feature bits the device offers.
    fn device_features(&mut self) -> u64;
    /// Writes the feature bits the driver accepts.
    fn set_driver_features(&mut self, features: u64);
    /// Reads the device status (2.1).
    fn status(&self) -> u8;
    /// Writes the device status; 0 resets the device.
    fn set_status(&mut self, status: u8);
    /// The largest size queue `index` supports (0: the queue does not exist).
    fn max_queue_size(&mut self, index: u16) -> u16;
    /// Gives queue `index` its size and part addresses and enables it.
    fn enable_queue(&mut self, index: u16, layout: &QueueLayout) -> Result<(), Errno>;
    /// Sends an available-buffer notification for queue `index`.
    fn notify(&self, index: u16);
    /// Acknowledges a pending used-buffer or configuration interrupt;
    /// returns whether one was pending. Must be called before looking at
    /// the used rings, so a completion that races with it raises a new
    /// interrupt.
    fn ack_interrupt(&self) -> bool;
    /// The configuration atomicity counter (2.5.1).
    fn config_generation(&self) -> u32;
    /// Reads a u8 of the device-specific configuration.
    #[allow(dead_code)] // virtio-blk reads none; a net device's status and MAC are u8/u16
    fn config_u8(&self, off: u64) -> u8;
    /// Reads a u16 (aligned) of the device-specific configuration.
    #[allow(dead_code)] // virtio-blk reads none; a net device's status and MAC are u8/u16
    fn config_u16(&self, off: u64) -> u16;
    /// Reads a u32 (aligned) of the device-specific configuration.
    fn config_u32(&self, off: u64) -> u32;

    /// Reads a u64 field as two u32 halves, retrying until the
    /// configuration generation is stable around the reads (2.5.1).
    fn config_u64(&self, off: u64) -> u64 {
        loop {
            let before = self.config_generation();
            let v = u64::from(self.config_u32(off)) | u64::from(self.config_u32(off + 4)) << 32;
            if self.config_generation() == before {
                return v;
            }
        }
    }
}

/// How long a device may take to come out of reset.
const RESET_TIMEOUT_NS: u64 = 1_000_000_000;

/// Resets the device and waits until the status reads 0 (4.1.4.3.2 asks
/// the driver to wait; virtio-mmio resets at once).
pub(crate) fn reset(t: &mut dyn Transport) -> Result<(), Errno> {
    t.set_status(0);
    let deadline = clock::monotonic_ns() + RESET_TIMEOUT_NS;
    while t.status() != 0 {
        if clock::monotonic_ns() > deadline {
            return Err(Errno::EIO);
        }
        oxv_hal::spin_hint();
    }
    Ok(())
}

/// Steps 1-6 of 3.1.1: reset, ACKNOWLEDGE, DRIVER, negotiate features
/// (VIRTIO_F_VERSION_1 plus `required`, and whatever of `supported` the
/// device offers), FEATURES_OK and its check. Returns the accepted bits.
pub(crate) fn begin_init(
    t: &mut dyn Transport,
    supported: u64,
    required: u64,
) -> Result<u64, Errno> {
    reset(t)?;
    t.set_status(status::ACKNOWLEDGE);
    t.set_status(status::ACKNOWLEDGE | status::DRIVER);
    let offered = t.device_features();
    let accepted = match negotiate(offered, supported, required) {
        Ok(f) => f,
        Err(FeatureError::NotVersion1) => {
            crate::klog!(
                "virtio: {}: legacy-only device (no VIRTIO_F_VERSION_1)",
                t.name()
            );
            return Err(Errno::ENODEV);
        }
        Err(FeatureError::Missing(m)) => {
            crate::klog!("virtio: {}: missing required features {m:#x}", t.name());
            return Err(Errno::ENODEV);
        }
    };
    t.set_driver_features(accepted);
    t.set_status(status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK);
    if t.status() & status::FEATURES_OK == 0 {
        crate::klog!(
            "virtio: {}: device refused features {accepted:#x}",
            t.name()
        );
        return Err(Errno::ENODEV);
    }
    Ok(accepted)
}

/// Step 8 of 3.1.1: the device is live.
pub(crate) fn finish_init(t: &mut dyn Transport) {
    t.set_status(status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK | status::DRIVER_OK);
}

/// Gives up on the device (3.1.1: set FAILED).
pub(crate) fn fail(t: &mut dyn Transport) {
    let s = t.status();
    t.set_status(s | status::FAILED);
}
