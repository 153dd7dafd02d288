//! Writer -> reader round trips over random and edge-case trees.

mod common;

use common::{check_image, random_tree, Rng};
use oxv_rofs::{Compression, FileType, ImageBuilder, Meta, RofsError, RofsReader};

#[test]
fn random_trees_round_trip() {
    for seed in 0..40u64 {
        let mut rng = Rng::new(seed);
        let block = [4096u32, 8192, 32768][(seed % 3) as usize];
        let n = 1 + rng.below(120) as usize;
        let (mut b, model) = random_tree(&mut rng, n, block as u64);
        b.set_block_size(block).unwrap();
        if seed % 4 == 0 {
            b.set_compression(Compression::Fast);
        }
        let img = b.to_vec().unwrap();
        let budget = [0usize, 10_000, 1 << 20][(seed % 3) as usize];
        let r = RofsReader::with_cache_budget(&img[..], budget).unwrap();
        check_image(&r, &model, &mut rng);
        // The same through non-slice storage (metadata page cache path).
        let r = RofsReader::with_cache_budget(common_storage::Paged(img.clone()), budget).unwrap();
        check_image(&r, &model, &mut rng);
    }
}

mod common_storage {
    use oxv_rofs::{Storage, StorageError};
    /// Storage that is not a slice (like a block device).
    pub struct Paged(pub Vec<u8>);
    impl Storage for Paged {
        fn read_at(&self, off: u64, buf: &mut [u8]) -> Result<(), StorageError> {
            self.0[..].read_at(off, buf)
        }
        fn len(&self) -> u64 {
            self.0.len() as u64
        }
    }
}

#[test]
fn deterministic_output() {
    for seed in [1u64, 2, 3] {
        let (a, _) = random_tree(&mut Rng::new(seed), 80, 32768);
        let (b, _) = random_tree(&mut Rng::new(seed), 80, 32768);
        let (mut b1, mut b2) = (a, b);
        b1.set_threads(1);
        b2.set_threads(4);
        assert_eq!(b1.to_vec().unwrap(), b2.to_vec().unwrap(), "seed {seed}");
    }
    // Insertion order does not matter either.
    let m = Meta::new(0o644);
    let mut x = ImageBuilder::new();
    x.add_file("/b", m, b"2".to_vec()).unwrap();
    x.add_file("/a/c", m, b"1".to_vec()).unwrap();
    x.add_dir("/a", Meta::new(0o755)).unwrap();
    let mut y = ImageBuilder::new();
    y.add_dir("/a", Meta::new(0o755)).unwrap();
    y.add_file("/a/c", m, b"1".to_vec()).unwrap();
    y.add_file("/b", m, b"2".to_vec()).unwrap();
    assert_eq!(x.to_vec().unwrap(), y.to_vec().unwrap());
}

#[test]
fn empty_image_and_empty_files() {
    let img = ImageBuilder::new().to_vec().unwrap();
    let r = RofsReader::open(&img[..]).unwrap();
    assert_eq!(r.read_dir(r.root(), 0).unwrap().count(), 0);
    assert_eq!(r.lookup(r.root(), b"..").unwrap(), Some(r.root()));
    let mut b = ImageBuilder::new();
    b.add_file("/e", Meta::new(0o600), Vec::new()).unwrap();
    let img = b.to_vec().unwrap();
    let r = RofsReader::open(&img[..]).unwrap();
    let e = r.lookup(r.root(), b"e").unwrap().unwrap();
    assert_eq!(r.inode(e).unwrap().size, 0);
    assert_eq!(r.read_file(e, 0, &mut [0u8; 8]).unwrap(), 0);
    assert_eq!(r.next_data(e, 0).unwrap(), None);
    assert_eq!(r.next_hole(e, 0).unwrap(), None);
}

