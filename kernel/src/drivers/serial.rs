//! 16550 UART on COM1 (I/O port 0x3f8), polled.
//!
//! QEMU's UART accepts bytes as fast as the host reads them; the transmit
//! path waits for THR-empty so back-pressure from a slow host reader is
//! honoured instead of dropping bytes.

use oxv_hal::Port8;

const COM1: u16 = 0x3f8;
const DATA: Port8 = Port8::new(COM1);
const IER: Port8 = Port8::new(COM1 + 1);
const FCR: Port8 = Port8::new(COM1 + 2);
const LCR: Port8 = Port8::new(COM1 + 3);
const MCR: Port8 = Port8::new(COM1 + 4);
const LSR: Port8 = Port8::new(COM1 + 5);
const DLL: Port8 = Port8::new(COM1);
const DLM: Port8 = Port8::new(COM1 + 1);

const LSR_DATA_READY: u8 = 1;
const LSR_THR_EMPTY: u8 = 1 << 5;

/// Legacy IRQ line of COM1.
pub(crate) const IRQ: u8 = 4;

/// Programs the UART: 115200 8N1, FIFOs on (receive trigger at 14 bytes),
/// interrupts off until [`enable_rx_interrupt`].
pub(crate) fn init() {
    IER.write(0);
    LCR.write(0x80);
    DLL.write(1);
    DLM.write(0);
    LCR.write(0x03);
    FCR.write(0xc7);
    MCR.write(0x0b);
}

/// Raises IRQ 4 when received data is waiting (FIFO at its trigger level,
/// or a character timeout), so readers can halt instead of polling: a vCPU
/// spinning on the line-status register starves QEMU's I/O thread.
pub(crate) fn enable_rx_interrupt() {
    IER.write(0x01);
}

/// Sends one byte, waiting for room in the transmitter.
pub(crate) fn write_byte(b: u8) {
    while LSR.read() & LSR_THR_EMPTY == 0 {
        core::hint::spin_loop();
    }
    DATA.write(b);
}

/// Sends bytes.
pub(crate) fn write_all(bytes: &[u8]) {
    for &b in bytes {
        write_byte(b);
    }
}

/// A received byte, if one is waiting.
pub(crate) fn try_read_byte() -> Option<u8> {
    if LSR.read() & LSR_DATA_READY != 0 {
        Some(DATA.read())
    } else {
        None
    }
}
