//! Synthetic trees (`/dev`, `/proc` style): directories with fixed and
//! dynamic entries, generated files with per-open snapshots, computed
//! symlinks, character devices, and their Linux-like refusals.

mod common;

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::{names, same, World};
use oxv_vfs::node::{
    makedev, read_all, EpochClock, FileType, O_CREAT, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, POLLIN,
    PROC_SUPER_MAGIC, S_IFCHR,
};
use oxv_vfs::synthetic::{CharDevice, FullDevice, NullDevice, SynthFs, ZeroDevice};
use oxv_vfs::{Errno, Inode, InodeRef, OpenRequest, Timespec};

fn proc_fs() -> Arc<SynthFs> {
    SynthFs::new(PROC_SUPER_MAGIC, Arc::new(EpochClock))
}

fn open(w: &World, path: &str, flags: u32) -> Result<oxv_vfs::Opened, Errno> {
    w.r().open(
        &w.root,
        path.as_bytes(),
        OpenRequest {
            flags,
            mode: 0o644,
            uid: 0,
            gid: 0,
        },
    )
}

/// /proc with a `version` file, a `self` symlink to the current pid, and
/// one dynamic directory per pid.
fn mount_proc(w: &World, pid: Arc<AtomicU32>) -> Arc<SynthFs> {
    let fs = proc_fs();
    let root = fs.dir(0o555);
    root.insert(b"version", fs.file(|| b"oxv 0.1\n".to_vec()));
    let p = pid.clone();
    root.insert(
        b"self",
        fs.symlink(move || p.load(Ordering::SeqCst).to_string().into_bytes()),
    );
    let pfs = fs.clone();
    let pids = pid.clone();
    root.set_dynamic(move || {
        let me = pids.load(Ordering::SeqCst);
        [1, me]
            .into_iter()
            .map(|n| {
                let d = pfs.dir(0o555);
                d.insert(
                    b"status",
                    pfs.file(move || format!("Pid:\t{n}\n").into_bytes()),
                );
                (n.to_string().into_bytes(), d as InodeRef)
            })
            .collect()
    });
    w.mkdir("/proc").unwrap();
    let mp = w.get("/proc").unwrap();
    w.mounts
        .mount(&mp, "/proc", root, "proc", "proc", "", false)
        .unwrap();
    fs
}

#[test]
fn proc_like_tree_through_the_resolver() {
    let w = World::new();
    let pid = Arc::new(AtomicU32::new(42));
    let fs = mount_proc(&w, pid.clone());
    assert_eq!(w.read("/proc/version").unwrap(), b"oxv 0.1\n");
    assert_eq!(w.read("/proc/self/status").unwrap(), b"Pid:\t42\n");
    assert_eq!(w.read("/proc/1/status").unwrap(), b"Pid:\t1\n");
    assert_eq!(w.r().readlink(&w.root, b"/proc/self").unwrap(), b"42");
    pid.store(7, Ordering::SeqCst);
    assert_eq!(w.read("/proc/self/status").unwrap(), b"Pid:\t7\n");
    assert_eq!(w.get("/proc/42").err(), Some(Errno::ENOENT));
    // Listing merges fixed and dynamic entries in name order.
    assert_eq!(w.names("/proc"), [".", "..", "1", "7", "self", "version"]);
    // `..` of a dynamic directory is its parent; of the root, the mountpoint's parent.
    assert!(same(
        &w.get("/proc/self/..").unwrap(),
        &w.get("/proc").unwrap()
    ));
    assert!(same(&w.get("/proc/..").unwrap(), &w.root));
    let st = w.get("/proc/version").unwrap().statfs();
    assert_eq!((st.fs_type, st.fsid), (PROC_SUPER_MAGIC, fs.fs_id()));
    let m = w.get("/proc/version").unwrap().metadata();
    assert_eq!((m.mode, m.size, m.dev), (0o100444, 0, fs.fs_id()));
    assert_eq!(w.get("/proc").unwrap().metadata().mode, 0o040555);
    assert_eq!(w.lget("/proc/self").unwrap().metadata().size, 1);
}

