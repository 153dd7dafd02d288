//! x86-64 4-level page tables.
//!
//! All physical memory is reachable at [`PHYS_OFFSET`] (the direct map), so
//! table frames are edited through it. [`PageTable`] maps, unmaps, protects
//! and translates single pages; the kernel's memory manager owns the policy
//! (which frames, which flags) and supplies frames through [`FrameAlloc`].

use core::arch::asm;

/// Virtual address where physical address 0 is mapped.
pub const PHYS_OFFSET: u64 = 0xffff_8000_0000_0000;
/// Virtual address of physical address 0 in the kernel image window.
pub const KERNEL_BASE: u64 = 0xffff_ffff_8000_0000;
/// Size of a small page.
pub const PAGE_SIZE: u64 = 4096;
/// Size of a large (2 MiB) page.
pub const LARGE_PAGE_SIZE: u64 = 2 * 1024 * 1024;

const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;

/// Page-table entry flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PteFlags(pub u64);

impl PteFlags {
    pub const PRESENT: Self = Self(1);
    pub const WRITABLE: Self = Self(1 << 1);
    pub const USER: Self = Self(1 << 2);
    pub const WRITE_THROUGH: Self = Self(1 << 3);
    pub const NO_CACHE: Self = Self(1 << 4);
    pub const HUGE: Self = Self(1 << 7);
    pub const GLOBAL: Self = Self(1 << 8);
    pub const NO_EXECUTE: Self = Self(1 << 63);
    /// Software bit: the page keeps its frame but is inaccessible
    /// (PROT_NONE); the hardware sees it as not present.
    pub const INACCESSIBLE: Self = Self(1 << 9);
    pub const EMPTY: Self = Self(0);

    /// Whether all bits of `other` are set.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl core::ops::BitOr for PteFlags {
    type Output = Self;
    fn bitor(self, o: Self) -> Self {
        Self(self.0 | o.0)
    }
}

/// Supplies zeroed page-table frames (physical addresses).
pub trait FrameAlloc {
    /// A zeroed 4 KiB frame.
    fn alloc_zeroed(&mut self) -> Option<u64>;
    /// Returns a frame.
    fn free(&mut self, pa: u64);
}

/// Mapping failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapError {
    /// Something is already mapped there.
    AlreadyMapped,
    /// No frame for an intermediate table.
    NoMemory,
    /// Address not aligned for the page size.
    Misaligned,
}

/// Translates a physical address into its direct-map virtual address.
pub fn phys_to_virt(pa: u64) -> u64 {
    pa + PHYS_OFFSET
}

fn table(pa: u64) -> &'static mut [u64; 512] {
    // SAFETY: `pa` is a page-table frame owned by a PageTable (allocated
    // through FrameAlloc and never handed out elsewhere); it is mapped in the
    // direct map. Tables are only edited by the owning address space's lock
    // holder, so no other reference to it is live.
    unsafe { &mut *(phys_to_virt(pa) as *mut [u64; 512]) }
}

fn index(va: u64, level: u32) -> usize {
    ((va >> (12 + 9 * level)) & 0x1ff) as usize
}

fn invlpg(va: u64) {
    // SAFETY: INVLPG only drops a TLB entry.
    unsafe { asm!("invlpg [{}]", in(reg) va, options(nostack)) };
}

/// Flushes the whole (non-global) TLB of this CPU.
pub fn flush_tlb_all() {
    let cr3 = super::cpu::read_cr3();
    // SAFETY: reloading the same CR3 keeps all mappings.
    unsafe { super::cpu::write_cr3(cr3) };
}

/// A top-level page table (PML4) and everything below it.
#[derive(Debug)]
pub struct PageTable {
    root: u64,
}

impl PageTable {
    /// An empty address space.
    pub fn new(fa: &mut dyn FrameAlloc) -> Option<Self> {
        Some(Self {
            root: fa.alloc_zeroed()?,
        })
    }

    /// Physical address of the PML4.
    pub fn root(&self) -> u64 {
        self.root
    }

    fn is_active(&self) -> bool {
        super::cpu::read_cr3() & ADDR_MASK == self.root
    }

    /// Copies the kernel half (PML4 entries 256..512) from `other`; both
    /// then share the kernel's lower-level tables.
    pub fn share_kernel_half(&mut self, other: &PageTable) {
        let src = *table(other.root);
        let dst = table(self.root);
        dst[256..].copy_from_slice(&src[256..]);
    }

