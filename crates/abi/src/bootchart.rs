//! Guest-side boot-chart timestamps (`oxv run --bootchart`).
//!
//! The guest measures with its TSC and sends raw counts plus the TSC
//! frequency it calibrated; the host converts to microseconds and adds its
//! own host-clock points (VMM start, VM gone).

use crate::bytes::Reader;

/// Guest timestamps, in TSC ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BootChart {
    /// TSC ticks per second as the guest measured it (0 if unknown).
    pub tsc_hz: u64,
    /// First instruction of the kernel (32-bit PVH entry).
    pub kernel_entry: u64,
    /// Frame allocator, page tables and heap ready.
    pub memory_ready: u64,
    /// Just before the program's first instruction.
    pub program_start: u64,
    /// The program called exit (or was killed).
    pub program_exit: u64,
}

/// Encoded size of a [`BootChart`].
pub const BOOTCHART_LEN: usize = 5 * 8;

impl BootChart {
    /// Encodes the record.
    pub fn encode(&self) -> [u8; BOOTCHART_LEN] {
        let mut out = [0u8; BOOTCHART_LEN];
        let fields = [
            self.tsc_hz,
            self.kernel_entry,
            self.memory_ready,
            self.program_start,
            self.program_exit,
        ];
        for (i, f) in fields.iter().enumerate() {
            out[i * 8..i * 8 + 8].copy_from_slice(&f.to_le_bytes());
        }
        out
    }

    /// Decodes a record; `None` if it is short.
    pub fn decode(buf: &[u8]) -> Option<Self> {
        let mut r = Reader::new(buf);
        Some(Self {
            tsc_hz: r.u64()?,
            kernel_entry: r.u64()?,
            memory_ready: r.u64()?,
            program_start: r.u64()?,
            program_exit: r.u64()?,
        })
    }

    /// Microseconds from kernel entry to `tsc`, if the frequency is known.
    pub fn micros_since_entry(&self, tsc: u64) -> Option<f64> {
        if self.tsc_hz == 0 {
            return None;
        }
        Some(tsc.saturating_sub(self.kernel_entry) as f64 * 1e6 / self.tsc_hz as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_micros() {
        let b = BootChart {
            tsc_hz: 1_000_000_000,
            kernel_entry: 1000,
            memory_ready: 2000,
            program_start: 501_000,
            program_exit: 2_001_000,
        };
        let d = BootChart::decode(&b.encode()).unwrap();
        assert_eq!(d, b);
        assert_eq!(d.micros_since_entry(d.program_start), Some(500.0));
        assert_eq!(BootChart::decode(&[0; 39]), None);
    }
}
