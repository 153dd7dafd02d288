//! Checks the program on the host before a VM is booted for it.
//!
//! [`load`] reads the file and refuses, with the exit codes of a shell,
//! what the kernel could not run anyway: a missing file (127), a directory,
//! a non-regular or unreadable file (126), and anything `oxv_elf::parse`
//! rejects or that asks for an interpreter (126). The bytes it returns go
//! into the launch record.

use std::fs;
use std::io;
use std::path::Path;

use crate::error::Error;

/// A program that passed the checks.
#[derive(Debug)]
pub struct Program {
    /// The file's bytes.
    pub bytes: Vec<u8>,
}

/// Reads and checks the program at `path` (`display` is the path as typed).
pub fn load(path: &Path) -> Result<Program, Error> {
    let display = path.to_string_lossy().into_owned();
    let not_runnable = |reason: &str| Error::NotRunnable {
        path: display.clone(),
        reason: reason.to_owned(),
    };
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound || path.as_os_str().is_empty() => {
            return Err(Error::NotFound { path: display });
        }
        Err(e) => return Err(not_runnable(&io_reason(&e))),
    };
    if meta.is_dir() {
        return Err(not_runnable("is a directory"));
    }
    if !meta.is_file() {
        return Err(not_runnable("not a regular file"));
    }
    let bytes = fs::read(path).map_err(|e| not_runnable(&io_reason(&e)))?;
    check_elf(&bytes).map_err(|reason| Error::BadProgram {
        path: display,
        reason,
    })?;
    Ok(Program { bytes })
}

fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        io::ErrorKind::NotADirectory => "not a directory".to_owned(),
        _ => {
            // "Is a directory (os error 21)" -> "is a directory"
            let s = e.to_string();
            let s = s.split(" (os error").next().unwrap_or(&s).to_owned();
            let mut c = s.chars();
            match c.next() {
                Some(f) => f.to_lowercase().chain(c).collect(),
                None => s,
            }
        }
    }
}

/// The user-facing reason `bytes` cannot run, if any: whatever
/// `oxv_elf::parse` rejects (its `Display` message), or a `PT_INTERP`.
pub fn check_elf(bytes: &[u8]) -> Result<(), String> {
    let elf = oxv_elf::parse(bytes).map_err(|e| e.to_string())?;
    if let Some(interp) = elf.interp() {
        return Err(format!(
            "dynamically linked (interpreter {}); only static programs are supported for now",
            String::from_utf8_lossy(interp)
        ));
    }
    Ok(())
}

