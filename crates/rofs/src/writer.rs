//! The image writer (`std` feature): [`ImageBuilder`].
//!
//! Entries are added by guest path (directories, regular files from bytes
//! or host files, symlinks, hard links, device nodes, whole host trees);
//! missing parent directories are created with [`Meta::default_dir`].
//! [`ImageBuilder::write`] lays the image out deterministically: inode
//! numbers in depth-first order over byte-sorted names, file data in the
//! same order, strings deduplicated in first-use order, blocks
//! deduplicated by SHA-256 of their contents. Nothing comes from the
//! build machine's clock or from hash-map iteration order, so the same
//! tree gives the same bytes. Blocks are compressed on all CPUs in
//! batches; the output order does not depend on the thread count.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::string::{String, ToString};
use std::sync::Arc;
use std::vec;
use std::vec::Vec;

use sha2::{Digest, Sha256};

use crate::crc32c::crc32c;
use crate::error::StorageError;
use crate::format::{
    mode, BlockEntry, FileType, RawDirent, RawInode, Superblock, CODEC_LZ4, DEFAULT_BLOCK_LOG2,
    MAX_BLOCK_LOG2, MIN_BLOCK_LOG2, NAME_MAX, SUPERBLOCK_LEN, TARGET_MAX,
};
use crate::reader::Storage;

/// Owner, permissions and modification time of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Meta {
    /// Permission bits (`0o7777` mask: rwx, set-id, sticky).
    pub perm: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Modification time, seconds since the epoch.
    pub mtime_sec: i64,
    /// Nanoseconds of the modification time (< 1e9).
    pub mtime_nsec: u32,
}

impl Meta {
    /// `perm`, owned by root, modified at the epoch.
    pub fn new(perm: u32) -> Self {
        Meta {
            perm: perm & mode::PERM_MASK,
            uid: 0,
            gid: 0,
            mtime_sec: 0,
            mtime_nsec: 0,
        }
    }

    /// What implicitly created parent directories get: `0755`, root, epoch.
    pub fn default_dir() -> Self {
        Self::new(0o755)
    }

    /// A host file's permissions, owner and modification time.
    pub fn from_host(m: &std::fs::Metadata) -> Self {
        Meta {
            perm: m.mode() & mode::PERM_MASK,
            uid: m.uid(),
            gid: m.gid(),
            mtime_sec: m.mtime(),
            mtime_nsec: m.mtime_nsec().clamp(0, 999_999_999) as u32,
        }
    }

    /// The same with another owner.
    pub fn with_owner(self, uid: u32, gid: u32) -> Self {
        Meta { uid, gid, ..self }
    }
}

/// How hard the writer compresses (the reader does not care).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// LZ4 (lz4_flex, pure Rust): fastest build, larger image.
    Fast,
    /// LZ4 HC level 9 (liblz4): about 15% smaller, same decoding speed.
    #[default]
    High,
}

/// Why an image could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// A guest path is malformed (`.`/`..` component, NUL, name longer
    /// than 255 bytes, symlink target empty or too long).
    InvalidPath {
        /// The path.
        path: String,
        /// Why.
        reason: &'static str,
    },
    /// Something already exists at this guest path.
    Duplicate(String),
    /// A component of the guest path exists and is not a directory.
    NotADirectory(String),
    /// The target of a hard link does not exist.
    NotFound(String),
    /// A hard link to a directory was asked for.
    HardLinkToDirectory(String),
    /// A host file could not be read.
    Io {
        /// The host path (or `"output"`).
        path: String,
        /// The error.
        source: io::Error,
    },
    /// A host file changed size while the image was written.
    Changed(String),
    /// The tree is too large for the format (more than 2^32 - 2 inodes...).
    TooLarge(&'static str),
    /// The block size is not a power of two between 4 KiB and 1 MiB.
    BadBlockSize(u32),
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildError::InvalidPath { path, reason } => write!(f, "{path}: {reason}"),
            BuildError::Duplicate(p) => write!(f, "{p}: already in the image"),
            BuildError::NotADirectory(p) => write!(f, "{p}: a parent is not a directory"),
            BuildError::NotFound(p) => write!(f, "{p}: not in the image"),
            BuildError::HardLinkToDirectory(p) => {
                write!(f, "{p}: hard links to directories are not allowed")
            }
            BuildError::Io { path, source } => write!(f, "{path}: {source}"),
            BuildError::Changed(p) => write!(f, "{p}: file changed while the image was built"),
            BuildError::TooLarge(what) => write!(f, "image too large: {what}"),
            BuildError::BadBlockSize(b) => write!(
                f,
                "block size {b}: must be a power of two from 4 KiB to 1 MiB"
            ),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> BuildError + '_ {
    move |source| BuildError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// What [`ImageBuilder::write`] produced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Image length in bytes.
    pub image_len: u64,
    /// Sum of regular file sizes (each inode once).
    pub file_bytes: u64,
    /// Bytes in the data area.
    pub data_bytes: u64,
    /// Number of inodes.
    pub inodes: u32,
    /// Number of data blocks (holes included).
    pub blocks: u64,
    /// Blocks stored compressed.
    pub compressed_blocks: u64,
    /// Blocks left out as holes.
    pub holes: u64,
    /// Blocks that reuse an earlier identical block.
    pub shared_blocks: u64,
}

