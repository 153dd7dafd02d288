//! Demultiplexes the guest's serial console (framing in `oxv_abi::console`).
//!
//! [`Demux`] is a push parser: feed it bytes as they come off QEMU's stdout
//! and it writes the program's stdout and stderr channels to their sinks at
//! once (byte-exact, flushed per frame), keeps the last [`LOG_LINES`] kernel
//! log lines (forwarding them with a `[kernel] ` prefix under `--verbose`),
//! and remembers the exit record and boot chart. Any byte that is not valid
//! framing is a protocol error: the stream cannot be resynchronised safely.
//!
//! [`Ending`] is how a run ended, decided from the exit record (or its
//! absence) and QEMU's exit status by [`DemuxOutput::ending`], with the
//! user-facing message and exit code for each case.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::time::Duration;

use oxv_abi::bootchart::BootChart;
use oxv_abi::console::{parse_header, GuestChannel, HeaderError, HEADER_LEN, MAX_PAYLOAD};
use oxv_abi::exit::{
    signal_name, ExitKind, ExitRecord, DEBUG_EXIT_PANIC, EXIT_BAD_PROGRAM, EXIT_KERNEL_PANIC,
    EXIT_TIMEOUT,
};

use crate::error::Error;
use crate::kernel::Symbolizer;

/// How many kernel log lines are kept for panic and load-failure messages.
pub const LOG_LINES: usize = 64;
/// Prefix of kernel log lines on stderr under `--verbose`.
pub const LOG_PREFIX: &str = "[kernel] ";

const SIGBUS: u32 = 7;
const SIGKILL: u32 = 9;
const SIGSEGV: u32 = 11;
const SIGPIPE: u32 = 13;

/// How a run ended (everything that is not a host-side [`Error`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The program exited with this status (already masked to 0..=255).
    Exited(i32),
    /// The program was killed by a signal.
    Signaled {
        /// Signal number.
        signal: u32,
        /// Faulting address (SIGSEGV/SIGBUS), else 0.
        fault_addr: u64,
        /// User instruction pointer, 0 if unknown.
        rip: u64,
    },
    /// The program ran the VM out of memory and was killed (SIGKILL).
    OutOfMemory {
        /// The address whose page fault found no free memory.
        fault_addr: u64,
        /// User instruction pointer at that fault.
        rip: u64,
    },
    /// The kernel panicked; the panic message lines, first line first.
    KernelPanic(Vec<String>),
    /// The kernel refused to start the program; the reason it logged.
    LoadFailed(String),
    /// `--timeout` expired and the VM was stopped.
    TimedOut(Duration),
}

impl Ending {
    /// `oxv`'s exit code for this ending.
    pub fn exit_code(&self) -> i32 {
        match self {
            Ending::Exited(c) => c & 0xff,
            Ending::Signaled { signal, .. } => 128 + (*signal as i32 & 0x7f),
            Ending::OutOfMemory { .. } => 128 + SIGKILL as i32,
            Ending::KernelPanic(_) => EXIT_KERNEL_PANIC,
            Ending::LoadFailed(_) => EXIT_BAD_PROGRAM,
            Ending::TimedOut(_) => EXIT_TIMEOUT,
        }
    }

    /// The message `oxv` prints (after `oxv: `), if any. `program` is the
    /// program path as the user typed it. Like a shell, a program killed by
    /// SIGPIPE gets no message.
    pub fn message(&self, program: &str) -> Option<String> {
        match self {
            Ending::Exited(_) => None,
            Ending::Signaled {
                signal: SIGPIPE, ..
            } => None,
            Ending::Signaled {
                signal,
                fault_addr,
                rip,
            } => {
                let mut details = Vec::new();
                if matches!(*signal, SIGSEGV | SIGBUS) {
                    details.push(format!("fault address {fault_addr:#x}"));
                }
                if *rip != 0 {
                    details.push(format!("rip {rip:#x}"));
                }
                let mut m = format!("{program} killed by {}", signal_name(*signal));
                if !details.is_empty() {
                    m.push_str(&format!(" ({})", details.join(", ")));
                }
                Some(m)
            }
            Ending::OutOfMemory { fault_addr, rip } => Some(format!(
                "{program} killed by SIGKILL: out of memory (page fault at {fault_addr:#x}, \
                 rip {rip:#x}); give the VM more with --mem"
            )),
            Ending::KernelPanic(lines) => {
                let mut m = String::from("kernel panic: ");
                let mut it = lines.iter();
                m.push_str(it.next().map_or("(no message received)", String::as_str));
                for l in it {
                    m.push('\n');
                    m.push_str(l);
                }
                Some(m)
            }
            Ending::LoadFailed(reason) => Some(format!("cannot run {program}: {reason}")),
            Ending::TimedOut(d) => Some(format!(
                "timed out after {}",
                crate::cli::format_duration(*d)
            )),
        }
    }
}

