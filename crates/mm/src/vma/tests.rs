//! Unit tests for each rule of [`VmaMap`], and a randomized comparison with a
//! page-granular model.

use super::*;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec;

const P: u64 = PAGE_SIZE;
const MIN: u64 = 0x10000;
const MAX: u64 = MIN + 64 * P;
const BASE: u64 = MIN + 48 * P;

fn small() -> VmaMap {
    VmaMap::with_layout(MIN, MAX, BASE)
}

fn anon(
    m: &mut VmaMap,
    hint: u64,
    len: u64,
    prot: Prot,
    placement: Placement,
) -> Result<u64, VmError> {
    let r = m
        .map(hint, len, prot, VmaKind::Anon, false, placement)
        .map(|r| r.addr);
    m.check_invariants().unwrap();
    r
}

fn fixed(m: &mut VmaMap, addr: u64, len: u64, prot: Prot) -> Vec<Range> {
    let r = m
        .map(addr, len, prot, VmaKind::Anon, false, Placement::Fixed)
        .unwrap();
    assert_eq!(r.addr, addr);
    m.check_invariants().unwrap();
    r.replaced
}

fn areas(m: &VmaMap) -> Vec<(u64, u64, Prot)> {
    m.iter().map(|a| (a.start, a.end, a.prot)).collect()
}

fn r(start: u64, end: u64) -> Range {
    Range::new(start, end)
}

// ---- errno, Prot, basic types ----

#[test]
fn errno_numbers() {
    assert_eq!(VmError::Invalid.errno(), 22);
    assert_eq!(VmError::NoMemory.errno(), 12);
    assert_eq!(VmError::Exists.errno(), 17);
    assert_eq!(VmError::Fault.errno(), 14);
    assert_eq!(VmError::Again.errno(), 11);
    assert_eq!(VmError::Permission.errno(), 1);
    assert_eq!(alloc::format!("{}", VmError::Fault), "EFAULT");
}

#[test]
fn prot_bits_and_access() {
    assert_eq!(Prot::from_bits(3), Some(Prot::RW));
    assert_eq!(Prot::from_bits(0x0100_0000), None);
    assert_eq!(Prot::from_bits_truncate(0x0100_0007).bits(), 7);
    assert_eq!(alloc::format!("{:?}", Prot::RX), "r-x");
    assert_eq!(alloc::format!("{:?}", Prot::NONE), "---");
    assert!(Prot::WRITE.allows(Prot::READ));
    assert!(Prot::EXEC.allows(Prot::READ));
    assert!(!Prot::NONE.allows(Prot::READ));
    assert!(Prot::NONE.allows(Prot::NONE));
    assert!(!Prot::READ.allows(Prot::WRITE));
    assert!(!Prot::RW.allows(Prot::EXEC));
    assert!((Prot::READ | Prot::WRITE).contains(Prot::WRITE));
}

#[test]
fn default_layout() {
    let mut m = VmaMap::new();
    assert_eq!(m.bounds(), r(USER_MIN, USER_MAX));
    assert_eq!(m.mmap_base(), 0x7fff_f7ff_f000);
    let a = anon(&mut m, 0, 100, Prot::RW, Placement::Any).unwrap();
    assert_eq!(a, 0x7fff_f7ff_e000);
    m.set_mmap_base(0x4000_0123);
    assert_eq!(m.mmap_base(), 0x4000_0000);
    assert_eq!(
        anon(&mut m, 0, 2 * P, Prot::RW, Placement::Any),
        Ok(0x4000_0000 - 2 * P)
    );
    assert!(m.is_mapped(0x7fff_f7ff_e000, P, Prot::WRITE));
    // Whole-space sizes.
    assert_eq!(
        anon(&mut m, 0, u64::MAX, Prot::RW, Placement::Any),
        Err(VmError::NoMemory)
    );
    assert_eq!(
        anon(&mut m, 0, USER_MAX, Prot::RW, Placement::Any),
        Err(VmError::NoMemory)
    );
}

// ---- map ----

#[test]
fn map_len_rules() {
    let mut m = small();
    assert_eq!(
        anon(&mut m, 0, 0, Prot::RW, Placement::Any),
        Err(VmError::Invalid)
    );
    assert_eq!(
        anon(&mut m, MIN, 0, Prot::RW, Placement::Fixed),
        Err(VmError::Invalid)
    );
    assert_eq!(
        anon(&mut m, 0, 65 * P, Prot::RW, Placement::Any),
        Err(VmError::NoMemory)
    );
    assert_eq!(
        anon(&mut m, 0, u64::MAX - 5, Prot::RW, Placement::Any),
        Err(VmError::NoMemory)
    );
    // Rounded up to pages.
    let a = anon(&mut m, 0, 1, Prot::RW, Placement::Any).unwrap();
    assert_eq!(m.find(a).unwrap().len(), P);
    assert!(!m.is_empty() && m.len() == 1);
}

#[test]
fn map_any_is_top_down_below_base_and_merges() {
    let mut m = small();
    let a = anon(&mut m, 0, 2 * P, Prot::RW, Placement::Any).unwrap();
    assert_eq!(a, BASE - 2 * P);
    let b = anon(&mut m, 0, P, Prot::RW, Placement::Any).unwrap();
    assert_eq!(b, BASE - 3 * P);
    // Same attributes and adjacent: one area.
    assert_eq!(areas(&m), vec![(BASE - 3 * P, BASE, Prot::RW)]);
    // Different protection: separate area.
    let c = anon(&mut m, 0, P, Prot::READ, Placement::Any).unwrap();
    assert_eq!(c, BASE - 4 * P);
    assert_eq!(m.len(), 2);
    // Different kind or sharing does not merge either.
    m.map(0, P, Prot::READ, VmaKind::Stack, false, Placement::Any)
        .unwrap();
    m.map(0, P, Prot::READ, VmaKind::Stack, true, Placement::Any)
        .unwrap();
    m.check_invariants().unwrap();
    assert_eq!(m.len(), 4);
}

#[test]
fn map_any_fills_gaps_then_falls_back_above_base_then_enomem() {
    let mut m = small();
    // Occupy [MIN+10P, BASE): leaves 10 pages below and 16 above the base.
    fixed(&mut m, MIN + 10 * P, 38 * P, Prot::RW);
    assert_eq!(
        anon(&mut m, 0, 4 * P, Prot::READ, Placement::Any),
        Ok(MIN + 6 * P)
    );
    assert_eq!(anon(&mut m, 0, 6 * P, Prot::READ, Placement::Any), Ok(MIN));
    // Nothing left below the base: lowest fit above it.
    assert_eq!(anon(&mut m, 0, 3 * P, Prot::EXEC, Placement::Any), Ok(BASE));
    assert_eq!(
        anon(&mut m, 0, 13 * P, Prot::RW, Placement::Any),
        Ok(BASE + 3 * P)
    );
    assert_eq!(
        anon(&mut m, 0, P, Prot::RW, Placement::Any),
        Err(VmError::NoMemory)
    );
}

