//! oxv-hal: the hardware abstraction layer, and the only kernel crate that
//! may use `unsafe`.
//!
//! It owns the x86-64 boot trampoline (PVH), CPU setup (GDT, TSS, IDT, SSE,
//! SMEP/SMAP, syscall MSRs), page tables, trap entry, running user code
//! ([`UserContext::run`]), copying to and from user memory, port and MMIO
//! access, the TSC, spin locks and the heap allocator type. Everything is
//! exposed as small safe types; every `unsafe` block states why it is sound.
//!
//! The kernel binary registers its entry point with [`entry!`]; the hooks for
//! page faults on user memory and interrupts are registered at boot
//! ([`set_user_fault_hook`], [`set_irq_hook`]).
#![no_std]

mod arch;
pub mod backtrace;
pub mod boot_info;
pub mod heap;
pub mod sync;
pub mod time;

pub mod irq {
    //! Interrupt routing, acknowledgement, timer and idle wait.
    pub use crate::arch::apic::{
        arm_timer, eoi, init, route_irq, send_ipi, wait_for_interrupt, IOAPIC_PHYS,
        SPURIOUS_VECTOR, TIMER_VECTOR,
    };
}
pub use arch::context::{
    prepare_stack, switch as switch_context, MisalignedStack, SavedContext, ThreadEntry,
};
pub use arch::cpu::{
    cpuid, features, halt, rdrand64, rdseed64, rdtsc, read_cr2, spin_hint, CpuidResult, Features,
};
pub use arch::fpu::{fpu_area_size, fpu_restore, fpu_save, BadFpuState, FpuArea, FPU_AREA_MAX};
pub use arch::gdt::{USER_CS, USER_SS};
pub use arch::idt::{exception_name, set_irq_hook, set_user_fault_hook, IrqHook, UserFaultHook};
pub use arch::io::{debug_exit, Mmio, Mmio32, MmioWidth, Port16, Port32, Port8};
pub use arch::paging::{
    current_root, flush_tlb_all, phys_to_virt, FrameAlloc, MapError, PageTable, PteFlags,
    KERNEL_BASE, LARGE_PAGE_SIZE, PAGE_SIZE, PHYS_OFFSET,
};
pub use arch::percpu::{apic_id_of, cpu_id, MAX_CPUS};
/// Application-processor bring-up.
pub mod smp {
    pub use crate::arch::smp::{
        processors, set_ap_main, start_ap, ApMain, ApStartError, TRAMPOLINE,
    };
}
pub use arch::phys::{
    boot_slice, boot_words_mut, copy_frame, dma_barrier, read_phys, shared_frame_words, write_phys,
    zero_frame,
};
pub use arch::stack::{boot_stack_guard, BOOT_STACK_LEN};
pub use arch::user::{Trap, UserContext, USER_END};
pub use arch::usercopy::{clear_user, cmpxchg_user_u32, copy_from_user, copy_to_user, UserFault};
pub use arch::vdso::{vdso_code, VdsoCode};
pub use time::{lapic_phys, tsc_hz};

/// Declares the kernel's entry point: `fn(BootInfo) -> !`.
///
/// Expands to the symbol the boot code calls once the CPU is set up.
#[macro_export]
macro_rules! entry {
    ($path:path) => {
        #[allow(unsafe_code)]
        #[no_mangle]
        fn __oxv_kernel_main(info: $crate::boot_info::BootInfo) -> ! {
            let f: fn($crate::boot_info::BootInfo) -> ! = $path;
            f(info)
        }
    };
}