impl WriteStats {
    /// Image length over file bytes (0 for an image without file data).
    pub fn ratio(&self) -> f64 {
        if self.file_bytes == 0 {
            0.0
        } else {
            self.image_len as f64 / self.file_bytes as f64
        }
    }
}

#[derive(Debug, Clone)]
enum Source {
    Bytes(Arc<[u8]>),
    Host { path: PathBuf, len: u64 },
}

impl Source {
    fn len(&self) -> u64 {
        match self {
            Source::Bytes(b) => <[u8]>::len(b) as u64,
            Source::Host { len, .. } => *len,
        }
    }
}

#[derive(Debug, Clone)]
enum Kind {
    Dir {
        children: BTreeMap<Vec<u8>, usize>,
        explicit: bool,
        parent: usize,
    },
    File(Source),
    Symlink(Vec<u8>),
    Special(FileType, u64),
}

#[derive(Debug, Clone)]
struct Node {
    meta: Meta,
    kind: Kind,
}

/// Builds an image from guest paths (see the module docs).
#[derive(Debug, Clone)]
pub struct ImageBuilder {
    nodes: Vec<Node>,
    block_log2: u8,
    compression: Compression,
    host_owner: Option<(u32, u32)>,
    host_links: HashMap<(u64, u64), usize>,
    threads: usize,
}

impl Default for ImageBuilder {
    fn default() -> Self {
        Self::new()
    }
}

fn show(path: &[u8]) -> String {
    String::from_utf8_lossy(path).into_owned()
}

/// Splits a guest path into checked components (empty components are
/// skipped, so `a//b/` is `/a/b`).
fn components(path: &[u8]) -> Result<Vec<&[u8]>, BuildError> {
    let invalid = |reason| BuildError::InvalidPath {
        path: show(path),
        reason,
    };
    if path.contains(&0) {
        return Err(invalid("contains a NUL byte"));
    }
    let mut out = Vec::new();
    for c in path.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
        if c == b"." || c == b".." {
            return Err(invalid("contains a . or .. component"));
        }
        if c.len() > NAME_MAX {
            return Err(invalid("a name is longer than 255 bytes"));
        }
        out.push(c);
    }
    Ok(out)
}

