//! File-system system calls in the VM: the C programs `tests/programs/fs_*.c`
//! (sections `name: ok`, see `fs_check.h`), each built three ways, run with
//! a writable directory on a RAM file system and a second RAM file system
//! for EXDEV:
//!
//! - in the VM: `oxv run --add EMPTY:/mnt2 --tmpfs /mnt2 PROG /tmp --xdev
//!   /mnt2 --expect-rofs /` (the root is the read-only image, so EROFS is
//!   checked there; the empty `--add` directory is the mount point, see
//!   [`tmpfs_mount_point_outside_the_image`]);
//! - natively (`OXV_TEST_NATIVE=1`): `PROG /dev/shm/<temp> --xdev
//!   target/<temp>` (tmpfs and another file system; no EROFS checks, the
//!   host root is writable). Every expectation holds there: it is Linux's
//!   behaviour. The EROFS expectations were checked natively against a
//!   read-only tmpfs mount (`mount -o remount,ro`), which a test cannot do.
//!
//! On a failure the exact stdout shows every section that failed and stderr
//! the first failed check of each (`file:line: check failed: ...`);
//! `oxv run --env FS_CHECK_ALL=1 ...` lists all failing checks.

mod common;

use std::path::PathBuf;

use common::{native, program, scratch_dir, Outcome, Run, Variant};

/// An empty directory on the host, added to images as a mount point.
fn empty_dir() -> PathBuf {
    let d = scratch_dir().join("fs-empty-dir");
    std::fs::create_dir_all(&d).expect("create empty dir");
    d
}

/// Runs `name` (built as `v`) with a writable tmpfs directory, another file
/// system for EXDEV and, in the VM, `--expect-rofs /`.
fn run_fs(name: &str, v: Variant) -> Outcome {
    let prog = program(name, v);
    if native() {
        let shm = std::path::Path::new("/dev/shm");
        assert!(shm.is_dir(), "native fs tests need a tmpfs at /dev/shm");
        let dir = tempfile::Builder::new()
            .prefix("oxv-fs-")
            .tempdir_in(shm)
            .expect("temp dir in /dev/shm");
        let xdev = tempfile::Builder::new()
            .prefix("fs-xdev-")
            .tempdir_in(scratch_dir())
            .expect("temp dir under target/");
        Run::new(&prog)
            .args([
                dir.path().to_str().unwrap(),
                "--xdev",
                xdev.path().to_str().unwrap(),
            ])
            .run()
    } else {
        let empty = format!("{}:/mnt2", empty_dir().display());
        Run::new(&prog)
            .args(["/tmp", "--xdev", "/mnt2", "--expect-rofs", "/"])
            .run_with_options(&["--add", &empty, "--tmpfs", "/mnt2"])
    }
}

/// The expected stdout: `section: ok` lines, then `<name>: ok`.
fn all_ok(name: &str, sections: &[&str], rofs_section: bool) -> String {
    let mut s = String::new();
    for sec in sections {
        s += &format!("{sec}: ok\n");
    }
    if rofs_section && !native() {
        s += "rofs: ok\n";
    }
    s + &format!("{name}: ok\n")
}

fn fs_basic(v: Variant) {
    let sections = [
        "open",
        "rw",
        "lseek",
        "stat",
        "truncate",
        "fallocate",
        "sync",
        "perm",
        "fds",
        "copy",
    ];
    run_fs("fs_basic", v)
        .assert_ok(all_ok("fs_basic", &sections, true))
        .assert_stderr("");
}
per_variant!(fs_basic: fs_basic_glibc_static, fs_basic_glibc_static_pie, fs_basic_musl_static);

fn fs_links(v: Variant) {
    let sections = ["link", "symlink", "limits", "rename", "unlink"];
    run_fs("fs_links", v)
        .assert_ok(all_ok("fs_links", &sections, false))
        .assert_stderr("");
}
per_variant!(fs_links: fs_links_glibc_static, fs_links_glibc_static_pie, fs_links_musl_static);

fn fs_dirs(v: Variant) {
    let sections = ["mkdir", "readdir", "cwd", "statfs"];
    run_fs("fs_dirs", v)
        .assert_ok(all_ok("fs_dirs", &sections, false))
        .assert_stderr("");
}
per_variant!(fs_dirs: fs_dirs_glibc_static, fs_dirs_glibc_static_pie, fs_dirs_musl_static);

fn fs_special(v: Variant) {
    let sections = ["dev", "exe", "fd", "maps", "status", "sysinfo", "mounts"];
    run_fs("fs_special", v)
        .assert_ok(all_ok("fs_special", &sections, false))
        .assert_stderr("");
}
per_variant!(fs_special: fs_special_glibc_static, fs_special_glibc_static_pie, fs_special_musl_static);

/// `--tmpfs PATH` mounts a RAM file system at PATH even when the image has
/// no directory there (README: "a RAM file system at PATH"), also below
/// /tmp. VM only.
#[test]
fn tmpfs_mount_point_outside_the_image() {
    if native() {
        return;
    }
    let out = Run::new(common::busybox())
        .args(["cat", "/proc/mounts"])
        .run_with_options(&["--tmpfs", "/mnt2", "--tmpfs", "/tmp/sub:1M"]);
    out.assert_code(0);
    let text = out.stdout_text();
    for want in ["tmpfs /mnt2 tmpfs rw", "tmpfs /tmp/sub tmpfs rw"] {
        assert!(
            text.lines().any(|l| l.starts_with(want)),
            "no `{want}` line in /proc/mounts\n{}",
            out.describe()
        );
    }
}

/// A `--tmpfs` with a size is full at that size: ENOSPC from the write,
/// which busybox reports. VM only.
#[test]
fn tmpfs_size_limit() {
    if native() {
        return;
    }
    let empty = format!("{}:/small", empty_dir().display());
    // 1 MiB mount; dd writes 2 MiB of zeros.
    let out = Run::new(common::busybox())
        .args(["dd", "if=/dev/zero", "of=/small/f", "bs=64k", "count=32"])
        .run_with_options(&["--add", &empty, "--tmpfs", "/small:1M"]);
    out.assert_code(1)
        .assert_stderr_contains("No space left on device");
}
