//! File systems: the mount table, the root file system, RAM file systems
//! (/tmp and `--tmpfs` mounts), /dev, /proc and the bits of /sys that libcs
//! read.
//!
//! The root is the program's read-only image (rofs) when the host gave one,
//! else an empty RAM file system; /dev, /proc, /sys and /tmp are mounted on
//! directories of the root (created in the RAM root, expected in images).

pub(crate) mod devfs;
pub(crate) mod procfs;
pub(crate) mod rofs;

use alloc::format;
use alloc::sync::Arc;
use alloc::vec::Vec;

use oxv_abi::errno::Errno;
use oxv_hal::sync::Once;
use oxv_vfs::node::SYSFS_MAGIC;
use oxv_vfs::ramfs::{MemoryBudget, RamFs, RamFsConfig};
use oxv_vfs::synthetic::SynthFs;
use oxv_vfs::{Clock, InodeRef, MountTable, Resolver, Timespec};

/// The file-system state of the VM.
pub(crate) struct Vfs {
    pub(crate) mounts: MountTable,
    root: InodeRef,
}

static VFS: Once<Vfs> = Once::new();

/// The VFS, once [`init`] ran.
pub(crate) fn vfs() -> &'static Vfs {
    VFS.get().expect("VFS not initialised")
}

impl Vfs {
    /// The root directory.
    pub(crate) fn root(&self) -> &InodeRef {
        &self.root
    }

    /// A path resolver over the root and the mounts.
    pub(crate) fn resolver(&self) -> Resolver<'_> {
        Resolver::new(&self.mounts, &self.root)
    }
}

/// The realtime clock as the VFS sees it (file times).
pub(crate) fn now() -> Timespec {
    let ns = crate::sched::clock::realtime_ns();
    Timespec {
        sec: ns.div_euclid(1_000_000_000),
        nsec: ns.rem_euclid(1_000_000_000) as u32,
    }
}

struct KernelClock;

impl Clock for KernelClock {
    fn now(&self) -> Timespec {
        now()
    }
}

pub(crate) fn clock() -> Arc<dyn Clock> {
    Arc::new(KernelClock)
}

/// RAM file systems take pages only while the frame allocator keeps a
/// reserve for the kernel, so a full /tmp is ENOSPC, never a panic.
struct FrameBudget;

/// Frames kept back from RAM file systems (1 MiB).
const KERNEL_RESERVE_PAGES: usize = 256;

impl MemoryBudget for FrameBudget {
    fn reserve(&self, pages: usize) -> bool {
        let (free, _) = crate::mm::frames::counts();
        free > pages + KERNEL_RESERVE_PAGES
    }

    fn release(&self, _pages: usize) {}
}

/// A RAM file system; without a size, half of RAM, as Linux's tmpfs.
fn ramfs(max_bytes: Option<u64>) -> RamFs {
    let max_bytes = max_bytes.or_else(|| Some(crate::mm::frames::counts().1 as u64 * 4096 / 2));
    RamFs::new(RamFsConfig {
        max_bytes,
        budget: Arc::new(FrameBudget),
        clock: clock(),
        ..RamFsConfig::default()
    })
}

/// Parses a `--tmpfs` option value `PATH[:BYTES]`.
fn parse_tmpfs(v: &[u8]) -> Option<(Vec<u8>, Option<u64>)> {
    let s = core::str::from_utf8(v).ok()?;
    let (path, size) = match s.rsplit_once(':') {
        Some((p, n)) => (p, Some(n.parse::<u64>().ok()?)),
        None => (s, None),
    };
    path.starts_with('/')
        .then(|| (path.as_bytes().to_vec(), size))
}

fn ensure_dir(r: &Resolver<'_>, root: &InodeRef, path: &[u8]) -> Result<InodeRef, Errno> {
    // mkdir -p
    let mut cur = Vec::new();
    for comp in path.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
        cur.push(b'/');
        cur.extend_from_slice(comp);
        match r.resolve(root, &cur, true) {
            Ok(_) => {}
            Err(Errno::ENOENT) => {
                r.mkdir(root, &cur, 0o755, 0, 0)?;
            }
            Err(e) => return Err(e),
        }
    }
    r.resolve(root, path, true)
}

fn mount_on(
    v: &Vfs,
    path: &[u8],
    root: InodeRef,
    source: &str,
    fstype: &str,
    options: &str,
    ro: bool,
) {
    let r = v.resolver();
    let mp = match ensure_dir(&r, &v.root, path) {
        Ok(m) => m,
        Err(e) => {
            crate::klog!(
                "fs: cannot mount {fstype} on {}: {e}",
                alloc::string::String::from_utf8_lossy(path)
            );
            return;
        }
    };
    let target = alloc::string::String::from_utf8_lossy(path);
    if let Err(e) = v
        .mounts
        .mount(&mp, &target, root, source, fstype, options, ro)
    {
        crate::klog!("fs: mount {fstype} on {target}: {e}");
    }
}

