//! Bookkeeping of one user address space: which ranges are mapped, with what
//! protection and of what kind, following Linux semantics (man 2 mmap,
//! munmap, mprotect, mremap, brk).
//!
//! Key types: [`VmaMap`] (the areas of one address space, a `BTreeMap` keyed
//! by start address), [`Vma`], [`Prot`], [`VmaKind`], [`Placement`],
//! [`VmError`] (with Linux errno numbers), and the change reports
//! [`Mapped`], [`RemapResult`], [`BrkResult`].
//!
//! Callers: the kernel's memory syscalls (`kernel/src/linux/syscall/mm.rs`:
//! mmap, munmap, mprotect, mremap, brk), the ELF loader (image and stack
//! areas), the page-fault handler ([`VmaMap::find`]) and user-pointer checks
//! ([`VmaMap::is_mapped`]). Page tables are *not* touched here: every
//! operation returns what changed (ranges that lost their mapping, whose
//! frames the kernel frees; ranges whose protection changed; page-table
//! entries to move) and the kernel applies that to the page tables.
//!
//! Invariants, checked by the tests after every operation: areas are page
//! aligned, non-empty, non-overlapping, inside `[min, max)`, and two adjacent
//! areas with the same protection, kind and sharing are merged into one
//! (like Linux's `vma_merge`), so the map does not fragment.
//!
//! Deliberate differences from Linux, all on error paths or rarely used:
//! `mprotect` and `mremap` check the whole request before changing anything
//! (Linux may apply a prefix before failing); `mremap` with `old_len == 0`
//! (duplicating a shared mapping) and `MREMAP_DONTUNMAP` return `EINVAL`;
//! there is no stack guard gap and no address randomisation.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::fmt;

use crate::{is_page_aligned, page_align_up, PAGE_SIZE};

/// Lowest user address (Linux `vm.mmap_min_addr` default, 64 KiB).
pub const USER_MIN: u64 = 0x1_0000;
/// End (exclusive) of the user address space: x86-64 `TASK_SIZE` with
/// 4-level paging (the last page below 2^47 is left out, as in Linux).
pub const USER_MAX: u64 = 0x0000_7fff_ffff_f000;
/// Where top-down `mmap` searches start: `USER_MAX` minus 128 MiB, which is
/// Linux's `mmap_base` without randomisation (room for the main stack).
pub const DEFAULT_MMAP_BASE: u64 = USER_MAX - (128 << 20);

/// Half-open byte range `start..end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Range {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

impl Range {
    /// `start..end`.
    pub const fn new(start: u64, end: u64) -> Self {
        Self { start, end }
    }

    /// Length in bytes (0 if inverted).
    pub const fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// Whether the range holds no byte.
    pub const fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// Whether `addr` lies in the range.
    pub const fn contains(&self, addr: u64) -> bool {
        self.start <= addr && addr < self.end
    }
}

/// Page protection, with the Linux `PROT_*` bit values.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Prot(u8);

impl Prot {
    /// `PROT_NONE`: no access.
    pub const NONE: Prot = Prot(0);
    /// `PROT_READ`.
    pub const READ: Prot = Prot(1);
    /// `PROT_WRITE`.
    pub const WRITE: Prot = Prot(2);
    /// `PROT_EXEC`.
    pub const EXEC: Prot = Prot(4);
    /// `PROT_READ | PROT_WRITE`.
    pub const RW: Prot = Prot(3);
    /// `PROT_READ | PROT_EXEC`.
    pub const RX: Prot = Prot(5);
    const ALL: u64 = 7;

    /// From the `prot` argument of mprotect: `None` if bits other than
    /// read/write/exec are set (the caller returns `EINVAL`; it handles
    /// `PROT_GROWSDOWN`/`PROT_GROWSUP` itself if it supports them).
    pub const fn from_bits(bits: u64) -> Option<Prot> {
        if bits & !Self::ALL != 0 {
            None
        } else {
            Some(Prot(bits as u8))
        }
    }

    /// From the `prot` argument of mmap, which ignores unknown bits.
    pub const fn from_bits_truncate(bits: u64) -> Prot {
        Prot((bits & Self::ALL) as u8)
    }

    /// The Linux `PROT_*` bits.
    pub const fn bits(self) -> u64 {
        self.0 as u64
    }

