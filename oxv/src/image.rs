//! Root images on the host: what goes in ([`ImageInputs`]), checking it
//! ([`ImageInputs::validate`]), building with `oxv_rofs::ImageBuilder`
//! ([`build_image`]), the content-keyed cache `oxv run` uses
//! ([`cached_image`]), and reading back the run settings an image carries
//! ([`read_run_info`]).
//!
//! Besides the files, an image built by oxv holds `/.oxv/run.toml`
//! ([`RunInfo`]): the program's guest path, default arguments, environment
//! and working directory, so `oxv run IMAGE` needs nothing else.
//!
//! The cache key ([`ImageInputs::cache_key`]) is a SHA-256 over the build
//! settings and, for every input entry in build order, its guest path, type,
//! permissions, owner, modification time, size, symlink target, hard-link
//! structure and the SHA-256 of its bytes. Equal inputs give the same key
//! (and, the writer being deterministic, the same image); any change to a
//! file's bytes or metadata gives another. Images are written to a
//! temporary file in the cache directory and renamed into place.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{self, IsTerminal, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use oxv_rofs::{Compression, FileStorage, ImageBuilder, Meta, RofsReader, WriteStats};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Error;

/// Where an image keeps its run settings.
pub const RUN_INFO_PATH: &str = "/.oxv/run.toml";

/// One `--add HOST:GUEST` (or manifest `[[add]]`): a host file or tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddSpec {
    /// Host path (a file, symlink, or directory tree).
    pub host: PathBuf,
    /// Guest path (absolute).
    pub guest: String,
    /// How the user gave it, for messages (`--add a:/b`, `app.toml add[2]`).
    pub origin: String,
}

/// Parses `HOST:GUEST` (split at the last `:` followed by `/`, so host
/// paths may contain colons).
pub fn parse_add(s: &str) -> Result<AddSpec, String> {
    let bad = || format!("invalid --add {s:?}: expected HOST:GUEST with an absolute GUEST path");
    let i = s.rfind(":/").ok_or_else(bad)?;
    let (host, guest) = (&s[..i], &s[i + 1..]);
    if host.is_empty() {
        return Err(bad());
    }
    Ok(AddSpec {
        host: PathBuf::from(host),
        guest: guest.to_owned(),
        origin: format!("--add {s}"),
    })
}

/// Normalizes an absolute guest path: collapses `//`, drops a trailing
/// `/`; refuses relative paths, `.`/`..` components, NUL bytes and names
/// over 255 bytes. `/` itself only if `allow_root`.
pub fn normalize_guest(p: &str, allow_root: bool) -> Result<String, String> {
    if !p.starts_with('/') {
        return Err(format!("guest path {p:?} must be absolute"));
    }
    if p.contains('\0') {
        return Err(format!("guest path {p:?} contains a NUL byte"));
    }
    let mut out = String::new();
    for c in p.split('/').filter(|c| !c.is_empty()) {
        if c == "." || c == ".." {
            return Err(format!("guest path {p:?} contains . or .."));
        }
        if c.len() > 255 {
            return Err(format!("guest path {p:?} has a name over 255 bytes"));
        }
        out.push('/');
        out.push_str(c);
    }
    if out.is_empty() {
        if !allow_root {
            return Err(format!("guest path {p:?} cannot be the root directory"));
        }
        out.push('/');
    }
    Ok(out)
}

/// The run settings stored in an image at [`RUN_INFO_PATH`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunInfo {
    /// Guest path of the program.
    pub exec: String,
    /// Default arguments after argv[0] (`oxv run IMAGE ARGS` replaces them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    /// Working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// Environment variables (applied before `--env`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
}

/// The program of an image: read once, so the cache key and the image see
/// the same bytes.
#[derive(Debug, Clone)]
pub struct ProgramInput {
    /// Host path.
    pub host: PathBuf,
    /// Guest path.
    pub guest: String,
    /// The bytes.
    pub bytes: Arc<[u8]>,
    /// Host permissions and modification time.
    pub meta: Meta,
}

/// Directories the kernel mounts file systems on, added to every image.
const MOUNTPOINTS: [(&str, u32); 4] = [
    ("/dev", 0o755),
    ("/proc", 0o555),
    ("/sys", 0o555),
    ("/tmp", 0o1777),
];

