//! Busybox (Debian's static /bin/busybox) on a real tree added to the root
//! image with `oxv run --add TREE:/data`: listings, find, cat, wc, sort,
//! sha256sum of every file (one of 50 MiB, read from the virtio block
//! device), tar streamed from one VM into another, what a read-only root
//! refuses, a copy/move/remove sequence on /tmp (`fs_tree`), and an image
//! with one damaged compressed block (EIO on that file only).
//!
//! The tree is made once under `target/test-programs/busybox-tree/` and
//! reused (so the image cache keeps working). Expected answers come from
//! the host: its `sha256sum`, `tar`, and the tree's own metadata.
//!
//! `OXV_TEST_NATIVE=1` runs the same busybox commands on the host with
//! `/data` replaced by the tree's host path; tests of oxv's own behaviour
//! (the root listing, EROFS, damaged images) are VM only.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use common::{
    busybox, native, program, program_environment, pseudo_random_bytes, run_with_deadline,
    scratch_dir, Outcome, Variant, HOST_DEADLINE, VM_TIMEOUT,
};

/// Size of the big file.
const BIG: usize = 50 << 20;

/// The tree's version: bump it when [`make_tree`] changes.
const TREE_DIR: &str = "busybox-tree/data-v1";

/// The host tree that is `/data` in the VM, made on first use.
fn tree() -> &'static Path {
    static TREE: OnceLock<PathBuf> = OnceLock::new();
    TREE.get_or_init(|| {
        let dir = scratch_dir().join(TREE_DIR);
        if !dir.is_dir() {
            let parent = dir.parent().unwrap();
            std::fs::create_dir_all(parent).unwrap();
            let tmp = tempfile::Builder::new()
                .prefix(".data-tmp-")
                .tempdir_in(parent)
                .unwrap();
            make_tree(tmp.path());
            // Atomic: another test process may have won the race; then use its tree.
            let tmp = tmp.keep();
            if std::fs::rename(&tmp, &dir).is_err() {
                let _ = std::fs::remove_dir_all(&tmp);
                assert!(dir.is_dir(), "cannot create {}", dir.display());
            }
        }
        dir
    })
}

