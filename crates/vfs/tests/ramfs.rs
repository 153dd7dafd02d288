//! ramfs semantics through the `Inode` interface: data, sparse files and
//! SEEK_DATA/SEEK_HOLE, fallocate, truncate, space limits, link counts,
//! timestamps, listings, and the O(N) append property.

mod common;

use std::sync::Arc;

use common::{names, test_clock};
use oxv_vfs::node::{
    read_all, read_dir_all, FileType, FALLOC_FL_COLLAPSE_RANGE, FALLOC_FL_KEEP_SIZE,
    FALLOC_FL_PUNCH_HOLE, FALLOC_FL_ZERO_RANGE, MAX_FILE_SIZE, S_IFREG, S_ISGID, S_ISUID,
    TMPFS_MAGIC,
};
use oxv_vfs::ramfs::{PagePool, RamFs, RamFsConfig, PAGE_SIZE};
use oxv_vfs::{DirCursor, Errno, InodeRef, Timespec};

const P: u64 = PAGE_SIZE as u64;

fn fs() -> RamFs {
    RamFs::new(RamFsConfig::default())
}

fn file(fs: &RamFs, name: &str) -> InodeRef {
    fs.root().create(name.as_bytes(), 0o644, 0, 0).unwrap()
}

#[test]
fn write_read_and_eof() {
    let fs = fs();
    let f = file(&fs, "f");
    assert_eq!(f.write_at(0, b"hello world").unwrap(), 11);
    let mut buf = [0u8; 5];
    assert_eq!(f.read_at(6, &mut buf).unwrap(), 5);
    assert_eq!(&buf, b"world");
    assert_eq!(f.read_at(11, &mut buf).unwrap(), 0);
    assert_eq!(f.read_at(1 << 40, &mut buf).unwrap(), 0);
    assert_eq!(f.read_at(9, &mut buf).unwrap(), 2);
    assert_eq!(f.write_at(3, b"").unwrap(), 0);
    // Across a page boundary.
    let data: Vec<u8> = (0..3 * P + 17).map(|i| (i % 251) as u8).collect();
    f.write_at(P - 5, &data).unwrap();
    let mut back = vec![0u8; data.len()];
    assert_eq!(f.read_at(P - 5, &mut back).unwrap(), data.len());
    assert_eq!(back, data);
    let m = f.metadata();
    assert_eq!(m.size, P - 5 + data.len() as u64);
    assert_eq!(m.blocks, 5 * 8);
    assert_eq!(m.blksize, 4096);
    assert_eq!(m.dev, fs.fs_id());
    assert_eq!(m.mode, S_IFREG | 0o644);
    assert_eq!(m.nlink, 1);
}

#[test]
fn wrong_type_errors() {
    let fs = fs();
    let root = fs.root();
    let f = file(&fs, "f");
    let l = root.symlink(b"l", b"f", 0, 0).unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(root.read_at(0, &mut buf).err(), Some(Errno::EISDIR));
    assert_eq!(root.write_at(0, b"x").err(), Some(Errno::EISDIR));
    assert_eq!(root.truncate(0).err(), Some(Errno::EISDIR));
    assert_eq!(root.allocate(0, 0, 1).err(), Some(Errno::EISDIR));
    assert_eq!(root.readlink().err(), Some(Errno::EINVAL));
    assert_eq!(f.lookup(b"x").err(), Some(Errno::ENOTDIR));
    assert_eq!(f.create(b"x", 0o644, 0, 0).err(), Some(Errno::ENOTDIR));
    assert_eq!(f.mkdir(b"x", 0o755, 0, 0).err(), Some(Errno::ENOTDIR));
    assert_eq!(f.unlink(b"x").err(), Some(Errno::ENOTDIR));
    assert_eq!(f.rmdir(b"x").err(), Some(Errno::ENOTDIR));
    assert_eq!(
        f.read_dir(&DirCursor::Start, &mut |_| true).err(),
        Some(Errno::ENOTDIR)
    );
    assert_eq!(f.readlink().err(), Some(Errno::EINVAL));
    assert_eq!(l.read_at(0, &mut buf).err(), Some(Errno::EINVAL));
    assert_eq!(l.allocate(0, 0, 1).err(), Some(Errno::ENODEV));
    assert_eq!(root.lookup(b"missing").err(), Some(Errno::ENOENT));
    // Names.
    assert_eq!(
        root.create(&[b'n'; 256], 0o644, 0, 0).err(),
        Some(Errno::ENAMETOOLONG)
    );
    assert_eq!(root.create(b"a/b", 0o644, 0, 0).err(), Some(Errno::EINVAL));
    assert_eq!(root.create(b"", 0o644, 0, 0).err(), Some(Errno::ENOENT));
    assert_eq!(root.create(b".", 0o644, 0, 0).err(), Some(Errno::EEXIST));
    assert_eq!(root.create(b"f", 0o644, 0, 0).err(), Some(Errno::EEXIST));
    assert_eq!(root.mkdir(b"f", 0o755, 0, 0).err(), Some(Errno::EEXIST));
    assert_eq!(root.symlink(b"f", b"x", 0, 0).err(), Some(Errno::EEXIST));
    assert_eq!(root.symlink(b"z", b"", 0, 0).err(), Some(Errno::ENOENT));
    assert_eq!(root.unlink(b"missing").err(), Some(Errno::ENOENT));
    assert_eq!(root.rmdir(b"missing").err(), Some(Errno::ENOENT));
    assert_eq!(root.rmdir(b"f").err(), Some(Errno::ENOTDIR));
    assert_eq!(f.write_at(MAX_FILE_SIZE, b"x").err(), Some(Errno::EFBIG));
    assert_eq!(f.truncate(MAX_FILE_SIZE + 1).err(), Some(Errno::EFBIG));
}

