//! Concurrency: readdir under concurrent removal (OSv #68), independent
//! per-file locking, parallel readers and writers, atomic appends, and a
//! rename/rmdir stress run that must neither deadlock nor corrupt link
//! counts. Every multi-threaded test runs under a watchdog, so a deadlock
//! fails instead of hanging.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use oxv_vfs::node::{read_all, read_dir_all, same_inode, FileType};
use oxv_vfs::ramfs::{MemoryBudget, RamFs, RamFsConfig, PAGE_SIZE};
use oxv_vfs::{DirCursor, Errno, InodeRef};

/// Runs `f` on a thread and fails if it does not finish in time.
fn with_watchdog<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let h = thread::spawn(f);
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !h.is_finished() {
        assert!(
            Instant::now() < deadline,
            "deadlock: not finished in {secs} s"
        );
        thread::sleep(Duration::from_millis(5));
    }
    h.join().unwrap()
}

/// Deterministic shuffle (xorshift), so failures reproduce.
fn shuffled(mut v: Vec<usize>, seed: u64) -> Vec<usize> {
    let mut x = seed | 1;
    for i in (1..v.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
    v
}

/// Lists `dir` a few entries per call, resuming from cursors.
fn list_in_small_steps(dir: &InodeRef, step: usize) -> Vec<Vec<u8>> {
    let mut cur = DirCursor::Start;
    let mut out = Vec::new();
    loop {
        let mut got = 0;
        let mut next = cur.clone();
        dir.read_dir(&cur, &mut |e| {
            if got == step {
                return false;
            }
            got += 1;
            out.push(e.name);
            next = e.next;
            true
        })
        .unwrap();
        if got == 0 {
            return out;
        }
        cur = next;
        thread::yield_now();
    }
}

#[test]
fn readdir_under_concurrent_removal_never_skips_or_repeats() {
    with_watchdog(120, || {
        // Readers that saw some but not all removed entries: the removal
        // really ran during their listing.
        let mut overlapped = 0;
        for round in 0..6u64 {
            let fs = RamFs::new(RamFsConfig::default());
            let d = fs.root().mkdir(b"d", 0o755, 0, 0).unwrap();
            let n = 3000;
            for i in 0..n {
                d.create(format!("f{i:05}").as_bytes(), 0o644, 0, 0)
                    .unwrap();
            }
            // Remove every odd entry in random order while readers list;
            // also add new entries (which may or may not be seen).
            let start = Arc::new(Barrier::new(4));
            let remover = {
                let (d, start) = (d.clone(), start.clone());
                thread::spawn(move || {
                    start.wait();
                    let odd: Vec<usize> = (0..n).filter(|i| i % 2 == 1).collect();
                    for (k, i) in shuffled(odd, round + 7).into_iter().enumerate() {
                        d.unlink(format!("f{i:05}").as_bytes()).unwrap();
                        if k % 7 == 0 {
                            d.create(format!("g{k:05}").as_bytes(), 0o644, 0, 0)
                                .unwrap();
                        }
                        if k % 8 == 0 {
                            // Interleave with the readers even on one CPU.
                            thread::yield_now();
                        }
                    }
                })
            };
            let readers: Vec<_> = (0..3)
                .map(|r| {
                    let (d, start) = (d.clone(), start.clone());
                    thread::spawn(move || {
                        start.wait();
                        list_in_small_steps(&d, 1 + r * 2)
                    })
                })
                .collect();
            remover.join().unwrap();
            for r in readers {
                let names = r.join().unwrap();
                assert_eq!(&names[..2], &[b".".to_vec(), b"..".to_vec()]);
                let rest = &names[2..];
                // Strictly increasing: no repeats, no going back.
                assert!(rest.windows(2).all(|w| w[0] < w[1]), "order broken");
                let set: HashSet<&Vec<u8>> = rest.iter().collect();
                let odd_seen = (0..n)
                    .filter(|i| i % 2 == 1)
                    .filter(|i| set.contains(&format!("f{i:05}").into_bytes()))
                    .count();
                if odd_seen > 0 && odd_seen < n / 2 {
                    overlapped += 1;
                }
                for i in (0..n).step_by(2) {
                    let name = format!("f{i:05}").into_bytes();
                    assert!(
                        set.contains(&name),
                        "skipped {}",
                        String::from_utf8_lossy(&name)
                    );
                }
            }
        }
        eprintln!("readers overlapping removal: {overlapped} of 18");
        assert!(overlapped > 0, "removal never overlapped a listing");
    });
}

/// A budget that blocks the first reservation after being armed until
/// released: it stalls a writer *inside* `write_at` with its file locked.
#[derive(Default)]
struct Gate {
    armed: AtomicBool,
    inside: AtomicBool,
    release: AtomicBool,
}

impl MemoryBudget for Gate {
    fn reserve(&self, _pages: usize) -> bool {
        if self.armed.swap(false, Ordering::SeqCst) {
            self.inside.store(true, Ordering::SeqCst);
            while !self.release.load(Ordering::SeqCst) {
                thread::yield_now();
            }
        }
        true
    }
    fn release(&self, _pages: usize) {}
}

#[test]
fn a_stalled_write_does_not_block_other_files() {
    let gate = Arc::new(Gate::default());
    let fs = Arc::new(RamFs::new(RamFsConfig {
        budget: gate.clone(),
        ..RamFsConfig::default()
    }));
    let root = fs.root();
    let a = root.create(b"a", 0o644, 0, 0).unwrap();
    let b = root.create(b"b", 0o644, 0, 0).unwrap();
    b.write_at(0, &[1u8; 2 * PAGE_SIZE]).unwrap();
    gate.armed.store(true, Ordering::SeqCst);
    let writer = {
        let a = a.clone();
        thread::spawn(move || a.write_at(0, b"stalled").unwrap())
    };
    while !gate.inside.load(Ordering::SeqCst) {
        thread::yield_now();
    }
    // File `a` is locked for writing by the stalled writer. Everything
    // else must proceed.
    let ok = with_watchdog(20, move || {
        let mut buf = [0u8; 16];
        assert_eq!(b.read_at(10, &mut buf).unwrap(), 16);
        assert_eq!(b.write_at(100, b"other file").unwrap(), 10);
        assert_eq!(b.metadata().size, 2 * PAGE_SIZE as u64);
        let c = root.create(b"c", 0o644, 0, 0).unwrap();
        assert_eq!(read_all(&*c).unwrap(), b"");
        root.rename(b"c", &root, b"d", 0).unwrap();
        root.link(b"b2", &b).unwrap();
        root.unlink(b"b2").unwrap();
        assert_eq!(read_dir_all(&*root).unwrap().len(), 5);
        assert!(root.lookup(b"a").is_ok());
        true
    });
    assert!(ok);
    gate.release.store(true, Ordering::SeqCst);
    assert_eq!(writer.join().unwrap(), 7);
    assert_eq!(read_all(&*a).unwrap(), b"stalled");
}

#[test]
fn parallel_readers_and_writers_on_different_files() {
    with_watchdog(120, || {
        let fs = RamFs::new(RamFsConfig::default());
        let root = fs.root();
        let shared = root.create(b"shared", 0o644, 0, 0).unwrap();
        let content: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 256) as u8).collect();
        shared.write_at(0, &content).unwrap();
        let content = Arc::new(content);
        let start = Arc::new(Barrier::new(12));
        let mut handles = Vec::new();
        for t in 0..8u32 {
            let (root, start) = (root.clone(), start.clone());
            handles.push(thread::spawn(move || {
                let f = root
                    .create(format!("w{t}").as_bytes(), 0o644, 0, 0)
                    .unwrap();
                start.wait();
                let mut expect = Vec::new();
                let mut off = 0u64;
                for k in 0..2000u32 {
                    let len = (k * 31 + t) as usize % 300 + 1;
                    let chunk: Vec<u8> = (0..len).map(|i| (i as u32 ^ k ^ t) as u8).collect();
                    assert_eq!(f.write_at(off, &chunk).unwrap(), len);
                    off += len as u64;
                    expect.extend_from_slice(&chunk);
                    if k % 100 == 0 {
                        let mut back = vec![0u8; len];
                        f.read_at(off - len as u64, &mut back).unwrap();
                        assert_eq!(back, chunk);
                    }
                }
                assert_eq!(read_all(&*f).unwrap(), expect);
            }));
        }
        for _ in 0..4 {
            let (shared, start, content) = (shared.clone(), start.clone(), content.clone());
            handles.push(thread::spawn(move || {
                start.wait();
                for k in 0..300u64 {
                    let off = (k * 977) % 290_000;
                    let mut buf = [0u8; 4096];
                    let n = shared.read_at(off, &mut buf).unwrap();
                    assert_eq!(&buf[..n], &content[off as usize..off as usize + n]);
                }
            }));
        }
        for h in handles {
            h.join().unwrap();
        }
    });
}