    /// Whether every bit of `other` is set in `self`.
    pub const fn contains(self, other: Prot) -> bool {
        self.0 & other.0 == other.0
    }

    /// Bitwise or.
    pub const fn union(self, other: Prot) -> Prot {
        Prot(self.0 | other.0)
    }

    /// Whether an access needing `access` succeeds on a page with this
    /// protection on x86-64: any protection but `NONE` allows reads
    /// (`PROT_WRITE` and `PROT_EXEC` pages are readable, as on Linux);
    /// writes need `WRITE`, instruction fetch needs `EXEC`.
    pub const fn allows(self, access: Prot) -> bool {
        let effective = if self.0 != 0 { self.0 | 1 } else { 0 };
        effective & access.0 == access.0
    }
}

impl core::ops::BitOr for Prot {
    type Output = Prot;
    fn bitor(self, rhs: Prot) -> Prot {
        self.union(rhs)
    }
}

impl fmt::Debug for Prot {
    /// `rwx` letters as in /proc/self/maps, e.g. `r-x`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = |bit: u8, ch: char| if self.0 & bit != 0 { ch } else { '-' };
        write!(f, "{}{}{}", c(1, 'r'), c(2, 'w'), c(4, 'x'))
    }
}

/// What an area holds; only areas of the same kind merge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VmaKind {
    /// Anonymous memory from mmap (`MAP_ANONYMOUS`, or a file copied in).
    Anon,
    /// A thread or the main stack.
    Stack,
    /// The brk heap ([`VmaMap::set_brk`]).
    Heap,
    /// Segments of the loaded ELF program or interpreter.
    Image,
    /// The vDSO image (`[vdso]` in /proc/self/maps): a private copy, like
    /// Linux's it may be unmapped, remapped and made writable.
    Vdso,
    /// The vDSO's data page (`[vvar]`): a frame shared with the kernel,
    /// which updates it. Like Linux's (no `VM_MAYWRITE`/`VM_MAYEXEC`),
    /// `mprotect` cannot add write or execute permission to it
    /// ([`VmError::Access`]); it may be unmapped.
    Vvar,
}

/// One area: `start..end` with uniform attributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Vma {
    /// First byte (page aligned).
    pub start: u64,
    /// One past the last byte (page aligned).
    pub end: u64,
    /// Protection of every page.
    pub prot: Prot,
    /// What the area holds.
    pub kind: VmaKind,
    /// `MAP_SHARED` (pages stay shared with clones of the address space)
    /// rather than `MAP_PRIVATE`.
    pub shared: bool,
}

impl Vma {
    /// `start..end`.
    pub const fn range(&self) -> Range {
        Range::new(self.start, self.end)
    }

    /// Length in bytes.
    pub const fn len(&self) -> u64 {
        self.end - self.start
    }

    /// Always `false` for an area of a [`VmaMap`]; here for clippy's sake.
    pub const fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// Same attributes: adjacent areas for which this holds are merged.
    fn same_attrs(&self, other: &Vma) -> bool {
        self.prot == other.prot && self.kind == other.kind && self.shared == other.shared
    }
}

/// Where [`VmaMap::map`] may place a mapping (man 2 mmap).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Anywhere (address argument 0): top-down below the mmap base.
    Any,
    /// At the hint (rounded down to a page; raised to the bottom of the
    /// address space if below it) if that range is free and inside the
    /// address space, else like [`Placement::Any`]. A hint in page 0 means
    /// no hint.
    Hint,
    /// `MAP_FIXED`: exactly at the address, replacing whatever is there.
    Fixed,
    /// `MAP_FIXED_NOREPLACE`: exactly at the address, `EEXIST` if anything
    /// is mapped there.
    FixedNoReplace,
}

/// Why an operation failed; [`VmError::errno`] gives the Linux number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VmError {
    /// `EINVAL`: bad alignment, length or flags.
    Invalid,
    /// `ENOMEM`: no room, range outside the address space, or (mprotect)
    /// part of the range is not mapped.
    NoMemory,
    /// `EEXIST`: `MAP_FIXED_NOREPLACE` over an existing mapping.
    Exists,
    /// `EFAULT`: mremap of a range that is not inside one mapping.
    Fault,
    /// `EAGAIN`: temporary shortage (reserved for the kernel's use).
    Again,
    /// `EPERM`: fixed mapping below the lowest user address.
    Permission,
    /// `EACCES`: mprotect asks for a permission the area may never have
    /// (write or execute on [`VmaKind::Vvar`]).
    Access,
}

