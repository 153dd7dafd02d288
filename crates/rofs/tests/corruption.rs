//! Damaged images: every error is an error (EIO for damage), never a
//! panic and never wrong bytes.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{random_tree, Expect, Rng};
use oxv_rofs::crc32c::crc32c;
use oxv_rofs::format::SUPERBLOCK_LEN;
use oxv_rofs::{errno, FileType, ImageBuilder, Meta, RofsError, RofsReader, Storage};

fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

#[test]
fn flipped_byte_in_a_compressed_block_is_eio_for_that_file_only() {
    let mut rng = Rng::new(3);
    let a = rng.text(200_000);
    let b_data = rng.text(200_000);
    let mut b = ImageBuilder::new();
    b.add_file("/a", Meta::new(0o644), a.clone()).unwrap();
    b.add_file("/b", Meta::new(0o644), b_data.clone()).unwrap();
    let mut img = b.to_vec().unwrap();
    let r = RofsReader::open(&img[..]).unwrap();
    let ia = r.lookup_path(b"/a").unwrap().unwrap();
    let ib = r.lookup_path(b"/b").unwrap().unwrap();
    // /a's data comes first in the data area: flip a byte in its first block.
    let data_off = r.superblock().data_off as usize;
    drop(r);
    img[data_off + 10] ^= 0x40;
    let r = RofsReader::open(&img[..]).unwrap();
    let mut buf = vec![0u8; 1000];
    let e = r.read_file(ia, 0, &mut buf).unwrap_err();
    assert_eq!(e, RofsError::Checksum("data block"));
    assert_eq!(e.errno(), errno::EIO);
    // Other blocks of /a and all of /b still read.
    let bs = r.block_size();
    let mut rest = vec![0u8; a.len() - bs as usize];
    assert_eq!(r.read_file(ia, bs, &mut rest).unwrap(), rest.len());
    assert!(rest == a[bs as usize..]);
    let mut all = vec![0u8; b_data.len()];
    assert_eq!(r.read_file(ib, 0, &mut all).unwrap(), b_data.len());
    assert!(all == b_data);
}

fn small_image() -> (Vec<u8>, BTreeMap<String, Expect>) {
    let mut rng = Rng::new(42);
    let (mut b, model) = random_tree(&mut rng, 25, 4096);
    b.set_block_size(4096).unwrap();
    (b.to_vec().unwrap(), model)
}

/// Walks the image comparing every successful answer with the model;
/// errors are fine, wrong answers are not.
fn walk_checked<S: Storage>(r: &RofsReader<S>, model: &BTreeMap<String, Expect>) {
    for (p, e) in model {
        let Ok(Some(ino)) = r.lookup_path(p.as_bytes()) else {
            // Ok(None) would be a wrong answer: the path exists.
            assert!(r.lookup_path(p.as_bytes()).is_err(), "{p} vanished");
            continue;
        };
        let Ok(info) = r.inode(ino) else { continue };
        let mut e = e;
        while let Expect::LinkOf(o) = e {
            e = &model[o];
        }
        match e {
            Expect::Dir(m) => assert_eq!(
                (info.kind, info.mode & 0o7777),
                (FileType::Directory, m.perm)
            ),
            Expect::File(m, data) => {
                assert_eq!(
                    (info.kind, info.mode & 0o7777, info.size),
                    (FileType::Regular, m.perm, data.len() as u64)
                );
                let mut buf = vec![0u8; data.len()];
                if let Ok(n) = r.read_file(ino, 0, &mut buf) {
                    assert_eq!(n, data.len());
                    assert!(buf == *data, "wrong bytes from {p}");
                }
            }
            Expect::Symlink(_, t) => {
                if let Ok(got) = r.read_link_vec(ino) {
                    assert_eq!(got, *t, "wrong target of {p}");
                }
            }
            Expect::Special(m, t, rdev) => assert_eq!(
                (info.kind, info.mode & 0o7777, info.rdev),
                (*t, m.perm, *rdev)
            ),
            Expect::LinkOf(_) => unreachable!(),
        }
        if info.is_dir() {
            if let Ok(it) = r.read_dir(ino, 0) {
                for ent in it.flatten() {
                    let child = format!("{p}/{}", String::from_utf8_lossy(ent.name()));
                    assert!(model.contains_key(&child), "invented entry {child}");
                }
            }
        }
    }
}

#[test]
fn every_truncation_is_an_error() {
    let (img, _) = small_image();
    for n in 0..img.len() {
        let e = RofsReader::open(&img[..n]).unwrap_err();
        assert_eq!(e.errno(), errno::EIO, "prefix {n}: {e:?}");
    }
    assert!(RofsReader::open(&img[..]).is_ok());
}

#[test]
fn every_header_byte_corruption_is_an_error() {
    let (img, _) = small_image();
    for i in 0..SUPERBLOCK_LEN {
        for v in [0x01u8, 0x80, 0xff] {
            let mut b = img.clone();
            b[i] ^= v;
            assert!(
                RofsReader::open(&b[..]).is_err(),
                "byte {i} ^ {v:#x} accepted"
            );
        }
    }
}

#[test]
fn every_single_byte_corruption_gives_errors_or_right_answers() {
    let (img, model) = small_image();
    for i in 0..img.len() {
        for v in [0x01u8, 0x10, 0xff] {
            let mut b = img.clone();
            b[i] ^= v;
            if let Ok(r) = RofsReader::with_cache_budget(&b[..], 64 << 10) {
                walk_checked(&r, &model);
            }
        }
    }
}

