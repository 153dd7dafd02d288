//! Host tests of the split virtqueue against a Vec-backed memory and a
//! fake device that consumes the available ring and produces the used ring
//! exactly as 2.7 describes, in any completion order.

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;

use super::*;

/// Guest "physical" memory: `len` bytes starting at `BASE`.
#[derive(Debug)]
struct FakeMem {
    bytes: RefCell<Vec<u8>>,
}

const BASE: u64 = 0x10_0000;

impl FakeMem {
    fn new(len: usize) -> Self {
        Self {
            bytes: RefCell::new(vec![0xa5; len]),
        }
    }

    fn range(&self, pa: u64, len: usize) -> core::ops::Range<usize> {
        let off = usize::try_from(pa.checked_sub(BASE).expect("address below memory")).unwrap();
        assert!(
            off + len <= self.bytes.borrow().len(),
            "address {pa:#x}+{len} beyond memory"
        );
        off..off + len
    }
}

impl DmaMemory for FakeMem {
    fn read(&self, pa: u64, out: &mut [u8]) {
        let r = self.range(pa, out.len());
        out.copy_from_slice(&self.bytes.borrow()[r]);
    }
    fn write(&self, pa: u64, data: &[u8]) {
        let r = self.range(pa, data.len());
        self.bytes.borrow_mut()[r].copy_from_slice(data);
    }
}

/// The device side of a split queue, following 2.7 from the device's view.
struct FakeDevice {
    layout: QueueLayout,
    last_avail: u16,
    used_idx: u16,
    /// Chains taken from the available ring, not yet used: (head, bytes written, descriptors).
    pending: Vec<(u16, u32, Vec<u16>)>,
}

impl FakeDevice {
    fn new(layout: QueueLayout) -> Self {
        Self {
            layout,
            last_avail: 0,
            used_idx: 0,
            pending: Vec::new(),
        }
    }

    fn in_use(&self, d: u16) -> bool {
        self.pending.iter().any(|(_, _, ds)| ds.contains(&d))
    }

    /// Takes every new available entry; fills writable buffers with the
    /// head's low byte; checks the chain rules of 2.7.5 and 2.7.4.
    fn consume(&mut self, mem: &FakeMem) {
        let idx = mem.read_u16(self.layout.avail + 2);
        while self.last_avail != idx {
            let slot = self.last_avail % self.layout.size;
            let head = mem.read_u16(self.layout.avail + 4 + 2 * u64::from(slot));
            assert!(head < self.layout.size, "head out of range");
            let mut d = head;
            let mut seen = Vec::new();
            let mut written = 0u32;
            let mut saw_writable = false;
            loop {
                assert!(!seen.contains(&d), "descriptor loop");
                assert!(!self.in_use(d), "descriptor {d} in two chains");
                seen.push(d);
                assert!(seen.len() <= usize::from(self.layout.size));
                let at = self.layout.desc + 16 * u64::from(d);
                let mut raw = [0u8; 16];
                mem.read(at, &mut raw);
                let addr = u64::from_le_bytes(raw[0..8].try_into().unwrap());
                let len = u32::from_le_bytes(raw[8..12].try_into().unwrap());
                let flags = u16::from_le_bytes(raw[12..14].try_into().unwrap());
                let next = u16::from_le_bytes(raw[14..16].try_into().unwrap());
                assert_eq!(flags & !(VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE), 0);
                if flags & VIRTQ_DESC_F_WRITE != 0 {
                    saw_writable = true;
                    mem.write(addr, &vec![head as u8; len as usize]);
                    written += len;
                } else {
                    assert!(!saw_writable, "readable after writable");
                    let mut b = vec![0; len as usize];
                    mem.read(addr, &mut b);
                    assert!(b.iter().all(|&x| x == 0x11), "device read wrong data");
                }
                if flags & VIRTQ_DESC_F_NEXT == 0 {
                    break;
                }
                d = next;
            }
            self.pending.push((head, written, seen));
            self.last_avail = self.last_avail.wrapping_add(1);
        }
    }

    fn push_used(&mut self, mem: &FakeMem, id: u32, len: u32) {
        let slot = self.used_idx % self.layout.size;
        let at = self.layout.used + 4 + 8 * u64::from(slot);
        mem.write(at, &id.to_le_bytes());
        mem.write(at + 4, &len.to_le_bytes());
        self.used_idx = self.used_idx.wrapping_add(1);
        mem.write_u16(self.layout.used + 2, self.used_idx);
    }

