//! Shared harness for the in-VM tests: builds the C programs under
//! `tests/programs/` and runs them (or Debian's static busybox) inside a VM
//! with `oxv run`, capturing stdout, stderr and the exit code.
//!
//! Each program is compiled once per [`Variant`] (`gcc -static`,
//! `gcc -static-pie`, `musl-gcc -static`) into
//! `target/test-programs/<variant>/<name>`, and rebuilt when its source or
//! any header next to it (`check.h`, ...) is newer. A per-program
//! [`OnceLock`] keeps parallel tests in one process from building the same
//! thing twice; the build writes a temporary file and renames it into
//! place, so concurrent test processes cannot see a half-written binary.
//!
//! Every run has a deadline twice over: `oxv run --timeout 60s`, and a
//! host-side kill of the whole process group (oxv and its QEMU) as a backstop.
//!
//! **Native mode.** With `OXV_TEST_NATIVE=1` the same tests run each built
//! program directly on the host instead of through `oxv` (with the
//! environment oxv would give it, [`program_environment`]; a signal death is
//! reported as 128 + the signal, like a shell). Every expectation in these tests must hold there:
//! that is what proves they are Linux's behaviour and not oxv's. Tests of
//! oxv's own behaviour (its error exit codes, its `killed by` line) skip
//! those parts in native mode.
//!
//! ```text
//! OXV_TEST_NATIVE=1 cargo test -p oxv --test programs --test busybox
//! cargo test -p oxv --test programs --test busybox --test errors   # in the VM
//! ```
//!
//! Missing compilers are a hard failure naming the Debian package to install
//! (`gcc`, `musl-tools`, `busybox-static`); nothing is skipped silently.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

/// `--timeout` handed to `oxv run`.
pub const VM_TIMEOUT: &str = "60s";
/// Host-side backstop: the process group is killed after this long.
pub const HOST_DEADLINE: Duration = Duration::from_secs(90);

/// How a C test program is compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variant {
    /// `gcc -static`: glibc, fixed address.
    GlibcStatic,
    /// `gcc -static-pie`: glibc, position independent, self-relocating.
    GlibcStaticPie,
    /// `musl-gcc -static`: musl libc.
    MuslStatic,
}

impl Variant {
    /// Directory name under `target/test-programs/`.
    pub fn dir_name(self) -> &'static str {
        match self {
            Variant::GlibcStatic => "glibc-static",
            Variant::GlibcStaticPie => "glibc-static-pie",
            Variant::MuslStatic => "musl-static",
        }
    }

    fn compiler(self) -> &'static str {
        match self {
            Variant::GlibcStatic | Variant::GlibcStaticPie => "gcc",
            Variant::MuslStatic => "musl-gcc",
        }
    }

    fn link_flag(self) -> &'static str {
        match self {
            Variant::GlibcStatic | Variant::MuslStatic => "-static",
            Variant::GlibcStaticPie => "-static-pie",
        }
    }

    /// Debian package(s) that provide the compiler and static C library.
    fn package(self) -> &'static str {
        match self {
            Variant::GlibcStatic | Variant::GlibcStaticPie => "gcc libc6-dev",
            Variant::MuslStatic => "musl-tools",
        }
    }
}

/// Generates one `#[test]` per [`Variant`] that calls `body(variant)`:
/// `per_variant!(hello: hello_glibc_static, hello_glibc_static_pie, hello_musl_static);`
#[macro_export]
macro_rules! per_variant {
    ($body:ident: $gs:ident, $gp:ident, $ms:ident) => {
        #[test]
        fn $gs() {
            $body($crate::common::Variant::GlibcStatic)
        }
        #[test]
        fn $gp() {
            $body($crate::common::Variant::GlibcStaticPie)
        }
        #[test]
        fn $ms() {
            $body($crate::common::Variant::MuslStatic)
        }
    };
}

/// The environment `oxv run` gives a program before `--env` overrides (see
/// `oxv run --help`): no host variables. `TERM` is added only when stdout is
/// a terminal, which it never is here.
pub const DEFAULT_ENV: [(&str, &str); 2] = [
    (
        "PATH",
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ),
    ("HOME", "/"),
];

/// The program's environment for `--env` `overrides`: [`DEFAULT_ENV`], then
/// the overrides in order, a repeated key replacing the earlier value in place.
/// Native mode hands exactly this to the program.
pub fn program_environment(overrides: &[(String, String)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = DEFAULT_ENV
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for (k, v) in overrides {
        match env.iter_mut().find(|(key, _)| key == k) {
            Some(slot) => slot.1 = v.clone(),
            None => env.push((k.clone(), v.clone())),
        }
    }
    env
}

/// True when `OXV_TEST_NATIVE=1`: run programs on the host, not in the VM.
pub fn native() -> bool {
    std::env::var("OXV_TEST_NATIVE").is_ok_and(|v| v == "1")
}

/// The workspace root (parent of `oxv/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("oxv/ has a parent")
        .to_path_buf()
}