/// What the console stream carried besides program output.
#[derive(Debug, Clone, Default)]
pub struct DemuxOutput {
    /// The exit record, if the guest sent one.
    pub exit: Option<ExitRecord>,
    /// The boot chart, if the guest sent one.
    pub bootchart: Option<BootChart>,
    /// The last [`LOG_LINES`] kernel log lines.
    pub log: Vec<String>,
}

impl DemuxOutput {
    /// Decides how the run ended from the exit record and QEMU's exit
    /// code (`None` if it was killed by a signal). `qemu_status` and
    /// `qemu_stderr` describe QEMU for the "VM died" error.
    pub fn ending(
        &self,
        qemu_code: Option<i32>,
        qemu_status: &str,
        qemu_stderr: &str,
        symbols: impl FnOnce() -> Symbolizer,
    ) -> Result<Ending, Error> {
        match self.exit {
            Some(ExitRecord {
                kind: ExitKind::Exited,
                code,
                ..
            }) => Ok(Ending::Exited(code & 0xff)),
            Some(ExitRecord {
                kind: ExitKind::Signaled,
                signal,
                fault_addr,
                rip,
                ..
            }) => Ok(Ending::Signaled {
                signal,
                fault_addr,
                rip,
            }),
            Some(ExitRecord {
                kind: ExitKind::OutOfMemory,
                fault_addr,
                rip,
                ..
            }) => Ok(Ending::OutOfMemory { fault_addr, rip }),
            Some(ExitRecord {
                kind: ExitKind::Panic,
                ..
            }) => Ok(Ending::KernelPanic(self.panic_lines(&symbols()))),
            Some(ExitRecord {
                kind: ExitKind::LoadFailed,
                ..
            }) => {
                Ok(Ending::LoadFailed(self.log.last().cloned().unwrap_or_else(
                    || "the kernel could not load it".to_owned(),
                )))
            }
            // A panic before (or instead of) the exit record still ends
            // through isa-debug-exit with (1 << 1) | 1.
            None if qemu_code == Some(i32::from(DEBUG_EXIT_PANIC) << 1 | 1) => {
                Ok(Ending::KernelPanic(self.panic_lines(&symbols())))
            }
            None => Err(Error::VmDied {
                status: qemu_status.to_owned(),
                stderr_tail: qemu_stderr.to_owned(),
            }),
        }
    }

    /// The panic message: from the last log line that mentions a panic to
    /// the end, with a leading `panic:` removed and backtrace addresses
    /// symbolized.
    pub fn panic_lines(&self, symbols: &Symbolizer) -> Vec<String> {
        let lower: Vec<String> = self.log.iter().map(|l| l.to_ascii_lowercase()).collect();
        // The panic starts at the last line that opens with "panic"
        // ("panic: ...", "panicked at ...", "kernel panic ..."); failing
        // that, the first line that mentions one; failing that, the tail.
        let start = lower
            .iter()
            .rposition(|l| {
                let t = l.trim_start();
                t.starts_with("panic") || t.starts_with("kernel panic")
            })
            .or_else(|| lower.iter().position(|l| l.contains("panic")))
            .unwrap_or(self.log.len().saturating_sub(10));
        let mut lines: Vec<String> = self.log[start..]
            .iter()
            .map(|l| symbols.annotate(l))
            .collect();
        if let Some(first) = lines.first_mut() {
            let t = first.trim_start();
            for p in ["kernel panic:", "panic:", "PANIC:", "KERNEL PANIC:"] {
                if let Some(rest) = t.strip_prefix(p) {
                    *first = rest.trim_start().to_owned();
                    break;
                }
            }
        }
        lines
    }
}