impl ProgramInput {
    /// Reads `host`, to be placed at `guest`.
    pub fn read(host: &Path, guest: &str) -> Result<Self, Error> {
        let display = host.display().to_string();
        let m = fs::metadata(host).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => Error::NotFound {
                path: display.clone(),
            },
            _ => Error::NotRunnable {
                path: display.clone(),
                reason: e.to_string(),
            },
        })?;
        if !m.is_file() {
            return Err(Error::NotRunnable {
                path: display,
                reason: "not a regular file".into(),
            });
        }
        let bytes = fs::read(host).map_err(|e| Error::NotRunnable {
            path: display,
            reason: e.to_string(),
        })?;
        Ok(ProgramInput {
            host: host.to_path_buf(),
            guest: guest.to_owned(),
            bytes: bytes.into(),
            meta: Meta::from_host(&m).with_owner(0, 0),
        })
    }
}

/// Everything an image is built from.
#[derive(Debug, Clone, Default)]
pub struct ImageInputs {
    /// A host directory that becomes the root (added first).
    pub dir: Option<PathBuf>,
    /// The program.
    pub program: Option<ProgramInput>,
    /// Files and trees, in order.
    pub adds: Vec<AddSpec>,
    /// Run settings stored at [`RUN_INFO_PATH`].
    pub run: Option<RunInfo>,
    /// Block size (default: the format's, 32 KiB).
    pub block_size: Option<u32>,
    /// Fast compression (pure-Rust LZ4) instead of LZ4 HC.
    pub fast: bool,
    /// Keep host uid/gid (default: everything owned by root).
    pub keep_owner: bool,
    /// Extra directories to create if the inputs lack them: mountpoints
    /// for `--tmpfs` (the root image is read-only, so the kernel cannot
    /// make them).
    pub mountpoints: Vec<String>,
}

fn manifest_err(msg: String) -> Error {
    Error::Manifest(msg)
}