#[test]
fn map_gap_straddling_the_base() {
    let mut m = small();
    fixed(&mut m, MIN, 46 * P, Prot::RW);
    fixed(&mut m, BASE + 2 * P, 14 * P, Prot::READ);
    // Free: [BASE-2P, BASE+2P). Top-down below base fits 2 pages only.
    assert_eq!(
        anon(&mut m, 0, 3 * P, Prot::EXEC, Placement::Any),
        Ok(BASE - 2 * P)
    );
}

#[test]
fn map_hint() {
    let mut m = small();
    assert_eq!(
        anon(&mut m, MIN + 5 * P, P, Prot::RW, Placement::Hint),
        Ok(MIN + 5 * P)
    );
    // Unaligned hint is rounded down (Linux round_hint_to_min).
    assert_eq!(
        anon(&mut m, MIN + 8 * P - 1, P, Prot::READ, Placement::Hint),
        Ok(MIN + 7 * P)
    );
    // Occupied hint: search instead.
    assert_eq!(
        anon(&mut m, MIN + 5 * P, P, Prot::RW, Placement::Hint),
        Ok(BASE - P)
    );
    // Hint that does not fit below the top: search.
    assert_eq!(
        anon(&mut m, MAX - P, 2 * P, Prot::RW, Placement::Hint),
        Ok(BASE - 3 * P)
    );
    // Hint below the bottom is raised to it.
    assert_eq!(
        anon(&mut m, 0x1000, P, Prot::EXEC, Placement::Hint),
        Ok(MIN)
    );
    // Zero hint means none; Any ignores the hint.
    assert_eq!(
        anon(&mut m, 0, P, Prot::EXEC, Placement::Hint),
        Ok(BASE - 4 * P)
    );
    assert_eq!(
        anon(&mut m, MIN + 20 * P, P, Prot::NONE, Placement::Any),
        Ok(BASE - 5 * P)
    );
    // A hint inside page 0 rounds down to 0: no hint.
    assert_eq!(
        anon(&mut m, 0x123, P, Prot::RX, Placement::Hint),
        Ok(BASE - 6 * P)
    );
    // Huge hint past the top: search.
    assert_eq!(
        anon(&mut m, u64::MAX, P, Prot::NONE, Placement::Hint),
        Ok(BASE - 7 * P)
    );
}

#[test]
fn map_fixed_rules() {
    let mut m = small();
    assert_eq!(
        anon(&mut m, MIN + 1, P, Prot::RW, Placement::Fixed),
        Err(VmError::Invalid)
    );
    assert_eq!(
        anon(&mut m, MAX - P, 2 * P, Prot::RW, Placement::Fixed),
        Err(VmError::NoMemory)
    );
    assert_eq!(
        anon(&mut m, !0xfff, P, Prot::RW, Placement::Fixed),
        Err(VmError::NoMemory)
    );
    assert_eq!(
        anon(&mut m, MIN - P, P, Prot::RW, Placement::Fixed),
        Err(VmError::Permission)
    );
    assert_eq!(
        anon(&mut m, 0, P, Prot::RW, Placement::FixedNoReplace),
        Err(VmError::Permission)
    );
    assert_eq!(
        anon(&mut m, MAX - P, P, Prot::RW, Placement::Fixed),
        Ok(MAX - P)
    );
    assert_eq!(anon(&mut m, MIN, P, Prot::RW, Placement::Fixed), Ok(MIN));
    assert!(!m.is_empty());
}

#[test]
fn map_fixed_replaces_and_reports() {
    let mut m = small();
    fixed(&mut m, MIN, 4 * P, Prot::READ);
    fixed(&mut m, MIN + 6 * P, 4 * P, Prot::EXEC);
    // Cover the end of the first, the hole, the start of the second.
    let replaced = fixed(&mut m, MIN + 2 * P, 6 * P, Prot::RW);
    assert_eq!(
        replaced,
        vec![r(MIN + 2 * P, MIN + 4 * P), r(MIN + 6 * P, MIN + 8 * P)]
    );
    assert_eq!(
        areas(&m),
        vec![
            (MIN, MIN + 2 * P, Prot::READ),
            (MIN + 2 * P, MIN + 8 * P, Prot::RW),
            (MIN + 8 * P, MIN + 10 * P, Prot::EXEC),
        ]
    );
    // Replacing with equal attributes merges everything back.
    let replaced = fixed(&mut m, MIN, 10 * P, Prot::RW);
    assert_eq!(replaced, vec![r(MIN, MIN + 10 * P)]);
    assert_eq!(areas(&m), vec![(MIN, MIN + 10 * P, Prot::RW)]);
    // Middle of one area: splits it into three, then they merge again.
    let replaced = fixed(&mut m, MIN + 3 * P, P, Prot::READ);
    assert_eq!(replaced, vec![r(MIN + 3 * P, MIN + 4 * P)]);
    assert_eq!(m.len(), 3);
    fixed(&mut m, MIN + 3 * P, P, Prot::RW);
    assert_eq!(m.len(), 1);
    // A free range: nothing replaced.
    assert!(fixed(&mut m, MIN + 20 * P, P, Prot::RW).is_empty());
}

#[test]
fn map_fixed_noreplace() {
    let mut m = small();
    fixed(&mut m, MIN + 4 * P, 2 * P, Prot::READ);
    for (a, l) in [
        (MIN + 3 * P, 2 * P),
        (MIN + 5 * P, P),
        (MIN, 7 * P),
        (MIN + 4 * P, 2 * P),
    ] {
        assert_eq!(
            anon(&mut m, a, l, Prot::RW, Placement::FixedNoReplace),
            Err(VmError::Exists)
        );
    }
    assert_eq!(
        anon(
            &mut m,
            MIN + 6 * P,
            P,
            Prot::READ,
            Placement::FixedNoReplace
        ),
        Ok(MIN + 6 * P)
    );
    assert_eq!(
        anon(&mut m, MIN, 4 * P, Prot::READ, Placement::FixedNoReplace),
        Ok(MIN)
    );
    assert_eq!(areas(&m), vec![(MIN, MIN + 7 * P, Prot::READ)]);
}