impl ImageBuilder {
    /// An image with an empty root directory (`0755`, root, epoch).
    pub fn new() -> Self {
        ImageBuilder {
            nodes: vec![Node {
                meta: Meta::default_dir(),
                kind: Kind::Dir {
                    children: BTreeMap::new(),
                    explicit: false,
                    parent: 0,
                },
            }],
            block_log2: DEFAULT_BLOCK_LOG2,
            compression: Compression::default(),
            host_owner: None,
            host_links: HashMap::new(),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }

    /// Sets the block size (a power of two, 4 KiB to 1 MiB).
    pub fn set_block_size(&mut self, bytes: u32) -> Result<(), BuildError> {
        let log2 = bytes.trailing_zeros() as u8;
        if !bytes.is_power_of_two() || !(MIN_BLOCK_LOG2..=MAX_BLOCK_LOG2).contains(&log2) {
            return Err(BuildError::BadBlockSize(bytes));
        }
        self.block_log2 = log2;
        Ok(())
    }

    /// Sets the compression effort.
    pub fn set_compression(&mut self, c: Compression) {
        self.compression = c;
    }

    /// Compression threads (default: the CPUs available). The output does
    /// not depend on it.
    pub fn set_threads(&mut self, n: usize) {
        self.threads = n.max(1);
    }

    /// Owner given to entries added from the host from now on (`None`:
    /// keep the host's uid and gid).
    pub fn set_host_owner(&mut self, owner: Option<(u32, u32)>) {
        self.host_owner = owner;
    }

    /// Sets the root directory's metadata.
    pub fn set_root_meta(&mut self, meta: Meta) {
        self.nodes[0].meta = meta;
    }

    fn dir_children(&self, n: usize) -> Option<&BTreeMap<Vec<u8>, usize>> {
        match &self.nodes[n].kind {
            Kind::Dir { children, .. } => Some(children),
            _ => None,
        }
    }

    /// Walks to the parent directory of `path`, creating missing ones;
    /// returns it and the last name.
    fn parent_of<'p>(&mut self, path: &'p [u8]) -> Result<(usize, &'p [u8]), BuildError> {
        let comps = components(path)?;
        let Some((last, dirs)) = comps.split_last() else {
            return Err(BuildError::Duplicate("/".into()));
        };
        let mut cur = 0usize;
        for c in dirs {
            let next = match self.dir_children(cur).and_then(|ch| ch.get(*c)) {
                Some(&n) => n,
                None => self.insert(
                    cur,
                    c,
                    Node {
                        meta: Meta::default_dir(),
                        kind: Kind::Dir {
                            children: BTreeMap::new(),
                            explicit: false,
                            parent: cur,
                        },
                    },
                ),
            };
            if !matches!(self.nodes[next].kind, Kind::Dir { .. }) {
                return Err(BuildError::NotADirectory(show(path)));
            }
            cur = next;
        }
        Ok((cur, last))
    }

    fn insert(&mut self, dir: usize, name: &[u8], node: Node) -> usize {
        let id = self.nodes.len();
        self.nodes.push(node);
        self.link(dir, name, id);
        id
    }

    fn link(&mut self, dir: usize, name: &[u8], id: usize) {
        if let Kind::Dir { children, .. } = &mut self.nodes[dir].kind {
            children.insert(name.to_vec(), id);
        }
    }

    fn add_node(&mut self, path: &[u8], node: Node) -> Result<usize, BuildError> {
        let (dir, name) = self.parent_of(path)?;
        if self.dir_children(dir).is_some_and(|c| c.contains_key(name)) {
            return Err(BuildError::Duplicate(show(path)));
        }
        Ok(self.insert(dir, name, node))
    }

    /// Adds a directory (or sets the metadata of one created implicitly as
    /// a parent). `/` sets the root's metadata.
    pub fn add_dir(&mut self, path: impl AsRef<[u8]>, meta: Meta) -> Result<(), BuildError> {
        let path = path.as_ref();
        if components(path)?.is_empty() {
            self.nodes[0].meta = meta;
            return Ok(());
        }
        let (dir, name) = self.parent_of(path)?;
        if let Some(&n) = self.dir_children(dir).and_then(|c| c.get(name)) {
            return match &mut self.nodes[n].kind {
                Kind::Dir { explicit, .. } if !*explicit => {
                    *explicit = true;
                    self.nodes[n].meta = meta;
                    Ok(())
                }
                _ => Err(BuildError::Duplicate(show(path))),
            };
        }
        self.insert(
            dir,
            name,
            Node {
                meta,
                kind: Kind::Dir {
                    children: BTreeMap::new(),
                    explicit: true,
                    parent: dir,
                },
            },
        );
        Ok(())
    }

    /// Adds a regular file with these contents.
    pub fn add_file(
        &mut self,
        path: impl AsRef<[u8]>,
        meta: Meta,
        data: impl Into<Arc<[u8]>>,
    ) -> Result<(), BuildError> {
        let node = Node {
            meta,
            kind: Kind::File(Source::Bytes(data.into())),
        };
        self.add_node(path.as_ref(), node).map(drop)
    }