#[test]
fn large_file_spanning_many_blocks_and_sparse_regions() {
    let mut rng = Rng::new(7);
    let mut data = rng.text(3 << 20);
    data[100_000..700_000].fill(0);
    let tail = data.len() - 40_000;
    data[tail..].fill(0);
    let mut b = ImageBuilder::new();
    b.add_file("/big", Meta::new(0o644), data.clone()).unwrap();
    // A fully sparse file is nothing but holes.
    b.add_file("/sparse", Meta::new(0o644), vec![0u8; 10 << 20])
        .unwrap();
    let img = b.to_vec().unwrap();
    assert!(img.len() < data.len() / 2, "image {} bytes", img.len());
    let r = RofsReader::open(&img[..]).unwrap();
    let big = r.lookup_path(b"/big").unwrap().unwrap();
    let mut out = vec![0u8; data.len()];
    assert_eq!(r.read_file(big, 0, &mut out).unwrap(), data.len());
    assert!(out == data);
    let bs = r.block_size();
    let hole = r.next_hole(big, 0).unwrap().unwrap();
    assert!(hole >= 100_000 && hole <= 100_000 + bs, "{hole}");
    let next = r.next_data(big, hole).unwrap().unwrap();
    assert!(next <= 700_000 && next + bs > 700_000 - bs, "{next}");
    let sparse = r.lookup_path(b"/sparse").unwrap().unwrap();
    assert_eq!(r.next_data(sparse, 0).unwrap(), None);
    assert_eq!(r.next_hole(sparse, 5).unwrap(), Some(5));
    assert_eq!(r.stored_bytes(sparse).unwrap(), 0);
    let mut buf = vec![1u8; 100_000];
    assert_eq!(
        r.read_file(sparse, (10 << 20) - 50_000, &mut buf).unwrap(),
        50_000
    );
    assert!(buf[..50_000].iter().all(|&x| x == 0));
}

#[test]
fn ten_thousand_entries_in_one_directory() {
    let mut b = ImageBuilder::new();
    let m = Meta::new(0o644);
    for i in 0..10_000u32 {
        b.add_file(
            format!("/d/f{i:05}-{}", "x".repeat((i % 200) as usize)),
            m,
            i.to_le_bytes().to_vec(),
        )
        .unwrap();
    }
    let img = b.to_vec().unwrap();
    let r = RofsReader::open(&img[..]).unwrap();
    let d = r.lookup_path(b"/d").unwrap().unwrap();
    assert_eq!(r.inode(d).unwrap().size, 10_000);
    let names: Vec<Vec<u8>> = r
        .read_dir(d, 0)
        .unwrap()
        .map(|e| e.unwrap().name().to_vec())
        .collect();
    assert_eq!(names.len(), 10_000);
    assert!(names.windows(2).all(|w| w[0] < w[1]));
    for i in (0..10_000u32).step_by(97) {
        let name = format!("f{i:05}-{}", "x".repeat((i % 200) as usize));
        let ino = r.lookup(d, name.as_bytes()).unwrap().unwrap();
        let mut buf = [0u8; 4];
        r.read_file(ino, 0, &mut buf).unwrap();
        assert_eq!(u32::from_le_bytes(buf), i);
    }
    assert_eq!(r.lookup(d, b"f99999").unwrap(), None);
}

#[test]
fn long_names_and_bad_names() {
    let long = "n".repeat(255);
    let mut b = ImageBuilder::new();
    b.add_file(
        format!("/{long}/{long}"),
        Meta::new(0o644),
        b"deep".to_vec(),
    )
    .unwrap();
    assert!(b
        .add_file(format!("/{long}x"), Meta::new(0o644), Vec::new())
        .is_err());
    assert!(b.add_file("/a/../b", Meta::new(0o644), Vec::new()).is_err());
    assert!(b.add_file("/a\0b", Meta::new(0o644), Vec::new()).is_err());
    assert!(
        b.add_file(format!("/{long}"), Meta::new(0o644), Vec::new())
            .is_err(),
        "duplicate"
    );
    assert!(
        b.add_file(format!("/{long}/{long}/x"), Meta::new(0o644), Vec::new())
            .is_err(),
        "parent is a file"
    );
    let img = b.to_vec().unwrap();
    let r = RofsReader::open(&img[..]).unwrap();
    let d = r.lookup(r.root(), long.as_bytes()).unwrap().unwrap();
    assert!(r.lookup(d, long.as_bytes()).unwrap().is_some());
    assert_eq!(
        r.lookup(d, format!("{long}x").as_bytes()),
        Err(RofsError::NameTooLong)
    );
    assert_eq!(r.lookup(d, b"a/b"), Err(RofsError::InvalidName));
    assert_eq!(r.lookup(d, b""), Err(RofsError::InvalidName));
    let f = r.lookup(d, long.as_bytes()).unwrap().unwrap();
    assert_eq!(r.lookup(f, b"x"), Err(RofsError::NotDirectory));
    assert_eq!(
        r.read_file(d, 0, &mut [0u8; 1]),
        Err(RofsError::IsDirectory)
    );
    assert_eq!(r.read_link(f, &mut [0u8; 10]), Err(RofsError::NotSymlink));
    assert_eq!(r.inode(0), Err(RofsError::NoSuchInode(0)));
    assert_eq!(r.inode(1000), Err(RofsError::NoSuchInode(1000)));
}