#[test]
fn sparse_files_read_zero_and_seek_data_hole() {
    let fs = fs();
    let f = file(&fs, "sparse");
    // Data in page 0 (partially), a hole over pages 1..=9, data in page 10,
    // then a hole up to the size at page 20.
    f.write_at(100, b"head").unwrap();
    f.write_at(10 * P + 5, b"mid").unwrap();
    f.truncate(20 * P).unwrap();
    assert_eq!(f.metadata().size, 20 * P);
    assert_eq!(f.metadata().blocks, 2 * 8);
    assert_eq!(fs.stats().pages_used, 2);
    let all = read_all(&*f).unwrap();
    assert_eq!(all.len() as u64, 20 * P);
    assert!(all[..100].iter().all(|&b| b == 0));
    assert_eq!(&all[100..104], b"head");
    assert!(all[104..(10 * P + 5) as usize].iter().all(|&b| b == 0));
    assert_eq!(&all[(10 * P + 5) as usize..(10 * P + 8) as usize], b"mid");
    assert!(all[(10 * P + 8) as usize..].iter().all(|&b| b == 0));
    // SEEK_DATA / SEEK_HOLE (page granular, like tmpfs).
    assert_eq!(f.seek_data(0).unwrap(), 0);
    assert_eq!(f.seek_data(50).unwrap(), 50);
    assert_eq!(f.seek_hole(0).unwrap(), P);
    assert_eq!(f.seek_hole(P + 3).unwrap(), P + 3);
    assert_eq!(f.seek_data(P).unwrap(), 10 * P);
    assert_eq!(f.seek_data(10 * P + 7).unwrap(), 10 * P + 7);
    assert_eq!(f.seek_hole(10 * P).unwrap(), 11 * P);
    assert_eq!(f.seek_data(11 * P).err(), Some(Errno::ENXIO));
    assert_eq!(f.seek_hole(19 * P).unwrap(), 19 * P);
    assert_eq!(f.seek_data(20 * P).err(), Some(Errno::ENXIO));
    assert_eq!(f.seek_hole(20 * P).err(), Some(Errno::ENXIO));
    // A fully written file: the only hole is at the end.
    let g = file(&fs, "dense");
    g.write_at(0, &vec![1u8; 3 * PAGE_SIZE + 1]).unwrap();
    assert_eq!(g.seek_hole(0).unwrap(), 3 * P + 1);
    assert_eq!(g.seek_data(3 * P).unwrap(), 3 * P);
    // An all-hole file.
    let h = file(&fs, "holes");
    h.truncate(5 * P).unwrap();
    assert_eq!(h.seek_data(0).err(), Some(Errno::ENXIO));
    assert_eq!(h.seek_hole(7).unwrap(), 7);
    assert_eq!(h.metadata().blocks, 0);
    // Far beyond any chunk: 1 TiB sparse file.
    let big = file(&fs, "big");
    big.write_at(1 << 40, b"end").unwrap();
    assert_eq!(big.metadata().size, (1 << 40) + 3);
    assert_eq!(big.metadata().blocks, 8);
    assert_eq!(big.seek_data(0).unwrap(), 1 << 40);
    assert_eq!(big.seek_hole(1 << 40).unwrap(), (1 << 40) + 3);
    let mut b = [9u8; 8];
    assert_eq!(big.read_at((1 << 40) - 5, &mut b).unwrap(), 8);
    assert_eq!(&b, b"\0\0\0\0\0end");
}