#[test]
fn read_only_like_procfs() {
    let w = World::new();
    mount_proc(&w, Arc::new(AtomicU32::new(1)));
    let r = w.r();
    let proc_dir = w.get("/proc").unwrap();
    assert_eq!(
        open(&w, "/proc/new", O_CREAT | O_WRONLY).err(),
        Some(Errno::EACCES)
    );
    assert_eq!(w.mkdir("/proc/d").err(), Some(Errno::EPERM));
    assert_eq!(w.mkdir("/proc/version").err(), Some(Errno::EPERM));
    assert_eq!(w.symlink("x", "/proc/l").err(), Some(Errno::EPERM));
    assert_eq!(
        r.unlink(&w.root, b"/proc/version").err(),
        Some(Errno::EPERM)
    );
    assert_eq!(r.rmdir(&w.root, b"/proc/1").err(), Some(Errno::EPERM));
    assert_eq!(
        r.rename(&w.root, b"/proc/version", &w.root, b"/proc/v2", 0)
            .err(),
        Some(Errno::EPERM)
    );
    assert_eq!(
        r.rename(&w.root, b"/proc/version", &w.root, b"/v2", 0)
            .err(),
        Some(Errno::EXDEV)
    );
    assert_eq!(
        r.link(&w.root, b"/proc/version", &w.root, b"/proc/v2", false)
            .err(),
        Some(Errno::EPERM)
    );
    let v = w.get("/proc/version").unwrap();
    assert_eq!(
        open(&w, "/proc/version", O_WRONLY).err(),
        Some(Errno::EACCES)
    );
    assert_eq!(
        open(&w, "/proc/version", O_RDONLY | O_TRUNC).err(),
        Some(Errno::EACCES)
    );
    assert_eq!(v.write_at(0, b"x").err(), Some(Errno::EACCES));
    assert_eq!(v.set_mode(0o777).err(), Some(Errno::EPERM));
    assert_eq!(v.set_owner(Some(1), None).err(), Some(Errno::EPERM));
    assert_eq!(proc_dir.set_mode(0o777).err(), Some(Errno::EPERM));
    v.set_times(Some(Timespec::from_secs(5)), None).unwrap();
    assert_eq!(v.metadata().atime.sec, 5);
    assert_eq!(
        proc_dir.read_at(0, &mut [0u8; 1]).err(),
        Some(Errno::EISDIR)
    );
}

#[test]
fn generated_file_snapshots_per_open() {
    let fs = proc_fs();
    let counter = Arc::new(AtomicUsize::new(0));
    let c = counter.clone();
    // Content changes on every generation; long enough to read in pieces.
    let file = fs.file(move || {
        let n = c.fetch_add(1, Ordering::SeqCst);
        format!("generation {n} {}\n", "-".repeat(100)).into_bytes()
    });
    let io = file.open(O_RDONLY).unwrap().expect("per-open object");
    let mut first = vec![0u8; 10];
    assert_eq!(io.read_at(0, &mut first).unwrap(), 10);
    // Reading on in pieces sees the same generation.
    let mut rest = vec![0u8; 200];
    let n = io.read_at(10, &mut rest).unwrap();
    assert_eq!(counter.load(Ordering::SeqCst), 1);
    let whole = [&first[..], &rest[..n]].concat();
    assert!(whole.starts_with(b"generation 0 "));
    assert_eq!(whole.len(), 13 + 100 + 1);
    // Past the end.
    assert_eq!(io.read_at(5000, &mut rest).unwrap(), 0);
    // Reading from 0 again regenerates (seq_file semantics).
    let mut again = vec![0u8; 12];
    io.read_at(0, &mut again).unwrap();
    assert_eq!(&again, b"generation 1");
    // A second open has its own snapshot.
    let io2 = file.open(O_RDONLY).unwrap().unwrap();
    let mut b = vec![0u8; 12];
    io2.read_at(0, &mut b).unwrap();
    assert_eq!(&b, b"generation 2");
    io.read_at(0, &mut [0u8; 1]).unwrap();
    let mut tail = vec![0u8; 2];
    io2.read_at(11, &mut tail).unwrap();
    assert_eq!(&tail, b"2 ");
    // Snapshots mirror the file's identity.
    assert_eq!(io.ino(), file.ino());
    assert_eq!(io.metadata(), file.metadata());
    // pread on the inode itself generates afresh.
    let direct = read_all(&*file).unwrap();
    assert!(direct.starts_with(b"generation "));
}