#[test]
fn hard_links_share_an_inode() {
    let mut b = ImageBuilder::new();
    b.add_file("/a", Meta::new(0o755), b"same".to_vec())
        .unwrap();
    b.add_hardlink("/x/b", "/a").unwrap();
    b.add_hardlink("/x/c", "/x/b").unwrap();
    b.add_special(
        "/null",
        Meta::new(0o666),
        FileType::CharDevice,
        (1 << 8) | 3,
    )
    .unwrap();
    b.add_hardlink("/null2", "/null").unwrap();
    assert!(b.add_hardlink("/y", "/x").is_err(), "directory");
    assert!(b.add_hardlink("/z", "/nope").is_err());
    let img = b.to_vec().unwrap();
    let r = RofsReader::open(&img[..]).unwrap();
    let a = r.lookup_path(b"/a").unwrap().unwrap();
    assert_eq!(r.lookup_path(b"/x/b").unwrap(), Some(a));
    assert_eq!(r.lookup_path(b"/x/c").unwrap(), Some(a));
    assert_eq!(r.inode(a).unwrap().nlink, 3);
    let n = r.lookup_path(b"/null").unwrap().unwrap();
    assert_eq!(r.lookup_path(b"/null2").unwrap(), Some(n));
    let ni = r.inode(n).unwrap();
    assert_eq!((ni.kind, ni.rdev, ni.nlink), (FileType::CharDevice, 259, 2));
    assert_eq!(r.read_file(n, 0, &mut [0u8; 1]), Err(RofsError::NotRegular));
}

#[test]
fn duplicate_blocks_are_stored_once() {
    let mut rng = Rng::new(9);
    let data = rng.bytes(100_000);
    let mut b = ImageBuilder::new();
    b.add_file("/one", Meta::new(0o644), data.clone()).unwrap();
    b.add_file("/two", Meta::new(0o644), data.clone()).unwrap();
    let mut c = std::io::Cursor::new(Vec::new());
    let stats = b.write(&mut c).unwrap();
    let img = c.into_inner();
    assert_eq!(stats.image_len, img.len() as u64);
    assert!(stats.shared_blocks >= 3, "{stats:?}");
    assert!(img.len() < 150_000);
    let r = RofsReader::open(&img[..]).unwrap();
    for p in [&b"/one"[..], b"/two"] {
        let i = r.lookup_path(p).unwrap().unwrap();
        let mut out = vec![0u8; data.len()];
        r.read_file(i, 0, &mut out).unwrap();
        assert!(out == data);
    }
}

#[test]
fn host_tree_with_links_and_metadata() {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    std::fs::create_dir_all(root.join("sub/deeper")).unwrap();
    std::fs::write(root.join("sub/file"), b"hello").unwrap();
    std::fs::set_permissions(
        root.join("sub/file"),
        std::fs::Permissions::from_mode(0o4751),
    )
    .unwrap();
    std::fs::hard_link(root.join("sub/file"), root.join("link")).unwrap();
    symlink("sub/file", root.join("sym")).unwrap();
    std::fs::write(root.join("sub/deeper/empty"), b"").unwrap();
    let mut b = ImageBuilder::new();
    b.set_host_owner(Some((0, 0)));
    b.add_host_path("/", root).unwrap();
    b.add_host_path("/copy", root.join("sym")).unwrap(); // top level followed
    let img = b.to_vec().unwrap();
    let r = RofsReader::open(&img[..]).unwrap();
    let f = r.lookup_path(b"/sub/file").unwrap().unwrap();
    assert_eq!(r.lookup_path(b"/link").unwrap(), Some(f));
    let fi = r.inode(f).unwrap();
    // /link is a host hard link; /copy (the followed symlink) is the same host file too.
    assert_eq!((fi.mode, fi.nlink, fi.uid), (0o104751, 3, 0));
    assert_eq!(r.lookup_path(b"/copy").unwrap(), Some(f));
    let s = r.lookup_path(b"/sym").unwrap().unwrap();
    assert_eq!(r.read_link_vec(s).unwrap(), b"sub/file");
    let c = r.lookup_path(b"/copy").unwrap().unwrap();
    assert_eq!(r.inode(c).unwrap().kind, FileType::Regular);
    let mut buf = [0u8; 5];
    r.read_file(c, 0, &mut buf).unwrap();
    assert_eq!(&buf, b"hello");
    assert!(r.lookup_path(b"/sub/deeper/empty").unwrap().is_some());
    // A file that changes size between add and write is refused.
    let mut b = ImageBuilder::new();
    b.add_file_from_host("/f", Meta::new(0o644), root.join("sub/file"))
        .unwrap();
    std::fs::write(root.join("sub/file"), b"hello, longer").unwrap();
    assert!(b.to_vec().is_err());
}

