//! One end-to-end run through the library API (`oxv::run`), the way
//! benchmarks call it. The VM test suites proper (busybox.rs, programs.rs,
//! errors.rs) drive the `oxv` binary instead.

use std::time::Duration;

#[test]

fn library_runs_busybox_echo() {
    let mut cfg = oxv::RunConfig::new("/bin/busybox");
    cfg.args = vec!["echo".into(), "hello".into()];
    cfg.accel = oxv::AccelChoice::Tcg;
    cfg.timeout = Some(Duration::from_secs(60));
    let (stdio, stdout, stderr) = oxv::Stdio::capture();
    let report = oxv::run(&cfg, stdio).expect("host-side failure");
    assert_eq!(
        report.ending,
        oxv::Ending::Exited(0),
        "stderr: {}\nkernel log: {:#?}",
        String::from_utf8_lossy(&stderr.contents()),
        report.log
    );
    assert_eq!(stdout.contents(), b"hello\n");
}
