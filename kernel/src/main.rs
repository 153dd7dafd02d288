//! The oxv kernel: boots as a PVH guest and runs one Linux program.
//!
//! Boot sequence: serial console, frame allocator and kernel page tables,
//! heap, launch record (program, argv, envp, options), clocks and RNG,
//! ELF load, then the run loop until the program exits. The exit record
//! goes to the host last and the VM powers off through isa-debug-exit.
#![no_std]
#![no_main]
#![deny(unsafe_code)]

extern crate alloc;

mod drivers;
mod fs;
mod linux;
mod log;
mod mm;
mod power;
mod random;
mod sched;
mod smp;

use alloc::sync::Arc;
use alloc::vec::Vec;

use oxv_abi::console::GuestChannel;
use oxv_abi::exit::{ExitKind, ExitRecord, DEBUG_EXIT_OK, DEBUG_EXIT_PANIC, DEBUG_EXIT_PORT};
use oxv_abi::launch::{
    LaunchRecord, FLAG_BOOTCHART, FLAG_ROOT_IMAGE, FLAG_STDERR_TTY, FLAG_STDIN_TTY,
    FLAG_STDOUT_TTY, FLAG_VERBOSE,
};
use oxv_hal::boot_info::BootInfo;
use oxv_hal::heap::KernelHeap;

use drivers::console;
use linux::process::{Process, TtyInfo};

oxv_hal::entry!(kmain);

#[global_allocator]
static HEAP: KernelHeap = KernelHeap::new();
static HEAP_PAGES: mm::frames::HeapPages = mm::frames::HeapPages;

/// Interrupt vector of the serial port.
const SERIAL_VECTOR: u8 = 0x24;

/// Every interrupt only wakes a halted CPU; the woken code checks what
/// changed (serial data, timer deadline).
fn on_interrupt(vector: u8) {
    if vector != oxv_hal::irq::SPURIOUS_VECTOR {
        oxv_hal::irq::eoi();
    }
    if vector == smp::TLB_VECTOR {
        smp::service_tlb();
    }
    linux::file::notify();
}

fn power_off(code: u8) -> ! {
    oxv_hal::debug_exit(DEBUG_EXIT_PORT, code);
    loop {
        oxv_hal::halt();
    }
}

fn finish(rec: ExitRecord) -> ! {
    console::send(GuestChannel::Exit, &rec.encode());
    power_off(DEBUG_EXIT_OK)
}

/// Refuses to run: the reason is the last log line the host shows.
fn fail(kind: ExitKind, args: core::fmt::Arguments<'_>) -> ! {
    log::emit(args);
    finish(ExitRecord {
        kind,
        code: 0,
        signal: 0,
        fault_addr: 0,
        rip: 0,
    })
}

