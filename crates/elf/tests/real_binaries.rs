//! Real programs from the host: the system's dynamic `/bin/true` and its
//! dynamic linker, and `gcc -static` / `-static-pie` output compiled here.
//! Each check is skipped with a note when the tool or file is missing.

use oxv_elf::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn read(path: &Path) -> Option<Vec<u8>> {
    match std::fs::read(path) {
        Ok(b) => Some(b),
        Err(e) => {
            println!("note: skipping {}: {e}", path.display());
            None
        }
    }
}

/// Checks the invariants every loadable program satisfies.
fn sane(elf: &Elf<'_>) {
    assert!(elf.load_segments().count() >= 1);
    assert!(elf.phdr_vaddr().is_some(), "program headers not loaded");
    assert!(elf.load_bias(DYN_BASE).is_some());
    assert!(elf.load_segments().any(|s| s.flags.executable));
    assert!(!elf.stack_executable());
}

#[test]
fn bin_true_is_dynamic_pie_with_interp() {
    let Some(bytes) = read(Path::new("/bin/true")) else {
        return;
    };
    let elf = parse(&bytes).unwrap_or_else(|e| panic!("/bin/true: {e}"));
    sane(&elf);
    let interp = elf.interp().expect("/bin/true has PT_INTERP");
    println!(
        "/bin/true: {:?}, interp {}",
        elf.kind(),
        String::from_utf8_lossy(interp)
    );
    assert!(interp.starts_with(b"/lib"));
    assert!(!interp.contains(&0));
}

#[test]
fn dynamic_linker_parses() {
    let Some(bytes) = read(Path::new("/lib64/ld-linux-x86-64.so.2")) else {
        return;
    };
    let elf = parse(&bytes).unwrap_or_else(|e| panic!("ld.so: {e}"));
    assert_eq!(elf.kind(), Kind::Dyn);
    assert_eq!(elf.interp(), None);
    assert_eq!(elf.image_span().0, 0);
    sane(&elf);
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Compiles a tiny C program with `gcc <flags>`; `None` (with a note) if gcc
/// or the static C library is missing.
fn compile(dir: &Path, name: &str, flags: &[&str]) -> Option<Vec<u8>> {
    let src = dir.join("hello.c");
    std::fs::write(
        &src,
        "#include <stdio.h>\n__thread int t = 1;\nint main(void) { printf(\"hi %d\\n\", t); return 0; }\n",
    )
    .unwrap();
    let out = dir.join(name);
    let status = Command::new("gcc")
        .args(flags)
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .output();
    match status {
        Ok(o) if o.status.success() => read(&out),
        Ok(o) => {
            println!(
                "note: skipping gcc {flags:?}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            None
        }
        Err(e) => {
            println!("note: skipping gcc {flags:?}: {e}");
            None
        }
    }
}

#[test]
fn gcc_static_and_static_pie() {
    let dir = TempDir(std::env::temp_dir().join(format!("oxv-elf-test-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();

    if let Some(bytes) = compile(&dir.0, "static", &["-static", "-O2"]) {
        let elf = parse(&bytes).unwrap_or_else(|e| panic!("gcc -static: {e}"));
        assert_eq!(elf.kind(), Kind::Exec);
        assert_eq!(elf.interp(), None);
        assert!(elf.tls().is_some(), "__thread variable gives PT_TLS");
        assert_eq!(elf.load_bias(DYN_BASE), Some(0));
        sane(&elf);
    }
    if let Some(bytes) = compile(&dir.0, "static-pie", &["-static-pie", "-fPIE", "-O2"]) {
        let elf = parse(&bytes).unwrap_or_else(|e| panic!("gcc -static-pie: {e}"));
        assert_eq!(elf.kind(), Kind::Dyn);
        assert_eq!(elf.interp(), None);
        assert!(elf.tls().is_some());
        let bias = elf.load_bias(DYN_BASE).unwrap();
        assert!(elf.image_span().0 + bias >= DYN_BASE);
        sane(&elf);
    }
    if let Some(bytes) = compile(&dir.0, "dynamic", &["-O2"]) {
        let elf = parse(&bytes).unwrap_or_else(|e| panic!("gcc: {e}"));
        assert!(elf.interp().is_some());
        sane(&elf);
    }
    // An object file is refused with a clear message.
    if let Some(bytes) = compile(&dir.0, "hello.o", &["-c"]) {
        let e = parse(&bytes).unwrap_err();
        assert_eq!(e.to_string(), "relocatable object file, not an executable");
    }
}

/// Every x86-64 executable in /usr/bin parses: the checks reject nothing
/// that Linux runs.
#[test]
fn all_of_usr_bin() {
    let Ok(dir) = std::fs::read_dir("/usr/bin") else {
        println!("note: skipping /usr/bin scan");
        return;
    };
    let (mut ok, mut failed) = (0, Vec::new());
    for entry in dir.flatten().take(3000) {
        let path = entry.path();
        if !path.is_file() {
            continue;
        }
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        // Only 64-bit little-endian x86-64 programs are in scope.
        if bytes.len() < 64
            || &bytes[..6] != b"\x7fELF\x02\x01"
            || bytes[18] != 62
            || bytes[19] != 0
        {
            continue;
        }
        match parse(&bytes) {
            Ok(_) => ok += 1,
            Err(e) => failed.push(format!("{}: {e}", path.display())),
        }
    }
    println!("/usr/bin: {ok} programs parsed");
    assert!(failed.is_empty(), "rejected: {failed:#?}");
}
