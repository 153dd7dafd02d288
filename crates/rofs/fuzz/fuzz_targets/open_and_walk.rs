//! Opens arbitrary bytes as an image and reads everything reachable.
//! Any panic, hang or huge allocation is a bug: damaged images must give
//! errors. Seed corpus: images from `oxv build` or the crate's tests.
#![no_main]

use std::collections::BTreeSet;

use libfuzzer_sys::fuzz_target;
use oxv_rofs::RofsReader;

fuzz_target!(|data: &[u8]| {
    let Ok(r) = RofsReader::with_cache_budget(data, 1 << 16) else {
        return;
    };
    let mut seen = BTreeSet::new();
    let mut queue = vec![r.root()];
    let mut buf = vec![0u8; 1 << 16];
    while let Some(ino) = queue.pop() {
        if !seen.insert(ino) || seen.len() > 256 {
            continue;
        }
        let Ok(info) = r.inode(ino) else { continue };
        let _ = r.read_link_vec(ino);
        let _ = r.read_file(ino, 0, &mut buf);
        let _ = r.read_file(ino, info.size.saturating_sub(100), &mut buf);
        let _ = r.next_data(ino, 0);
        let _ = r.next_hole(ino, 0);
        let _ = r.lookup(ino, b"a");
        if let Ok(entries) = r.read_dir(ino, 0) {
            for e in entries.take(256).flatten() {
                let _ = r.lookup(ino, e.name());
                queue.push(e.ino);
            }
        }
    }
    let _ = r.statfs();
});
