//! /proc: the program's own entries (self, 1, and one directory per
//! thread under task/) and the system files programs and libcs read.
//! Contents are generated when a file is opened (see oxv-vfs `synthetic`).

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt::Write;

use oxv_vfs::node::PROC_SUPER_MAGIC;
use oxv_vfs::synthetic::SynthFs;
use oxv_vfs::InodeRef;

use crate::linux::process::{self, Process, PID};

fn with_proc(f: impl Fn(&Process) -> Vec<u8>) -> Vec<u8> {
    process::current().map(|p| f(&p)).unwrap_or_default()
}

fn maps(p: &Process) -> Vec<u8> {
    let a = p.aspace.lock();
    let mut s = String::new();
    for v in a.vmas().iter() {
        let pr = v.prot;
        let c = |bit, ch| if pr.contains(bit) { ch } else { '-' };
        let name = match v.kind {
            oxv_mm::vma::VmaKind::Stack => "[stack]".into(),
            oxv_mm::vma::VmaKind::Heap => "[heap]".into(),
            oxv_mm::vma::VmaKind::Vdso => "[vdso]".into(),
            oxv_mm::vma::VmaKind::Vvar => "[vvar]".into(),
            oxv_mm::vma::VmaKind::Image => String::from_utf8_lossy(&p.exe).into_owned(),
            _ => String::new(),
        };
        let _ = writeln!(
            s,
            "{:08x}-{:08x} {}{}{}p 00000000 00:00 0 {}{}",
            v.start,
            v.end,
            c(oxv_mm::vma::Prot::READ, 'r'),
            c(oxv_mm::vma::Prot::WRITE, 'w'),
            c(oxv_mm::vma::Prot::EXEC, 'x'),
            if name.is_empty() {
                ""
            } else {
                "                          "
            },
            name
        );
    }
    s.into_bytes()
}

fn status(p: &Process) -> Vec<u8> {
    let (size_kb, rss_kb) = {
        let a = p.aspace.lock();
        let size: u64 = a.vmas().iter().map(|v| v.end - v.start).sum();
        (size / 1024, a.resident_pages() as u64 * 4)
    };
    let name = p.exe.rsplit(|&b| b == b'/').next().unwrap_or(b"");
    let name = String::from_utf8_lossy(&name[..name.len().min(15)]).into_owned();
    let threads = p.thread_count();
    let sig = p.signals.lock();
    format!(
        "Name:\t{name}\nUmask:\t{:04o}\nState:\tR (running)\nTgid:\t{PID}\nNgid:\t0\nPid:\t{PID}\nPPid:\t0\nTracerPid:\t0\n\
         Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t64\nGroups:\t\nVmPeak:\t{size_kb} kB\nVmSize:\t{size_kb} kB\n\
         VmLck:\t0 kB\nVmPin:\t0 kB\nVmHWM:\t{rss_kb} kB\nVmRSS:\t{rss_kb} kB\nRssAnon:\t{rss_kb} kB\nRssFile:\t0 kB\n\
         RssShmem:\t0 kB\nVmData:\t{size_kb} kB\nVmStk:\t8192 kB\nVmExe:\t0 kB\nVmLib:\t0 kB\nVmPTE:\t0 kB\nVmSwap:\t0 kB\n\
         Threads:\t{threads}\nSigQ:\t0/0\nSigPnd:\t{:016x}\nShdPnd:\t{:016x}\nCpus_allowed_list:\t0-{}\n",
        *p.umask.lock(),
        0,
        sig.pending,
        crate::sched::online_mask().count_ones().max(1) - 1
    )
    .into_bytes()
}

fn fd_dir(fs: &Arc<SynthFs>) -> InodeRef {
    let d = fs.dir(0o500);
    let fs2 = fs.clone();
    d.set_dynamic(move || {
        let Some(p) = process::current() else {
            return Vec::new();
        };
        let list = p.fds.lock().list();
        list.into_iter()
            .map(|(fd, of)| {
                let target = of.file.describe();
                (
                    format!("{fd}").into_bytes(),
                    fs2.symlink(move || target.clone()) as InodeRef,
                )
            })
            .collect()
    });
    d
}

