//! CPU feature detection and control-register setup.
//!
//! `init_bsp` runs once on the boot CPU: it loads the GDT/TSS and IDT, turns
//! on SSE/AVX state for user programs (the kernel itself is soft-float),
//! SMEP and SMAP when present, per-CPU data behind GS, and the `syscall`
//! MSRs. Feature bits are cached in [`Features`] for the kernel (AT_HWCAP,
//! /proc/cpuinfo, the RNG).

use core::arch::asm;
use core::sync::atomic::{AtomicU64, Ordering};

pub(crate) const MSR_EFER: u32 = 0xC000_0080;
pub(crate) const MSR_STAR: u32 = 0xC000_0081;
pub(crate) const MSR_LSTAR: u32 = 0xC000_0082;
pub(crate) const MSR_SFMASK: u32 = 0xC000_0084;
pub(crate) const MSR_FS_BASE: u32 = 0xC000_0100;
pub(crate) const MSR_GS_BASE: u32 = 0xC000_0101;
pub(crate) const MSR_KERNEL_GS_BASE: u32 = 0xC000_0102;
pub(crate) const MSR_TSC_AUX: u32 = 0xC000_0103;

/// Result of one CPUID query.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuidResult {
    /// EAX.
    pub eax: u32,
    /// EBX.
    pub ebx: u32,
    /// ECX.
    pub ecx: u32,
    /// EDX.
    pub edx: u32,
}

/// Executes CPUID for `leaf`/`subleaf`.
pub fn cpuid(leaf: u32, subleaf: u32) -> CpuidResult {
    #[allow(unused_unsafe)]
    // SAFETY: CPUID is available on every x86-64 CPU and has no side effects.
    let r = unsafe { core::arch::x86_64::__cpuid_count(leaf, subleaf) };
    CpuidResult {
        eax: r.eax,
        ebx: r.ebx,
        ecx: r.ecx,
        edx: r.edx,
    }
}

/// CPU features the kernel cares about.
#[derive(Debug, Clone, Copy, Default)]
pub struct Features {
    /// CPUID.1:EDX (AT_HWCAP on x86-64).
    pub leaf1_edx: u32,
    /// CPUID.1:ECX.
    pub leaf1_ecx: u32,
    /// CPUID.7.0:EBX.
    pub leaf7_ebx: u32,
    /// SMEP enabled.
    pub smep: bool,
    /// SMAP enabled.
    pub smap: bool,
    /// RDRAND present.
    pub rdrand: bool,
    /// RDSEED present.
    pub rdseed: bool,
    /// XSAVE enabled; `xcr0` is the enabled state mask.
    pub xsave: bool,
    /// Enabled XCR0 mask.
    pub xcr0: u64,
    /// Size of the XSAVE area for `xcr0` (0 without XSAVE).
    pub xsave_size: u32,
    /// Running under a hypervisor (CPUID.1:ECX bit 31).
    pub hypervisor: bool,
    /// Invariant TSC (CPUID.80000007H:EDX bit 8).
    pub invariant_tsc: bool,
    /// RDTSCP present (CPUID.80000001H:EDX bit 27). When it or `rdpid` is,
    /// `IA32_TSC_AUX` holds the CPU index on every CPU (Linux's encoding
    /// `node << 12 | cpu`, node 0), which the vDSO's getcpu reads.
    pub rdtscp: bool,
    /// RDPID present (CPUID.7.0:ECX bit 22).
    pub rdpid: bool,
}

static FEATURES: spin_cell::Once<Features> = spin_cell::Once::new();

/// The features detected at boot.
pub fn features() -> Features {
    FEATURES.get().copied().unwrap_or_default()
}

pub(crate) fn rdmsr(msr: u32) -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: only called with architectural MSRs that exist on x86-64.
    unsafe { asm!("rdmsr", in("ecx") msr, out("eax") lo, out("edx") hi, options(nomem, nostack)) };
    (u64::from(hi) << 32) | u64::from(lo)
}

pub(crate) fn wrmsr(msr: u32, value: u64) {
    // SAFETY: only called from hal with architectural MSRs and values that
    // keep the kernel's invariants (segment bases, syscall entry).
    unsafe {
        asm!("wrmsr", in("ecx") msr, in("eax") value as u32, in("edx") (value >> 32) as u32,
             options(nomem, nostack))
    };
}