#[test]
fn truncate_shrink_zeroes_tail_and_frees() {
    let fs = fs();
    let f = file(&fs, "t");
    f.write_at(0, &vec![7u8; 3 * PAGE_SIZE]).unwrap();
    assert_eq!(fs.stats().pages_used, 3);
    f.truncate(P + 10).unwrap();
    assert_eq!(fs.stats().pages_used, 2);
    // Extending again shows zeros where the old data was.
    f.truncate(3 * P).unwrap();
    let all = read_all(&*f).unwrap();
    assert!(all[..(P + 10) as usize].iter().all(|&b| b == 7));
    assert!(all[(P + 10) as usize..].iter().all(|&b| b == 0));
    // Write past EOF after a shrink: the gap reads as zeros.
    f.truncate(5).unwrap();
    f.write_at(100, b"x").unwrap();
    let all = read_all(&*f).unwrap();
    assert_eq!(all.len(), 101);
    assert_eq!(&all[..5], &[7; 5]);
    assert!(all[5..100].iter().all(|&b| b == 0));
    f.truncate(0).unwrap();
    assert_eq!(fs.stats().pages_used, 0);
    assert_eq!(f.metadata().size, 0);
}

#[test]
fn fallocate_modes() {
    let fs = fs();
    let f = file(&fs, "fa");
    assert_eq!(f.allocate(0, 0, 0).err(), Some(Errno::EINVAL));
    assert_eq!(f.allocate(0, MAX_FILE_SIZE, 1).err(), Some(Errno::EFBIG));
    assert_eq!(
        f.allocate(FALLOC_FL_COLLAPSE_RANGE, 0, P).err(),
        Some(Errno::EOPNOTSUPP)
    );
    assert_eq!(
        f.allocate(FALLOC_FL_ZERO_RANGE, 0, P).err(),
        Some(Errno::EOPNOTSUPP)
    );
    assert_eq!(
        f.allocate(FALLOC_FL_PUNCH_HOLE, 0, P).err(),
        Some(Errno::EOPNOTSUPP)
    );
    // KEEP_SIZE allocates without growing.
    f.allocate(FALLOC_FL_KEEP_SIZE, 0, 2 * P).unwrap();
    assert_eq!(f.metadata().size, 0);
    assert_eq!(fs.stats().pages_used, 2);
    // Mode 0 grows.
    f.allocate(0, P, 2 * P + 1).unwrap();
    assert_eq!(f.metadata().size, 3 * P + 1);
    assert_eq!(fs.stats().pages_used, 4);
    assert!(read_all(&*f).unwrap().iter().all(|&b| b == 0));
    assert_eq!(f.seek_hole(0).unwrap(), 3 * P + 1);
    // Punch: partial pages are zeroed, whole pages freed.
    f.write_at(0, &vec![5u8; (3 * P + 1) as usize]).unwrap();
    f.allocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 10, 2 * P)
        .unwrap();
    assert_eq!(f.metadata().size, 3 * P + 1);
    assert_eq!(fs.stats().pages_used, 3);
    let all = read_all(&*f).unwrap();
    assert!(all[..10].iter().all(|&b| b == 5));
    assert!(all[10..(2 * P + 10) as usize].iter().all(|&b| b == 0));
    assert!(all[(2 * P + 10) as usize..].iter().all(|&b| b == 5));
    assert_eq!(f.seek_hole(0).unwrap(), P);
    assert_eq!(f.seek_data(P).unwrap(), 2 * P);
    // Punch within one page.
    f.allocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 2 * P + 20, 5)
        .unwrap();
    let all = read_all(&*f).unwrap();
    assert!(all[(2 * P + 20) as usize..(2 * P + 25) as usize]
        .iter()
        .all(|&b| b == 0));
    assert_eq!(all[(2 * P + 25) as usize], 5);
    // Page-aligned punch of exactly one page.
    f.allocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, P)
        .unwrap();
    assert_eq!(fs.stats().pages_used, 2);
}

