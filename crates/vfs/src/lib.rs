//! oxv-vfs: the kernel's virtual file system core as pure logic.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
