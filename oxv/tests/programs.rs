//! In-VM tests: the C programs under `tests/programs/`, each built three ways
//! (glibc static, glibc static-pie, musl static) and run with `oxv run`.
//! Judged by exact stdout and exit code (and stderr where it matters).
//!
//! `OXV_TEST_NATIVE=1 cargo test -p oxv --test programs` runs the very same
//! binaries directly on the host: every expectation here must hold on Linux.
//! See `common/mod.rs`.

mod common;

use common::{native, program, program_environment, pseudo_random_bytes, Run, Variant};

fn hello(v: Variant) {
    Run::new(program("hello", v))
        .run()
        .assert_ok("hello, world\n")
        .assert_stderr("");
}
per_variant!(hello: hello_glibc_static, hello_glibc_static_pie, hello_musl_static);

/// `args` output with its `env=` lines sorted: the order of envp is the
/// runner's choice (oxv keeps its defaults first, std's Command sorts), the
/// set of entries is not.
fn env_sorted(text: &str) -> String {
    let (mut env, rest): (Vec<&str>, Vec<&str>) = text
        .split_inclusive('\n')
        .partition(|l| l.starts_with("env="));
    env.sort_unstable();
    let end = rest
        .iter()
        .position(|l| *l == "end\n")
        .unwrap_or(rest.len());
    let mut out: String = rest[..end].concat();
    out.extend(env);
    out.extend(rest[end..].iter().copied());
    out
}

fn args(v: Variant) {
    let p = program("args", v);
    let expect = |argv: &[&str], overrides: &[(&str, &str)]| {
        let mut s = format!("argc={}\nargv[0] basename=args\n", argv.len() + 1);
        for (i, a) in argv.iter().enumerate() {
            s += &format!("argv[{}]={a}\n", i + 1);
        }
        let overrides: Vec<(String, String)> = overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        for (k, v) in program_environment(&overrides) {
            s += &format!("env={k}={v}\n");
        }
        s + "end\n"
    };
    let check = |out: &common::Outcome, expected: String| {
        out.assert_code(0);
        assert_eq!(
            env_sorted(&out.stdout_text()),
            env_sorted(&expected),
            "args output (env lines sorted) differs\n{}",
            out.describe()
        );
    };

    // No arguments: just the default environment.
    check(&Run::new(&p).run(), expect(&[], &[]));

    // Spaces, empty strings, UTF-8, things that look like oxv options; an
    // override of a default variable (PATH) and new ones.
    let argv = [
        "hello world",
        "",
        "ünïcødé ✓ 日本語",
        "--env",
        "X=1",
        "--timeout",
        "-",
        "  lead and trail  ",
        "tab\there",
        "",
    ];
    let env = [
        ("A", "1"),
        ("EMPTY", ""),
        ("EQ", "x=y=z"),
        ("PATH", "/bin:/usr/bin"),
        ("SPACE", "a b  c"),
        ("UNI", "żółw"),
    ];
    let mut run = Run::new(&p).args(argv);
    for (k, v) in env {
        run = run.env(k, v);
    }
    check(&run.run(), expect(&argv, &env));
}
per_variant!(args: args_glibc_static, args_glibc_static_pie, args_musl_static);

fn exit_code(v: Variant) {
    let p = program("exit_code", v);
    for code in [0, 1, 42, 255] {
        Run::new(&p)
            .args([code.to_string()])
            .run()
            .assert_code(code)
            .assert_stdout("");
    }
}
per_variant!(exit_code: exit_code_glibc_static, exit_code_glibc_static_pie, exit_code_musl_static);

fn stdin_echo(v: Variant) {
    let p = program("stdin_echo", v);
    let data = pseudo_random_bytes(1 << 20, 0x0123_4567_89ab_cdef);
    Run::new(&p).stdin(data.clone()).run().assert_ok(&data);
    Run::new(&p).run().assert_ok("");
}
per_variant!(stdin_echo: stdin_echo_glibc_static, stdin_echo_glibc_static_pie, stdin_echo_musl_static);

