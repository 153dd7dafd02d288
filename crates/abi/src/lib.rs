//! Types shared by the oxv kernel (guest) and the `oxv` host tool.
//!
//! Everything that crosses the VM boundary is defined here, once, as plain
//! little-endian byte layouts with encode/decode functions that never panic on
//! bad input:
//! - [`launch`]: the launch record the host hands the kernel as a PVH module
//!   (program bytes, argv, envp, boot options, entropy, wall clock).
//! - [`console`]: framing of the single serial line into channels (stdout,
//!   stderr, kernel log, exit, boot chart) and of the host's stdin.
//! - [`exit`]: the exit record the kernel sends last, and the host's exit codes.
//! - [`bootchart`]: the guest timestamps printed by `oxv run --bootchart`.
//!
//! The crate is `no_std` and allocation-free so the kernel can use it
//! directly; the host-only encoders are behind the `std` feature.
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]

pub mod bootchart;
pub mod console;
pub mod errno;
pub mod exit;
pub mod launch;

mod bytes;
