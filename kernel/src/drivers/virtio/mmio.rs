//! The virtio-mmio transport (4.2), version 2 ("modern") register layout
//! (4.2.2), for the devices QEMU microvm names on the command line
//! (`oxv_virtio::cmdline`). Legacy (version 1) devices are logged and
//! skipped. QEMU (7.2) makes virtio-mmio devices legacy by default: start
//! it with `-global virtio-mmio.force-legacy=false` to get version 2.
//!
//! Initialization follows 4.2.3.1 (magic, version, device ID, then the
//! generic sequence of 3.1.1), queues 4.2.3.2, notifications 4.2.3.3
//! (QueueNotify), interrupts 4.2.3.4 (InterruptStatus / InterruptACK; the
//! line goes to the I/O APIC pin named on the command line).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use oxv_abi::errno::Errno;
use oxv_hal::{Mmio, Mmio32, MmioWidth};
use oxv_virtio::cmdline::{mmio_devices, MmioDevice};
use oxv_virtio::queue::QueueLayout;

use super::transport::Transport;

/// Register offsets (4.2.2).
mod reg {
    pub(super) const MAGIC: u64 = 0x000;
    pub(super) const VERSION: u64 = 0x004;
    pub(super) const DEVICE_ID: u64 = 0x008;
    pub(super) const DEVICE_FEATURES: u64 = 0x010;
    pub(super) const DEVICE_FEATURES_SEL: u64 = 0x014;
    pub(super) const DRIVER_FEATURES: u64 = 0x020;
    pub(super) const DRIVER_FEATURES_SEL: u64 = 0x024;
    pub(super) const QUEUE_SEL: u64 = 0x030;
    pub(super) const QUEUE_NUM_MAX: u64 = 0x034;
    pub(super) const QUEUE_NUM: u64 = 0x038;
    pub(super) const QUEUE_READY: u64 = 0x044;
    pub(super) const QUEUE_NOTIFY: u64 = 0x050;
    pub(super) const INTERRUPT_STATUS: u64 = 0x060;
    pub(super) const INTERRUPT_ACK: u64 = 0x064;
    pub(super) const STATUS: u64 = 0x070;
    pub(super) const QUEUE_DESC_LOW: u64 = 0x080;
    pub(super) const QUEUE_DESC_HIGH: u64 = 0x084;
    pub(super) const QUEUE_DRIVER_LOW: u64 = 0x090;
    pub(super) const QUEUE_DRIVER_HIGH: u64 = 0x094;
    pub(super) const QUEUE_DEVICE_LOW: u64 = 0x0a0;
    pub(super) const QUEUE_DEVICE_HIGH: u64 = 0x0a4;
    pub(super) const CONFIG_GENERATION: u64 = 0x0fc;
    pub(super) const CONFIG: u64 = 0x100;
}

/// "virt" in little-endian (4.2.2 MagicValue).
const MAGIC: u32 = 0x7472_6976;

/// One virtio-mmio device.
#[derive(Debug)]
pub(crate) struct MmioTransport {
    base: u64,
    size: u64,
    device_type: u32,
    vector: Option<u8>,
}

/// Transports of the virtio-mmio devices on `cmdline` that exist, speak
/// version 2, and whose interrupt could be routed.
pub(crate) fn probe(cmdline: &[u8]) -> Vec<MmioTransport> {
    mmio_devices(cmdline)
        .filter_map(MmioTransport::new)
        .collect()
}

impl MmioTransport {
    fn new(dev: MmioDevice) -> Option<Self> {
        if !dev.base.is_multiple_of(4) || dev.size < reg::CONFIG {
            crate::klog!("virtio-mmio: ignoring {dev:?}");
            return None;
        }
        if !super::map_device(dev.base, dev.size) {
            return None;
        }
        let mut t = Self {
            base: dev.base,
            size: dev.size,
            device_type: 0,
            vector: None,
        };
        if t.r32(reg::MAGIC) != MAGIC {
            crate::klog!("virtio-mmio@{:#x}: bad magic", dev.base);
            return None;
        }
        let version = t.r32(reg::VERSION);
        if version != 2 {
            crate::klog!(
                "virtio-mmio@{:#x}: version {version} (legacy) is not supported",
                dev.base
            );
            return None;
        }
        t.device_type = t.r32(reg::DEVICE_ID);
        if t.device_type == 0 {
            // A placeholder slot without a device behind it (4.2.3.1.1).
            return None;
        }
        if let Ok(irq) = u8::try_from(dev.irq) {
            if irq < 24 {
                t.vector = super::alloc_vector();
                if let Some(v) = t.vector {
                    oxv_hal::irq::route_irq(irq, v);
                }
            }
        }
        if t.vector.is_none() {
            crate::klog!(
                "virtio-mmio@{:#x}: irq {} not routed; polling",
                dev.base,
                dev.irq
            );
        }
        Some(t)
    }

