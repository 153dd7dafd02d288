//! The kernel's address space, built once at boot to replace the boot
//! page tables.
//!
//! - Direct map of every RAM region at `PHYS_OFFSET` (2 MiB pages where
//!   aligned), read/write, never executable.
//! - The kernel image in the higher half: text RX, rodata R, data/bss RW,
//!   with the page under the boot stack left unmapped as a guard.
//! - The local APIC page, uncached.
//! - Nothing in the lower (user) half: each program's address space copies
//!   the kernel half of this table.

use oxv_hal::boot_info::{kernel_layout, BootInfo, RegionKind};
use oxv_hal::sync::SpinLock;
use oxv_hal::{
    boot_stack_guard, PageTable, PteFlags, KERNEL_BASE, LARGE_PAGE_SIZE, PAGE_SIZE, PHYS_OFFSET,
};

use super::frames::FrameAllocRef;

static KERNEL_PT: SpinLock<Option<PageTable>> = SpinLock::new(None);

fn map_range(
    pt: &mut PageTable,
    va: u64,
    pa: u64,
    len: u64,
    flags: PteFlags,
    large_ok: bool,
) -> Result<(), oxv_hal::MapError> {
    let mut off = 0;
    while off < len {
        let (v, p) = (va + off, pa + off);
        if large_ok
            && v % LARGE_PAGE_SIZE == 0
            && p % LARGE_PAGE_SIZE == 0
            && len - off >= LARGE_PAGE_SIZE
        {
            pt.map_large(v, p, flags, &mut FrameAllocRef)?;
            off += LARGE_PAGE_SIZE;
        } else {
            pt.map(v, p, flags, &mut FrameAllocRef)?;
            off += PAGE_SIZE;
        }
    }
    Ok(())
}

/// Builds and activates the kernel page table.
pub(crate) fn init(info: &BootInfo) -> Result<(), oxv_hal::MapError> {
    let mut pt = PageTable::new(&mut FrameAllocRef).ok_or(oxv_hal::MapError::NoMemory)?;
    let rw_nx = PteFlags::PRESENT | PteFlags::WRITABLE | PteFlags::NO_EXECUTE | PteFlags::GLOBAL;
    for r in info.regions().iter().filter(|r| r.kind == RegionKind::Ram) {
        let start = r.start & !(PAGE_SIZE - 1);
        let end = r.end.div_ceil(PAGE_SIZE) * PAGE_SIZE;
        map_range(
            &mut pt,
            PHYS_OFFSET + start,
            start,
            end - start,
            rw_nx,
            true,
        )?;
    }
    let l = kernel_layout();
    let guard = boot_stack_guard();
    let image = [
        (l.text, PteFlags::PRESENT | PteFlags::GLOBAL),
        (
            l.rodata,
            PteFlags::PRESENT | PteFlags::NO_EXECUTE | PteFlags::GLOBAL,
        ),
        (l.data, rw_nx),
    ];
    for ((start, end), flags) in image {
        let mut va = start;
        while va < end {
            if va != guard {
                pt.map(va, va - KERNEL_BASE, flags, &mut FrameAllocRef)?;
            }
            va += PAGE_SIZE;
        }
    }
    let apic = oxv_hal::lapic_phys();
    let uc = rw_nx | PteFlags::NO_CACHE | PteFlags::WRITE_THROUGH;
    // The APIC page may already be covered by a large direct-map page only if
    // it were RAM, which it never is.
    map_range(&mut pt, PHYS_OFFSET + apic, apic, PAGE_SIZE, uc, false)?;
    // Create the kernel-stack area's upper tables now, so address spaces
    // made later (which copy the kernel half of the top level) share it.
    let probe = STACK_AREA;
    pt.map(probe, 0, PteFlags::PRESENT, &mut FrameAllocRef)?;
    pt.unmap(probe);
    let ioapic = oxv_hal::irq::IOAPIC_PHYS;
    map_range(&mut pt, PHYS_OFFSET + ioapic, ioapic, PAGE_SIZE, uc, false)?;
    pt.activate();
    *KERNEL_PT.lock() = Some(pt);
    Ok(())
}