/// Reads the time-stamp counter.
#[inline]
pub fn rdtsc() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: RDTSC has no side effects; CR4.TSD is clear.
    unsafe { asm!("rdtsc", out("eax") lo, out("edx") hi, options(nomem, nostack)) };
    (u64::from(hi) << 32) | u64::from(lo)
}

/// Reads CR2 (the faulting address of the last page fault).
pub fn read_cr2() -> u64 {
    let v: u64;
    // SAFETY: reading CR2 has no side effects.
    unsafe { asm!("mov {}, cr2", out(reg) v, options(nomem, nostack)) };
    v
}

pub(crate) fn read_cr3() -> u64 {
    let v: u64;
    // SAFETY: reading CR3 has no side effects.
    unsafe { asm!("mov {}, cr3", out(reg) v, options(nomem, nostack)) };
    v
}

/// # Safety
/// `pml4` must be the physical address of a valid top-level page table that
/// maps the running kernel (code, stack, data) identically.
pub(crate) unsafe fn write_cr3(pml4: u64) {
    // SAFETY: guaranteed by the caller.
    unsafe { asm!("mov cr3, {}", in(reg) pml4, options(nostack)) };
}

fn read_cr0() -> u64 {
    let v: u64;
    // SAFETY: reading CR0 has no side effects.
    unsafe { asm!("mov {}, cr0", out(reg) v, options(nomem, nostack)) };
    v
}

fn read_cr4() -> u64 {
    let v: u64;
    // SAFETY: reading CR4 has no side effects.
    unsafe { asm!("mov {}, cr4", out(reg) v, options(nomem, nostack)) };
    v
}

/// Pauses briefly inside a spin loop.
#[inline]
pub fn spin_hint() {
    core::hint::spin_loop();
}

/// Halts until the next interrupt (with interrupts as they are).
pub fn halt() {
    // SAFETY: HLT only waits for an interrupt.
    unsafe { asm!("hlt", options(nomem, nostack)) };
}

/// Reads a 64-bit value from RDRAND, retrying a few times.
pub fn rdrand64() -> Option<u64> {
    if !features().rdrand {
        return None;
    }
    for _ in 0..10 {
        let v: u64;
        let ok: u8;
        // SAFETY: RDRAND is present (checked above) and has no side effects.
        unsafe {
            asm!("rdrand {}", "setc {}", out(reg) v, out(reg_byte) ok, options(nomem, nostack))
        };
        if ok != 0 {
            return Some(v);
        }
    }
    None
}

/// Reads a 64-bit value from RDSEED, retrying a few times.
pub fn rdseed64() -> Option<u64> {
    if !features().rdseed {
        return None;
    }
    for _ in 0..100 {
        let v: u64;
        let ok: u8;
        // SAFETY: RDSEED is present (checked above) and has no side effects.
        unsafe {
            asm!("rdseed {}", "setc {}", out(reg) v, out(reg_byte) ok, options(nomem, nostack))
        };
        if ok != 0 {
            return Some(v);
        }
        spin_hint();
    }
    None
}