    /// Walks to the entry for `va` at `level` (0 = PTE, 1 = PDE), creating
    /// intermediate tables when `fa` is given.
    fn walk(
        &self,
        va: u64,
        level: u32,
        mut fa: Option<&mut dyn FrameAlloc>,
    ) -> Result<&'static mut u64, MapError> {
        let mut t = table(self.root);
        let mut l = 3;
        while l > level {
            let e = &mut t[index(va, l)];
            if *e & PteFlags::PRESENT.0 == 0 {
                let fa = fa.as_deref_mut().ok_or(MapError::NoMemory)?;
                let f = fa.alloc_zeroed().ok_or(MapError::NoMemory)?;
                // Intermediate entries are permissive; the leaf decides.
                *e = f
                    | PteFlags::PRESENT.0
                    | PteFlags::WRITABLE.0
                    | if va < super::user::USER_END {
                        PteFlags::USER.0
                    } else {
                        0
                    };
            } else if *e & PteFlags::HUGE.0 != 0 {
                return Err(MapError::AlreadyMapped);
            }
            t = table(*e & ADDR_MASK);
            l -= 1;
        }
        Ok(&mut t[index(va, level)])
    }

    /// Maps the 4 KiB page at `va` to frame `pa`. Flags without
    /// [`PteFlags::PRESENT`] map it inaccessible (see [`PageTable::protect`]).
    pub fn map(
        &mut self,
        va: u64,
        pa: u64,
        flags: PteFlags,
        fa: &mut dyn FrameAlloc,
    ) -> Result<(), MapError> {
        if !va.is_multiple_of(PAGE_SIZE) || !pa.is_multiple_of(PAGE_SIZE) {
            return Err(MapError::Misaligned);
        }
        let e = self.walk(va, 0, Some(fa))?;
        if *e & (PteFlags::PRESENT.0 | PteFlags::INACCESSIBLE.0) != 0 {
            return Err(MapError::AlreadyMapped);
        }
        *e = pa
            | if flags.contains(PteFlags::PRESENT) {
                flags.0
            } else {
                PteFlags::INACCESSIBLE.0
            };
        Ok(())
    }

    /// Maps the 2 MiB page at `va` to `pa`.
    pub fn map_large(
        &mut self,
        va: u64,
        pa: u64,
        flags: PteFlags,
        fa: &mut dyn FrameAlloc,
    ) -> Result<(), MapError> {
        if !va.is_multiple_of(LARGE_PAGE_SIZE) || !pa.is_multiple_of(LARGE_PAGE_SIZE) {
            return Err(MapError::Misaligned);
        }
        let e = self.walk(va, 1, Some(fa))?;
        if *e & PteFlags::PRESENT.0 != 0 {
            return Err(MapError::AlreadyMapped);
        }
        *e = pa | flags.0 | PteFlags::PRESENT.0 | PteFlags::HUGE.0;
        Ok(())
    }

    /// Unmaps the 4 KiB page at `va` (accessible or not), returning its frame.
    pub fn unmap(&mut self, va: u64) -> Option<u64> {
        let e = self.walk(va, 0, None).ok()?;
        if *e & (PteFlags::PRESENT.0 | PteFlags::INACCESSIBLE.0) == 0 {
            return None;
        }
        let pa = *e & ADDR_MASK;
        *e = 0;
        if self.is_active() {
            invlpg(va);
        }
        Some(pa)
    }

    /// Changes the flags of the mapped 4 KiB page at `va`; false if unmapped.
    /// Flags without [`PteFlags::PRESENT`] make the page inaccessible while
    /// keeping its frame (PROT_NONE).
    pub fn protect(&mut self, va: u64, flags: PteFlags) -> bool {
        let Ok(e) = self.walk(va, 0, None) else {
            return false;
        };
        if *e & (PteFlags::PRESENT.0 | PteFlags::INACCESSIBLE.0) == 0 {
            return false;
        }
        let keep = if flags.contains(PteFlags::PRESENT) {
            flags.0
        } else {
            PteFlags::INACCESSIBLE.0
        };
        *e = (*e & ADDR_MASK) | keep;
        if self.is_active() {
            invlpg(va);
        }
        true
    }

    /// The frame of a mapped page, accessible or not.
    pub fn frame_of(&self, va: u64) -> Option<u64> {
        let e = self.walk(va, 0, None).ok()?;
        if *e & (PteFlags::PRESENT.0 | PteFlags::INACCESSIBLE.0) == 0 {
            return None;
        }
        Some(*e & ADDR_MASK)
    }

    /// The frame and flags `va` maps to (4 KiB or 2 MiB pages).
    pub fn translate(&self, va: u64) -> Option<(u64, PteFlags)> {
        let mut t = table(self.root);
        let mut l = 3;
        loop {
            let e = t[index(va, l)];
            if e & PteFlags::PRESENT.0 == 0 {
                return None;
            }
            if l == 0 || (l <= 2 && e & PteFlags::HUGE.0 != 0) {
                let size = 1u64 << (12 + 9 * l);
                let base = e & ADDR_MASK & !(size - 1);
                return Some((base + (va & (size - 1)), PteFlags(e & !ADDR_MASK)));
            }
            t = table(e & ADDR_MASK);
            l -= 1;
        }
    }

    /// Frees all user-half page-table frames (not the mapped frames; the
    /// caller unmaps and frees those first).
    pub fn free_user_tables(&mut self, fa: &mut dyn FrameAlloc) {
        fn free_level(pa: u64, level: u32, fa: &mut dyn FrameAlloc) {
            if level > 0 {
                for e in table(pa).iter() {
                    if e & PteFlags::PRESENT.0 != 0 && e & PteFlags::HUGE.0 == 0 {
                        free_level(e & ADDR_MASK, level - 1, fa);
                    }
                }
            }
            fa.free(pa);
        }
        let root = table(self.root);
        for e in root[..256].iter_mut() {
            if *e & PteFlags::PRESENT.0 != 0 {
                free_level(*e & ADDR_MASK, 2, fa);
                *e = 0;
            }
        }
    }

    /// Switches this CPU to this address space (no-op if it is current).
    pub fn activate(&self) {
        if self.is_active() {
            return;
        }
        // SAFETY: every PageTable the kernel activates shares the kernel half
        // (share_kernel_half) or was built by the kernel to map itself, so the
        // running code, stack and data stay mapped.
        unsafe { super::cpu::write_cr3(self.root) };
    }
}

impl PageTable {
    /// The address space this CPU runs in now (for inspection only).
    pub fn current() -> Self {
        Self {
            root: super::cpu::read_cr3() & ADDR_MASK,
        }
    }
}

/// Physical address of the page table this CPU runs on.
pub fn current_root() -> u64 {
    super::cpu::read_cr3() & ADDR_MASK
}
