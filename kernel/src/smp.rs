//! Other CPUs: bring-up from the MP table and inter-processor interrupts.

use core::sync::atomic::{AtomicU64, Ordering};

use crate::mm::kernel_space::KernelStack;

/// Interrupt vector used to wake an idle CPU or pull a CPU out of user
/// mode (it only needs to leave `hlt` or user code).
pub(crate) const KICK_VECTOR: u8 = 0xf0;

/// Wakes `cpu` if it is halted, or brings it into the kernel if it runs
/// user code, so it looks at its run queue and pending signals.
pub(crate) fn kick(cpu: usize) {
    oxv_hal::irq::send_ipi(oxv_hal::apic_id_of(cpu), KICK_VECTOR);
}

/// Interrupt vector asking a CPU to flush its TLB.
pub(crate) const TLB_VECTOR: u8 = 0xf1;

static TLB_GEN: AtomicU64 = AtomicU64::new(0);
static FLUSHED: [AtomicU64; oxv_hal::MAX_CPUS] = [const { AtomicU64::new(0) }; oxv_hal::MAX_CPUS];

/// Flushes this CPU's TLB if a shootdown asked for it since its last
/// flush. Called from the TLB interrupt and while waiting for others.
pub(crate) fn service_tlb() {
    let cpu = crate::sched::this_cpu();
    let g = TLB_GEN.load(Ordering::SeqCst);
    if FLUSHED[cpu].load(Ordering::Relaxed) < g {
        oxv_hal::flush_tlb_all();
        FLUSHED[cpu].store(g, Ordering::SeqCst);
    }
}

/// Makes every CPU drop TLB entries for user mappings that were just
/// removed or downgraded, and waits until they have. CPUs only take the
/// interrupt in user mode or while idle, so a CPU waiting here also
/// services requests aimed at itself, and callers hold no locks.
pub(crate) fn tlb_shootdown() {
    let me = crate::sched::this_cpu();
    let online = crate::sched::online_mask();
    let gen = TLB_GEN.fetch_add(1, Ordering::SeqCst) + 1;
    service_tlb();
    if online == 1 << me {
        return;
    }
    for cpu in (0..oxv_hal::MAX_CPUS).filter(|&c| c != me && online & (1 << c) != 0) {
        oxv_hal::irq::send_ipi(oxv_hal::apic_id_of(cpu), TLB_VECTOR);
    }
    for cpu in (0..oxv_hal::MAX_CPUS).filter(|&c| c != me && online & (1 << c) != 0) {
        while FLUSHED[cpu].load(Ordering::SeqCst) < gen {
            service_tlb();
            core::hint::spin_loop();
        }
    }
}

/// Wakes every halted CPU (a new timer deadline may be earlier than what
/// they armed).
pub(crate) fn kick_all_idle() {
    let me = crate::sched::this_cpu();
    let online = crate::sched::online_mask();
    for cpu in (0..oxv_hal::MAX_CPUS).filter(|&c| c != me && online & (1 << c) != 0) {
        if crate::sched::is_idling(cpu) {
            kick(cpu);
        }
    }
}

fn ap_main(cpu: usize) -> ! {
    crate::sched::init_boot_cpu(cpu);
    crate::sched::idle_loop()
}

/// Starts every CPU the MP table lists (QEMU's `-smp N`); returns how many
/// CPUs run, the boot CPU included.
pub(crate) fn start_aps() -> usize {
    let mut ids = [0u32; oxv_hal::MAX_CPUS];
    let Some(n) = oxv_hal::smp::processors(&mut ids) else {
        crate::klog!("smp: no MP table; running on one CPU");
        return 1;
    };
    crate::klog!("smp: MP table lists {n} CPU(s): APIC IDs {:?}", &ids[..n]);
    oxv_hal::smp::set_ap_main(ap_main);
    let mut online = 1;
    for (cpu, &apic_id) in ids.iter().enumerate().take(n).skip(1) {
        let (Some(stack), Some(ist)) = (KernelStack::new(), KernelStack::new()) else {
            crate::klog!("smp: out of memory for CPU {cpu}'s stacks");
            break;
        };
        if oxv_hal::smp::start_ap(cpu, apic_id, stack.top(), ist.top()).is_err() {
            crate::klog!("smp: CPU {cpu} (APIC {apic_id}) did not start");
            break;
        }
        // The stacks belong to that CPU's idle context for good.
        core::mem::forget(stack);
        core::mem::forget(ist);
        online += 1;
    }
    online
}