impl VmError {
    /// The Linux errno number (positive).
    pub const fn errno(self) -> i32 {
        match self {
            VmError::Invalid => 22,
            VmError::NoMemory => 12,
            VmError::Exists => 17,
            VmError::Fault => 14,
            VmError::Again => 11,
            VmError::Permission => 1,
            VmError::Access => 13,
        }
    }
}

impl fmt::Display for VmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            VmError::Invalid => "EINVAL",
            VmError::NoMemory => "ENOMEM",
            VmError::Exists => "EEXIST",
            VmError::Fault => "EFAULT",
            VmError::Again => "EAGAIN",
            VmError::Permission => "EPERM",
            VmError::Access => "EACCES",
        };
        f.write_str(name)
    }
}

/// Result of [`VmaMap::map`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapped {
    /// Start of the new mapping (the mmap return value).
    pub addr: u64,
    /// Ranges that were mapped before and are now replaced
    /// ([`Placement::Fixed`] only): the kernel frees their frames. Sorted,
    /// disjoint, adjacent pieces coalesced.
    pub replaced: Vec<Range>,
}

/// `mremap` flags, Linux bit values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct RemapFlags(u32);

impl RemapFlags {
    /// No flags: resize in place only.
    pub const NONE: RemapFlags = RemapFlags(0);
    /// `MREMAP_MAYMOVE`.
    pub const MAYMOVE: RemapFlags = RemapFlags(1);
    /// `MREMAP_FIXED` (requires `MAYMOVE`).
    pub const FIXED: RemapFlags = RemapFlags(2);
    /// `MREMAP_DONTUNMAP` (not supported: `EINVAL`).
    pub const DONTUNMAP: RemapFlags = RemapFlags(4);

    /// The syscall's `flags` argument, unknown bits kept (they make
    /// [`VmaMap::remap`] return `EINVAL`).
    pub const fn from_bits_retain(bits: u32) -> Self {
        RemapFlags(bits)
    }

    /// The raw bits.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether all bits of `other` are set.
    pub const fn contains(self, other: RemapFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl core::ops::BitOr for RemapFlags {
    type Output = RemapFlags;
    fn bitor(self, rhs: RemapFlags) -> RemapFlags {
        RemapFlags(self.0 | rhs.0)
    }
}

/// Page-table entries to move for a moving mremap: `len` bytes from
/// `from` to `to` (both page aligned).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PteMove {
    /// Old start address.
    pub from: u64,
    /// New start address.
    pub to: u64,
    /// Bytes to move.
    pub len: u64,
}

/// Result of [`VmaMap::remap`]. The kernel first frees the frames of
/// `unmapped`, then moves the entries of `moved`; pages of the new mapping
/// beyond the moved part are fresh (demand-zero).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemapResult {
    /// Start of the mapping after the call (the mremap return value).
    pub addr: u64,
    /// Ranges that lost their mapping (shrunk tail, or what a
    /// `MREMAP_FIXED` destination replaced). Sorted, disjoint, coalesced.
    pub unmapped: Vec<Range>,
    /// Set when the mapping moved.
    pub moved: Option<PteMove>,
}

/// The program break: `start <= current <= max`. Heap pages are
/// `page_up(start)..page_up(current)`, one [`VmaKind::Heap`] area.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Brk {
    /// Initial break (end of the program's bss); brk below it fails.
    pub start: u64,
    /// Current break as the program sees it (not necessarily aligned).
    pub current: u64,
    /// Highest allowed break (the data rlimit).
    pub max: u64,
}

/// Result of [`VmaMap::set_brk`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrkResult {
    /// The break after the call: the new one on success, the old one on
    /// failure (the brk syscall's return value).
    pub brk: u64,
    /// Pages added to the heap (demand-zero).
    pub mapped: Option<Range>,
    /// Pages that lost their mapping when the heap shrank: free the frames.
    pub unmapped: Vec<Range>,
}

