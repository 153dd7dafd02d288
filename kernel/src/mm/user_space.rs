//! A program's address space: its page table plus the area map
//! (`oxv_mm::vma::VmaMap`) that says what may be mapped where.
//!
//! Anonymous memory, the stack and the brk heap are populated on demand by
//! the page-fault handler; ELF segments are copied in at load time. Each
//! operation updates the area map first, then applies exactly what changed
//! to the page table and frees the frames of unmapped pages.
//!
//! One frame is not owned by any address space: the vDSO's data page
//! ([`set_vvar_frame`]), mapped into every program as a
//! [`VmaKind::Vvar`] area. It is never freed when unmapped and a fault in
//! such an area maps it back.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use oxv_hal::{PageTable, PteFlags, PAGE_SIZE};
use oxv_mm::vma::{Mapped, Placement, Prot, Range, RemapFlags, VmError, Vma, VmaKind, VmaMap};

use super::frames::{alloc_zeroed_frame, free_frame, FrameAllocRef};

/// Why a page fault could not be resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultError {
    /// No area there (SEGV_MAPERR).
    Unmapped,
    /// The area forbids the access (SEGV_ACCERR).
    Forbidden,
    /// Out of memory.
    NoMemory,
    /// The backing file could not be read (SIGBUS).
    Io,
}

/// Where the pages of a file-backed area come from (the program's ELF
/// segments, read from its file on first touch). The file system fills
/// this in; mm only asks for pages.
pub(crate) trait PageSource: Send + Sync {
    /// Reads up to `buf.len()` bytes at file offset `off`.
    fn read_page(&self, off: u64, buf: &mut [u8]) -> Result<usize, ()>;
}

/// A file-backed range: pages of `start..end` show the file from
/// `file_off` (the offset at `start`), up to file offset `file_end`,
/// zeros after (bss).
#[derive(Clone)]
struct FileMap {
    start: u64,
    end: u64,
    file_off: u64,
    file_end: u64,
    source: alloc::sync::Arc<dyn PageSource>,
}

/// A page to read from a file before it can be mapped (done without the
/// address-space lock held, see [`fault`]).
pub(crate) struct PendingRead {
    page: u64,
    off: u64,
    len: usize,
    source: alloc::sync::Arc<dyn PageSource>,
}

/// Resolves a page fault at `addr`, reading file-backed pages outside the
/// lock (a read may block on the disk).
pub(crate) fn fault(
    aspace: &oxv_hal::sync::SpinLock<AddressSpace>,
    addr: u64,
    access: Access,
) -> Result<(), FaultError> {
    let pending = aspace.lock().handle_fault(addr, access)?;
    let Some(p) = pending else { return Ok(()) };
    let mut buf = alloc::vec![0u8; PAGE_SIZE as usize];
    let n = p
        .source
        .read_page(p.off, &mut buf[..p.len])
        .map_err(|_| FaultError::Io)?;
    buf[n..].fill(0);
    let pa = super::frames::alloc_frame().ok_or(FaultError::NoMemory)?;
    oxv_hal::write_phys(pa, &buf);
    aspace.lock().finish_read(p.page, pa)
}

/// What kind of access faulted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Access {
    pub(crate) write: bool,
    pub(crate) exec: bool,
}

fn pte_flags(prot: Prot) -> PteFlags {
    if prot == Prot::NONE {
        return PteFlags::EMPTY;
    }
    let mut f = PteFlags::PRESENT | PteFlags::USER;
    if prot.contains(Prot::WRITE) {
        f = f | PteFlags::WRITABLE;
    }
    if !prot.contains(Prot::EXEC) {
        f = f | PteFlags::NO_EXECUTE;
    }
    f
}

/// The shared vvar frame (0 until the vDSO is set up).
static VVAR_FRAME: AtomicU64 = AtomicU64::new(0);

/// Registers the frame that backs every [`VmaKind::Vvar`] area; it stays
/// the kernel's (never freed through an address space).
pub(crate) fn set_vvar_frame(pa: u64) {
    VVAR_FRAME.store(pa, Ordering::Relaxed);
}

/// Frees `pa` unless it is the shared vvar frame.
fn free_owned(pa: u64) {
    let vvar = VVAR_FRAME.load(Ordering::Relaxed);
    if vvar == 0 || pa != vvar {
        free_frame(pa);
    }
}