/// Copies the kernel half into a new user page table.
pub(crate) fn share_into(user: &mut PageTable) {
    if let Some(k) = KERNEL_PT.lock().as_ref() {
        user.share_kernel_half(k);
    }
}

/// Makes a device's MMIO page reachable (uncached) in the direct map.
pub(crate) fn map_mmio(pa: u64, len: u64) -> Result<(), oxv_hal::MapError> {
    let mut g = KERNEL_PT.lock();
    let pt = g.as_mut().ok_or(oxv_hal::MapError::NoMemory)?;
    let flags = PteFlags::PRESENT
        | PteFlags::WRITABLE
        | PteFlags::NO_EXECUTE
        | PteFlags::GLOBAL
        | PteFlags::NO_CACHE
        | PteFlags::WRITE_THROUGH;
    let start = pa & !(PAGE_SIZE - 1);
    let end = (pa + len).div_ceil(PAGE_SIZE) * PAGE_SIZE;
    map_range(pt, PHYS_OFFSET + start, start, end - start, flags, false)
}

/// Start of the kernel-stack area (its own PML4 slot, created at boot so
/// every address space shares it).
const STACK_AREA: u64 = 0xffff_c000_0000_0000;
/// Pages of one kernel stack.
pub(crate) const KSTACK_PAGES: u64 = 8;
/// One slot: a guard page, then the stack.
const SLOT: u64 = (KSTACK_PAGES + 1) * PAGE_SIZE;

struct StackSlots {
    next: u64,
    /// Slots of finished threads, still mapped, ready for reuse.
    free: alloc::vec::Vec<u64>,
}

static STACK_SLOTS: SpinLock<StackSlots> = SpinLock::new(StackSlots {
    next: 0,
    free: alloc::vec::Vec::new(),
});

/// A kernel stack with an unmapped guard page below it.
///
/// Freed stacks keep their frames and mappings and go back to a free list:
/// unmapping would need a TLB shootdown on every CPU (the kernel half is
/// shared by all address spaces), and reusing a warm stack makes thread
/// creation cheaper. The memory held is bounded by the peak thread count.
#[derive(Debug)]
pub(crate) struct KernelStack {
    slot: u64,
}

impl KernelStack {
    /// A stack: a recycled one, or a fresh mapping; None when out of memory.
    pub(crate) fn new() -> Option<Self> {
        let recycled = STACK_SLOTS.lock().free.pop();
        if let Some(slot) = recycled {
            return Some(Self { slot });
        }
        let slot = {
            let mut s = STACK_SLOTS.lock();
            s.next += 1;
            s.next - 1
        };
        let base = STACK_AREA + slot * SLOT + PAGE_SIZE;
        let flags = PteFlags::PRESENT | PteFlags::WRITABLE | PteFlags::NO_EXECUTE;
        let mut mapped = 0;
        let ok = {
            let mut g = KERNEL_PT.lock();
            let pt = g.as_mut()?;
            (0..KSTACK_PAGES).all(|i| {
                let Some(pa) = super::frames::alloc_zeroed_frame() else {
                    return false;
                };
                if pt
                    .map(base + i * PAGE_SIZE, pa, flags, &mut FrameAllocRef)
                    .is_err()
                {
                    super::frames::free_frame(pa);
                    return false;
                }
                mapped += 1;
                true
            })
        };
        if !ok {
            // Never used, so no CPU has it in its TLB: unmapping is safe.
            if let Some(pt) = KERNEL_PT.lock().as_mut() {
                for i in 0..mapped {
                    if let Some(pa) = pt.unmap(base + i * PAGE_SIZE) {
                        super::frames::free_frame(pa);
                    }
                }
            }
            return None;
        }
        Some(Self { slot })
    }

    /// The (16-byte aligned) top of the stack.
    pub(crate) fn top(&self) -> u64 {
        STACK_AREA + self.slot * SLOT + SLOT
    }
}

impl Drop for KernelStack {
    fn drop(&mut self) {
        STACK_SLOTS.lock().free.push(self.slot);
    }
}
