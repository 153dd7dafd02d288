//! The command line: `oxv run [OPTIONS] PROGRAM|IMAGE [ARGS]...`,
//! `oxv build`, `oxv ls` and `oxv --version`.
//!
//! Parsing is clap (derive); the value parsers for sizes, durations,
//! `KEY=VALUE` pairs, `HOST:GUEST` and `PATH[:SIZE]` are plain functions
//! with unit tests. [`main`] is what the `oxv` binary calls: it parses,
//! runs ([`crate::run`], [`build_command`], [`ls_command`]) and turns the
//! outcome into messages on stderr and an exit code.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::{AccelChoice, Machine, MemSize, RunConfig};
use crate::error::Error;
use crate::image::{self, AddSpec, ImageInputs, ProgramInput, RunInfo};
use crate::{bootchart, launch, ls, manifest, program, run, Stdio};

const EXIT_CODES_HELP: &str = "\
Exit status:
  the program's own exit status (exit(n) gives n & 0xff)
  128+N  the program was killed by signal N
  120    the oxv kernel panicked (a bug in oxv; the reason is printed)
  124    --timeout expired
  125    host failure: QEMU missing, VM died, console protocol error, I/O error
  126    the program cannot be run (not a static x86-64 ELF, directory, unreadable)
  127    the program file does not exist
  2      bad command-line usage

Environment:
  OXV_QEMU     QEMU binary to use (default: qemu-system-x86_64 from PATH)
  OXV_KERNEL   boot this kernel ELF instead of the embedded one (kernel development)
  OXV_ROOT_IMAGE=0
               boot a plain PROGRAM from its bytes alone, without a root image
               (then / holds only /dev, /proc, /sys and /tmp)
  OXV_ROOT_IMAGE_INLINE_MAX
               largest root image (bytes) passed in memory rather than as a
               virtio block device (default 4 MiB, at most 1/16 of --mem)
  OXV_IMAGE_CACHE_MAX
               size limit of the image cache in bytes (default 2 GiB)";

/// oxv: run one unmodified static Linux x86-64 program in its own unikernel VM.
#[derive(Debug, Parser)]
#[command(name = "oxv", version, long_version = LONG_VERSION, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `oxv` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Boot a VM that runs PROGRAM with ARGS, relay its stdin/stdout/stderr and exit with its status.
    #[command(
        after_help = EXIT_CODES_HELP,
        override_usage = "oxv run [OPTIONS] PROGRAM|IMAGE [ARGS]..."
    )]
    Run(RunArgs),
    /// Build a root image: PROGRAM (or a manifest's) plus files and directory trees.
    #[command(
        override_usage = "oxv build [PROGRAM] [--manifest FILE.toml] [--add HOST:GUEST]... \
                                [--dir ROOT] -o IMAGE"
    )]
    Build(BuildArgs),
    /// List a directory (or one entry) of an image like ls -l.
    Ls(LsArgs),
}

/// Options of `oxv build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The program (host path); it goes to /<file name> unless --exec says otherwise.
    #[arg(value_name = "PROGRAM")]
    pub program: Option<PathBuf>,

    /// The image file to write.
    #[arg(short = 'o', long = "output", value_name = "IMAGE", required = true)]
    pub output: PathBuf,

    /// TOML manifest: program, exec, args, env, cwd, dir, [[add]] host/guest entries.
    #[arg(long, value_name = "FILE.toml")]
    pub manifest: Option<PathBuf>,

    /// Add a host file or directory tree at an absolute guest path (repeatable).
    #[arg(long = "add", value_name = "HOST:GUEST", value_parser = image::parse_add)]
    pub adds: Vec<AddSpec>,

    /// Make the image from a whole host directory (its root is the image root).
    #[arg(long, value_name = "ROOT")]
    pub dir: Option<PathBuf>,

    /// Guest path of the program (default /<file name of PROGRAM>); with --dir
    /// and no PROGRAM, names a program inside the tree.
    #[arg(long, value_name = "GUEST")]
    pub exec: Option<String>,

    /// Block size: a power of two from 4K to 1M (default 32K).
    #[arg(long, value_name = "SIZE", value_parser = parse_block_size)]
    pub block_size: Option<u32>,

    /// Compress with fast LZ4 instead of LZ4 HC (bigger image, quicker build).
    #[arg(long)]
    pub fast: bool,

    /// Keep host file owners (default: everything belongs to root).
    #[arg(long)]
    pub keep_owner: bool,
}