fn process_dir(fs: &Arc<SynthFs>) -> InodeRef {
    let entries: Vec<(Vec<u8>, InodeRef)> = alloc::vec![
        (
            b"exe".to_vec(),
            fs.symlink(|| with_proc(|p| p.exe.clone())) as InodeRef
        ),
        (
            b"cwd".to_vec(),
            fs.symlink(|| with_proc(|p| p.cwd.lock().0.clone())) as InodeRef
        ),
        (b"root".to_vec(), fs.symlink(|| b"/".to_vec()) as InodeRef),
        (b"fd".to_vec(), fd_dir(fs)),
        (b"maps".to_vec(), fs.file(|| with_proc(maps)) as InodeRef),
        (
            b"status".to_vec(),
            fs.file(|| with_proc(status)) as InodeRef
        ),
        (
            b"cmdline".to_vec(),
            fs.file(|| with_proc(|p| p.cmdline.clone())) as InodeRef
        ),
        (
            b"environ".to_vec(),
            fs.file(|| with_proc(|p| p.environ.clone())) as InodeRef
        ),
        (
            b"comm".to_vec(),
            fs.file(|| with_proc(|p| {
                let n = p.exe.rsplit(|&b| b == b'/').next().unwrap_or(b"");
                let mut v = n[..n.len().min(15)].to_vec();
                v.push(b'\n');
                v
            })) as InodeRef
        ),
        (
            b"mounts".to_vec(),
            fs.file(|| crate::fs::vfs().mounts.proc_mounts().into_bytes()) as InodeRef
        ),
        (
            b"stat".to_vec(),
            fs.file(|| with_proc(|p| {
                format!(
                    "{PID} ({}) R 0 {PID} {PID} 0 -1 0 0 0 0 0 0 0 0 0 20 0 {} 0 0 0 0\n",
                    String::from_utf8_lossy(p.exe.rsplit(|&b| b == b'/').next().unwrap_or(b"")),
                    p.thread_count()
                )
                .into_bytes()
            })) as InodeRef
        ),
    ];
    fs.dir_with(0o555, entries)
}

fn meminfo() -> Vec<u8> {
    let (free, total) = crate::mm::frames::counts();
    let (t, f) = (total as u64 * 4, free as u64 * 4);
    // The decompressed-block cache of the root image is given back under
    // memory pressure, so it counts as available, as Linux's page cache does.
    let cached = crate::fs::rofs::cached_bytes() as u64 / 1024;
    let avail = f + cached;
    format!(
        "MemTotal:       {t:8} kB\nMemFree:        {f:8} kB\nMemAvailable:   {avail:8} kB\nBuffers:               0 kB\n\
         Cached:         {cached:8} kB\nSwapCached:            0 kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\n\
         Shmem:                 0 kB\n"
    )
    .into_bytes()
}

fn cpuinfo() -> Vec<u8> {
    let n = crate::sched::online_mask().count_ones().max(1);
    let hz = oxv_hal::tsc_hz();
    let f = oxv_hal::features();
    let mut flags = String::new();
    for (bit, name) in [
        (0, "fpu"),
        (4, "tsc"),
        (5, "msr"),
        (6, "pae"),
        (8, "cx8"),
        (9, "apic"),
        (15, "cmov"),
        (19, "clflush"),
        (23, "mmx"),
        (24, "fxsr"),
        (25, "sse"),
        (26, "sse2"),
    ] {
        if f.leaf1_edx & (1 << bit) != 0 {
            flags.push_str(name);
            flags.push(' ');
        }
    }
    for (bit, name) in [
        (0, "pni"),
        (9, "ssse3"),
        (19, "sse4_1"),
        (20, "sse4_2"),
        (23, "popcnt"),
        (26, "xsave"),
        (28, "avx"),
        (30, "rdrand"),
    ] {
        if f.leaf1_ecx & (1 << bit) != 0 {
            flags.push_str(name);
            flags.push(' ');
        }
    }
    let mut s = String::new();
    for cpu in 0..n {
        let _ = write!(
            s,
            "processor\t: {cpu}\nvendor_id\t: oxv\nmodel name\t: oxv virtual CPU\ncpu MHz\t\t: {}.{:03}\n\
             physical id\t: 0\ncore id\t\t: {cpu}\ncpu cores\t: {n}\nflags\t\t: {}\n\n",
            hz / 1_000_000,
            (hz / 1000) % 1000,
            flags.trim_end()
        );
    }
    s.into_bytes()
}

