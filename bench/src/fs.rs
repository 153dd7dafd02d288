//! File-system benchmarks: building root images, reading a big file in the
//! VM against the host, boot time against image size, and what the page
//! cache costs in memory. Printed as one Markdown table; VM numbers are
//! TCG (see DESIGN.md), medians over the runs, VM and host runs alternated.
//!
//! - image build: `oxv build --dir /usr/lib/python3.11` through the
//!   library (`oxv::image::build_image`), LZ4 HC (default) and `--fast`:
//!   input MB/s and image size / file data (skipped if the directory is
//!   missing);
//! - reading 100 MB: one file of pseudo-random bytes (stored raw: CRC and
//!   copy only) and one of text (LZ4-compressed blocks), added with `--add`
//!   and read on the virtio block device. In the VM, `busybox dd
//!   if=FILE of=/dev/null bs=64k` (busybox cannot `cat > /dev/null`: no
//!   shell without fork) timed by the boot chart (program exit - program
//!   start, minus the same for `busybox true`), and `fs_read` (a C `cat
//!   FILE > /dev/null` loop timed with CLOCK_MONOTONIC inside the guest);
//!   on the host, `cat FILE > /dev/null` (file in the page cache);
//! - boot to the program's first instruction (guest boot chart: program
//!   start - kernel entry) with `busybox true`: without an image, and in
//!   an image holding 1 MB or 100 MB of pseudo-random data, both on the
//!   block device, and the 1 MB image in memory (median, min and max);
//! - memory: MemFree in the VM before and after `fs_read` went through the
//!   100 MB file, and after anonymous memory pressure (touch 1 MiB chunks
//!   until MemFree < 2 MiB, then unmap them): whether the file cache is
//!   given back.
//!
//! `oxv-bench --only fs [--fs-runs N]` prints just this table.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio as PStdio};
use std::time::{Duration, Instant};

use oxv::image::{build_image, parse_add, ImageInputs};
use oxv::{RunConfig, Stdio};

use crate::median;

const MB: u64 = 1_000_000;
const BIG: u64 = 100 * MB;
const PYLIB: &str = "/usr/lib/python3.11";

/// `--only fs [--fs-runs N]` in the arguments: print this table alone and
/// return true (called before the main argument parser, which does not
/// know these).
pub fn only_fs() -> bool {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.windows(2).any(|w| w[0] == "--only" && w[1] == "fs") {
        return false;
    }
    let runs = args
        .windows(2)
        .find(|w| w[0] == "--fs-runs")
        .and_then(|w| w[1].parse().ok())
        .unwrap_or(5);
    let dir = tempfile::tempdir().expect("temp dir");
    table(dir.path(), runs);
    true
}

/// Writes `len` pseudo-random bytes (xorshift64*) to `path`.
fn random_file(path: &Path, len: u64) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut left = len;
    while left > 0 {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        let v = x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
        let n = left.min(8) as usize;
        f.write_all(&v[..n]).expect("write");
        left -= n as u64;
    }
    f.flush().expect("flush");
}

/// 100 MB of text: the .py files of the Python library (repeated), or
/// numbered lines if it is missing.
fn text_file(path: &Path, len: u64) {
    let mut src = Vec::new();
    let mut stack = vec![PathBuf::from(PYLIB)];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() && !p.is_symlink() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "py") {
                src.extend(std::fs::read(&p).unwrap_or_default());
            }
            if src.len() as u64 >= 20 * MB {
                break;
            }
        }
    }
    if src.is_empty() {
        for i in 0..500_000 {
            src.extend(format!("line {i} of a text file for oxv-bench\n").into_bytes());
        }
    }
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let mut left = len;
    while left > 0 {
        let n = left.min(src.len() as u64) as usize;
        f.write_all(&src[..n]).expect("write");
        left -= n as u64;
    }
    f.flush().expect("flush");
}

