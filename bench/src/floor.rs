//! The floor: QEMU booting a trivial PVH guest that writes 0 to the
//! isa-debug-exit port at once, with exactly the machine, accelerator and
//! device flags `oxv run` uses. The guest is a hand-made ELF (PVH note +
//! 6 bytes of 32-bit code), written to a file at start-up.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oxv::qemu::QemuSpec;
use oxv::{Accel, Machine, MemSize};

const LOAD: u64 = 0x10_0000;

/// An ELF64 executable with one PT_LOAD at 1 MiB and a XEN_ELFNOTE_PHYS32_ENTRY note.
fn trivial_pvh_elf() -> Vec<u8> {
    let note_off = 64 + 2 * 56;
    let code_off = note_off + 20;
    // xor eax,eax; out 0xf4,al; hlt; jmp hlt
    let code = [0x31, 0xc0, 0xe6, 0xf4, 0xf4, 0xeb, 0xfd];
    let total = code_off + code.len();
    let entry = LOAD + code_off as u64;
    let mut e = Vec::with_capacity(total);
    e.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
    e.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    e.extend_from_slice(&62u16.to_le_bytes()); // x86-64
    e.extend_from_slice(&1u32.to_le_bytes());
    e.extend_from_slice(&entry.to_le_bytes());
    e.extend_from_slice(&64u64.to_le_bytes()); // phoff
    e.extend_from_slice(&0u64.to_le_bytes()); // shoff
    e.extend_from_slice(&0u32.to_le_bytes()); // flags
    for v in [64u16, 56, 2, 64, 0, 0] {
        e.extend_from_slice(&v.to_le_bytes());
    }
    let phdr = |e: &mut Vec<u8>, ty: u32, flags: u32, off: u64, len: u64, align: u64| {
        e.extend_from_slice(&ty.to_le_bytes());
        e.extend_from_slice(&flags.to_le_bytes());
        e.extend_from_slice(&off.to_le_bytes());
        e.extend_from_slice(&(LOAD + off).to_le_bytes());
        e.extend_from_slice(&(LOAD + off).to_le_bytes());
        e.extend_from_slice(&len.to_le_bytes());
        e.extend_from_slice(&len.to_le_bytes());
        e.extend_from_slice(&align.to_le_bytes());
    };
    phdr(&mut e, 1, 7, 0, total as u64, 0x1000);
    phdr(&mut e, 4, 4, note_off as u64, 20, 4);
    for v in [4u32, 4, 18] {
        e.extend_from_slice(&v.to_le_bytes());
    }
    e.extend_from_slice(b"Xen\0");
    e.extend_from_slice(&(entry as u32).to_le_bytes());
    e.extend_from_slice(&code);
    e
}

/// The trivial guest and the QEMU command that boots it.
pub struct FloorGuest {
    args: Vec<OsString>,
}

impl FloorGuest {
    /// Writes the guest (and an empty initrd, as oxv passes one) into `dir`.
    pub fn new(dir: &Path) -> std::io::Result<Self> {
        let kernel: PathBuf = dir.join("floor.elf");
        let initrd: PathBuf = dir.join("floor.initrd");
        std::fs::write(&kernel, trivial_pvh_elf())?;
        std::fs::write(&initrd, [0u8; 64])?;
        let spec = QemuSpec {
            machine: Machine::Microvm,
            accel: Accel::Tcg,
            mem: MemSize(64 << 20),
            cpus: 1,
            kernel,
            initrd,
            q35_bios: None,
        };
        Ok(Self { args: spec.args() })
    }

    /// Boots it once; the wall time, if QEMU exited as the guest asked.
    pub fn run(&self) -> Option<Duration> {
        const DEADLINE: Duration = Duration::from_secs(10);
        let start = Instant::now();
        let mut child = Command::new(oxv::qemu::QEMU)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let status = loop {
            if let Some(s) = child.try_wait().ok()? {
                break s;
            }
            if start.elapsed() > DEADLINE {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_micros(200));
        };
        let d = start.elapsed();
        // isa-debug-exit: QEMU exits with (0 << 1) | 1.
        (status.code() == Some(1)).then_some(d)
    }
}
