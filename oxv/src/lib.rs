//! `oxv`, the host tool: runs one unmodified static Linux x86-64 program in
//! its own oxv unikernel VM under QEMU.
//!
//! The binary is a thin `main` over this library ([`cli::main`]), so tests
//! and benchmarks run programs through the same code a user does:
//!
//! ```no_run
//! let mut cfg = oxv::RunConfig::new("/bin/busybox");
//! cfg.args = vec!["echo".into(), "hello".into()];
//! let (stdio, stdout, _stderr) = oxv::Stdio::capture();
//! let report = oxv::run(&cfg, stdio).expect("host failure");
//! assert_eq!(report.ending.exit_code(), 0);
//! assert_eq!(stdout.contents(), b"hello\n");
//! ```
//!
//! One module per job: [`cli`] (options and the binary's main), [`config`]
//! ([`RunConfig`]), [`kernel`] (the embedded kernel, its cache file and
//! symbols), [`program`] (checks before booting), [`launch`] (the launch
//! record), [`accel`] (KVM or TCG), [`qemu`] (the command line),
//! [`console`] (demultiplexing the serial console, how a run ended),
//! [`stdin`] (forwarding stdin), [`bootchart`] (`--bootchart`), [`vm`]
//! (running it all), [`root`] (program bytes or a root image), [`image`] (root images: inputs, cache, building),
//! [`manifest`] (`oxv build --manifest`), [`ls`] (`oxv ls`) and [`error`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod accel;
pub mod bootchart;
pub mod cli;
pub mod config;
pub mod console;
pub mod error;
pub mod image;
pub mod kernel;
pub mod launch;
pub mod ls;
pub mod manifest;
pub mod program;
pub mod qemu;
pub mod root;
pub mod stdin;
pub mod vm;

pub use config::{Accel, AccelChoice, Machine, MemSize, RunConfig};
pub use console::Ending;
pub use error::Error;
pub use vm::{run, Capture, Report, Stdio};