    /// Adds a regular file whose contents are read from `host` when the
    /// image is written (its size must not change until then).
    pub fn add_file_from_host(
        &mut self,
        path: impl AsRef<[u8]>,
        meta: Meta,
        host: impl AsRef<Path>,
    ) -> Result<(), BuildError> {
        let host = host.as_ref();
        let len = std::fs::metadata(host).map_err(io_err(host))?.len();
        let node = Node {
            meta,
            kind: Kind::File(Source::Host {
                path: host.to_path_buf(),
                len,
            }),
        };
        self.add_node(path.as_ref(), node).map(drop)
    }

    /// Adds a symbolic link to `target` (1 to 4095 bytes, stored as given).
    pub fn add_symlink(
        &mut self,
        path: impl AsRef<[u8]>,
        meta: Meta,
        target: impl AsRef<[u8]>,
    ) -> Result<(), BuildError> {
        let (path, target) = (path.as_ref(), target.as_ref());
        if target.is_empty() || target.len() > TARGET_MAX || target.contains(&0) {
            return Err(BuildError::InvalidPath {
                path: show(path),
                reason: "symlink target empty, too long or with a NUL byte",
            });
        }
        let node = Node {
            meta,
            kind: Kind::Symlink(target.to_vec()),
        };
        self.add_node(path, node).map(drop)
    }

    /// Adds a device node, FIFO or socket (`kind` must be one of those;
    /// `rdev` in Linux `dev_t` encoding, for devices).
    pub fn add_special(
        &mut self,
        path: impl AsRef<[u8]>,
        meta: Meta,
        kind: FileType,
        rdev: u64,
    ) -> Result<(), BuildError> {
        let path = path.as_ref();
        if matches!(
            kind,
            FileType::Regular | FileType::Directory | FileType::Symlink
        ) {
            return Err(BuildError::InvalidPath {
                path: show(path),
                reason: "not a special file type",
            });
        }
        let rdev = if matches!(kind, FileType::CharDevice | FileType::BlockDevice) {
            rdev
        } else {
            0
        };
        let node = Node {
            meta,
            kind: Kind::Special(kind, rdev),
        };
        self.add_node(path, node).map(drop)
    }

    fn find(&self, path: &[u8]) -> Result<Option<usize>, BuildError> {
        let mut cur = 0usize;
        for c in components(path)? {
            match self.dir_children(cur).and_then(|ch| ch.get(c)) {
                Some(&n) => cur = n,
                None => return Ok(None),
            }
        }
        Ok(Some(cur))
    }

    /// Whether something exists at `path` in the image being built.
    pub fn contains(&self, path: impl AsRef<[u8]>) -> bool {
        matches!(self.find(path.as_ref()), Ok(Some(_)))
    }

    /// Adds `path` as another name (hard link) of the non-directory at
    /// `existing`.
    pub fn add_hardlink(
        &mut self,
        path: impl AsRef<[u8]>,
        existing: impl AsRef<[u8]>,
    ) -> Result<(), BuildError> {
        let (path, existing) = (path.as_ref(), existing.as_ref());
        let target = self
            .find(existing)?
            .ok_or_else(|| BuildError::NotFound(show(existing)))?;
        if matches!(self.nodes[target].kind, Kind::Dir { .. }) {
            return Err(BuildError::HardLinkToDirectory(show(existing)));
        }
        let (dir, name) = self.parent_of(path)?;
        if self.dir_children(dir).is_some_and(|c| c.contains_key(name)) {
            return Err(BuildError::Duplicate(show(path)));
        }
        self.link(dir, name, target);
        Ok(())
    }

    /// Adds the host file, symlink, special file or whole directory tree
    /// at `host` as `guest`, with the host's metadata (see
    /// [`ImageBuilder::set_host_owner`]). `host` itself is followed if it
    /// is a symlink; symlinks inside a tree are kept as symlinks. Files
    /// that are hard links of each other on the host (same device and
    /// inode) become hard links in the image. Directory contents are
    /// visited in byte order of their names.
    pub fn add_host_path(
        &mut self,
        guest: impl AsRef<[u8]>,
        host: impl AsRef<Path>,
    ) -> Result<(), BuildError> {
        let host = host.as_ref();
        let meta = std::fs::metadata(host).map_err(io_err(host))?;
        self.add_host_entry(guest.as_ref(), host, &meta)
    }

    fn host_meta(&self, m: &std::fs::Metadata) -> Meta {
        let meta = Meta::from_host(m);
        match self.host_owner {
            Some((u, g)) => meta.with_owner(u, g),
            None => meta,
        }
    }

