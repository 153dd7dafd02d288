//! Builds the launch record (`oxv_abi::launch`) the kernel receives as its
//! `-initrd` module: program bytes, argv, envp, flags, entropy, wall clock,
//! terminal size.
//!
//! [`Terminal`] captures what the guest needs to know about the host's
//! standard streams (which are terminals, the window size, `TERM`);
//! [`environment`] builds the program's small default environment;
//! [`build`] assembles and encodes the record; [`write_temp`] puts it in a
//! temporary file for QEMU.

use std::ffi::OsStr;
use std::io::{IsTerminal, Write};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use oxv_abi::launch::encode::{encode, LaunchSpec};
pub use oxv_abi::launch::FLAG_ROOT_IMAGE;
use oxv_abi::launch::{
    options, FLAG_BOOTCHART, FLAG_STDERR_TTY, FLAG_STDIN_TTY, FLAG_STDOUT_TTY, FLAG_VERBOSE,
};

use crate::config::RunConfig;
use crate::error::Error;

/// `PATH` of the default environment.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What the guest is told about the host's standard streams.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Terminal {
    /// Host stdin is a terminal.
    pub stdin_tty: bool,
    /// Host stdout is a terminal.
    pub stdout_tty: bool,
    /// Host stderr is a terminal.
    pub stderr_tty: bool,
    /// Window size (rows, columns) of the terminal, (0, 0) if none.
    pub winsize: (u16, u16),
    /// The host's `TERM`, passed on only when stdout is a terminal.
    pub term: Option<String>,
}

impl Terminal {
    /// Looks at this process's stdin, stdout and stderr.
    pub fn detect() -> Self {
        let stdin_tty = std::io::stdin().is_terminal();
        let stdout_tty = std::io::stdout().is_terminal();
        let stderr_tty = std::io::stderr().is_terminal();
        let winsize = [
            (stdout_tty, winsize(std::io::stdout())),
            (stderr_tty, winsize(std::io::stderr())),
            (stdin_tty, winsize(std::io::stdin())),
        ]
        .into_iter()
        .find_map(|(tty, ws)| if tty { ws } else { None })
        .unwrap_or((0, 0));
        let term = if stdout_tty {
            std::env::var("TERM").ok().filter(|t| !t.is_empty())
        } else {
            None
        };
        Terminal {
            stdin_tty,
            stdout_tty,
            stderr_tty,
            winsize,
            term,
        }
    }

    /// No terminals at all (captured output, tests, benchmarks).
    pub fn none() -> Self {
        Self::default()
    }

    fn flags(&self) -> u16 {
        let mut f = 0;
        if self.stdin_tty {
            f |= FLAG_STDIN_TTY;
        }
        if self.stdout_tty {
            f |= FLAG_STDOUT_TTY;
        }
        if self.stderr_tty {
            f |= FLAG_STDERR_TTY;
        }
        f
    }
}

fn winsize(fd: impl AsFd) -> Option<(u16, u16)> {
    let ws = rustix::termios::tcgetwinsize(fd).ok()?;
    (ws.ws_row > 0 && ws.ws_col > 0).then_some((ws.ws_row, ws.ws_col))
}

/// The program's environment: `PATH`, `HOME=/`, `TERM` (only when the host's
/// stdout is a terminal), then `overrides` in order, a later value for a key
/// replacing an earlier one in place.
pub fn environment(term: &Terminal, overrides: &[(String, String)]) -> Vec<String> {
    let mut env: Vec<(String, String)> = vec![
        ("PATH".into(), DEFAULT_PATH.into()),
        ("HOME".into(), "/".into()),
    ];
    if let Some(t) = &term.term {
        env.push(("TERM".into(), t.clone()));
    }
    for (k, v) in overrides {
        match env.iter_mut().find(|(key, _)| key == k) {
            Some(slot) => slot.1 = v.clone(),
            None => env.push((k.clone(), v.clone())),
        }
    }
    env.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
}

/// The guest path of the program: `/` + its file name.
pub fn exec_path(program: &Path) -> Vec<u8> {
    let name = program.file_name().unwrap_or_else(|| OsStr::new("program"));
    let mut p = b"/".to_vec();
    p.extend_from_slice(name.as_bytes());
    p
}

/// Host inputs of a launch record that vary per run.
#[derive(Debug, Clone)]
pub struct HostInputs {
    /// What the streams are.
    pub terminal: Terminal,
    /// Seed material for the guest CSPRNG.
    pub entropy: [u8; 32],
    /// Wall clock, ns since the Unix epoch.
    pub wall_clock_ns: u64,
}

impl HostInputs {
    /// Fresh entropy and the current time, with `terminal`.
    pub fn now(terminal: Terminal) -> Result<Self, Error> {
        let mut entropy = [0u8; 32];
        getrandom::fill(&mut entropy)
            .map_err(|e| Error::Launch(format!("no host entropy: {e}")))?;
        let wall_clock_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        Ok(HostInputs {
            terminal,
            entropy,
            wall_clock_ns,
        })
    }
}