/// `tests/programs/` in the workspace.
pub fn programs_dir() -> PathBuf {
    workspace_root().join("tests").join("programs")
}

/// The cargo target directory (found from the `oxv` binary: `<target>/<profile>/oxv`).
pub fn target_dir() -> PathBuf {
    let exe = Path::new(env!("CARGO_BIN_EXE_oxv"));
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Scratch directory for test inputs: `target/test-programs/`.
pub fn scratch_dir() -> PathBuf {
    let d = target_dir().join("test-programs");
    std::fs::create_dir_all(&d).expect("create target/test-programs");
    d
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

type BuildCell = Arc<OnceLock<Result<PathBuf, String>>>;

/// Path of `tests/programs/<name>.c` built as `variant`, compiling it first if
/// needed. Panics with the compiler's message (or the package to install).
pub fn program(name: &str, variant: Variant) -> PathBuf {
    static BUILDS: OnceLock<Mutex<HashMap<(String, Variant), BuildCell>>> = OnceLock::new();
    let cell = BUILDS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry((name.to_string(), variant))
        .or_default()
        .clone();
    match cell.get_or_init(|| build(name, variant)) {
        Ok(p) => p.clone(),
        Err(e) => panic!("{e}"),
    }
}

fn build(name: &str, variant: Variant) -> Result<PathBuf, String> {
    let src = programs_dir().join(format!("{name}.c"));
    let src_time = mtime(&src).ok_or_else(|| format!("missing test program {}", src.display()))?;
    // Any header in tests/programs (check.h, fs_check.h, ...) may be included.
    let newest_input = std::fs::read_dir(programs_dir())
        .map_err(|e| format!("read {}: {e}", programs_dir().display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "h"))
        .filter_map(|p| mtime(&p))
        .fold(src_time, SystemTime::max);
    let out_dir = scratch_dir().join(variant.dir_name());
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("create {}: {e}", out_dir.display()))?;
    let out = out_dir.join(name);
    if mtime(&out).is_some_and(|t| t >= newest_input) {
        return Ok(out);
    }

    let tmp = out_dir.join(format!(
        ".{name}.tmp.{}.{:?}",
        std::process::id(),
        thread::current().id()
    ));
    let cc = variant.compiler();
    let result = Command::new(cc)
        .arg(variant.link_flag())
        .args(["-O2", "-Wall", "-Wextra", "-I"])
        .arg(programs_dir())
        .arg("-o")
        .arg(&tmp)
        .arg(&src)
        .output();
    let output = match result {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!(
                "`{cc}` not found, needed to build the {} test programs: \
                 install it with `apt-get install -y {}`",
                variant.dir_name(),
                variant.package()
            ))
        }
        Err(e) => return Err(format!("running {cc}: {e}")),
    };
    if !output.status.success() {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!(
            "{cc} {} failed to build {} ({}); if the static C library is missing, \
             install `apt-get install -y {}`:\n{}",
            variant.link_flag(),
            src.display(),
            output.status,
            variant.package(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    std::fs::rename(&tmp, &out).map_err(|e| format!("rename to {}: {e}", out.display()))?;
    Ok(out)
}

/// Debian's statically linked busybox (package `busybox-static`).
pub fn busybox() -> PathBuf {
    let p = PathBuf::from("/bin/busybox");
    match elf_is_static(&p) {
        Some(true) => p,
        Some(false) => panic!(
            "{} is dynamically linked: install the static one with \
             `apt-get install -y busybox-static`",
            p.display()
        ),
        None => panic!(
            "{} is missing or not an ELF file: install it with \
             `apt-get install -y busybox-static`",
            p.display()
        ),
    }
}

/// `Some(true)` for an x86-64 ELF without a PT_INTERP segment, `Some(false)`
/// with one, `None` if `path` is not a readable 64-bit ELF file.
pub fn elf_is_static(path: &Path) -> Option<bool> {
    let data = std::fs::read(path).ok()?;
    if data.len() < 64 || &data[..4] != b"\x7fELF" || data[4] != 2 {
        return None;
    }
    let u16_at = |o: usize| Some(u16::from_le_bytes(data.get(o..o + 2)?.try_into().ok()?));
    let u32_at = |o: usize| Some(u32::from_le_bytes(data.get(o..o + 4)?.try_into().ok()?));
    let u64_at = |o: usize| Some(u64::from_le_bytes(data.get(o..o + 8)?.try_into().ok()?));
    let phoff = u64_at(0x20)? as usize;
    let phentsize = u16_at(0x36)? as usize;
    let phnum = u16_at(0x38)? as usize;
    for i in 0..phnum {
        if u32_at(phoff + i * phentsize)? == 3 {
            return Some(false);
        }
    }
    Some(true)
}

/// What a run produced.
#[derive(Debug)]
pub struct Outcome {
    /// Everything the program wrote to stdout.
    pub stdout: Vec<u8>,
    /// Everything on stderr (the program's and, in the VM, oxv's own lines).
    pub stderr: Vec<u8>,
    /// Exit code; 128 + signal for a program killed by a signal.
    pub code: i32,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// The command line, for messages.
    pub command: String,
}

impl Outcome {
    /// stdout as text (lossy).
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// stderr as text (lossy).
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// Command, exit code, stdout and stderr, for failure messages.
    pub fn describe(&self) -> String {
        format!(
            "command: {}\nexit code: {}  ({:?})\n--- stdout ({} bytes) ---\n{}\n--- stderr ({} bytes) ---\n{}\n---",
            self.command,
            self.code,
            self.elapsed,
            self.stdout.len(),
            clip(&self.stdout),
            self.stderr.len(),
            clip(&self.stderr),
        )
    }

    /// Asserts the exit code.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "wrong exit code\n{}", self.describe());
        self
    }

    /// Asserts stdout byte for byte.
    #[track_caller]
    pub fn assert_stdout(&self, expected: impl AsRef<[u8]>) -> &Self {
        assert_bytes("stdout", &self.stdout, expected.as_ref(), self);
        self
    }

    /// Asserts stderr byte for byte.
    #[track_caller]
    pub fn assert_stderr(&self, expected: impl AsRef<[u8]>) -> &Self {
        assert_bytes("stderr", &self.stderr, expected.as_ref(), self);
        self
    }

    /// Asserts stderr contains `needle`.
    #[track_caller]
    pub fn assert_stderr_contains(&self, needle: &str) -> &Self {
        assert!(
            self.stderr_text().contains(needle),
            "stderr lacks {needle:?}\n{}",
            self.describe()
        );
        self
    }

    /// Exit code 0 and exactly `stdout`.
    #[track_caller]
    pub fn assert_ok(&self, stdout: impl AsRef<[u8]>) -> &Self {
        self.assert_code(0).assert_stdout(stdout)
    }

    /// Killed by `signal` (e.g. 11, "SIGSEGV"): exit 128 + signal, and in the
    /// VM the line `oxv: <program> killed by SIGSEGV ...` on stderr. Returns
    /// the fault address from that line for SIGSEGV/SIGBUS (None natively).
    #[track_caller]
    pub fn assert_killed(&self, signal: i32, name: &str) -> Option<u64> {
        self.assert_code(128 + signal);
        if native() {
            return None;
        }
        let text = self.stderr_text();
        let needle = format!("killed by {name}");
        let line = text
            .lines()
            .find(|l| l.starts_with("oxv: ") && l.contains(&needle));
        let Some(line) = line else {
            panic!("no `oxv: ... {needle}` line on stderr\n{}", self.describe());
        };
        if name != "SIGSEGV" && name != "SIGBUS" {
            return None;
        }
        let hex = |key: &str| -> Option<u64> {
            let rest = &line[line.find(key)? + key.len()..];
            let end = rest
                .find(|c: char| !c.is_ascii_hexdigit())
                .unwrap_or(rest.len());
            u64::from_str_radix(&rest[..end], 16).ok()
        };
        let addr = hex("fault address 0x");
        assert!(
            addr.is_some() && hex("rip 0x").is_some(),
            "expected `(fault address 0x..., rip 0x...)` in {line:?}\n{}",
            self.describe()
        );
        addr
    }
}

fn clip(b: &[u8]) -> String {
    const MAX: usize = 4000;
    let s = String::from_utf8_lossy(&b[..b.len().min(MAX)]).into_owned();
    if b.len() > MAX {
        format!("{s}\n[... {} more bytes]", b.len() - MAX)
    } else {
        s
    }
}

#[track_caller]
fn assert_bytes(what: &str, got: &[u8], expected: &[u8], outcome: &Outcome) {
    if got == expected {
        return;
    }
    let first_diff = got
        .iter()
        .zip(expected)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(expected.len()));
    let window = |b: &[u8]| {
        let lo = first_diff.saturating_sub(16);
        let hi = (first_diff + 32).min(b.len());
        format!("{:02x?}", &b[lo.min(hi)..hi])
    };
    panic!(
        "{what} differs: expected {} bytes, got {}; first difference at byte {first_diff}\n\
         expected around it: {}\ngot around it:      {}\n\
         expected (text): {:?}\n{}",
        expected.len(),
        got.len(),
        window(expected),
        window(got),
        clip(expected),
        outcome.describe()
    );
}

