//! The QEMU command line for one run.
//!
//! [`QemuSpec`] holds the decisions (machine, accelerator, memory, CPUs,
//! kernel and launch-record files) and [`QemuSpec::args`] turns them into
//! arguments. The serial port is QEMU's stdio (framed by `oxv_abi::console`),
//! `isa-debug-exit` at port 0xf4 lets the kernel end the VM with a status,
//! and `-no-reboot` turns a triple fault into an exit instead of a loop.
//! The binary is `qemu-system-x86_64` from `PATH`, or `OXV_QEMU`.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::config::{Accel, Machine, MemSize};

/// Default QEMU binary.
pub const QEMU: &str = "qemu-system-x86_64";
/// qboot firmware as Debian's qemu-system-x86 ships it (fast `-bios` for q35).
pub const QBOOT: &str = "/usr/share/qemu/qboot.rom";
/// `-M` value for microvm: no option ROMs, no legacy timers or PIC, no ACPI
/// (devices come on the kernel command line, CPUs from qboot's MP table),
/// one ISA serial port.
pub const MICROVM: &str =
    "microvm,x-option-roms=off,pit=off,pic=off,rtc=off,isa-serial=on,acpi=off";

/// Where the QEMU binary name came from (for the "not found" message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QemuOrigin {
    /// The default, `qemu-system-x86_64` from `PATH`.
    Default,
    /// The `OXV_QEMU` environment variable.
    Env,
    /// [`crate::RunConfig::qemu`].
    Config,
}

/// The QEMU binary to run: `configured`, else `OXV_QEMU`, else [`QEMU`].
pub fn binary(configured: Option<&Path>) -> (OsString, QemuOrigin) {
    if let Some(p) = configured {
        return (p.as_os_str().to_owned(), QemuOrigin::Config);
    }
    match std::env::var_os("OXV_QEMU").filter(|v| !v.is_empty()) {
        Some(b) => (b, QemuOrigin::Env),
        None => (QEMU.into(), QemuOrigin::Default),
    }
}

/// Everything that shapes the QEMU command line.
#[derive(Debug, Clone)]
pub struct QemuSpec {
    /// Machine type.
    pub machine: Machine,
    /// Accelerator (already resolved).
    pub accel: Accel,
    /// Guest RAM.
    pub mem: MemSize,
    /// Virtual CPUs.
    pub cpus: u32,
    /// Kernel ELF (`-kernel`, PVH entry).
    pub kernel: PathBuf,
    /// Launch record (`-initrd`, the first PVH module).
    pub initrd: PathBuf,
    /// Firmware for q35; `None` keeps QEMU's default (SeaBIOS, slow).
    pub q35_bios: Option<PathBuf>,
}

impl QemuSpec {
    /// The qboot ROM if it is installed.
    pub fn find_qboot() -> Option<PathBuf> {
        let p = Path::new(QBOOT);
        p.is_file().then(|| p.to_path_buf())
    }

    /// QEMU arguments (without the binary).
    pub fn args(&self) -> Vec<OsString> {
        let mut a: Vec<OsString> = Vec::new();
        let mut push = |s: &str| a.push(s.into());
        match self.machine {
            Machine::Microvm => {
                push("-M");
                push(MICROVM);
            }
            Machine::Q35 => {
                push("-M");
                push("q35");
            }
        }
        push("-accel");
        push(self.accel.name());
        push("-cpu");
        push(match self.accel {
            Accel::Kvm => "host",
            Accel::Tcg => "max",
        });
        push("-m");
        push(&self.mem.qemu_arg());
        push("-smp");
        push(&self.cpus.to_string());
        for s in [
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-serial",
            "stdio",
        ] {
            push(s);
        }
        if let (Machine::Q35, Some(bios)) = (self.machine, &self.q35_bios) {
            a.push("-bios".into());
            a.push(bios.into());
        }
        a.push("-kernel".into());
        a.push(self.kernel.as_os_str().to_owned());
        a.push("-initrd".into());
        a.push(self.initrd.as_os_str().to_owned());
        for s in [
            "-device",
            "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-no-reboot",
        ] {
            a.push(s.into());
        }
        a
    }
}