// ---- unmap ----

#[test]
fn unmap_rules() {
    let mut m = small();
    fixed(&mut m, MIN, 10 * P, Prot::RW);
    assert_eq!(m.unmap(MIN + 1, P), Err(VmError::Invalid));
    assert_eq!(m.unmap(MIN, 0), Err(VmError::Invalid));
    assert_eq!(m.unmap(MAX - P, 2 * P), Err(VmError::Invalid));
    assert_eq!(m.unmap(MIN, u64::MAX), Err(VmError::Invalid));
    assert_eq!(m.unmap(!0xfff, P), Err(VmError::Invalid));
    // Middle of an area: split in two.
    assert_eq!(
        m.unmap(MIN + 4 * P, 2 * P - 100),
        Ok(vec![r(MIN + 4 * P, MIN + 6 * P)])
    );
    assert_eq!(
        areas(&m),
        vec![
            (MIN, MIN + 4 * P, Prot::RW),
            (MIN + 6 * P, MIN + 10 * P, Prot::RW)
        ]
    );
    m.check_invariants().unwrap();
    // Holes are fine and not reported.
    assert_eq!(m.unmap(MIN + 20 * P, P), Ok(vec![]));
    assert_eq!(m.unmap(0, P), Ok(vec![]));
    assert_eq!(
        m.unmap(MIN + 2 * P, 6 * P),
        Ok(vec![
            r(MIN + 2 * P, MIN + 4 * P),
            r(MIN + 6 * P, MIN + 8 * P)
        ])
    );
    assert_eq!(
        areas(&m),
        vec![
            (MIN, MIN + 2 * P, Prot::RW),
            (MIN + 8 * P, MIN + 10 * P, Prot::RW)
        ]
    );
    // Adjacent areas with different attributes come back as one range.
    fixed(&mut m, MIN + 2 * P, P, Prot::READ);
    assert_eq!(
        m.unmap(MIN, MAX - MIN),
        Ok(vec![r(MIN, MIN + 3 * P), r(MIN + 8 * P, MIN + 10 * P)])
    );
    assert!(m.is_empty());
}

// ---- protect ----

#[test]
fn protect_splits_and_merges() {
    let mut m = small();
    fixed(&mut m, MIN, 10 * P, Prot::RW);
    assert_eq!(
        m.protect(MIN + 2 * P, 3 * P, Prot::READ),
        Ok(vec![r(MIN + 2 * P, MIN + 5 * P)])
    );
    m.check_invariants().unwrap();
    assert_eq!(
        areas(&m),
        vec![
            (MIN, MIN + 2 * P, Prot::RW),
            (MIN + 2 * P, MIN + 5 * P, Prot::READ),
            (MIN + 5 * P, MIN + 10 * P, Prot::RW),
        ]
    );
    // Across areas: only the pages that change are reported.
    assert_eq!(
        m.protect(MIN + P, 2 * P, Prot::READ),
        Ok(vec![r(MIN + P, MIN + 2 * P)])
    );
    assert_eq!(m.len(), 3);
    // Back to RW: everything merges into one area again.
    assert_eq!(
        m.protect(MIN, 10 * P, Prot::RW),
        Ok(vec![r(MIN + P, MIN + 5 * P)])
    );
    assert_eq!(areas(&m), vec![(MIN, MIN + 10 * P, Prot::RW)]);
    // No change: nothing reported, nothing split.
    assert_eq!(m.protect(MIN + 3 * P, P, Prot::RW), Ok(vec![]));
    assert_eq!(m.len(), 1);
    m.check_invariants().unwrap();
}

#[test]
fn protect_rules() {
    let mut m = small();
    fixed(&mut m, MIN, 4 * P, Prot::RW);
    fixed(&mut m, MIN + 5 * P, 4 * P, Prot::RW);
    assert_eq!(m.protect(MIN + 1, P, Prot::READ), Err(VmError::Invalid));
    assert_eq!(m.protect(MIN + 1, 0, Prot::READ), Err(VmError::Invalid));
    assert_eq!(m.protect(MIN, 0, Prot::READ), Ok(vec![]));
    assert_eq!(m.protect(MIN, u64::MAX, Prot::READ), Err(VmError::NoMemory));
    // A hole in the middle: ENOMEM and nothing changed.
    let before = areas(&m);
    assert_eq!(m.protect(MIN, 9 * P, Prot::READ), Err(VmError::NoMemory));
    assert_eq!(
        m.protect(MIN + 20 * P, P, Prot::READ),
        Err(VmError::NoMemory)
    );
    assert_eq!(
        m.protect(MIN + 8 * P, 2 * P, Prot::READ),
        Err(VmError::NoMemory)
    );
    assert_eq!(areas(&m), before);
    // Unaligned length is rounded up.
    assert_eq!(
        m.protect(MIN + 5 * P, 1, Prot::NONE),
        Ok(vec![r(MIN + 5 * P, MIN + 6 * P)])
    );
    assert!(!m.is_mapped(MIN + 5 * P, 1, Prot::READ));
    assert!(m.is_mapped(MIN + 5 * P, 1, Prot::NONE));
}

// ---- remap ----

const MAYMOVE: RemapFlags = RemapFlags::MAYMOVE;
const FIXED: RemapFlags = RemapFlags::FIXED;

