//! The vvar page: the data the vDSO code reads, mapped read-only for the
//! program right below the vDSO image. The kernel owns one frame for it,
//! shared by every address space, and rewrites it through the direct map
//! under a sequence lock when the clock's parameters change
//! (`clock_settime(CLOCK_REALTIME)`).
//!
//! Layout: little-endian 64-bit words at the byte offsets below. The vDSO
//! assembly (`oxv-hal`) uses these constants, so the two cannot drift.
//!
//! Time: `mono_ns = ((tsc - boot_tsc) * mult) >> shift` with a 64x64->128
//! bit product ([`ticks_to_ns`]); REALTIME adds `realtime_offset`, TAI adds
//! `tai_offset`. The kernel computes its own MONOTONIC the same way
//! ([`mult_shift`]), so the vDSO and the system call agree to the
//! nanosecond for the same TSC reading.
//!
//! Seqlock protocol ([`publish`], [`read`]): the writer makes `seq` odd,
//! stores the data, then makes `seq` even again; a reader retries while
//! `seq` is odd or changed across its reads. On x86-64 (TSO) loads are not
//! reordered with loads nor stores with stores, so the assembly reader
//! needs no fences around the data loads, only an `lfence` before `rdtsc`.

use core::sync::atomic::{AtomicU64, Ordering};

/// Size of the vvar area (one page).
pub const SIZE: u64 = 4096;

/// Sequence number: odd while the writer updates the page.
pub const SEQ: usize = 0;
/// [`CLOCK_MODE_TSC`] if the TSC may be read in user mode, else
/// [`CLOCK_MODE_NONE`] (every clock call becomes a system call).
pub const CLOCK_MODE: usize = 8;
/// TSC value at MONOTONIC time 0.
pub const BOOT_TSC: usize = 16;
/// TSC-to-ns multiplier.
pub const MULT: usize = 24;
/// TSC-to-ns right shift (0..=63).
pub const SHIFT: usize = 32;
/// REALTIME minus MONOTONIC, in ns (signed).
pub const REALTIME_OFFSET: usize = 40;
/// TAI minus MONOTONIC, in ns (signed).
pub const TAI_OFFSET: usize = 48;
/// clock_getres of the high-resolution clocks, in ns.
pub const HRES_RES: usize = 56;
/// clock_getres of the `*_COARSE` clocks, in ns.
pub const COARSE_RES: usize = 64;
/// How `getcpu` learns the CPU: [`GETCPU_SYSCALL`], [`GETCPU_RDTSCP`] or
/// [`GETCPU_RDPID`] (the kernel writes `IA32_TSC_AUX = node << 12 | cpu`
/// on every CPU, as Linux does).
pub const GETCPU_MODE: usize = 72;
/// Words in use.
pub const WORDS: usize = 10;

/// Clocks go through the system call.
pub const CLOCK_MODE_NONE: u64 = 0;
/// Clocks are computed from the TSC.
pub const CLOCK_MODE_TSC: u64 = 1;
/// getcpu goes through the system call.
pub const GETCPU_SYSCALL: u64 = 0;
/// getcpu reads `IA32_TSC_AUX` with `rdtscp`.
pub const GETCPU_RDTSCP: u64 = 1;
/// getcpu reads `IA32_TSC_AUX` with `rdpid`.
pub const GETCPU_RDPID: u64 = 2;

/// Clock ids the vDSO answers itself (Linux `CLOCK_*` numbers); the others
/// (CPU-time clocks, alarm clocks, dynamic clocks, invalid ids) go to the
/// system call. Bit `n` is clock id `n`.
pub const HANDLED_CLOCKS: u32 = 1 << 0 // REALTIME
    | 1 << 1 // MONOTONIC
    | 1 << 4 // MONOTONIC_RAW
    | 1 << 5 // REALTIME_COARSE
    | 1 << 6 // MONOTONIC_COARSE
    | 1 << 7 // BOOTTIME
    | 1 << 11; // TAI
/// Handled clocks that read REALTIME.
pub const REALTIME_CLOCKS: u32 = 1 << 0 | 1 << 5;
/// The handled clock that reads TAI.
pub const TAI_CLOCK: u32 = 11;
/// Handled clocks whose resolution is [`Data::coarse_res`].
pub const COARSE_CLOCKS: u32 = 1 << 5 | 1 << 6;

/// The contents of the vvar page (everything but `seq`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Data {
    /// [`CLOCK_MODE_NONE`] or [`CLOCK_MODE_TSC`].
    pub clock_mode: u64,
    /// TSC at MONOTONIC 0.
    pub boot_tsc: u64,
    /// Scale, see [`mult_shift`].
    pub mult: u64,
    /// Shift, see [`mult_shift`].
    pub shift: u32,
    /// REALTIME - MONOTONIC in ns.
    pub realtime_offset: i64,
    /// TAI - MONOTONIC in ns.
    pub tai_offset: i64,
    /// Resolution of the precise clocks in ns.
    pub hres_res: u64,
    /// Resolution of the coarse clocks in ns.
    pub coarse_res: u64,
    /// One of the `GETCPU_*` modes.
    pub getcpu_mode: u64,
}

