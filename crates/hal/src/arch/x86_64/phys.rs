//! Access to physical memory through the direct map.
//!
//! These functions trust the kernel's frame ownership: they must only be
//! given frames the caller owns (allocated from the frame allocator, or boot
//! data such as the launch module).

use super::paging::phys_to_virt;

/// Fills the 4 KiB frame at `pa` with zeros.
pub fn zero_frame(pa: u64) {
    // SAFETY: the caller owns the frame; it is mapped in the direct map.
    unsafe { core::ptr::write_bytes(phys_to_virt(pa) as *mut u8, 0, 4096) };
}

/// Copies `data` to physical address `pa`.
pub fn write_phys(pa: u64, data: &[u8]) {
    // SAFETY: the caller owns `pa..pa+len`; it is mapped in the direct map
    // and cannot overlap `data` (a kernel heap or image buffer).
    unsafe {
        core::ptr::copy_nonoverlapping(data.as_ptr(), phys_to_virt(pa) as *mut u8, data.len())
    };
}

/// Copies from physical address `pa` into `out`.
pub fn read_phys(pa: u64, out: &mut [u8]) {
    // SAFETY: as for write_phys.
    unsafe {
        core::ptr::copy_nonoverlapping(phys_to_virt(pa) as *const u8, out.as_mut_ptr(), out.len())
    };
}

/// Copies one whole frame to another.
pub fn copy_frame(dst: u64, src: u64) {
    // SAFETY: the caller owns both distinct frames.
    unsafe {
        core::ptr::copy_nonoverlapping(
            phys_to_virt(src) as *const u8,
            phys_to_virt(dst) as *mut u8,
            4096,
        )
    };
}

/// A read-only view of boot-provided physical memory (modules, command line)
/// that stays reserved for the kernel's lifetime.
pub fn boot_slice(pa: u64, len: usize) -> &'static [u8] {
    // SAFETY: boot data is reserved in the frame allocator and never written.
    unsafe { core::slice::from_raw_parts(phys_to_virt(pa) as *const u8, len) }
}

/// A mutable word array over `words` u64s at `pa`; used once at boot for the
/// frame allocator's bitmap, which the kernel reserves before use.
pub fn boot_words_mut(pa: u64, words: usize) -> &'static mut [u64] {
    // SAFETY: called once per region by the memory manager with a region it
    // reserved for this purpose; nothing else aliases it.
    unsafe { core::slice::from_raw_parts_mut(phys_to_virt(pa) as *mut u64, words) }
}

/// Full memory barrier: orders device-visible memory writes (DMA rings)
/// against MMIO doorbells.
pub fn dma_barrier() {
    core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
}

/// The 4 KiB frame at `pa` as 512 atomic words, for a frame the kernel
/// allocated once and keeps for its whole lifetime while sharing it with
/// user mappings (the vDSO's vvar page): the kernel updates it with atomic
/// stores while programs read it.
pub fn shared_frame_words(pa: u64) -> &'static [core::sync::atomic::AtomicU64; 512] {
    assert!(
        pa.is_multiple_of(4096),
        "shared frame {pa:#x} not page aligned"
    );
    // SAFETY: the caller owns the frame for the rest of the kernel's life
    // and reaches it only through this view; it is mapped in the direct
    // map, page aligned (so 8-byte aligned), and every access goes through
    // atomics, so sharing it between CPUs (and with user-mode readers) is
    // sound.
    unsafe { &*(phys_to_virt(pa) as *const [core::sync::atomic::AtomicU64; 512]) }
}