#[test]
fn concurrent_appends_are_atomic() {
    with_watchdog(60, || {
        let fs = RamFs::new(RamFsConfig::default());
        let f = fs.root().create(b"log", 0o644, 0, 0).unwrap();
        let threads = 6;
        let per = 500;
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let f = f.clone();
                thread::spawn(move || {
                    for k in 0..per {
                        let rec = format!("[{t}:{k:04}:{}]\n", "x".repeat(k % 50));
                        let (_, n) = f.append(rec.as_bytes()).unwrap();
                        assert_eq!(n, rec.len());
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let text = String::from_utf8(read_all(&*f).unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), threads * per);
        let mut seen = HashSet::new();
        for l in lines {
            let inner = l
                .strip_prefix('[')
                .and_then(|l| l.strip_suffix(']'))
                .unwrap();
            let mut parts = inner.split(':');
            let (t, k, xs) = (
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap(),
            );
            let k: usize = k.parse().unwrap();
            assert_eq!(xs.len(), k % 50);
            assert!(seen.insert((t.to_string(), k)));
        }
    });
}

/// Check that every directory's nlink is 2 + subdirectories and every `..`
/// points back at the directory listing it.
fn check_tree(dir: &InodeRef) {
    let mut subdirs = 0;
    for e in read_dir_all(&**dir).unwrap().into_iter().skip(2) {
        let child = dir.lookup(&e.name).unwrap();
        if child.file_type() == FileType::Directory {
            subdirs += 1;
            assert!(same_inode(&*child.lookup(b"..").unwrap(), &**dir));
            check_tree(&child);
        }
    }
    assert_eq!(dir.metadata().nlink, 2 + subdirs);
}

#[test]
fn rename_rmdir_mkdir_stress_no_deadlock() {
    with_watchdog(120, || {
        let fs = RamFs::new(RamFsConfig::default());
        let root = fs.root();
        let a = root.mkdir(b"a", 0o755, 0, 0).unwrap();
        let b = root.mkdir(b"b", 0o755, 0, 0).unwrap();
        let x = a.mkdir(b"x", 0o755, 0, 0).unwrap();
        x.mkdir(b"in", 0o755, 0, 0).unwrap();
        b.mkdir(b"y", 0o755, 0, 0)
            .unwrap()
            .mkdir(b"in", 0o755, 0, 0)
            .unwrap();
        let keep_a = a.mkdir(b"keep", 0o755, 0, 0).unwrap();
        let deep_b = b
            .mkdir(b"keep", 0o755, 0, 0)
            .unwrap()
            .mkdir(b"deep", 0o755, 0, 0)
            .unwrap();
        let ops = Arc::new(AtomicUsize::new(0));
        let start = Arc::new(Barrier::new(5));
        let mut handles = Vec::new();
        // Move `x` back and forth between a and b (either direction works,
        // whichever currently holds it).
        for t in 0..2 {
            let (a, b, start, ops) = (a.clone(), b.clone(), start.clone(), ops.clone());
            handles.push(thread::spawn(move || {
                start.wait();
                for i in 0..3000 {
                    let (from, to) = if (i + t) % 2 == 0 { (&a, &b) } else { (&b, &a) };
                    match from.rename(b"x", to, b"x", 0) {
                        Ok(()) | Err(Errno::ENOENT) => {}
                        Err(e) => panic!("rename x: {e}"),
                    }
                    // Exchange the two subdirectories across parents.
                    match from.rename(b"x", to, b"y", oxv_vfs::node::RENAME_EXCHANGE) {
                        Ok(()) | Err(Errno::ENOENT) => {}
                        Err(e) => panic!("exchange: {e}"),
                    }
                    ops.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        // Try to move a and b into their own subtrees (always EINVAL),
        // racing with the movers that change the tree around them.
        {
            let (root, start) = (root.clone(), start.clone());
            handles.push(thread::spawn(move || {
                start.wait();
                for i in 0..3000 {
                    let (name, inside) = if i % 2 == 0 {
                        (&b"a"[..], &keep_a)
                    } else {
                        (&b"b"[..], &deep_b)
                    };
                    match root.rename(name, inside, b"z", 0) {
                        Err(Errno::EINVAL) => {}
                        r => panic!("cycle rename: {r:?}"),
                    }
                }
            }));
        }
        // mkdir/rmdir churn inside both.
        for t in 0..2 {
            let (a, b, start) = (a.clone(), b.clone(), start.clone());
            handles.push(thread::spawn(move || {
                start.wait();
                for i in 0..3000 {
                    let d = if (i + t) % 2 == 0 { &a } else { &b };
                    let name = format!("t{t}");
                    let _ = d.mkdir(name.as_bytes(), 0o755, 0, 0);
                    match d.rmdir(name.as_bytes()) {
                        Ok(()) | Err(Errno::ENOENT) => {}
                        Err(e) => panic!("rmdir: {e}"),
                    }
                    // Removing a busy directory fails cleanly.
                    match d.rmdir(b"x") {
                        Err(Errno::ENOTEMPTY) | Err(Errno::ENOENT) => {}
                        r => panic!("rmdir x: {r:?}"),
                    }
                }
            }));
        }
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(ops.load(Ordering::Relaxed), 6000);
        check_tree(&root);
        // Exactly one `x` and one `y` survive somewhere under a or b.
        let all: Vec<Vec<u8>> = [&a, &b]
            .iter()
            .flat_map(|d| {
                read_dir_all(&***d)
                    .unwrap()
                    .into_iter()
                    .skip(2)
                    .map(|e| e.name)
            })
            .collect();
        let mut all_sorted: Vec<Vec<u8>> = all.into_iter().filter(|n| n != b"keep").collect();
        all_sorted.sort();
        assert_eq!(all_sorted, [b"x".to_vec(), b"y".to_vec()]);
    });
}
