//! Builds the oxv kernel and hands it to the host tool for embedding.
//!
//! Stable cargo cannot build one workspace member for another target from a
//! plain dependency, so this script runs a nested
//! `cargo build -p oxv-kernel --target x86_64-unknown-none --profile kernel`
//! with its own `--target-dir` (`<workspace>/target/kernel`, so it never
//! waits on the outer build's lock), then copies two files into `OUT_DIR`:
//!
//! - `oxv-kernel.elf`: the ELF as linked, kept to symbolize kernel
//!   backtraces;
//! - `oxv-kernel.bin`: the same ELF after `llvm-objcopy --strip-all` (from
//!   the rustup `llvm-tools` component), which is what QEMU boots.
//!
//! `src/kernel.rs` embeds both with `include_bytes!`. The environment given
//! to the nested cargo is scrubbed of everything that describes the *host*
//! build (rustflags, target dir, wrappers such as clippy-driver, cfg and
//! feature variables), which would otherwise leak into the kernel build.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const KERNEL_PACKAGE: &str = "oxv-kernel";
const KERNEL_TARGET: &str = "x86_64-unknown-none";
const KERNEL_PROFILE: &str = "kernel";

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .parent()
        .expect("oxv/ sits inside the workspace")
        .to_path_buf();
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));

    for p in [
        "kernel",
        "crates",
        ".cargo/config.toml",
        "Cargo.toml",
        "Cargo.lock",
        "rust-toolchain.toml",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }
    println!("cargo:rerun-if-changed=build.rs");

    let target_dir = root.join("target").join("kernel");
    build_kernel(&root, &target_dir);

    let elf = target_dir
        .join(KERNEL_TARGET)
        .join(KERNEL_PROFILE)
        .join(KERNEL_PACKAGE);
    let unstripped = out_dir.join("oxv-kernel.elf");
    let stripped = out_dir.join("oxv-kernel.bin");
    fs::copy(&elf, &unstripped)
        .unwrap_or_else(|e| panic!("copying {} to OUT_DIR: {e}", elf.display()));
    strip(&unstripped, &stripped);

    let bytes = fs::read(&stripped).expect("reading the stripped kernel");
    println!("cargo:rustc-env=OXV_KERNEL_HASH={:016x}", fnv1a64(&bytes));
}

/// Variables cargo sets for *this* build script (or the user set for the
/// host build) that must not reach the nested kernel build.
///
/// Checked by hand (`cargo build -v` of the kernel with the variable set):
/// - `CARGO_ENCODED_RUSTFLAGS` (set whenever the host build has rustflags,
///   e.g. from `RUSTFLAGS` or `cargo llvm-cov`) *replaces* the
///   `[target.x86_64-unknown-none] rustflags` of `.cargo/config.toml`, so the
///   kernel silently loses `force-frame-pointers` and gains host flags.
///   `RUSTFLAGS` / `CARGO_BUILD_RUSTFLAGS` do the same one level down.
/// - `RUSTC_WORKSPACE_WRAPPER` is `clippy-driver` under `cargo clippy`: the
///   kernel crates would be compiled through clippy with host lints.
///
/// Hygiene (not seen to break anything, but they describe the host build):
/// `CARGO_TARGET_DIR`/`CARGO_BUILD_TARGET` (we pass both explicitly), and
/// `CARGO_CFG_*`, `CARGO_FEATURE_*`, `TARGET`, `HOST`, `OUT_DIR`, ...,
/// which the kernel's own build script must see only as cargo sets them
/// for it. `RUSTC_WRAPPER` (e.g. sccache) and the jobserver are kept.
fn scrub(cmd: &mut Command) {
    const EXACT: &[&str] = &[
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PRIMARY_PACKAGE",
        "TARGET",
        "HOST",
        "OUT_DIR",
        "OPT_LEVEL",
        "DEBUG",
        "PROFILE",
        "NUM_JOBS",
        "RUSTC_LINKER",
    ];
    const PREFIXES: &[&str] = &["CARGO_CFG_", "CARGO_FEATURE_", "CARGO_PKG_", "DEP_"];
    for (key, _) in env::vars_os() {
        let Some(k) = key.to_str() else { continue };
        if EXACT.contains(&k) || PREFIXES.iter().any(|p| k.starts_with(p)) {
            cmd.env_remove(&key);
        }
    }
}

fn build_kernel(root: &Path, target_dir: &Path) {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args(["build", "-p", KERNEL_PACKAGE, "--target", KERNEL_TARGET])
        .args(["--profile", KERNEL_PROFILE])
        .arg("--target-dir")
        .arg(target_dir);
    scrub(&mut cmd);
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running cargo to build the kernel: {e}"));
    if !out.status.success() {
        panic!(
            "building the oxv kernel failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// `llvm-objcopy` from the rustup `llvm-tools` component, if installed.
fn llvm_objcopy() -> Option<PathBuf> {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let sysroot = PathBuf::from(String::from_utf8(sysroot.stdout).ok()?.trim());
    let host = env::var("HOST").ok()?;
    let p = sysroot
        .join("lib/rustlib")
        .join(host)
        .join("bin/llvm-objcopy");
    p.is_file().then_some(p)
}

fn strip(input: &Path, output: &Path) {
    let Some(objcopy) = llvm_objcopy() else {
        println!(
            "cargo:warning=llvm-objcopy not found (rustup component add llvm-tools); \
             embedding the unstripped kernel"
        );
        fs::copy(input, output).expect("copying the kernel");
        return;
    };
    let out = Command::new(&objcopy)
        .arg("--strip-all")
        .arg(input)
        .arg(output)
        .output();
    match out {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            println!(
                "cargo:warning=llvm-objcopy --strip-all failed ({}); embedding the unstripped kernel: {}",
                o.status,
                String::from_utf8_lossy(&o.stderr).trim()
            );
            fs::copy(input, output).expect("copying the kernel");
        }
        Err(e) => {
            println!(
                "cargo:warning=running {} failed ({e}); embedding the unstripped kernel",
                objcopy.display()
            );
            fs::copy(input, output).expect("copying the kernel");
        }
    }
}

/// FNV-1a, 64-bit: names the run-time cache file after the kernel's bytes.
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
