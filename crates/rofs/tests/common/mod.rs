//! Shared by the integration tests: a small xorshift PRNG, a random tree
//! generator with its expected model, and a checker that walks an image
//! and compares it with the model.
#![allow(dead_code)]

use std::collections::BTreeMap;

use oxv_rofs::{FileType, ImageBuilder, Meta, RofsReader, Storage};

/// xorshift64*.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    /// Compressible-ish bytes: runs of words from a small vocabulary.
    pub fn text(&mut self, n: usize) -> Vec<u8> {
        const WORDS: &[&[u8]] = &[
            b"import ", b"def ", b"self", b"return ", b"\n    ", b"(x)", b"oxv", b" = ", b"None",
        ];
        let mut v = Vec::with_capacity(n);
        while v.len() < n {
            if self.chance(10) {
                v.push(self.next() as u8);
            } else {
                v.extend_from_slice(WORDS[self.below(WORDS.len() as u64) as usize]);
            }
        }
        v.truncate(n);
        v
    }
}

/// What the image should contain at one path.
#[derive(Debug, Clone, PartialEq)]
pub enum Expect {
    Dir(Meta),
    File(Meta, Vec<u8>),
    Symlink(Meta, Vec<u8>),
    Special(Meta, FileType, u64),
    /// Hard link: same inode as this other path.
    LinkOf(String),
}

/// A random tree: the builder and the model (guest path -> expectation).
pub fn random_tree(
    rng: &mut Rng,
    entries: usize,
    block: u64,
) -> (ImageBuilder, BTreeMap<String, Expect>) {
    let mut b = ImageBuilder::new();
    b.set_threads(1 + rng.below(3) as usize);
    let mut model: BTreeMap<String, Expect> = BTreeMap::new();
    let mut dirs = vec![String::new()];
    let mut files: Vec<String> = Vec::new();
    let meta = |rng: &mut Rng| Meta {
        perm: rng.below(0o10000) as u32,
        uid: rng.below(3) as u32 * 1000,
        gid: rng.below(3) as u32 * 100,
        mtime_sec: rng.below(2_000_000_000) as i64 - 100,
        mtime_nsec: rng.below(1_000_000_000) as u32,
    };
    let name = |rng: &mut Rng| -> String {
        let len = match rng.below(10) {
            0 => 255,
            1 => 1,
            _ => 1 + rng.below(20) as usize,
        };
        (0..len)
            .map(|i| {
                let c = b"abcdefghijklmnopqrstuvwxyz0123456789._-"[rng.below(39) as usize] as char;
                if i == 0 && c == '.' {
                    'x'
                } else {
                    c
                }
            })
            .collect()
    };
    let mut added = 0;
    while added < entries {
        let parent = dirs[rng.below(dirs.len() as u64) as usize].clone();
        let path = format!("{parent}/{}", name(rng));
        if model.contains_key(&path) || path.ends_with("/..") || path.ends_with("/.") {
            continue;
        }
        let m = meta(rng);
        match rng.below(100) {
            0..=19 => {
                b.add_dir(&path, m).unwrap();
                model.insert(path.clone(), Expect::Dir(m));
                dirs.push(path);
            }
            20..=64 => {
                let size = match rng.below(10) {
                    0 => 0,
                    1 => block as usize * (1 + rng.below(5) as usize) + rng.below(3) as usize,
                    2 => rng.below(block * 3) as usize,
                    _ => rng.below(3000) as usize,
                };
                let mut data = if rng.chance(50) {
                    rng.text(size)
                } else {
                    rng.bytes(size)
                };
                // Sparse: zero some block-aligned ranges (and sometimes the tail).
                if size > 0 && rng.chance(30) {
                    let blocks = size.div_ceil(block as usize);
                    for bi in 0..blocks {
                        if rng.chance(50) {
                            let s = bi * block as usize;
                            let e = (s + block as usize).min(size);
                            data[s..e].fill(0);
                        }
                    }
                }
                // Duplicate content of an earlier file sometimes (dedup).
                b.add_file(&path, m, data.clone()).unwrap();
                model.insert(path.clone(), Expect::File(m, data));
                files.push(path);
            }
            65..=79 => {
                let max = if rng.chance(5) { 4095 } else { 60 };
                let tlen = 1 + rng.below(max) as usize;
                let target: Vec<u8> = (0..tlen).map(|_| 1 + rng.below(255) as u8).collect();
                b.add_symlink(&path, m, &target).unwrap();
                model.insert(path.clone(), Expect::Symlink(m, target));
            }
            80..=92 if !files.is_empty() => {
                let of = files[rng.below(files.len() as u64) as usize].clone();
                b.add_hardlink(&path, &of).unwrap();
                model.insert(path.clone(), Expect::LinkOf(of));
            }
            80..=92 => continue,
            _ => {
                let t = [
                    FileType::CharDevice,
                    FileType::BlockDevice,
                    FileType::Fifo,
                    FileType::Socket,
                ][rng.below(4) as usize];
                let rdev = if matches!(t, FileType::CharDevice | FileType::BlockDevice) {
                    rng.below(1 << 20)
                } else {
                    0
                };
                b.add_special(&path, m, t, rdev).unwrap();
                model.insert(path.clone(), Expect::Special(m, t, rdev));
            }
        }
        added += 1;
    }
    (b, model)
}

