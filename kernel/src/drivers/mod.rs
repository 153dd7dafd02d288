//! Device drivers: the serial line, the framed console on top of it, and
//! virtio devices (transports, virtqueues, block).

pub(crate) mod console;
pub(crate) mod serial;
pub(crate) mod virtio;