enum State {
    Header { buf: [u8; HEADER_LEN], have: usize },
    Payload { chan: GuestChannel, len: usize },
}

/// The console push parser; see the module docs.
pub struct Demux<O: Write, E: Write> {
    stdout: O,
    stderr: E,
    verbose: bool,
    state: State,
    payload: Vec<u8>,
    /// Bytes consumed so far (for error messages).
    offset: u64,
    log: VecDeque<String>,
    partial_log: Vec<u8>,
    exit: Option<ExitRecord>,
    bootchart: Option<BootChart>,
    stdout_ok: bool,
    stderr_ok: bool,
    failed: bool,
    stdin_ready: Option<std::sync::mpsc::Sender<()>>,
}

impl<O: Write, E: Write> Demux<O, E> {
    /// A demux writing the program's stdout and stderr to these sinks;
    /// `verbose` also copies kernel log lines to `stderr`.
    pub fn new(stdout: O, stderr: E, verbose: bool) -> Self {
        Demux {
            stdout,
            stderr,
            verbose,
            state: State::Header {
                buf: [0; HEADER_LEN],
                have: 0,
            },
            payload: Vec::with_capacity(MAX_PAYLOAD),
            offset: 0,
            log: VecDeque::with_capacity(LOG_LINES),
            partial_log: Vec::new(),
            exit: None,
            bootchart: None,
            stdout_ok: true,
            stderr_ok: true,
            failed: false,
            stdin_ready: None,
        }
    }

    /// Signals `tx` once the guest says it can receive stdin.
    pub fn notify_stdin_ready(&mut self, tx: std::sync::mpsc::Sender<()>) {
        self.stdin_ready = Some(tx);
    }

    /// The exit record, once it has arrived.
    pub fn exit(&self) -> Option<ExitRecord> {
        self.exit
    }

    /// Consumes `data`. After an error the stream is dead and further calls
    /// do nothing.
    pub fn feed(&mut self, mut data: &[u8]) -> Result<(), Error> {
        if self.failed {
            return Ok(());
        }
        let r = self.feed_inner(&mut data);
        if r.is_err() {
            self.failed = true;
        }
        r
    }

    fn feed_inner(&mut self, data: &mut &[u8]) -> Result<(), Error> {
        while !data.is_empty() {
            match &mut self.state {
                State::Header { buf, have } => {
                    let n = (HEADER_LEN - *have).min(data.len());
                    buf[*have..*have + n].copy_from_slice(&data[..n]);
                    *have += n;
                    let frame_start = self.offset - (*have - n) as u64;
                    self.offset += n as u64;
                    *data = &data[n..];
                    if *have < HEADER_LEN {
                        continue;
                    }
                    let h = *buf;
                    let header = parse_header(h).map_err(|e| {
                        let mut seen = h[..].to_vec();
                        seen.extend_from_slice(&data[..data.len().min(28)]);
                        let what = match e {
                            HeaderError::BadMagic(b) => format!("bad frame magic {b:#04x}"),
                            HeaderError::TooLong(l) => {
                                format!("frame length {l} exceeds {MAX_PAYLOAD}")
                            }
                        };
                        protocol(format!(
                            "{what} at byte {frame_start} (stream out of sync; bytes there: \"{}\")",
                            seen.escape_ascii()
                        ))
                    })?;
                    let chan = GuestChannel::from_u8(header.chan).ok_or_else(|| {
                        protocol(format!(
                            "unknown channel {} at byte {frame_start}",
                            header.chan
                        ))
                    })?;
                    self.payload.clear();
                    self.state = State::Payload {
                        chan,
                        len: header.len,
                    };
                    if header.len == 0 {
                        self.dispatch(chan)?;
                        self.state = State::Header {
                            buf: [0; HEADER_LEN],
                            have: 0,
                        };
                    }
                }
                State::Payload { chan, len } => {
                    let (chan, len) = (*chan, *len);
                    let n = (len - self.payload.len()).min(data.len());
                    self.payload.extend_from_slice(&data[..n]);
                    self.offset += n as u64;
                    *data = &data[n..];
                    if self.payload.len() == len {
                        self.dispatch(chan)?;
                        self.state = State::Header {
                            buf: [0; HEADER_LEN],
                            have: 0,
                        };
                    }
                }
            }
        }
        Ok(())
    }