#[test]
fn size_limit_enospc_and_release() {
    let fs = RamFs::new(RamFsConfig {
        max_bytes: Some(4 * P),
        ..RamFsConfig::default()
    });
    let f = file(&fs, "a");
    // A write that does not fit returns what fit, then ENOSPC.
    assert_eq!(
        f.write_at(0, &vec![1u8; 5 * PAGE_SIZE]).unwrap(),
        4 * PAGE_SIZE
    );
    assert_eq!(f.write_at(4 * P, b"x").err(), Some(Errno::ENOSPC));
    // Rewriting existing pages needs no space.
    assert_eq!(f.write_at(0, b"yy").unwrap(), 2);
    let g = file(&fs, "b");
    assert_eq!(g.write_at(0, b"z").err(), Some(Errno::ENOSPC));
    assert_eq!(g.allocate(0, 0, 1).err(), Some(Errno::ENOSPC));
    let st = fs.root().statfs();
    assert_eq!((st.fs_type, st.blocks, st.bfree), (TMPFS_MAGIC, 4, 0));
    // Unlinking frees the space only when the last reference goes.
    fs.root().unlink(b"a").unwrap();
    assert_eq!(g.write_at(0, b"z").err(), Some(Errno::ENOSPC));
    drop(f);
    assert_eq!(fs.stats().pages_used, 0);
    assert_eq!(g.write_at(0, b"z").unwrap(), 1);
    // A failed fallocate leaves nothing behind.
    assert_eq!(g.allocate(0, 0, 10 * P).err(), Some(Errno::ENOSPC));
    assert_eq!(fs.stats().pages_used, 1);
    assert_eq!(g.metadata().size, 1);
}

#[test]
fn memory_budget_refusal_is_enospc() {
    let pool = Arc::new(PagePool::new(3));
    let fs = RamFs::new(RamFsConfig {
        budget: pool.clone(),
        ..RamFsConfig::default()
    });
    let f = file(&fs, "a");
    assert_eq!(
        f.write_at(0, &vec![0u8; 10 * PAGE_SIZE]).unwrap(),
        3 * PAGE_SIZE
    );
    assert_eq!(pool.used(), 3);
    assert_eq!(f.append(b"more").err(), Some(Errno::ENOSPC));
    f.truncate(P).unwrap();
    assert_eq!(pool.used(), 1);
    drop(f);
    fs.root().unlink(b"a").unwrap();
    assert_eq!(pool.used(), 0);
}

#[test]
fn inode_limit() {
    let fs = RamFs::new(RamFsConfig {
        max_inodes: Some(3),
        ..RamFsConfig::default()
    });
    let root = fs.root();
    root.create(b"a", 0o644, 0, 0).unwrap();
    root.mkdir(b"b", 0o755, 0, 0).unwrap();
    assert_eq!(root.create(b"c", 0o644, 0, 0).err(), Some(Errno::ENOSPC));
    assert_eq!(root.symlink(b"c", b"x", 0, 0).err(), Some(Errno::ENOSPC));
    assert_eq!(root.statfs().ffree, 0);
    root.unlink(b"a").unwrap();
    root.create(b"c", 0o644, 0, 0).unwrap();
    assert_eq!(fs.stats().inodes_used, 3);
}

/// OSv #884: appending N bytes in small writes must be O(N). Counted, not
/// timed: every byte is copied exactly once and every page allocated once.
#[test]
fn append_is_linear() {
    let fs = fs();
    let f = file(&fs, "log");
    let n: usize = 1 << 20;
    let mut written = 0usize;
    let mut step = 1usize;
    while written < n {
        let k = step.min(n - written);
        let chunk: Vec<u8> = (written..written + k).map(|i| (i % 253) as u8).collect();
        assert_eq!(f.append(&chunk).unwrap(), (written as u64, k));
        written += k;
        step = step % 13 + 1;
    }
    let st = fs.stats();
    assert_eq!(st.bytes_written, n as u64);
    assert_eq!(st.pages_allocated, (n / PAGE_SIZE) as u64);
    assert_eq!(st.pages_used, (n / PAGE_SIZE) as u64);
    let back = read_all(&*f).unwrap();
    assert_eq!(back.len(), n);
    assert!(back.iter().enumerate().all(|(i, &b)| b == (i % 253) as u8));
    // write_at at the end behaves the same.
    let g = file(&fs, "log2");
    for i in 0..10_000u64 {
        g.write_at(i * 3, b"abc").unwrap();
    }
    assert_eq!(fs.stats().bytes_written, n as u64 + 30_000);
    assert_eq!(
        fs.stats().pages_allocated,
        (n / PAGE_SIZE) as u64 + 30_000u64.div_ceil(P)
    );
}

