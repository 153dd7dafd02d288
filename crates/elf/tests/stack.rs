//! The initial stack, read back as a C library's `_start` would read it.

mod common;

use oxv_elf::*;

const TOP: u64 = 0x7fff_ffff_e000;

/// Reads back a built stack: `mem` is `[TOP - mem.len(), TOP)`.
struct Mem<'a>(&'a [u8]);

impl Mem<'_> {
    fn idx(&self, addr: u64) -> usize {
        let base = TOP - self.0.len() as u64;
        assert!(
            addr >= base && addr < TOP,
            "address {addr:#x} outside the stack"
        );
        (addr - base) as usize
    }
    fn u64(&self, addr: u64) -> u64 {
        let i = self.idx(addr);
        u64::from_le_bytes(self.0[i..i + 8].try_into().unwrap())
    }
    fn cstr(&self, addr: u64) -> Vec<u8> {
        let i = self.idx(addr);
        let n = self.0[i..]
            .iter()
            .position(|&c| c == 0)
            .expect("string without NUL");
        self.0[i..i + n].to_vec()
    }
    fn bytes(&self, addr: u64, n: usize) -> &[u8] {
        let i = self.idx(addr);
        &self.0[i..i + n]
    }
}

fn args<'a>(argv: &'a [&'a [u8]], envp: &'a [&'a [u8]]) -> StackArgs<'a> {
    let mut a = StackArgs::new(argv, envp, b"/bin/prog", *b"0123456789abcdef");
    a.phdr = 0x40_0040;
    a.phnum = 9;
    a.entry = 0x40_1000;
    a.base = 0x7fff_f7fc_0000;
    a.uid = 1000;
    a.euid = 1001;
    a.gid = 1002;
    a.egid = 1003;
    a.secure = true;
    a.hwcap = 0x178b_fbff;
    a.hwcap2 = 2;
    a.minsigstksz = 3632;
    a
}

/// Walks the stack from `rsp` and checks everything against `a`; returns the
/// auxv pairs.
fn check(mem: &Mem<'_>, st: &InitialStack, a: &StackArgs<'_>) -> Vec<(u64, u64)> {
    assert_eq!(st.rsp % 16, 0);
    assert_eq!(st.size as u64, TOP - st.rsp);
    let mut p = st.rsp;
    assert_eq!(mem.u64(p), a.argv.len() as u64);
    p += 8;
    assert_eq!(p, st.argv);
    for s in a.argv {
        let ptr = mem.u64(p);
        assert!(ptr >= st.arg_start && ptr < st.arg_end);
        assert_eq!(mem.cstr(ptr), *s);
        p += 8;
    }
    assert_eq!(mem.u64(p), 0);
    p += 8;
    assert_eq!(p, st.envp);
    for s in a.envp {
        let ptr = mem.u64(p);
        assert!(ptr >= st.env_start && ptr < st.env_end);
        assert_eq!(mem.cstr(ptr), *s);
        p += 8;
    }
    assert_eq!(mem.u64(p), 0);
    p += 8;
    assert_eq!(p, st.auxv);
    let mut aux = Vec::new();
    loop {
        let (k, v) = (mem.u64(p), mem.u64(p + 8));
        aux.push((k, v));
        p += 16;
        if k == AT_NULL {
            break;
        }
    }
    assert_eq!(aux.len(), st.auxv_len);
    // /proc/self/cmdline and environ: NUL-separated strings, back to back.
    let cmdline: Vec<u8> = a
        .argv
        .iter()
        .flat_map(|s| s.iter().copied().chain([0]))
        .collect();
    assert_eq!(mem.bytes(st.arg_start, cmdline.len()), &cmdline[..]);
    assert_eq!(st.arg_end, st.arg_start + cmdline.len() as u64);
    let environ: Vec<u8> = a
        .envp
        .iter()
        .flat_map(|s| s.iter().copied().chain([0]))
        .collect();
    assert_eq!(mem.bytes(st.env_start, environ.len()), &environ[..]);
    assert_eq!(st.env_end, st.env_start + environ.len() as u64);
    // Strings sit above the tables.
    assert!(st.random >= p && st.platform > st.random && st.arg_start > st.platform);
    aux
}

fn get(aux: &[(u64, u64)], key: u64) -> Option<u64> {
    let found: Vec<_> = aux.iter().filter(|(k, _)| *k == key).collect();
    assert!(found.len() <= 1, "duplicate auxv key {key}");
    found.first().map(|(_, v)| *v)
}

#[test]
fn layout_and_auxv() {
    let argv: &[&[u8]] = &[b"prog", b"-x", b"", b"last argument"];
    let envp: &[&[u8]] = &[b"HOME=/", b"PATH=/bin:/usr/bin"];
    let a = args(argv, envp);
    let mut buf = vec![0xaau8; 4096];
    let st = build_initial_stack(TOP, &a, &mut buf).unwrap();
    let mem = Mem(&buf);
    let aux = check(&mem, &st, &a);

    assert_eq!(aux.last(), Some(&(AT_NULL, 0)));
    let want = [
        (AT_PHDR, 0x40_0040),
        (AT_PHENT, 56),
        (AT_PHNUM, 9),
        (AT_PAGESZ, 4096),
        (AT_BASE, 0x7fff_f7fc_0000),
        (AT_FLAGS, 0),
        (AT_ENTRY, 0x40_1000),
        (AT_UID, 1000),
        (AT_EUID, 1001),
        (AT_GID, 1002),
        (AT_EGID, 1003),
        (AT_SECURE, 1),
        (AT_HWCAP, 0x178b_fbff),
        (AT_HWCAP2, 2),
        (AT_CLKTCK, 100),
        (AT_MINSIGSTKSZ, 3632),
    ];
    for (k, v) in want {
        assert_eq!(get(&aux, k), Some(v), "auxv key {k}");
    }
    assert_eq!(get(&aux, AT_SYSINFO_EHDR), None);
    assert_eq!(aux.len(), 20);

    let random = get(&aux, AT_RANDOM).unwrap();
    assert_eq!(random, st.random);
    assert_eq!(mem.bytes(random, 16), b"0123456789abcdef");
    let execfn = get(&aux, AT_EXECFN).unwrap();
    assert_eq!(execfn, st.execfn);
    assert_eq!(mem.cstr(execfn), b"/bin/prog");
    let platform = get(&aux, AT_PLATFORM).unwrap();
    assert_eq!(mem.cstr(platform), b"x86_64");
    // Linux's layout: an 8-byte zero end marker right at the top, execfn below it.
    assert_eq!(mem.u64(TOP - 8), 0);
    assert_eq!(execfn + b"/bin/prog\0".len() as u64, TOP - 8);
    assert_eq!(st.env_end, execfn);
    assert_eq!(st.arg_end, st.env_start);
    // Nothing below rsp was touched.
    let used_from = buf.len() - st.size;
    assert!(buf[..used_from].iter().all(|&b| b == 0xaa));
}

#[test]
fn sysinfo_ehdr_when_given() {
    let mut a = args(&[b"a"], &[]);
    a.sysinfo_ehdr = Some(0x7fff_f7fc_1000);
    let mut buf = vec![0u8; 1024];
    let st = build_initial_stack(TOP, &a, &mut buf).unwrap();
    let aux = check(&Mem(&buf), &st, &a);
    assert_eq!(get(&aux, AT_SYSINFO_EHDR), Some(0x7fff_f7fc_1000));
    assert_eq!(aux.len(), 21);
}

#[test]
fn empty_argv_and_envp() {
    let a = args(&[], &[]);
    let mut buf = vec![0u8; 1024];
    let st = build_initial_stack(TOP, &a, &mut buf).unwrap();
    check(&Mem(&buf), &st, &a);
    assert_eq!(st.arg_start, st.arg_end);
}

#[test]
fn alignment_for_every_string_length() {
    // rsp stays 16-byte aligned whatever the parity of argc and string sizes.
    let long = [b'x'; 40];
    for argc in 0..5 {
        for len in 0..40 {
            let argv: Vec<&[u8]> = (0..argc).map(|_| &long[..len]).collect();
            let envp: Vec<&[u8]> = (0..(len % 3)).map(|_| &long[..argc]).collect();
            let a = args(&argv, &envp);
            let mut buf = vec![0u8; 2048];
            let st = build_initial_stack(TOP, &a, &mut buf).unwrap();
            check(&Mem(&buf), &st, &a);
        }
    }
    // Also with a stack top that is not 16-byte aligned.
    let a = args(&[b"p"], &[]);
    let mut buf = vec![0u8; 1024];
    let top = TOP - 5;
    let st = build_initial_stack(top, &a, &mut buf).unwrap();
    assert_eq!(st.rsp % 16, 0);
    assert_eq!(st.size as u64, top - st.rsp);
}

#[test]
fn too_big_exactly_below_the_needed_size() {
    let argv: &[&[u8]] = &[b"prog", b"arg"];
    let envp: &[&[u8]] = &[b"A=B"];
    let a = args(argv, envp);
    let mut big = vec![0u8; 4096];
    let st = build_initial_stack(TOP, &a, &mut big).unwrap();
    // The layout depends only on stack_top: any buffer >= size gives the same rsp.
    for n in st.size..st.size + 40 {
        let mut buf = vec![0u8; n];
        let got = build_initial_stack(TOP, &a, &mut buf).unwrap();
        assert_eq!(got, st);
        assert_eq!(buf[..], big[4096 - n..]);
    }
    for n in 0..st.size {
        let mut buf = vec![0u8; n];
        assert_eq!(
            build_initial_stack(TOP, &a, &mut buf),
            Err(StackError::TooBig),
            "size {n}"
        );
    }
    assert_eq!(StackError::TooBig.to_string(), "argument list too long");
}

#[test]
fn huge_argument_is_too_big() {
    let huge = vec![b'a'; 1 << 20];
    let argv: &[&[u8]] = &[&huge];
    let a = args(argv, &[]);
    let mut buf = vec![0u8; 64 * 1024];
    assert_eq!(
        build_initial_stack(TOP, &a, &mut buf),
        Err(StackError::TooBig)
    );
}

#[test]
fn range_must_not_wrap() {
    let a = args(&[b"p"], &[]);
    let mut buf = vec![0u8; 64];
    assert_eq!(
        build_initial_stack(32, &a, &mut buf),
        Err(StackError::BadRange)
    );
    // Near address 0, the buffer may end up too small instead.
    let mut buf = vec![0u8; 600];
    let st = build_initial_stack(600, &a, &mut buf).unwrap();
    assert!(st.rsp < 600);
}

#[test]
fn random_arguments_round_trip() {
    let mut rng = common::Rng(0x1234_5678_9abc_def1);
    let pool: Vec<u8> = (0..4096).map(|i| b'a' + (i % 26) as u8).collect();
    for _ in 0..500 {
        let argc = rng.below(20) as usize;
        let envc = rng.below(20) as usize;
        let pick = |rng: &mut common::Rng| {
            let len = rng.below(100) as usize;
            let start = rng.below(4096 - 100) as usize;
            &pool[start..start + len]
        };
        let argv: Vec<&[u8]> = (0..argc).map(|_| pick(&mut rng)).collect();
        let envp: Vec<&[u8]> = (0..envc).map(|_| pick(&mut rng)).collect();
        let a = args(&argv, &envp);
        let size = rng.below(6000) as usize;
        let mut buf = vec![0u8; size];
        match build_initial_stack(TOP, &a, &mut buf) {
            Ok(st) => {
                check(&Mem(&buf), &st, &a);
            }
            Err(e) => {
                assert_eq!(e, StackError::TooBig);
                let mut big = vec![0u8; 1 << 16];
                let st = build_initial_stack(TOP, &a, &mut big).unwrap();
                assert!(st.size > size);
            }
        }
    }
}