impl Data {
    /// The words of the page, index = byte offset / 8; `seq` is left 0.
    pub fn words(&self) -> [u64; WORDS] {
        let mut w = [0u64; WORDS];
        w[CLOCK_MODE / 8] = self.clock_mode;
        w[BOOT_TSC / 8] = self.boot_tsc;
        w[MULT / 8] = self.mult;
        w[SHIFT / 8] = u64::from(self.shift);
        w[REALTIME_OFFSET / 8] = self.realtime_offset as u64;
        w[TAI_OFFSET / 8] = self.tai_offset as u64;
        w[HRES_RES / 8] = self.hres_res;
        w[COARSE_RES / 8] = self.coarse_res;
        w[GETCPU_MODE / 8] = self.getcpu_mode;
        w
    }

    /// The inverse of [`Data::words`].
    pub fn from_words(w: &[u64; WORDS]) -> Self {
        Data {
            clock_mode: w[CLOCK_MODE / 8],
            boot_tsc: w[BOOT_TSC / 8],
            mult: w[MULT / 8],
            shift: w[SHIFT / 8] as u32,
            realtime_offset: w[REALTIME_OFFSET / 8] as i64,
            tai_offset: w[TAI_OFFSET / 8] as i64,
            hres_res: w[HRES_RES / 8],
            coarse_res: w[COARSE_RES / 8],
            getcpu_mode: w[GETCPU_MODE / 8],
        }
    }

    /// What the vDSO computes for clock `id` at TSC value `tsc`, in ns;
    /// `None` where it makes the system call instead.
    pub fn clock_ns(&self, id: u32, tsc: u64) -> Option<i64> {
        if id > 31 || HANDLED_CLOCKS & (1 << id) == 0 || self.clock_mode != CLOCK_MODE_TSC {
            return None;
        }
        let mono = ticks_to_ns(tsc.saturating_sub(self.boot_tsc), self.mult, self.shift);
        let off = if REALTIME_CLOCKS & (1 << id) != 0 {
            self.realtime_offset
        } else if id == TAI_CLOCK {
            self.tai_offset
        } else {
            0
        };
        let ns = (mono as i64).wrapping_add(off);
        (ns >= 0).then_some(ns)
    }
}

/// Scale factors turning TSC ticks at `hz` into ns with
/// [`ticks_to_ns`]: the largest `shift <= 63` whose `mult =
/// ceil(1e9 * 2^shift / hz)` fits in 64 bits (the most precise pair).
/// Rounding up makes whole nanoseconds come out exact (one second of
/// ticks gives 1e9, not 999999999); the excess is below one ns per 2^30.
pub fn mult_shift(hz: u64) -> (u64, u32) {
    let hz = u128::from(hz.max(1));
    let mut shift = 63;
    loop {
        let mult = (1_000_000_000u128 << shift).div_ceil(hz);
        if mult <= u128::from(u64::MAX) || shift == 0 {
            return (mult.min(u128::from(u64::MAX)) as u64, shift);
        }
        shift -= 1;
    }
}

/// `(ticks * mult) >> shift` with a 128-bit product, as the vDSO computes
/// it (`mul`, `shrd`): the low 64 bits of the shifted product.
pub fn ticks_to_ns(ticks: u64, mult: u64, shift: u32) -> u64 {
    ((u128::from(ticks) * u128::from(mult)) >> (shift & 63)) as u64
}

/// Writes `data` into the page `words` under the seqlock. Writers must be
/// serialised by the caller (one lock around every call).
pub fn publish(words: &[AtomicU64], data: &Data) {
    let seq = words[SEQ / 8].load(Ordering::Relaxed);
    let seq = seq.wrapping_add(1) | 1;
    words[SEQ / 8].store(seq, Ordering::Relaxed);
    core::sync::atomic::fence(Ordering::Release);
    for (i, w) in data.words().into_iter().enumerate().skip(1) {
        words[i].store(w, Ordering::Relaxed);
    }
    words[SEQ / 8].store(seq.wrapping_add(1), Ordering::Release);
}

/// Reads a consistent copy of the page (what the vDSO code does).
pub fn read(words: &[AtomicU64]) -> Data {
    loop {
        let s0 = words[SEQ / 8].load(Ordering::Acquire);
        if s0 & 1 != 0 {
            core::hint::spin_loop();
            continue;
        }
        let mut w = [0u64; WORDS];
        for (i, slot) in w.iter_mut().enumerate().skip(1) {
            *slot = words[i].load(Ordering::Relaxed);
        }
        core::sync::atomic::fence(Ordering::Acquire);
        if words[SEQ / 8].load(Ordering::Relaxed) == s0 {
            return Data::from_words(&w);
        }
    }
}