#[test]
fn link_counts_and_hard_links() {
    let fs = fs();
    let root = fs.root();
    assert_eq!(root.metadata().nlink, 2);
    let d = root.mkdir(b"d", 0o755, 0, 0).unwrap();
    root.mkdir(b"e", 0o755, 0, 0).unwrap();
    assert_eq!(root.metadata().nlink, 4);
    d.mkdir(b"x", 0o755, 0, 0).unwrap();
    assert_eq!(d.metadata().nlink, 3);
    let f = d.create(b"f", 0o644, 0, 0).unwrap();
    root.link(b"f1", &f).unwrap();
    d.link(b"f2", &f).unwrap();
    assert_eq!(f.metadata().nlink, 3);
    assert_eq!(root.link(b"dd", &d).err(), Some(Errno::EPERM));
    assert_eq!(root.link(b"f1", &f).err(), Some(Errno::EEXIST));
    let other = RamFs::new(RamFsConfig::default());
    assert_eq!(other.root().link(b"f", &f).err(), Some(Errno::EXDEV));
    f.write_at(0, b"shared").unwrap();
    assert_eq!(read_all(&*root.lookup(b"f1").unwrap()).unwrap(), b"shared");
    d.unlink(b"f").unwrap();
    root.unlink(b"f1").unwrap();
    assert_eq!(f.metadata().nlink, 1);
    assert_eq!(read_all(&*d.lookup(b"f2").unwrap()).unwrap(), b"shared");
    assert_eq!(d.rmdir(b"x").map(|_| d.metadata().nlink), Ok(2));
    assert_eq!(root.rmdir(b"d").err(), Some(Errno::ENOTEMPTY));
    // `..` and `.` lookups.
    assert!(oxv_vfs::node::same_inode(
        &*d.lookup(b"..").unwrap(),
        &*root
    ));
    assert!(oxv_vfs::node::same_inode(
        &*root.lookup(b"..").unwrap(),
        &*root
    ));
    assert!(oxv_vfs::node::same_inode(&*d.lookup(b".").unwrap(), &*d));
}

#[test]
fn timestamps_follow_linux() {
    let clock = test_clock();
    let fs = RamFs::new(RamFsConfig {
        clock: clock.clone(),
        ..RamFsConfig::default()
    });
    let root = fs.root();
    clock.set(100);
    let f = root.create(b"f", 0o644, 0, 0).unwrap();
    let m = f.metadata();
    assert_eq!((m.atime.sec, m.mtime.sec, m.ctime.sec), (100, 100, 100));
    assert_eq!(root.metadata().mtime.sec, 100);
    clock.set(200);
    f.write_at(0, b"x").unwrap();
    let m = f.metadata();
    assert_eq!((m.atime.sec, m.mtime.sec, m.ctime.sec), (100, 200, 200));
    clock.set(300);
    // Reads leave atime alone (noatime); a truncate to the same size too.
    f.read_at(0, &mut [0u8; 1]).unwrap();
    f.truncate(1).unwrap();
    assert_eq!(f.metadata().mtime.sec, 200);
    f.truncate(0).unwrap();
    assert_eq!(f.metadata().mtime.sec, 300);
    clock.set(400);
    f.set_times(Some(Timespec::from_secs(1)), None).unwrap();
    let m = f.metadata();
    assert_eq!((m.atime.sec, m.mtime.sec, m.ctime.sec), (1, 300, 400));
    clock.set(500);
    root.link(b"g", &f).unwrap();
    assert_eq!(f.metadata().ctime.sec, 500);
    assert_eq!(root.metadata().mtime.sec, 500);
    clock.set(600);
    root.rename(b"g", &root, b"h", 0).unwrap();
    assert_eq!(root.metadata().ctime.sec, 600);
    assert_eq!(f.metadata().ctime.sec, 600);
}

