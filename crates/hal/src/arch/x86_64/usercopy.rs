//! Copying to and from user memory, safely.
//!
//! The copy is one `rep movsb` (or `rep stosb`) between `stac`/`clac` (when
//! SMAP is on). If it faults, the kernel-mode page-fault handler first asks
//! the kernel to resolve the fault (demand paging) and retries; otherwise it
//! resumes at the routine's fixup label, which returns the number of bytes
//! not copied. Callers turn that into EFAULT. Addresses are checked to lie
//! below [`USER_END`] before any access, so a program cannot make the kernel
//! read or write kernel memory.

use core::arch::global_asm;

use super::user::USER_END;

global_asm!(
    r#"
    .section .text.usercopy, "ax", @progbits
    .global hal_copy_user
    .global hal_copy_user_insn
    .global hal_copy_user_fixup
    .global hal_clear_user
    .global hal_clear_user_insn
    .global hal_clear_user_fixup
/* rdi = dst, rsi = src, rdx = len; returns bytes not copied. */
hal_copy_user:
    mov rcx, rdx
hal_copy_user_insn:
    rep movsb
    xor eax, eax
    ret
hal_copy_user_fixup:
    mov rax, rcx
    ret

/* rdi = dst, rsi = len; returns bytes not cleared. */
hal_clear_user:
    mov rcx, rsi
    xor eax, eax
hal_clear_user_insn:
    rep stosb
    xor eax, eax
    ret
hal_clear_user_fixup:
    mov rax, rcx
    ret

/* rdi = addr, esi = expected, edx = new, rcx = where to store the value
   found; returns 0, or 1 if the access faulted. */
    .global hal_cmpxchg_user
    .global hal_cmpxchg_user_insn
    .global hal_cmpxchg_user_fixup
hal_cmpxchg_user:
    mov eax, esi
hal_cmpxchg_user_insn:
    lock cmpxchg dword ptr [rdi], edx
    mov dword ptr [rcx], eax
    xor eax, eax
    ret
hal_cmpxchg_user_fixup:
    mov eax, 1
    ret
"#
);

extern "C" {
    fn hal_copy_user(dst: *mut u8, src: *const u8, len: usize) -> usize;
    fn hal_clear_user(dst: *mut u8, len: usize) -> usize;
    static hal_copy_user_insn: u8;
    static hal_copy_user_fixup: u8;
    static hal_clear_user_insn: u8;
    static hal_clear_user_fixup: u8;
    fn hal_cmpxchg_user(addr: u64, expected: u32, new: u32, found: *mut u32) -> u32;
    static hal_cmpxchg_user_insn: u8;
    static hal_cmpxchg_user_fixup: u8;
}

/// If `rip` is a user-copy instruction, the address to resume at when the
/// fault cannot be resolved.
pub(crate) fn fixup_for(rip: u64) -> Option<u64> {
    let (ci, cf, zi, zf) = (
        core::ptr::addr_of!(hal_copy_user_insn) as u64,
        core::ptr::addr_of!(hal_copy_user_fixup) as u64,
        core::ptr::addr_of!(hal_clear_user_insn) as u64,
        core::ptr::addr_of!(hal_clear_user_fixup) as u64,
    );
    if rip == ci {
        Some(cf)
    } else if rip == zi {
        Some(zf)
    } else if rip == core::ptr::addr_of!(hal_cmpxchg_user_insn) as u64 {
        Some(core::ptr::addr_of!(hal_cmpxchg_user_fixup) as u64)
    } else {
        None
    }
}

/// A user-memory access failed: the address is not mapped or not allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserFault;

fn check_range(addr: u64, len: usize) -> Result<(), UserFault> {
    let end = addr.checked_add(len as u64).ok_or(UserFault)?;
    if end > USER_END {
        return Err(UserFault);
    }
    Ok(())
}

struct SmapGuard;

impl SmapGuard {
    fn open() -> Self {
        if super::cpu::features().smap {
            // SAFETY: STAC only sets RFLAGS.AC; SMAP is supported (checked).
            unsafe { core::arch::asm!("stac", options(nomem, nostack)) };
        }
        SmapGuard
    }
}

impl Drop for SmapGuard {
    fn drop(&mut self) {
        if super::cpu::features().smap {
            // SAFETY: CLAC only clears RFLAGS.AC.
            unsafe { core::arch::asm!("clac", options(nomem, nostack)) };
        }
    }
}

/// Copies `dst.len()` bytes from user address `src`.
pub fn copy_from_user(dst: &mut [u8], src: u64) -> Result<(), UserFault> {
    if dst.is_empty() {
        return Ok(());
    }
    check_range(src, dst.len())?;
    let _g = SmapGuard::open();
    // SAFETY: `dst` is a valid kernel buffer; `src..src+len` is below
    // USER_END, and faults on it are caught by the fixup.
    let left = unsafe { hal_copy_user(dst.as_mut_ptr(), src as *const u8, dst.len()) };
    if left == 0 {
        Ok(())
    } else {
        Err(UserFault)
    }
}

/// Copies `src` to user address `dst`.
pub fn copy_to_user(dst: u64, src: &[u8]) -> Result<(), UserFault> {
    if src.is_empty() {
        return Ok(());
    }
    check_range(dst, src.len())?;
    let _g = SmapGuard::open();
    // SAFETY: `src` is a valid kernel buffer; `dst..dst+len` is below
    // USER_END, and faults on it are caught by the fixup.
    let left = unsafe { hal_copy_user(dst as *mut u8, src.as_ptr(), src.len()) };
    if left == 0 {
        Ok(())
    } else {
        Err(UserFault)
    }
}

/// Zeroes `len` bytes at user address `dst`.
pub fn clear_user(dst: u64, len: usize) -> Result<(), UserFault> {
    if len == 0 {
        return Ok(());
    }
    check_range(dst, len)?;
    let _g = SmapGuard::open();
    // SAFETY: `dst..dst+len` is below USER_END; faults are caught by the fixup.
    let left = unsafe { hal_clear_user(dst as *mut u8, len) };
    if left == 0 {
        Ok(())
    } else {
        Err(UserFault)
    }
}

/// Atomically replaces the u32 at user address `addr` with `new` if it
/// holds `expected`; returns the value found (equal to `expected` on
/// success). Used for futex operations that must be atomic against the
/// program's own atomics on other CPUs.
pub fn cmpxchg_user_u32(addr: u64, expected: u32, new: u32) -> Result<u32, UserFault> {
    if !addr.is_multiple_of(4) {
        return Err(UserFault);
    }
    check_range(addr, 4)?;
    let mut found = 0u32;
    let _g = SmapGuard::open();
    // SAFETY: `addr` is 4-byte aligned and below USER_END; a fault on it is
    // caught by the fixup; `found` is a valid kernel location.
    let r = unsafe { hal_cmpxchg_user(addr, expected, new, &mut found) };
    if r == 0 {
        Ok(found)
    } else {
        Err(UserFault)
    }
}