#[test]
fn remap_flag_and_alignment_rules() {
    let mut m = small();
    fixed(&mut m, MIN, 4 * P, Prot::RW);
    let e = |m: &mut VmaMap, a, o, n, f, na| m.remap(a, o, n, f, na).map(|r| r.addr);
    assert_eq!(
        e(&mut m, MIN, P, 2 * P, RemapFlags::from_bits_retain(8), 0),
        Err(VmError::Invalid)
    );
    assert_eq!(
        e(&mut m, MIN, P, 2 * P, RemapFlags::DONTUNMAP | MAYMOVE, 0),
        Err(VmError::Invalid)
    );
    assert_eq!(
        e(&mut m, MIN, P, 2 * P, FIXED, MIN + 8 * P),
        Err(VmError::Invalid)
    );
    assert_eq!(
        e(&mut m, MIN + 1, P, 2 * P, MAYMOVE, 0),
        Err(VmError::Invalid)
    );
    assert_eq!(e(&mut m, MIN, P, 0, MAYMOVE, 0), Err(VmError::Invalid));
    assert_eq!(e(&mut m, MIN, 0, P, MAYMOVE, 0), Err(VmError::Invalid));
    assert_eq!(
        e(&mut m, MIN, u64::MAX, P, MAYMOVE, 0),
        Err(VmError::Invalid)
    );
    assert_eq!(
        e(&mut m, MIN, P, P, MAYMOVE | FIXED, MIN + 8 * P + 1),
        Err(VmError::Invalid)
    );
    // FIXED destination overlapping the old range, or past the top.
    assert_eq!(
        e(&mut m, MIN, 2 * P, 2 * P, MAYMOVE | FIXED, MIN + P),
        Err(VmError::Invalid)
    );
    assert_eq!(
        e(&mut m, MIN, P, 2 * P, MAYMOVE | FIXED, MAX - P),
        Err(VmError::Invalid)
    );
    // FIXED below the bottom.
    assert_eq!(
        e(&mut m, MIN, P, P, MAYMOVE | FIXED, MIN - 2 * P),
        Err(VmError::Permission)
    );
    // Unmapped old address.
    assert_eq!(
        e(&mut m, MIN + 10 * P, P, 2 * P, MAYMOVE, 0),
        Err(VmError::Fault)
    );
    assert_eq!(
        e(&mut m, MIN + 10 * P, 2 * P, P, RemapFlags::NONE, 0),
        Err(VmError::Fault)
    );
    assert_eq!(areas(&m), vec![(MIN, MIN + 4 * P, Prot::RW)]);
}

#[test]
fn remap_shrink_in_place() {
    let mut m = small();
    fixed(&mut m, MIN, 8 * P, Prot::RW);
    let res = m.remap(MIN, 8 * P, 3 * P, RemapFlags::NONE, 0).unwrap();
    assert_eq!(
        res,
        RemapResult {
            addr: MIN,
            unmapped: vec![r(MIN + 3 * P, MIN + 8 * P)],
            moved: None
        }
    );
    assert_eq!(areas(&m), vec![(MIN, MIN + 3 * P, Prot::RW)]);
    // Same size: no-op.
    let res = m.remap(MIN, 3 * P, 3 * P - 5, RemapFlags::NONE, 0).unwrap();
    assert_eq!(
        res,
        RemapResult {
            addr: MIN,
            unmapped: vec![],
            moved: None
        }
    );
    // Shrinking: the tail may span holes and other areas (Linux: plain munmap).
    fixed(&mut m, MIN + 5 * P, 2 * P, Prot::READ);
    let res = m.remap(MIN + P, 10 * P, P, RemapFlags::NONE, 0).unwrap();
    assert_eq!(
        res.unmapped,
        vec![r(MIN + 2 * P, MIN + 3 * P), r(MIN + 5 * P, MIN + 7 * P)]
    );
    assert_eq!(areas(&m), vec![(MIN, MIN + 2 * P, Prot::RW)]);
    m.check_invariants().unwrap();
}

#[test]
fn remap_grow_in_place() {
    let mut m = small();
    fixed(&mut m, MIN, 4 * P, Prot::RW);
    fixed(&mut m, MIN + 8 * P, P, Prot::READ);
    let res = m.remap(MIN, 4 * P, 8 * P, RemapFlags::NONE, 0).unwrap();
    assert_eq!(
        res,
        RemapResult {
            addr: MIN,
            unmapped: vec![],
            moved: None
        }
    );
    assert_eq!(
        areas(&m),
        vec![
            (MIN, MIN + 8 * P, Prot::RW),
            (MIN + 8 * P, MIN + 9 * P, Prot::READ)
        ]
    );
    // Blocked by the next area: ENOMEM without MAYMOVE, map unchanged.
    assert_eq!(
        m.remap(MIN, 8 * P, 9 * P, RemapFlags::NONE, 0),
        Err(VmError::NoMemory)
    );
    // The old range must end the area to grow in place.
    assert_eq!(
        m.remap(MIN, 2 * P, 3 * P, RemapFlags::NONE, 0),
        Err(VmError::NoMemory)
    );
    // Growing past the top of the address space needs a move.
    fixed(&mut m, MAX - 2 * P, 2 * P, Prot::EXEC);
    assert_eq!(
        m.remap(MAX - 2 * P, 2 * P, 3 * P, RemapFlags::NONE, 0),
        Err(VmError::NoMemory)
    );
    assert_eq!(m.len(), 3);
    m.check_invariants().unwrap();
}

#[test]
fn remap_grow_needs_one_area() {
    let mut m = small();
    fixed(&mut m, MIN, 2 * P, Prot::RW);
    fixed(&mut m, MIN + 2 * P, 2 * P, Prot::READ);
    // Old range spans two areas: EFAULT (Linux vma_to_resize).
    assert_eq!(m.remap(MIN, 4 * P, 8 * P, MAYMOVE, 0), Err(VmError::Fault));
    // Old range runs into a hole.
    assert_eq!(
        m.remap(MIN + 2 * P, 4 * P, 8 * P, MAYMOVE, 0),
        Err(VmError::Fault)
    );
    // A FIXED move keeps min(old, new) bytes, which must lie in one area.
    assert_eq!(
        m.remap(MIN, 4 * P, 3 * P, MAYMOVE | FIXED, MIN + 10 * P),
        Err(VmError::Fault)
    );
    assert_eq!(m.len(), 2);
}

#[test]
fn remap_moves_when_allowed() {
    let mut m = small();
    fixed(&mut m, MIN, 4 * P, Prot::RX);
    fixed(&mut m, MIN + 4 * P, P, Prot::READ);
    let res = m.remap(MIN, 4 * P, 6 * P, MAYMOVE, 0).unwrap();
    let to = BASE - 6 * P;
    assert_eq!(
        res,
        RemapResult {
            addr: to,
            unmapped: vec![],
            moved: Some(PteMove {
                from: MIN,
                to,
                len: 4 * P
            })
        }
    );
    assert_eq!(
        areas(&m),
        vec![(MIN + 4 * P, MIN + 5 * P, Prot::READ), (to, BASE, Prot::RX)]
    );
    // Moving part of an area splits it; the moved piece lands right below
    // the area's head and merges with it.
    let res = m.remap(to + 2 * P, 2 * P, 3 * P, MAYMOVE, 0).unwrap();
    let to2 = to - 3 * P;
    assert_eq!(res.addr, to2);
    assert_eq!(
        res.moved,
        Some(PteMove {
            from: to + 2 * P,
            to: to2,
            len: 2 * P
        })
    );
    assert_eq!(
        areas(&m),
        vec![
            (MIN + 4 * P, MIN + 5 * P, Prot::READ),
            (to2, to + 2 * P, Prot::RX),
            (to + 4 * P, BASE, Prot::RX),
        ]
    );
    m.check_invariants().unwrap();
    // No room anywhere: ENOMEM.
    assert_eq!(
        m.remap(MIN + 4 * P, P, 60 * P, MAYMOVE, 0),
        Err(VmError::NoMemory)
    );
}