fn enable_fpu_and_features() -> Features {
    let l1 = cpuid(1, 0);
    let l7 = cpuid(7, 0);
    let ext = cpuid(0x8000_0007, 0);
    let ext1 = cpuid(0x8000_0001, 0);
    let mut f = Features {
        leaf1_edx: l1.edx,
        leaf1_ecx: l1.ecx,
        leaf7_ebx: l7.ebx,
        rdrand: l1.ecx & (1 << 30) != 0,
        rdseed: l7.ebx & (1 << 18) != 0,
        hypervisor: l1.ecx & (1 << 31) != 0,
        invariant_tsc: ext.edx & (1 << 8) != 0,
        rdtscp: ext1.edx & (1 << 27) != 0,
        rdpid: l7.ecx & (1 << 22) != 0,
        ..Features::default()
    };
    // CR0: MP=1, EM=0, TS=0, NE=1, WP=1.
    let cr0 = (read_cr0() | (1 << 1) | (1 << 5) | (1 << 16)) & !((1 << 2) | (1 << 3));
    // CR4: OSFXSR, OSXMMEXCPT, PGE; OSXSAVE when present; SMEP/SMAP when present.
    let mut cr4 = read_cr4() | (1 << 9) | (1 << 10) | (1 << 7);
    let has_xsave = l1.ecx & (1 << 26) != 0;
    if has_xsave {
        cr4 |= 1 << 18;
    }
    if l7.ebx & (1 << 7) != 0 {
        cr4 |= 1 << 20;
        f.smep = true;
    }
    if l7.ebx & (1 << 20) != 0 {
        cr4 |= 1 << 21;
        f.smap = true;
    }
    // SAFETY: the bits set are supported (checked through CPUID above) and
    // the kernel is soft-float, so enabling SSE state cannot break it; SMAP is
    // honoured by the user-copy routines (stac/clac).
    unsafe {
        asm!("mov cr0, {}", in(reg) cr0, options(nostack));
        asm!("mov cr4, {}", in(reg) cr4, options(nostack));
    }
    if has_xsave {
        let d = cpuid(0xd, 0);
        let supported = u64::from(d.eax) | (u64::from(d.edx) << 32);
        // x87 | SSE | AVX (when supported). AVX-512 stays off: its state is big
        // and glibc works without it.
        let xcr0 = supported & 0b111;
        // SAFETY: XSETBV with a subset of the supported mask, CR4.OSXSAVE set.
        unsafe {
            asm!("xsetbv", in("ecx") 0u32, in("eax") xcr0 as u32, in("edx") (xcr0 >> 32) as u32,
                 options(nomem, nostack))
        };
        f.xsave = true;
        f.xcr0 = xcr0;
        f.xsave_size = cpuid(0xd, 0).ebx;
    }
    f
}

/// Boot-CPU initialisation; called once from the PVH entry.
pub(crate) fn init_bsp() {
    let f = enable_fpu_and_features();
    FEATURES.set(f);
    super::gdt::init(0, super::stack::IST_STACK.top());
    super::idt::init();
    super::idt::load();
    super::percpu::init(0);
    super::user::init_syscall_msrs();
}

/// Per-CPU set-up of an application processor (same features as the BSP).
pub(crate) fn init_ap(cpu: usize, ist_top: u64) {
    let _ = enable_fpu_and_features();
    super::gdt::init(cpu, ist_top);
    super::idt::load();
    super::percpu::init(cpu);
    super::user::init_syscall_msrs();
}

/// Minimal write-once cell for boot-time data (no external crates in hal).
pub(crate) mod spin_cell {
    use core::cell::UnsafeCell;
    use core::sync::atomic::{AtomicU8, Ordering};

    /// A value set once during boot, then read-only.
    pub struct Once<T> {
        state: AtomicU8,
        value: UnsafeCell<Option<T>>,
    }

    // SAFETY: the value is written once before `state` becomes 2 (Release)
    // and only read after observing 2 (Acquire).
    unsafe impl<T: Sync + Send> Sync for Once<T> {}

    impl<T> Default for Once<T> {
        fn default() -> Self {
            Self::new()
        }
    }

    impl<T> Once<T> {
        pub const fn new() -> Self {
            Self {
                state: AtomicU8::new(0),
                value: UnsafeCell::new(None),
            }
        }

        /// Sets the value; later calls are ignored.
        pub fn set(&self, v: T) {
            if self
                .state
                .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                // SAFETY: state 1 gives this thread exclusive access.
                unsafe { *self.value.get() = Some(v) };
                self.state.store(2, Ordering::Release);
            }
        }

        /// The value, once set.
        pub fn get(&self) -> Option<&T> {
            if self.state.load(Ordering::Acquire) == 2 {
                // SAFETY: state 2 means the value is initialised and immutable.
                unsafe { (*self.value.get()).as_ref() }
            } else {
                None
            }
        }
    }
}

/// TSC ticks per second, once known (see [`crate::time`]).
pub(crate) static TSC_HZ: AtomicU64 = AtomicU64::new(0);

/// TSC frequency if it has been determined.
pub fn tsc_hz() -> Option<u64> {
    match TSC_HZ.load(Ordering::Relaxed) {
        0 => None,
        v => Some(v),
    }
}
