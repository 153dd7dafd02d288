//! Scheduling and time. One thread for now; clocks and sleeping.

pub(crate) mod clock;