#[test]
fn writable_generated_file() {
    let w = World::new();
    let fs = proc_fs();
    let root = fs.dir(0o555);
    let store = Arc::new(Mutex::new(b"0\n".to_vec()));
    let (get, set) = (store.clone(), store.clone());
    root.insert(
        b"knob",
        fs.file_rw(
            move || get.lock().unwrap().clone(),
            move |data| {
                if data.is_empty() || data.len() > 8 {
                    return Err(Errno::EINVAL);
                }
                *set.lock().unwrap() = data.to_vec();
                Ok(data.len())
            },
        ),
    );
    w.mkdir("/sys").unwrap();
    let mp = w.get("/sys").unwrap();
    w.mounts
        .mount(&mp, "/sys", root, "sysfs", "sysfs", "", false)
        .unwrap();
    // Like `echo 1 > knob`: O_WRONLY|O_TRUNC then write.
    let o = open(&w, "/sys/knob", O_WRONLY | O_TRUNC | O_CREAT).unwrap();
    assert!(!o.created);
    assert_eq!(o.io.write_at(0, b"1\n").unwrap(), 2);
    assert_eq!(o.io.write_at(0, b"way too long").err(), Some(Errno::EINVAL));
    assert_eq!(w.read("/sys/knob").unwrap(), b"1\n");
    assert_eq!(w.get("/sys/knob").unwrap().metadata().mode, 0o100644);
    let rw = open(&w, "/sys/knob", O_RDWR).unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(rw.io.read_at(0, &mut buf).unwrap(), 2);
}

#[derive(Default)]
struct Console {
    out: Mutex<Vec<u8>>,
    opens: AtomicUsize,
}

