//! The global physical frame allocator and the heap's page source.

use oxv_hal::boot_info::{BootInfo, RegionKind};
use oxv_hal::heap::PageSource;
use oxv_hal::sync::SpinLock;
use oxv_hal::{phys_to_virt, zero_frame, FrameAlloc, PAGE_SIZE, PHYS_OFFSET};
use oxv_mm::frame::{bitmap_words_for, FrameAllocator, PhysFrame};

type Frames = FrameAllocator<&'static mut [u64]>;

static FRAMES: SpinLock<Option<Frames>> = SpinLock::new(None);

/// Why memory could not be set up.
#[derive(Debug)]
pub(crate) enum MemInitError {
    NoMemoryMap,
    NoRoomForBitmap,
}

fn page_down(a: u64) -> u64 {
    a & !(PAGE_SIZE - 1)
}

fn page_up(a: u64) -> u64 {
    a.div_ceil(PAGE_SIZE) * PAGE_SIZE
}

/// Physical ranges in use at boot: kernel image, boot structures, modules.
fn boot_reserved(info: &BootInfo) -> impl Iterator<Item = (u64, u64)> + '_ {
    let k = info.kernel_image;
    let si = (
        page_down(info.start_info),
        page_down(info.start_info) + PAGE_SIZE,
    );
    let cl = (
        page_down(info.cmdline.0),
        page_up(info.cmdline.0 + info.cmdline.1 as u64 + 1),
    );
    core::iter::once((page_down(k.0), page_up(k.1)))
        .chain(core::iter::once(si))
        .chain(core::iter::once(cl))
        .chain(
            info.modules()
                .iter()
                .map(|m| (page_down(m.start), page_up(m.start + m.size))),
        )
}

fn overlaps(a: (u64, u64), b: (u64, u64)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// Builds the frame allocator from the memory map; returns (free, total) frames.
pub(crate) fn init(info: &BootInfo) -> Result<(usize, usize), MemInitError> {
    let max_phys = info
        .regions()
        .iter()
        .filter(|r| r.kind == RegionKind::Ram)
        .map(|r| r.end)
        .max()
        .ok_or(MemInitError::NoMemoryMap)?;
    let words = bitmap_words_for(max_phys);
    let bytes = page_up(words as u64 * 8);
    // The bitmap goes at the lowest RAM address (below 1 GiB, which the boot
    // page tables map) that collides with nothing in use.
    let mut candidates = [0u64; 8];
    let mut n = 0;
    for (_, end) in boot_reserved(info) {
        if n < candidates.len() {
            candidates[n] = end;
            n += 1;
        }
    }
    let reserved = |r: (u64, u64)| boot_reserved(info).any(|b| overlaps(b, r));
    let spot = info
        .regions()
        .iter()
        .filter(|r| r.kind == RegionKind::Ram)
        .flat_map(|r| {
            let start = page_up(r.start).max(PAGE_SIZE);
            core::iter::once(start)
                .chain(candidates[..n].iter().copied())
                .filter(move |&c| c >= start && c + bytes <= r.end)
        })
        .filter(|&c| c + bytes <= 1 << 30 && !reserved((c, c + bytes)))
        .min()
        .ok_or(MemInitError::NoRoomForBitmap)?;
    let storage = oxv_hal::boot_words_mut(spot, words);
    storage.fill(0);
    let mut fa =
        FrameAllocator::new(storage, max_phys).map_err(|_| MemInitError::NoRoomForBitmap)?;
    for r in info.regions().iter().filter(|r| r.kind == RegionKind::Ram) {
        fa.add_free_range(r.start, r.end);
    }
    for r in info.regions().iter().filter(|r| r.kind != RegionKind::Ram) {
        fa.reserve_range(page_down(r.start), page_up(r.end));
    }
    for (s, e) in boot_reserved(info) {
        fa.reserve_range(s, e);
    }
    fa.reserve_range(spot, spot + bytes);
    // The page application processors start in (real mode, below 1 MiB).
    fa.reserve_range(
        oxv_hal::smp::TRAMPOLINE,
        oxv_hal::smp::TRAMPOLINE + PAGE_SIZE,
    );
    let counts = (fa.free_count(), fa.total_count());
    *FRAMES.lock() = Some(fa);
    Ok(counts)
}

/// Gives memory back when frames run out: the file systems' caches
/// register here (mm sits below fs in the layer order).
pub(crate) type Reclaim = fn(bytes: usize) -> usize;

static RECLAIM: oxv_hal::sync::Once<Reclaim> = oxv_hal::sync::Once::new();

/// Registers the memory-pressure hook.
pub(crate) fn set_reclaim(f: Reclaim) {
    RECLAIM.set(f);
}

/// Bytes asked back from caches when an allocation fails (1 MiB).
const RECLAIM_BYTES: usize = 1 << 20;

fn take_frame() -> Option<u64> {
    FRAMES
        .lock()
        .as_mut()?
        .alloc()
        .map(PhysFrame::start_address)
}

/// Allocates one frame (not zeroed); under memory pressure the caches are
/// shrunk first. Must not be called with the heap lock held (the kernel
/// heap's own page source does not reclaim).
pub(crate) fn alloc_frame() -> Option<u64> {
    take_frame().or_else(|| {
        let freed = RECLAIM.get().map_or(0, |f| f(RECLAIM_BYTES));
        if freed > 0 {
            take_frame()
        } else {
            None
        }
    })
}

/// Allocates one zeroed frame.
pub(crate) fn alloc_zeroed_frame() -> Option<u64> {
    let f = alloc_frame()?;
    zero_frame(f);
    Some(f)
}

/// Frees one frame.
pub(crate) fn free_frame(pa: u64) {
    if let Some(fa) = FRAMES.lock().as_mut() {
        if let Some(f) = PhysFrame::from_start_address(pa) {
            if fa.free(f).is_err() {
                crate::klog!("mm: bad free of frame {pa:#x}");
            }
        }
    }
}

/// (free, total) frame counts.
pub(crate) fn counts() -> (usize, usize) {
    FRAMES
        .lock()
        .as_ref()
        .map_or((0, 0), |f| (f.free_count(), f.total_count()))
}

/// Hands zeroed frames to the page-table code.
pub(crate) struct FrameAllocRef;

impl FrameAlloc for FrameAllocRef {
    fn alloc_zeroed(&mut self) -> Option<u64> {
        alloc_zeroed_frame()
    }

    fn free(&mut self, pa: u64) {
        free_frame(pa);
    }
}

/// The kernel heap's page source: frames through the direct map.
pub(crate) struct HeapPages;

impl PageSource for HeapPages {
    fn alloc_pages(&self, count: usize) -> Option<u64> {
        let mut g = FRAMES.lock();
        let fa = g.as_mut()?;
        let f = if count == 1 {
            fa.alloc()
        } else {
            fa.alloc_contiguous(count, 1)
        }?;
        Some(phys_to_virt(f.start_address()))
    }

    fn free_pages(&self, addr: u64, count: usize) {
        let mut g = FRAMES.lock();
        if let Some(fa) = g.as_mut() {
            if let Some(f) = PhysFrame::from_start_address(addr - PHYS_OFFSET) {
                let _ = fa.free_contiguous(f, count);
            }
        }
    }
}