fn pages(r: Range) -> impl Iterator<Item = u64> {
    (r.start..r.end).step_by(PAGE_SIZE as usize)
}

/// A user address space.
///
/// Operations that remove or downgrade mappings do not free frames at
/// once: other CPUs may still hold TLB entries for them. The frames wait in
/// `freed` until [`commit`] has shot down those TLB entries.
pub(crate) struct AddressSpace {
    pt: PageTable,
    vmas: VmaMap,
    freed: Vec<u64>,
    stale_tlbs: bool,
    files: Vec<FileMap>,
}

/// Finishes an update of `aspace` made under its lock: flushes other CPUs'
/// TLBs if mappings were removed or downgraded, then frees the frames that
/// were unmapped. Call after dropping the lock.
pub(crate) fn commit(aspace: &oxv_hal::sync::SpinLock<AddressSpace>) {
    let (freed, stale) = {
        let mut a = aspace.lock();
        (
            core::mem::take(&mut a.freed),
            core::mem::replace(&mut a.stale_tlbs, false),
        )
    };
    if stale {
        crate::smp::tlb_shootdown();
    }
    for pa in freed {
        free_owned(pa);
    }
}

impl AddressSpace {
    /// An empty address space sharing the kernel half.
    pub(crate) fn new() -> Option<Self> {
        let mut pt = PageTable::new(&mut FrameAllocRef)?;
        super::kernel_space::share_into(&mut pt);
        Some(Self {
            pt,
            vmas: VmaMap::new(),
            freed: Vec::new(),
            stale_tlbs: false,
            files: Vec::new(),
        })
    }

    /// Physical address of the top-level page table.
    pub(crate) fn root(&self) -> u64 {
        self.pt.root()
    }

    /// Switches the CPU to this address space.
    pub(crate) fn activate(&self) {
        self.pt.activate();
    }

    /// The area map (for /proc/self/maps, pointer checks).
    pub(crate) fn vmas(&self) -> &VmaMap {
        &self.vmas
    }

    fn release(&mut self, ranges: &[Range]) {
        for r in ranges {
            for va in pages(*r) {
                if let Some(pa) = self.pt.unmap(va) {
                    self.freed.push(pa);
                    self.stale_tlbs = true;
                }
            }
        }
    }

    /// mmap of anonymous memory.
    pub(crate) fn map_anon(
        &mut self,
        hint: u64,
        len: u64,
        prot: Prot,
        kind: VmaKind,
        placement: Placement,
    ) -> Result<u64, VmError> {
        let Mapped { addr, replaced } = self.vmas.map(hint, len, prot, kind, false, placement)?;
        self.release(&replaced);
        Ok(addr)
    }

    /// munmap.
    pub(crate) fn unmap(&mut self, addr: u64, len: u64) -> Result<(), VmError> {
        let gone = self.vmas.unmap(addr, len)?;
        self.release(&gone);
        Ok(())
    }

    /// mprotect.
    pub(crate) fn protect(&mut self, addr: u64, len: u64, prot: Prot) -> Result<(), VmError> {
        let changed = self.vmas.protect(addr, len, prot)?;
        let flags = pte_flags(prot);
        for r in changed {
            for va in pages(r) {
                if self.pt.protect(va, flags) {
                    self.stale_tlbs = true;
                }
            }
        }
        Ok(())
    }

    /// mremap.
    pub(crate) fn remap(
        &mut self,
        old: u64,
        old_len: u64,
        new_len: u64,
        flags: RemapFlags,
        new_addr: u64,
    ) -> Result<u64, VmError> {
        let res = self.vmas.remap(old, old_len, new_len, flags, new_addr)?;
        // First free what the remap replaced or cut off (this includes a
        // MREMAP_FIXED destination), then move the surviving pages.
        self.release(&res.unmapped);
        if let Some(mv) = res.moved {
            for off in (0..mv.len).step_by(PAGE_SIZE as usize) {
                if let Some(pa) = self.pt.unmap(mv.from + off) {
                    self.stale_tlbs = true;
                    let prot = self.vmas.find(mv.to + off).map_or(Prot::NONE, |v| v.prot);
                    if self
                        .pt
                        .map(mv.to + off, pa, pte_flags(prot), &mut FrameAllocRef)
                        .is_err()
                    {
                        free_owned(pa);
                    }
                }
            }
        }
        Ok(res.addr)
    }