impl CharDevice for Console {
    fn read(&self, _: u64, _: &mut [u8]) -> Result<usize, Errno> {
        Err(Errno::EAGAIN)
    }
    fn write(&self, _: u64, buf: &[u8]) -> Result<usize, Errno> {
        self.out.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn open(&self, flags: u32) -> Result<(), Errno> {
        if flags & O_CREAT != 0 {
            return Err(Errno::ENXIO);
        }
        self.opens.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    fn poll(&self) -> u16 {
        0x004
    }
    fn ioctl(&self, cmd: u32, _: u64) -> Result<u64, Errno> {
        if cmd == 0x5401 {
            Ok(0)
        } else {
            Err(Errno::EINVAL)
        }
    }
}

#[test]
fn dev_tree_with_devices() {
    let w = World::new();
    let fs = SynthFs::new(oxv_vfs::node::TMPFS_MAGIC, Arc::new(EpochClock));
    let dev = fs.dir(0o755);
    dev.insert(
        b"null",
        fs.device(Arc::new(NullDevice), makedev(1, 3), 0o666),
    );
    dev.insert(
        b"zero",
        fs.device(Arc::new(ZeroDevice), makedev(1, 5), 0o666),
    );
    dev.insert(
        b"full",
        fs.device(Arc::new(FullDevice), makedev(1, 7), 0o666),
    );
    let console = Arc::new(Console::default());
    dev.insert(b"console", fs.device(console.clone(), makedev(5, 1), 0o620));
    dev.insert(b"fd", fs.symlink(|| b"/proc/self/fd".to_vec()));
    let shm = fs.dir(0o1777);
    let pts = fs.dir_with(
        0o755,
        [(
            b"ptmx".to_vec(),
            fs.device(Arc::new(NullDevice), makedev(5, 2), 0o666) as InodeRef,
        )],
    );
    dev.insert(b"pts", pts);
    assert_eq!(w.names("/").len(), 2);
    dev.insert(b"shm", shm.clone());
    w.mkdir("/dev").unwrap();
    let mp = w.get("/dev").unwrap();
    w.mounts
        .mount(&mp, "/dev", dev, "devtmpfs", "devtmpfs", "", false)
        .unwrap();
    // A ramfs for /dev/shm stacked inside the synthetic tree.
    let shm_fs = common::ramfs();
    let shm_mp: InodeRef = shm;
    w.mounts
        .mount(
            &shm_mp,
            "/dev/shm",
            shm_fs.root(),
            "tmpfs",
            "tmpfs",
            "",
            false,
        )
        .unwrap();
    assert!(open(&w, "/dev/shm/seg", O_CREAT | O_RDWR).unwrap().created);
    assert_eq!(
        w.get("/dev/shm/..").unwrap().ino(),
        w.get("/dev").unwrap().ino()
    );
    assert_eq!(w.get("/dev/shm/seg/..").err(), Some(Errno::ENOTDIR));

    assert_eq!(
        w.names("/dev"),
        [".", "..", "console", "fd", "full", "null", "pts", "shm", "zero"]
    );
    assert_eq!(
        w.get("/dev/pts/ptmx").unwrap().metadata().rdev,
        makedev(5, 2)
    );
    assert_eq!(
        w.get("/dev/pts/..").unwrap().ino(),
        w.get("/dev").unwrap().ino()
    );
    let null = open(&w, "/dev/null", O_RDWR | O_TRUNC).unwrap();
    assert_eq!(null.inode.file_type(), FileType::CharDevice);
    let m = null.inode.metadata();
    assert_eq!((m.mode, m.rdev), (S_IFCHR | 0o666, makedev(1, 3)));
    assert_eq!(null.io.write_at(0, b"gone").unwrap(), 4);
    assert_eq!(null.io.read_at(0, &mut [0u8; 4]).unwrap(), 0);
    let mut buf = [7u8; 8];
    assert_eq!(
        w.get("/dev/zero").unwrap().read_at(123, &mut buf).unwrap(),
        8
    );
    assert_eq!(buf, [0; 8]);
    assert_eq!(
        w.get("/dev/full").unwrap().write_at(0, b"x").err(),
        Some(Errno::ENOSPC)
    );
    assert_eq!(w.get("/dev/null").unwrap().poll() & POLLIN, POLLIN);
    assert_eq!(
        w.get("/dev/null").unwrap().ioctl(0x5401, 0).err(),
        Some(Errno::ENOTTY)
    );
    // The console: open hook, writes, poll and ioctl pass through.
    let c = open(&w, "/dev/console", O_WRONLY).unwrap();
    assert_eq!(console.opens.load(Ordering::SeqCst), 1);
    c.io.write_at(0, b"hi").unwrap();
    assert_eq!(c.io.append(b"!").unwrap(), (0, 1));
    assert_eq!(*console.out.lock().unwrap(), b"hi!");
    assert_eq!(c.io.read_at(0, &mut buf).err(), Some(Errno::EAGAIN));
    assert_eq!(c.io.poll(), 0x004);
    assert_eq!(c.io.ioctl(0x5401, 0).unwrap(), 0);
    assert_eq!(
        open(&w, "/dev/console", O_CREAT | O_WRONLY).err(),
        Some(Errno::ENXIO)
    );
    // `touch /dev/null` works; creating a new device file does not.
    w.get("/dev/null")
        .unwrap()
        .set_times(None, Some(Timespec::from_secs(9)))
        .unwrap();
    assert_eq!(
        open(&w, "/dev/newfile", O_CREAT | O_WRONLY).err(),
        Some(Errno::EACCES)
    );
    assert_eq!(
        w.r().readlink(&w.root, b"/dev/fd").unwrap(),
        b"/proc/self/fd"
    );
    // Dynamic lookups can be removed and re-inserted at runtime.
    let devdir = w.get("/dev").unwrap();
    let d = devdir
        .as_any()
        .downcast_ref::<oxv_vfs::synthetic::SynthDir>()
        .unwrap();
    assert!(d.remove(b"full").is_some());
    assert_eq!(w.get("/dev/full").err(), Some(Errno::ENOENT));
    assert_eq!(names(&*devdir).len(), 8);
}