/// Options of `oxv ls`.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// The image file.
    #[arg(value_name = "IMAGE")]
    pub image: PathBuf,
    /// Path inside the image.
    #[arg(value_name = "PATH", default_value = "/")]
    pub path: String,
}

/// Options of `oxv run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Guest RAM: a number with K, M, G (binary units; KiB/MB spellings accepted).
    /// A bare number means MiB, as in QEMU.
    #[arg(long, value_name = "SIZE", default_value = "64M", value_parser = parse_size)]
    pub mem: MemSize,

    /// Number of virtual CPUs (QEMU -smp).
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=255))]
    pub cpus: u32,

    /// Set an environment variable for the program (repeatable). The default
    /// environment is PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin,
    /// HOME=/ and, when stdout is a terminal, the host's TERM; not the host's environment.
    #[arg(long = "env", short = 'e', value_name = "KEY=VALUE", value_parser = parse_env)]
    pub env: Vec<(String, String)>,

    /// Accelerator: auto picks kvm only when /proc/cpuinfo shows vmx or svm
    /// and /dev/kvm opens read-write, else tcg.
    #[arg(long, value_enum, value_name = "ACCEL", default_value_t = AccelChoice::Auto)]
    pub accel: AccelChoice,

    /// QEMU machine type.
    #[arg(long, value_enum, value_name = "MACHINE", default_value_t = Machine::Microvm)]
    pub machine: Machine,

    /// Stop the VM after this long and exit with status 124 (e.g. 500ms, 10s, 2m, 1h;
    /// a bare number means seconds). Default: no limit.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,

    /// Show kernel log lines on stderr (prefixed "[kernel] ", stamped with seconds since kernel entry), the QEMU command line and QEMU's stderr.
    #[arg(long, short = 'v')]
    pub verbose: bool,

    /// Print boot-chart timestamps (microseconds) on stderr when the VM is gone.
    #[arg(long)]
    pub bootchart: bool,

    /// Add a host file or directory tree to the root file system at an
    /// absolute guest path (repeatable); the program then boots from a root
    /// image, cached by content.
    #[arg(long = "add", value_name = "HOST:GUEST", value_parser = image::parse_add)]
    pub adds: Vec<AddSpec>,

    /// Mount a RAM file system at PATH, optionally limited to SIZE (e.g. 16M)
    /// (repeatable). /tmp always gets one.
    #[arg(long = "tmpfs", value_name = "PATH[:SIZE]", value_parser = parse_tmpfs)]
    pub tmpfs: Vec<(String, Option<u64>)>,

    /// Working directory of the program (default /, or the image's).
    #[arg(long, value_name = "PATH", value_parser = parse_guest_dir)]
    pub cwd: Option<String>,

    /// The program (a host path to a static x86-64 ELF) or an image made by
    /// oxv build, then the arguments (for an image: replacing its stored ones).
    /// Everything after PROGRAM is passed to it verbatim, even if it looks like an option.
    #[arg(value_name = "PROGRAM [ARGS]", required = true, num_args = 1..,
          trailing_var_arg = true, allow_hyphen_values = true,
          value_parser = clap::value_parser!(OsString))]
    pub command: Vec<OsString>,
}