fn write(path: &Path, data: &[u8], mode: u32) {
    std::fs::write(path, data).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn make_tree(d: &Path) {
    use std::os::unix::fs::symlink;
    let words = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
    ];
    let r = pseudo_random_bytes(3000, 0x1234);
    let mut lines = String::new();
    for i in 0..1000 {
        let w = words[r[i] as usize % words.len()];
        lines += &format!("{w} {} {}\n", r[1000 + i], r[2000 + i] % 7);
    }
    write(&d.join("lines.txt"), lines.as_bytes(), 0o644);
    write(&d.join("empty"), b"", 0o644);
    write(
        &d.join("big.bin"),
        &pseudo_random_bytes(BIG, 0xb16_b16),
        0o644,
    );
    symlink("small/hello.txt", d.join("top-link")).unwrap();

    let s = d.join("small");
    std::fs::create_dir_all(s.join("nested/deeper/deepest")).unwrap();
    std::fs::create_dir_all(s.join("nested/empty-dir")).unwrap();
    write(&s.join("hello.txt"), b"hello, tree\n", 0o644);
    write(&s.join("name with spaces.txt"), b"spaces\n", 0o644);
    write(&s.join("private.txt"), b"secret\n", 0o600);
    write(&s.join("exec.sh"), b"#!/bin/sh\necho hi\n", 0o755);
    write(&s.join("hard1"), b"one inode, two names\n", 0o644);
    std::fs::hard_link(s.join("hard1"), s.join("hard2")).unwrap();
    symlink("hello.txt", s.join("link")).unwrap();
    symlink("nested", s.join("dir-link")).unwrap();
    symlink("/data/lines.txt", s.join("abs-link")).unwrap();
    write(
        &s.join("nested/deeper/deepest/file.txt"),
        b"at the bottom\n",
        0o644,
    );
    // 200 KB of text: several 32 KiB blocks, all LZ4-compressed in images.
    let mut comp = String::new();
    let mut i = 0;
    while comp.len() < 200_000 {
        comp += &format!("line {i:06} of compressible text\n");
        i += 1;
    }
    comp.truncate(200_000);
    write(&s.join("compressible.txt"), comp.as_bytes(), 0o644);
    for p in [
        s.join("nested/deeper/deepest"),
        s.join("nested/deeper"),
        s.join("nested/empty-dir"),
        s.join("nested"),
        s.clone(),
        d.to_path_buf(),
    ] {
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// Relative paths (sorted) of everything below `dir`, with the lstat metadata.
fn walk(dir: &Path) -> Vec<(String, std::fs::Metadata)> {
    fn rec(root: &Path, dir: &Path, out: &mut Vec<(String, std::fs::Metadata)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(root).unwrap().to_str().unwrap().to_string();
            let is_dir = m.is_dir();
            out.push((rel, m));
            if is_dir {
                rec(root, &p, out);
            }
        }
    }
    let mut out = Vec::new();
    rec(dir, dir, &mut out);
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// One busybox command. In the VM: `oxv run --add TREE:/data [opts]
/// [--cwd CWD] /bin/busybox ARGS`. Natively: busybox on the host with
/// `/data` in arguments (and `cwd`) replaced by the tree's path, and the
/// tree's path in its output replaced back by `/data`.
fn bb(args: &[&str], opts: &[&str], cwd: Option<&str>, stdin: &[u8]) -> Outcome {
    let host = tree().to_str().unwrap().to_string();
    if native() {
        let map = |a: &str| a.replace("/data", &host);
        let mut cmd = Command::new(busybox());
        cmd.args(args.iter().map(|a| map(a)))
            .env_clear()
            .envs(program_environment(&[]))
            .current_dir(cwd.map_or_else(|| "/".to_string(), map));
        let mut out = run_with_deadline(cmd, stdin, HOST_DEADLINE);
        let fix = |b: &[u8]| {
            String::from_utf8_lossy(b)
                .replace(&host, "/data")
                .into_bytes()
        };
        if out.stdout.is_ascii() {
            out.stdout = fix(&out.stdout);
        }
        out.stderr = fix(&out.stderr);
        out
    } else {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_oxv"));
        cmd.args(["run", "--timeout", VM_TIMEOUT, "--add"])
            .arg(format!("{host}:/data"))
            .args(opts);
        if let Some(c) = cwd {
            cmd.args(["--cwd", c]);
        }
        cmd.arg(busybox()).args(args);
        run_with_deadline(cmd, stdin, HOST_DEADLINE)
    }
}

/// `ls -l` mode string of a host file.
fn mode_string(m: &std::fs::Metadata) -> String {
    let mode = m.mode();
    let t = match mode & 0o170000 {
        0o040000 => 'd',
        0o120000 => 'l',
        _ => '-',
    };
    let mut s = String::from(t);
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    s
}

/// Splits an `ls -l` line into its first 8 fields and the name part.
fn ls_fields(line: &str) -> Option<(Vec<&str>, &str)> {
    let mut fields = Vec::new();
    let mut rest = line;
    for _ in 0..8 {
        rest = rest.trim_start();
        let end = rest.find(' ')?;
        fields.push(&rest[..end]);
        rest = &rest[end..];
    }
    Some((fields, rest.strip_prefix(' ')?))
}

/// `ls -la /`: the image root holds the program, /data and the mount points. VM only.
#[test]
fn ls_la_root() {
    if native() {
        return;
    }
    let out = bb(&["ls", "-lan", "/"], &[], None, b"");
    out.assert_code(0).assert_stderr("");
    let mut names: Vec<String> = out
        .stdout_text()
        .lines()
        .skip(1) // "total N"
        .map(|l| ls_fields(l).expect("ls -l line").1.to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [".", "..", "busybox", "data", "dev", "proc", "sys", "tmp"],
        "{}",
        out.describe()
    );
}

/// `ls -la /data/small`: modes, link counts, owners, sizes, names, link targets.
#[test]
fn ls_la_small() {
    let out = bb(&["ls", "-lan", "/data/small"], &[], None, b"");
    out.assert_code(0).assert_stderr("");
    let text = out.stdout_text();
    let mut got: Vec<String> = Vec::new();
    for l in text.lines().skip(1) {
        let (f, name) = ls_fields(l).unwrap_or_else(|| panic!("odd line {l:?}"));
        if name == "." || name == ".." {
            continue;
        }
        // mode, nlink, uid, gid, size (not for directories: file systems differ)
        let size = if f[0].starts_with('d') { "-" } else { f[4] };
        got.push(format!("{} {} {} {} {size} {name}", f[0], f[1], f[2], f[3]));
    }
    let small = tree().join("small");
    let mut want: Vec<String> = Vec::new();
    for e in std::fs::read_dir(&small).unwrap() {
        let p = e.unwrap().path();
        let m = std::fs::symlink_metadata(&p).unwrap();
        let mut name = p.file_name().unwrap().to_str().unwrap().to_string();
        if m.file_type().is_symlink() {
            name += &format!(" -> {}", std::fs::read_link(&p).unwrap().display());
        }
        let size = if m.is_dir() {
            "-".to_string()
        } else {
            m.len().to_string()
        };
        // The image gives everything to root (as the host does: the tests run as root natively).
        let (uid, gid) = if native() { (m.uid(), m.gid()) } else { (0, 0) };
        want.push(format!(
            "{} {} {uid} {gid} {size} {name}",
            mode_string(&m),
            m.nlink()
        ));
    }
    got.sort();
    want.sort();
    assert_eq!(got, want, "{}", out.describe());
}

#[test]
fn find_data() {
    let out = bb(&["find", "/data"], &[], None, b"");
    out.assert_code(0).assert_stderr("");
    let mut got: Vec<String> = out.stdout_text().lines().map(String::from).collect();
    got.sort();
    let mut want: Vec<String> = vec!["/data".to_string()];
    want.extend(walk(tree()).into_iter().map(|(r, _)| format!("/data/{r}")));
    want.sort();
    assert_eq!(got, want, "{}", out.describe());
}

#[test]
fn cat_files() {
    let files = [
        "small/hello.txt",
        "lines.txt",
        "empty",
        "small/link",
        "top-link",
        "small/name with spaces.txt",
        "small/dir-link/deeper/deepest/file.txt",
    ];
    let mut want = Vec::new();
    for f in files {
        want.extend(std::fs::read(tree().join(f)).unwrap());
    }
    let args: Vec<String> = files.iter().map(|f| format!("/data/{f}")).collect();
    let mut argv = vec!["cat"];
    argv.extend(args.iter().map(String::as_str));
    bb(&argv, &[], None, b"").assert_ok(want).assert_stderr("");
}

#[test]
fn wc_l() {
    let n = std::fs::read(tree().join("lines.txt"))
        .unwrap()
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    bb(&["wc", "-l", "lines.txt"], &[], Some("/data"), b"")
        .assert_ok(format!("{n} lines.txt\n"))
        .assert_stderr("");
}

#[test]
fn sort_lines() {
    let text = std::fs::read_to_string(tree().join("lines.txt")).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort(); // bytewise, as busybox sort without a locale
    let want: String = lines.iter().map(|l| format!("{l}\n")).collect();
    bb(&["sort", "/data/lines.txt"], &[], None, b"")
        .assert_ok(want)
        .assert_stderr("");
}

/// sha256sum of every regular file (and two symlinks to files), the 50 MiB
/// one included, against the host's coreutils sha256sum on the same paths.
#[test]
fn sha256sum_every_file() {
    let mut files: Vec<String> = walk(tree())
        .into_iter()
        .filter(|(_, m)| m.is_file())
        .map(|(r, _)| r)
        .collect();
    files.push("top-link".into());
    files.push("small/link".into());
    assert!(files.iter().any(|f| f == "big.bin"));
    let mut host = Command::new("sha256sum");
    host.args(&files).current_dir(tree());
    let want = run_with_deadline(host, b"", Duration::from_secs(60));
    want.assert_code(0);
    let mut argv = vec!["sha256sum"];
    argv.extend(files.iter().map(String::as_str));
    bb(&argv, &[], Some("/data"), b"")
        .assert_ok(&want.stdout)
        .assert_stderr("");
}

/// Commands on the RAM file system that need no later state; each exits 0
/// and is silent. VM only (they write to /tmp).
#[test]
fn tmp_commands_succeed() {
    if native() {
        return;
    }
    let cmds: &[&[&str]] = &[
        &["mkdir", "-p", "/tmp/a/b/c"],
        &["cp", "-r", "/data/small", "/tmp/c"],
        &["cp", "-a", "/data/small", "/tmp/c"],
        &["cp", "/data/lines.txt", "/tmp/x"],
        &["ln", "-s", "/data/small", "/tmp/l"],
        &["touch", "/tmp/t"],
        &["mv", "/data/nope", "/tmp/nope"],
        &["rm", "-rf", "/tmp/nonexistent"],
        &["dd", "if=/data/lines.txt", "of=/tmp/d", "bs=4k"],
    ];
    for args in cmds {
        let out = bb(args, &[], None, b"");
        if args[0] == "mv" {
            // mv of a missing source fails: that is the expected answer.
            out.assert_code(1)
                .assert_stderr_contains("No such file or directory");
        } else if args[0] == "dd" {
            out.assert_code(0);
        } else {
            out.assert_ok("").assert_stderr("");
        }
    }
}

/// Changing /data (in the read-only image) fails with EROFS, and busybox
/// says so. VM only.
#[test]
fn rofs_refuses_changes() {
    if native() {
        return;
    }
    let cmds: &[&[&str]] = &[
        &["rm", "/data/lines.txt"],
        &["touch", "/data/new"],
        &["mkdir", "/data/new"],
        &["mv", "/data/lines.txt", "/tmp/moved"], // EXDEV, copy, then unlink: EROFS
        &["ln", "-s", "x", "/data/new"],
        &["chmod", "600", "/data/lines.txt"],
        &["rmdir", "/data/small/nested/empty-dir"],
    ];
    for args in cmds {
        bb(args, &[], None, b"")
            .assert_code(1)
            .assert_stderr_contains("Read-only file system");
    }
}

/// The copy/verify/move/remove sequence of `fs_tree` from /data/small to
/// /tmp/copy; its listing of the copy must describe the host tree.
fn fs_tree(v: Variant) {
    let small = tree().join("small");
    let mut want = String::new();
    for (rel, m) in walk(&small) {
        let perm = m.mode() & 0o7777;
        if m.is_dir() {
            want += &format!("d {perm:04o} {rel}\n");
        } else if m.file_type().is_symlink() {
            let t = std::fs::read_link(small.join(&rel)).unwrap();
            want += &format!("l {rel} -> {}\n", t.display());
        } else {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for b in std::fs::read(small.join(&rel)).unwrap() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
            want += &format!("f {perm:04o} {} {} {h:016x} {rel}\n", m.nlink(), m.len());
        }
    }
    want += "fs_tree: ok\n";
    let prog = program("fs_tree", v);
    let out = if native() {
        let dst = tempfile::tempdir_in("/dev/shm").expect("temp dir in /dev/shm");
        let mut cmd = Command::new(&prog);
        cmd.arg(&small).arg(dst.path().join("copy"));
        run_with_deadline(cmd, b"", HOST_DEADLINE)
    } else {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_oxv"));
        cmd.args(["run", "--timeout", VM_TIMEOUT, "--add"])
            .arg(format!("{}:/src", small.display()))
            .arg(&prog)
            .args(["/src", "/tmp/copy"]);
        run_with_deadline(cmd, b"", HOST_DEADLINE)
    };
    out.assert_ok(want).assert_stderr("");
}
per_variant!(fs_tree: fs_tree_glibc_static, fs_tree_glibc_static_pie, fs_tree_musl_static);

/// `tar c -f - -C /data .` in one VM, its output piped into `tar t -f -` in
/// a second VM; the listing names every entry, and the host's tar extracts
/// the archive to the same tree. The 50 MiB file is left out (`--add` of
/// `small` only): the serial console relays a few hundred KiB/s in debug
/// builds.
#[test]
fn tar_between_two_vms() {
    let small = tree().join("small");
    let small_s = small.to_str().unwrap();
    let (create, list) = if native() {
        let mut c = Command::new(busybox());
        c.args(["tar", "c", "-f", "-", "-C", small_s, "."]);
        let create = run_with_deadline(c, b"", HOST_DEADLINE);
        let mut t = Command::new(busybox());
        t.args(["tar", "t", "-f", "-"]);
        let list = run_with_deadline(t, &create.stdout, HOST_DEADLINE);
        (create, list)
    } else {
        let mut c = Command::new(env!("CARGO_BIN_EXE_oxv"));
        c.args(["run", "--timeout", VM_TIMEOUT, "--add"])
            .arg(format!("{small_s}:/data"))
            .arg(busybox())
            .args(["tar", "c", "-f", "-", "-C", "/data", "."]);
        let create = run_with_deadline(c, b"", HOST_DEADLINE);
        let mut t = Command::new(env!("CARGO_BIN_EXE_oxv"));
        t.args(["run", "--timeout", VM_TIMEOUT])
            .arg(busybox())
            .args(["tar", "t", "-f", "-"]);
        let list = run_with_deadline(t, &create.stdout, HOST_DEADLINE);
        (create, list)
    };
    create.assert_code(0).assert_stderr("");
    list.assert_code(0).assert_stderr("");
    let mut got: Vec<String> = list.stdout_text().lines().map(String::from).collect();
    got.sort();
    let mut want = vec!["./".to_string()];
    for (rel, m) in walk(&small) {
        want.push(if m.is_dir() {
            format!("./{rel}/")
        } else {
            format!("./{rel}")
        });
    }
    want.sort();
    assert_eq!(got, want, "{}", list.describe());

    // The host's tar extracts the VM's archive to the same tree.
    let x = tempfile::tempdir().unwrap();
    let mut t = Command::new("tar");
    t.args(["-x", "-f", "-", "-C"]).arg(x.path());
    run_with_deadline(t, &create.stdout, HOST_DEADLINE).assert_code(0);
    let a = walk(&small);
    let b = walk(x.path());
    assert_eq!(
        a.iter().map(|e| &e.0).collect::<Vec<_>>(),
        b.iter().map(|e| &e.0).collect::<Vec<_>>()
    );
    for ((rel, ma), (_, mb)) in a.iter().zip(&b) {
        assert_eq!(ma.mode(), mb.mode(), "mode of {rel}");
        if ma.is_file() {
            assert_eq!(
                std::fs::read(small.join(rel)).unwrap(),
                std::fs::read(x.path().join(rel)).unwrap(),
                "contents of {rel}"
            );
            assert_eq!(ma.mtime(), mb.mtime(), "mtime of {rel}");
        } else if ma.file_type().is_symlink() {
            assert_eq!(
                std::fs::read_link(small.join(rel)).unwrap(),
                std::fs::read_link(x.path().join(rel)).unwrap(),
                "target of {rel}"
            );
        }
    }
}

// ---- A damaged image ----

/// Image offset and stored length of block `index` of the file at `path`.
fn block_of(image: &[u8], path: &str, index: u64) -> (u64, u32) {
    use oxv_rofs::format::{BlockEntry, RawInode, BLOCK_ENTRY_LEN, INODE_LEN};
    let r = oxv_rofs::RofsReader::open(image).expect("image opens");
    let ino = r
        .lookup_path(path.as_bytes())
        .expect("lookup")
        .unwrap_or_else(|| panic!("{path} not in the image"));
    let sb = *r.superblock();
    let at = (sb.inode_off + u64::from(ino - 1) * INODE_LEN as u64) as usize;
    let raw = RawInode::decode(image[at..at + INODE_LEN].try_into().unwrap(), ino)
        .expect("inode checksum");
    assert!(
        index < u64::from(raw.count),
        "{path} has {} blocks",
        raw.count
    );
    let at = (sb.blockmap_off + (raw.data + index) * BLOCK_ENTRY_LEN as u64) as usize;
    let e = BlockEntry::decode(image[at..at + BLOCK_ENTRY_LEN].try_into().unwrap());
    assert!(!e.is_hole());
    (e.offset, e.stored_len)
}

/// Builds busybox + the small tree at /data with `oxv build`, flips one
/// byte in the middle of the first (LZ4-compressed) block of
/// /data/compressible.txt, and returns the damaged image's path.
fn damaged_image(name: &str) -> PathBuf {
    let dir = scratch_dir().join("busybox-tree");
    let good = dir.join(format!("{name}.good.rofs"));
    let bad = dir.join(format!("{name}.bad.rofs"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oxv"));
    cmd.arg("build")
        .arg(busybox())
        .arg("--add")
        .arg(format!("{}:/data", tree().join("small").display()))
        .arg("-o")
        .arg(&good);
    run_with_deadline(cmd, b"", HOST_DEADLINE).assert_code(0);
    let mut image = std::fs::read(&good).unwrap();
    let (off, len) = block_of(&image, "/data/compressible.txt", 0);
    assert!(
        u64::from(len) < 32 * 1024,
        "block 0 of compressible.txt is stored raw ({len} bytes)"
    );
    image[(off + u64::from(len) / 2) as usize] ^= 0x40;
    std::fs::write(&bad, &image).unwrap();
    bad
}

/// Runs busybox from `image` with ARGS; `inline_max` forces the placement.
fn run_image(image: &Path, args: &[&str], inline_max: Option<u64>) -> Outcome {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oxv"));
    if let Some(m) = inline_max {
        cmd.env("OXV_ROOT_IMAGE_INLINE_MAX", m.to_string());
    }
    cmd.args(["run", "--timeout", VM_TIMEOUT])
        .arg(image)
        .args(args);
    run_with_deadline(cmd, b"", HOST_DEADLINE)
}

fn damaged_block(name: &str, inline_max: Option<u64>) {
    if native() {
        return;
    }
    let bad = damaged_image(name);
    // The damaged file: EIO, reported by cat.
    run_image(&bad, &["cat", "/data/compressible.txt"], inline_max)
        .assert_code(1)
        .assert_stderr("cat: read error: Input/output error\n");
    // Its last block is intact and still reads.
    let comp = std::fs::read(tree().join("small/compressible.txt")).unwrap();
    run_image(
        &bad,
        &["tail", "-c", "100", "/data/compressible.txt"],
        inline_max,
    )
    .assert_ok(&comp[comp.len() - 100..]);
    // Every other file reads correctly.
    let small = tree().join("small");
    let files: Vec<String> = walk(&small)
        .into_iter()
        .filter(|(r, m)| m.is_file() && r != "compressible.txt")
        .map(|(r, _)| r)
        .collect();
    let mut host = Command::new("sha256sum");
    host.args(&files).current_dir(&small);
    let want = run_with_deadline(host, b"", Duration::from_secs(60));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oxv"));
    if let Some(m) = inline_max {
        cmd.env("OXV_ROOT_IMAGE_INLINE_MAX", m.to_string());
    }
    cmd.args(["run", "--timeout", VM_TIMEOUT, "--cwd", "/data"])
        .arg(&bad)
        .arg("sha256sum")
        .args(&files);
    run_with_deadline(cmd, b"", HOST_DEADLINE)
        .assert_ok(&want.stdout)
        .assert_stderr("");
}

/// The damaged image passed in memory (it is small).
#[test]
fn damaged_block_in_memory() {
    damaged_block("damaged-mem", None);
}

/// The damaged image on the virtio block device.
#[test]
fn damaged_block_on_virtio_blk() {
    damaged_block("damaged-blk", Some(0));
}