    fn add_host_entry(
        &mut self,
        guest: &[u8],
        host: &Path,
        m: &std::fs::Metadata,
    ) -> Result<(), BuildError> {
        let meta = self.host_meta(m);
        let ft = m.file_type();
        if ft.is_dir() {
            self.add_dir(guest, meta)?;
            let mut entries: Vec<(Vec<u8>, PathBuf)> = std::fs::read_dir(host)
                .map_err(io_err(host))?
                .map(|e| {
                    e.map(|e| (e.file_name().as_bytes().to_vec(), e.path()))
                        .map_err(io_err(host))
                })
                .collect::<Result<_, _>>()?;
            entries.sort();
            for (name, path) in entries {
                let mut g = guest.to_vec();
                if g.last() != Some(&b'/') {
                    g.push(b'/');
                }
                g.extend_from_slice(&name);
                let cm = std::fs::symlink_metadata(&path).map_err(io_err(&path))?;
                self.add_host_entry(&g, &path, &cm)?;
            }
            return Ok(());
        }
        let key = (m.dev(), m.ino());
        if m.nlink() > 1 {
            if let Some(&node) = self.host_links.get(&key) {
                let (dir, name) = self.parent_of(guest)?;
                if self.dir_children(dir).is_some_and(|c| c.contains_key(name)) {
                    return Err(BuildError::Duplicate(show(guest)));
                }
                self.link(dir, name, node);
                return Ok(());
            }
        }
        let kind = if ft.is_file() {
            Kind::File(Source::Host {
                path: host.to_path_buf(),
                len: m.len(),
            })
        } else if ft.is_symlink() {
            let t = std::fs::read_link(host).map_err(io_err(host))?;
            let t = t.as_os_str().as_bytes();
            if t.is_empty() || t.len() > TARGET_MAX {
                return Err(BuildError::InvalidPath {
                    path: host.display().to_string(),
                    reason: "symlink target too long",
                });
            }
            Kind::Symlink(t.to_vec())
        } else {
            let t = if ft.is_char_device() {
                FileType::CharDevice
            } else if ft.is_block_device() {
                FileType::BlockDevice
            } else if ft.is_fifo() {
                FileType::Fifo
            } else {
                FileType::Socket
            };
            let rdev = if ft.is_char_device() || ft.is_block_device() {
                m.rdev()
            } else {
                0
            };
            Kind::Special(t, rdev)
        };
        let id = self.add_node(guest, Node { meta, kind })?;
        if m.nlink() > 1 {
            self.host_links.insert(key, id);
        }
        Ok(())
    }

    /// Sum of the sizes of the regular files added so far (each once).
    pub fn file_bytes(&self) -> u64 {
        self.nodes
            .iter()
            .map(|n| match &n.kind {
                Kind::File(s) => s.len(),
                _ => 0,
            })
            .sum()
    }

    /// Writes the image to `out` (from its current position).
    pub fn write<W: Write + Seek>(&self, out: &mut W) -> Result<WriteStats, BuildError> {
        self.write_with_progress(out, |_, _| {})
    }

    /// The image as bytes.
    pub fn to_vec(&self) -> Result<Vec<u8>, BuildError> {
        let mut c = io::Cursor::new(Vec::new());
        self.write(&mut c)?;
        Ok(c.into_inner())
    }

