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
#[allow(dead_code)]
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
