//! The embedded kernel: the bytes QEMU boots and the symbols for backtraces.
//!
//! `build.rs` builds `oxv-kernel` and leaves two copies in `OUT_DIR`: the
//! stripped ELF ([`KERNEL`], booted) and the ELF as linked ([`KERNEL_ELF`],
//! symbol table kept). QEMU wants a file for `-kernel`, so [`kernel_file`]
//! writes [`KERNEL`] once to a cache file named after its hash
//! (`$XDG_CACHE_HOME/oxv/`, `~/.cache/oxv/`, else a private directory in the
//! temp dir), atomically (temp file + rename), and checks the bytes of an
//! existing file before trusting it. `OXV_KERNEL=<path>` boots another
//! kernel file instead (for kernel development).
//!
//! [`Symbolizer`] maps kernel addresses printed in panic backtraces
//! (`  #3 0xffffffff8012abcd`) to `function+0xoffset`.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use object::{Object, ObjectSymbol, SymbolKind};

use crate::error::Error;

/// The stripped kernel ELF that QEMU boots.
pub static KERNEL: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/oxv-kernel.bin"));
/// The kernel ELF with its symbol table, for backtraces.
pub static KERNEL_ELF: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/oxv-kernel.elf"));
/// FNV-1a hash of [`KERNEL`], as 16 hex digits (names the cache file).
pub const KERNEL_HASH: &str = env!("OXV_KERNEL_HASH");

/// A kernel file on disk for QEMU's `-kernel`.
#[derive(Debug)]
pub enum KernelFile {
    /// A file that outlives the run (the cache, or `OXV_KERNEL`).
    Path(PathBuf),
    /// A private temporary file, deleted when dropped (no usable cache dir).
    Temp(tempfile::TempPath),
}

impl KernelFile {
    /// The path to pass to QEMU.
    pub fn path(&self) -> &Path {
        match self {
            KernelFile::Path(p) => p,
            KernelFile::Temp(t) => t,
        }
    }

    /// Whether this is the embedded kernel (so [`KERNEL_ELF`] symbolizes it).
    pub fn is_embedded(&self) -> bool {
        std::env::var_os("OXV_KERNEL").is_none()
    }
}

/// The kernel file to boot: `OXV_KERNEL` if set, else the cached embedded kernel.
pub fn kernel_file() -> Result<KernelFile, Error> {
    if let Some(p) = std::env::var_os("OXV_KERNEL") {
        let p = PathBuf::from(p);
        if !p.is_file() {
            return Err(Error::io(
                format!("OXV_KERNEL={}", p.display()),
                io::Error::from(io::ErrorKind::NotFound),
            ));
        }
        return Ok(KernelFile::Path(p));
    }
    let name = format!("oxv-kernel-{KERNEL_HASH}.elf");
    for dir in cache_dirs() {
        if let Ok(p) = ensure_cached(&dir, &name, KERNEL) {
            return Ok(KernelFile::Path(p));
        }
    }
    // No usable cache directory: a private temporary file for this run.
    let mut t = tempfile::Builder::new()
        .prefix("oxv-kernel-")
        .tempfile()
        .map_err(|e| Error::io("creating a temporary kernel file", e))?;
    t.write_all(KERNEL)
        .map_err(|e| Error::io("writing the kernel file", e))?;
    Ok(KernelFile::Temp(t.into_temp_path()))
}

/// Candidate cache directories, best first.
pub(crate) fn cache_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| !x.is_empty()) {
        dirs.push(PathBuf::from(x).join("oxv"));
    }
    if let Some(h) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        dirs.push(PathBuf::from(h).join(".cache").join("oxv"));
    }
    if let Some(d) = private_temp_dir() {
        dirs.push(d);
    }
    dirs
}

/// `$TMPDIR/oxv-<uid>`, created mode 0700; `None` if it exists but is not
/// ours alone (another user could swap the kernel file under us).
fn private_temp_dir() -> Option<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let uid = rustix::process::getuid().as_raw();
    let dir = std::env::temp_dir().join(format!("oxv-{uid}"));
    let _ = fs::DirBuilder::new().mode(0o700).create(&dir);
    let m = fs::symlink_metadata(&dir).ok()?;
    (m.is_dir() && m.uid() == uid && m.mode() & 0o077 == 0).then_some(dir)
}

