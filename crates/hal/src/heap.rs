//! The kernel heap: size-class free lists over pages from the kernel.
//!
//! Small allocations (size classes from `oxv_mm::size_class`) are carved
//! out of whole pages and recycled through per-class intrusive free lists,
//! so an 8-byte allocation costs 8 bytes, not a page. Larger ones take whole
//! pages. Pages come from the memory manager through [`PageSource`], which
//! the kernel registers at boot (the heap sits below the frame allocator in
//! the layer order).

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicUsize, Ordering};

use oxv_mm::size_class;

use crate::sync::{Once, SpinLock};

const PAGE: usize = 4096;

/// Where the heap gets whole pages (direct-map virtual addresses).
pub trait PageSource: Sync {
    /// `count` contiguous zeroed or dirty pages, page aligned.
    fn alloc_pages(&self, count: usize) -> Option<u64>;
    /// Returns pages from `alloc_pages`.
    fn free_pages(&self, addr: u64, count: usize);
}

/// The global allocator type; the kernel declares one `static`.
pub struct KernelHeap {
    source: Once<&'static dyn PageSource>,
    free: SpinLock<[u64; size_class::NUM_CLASSES]>,
    in_use: AtomicUsize,
    pages: AtomicUsize,
}

impl core::fmt::Debug for KernelHeap {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KernelHeap")
            .field("in_use", &self.in_use)
            .finish()
    }
}

impl Default for KernelHeap {
    fn default() -> Self {
        Self::new()
    }
}

impl KernelHeap {
    /// An empty heap; it serves nothing until [`KernelHeap::init`].
    pub const fn new() -> Self {
        Self {
            source: Once::new(),
            free: SpinLock::new([0; size_class::NUM_CLASSES]),
            in_use: AtomicUsize::new(0),
            pages: AtomicUsize::new(0),
        }
    }

    /// Connects the heap to its page source.
    pub fn init(&self, source: &'static dyn PageSource) {
        self.source.set(source);
    }

    /// Bytes currently allocated by callers.
    pub fn bytes_in_use(&self) -> usize {
        self.in_use.load(Ordering::Relaxed)
    }

    /// Pages the heap holds from its source.
    pub fn pages_held(&self) -> usize {
        self.pages.load(Ordering::Relaxed)
    }

    fn refill(&self, class: usize, head: &mut u64) -> bool {
        let Some(src) = self.source.get() else {
            return false;
        };
        let Some(page) = src.alloc_pages(1) else {
            return false;
        };
        self.pages.fetch_add(1, Ordering::Relaxed);
        let size = size_class::class_size(class) as u64;
        let n = PAGE as u64 / size;
        // Thread the page's objects into the free list, lowest first.
        for i in (0..n).rev() {
            let obj = page + i * size;
            // SAFETY: `obj` lies inside the fresh page, which the heap now
            // owns, and is 8-byte aligned (class sizes are multiples of 8).
            unsafe { *(obj as *mut u64) = *head };
            *head = obj;
        }
        true
    }
}

// SAFETY: blocks are handed out at most once until freed (free lists are
// protected by a lock), have at least the requested size, and are aligned as
// the class table guarantees (`class_for` checks the alignment).
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match size_class::class_for(layout.size(), layout.align()) {
            Some(c) => {
                let mut free = self.free.lock();
                if free[c] == 0 && !self.refill(c, &mut free[c]) {
                    return core::ptr::null_mut();
                }
                let obj = free[c];
                // SAFETY: `obj` is a free block of this class; its first word
                // holds the next free block.
                free[c] = unsafe { *(obj as *const u64) };
                self.in_use
                    .fetch_add(size_class::class_size(c), Ordering::Relaxed);
                obj as *mut u8
            }
            None => {
                if layout.align() > PAGE {
                    return core::ptr::null_mut();
                }
                let pages = layout.size().div_ceil(PAGE).max(1);
                let Some(src) = self.source.get() else {
                    return core::ptr::null_mut();
                };
                match src.alloc_pages(pages) {
                    Some(a) => {
                        self.pages.fetch_add(pages, Ordering::Relaxed);
                        self.in_use.fetch_add(pages * PAGE, Ordering::Relaxed);
                        a as *mut u8
                    }
                    None => core::ptr::null_mut(),
                }
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match size_class::class_for(layout.size(), layout.align()) {
            Some(c) => {
                let mut free = self.free.lock();
                // SAFETY: `ptr` came from `alloc` with this layout, so it is a
                // block of class `c` that the caller no longer uses.
                unsafe { *(ptr as *mut u64) = free[c] };
                free[c] = ptr as u64;
                self.in_use
                    .fetch_sub(size_class::class_size(c), Ordering::Relaxed);
            }
            None => {
                let pages = layout.size().div_ceil(PAGE).max(1);
                if let Some(src) = self.source.get() {
                    src.free_pages(ptr as u64, pages);
                    self.pages.fetch_sub(pages, Ordering::Relaxed);
                    self.in_use.fetch_sub(pages * PAGE, Ordering::Relaxed);
                }
            }
        }
    }
}