fn compile(name: &str, out: &Path) -> Result<(), String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("programs")
        .join(format!("{name}.c"));
    let o = Command::new("musl-gcc")
        .args(["-static", "-O2", "-Wall", "-Wextra", "-o"])
        .arg(out)
        .arg(&src)
        .output()
        .map_err(|e| format!("musl-gcc: {e} (install musl-tools)"))?;
    if !o.status.success() {
        return Err(format!(
            "musl-gcc failed on {}: {}",
            src.display(),
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    Ok(())
}

/// One VM run: (exit code, stdout, guest program time in us, guest
/// kernel entry -> program start in us).
struct VmRun {
    code: i32,
    stdout: String,
    program_us: Option<f64>,
    first_insn_us: Option<f64>,
}

fn vm(program: &Path, args: &[&str], adds: &[String], inline_max: Option<u64>) -> VmRun {
    vm_opts(program, args, adds, inline_max, None)
}

/// [`vm`] with `root_image` (`Some(false)`: no image, like `OXV_ROOT_IMAGE=0`).
fn vm_opts(
    program: &Path,
    args: &[&str],
    adds: &[String],
    inline_max: Option<u64>,
    root_image: Option<bool>,
) -> VmRun {
    let mut cfg = RunConfig::new(program);
    cfg.root_image = root_image;
    cfg.args = args.iter().map(Into::into).collect();
    cfg.adds = adds.iter().map(|a| parse_add(a).expect("add")).collect();
    cfg.timeout = Some(Duration::from_secs(120));
    cfg.bootchart = true;
    // oxv reads this when it places the image (see oxv::root::inline_limit).
    match inline_max {
        Some(n) => std::env::set_var("OXV_ROOT_IMAGE_INLINE_MAX", n.to_string()),
        None => std::env::remove_var("OXV_ROOT_IMAGE_INLINE_MAX"),
    }
    let (stdio, out, _err) = Stdio::capture();
    let report = oxv::run(&cfg, stdio);
    std::env::remove_var("OXV_ROOT_IMAGE_INLINE_MAX");
    match report {
        Ok(r) => {
            let g = r.timeline.guest;
            VmRun {
                code: r.ending.exit_code(),
                stdout: String::from_utf8_lossy(&out.contents()).into_owned(),
                program_us: g.and_then(|g| {
                    Some(
                        g.micros_since_entry(g.program_exit)?
                            - g.micros_since_entry(g.program_start)?,
                    )
                }),
                first_insn_us: g.and_then(|g| g.micros_since_entry(g.program_start)),
            }
        }
        Err(e) => VmRun {
            code: -1,
            stdout: e.to_string(),
            program_us: None,
            first_insn_us: None,
        },
    }
}

fn key(stdout: &str, k: &str) -> Option<f64> {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(k)?.strip_prefix('=')?.trim().parse().ok())
}

fn med(mut v: Vec<f64>) -> Option<f64> {
    (!v.is_empty()).then(|| median(&mut v))
}

fn show(v: Option<f64>, unit: &str, prec: usize) -> String {
    v.map_or("failed".into(), |x| format!("{x:.prec$} {unit}"))
}

fn mbps(bytes: u64, secs: Option<f64>) -> Option<f64> {
    secs.filter(|s| *s > 0.0)
        .map(|s| bytes as f64 / MB as f64 / s)
}

/// Builds, runs and prints the file-system table.
pub fn table(dir: &Path, runs: usize) {
    let runs = runs.max(1);
    let mut rows: Vec<(String, String)> = Vec::new();

    // ---- image build ----
    if Path::new(PYLIB).is_dir() {
        for (fast, label) in [(false, "LZ4 HC (default)"), (true, "--fast")] {
            let inputs = ImageInputs {
                dir: Some(PYLIB.into()),
                fast,
                ..Default::default()
            };
            let out = dir.join("py.rofs");
            let (mut secs, mut stats) = (Vec::new(), None);
            for _ in 0..runs.min(3) {
                let t = Instant::now();
                match build_image(&inputs, &out, false) {
                    Ok(s) => {
                        secs.push(t.elapsed().as_secs_f64());
                        stats = Some(s);
                    }
                    Err(e) => eprintln!("oxv-bench: image build: {e}"),
                }
            }
            let _ = std::fs::remove_file(&out);
            if let Some(s) = stats {
                let rate = mbps(s.file_bytes, med(secs.clone()));
                rows.push((
                    format!(
                        "image build, {PYLIB} ({:.1} MB in {} inodes), {label}: input rate",
                        s.file_bytes as f64 / MB as f64,
                        s.inodes
                    ),
                    format!("{} ({})", show(rate, "MB/s", 0), show(med(secs), "s", 2)),
                ));
                rows.push((
                    format!("image size / file data, {PYLIB}, {label}"),
                    format!(
                        "{:.3} ({:.1} MB image, {} of {} blocks compressed)",
                        s.ratio(),
                        s.image_len as f64 / MB as f64,
                        s.compressed_blocks,
                        s.blocks
                    ),
                ));
            }
        }
    } else {
        rows.push((
            format!("image build of {PYLIB}"),
            "skipped: not present".into(),
        ));
    }

    // ---- inputs for the VM runs ----
    let big = dir.join("big");
    let small = dir.join("small");
    std::fs::create_dir_all(&big).unwrap();
    std::fs::create_dir_all(&small).unwrap();
    random_file(&big.join("random.bin"), BIG);
    text_file(&big.join("text.bin"), BIG);
    random_file(&small.join("random.bin"), MB);
    let fs_read = dir.join("fs_read");
    if let Err(e) = compile("fs_read", &fs_read) {
        eprintln!("oxv-bench: {e}");
        return;
    }
    let busybox = PathBuf::from("/bin/busybox");
    // 100 MB of data alone, for the boot-time comparison with `small`.
    let boot = dir.join("boot100");
    std::fs::create_dir_all(&boot).unwrap();
    std::fs::hard_link(big.join("random.bin"), boot.join("random.bin")).unwrap();
    let add_big = vec![format!("{}:/data", big.display())];
    let add_small = vec![format!("{}:/data", small.display())];
    let add_boot = vec![format!("{}:/data", boot.display())];
    // Warm up: build and cache the images, fill the host page cache.
    let _ = vm(&busybox, &["true"], &add_big, None);
    let _ = vm(&busybox, &["true"], &add_small, None);
    let _ = vm(&busybox, &["true"], &add_boot, None);
    let _ = vm(&fs_read, &["/data/random.bin"], &add_big, None);

    // ---- reading 100 MB ----
    for (file, what) in [
        ("random.bin", "pseudo-random, blocks stored raw"),
        ("text.bin", "text, LZ4-compressed blocks"),
    ] {
        let guest = format!("/data/{file}");
        let host = big.join(file);
        let (mut dd, mut loop_s, mut host_s, mut bb_true) = (vec![], vec![], vec![], vec![]);
        let mut failure = None;
        for _ in 0..runs {
            let t = vm(&busybox, &["true"], &add_big, None);
            if let Some(p) = t.program_us {
                bb_true.push(p);
            }
            let d = vm(
                &busybox,
                &["dd", &format!("if={guest}"), "of=/dev/null", "bs=64k"],
                &add_big,
                None,
            );
            match (d.code, d.program_us) {
                (0, Some(p)) => dd.push(p),
                _ => failure = Some(format!("busybox dd: exit {} {}", d.code, d.stdout.trim())),
            }
            let r = vm(&fs_read, &[&guest], &add_big, None);
            match (
                r.code,
                key(&r.stdout, "read_ns"),
                key(&r.stdout, "read_bytes"),
            ) {
                (0, Some(ns), Some(b)) if b as u64 == BIG => loop_s.push(ns / 1e9),
                _ => failure = Some(format!("fs_read: exit {} {}", r.code, r.stdout.trim())),
            }
            let t = Instant::now();
            let ok = Command::new("cat")
                .arg(&host)
                .stdout(std::fs::File::create("/dev/null").expect("/dev/null"))
                .stderr(PStdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                host_s.push(t.elapsed().as_secs_f64());
            }
        }
        let dd_s = med(dd).zip(med(bb_true)).map(|(d, t)| (d - t) / 1e6);
        let (vm_rate, loop_rate, host_rate) = (
            mbps(BIG, dd_s),
            mbps(BIG, med(loop_s)),
            mbps(BIG, med(host_s)),
        );
        rows.push((
            format!("read 100 MB ({what}): VM busybox dd of=/dev/null (guest time - busybox true)"),
            format!("{} ({})", show(vm_rate, "MB/s", 0), show(dd_s, "s", 3)),
        ));
        rows.push((
            format!("read 100 MB ({what}): VM fs_read loop (inside the guest)"),
            show(loop_rate, "MB/s", 0),
        ));
        rows.push((
            format!("read 100 MB ({what}): host cat > /dev/null (page cache)"),
            show(host_rate, "MB/s", 0),
        ));
        rows.push((
            format!("read 100 MB ({what}): host / VM (fs_read)"),
            host_rate
                .zip(loop_rate)
                .map_or("-".into(), |(h, v)| format!("{:.1}x", h / v)),
        ));
        if let Some(f) = failure {
            rows.push((format!("read 100 MB ({what}): a run failed"), f));
        }
    }

    // ---- boot to first instruction against image size ----
    // TCG timings move by several ms from run to run on a loaded host, so
    // more runs, and the minimum next to the median.
    let mut series: [Vec<f64>; 4] = Default::default();
    for _ in 0..runs.max(11) {
        let samples = [
            vm_opts(&busybox, &["true"], &[], None, Some(false)),
            vm(&busybox, &["true"], &add_small, None),
            vm(&busybox, &["true"], &add_small, Some(0)),
            vm(&busybox, &["true"], &add_boot, None),
        ];
        for (s, r) in series.iter_mut().zip(samples) {
            if let Some(v) = r.first_insn_us {
                s.push(v);
            }
        }
    }
    let labels = [
        "busybox true, no image (program in the launch record, RAM root)",
        "busybox true, 1 MB of data, image in memory",
        "busybox true, 1 MB of data, image on virtio-blk",
        "busybox true, 100 MB of data, image on virtio-blk",
    ];
    let mut stats = Vec::new();
    for (label, s) in labels.iter().zip(&series) {
        let min = s.iter().copied().reduce(f64::min);
        let max = s.iter().copied().reduce(f64::max);
        let m = med(s.clone());
        stats.push((m, min));
        rows.push((
            format!("kernel entry -> first instruction, {label}"),
            format!(
                "{} (min {}, max {})",
                show(m, "us", 0),
                show(min, "us", 0),
                show(max, "us", 0)
            ),
        ));
    }
    let ((sb, sb_min), (bb, bb_min)) = (stats[2], stats[3]);
    // Run-to-run spread (max - min) of the two series compared.
    let spread = |s: &Vec<f64>| {
        s.iter().copied().reduce(f64::max).unwrap_or(0.0)
            - s.iter().copied().reduce(f64::min).unwrap_or(0.0)
    };
    let noise = spread(&series[2]).min(spread(&series[3]));
    rows.push((
        "  100x the data, same placement: difference of medians (of minima); target within 1 ms"
            .into(),
        match (bb.zip(sb), bb_min.zip(sb_min)) {
            (Some((b, s)), Some((bm, sm))) => format!(
                "{:+.0} us ({:+.0} us): {}",
                b - s,
                bm - sm,
                if (b - s).abs() <= 1000.0 {
                    "met".to_string()
                } else if (b - s).abs() < noise / 2.0 {
                    format!("not resolved (run-to-run spread {:.1} ms)", noise / 1e3)
                } else {
                    "missed".to_string()
                }
            ),
            _ => "-".into(),
        },
    ));

    // ---- page cache memory ----
    let m = vm(
        &fs_read,
        &["/data/random.bin", "--pressure"],
        &add_big,
        None,
    );
    let k = |name: &str| key(&m.stdout, name);
    match (
        m.code,
        k("memfree_before_kb"),
        k("memfree_after_read_kb"),
        k("memfree_under_pressure_kb"),
        k("memfree_after_release_kb"),
    ) {
        (0, Some(before), Some(after), Some(low), Some(release)) => {
            rows.push((
                "VM (64 MiB): MemFree before / after reading 100 MB".into(),
                format!("{before:.0} kB / {after:.0} kB: file cache {:.0} kB (meminfo Cached: {:.0} kB)", before - after, k("cached_kb").unwrap_or(-1.0)),
            ));
            rows.push((
                format!("VM: after pressure ({:.0} kB touched, MemFree down to {low:.0} kB) and release", k("pressure_kb").unwrap_or(0.0)),
                format!(
                    "MemFree {release:.0} kB: {:.0} kB of file cache given back{}",
                    release - after,
                    if release - after < 64.0 { " (no reclaim)" } else { "" }
                ),
            ));
        }
        _ => rows.push((
            "VM: page cache memory".into(),
            format!(
                "failed: exit {} {}",
                m.code,
                m.stdout.trim().replace('\n', " ")
            ),
        )),
    }

    println!();
    println!("| file systems (TCG, microvm, {runs} runs, medians) | value |");
    println!("|---|---|");
    for (k, v) in rows {
        println!("| {k} | {v} |");
    }
}