/// One run: a program, its arguments, extra environment and stdin bytes.
#[derive(Debug, Clone)]
pub struct Run {
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Vec<u8>,
    cpus: Option<u32>,
}

impl Run {
    /// A run of `program` with no arguments, no environment and empty stdin.
    pub fn new(program: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            stdin: Vec::new(),
            cpus: None,
        }
    }

    /// Virtual CPUs for the VM (`oxv run --cpus N`); natively the program
    /// simply runs on the host's CPUs.
    pub fn cpus(mut self, n: u32) -> Self {
        self.cpus = Some(n);
        self
    }

    /// Appends program arguments (after argv[0]).
    pub fn args<S: AsRef<str>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.args
            .extend(args.into_iter().map(|s| s.as_ref().to_string()));
        self
    }

    /// Adds an environment variable (`--env KEY=VALUE` in the VM).
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Bytes piped to the program's stdin (then EOF).
    pub fn stdin(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.stdin = data.into();
        self
    }

    /// Runs it through `oxv run` (or natively with `OXV_TEST_NATIVE=1`).
    pub fn run(&self) -> Outcome {
        let mut cmd;
        if native() {
            cmd = Command::new(&self.program);
            cmd.args(&self.args).env_clear();
            cmd.envs(program_environment(&self.env));
        } else {
            cmd = Command::new(env!("CARGO_BIN_EXE_oxv"));
            cmd.args(["run", "--timeout", VM_TIMEOUT]);
            if let Some(n) = self.cpus {
                cmd.arg("--cpus").arg(n.to_string());
            }
            for (k, v) in &self.env {
                cmd.arg("--env").arg(format!("{k}={v}"));
            }
            cmd.arg(&self.program).args(&self.args);
        }
        run_with_deadline(cmd, &self.stdin, HOST_DEADLINE)
    }

    /// Runs `oxv run` with extra oxv options before the program (VM only).
    pub fn run_with_options(&self, options: &[&str]) -> Outcome {
        assert!(!native(), "oxv options make no sense in native mode");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_oxv"));
        cmd.args(["run", "--timeout", VM_TIMEOUT]);
        if let Some(n) = self.cpus {
            cmd.arg("--cpus").arg(n.to_string());
        }
        cmd.args(options);
        for (k, v) in &self.env {
            cmd.arg("--env").arg(format!("{k}={v}"));
        }
        cmd.arg(&self.program).args(&self.args);
        run_with_deadline(cmd, &self.stdin, HOST_DEADLINE)
    }
}