    /// madvise(MADV_DONTNEED): drops the pages so they read back as zeros.
    pub(crate) fn discard(&mut self, addr: u64, len: u64) -> Result<(), VmError> {
        let end = addr.checked_add(len).ok_or(VmError::Invalid)?;
        if !self.vmas.is_mapped(addr, end - addr, Prot::NONE) {
            return Err(VmError::NoMemory);
        }
        self.release(&[Range::new(addr, end.div_ceil(PAGE_SIZE) * PAGE_SIZE)]);
        Ok(())
    }

    /// Sets up the break after the program image.
    pub(crate) fn init_brk(&mut self, start: u64, max: u64) {
        self.vmas.init_brk(start, max);
    }

    /// brk: returns the (new or unchanged) break.
    pub(crate) fn set_brk(&mut self, new: u64) -> u64 {
        if new == 0 {
            return self.vmas.brk().current;
        }
        let r = self.vmas.set_brk(new);
        self.release(&r.unmapped);
        r.brk
    }

    /// Resolves a page fault at `addr` (demand paging).
    /// Maps a fixed image area whose pages are read from `source` on first
    /// touch: page `start` shows file offset `file_off`; file bytes end at
    /// `file_end`, zeros follow.
    pub(crate) fn map_file(
        &mut self,
        start: u64,
        end: u64,
        prot: Prot,
        file_off: u64,
        file_end: u64,
        source: alloc::sync::Arc<dyn PageSource>,
    ) -> Result<(), VmError> {
        let Mapped { replaced, .. } = self.vmas.map(
            start,
            end - start,
            prot,
            VmaKind::Image,
            false,
            Placement::Fixed,
        )?;
        self.release(&replaced);
        // A later segment sharing a page wins for that page, as with mmap.
        for f in self.files.iter_mut() {
            if f.end > start && f.start < end {
                if f.start < start {
                    f.end = start;
                } else {
                    let cut = end.min(f.end) - f.start;
                    f.file_off += cut;
                    f.start += cut;
                }
            }
        }
        self.files.retain(|f| f.start < f.end);
        self.files.push(FileMap {
            start,
            end,
            file_off,
            file_end,
            source,
        });
        Ok(())
    }

    /// Maps the frame read for a pending file page (unless another thread
    /// mapped that page meanwhile).
    fn finish_read(&mut self, page: u64, pa: u64) -> Result<(), FaultError> {
        let Some(vma) = self.vmas.find(page).copied() else {
            super::frames::free_frame(pa);
            return Err(FaultError::Unmapped);
        };
        if self.pt.frame_of(page).is_some() {
            super::frames::free_frame(pa);
            return Ok(());
        }
        if self
            .pt
            .map(page, pa, pte_flags(vma.prot), &mut FrameAllocRef)
            .is_err()
        {
            super::frames::free_frame(pa);
            return Err(FaultError::NoMemory);
        }
        Ok(())
    }

    /// Resolves a page fault at `addr` (demand paging). Anonymous pages are
    /// mapped at once; a file-backed page comes back as a read for the
    /// caller to do without the lock ([`fault`]).
    pub(crate) fn handle_fault(
        &mut self,
        addr: u64,
        access: Access,
    ) -> Result<Option<PendingRead>, FaultError> {
        self.handle_fault_inner(addr, access)
    }