fn stderr_split(v: Variant) {
    let up: Vec<u8> = (0..=255u8).collect();
    let down: Vec<u8> = (0..=255u8).rev().collect();
    let out = [&b"out:\0\xff\n"[..], &up, b"out-end\n"].concat();
    let err = [&b"err:\xff\0\n"[..], &down, b"err-end\n"].concat();
    Run::new(program("stderr_split", v))
        .run()
        .assert_ok(out)
        .assert_stderr(err);
}
per_variant!(stderr_split: stderr_split_glibc_static, stderr_split_glibc_static_pie, stderr_split_musl_static);

fn malloc_churn(v: Variant) {
    Run::new(program("malloc_churn", v))
        .run()
        .assert_ok("malloc_churn: ok\n");
}
per_variant!(malloc_churn: malloc_churn_glibc_static, malloc_churn_glibc_static_pie, malloc_churn_musl_static);

fn mmap_semantics(v: Variant) {
    Run::new(program("mmap_semantics", v)).run().assert_ok(
        "zero_fill: ok\n\
         map_fixed: ok\n\
         map_fixed_noreplace: ok\n\
         partial_munmap: ok\n\
         madv_dontneed: ok\n\
         mremap: ok\n\
         mprotect: ok\n\
         munmap_unmapped: ok\n\
         einval: ok\n\
         round_up: ok\n\
         noreserve_1g: ok\n\
         mmap_semantics: ok\n",
    );
}
per_variant!(mmap_semantics: mmap_semantics_glibc_static, mmap_semantics_glibc_static_pie, mmap_semantics_musl_static);

fn brk_growth(v: Variant) {
    Run::new(program("brk_growth", v))
        .run()
        .assert_ok("brk_growth: ok\n");
}
per_variant!(brk_growth: brk_growth_glibc_static, brk_growth_glibc_static_pie, brk_growth_musl_static);

fn clock_sleep(v: Variant) {
    Run::new(program("clock_sleep", v)).run().assert_ok(
        "monotonic: ok\n\
         nanosleep: ok\n\
         clock_nanosleep: ok\n\
         realtime: ok\n\
         clock_getres: ok\n\
         cputime: ok\n\
         boottime: ok\n\
         clock_sleep: ok\n",
    );
}
per_variant!(clock_sleep: clock_sleep_glibc_static, clock_sleep_glibc_static_pie, clock_sleep_musl_static);

fn getrandom(v: Variant) {
    Run::new(program("getrandom", v))
        .run()
        .assert_ok("getrandom: ok\n");
}
per_variant!(getrandom: getrandom_glibc_static, getrandom_glibc_static_pie, getrandom_musl_static);

fn enosys(v: Variant) {
    // stderr is not checked: the kernel may log the unknown number (with --verbose).
    Run::new(program("enosys", v))
        .run()
        .assert_ok("enosys: ok\n");
}
per_variant!(enosys: enosys_glibc_static, enosys_glibc_static_pie, enosys_musl_static);

fn misc_syscalls(v: Variant) {
    Run::new(program("misc_syscalls", v))
        .stdin("ping\n")
        .run()
        .assert_ok(
            "uname: ok\n\
             ids: ok\n\
             cwd_exe: ok\n\
             sysinfo: ok\n\
             rlimit: ok\n\
             sched: ok\n\
             stdio_fds: ok\n\
             poll: ok\n\
             futex: ok\n\
             sigaction: ok\n\
             sigprocmask: ok\n\
             sigaltstack: ok\n\
             arch_prctl: ok\n\
             misc_syscalls: ok\n",
        );
}
per_variant!(misc_syscalls: misc_syscalls_glibc_static, misc_syscalls_glibc_static_pie, misc_syscalls_musl_static);

fn threads(v: Variant) {
    Run::new(program("threads", v)).run().assert_ok(
        "mutex+tls: ok\ncondvar: ok\nbarrier: ok\nrwlock: ok\ndetached: ok\ncancel: ok\nthreads: ok\n",
    );
}
per_variant!(threads: threads_glibc_static, threads_glibc_static_pie, threads_musl_static);

// ---- Programs that must die by a signal: exit 128 + signal, and in the VM
// ---- the `oxv: <program> killed by SIGxxx ...` line on stderr.

fn mprotect_segv(v: Variant) {
    let out = Run::new(program("mprotect_segv", v)).run();
    out.assert_stdout("before fault\n");
    if let Some(addr) = out.assert_killed(11, "SIGSEGV") {
        assert_eq!(
            addr % 4096,
            100,
            "fault address {addr:#x} is not page + 100"
        );
    }
}
per_variant!(mprotect_segv: mprotect_segv_glibc_static, mprotect_segv_glibc_static_pie, mprotect_segv_musl_static);