    fn r32(&self, off: u64) -> u32 {
        Mmio32::at_phys(self.base + off).read()
    }

    fn w32(&self, off: u64, v: u32) {
        Mmio32::at_phys(self.base + off).write(v);
    }

    fn config_read<T: MmioWidth>(&self, off: u64) -> Option<T> {
        let at = reg::CONFIG.checked_add(off)?;
        if at.checked_add(core::mem::size_of::<T>() as u64)? > self.size {
            return None;
        }
        Mmio::<T>::at_phys(self.base + at).map(Mmio::read)
    }
}

impl Transport for MmioTransport {
    fn name(&self) -> String {
        format!("mmio@{:#x}", self.base)
    }

    fn device_type(&self) -> u32 {
        self.device_type
    }

    fn device_features(&mut self) -> u64 {
        self.w32(reg::DEVICE_FEATURES_SEL, 0);
        let lo = self.r32(reg::DEVICE_FEATURES);
        self.w32(reg::DEVICE_FEATURES_SEL, 1);
        let hi = self.r32(reg::DEVICE_FEATURES);
        u64::from(hi) << 32 | u64::from(lo)
    }

    fn set_driver_features(&mut self, features: u64) {
        self.w32(reg::DRIVER_FEATURES_SEL, 0);
        self.w32(reg::DRIVER_FEATURES, features as u32);
        self.w32(reg::DRIVER_FEATURES_SEL, 1);
        self.w32(reg::DRIVER_FEATURES, (features >> 32) as u32);
    }

    fn status(&self) -> u8 {
        self.r32(reg::STATUS) as u8
    }

    fn set_status(&mut self, status: u8) {
        self.w32(reg::STATUS, u32::from(status));
    }

    fn max_queue_size(&mut self, index: u16) -> u16 {
        self.w32(reg::QUEUE_SEL, u32::from(index));
        if self.r32(reg::QUEUE_READY) != 0 {
            return 0;
        }
        self.r32(reg::QUEUE_NUM_MAX)
            .min(u32::from(oxv_virtio::queue::MAX_QUEUE_SIZE)) as u16
    }

    fn enable_queue(&mut self, index: u16, l: &QueueLayout) -> Result<(), Errno> {
        // 4.2.3.2: select, check not in use, size, addresses, ready.
        self.w32(reg::QUEUE_SEL, u32::from(index));
        if self.r32(reg::QUEUE_READY) != 0 || u32::from(l.size) > self.r32(reg::QUEUE_NUM_MAX) {
            return Err(Errno::EBUSY);
        }
        self.w32(reg::QUEUE_NUM, u32::from(l.size));
        for (lo, hi, addr) in [
            (reg::QUEUE_DESC_LOW, reg::QUEUE_DESC_HIGH, l.desc),
            (reg::QUEUE_DRIVER_LOW, reg::QUEUE_DRIVER_HIGH, l.avail),
            (reg::QUEUE_DEVICE_LOW, reg::QUEUE_DEVICE_HIGH, l.used),
        ] {
            self.w32(lo, addr as u32);
            self.w32(hi, (addr >> 32) as u32);
        }
        self.w32(reg::QUEUE_READY, 1);
        Ok(())
    }

    fn notify(&self, index: u16) {
        oxv_hal::dma_barrier();
        self.w32(reg::QUEUE_NOTIFY, u32::from(index));
    }

    fn ack_interrupt(&self) -> bool {
        let pending = self.r32(reg::INTERRUPT_STATUS);
        if pending != 0 {
            self.w32(reg::INTERRUPT_ACK, pending);
        }
        pending != 0
    }

    fn config_generation(&self) -> u32 {
        self.r32(reg::CONFIG_GENERATION)
    }

    fn config_u8(&self, off: u64) -> u8 {
        self.config_read(off).unwrap_or(0xff)
    }

    fn config_u16(&self, off: u64) -> u16 {
        self.config_read(off).unwrap_or(0xffff)
    }

    fn config_u32(&self, off: u64) -> u32 {
        self.config_read(off).unwrap_or(u32::MAX)
    }
}