/// The areas of one user address space; see the module docs.
#[derive(Clone, Debug)]
pub struct VmaMap {
    areas: BTreeMap<u64, Vma>,
    min: u64,
    max: u64,
    mmap_base: u64,
    brk: Brk,
}

impl Default for VmaMap {
    fn default() -> Self {
        Self::new()
    }
}

/// Appends `r` to sorted `out`, merging it with the last range if adjacent.
fn push_coalesced(out: &mut Vec<Range>, r: Range) {
    if let Some(last) = out.last_mut() {
        if last.end == r.start {
            last.end = r.end;
            return;
        }
    }
    out.push(r);
}

impl VmaMap {
    /// An empty x86-64 user address space: `[USER_MIN, USER_MAX)`, mmap
    /// base [`DEFAULT_MMAP_BASE`], no break yet.
    pub fn new() -> Self {
        Self::with_layout(USER_MIN, USER_MAX, DEFAULT_MMAP_BASE)
    }

    /// An empty address space `[min, max)` whose top-down searches start
    /// at `mmap_base` (clamped into `[min, max]`). Panics if `min` or `max`
    /// is not page aligned or `min >= max`.
    pub fn with_layout(min: u64, max: u64, mmap_base: u64) -> Self {
        assert!(is_page_aligned(min) && is_page_aligned(max) && min < max);
        Self {
            areas: BTreeMap::new(),
            min,
            max,
            mmap_base: crate::page_align_down(mmap_base.clamp(min, max)),
            brk: Brk::default(),
        }
    }

    /// The user range `[min, max)`.
    pub fn bounds(&self) -> Range {
        Range::new(self.min, self.max)
    }

    /// Where top-down searches start.
    pub fn mmap_base(&self) -> u64 {
        self.mmap_base
    }

    /// Moves the top-down search start (e.g. below a stack placed by the
    /// ELF loader); clamped into the bounds and rounded down to a page.
    pub fn set_mmap_base(&mut self, base: u64) {
        self.mmap_base = crate::page_align_down(base.clamp(self.min, self.max));
    }

    /// Number of areas.
    pub fn len(&self) -> usize {
        self.areas.len()
    }

    /// Whether nothing is mapped.
    pub fn is_empty(&self) -> bool {
        self.areas.is_empty()
    }

