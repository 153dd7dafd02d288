//! The oxv kernel: boots as a PVH guest and runs one Linux program.
#![no_std]
#![no_main]
#![deny(unsafe_code)]

mod drivers;
mod log;

use oxv_abi::console::GuestChannel;
use oxv_abi::exit::{ExitKind, ExitRecord, DEBUG_EXIT_OK, DEBUG_EXIT_PORT};
use oxv_hal::boot_info::BootInfo;

oxv_hal::entry!(kmain);

#[global_allocator]
static HEAP: oxv_hal::heap::KernelHeap = oxv_hal::heap::KernelHeap::new();

fn kmain(info: BootInfo) -> ! {
    drivers::serial::init();
    drivers::console::send(GuestChannel::Stdout, b"hello from oxv\n");
    log::emit(format_args!("regions {} modules {} valid {}", info.regions().len(), info.modules().len(), info.valid));
    for r in info.regions() {
        log::emit(format_args!("  {:#x}-{:#x} {:?}", r.start, r.end, r.kind));
    }
    let rec = ExitRecord { kind: ExitKind::Exited, code: 7, signal: 0, fault_addr: 0, rip: 0 };
    drivers::console::send(GuestChannel::Exit, &rec.encode());
    oxv_hal::debug_exit(DEBUG_EXIT_PORT, DEBUG_EXIT_OK);
    loop {
        oxv_hal::halt();
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    log::emit(format_args!("kernel panic: {info}"));
    oxv_hal::debug_exit(DEBUG_EXIT_PORT, 1);
    loop {
        oxv_hal::halt();
    }
}
