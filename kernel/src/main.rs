//! oxv kernel (placeholder while the boot path is written).
#![no_std]
#![no_main]
#![deny(unsafe_code)]

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}