#[test]
fn remap_fixed() {
    let mut m = small();
    fixed(&mut m, MIN, 4 * P, Prot::RW);
    fixed(&mut m, MIN + 10 * P, 4 * P, Prot::READ);
    // Grow to a fixed place, replacing part of another area.
    let res = m
        .remap(MIN, 4 * P, 6 * P, MAYMOVE | FIXED, MIN + 8 * P)
        .unwrap();
    assert_eq!(res.addr, MIN + 8 * P);
    assert_eq!(res.unmapped, vec![r(MIN + 10 * P, MIN + 14 * P)]);
    assert_eq!(
        res.moved,
        Some(PteMove {
            from: MIN,
            to: MIN + 8 * P,
            len: 4 * P
        })
    );
    assert_eq!(areas(&m), vec![(MIN + 8 * P, MIN + 14 * P, Prot::RW)]);
    // Shrink to a fixed place: the old tail is unmapped too (and reported
    // together with the replaced destination, coalesced).
    fixed(&mut m, MIN + 4 * P, 2 * P, Prot::READ);
    let res = m
        .remap(MIN + 8 * P, 6 * P, 2 * P, MAYMOVE | FIXED, MIN + 4 * P)
        .unwrap();
    assert_eq!(
        res.unmapped,
        vec![r(MIN + 4 * P, MIN + 6 * P), r(MIN + 10 * P, MIN + 14 * P)]
    );
    assert_eq!(
        res.moved,
        Some(PteMove {
            from: MIN + 8 * P,
            to: MIN + 4 * P,
            len: 2 * P
        })
    );
    assert_eq!(areas(&m), vec![(MIN + 4 * P, MIN + 6 * P, Prot::RW)]);
    // Same size, adjacent destination: moves and merges with equal neighbours.
    fixed(&mut m, MIN, 2 * P, Prot::RW);
    let res = m
        .remap(MIN + 4 * P, 2 * P, 2 * P, MAYMOVE | FIXED, MIN + 2 * P)
        .unwrap();
    assert_eq!(res.unmapped, vec![]);
    assert_eq!(areas(&m), vec![(MIN, MIN + 4 * P, Prot::RW)]);
    m.check_invariants().unwrap();
}

// ---- find, is_mapped, iter, clear ----

#[test]
fn find_and_is_mapped() {
    let mut m = small();
    fixed(&mut m, MIN, 2 * P, Prot::RW);
    fixed(&mut m, MIN + 2 * P, 2 * P, Prot::READ);
    fixed(&mut m, MIN + 5 * P, P, Prot::RX);
    assert!(m.find(MIN - 1).is_none());
    assert_eq!(m.find(MIN).unwrap().prot, Prot::RW);
    assert_eq!(m.find(MIN + 2 * P - 1).unwrap().prot, Prot::RW);
    assert_eq!(m.find(MIN + 2 * P).unwrap().prot, Prot::READ);
    assert!(m.find(MIN + 4 * P).is_none());
    assert!(m.find(u64::MAX).is_none());
    assert!(m.is_mapped(MIN + 10, 4 * P - 10, Prot::READ));
    assert!(!m.is_mapped(MIN + 10, 4 * P - 9, Prot::READ));
    assert!(m.is_mapped(MIN, 2 * P, Prot::WRITE));
    assert!(!m.is_mapped(MIN, 2 * P + 1, Prot::WRITE));
    assert!(m.is_mapped(MIN + 5 * P, 1, Prot::EXEC));
    assert!(!m.is_mapped(MIN + 5 * P, 1, Prot::WRITE));
    assert!(m.is_mapped(0, 0, Prot::WRITE));
    assert!(!m.is_mapped(MIN, u64::MAX, Prot::NONE));
    assert!(m.is_free(MIN + 4 * P, MIN + 5 * P));
    assert!(!m.is_free(MIN + 4 * P, MIN + 5 * P + 1));
    let starts: Vec<u64> = m.iter().map(|a| a.start).collect();
    assert_eq!(starts, vec![MIN, MIN + 2 * P, MIN + 5 * P]);
    assert_eq!(
        m.iter().next_back().unwrap().range(),
        r(MIN + 5 * P, MIN + 6 * P)
    );
    assert_eq!(
        m.clear(),
        vec![r(MIN, MIN + 4 * P), r(MIN + 5 * P, MIN + 6 * P)]
    );
    assert!(m.is_empty());
}

// ---- brk ----

#[test]
fn brk_grow_shrink() {
    let mut m = small();
    let start = MIN + 4 * P + 0x123; // end of bss, unaligned
    fixed(&mut m, MIN, 5 * P, Prot::RW); // the image's data+bss page
    m.init_brk(start, start + 20 * P);
    assert_eq!(
        m.brk(),
        Brk {
            start,
            current: start,
            max: start + 20 * P
        }
    );
    // Query (Linux: brk(0) returns the current break).
    assert_eq!(m.set_brk(0).brk, start);
    // Within the same page: no new pages.
    let res = m.set_brk(start + 100);
    assert_eq!(
        res,
        BrkResult {
            brk: start + 100,
            mapped: None,
            unmapped: vec![]
        }
    );
    // Grow by pages.
    let res = m.set_brk(start + 3 * P);
    assert_eq!(res.brk, start + 3 * P);
    assert_eq!(res.mapped, Some(r(MIN + 5 * P, MIN + 8 * P)));
    let heap = m.find(MIN + 5 * P).unwrap();
    assert_eq!(
        (heap.start, heap.end, heap.kind, heap.prot),
        (MIN + 5 * P, MIN + 8 * P, VmaKind::Heap, Prot::RW)
    );
    // The image area does not merge with the heap (different kind).
    assert_eq!(m.len(), 2);
    // Shrink.
    let res = m.set_brk(start + P + 1);
    assert_eq!(
        res,
        BrkResult {
            brk: start + P + 1,
            mapped: None,
            unmapped: vec![r(MIN + 6 * P, MIN + 8 * P)]
        }
    );
    // Below start or above max: fail, return the old break.
    assert_eq!(m.set_brk(start - 1).brk, start + P + 1);
    assert_eq!(m.set_brk(start + 20 * P + 1).brk, start + P + 1);
    // Back to start: all heap pages go.
    let res = m.set_brk(start);
    assert_eq!(res.unmapped, vec![r(MIN + 5 * P, MIN + 6 * P)]);
    assert_eq!(m.brk().current, start);
    assert_eq!(m.len(), 1);
    m.check_invariants().unwrap();
}