impl ImageInputs {
    /// Checks the inputs before anything is built: host paths exist, guest
    /// paths are absolute and clean, no guest path is given twice. Guest
    /// paths are normalized in place. Errors name the offending entry.
    pub fn validate(&mut self) -> Result<(), Error> {
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        seen.insert(RUN_INFO_PATH.into(), "the image's run settings".into());
        if let Some(d) = &self.dir {
            match fs::metadata(d) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    return Err(manifest_err(format!(
                        "dir {}: not a directory",
                        d.display()
                    )))
                }
                Err(e) => return Err(manifest_err(format!("dir {}: {e}", d.display()))),
            }
        }
        if let Some(p) = &mut self.program {
            p.guest = normalize_guest(&p.guest, false)
                .map_err(|e| manifest_err(format!("program {}: {e}", p.host.display())))?;
            seen.insert(p.guest.clone(), format!("program {}", p.host.display()));
        }
        for a in &mut self.adds {
            a.guest = normalize_guest(&a.guest, true)
                .map_err(|e| manifest_err(format!("{}: {e}", a.origin)))?;
            if let Err(e) = fs::metadata(&a.host) {
                return Err(manifest_err(format!(
                    "{}: host path {}: {}",
                    a.origin,
                    a.host.display(),
                    io_reason(&e)
                )));
            }
            if let Some(prev) = seen.get(&a.guest) {
                return Err(manifest_err(format!(
                    "{}: guest path {} is already used by {prev}",
                    a.origin, a.guest
                )));
            }
            seen.insert(a.guest.clone(), a.origin.clone());
        }
        if let Some(r) = &mut self.run {
            r.exec =
                normalize_guest(&r.exec, false).map_err(|e| manifest_err(format!("exec: {e}")))?;
            if let Some(c) = &mut r.cwd {
                *c = normalize_guest(c, true).map_err(|e| manifest_err(format!("cwd: {e}")))?;
            }
        }
        if let Some(b) = self.block_size {
            ImageBuilder::new()
                .set_block_size(b)
                .map_err(|e| manifest_err(e.to_string()))?;
        }
        Ok(())
    }

    /// The builder for these inputs (host files are read when it writes).
    pub fn builder(&self) -> Result<ImageBuilder, Error> {
        let mut b = ImageBuilder::new();
        if let Some(bs) = self.block_size {
            b.set_block_size(bs).map_err(build_err)?;
        }
        b.set_compression(if self.fast {
            Compression::Fast
        } else {
            Compression::High
        });
        b.set_host_owner(if self.keep_owner { None } else { Some((0, 0)) });
        if let Some(d) = &self.dir {
            b.add_host_path("/", d).map_err(build_err)?;
        }
        if let Some(p) = &self.program {
            b.add_file(&p.guest, p.meta, p.bytes.clone())
                .map_err(build_err)?;
        }
        for a in &self.adds {
            b.add_host_path(&a.guest, &a.host)
                .map_err(|e| Error::Manifest(format!("{}: {e}", a.origin)))?;
        }
        if let Some(r) = &self.run {
            let text = toml::to_string(r).map_err(|e| Error::Image(e.to_string()))?;
            b.add_file(RUN_INFO_PATH, Meta::new(0o644), text.into_bytes())
                .map_err(build_err)?;
        }
        // The kernel mounts /dev, /proc, /sys and /tmp on directories of the
        // (read-only) root, so every image has them.
        for (dir, mode) in MOUNTPOINTS {
            if !b.contains(dir) {
                b.add_dir(dir, Meta::new(mode)).map_err(build_err)?;
            }
        }
        for dir in &self.mountpoints {
            // mkdir -p, below whatever exists.
            let mut cur = String::new();
            for comp in dir.split('/').filter(|c| !c.is_empty()) {
                cur.push('/');
                cur.push_str(comp);
                if !b.contains(&cur) {
                    b.add_dir(&cur, Meta::new(0o755)).map_err(build_err)?;
                }
            }
        }
        Ok(b)
    }

    /// The content key (64 hex digits) of the image these inputs build.
    pub fn cache_key(&self) -> Result<String, Error> {
        let mut h = Sha256::new();
        put(&mut h, b"oxv-image-key-v2");
        put(&mut h, &oxv_rofs::format::VERSION.to_le_bytes());
        put(&mut h, &self.block_size.unwrap_or(0).to_le_bytes());
        put(&mut h, &[u8::from(self.fast), u8::from(self.keep_owner)]);
        let mut links = HashMap::new();
        if let Some(d) = &self.dir {
            put(&mut h, b"dir");
            let m = fs::metadata(d).map_err(|e| Error::io(d.display().to_string(), e))?;
            hash_tree(&mut h, b"/", d, &m, &mut links, self.keep_owner)?;
        }
        if let Some(p) = &self.program {
            put(&mut h, b"program");
            put(&mut h, p.guest.as_bytes());
            put(&mut h, &meta_bytes(&p.meta));
            put(&mut h, &Sha256::digest(&p.bytes));
        }
        for a in &self.adds {
            put(&mut h, b"add");
            let m =
                fs::metadata(&a.host).map_err(|e| Error::io(a.host.display().to_string(), e))?;
            hash_tree(
                &mut h,
                a.guest.as_bytes(),
                &a.host,
                &m,
                &mut links,
                self.keep_owner,
            )?;
        }
        for m in &self.mountpoints {
            put(&mut h, b"mountpoint");
            put(&mut h, m.as_bytes());
        }
        if let Some(r) = &self.run {
            put(&mut h, b"run");
            put(
                &mut h,
                toml::to_string(r)
                    .map_err(|e| Error::Image(e.to_string()))?
                    .as_bytes(),
            );
        }
        Ok(hex(&h.finalize()))
    }
}

fn build_err(e: oxv_rofs::BuildError) -> Error {
    match e {
        oxv_rofs::BuildError::Io { .. } | oxv_rofs::BuildError::Changed(_) => {
            Error::Image(e.to_string())
        }
        _ => Error::Manifest(e.to_string()),
    }
}

fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or directory".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Hashes a length-prefixed field.
fn put(h: &mut Sha256, b: &[u8]) {
    h.update((b.len() as u64).to_le_bytes());
    h.update(b);
}

fn meta_bytes(m: &Meta) -> Vec<u8> {
    let mut v = Vec::with_capacity(24);
    v.extend_from_slice(&m.perm.to_le_bytes());
    v.extend_from_slice(&m.uid.to_le_bytes());
    v.extend_from_slice(&m.gid.to_le_bytes());
    v.extend_from_slice(&m.mtime_sec.to_le_bytes());
    v.extend_from_slice(&m.mtime_nsec.to_le_bytes());
    v
}