    /// Writes the image, calling `progress(done, total)` with file bytes
    /// processed so far and in all.
    pub fn write_with_progress<W: Write + Seek>(
        &self,
        out: &mut W,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<WriteStats, BuildError> {
        let out_err = |source| BuildError::Io {
            path: "output".into(),
            source,
        };
        // 1. Inode numbers: depth-first, children in byte order.
        let mut ino_of = vec![0u32; self.nodes.len()];
        let mut order: Vec<usize> = Vec::new();
        let mut links = vec![0u32; self.nodes.len()];
        let mut stack = vec![0usize];
        while let Some(n) = stack.pop() {
            if ino_of[n] != 0 {
                continue;
            }
            if order.len() >= (u32::MAX - 1) as usize {
                return Err(BuildError::TooLarge("more than 2^32 - 2 inodes"));
            }
            order.push(n);
            ino_of[n] = order.len() as u32;
            if let Some(ch) = self.dir_children(n) {
                for &c in ch.values().rev() {
                    links[c] += 1;
                    stack.push(c);
                }
            }
        }

        // 2. Strings (deduplicated, first-use order) and directory entries.
        let mut strings: Vec<u8> = Vec::new();
        let mut string_at: HashMap<Vec<u8>, u64> = HashMap::new();
        let mut intern = |s: &[u8], strings: &mut Vec<u8>| -> u64 {
            if let Some(&off) = string_at.get(s) {
                return off;
            }
            let off = strings.len() as u64;
            strings.extend_from_slice(s);
            string_at.insert(s.to_vec(), off);
            off
        };
        let mut dirents: Vec<u8> = Vec::new();
        let mut raw: Vec<RawInode> = Vec::with_capacity(order.len());
        let mut ndirents: u64 = 0;
        let mut nblocks: u64 = 0;
        let bs = 1u64 << self.block_log2;
        let mut file_bytes = 0u64;
        for &n in &order {
            let node = &self.nodes[n];
            let mut r = RawInode {
                uid: node.meta.uid,
                gid: node.meta.gid,
                mtime_sec: node.meta.mtime_sec,
                mtime_nsec: node.meta.mtime_nsec.min(999_999_999),
                nlink: links[n].max(1),
                ..Default::default()
            };
            let perm = node.meta.perm & mode::PERM_MASK;
            match &node.kind {
                Kind::Dir {
                    children, parent, ..
                } => {
                    r.mode = mode::S_IFDIR | perm;
                    let subdirs = children
                        .values()
                        .filter(|&&c| matches!(self.nodes[c].kind, Kind::Dir { .. }))
                        .count() as u32;
                    r.nlink = 2 + subdirs;
                    r.parent = ino_of[*parent];
                    r.data = ndirents;
                    r.count = children.len() as u32;
                    r.size = children.len() as u64;
                    for (name, &c) in children {
                        let off = intern(name, &mut strings);
                        let name_off = u32::try_from(off)
                            .map_err(|_| BuildError::TooLarge("names past 4 GiB"))?;
                        let index = u32::try_from(ndirents)
                            .ok()
                            .filter(|&i| i < u32::MAX)
                            .ok_or(BuildError::TooLarge("more than 2^32 - 1 entries"))?;
                        let mut d = RawDirent {
                            ino: ino_of[c],
                            name_off,
                            name_len: name.len() as u16,
                            dtype: self.file_type(c).dtype(),
                            crc: 0,
                        };
                        d.crc = d.checksum(index, name);
                        dirents.extend_from_slice(&d.encode());
                        ndirents += 1;
                    }
                }
                Kind::File(src) => {
                    r.mode = mode::S_IFREG | perm;
                    r.size = src.len();
                    let blocks = r.size.div_ceil(bs);
                    r.count = u32::try_from(blocks)
                        .map_err(|_| BuildError::TooLarge("a file with 2^32 blocks"))?;
                    r.data = nblocks;
                    nblocks += blocks;
                    file_bytes += r.size;
                }
                Kind::Symlink(t) => {
                    r.mode = mode::S_IFLNK | 0o777;
                    r.data = intern(t, &mut strings);
                    r.size = t.len() as u64;
                    r.aux = crc32c(t);
                }
                Kind::Special(t, rdev) => {
                    r.mode = t.mode_bits() | perm;
                    r.data = *rdev;
                }
            }
            raw.push(r);
        }

        // 3. Data: blocks in inode order, compressed in parallel batches.
        let base = out.stream_position().map_err(out_err)?;
        out.write_all(&[0u8; SUPERBLOCK_LEN]).map_err(out_err)?;
        let data_off = SUPERBLOCK_LEN as u64;
        let mut w = DataWriter {
            out,
            pos: data_off,
            entries: Vec::with_capacity(nblocks as usize * 16),
            seen: HashMap::new(),
            stats: WriteStats::default(),
        };
        let mut batch: Vec<Vec<u8>> = Vec::new();
        let mut batch_bytes = 0usize;
        let batch_limit = (4usize << 20).max(bs as usize * self.threads * 2);
        let mut done = 0u64;
        progress(0, file_bytes);
        for &n in &order {
            let Kind::File(src) = &self.nodes[n].kind else {
                continue;
            };
            let mut reader = SourceReader::open(src)?;
            let len = src.len();
            let mut pos = 0u64;
            while pos < len {
                let take = (len - pos).min(bs) as usize;
                let mut buf = vec![0u8; take];
                reader.read_exact(&mut buf)?;
                pos += take as u64;
                batch_bytes += take;
                batch.push(buf);
                if batch_bytes >= batch_limit {
                    w.flush_batch(&mut batch, self.compression, self.threads)?;
                    done += batch_bytes as u64;
                    batch_bytes = 0;
                    progress(done, file_bytes);
                }
            }
            reader.finish()?;
        }
        w.flush_batch(&mut batch, self.compression, self.threads)?;
        progress(file_bytes, file_bytes);
        let DataWriter {
            out,
            pos,
            entries,
            mut stats,
            ..
        } = w;

        // 4. Tables after the data.
        let inode_off = pos;
        let mut tables: Vec<u8> = Vec::with_capacity(raw.len() * 64);
        for (i, r) in raw.iter().enumerate() {
            tables.extend_from_slice(&r.encode(i as u32 + 1));
        }
        let dirent_off = inode_off + tables.len() as u64;
        tables.extend_from_slice(&dirents);
        let blockmap_off = inode_off + tables.len() as u64;
        tables.extend_from_slice(&entries);
        let strings_off = inode_off + tables.len() as u64;
        tables.extend_from_slice(&strings);
        out.write_all(&tables).map_err(out_err)?;
        let image_len = inode_off + tables.len() as u64;
        let sb = Superblock {
            block_log2: self.block_log2,
            codec: CODEC_LZ4,
            compat: 0,
            incompat: 0,
            image_len,
            inode_off,
            inode_count: raw.len() as u32,
            root_ino: 1,
            dirent_off,
            dirent_count: ndirents as u32,
            blockmap_off,
            blockmap_count: nblocks,
            strings_off,
            strings_len: strings.len() as u64,
            data_off,
            data_len: inode_off - data_off,
            file_bytes,
        };
        out.seek(SeekFrom::Start(base)).map_err(out_err)?;
        out.write_all(&sb.encode()).map_err(out_err)?;
        out.seek(SeekFrom::Start(base + image_len))
            .map_err(out_err)?;
        out.flush().map_err(out_err)?;
        stats.image_len = image_len;
        stats.file_bytes = file_bytes;
        stats.data_bytes = inode_off - data_off;
        stats.inodes = raw.len() as u32;
        stats.blocks = nblocks;
        Ok(stats)
    }

    fn file_type(&self, n: usize) -> FileType {
        match &self.nodes[n].kind {
            Kind::Dir { .. } => FileType::Directory,
            Kind::File(_) => FileType::Regular,
            Kind::Symlink(_) => FileType::Symlink,
            Kind::Special(t, _) => *t,
        }
    }
}

/// Reads a file's contents and checks its length stays as recorded.
enum SourceReader<'a> {
    Bytes(&'a [u8]),
    Host {
        file: File,
        path: &'a Path,
        off: u64,
        len: u64,
    },
}

impl<'a> SourceReader<'a> {
    fn open(src: &'a Source) -> Result<Self, BuildError> {
        Ok(match src {
            Source::Bytes(b) => SourceReader::Bytes(b),
            Source::Host { path, len } => {
                let file = File::open(path).map_err(io_err(path))?;
                let now = file.metadata().map_err(io_err(path))?.len();
                if now != *len {
                    return Err(BuildError::Changed(path.display().to_string()));
                }
                SourceReader::Host {
                    file,
                    path,
                    off: 0,
                    len: *len,
                }
            }
        })
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), BuildError> {
        match self {
            SourceReader::Bytes(b) => {
                let (head, rest) = b.split_at(buf.len());
                buf.copy_from_slice(head);
                *b = rest;
                Ok(())
            }
            SourceReader::Host {
                file, path, off, ..
            } => {
                file.read_exact_at(buf, *off).map_err(|e| {
                    if e.kind() == io::ErrorKind::UnexpectedEof {
                        BuildError::Changed(path.display().to_string())
                    } else {
                        io_err(path)(e)
                    }
                })?;
                *off += buf.len() as u64;
                Ok(())
            }
        }
    }

