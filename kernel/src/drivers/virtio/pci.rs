//! The modern virtio-pci transport (4.1) for `-M q35` / `pc`.
//!
//! Enumeration uses PCI configuration mechanism #1 (ports 0xcf8/0xcfc):
//! bus 0, functions 1-7 of multi-function devices, and the secondary buses
//! behind PCI-to-PCI bridges. A virtio function (4.1.2) is driven through
//! its vendor capabilities (4.1.4, found by `oxv_virtio::pci`): the common
//! configuration (4.1.4.3) for features, status and queues, the
//! notification area (4.1.4.4: queue `q` is notified at
//! `notify_base + queue_notify_off * notify_off_multiplier`), the ISR byte
//! (4.1.4.5) and the device configuration (4.1.4.6). BARs must have been
//! assigned by the firmware (SeaBIOS does) or are assigned here from a
//! window below the I/O APIC (qboot leaves them at 0).
//!
//! Interrupts use MSI-X (4.1.5.1.2, 4.1.5.3): table entry 0 sends the
//! device's vector to the boot CPU (message address 0xfee00000,
//! destination APIC ID 0, fixed delivery, edge), every queue uses entry 0,
//! configuration changes use none. A function without MSI-X works by
//! polling on the clock's wake-ups.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use oxv_abi::errno::Errno;
use oxv_hal::sync::SpinLock;
use oxv_hal::{Mmio, Mmio32, MmioWidth, Port32};
use oxv_virtio::pci::{
    common_cfg as cc, config_address, device_type, header, virtio_layout, Bar, CapRegion,
    ConfigSpace, MSIX_ENABLE, MSIX_ENTRY_SIZE, MSIX_FUNCTION_MASK,
};
use oxv_virtio::queue::QueueLayout;

use super::transport::Transport;

const CONFIG_ADDRESS: Port32 = Port32::new(0xcf8);
const CONFIG_DATA: Port32 = Port32::new(0xcfc);
/// Serializes the address/data port pair.
static CONFIG_LOCK: SpinLock<()> = SpinLock::new(());

/// MSI message address: the local APIC window, destination APIC ID 0.
const MSI_ADDRESS: u32 = 0xfee0_0000;

/// One PCI function's configuration space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PciFunction {
    bus: u8,
    dev: u8,
    func: u8,
}

impl ConfigSpace for PciFunction {
    fn read32(&self, off: u16) -> u32 {
        let _g = CONFIG_LOCK.lock();
        CONFIG_ADDRESS.write(config_address(self.bus, self.dev, self.func, off));
        CONFIG_DATA.read()
    }
}

impl PciFunction {
    fn write32(&self, off: u16, v: u32) {
        let _g = CONFIG_LOCK.lock();
        CONFIG_ADDRESS.write(config_address(self.bus, self.dev, self.func, off));
        CONFIG_DATA.write(v);
    }

    /// Writes a u16 at an even offset (read-modify-write of its dword).
    fn write16(&self, off: u16, v: u16) {
        let shift = 8 * u32::from(off & 2);
        let old = self.read32(off & !3);
        self.write32(off & !3, old & !(0xffff << shift) | u32::from(v) << shift);
    }

    fn exists(&self) -> bool {
        self.read16(header::VENDOR) != 0xffff
    }

    /// Memory BAR `i`: (address, is64), or `None` for an I/O BAR or a bad index.
    fn memory_bar(&self, i: u8) -> Option<(u64, bool)> {
        if i > 5 {
            return None;
        }
        let off = header::BAR0 + 4 * u16::from(i);
        let lo = self.read32(off);
        let hi = if i < 5 { self.read32(off + 4) } else { 0 };
        match Bar::decode(lo, hi) {
            Bar::Memory { addr, is64, .. } => Some((addr, is64)),
            Bar::Io { .. } => None,
        }
    }

    /// Size of memory BAR `i` (0 if not implemented), probed with all ones
    /// while memory decoding is off.
    fn memory_bar_size(&self, i: u8) -> u64 {
        let Some((_, is64)) = self.memory_bar(i) else {
            return 0;
        };
        let off = header::BAR0 + 4 * u16::from(i);
        let cmd = self.read16(header::COMMAND);
        self.write16(header::COMMAND, cmd & !header::CMD_MEMORY);
        let lo = self.read32(off);
        self.write32(off, u32::MAX);
        let lo_mask = self.read32(off);
        self.write32(off, lo);
        let mut hi_mask = u32::MAX;
        if is64 && i < 5 {
            let hi = self.read32(off + 4);
            self.write32(off + 4, u32::MAX);
            hi_mask = self.read32(off + 4);
            self.write32(off + 4, hi);
        }
        self.write16(header::COMMAND, cmd);
        oxv_virtio::pci::memory_bar_size(lo_mask, hi_mask)
    }