impl RunArgs {
    /// The run configuration these options describe.
    pub fn into_config(self) -> RunConfig {
        let mut words = self.command.into_iter();
        let program = words.next().unwrap_or_default();
        RunConfig {
            program: program.into(),
            args: words.collect(),
            env: self.env,
            mem: self.mem,
            cpus: self.cpus,
            accel: self.accel,
            machine: self.machine,
            timeout: self.timeout,
            verbose: self.verbose,
            bootchart: self.bootchart,
            qemu: None,
            adds: self.adds,
            tmpfs: self.tmpfs,
            cwd: self.cwd,
            root_image: None,
        }
    }
}

/// `oxv --version` names the embedded kernel by its hash.
const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (kernel ",
    env!("OXV_KERNEL_HASH"),
    ")"
);

/// Parses a memory size: `64M`, `4MiB`, `1G`, `2048K`, `64` (MiB).
pub fn parse_size(s: &str) -> Result<MemSize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return Err(format!("invalid size {s:?}: expected a number such as 64M"));
    }
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid size {s:?}: number too large"))?;
    let shift = match unit.to_ascii_lowercase().as_str() {
        "" | "m" | "mb" | "mib" => 20,
        "k" | "kb" | "kib" => 10,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => {
            return Err(format!(
                "invalid size {s:?}: unknown unit {unit:?} (use K, M or G)"
            ))
        }
    };
    let bytes = n
        .checked_mul(1u64 << shift)
        .ok_or_else(|| format!("invalid size {s:?}: too large"))?;
    if bytes == 0 {
        return Err(format!("invalid size {s:?}: must be more than 0"));
    }
    if bytes % 4096 != 0 {
        return Err(format!("invalid size {s:?}: must be a multiple of 4K"));
    }
    Ok(MemSize(bytes))
}

/// Parses a duration: `500ms`, `10s`, `2m`, `1h`, `1.5s`, `30` (seconds).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("invalid duration {s:?}: expected e.g. 500ms, 10s, 2m"))?;
    let secs_per_unit = match unit {
        "ms" => 1e-3,
        "" | "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => {
            return Err(format!(
                "invalid duration {s:?}: unknown unit {unit:?} (use ms, s, m or h)"
            ))
        }
    };
    let d = Duration::try_from_secs_f64(n * secs_per_unit)
        .map_err(|_| format!("invalid duration {s:?}: out of range"))?;
    if d.is_zero() {
        return Err(format!("invalid duration {s:?}: must be more than 0"));
    }
    Ok(d)
}

/// Parses `KEY=VALUE` (the value may be empty and may contain `=`).
pub fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!(
            "invalid environment setting {s:?}: expected KEY=VALUE"
        )),
    }
}

/// Parses an image block size: `32K`, `64k`, `1M`, `4096` (bytes).
pub fn parse_block_size(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid block size {s:?}: expected e.g. 32K"))?;
    let shift = match unit.to_ascii_lowercase().as_str() {
        "" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        _ => return Err(format!("invalid block size {s:?}: unknown unit {unit:?}")),
    };
    let bytes = n
        .checked_shl(shift)
        .filter(|b| b >> shift == n)
        .unwrap_or(0);
    if !bytes.is_power_of_two() || !(4096..=(1 << 20)).contains(&bytes) {
        return Err(format!(
            "invalid block size {s:?}: must be a power of two from 4K to 1M"
        ));
    }
    Ok(bytes as u32)
}

/// Parses `--tmpfs PATH[:SIZE]` (SIZE as for `--mem`).
pub fn parse_tmpfs(s: &str) -> Result<(String, Option<u64>), String> {
    let (path, size) = match s.rsplit_once(':') {
        Some((p, sz)) => (
            p,
            Some(parse_size(sz).map_err(|e| format!("--tmpfs {s}: {e}"))?.0),
        ),
        None => (s, None),
    };
    let path = image::normalize_guest(path, false).map_err(|e| format!("--tmpfs {s}: {e}"))?;
    Ok((path, size))
}

/// Parses an absolute guest directory (`--cwd`).
pub fn parse_guest_dir(s: &str) -> Result<String, String> {
    image::normalize_guest(s, true)
}

