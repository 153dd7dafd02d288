//! System benchmarks (issue 4): threads, futexes and system-call costs,
//! each measured inside oxv with `--cpus 2` and natively on the host, in
//! the same run, reported as a ratio.
//!
//! The programs are small C files under `bench/programs/`, built with
//! `musl-gcc -static -O2`. Each times itself (`bench.h`: batches until
//! 0.3 s of CLOCK_MONOTONIC have passed) and prints `ns_per_op=<float>`
//! plus its own `key=value` lines, so the VM's boot time is not part of the
//! number. Runs alternate VM / native; the table shows medians.
//!
//! - `futex_pingpong`: round trip between two threads pinned to CPUs 0
//!   and 1 (two FUTEX_WAKEs, two FUTEX_WAITs);
//! - `thread_create`: pthread_create + pthread_join of an empty thread;
//! - `getpid`: one trivial system call (`syscall(SYS_getpid)`);
//! - `clock_gettime`: CLOCK_MONOTONIC through libc, which uses the vDSO
//!   when AT_SYSINFO_EHDR is in the auxiliary vector (`vdso=1|0`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use oxv::{RunConfig, Stdio};

use crate::median;

/// One benchmark program.
struct Bench {
    /// File stem under `bench/programs/`.
    name: &'static str,
    /// Row label.
    label: &'static str,
    /// Show the result as operations per second as well as time per op.
    per_second: bool,
}

const BENCHES: [Bench; 4] = [
    Bench {
        name: "futex_pingpong",
        label: "futex ping-pong round trip, threads on CPU 0 and 1",
        per_second: false,
    },
    Bench {
        name: "thread_create",
        label: "thread create + join",
        per_second: true,
    },
    Bench {
        name: "getpid",
        label: "getpid() system call",
        per_second: false,
    },
    Bench {
        name: "clock_gettime",
        label: "clock_gettime(CLOCK_MONOTONIC)",
        per_second: false,
    },
];

/// What one run printed: `ns_per_op` and the other `key=value` lines.
#[derive(Debug, Clone)]
struct Sample {
    ns_per_op: f64,
    keys: HashMap<String, String>,
}

fn parse(stdout: &[u8]) -> Result<Sample, String> {
    let text = String::from_utf8_lossy(stdout);
    let keys: HashMap<String, String> = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let ns_per_op = keys
        .get("ns_per_op")
        .and_then(|v| v.parse::<f64>().ok())
        .ok_or_else(|| format!("no ns_per_op line in {:?}", text.trim()))?;
    Ok(Sample { ns_per_op, keys })
}

fn compile(name: &str, out: &Path) -> Result<(), String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("programs");
    let src = dir.join(format!("{name}.c"));
    let output = Command::new("musl-gcc")
        .args(["-static", "-O2", "-Wall", "-Wextra", "-I"])
        .arg(&dir)
        .arg("-o")
        .arg(out)
        .arg(&src)
        .output()
        .map_err(|e| format!("musl-gcc: {e} (install musl-tools)"))?;
    if !output.status.success() {
        return Err(format!(
            "musl-gcc failed to build {}:\n{}",
            src.display(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(())
}

/// First line of stderr, for a failure cell.
fn first_line(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .chars()
        .take(90)
        .collect()
}

fn run_vm(program: &Path) -> Result<Sample, String> {
    let mut cfg = RunConfig::new(program);
    cfg.cpus = 2;
    cfg.timeout = Some(Duration::from_secs(60));
    let (stdio, out, err) = Stdio::capture();
    let report = oxv::run(&cfg, stdio).map_err(|e| e.to_string())?;
    let code = report.ending.exit_code();
    if code != 0 {
        return Err(format!("exit {code}: {}", first_line(&err.contents())));
    }
    parse(&out.contents())
}

fn run_native(program: &Path) -> Result<Sample, String> {
    let out = Command::new(program)
        .env_clear()
        .output()
        .map_err(|e| format!("{}: {e}", program.display()))?;
    if !out.status.success() {
        return Err(format!("{}: {}", out.status, first_line(&out.stderr)));
    }
    parse(&out.stdout)
}

/// Medians of the successful samples, or the first error if none succeeded.
struct Summary {
    ns_per_op: Result<f64, String>,
    /// `key=value` lines of the last successful sample.
    keys: HashMap<String, String>,
    ok: usize,
}

fn summarize(samples: Vec<Result<Sample, String>>) -> Summary {
    let mut values = Vec::new();
    let mut keys = HashMap::new();
    let mut first_err = None;
    for s in samples {
        match s {
            Ok(s) => {
                values.push(s.ns_per_op);
                keys = s.keys;
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    let ok = values.len();
    let ns_per_op = if values.is_empty() {
        Err(first_err.unwrap_or_else(|| "no runs".into()))
    } else {
        Ok(median(&mut values))
    };
    Summary {
        ns_per_op,
        keys,
        ok,
    }
}

/// `1.23 us`, `456 ns`, `7.8 ms`.
fn show_time(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} us", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn show(s: &Summary, per_second: bool) -> String {
    match &s.ns_per_op {
        Ok(ns) if per_second => format!("{:.0} /s ({})", 1e9 / ns, show_time(*ns)),
        Ok(ns) => show_time(*ns),
        Err(e) => format!("failed: {}", e.replace('|', "/")),
    }
}

/// Builds the programs, runs each `runs` times in the VM and natively
/// (alternating), and prints the Markdown table.
pub fn table(dir: &Path, runs: usize) {
    let runs = runs.max(1);
    let mut rows = Vec::new();
    for b in &BENCHES {
        let bin: PathBuf = dir.join(format!("sys-{}", b.name));
        if let Err(e) = compile(b.name, &bin) {
            eprintln!("oxv-bench: {e}");
            std::process::exit(1);
        }
        let (mut vm, mut native) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            vm.push(run_vm(&bin));
            native.push(run_native(&bin));
        }
        rows.push((b, summarize(vm), summarize(native)));
    }

    println!();
    println!(
        "| system benchmark (oxv: TCG, microvm, --cpus 2; native: same binary on this host; medians of {runs}) | oxv | native | oxv / native |"
    );
    println!("|---|---|---|---|");
    for (b, vm, native) in &rows {
        let mut label = b.label.to_string();
        if b.name == "clock_gettime" {
            let vdso = |s: &Summary| match s.keys.get("vdso").map(String::as_str) {
                Some("1") => "yes",
                Some(_) => "no",
                None => "?",
            };
            label += &format!(
                " (vDSO / AT_SYSINFO_EHDR: oxv {}, native {})",
                vdso(vm),
                vdso(native)
            );
        }
        if b.name == "futex_pingpong" {
            for (who, s) in [("oxv", vm), ("native", native)] {
                if s.keys.get("pinned").is_some_and(|v| v != "1") {
                    label += &format!(" ({who}: pinning failed)");
                }
            }
        }
        let ratio = match (&vm.ns_per_op, &native.ns_per_op) {
            (Ok(v), Ok(n)) if *n > 0.0 => format!("{:.1}x", v / n),
            _ => "-".to_string(),
        };
        println!(
            "| {label} | {} | {} | {ratio} |",
            show(vm, b.per_second),
            show(native, b.per_second)
        );
    }
    let ok: Vec<String> = rows
        .iter()
        .map(|(b, vm, native)| format!("{} {}+{}/{runs}", b.name, vm.ok, native.ok))
        .collect();
    println!("| successful runs (oxv+native): {} | | | |", ok.join(", "));
}