    /// Physical address of memory BAR `i`, assigning one from the window if
    /// the firmware left it at 0. 0 when that is impossible.
    fn bar_address(&self, i: u8) -> u64 {
        let Some((addr, is64)) = self.memory_bar(i) else {
            return 0;
        };
        if addr != 0 {
            return addr;
        }
        let size = self.memory_bar_size(i);
        if size == 0 {
            return 0;
        }
        let mut next = MMIO_NEXT.lock();
        let at = next.next_multiple_of(size);
        if at.checked_add(size).is_none_or(|end| end > MMIO_WINDOW.1) {
            crate::klog!("virtio-pci {self}: no room for BAR {i} ({size:#x} bytes)");
            return 0;
        }
        *next = at + size;
        let off = header::BAR0 + 4 * u16::from(i);
        let cmd = self.read16(header::COMMAND);
        self.write16(header::COMMAND, cmd & !header::CMD_MEMORY);
        let kind = self.read32(off) & 0xf;
        self.write32(off, at as u32 | kind);
        if is64 {
            self.write32(off + 4, (at >> 32) as u32);
        }
        self.write16(header::COMMAND, cmd);
        crate::klog!("virtio-pci {self}: BAR {i} assigned at {at:#x} ({size:#x} bytes)");
        at
    }
}

/// Where BARs the firmware left unassigned go: above q35's MMCONFIG area
/// (0xb0000000-0xbfffffff) and below the I/O APIC. On q35 guest RAM below
/// 4 GiB ends at 2 GiB or 2.75 GiB, so this range is always free of RAM;
/// BARs already assigned in it are stepped over ([`reserve_assigned`]).
const MMIO_WINDOW: (u64, u64) = (0xc000_0000, 0xfec0_0000);
static MMIO_NEXT: SpinLock<u64> = SpinLock::new(MMIO_WINDOW.0);

/// Moves the window's allocation point past every memory BAR already
/// assigned inside it.
fn reserve_assigned(functions: &[PciFunction]) {
    let mut next = MMIO_NEXT.lock();
    for f in functions {
        if f.read8(header::HEADER_TYPE) & 0x7f != 0 {
            continue;
        }
        let mut i = 0;
        while i < 6 {
            let Some((addr, is64)) = f.memory_bar(i) else {
                i += 1;
                continue;
            };
            if addr >= MMIO_WINDOW.0 && addr < MMIO_WINDOW.1 {
                *next = (*next).max(addr + f.memory_bar_size(i));
            }
            i += if is64 { 2 } else { 1 };
        }
    }
}

impl core::fmt::Display for PciFunction {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:02x}:{:02x}.{}", self.bus, self.dev, self.func)
    }
}

/// Whether configuration mechanism #1 answers (it does not on microvm).
fn mechanism1_present() -> bool {
    let _g = CONFIG_LOCK.lock();
    let saved = CONFIG_ADDRESS.read();
    CONFIG_ADDRESS.write(0x8000_0000);
    let ok = CONFIG_ADDRESS.read() == 0x8000_0000;
    CONFIG_ADDRESS.write(saved);
    ok
}

/// Every function on bus `bus` and the buses behind its bridges.
fn scan_bus(bus: u8, out: &mut Vec<PciFunction>, visited: &mut [bool; 256]) {
    if core::mem::replace(&mut visited[usize::from(bus)], true) {
        return;
    }
    for dev in 0..32 {
        let f0 = PciFunction { bus, dev, func: 0 };
        if !f0.exists() {
            continue;
        }
        let funcs = if f0.read8(header::HEADER_TYPE) & 0x80 != 0 {
            8
        } else {
            1
        };
        for func in 0..funcs {
            let f = PciFunction { bus, dev, func };
            if !f.exists() {
                continue;
            }
            out.push(f);
            let is_bridge =
                f.read8(header::HEADER_TYPE) & 0x7f == 1 && f.read32(header::CLASS) >> 16 == 0x0604;
            if is_bridge {
                let secondary = f.read8(header::SECONDARY_BUS);
                if secondary != 0 {
                    scan_bus(secondary, out, visited);
                }
            }
        }
    }
}