/// QEMU arguments attaching `image` as a read-only virtio block device
/// (`virtio-blk-device` on microvm, `virtio-blk-pci` on q35), the root
/// image of a run that does not pass it in memory.
pub fn root_drive_args(machine: Machine, image: &Path) -> Vec<OsString> {
    let mut a: Vec<OsString> = Vec::new();
    // QEMU option syntax: a comma inside a value is written twice.
    let mut drive = OsString::from("file=");
    drive.push(OsStr::from_bytes(
        &image
            .as_os_str()
            .as_bytes()
            .iter()
            .flat_map(|&b| if b == b',' { vec![b','; 2] } else { vec![b] })
            .collect::<Vec<u8>>(),
    ));
    drive.push(",if=none,format=raw,readonly=on,id=rootfs");
    a.push("-drive".into());
    a.push(drive);
    if machine == Machine::Microvm {
        // QEMU's virtio-mmio transport is legacy (version 1) unless told
        // otherwise; the kernel speaks virtio 1.x (version 2) only.
        a.push("-global".into());
        a.push("virtio-mmio.force-legacy=false".into());
    }
    a.push("-device".into());
    a.push(match machine {
        Machine::Microvm => "virtio-blk-device,drive=rootfs".into(),
        Machine::Q35 => "virtio-blk-pci,drive=rootfs".into(),
    });
    a
}

/// A shell-like rendering of a command line, for `--verbose`.
pub fn display_command(binary: &OsStr, args: &[OsString]) -> String {
    std::iter::once(binary)
        .chain(args.iter().map(OsString::as_os_str))
        .map(|w| {
            let s = w.to_string_lossy();
            let plain = !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_=,./:@+%".contains(c));
            if plain {
                s.into_owned()
            } else {
                format!("'{}'", s.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(machine: Machine, accel: Accel) -> QemuSpec {
        QemuSpec {
            machine,
            accel,
            mem: MemSize(64 << 20),
            cpus: 1,
            kernel: "/c/k.elf".into(),
            initrd: "/t/launch".into(),
            q35_bios: Some(QBOOT.into()),
        }
    }

    fn joined(s: &QemuSpec) -> String {
        display_command(OsStr::new(QEMU), &s.args())
    }

    #[test]
    fn microvm_tcg() {
        assert_eq!(
            joined(&spec(Machine::Microvm, Accel::Tcg)),
            "qemu-system-x86_64 -M microvm,x-option-roms=off,pit=off,pic=off,rtc=off,isa-serial=on,acpi=off \
             -accel tcg -cpu max -m 64M -smp 1 -nodefaults -no-user-config -display none \
             -serial stdio -kernel /c/k.elf -initrd /t/launch \
             -device isa-debug-exit,iobase=0xf4,iosize=0x04 -no-reboot"
        );
    }

    #[test]
    fn kvm_uses_host_cpu() {
        let j = joined(&QemuSpec {
            cpus: 4,
            mem: MemSize(1 << 30),
            ..spec(Machine::Microvm, Accel::Kvm)
        });
        assert!(j.contains(" -accel kvm -cpu host -m 1G -smp 4 "), "{j}");
    }

    #[test]
    fn q35_with_and_without_qboot() {
        let j = joined(&spec(Machine::Q35, Accel::Tcg));
        assert!(j.starts_with("qemu-system-x86_64 -M q35 -accel tcg"), "{j}");
        assert!(
            j.contains(" -bios /usr/share/qemu/qboot.rom -kernel /c/k.elf "),
            "{j}"
        );
        let j = joined(&QemuSpec {
            q35_bios: None,
            ..spec(Machine::Q35, Accel::Tcg)
        });
        assert!(!j.contains("-bios"), "{j}");
        // microvm never gets -bios (its default firmware is qboot already).
        assert!(!joined(&spec(Machine::Microvm, Accel::Tcg)).contains("-bios"));
    }

    #[test]
    fn root_image_as_a_virtio_block_device() {
        let with = |machine| {
            let s = spec(machine, Accel::Tcg);
            let mut args = s.args();
            args.extend(root_drive_args(machine, Path::new("/c/images/a,b.rofs")));
            display_command(OsStr::new(QEMU), &args)
        };
        let j = with(Machine::Microvm);
        assert!(
            j.contains(
                " -drive file=/c/images/a,,b.rofs,if=none,format=raw,readonly=on,id=rootfs \
                 -global virtio-mmio.force-legacy=false \
                 -device virtio-blk-device,drive=rootfs"
            ),
            "{j}"
        );
        let j = with(Machine::Q35);
        assert!(j.ends_with(" -device virtio-blk-pci,drive=rootfs"), "{j}");
        assert!(!j.contains("force-legacy"), "{j}");
        assert!(!joined(&spec(Machine::Microvm, Accel::Tcg)).contains("-drive"));
    }

    #[test]
    fn quoting() {
        let args = vec![
            OsString::from("a b"),
            OsString::from("it's"),
            OsString::from(""),
        ];
        assert_eq!(
            display_command(OsStr::new("q"), &args),
            r"q 'a b' 'it'\''s' ''"
        );
    }
}