fn resolve<'a>(model: &'a BTreeMap<String, Expect>, p: &str) -> (&'a str, &'a Expect) {
    let (mut k, mut e) = model.get_key_value(p).expect("path in model");
    while let Expect::LinkOf(o) = e {
        (k, e) = model
            .get_key_value(o.as_str())
            .expect("link target in model");
    }
    (k.as_str(), e)
}

/// Checks the whole image against the model.
pub fn check_image<S: Storage>(r: &RofsReader<S>, model: &BTreeMap<String, Expect>, rng: &mut Rng) {
    let bs = r.block_size();
    // Every directory lists exactly its children, sorted.
    let mut children: BTreeMap<String, Vec<String>> = BTreeMap::new();
    children.insert(String::new(), Vec::new());
    for p in model.keys() {
        let (parent, name) = p.rsplit_once('/').unwrap();
        children
            .entry(parent.to_string())
            .or_default()
            .push(name.to_string());
        if matches!(model[p], Expect::Dir(_)) {
            children.entry(p.clone()).or_default();
        }
    }
    let mut inode_of: BTreeMap<String, u32> = BTreeMap::new();
    for (dir, names) in &children {
        let dino = r.lookup_path(dir.as_bytes()).unwrap().expect("dir exists");
        let info = r.inode(dino).unwrap();
        assert!(info.is_dir());
        let mut sorted: Vec<&[u8]> = names.iter().map(|n| n.as_bytes()).collect();
        sorted.sort();
        let listed: Vec<Vec<u8>> = r
            .read_dir(dino, 0)
            .unwrap()
            .map(|e| e.unwrap().name().to_vec())
            .collect();
        assert_eq!(
            listed,
            sorted.iter().map(|s| s.to_vec()).collect::<Vec<_>>(),
            "listing of {dir:?}"
        );
        // A cursor in the middle continues where it says.
        if !listed.is_empty() {
            let k = rng.below(listed.len() as u64);
            let rest: Vec<Vec<u8>> = r
                .read_dir(dino, k)
                .unwrap()
                .map(|e| e.unwrap().name().to_vec())
                .collect();
            assert_eq!(rest[..], listed[k as usize..]);
        }
        let subdirs = names
            .iter()
            .filter(|n| matches!(model.get(&format!("{dir}/{n}")), Some(Expect::Dir(_))))
            .count();
        assert_eq!(info.nlink as usize, 2 + subdirs, "nlink of {dir:?}");
        assert_eq!(r.lookup(dino, b".").unwrap(), Some(dino));
        let parent = match dir.rsplit_once('/') {
            Some((p, _)) => p,
            None => "",
        };
        assert_eq!(
            r.lookup(dino, b"..").unwrap(),
            r.lookup_path(parent.as_bytes()).unwrap()
        );
        assert_eq!(r.lookup(dino, b"no such name \xff").unwrap(), None);
    }
    let mut link_counts: BTreeMap<&str, u32> = BTreeMap::new();
    for p in model.keys() {
        let (canon, _) = resolve(model, p);
        *link_counts.entry(canon).or_default() += 1;
    }
    for (p, e) in model {
        let ino = r
            .lookup_path(p.as_bytes())
            .unwrap()
            .unwrap_or_else(|| panic!("{p} missing"));
        inode_of.insert(p.clone(), ino);
        let (canon, e2) = resolve(model, p);
        let info = r.inode(ino).unwrap();
        let check_meta = |m: &Meta, kind: FileType| {
            assert_eq!(info.kind, kind, "{p}");
            if kind != FileType::Symlink {
                assert_eq!(info.mode & 0o7777, m.perm, "{p}");
            }
            assert_eq!(info.mode & 0o170000, kind.mode_bits());
            assert_eq!((info.uid, info.gid), (m.uid, m.gid));
            assert_eq!(
                (info.mtime_sec, info.mtime_nsec),
                (m.mtime_sec, m.mtime_nsec)
            );
        };
        if let Expect::LinkOf(_) = e {
            assert_eq!(
                inode_of
                    .get(canon)
                    .copied()
                    .unwrap_or_else(|| r.lookup_path(canon.as_bytes()).unwrap().unwrap()),
                ino
            );
        }
        match e2 {
            Expect::Dir(m) => check_meta(m, FileType::Directory),
            Expect::File(m, data) => {
                check_meta(m, FileType::Regular);
                assert_eq!(info.nlink, link_counts[canon], "nlink of {p}");
                assert_eq!(info.size, data.len() as u64);
                let mut all = vec![0xAAu8; data.len() + 7];
                assert_eq!(r.read_file(ino, 0, &mut all).unwrap(), data.len());
                assert!(all[..data.len()] == data[..], "contents of {p}");
                for _ in 0..4 {
                    let off = rng.below(data.len() as u64 + 2);
                    let len = rng.below(bs * 2 + 10) as usize;
                    let mut buf = vec![0x55u8; len];
                    let n = r.read_file(ino, off, &mut buf).unwrap();
                    let want =
                        &data[(off as usize).min(data.len())..(off as usize + len).min(data.len())];
                    assert_eq!(n, want.len());
                    assert!(buf[..n] == *want, "range {off}+{len} of {p}");
                }
                // SEEK_DATA / SEEK_HOLE agree with the all-zero blocks.
                let zero_block = |bi: u64| {
                    let s = (bi * bs) as usize;
                    let e = (s + bs as usize).min(data.len());
                    data[s..e].iter().all(|&x| x == 0)
                };
                let size = data.len() as u64;
                let off = rng.below(size + 1);
                let want_data = (off / bs..size.div_ceil(bs))
                    .find(|&b| !zero_block(b))
                    .map(|b| (b * bs).max(off));
                let want_hole = if off >= size {
                    None
                } else {
                    Some(
                        (off / bs..size.div_ceil(bs))
                            .find(|&b| zero_block(b))
                            .map_or(size, |b| (b * bs).max(off)),
                    )
                };
                assert_eq!(
                    r.next_data(ino, off).unwrap(),
                    if off >= size { None } else { want_data },
                    "SEEK_DATA {off} {p}"
                );
                assert_eq!(
                    r.next_hole(ino, off).unwrap(),
                    want_hole,
                    "SEEK_HOLE {off} {p}"
                );
            }
            Expect::Symlink(m, t) => {
                check_meta(m, FileType::Symlink);
                assert_eq!(info.mode & 0o7777, 0o777);
                assert_eq!(r.read_link_vec(ino).unwrap(), *t);
                assert_eq!(info.size, t.len() as u64);
            }
            Expect::Special(m, t, rdev) => {
                check_meta(m, *t);
                assert_eq!(info.rdev, *rdev);
                assert_eq!(info.nlink, link_counts[canon]);
            }
            Expect::LinkOf(_) => unreachable!(),
        }
    }
    let sf = r.statfs();
    assert_eq!(sf.block_size, bs);
    assert!(sf.files >= model.len() as u64 / 2);
}
