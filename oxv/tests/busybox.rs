//! Debian's statically linked busybox (`busybox-static`, /bin/busybox) run
//! unmodified with `oxv run`. `OXV_TEST_NATIVE=1` runs it on the host instead.

mod common;

use common::{busybox, pseudo_random_bytes, run_with_deadline, Run};
use std::process::Command;
use std::time::Duration;

#[test]
fn busybox_echo() {
    Run::new(busybox())
        .args(["echo", "hi", "there"])
        .run()
        .assert_ok("hi there\n");
}

#[test]
fn busybox_seq() {
    let expected: String = (1..=10).map(|i| format!("{i}\n")).collect();
    Run::new(busybox())
        .args(["seq", "1", "10"])
        .run()
        .assert_ok(expected);
}

#[test]
fn busybox_sha256sum_stdin() {
    let data = pseudo_random_bytes(100 * 1024, 0x5eed_5eed);
    // The expected digest comes from the host's own sha256sum on the same bytes.
    let host = run_with_deadline(Command::new("sha256sum"), &data, Duration::from_secs(30));
    host.assert_code(0);
    let host_text = host.stdout_text();
    let digest = host_text
        .split_whitespace()
        .next()
        .expect("sha256sum output");
    assert_eq!(digest.len(), 64, "odd host sha256sum output {host_text:?}");
    Run::new(busybox())
        .args(["sha256sum"])
        .stdin(data)
        .run()
        .assert_ok(format!("{digest}  -\n"));
}

#[test]
fn busybox_true() {
    Run::new(busybox()).args(["true"]).run().assert_ok("");
}

#[test]
fn busybox_false() {
    Run::new(busybox())
        .args(["false"])
        .run()
        .assert_code(1)
        .assert_stdout("");
}

#[test]
fn busybox_cat_stdin() {
    let data = pseudo_random_bytes(64 * 1024, 7);
    Run::new(busybox())
        .args(["cat"])
        .stdin(data.clone())
        .run()
        .assert_ok(&data);
}