/// Hashes one host entry (and, for a directory, its tree in the order the
/// image builder visits it).
fn hash_tree(
    h: &mut Sha256,
    guest: &[u8],
    host: &Path,
    m: &fs::Metadata,
    links: &mut HashMap<(u64, u64), u64>,
    keep_owner: bool,
) -> Result<(), Error> {
    let err = |e| Error::io(host.display().to_string(), e);
    put(h, guest);
    let mut meta = Meta::from_host(m);
    if !keep_owner {
        meta = meta.with_owner(0, 0);
    }
    let ft = m.file_type();
    put(h, &(m.mode() & 0o170000).to_le_bytes());
    put(h, &meta_bytes(&meta));
    if !ft.is_dir() && m.nlink() > 1 {
        let next = links.len() as u64;
        let id = *links.entry((m.dev(), m.ino())).or_insert(next);
        put(h, &id.to_le_bytes());
    }
    if ft.is_dir() {
        let mut entries: Vec<(Vec<u8>, PathBuf)> = fs::read_dir(host)
            .map_err(err)?
            .map(|e| e.map(|e| (e.file_name().as_bytes().to_vec(), e.path())))
            .collect::<Result<_, _>>()
            .map_err(err)?;
        entries.sort();
        put(h, &(entries.len() as u64).to_le_bytes());
        for (name, path) in entries {
            let mut g = guest.to_vec();
            if g.last() != Some(&b'/') {
                g.push(b'/');
            }
            g.extend_from_slice(&name);
            let cm = fs::symlink_metadata(&path)
                .map_err(|e| Error::io(path.display().to_string(), e))?;
            hash_tree(h, &g, &path, &cm, links, keep_owner)?;
        }
    } else if ft.is_file() {
        put(h, &m.len().to_le_bytes());
        let mut f = fs::File::open(host).map_err(err)?;
        let mut fh = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = f.read(&mut buf).map_err(err)?;
            if n == 0 {
                break;
            }
            fh.update(&buf[..n]);
        }
        put(h, &fh.finalize());
    } else if ft.is_symlink() {
        put(h, fs::read_link(host).map_err(err)?.as_os_str().as_bytes());
    } else if ft.is_char_device() || ft.is_block_device() {
        put(h, &m.rdev().to_le_bytes());
    }
    Ok(())
}

