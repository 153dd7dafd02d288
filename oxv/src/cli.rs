//! The command line: `oxv run [OPTIONS] PROGRAM [ARGS]...` and `oxv --version`.
//!
//! Parsing is clap (derive); the value parsers for sizes, durations and
//! `KEY=VALUE` pairs are plain functions with unit tests. [`main`] is what
//! the `oxv` binary calls: it parses, runs ([`crate::run`]) and turns the
//! outcome into messages on stderr and an exit code.

use std::ffi::OsString;
use std::io::Write;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::{AccelChoice, Machine, MemSize, RunConfig};
use crate::{bootchart, run, Stdio};

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
  OXV_KERNEL   boot this kernel ELF instead of the embedded one (kernel development)";

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
        override_usage = "oxv run [OPTIONS] PROGRAM [ARGS]..."
    )]
    Run(RunArgs),
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

    /// Show kernel log lines on stderr (prefixed "[kernel] "), the QEMU command line and QEMU's stderr.
    #[arg(long, short = 'v')]
    pub verbose: bool,

    /// Print boot-chart timestamps (microseconds) on stderr when the VM is gone.
    #[arg(long)]
    pub bootchart: bool,

    /// The program (a host path to a static x86-64 ELF), then its arguments.
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

/// Formats a duration the way `--timeout` accepts it, for messages.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if d.subsec_nanos() % 1_000_000 != 0 {
        format!("{:.3}s", d.as_secs_f64())
    } else if ms % 1000 != 0 {
        format!("{ms}ms")
    } else {
        let s = d.as_secs();
        if s % 3600 == 0 {
            format!("{}h", s / 3600)
        } else if s % 60 == 0 {
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
    match cli.command {
        Command::Run(args) => run_command(args.into_config()),
    }
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
        let Command::Run(r) = cli.command;
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
        let Command::Run(r) = cli.command;
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
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