fn kmain(info: BootInfo) -> ! {
    drivers::serial::init();
    if !info.valid {
        fail(
            ExitKind::Panic,
            format_args!("boot: no valid hvm_start_info (is this a PVH loader?)"),
        );
    }
    let (free, total) = match mm::frames::init(&info) {
        Ok(c) => c,
        Err(e) => fail(
            ExitKind::Panic,
            format_args!("boot: cannot set up memory: {e:?}"),
        ),
    };
    if let Err(e) = mm::kernel_space::init(&info) {
        fail(
            ExitKind::Panic,
            format_args!("boot: cannot build kernel page tables: {e:?}"),
        );
    }
    HEAP.init(&HEAP_PAGES);
    sched::init_boot_cpu(0);
    let memory_ready = oxv_hal::rdtsc();
    oxv_hal::set_user_fault_hook(linux::process::user_fault_hook);
    oxv_hal::set_irq_hook(on_interrupt);
    oxv_hal::irq::init();
    oxv_hal::irq::route_irq(drivers::serial::IRQ, SERIAL_VECTOR);
    drivers::serial::enable_rx_interrupt();
    console::send(GuestChannel::StdinReady, &[]);

    let Some(module) = info.modules().first() else {
        fail(
            ExitKind::LoadFailed,
            format_args!("no launch record: start oxv through `oxv run`"),
        );
    };
    let rec = match LaunchRecord::decode(module.bytes()) {
        Ok(r) => r,
        Err(e) => fail(
            ExitKind::LoadFailed,
            format_args!("bad launch record: {e:?}"),
        ),
    };
    sched::clock::init(info.entry_tsc, rec.wall_clock_ns);
    log::set_verbose(rec.has(FLAG_VERBOSE));
    klog!(
        "oxv: {} KiB RAM, {} KiB free after boot",
        total * 4,
        free * 4
    );
    let cpus = smp::start_aps();
    klog!("smp: {cpus} CPU(s) online");
    let seed = random::init(&rec.entropy);
    klog!(
        "random: seeded from host entropy, rdseed={} rdrand={}, tsc",
        seed.rdseed,
        seed.rdrand
    );
    linux::vdso::init();
    let disks = drivers::virtio::probe(drivers::virtio::boot_cmdline(&info));
    klog!("virtio: {} block device(s)", disks.len());

    let program_bytes = if rec.has(FLAG_ROOT_IMAGE) {
        let storage: alloc::boxed::Box<dyn oxv_rofs::Storage + Send + Sync> =
            if rec.program.is_empty() {
                match disks.first() {
                    Some(d) => alloc::boxed::Box::new(fs::rofs::BlockStorage(d.clone())),
                    None => fail(
                        ExitKind::LoadFailed,
                        format_args!("root image: no virtio block device found"),
                    ),
                }
            } else {
                alloc::boxed::Box::new(fs::rofs::MemStorage(rec.program))
            };
        let source = if rec.program.is_empty() {
            "/dev/vda"
        } else {
            "rootfs"
        };
        let root = match fs::rofs::RofsFs::open(storage) {
            Ok(r) => r,
            Err(e) => fail(ExitKind::LoadFailed, format_args!("root image: {e:?}")),
        };
        fs::init(
            Some((root, source)),
            rec.option_values(oxv_abi::launch::options::TMPFS),
        );
        match fs::open_program(rec.exec_path()) {
            Ok(b) => Some(b),
            Err(e) => fail(
                ExitKind::LoadFailed,
                format_args!(
                    "{}: {e}",
                    alloc::string::String::from_utf8_lossy(rec.exec_path())
                ),
            ),
        }
    } else {
        fs::init(None, rec.option_values(oxv_abi::launch::options::TMPFS));
        None
    };
    let program = program_bytes.unwrap_or(linux::exec::Program::Bytes(rec.program));
    let argv: Vec<&[u8]> = rec.argv().collect();
    let envp: Vec<&[u8]> = rec.envp().collect();
    let exe = rec.exec_path();
    let loaded = match linux::exec::load(&program, exe, &argv, &envp) {
        Ok(l) => l,
        Err(e) => fail(ExitKind::LoadFailed, format_args!("{e}")),
    };
    let tty = TtyInfo {
        is_tty: [
            rec.has(FLAG_STDIN_TTY),
            rec.has(FLAG_STDOUT_TTY),
            rec.has(FLAG_STDERR_TTY),
        ],
        rows: rec.winsize.0,
        cols: rec.winsize.1,
    };
    let join = |it: &mut dyn Iterator<Item = &[u8]>| {
        let mut v = Vec::new();
        for s in it {
            v.extend_from_slice(s);
            v.push(0);
        }
        v
    };
    let cwd_path = rec
        .option_values(oxv_abi::launch::options::CWD)
        .next()
        .unwrap_or(b"/")
        .to_vec();
    let root = fs::vfs().root().clone();
    let cwd = match fs::vfs().resolver().resolve(&root, &cwd_path, true) {
        Ok(node) if node.file_type() == oxv_vfs::FileType::Directory => (cwd_path, node),
        _ => {
            klog!(
                "cwd {:?} is not a directory; using /",
                alloc::string::String::from_utf8_lossy(&cwd_path)
            );
            (b"/".to_vec(), root)
        }
    };
    let spec = linux::process::ProcessSpec {
        exe: exe.to_vec(),
        cmdline: join(&mut rec.argv()),
        environ: join(&mut rec.envp()),
        cwd,
        fds: linux::console_file::stdio_fds(&tty),
    };
    let proc = Arc::new(Process::new(loaded.aspace, spec));
    linux::process::set_current(proc.clone());
    proc.aspace.lock().activate();
    let stack_at = linux::exec::STACK_TOP - loaded.stack_image.len() as u64;
    if linux::uaccess::write_bytes(stack_at, &loaded.stack_image).is_err() {
        fail(
            ExitKind::LoadFailed,
            format_args!("out of memory for the program's stack"),
        );
    }
    klog!(
        "exec: entry {:#x}, stack {:#x}",
        loaded.ctx.rip,
        loaded.ctx.rsp
    );
    power::record_boot(info.entry_tsc, memory_ready, rec.has(FLAG_BOOTCHART));
    let tid = proc.alloc_tid();
    let main_thread = Arc::new(linux::process::LinuxThread::new(tid, 0));
    power::record_program_start();
    if linux::run::spawn_thread(&proc, main_thread, loaded.ctx, Default::default()).is_err() {
        fail(
            ExitKind::LoadFailed,
            format_args!("out of memory for the program's first thread"),
        );
    }
    drop(proc);
    // The boot context becomes this CPU's idle thread.
    sched::idle_loop()
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    log::emit_panic(format_args!("kernel panic: {}", info.message()));
    if let Some(loc) = info.location() {
        log::emit_panic(format_args!("  at {}:{}", loc.file(), loc.line()));
    }
    log::emit_panic(format_args!("backtrace:"));
    let mut n = 0;
    oxv_hal::backtrace::walk(24, |addr| {
        log::emit_panic(format_args!("  #{n} {addr:#x}"));
        n += 1;
    });
    let rec = ExitRecord {
        kind: ExitKind::Panic,
        code: 0,
        signal: 0,
        fault_addr: 0,
        rip: 0,
    };
    console::send_unlocked(GuestChannel::Exit, &rec.encode());
    power_off(DEBUG_EXIT_PANIC)
}
