//! Virtio over PCI (VIRTIO 1.2 section 4.1), the parts that need no
//! hardware: recognizing virtio functions (4.1.2), finding the virtio
//! vendor capabilities in configuration space (4.1.4), the common
//! configuration layout (4.1.4.3), MSI-X capability and BAR decoding (PCI
//! Local Bus 3.0 section 6.2.5, 6.8.2), and configuration mechanism #1
//! addresses.
//!
//! The kernel reads configuration space through ports 0xcf8/0xcfc and
//! hands this module a [`ConfigSpace`]; tests hand it a byte array.

/// PCI vendor ID of virtio devices (4.1.2).
pub const VIRTIO_VENDOR: u16 = 0x1af4;

/// Configuration space offsets of the type 0/1 header.
pub mod header {
    /// Vendor ID (u16).
    pub const VENDOR: u16 = 0x00;
    /// Device ID (u16).
    pub const DEVICE: u16 = 0x02;
    /// Command register (u16).
    pub const COMMAND: u16 = 0x04;
    /// Status register (u16).
    pub const STATUS: u16 = 0x06;
    /// Class code: revision (u8), prog-if, subclass, class (u32 at 0x08).
    pub const CLASS: u16 = 0x08;
    /// Header type (u8); bit 7: multi-function.
    pub const HEADER_TYPE: u16 = 0x0e;
    /// First base address register (type 0: six of them).
    pub const BAR0: u16 = 0x10;
    /// Secondary bus number of a PCI-to-PCI bridge (type 1 header).
    pub const SECONDARY_BUS: u16 = 0x19;
    /// Subsystem device ID (u16, type 0 header).
    pub const SUBSYSTEM_ID: u16 = 0x2e;
    /// Capabilities pointer (u8).
    pub const CAP_PTR: u16 = 0x34;
    /// Interrupt line (u8).
    pub const INTERRUPT_LINE: u16 = 0x3c;
    /// Interrupt pin (u8; 1 = INTA#).
    pub const INTERRUPT_PIN: u16 = 0x3d;

    /// Command: respond to I/O space accesses.
    pub const CMD_IO: u16 = 1 << 0;
    /// Command: respond to memory space accesses.
    pub const CMD_MEMORY: u16 = 1 << 1;
    /// Command: may master the bus (DMA, MSI writes).
    pub const CMD_BUS_MASTER: u16 = 1 << 2;
    /// Command: INTx# disabled.
    pub const CMD_INTX_DISABLE: u16 = 1 << 10;
    /// Status: the capabilities list is valid.
    pub const STATUS_CAP_LIST: u16 = 1 << 4;
}

/// Capability IDs.
pub mod cap_id {
    /// MSI-X.
    pub const MSIX: u8 = 0x11;
    /// Vendor specific (virtio structures, 4.1.4).
    pub const VENDOR: u8 = 0x09;
}

/// `cfg_type` of a virtio PCI capability (4.1.4).
pub mod cfg_type {
    /// Common configuration (4.1.4.3).
    pub const COMMON: u8 = 1;
    /// Notifications (4.1.4.4).
    pub const NOTIFY: u8 = 2;
    /// ISR status (4.1.4.5).
    pub const ISR: u8 = 3;
    /// Device-specific configuration (4.1.4.6).
    pub const DEVICE: u8 = 4;
    /// PCI configuration access (4.1.4.9).
    pub const PCI_CFG: u8 = 5;
}