    /// Checks the file did not grow.
    fn finish(self) -> Result<(), BuildError> {
        if let SourceReader::Host {
            mut file,
            path,
            len,
            ..
        } = self
        {
            file.seek(SeekFrom::Start(len)).map_err(io_err(path))?;
            let mut one = [0u8; 1];
            if file.read(&mut one).map_err(io_err(path))? != 0 {
                return Err(BuildError::Changed(path.display().to_string()));
            }
        }
        Ok(())
    }
}

/// One block after the parallel stage.
enum Prepared {
    Hole,
    Data {
        digest: [u8; 32],
        /// Compressed bytes when smaller than the block; `None`: store raw.
        compressed: Option<Vec<u8>>,
    },
}

fn prepare(block: &[u8], c: Compression) -> Prepared {
    if block.iter().all(|&b| b == 0) {
        return Prepared::Hole;
    }
    let digest: [u8; 32] = Sha256::digest(block).into();
    let compressed = match c {
        Compression::Fast => lz4_flex::block::compress(block),
        Compression::High => lz4::block::compress(
            block,
            Some(lz4::block::CompressionMode::HIGHCOMPRESSION(9)),
            false,
        )
        .unwrap_or_else(|_| lz4_flex::block::compress(block)),
    };
    Prepared::Data {
        digest,
        compressed: (compressed.len() < block.len()).then_some(compressed),
    }
}

struct DataWriter<'w, W> {
    out: &'w mut W,
    pos: u64,
    entries: Vec<u8>,
    seen: HashMap<[u8; 32], BlockEntry>,
    stats: WriteStats,
}