/// Builds the image to `out` (through a temporary file in the same
/// directory, renamed into place). `progress` shows a bar on stderr when
/// it is a terminal.
pub fn build_image(inputs: &ImageInputs, out: &Path, progress: bool) -> Result<WriteStats, Error> {
    let b = inputs.builder()?;
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let ctx = |what: &str| format!("{what} {}", out.display());
    let mut tmp = tempfile::Builder::new()
        .prefix(".oxv-image-")
        .tempfile_in(dir)
        .map_err(|e| Error::io(ctx("creating a temporary file for"), e))?;
    let bar = (progress && io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(b.file_bytes());
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "oxv: building {bar:30} {binary_bytes}/{binary_total_bytes} ({eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let stats = {
        let mut w = io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
        let stats = b
            .write_with_progress(&mut w, |done, _| {
                if let Some(bar) = &bar {
                    bar.set_position(done);
                }
            })
            .map_err(build_err)?;
        w.into_inner()
            .map_err(|e| Error::io(ctx("writing"), e.into_error()))?;
        stats
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    tmp.as_file()
        .set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .map_err(|e| Error::io(ctx("writing"), e))?;
    tmp.persist(out)
        .map_err(|e| Error::io(ctx("writing"), e.error))?;
    Ok(stats)
}

/// An image file to boot.
#[derive(Debug)]
pub enum ImageFile {
    /// In the image cache, or given by the user.
    Path(PathBuf),
    /// A private temporary file (no usable cache directory), deleted on drop.
    Temp(tempfile::TempPath),
}

impl ImageFile {
    /// Its path.
    pub fn path(&self) -> &Path {
        match self {
            ImageFile::Path(p) => p,
            ImageFile::Temp(t) => t,
        }
    }
}

/// The image cache directory: `images/` under oxv's cache directory.
pub fn cache_dir() -> Option<PathBuf> {
    crate::kernel::cache_dirs().into_iter().find_map(|d| {
        let d = d.join("images");
        fs::create_dir_all(&d).ok()?;
        Some(d)
    })
}

/// The image for `inputs` from the cache (`<key>.rofs`), building it there
/// first if needed. Returns the file and whether it was built now.
pub fn cached_image(inputs: &ImageInputs) -> Result<(ImageFile, bool), Error> {
    cached_image_in(inputs, cache_dir().as_deref())
}

/// [`cached_image`] with an explicit cache directory (`None`: no cache,
/// build a temporary file).
pub fn cached_image_in(
    inputs: &ImageInputs,
    dir: Option<&Path>,
) -> Result<(ImageFile, bool), Error> {
    let key = inputs.cache_key()?;
    if let Some(dir) = dir {
        let path = dir.join(format!("{key}.rofs"));
        if is_image(&path) {
            // Mark it recently used for pruning.
            let _ = fs::File::options()
                .append(true)
                .open(&path)
                .and_then(|f| f.set_modified(std::time::SystemTime::now()));
            return Ok((ImageFile::Path(path), false));
        }
        if build_image(inputs, &path, true).is_ok() {
            prune_cache(dir, cache_limit(), &path);
            return Ok((ImageFile::Path(path), true));
        }
    }
    let tmp = tempfile::Builder::new()
        .prefix("oxv-image-")
        .tempfile()
        .map_err(|e| Error::io("creating a temporary image file", e))?
        .into_temp_path();
    build_image(inputs, &tmp, false)?;
    Ok((ImageFile::Temp(tmp), true))
}

/// Default size limit of the image cache: 2 GiB (`OXV_IMAGE_CACHE_MAX`
/// overrides, in bytes).
pub const CACHE_LIMIT: u64 = 2 << 30;

fn cache_limit() -> u64 {
    std::env::var("OXV_IMAGE_CACHE_MAX")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CACHE_LIMIT)
}

/// Deletes the least recently used `*.rofs` files of `dir` (by mtime,
/// which a cache hit refreshes) until they take at most `limit` bytes;
/// `keep` is never deleted. Returns the number of files deleted.
pub fn prune_cache(dir: &Path, limit: u64, keep: &Path) -> usize {
    let Ok(rd) = fs::read_dir(dir) else { return 0 };
    let mut files: Vec<(std::time::SystemTime, u64, PathBuf)> = rd
        .filter_map(|e| {
            let e = e.ok()?;
            let p = e.path();
            if p.extension()? != "rofs" {
                return None;
            }
            let m = e.metadata().ok()?;
            Some((m.modified().ok()?, m.len(), p))
        })
        .collect();
    let mut total: u64 = files.iter().map(|f| f.1).sum();
    files.sort();
    let mut deleted = 0;
    for (_, len, p) in files {
        if total <= limit {
            break;
        }
        if p != keep && fs::remove_file(&p).is_ok() {
            total -= len;
            deleted += 1;
        }
    }
    deleted
}

/// Whether the file at `path` starts with the image magic.
pub fn is_image(path: &Path) -> bool {
    let mut head = [0u8; 8];
    fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && oxv_rofs::has_magic(&head)
}

/// Opens an image file for reading.
pub fn open_image(path: &Path) -> Result<RofsReader<FileStorage>, Error> {
    let display = path.display().to_string();
    let storage = FileStorage::open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => Error::NotFound {
            path: display.clone(),
        },
        _ => Error::NotRunnable {
            path: display.clone(),
            reason: io_reason(&e),
        },
    })?;
    RofsReader::open(storage).map_err(|e| Error::BadProgram {
        path: display,
        reason: format!("bad image: {e}"),
    })
}