/// Makes sure `dir/name` holds exactly `bytes`; writes it atomically if not.
fn ensure_cached(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<PathBuf> {
    let path = dir.join(name);
    if let Ok(existing) = fs::read(&path) {
        if existing == bytes {
            return Ok(path);
        }
    }
    fs::create_dir_all(dir)?;
    let mut t = tempfile::Builder::new()
        .prefix(".oxv-kernel-")
        .tempfile_in(dir)?;
    t.write_all(bytes)?;
    t.as_file().sync_data().ok();
    t.persist(&path).map_err(|e| e.error)?;
    Ok(path)
}

/// Resolves kernel addresses to function names from an ELF symbol table.
#[derive(Debug, Default)]
pub struct Symbolizer {
    /// (start, size, demangled name), sorted by start.
    syms: Vec<(u64, u64, String)>,
}

impl Symbolizer {
    /// Reads the function symbols of `elf`; empty if it has none or is not ELF.
    pub fn new(elf: &[u8]) -> Self {
        let Ok(file) = object::File::parse(elf) else {
            return Self::default();
        };
        let mut syms: Vec<(u64, u64, String)> = file
            .symbols()
            .filter(|s| s.kind() == SymbolKind::Text && s.address() != 0)
            .filter_map(|s| {
                let name = s.name().ok()?;
                Some((
                    s.address(),
                    s.size(),
                    rustc_demangle::demangle(name).to_string(),
                ))
            })
            .collect();
        syms.sort_by_key(|s| s.0);
        Self { syms }
    }

    /// The symbolizer for the embedded kernel.
    pub fn embedded() -> Self {
        Self::new(KERNEL_ELF)
    }

    /// `name+0xoff` for `addr`, if it falls inside a known function.
    pub fn lookup(&self, addr: u64) -> Option<String> {
        let i = self.syms.partition_point(|s| s.0 <= addr).checked_sub(1)?;
        let (start, size, name) = &self.syms[i];
        let off = addr - start;
        // Symbols without a size: accept the address up to the next symbol.
        let inside = if *size > 0 {
            off < *size
        } else {
            self.syms.get(i + 1).is_none_or(|n| addr < n.0)
        };
        inside.then(|| format!("{name}+{off:#x}"))
    }

    /// Appends a symbol to a backtrace line (`  #N 0xADDR`) or a line with
    /// `rip 0xADDR`; other lines come back unchanged.
    pub fn annotate(&self, line: &str) -> String {
        let words: Vec<&str> = line.split_whitespace().collect();
        let addr = match words.as_slice() {
            [n, a, ..] if n.starts_with('#') => parse_hex(a),
            _ => words
                .windows(2)
                .find(|w| {
                    w[0].trim_end_matches([':', '='])
                        .eq_ignore_ascii_case("rip")
                })
                .and_then(|w| parse_hex(w[1])),
        };
        match addr.and_then(|a| self.lookup(a)) {
            Some(sym) => format!("{line} {sym}"),
            None => line.to_owned(),
        }
    }
}

fn parse_hex(s: &str) -> Option<u64> {
    let s = s.trim_end_matches([',', ')', ':']);
    u64::from_str_radix(s.strip_prefix("0x")?, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_kernel_is_an_elf() {
        assert_eq!(&KERNEL[..4], b"\x7fELF");
        assert_eq!(&KERNEL_ELF[..4], b"\x7fELF");
        assert_eq!(KERNEL_HASH.len(), 16);
    }

    #[test]
    fn cache_write_is_idempotent_and_repairs_bad_content() {
        let d = tempfile::tempdir().unwrap();
        let p = ensure_cached(d.path(), "k", b"abc").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"abc");
        assert_eq!(ensure_cached(d.path(), "k", b"abc").unwrap(), p);
        fs::write(&p, b"tampered").unwrap();
        ensure_cached(d.path(), "k", b"abc").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"abc");
        // Only the final file is left behind.
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1);
        // A missing directory is created.
        let nested = d.path().join("a/b");
        ensure_cached(&nested, "k", b"x").unwrap();
    }

    #[test]
    fn symbolizer_lookup_and_annotate() {
        let s = Symbolizer {
            syms: vec![
                (0x1000, 0x10, "a".into()),
                (0x2000, 0, "b".into()),
                (0x3000, 0x8, "c".into()),
            ],
        };
        assert_eq!(s.lookup(0x1004).as_deref(), Some("a+0x4"));
        assert_eq!(s.lookup(0x1010), None);
        assert_eq!(s.lookup(0x2fff).as_deref(), Some("b+0xfff"));
        assert_eq!(s.lookup(0xfff), None);
        assert_eq!(s.annotate("  #1 0x1004"), "  #1 0x1004 a+0x4");
        assert_eq!(
            s.annotate("rip 0x3002, rsp 0x9"),
            "rip 0x3002, rsp 0x9 c+0x2"
        );
        assert_eq!(s.annotate("  #2 0x9999"), "  #2 0x9999");
        assert_eq!(s.annotate("plain text"), "plain text");
    }

    #[test]
    fn embedded_symbolizer_resolves_its_own_functions() {
        let s = Symbolizer::embedded();
        // Every function symbol of the unstripped kernel resolves to itself.
        for (start, _, name) in s.syms.iter().take(50) {
            assert_eq!(s.lookup(*start), Some(format!("{name}+0x0")));
        }
        assert!(Symbolizer::new(b"not an elf").syms.is_empty());
    }
}
