//! Memory management: physical frames, the kernel's own address space, the
//! heap's page source, and user address spaces with demand paging.
//!
//! Boot order: [`frames::init`] (frame allocator over the PVH memory map),
//! [`kernel_space::init`] (direct map, kernel image with per-section
//! permissions, guard page under the boot stack), then the heap is connected.

pub(crate) mod frames;
pub(crate) mod kernel_space;
pub(crate) mod user_space;
