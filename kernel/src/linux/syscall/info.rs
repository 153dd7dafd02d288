//! System information: uname, sysinfo, getrandom.

use super::{Args, SyscallCx};
use crate::linux::errno::{Errno, SysResult};
use crate::linux::uaccess::{write_bytes, Out};

/// The release string programs see (glibc checks it is at least its
/// minimum supported kernel version).
pub(crate) const RELEASE: &[u8] = b"6.1.0-oxv";

/// The kernel release string (uname -r, /proc/sys/kernel/osrelease).
pub(crate) fn release() -> &'static [u8] {
    RELEASE
}

pub(super) fn sys_uname(_cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let fields: [&[u8]; 6] = [
        b"Linux",
        b"oxv",
        RELEASE,
        b"#1 SMP oxv",
        b"x86_64",
        b"(none)",
    ];
    let mut o = Out::default();
    for f in fields {
        let mut field = [0u8; 65];
        field[..f.len()].copy_from_slice(f);
        o.bytes(&field);
    }
    o.write_to(a[0])?;
    Ok(0)
}

pub(super) fn sys_sysinfo(cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    let (free, total) = crate::mm::frames::counts();
    let uptime = crate::sched::clock::monotonic_ns() / 1_000_000_000;
    let _ = cx;
    let mut o = Out::default();
    o.u64(uptime);
    o.u64(0).u64(0).u64(0); // loads
    o.u64(total as u64 * 4096).u64(free as u64 * 4096);
    o.u64(0).u64(0); // shared, buffer
    o.u64(0).u64(0); // swap
    o.u16(1).u16(0).u32(0); // procs, pad
    o.u64(0).u64(0); // high memory
    o.u32(1); // mem_unit
    o.zeros(112 - o.0.len());
    o.write_to(a[0])?;
    Ok(0)
}

pub(super) fn sys_getrandom(_cx: &mut SyscallCx<'_>, a: Args) -> SysResult {
    const GRND_NONBLOCK: u64 = 1;
    const GRND_RANDOM: u64 = 2;
    const GRND_INSECURE: u64 = 4;
    if a[2] & !(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) != 0
        || a[2] & (GRND_RANDOM | GRND_INSECURE) == (GRND_RANDOM | GRND_INSECURE)
    {
        return Err(Errno::EINVAL);
    }
    // The generator is seeded before the program starts, so it never blocks.
    let len = (a[1] as usize).min(33_554_431);
    let mut done = 0;
    let mut buf = [0u8; 256];
    while done < len {
        let n = (len - done).min(buf.len());
        crate::random::fill(&mut buf[..n]);
        if let Err(e) = write_bytes(a[0] + done as u64, &buf[..n]) {
            if done == 0 {
                return Err(e);
            }
            break;
        }
        done += n;
    }
    Ok(done)
}