#[test]
fn brk_keeps_a_page_from_the_next_mapping() {
    let mut m = small();
    m.init_brk(MIN, MAX);
    fixed(&mut m, MIN + 10 * P, P, Prot::READ);
    assert_eq!(m.set_brk(MIN + 9 * P).brk, MIN + 9 * P);
    // Up to MIN + 10P would touch the mapping; so would MIN+9P+1 (page 9
    // then needs a page of gap before page 10).
    assert_eq!(m.set_brk(MIN + 9 * P + 1).brk, MIN + 9 * P);
    assert_eq!(m.set_brk(MIN + 20 * P).brk, MIN + 9 * P);
    // Something mapped into the heap's growth path also blocks it.
    m.set_brk(MIN + 2 * P);
    fixed(&mut m, MIN + 3 * P, P, Prot::NONE);
    assert_eq!(m.set_brk(MIN + 3 * P).brk, MIN + 2 * P);
    assert_eq!(m.set_brk(MIN + 2 * P + 8).brk, MIN + 2 * P);
    assert_eq!(areas(&m).len(), 3);
    // Uninitialised break: everything fails except staying at 0.
    let mut fresh = small();
    assert_eq!(fresh.set_brk(MIN).brk, 0);
    assert_eq!(fresh.set_brk(0).brk, 0);
}

#[test]
fn brk_shrink_unmaps_whatever_is_there() {
    let mut m = small();
    m.init_brk(MIN, MAX);
    m.set_brk(MIN + 6 * P);
    // The program remaps part of its heap read-only; shrinking still unmaps it.
    m.protect(MIN + 4 * P, P, Prot::READ).unwrap();
    let res = m.set_brk(MIN + 3 * P);
    assert_eq!(res.unmapped, vec![r(MIN + 3 * P, MIN + 6 * P)]);
    assert_eq!(areas(&m), vec![(MIN, MIN + 3 * P, Prot::RW)]);
}

// ---- randomized model test ----

/// xorshift64*: deterministic, dependency-free randomness.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Attr {
    prot: Prot,
    kind: VmaKind,
    shared: bool,
}

/// The same address space, one entry per mapped page, written as directly
/// from the man pages as possible.
struct Model {
    pages: BTreeMap<u64, Attr>,
    brk: Brk,
}

fn pages(start: u64, end: u64) -> impl Iterator<Item = u64> {
    (start..end).step_by(P as usize)
}

fn round_up(x: u64) -> Option<u64> {
    x.checked_add(P - 1).map(|v| v & !(P - 1))
}

impl Model {
    fn free(&self, start: u64, end: u64) -> bool {
        pages(start, end).all(|p| !self.pages.contains_key(&p))
    }
    fn mapped(&self, start: u64, end: u64) -> bool {
        pages(start, end).all(|p| self.pages.contains_key(&p))
    }
    fn remove(&mut self, start: u64, end: u64) -> BTreeSet<u64> {
        pages(start, end)
            .filter(|p| self.pages.remove(p).is_some())
            .collect()
    }
    fn set(&mut self, start: u64, end: u64, a: Attr) {
        for p in pages(start, end) {
            self.pages.insert(p, a);
        }
    }
    /// The area around `addr`: the maximal run of pages with equal attributes.
    fn area(&self, addr: u64) -> Option<(u64, u64, Attr)> {
        let a = *self.pages.get(&addr)?;
        let mut s = addr;
        while s > MIN && self.pages.get(&(s - P)) == Some(&a) {
            s -= P;
        }
        let mut e = addr + P;
        while self.pages.get(&e) == Some(&a) {
            e += P;
        }
        Some((s, e, a))
    }
    fn search(&self, len: u64) -> Option<u64> {
        if BASE >= MIN + len {
            let mut a = BASE - len;
            loop {
                if self.free(a, a + len) {
                    return Some(a);
                }
                if a == MIN {
                    break;
                }
                a -= P;
            }
        }
        pages(MIN, MAX).find(|&a| a + len <= MAX && self.free(a, a + len))
    }

    fn map(
        &mut self,
        hint: u64,
        len: u64,
        at: Attr,
        pl: Placement,
    ) -> Result<(u64, BTreeSet<u64>), VmError> {
        if len == 0 {
            return Err(VmError::Invalid);
        }
        let len = round_up(len).ok_or(VmError::NoMemory)?;
        if len > MAX - MIN {
            return Err(VmError::NoMemory);
        }
        let mut replaced = BTreeSet::new();
        let addr = match pl {
            Placement::Fixed | Placement::FixedNoReplace => {
                if hint + len > MAX {
                    return Err(VmError::NoMemory);
                }
                if hint & (P - 1) != 0 {
                    return Err(VmError::Invalid);
                }
                if hint < MIN {
                    return Err(VmError::Permission);
                }
                if pl == Placement::FixedNoReplace && !self.free(hint, hint + len) {
                    return Err(VmError::Exists);
                }
                replaced = self.remove(hint, hint + len);
                hint
            }
            Placement::Hint => {
                let mut h = hint & !(P - 1);
                if h != 0 && h < MIN {
                    h = MIN;
                }
                if h != 0 && h + len <= MAX && self.free(h, h + len) {
                    h
                } else {
                    self.search(len).ok_or(VmError::NoMemory)?
                }
            }
            Placement::Any => self.search(len).ok_or(VmError::NoMemory)?,
        };
        self.set(addr, addr + len, at);
        Ok((addr, replaced))
    }

    fn unmap(&mut self, addr: u64, len: u64) -> Result<BTreeSet<u64>, VmError> {
        if addr & (P - 1) != 0 || len == 0 {
            return Err(VmError::Invalid);
        }
        let end = addr + round_up(len).unwrap();
        if end > MAX {
            return Err(VmError::Invalid);
        }
        Ok(self.remove(addr, end))
    }

    fn protect(&mut self, addr: u64, len: u64, prot: Prot) -> Result<BTreeSet<u64>, VmError> {
        if addr & (P - 1) != 0 {
            return Err(VmError::Invalid);
        }
        let end = addr + round_up(len).unwrap();
        if !self.mapped(addr, end) {
            return Err(VmError::NoMemory);
        }
        let mut changed = BTreeSet::new();
        for p in pages(addr, end) {
            let a = self.pages.get_mut(&p).unwrap();
            if a.prot != prot {
                a.prot = prot;
                changed.insert(p);
            }
        }
        Ok(changed)
    }

