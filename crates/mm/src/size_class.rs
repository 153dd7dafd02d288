//! Size classes of the kernel heap.
//!
//! Key items: [`CLASS_SIZES`], [`class_for`], [`class_size`],
//! [`class_align`], [`objects_per_page`], [`pages_for`].
//!
//! The global allocator in `crates/hal` keeps one list of slab pages per
//! class: a 4 KiB page cut into equal objects of [`class_size`] bytes
//! starting at the page start (slab metadata lives outside the page), so an
//! object of class `i` is aligned to [`class_align`]`(i)`, the largest power
//! of two dividing the class size. Requests that fit no class (more than
//! [`MAX_CLASS_SIZE`] bytes, or alignment above what any large-enough class
//! gives) are served as whole pages: [`class_for`] returns `None` and
//! [`pages_for`] says how many. An 8-byte allocation takes an 8-byte slot,
//! never a page.

use crate::PAGE_SIZE;

/// Object sizes of the classes, ascending. Each step wastes at most a third.
pub const CLASS_SIZES: [usize; NUM_CLASSES] = [
    8, 16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 2048,
];

/// Number of size classes.
pub const NUM_CLASSES: usize = 14;

/// Largest size served by a class; anything bigger takes whole pages.
pub const MAX_CLASS_SIZE: usize = CLASS_SIZES[NUM_CLASSES - 1];

const PAGE: usize = PAGE_SIZE as usize;
const GRANULE: usize = 8;

/// `LOOKUP[(size + 7) / 8]` = smallest class with `class_size >= size`.
const LOOKUP: [u8; MAX_CLASS_SIZE / GRANULE + 1] = {
    let mut t = [0u8; MAX_CLASS_SIZE / GRANULE + 1];
    let mut i = 0;
    let mut c = 0;
    while i < t.len() {
        while CLASS_SIZES[c] < i * GRANULE {
            c += 1;
        }
        t[i] = c as u8;
        i += 1;
    }
    t
};

/// Object size of class `i` in bytes. Panics if `i >= NUM_CLASSES`.
#[inline]
pub const fn class_size(i: usize) -> usize {
    CLASS_SIZES[i]
}

/// Guaranteed alignment of objects of class `i`: the largest power of two
/// dividing the class size (objects start at multiples of the size within a
/// page-aligned slab).
#[inline]
pub const fn class_align(i: usize) -> usize {
    let s = CLASS_SIZES[i];
    let a = 1usize << s.trailing_zeros();
    if a > PAGE {
        PAGE
    } else {
        a
    }
}

/// How many objects of class `i` one 4 KiB slab page holds.
#[inline]
pub const fn objects_per_page(i: usize) -> usize {
    PAGE / CLASS_SIZES[i]
}

/// The class serving an allocation of `size` bytes aligned to `align` (a
/// power of two, as in `core::alloc::Layout`), or `None` when it must be
/// served by whole pages ([`pages_for`]). A zero size is treated as 1.
#[inline]
pub fn class_for(size: usize, align: usize) -> Option<usize> {
    debug_assert!(align.is_power_of_two());
    if size > MAX_CLASS_SIZE {
        return None;
    }
    let mut c = LOOKUP[size.div_ceil(GRANULE)] as usize;
    if align > GRANULE {
        while class_align(c) < align {
            c += 1;
            if c == NUM_CLASSES {
                return None;
            }
        }
    }
    Some(c)
}

/// Pages needed for a page-granular allocation of `size` bytes (at least
/// one).
#[inline]
pub const fn pages_for(size: usize) -> usize {
    if size == 0 {
        1
    } else {
        size.div_ceil(PAGE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sane() {
        assert_eq!(CLASS_SIZES.len(), NUM_CLASSES);
        for i in 0..NUM_CLASSES {
            assert_eq!(class_size(i) % GRANULE, 0);
            assert!(class_align(i) >= GRANULE);
            assert!(objects_per_page(i) >= 2);
            if i > 0 {
                assert!(class_size(i) > class_size(i - 1));
                // Internal fragmentation bound: next class at most 2x.
                assert!(class_size(i) <= 2 * class_size(i - 1));
            }
        }
        assert_eq!(objects_per_page(0), 512);
        assert_eq!(objects_per_page(3), 85);
        assert_eq!(class_align(3), 16); // 48
        assert_eq!(class_align(11), 256); // 768
    }

    #[test]
    fn eight_bytes_takes_eight_bytes() {
        // The spec: "an 8-byte allocation must not take a page".
        assert_eq!(class_for(8, 8).map(class_size), Some(8));
        assert_eq!(class_for(8, 1).map(class_size), Some(8));
        assert_eq!(class_for(1, 1).map(class_size), Some(8));
        assert_eq!(class_for(0, 1).map(class_size), Some(8));
    }

    #[test]
    fn examples() {
        assert_eq!(class_for(9, 8).map(class_size), Some(16));
        assert_eq!(class_for(40, 8).map(class_size), Some(48));
        assert_eq!(class_for(40, 32).map(class_size), Some(64));
        assert_eq!(class_for(100, 64).map(class_size), Some(128));
        assert_eq!(class_for(2048, 8).map(class_size), Some(2048));
        assert_eq!(class_for(2049, 8), None);
        assert_eq!(class_for(8, 4096), None);
        assert_eq!(class_for(8, 2048).map(class_size), Some(2048));
        assert_eq!(pages_for(0), 1);
        assert_eq!(pages_for(4096), 1);
        assert_eq!(pages_for(4097), 2);
    }

    /// Property: the chosen class is the smallest one that fits both size
    /// and alignment; `None` only when no class does.
    #[test]
    fn class_fits_size_and_align_exhaustive() {
        for size in 0..=MAX_CLASS_SIZE + 64 {
            for shift in 0..=13 {
                let align = 1usize << shift;
                let fits = |c: usize| class_size(c) >= size.max(1) && class_align(c) >= align;
                let best = (0..NUM_CLASSES).find(|&c| fits(c));
                let got = class_for(size, align);
                assert_eq!(got, best, "size {size} align {align}");
                if let Some(c) = got {
                    assert!(fits(c));
                    // Objects at k * size from a page-aligned base honour align.
                    for k in 0..objects_per_page(c) {
                        assert_eq!((k * class_size(c)) % align, 0);
                    }
                }
            }
        }
    }
}
