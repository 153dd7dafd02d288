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

/// A 16-bit I/O port.
#[derive(Debug, Clone, Copy)]
pub struct Port16(u16);

impl Port16 {
    /// The port at `port`.
    pub const fn new(port: u16) -> Self {
        Self(port)
    }

    /// Reads a word.
    pub fn read(self) -> u16 {
        let v: u16;
        // SAFETY: port reads only affect the device that owns the port.
        unsafe { asm!("in ax, dx", in("dx") self.0, out("ax") v, options(nomem, nostack)) };
        v
    }

    /// Writes a word.
    pub fn write(self, v: u16) {
        // SAFETY: port writes only affect the device that owns the port.
        unsafe { asm!("out dx, ax", in("dx") self.0, in("ax") v, options(nomem, nostack)) };
    }
}

/// A 32-bit I/O port (e.g. PCI configuration mechanism #1 at 0xcf8/0xcfc).
#[derive(Debug, Clone, Copy)]
pub struct Port32(u16);

impl Port32 {
    /// The port at `port`.
    pub const fn new(port: u16) -> Self {
        Self(port)
    }

    /// Reads a double word.
    pub fn read(self) -> u32 {
        let v: u32;
        // SAFETY: port reads only affect the device that owns the port.
        unsafe { asm!("in eax, dx", in("dx") self.0, out("eax") v, options(nomem, nostack)) };
        v
    }

    /// Writes a double word.
    pub fn write(self, v: u32) {
        // SAFETY: port writes only affect the device that owns the port.
        unsafe { asm!("out dx, eax", in("dx") self.0, in("eax") v, options(nomem, nostack)) };
    }
}

/// A memory-mapped device register of width `T` (u8, u16, u32 or u64) at a
/// physical address the kernel mapped uncached in the direct map.
#[derive(Debug, Clone, Copy)]
pub struct Mmio<T> {
    addr: u64,
    _t: core::marker::PhantomData<T>,
}

/// Register widths [`Mmio`] supports.
pub trait MmioWidth: Copy + sealed::Sealed {}

mod sealed {
    pub trait Sealed {}
    impl Sealed for u8 {}
    impl Sealed for u16 {}
    impl Sealed for u32 {}
    impl Sealed for u64 {}
}

impl MmioWidth for u8 {}
impl MmioWidth for u16 {}
impl MmioWidth for u32 {}
impl MmioWidth for u64 {}

impl<T: MmioWidth> Mmio<T> {
    /// The register at physical address `pa`; `pa` must be aligned to the
    /// register width (checked; a misaligned address yields `None`).
    pub fn at_phys(pa: u64) -> Option<Self> {
        if !pa.is_multiple_of(core::mem::size_of::<T>() as u64) {
            return None;
        }
        Some(Self {
            addr: super::paging::phys_to_virt(pa),
            _t: core::marker::PhantomData,
        })
    }

    /// Reads the register.
    pub fn read(self) -> T {
        // SAFETY: aligned (checked in at_phys) device memory that the kernel
        // mapped uncached before creating handles for it.
        unsafe { core::ptr::read_volatile(self.addr as *const T) }
    }

    /// Writes the register.
    pub fn write(self, v: T) {
        // SAFETY: as for read.
        unsafe { core::ptr::write_volatile(self.addr as *mut T, v) };
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