/// Test helpers shared with other modules' tests.
#[cfg(test)]
pub(crate) mod tests_support {
    /// A minimal valid static x86-64 ELF: header, one PT_LOAD, optional PT_INTERP.
    pub(crate) fn tiny_elf(interp: Option<&[u8]>) -> Vec<u8> {
        let phnum: u16 = if interp.is_some() { 2 } else { 1 };
        let mut b = vec![0u8; 64 + 56 * phnum as usize];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 2; // ELFCLASS64
        b[5] = 1; // little-endian
        b[6] = 1; // EV_CURRENT
        b[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        b[18..20].copy_from_slice(&62u16.to_le_bytes()); // EM_X86_64
        b[20..24].copy_from_slice(&1u32.to_le_bytes());
        b[24..32].copy_from_slice(&0x40_0078u64.to_le_bytes()); // entry
        b[32..40].copy_from_slice(&64u64.to_le_bytes()); // phoff
        b[52..54].copy_from_slice(&64u16.to_le_bytes());
        b[54..56].copy_from_slice(&56u16.to_le_bytes());
        b[56..58].copy_from_slice(&phnum.to_le_bytes());
        let code_off = b.len();
        let mut ph = |i: usize, t: u32, flags: u32, off: u64, sz: u64, vaddr: u64, align: u64| {
            let p = 64 + i * 56;
            b[p..p + 4].copy_from_slice(&t.to_le_bytes());
            b[p + 4..p + 8].copy_from_slice(&flags.to_le_bytes());
            b[p + 8..p + 16].copy_from_slice(&off.to_le_bytes());
            b[p + 16..p + 24].copy_from_slice(&vaddr.to_le_bytes());
            b[p + 24..p + 32].copy_from_slice(&vaddr.to_le_bytes());
            b[p + 32..p + 40].copy_from_slice(&sz.to_le_bytes());
            b[p + 40..p + 48].copy_from_slice(&sz.to_le_bytes());
            b[p + 48..p + 56].copy_from_slice(&align.to_le_bytes());
        };
        // exit(0): mov edi,0; mov eax,60; syscall
        let code: &[u8] = &[0xbf, 0, 0, 0, 0, 0xb8, 60, 0, 0, 0, 0x0f, 0x05];
        let total = code_off + code.len();
        ph(
            0,
            1,
            5,
            0,
            total as u64 + interp.map_or(0, |i| i.len() as u64 + 1),
            0x40_0000,
            0x1000,
        );
        if let Some(i) = interp {
            ph(
                1,
                3,
                4,
                total as u64,
                i.len() as u64 + 1,
                0x40_0000 + total as u64,
                1,
            );
        }
        // Entry must point at the code: adjust for the table size.
        let entry = 0x40_0000u64 + code_off as u64;
        b[24..32].copy_from_slice(&entry.to_le_bytes());
        b.extend_from_slice(code);
        if let Some(i) = interp {
            b.extend_from_slice(i);
            b.push(0);
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::tiny_elf;
    use super::*;

    fn reason(bytes: &[u8]) -> String {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("prog");
        fs::write(&p, bytes).unwrap();
        match load(&p) {
            Err(Error::BadProgram { reason, .. }) => reason,
            other => panic!("expected BadProgram, got {other:?}"),
        }
    }

    #[test]
    fn accepts_a_static_elf() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("ok");
        fs::write(&p, tiny_elf(None)).unwrap();
        assert_eq!(load(&p).unwrap().bytes, tiny_elf(None));
    }

    #[test]
    fn missing_directory_and_special_files() {
        let d = tempfile::tempdir().unwrap();
        let missing = d.path().join("nope");
        let e = load(&missing).unwrap_err();
        assert!(matches!(e, Error::NotFound { .. }));
        assert_eq!(e.exit_code(), 127);
        assert_eq!(
            e.to_string(),
            format!("{}: no such file", missing.display())
        );

        let e = load(d.path()).unwrap_err();
        assert_eq!(e.exit_code(), 126);
        assert_eq!(
            e.to_string(),
            format!("{}: is a directory", d.path().display())
        );

        let e = load(Path::new("/dev/null")).unwrap_err();
        assert_eq!(e.exit_code(), 126);
        assert_eq!(e.to_string(), "/dev/null: not a regular file");

        // A path through a regular file is "not a directory", not "no such file".
        let f = d.path().join("f");
        fs::write(&f, b"x").unwrap();
        let e = load(&f.join("x")).unwrap_err();
        assert_eq!(e.exit_code(), 126, "{e}");
    }

    #[test]
    fn unreadable_file() {
        use std::os::unix::fs::PermissionsExt;
        if rustix::process::geteuid().is_root() {
            return; // root reads anything
        }
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("secret");
        fs::write(&p, tiny_elf(None)).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o000)).unwrap();
        let e = load(&p).unwrap_err();
        assert_eq!(e.exit_code(), 126);
        assert!(e.to_string().ends_with("permission denied"), "{e}");
    }

    #[test]
    fn bad_files_are_refused_with_reasons() {
        assert_eq!(reason(b""), "not an ELF file");
        assert_eq!(reason(b"#!/bin/sh\necho hi\n"), "not an ELF file");
        assert_eq!(
            reason(b"\x7fELF"),
            "truncated: file ends inside the ELF header"
        );

        let mut elf32 = tiny_elf(None);
        elf32[4] = 1;
        assert_eq!(
            reason(&elf32),
            "32-bit ELF (only x86-64 64-bit programs run)"
        );

        let mut arm = tiny_elf(None);
        arm[18..20].copy_from_slice(&183u16.to_le_bytes());
        assert_eq!(reason(&arm), "built for aarch64, not x86-64");

        let mut be = tiny_elf(None);
        be[5] = 2;
        assert!(reason(&be).contains("big-endian"));

        let full = tiny_elf(None);
        assert!(reason(&full[..40]).starts_with("truncated"));
        assert!(reason(&full[..100]).starts_with("truncated"));
        assert!(reason(&full[..full.len() - 4]).starts_with("truncated"));
    }

    #[test]
    fn dynamic_program_names_its_interpreter() {
        let r = reason(&tiny_elf(Some(b"/lib64/ld-linux-x86-64.so.2")));
        assert_eq!(
            r,
            "dynamically linked (interpreter /lib64/ld-linux-x86-64.so.2); \
             only static programs are supported for now"
        );
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("dyn");
        fs::write(&p, tiny_elf(Some(b"/lib/ld-musl-x86_64.so.1"))).unwrap();
        let e = load(&p).unwrap_err();
        assert_eq!(e.exit_code(), 126);
        assert_eq!(
            e.to_string(),
            format!(
                "cannot run {}: dynamically linked (interpreter /lib/ld-musl-x86_64.so.1); \
                 only static programs are supported for now",
                p.display()
            )
        );
    }

    #[test]
    fn real_static_binary_if_present() {
        let p = Path::new("/bin/busybox");
        if let Ok(bytes) = fs::read(p) {
            // Debian's busybox-static is static; busybox (dynamic) is refused.
            let r = check_elf(&bytes);
            if let Err(msg) = r {
                assert!(msg.starts_with("dynamically linked"), "{msg}");
            }
        }
    }
}