    /// The areas in address order (for /proc/self/maps, core dumps, fork).
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Vma> + '_ {
        self.areas.values()
    }

    /// The area containing `addr`.
    pub fn find(&self, addr: u64) -> Option<&Vma> {
        self.areas
            .range(..=addr)
            .next_back()
            .map(|(_, a)| a)
            .filter(|a| addr < a.end)
    }

    /// Whether every byte of `addr..addr+len` is mapped with a protection
    /// that [allows](Prot::allows) `access` (a user-pointer check; pass
    /// `Prot::NONE` to ask only whether it is mapped). `len == 0` is
    /// always fine; a range that wraps around is not.
    pub fn is_mapped(&self, addr: u64, len: u64, access: Prot) -> bool {
        if len == 0 {
            return true;
        }
        let Some(end) = addr.checked_add(len) else {
            return false;
        };
        let mut area = match self.find(addr) {
            Some(a) => a,
            None => return false,
        };
        loop {
            if !area.prot.allows(access) {
                return false;
            }
            if area.end >= end {
                return true;
            }
            match self.areas.get(&area.end) {
                Some(next) => area = next,
                None => return false,
            }
        }
    }

    /// Whether nothing is mapped in `start..end`.
    pub fn is_free(&self, start: u64, end: u64) -> bool {
        !self.overlaps(start, end)
    }

    /// mmap (man 2 mmap): maps `len` bytes (rounded up to pages) with the
    /// given attributes at a place chosen by `placement` and returns where,
    /// plus what a `MAP_FIXED` mapping replaced.
    ///
    /// Errors: `len == 0` → `EINVAL`; length larger than the address space
    /// → `ENOMEM`; fixed: range past the top → `ENOMEM`, unaligned address
    /// → `EINVAL`, below the bottom → `EPERM`, `FixedNoReplace` over a
    /// mapping → `EEXIST`; no gap large enough → `ENOMEM`.
    pub fn map(
        &mut self,
        hint: u64,
        len: u64,
        prot: Prot,
        kind: VmaKind,
        shared: bool,
        placement: Placement,
    ) -> Result<Mapped, VmError> {
        if len == 0 {
            return Err(VmError::Invalid);
        }
        let len = page_align_up(len).ok_or(VmError::NoMemory)?;
        if len > self.max - self.min {
            return Err(VmError::NoMemory);
        }
        let mut replaced = Vec::new();
        let addr = match placement {
            Placement::Fixed | Placement::FixedNoReplace => {
                if hint > self.max - len {
                    return Err(VmError::NoMemory);
                }
                if !is_page_aligned(hint) {
                    return Err(VmError::Invalid);
                }
                if hint < self.min {
                    return Err(VmError::Permission);
                }
                if placement == Placement::FixedNoReplace {
                    if self.overlaps(hint, hint + len) {
                        return Err(VmError::Exists);
                    }
                } else {
                    replaced = self.carve(hint, hint + len);
                }
                hint
            }
            Placement::Hint => {
                let h = crate::page_align_down(hint);
                let h = if h != 0 && h < self.min { self.min } else { h };
                if h != 0 && h <= self.max - len && !self.overlaps(h, h + len) {
                    h
                } else {
                    self.find_gap(len).ok_or(VmError::NoMemory)?
                }
            }
            Placement::Any => self.find_gap(len).ok_or(VmError::NoMemory)?,
        };
        self.insert_merged(Vma {
            start: addr,
            end: addr + len,
            prot,
            kind,
            shared,
        });
        Ok(Mapped { addr, replaced })
    }

    /// munmap (man 2 munmap): removes every mapping in `addr..addr+len`
    /// (len rounded up), splitting areas that stick out. Holes are fine.
    /// Returns the ranges that were actually mapped (sorted, coalesced).
    ///
    /// Errors: unaligned `addr`, `len == 0`, or a range past the top of the
    /// address space → `EINVAL`.
    pub fn unmap(&mut self, addr: u64, len: u64) -> Result<Vec<Range>, VmError> {
        if !is_page_aligned(addr) || len == 0 {
            return Err(VmError::Invalid);
        }
        let len = page_align_up(len).ok_or(VmError::Invalid)?;
        let end = addr.checked_add(len).ok_or(VmError::Invalid)?;
        if end > self.max {
            return Err(VmError::Invalid);
        }
        Ok(self.carve(addr, end))
    }

    /// mprotect (man 2 mprotect): sets the protection of
    /// `addr..addr+len` (len rounded up), splitting areas at the ends and
    /// merging equal neighbours afterwards. Returns the ranges whose
    /// protection actually changed (sorted, coalesced); `len == 0` succeeds
    /// and changes nothing.
    ///
    /// Errors: unaligned `addr` → `EINVAL`; wrap-around or any unmapped page
    /// in the range → `ENOMEM`; write or execute asked for on a
    /// [`VmaKind::Vvar`] area → `EACCES` (nothing is changed then).
    pub fn protect(&mut self, addr: u64, len: u64, prot: Prot) -> Result<Vec<Range>, VmError> {
        if !is_page_aligned(addr) {
            return Err(VmError::Invalid);
        }
        if len == 0 {
            return Ok(Vec::new());
        }
        let len = page_align_up(len).ok_or(VmError::NoMemory)?;
        let end = addr.checked_add(len).ok_or(VmError::NoMemory)?;
        if !self.is_mapped(addr, len, Prot::NONE) {
            return Err(VmError::NoMemory);
        }
        if (prot.contains(Prot::WRITE) || prot.contains(Prot::EXEC))
            && self
                .areas
                .range(..end)
                .rev()
                .take_while(|(_, a)| a.end > addr)
                .any(|(_, a)| a.kind == VmaKind::Vvar)
        {
            return Err(VmError::Access);
        }
        let mut changed = Vec::new();
        if self
            .areas
            .range(..end)
            .rev()
            .take_while(|(_, a)| a.end > addr)
            .all(|(_, a)| a.prot == prot)
        {
            return Ok(changed);
        }
        self.split_at(addr);
        self.split_at(end);
        for area in self.areas.range_mut(addr..end).map(|(_, a)| a) {
            if area.prot != prot {
                area.prot = prot;
                push_coalesced(&mut changed, area.range());
            }
        }
        self.merge_window(addr, end);
        Ok(changed)
    }

    /// mremap (man 2 mremap): resizes the mapping at `old_addr`, in place
    /// when possible, else moves it if `MAYMOVE` allows; with `FIXED` moves
    /// it to `new_addr`, replacing what is there. Lengths are rounded up to
    /// pages.
    ///
    /// Shrinking (without `FIXED`) unmaps the tail; `old_addr` must lie in
    /// a mapping, the tail may span several. Growing needs
    /// `old_addr..old_addr+old_len` inside one area; it grows in place if
    /// that range ends the area and the pages after it are free, else moves
    /// (top-down search like mmap) if `MAYMOVE`.
    ///
    /// Errors: unknown flags, `DONTUNMAP`, `FIXED` without `MAYMOVE`,
    /// unaligned `old_addr`/`new_addr`, `new_len == 0`, `old_len == 0`,
    /// a `FIXED` destination overlapping the old range or past the top →
    /// `EINVAL`; old range not inside one mapping → `EFAULT`; `FIXED`
    /// destination below the bottom → `EPERM`; no room → `ENOMEM`.
    /// Nothing changes on error.
    pub fn remap(
        &mut self,
        old_addr: u64,
        old_len: u64,
        new_len: u64,
        flags: RemapFlags,
        new_addr: u64,
    ) -> Result<RemapResult, VmError> {
        let known = RemapFlags::MAYMOVE | RemapFlags::FIXED;
        if flags.bits() & !known.bits() != 0 {
            return Err(VmError::Invalid);
        }
        let may_move = flags.contains(RemapFlags::MAYMOVE);
        let fixed = flags.contains(RemapFlags::FIXED);
        if fixed && !may_move {
            return Err(VmError::Invalid);
        }
        if !is_page_aligned(old_addr) {
            return Err(VmError::Invalid);
        }
        let old_len = page_align_up(old_len).ok_or(VmError::Invalid)?;
        let new_len = page_align_up(new_len).ok_or(VmError::Invalid)?;
        if new_len == 0 || old_len == 0 {
            return Err(VmError::Invalid);
        }
        let old_end = old_addr.checked_add(old_len).ok_or(VmError::Invalid)?;
        let area = *self.find(old_addr).ok_or(VmError::Fault)?;

        if fixed {
            if !is_page_aligned(new_addr) {
                return Err(VmError::Invalid);
            }
            let new_end = new_addr
                .checked_add(new_len)
                .filter(|&e| e <= self.max)
                .ok_or(VmError::Invalid)?;
            if old_addr < new_end && new_addr < old_end {
                return Err(VmError::Invalid);
            }
            if old_len > new_len && old_end > self.max {
                return Err(VmError::Invalid);
            }
            let keep = old_len.min(new_len);
            if old_addr + keep > area.end {
                return Err(VmError::Fault);
            }
            if new_addr < self.min {
                return Err(VmError::Permission);
            }
            let mut unmapped = self.carve(new_addr, new_end);
            if old_len > new_len {
                unmapped.extend(self.carve(old_addr + new_len, old_end));
            }
            self.move_area(&area, old_addr, keep, new_addr, new_len);
            return Ok(RemapResult {
                addr: new_addr,
                unmapped: coalesce(unmapped),
                moved: Some(PteMove {
                    from: old_addr,
                    to: new_addr,
                    len: keep,
                }),
            });
        }

        if old_len >= new_len {
            let mut unmapped = Vec::new();
            if old_len > new_len {
                if old_end > self.max {
                    return Err(VmError::Invalid);
                }
                unmapped = self.carve(old_addr + new_len, old_end);
            }
            return Ok(RemapResult {
                addr: old_addr,
                unmapped,
                moved: None,
            });
        }

        // Grow.
        if old_end > area.end {
            return Err(VmError::Fault);
        }
        if old_end == area.end {
            if let Some(new_end) = old_addr.checked_add(new_len).filter(|&e| e <= self.max) {
                if !self.overlaps(old_end, new_end) {
                    self.insert_merged(Vma {
                        start: old_end,
                        end: new_end,
                        ..area
                    });
                    return Ok(RemapResult {
                        addr: old_addr,
                        unmapped: Vec::new(),
                        moved: None,
                    });
                }
            }
        }
        if !may_move {
            return Err(VmError::NoMemory);
        }
        if new_len > self.max - self.min {
            return Err(VmError::NoMemory);
        }
        let dest = self.find_gap(new_len).ok_or(VmError::NoMemory)?;
        self.move_area(&area, old_addr, old_len, dest, new_len);
        Ok(RemapResult {
            addr: dest,
            unmapped: Vec::new(),
            moved: Some(PteMove {
                from: old_addr,
                to: dest,
                len: old_len,
            }),
        })
    }

    /// Sets up the break for a freshly loaded program: `start` is the end of
    /// its bss, `max` the highest break allowed. Any old heap pages stay
    /// mapped (call on an empty map).
    pub fn init_brk(&mut self, start: u64, max: u64) {
        self.brk = Brk {
            start,
            current: start,
            max: max.max(start),
        };
    }

    /// The current break state.
    pub fn brk(&self) -> Brk {
        self.brk
    }

    /// brk (man 2 brk, Linux kernel semantics): moves the break to `new`
    /// and returns the new break, or the old one (unchanged map) if `new`
    /// is below the start, above the max, or growing would come closer than
    /// one page to the next mapping. Shrinking unmaps whole pages above the
    /// new break; growing maps read-write [`VmaKind::Heap`] pages.
    pub fn set_brk(&mut self, new: u64) -> BrkResult {
        let old = self.brk.current;
        let fail = BrkResult {
            brk: old,
            mapped: None,
            unmapped: Vec::new(),
        };
        if new < self.brk.start || new > self.brk.max {
            return fail;
        }
        let (Some(new_pg), Some(old_pg)) = (page_align_up(new), page_align_up(old)) else {
            return fail;
        };
        let mut result = BrkResult {
            brk: new,
            mapped: None,
            unmapped: Vec::new(),
        };
        if new_pg < old_pg {
            result.unmapped = self.carve(new_pg, old_pg);
        } else if new_pg > old_pg {
            if new_pg > self.max || old_pg < self.min {
                return fail;
            }
            let next = self
                .areas
                .range(..new_pg.saturating_add(PAGE_SIZE))
                .next_back();
            if next.is_some_and(|(_, a)| a.end > old_pg) {
                return fail;
            }
            self.insert_merged(Vma {
                start: old_pg,
                end: new_pg,
                prot: Prot::RW,
                kind: VmaKind::Heap,
                shared: false,
            });
            result.mapped = Some(Range::new(old_pg, new_pg));
        }
        self.brk.current = new;
        result
    }

    /// Removes every area (exit, execve) and resets the break; returns the
    /// ranges that were mapped.
    pub fn clear(&mut self) -> Vec<Range> {
        let mut out = Vec::new();
        for a in self.areas.values() {
            push_coalesced(&mut out, a.range());
        }
        self.areas.clear();
        self.brk = Brk::default();
        out
    }

    // ---- internals ----

    /// Whether any area intersects `start..end`.
    fn overlaps(&self, start: u64, end: u64) -> bool {
        start < end
            && self
                .areas
                .range(..end)
                .next_back()
                .is_some_and(|(_, a)| a.end > start)
    }

    /// A free, page-aligned `len`-byte range: the highest one below the
    /// mmap base, else the lowest anywhere (Linux falls back to a
    /// bottom-up search too).
    fn find_gap(&self, len: u64) -> Option<u64> {
        self.gap_top_down(self.min, self.mmap_base, len)
            .or_else(|| self.gap_bottom_up(self.min, self.max, len))
    }

    fn gap_top_down(&self, lo: u64, hi: u64, len: u64) -> Option<u64> {
        let mut gap_end = hi;
        for a in self.areas.range(..hi).rev().map(|(_, a)| a) {
            if a.end <= gap_end {
                let gap_start = a.end.max(lo);
                if gap_end >= gap_start && gap_end - gap_start >= len {
                    return Some(gap_end - len);
                }
            }
            gap_end = gap_end.min(a.start);
            if gap_end <= lo {
                return None;
            }
        }
        (gap_end >= lo && gap_end - lo >= len).then(|| gap_end - len)
    }

    fn gap_bottom_up(&self, lo: u64, hi: u64, len: u64) -> Option<u64> {
        let mut cursor = lo;
        if let Some((_, a)) = self.areas.range(..lo).next_back() {
            cursor = cursor.max(a.end);
        }
        for a in self.areas.range(lo..).map(|(_, a)| a) {
            if a.start >= cursor && a.start - cursor >= len {
                break;
            }
            cursor = cursor.max(a.end);
            if cursor >= hi {
                return None;
            }
        }
        cursor.checked_add(len).filter(|&e| e <= hi).map(|_| cursor)
    }

    /// Splits the area strictly containing `addr` (if any) at `addr`.
    fn split_at(&mut self, addr: u64) {
        let tail = match self.areas.range_mut(..addr).next_back() {
            Some((_, a)) if a.end > addr => {
                let tail = Vma { start: addr, ..*a };
                a.end = addr;
                tail
            }
            _ => return,
        };
        self.areas.insert(addr, tail);
    }

    /// Removes everything in `start..end`, splitting areas at the ends;
    /// returns the removed ranges, sorted and coalesced.
    fn carve(&mut self, start: u64, end: u64) -> Vec<Range> {
        let mut out = Vec::new();
        if !self.overlaps(start, end) {
            return out;
        }
        self.split_at(start);
        self.split_at(end);
        while let Some((&k, _)) = self.areas.range(start..end).next() {
            if let Some(a) = self.areas.remove(&k) {
                push_coalesced(&mut out, a.range());
            }
        }
        out
    }

    /// Inserts `vma` into a free range and merges it with its neighbours.
    fn insert_merged(&mut self, vma: Vma) {
        debug_assert!(!self.overlaps(vma.start, vma.end));
        self.areas.insert(vma.start, vma);
        self.merge_window(vma.start, vma.end);
    }

    /// Moves `len` bytes at `from` (inside `area`) to a new `new_len`-byte
    /// area at `to` with `area`'s attributes. `to..to+new_len` must be free.
    fn move_area(&mut self, area: &Vma, from: u64, len: u64, to: u64, new_len: u64) {
        self.carve(from, from + len);
        self.insert_merged(Vma {
            start: to,
            end: to + new_len,
            ..*area
        });
    }

    /// Merges adjacent areas with equal attributes whose common boundary
    /// lies in `lo..=hi`.
    fn merge_window(&mut self, lo: u64, hi: u64) {
        let mut cur = match self.areas.range(..lo).next_back() {
            Some((&k, _)) => k,
            None => match self.areas.range(lo..).next() {
                Some((&k, _)) => k,
                None => return,
            },
        };
        loop {
            let a = self.areas[&cur];
            if a.end > hi {
                return;
            }
            let Some((&nk, &next)) = self.areas.range(a.end..).next() else {
                return;
            };
            if next.start == a.end && a.end >= lo && a.same_attrs(&next) {
                self.areas.remove(&nk);
                if let Some(a) = self.areas.get_mut(&cur) {
                    a.end = next.end;
                }
            } else {
                cur = nk;
            }
        }
    }

    /// Checks the invariants listed in the module docs.
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) -> Result<(), alloc::string::String> {
        use alloc::format;
        let mut prev: Option<&Vma> = None;
        for (&k, a) in &self.areas {
            if k != a.start {
                return Err(format!("key {k:#x} != start of {a:?}"));
            }
            if !(is_page_aligned(a.start) && is_page_aligned(a.end)) {
                return Err(format!("unaligned {a:?}"));
            }
            if a.start >= a.end {
                return Err(format!("empty {a:?}"));
            }
            if a.start < self.min || a.end > self.max {
                return Err(format!("out of bounds {a:?}"));
            }
            if let Some(p) = prev {
                if p.end > a.start {
                    return Err(format!("overlap {p:?} {a:?}"));
                }
                if p.end == a.start && p.same_attrs(a) {
                    return Err(format!("unmerged {p:?} {a:?}"));
                }
            }
            prev = Some(a);
        }
        Ok(())
    }
}

/// Sorts and coalesces ranges.
fn coalesce(mut v: Vec<Range>) -> Vec<Range> {
    v.sort_unstable();
    let mut out = Vec::with_capacity(v.len());
    for r in v {
        push_coalesced(&mut out, r);
    }
    out
}

#[cfg(test)]
mod tests;
