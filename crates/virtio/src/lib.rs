//! Pure virtio logic of the oxv kernel (VIRTIO 1.2), host-testable.
#![no_std]
#![forbid(unsafe_code)]