/// Offsets in the common configuration structure (4.1.4.3,
/// `struct virtio_pci_common_cfg`).
pub mod common_cfg {
    /// le32, RW: selects which 32 feature bits `DEVICE_FEATURE` shows.
    pub const DEVICE_FEATURE_SELECT: u64 = 0x00;
    /// le32, RO: device feature bits.
    pub const DEVICE_FEATURE: u64 = 0x04;
    /// le32, RW: selects which 32 bits `DRIVER_FEATURE` sets.
    pub const DRIVER_FEATURE_SELECT: u64 = 0x08;
    /// le32, RW: driver (accepted) feature bits.
    pub const DRIVER_FEATURE: u64 = 0x0c;
    /// le16, RW: MSI-X vector for configuration changes.
    pub const CONFIG_MSIX_VECTOR: u64 = 0x10;
    /// le16, RO: number of queues.
    pub const NUM_QUEUES: u64 = 0x12;
    /// u8, RW: device status (2.1).
    pub const DEVICE_STATUS: u64 = 0x14;
    /// u8, RO: configuration atomicity counter (2.5.1).
    pub const CONFIG_GENERATION: u64 = 0x15;
    /// le16, RW: queue the following fields refer to.
    pub const QUEUE_SELECT: u64 = 0x16;
    /// le16, RW: queue size (the device's maximum on reset).
    pub const QUEUE_SIZE: u64 = 0x18;
    /// le16, RW: MSI-X vector for this queue.
    pub const QUEUE_MSIX_VECTOR: u64 = 0x1a;
    /// le16, RW: 1 enables the queue.
    pub const QUEUE_ENABLE: u64 = 0x1c;
    /// le16, RO: multiplier index for this queue's notification address.
    pub const QUEUE_NOTIFY_OFF: u64 = 0x1e;
    /// le64, RW: descriptor area.
    pub const QUEUE_DESC: u64 = 0x20;
    /// le64, RW: driver area (available ring).
    pub const QUEUE_DRIVER: u64 = 0x28;
    /// le64, RW: device area (used ring).
    pub const QUEUE_DEVICE: u64 = 0x30;
    /// Size of the structure up to here (what the capability must cover).
    pub const MIN_LEN: u32 = 0x38;
    /// "No vector" for the MSI-X vector fields.
    pub const NO_VECTOR: u16 = 0xffff;
}

/// Read access to one function's configuration space (256 bytes).
pub trait ConfigSpace {
    /// Reads the aligned dword at `off & !3`.
    fn read32(&self, off: u16) -> u32;

    /// Reads a u16 (at an even offset).
    fn read16(&self, off: u16) -> u16 {
        (self.read32(off & !3) >> (8 * (off & 2))) as u16
    }

    /// Reads a byte.
    fn read8(&self, off: u16) -> u8 {
        (self.read32(off & !3) >> (8 * (off & 3))) as u8
    }
}

/// Configuration mechanism #1 address (port 0xcf8) of `bus:dev.func`,
/// register `off` (dword aligned).
pub fn config_address(bus: u8, dev: u8, func: u8, off: u16) -> u32 {
    1 << 31
        | u32::from(bus) << 16
        | u32::from(dev & 31) << 11
        | u32::from(func & 7) << 8
        | u32::from(off & 0xfc)
}

/// The virtio device type (5) of a PCI function, if it is a virtio device
/// (4.1.2): modern IDs 0x1040 + type, or transitional IDs 0x1000..=0x103f
/// whose subsystem device ID is the type.
pub fn device_type(vendor: u16, device: u16, subsystem: u16) -> Option<u32> {
    if vendor != VIRTIO_VENDOR {
        return None;
    }
    match device {
        0x1040..=0x107f => Some(u32::from(device - 0x1040)),
        0x1000..=0x103f if subsystem != 0 => Some(u32::from(subsystem)),
        _ => None,
    }
}

/// Iterates the capability list: (capability ID, offset). Stops at a loop,
/// a pointer into the header, or after 48 entries (the most that fit).
pub fn capabilities<C: ConfigSpace + ?Sized>(cfg: &C) -> impl Iterator<Item = (u8, u16)> + '_ {
    let has_list = cfg.read16(header::STATUS) & header::STATUS_CAP_LIST != 0;
    let mut ptr = if has_list {
        u16::from(cfg.read8(header::CAP_PTR) & 0xfc)
    } else {
        0
    };
    let mut left = 48;
    core::iter::from_fn(move || {
        if ptr < 0x40 || left == 0 {
            return None;
        }
        left -= 1;
        let at = ptr;
        let id = cfg.read8(at);
        ptr = u16::from(cfg.read8(at + 1) & 0xfc);
        Some((id, at))
    })
}