/// Spawns `cmd` in its own process group with piped stdio, feeds `stdin`,
/// collects stdout and stderr, and kills the whole group if it outlives
/// `deadline` (then panics).
pub fn run_with_deadline(mut cmd: Command, stdin: &[u8], deadline: Duration) -> Outcome {
    use std::os::unix::process::{CommandExt, ExitStatusExt};

    let command = format!("{cmd:?}");
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command}: {e}"));

    let mut child_in = child.stdin.take().expect("piped stdin");
    let input = stdin.to_vec();
    // A program that exits without reading all of stdin closes the pipe: ignore EPIPE.
    let writer = thread::spawn(move || {
        let _ = child_in.write_all(&input);
    });
    let reader = |mut r: Box<dyn Read + Send>| {
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            let _ = tx.send(buf);
        });
        rx
    };
    let out_rx = reader(Box::new(child.stdout.take().expect("piped stdout")));
    let err_rx = reader(Box::new(child.stderr.take().expect("piped stderr")));

    let status: ExitStatus = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if start.elapsed() > deadline => {
                kill_group(child.id());
                let _ = child.wait();
                panic!("{command} still running after {deadline:?}: killed its process group");
            }
            Ok(None) => thread::sleep(Duration::from_millis(2)),
            Err(e) => panic!("waiting for {command}: {e}"),
        }
    };
    let elapsed = start.elapsed();
    // A leftover member of the group (QEMU, if oxv died without reaping it)
    // would hold the pipes open forever. While it lives the group id cannot
    // be reused, so killing the group then only hits processes we started.
    let collect = |rx: mpsc::Receiver<Vec<u8>>| match rx.recv_timeout(Duration::from_secs(10)) {
        Ok(b) => b,
        Err(_) => {
            kill_group(child.id());
            rx.recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|_| panic!("{command}: output pipes never closed"))
        }
    };
    let stdout = collect(out_rx);
    let stderr = collect(err_rx);
    let _ = writer.join();
    let code = match (status.code(), status.signal()) {
        (Some(c), _) => c,
        (None, Some(sig)) => 128 + sig,
        (None, None) => panic!("{command}: odd exit status {status:?}"),
    };
    Outcome {
        stdout,
        stderr,
        code,
        elapsed,
        command,
    }
}

fn kill_group(pgid: u32) {
    // No libc dependency: the kill(1) binary signals a process group given -PGID.
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Deterministic pseudo-random bytes (xorshift64*), for stdin payloads.
pub fn pseudo_random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}