/// Transports of the modern virtio functions on the PCI buses.
pub(crate) fn probe() -> Vec<PciTransport> {
    if !mechanism1_present() {
        return Vec::new();
    }
    let mut functions = Vec::new();
    scan_bus(0, &mut functions, &mut [false; 256]);
    reserve_assigned(&functions);
    functions
        .into_iter()
        .filter_map(PciTransport::new)
        .collect()
}

/// One modern virtio-pci function.
#[derive(Debug)]
pub(crate) struct PciTransport {
    function: PciFunction,
    device_type: u32,
    common: u64,
    notify: u64,
    notify_multiplier: u32,
    isr: u64,
    device: Option<(u64, u32)>,
    /// MSI-X set up with this vector.
    msix_vector: Option<u8>,
    /// Notification address of each enabled queue.
    notify_addrs: Vec<(u16, u64)>,
}

impl PciTransport {
    fn new(f: PciFunction) -> Option<Self> {
        let ty = device_type(
            f.read16(header::VENDOR),
            f.read16(header::DEVICE),
            f.read16(header::SUBSYSTEM_ID),
        )?;
        let Some(layout) = virtio_layout(&f) else {
            crate::klog!("virtio-pci {f}: no modern capabilities (legacy only); skipped");
            return None;
        };
        // Map a capability region; None if its BAR is unassigned.
        let region = |r: CapRegion| -> Option<u64> {
            let bar = f.bar_address(r.bar);
            if bar == 0 {
                crate::klog!("virtio-pci {f}: BAR {} not assigned", r.bar);
                return None;
            }
            let pa = bar.checked_add(u64::from(r.offset))?;
            super::map_device(pa, u64::from(r.length)).then_some(pa)
        };
        let common = region(layout.common)?;
        let notify = region(layout.notify)?;
        let isr = region(layout.isr)?;
        let device = match layout.device {
            Some(r) => Some((region(r)?, r.length)),
            None => None,
        };
        let cmd = f.read16(header::COMMAND);
        f.write16(
            header::COMMAND,
            cmd | header::CMD_MEMORY | header::CMD_BUS_MASTER,
        );
        let mut t = Self {
            function: f,
            device_type: ty,
            common,
            notify,
            notify_multiplier: layout.notify_off_multiplier,
            isr,
            device,
            msix_vector: None,
            notify_addrs: Vec::new(),
        };
        if let Some(m) = layout.msix {
            let bar = f.bar_address(m.table_bar);
            let table = bar
                .checked_add(u64::from(m.table_offset))
                .filter(|_| bar != 0);
            if let (Some(table), Some(vector)) = (table, super::alloc_vector()) {
                if super::map_device(table, MSIX_ENTRY_SIZE * u64::from(m.table_size)) {
                    // Entry 0: address, upper address, data, vector control (unmasked).
                    Mmio32::at_phys(table).write(MSI_ADDRESS);
                    Mmio32::at_phys(table + 4).write(0);
                    Mmio32::at_phys(table + 8).write(u32::from(vector));
                    Mmio32::at_phys(table + 12).write(0);
                    let ctl = f.read16(m.control_offset());
                    f.write16(
                        m.control_offset(),
                        (ctl | MSIX_ENABLE) & !MSIX_FUNCTION_MASK,
                    );
                    let cmd = f.read16(header::COMMAND);
                    f.write16(header::COMMAND, cmd | header::CMD_INTX_DISABLE);
                    t.msix_vector = Some(vector);
                }
            }
        }
        if t.msix_vector.is_none() {
            crate::klog!("virtio-pci {f}: no MSI-X; polling");
        }
        Some(t)
    }

    fn c16(&self, off: u64) -> u16 {
        Mmio::<u16>::at_phys(self.common + off).map_or(0xffff, Mmio::read)
    }

    fn w16(&self, off: u64, v: u16) {
        if let Some(r) = Mmio::<u16>::at_phys(self.common + off) {
            r.write(v);
        }
    }

    fn c32(&self, off: u64) -> u32 {
        Mmio::<u32>::at_phys(self.common + off).map_or(u32::MAX, Mmio::read)
    }

    fn w32(&self, off: u64, v: u32) {
        if let Some(r) = Mmio::<u32>::at_phys(self.common + off) {
            r.write(v);
        }
    }

    fn c8(&self, off: u64) -> u8 {
        Mmio::<u8>::at_phys(self.common + off).map_or(0xff, Mmio::read)
    }

    fn w8(&self, off: u64, v: u8) {
        if let Some(r) = Mmio::<u8>::at_phys(self.common + off) {
            r.write(v);
        }
    }