    fn dispatch(&mut self, chan: GuestChannel) -> Result<(), Error> {
        match chan {
            GuestChannel::Stdout => {
                if self.stdout_ok {
                    // A closed host stdout (EPIPE) drops the rest, like a pipe would.
                    self.stdout_ok = write_now(&mut self.stdout, &self.payload).is_ok();
                }
            }
            GuestChannel::Stderr => {
                if self.stderr_ok {
                    self.stderr_ok = write_now(&mut self.stderr, &self.payload).is_ok();
                }
            }
            GuestChannel::Log => {
                let payload = std::mem::take(&mut self.payload);
                self.partial_log.extend_from_slice(&payload);
                self.payload = payload;
                while let Some(i) = self.partial_log.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = self.partial_log.drain(..=i).collect();
                    self.push_log_line(&line[..line.len() - 1]);
                }
            }
            GuestChannel::Exit => {
                let rec = ExitRecord::decode(&self.payload).ok_or_else(|| {
                    protocol(format!(
                        "malformed exit record ({} bytes)",
                        self.payload.len()
                    ))
                })?;
                self.exit = Some(rec);
            }
            GuestChannel::StdinReady => {
                if let Some(tx) = self.stdin_ready.take() {
                    let _ = tx.send(());
                }
            }
            GuestChannel::BootChart => {
                let bc = BootChart::decode(&self.payload).ok_or_else(|| {
                    protocol(format!(
                        "malformed boot chart record ({} bytes)",
                        self.payload.len()
                    ))
                })?;
                self.bootchart = Some(bc);
            }
        }
        Ok(())
    }

    fn push_log_line(&mut self, raw: &[u8]) {
        let line = String::from_utf8_lossy(raw);
        let line = line.strip_suffix('\r').unwrap_or(&line).to_owned();
        if self.verbose && self.stderr_ok {
            let mut out = Vec::with_capacity(LOG_PREFIX.len() + line.len() + 1);
            out.extend_from_slice(LOG_PREFIX.as_bytes());
            out.extend_from_slice(line.as_bytes());
            out.push(b'\n');
            self.stderr_ok = write_now(&mut self.stderr, &out).is_ok();
        }
        if self.log.len() == LOG_LINES {
            self.log.pop_front();
        }
        self.log.push_back(line);
    }

    /// Ends the stream: flushes an unterminated log line and returns what
    /// was collected.
    pub fn finish(mut self) -> DemuxOutput {
        if !self.partial_log.is_empty() {
            let rest = std::mem::take(&mut self.partial_log);
            self.push_log_line(&rest);
        }
        DemuxOutput {
            exit: self.exit,
            bootchart: self.bootchart,
            log: self.log.into_iter().collect(),
        }
    }
}

fn protocol(msg: String) -> Error {
    Error::Protocol(msg)
}

fn write_now(w: &mut impl Write, data: &[u8]) -> io::Result<()> {
    w.write_all(data)?;
    w.flush()
}

