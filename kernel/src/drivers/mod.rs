//! Device drivers: the serial line and the framed console on top of it.

pub(crate) mod console;
pub(crate) mod serial;