#[test]
fn parallel_readers_share_the_cache() {
    let mut rng = Rng::new(11);
    let mut b = ImageBuilder::new();
    let files: Vec<Vec<u8>> = (0..8).map(|_| rng.text(300_000)).collect();
    for (i, f) in files.iter().enumerate() {
        b.add_file(format!("/f{i}"), Meta::new(0o644), f.clone())
            .unwrap();
    }
    let img = b.to_vec().unwrap();
    let r = RofsReader::with_cache_budget(img, 256 << 10).unwrap();
    std::thread::scope(|s| {
        for t in 0..4 {
            let (r, files) = (&r, &files);
            s.spawn(move || {
                let mut rng = Rng::new(t);
                for _ in 0..200 {
                    let i = rng.below(8) as usize;
                    let ino = r.lookup_path(format!("/f{i}").as_bytes()).unwrap().unwrap();
                    let off = rng.below(300_000);
                    let mut buf = vec![0u8; rng.below(70_000) as usize];
                    let n = r.read_file(ino, off, &mut buf).unwrap();
                    assert!(buf[..n] == files[i][off as usize..off as usize + n]);
                }
            });
        }
    });
    let st = r.cache_stats();
    assert!(st.bytes <= 256 << 10 && st.hits > 0, "{st:?}");
    assert!(r.shrink(usize::MAX) > 0);
    assert_eq!(r.cache_stats().bytes, 0);
}

/// Reads every regular file of the image named by `OXV_ROFS_IMAGE` and
/// prints the throughput (`cargo test --release -p oxv-rofs --test roundtrip
/// measure -- --ignored --nocapture`).
#[test]
#[ignore]
fn measure_read_throughput() {
    let Ok(path) = std::env::var("OXV_ROFS_IMAGE") else {
        eprintln!("set OXV_ROFS_IMAGE");
        return;
    };
    let img = std::fs::read(&path).unwrap();
    for budget in [0usize, 1 << 20] {
        let r = RofsReader::with_cache_budget(&img[..], budget).unwrap();
        let t = std::time::Instant::now();
        let (mut files, mut bytes) = (0u64, 0u64);
        let mut stack = vec![r.root()];
        let mut buf = vec![0u8; 1 << 20];
        while let Some(d) = stack.pop() {
            for e in r.read_dir(d, 0).unwrap() {
                let e = e.unwrap();
                match e.kind {
                    FileType::Directory => stack.push(e.ino),
                    FileType::Regular => {
                        files += 1;
                        let mut off = 0;
                        loop {
                            let n = r.read_file(e.ino, off, &mut buf).unwrap();
                            if n == 0 {
                                break;
                            }
                            off += n as u64;
                        }
                        bytes += off;
                    }
                    _ => {}
                }
            }
        }
        let s = t.elapsed().as_secs_f64();
        println!(
            "cache {budget:>8}: {files} files, {bytes} bytes in {:.1} ms = {:.0} MB/s",
            s * 1e3,
            bytes as f64 / s / 1e6
        );
    }
}

/// CRC32C throughput (`... measure_crc -- --ignored --nocapture`).
#[test]
#[ignore]
fn measure_crc() {
    let data = Rng::new(5).bytes(16 << 20);
    let t = std::time::Instant::now();
    let c = oxv_rofs::crc32c::crc32c(&data);
    let s = t.elapsed().as_secs_f64();
    println!("crc32c: {:.0} MB/s ({c:08x})", data.len() as f64 / s / 1e6);
}
