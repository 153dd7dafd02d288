//! Memory-management logic of the oxv kernel that needs no hardware access,
//! so host `cargo test` can check it thoroughly.
//!
//! - [`frame`]: [`frame::FrameAllocator`], the physical 4 KiB frame allocator
//!   over a caller-provided bitmap. The kernel builds it at boot from the
//!   PVH memory map; `crates/hal` draws heap pages from it.
//! - [`size_class`]: the kernel heap's size classes (8 B .. 2 KiB, then whole
//!   pages), used by the global allocator in `crates/hal`.
//! - [`vma`]: [`vma::VmaMap`], the bookkeeping of one user address space with
//!   Linux `mmap`/`munmap`/`mprotect`/`mremap`/`brk` semantics. The kernel's
//!   memory syscalls and page-fault handler call it and then update the page
//!   tables from what it reports.
//!
//! The crate is `no_std`, uses `alloc` only in [`vma`], has no dependencies
//! and no `unsafe`.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod frame;
pub mod size_class;
pub mod vma;

/// Size of a base page and of a physical frame, in bytes.
pub const PAGE_SIZE: u64 = 4096;
/// `log2(PAGE_SIZE)`.
pub const PAGE_SHIFT: u32 = 12;

/// Rounds `addr` down to a page boundary.
#[inline]
pub const fn page_align_down(addr: u64) -> u64 {
    addr & !(PAGE_SIZE - 1)
}

/// Rounds `addr` up to a page boundary; `None` on overflow.
#[inline]
pub const fn page_align_up(addr: u64) -> Option<u64> {
    match addr.checked_add(PAGE_SIZE - 1) {
        Some(a) => Some(a & !(PAGE_SIZE - 1)),
        None => None,
    }
}

/// Whether `addr` is a multiple of [`PAGE_SIZE`].
#[inline]
pub const fn is_page_aligned(addr: u64) -> bool {
    addr & (PAGE_SIZE - 1) == 0
}