/// A virtio structure inside a BAR (4.1.4 `struct virtio_pci_cap`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapRegion {
    /// BAR index (0..=5).
    pub bar: u8,
    /// Offset inside the BAR.
    pub offset: u32,
    /// Length of the structure.
    pub length: u32,
}

/// The MSI-X capability (PCI 3.0 section 6.8.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MsixCap {
    /// Offset of the capability in configuration space.
    pub cap: u16,
    /// Number of table entries.
    pub table_size: u16,
    /// BAR holding the table.
    pub table_bar: u8,
    /// Offset of the table in that BAR.
    pub table_offset: u32,
}

impl MsixCap {
    /// Offset of the Message Control register (u16).
    pub fn control_offset(&self) -> u16 {
        self.cap + 2
    }
}

/// Message Control: MSI-X enable.
pub const MSIX_ENABLE: u16 = 1 << 15;
/// Message Control: all vectors masked.
pub const MSIX_FUNCTION_MASK: u16 = 1 << 14;
/// Size of one MSI-X table entry: address lo, address hi, data, vector control.
pub const MSIX_ENTRY_SIZE: u64 = 16;

/// Where a modern virtio PCI function keeps its structures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VirtioPciLayout {
    /// Common configuration (4.1.4.3).
    pub common: CapRegion,
    /// Notification area (4.1.4.4).
    pub notify: CapRegion,
    /// `notify_off_multiplier` of the notification capability.
    pub notify_off_multiplier: u32,
    /// ISR status byte (4.1.4.5).
    pub isr: CapRegion,
    /// Device-specific configuration (4.1.4.6), if the device has one.
    pub device: Option<CapRegion>,
    /// MSI-X, if present.
    pub msix: Option<MsixCap>,
}

/// Finds the virtio structures (4.1.4; the first capability of each type
/// with a valid BAR wins, as 4.1.4.1 recommends) and the MSI-X capability.
/// `None` when the common, notification or ISR structure is missing: then
/// the function has only the legacy interface, which oxv does not drive.
pub fn virtio_layout<C: ConfigSpace + ?Sized>(cfg: &C) -> Option<VirtioPciLayout> {
    let (mut common, mut notify, mut isr, mut device, mut msix) = (None, None, None, None, None);
    let mut mult = 0;
    for (id, at) in capabilities(cfg) {
        match id {
            cap_id::VENDOR => {
                let cap_len = cfg.read8(at + 2);
                let ty = cfg.read8(at + 3);
                let bar = cfg.read8(at + 4);
                if cap_len < 16 || bar > 5 {
                    continue;
                }
                let region = CapRegion {
                    bar,
                    offset: cfg.read32(at + 8),
                    length: cfg.read32(at + 12),
                };
                match ty {
                    cfg_type::COMMON
                        if common.is_none() && region.length >= common_cfg::MIN_LEN =>
                    {
                        common = Some(region);
                    }
                    cfg_type::NOTIFY if notify.is_none() && cap_len >= 20 => {
                        notify = Some(region);
                        mult = cfg.read32(at + 16);
                    }
                    cfg_type::ISR if isr.is_none() && region.length >= 1 => isr = Some(region),
                    cfg_type::DEVICE if device.is_none() => device = Some(region),
                    _ => {}
                }
            }
            cap_id::MSIX if msix.is_none() => {
                let control = cfg.read16(at + 2);
                let table = cfg.read32(at + 4);
                let bar = (table & 7) as u8;
                if bar <= 5 {
                    msix = Some(MsixCap {
                        cap: at,
                        table_size: (control & 0x7ff) + 1,
                        table_bar: bar,
                        table_offset: table & !7,
                    });
                }
            }
            _ => {}
        }
    }
    Some(VirtioPciLayout {
        common: common?,
        notify: notify?,
        notify_off_multiplier: mult,
        isr: isr?,
        device,
        msix,
    })
}

