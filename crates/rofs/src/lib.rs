//! oxv-rofs: the compressed read-only image format (work in progress).
#![no_std]
#![forbid(unsafe_code)]
