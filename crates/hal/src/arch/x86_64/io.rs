//! Port I/O and memory-mapped I/O registers.

use core::arch::asm;

/// An 8-bit I/O port.
#[derive(Debug, Clone, Copy)]
pub struct Port8(u16);

impl Port8 {
    /// The port at `port`. Device drivers own their port ranges.
    pub const fn new(port: u16) -> Self {
        Self(port)
    }

    /// Reads a byte.
    pub fn read(self) -> u8 {
        let v: u8;
        // SAFETY: port reads only affect the device that owns the port.
        unsafe { asm!("in al, dx", in("dx") self.0, out("al") v, options(nomem, nostack)) };
        v
    }

    /// Writes a byte.
    pub fn write(self, v: u8) {
        // SAFETY: port writes only affect the device that owns the port.
        unsafe { asm!("out dx, al", in("dx") self.0, in("al") v, options(nomem, nostack)) };
    }
}

/// A 32-bit memory-mapped register at a direct-map virtual address.
#[derive(Debug, Clone, Copy)]
pub struct Mmio32(u64);

impl Mmio32 {
    /// The register at physical address `pa` (mapped uncached by the kernel).
    pub fn at_phys(pa: u64) -> Self {
        Self(super::paging::phys_to_virt(pa))
    }

    /// Reads the register.
    pub fn read(self) -> u32 {
        // SAFETY: the kernel maps device pages uncached in the direct map
        // before creating Mmio32 handles for them.
        unsafe { core::ptr::read_volatile(self.0 as *const u32) }
    }

    /// Writes the register.
    pub fn write(self, v: u32) {
        // SAFETY: as for read.
        unsafe { core::ptr::write_volatile(self.0 as *mut u32, v) };
    }
}

/// Ends the VM through QEMU's isa-debug-exit device (if present).
pub fn debug_exit(port: u16, value: u8) {
    Port8::new(port).write(value);
}