/// What a launch record boots, beyond what [`RunConfig`] says.
#[derive(Debug, Clone, Default)]
pub struct Boot<'a> {
    /// Flags on top of the terminal and `--verbose`/`--bootchart` ones
    /// ([`FLAG_ROOT_IMAGE`] for an image).
    pub flags: u16,
    /// Guest path of the program.
    pub exec_path: Vec<u8>,
    /// argv, argv[0] included.
    pub argv: Vec<Vec<u8>>,
    /// Environment from the image, applied before `--env`.
    pub env: Vec<(String, String)>,
    /// Working directory from the image (`--cwd` wins).
    pub cwd: Option<String>,
    /// The program area: the program's ELF bytes, the image, or empty
    /// (the image is on the first virtio block device).
    pub program: &'a [u8],
}

impl<'a> Boot<'a> {
    /// A plain program run: exec path `/` + file name, argv[0] as typed.
    pub fn program(cfg: &RunConfig, program: &'a [u8]) -> Self {
        Boot {
            flags: 0,
            exec_path: exec_path(&cfg.program),
            argv: std::iter::once(cfg.program.as_os_str().as_bytes().to_vec())
                .chain(cfg.args.iter().map(|a| a.as_bytes().to_vec()))
                .collect(),
            env: Vec::new(),
            cwd: None,
            program,
        }
    }
}

/// Kernel option strings for `cfg` (`cwd=`, `tmpfs=`), with `cwd` as the
/// default working directory.
pub fn kernel_options(cfg: &RunConfig, cwd: Option<&str>) -> Vec<String> {
    let mut o = Vec::new();
    if let Some(c) = cfg.cwd.as_deref().or(cwd) {
        o.push(format!("{}={c}", options::CWD));
    }
    for (path, size) in &cfg.tmpfs {
        match size {
            Some(n) => o.push(format!("{}={path}:{n}", options::TMPFS)),
            None => o.push(format!("{}={path}", options::TMPFS)),
        }
    }
    o
}

/// Encodes the launch record for `cfg` and the checked program bytes.
pub fn build(cfg: &RunConfig, program: &[u8], host: &HostInputs) -> Result<Vec<u8>, Error> {
    build_boot(cfg, &Boot::program(cfg, program), host)
}

/// Encodes the launch record for `cfg` booting `boot`.
pub fn build_boot(cfg: &RunConfig, boot: &Boot<'_>, host: &HostInputs) -> Result<Vec<u8>, Error> {
    let mut flags = host.terminal.flags() | boot.flags;
    if cfg.verbose {
        flags |= FLAG_VERBOSE;
    }
    if cfg.bootchart {
        flags |= FLAG_BOOTCHART;
    }
    let overrides: Vec<(String, String)> = boot.env.iter().chain(&cfg.env).cloned().collect();
    let env = environment(&host.terminal, &overrides);
    let opts = kernel_options(cfg, boot.cwd.as_deref());
    let spec = LaunchSpec {
        flags,
        exec_path: &boot.exec_path,
        argv: boot.argv.iter().map(Vec::as_slice).collect(),
        envp: env.iter().map(|s| s.as_bytes()).collect(),
        wall_clock_ns: host.wall_clock_ns,
        entropy: host.entropy,
        winsize: host.terminal.winsize,
        options: opts.iter().map(|s| s.as_bytes()).collect(),
        program: boot.program,
    };
    encode(&spec).map_err(|e| Error::Launch(e.to_string()))
}

