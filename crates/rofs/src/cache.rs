//! The decompressed-block cache: an LRU over shared buffers with a byte
//! budget set by the caller.
//!
//! Keys are `(image offset, stored length)`: a data block is named by where
//! its stored bytes are (so deduplicated blocks share one entry), a
//! metadata page by its offset with length 0. The cache holds no lock
//! while anything is read or decompressed: the reader looks up under the
//! lock, releases it, does the work, and inserts under the lock again
//! (two readers missing the same block both decompress it; the second
//! insert is dropped). [`Cache::shrink`] is what the kernel calls under
//! memory pressure.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// Cache key: (image offset, stored length; 0 for metadata pages).
pub(crate) type Key = (u64, u32);

/// Bytes charged per entry on top of its buffer (maps, Arc header).
const ENTRY_OVERHEAD: usize = 96;

/// Cache statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups that found the block.
    pub hits: u64,
    /// Lookups that did not.
    pub misses: u64,
    /// Bytes held now (buffers plus bookkeeping).
    pub bytes: usize,
    /// Entries held now.
    pub entries: usize,
    /// The byte budget.
    pub budget: usize,
}

#[derive(Debug)]
pub(crate) struct Cache {
    map: BTreeMap<Key, (Arc<Vec<u8>>, u64)>,
    lru: BTreeMap<u64, Key>,
    clock: u64,
    bytes: usize,
    budget: usize,
    hits: u64,
    misses: u64,
}

fn cost(buf: &[u8]) -> usize {
    buf.len() + ENTRY_OVERHEAD
}

impl Cache {
    pub(crate) const fn new(budget: usize) -> Self {
        Cache {
            map: BTreeMap::new(),
            lru: BTreeMap::new(),
            clock: 0,
            bytes: 0,
            budget,
            hits: 0,
            misses: 0,
        }
    }

    pub(crate) fn get(&mut self, key: Key) -> Option<Arc<Vec<u8>>> {
        let Some((buf, stamp)) = self.map.get_mut(&key) else {
            self.misses += 1;
            return None;
        };
        self.hits += 1;
        self.clock += 1;
        self.lru.remove(stamp);
        *stamp = self.clock;
        self.lru.insert(self.clock, key);
        Some(buf.clone())
    }

    pub(crate) fn insert(&mut self, key: Key, buf: Arc<Vec<u8>>) {
        let c = cost(&buf);
        if c > self.budget || self.map.contains_key(&key) {
            return;
        }
        while self.bytes + c > self.budget {
            if self.evict_one() == 0 {
                break;
            }
        }
        self.clock += 1;
        self.lru.insert(self.clock, key);
        self.map.insert(key, (buf, self.clock));
        self.bytes += c;
    }

    /// Evicts the least recently used entry; returns the bytes freed.
    fn evict_one(&mut self) -> usize {
        let Some((_, key)) = self.lru.pop_first() else {
            return 0;
        };
        match self.map.remove(&key) {
            Some((buf, _)) => {
                let c = cost(&buf);
                self.bytes -= c;
                c
            }
            None => 0,
        }
    }

    /// Frees at least `want` bytes if the cache holds that much; returns
    /// the bytes freed.
    pub(crate) fn shrink(&mut self, want: usize) -> usize {
        let mut freed = 0;
        while freed < want {
            let f = self.evict_one();
            if f == 0 {
                break;
            }
            freed += f;
        }
        freed
    }

    pub(crate) fn set_budget(&mut self, budget: usize) {
        self.budget = budget;
        while self.bytes > self.budget && self.evict_one() > 0 {}
    }

    pub(crate) fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits,
            misses: self.misses,
            bytes: self.bytes,
            entries: self.map.len(),
            budget: self.budget,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn buf(n: usize) -> Arc<Vec<u8>> {
        Arc::new(vec![0u8; n])
    }

    #[test]
    fn lru_eviction_and_budget() {
        let mut c = Cache::new(3 * (100 + ENTRY_OVERHEAD));
        c.insert((1, 1), buf(100));
        c.insert((2, 1), buf(100));
        c.insert((3, 1), buf(100));
        assert!(c.get((1, 1)).is_some()); // 1 is now the most recent
        c.insert((4, 1), buf(100)); // evicts 2
        assert!(c.get((2, 1)).is_none());
        assert!(c.get((1, 1)).is_some());
        assert!(c.get((3, 1)).is_some());
        assert!(c.get((4, 1)).is_some());
        assert_eq!(c.stats().entries, 3);
        // Too big for the budget: not cached at all.
        c.insert((5, 1), buf(10_000));
        assert!(c.get((5, 1)).is_none());
        assert_eq!(c.stats().entries, 3);
        let freed = c.shrink(1);
        assert_eq!(freed, 100 + ENTRY_OVERHEAD);
        assert_eq!(c.stats().entries, 2);
        c.set_budget(0);
        assert_eq!(c.stats().bytes, 0);
        assert_eq!(c.shrink(1000), 0);
        c.insert((6, 1), buf(1));
        assert_eq!(c.stats().entries, 0);
    }
}
