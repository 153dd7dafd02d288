//! Runs one program in one VM: the orchestration behind `oxv run`.
//!
//! [`run`] checks the program, writes the kernel and launch record to
//! files, spawns QEMU with pipes on all three streams and then runs three
//! helpers: the console reader (a thread feeding [`Demux`] from QEMU's
//! stdout), the QEMU-stderr collector (a thread keeping the tail for error
//! messages) and the stdin pump (a detached thread, never joined). The
//! calling thread waits for the console to end, enforcing `--timeout` and a
//! short grace period between the exit record and QEMU's exit, then decides
//! the [`Ending`]. [`Stdio`] says where the program's streams go, so tests
//! and benchmarks can capture them; [`Report`] is what comes back.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ChildStdin, Command, ExitStatus};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::bootchart::Timeline;
use crate::config::{Accel, Machine, RunConfig};
use crate::console::{self, Demux, DemuxOutput, Ending};
use crate::error::Error;
use crate::kernel::{self, Symbolizer};
use crate::launch::{self, HostInputs, Terminal};
use crate::qemu::{self, QemuSpec};
use crate::root::{self, Placement, Root};
use crate::{accel, stdin};

/// How long QEMU may take to exit after the guest sent its exit record.
const EXIT_GRACE: Duration = Duration::from_secs(2);
/// How long to wait for the console reader after QEMU was killed.
const KILL_GRACE: Duration = Duration::from_secs(2);
/// Bytes of QEMU's stderr kept for error messages.
const STDERR_TAIL_BYTES: usize = 16 * 1024;
/// Lines of QEMU's stderr shown when the VM dies.
const STDERR_TAIL_LINES: usize = 5;

/// A byte sink a run writes to.
pub type Sink = Box<dyn Write + Send>;

/// Where the program's standard streams come from and go to.
pub struct Stdio {
    /// The program's stdin; `None` is an empty stdin (end of file at once).
    pub stdin: Option<Box<dyn Read + Send>>,
    /// The program's stdout.
    pub stdout: Sink,
    /// The program's stderr, plus kernel and QEMU lines under `--verbose`.
    pub stderr: Sink,
    /// What the guest is told about terminals.
    pub terminal: Terminal,
}

impl std::fmt::Debug for Stdio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stdio")
            .field("stdin", &self.stdin.is_some())
            .field("terminal", &self.terminal)
            .finish_non_exhaustive()
    }
}

impl Stdio {
    /// This process's own stdin, stdout and stderr (what `oxv run` uses).
    /// Output goes through unbuffered duplicates of fds 1 and 2.
    pub fn inherit() -> Self {
        fn raw(fd: std::os::fd::BorrowedFd<'_>) -> Option<File> {
            fd.try_clone_to_owned().ok().map(File::from)
        }
        let stdout: Sink = match raw(io::stdout().as_fd()) {
            Some(f) => Box::new(f),
            None => Box::new(io::stdout()),
        };
        let stderr: Sink = match raw(io::stderr().as_fd()) {
            Some(f) => Box::new(f),
            None => Box::new(io::stderr()),
        };
        Stdio {
            stdin: Some(Box::new(io::stdin())),
            stdout,
            stderr,
            terminal: Terminal::detect(),
        }
    }

    /// Empty stdin; stdout and stderr captured in memory.
    pub fn capture() -> (Self, Capture, Capture) {
        let (out, err) = (Capture::default(), Capture::default());
        let s = Stdio {
            stdin: None,
            stdout: Box::new(out.clone()),
            stderr: Box::new(err.clone()),
            terminal: Terminal::none(),
        };
        (s, out, err)
    }
}

