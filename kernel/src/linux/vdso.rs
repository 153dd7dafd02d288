//! The vDSO (man 7 vdso): lets programs read the clocks and their CPU
//! number without a system call.
//!
//! At boot [`init`] wraps the code from `oxv_hal::vdso_code` into an ELF
//! image (`oxv_vdso::build`), allocates the vvar frame and publishes the
//! clock's parameters into it. [`map_into`] maps the vvar page (shared,
//! read-only) and a private copy of the image (read+execute) into a new
//! address space; its address goes to the program as `AT_SYSINFO_EHDR`.
//! [`set_realtime_ns`] is `clock_settime(CLOCK_REALTIME)`: it moves the
//! kernel's wall clock and republishes the vvar page under its seqlock, so
//! user-mode readers never see a half-written update.
//!
//! The kernel's MONOTONIC uses the same TSC scale as the vDSO
//! (`sched::clock::tsc_scale`), so the two paths agree exactly.

use oxv_vdso::vvar;

use crate::mm::frames::alloc_zeroed_frame;
use crate::mm::user_space::{set_vvar_frame, AddressSpace};
use crate::sched::clock;

/// `LINUX_VERSION_CODE` of the release `uname` reports (6.1.0).
const LINUX_VERSION: u32 = 6 << 16 | 1 << 8;

#[derive(Clone, Copy)]
struct Vdso {
    image: &'static [u8],
    vvar: &'static [core::sync::atomic::AtomicU64; 512],
}

/// Set once by [`init`]; holding the lock also serialises vvar writers
/// (the seqlock allows one at a time).
static VDSO: oxv_hal::sync::SpinLock<Option<Vdso>> = oxv_hal::sync::SpinLock::new(None);

fn data() -> vvar::Data {
    let (mult, shift) = clock::tsc_scale();
    let f = oxv_hal::features();
    let realtime = clock::realtime_offset_ns();
    vvar::Data {
        clock_mode: vvar::CLOCK_MODE_TSC,
        boot_tsc: clock::boot_tsc(),
        mult,
        shift,
        realtime_offset: realtime,
        tai_offset: realtime.wrapping_add(clock::TAI_MINUS_REALTIME_NS),
        hres_res: clock::resolution(clock::CLOCK_MONOTONIC).unwrap_or(1) as u64,
        coarse_res: clock::resolution(clock::CLOCK_MONOTONIC_COARSE).unwrap_or(1) as u64,
        getcpu_mode: if f.rdpid {
            vvar::GETCPU_RDPID
        } else if f.rdtscp {
            vvar::GETCPU_RDTSCP
        } else {
            vvar::GETCPU_SYSCALL
        },
    }
}

/// Builds the image and the vvar page; call once after `clock::init`.
/// Without it (out of memory) programs simply get no vDSO.
pub(crate) fn init() {
    let code = oxv_hal::vdso_code();
    let spec = oxv_vdso::Spec {
        code: code.code,
        entries: &code.entries,
        linux_version: LINUX_VERSION,
    };
    let image = match oxv_vdso::build(&spec) {
        Ok(i) => i,
        Err(e) => {
            crate::klog!("vdso: {e}; programs get no vDSO");
            return;
        }
    };
    let Some(pa) = alloc_zeroed_frame() else {
        crate::klog!("vdso: no memory for the vvar page; programs get no vDSO");
        return;
    };
    let words = oxv_hal::shared_frame_words(pa);
    let d = data();
    let mut state = VDSO.lock();
    vvar::publish(words, &d);
    set_vvar_frame(pa);
    let len = image.len();
    *state = Some(Vdso {
        image: alloc::vec::Vec::leak(image),
        vvar: words,
    });
    drop(state);
    crate::klog!("vdso: {len} bytes, getcpu mode {}", d.getcpu_mode);
}

/// Maps vvar + vDSO into `aspace`; returns the vDSO's address for
/// `AT_SYSINFO_EHDR`, or `None` if there is no vDSO (the program then
/// makes system calls, as on a kernel without one).
pub(crate) fn map_into(aspace: &mut AddressSpace) -> Option<u64> {
    let v = (*VDSO.lock())?;
    match aspace.map_vdso(v.image) {
        Ok(addr) => Some(addr),
        Err(e) => {
            crate::klog!("vdso: cannot map it ({e}); the program runs without");
            None
        }
    }
}

/// clock_settime(CLOCK_REALTIME): sets the wall clock to `ns` and
/// republishes the vvar page.
pub(crate) fn set_realtime_ns(ns: i64) {
    let state = VDSO.lock();
    clock::set_realtime_ns(ns);
    if let Some(v) = *state {
        vvar::publish(v.vvar, &data());
    }
}
