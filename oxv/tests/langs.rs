//! In-VM tests of programs written in other languages, run with two vCPUs:
//!
//! - `tests/programs/go/`: the Go runtime (goroutines on several threads,
//!   channels, timers, the GC, panic/recover, os/signal), built static with
//!   `CGO_ENABLED=0 go build` (Debian package `golang-go`);
//! - `tests/programs/rust/`: Rust std (threads, Mutex/Condvar, mpsc), built
//!   with `cargo build --release --target x86_64-unknown-linux-musl` (the
//!   target is listed in `rust-toolchain.toml`).
//!
//! Each is built once per test process under `target/test-programs/`
//! (`go/` with its own `GOCACHE`, `rust-target/` as the cargo target
//! directory), so a rebuild is incremental. `OXV_TEST_NATIVE=1` runs the
//! same binaries on the host, like `programs.rs`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

use common::{elf_is_static, programs_dir, scratch_dir, Run};

/// Runs `cmd`, turning "not found" into an install hint and a failure into
/// its stderr.
fn run_build(mut cmd: Command, what: &str, install: &str) -> Result<(), String> {
    let start = Instant::now();
    let out = match cmd.output() {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!("{what}: command not found; {install}"))
        }
        Err(e) => return Err(format!("{what}: {e}")),
    };
    if !out.status.success() {
        return Err(format!(
            "{what} failed ({}); {install}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    eprintln!("{what}: built in {:.1?}", start.elapsed());
    Ok(())
}

/// `tests/programs/go` built static into `target/test-programs/go/gocheck`.
fn go_program() -> PathBuf {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let dir = scratch_dir().join("go");
        std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        let out = dir.join("gocheck");
        let tmp = dir.join(format!(".gocheck.tmp.{}", std::process::id()));
        let mut cmd = Command::new("go");
        cmd.current_dir(programs_dir().join("go"))
            .args(["build", "-trimpath", "-o"])
            .arg(&tmp)
            .arg(".")
            .env("CGO_ENABLED", "0")
            .env("GOCACHE", dir.join("cache"))
            .env("GOPATH", dir.join("path"))
            .env("GO111MODULE", "on")
            .env("GOPROXY", "off")
            .env("GOTOOLCHAIN", "local");
        run_build(
            cmd,
            "go build (tests/programs/go)",
            "install Go with `apt-get install -y golang-go`",
        )?;
        std::fs::rename(&tmp, &out).map_err(|e| format!("rename to {}: {e}", out.display()))?;
        Ok(out)
    });
    built.clone().unwrap_or_else(|e| panic!("{e}"))
}

/// The musl target the Rust program is built for.
const RUST_TARGET: &str = "x86_64-unknown-linux-musl";

/// `tests/programs/rust` built with cargo for [`RUST_TARGET`].
fn rust_program() -> PathBuf {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let target_dir = scratch_dir().join("rust-target");
        let manifest = programs_dir().join("rust").join("Cargo.toml");
        let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        cmd.args(["build", "--release", "--offline", "--target", RUST_TARGET])
            .arg("--manifest-path")
            .arg(&manifest)
            .arg("--target-dir")
            .arg(&target_dir)
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("CARGO_BUILD_TARGET")
            .env_remove("CARGO_TARGET_DIR");
        run_build(
            cmd,
            "cargo build (tests/programs/rust)",
            &format!("if the target is missing: `rustup target add {RUST_TARGET}`"),
        )?;
        Ok(target_dir
            .join(RUST_TARGET)
            .join("release")
            .join("oxv-rustcheck"))
    });
    built.clone().unwrap_or_else(|e| panic!("{e}"))
}

#[track_caller]
fn assert_static(p: &Path) {
    assert_eq!(
        elf_is_static(p),
        Some(true),
        "{} is not a static x86-64 ELF",
        p.display()
    );
}

#[test]
fn go_runtime() {
    let p = go_program();
    assert_static(&p);
    Run::new(&p).cpus(2).run().assert_ok(
        "goroutines: ok\n\
         sleep: ok\n\
         gc: ok\n\
         panic: ok\n\
         signal: ok\n\
         go: ok\n",
    );
}

#[test]
fn rust_std() {
    let p = rust_program();
    assert_static(&p);
    Run::new(&p).cpus(2).run().assert_ok(
        "threads: ok\n\
         condvar: ok\n\
         channels: ok\n\
         sleep: ok\n\
         rust: ok\n",
    );
}