/// An in-memory sink whose contents can be read after (or during) a run.
#[derive(Debug, Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    /// Everything written so far.
    pub fn contents(&self) -> Vec<u8> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Write for Capture {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A sink shared by the console reader and the QEMU-stderr collector.
#[derive(Clone)]
struct Shared(Arc<Mutex<Sink>>);

impl Write for Shared {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).write(b)
    }
    fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .write_all(b)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).flush()
    }
}

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct Report {
    /// How it ended (exit code via [`Ending::exit_code`]).
    pub ending: Ending,
    /// Boot-chart timestamps (host points always, guest points if sent).
    pub timeline: Timeline,
    /// The accelerator used.
    pub accel: Accel,
    /// The last kernel log lines.
    pub log: Vec<String>,
    /// The QEMU command line (binary first).
    pub qemu_command: Vec<OsString>,
}

/// Kills and reaps QEMU unless it was waited for.
struct Vm {
    child: Child,
    status: Option<ExitStatus>,
}

impl Vm {
    fn kill(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
        }
    }

    fn wait(&mut self) -> io::Result<ExitStatus> {
        if let Some(s) = self.status {
            return Ok(s);
        }
        let s = self.child.wait()?;
        self.status = Some(s);
        Ok(s)
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

enum Event {
    ExitRecord,
    Done(Result<(), Error>, DemuxOutput),
}

/// Runs `cfg.program` in a fresh VM with the given streams and waits for it.
///
/// Host-side failures are `Err`; every way the program (or the kernel) can
/// end, including `--timeout`, is an `Ok(Report)` whose
/// [`Ending::exit_code`] is what `oxv run` exits with.
pub fn run(cfg: &RunConfig, stdio: Stdio) -> Result<Report, Error> {
    let root = root::prepare(cfg)?;
    let kernel_file = kernel::kernel_file()?;
    let accel = accel::resolve(cfg.accel);
    let host = HostInputs::now(stdio.terminal.clone())?;
    let mut root_note = None;
    let (record, root_drive) = match &root {
        Root::Program(bytes) => (launch::build(cfg, bytes, &host)?, None),
        Root::Image(img) => {
            let place = root::placement(img.len, cfg.mem);
            let bytes = match place {
                Placement::Memory => std::fs::read(img.file.path())
                    .map_err(|e| Error::io(img.file.path().display().to_string(), e))?,
                Placement::BlockDevice => Vec::new(),
            };
            let boot = launch::Boot {
                flags: launch::FLAG_ROOT_IMAGE,
                exec_path: img.exec.clone(),
                argv: img.argv.clone(),
                env: img.env.clone(),
                cwd: img.cwd.clone(),
                program: &bytes,
            };
            root_note = Some(format!(
                "oxv: root image {} ({} bytes, {}, {})\n",
                img.file.path().display(),
                img.len,
                match place {
                    Placement::Memory => "in memory",
                    Placement::BlockDevice => "virtio-blk",
                },
                if img.built { "built now" } else { "cached" }
            ));
            let drive = (place == Placement::BlockDevice).then(|| img.file.path().to_path_buf());
            (launch::build_boot(cfg, &boot, &host)?, drive)
        }
    };
    let launch_file = launch::write_temp(&record)?;
    drop(record);

    let q35_bios = QemuSpec::find_qboot();
    let spec = QemuSpec {
        machine: cfg.machine,
        accel,
        mem: cfg.mem,
        cpus: cfg.cpus,
        kernel: kernel_file.path().to_path_buf(),
        initrd: launch_file.to_path_buf(),
        q35_bios: q35_bios.clone(),
    };
    let (binary, origin) = qemu::binary(cfg.qemu.as_deref());
    let mut args = spec.args();
    if let Some(img) = &root_drive {
        args.extend(qemu::root_drive_args(cfg.machine, img));
    }

    let Stdio {
        stdin: input,
        stdout,
        stderr,
        ..
    } = stdio;
    let mut stderr = Shared(Arc::new(Mutex::new(stderr)));
    if cfg.verbose {
        let mut msg = root_note.unwrap_or_default();
        msg.push_str(&format!("oxv: {}\n", qemu::display_command(&binary, &args)));
        if cfg.machine == Machine::Q35 && q35_bios.is_none() {
            msg.push_str(&format!(
                "oxv: {} not found; q35 boots with QEMU's default firmware (slow)\n",
                qemu::QBOOT
            ));
        }
        let _ = stderr.write_all(msg.as_bytes());
    }

    let vmm_start = Instant::now();
    let child = Command::new(&binary)
        .args(&args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                Error::QemuNotFound {
                    binary: binary.to_string_lossy().into_owned(),
                    origin,
                }
            } else {
                Error::io(format!("starting {}", binary.to_string_lossy()), e)
            }
        })?;
    let mut vm = Vm {
        child,
        status: None,
    };

    // Stdin: a detached pump, or end of file at once. The pipe itself stays
    // open until the run ends so QEMU never sees its stdin close.
    // Stdin waits for the guest's StdinReady frame: bytes sent before the
    // guest set up its UART would be lost.
    let vm_stdin = vm.child.stdin.take();
    let (ready_tx, ready_rx) = mpsc::channel();
    let _keep_open: Option<ChildStdin> = match (input, vm_stdin) {
        (Some(input), Some(pipe)) => {
            stdin::spawn(input, pipe, ready_rx);
            None
        }
        (None, Some(pipe)) => {
            stdin::spawn(io::empty(), pipe, ready_rx);
            None
        }
        (_, None) => None,
    };

    let qemu_stderr = vm.child.stderr.take();
    let verbose = cfg.verbose;
    let stderr_for_qemu = stderr.clone();
    let stderr_thread = thread::Builder::new()
        .name("oxv-qemu-stderr".into())
        .spawn(move || collect_stderr(qemu_stderr, verbose.then_some(stderr_for_qemu)))
        .map_err(|e| Error::io("starting a thread", e))?;

    let console = vm.child.stdout.take();
    let (tx, rx) = mpsc::channel();
    thread::Builder::new()
        .name("oxv-console".into())
        .spawn(move || {
            let mut demux = Demux::new(stdout, stderr, verbose);
            demux.notify_stdin_ready(ready_tx);
            let r = match console {
                Some(c) => console::pump(c, &mut demux, || {
                    let _ = tx.send(Event::ExitRecord);
                }),
                None => Ok(()),
            };
            let _ = tx.send(Event::Done(r, demux.finish()));
        })
        .map_err(|e| Error::io("starting a thread", e))?;

    // Wait for the console to end, the timeout, or QEMU lingering after
    // the exit record.
    let deadline = cfg.timeout.map(|t| vmm_start + t);
    let mut grace: Option<Instant> = None;
    let mut timed_out = false;
    let mut killed_at: Option<Instant> = None;
    let done = loop {
        let wake = match killed_at {
            Some(k) => Some(k + KILL_GRACE),
            None => [deadline, grace].into_iter().flatten().min(),
        };
        let ev = match wake {
            Some(t) => rx.recv_timeout(t.saturating_duration_since(Instant::now())),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        let now = Instant::now();
        match ev {
            Ok(Event::ExitRecord) => grace = Some(now + EXIT_GRACE),
            Ok(Event::Done(r, out)) => break Some((r, out)),
            Err(RecvTimeoutError::Disconnected) => break None,
            Err(RecvTimeoutError::Timeout) => match killed_at {
                // The console reader is stuck (e.g. on a blocked host stdout).
                Some(k) if now >= k + KILL_GRACE => break None,
                Some(_) => {}
                None => {
                    let expired = deadline.is_some_and(|d| now >= d);
                    if expired || grace.is_some_and(|g| now >= g) {
                        timed_out = expired;
                        vm.kill();
                        killed_at = Some(now);
                    }
                }
            },
        }
    };

    if matches!(done, Some((Err(_), _))) {
        vm.kill();
    }
    let status = if done.is_some() {
        Some(vm.wait().map_err(|e| Error::io("waiting for qemu", e))?)
    } else {
        None
    };
    let vm_gone = vmm_start.elapsed();
    drop(_keep_open);
    let stderr_tail = if done.is_some() {
        stderr_thread.join().unwrap_or_default()
    } else {
        String::new()
    };
    drop(launch_file);
    drop(root);

    let qemu_command: Vec<OsString> = std::iter::once(binary).chain(args).collect();
    let (result, out) = done.unwrap_or_else(|| (Ok(()), DemuxOutput::default()));
    let timeline = Timeline {
        vm_gone,
        guest: out.bootchart,
    };
    let report = |ending| Report {
        ending,
        timeline,
        accel,
        log: out.log.clone(),
        qemu_command: qemu_command.clone(),
    };
    if timed_out && out.exit.is_none() {
        return Ok(report(Ending::TimedOut(cfg.timeout.unwrap_or_default())));
    }
    result?;
    let (code, status_text) = match status {
        Some(s) => (
            s.code(),
            match (s.code(), s.signal()) {
                (Some(c), _) => c.to_string(),
                (None, Some(sig)) => format!("signal {sig}"),
                _ => s.to_string(),
            },
        ),
        None => (None, "unknown".to_owned()),
    };
    let embedded = kernel_file.is_embedded();
    let kernel_path = kernel_file.path().to_path_buf();
    let ending = out.ending(code, &status_text, &stderr_tail, || {
        if embedded {
            Symbolizer::embedded()
        } else {
            std::fs::read(&kernel_path)
                .map(|b| Symbolizer::new(&b))
                .unwrap_or_default()
        }
    })?;
    Ok(report(ending))
}