    fn device_read<T: MmioWidth>(&self, off: u64) -> Option<T> {
        let (base, len) = self.device?;
        if off.checked_add(core::mem::size_of::<T>() as u64)? > u64::from(len) {
            return None;
        }
        Mmio::<T>::at_phys(base + off).map(Mmio::read)
    }
}

impl Transport for PciTransport {
    fn name(&self) -> String {
        format!("pci {}", self.function)
    }

    fn device_type(&self) -> u32 {
        self.device_type
    }

    fn device_features(&mut self) -> u64 {
        self.w32(cc::DEVICE_FEATURE_SELECT, 0);
        let lo = self.c32(cc::DEVICE_FEATURE);
        self.w32(cc::DEVICE_FEATURE_SELECT, 1);
        let hi = self.c32(cc::DEVICE_FEATURE);
        u64::from(hi) << 32 | u64::from(lo)
    }

    fn set_driver_features(&mut self, features: u64) {
        self.w32(cc::DRIVER_FEATURE_SELECT, 0);
        self.w32(cc::DRIVER_FEATURE, features as u32);
        self.w32(cc::DRIVER_FEATURE_SELECT, 1);
        self.w32(cc::DRIVER_FEATURE, (features >> 32) as u32);
    }

    fn status(&self) -> u8 {
        self.c8(cc::DEVICE_STATUS)
    }

    fn set_status(&mut self, status: u8) {
        self.w8(cc::DEVICE_STATUS, status);
        if status == 0 {
            self.notify_addrs.clear();
        }
    }

    fn max_queue_size(&mut self, index: u16) -> u16 {
        if index >= self.c16(cc::NUM_QUEUES) {
            return 0;
        }
        self.w16(cc::QUEUE_SELECT, index);
        self.c16(cc::QUEUE_SIZE)
            .min(oxv_virtio::queue::MAX_QUEUE_SIZE)
    }

    fn enable_queue(&mut self, index: u16, l: &QueueLayout) -> Result<(), Errno> {
        // 4.1.5.1.3: select, size, vector, addresses, enable.
        self.w16(cc::QUEUE_SELECT, index);
        if self.c16(cc::QUEUE_ENABLE) != 0 {
            return Err(Errno::EBUSY);
        }
        self.w16(cc::QUEUE_SIZE, l.size);
        if self.msix_vector.is_some() {
            self.w16(cc::QUEUE_MSIX_VECTOR, 0);
            if self.c16(cc::QUEUE_MSIX_VECTOR) != 0 {
                crate::klog!(
                    "virtio-pci {}: queue {index} refused MSI-X vector 0",
                    self.function
                );
                self.msix_vector = None;
            }
            self.w16(cc::CONFIG_MSIX_VECTOR, cc::NO_VECTOR);
        }
        for (off, addr) in [
            (cc::QUEUE_DESC, l.desc),
            (cc::QUEUE_DRIVER, l.avail),
            (cc::QUEUE_DEVICE, l.used),
        ] {
            self.w32(off, addr as u32);
            self.w32(off + 4, (addr >> 32) as u32);
        }
        let notify_off = u64::from(self.c16(cc::QUEUE_NOTIFY_OFF));
        let addr = notify_off
            .checked_mul(u64::from(self.notify_multiplier))
            .and_then(|o| self.notify.checked_add(o))
            .ok_or(Errno::EINVAL)?;
        if !super::map_device(addr, 2) {
            return Err(Errno::ENOMEM);
        }
        self.w16(cc::QUEUE_ENABLE, 1);
        self.notify_addrs.push((index, addr));
        Ok(())
    }

    fn notify(&self, index: u16) {
        oxv_hal::dma_barrier();
        if let Some(&(_, addr)) = self.notify_addrs.iter().find(|(q, _)| *q == index) {
            if let Some(r) = Mmio::<u16>::at_phys(addr) {
                r.write(index);
            }
        }
    }

    fn ack_interrupt(&self) -> bool {
        if self.msix_vector.is_some() {
            // With MSI-X the ISR byte is not used (4.1.4.5.1).
            return false;
        }
        Mmio::<u8>::at_phys(self.isr).map_or(0, Mmio::read) != 0
    }

    fn config_generation(&self) -> u32 {
        u32::from(self.c8(cc::CONFIG_GENERATION))
    }

    fn config_u8(&self, off: u64) -> u8 {
        self.device_read(off).unwrap_or(0xff)
    }

    fn config_u16(&self, off: u64) -> u16 {
        self.device_read(off).unwrap_or(0xffff)
    }

    fn config_u32(&self, off: u64) -> u32 {
        self.device_read(off).unwrap_or(u32::MAX)
    }
}
