//! Ending the VM: the exit record (and boot chart) go to the host, then the
//! VM powers off through isa-debug-exit. The program is the VM's only
//! process, so its end is the VM's end, whichever thread gets there.

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use oxv_abi::bootchart::BootChart;
use oxv_abi::console::GuestChannel;
use oxv_abi::exit::{ExitKind, ExitRecord, DEBUG_EXIT_OK, DEBUG_EXIT_PORT};

use crate::drivers::console;
use crate::linux::run::Ending;

static ENTRY: AtomicU64 = AtomicU64::new(0);
static MEMORY_READY: AtomicU64 = AtomicU64::new(0);
static PROGRAM_START: AtomicU64 = AtomicU64::new(0);
static BOOTCHART: AtomicBool = AtomicBool::new(false);
static FINISHING: AtomicBool = AtomicBool::new(false);

/// Boot-chart points recorded during boot.
pub(crate) fn record_boot(entry: u64, memory_ready: u64, bootchart: bool) {
    ENTRY.store(entry, Ordering::Relaxed);
    MEMORY_READY.store(memory_ready, Ordering::Relaxed);
    BOOTCHART.store(bootchart, Ordering::Relaxed);
}

/// The program is about to run its first instruction.
pub(crate) fn record_program_start() {
    PROGRAM_START.store(oxv_hal::rdtsc(), Ordering::Relaxed);
}

/// Powers the VM off with `code` for isa-debug-exit.
pub(crate) fn power_off(code: u8) -> ! {
    oxv_hal::debug_exit(DEBUG_EXIT_PORT, code);
    loop {
        oxv_hal::halt();
    }
}

/// Sends `rec` as the last frame and powers off.
pub(crate) fn finish_record(rec: ExitRecord) -> ! {
    console::send(GuestChannel::Exit, &rec.encode());
    power_off(DEBUG_EXIT_OK)
}

/// The program ended: report how, then power off. Only the first caller
/// reports; others (threads racing to exit) just stop.
pub(crate) fn finish(ending: Ending) -> ! {
    let program_exit = oxv_hal::rdtsc();
    if FINISHING.swap(true, Ordering::AcqRel) {
        loop {
            oxv_hal::halt();
        }
    }
    crate::linux::syscall::log_counts();
    if BOOTCHART.load(Ordering::Relaxed) {
        let chart = BootChart {
            tsc_hz: oxv_hal::tsc_hz(),
            kernel_entry: ENTRY.load(Ordering::Relaxed),
            memory_ready: MEMORY_READY.load(Ordering::Relaxed),
            program_start: PROGRAM_START.load(Ordering::Relaxed),
            program_exit,
        };
        console::send(GuestChannel::BootChart, &chart.encode());
    }
    let rec = match ending {
        Ending::Exited(code) => ExitRecord {
            kind: ExitKind::Exited,
            code,
            signal: 0,
            fault_addr: 0,
            rip: 0,
        },
        Ending::Killed {
            sig,
            fault_addr,
            rip,
        } => ExitRecord {
            kind: ExitKind::Signaled,
            code: 0,
            signal: sig,
            fault_addr,
            rip,
        },
        Ending::OutOfMemory { fault_addr, rip } => ExitRecord {
            kind: ExitKind::OutOfMemory,
            code: 0,
            signal: 9,
            fault_addr,
            rip,
        },
    };
    finish_record(rec)
}
