//! What the PVH loader tells the kernel: memory map, modules, command line.
//!
//! Parsed from `struct hvm_start_info` (Xen public header
//! arch-x86/hvm/start_info.h, version >= 1 for the memory map). Every field
//! is bounds-checked; a bad structure yields an empty map, which the kernel
//! reports as a boot error.

use crate::arch::phys::boot_slice;

/// Magic value of `hvm_start_info`.
pub const HVM_START_MAGIC: u32 = 0x336e_c578;
/// Most memory-map entries kept.
pub const MAX_REGIONS: usize = 32;
/// Most modules kept.
pub const MAX_MODULES: usize = 4;

/// Type of a memory region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionKind {
    /// Usable RAM.
    Ram,
    /// Anything else (reserved, ACPI, ...).
    Reserved,
}

/// One memory-map entry.
#[derive(Debug, Clone, Copy)]
pub struct MemRegion {
    /// Physical start.
    pub start: u64,
    /// Physical end (exclusive).
    pub end: u64,
    /// Type.
    pub kind: RegionKind,
}

/// A boot module (the launch record).
#[derive(Debug, Clone, Copy)]
pub struct Module {
    /// Physical address.
    pub start: u64,
    /// Size in bytes.
    pub size: u64,
}

impl Module {
    /// The module's bytes.
    pub fn bytes(&self) -> &'static [u8] {
        boot_slice(self.start, self.size as usize)
    }
}

/// Boot information handed to the kernel.
#[derive(Debug, Clone)]
pub struct BootInfo {
    /// TSC at the first instruction of the kernel.
    pub entry_tsc: u64,
    /// Physical address of `hvm_start_info` (0 if absent).
    pub start_info: u64,
    /// The magic was right.
    pub valid: bool,
    regions: [MemRegion; MAX_REGIONS],
    region_count: usize,
    modules: [Module; MAX_MODULES],
    module_count: usize,
    /// Physical address and length of the command line.
    pub cmdline: (u64, usize),
    /// Physical range of the kernel image (start, end).
    pub kernel_image: (u64, u64),
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    b.get(off..off + 4)
        .map_or(0, |s| u32::from_le_bytes(s.try_into().unwrap_or([0; 4])))
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    b.get(off..off + 8)
        .map_or(0, |s| u64::from_le_bytes(s.try_into().unwrap_or([0; 8])))
}

/// Only structures inside the boot direct map (first 1 GiB) can be read
/// before the kernel's own page tables exist.
const BOOT_MAPPED: u64 = 1 << 30;

fn readable(pa: u64, len: u64) -> bool {
    pa.checked_add(len).is_some_and(|end| end <= BOOT_MAPPED)
}

impl BootInfo {
    pub(crate) fn parse(start_info: u64, entry_tsc: u64) -> Self {
        extern "C" {
            static __kernel_phys_start: u8;
            static __kernel_phys_end: u8;
        }
        let kernel_image = (
            core::ptr::addr_of!(__kernel_phys_start) as u64,
            core::ptr::addr_of!(__kernel_phys_end) as u64 - crate::arch::paging::KERNEL_BASE,
        );
        let mut info = BootInfo {
            entry_tsc,
            start_info,
            valid: false,
            regions: [MemRegion {
                start: 0,
                end: 0,
                kind: RegionKind::Reserved,
            }; MAX_REGIONS],
            region_count: 0,
            modules: [Module { start: 0, size: 0 }; MAX_MODULES],
            module_count: 0,
            cmdline: (0, 0),
            kernel_image,
        };
        if start_info == 0 || !readable(start_info, 56) {
            return info;
        }
        let si = boot_slice(start_info, 56);
        if u32_at(si, 0) != HVM_START_MAGIC {
            return info;
        }
        info.valid = true;
        let version = u32_at(si, 4);
        let nr_modules = u32_at(si, 12) as u64;
        let modlist = u64_at(si, 16);
        let cmdline = u64_at(si, 24);
        if cmdline != 0 && readable(cmdline, 4096) {
            let s = boot_slice(cmdline, 4096);
            let len = s.iter().position(|&b| b == 0).unwrap_or(0);
            info.cmdline = (cmdline, len);
        }
        if modlist != 0 && readable(modlist, nr_modules.min(MAX_MODULES as u64) * 32) {
            let n = nr_modules.min(MAX_MODULES as u64) as usize;
            let ml = boot_slice(modlist, n * 32);
            for i in 0..n {
                let start = u64_at(ml, i * 32);
                let size = u64_at(ml, i * 32 + 8);
                if start.checked_add(size).is_some() {
                    info.modules[info.module_count] = Module { start, size };
                    info.module_count += 1;
                }
            }
        }
        if version >= 1 {
            let memmap = u64_at(si, 40);
            let entries = u32_at(si, 48) as u64;
            let n = entries.min(MAX_REGIONS as u64) as usize;
            if memmap != 0 && readable(memmap, n as u64 * 24) {
                let mm = boot_slice(memmap, n * 24);
                for i in 0..n {
                    let start = u64_at(mm, i * 24);
                    let size = u64_at(mm, i * 24 + 8);
                    let ty = u32_at(mm, i * 24 + 16);
                    let Some(end) = start.checked_add(size) else {
                        continue;
                    };
                    info.regions[info.region_count] = MemRegion {
                        start,
                        end,
                        kind: if ty == 1 {
                            RegionKind::Ram
                        } else {
                            RegionKind::Reserved
                        },
                    };
                    info.region_count += 1;
                }
            }
        }
        info
    }

    /// The memory map.
    pub fn regions(&self) -> &[MemRegion] {
        &self.regions[..self.region_count]
    }

    /// The modules.
    pub fn modules(&self) -> &[Module] {
        &self.modules[..self.module_count]
    }

    /// The command line bytes.
    pub fn cmdline_bytes(&self) -> &'static [u8] {
        if self.cmdline.1 == 0 {
            return &[];
        }
        boot_slice(self.cmdline.0, self.cmdline.1)
    }
}

/// Virtual ranges of the kernel image's sections (from the linker script).
#[derive(Debug, Clone, Copy)]
pub struct KernelLayout {
    /// Code: read + execute.
    pub text: (u64, u64),
    /// Constants: read only.
    pub rodata: (u64, u64),
    /// Data and bss: read + write.
    pub data: (u64, u64),
}

/// The kernel image layout.
pub fn kernel_layout() -> KernelLayout {
    extern "C" {
        static __text_start: u8;
        static __text_end: u8;
        static __rodata_start: u8;
        static __rodata_end: u8;
        static __data_start: u8;
        static __data_end: u8;
    }
    let a = |p: *const u8| p as u64;
    KernelLayout {
        text: (
            a(core::ptr::addr_of!(__text_start)),
            a(core::ptr::addr_of!(__text_end)),
        ),
        rodata: (
            a(core::ptr::addr_of!(__rodata_start)),
            a(core::ptr::addr_of!(__rodata_end)),
        ),
        data: (
            a(core::ptr::addr_of!(__data_start)),
            a(core::ptr::addr_of!(__data_end)),
        ),
    }
}