    fn handle_fault_inner(
        &mut self,
        addr: u64,
        access: Access,
    ) -> Result<Option<PendingRead>, FaultError> {
        let vma: Vma = *self.vmas.find(addr).ok_or(FaultError::Unmapped)?;
        let need = if access.write {
            Prot::WRITE
        } else if access.exec {
            Prot::EXEC
        } else {
            Prot::READ
        };
        if !vma.prot.allows(need) {
            return Err(FaultError::Forbidden);
        }
        let page = addr & !(PAGE_SIZE - 1);
        let flags = pte_flags(vma.prot);
        if self.pt.frame_of(page).is_some() {
            // Present with stale permissions (or a spurious fault): re-apply.
            self.pt.protect(page, flags);
            return Ok(None);
        }
        if vma.kind == VmaKind::Image {
            if let Some(f) = self.files.iter().find(|f| f.start <= page && page < f.end) {
                let off = f.file_off + (page - f.start);
                let len = f.file_end.saturating_sub(off).min(PAGE_SIZE) as usize;
                if len > 0 {
                    return Ok(Some(PendingRead {
                        page,
                        off,
                        len,
                        source: f.source.clone(),
                    }));
                }
            }
        }
        if vma.kind == VmaKind::Vvar {
            // Dropped by MADV_DONTNEED (or grown by mremap): map it again.
            let pa = VVAR_FRAME.load(Ordering::Relaxed);
            if pa == 0 {
                return Err(FaultError::Unmapped);
            }
            return self
                .pt
                .map(page, pa, flags, &mut FrameAllocRef)
                .map(|_| None)
                .map_err(|_| FaultError::NoMemory);
        }
        let pa = alloc_zeroed_frame().ok_or(FaultError::NoMemory)?;
        if self.pt.map(page, pa, flags, &mut FrameAllocRef).is_err() {
            free_frame(pa);
            return Err(FaultError::NoMemory);
        }
        Ok(None)
    }

    /// Maps a fixed image area and fills each page through `fill(va, page)`.
    pub(crate) fn map_image(
        &mut self,
        start: u64,
        end: u64,
        prot: Prot,
        fill: impl FnMut(u64, &mut [u8; 4096]),
    ) -> Result<(), VmError> {
        self.map_filled(start, end, prot, VmaKind::Image, fill)
    }

    /// Maps the vDSO below the mmap base (Linux places it with the same
    /// search as mmap): the shared vvar page (read-only) and right after it
    /// a private copy of `image` (read+execute). Returns the image's
    /// address (`AT_SYSINFO_EHDR`).
    pub(crate) fn map_vdso(&mut self, image: &[u8]) -> Result<u64, VmError> {
        let vvar_pa = VVAR_FRAME.load(Ordering::Relaxed);
        if vvar_pa == 0 {
            return Err(VmError::NoMemory);
        }
        let image_len = (image.len() as u64).div_ceil(PAGE_SIZE) * PAGE_SIZE;
        let total = PAGE_SIZE + image_len;
        let Mapped { addr, .. } =
            self.vmas
                .map(0, total, Prot::READ, VmaKind::Vvar, false, Placement::Any)?;
        let base = addr + PAGE_SIZE;
        let copy = |va: u64, page: &mut [u8; 4096]| {
            let from = (va - base) as usize;
            let n = image.len().saturating_sub(from).min(page.len());
            page[..n].copy_from_slice(&image[from..from + n]);
        };
        self.map_filled(base, base + image_len, Prot::RX, VmaKind::Vdso, copy)?;
        self.pt
            .map(addr, vvar_pa, pte_flags(Prot::READ), &mut FrameAllocRef)
            .map_err(|_| VmError::NoMemory)?;
        Ok(base)
    }

    /// Maps a fixed area of `kind` and fills each page through
    /// `fill(va, page)`.
    fn map_filled(
        &mut self,
        start: u64,
        end: u64,
        prot: Prot,
        kind: VmaKind,
        mut fill: impl FnMut(u64, &mut [u8; 4096]),
    ) -> Result<(), VmError> {
        let Mapped { replaced, .. } =
            self.vmas
                .map(start, end - start, prot, kind, false, Placement::Fixed)?;
        self.release(&replaced);
        let mut buf = alloc::boxed::Box::new([0u8; 4096]);
        for va in (start..end).step_by(PAGE_SIZE as usize) {
            buf.fill(0);
            fill(va, &mut buf);
            let pa = alloc_zeroed_frame().ok_or(VmError::NoMemory)?;
            oxv_hal::write_phys(pa, &buf[..]);
            if self
                .pt
                .map(va, pa, pte_flags(prot), &mut FrameAllocRef)
                .is_err()
            {
                free_frame(pa);
                return Err(VmError::NoMemory);
            }
        }
        Ok(())
    }

    /// Pages currently backed by frames (resident set).
    pub(crate) fn resident_pages(&self) -> usize {
        self.vmas
            .iter()
            .flat_map(|v| pages(v.range()))
            .filter(|&va| self.pt.frame_of(va).is_some())
            .count()
    }
}