/// Formats a duration the way `--timeout` accepts it, for messages.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if !d.subsec_nanos().is_multiple_of(1_000_000) {
        format!("{:.3}s", d.as_secs_f64())
    } else if !ms.is_multiple_of(1000) {
        format!("{ms}ms")
    } else {
        let s = d.as_secs();
        if s.is_multiple_of(3600) {
            format!("{}h", s / 3600)
        } else if s.is_multiple_of(60) {
            format!("{}m", s / 60)
        } else {
            format!("{s}s")
        }
    }
}

/// The `oxv` binary: parses `args` (including argv[0]), runs, prints
/// messages and returns the process exit code.
pub fn main<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            // Help and version go to stdout with status 0; errors to stderr with 2.
            let _ = e.print();
            return e.exit_code();
        }
    };
    let result = match cli.command {
        Command::Run(args) => return run_command(args.into_config()),
        Command::Build(args) => build_command(args),
        Command::Ls(args) => ls_command(&args),
    };
    match result {
        Ok(text) => {
            let _ = std::io::stdout().write_all(text.as_bytes());
            0
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "oxv: {e}");
            e.exit_code()
        }
    }
}

/// `oxv build`: builds the image and returns the summary line.
pub fn build_command(args: BuildArgs) -> Result<String, Error> {
    let m = match &args.manifest {
        Some(p) => manifest::load(p)?,
        None => manifest::Manifest::default(),
    };
    let program = args.program.clone().or(m.program.clone());
    let dir = args.dir.clone().or(m.dir.clone());
    let exec = args.exec.clone().or(m.exec.clone()).or_else(|| {
        program
            .as_ref()
            .map(|p| String::from_utf8_lossy(&launch::exec_path(p)).into_owned())
    });
    if program.is_none() && dir.is_none() && m.adds.is_empty() && args.adds.is_empty() {
        return Err(Error::Manifest(
            "nothing to put in the image: give PROGRAM, --manifest, --add or --dir".into(),
        ));
    }
    let mut warnings = String::new();
    let program = match &program {
        Some(p) => {
            let guest = exec.clone().unwrap_or_default();
            let input = ProgramInput::read(p, &guest)?;
            if let Err(reason) = program::check_elf(&input.bytes) {
                warnings.push_str(&format!("oxv: warning: {}: {reason}\n", p.display()));
            }
            Some(input)
        }
        None => None,
    };
    let run = exec.clone().map(|exec| RunInfo {
        exec,
        args: m.args.clone(),
        cwd: m.cwd.clone(),
        env: m.env.iter().cloned().collect(),
    });
    let mut inputs = ImageInputs {
        dir,
        program,
        adds: m.adds.iter().chain(&args.adds).cloned().collect(),
        run,
        block_size: args.block_size,
        fast: args.fast,
        keep_owner: args.keep_owner,
        mountpoints: Vec::new(),
    };
    inputs.validate()?;
    let start = std::time::Instant::now();
    let stats = image::build_image(&inputs, &args.output, true)?;
    let secs = start.elapsed().as_secs_f64();
    let out = args.output.display().to_string();
    if let Some(run) = &inputs.run {
        // The program must be in the image (it may come from --dir or --add).
        let r = image::open_image(&args.output)?;
        let found = r.lookup_path(run.exec.as_bytes()).ok().flatten().is_some();
        if !found {
            let _ = std::fs::remove_file(&args.output);
            return Err(Error::Manifest(format!(
                "exec {}: not in the image (nothing added there); {out} not written",
                run.exec
            )));
        }
    } else {
        warnings.push_str("oxv: warning: the image names no program (give PROGRAM or --exec); oxv run cannot start it\n");
    }
    let _ = std::io::stderr().write_all(warnings.as_bytes());
    Ok(format!(
        "{out}: {} image ({} bytes) from {} of file data ({:.1}%); {} inodes, {} blocks ({} holes, {} shared); built in {:.2}s\n",
        human(stats.image_len),
        stats.image_len,
        human(stats.file_bytes),
        stats.ratio() * 100.0,
        stats.inodes,
        stats.blocks,
        stats.holes,
        stats.shared_blocks,
        secs
    ))
}