/// Reads the console from `r` until end of file, feeding `demux`;
/// `on_exit_record` runs once, when the exit record arrives.
pub fn pump<R: Read, O: Write, E: Write>(
    mut r: R,
    demux: &mut Demux<O, E>,
    mut on_exit_record: impl FnMut(),
) -> Result<(), Error> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut told = false;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io("reading the VM console", e)),
        };
        demux.feed(&buf[..n])?;
        if !told && demux.exit().is_some() {
            told = true;
            on_exit_record();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxv_abi::console::header;

    fn frame(chan: GuestChannel, payload: &[u8]) -> Vec<u8> {
        let mut v = header(chan as u8, payload.len()).to_vec();
        v.extend_from_slice(payload);
        v
    }

    fn exit_frame(kind: ExitKind, code: i32, signal: u32, fault_addr: u64, rip: u64) -> Vec<u8> {
        frame(
            GuestChannel::Exit,
            &ExitRecord {
                kind,
                code,
                signal,
                fault_addr,
                rip,
            }
            .encode(),
        )
    }

    /// Runs a whole stream through a demux, fed in chunks of `chunk` bytes.
    fn run(
        stream: &[u8],
        chunk: usize,
        verbose: bool,
    ) -> (Vec<u8>, Vec<u8>, Result<DemuxOutput, Error>) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut d = Demux::new(&mut out, &mut err, verbose);
        let mut r = Ok(());
        for c in stream.chunks(chunk.max(1)) {
            r = d.feed(c);
            if r.is_err() {
                break;
            }
        }
        let res = r.map(|_| d.finish());
        (out, err, res)
    }

    fn ending(o: &DemuxOutput, qemu_code: Option<i32>) -> Result<Ending, Error> {
        o.ending(qemu_code, "1", "qemu: oops\n", Symbolizer::default)
    }

    fn all_channels_stream() -> Vec<u8> {
        let mut s = Vec::new();
        s.extend(frame(
            GuestChannel::Log,
            b"oxv kernel 0.1\nmemory: 64 MiB\n",
        ));
        s.extend(frame(GuestChannel::Stdout, b"hello "));
        s.extend(frame(GuestChannel::Stderr, b"warn\n"));
        s.extend(frame(GuestChannel::Stdout, &[0, 0xff, FRAME_BYTE, b'\n']));
        s.extend(frame(GuestChannel::Stdout, b""));
        s.extend(frame(GuestChannel::Log, b"partial "));
        s.extend(frame(GuestChannel::Log, b"line\nunterminated"));
        let bc = BootChart {
            tsc_hz: 1_000_000_000,
            kernel_entry: 10,
            memory_ready: 20,
            program_start: 30,
            program_exit: 40,
        };
        s.extend(frame(GuestChannel::BootChart, &bc.encode()));
        s.extend(exit_frame(ExitKind::Exited, 3, 0, 0, 0));
        s
    }
    const FRAME_BYTE: u8 = oxv_abi::console::FRAME_MAGIC;

    #[test]
    fn routes_every_channel_in_any_chunking() {
        let s = all_channels_stream();
        for chunk in [1, 2, 3, 5, 7, 64, s.len()] {
            let (out, err, res) = run(&s, chunk, false);
            let o = res.unwrap();
            assert_eq!(out, b"hello \0\xff\xf5\n", "chunk {chunk}");
            assert_eq!(err, b"warn\n", "chunk {chunk}");
            assert_eq!(
                o.log,
                vec![
                    "oxv kernel 0.1",
                    "memory: 64 MiB",
                    "partial line",
                    "unterminated"
                ]
            );
            assert_eq!(o.bootchart.unwrap().program_exit, 40);
            assert_eq!(ending(&o, Some(1)).unwrap(), Ending::Exited(3));
        }
    }

    #[test]
    fn verbose_prefixes_kernel_lines_on_stderr() {
        let (_, err, _) = run(&all_channels_stream(), 3, true);
        let err = String::from_utf8(err).unwrap();
        assert_eq!(
            err,
            "[kernel] oxv kernel 0.1\n[kernel] memory: 64 MiB\nwarn\n\
             [kernel] partial line\n[kernel] unterminated\n"
        );
    }

    #[test]
    fn log_keeps_the_last_lines() {
        let mut s = Vec::new();
        for i in 0..200 {
            s.extend(frame(GuestChannel::Log, format!("line {i}\n").as_bytes()));
        }
        let o = run(&s, 4096, false).2.unwrap();
        assert_eq!(o.log.len(), LOG_LINES);
        assert_eq!(o.log.last().unwrap(), "line 199");
        assert_eq!(o.log[0], format!("line {}", 200 - LOG_LINES));
    }

    #[test]
    fn exit_code_is_masked() {
        let o = run(&exit_frame(ExitKind::Exited, 257, 0, 0, 0), 8, false)
            .2
            .unwrap();
        let e = ending(&o, Some(1)).unwrap();
        assert_eq!(e, Ending::Exited(1));
        assert_eq!(e.exit_code(), 1);
        assert_eq!(e.message("./a"), None);
        let o = run(&exit_frame(ExitKind::Exited, -1, 0, 0, 0), 8, false)
            .2
            .unwrap();
        assert_eq!(ending(&o, Some(1)).unwrap().exit_code(), 255);
    }

    #[test]
    fn out_of_memory_is_sigkill_with_advice() {
        let o = run(
            &exit_frame(ExitKind::OutOfMemory, 0, 9, 0x7fff_0000, 0x40_1090),
            8,
            false,
        )
        .2
        .unwrap();
        let e = ending(&o, Some(1)).unwrap();
        assert_eq!(
            e,
            Ending::OutOfMemory {
                fault_addr: 0x7fff_0000,
                rip: 0x40_1090
            }
        );
        assert_eq!(e.exit_code(), 137);
        assert_eq!(
            e.message("./a").unwrap(),
            "./a killed by SIGKILL: out of memory (page fault at 0x7fff0000, rip 0x401090); \
             give the VM more with --mem"
        );
    }

    #[test]
    fn signals_map_to_128_plus_and_explain() {
        let o = run(
            &exit_frame(ExitKind::Signaled, 0, 11, 0x10, 0x40_1234),
            8,
            false,
        )
        .2
        .unwrap();
        let e = ending(&o, Some(1)).unwrap();
        assert_eq!(e.exit_code(), 139);
        assert_eq!(
            e.message("./a").unwrap(),
            "./a killed by SIGSEGV (fault address 0x10, rip 0x401234)"
        );
        // A NULL dereference still shows its fault address.
        let e = Ending::Signaled {
            signal: 11,
            fault_addr: 0,
            rip: 0,
        };
        assert_eq!(
            e.message("./a").unwrap(),
            "./a killed by SIGSEGV (fault address 0x0)"
        );
        let e = Ending::Signaled {
            signal: 6,
            fault_addr: 0,
            rip: 0,
        };
        assert_eq!(e.message("./a").unwrap(), "./a killed by SIGABRT");
        assert_eq!(e.exit_code(), 134);
        let e = Ending::Signaled {
            signal: 13,
            fault_addr: 0,
            rip: 0,
        };
        assert_eq!(e.message("./a"), None);
        assert_eq!(e.exit_code(), 141);
    }

    #[test]
    fn kernel_panic_uses_the_log() {
        let mut s = Vec::new();
        s.extend(frame(GuestChannel::Log, b"booting\n"));
        s.extend(frame(
            GuestChannel::Log,
            b"panic: page fault in kernel at 0x0\nvector 14, error 0x2, rip 0xffffffff80101234\nbacktrace:\n  #0 0xffffffff80101234\n  #1 0xffffffff80105678\n",
        ));
        s.extend(exit_frame(ExitKind::Panic, 0, 0, 0, 0));
        let o = run(&s, 5, false).2.unwrap();
        let e = ending(&o, Some(3)).unwrap();
        assert_eq!(e.exit_code(), EXIT_KERNEL_PANIC);
        assert_eq!(
            e.message("./a").unwrap(),
            "kernel panic: page fault in kernel at 0x0\n\
             vector 14, error 0x2, rip 0xffffffff80101234\nbacktrace:\n  \
             #0 0xffffffff80101234\n  #1 0xffffffff80105678"
        );
    }

    #[test]
    fn panic_without_exit_record_is_recognised_by_qemu_status() {
        let s = frame(
            GuestChannel::Log,
            b"panicked at kernel/src/main.rs:3:5:\nboom\n",
        );
        let o = run(&s, 64, false).2.unwrap();
        let e = ending(&o, Some(3)).unwrap();
        assert_eq!(
            e.message("p").unwrap(),
            "kernel panic: panicked at kernel/src/main.rs:3:5:\nboom"
        );
        // Any other status without an exit record: the VM died.
        let err = ending(&o, Some(0)).unwrap_err();
        assert_eq!(err.exit_code(), 125);
        assert_eq!(
            err.to_string(),
            "VM died unexpectedly (qemu exit status 1): qemu: oops"
        );
    }

    #[test]
    fn load_failure_reports_the_last_log_line() {
        let mut s = frame(
            GuestChannel::Log,
            b"loading /prog\nout of memory loading segment 2\n",
        );
        s.extend(exit_frame(ExitKind::LoadFailed, 0, 0, 0, 0));
        let o = run(&s, 64, false).2.unwrap();
        let e = ending(&o, Some(1)).unwrap();
        assert_eq!(e.exit_code(), 126);
        assert_eq!(
            e.message("./prog").unwrap(),
            "cannot run ./prog: out of memory loading segment 2"
        );
    }

    #[test]
    fn timeout_message() {
        let e = Ending::TimedOut(Duration::from_millis(500));
        assert_eq!(e.exit_code(), 124);
        assert_eq!(e.message("x").unwrap(), "timed out after 500ms");
    }

    #[test]
    fn desync_is_detected() {
        // Raw text where a frame should start.
        let mut s = frame(GuestChannel::Stdout, b"ok");
        s.extend_from_slice(b"Hello from a raw println");
        for chunk in [1, 3, 100] {
            let (out, _, res) = run(&s, chunk, false);
            assert_eq!(out, b"ok");
            let e = res.unwrap_err();
            assert_eq!(e.exit_code(), 125);
            let m = e.to_string();
            assert!(
                m.starts_with("console protocol error: bad frame magic 0x48 at byte 6"),
                "{m}"
            );
            assert!(m.contains("Hell"), "{m}");
        }
        // Unknown channel, over-long frame, malformed records.
        let e = run(&[FRAME_BYTE, 9, 0, 0], 4, false).2.unwrap_err();
        assert!(e.to_string().contains("unknown channel 9"), "{e}");
        let e = run(&[FRAME_BYTE, 1, 0xff, 0xff], 4, false).2.unwrap_err();
        assert!(e.to_string().contains("exceeds"), "{e}");
        let e = run(&frame(GuestChannel::Exit, b"xx"), 4, false)
            .2
            .unwrap_err();
        assert!(e.to_string().contains("malformed exit record"), "{e}");
        let e = run(&frame(GuestChannel::BootChart, b"xx"), 4, false)
            .2
            .unwrap_err();
        assert!(e.to_string().contains("malformed boot chart"), "{e}");
    }

    #[test]
    fn no_exit_record_means_the_vm_died() {
        let o = run(&frame(GuestChannel::Stdout, b"x"), 4, false).2.unwrap();
        let e = o
            .ending(None, "signal 9", "", Symbolizer::default)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "VM died unexpectedly (qemu exit status signal 9); qemu printed nothing"
        );
    }

    /// A sink that fails like a closed pipe.
    struct Broken;
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn closed_host_stdout_does_not_stop_the_stream() {
        let mut err = Vec::new();
        let mut d = Demux::new(Broken, &mut err, false);
        let mut s = frame(GuestChannel::Stdout, b"lost");
        s.extend(frame(GuestChannel::Stderr, b"kept"));
        s.extend(exit_frame(ExitKind::Exited, 0, 0, 0, 0));
        d.feed(&s).unwrap();
        assert!(d.finish().exit.is_some());
        assert_eq!(err, b"kept");
    }

    #[test]
    fn pump_reads_to_eof_and_signals_the_exit_record_once() {
        let mut s = all_channels_stream();
        s.extend(frame(GuestChannel::Log, b"after exit\n"));
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut d = Demux::new(&mut out, &mut err, false);
        let mut calls = 0;
        pump(&s[..], &mut d, || calls += 1).unwrap();
        assert_eq!(calls, 1);
        // The unterminated line goes on in the next log frame.
        assert_eq!(d.finish().log.last().unwrap(), "unterminatedafter exit");
    }
}
