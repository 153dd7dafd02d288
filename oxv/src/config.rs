//! [`RunConfig`]: everything that decides how one program runs in one VM.
//!
//! The CLI (`crate::cli`) builds it from `oxv run` options; tests and
//! benchmarks build it directly with [`RunConfig::new`] and field updates,
//! then call [`crate::run`].

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use crate::image::AddSpec;

/// Which accelerator QEMU uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AccelChoice {
    /// KVM when the CPU shows vmx/svm and /dev/kvm opens read-write, else TCG.
    Auto,
    /// KVM (`-accel kvm -cpu host`).
    Kvm,
    /// TCG, QEMU's instruction translator (`-accel tcg -cpu max`).
    Tcg,
}

/// The accelerator actually used (after resolving [`AccelChoice::Auto`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    /// Hardware virtualisation.
    Kvm,
    /// Software emulation.
    Tcg,
}

impl Accel {
    /// QEMU's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        }
    }
}

/// The QEMU machine type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Machine {
    /// QEMU's minimal virtio-mmio machine with qboot firmware (fastest boot).
    Microvm,
    /// A PCI machine (q35) booted through qboot.
    Q35,
}

/// Guest RAM size in bytes (a multiple of 4 KiB).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemSize(pub u64);

impl MemSize {
    /// The default, 64 MiB.
    pub const DEFAULT: MemSize = MemSize(64 << 20);

    /// The size as a QEMU `-m` value, in the largest binary unit that is exact.
    pub fn qemu_arg(self) -> String {
        const G: u64 = 1 << 30;
        const M: u64 = 1 << 20;
        const K: u64 = 1 << 10;
        match self.0 {
            b if b % G == 0 => format!("{}G", b / G),
            b if b % M == 0 => format!("{}M", b / M),
            b => format!("{}K", b / K),
        }
    }
}

/// How to run one program.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The program's host path.
    pub program: PathBuf,
    /// Arguments after the program (argv[1..]); argv[0] is `program` as given.
    pub args: Vec<OsString>,
    /// `KEY=VALUE` settings applied over the default environment, in order.
    pub env: Vec<(String, String)>,
    /// Guest RAM.
    pub mem: MemSize,
    /// Virtual CPUs.
    pub cpus: u32,
    /// Accelerator request.
    pub accel: AccelChoice,
    /// Machine type.
    pub machine: Machine,
    /// Stop the VM after this long (exit code `EXIT_TIMEOUT`).
    pub timeout: Option<Duration>,
    /// Forward kernel log lines to stderr and show the QEMU command line.
    pub verbose: bool,
    /// Ask the guest for boot-chart timestamps.
    pub bootchart: bool,
    /// QEMU binary; `None` means `OXV_QEMU`, else `qemu-system-x86_64` from `PATH`.
    pub qemu: Option<PathBuf>,
    /// Host files and trees added to the root image (`--add HOST:GUEST`).
    pub adds: Vec<AddSpec>,
    /// RAM file systems (`--tmpfs PATH[:SIZE]`): guest path and size in bytes.
    pub tmpfs: Vec<(String, Option<u64>)>,
    /// Working directory of the program (`--cwd`).
    pub cwd: Option<String>,
    /// Boot a plain program in a root image: `None` follows
    /// `OXV_ROOT_IMAGE` (default yes; `0` turns it off). An image file, or
    /// `--add`, always boots one.
    pub root_image: Option<bool>,
}

impl RunConfig {
    /// A configuration with every option at its default.
    pub fn new(program: impl Into<PathBuf>) -> Self {
        RunConfig {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            mem: MemSize::DEFAULT,
            cpus: 1,
            accel: AccelChoice::Auto,
            machine: Machine::Microvm,
            timeout: None,
            verbose: false,
            bootchart: false,
            qemu: None,
            adds: Vec::new(),
            tmpfs: Vec::new(),
            cwd: None,
            root_image: None,
        }
    }

    /// The program path as the user typed it, for messages.
    pub fn program_display(&self) -> String {
        self.program.to_string_lossy().into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_mem_arg() {
        assert_eq!(MemSize(64 << 20).qemu_arg(), "64M");
        assert_eq!(MemSize(1 << 30).qemu_arg(), "1G");
        assert_eq!(MemSize(3 << 29).qemu_arg(), "1536M");
        assert_eq!(MemSize(2052 << 10).qemu_arg(), "2052K");
    }
}
