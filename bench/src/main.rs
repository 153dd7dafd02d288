//! `oxv-bench`: the numbers in README.md, measured in one interleaved run.
//!
//! ```text
//! cargo run --release -p oxv-bench -- [--runs N] [--sys-runs N] [--only boot|sys]
//! ```
//!
//! Prints a Markdown table:
//! - the stripped kernel size;
//! - guest time from kernel entry to the program's first instruction
//!   (from the guest's boot chart), median over N runs;
//! - wall time of `oxv run hello` (musl, static) against QEMU booting a
//!   trivial PVH guest that exits at once, same machine type and flags,
//!   runs interleaved so both see the same machine load; medians and the
//!   difference;
//! - the smallest `--mem` (whole MiB) at which static musl and static glibc
//!   hello run correctly.
//!
//! A second table (`sys.rs`) has the system benchmarks: futex ping-pong
//! between two vCPUs, thread create+join, getpid() and clock_gettime(),
//! each in the VM (`--cpus 2`) against the same binary run natively, with
//! ratios (`--sys-runs` runs each, default 3). `--only boot` or
//! `--only sys` prints just one of the tables.
//!
//! A third table (`fs.rs`) has the file-system benchmarks: image builds,
//! reading 100 MB in the VM against the host, boot time against image size,
//! page-cache memory. It runs with the others; `--only fs [--fs-runs N]`
//! prints it alone.
//!
//! Everything goes through the `oxv` library, the code `oxv run` uses.

mod floor;
mod fs;
mod sys;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use oxv::{MemSize, RunConfig, Stdio};

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn compile(cc: &str, extra: &[&str], out: &Path) -> Result<(), String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("programs/hello.c");
    let status = Command::new(cc)
        .args(extra)
        .arg("-O2")
        .arg("-o")
        .arg(out)
        .arg(&src)
        .status()
        .map_err(|e| format!("{cc}: {e} (install gcc and musl-tools)"))?;
    if !status.success() {
        return Err(format!("{cc} failed to build {}", src.display()));
    }
    Ok(())
}

/// One run of `program` through the library; returns (ok, wall, boot chart).
fn run_once(program: &Path, mem_mib: u64, bootchart: bool) -> (bool, Duration, Option<f64>) {
    let mut cfg = RunConfig::new(program);
    cfg.mem = MemSize(mem_mib << 20);
    cfg.timeout = Some(Duration::from_secs(10));
    cfg.bootchart = bootchart;
    let (stdio, out, _err) = Stdio::capture();
    let start = Instant::now();
    let report = oxv::run(&cfg, stdio);
    let wall = start.elapsed();
    match report {
        Ok(r) => {
            let ok = r.ending.exit_code() == 0 && out.contents() == b"hello, world\n";
            let first = r
                .timeline
                .guest
                .and_then(|g| g.micros_since_entry(g.program_start));
            (ok, wall, first)
        }
        Err(_) => (false, wall, None),
    }
}

fn smallest_mem(program: &Path) -> Option<u64> {
    // Binary search over whole MiB in 1..=64; a run that fails (out of
    // memory, or QEMU refusing the size) counts as too small.
    let (mut lo, mut hi) = (1u64, 64u64);
    if !run_once(program, hi, false).0 {
        return None;
    }
    while lo < hi {
        let mid = (lo + hi) / 2;
        if run_once(program, mid, false).0 {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Some(lo)
}

fn main() {
    if fs::only_fs() {
        return;
    }
    let mut runs = 11usize;
    let mut sys_runs = 3usize;
    let mut only: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => runs = args.next().and_then(|v| v.parse().ok()).unwrap_or(runs),
            "--sys-runs" => sys_runs = args.next().and_then(|v| v.parse().ok()).unwrap_or(sys_runs),
            "--only" => match args.next().as_deref() {
                Some(s @ ("boot" | "sys")) => only = Some(s.to_string()),
                other => {
                    eprintln!("oxv-bench: --only takes boot or sys, not {other:?}");
                    std::process::exit(2);
                }
            },
            "-h" | "--help" => {
                println!("usage: oxv-bench [--runs N] [--sys-runs N] [--only boot|sys]");
                return;
            }
            other => {
                eprintln!("oxv-bench: unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    let dir = tempfile::tempdir().expect("temp dir");
    if only.as_deref() == Some("sys") {
        sys::table(dir.path(), sys_runs);
        return;
    }
    let musl: PathBuf = dir.path().join("hello-musl");
    let glibc: PathBuf = dir.path().join("hello-glibc");
    for (cc, flags, out) in [
        ("musl-gcc", &["-static"][..], &musl),
        ("gcc", &["-static"][..], &glibc),
    ] {
        if let Err(e) = compile(cc, flags, out) {
            eprintln!("oxv-bench: {e}");
            std::process::exit(1);
        }
    }
    let floor = floor::FloorGuest::new(dir.path()).expect("trivial guest");

    // Warm up caches (kernel file, page cache, QEMU binary).
    let _ = run_once(&musl, 64, true);
    let _ = floor.run();

    let (mut t_floor, mut t_hello, mut t_first) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        if let Some(d) = floor.run() {
            t_floor.push(d.as_secs_f64() * 1e3);
        }
        let (ok, wall, first) = run_once(&musl, 64, true);
        if ok {
            t_hello.push(wall.as_secs_f64() * 1e3);
            if let Some(f) = first {
                t_first.push(f);
            }
        }
    }
    let m_floor = median(&mut t_floor);
    let m_hello = median(&mut t_hello);
    let m_first = median(&mut t_first);
    let mem_musl = smallest_mem(&musl);
    let mem_glibc = smallest_mem(&glibc);
    let show = |m: Option<u64>| m.map_or("failed".to_string(), |v| format!("{v} MiB"));

    println!("| measurement (TCG, microvm, {runs} interleaved runs, medians) | value |");
    println!("|---|---|");
    println!(
        "| stripped kernel size | {} bytes ({:.0} KiB) |",
        oxv::kernel::KERNEL.len(),
        oxv::kernel::KERNEL.len() as f64 / 1024.0
    );
    println!("| kernel entry -> program's first instruction (guest TSC) | {m_first:.0} us |");
    println!("| QEMU floor: trivial PVH guest that exits at once (wall) | {m_floor:.1} ms |");
    println!("| `oxv run hello` (musl static, wall) | {m_hello:.1} ms |");
    println!("| oxv run hello - floor | {:.1} ms |", m_hello - m_floor);
    println!("| smallest --mem, static musl hello | {} |", show(mem_musl));
    println!(
        "| smallest --mem, static glibc hello | {} |",
        show(mem_glibc)
    );
    println!(
        "| successful runs: floor {}/{runs}, hello {}/{runs} | |",
        t_floor.len(),
        t_hello.len()
    );
    if only.is_none() {
        sys::table(dir.path(), sys_runs);
        fs::table(dir.path(), 5);
    }
}
