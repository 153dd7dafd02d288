//! virtio-mmio devices named on the kernel command line.
//!
//! virtio-mmio (4.2) has no discovery mechanism of its own. QEMU's microvm
//! machine with `acpi=off` (and Firecracker) append one entry per device to
//! the command line, in the format of Linux's `virtio_mmio` module
//! parameter (drivers/virtio/virtio_mmio.c):
//!
//! ```text
//! virtio_mmio.device=<size>@<baseaddr>:<irq>[:<id>]
//! ```
//!
//! `size` takes the suffixes K, M, G (memparse); `baseaddr` is a C integer
//! (`0x` hex, leading `0` octal, else decimal); `irq` is decimal. Malformed
//! entries are skipped, never fatal: the command line is input from outside.

/// One virtio-mmio register window from the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MmioDevice {
    /// Physical base address of the register page.
    pub base: u64,
    /// Size of the register window in bytes.
    pub size: u64,
    /// Interrupt line (I/O APIC pin on x86).
    pub irq: u32,
}

const KEY: &[u8] = b"virtio_mmio.device=";

/// The virtio-mmio devices named on `cmdline`, in order.
pub fn mmio_devices(cmdline: &[u8]) -> impl Iterator<Item = MmioDevice> + '_ {
    cmdline
        .split(|b| b.is_ascii_whitespace() || *b == 0)
        .filter_map(|w| w.strip_prefix(KEY))
        .filter_map(parse_entry)
}

/// Parses `<size>@<baseaddr>:<irq>[:<id>]`.
pub fn parse_entry(s: &[u8]) -> Option<MmioDevice> {
    let (size, rest) = memparse(s)?;
    let rest = rest.strip_prefix(b"@")?;
    let (base, rest) = c_integer(rest)?;
    let rest = rest.strip_prefix(b":")?;
    let (irq, rest) = number(rest, 10)?;
    let irq = u32::try_from(irq).ok()?;
    match rest {
        [] => {}
        [b':', id @ ..] => {
            // The platform device id: a (possibly negative) decimal.
            let id = id.strip_prefix(b"-").unwrap_or(id);
            let (_, tail) = number(id, 10)?;
            if !tail.is_empty() {
                return None;
            }
        }
        _ => return None,
    }
    if size == 0 || base.checked_add(size).is_none() {
        return None;
    }
    Some(MmioDevice { base, size, irq })
}

/// Digits in `radix` at the start of `s`: (value, rest). At least one digit.
fn number(s: &[u8], radix: u32) -> Option<(u64, &[u8])> {
    let n = s
        .iter()
        .take_while(|b| char::from(**b).is_digit(radix))
        .count();
    if n == 0 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in &s[..n] {
        let d = u64::from(char::from(b).to_digit(radix)?);
        v = v.checked_mul(u64::from(radix))?.checked_add(d)?;
    }
    Some((v, &s[n..]))
}

/// A C integer literal (strtoull base 0).
fn c_integer(s: &[u8]) -> Option<(u64, &[u8])> {
    if let Some(hex) = s.strip_prefix(b"0x").or_else(|| s.strip_prefix(b"0X")) {
        number(hex, 16)
    } else if s.first() == Some(&b'0') {
        number(s, 8)
    } else {
        number(s, 10)
    }
}

/// Linux `memparse`: a C integer with an optional K/M/G/T/P/E suffix.
fn memparse(s: &[u8]) -> Option<(u64, &[u8])> {
    let (v, rest) = c_integer(s)?;
    let shift = match rest.first().map(u8::to_ascii_uppercase) {
        Some(b'K') => 10,
        Some(b'M') => 20,
        Some(b'G') => 30,
        Some(b'T') => 40,
        Some(b'P') => 50,
        Some(b'E') => 60,
        _ => return Some((v, rest)),
    };
    let scaled = v.checked_mul(1u64.checked_shl(shift)?)?;
    if scaled >> shift != v {
        return None;
    }
    Some((scaled, &rest[1..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn all(s: &str) -> Vec<MmioDevice> {
        mmio_devices(s.as_bytes()).collect()
    }

    #[test]
    fn qemu_microvm_command_line() {
        let cl = "console=ttyS0 virtio_mmio.device=512@0xfeb00e00:12 virtio_mmio.device=512@0xfeb00c00:11";
        assert_eq!(
            all(cl),
            [
                MmioDevice {
                    base: 0xfeb0_0e00,
                    size: 512,
                    irq: 12
                },
                MmioDevice {
                    base: 0xfeb0_0c00,
                    size: 512,
                    irq: 11
                },
            ]
        );
    }

    #[test]
    fn firecracker_style_with_suffix_and_id() {
        assert_eq!(
            all("reboot=k virtio_mmio.device=4K@0xd0000000:5:3\tpci=off"),
            [MmioDevice {
                base: 0xd000_0000,
                size: 4096,
                irq: 5
            }]
        );
        assert_eq!(
            all("virtio_mmio.device=1m@4096:7:-1")[0],
            MmioDevice {
                base: 4096,
                size: 1 << 20,
                irq: 7
            }
        );
        assert_eq!(
            all("virtio_mmio.device=0x200@010:7")[0],
            MmioDevice {
                base: 8,
                size: 512,
                irq: 7
            }
        );
    }

    #[test]
    fn malformed_entries_are_skipped() {
        for bad in [
            "virtio_mmio.device=",
            "virtio_mmio.device=512",
            "virtio_mmio.device=512@",
            "virtio_mmio.device=512@0xfeb00e00",
            "virtio_mmio.device=512@0xfeb00e00:",
            "virtio_mmio.device=512@0xfeb00e00:x",
            "virtio_mmio.device=512@0xfeb00e00:12junk",
            "virtio_mmio.device=512@0xfeb00e00:12:",
            "virtio_mmio.device=512@0xfeb00e00:99999999999",
            "virtio_mmio.device=0@0x1000:1",
            "virtio_mmio.device=99999999999999999999@0x1000:1",
            "virtio_mmio.device=16E@0x1000:1",
            "virtio_mmio.device=4096@0xffffffffffffffff:1",
            "virtio_mmio.device=512@0x:1",
            "virtio_mmio.device=512@09:1",
            "xvirtio_mmio.device=512@0x1000:1",
        ] {
            assert_eq!(all(bad), [], "{bad}");
        }
        assert_eq!(
            all("virtio_mmio.device=512@0x1000:1\0virtio_mmio.device=512@0x2000:2").len(),
            2
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut x: u32 = 1;
        for _ in 0..20_000 {
            let mut s = Vec::from(&b"virtio_mmio.device="[..]);
            for _ in 0..(x % 24) {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                s.push(b"0123456789xXkKmM@:- \0abcdef"[(x >> 16) as usize % 27]);
            }
            let _ = mmio_devices(&s).count();
        }
    }
}