    /// Completes the `k`-th pending chain.
    fn complete(&mut self, mem: &FakeMem, k: usize) -> (u16, u32) {
        let (head, written, _) = self.pending.remove(k);
        self.push_used(mem, u32::from(head), written);
        (head, written)
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Memory for a queue of `size` plus `data_slots` data buffers of 64 bytes.
fn setup(size: u16, data_slots: usize) -> (FakeMem, QueueLayout, u64) {
    let (layout, bytes) = QueueLayout::contiguous(BASE, size);
    let data = (BASE + bytes).next_multiple_of(64);
    let total = (data - BASE) as usize + data_slots * 64;
    (FakeMem::new(total), layout, data)
}

#[test]
fn layout_sizes_and_alignment() {
    let (l, total) = QueueLayout::contiguous(0x1000, 256);
    assert_eq!(l.desc, 0x1000);
    assert_eq!(l.avail, 0x1000 + 4096);
    assert_eq!(l.used, (0x1000 + 4096 + 6 + 512u64).next_multiple_of(4));
    assert_eq!(total, l.used + 6 + 8 * 256 - 0x1000);
    assert_eq!(QueueLayout::desc_bytes(256), 4096);
    assert_eq!(QueueLayout::avail_bytes(256), 518);
    assert_eq!(QueueLayout::used_bytes(256), 2054);
    let (mem, mut l, _) = setup(8, 0);
    l.size = 6;
    assert_eq!(SplitQueue::new(&mem, l).unwrap_err(), QueueError::BadLayout);
    l.size = 8;
    l.used += 2;
    assert_eq!(SplitQueue::new(&mem, l).unwrap_err(), QueueError::BadLayout);
}

#[test]
fn single_request_round_trip() {
    let (mem, layout, data) = setup(8, 4);
    mem.write(data, &[0x11; 16]);
    let mut q = SplitQueue::new(&mem, layout).unwrap();
    let mut dev = FakeDevice::new(layout);
    let t = q
        .add(&[
            Buffer::readable(data, 16),
            Buffer::writable(data + 64, 32),
            Buffer::writable(data + 128, 1),
        ])
        .unwrap();
    assert_eq!(q.num_free(), 5);
    assert!(q.should_notify());
    assert!(q.poll_used().is_none());
    dev.consume(&mem);
    assert!(q.poll_used().is_none());
    dev.complete(&mem, 0);
    assert!(q.has_used());
    let u = q.poll_used().unwrap();
    assert_eq!(u, Used { token: t, len: 33 });
    assert!(q.is_idle());
    let mut b = [0; 1];
    mem.read(data + 128, &mut b);
    assert_eq!(b[0], t as u8);
}

#[test]
fn argument_errors() {
    let (mem, layout, data) = setup(4, 1);
    let mut q = SplitQueue::new(&mem, layout).unwrap();
    assert_eq!(q.add(&[]), Err(QueueError::NoBuffers));
    let five = [Buffer::readable(data, 1); 5];
    assert_eq!(q.add(&five), Err(QueueError::TooLong));
    assert_eq!(
        q.add(&[Buffer::writable(data, 1), Buffer::readable(data, 1)]),
        Err(QueueError::BadOrder)
    );
    let big = [Buffer::writable(data, u32::MAX), Buffer::writable(data, 2)];
    assert_eq!(q.add(&big), Err(QueueError::TooBig));
    q.add(&[Buffer::writable(data, 1); 3]).unwrap();
    assert_eq!(
        q.add(&[Buffer::writable(data, 1); 2]),
        Err(QueueError::Full)
    );
    q.add(&[Buffer::writable(data, 1)]).unwrap();
    assert_eq!(q.num_free(), 0);
    assert_eq!(q.add(&[Buffer::writable(data, 1)]), Err(QueueError::Full));
}

#[test]
fn notification_flags() {
    let (mem, layout, data) = setup(4, 1);
    let mut q = SplitQueue::new(&mem, layout).unwrap();
    q.add(&[Buffer::writable(data, 1)]).unwrap();
    assert!(q.should_notify());
    mem.write_u16(layout.used, VIRTQ_USED_F_NO_NOTIFY);
    assert!(!q.should_notify());
    q.set_used_notifications(false);
    assert_eq!(mem.read_u16(layout.avail), VIRTQ_AVAIL_F_NO_INTERRUPT);
    q.set_used_notifications(true);
    assert_eq!(mem.read_u16(layout.avail), 0);
}

#[test]
fn bogus_used_entries_are_skipped() {
    let (mem, layout, data) = setup(8, 1);
    let mut q = SplitQueue::new(&mem, layout).unwrap();
    let mut dev = FakeDevice::new(layout);
    let t = q
        .add(&[Buffer::writable(data, 8), Buffer::writable(data + 8, 8)])
        .unwrap();
    dev.consume(&mem);
    // Out of range, a non-head descriptor of the chain, a free descriptor.
    dev.push_used(&mem, 1000, 4);
    dev.push_used(&mem, u32::from(t) + 1, 4);
    dev.push_used(&mem, 5, 4);
    dev.complete(&mem, 0);
    // The same head again after it completed.
    dev.push_used(&mem, u32::from(t), 4);
    assert_eq!(q.poll_used(), Some(Used { token: t, len: 16 }));
    assert_eq!(q.poll_used(), None);
    assert_eq!(q.bad_used_count(), 4);
    assert!(q.is_idle());
}

#[test]
fn indices_wrap_past_u16() {
    let (mem, layout, data) = setup(4, 1);
    let mut q = SplitQueue::new(&mem, layout).unwrap();
    let mut dev = FakeDevice::new(layout);
    for i in 0..70_000u32 {
        let n = 1 + (i % 3) as usize;
        let t = q.add(&vec![Buffer::writable(data, 2); n]).unwrap();
        dev.consume(&mem);
        dev.complete(&mem, 0);
        assert_eq!(
            q.poll_used(),
            Some(Used {
                token: t,
                len: 2 * n as u32
            })
        );
    }
    assert!(q.is_idle());
}

/// Random mixes of request shapes, batch sizes and completion orders.
#[test]
fn random_interleavings() {
    for seed in 1..300u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let size = 1u16 << rng.below(9);
        let slots = usize::from(size);
        let (mem, layout, data) = setup(size, slots);
        let mut q = SplitQueue::new(&mem, layout).unwrap();
        let mut dev = FakeDevice::new(layout);
        // token -> (data slot, expected written length)
        let mut outstanding: BTreeMap<u16, (usize, u32)> = BTreeMap::new();
        let mut free_slots: Vec<usize> = (0..slots).collect();
        let mut completed = 0u32;
        for _step in 0..400 {
            match rng.below(4) {
                0 | 1 => {
                    let want = 1 + rng.below(u64::from(size.min(6))) as usize;
                    let readable = rng.below(want as u64 + 1) as usize;
                    let Some(&slot) = free_slots.last() else {
                        continue;
                    };
                    // Each buffer is 64/want bytes inside the slot's 64 bytes.
                    let piece = (64 / want) as u32;
                    let base = data + 64 * slot as u64;
                    mem.write(base, &[0x11; 64]);
                    let bufs: Vec<Buffer> = (0..want)
                        .map(|i| Buffer {
                            addr: base + u64::from(piece) * i as u64,
                            len: piece,
                            device_writable: i >= readable,
                        })
                        .collect();
                    let before = q.num_free();
                    match q.add(&bufs) {
                        Ok(t) => {
                            assert!(
                                !outstanding.contains_key(&t),
                                "token reused while in flight"
                            );
                            assert_eq!(q.num_free(), before - want as u16);
                            free_slots.pop();
                            outstanding.insert(t, (slot, piece * (want - readable) as u32));
                        }
                        Err(QueueError::Full) => assert!(usize::from(before) < want),
                        Err(e) => panic!("unexpected {e:?}"),
                    }
                }
                2 => dev.consume(&mem),
                _ => {
                    if !dev.pending.is_empty() {
                        let k = rng.below(dev.pending.len() as u64) as usize;
                        dev.complete(&mem, k);
                    }
                    while let Some(u) = q.poll_used() {
                        let (slot, len) = outstanding.remove(&u.token).expect("unknown token");
                        assert_eq!(u.len, len);
                        free_slots.push(slot);
                        completed += 1;
                    }
                }
            }
            let in_flight: u16 = outstanding.len() as u16;
            assert!(q.num_free() + in_flight <= size);
        }
        // Drain.
        dev.consume(&mem);
        while !dev.pending.is_empty() {
            let k = rng.below(dev.pending.len() as u64) as usize;
            dev.complete(&mem, k);
        }
        while let Some(u) = q.poll_used() {
            outstanding.remove(&u.token).expect("unknown token");
            completed += 1;
        }
        assert!(outstanding.is_empty(), "seed {seed}: lost completions");
        assert!(q.is_idle(), "seed {seed}: leaked descriptors");
        assert_eq!(q.bad_used_count(), 0);
        let _ = completed;
    }
}