    fn remap(
        &mut self,
        addr: u64,
        old_len: u64,
        new_len: u64,
        flags: RemapFlags,
        new_addr: u64,
    ) -> Result<(u64, BTreeSet<u64>, Option<PteMove>), VmError> {
        let bits = flags.bits();
        let (may_move, fixed) = (bits & 1 != 0, bits & 2 != 0);
        if bits & !3 != 0 || (fixed && !may_move) || addr & (P - 1) != 0 {
            return Err(VmError::Invalid);
        }
        let (old_len, new_len) = (round_up(old_len).unwrap(), round_up(new_len).unwrap());
        if old_len == 0 || new_len == 0 {
            return Err(VmError::Invalid);
        }
        let old_end = addr + old_len;
        let (_, area_end, at) = self.area(addr).ok_or(VmError::Fault)?;
        if fixed {
            if new_addr & (P - 1) != 0 || new_addr + new_len > MAX {
                return Err(VmError::Invalid);
            }
            if addr < new_addr + new_len && new_addr < old_end {
                return Err(VmError::Invalid);
            }
            if old_len > new_len && old_end > MAX {
                return Err(VmError::Invalid);
            }
            let keep = old_len.min(new_len);
            if addr + keep > area_end {
                return Err(VmError::Fault);
            }
            if new_addr < MIN {
                return Err(VmError::Permission);
            }
            let mut gone = self.remove(new_addr, new_addr + new_len);
            gone.extend(self.remove(addr + keep, old_end));
            self.remove(addr, addr + keep);
            self.set(new_addr, new_addr + new_len, at);
            return Ok((
                new_addr,
                gone,
                Some(PteMove {
                    from: addr,
                    to: new_addr,
                    len: keep,
                }),
            ));
        }
        if old_len >= new_len {
            if old_len > new_len && old_end > MAX {
                return Err(VmError::Invalid);
            }
            return Ok((addr, self.remove(addr + new_len, old_end), None));
        }
        if old_end > area_end {
            return Err(VmError::Fault);
        }
        if old_end == area_end && addr + new_len <= MAX && self.free(old_end, addr + new_len) {
            self.set(old_end, addr + new_len, at);
            return Ok((addr, BTreeSet::new(), None));
        }
        if !may_move {
            return Err(VmError::NoMemory);
        }
        let to = self.search(new_len).ok_or(VmError::NoMemory)?;
        self.remove(addr, old_end);
        self.set(to, to + new_len, at);
        Ok((
            to,
            BTreeSet::new(),
            Some(PteMove {
                from: addr,
                to,
                len: old_len,
            }),
        ))
    }

    fn set_brk(&mut self, new: u64) -> (u64, BTreeSet<u64>, BTreeSet<u64>) {
        let b = self.brk;
        let (none, none2) = (BTreeSet::new(), BTreeSet::new());
        if new < b.start || new > b.max {
            return (b.current, none, none2);
        }
        let (new_pg, old_pg) = (round_up(new).unwrap(), round_up(b.current).unwrap());
        let mut mapped = BTreeSet::new();
        let mut unmapped = BTreeSet::new();
        if new_pg < old_pg {
            unmapped = self.remove(new_pg, old_pg);
        } else if new_pg > old_pg {
            // Linux: find_vma(oldbrk) must start at least a page above newbrk.
            let next = self.pages.range(old_pg..).next().map(|(&p, _)| p);
            if new_pg > MAX || next.is_some_and(|n| new_pg + P > n) {
                return (b.current, none, none2);
            }
            let heap = Attr {
                prot: Prot::RW,
                kind: VmaKind::Heap,
                shared: false,
            };
            self.set(old_pg, new_pg, heap);
            mapped = pages(old_pg, new_pg).collect();
        }
        self.brk.current = new;
        (new, mapped, unmapped)
    }
}

/// Pages of a list of ranges, checking the list is sorted, disjoint,
/// page aligned and coalesced.
fn range_pages(v: &[Range]) -> BTreeSet<u64> {
    for w in v.windows(2) {
        assert!(w[0].end < w[1].start, "ranges not sorted/coalesced: {v:?}");
    }
    let mut out = BTreeSet::new();
    for r in v {
        assert!(
            r.start < r.end && r.start & (P - 1) == 0 && r.end & (P - 1) == 0,
            "bad range {r:?}"
        );
        out.extend(pages(r.start, r.end));
    }
    out
}

fn random_attr(rng: &mut Rng) -> Attr {
    const PROTS: [Prot; 5] = [Prot::RW, Prot::RW, Prot::READ, Prot::RX, Prot::NONE];
    const KINDS: [VmaKind; 4] = [VmaKind::Anon, VmaKind::Anon, VmaKind::Stack, VmaKind::Image];
    Attr {
        prot: PROTS[rng.below(5) as usize],
        kind: KINDS[rng.below(4) as usize],
        shared: rng.chance(8),
    }
}

fn random_addr(rng: &mut Rng) -> u64 {
    let a = MIN - 2 * P + rng.below(68) * P;
    if rng.chance(20) {
        a + 1 + rng.below(P - 1)
    } else {
        a
    }
}

fn random_len(rng: &mut Rng) -> u64 {
    if rng.chance(30) {
        return 0;
    }
    let span = if rng.chance(4) { 24 } else { 6 };
    let l = (1 + rng.below(span)) * P;
    if rng.chance(5) {
        l - rng.below(P)
    } else {
        l
    }
}

#[test]
fn randomized_against_page_model() {
    for seed in 1..=12u64 {
        run_model(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15), 2_500);
    }
}