#[test]
fn modes_owners_and_setgid_inheritance() {
    let fs = fs();
    let root = fs.root();
    assert_eq!(root.metadata().mode & 0o7777, 0o1777);
    let f = root.create(b"f", 0o4755, 5, 6).unwrap();
    assert_eq!(f.metadata().mode, S_IFREG | 0o4755);
    f.set_owner(Some(9), None).unwrap();
    let m = f.metadata();
    assert_eq!((m.uid, m.gid, m.mode & 0o7777), (9, 6, 0o755));
    f.set_mode(0o2775).unwrap();
    f.write_at(0, b"x").unwrap();
    assert_eq!(f.metadata().mode & 0o7777, 0o775);
    f.set_mode(0o6644).unwrap();
    f.set_owner(None, None).unwrap();
    assert_eq!(f.metadata().mode & 0o7777, 0o6644);
    // A setgid directory passes on its group, and the bit to subdirs.
    let d = root.mkdir(b"sg", 0o2775, 0, 50).unwrap();
    assert_eq!(d.metadata().mode & S_ISGID, S_ISGID);
    let inner = d.create(b"in", 0o644, 1, 2).unwrap();
    assert_eq!(inner.metadata().gid, 50);
    let sub = d.mkdir(b"sub", 0o755, 1, 2).unwrap();
    assert_eq!(
        (sub.metadata().gid, sub.metadata().mode & S_ISGID),
        (50, S_ISGID)
    );
    assert_eq!(inner.metadata().mode & S_ISUID, 0);
}

#[test]
fn read_dir_order_cursor_and_kinds() {
    let fs = fs();
    let root = fs.root();
    let d = root.mkdir(b"d", 0o755, 0, 0).unwrap();
    for name in ["c", "a", "b"] {
        d.create(name.as_bytes(), 0o644, 0, 0).unwrap();
    }
    d.mkdir(b"sub", 0o755, 0, 0).unwrap();
    d.symlink(b"ln", b"a", 0, 0).unwrap();
    assert_eq!(names(&*d), [".", "..", "a", "b", "c", "ln", "sub"]);
    let all = read_dir_all(&*d).unwrap();
    assert_eq!(all[0].ino, d.ino());
    assert_eq!(all[1].ino, root.ino());
    assert_eq!(all[5].kind, FileType::Symlink);
    assert_eq!(all[6].kind, FileType::Directory);
    assert_eq!(all[2].kind, FileType::Regular);
    // Resume from any entry's cursor; a refused entry is not consumed.
    let mut cur = DirCursor::Start;
    let mut seen = Vec::new();
    loop {
        let mut got = 0;
        let mut next = cur.clone();
        d.read_dir(&cur, &mut |e| {
            if got == 2 {
                return false;
            }
            got += 1;
            seen.push(String::from_utf8(e.name.clone()).unwrap());
            next = e.next;
            true
        })
        .unwrap();
        cur = next;
        if got == 0 {
            break;
        }
    }
    assert_eq!(seen, [".", "..", "a", "b", "c", "ln", "sub"]);
    // A cursor after a removed name still resumes correctly.
    d.unlink(b"b").unwrap();
    let mut rest = Vec::new();
    d.read_dir(&DirCursor::After(b"b".to_vec()), &mut |e| {
        rest.push(e.name);
        true
    })
    .unwrap();
    assert_eq!(rest, [b"c".to_vec(), b"ln".to_vec(), b"sub".to_vec()]);
    // Directory size counts entries like tmpfs.
    assert_eq!(d.metadata().size, (4 + 2) * 20);
    // More entries than one batch.
    let big = root.mkdir(b"big", 0o755, 0, 0).unwrap();
    for i in 0..100 {
        big.create(format!("f{i:03}").as_bytes(), 0o644, 0, 0)
            .unwrap();
    }
    let n = names(&*big);
    assert_eq!(n.len(), 102);
    assert_eq!(n[101], "f099");
}

#[test]
fn dropping_the_fs_frees_everything() {
    let pool = Arc::new(PagePool::new(100));
    {
        let fs = RamFs::new(RamFsConfig {
            budget: pool.clone(),
            ..RamFsConfig::default()
        });
        let d = fs.root().mkdir(b"d", 0o755, 0, 0).unwrap();
        let f = d.create(b"f", 0o644, 0, 0).unwrap();
        f.write_at(0, &[1; 3 * PAGE_SIZE]).unwrap();
        assert_eq!(pool.used(), 3);
    }
    assert_eq!(pool.used(), 0);
}
