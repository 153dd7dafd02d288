//! oxv's own error paths: what `oxv run` does with a program it cannot run.
//! Exit codes from `crates/abi/src/exit.rs`: 127 not found, 126 bad program.
//! These test oxv, not Linux, so they do nothing under `OXV_TEST_NATIVE=1`.

mod common;

use common::{elf_is_static, native, scratch_dir, Run};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const EXIT_BAD_PROGRAM: i32 = 126;
const EXIT_NOT_FOUND: i32 = 127;

fn skip_native(test: &str) -> bool {
    if native() {
        eprintln!("{test}: tests oxv itself, nothing to check natively");
    }
    native()
}

#[test]
fn missing_program_is_127() {
    if skip_native("missing_program_is_127") {
        return;
    }
    let missing = scratch_dir().join("no-such-program");
    let _ = std::fs::remove_file(&missing);
    let out = Run::new(&missing).run();
    out.assert_code(EXIT_NOT_FOUND).assert_stdout("");
    assert!(!out.stderr.is_empty(), "no message on stderr");
}

#[test]
fn text_file_is_126() {
    if skip_native("text_file_is_126") {
        return;
    }
    let path = scratch_dir().join("not-a-program.txt");
    std::fs::write(&path, "this is plain text, not an ELF program\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Run::new(&path).run();
    out.assert_code(EXIT_BAD_PROGRAM).assert_stdout("");
    assert!(!out.stderr.is_empty(), "no message on stderr");
}

/// Until oxv loads dynamically linked programs, it refuses them up front.
#[test]
fn dynamic_program_is_126() {
    if skip_native("dynamic_program_is_126") {
        return;
    }
    let path = Path::new("/bin/true");
    assert_eq!(
        elf_is_static(path),
        Some(false),
        "this test needs a dynamically linked /bin/true (package coreutils)"
    );
    Run::new(path)
        .run()
        .assert_code(EXIT_BAD_PROGRAM)
        .assert_stdout("")
        .assert_stderr_contains("dynamically linked");
}