impl<W: Write> DataWriter<'_, W> {
    fn flush_batch(
        &mut self,
        batch: &mut Vec<Vec<u8>>,
        c: Compression,
        threads: usize,
    ) -> Result<(), BuildError> {
        if batch.is_empty() {
            return Ok(());
        }
        let prepared: Vec<Prepared> = if threads <= 1 || batch.len() == 1 {
            batch.iter().map(|b| prepare(b, c)).collect()
        } else {
            let per = batch.len().div_ceil(threads);
            std::thread::scope(|s| {
                let handles: Vec<_> = batch
                    .chunks(per)
                    .map(|chunk| s.spawn(move || chunk.iter().map(|b| prepare(b, c)).collect()))
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h: std::thread::ScopedJoinHandle<'_, Vec<Prepared>>| {
                        h.join().unwrap_or_default()
                    })
                    .collect()
            })
        };
        if prepared.len() != batch.len() {
            return Err(BuildError::Io {
                path: "output".into(),
                source: io::Error::other("a compression thread failed"),
            });
        }
        for (block, p) in batch.iter().zip(prepared) {
            let entry = match p {
                Prepared::Hole => {
                    self.stats.holes += 1;
                    BlockEntry::HOLE
                }
                Prepared::Data { digest, compressed } => {
                    if let Some(e) = self.seen.get(&digest) {
                        self.stats.shared_blocks += 1;
                        *e
                    } else {
                        let stored: &[u8] = match &compressed {
                            Some(cb) => {
                                self.stats.compressed_blocks += 1;
                                cb
                            }
                            None => block,
                        };
                        let e = BlockEntry {
                            offset: self.pos,
                            stored_len: stored.len() as u32,
                            crc: crc32c(stored),
                        };
                        self.out
                            .write_all(stored)
                            .map_err(|source| BuildError::Io {
                                path: "output".into(),
                                source,
                            })?;
                        self.pos += stored.len() as u64;
                        self.seen.insert(digest, e);
                        e
                    }
                }
            };
            self.entries.extend_from_slice(&entry.encode());
        }
        batch.clear();
        Ok(())
    }
}

/// A host image file as [`Storage`] (positioned reads, no shared cursor).
#[derive(Debug)]
pub struct FileStorage {
    file: File,
    len: u64,
}

impl FileStorage {
    /// Opens `path` read-only.
    pub fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        Ok(FileStorage { file, len })
    }
}

impl Storage for FileStorage {
    fn read_at(&self, off: u64, buf: &mut [u8]) -> Result<(), StorageError> {
        let end = off
            .checked_add(buf.len() as u64)
            .ok_or(StorageError::OutOfBounds)?;
        if end > self.len {
            return Err(StorageError::OutOfBounds);
        }
        self.file
            .read_exact_at(buf, off)
            .map_err(|_| StorageError::Io)
    }
    fn len(&self) -> u64 {
        self.len
    }
}
