//! Other CPUs: bring-up and inter-processor interrupts.

/// Interrupt vector used to wake an idle CPU (it only needs to leave `hlt`).
pub(crate) const KICK_VECTOR: u8 = 0xf0;

/// Wakes `cpu` if it is halted so it looks at its run queue.
pub(crate) fn kick(cpu: usize) {
    oxv_hal::irq::send_ipi(cpu as u32, KICK_VECTOR);
}