/// The run settings stored in an image, if it has them.
pub fn read_run_info<S: oxv_rofs::Storage>(
    r: &RofsReader<S>,
    display: &str,
) -> Result<Option<RunInfo>, Error> {
    let bad = |reason: String| Error::BadProgram {
        path: display.to_owned(),
        reason,
    };
    let Some(ino) = r
        .lookup_path(RUN_INFO_PATH.as_bytes())
        .map_err(|e| bad(format!("bad image: {e}")))?
    else {
        return Ok(None);
    };
    let info = r.inode(ino).map_err(|e| bad(format!("bad image: {e}")))?;
    let mut buf = vec![0u8; info.size.min(1 << 20) as usize];
    let n = r
        .read_file(ino, 0, &mut buf)
        .map_err(|e| bad(format!("bad image: {RUN_INFO_PATH}: {e}")))?;
    let text =
        std::str::from_utf8(&buf[..n]).map_err(|_| bad(format!("{RUN_INFO_PATH} is not UTF-8")))?;
    toml::from_str(text)
        .map(Some)
        .map_err(|e| bad(format!("{RUN_INFO_PATH}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn add_specs() {
        let a = parse_add("site:/srv").unwrap();
        assert_eq!(
            (a.host.to_str(), a.guest.as_str(), a.origin.as_str()),
            (Some("site"), "/srv", "--add site:/srv")
        );
        let a = parse_add("a:b:/x:/y").unwrap();
        assert_eq!((a.host.to_str(), a.guest.as_str()), (Some("a:b:/x"), "/y"));
        for bad in ["site", "site:srv", ":/srv", ""] {
            assert!(parse_add(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn guest_paths() {
        assert_eq!(normalize_guest("/a//b/", false).unwrap(), "/a/b");
        assert_eq!(normalize_guest("/", true).unwrap(), "/");
        assert!(normalize_guest("/", false).is_err());
        assert!(normalize_guest("a/b", true).is_err());
        assert!(normalize_guest("/a/../b", true).is_err());
        assert!(normalize_guest("/a/./b", true).is_err());
        assert!(normalize_guest(&format!("/{}", "x".repeat(256)), true).is_err());
    }

    fn tree() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir_all(d.path().join("site/css")).unwrap();
        fs::write(d.path().join("site/index.html"), b"<h1>hi</h1>").unwrap();
        fs::write(d.path().join("site/css/a.css"), b"body{}").unwrap();
        fs::write(d.path().join("prog"), b"\x7fELF fake").unwrap();
        std::os::unix::fs::symlink("index.html", d.path().join("site/home.html")).unwrap();
        d
    }

    fn inputs(d: &Path) -> ImageInputs {
        ImageInputs {
            program: Some(ProgramInput::read(&d.join("prog"), "/prog").unwrap()),
            adds: vec![AddSpec {
                host: d.join("site"),
                guest: "/srv".into(),
                origin: "--add site:/srv".into(),
            }],
            run: Some(RunInfo {
                exec: "/prog".into(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn validation_names_the_offending_entry() {
        let d = tree();
        let mut ok = inputs(d.path());
        ok.validate().unwrap();

        let mut i = inputs(d.path());
        i.adds.push(AddSpec {
            host: d.path().join("nope"),
            guest: "/x".into(),
            origin: "m.toml add[2]".into(),
        });
        let e = i.validate().unwrap_err().to_string();
        assert!(
            e.contains("m.toml add[2]") && e.contains("no such file"),
            "{e}"
        );

        let mut i = inputs(d.path());
        i.adds[0].guest = "srv".into();
        let e = i.validate().unwrap_err().to_string();
        assert!(
            e.contains("--add site:/srv") && e.contains("absolute"),
            "{e}"
        );

        let mut i = inputs(d.path());
        i.adds.push(AddSpec {
            host: d.path().join("prog"),
            guest: "//srv/".into(),
            origin: "m.toml add[2]".into(),
        });
        let e = i.validate().unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let e = e.to_string();
        assert!(
            e.contains("m.toml add[2]") && e.contains("--add site:/srv"),
            "{e}"
        );

        let mut i = inputs(d.path());
        i.adds[0].guest = "/prog".into();
        let e = i.validate().unwrap_err().to_string();
        assert!(e.contains("already used by program"), "{e}");

        let mut i = inputs(d.path());
        i.adds[0].guest = RUN_INFO_PATH.into();
        assert!(i.validate().is_err());
    }

    #[test]
    fn cache_key_follows_bytes_and_metadata() {
        let d = tree();
        let k1 = inputs(d.path()).cache_key().unwrap();
        assert_eq!(k1.len(), 64);
        assert_eq!(inputs(d.path()).cache_key().unwrap(), k1, "same inputs");
        // A changed byte in an added file.
        fs::write(d.path().join("site/css/a.css"), b"body{ }").unwrap();
        let k2 = inputs(d.path()).cache_key().unwrap();
        assert_ne!(k2, k1);
        // Same size, different content.
        fs::write(d.path().join("site/css/a.css"), b"body{x}").unwrap();
        let k3 = inputs(d.path()).cache_key().unwrap();
        assert_ne!(k3, k2);
        // Permissions only.
        fs::set_permissions(
            d.path().join("site/index.html"),
            fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        let k4 = inputs(d.path()).cache_key().unwrap();
        assert_ne!(k4, k3);
        // A new file, a changed program, other run settings, block size.
        fs::write(d.path().join("site/new"), b"").unwrap();
        let k5 = inputs(d.path()).cache_key().unwrap();
        assert_ne!(k5, k4);
        fs::write(d.path().join("prog"), b"\x7fELF fakf").unwrap();
        let k6 = inputs(d.path()).cache_key().unwrap();
        assert_ne!(k6, k5);
        let mut i = inputs(d.path());
        i.run.as_mut().unwrap().cwd = Some("/srv".into());
        assert_ne!(i.cache_key().unwrap(), k6);
        let mut i = inputs(d.path());
        i.block_size = Some(65536);
        assert_ne!(i.cache_key().unwrap(), k6);
        // The symlink target counts too.
        fs::remove_file(d.path().join("site/home.html")).unwrap();
        std::os::unix::fs::symlink("css", d.path().join("site/home.html")).unwrap();
        assert_ne!(inputs(d.path()).cache_key().unwrap(), k6);
    }

    #[test]
    fn build_read_back_and_cache() {
        let d = tree();
        let mut i = inputs(d.path());
        i.run.as_mut().unwrap().args = Some(vec!["-x".into()]);
        i.validate().unwrap();
        let out = d.path().join("out.rofs");
        let stats = build_image(&i, &out, true).unwrap();
        assert_eq!(stats.image_len, fs::metadata(&out).unwrap().len());
        assert!(is_image(&out));
        assert!(!is_image(&d.path().join("prog")));
        assert!(!is_image(&d.path().join("missing")));
        let r = open_image(&out).unwrap();
        let run = read_run_info(&r, "out.rofs").unwrap().unwrap();
        assert_eq!(run.exec, "/prog");
        assert_eq!(run.args, Some(vec!["-x".to_owned()]));
        let ino = r.lookup_path(b"/srv/css/a.css").unwrap().unwrap();
        let mut buf = [0u8; 6];
        r.read_file(ino, 0, &mut buf).unwrap();
        assert_eq!(&buf, b"body{}");
        // The same inputs build the same bytes.
        let out2 = d.path().join("out2.rofs");
        build_image(&i, &out2, false).unwrap();
        assert_eq!(fs::read(&out).unwrap(), fs::read(&out2).unwrap());
        // Through the cache: built once, then found.
        let cache = d.path().join("cache");
        fs::create_dir(&cache).unwrap();
        let (f1, built1) = cached_image_in(&i, Some(&cache)).unwrap();
        let (f2, built2) = cached_image_in(&i, Some(&cache)).unwrap();
        let (f3, built3) = cached_image_in(&i, None).unwrap();
        assert!(built3 && matches!(f3, ImageFile::Temp(_)));
        assert_eq!(f1.path(), f2.path());
        assert!(f1.path().starts_with(&cache), "{}", f1.path().display());
        // Pruning removes the least recently used images beyond the limit.
        let old = cache.join("old.rofs");
        fs::write(&old, vec![0u8; 1000]).unwrap();
        fs::File::options()
            .append(true)
            .open(&old)
            .unwrap()
            .set_modified(std::time::UNIX_EPOCH)
            .unwrap();
        fs::write(cache.join("other.txt"), b"not an image").unwrap();
        assert_eq!(prune_cache(&cache, 1, f1.path()), 1);
        assert!(!old.exists() && f1.path().exists() && cache.join("other.txt").exists());
        assert!(built1 && !built2);
        assert_eq!(fs::read(f1.path()).unwrap(), fs::read(&out).unwrap());
    }
}