/// A decoded base address register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bar {
    /// Memory space.
    Memory {
        /// Physical address.
        addr: u64,
        /// 64-bit BAR (occupies this and the next register).
        is64: bool,
        /// Prefetchable.
        prefetchable: bool,
    },
    /// I/O space.
    Io {
        /// Port.
        port: u32,
    },
}

impl Bar {
    /// Decodes BAR register `lo` and, for 64-bit BARs, the next one `hi`.
    pub fn decode(lo: u32, hi: u32) -> Self {
        if lo & 1 == 1 {
            return Bar::Io { port: lo & !3 };
        }
        let is64 = (lo >> 1) & 3 == 2;
        let addr = u64::from(lo & !0xf) | if is64 { u64::from(hi) << 32 } else { 0 };
        Bar::Memory {
            addr,
            is64,
            prefetchable: lo & 8 != 0,
        }
    }
}

/// Size of a memory BAR from the values read back after writing all ones
/// (`lo`, and `hi` for a 64-bit BAR; pass `u32::MAX` as `hi` for a 32-bit
/// one). 0 if the BAR is not implemented.
pub fn memory_bar_size(lo: u32, hi: u32) -> u64 {
    let mask = u64::from(hi) << 32 | u64::from(lo & !0xf);
    if mask == 0 || (lo & !0xf == 0 && hi == u32::MAX) {
        return 0;
    }
    (!mask).wrapping_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// A 256-byte configuration space.
    struct Cfg([u8; 256]);

    impl ConfigSpace for Cfg {
        fn read32(&self, off: u16) -> u32 {
            let o = usize::from(off & 0xfc);
            u32::from_le_bytes(self.0[o..o + 4].try_into().unwrap())
        }
    }

    impl Cfg {
        fn put(&mut self, off: usize, bytes: &[u8]) {
            self.0[off..off + bytes.len()].copy_from_slice(bytes);
        }

        fn vendor_cap(
            &mut self,
            at: usize,
            next: u8,
            ty: u8,
            bar: u8,
            (offset, length): (u32, u32),
            extra: Option<u32>,
        ) {
            let len = if extra.is_some() { 20 } else { 16 };
            self.put(at, &[cap_id::VENDOR, next, len, ty, bar, 0, 0, 0]);
            self.put(at + 8, &offset.to_le_bytes());
            self.put(at + 12, &length.to_le_bytes());
            if let Some(x) = extra {
                self.put(at + 16, &x.to_le_bytes());
            }
        }
    }

    /// What QEMU 7.2's virtio-blk-pci shows (capabilities at 0x98, 0x84,
    /// 0x70, 0x60, 0x50, 0x40; offsets in BAR 4; MSI-X table in BAR 1).
    fn qemu_blk() -> Cfg {
        let mut c = Cfg([0; 256]);
        c.put(0, &0x1af4u16.to_le_bytes());
        c.put(2, &0x1001u16.to_le_bytes());
        c.put(6, &header::STATUS_CAP_LIST.to_le_bytes());
        c.put(0x2e, &2u16.to_le_bytes());
        c.put(0x34, &[0x98]);
        c.put(0x98, &[cap_id::MSIX, 0x84, 0x01, 0x00]); // 2 vectors
        c.put(0x9c, &1u32.to_le_bytes()); // table: BAR 1, offset 0
        c.put(0xa0, &(0x800u32 | 1).to_le_bytes());
        c.vendor_cap(0x84, 0x70, cfg_type::PCI_CFG, 0, (0, 0), Some(0));
        c.vendor_cap(0x70, 0x60, cfg_type::NOTIFY, 4, (0x3000, 0x1000), Some(4));
        c.vendor_cap(0x60, 0x50, cfg_type::DEVICE, 4, (0x2000, 0x1000), None);
        c.vendor_cap(0x50, 0x40, cfg_type::ISR, 4, (0x1000, 0x1000), None);
        c.vendor_cap(0x40, 0x00, cfg_type::COMMON, 4, (0x0000, 0x1000), None);
        c
    }

    #[test]
    fn finds_qemu_virtio_structures() {
        let c = qemu_blk();
        assert_eq!(
            device_type(c.read16(0), c.read16(2), c.read16(0x2e)),
            Some(2)
        );
        let l = virtio_layout(&c).unwrap();
        assert_eq!(
            l.common,
            CapRegion {
                bar: 4,
                offset: 0,
                length: 0x1000
            }
        );
        assert_eq!(
            l.isr,
            CapRegion {
                bar: 4,
                offset: 0x1000,
                length: 0x1000
            }
        );
        assert_eq!(
            l.device,
            Some(CapRegion {
                bar: 4,
                offset: 0x2000,
                length: 0x1000
            })
        );
        assert_eq!(
            l.notify,
            CapRegion {
                bar: 4,
                offset: 0x3000,
                length: 0x1000
            }
        );
        assert_eq!(l.notify_off_multiplier, 4);
        assert_eq!(
            l.msix,
            Some(MsixCap {
                cap: 0x98,
                table_size: 2,
                table_bar: 1,
                table_offset: 0
            })
        );
        assert_eq!(l.msix.unwrap().control_offset(), 0x9a);
    }

    #[test]
    fn legacy_only_and_broken_lists() {
        let mut c = qemu_blk();
        c.0[0x43] = cfg_type::DEVICE; // the common cap becomes a second device cap
        assert_eq!(virtio_layout(&c), None);
        let mut c = qemu_blk();
        c.put(6, &[0, 0]);
        assert_eq!(capabilities(&c).count(), 0);
        // A loop ends after 48 entries.
        let mut c = qemu_blk();
        c.0[0x41] = 0x98;
        assert_eq!(capabilities(&c).count(), 48);
        // Reserved BAR numbers are ignored (4.1.4.1).
        let mut c = qemu_blk();
        c.0[0x44] = 6;
        assert_eq!(virtio_layout(&c), None);
        // Random garbage never panics.
        let mut x = 7u32;
        for _ in 0..2000 {
            let mut c = qemu_blk();
            for _ in 0..8 {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                c.0[0x40 + (x >> 8) as usize % 0xc0] = (x >> 20) as u8;
            }
            let _ = virtio_layout(&c);
            let _: Vec<_> = capabilities(&c).collect();
        }
    }

    #[test]
    fn device_ids() {
        assert_eq!(device_type(0x1af4, 0x1041, 0), Some(1));
        assert_eq!(device_type(0x1af4, 0x1042, 0x1100), Some(2));
        assert_eq!(device_type(0x1af4, 0x1000, 1), Some(1));
        assert_eq!(device_type(0x1af4, 0x1000, 0), None);
        assert_eq!(device_type(0x8086, 0x1042, 2), None);
        assert_eq!(device_type(0x1af4, 0x1110, 2), None);
    }

    #[test]
    fn bars() {
        assert_eq!(Bar::decode(0xc041, 0), Bar::Io { port: 0xc040 });
        assert_eq!(
            Bar::decode(0xfebf_1000, 0),
            Bar::Memory {
                addr: 0xfebf_1000,
                is64: false,
                prefetchable: false
            }
        );
        assert_eq!(
            Bar::decode(0xfe00_000c, 0x1),
            Bar::Memory {
                addr: 0x1_fe00_0000,
                is64: true,
                prefetchable: true
            }
        );
        assert_eq!(memory_bar_size(0xffff_c00c, 0xffff_ffff), 0x4000);
        assert_eq!(memory_bar_size(0xffff_f000, u32::MAX), 0x1000);
        assert_eq!(memory_bar_size(0, 0), 0);
        assert_eq!(memory_bar_size(0, u32::MAX), 0);
        assert_eq!(memory_bar_size(0xc, 0xffff_fff0), 0x10_0000_0000);
    }

    #[test]
    fn config_addresses() {
        assert_eq!(config_address(0, 0, 0, 0), 0x8000_0000);
        assert_eq!(config_address(1, 3, 2, 0x3e), 0x8001_1a3c);
        assert_eq!(config_address(255, 31, 7, 0xff), 0x80ff_fffc);
    }
}
