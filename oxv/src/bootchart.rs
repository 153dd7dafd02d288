//! `--bootchart`: where the time of one run went, in microseconds.
//!
//! Two clocks meet here. The host measures `VMM start` (just before QEMU is
//! spawned, the origin) and `VM gone` (QEMU has exited). The guest measures
//! its points with its TSC, relative to its own first instruction, and
//! sends them in a `BootChart` record with the TSC frequency it calibrated.
//! The two clocks are not aligned, so guest points are printed as
//! `+N us after kernel entry`, and kernel entry itself only as an upper
//! bound on the host clock: `VM gone` minus the guest's time from kernel
//! entry to program exit. Output (one line per point, on stderr):
//!
//! ```text
//! bootchart: VMM start            0 us
//! bootchart: kernel entry    <=25012 us (VM gone - guest time; clocks not aligned)
//! bootchart: memory ready      +153 us after kernel entry
//! bootchart: program start     +480 us after kernel entry
//! bootchart: program exit     +1020 us after kernel entry
//! bootchart: VM gone          26100 us
//! ```

use std::fmt::Write;
use std::time::Duration;

use oxv_abi::bootchart::BootChart;

/// Host and guest timestamps of one run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timeline {
    /// From VMM start (QEMU spawn) to QEMU's exit, on the host clock.
    pub vm_gone: Duration,
    /// The guest's record, if it sent one.
    pub guest: Option<BootChart>,
}

fn line(out: &mut String, label: &str, value: &str, note: &str) {
    let _ = writeln!(out, "bootchart: {label:<13} {value:>8} us{note}");
}

/// The `--bootchart` report (several lines, each ending in a newline).
pub fn format(t: &Timeline) -> String {
    let mut out = String::new();
    let gone_us = t.vm_gone.as_micros();
    line(&mut out, "VMM start", "0", "");
    match t.guest {
        None => {
            let _ = writeln!(out, "bootchart: (the guest sent no boot chart)");
        }
        Some(g) if g.tsc_hz == 0 => {
            let _ = writeln!(
                out,
                "bootchart: (guest TSC frequency unknown; raw ticks after kernel entry: \
                 memory ready +{}, program start +{}, program exit +{})",
                g.memory_ready.saturating_sub(g.kernel_entry),
                g.program_start.saturating_sub(g.kernel_entry),
                g.program_exit.saturating_sub(g.kernel_entry)
            );
        }
        Some(g) => {
            let us = |tsc: u64| g.micros_since_entry(tsc).unwrap_or(0.0).round() as u128;
            if g.program_exit != 0 {
                let bound = gone_us.saturating_sub(us(g.program_exit));
                line(
                    &mut out,
                    "kernel entry",
                    &format!("<={bound}"),
                    " (VM gone - guest time; clocks not aligned)",
                );
            } else {
                line(&mut out, "kernel entry", "?", " (not on the host clock)");
            }
            for (label, tsc) in [
                ("memory ready", g.memory_ready),
                ("program start", g.program_start),
                ("program exit", g.program_exit),
            ] {
                if tsc != 0 {
                    line(
                        &mut out,
                        label,
                        &format!("+{}", us(tsc)),
                        " after kernel entry",
                    );
                }
            }
        }
    }
    line(&mut out, "VM gone", &gone_us.to_string(), "");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_chart() {
        let t = Timeline {
            vm_gone: Duration::from_micros(26_100),
            guest: Some(BootChart {
                tsc_hz: 2_000_000_000,
                kernel_entry: 1_000,
                memory_ready: 1_000 + 306_000,
                program_start: 1_000 + 960_000,
                program_exit: 1_000 + 2_040_000,
            }),
        };
        assert_eq!(
            format(&t),
            "bootchart: VMM start            0 us\n\
             bootchart: kernel entry   <=25080 us (VM gone - guest time; clocks not aligned)\n\
             bootchart: memory ready      +153 us after kernel entry\n\
             bootchart: program start     +480 us after kernel entry\n\
             bootchart: program exit     +1020 us after kernel entry\n\
             bootchart: VM gone          26100 us\n"
        );
    }

    #[test]
    fn without_guest_record_or_frequency() {
        let t = Timeline {
            vm_gone: Duration::from_millis(30),
            guest: None,
        };
        let s = format(&t);
        assert!(s.contains("sent no boot chart"), "{s}");
        assert!(s.ends_with("VM gone          30000 us\n"), "{s}");
        let t = Timeline {
            vm_gone: Duration::from_millis(30),
            guest: Some(BootChart {
                tsc_hz: 0,
                kernel_entry: 5,
                memory_ready: 10,
                program_start: 20,
                program_exit: 30,
            }),
        };
        let s = format(&t);
        assert!(s.contains("raw ticks"), "{s}");
        assert!(s.contains("program exit +25"), "{s}");
    }
}