/// Builds the file tree: `root` (the image, or None for a RAM root), then
/// /dev, /proc, /sys, /tmp and the `--tmpfs` mounts from `tmpfs_opts`.
pub(crate) fn init<'a>(root: Option<(InodeRef, &str)>, tmpfs_opts: impl Iterator<Item = &'a [u8]>) {
    let (root, source, fstype, ro) = match root {
        Some((r, src)) => (r, src, "rofs", true),
        None => (ramfs(None).root(), "rootfs", "tmpfs", false),
    };
    crate::mm::frames::set_reclaim(rofs::shrink_caches);
    let mounts = MountTable::new(root.clone(), source, fstype, "", ro);
    VFS.set(Vfs { mounts, root });
    let v = vfs();
    mount_on(
        v,
        b"/dev",
        devfs::build(),
        "devtmpfs",
        "devtmpfs",
        "mode=755",
        false,
    );
    mount_on(
        v,
        b"/dev/shm",
        ramfs(None).root(),
        "tmpfs",
        "tmpfs",
        "",
        false,
    );
    mount_on(v, b"/proc", procfs::build(), "proc", "proc", "", false);
    mount_on(v, b"/sys", sysfs(), "sysfs", "sysfs", "", true);
    // /tmp first (unless a --tmpfs replaces it), so mounts below it work.
    let opts: Vec<(Vec<u8>, Option<u64>)> = tmpfs_opts
        .filter_map(|o| {
            let p = parse_tmpfs(o);
            if p.is_none() {
                crate::klog!(
                    "fs: bad tmpfs option {:?}",
                    alloc::string::String::from_utf8_lossy(o)
                );
            }
            p
        })
        .collect();
    if !opts.iter().any(|(p, _)| p == b"/tmp") {
        mount_on(v, b"/tmp", ramfs(None).root(), "tmpfs", "tmpfs", "", false);
    }
    for (path, size) in opts {
        let options = size.map_or(alloc::string::String::new(), |s| {
            format!("size={}k", s / 1024)
        });
        mount_on(
            v,
            &path,
            ramfs(size).root(),
            "tmpfs",
            "tmpfs",
            &options,
            false,
        );
    }
}

/// The canonical absolute path of `path` (relative to the absolute
/// directory path `base`): symlinks expanded, `.` and `..` applied, as
/// getcwd and /proc/self/fd report paths. Fails like a lookup would.
pub(crate) fn canonical(base: &[u8], path: &[u8]) -> Result<Vec<u8>, Errno> {
    let v = vfs();
    let r = v.resolver();
    let mut todo: alloc::collections::VecDeque<Vec<u8>> = alloc::collections::VecDeque::new();
    let push_all = |todo: &mut alloc::collections::VecDeque<Vec<u8>>, p: &[u8], front: bool| {
        let comps: Vec<Vec<u8>> = p
            .split(|&b| b == b'/')
            .filter(|c| !c.is_empty())
            .map(|c| c.to_vec())
            .collect();
        if front {
            for c in comps.into_iter().rev() {
                todo.push_front(c);
            }
        } else {
            todo.extend(comps);
        }
    };
    if path.first() != Some(&b'/') {
        push_all(&mut todo, base, false);
    }
    push_all(&mut todo, path, false);
    let join = |out: &[Vec<u8>]| {
        let mut p = Vec::new();
        for c in out {
            p.push(b'/');
            p.extend_from_slice(c);
        }
        if p.is_empty() {
            p.push(b'/');
        }
        p
    };
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut links = 0;
    while let Some(c) = todo.pop_front() {
        match c.as_slice() {
            b"." => continue,
            b".." => {
                out.pop();
                continue;
            }
            _ => {}
        }
        out.push(c);
        let node = r.resolve(&v.root, &join(&out), false)?;
        if node.file_type() == oxv_vfs::FileType::Symlink {
            links += 1;
            if links > oxv_vfs::node::SYMLOOP_MAX {
                return Err(Errno::ELOOP);
            }
            let target = node.readlink()?;
            out.pop();
            if target.first() == Some(&b'/') {
                out.clear();
            }
            push_all(&mut todo, &target, true);
        }
    }
    Ok(join(&out))
}

/// A file's pages for demand paging (the program's segments).
struct InodePages(InodeRef);

impl crate::mm::user_space::PageSource for InodePages {
    fn read_page(&self, off: u64, buf: &mut [u8]) -> Result<usize, ()> {
        let mut done = 0;
        while done < buf.len() {
            match self.0.read_at(off + done as u64, &mut buf[done..]) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(_) => return Err(()),
            }
        }
        Ok(done)
    }
}

/// Bytes read up front to parse a program's headers.
const PROGRAM_HEAD: usize = 64 * 1024;

/// The program at `path`, for the loader: its first bytes (headers) and
/// its pages on demand.
pub(crate) fn open_program(path: &[u8]) -> Result<crate::linux::exec::Program<'static>, Errno> {
    let v = vfs();
    let node = v.resolver().resolve(&v.root, path, true)?;
    if node.file_type() != oxv_vfs::FileType::Regular {
        return Err(Errno::EACCES);
    }
    let len = node.metadata().size;
    let mut head = alloc::vec![0u8; (len as usize).min(PROGRAM_HEAD)];
    let n = crate::mm::user_space::PageSource::read_page(&InodePages(node.clone()), 0, &mut head)
        .map_err(|_| Errno::EIO)?;
    head.truncate(n);
    Ok(crate::linux::exec::Program::File {
        head,
        len,
        source: Arc::new(InodePages(node)),
    })
}

/// The few /sys files C libraries and runtimes read to count CPUs.
fn sysfs() -> InodeRef {
    let fs = SynthFs::new(SYSFS_MAGIC, clock());
    let cpus = || {
        let n = crate::sched::online_mask().count_ones().max(1);
        if n == 1 {
            b"0\n".to_vec()
        } else {
            format!("0-{}\n", n - 1).into_bytes()
        }
    };
    let cpu = fs.dir_with(
        0o755,
        [
            (b"online".to_vec(), fs.file(cpus) as InodeRef),
            (b"possible".to_vec(), fs.file(cpus) as InodeRef),
            (b"present".to_vec(), fs.file(cpus) as InodeRef),
        ],
    );
    let system = fs.dir_with(0o755, [(b"cpu".to_vec(), cpu as InodeRef)]);
    let devices = fs.dir_with(0o755, [(b"system".to_vec(), system as InodeRef)]);
    fs.dir_with(0o555, [(b"devices".to_vec(), devices as InodeRef)])
}