/// Recomputes every checksum so mutations reach the deeper range checks
/// and the decompressor.
fn reseal(img: &mut [u8]) {
    if img.len() < SUPERBLOCK_LEN {
        return;
    }
    let inode_off = u64_at(img, 32) as usize;
    let inodes = u32::from_le_bytes(img[40..44].try_into().unwrap()) as usize;
    let dirent_off = u64_at(img, 48) as usize;
    let dirents = u32::from_le_bytes(img[56..60].try_into().unwrap()) as usize;
    let bmap_off = u64_at(img, 64) as usize;
    let bmaps = u64_at(img, 72).min(1 << 20) as usize;
    let strings_off = u64_at(img, 80) as usize;
    for i in 0..inodes.min(1 << 16) {
        let o = inode_off.saturating_add(i * 64);
        if o.saturating_add(64) > img.len() {
            break;
        }
        let crc = oxv_rofs::crc32c::update(crc32c(&(i as u32 + 1).to_le_bytes()), &img[o..o + 60]);
        img[o + 60..o + 64].copy_from_slice(&crc.to_le_bytes());
    }
    for i in 0..dirents.min(1 << 16) {
        let o = dirent_off.saturating_add(i * 16);
        if o.saturating_add(16) > img.len() {
            break;
        }
        let name_off = u32::from_le_bytes(img[o + 4..o + 8].try_into().unwrap()) as usize;
        let name_len = u16::from_le_bytes(img[o + 8..o + 10].try_into().unwrap()) as usize;
        let ns = strings_off.saturating_add(name_off);
        let Some(name) = img.get(ns..ns.saturating_add(name_len)) else {
            continue;
        };
        let mut h = [0u8; 15];
        h[..4].copy_from_slice(&(i as u32).to_le_bytes());
        h[4..14].copy_from_slice(&img[o..o + 10]);
        h[14] = img[o + 10];
        let crc = oxv_rofs::crc32c::update(crc32c(&h), name);
        img[o + 12..o + 16].copy_from_slice(&crc.to_le_bytes());
    }
    for i in 0..bmaps {
        let o = bmap_off.saturating_add(i * 16);
        if o.saturating_add(16) > img.len() {
            break;
        }
        let off = u64_at(img, o) as usize;
        let len = u32::from_le_bytes(img[o + 8..o + 12].try_into().unwrap()) as usize;
        if let Some(stored) = img.get(off..off.saturating_add(len)) {
            if len > 0 {
                let crc = crc32c(stored);
                img[o + 12..o + 16].copy_from_slice(&crc.to_le_bytes());
            }
        }
    }
    let crc = crc32c(&img[..124]);
    img[124..128].copy_from_slice(&crc.to_le_bytes());
}

/// Reads everything reachable, ignoring errors, with bounded work.
fn walk_anything<S: Storage>(r: &RofsReader<S>) {
    let mut seen = BTreeSet::new();
    let mut queue = vec![r.root()];
    let mut buf = vec![0u8; 70_000];
    while let Some(ino) = queue.pop() {
        if !seen.insert(ino) || seen.len() > 500 {
            continue;
        }
        let Ok(info) = r.inode(ino) else { continue };
        let _ = r.read_link_vec(ino);
        let _ = r.read_file(ino, 0, &mut buf);
        let _ = r.read_file(ino, info.size.saturating_sub(10), &mut buf);
        let _ = r.next_data(ino, 0);
        let _ = r.next_hole(ino, 0);
        let _ = r.lookup(ino, b"x");
        let _ = r.lookup(ino, b"..");
        if let Ok(it) = r.read_dir(ino, 0) {
            for e in it.take(1000).flatten() {
                let _ = r.lookup(ino, e.name());
                queue.push(e.ino);
            }
        }
    }
    let _ = r.statfs();
}

#[test]
fn fuzz_smoke_mutated_images_never_panic() {
    let (base, _) = small_image();
    let mut rng = Rng::new(0xf022);
    let mut opened = 0;
    for round in 0..3000 {
        let mut img = base.clone();
        let muts = 1 + rng.below(8);
        for _ in 0..muts {
            match rng.below(6) {
                2 if img.len() > 8 => {
                    // A random 4- or 8-byte field set to an extreme value.
                    let i = rng.below(img.len() as u64 - 8) as usize;
                    let v: u64 =
                        [0, u64::MAX, u32::MAX as u64, 1 << 31, rng.next()][rng.below(5) as usize];
                    let w = if rng.chance(50) { 4 } else { 8 };
                    img[i..i + w].copy_from_slice(&v.to_le_bytes()[..w]);
                }
                0 | 2 => {
                    let i = rng.below(img.len() as u64) as usize;
                    img[i] ^= 1 << rng.below(8);
                }
                1 => {
                    let i = rng.below(img.len() as u64) as usize;
                    img[i] = rng.next() as u8;
                }
                3 => {
                    let n = rng.below(img.len() as u64) as usize;
                    img.truncate(n.max(1));
                }
                4 => {
                    // Copy a chunk of the image over another place.
                    let len = 1 + rng.below(64) as usize;
                    if img.len() > 2 * len {
                        let s = rng.below((img.len() - len) as u64) as usize;
                        let d = rng.below((img.len() - len) as u64) as usize;
                        let chunk = img[s..s + len].to_vec();
                        img[d..d + len].copy_from_slice(&chunk);
                    }
                }
                _ => {
                    let n = rng.below(100) as usize;
                    let extra = rng.bytes(n);
                    img.extend_from_slice(&extra);
                }
            }
        }
        if round % 2 == 0 {
            reseal(&mut img);
        }
        if let Ok(r) = RofsReader::with_cache_budget(&img[..], [0, 8192, 1 << 20][round % 3]) {
            opened += 1;
            walk_anything(&r);
        }
    }
    // The resealed half mostly gets past the superblock checks.
    assert!(opened > 500, "only {opened} mutated images opened");
}