/// `1.5 MiB`-style sizes.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// `oxv ls`: the listing.
pub fn ls_command(args: &LsArgs) -> Result<String, Error> {
    let display = args.image.display().to_string();
    if !args.image.exists() {
        return Err(Error::NotFound { path: display });
    }
    if !image::is_image(&args.image) {
        return Err(Error::NotRunnable {
            path: display,
            reason: "not an oxv image".into(),
        });
    }
    let r = image::open_image(&args.image)?;
    ls::list(&r, &display, &args.path)
}

fn run_command(cfg: RunConfig) -> i32 {
    let result = run(&cfg, Stdio::inherit());
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    match result {
        Ok(report) => {
            if let Some(msg) = report.ending.message(&cfg.program_display()) {
                let _ = writeln!(err, "oxv: {msg}");
            }
            if cfg.bootchart {
                let _ = err.write_all(bootchart::format(&report.timeline).as_bytes());
            }
            report.ending.exit_code()
        }
        Err(e) => {
            let _ = writeln!(err, "oxv: {e}");
            e.exit_code()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<RunConfig, clap::Error> {
        let cli = Cli::try_parse_from(std::iter::once("oxv").chain(args.iter().copied()))?;
        let Command::Run(r) = cli.command else {
            panic!("not a run command: {args:?}")
        };
        Ok(r.into_config())
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64M"), Ok(MemSize(64 << 20)));
        assert_eq!(parse_size("4MiB"), Ok(MemSize(4 << 20)));
        assert_eq!(parse_size("1G"), Ok(MemSize(1 << 30)));
        assert_eq!(parse_size("2048K"), Ok(MemSize(2 << 20)));
        assert_eq!(parse_size("2048k"), Ok(MemSize(2 << 20)));
        assert_eq!(parse_size("512MB"), Ok(MemSize(512 << 20)));
        assert_eq!(parse_size("128"), Ok(MemSize(128 << 20)));
        assert_eq!(parse_size("1gib"), Ok(MemSize(1 << 30)));
        for bad in [
            "",
            "M",
            "0",
            "0M",
            "12X",
            "1.5G",
            "-1M",
            "6K",
            "99999999999999999999G",
        ] {
            assert!(parse_size(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        for bad in ["", "s", "0s", "10x", "1..2s", "-1s", "1e400s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
        }
        for (d, s) in [
            (Duration::from_millis(500), "500ms"),
            (Duration::from_secs(10), "10s"),
            (Duration::from_secs(120), "2m"),
            (Duration::from_secs(7200), "2h"),
            (Duration::from_micros(1500), "0.002s"),
        ] {
            assert_eq!(format_duration(d), s);
        }
    }

    #[test]
    fn env_pairs() {
        assert_eq!(parse_env("A=1"), Ok(("A".into(), "1".into())));
        assert_eq!(parse_env("A="), Ok(("A".into(), String::new())));
        assert_eq!(parse_env("A=b=c"), Ok(("A".into(), "b=c".into())));
        assert!(parse_env("A").is_err());
        assert!(parse_env("=x").is_err());
    }

    #[test]
    fn defaults() {
        let c = parse(&["run", "./prog"]).unwrap();
        assert_eq!(c.program, std::path::Path::new("./prog"));
        assert!(c.args.is_empty());
        assert_eq!(c.mem, MemSize::DEFAULT);
        assert_eq!(c.cpus, 1);
        assert_eq!(c.accel, AccelChoice::Auto);
        assert_eq!(c.machine, Machine::Microvm);
        assert_eq!(c.timeout, None);
        assert!(!c.verbose && !c.bootchart);
    }

    #[test]
    fn options_before_program_and_verbatim_args_after() {
        let c = parse(&[
            "run",
            "--mem",
            "128M",
            "--cpus",
            "2",
            "--env",
            "A=1",
            "-e",
            "B=x=y",
            "--accel",
            "tcg",
            "--machine",
            "q35",
            "--timeout",
            "500ms",
            "--verbose",
            "--bootchart",
            "/bin/busybox",
            "ls",
            "--verbose",
            "-l",
            "--",
            "--mem",
            "",
        ])
        .unwrap();
        assert_eq!(c.mem, MemSize(128 << 20));
        assert_eq!(c.cpus, 2);
        assert_eq!(
            c.env,
            vec![("A".into(), "1".into()), ("B".into(), "x=y".into())]
        );
        assert_eq!(c.accel, AccelChoice::Tcg);
        assert_eq!(c.machine, Machine::Q35);
        assert_eq!(c.timeout, Some(Duration::from_millis(500)));
        assert!(c.verbose && c.bootchart);
        assert_eq!(c.program, std::path::Path::new("/bin/busybox"));
        assert_eq!(
            c.args,
            ["ls", "--verbose", "-l", "--", "--mem", ""]
                .iter()
                .map(OsString::from)
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn program_after_double_dash_and_hyphen_program() {
        let c = parse(&["run", "--", "-weird", "-x"]).unwrap();
        assert_eq!(c.program, std::path::Path::new("-weird"));
        assert_eq!(c.args, vec![OsString::from("-x")]);
    }

    #[test]
    fn non_utf8_arguments_pass_through() {
        use std::os::unix::ffi::OsStrExt;
        let raw = std::ffi::OsStr::from_bytes(b"\xff\xfe");
        let cli = Cli::try_parse_from([
            OsString::from("oxv"),
            "run".into(),
            "p".into(),
            raw.to_owned(),
        ])
        .unwrap();
        let Command::Run(r) = cli.command else {
            panic!()
        };
        assert_eq!(r.into_config().args, vec![raw.to_owned()]);
    }

    #[test]
    fn usage_errors_exit_2() {
        for args in [
            &["run"][..],
            &["run", "--mem", "12X", "p"],
            &["run", "--cpus", "0", "p"],
            &["run", "--env", "NOEQUALS", "p"],
            &["run", "--accel", "hvf", "p"],
            &["run", "--timeout", "soon", "p"],
            &["frobnicate"],
        ] {
            let e = parse(args).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{args:?}");
        }
        let e = parse(&["--version"]).unwrap_err();
        assert_eq!(e.exit_code(), 0);
        let e = parse(&["run", "--help"]).unwrap_err();
        assert_eq!(e.exit_code(), 0);
        let help = e.to_string();
        for word in [
            "--mem",
            "--cpus",
            "--env",
            "--accel",
            "--machine",
            "--timeout",
            "--verbose",
            "--bootchart",
            "PROGRAM",
            "Exit status",
            "OXV_QEMU",
        ] {
            assert!(help.contains(word), "help lacks {word}:\n{help}");
        }
    }

    #[test]
    fn main_maps_errors_to_exit_codes() {
        assert_eq!(main(["oxv", "run", "/nonexistent/oxv-test-program"]), 127);
        assert_eq!(main(["oxv", "run", "/"]), 126);
        assert_eq!(main(["oxv", "run", "--cpus", "x", "p"]), 2);
        assert_eq!(main(["oxv", "--version"]), 0);
    }

    #[test]
    fn run_image_options() {
        let c = parse(&[
            "run",
            "--add",
            "site:/srv/site",
            "--add",
            "/etc/hosts:/etc/hosts",
            "--tmpfs",
            "/tmp",
            "--tmpfs",
            "/run:16M",
            "--cwd",
            "/srv//",
            "app.rofs",
            "--add",
        ])
        .unwrap();
        assert_eq!(c.adds.len(), 2);
        assert_eq!(c.adds[0].guest, "/srv/site");
        assert_eq!(c.adds[1].host, std::path::Path::new("/etc/hosts"));
        assert_eq!(
            c.tmpfs,
            vec![
                ("/tmp".to_owned(), None),
                ("/run".to_owned(), Some(16 << 20))
            ]
        );
        assert_eq!(c.cwd.as_deref(), Some("/srv"));
        assert_eq!(c.args, vec![OsString::from("--add")]);
        for bad in [
            &["run", "--add", "nocolon", "p"][..],
            &["run", "--add", "a:relative", "p"],
            &["run", "--tmpfs", "tmp", "p"],
            &["run", "--tmpfs", "/tmp:12X", "p"],
            &["run", "--cwd", "srv", "p"],
        ] {
            assert_eq!(parse(bad).unwrap_err().exit_code(), 2, "{bad:?}");
        }
        assert_eq!(parse_block_size("32K"), Ok(32768));
        assert_eq!(parse_block_size("1M"), Ok(1 << 20));
        assert_eq!(parse_block_size("4096"), Ok(4096));
        for bad in ["3K", "2K", "2M", "x", ""] {
            assert!(parse_block_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn build_and_ls_commands() {
        let d = tempfile::tempdir().unwrap();
        let p = |s: &str| d.path().join(s).display().to_string();
        std::fs::write(
            d.path().join("prog"),
            crate::program::tests_support::tiny_elf(None),
        )
        .unwrap();
        std::fs::create_dir(d.path().join("site")).unwrap();
        std::fs::write(d.path().join("site/index.html"), b"hi").unwrap();
        std::fs::write(
            d.path().join("m.toml"),
            "program = \"prog\"\nargs = [\"-v\"]\n[[add]]\nhost = \"site\"\nguest = \"/srv\"\n",
        )
        .unwrap();
        let img = p("out.rofs");
        assert_eq!(
            main(["oxv", "build", "--manifest", &p("m.toml"), "-o", &img]),
            0
        );
        let r = crate::image::open_image(std::path::Path::new(&img)).unwrap();
        assert!(r.lookup_path(b"/srv/index.html").unwrap().is_some());
        let info = crate::image::read_run_info(&r, &img).unwrap().unwrap();
        assert_eq!(
            (info.exec.as_str(), info.args),
            ("/prog", Some(vec!["-v".to_owned()]))
        );
        let listing = ls_command(&LsArgs {
            image: img.clone().into(),
            path: "/srv".into(),
        })
        .unwrap();
        assert!(listing.ends_with(" index.html\n"), "{listing}");
        assert!(listing.starts_with("-rw-"), "{listing}");
        assert_eq!(main(["oxv", "ls", &img, "/nope"]), 127);
        assert_eq!(main(["oxv", "ls", &p("prog")]), 126);
        // Refused inputs name the entry and exit 2; nothing is written.
        let bad = p("bad.rofs");
        std::fs::write(
            d.path().join("bad.toml"),
            "[[add]]\nhost = \"missing\"\nguest = \"/x\"\n",
        )
        .unwrap();
        assert_eq!(
            main(["oxv", "build", "--manifest", &p("bad.toml"), "-o", &bad]),
            2
        );
        assert_eq!(
            main([
                "oxv",
                "build",
                &p("prog"),
                "--add",
                &format!("{}:/prog", p("site")),
                "-o",
                &bad
            ]),
            2
        );
        assert_eq!(
            main([
                "oxv",
                "build",
                "--dir",
                &p("site"),
                "--exec",
                "/nothere",
                "-o",
                &bad
            ]),
            2
        );
        assert_eq!(main(["oxv", "build", "-o", &bad]), 2);
        assert!(!std::path::Path::new(&bad).exists());
        // --dir with --exec naming a file inside the tree.
        assert_eq!(
            main([
                "oxv",
                "build",
                "--dir",
                &p("site"),
                "--exec",
                "/index.html",
                "-o",
                &bad
            ]),
            0
        );
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(10), "10 B");
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
