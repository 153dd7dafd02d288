//! Shared fixtures for the oxv-vfs integration tests: a ramfs root mounted
//! in a mount table, and short helpers around the resolver.
#![allow(dead_code)]

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use oxv_vfs::node::{read_all, read_dir_all, O_CREAT, O_RDWR};
use oxv_vfs::ramfs::{RamFs, RamFsConfig};
use oxv_vfs::{Errno, InodeRef, MountTable, OpenRequest, Resolver, Timespec};

pub struct World {
    pub fs: RamFs,
    pub mounts: MountTable,
    pub root: InodeRef,
}

pub fn ramfs() -> RamFs {
    RamFs::new(RamFsConfig::default())
}

impl World {
    pub fn new() -> World {
        World::with(RamFsConfig::default())
    }

    pub fn with(cfg: RamFsConfig) -> World {
        let fs = RamFs::new(cfg);
        let root = fs.root();
        let mounts = MountTable::new(root.clone(), "rootfs", "tmpfs", "", false);
        World { fs, mounts, root }
    }

    pub fn r(&self) -> Resolver<'_> {
        Resolver::new(&self.mounts, &self.root)
    }

    pub fn get(&self, path: &str) -> Result<InodeRef, Errno> {
        self.r().resolve(&self.root, path.as_bytes(), true)
    }

    pub fn lget(&self, path: &str) -> Result<InodeRef, Errno> {
        self.r().resolve(&self.root, path.as_bytes(), false)
    }

    pub fn mkdir(&self, path: &str) -> Result<InodeRef, Errno> {
        self.r().mkdir(&self.root, path.as_bytes(), 0o755, 0, 0)
    }

    pub fn write(&self, path: &str, data: &[u8]) -> Result<InodeRef, Errno> {
        let o = self.r().open(
            &self.root,
            path.as_bytes(),
            OpenRequest {
                flags: O_CREAT | O_RDWR,
                mode: 0o644,
                uid: 0,
                gid: 0,
            },
        )?;
        o.io.write_at(0, data)?;
        Ok(o.inode)
    }

    pub fn read(&self, path: &str) -> Result<Vec<u8>, Errno> {
        read_all(&*self.get(path)?)
    }

    pub fn symlink(&self, target: &str, path: &str) -> Result<InodeRef, Errno> {
        self.r()
            .symlink(target.as_bytes(), &self.root, path.as_bytes(), 0, 0)
    }

    /// Mounts a fresh ramfs on `path`; returns it.
    pub fn mount_ramfs(&self, path: &str) -> RamFs {
        let fs = ramfs();
        let mp = self.get(path).unwrap();
        self.mounts
            .mount(&mp, path, fs.root(), "tmpfs", "tmpfs", "", false)
            .unwrap();
        fs
    }

    pub fn names(&self, path: &str) -> Vec<String> {
        names(&*self.get(path).unwrap())
    }
}

pub fn names(dir: &dyn oxv_vfs::Inode) -> Vec<String> {
    read_dir_all(dir)
        .unwrap()
        .into_iter()
        .map(|e| String::from_utf8(e.name).unwrap())
        .collect()
}

pub fn same(a: &InodeRef, b: &InodeRef) -> bool {
    oxv_vfs::node::same_inode(&**a, &**b)
}

/// A settable clock for timestamp tests.
#[derive(Default)]
pub struct TestClock(pub AtomicI64);

impl TestClock {
    pub fn set(&self, sec: i64) {
        self.0.store(sec, Ordering::SeqCst);
    }
}

impl oxv_vfs::Clock for TestClock {
    fn now(&self) -> Timespec {
        Timespec::from_secs(self.0.load(Ordering::SeqCst))
    }
}

pub fn test_clock() -> Arc<TestClock> {
    Arc::new(TestClock::default())
}