/// Reads QEMU's stderr to the end, forwarding lines under `--verbose`, and
/// returns its last few lines.
fn collect_stderr(pipe: Option<impl Read>, mut forward: Option<Shared>) -> String {
    let Some(mut pipe) = pipe else {
        return String::new();
    };
    let mut tail: Vec<u8> = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = match pipe.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        tail.extend_from_slice(&buf[..n]);
        if tail.len() > 2 * STDERR_TAIL_BYTES {
            tail.drain(..tail.len() - STDERR_TAIL_BYTES);
        }
        if let Some(w) = forward.as_mut() {
            pending.extend_from_slice(&buf[..n]);
            while let Some(i) = pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = pending.drain(..=i).collect();
                let _ = w.write_all(&[b"[qemu] ", &line[..]].concat());
            }
        }
    }
    if let (Some(w), false) = (forward.as_mut(), pending.is_empty()) {
        let _ = w.write_all(&[b"[qemu] ", &pending[..], b"\n"].concat());
    }
    last_lines(&String::from_utf8_lossy(&tail), STDERR_TAIL_LINES)
}

/// The last `n` non-empty lines of `s`, joined by newlines.
fn last_lines(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_tail_keeps_the_last_lines() {
        let text = "a\n\nb\nc\nd\ne\nf\ng";
        assert_eq!(last_lines(text, 3), "e\nf\ng");
        assert_eq!(last_lines("", 3), "");
        let out = Capture::default();
        let shared = Shared(Arc::new(Mutex::new(Box::new(out.clone()))));
        let tail = collect_stderr(Some(text.as_bytes()), Some(shared));
        assert_eq!(tail, "c\nd\ne\nf\ng");
        let fwd = String::from_utf8(out.contents()).unwrap();
        assert!(fwd.starts_with("[qemu] a\n[qemu] \n[qemu] b\n"), "{fwd}");
        assert!(fwd.ends_with("[qemu] g\n"), "{fwd}");
    }

    #[test]
    fn missing_program_fails_before_qemu() {
        let (stdio, _, _) = Stdio::capture();
        let e = run(&RunConfig::new("/nonexistent/prog"), stdio).unwrap_err();
        assert_eq!(e.exit_code(), 127);
    }

    #[test]
    fn missing_qemu_is_reported() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("prog");
        std::fs::write(&p, crate::program::tests_support::tiny_elf(None)).unwrap();
        let mut cfg = RunConfig::new(&p);
        let qemu = d.path().join("no-such-qemu");
        cfg.qemu = Some(qemu.clone());
        let (stdio, _, _) = Stdio::capture();
        let e = run(&cfg, stdio).unwrap_err();
        assert_eq!(e.exit_code(), 125);
        assert_eq!(e.to_string(), format!("{} not found", qemu.display()));
    }
}