fn segfault(v: Variant) {
    let out = Run::new(program("segfault", v)).run();
    out.assert_stdout("before fault\n");
    if let Some(addr) = out.assert_killed(11, "SIGSEGV") {
        assert_eq!(addr, 0, "a store to NULL faults at address 0");
    }
}
per_variant!(segfault: segfault_glibc_static, segfault_glibc_static_pie, segfault_musl_static);

fn abort(v: Variant) {
    let out = Run::new(program("abort", v)).run();
    out.assert_stdout("before abort\n");
    out.assert_killed(6, "SIGABRT");
}
per_variant!(abort: abort_glibc_static, abort_glibc_static_pie, abort_musl_static);

fn divzero(v: Variant) {
    let out = Run::new(program("divzero", v)).run();
    out.assert_stdout("before fault\n");
    out.assert_killed(8, "SIGFPE");
}
per_variant!(divzero: divzero_glibc_static, divzero_glibc_static_pie, divzero_musl_static);

fn ud2(v: Variant) {
    let out = Run::new(program("ud2", v)).run();
    out.assert_stdout("before fault\n");
    out.assert_killed(4, "SIGILL");
}
per_variant!(ud2: ud2_glibc_static, ud2_glibc_static_pie, ud2_musl_static);

/// Touching more memory than the VM has ends the program the way Linux's
/// OOM killer does: SIGKILL (exit 137), with a message naming the fault
/// inside the mapping; never a hang, a kernel panic or a plain SIGSEGV.
fn oom_touch(v: Variant) {
    if common::native() {
        return; // the host has the memory; this is about the VM's limit
    }
    let out = Run::new(program("oom_touch", v))
        .args(["64"])
        .run_with_options(&["--mem", "16M"]);
    out.assert_code(137);
    let stdout = out.stdout_text();
    let base = stdout
        .strip_prefix("mapped 64 MiB at 0x")
        .and_then(|r| r.strip_suffix('\n'))
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .unwrap_or_else(|| panic!("no mapping address on stdout\n{}", out.describe()));
    let stderr = out.stderr_text();
    let line = stderr
        .lines()
        .find(|l| l.starts_with("oxv: ") && l.contains("killed by SIGKILL: out of memory"))
        .unwrap_or_else(|| panic!("no out-of-memory line\n{}", out.describe()));
    let rest = &line[line.find("page fault at 0x").expect("fault address") + 16..];
    let hex: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
    let addr = u64::from_str_radix(&hex, 16).expect("hex fault address");
    assert!(
        (base..base + (64 << 20)).contains(&addr),
        "fault at {addr:#x} is outside the mapping at {base:#x}\n{}",
        out.describe()
    );
}
per_variant!(oom_touch: oom_touch_glibc_static, oom_touch_glibc_static_pie, oom_touch_musl_static);

/// Guards against a harness that silently runs nothing: in native mode the
/// built binaries really are static ELF files of the expected kind.
#[test]
fn built_programs_are_static() {
    for v in [
        Variant::GlibcStatic,
        Variant::GlibcStaticPie,
        Variant::MuslStatic,
    ] {
        let p = program("hello", v);
        assert_eq!(
            common::elf_is_static(&p),
            Some(true),
            "{} is not static",
            p.display()
        );
    }
    let _ = native();
}

// ---- Signals, timers, pipes, epoll, futexes and SMP (issue 4). These run
// ---- with two vCPUs where threads are involved.

fn signals(v: Variant) {
    Run::new(program("signals", v)).cpus(2).run().assert_ok(
        "siginfo: ok\n\
         resethand: ok\n\
         nodefer: ok\n\
         sa_mask: ok\n\
         thread_mask: ok\n\
         pthread_kill: ok\n\
         sigpending: ok\n\
         segv_longjmp: ok\n\
         ucontext_rip: ok\n\
         altstack_overflow: ok\n\
         sigfpe: ok\n\
         raise_loop: ok\n\
         signals: ok\n",
    );
}
per_variant!(signals: signals_glibc_static, signals_glibc_static_pie, signals_musl_static);

