//! Device-visible memory, addressed physically.
//!
//! Virtqueue parts and request buffers live in memory the device reads and
//! writes by DMA (2.7: "each part is physically-contiguous in guest
//! memory"). [`DmaMemory`] is how the ring code reaches it: the kernel
//! implements it over the direct map (`oxv_hal::read_phys`/`write_phys`),
//! tests implement it over a `Vec<u8>`. All multi-byte fields are
//! little-endian (2.7.3 notes that only legacy interfaces use guest-native
//! endianness).

/// Byte access to device-visible memory by physical address.
///
/// Implementations copy; they never hand out references, because the
/// device may change the memory at any time.
pub trait DmaMemory {
    /// Copies `out.len()` bytes from physical address `pa`.
    fn read(&self, pa: u64, out: &mut [u8]);
    /// Copies `data` to physical address `pa`.
    fn write(&self, pa: u64, data: &[u8]);
    /// Orders the driver's earlier memory accesses before its later ones,
    /// as seen by the device (the spec's "suitable memory barrier",
    /// 2.7.13.3.1 and 2.7.14).
    fn barrier(&self) {}

    /// Reads a little-endian u16.
    fn read_u16(&self, pa: u64) -> u16 {
        let mut b = [0; 2];
        self.read(pa, &mut b);
        u16::from_le_bytes(b)
    }

    /// Reads a little-endian u32.
    fn read_u32(&self, pa: u64) -> u32 {
        let mut b = [0; 4];
        self.read(pa, &mut b);
        u32::from_le_bytes(b)
    }

    /// Writes a little-endian u16.
    fn write_u16(&self, pa: u64, v: u16) {
        self.write(pa, &v.to_le_bytes());
    }
}

impl<M: DmaMemory + ?Sized> DmaMemory for &M {
    fn read(&self, pa: u64, out: &mut [u8]) {
        (**self).read(pa, out);
    }
    fn write(&self, pa: u64, data: &[u8]) {
        (**self).write(pa, data);
    }
    fn barrier(&self) {
        (**self).barrier();
    }
}
