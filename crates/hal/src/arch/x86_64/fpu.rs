//! Saving and restoring the program's FPU/SSE/AVX state.
//!
//! The kernel is soft-float, so the user's state stays in the registers
//! across system calls; it only has to be saved when something else runs
//! on the CPU (a signal handler, another thread). The saved image uses the
//! XSAVE format when the CPU has it (as Linux's signal frames do), else
//! FXSAVE. Images that come back from user memory are validated first, so
//! a corrupted signal frame yields an error instead of a kernel #GP.

use core::arch::asm;

use super::cpu::features;

/// Largest state image kept (x87 + SSE + AVX need 832 bytes with XSAVE).
pub const FPU_AREA_MAX: usize = 1024;

/// A 64-byte aligned buffer holding one state image.
#[repr(C, align(64))]
#[derive(Clone)]
pub struct FpuArea(pub [u8; FPU_AREA_MAX]);

impl core::fmt::Debug for FpuArea {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("FpuArea")
    }
}

impl Default for FpuArea {
    fn default() -> Self {
        let mut a = FpuArea([0; FPU_AREA_MAX]);
        // A clean state: default FCW (0x37f) and MXCSR (0x1f80).
        a.0[0..2].copy_from_slice(&0x037fu16.to_le_bytes());
        a.0[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
        a
    }
}

/// Size of the state image in use (XSAVE size or 512 for FXSAVE).
pub fn fpu_area_size() -> usize {
    let f = features();
    if f.xsave && (f.xsave_size as usize) <= FPU_AREA_MAX {
        f.xsave_size as usize
    } else {
        512
    }
}

fn use_xsave() -> bool {
    let f = features();
    f.xsave && (f.xsave_size as usize) <= FPU_AREA_MAX
}

/// Saves the current FPU state.
pub fn fpu_save(area: &mut FpuArea) {
    let p = area.0.as_mut_ptr();
    if use_xsave() {
        let mask = features().xcr0;
        // Header must be clean for a standard-format XSAVE.
        area.0[512..576].fill(0);
        // SAFETY: `p` is 64-byte aligned and FPU_AREA_MAX >= xsave_size.
        unsafe {
            asm!("xsave64 [{}]", in(reg) p, in("eax") mask as u32, in("edx") (mask >> 32) as u32, options(nostack))
        };
    } else {
        // SAFETY: `p` is 16-byte aligned with 512 bytes available.
        unsafe { asm!("fxsave64 [{}]", in(reg) p, options(nostack)) };
    }
}

/// Why a state image was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadFpuState;

/// Loads a state image after checking the fields that would make the CPU
/// fault (MXCSR reserved bits, XSAVE header).
pub fn fpu_restore(area: &FpuArea) -> Result<(), BadFpuState> {
    let mxcsr = u32::from_le_bytes([area.0[24], area.0[25], area.0[26], area.0[27]]);
    let mxcsr_mask = match u32::from_le_bytes([area.0[28], area.0[29], area.0[30], area.0[31]]) {
        0 => 0xffbf,
        m => m,
    };
    // The mask field itself comes from the image; trust only the common bits.
    if mxcsr & !(mxcsr_mask & 0xffff) != 0 {
        return Err(BadFpuState);
    }
    let p = area.0.as_ptr();
    if use_xsave() {
        let xcr0 = features().xcr0;
        let bv = u64::from_le_bytes(area.0[512..520].try_into().map_err(|_| BadFpuState)?);
        let comp = u64::from_le_bytes(area.0[520..528].try_into().map_err(|_| BadFpuState)?);
        if bv & !xcr0 != 0 || comp != 0 || area.0[528..576].iter().any(|&b| b != 0) {
            return Err(BadFpuState);
        }
        // SAFETY: aligned image whose header and MXCSR were validated above.
        unsafe {
            asm!("xrstor64 [{}]", in(reg) p, in("eax") xcr0 as u32, in("edx") (xcr0 >> 32) as u32, options(nostack))
        };
    } else {
        // SAFETY: aligned image with a valid MXCSR.
        unsafe { asm!("fxrstor64 [{}]", in(reg) p, options(nostack)) };
    }
    Ok(())
}