fn timers(v: Variant) {
    Run::new(program("timers", v)).run().assert_ok(
        "alarm: ok\n\
         itimer_real: ok\n\
         timerfd: ok\n\
         clock_nanosleep: ok\n\
         times: ok\n\
         getrusage: ok\n\
         timers: ok\n",
    );
}
per_variant!(timers: timers_glibc_static, timers_glibc_static_pie, timers_musl_static);

fn pipes(v: Variant) {
    Run::new(program("pipes", v)).cpus(2).run().assert_ok(
        "pipe2: ok\n\
         pipe_buf_atomic: ok\n\
         epipe: ok\n\
         eof: ok\n\
         transfer: ok\n\
         eventfd: ok\n\
         poll: ok\n\
         select: ok\n\
         pipes: ok\n",
    );
}
per_variant!(pipes: pipes_glibc_static, pipes_glibc_static_pie, pipes_musl_static);

fn epoll(v: Variant) {
    Run::new(program("epoll", v)).cpus(2).run().assert_ok(
        "create: ok\n\
         ctl_errors: ok\n\
         level: ok\n\
         edge: ok\n\
         oneshot: ok\n\
         exclusive: ok\n\
         pwait: ok\n\
         pwait2: ok\n\
         sources: ok\n\
         wakeup: ok\n\
         epoll: ok\n",
    );
}
per_variant!(epoll: epoll_glibc_static, epoll_glibc_static_pie, epoll_musl_static);

fn futex_edge(v: Variant) {
    Run::new(program("futex_edge", v)).cpus(2).run().assert_ok(
        "wait_eagain: ok\n\
         wait_timeout: ok\n\
         wake_counts: ok\n\
         requeue: ok\n\
         bitset: ok\n\
         wake_op: ok\n\
         errors: ok\n\
         futex_edge: ok\n",
    );
}
per_variant!(futex_edge: futex_edge_glibc_static, futex_edge_glibc_static_pie, futex_edge_musl_static);

fn monotonic_smp(v: Variant) {
    Run::new(program("monotonic_smp", v))
        .cpus(2)
        .run()
        .assert_ok("monotonic_smp: ok\n");
}
per_variant!(monotonic_smp: monotonic_smp_glibc_static, monotonic_smp_glibc_static_pie, monotonic_smp_musl_static);

/// Online CPUs of the host, from `/sys/devices/system/cpu/online`
/// ("0-3,6"), for native mode.
fn host_online_cpus() -> usize {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/online")
        .expect("read /sys/devices/system/cpu/online");
    let num = |s: &str| s.parse::<usize>().expect("cpu number");
    text.trim()
        .split(',')
        .map(|range| {
            range
                .split_once('-')
                .map_or(1, |(a, b)| num(b) - num(a) + 1)
        })
        .sum()
}

fn cpus(v: Variant) {
    // In the VM: exactly the 2 vCPUs asked for, all three ways. Natively:
    // glibc counts the host's online CPUs, musl (and CPU_COUNT) the test
    // process's affinity mask.
    let (online, affinity) = if native() {
        let affinity = std::thread::available_parallelism().map_or(1, |n| n.get());
        match v {
            Variant::MuslStatic => (affinity, affinity),
            _ => (host_online_cpus(), affinity),
        }
    } else {
        (2, 2)
    };
    let expected = format!("sysconf={online}\nget_nprocs={online}\naffinity={affinity}\n");
    Run::new(program("cpus", v))
        .cpus(2)
        .run()
        .assert_ok(expected);
}
per_variant!(cpus: cpus_glibc_static, cpus_glibc_static_pie, cpus_musl_static);

fn vdso_clock(v: Variant) {
    let run = Run::new(program("vdso_clock", v));
    // Two CPUs in the VM, so the threads section reads the clock on both.
    let out = if native() {
        run.run()
    } else {
        run.run_with_options(&["--cpus", "2"])
    };
    out.assert_ok(
        "auxv: ok\n\
         symbols: ok\n\
         monotonic: ok\n\
         threads: ok\n\
         realtime: ok\n\
         getcpu: ok\n\
         getres: ok\n\
         fallback: ok\n\
         vdso_clock: ok\n",
    );
}
per_variant!(vdso_clock: vdso_clock_glibc_static, vdso_clock_glibc_static_pie, vdso_clock_musl_static);