fn run_model(seed: u64, steps: usize) {
    let mut rng = Rng(seed);
    let mut m = small();
    let brk_start = MIN + 20 * P + 0x234;
    m.init_brk(brk_start, MIN + 40 * P);
    let mut model = Model {
        pages: BTreeMap::new(),
        brk: m.brk(),
    };
    let mut counts = [0usize; 5];
    for step in 0..steps {
        let op = rng.below(16);
        let what = match op {
            0..=4 => {
                let pl = [
                    Placement::Any,
                    Placement::Hint,
                    Placement::Fixed,
                    Placement::FixedNoReplace,
                ][rng.below(4) as usize];
                let (hint, len, at) = (
                    random_addr(&mut rng),
                    random_len(&mut rng),
                    random_attr(&mut rng),
                );
                let got = m.map(hint, len, at.prot, at.kind, at.shared, pl);
                let want = model.map(hint, len, at, pl);
                let got = got.map(|r| (r.addr, range_pages(&r.replaced)));
                assert_eq!(
                    got, want,
                    "seed {seed:#x} step {step}: map({hint:#x}, {len:#x}, {at:?}, {pl:?})"
                );
                counts[0] += got.is_ok() as usize;
                "map"
            }
            5..=7 => {
                let (addr, len) = (random_addr(&mut rng), random_len(&mut rng));
                let got = m.unmap(addr, len).map(|v| range_pages(&v));
                let want = model.unmap(addr, len);
                assert_eq!(
                    got, want,
                    "seed {seed:#x} step {step}: unmap({addr:#x}, {len:#x})"
                );
                counts[1] += got.is_ok() as usize;
                "unmap"
            }
            8..=10 => {
                let (addr, len, prot) = (
                    random_addr(&mut rng),
                    random_len(&mut rng),
                    random_attr(&mut rng).prot,
                );
                let got = m.protect(addr, len, prot).map(|v| range_pages(&v));
                let want = model.protect(addr, len, prot);
                assert_eq!(
                    got, want,
                    "seed {seed:#x} step {step}: protect({addr:#x}, {len:#x}, {prot:?})"
                );
                counts[2] += got.is_ok() as usize;
                "protect"
            }
            11..=13 => {
                // Prefer old addresses that are mapped, so the interesting paths run.
                let addr = match rng.chance(4) {
                    true => random_addr(&mut rng),
                    false => {
                        let n = model.pages.len() as u64;
                        match n {
                            0 => random_addr(&mut rng),
                            _ => *model.pages.keys().nth(rng.below(n) as usize).unwrap(),
                        }
                    }
                };
                let (old_len, new_len) = (random_len(&mut rng), random_len(&mut rng));
                let flags = RemapFlags::from_bits_retain(match rng.below(10) {
                    0 => 0,
                    1 => 2,
                    2 => 4 | 1,
                    3..=5 => 1,
                    _ => 3,
                });
                let new_addr = random_addr(&mut rng);
                let got = m.remap(addr, old_len, new_len, flags, new_addr);
                let want = model.remap(addr, old_len, new_len, flags, new_addr);
                let got = got.map(|r| (r.addr, range_pages(&r.unmapped), r.moved));
                assert_eq!(
                    got, want,
                    "seed {seed:#x} step {step}: remap({addr:#x}, {old_len:#x}, {new_len:#x}, {flags:?}, {new_addr:#x})"
                );
                counts[3] += got.is_ok() as usize;
                "remap"
            }
            _ => {
                let new = brk_start - P + rng.below(24 * P);
                let got = m.set_brk(new);
                let got = (
                    got.brk,
                    got.mapped.map(|r| range_pages(&[r])).unwrap_or_default(),
                    range_pages(&got.unmapped),
                );
                let want = model.set_brk(new);
                assert_eq!(got, want, "seed {seed:#x} step {step}: set_brk({new:#x})");
                counts[4] += (got.0 == new) as usize;
                "brk"
            }
        };
        if let Err(e) = m.check_invariants() {
            panic!("seed {seed:#x} step {step} after {what}: {e}\n{:#?}", m);
        }
        let expanded: BTreeMap<u64, Attr> = m
            .iter()
            .flat_map(|a| {
                pages(a.start, a.end).map(|p| {
                    (
                        p,
                        Attr {
                            prot: a.prot,
                            kind: a.kind,
                            shared: a.shared,
                        },
                    )
                })
            })
            .collect();
        assert_eq!(
            expanded, model.pages,
            "seed {seed:#x} step {step} after {what}"
        );
        assert_eq!(m.brk(), model.brk);
        // Spot-check lookups against the model.
        let probe = random_addr(&mut rng);
        assert_eq!(
            m.find(probe).map(|a| Attr {
                prot: a.prot,
                kind: a.kind,
                shared: a.shared
            }),
            model.pages.get(&(probe & !(P - 1))).copied()
        );
        let len = random_len(&mut rng);
        let want = pages(probe & !(P - 1), round_up(probe + len).unwrap()).all(|p| {
            model
                .pages
                .get(&p)
                .is_some_and(|a| a.prot.allows(Prot::READ))
        });
        assert_eq!(m.is_mapped(probe, len, Prot::READ), want || len == 0);
    }
    // Every operation kind succeeded a fair number of times.
    for (i, c) in counts.iter().enumerate() {
        assert!(
            *c > steps / 100,
            "seed {seed:#x}: op {i} succeeded only {c} times"
        );
    }
}

// ---- vDSO areas ----

#[test]
fn vvar_refuses_write_and_exec_but_unmaps() {
    let mut m = small();
    let vvar = MIN + 10 * P;
    let fixed = Placement::Fixed;
    m.map(vvar, P, Prot::READ, VmaKind::Vvar, false, fixed)
        .unwrap();
    m.map(vvar + P, P, Prot::RX, VmaKind::Vdso, false, fixed)
        .unwrap();
    m.check_invariants().unwrap();
    assert_eq!(VmError::Access.errno(), 13);
    assert_eq!(alloc::format!("{}", VmError::Access), "EACCES");
    let before = areas(&m);
    for prot in [Prot::RW, Prot::RX, Prot::WRITE, Prot::EXEC] {
        assert_eq!(m.protect(vvar, P, prot), Err(VmError::Access));
        // Also when the range only overlaps the vvar page.
        assert_eq!(m.protect(vvar, 2 * P, prot), Err(VmError::Access));
    }
    assert_eq!(areas(&m), before);
    // Read-only and PROT_NONE are fine; the vDSO text may become writable.
    assert_eq!(m.protect(vvar, P, Prot::NONE), Ok(vec![r(vvar, vvar + P)]));
    assert_eq!(m.protect(vvar, P, Prot::READ), Ok(vec![r(vvar, vvar + P)]));
    assert_eq!(
        m.protect(vvar + P, P, Prot::RW),
        Ok(vec![r(vvar + P, vvar + 2 * P)])
    );
    // Different kinds never merge.
    assert_eq!(m.len(), 2);
    assert_eq!(m.unmap(vvar, 2 * P), Ok(vec![r(vvar, vvar + 2 * P)]));
    assert_eq!(m.len(), 0);
    m.check_invariants().unwrap();
}