fn stat() -> Vec<u8> {
    let n = crate::sched::online_mask().count_ones().max(1);
    let ticks = crate::sched::clock::monotonic_ns() / 10_000_000;
    let mut s = format!("cpu  {ticks} 0 0 0 0 0 0 0 0 0\n");
    for c in 0..n {
        let _ = writeln!(s, "cpu{c} {ticks} 0 0 0 0 0 0 0 0 0");
    }
    let boot = (crate::sched::clock::realtime_ns() / 1_000_000_000) as u64
        - crate::sched::clock::monotonic_ns() / 1_000_000_000;
    let _ = write!(
        s,
        "intr 0\nctxt 0\nbtime {boot}\nprocesses 1\nprocs_running 1\nprocs_blocked 0\n"
    );
    s.into_bytes()
}

/// Builds the /proc tree.
pub(crate) fn build() -> InodeRef {
    let fs = SynthFs::new(PROC_SUPER_MAGIC, super::clock());
    let me = process_dir(&fs);
    let kernel = fs.dir_with(
        0o555,
        [
            (
                b"hostname".to_vec(),
                fs.file(|| b"oxv\n".to_vec()) as InodeRef,
            ),
            (
                b"osrelease".to_vec(),
                fs.file(|| {
                    let mut v = crate::linux::syscall::release().to_vec();
                    v.push(b'\n');
                    v
                }) as InodeRef,
            ),
            (
                b"ostype".to_vec(),
                fs.file(|| b"Linux\n".to_vec()) as InodeRef,
            ),
            (
                b"pid_max".to_vec(),
                fs.file(|| b"4194304\n".to_vec()) as InodeRef,
            ),
            (
                b"ngroups_max".to_vec(),
                fs.file(|| b"65536\n".to_vec()) as InodeRef,
            ),
        ],
    );
    let vm = fs.dir_with(
        0o555,
        [(
            b"overcommit_memory".to_vec(),
            fs.file(|| b"0\n".to_vec()) as InodeRef,
        )],
    );
    let sys = fs.dir_with(
        0o555,
        [
            (b"kernel".to_vec(), kernel as InodeRef),
            (b"vm".to_vec(), vm as InodeRef),
        ],
    );
    let entries: Vec<(Vec<u8>, InodeRef)> = alloc::vec![
        (
            b"self".to_vec(),
            fs.symlink(|| format!("{PID}").into_bytes()) as InodeRef
        ),
        (
            b"thread-self".to_vec(),
            fs.symlink(|| format!("{PID}/task/{PID}").into_bytes()) as InodeRef
        ),
        (format!("{PID}").into_bytes(), me),
        (
            b"mounts".to_vec(),
            fs.symlink(|| b"self/mounts".to_vec()) as InodeRef
        ),
        (b"meminfo".to_vec(), fs.file(meminfo) as InodeRef),
        (b"cpuinfo".to_vec(), fs.file(cpuinfo) as InodeRef),
        (b"stat".to_vec(), fs.file(stat) as InodeRef),
        (
            b"uptime".to_vec(),
            fs.file(|| {
                let ns = crate::sched::clock::monotonic_ns();
                let idle = crate::sched::clock::idle_ns();
                format!(
                    "{}.{:02} {}.{:02}\n",
                    ns / 1_000_000_000,
                    (ns / 10_000_000) % 100,
                    idle / 1_000_000_000,
                    (idle / 10_000_000) % 100
                )
                .into_bytes()
            }) as InodeRef
        ),
        (
            b"loadavg".to_vec(),
            fs.file(|| with_proc(
                |p| format!("0.00 0.00 0.00 1/{} {PID}\n", p.thread_count()).into_bytes()
            )) as InodeRef
        ),
        (
            b"version".to_vec(),
            fs.file(|| format!(
                "Linux version {} (oxv) #1 SMP\n",
                String::from_utf8_lossy(crate::linux::syscall::release())
            )
            .into_bytes()) as InodeRef
        ),
        (
            b"filesystems".to_vec(),
            fs.file(
                || b"nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tdevtmpfs\n\trofs\n".to_vec()
            ) as InodeRef
        ),
        (b"sys".to_vec(), sys as InodeRef),
    ];
    fs.dir_with(0o555, entries)
}