/// Writes `record` to a temporary file, deleted when the path is dropped.
pub fn write_temp(record: &[u8]) -> Result<tempfile::TempPath, Error> {
    let mut f = tempfile::Builder::new()
        .prefix("oxv-launch-")
        .tempfile()
        .map_err(|e| Error::io("creating the launch record file", e))?;
    f.write_all(record)
        .map_err(|e| Error::io("writing the launch record file", e))?;
    Ok(f.into_temp_path())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxv_abi::launch::LaunchRecord;
    use std::ffi::OsString;

    fn host(terminal: Terminal) -> HostInputs {
        HostInputs {
            terminal,
            entropy: [9; 32],
            wall_clock_ns: 1_700_000_000_000_000_000,
        }
    }

    #[test]
    fn default_environment_is_small() {
        assert_eq!(
            environment(&Terminal::none(), &[]),
            vec![format!("PATH={DEFAULT_PATH}"), "HOME=/".to_owned()]
        );
        let tty = Terminal {
            stdout_tty: true,
            term: Some("xterm-256color".into()),
            ..Terminal::none()
        };
        assert_eq!(environment(&tty, &[])[2], "TERM=xterm-256color");
    }

    #[test]
    fn env_overrides_replace_in_place_and_append() {
        let o = vec![
            ("HOME".to_owned(), "/root".to_owned()),
            ("A".to_owned(), "1".to_owned()),
            ("A".to_owned(), "2".to_owned()),
            ("EMPTY".to_owned(), String::new()),
        ];
        assert_eq!(
            environment(&Terminal::none(), &o),
            vec![
                format!("PATH={DEFAULT_PATH}"),
                "HOME=/root".to_owned(),
                "A=2".to_owned(),
                "EMPTY=".to_owned(),
            ]
        );
    }

    #[test]
    fn exec_path_is_slash_file_name() {
        assert_eq!(exec_path(Path::new("./build/hello")), b"/hello");
        assert_eq!(exec_path(Path::new("/bin/busybox")), b"/busybox");
        assert_eq!(exec_path(Path::new("a")), b"/a");
    }

    #[test]
    fn record_round_trips() {
        use std::os::unix::ffi::OsStringExt;
        let mut cfg = RunConfig::new("./out/prog");
        cfg.args = vec![
            OsString::from("--flag"),
            OsString::from(""),
            OsString::from_vec(b"\xff raw".to_vec()),
        ];
        cfg.env = vec![("X".into(), "y".into())];
        cfg.verbose = true;
        cfg.bootchart = true;
        let term = Terminal {
            stdin_tty: true,
            stdout_tty: false,
            stderr_tty: true,
            winsize: (40, 120),
            term: None,
        };
        let rec = build(&cfg, b"\x7fELFprogram", &host(term)).unwrap();
        let r = LaunchRecord::decode(&rec).unwrap();
        assert_eq!(r.exec_path(), b"/prog");
        assert_eq!(
            r.argv().collect::<Vec<_>>(),
            vec![&b"./out/prog"[..], b"--flag", b"", b"\xff raw"]
        );
        let envp: Vec<_> = r.envp().collect();
        assert_eq!(envp.last().copied(), Some(&b"X=y"[..]));
        assert_eq!(envp.len(), 3);
        assert_eq!(r.program, b"\x7fELFprogram");
        assert_eq!(r.entropy, [9; 32]);
        assert_eq!(r.wall_clock_ns, 1_700_000_000_000_000_000);
        assert_eq!(r.winsize, (40, 120));
        assert!(r.has(FLAG_VERBOSE) && r.has(FLAG_BOOTCHART));
        assert!(r.has(FLAG_STDIN_TTY) && !r.has(FLAG_STDOUT_TTY) && r.has(FLAG_STDERR_TTY));
    }

    #[test]
    fn image_boot_record() {
        let mut cfg = RunConfig::new("app.rofs");
        cfg.env = vec![("B".into(), "cli".into())];
        cfg.tmpfs = vec![("/tmp".into(), None), ("/run".into(), Some(1 << 20))];
        let boot = Boot {
            flags: FLAG_ROOT_IMAGE,
            exec_path: b"/usr/bin/app".to_vec(),
            argv: vec![b"/usr/bin/app".to_vec(), b"-x".to_vec()],
            env: vec![("A".into(), "img".into()), ("B".into(), "img".into())],
            cwd: Some("/srv".into()),
            program: b"OXVROFS\0...",
        };
        let rec = build_boot(&cfg, &boot, &host(Terminal::none())).unwrap();
        let r = LaunchRecord::decode(&rec).unwrap();
        assert!(r.has(FLAG_ROOT_IMAGE));
        assert_eq!(r.exec_path(), b"/usr/bin/app");
        assert_eq!(
            r.argv().collect::<Vec<_>>(),
            vec![&b"/usr/bin/app"[..], b"-x"]
        );
        let envp: Vec<_> = r.envp().collect();
        assert_eq!(envp[2..], [&b"A=img"[..], b"B=cli"]);
        assert_eq!(
            r.options().collect::<Vec<_>>(),
            vec![&b"cwd=/srv"[..], b"tmpfs=/tmp", b"tmpfs=/run:1048576"]
        );
        assert_eq!(r.program, b"OXVROFS\0...");
        // --cwd wins over the image's.
        cfg.cwd = Some("/".into());
        assert_eq!(kernel_options(&cfg, Some("/srv"))[0], "cwd=/");
    }

    #[test]
    fn plain_run_sets_no_flags() {
        let rec = build(&RunConfig::new("p"), b"", &host(Terminal::none())).unwrap();
        let r = LaunchRecord::decode(&rec).unwrap();
        assert_eq!(r.flags, 0);
        assert_eq!(r.winsize, (0, 0));
    }

    #[test]
    fn host_inputs_have_entropy_and_time() {
        let a = HostInputs::now(Terminal::none()).unwrap();
        let b = HostInputs::now(Terminal::none()).unwrap();
        assert_ne!(a.entropy, b.entropy);
        assert!(a.wall_clock_ns > 1_600_000_000_000_000_000);
    }

    #[test]
    fn temp_file_holds_the_record() {
        let p = write_temp(b"OXVL...").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"OXVL...");
        let path = p.to_path_buf();
        drop(p);
        assert!(!path.exists());
    }
}
