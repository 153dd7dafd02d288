//! The launch record: everything the kernel needs to start the program.
//!
//! The host writes it to a file and QEMU hands it to the kernel as the first
//! PVH module (`-initrd`). This is the one seam between "how the program
//! reaches the guest" and the kernel; the read-only image of a later issue
//! replaces the embedded program bytes.
//!
//! Layout (all integers little-endian):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `b"OXVL"` |
//! | 4 | 2 | version ([`VERSION`]) |
//! | 6 | 2 | flags ([`FLAG_VERBOSE`], [`FLAG_BOOTCHART`]) |
//! | 8 | 4 | argc |
//! | 12 | 4 | envc |
//! | 16 | 8 | host wall clock at launch, ns since the Unix epoch |
//! | 24 | 8 | strings offset |
//! | 32 | 8 | strings length |
//! | 40 | 8 | program offset |
//! | 48 | 8 | program length |
//! | 56 | 32 | host entropy, mixed into the guest CSPRNG seed |
//! | 88 | 2 | terminal rows (0 if no terminal) |
//! | 90 | 2 | terminal columns (0 if no terminal) |
//! | 92 | 4 | optc: number of kernel option strings |
//!
//! The strings area holds `1 + argc + envc + optc` NUL-terminated strings:
//! the program's guest path (AT_EXECFN, /proc/self/exe), then argv, then
//! envp, then kernel options of the form `key=value` (see [`options`]).
//!
//! Without [`FLAG_ROOT_IMAGE`] the program area holds the program's ELF
//! bytes. With it, the program is `exec path` inside the root file system,
//! a rofs image: the program area holds the image itself (mounted from
//! memory), or is empty, and the image is the first virtio block device.

use crate::bytes::Reader;

/// Magic at offset 0.
pub const MAGIC: [u8; 4] = *b"OXVL";
/// Current version.
pub const VERSION: u16 = 1;
/// Kernel log lines are sent to the host (shown by `--verbose`).
pub const FLAG_VERBOSE: u16 = 1 << 0;
/// The kernel sends a boot chart before the exit record.
pub const FLAG_BOOTCHART: u16 = 1 << 1;
/// The host's stdin is a terminal (the guest's fd 0 answers TCGETS).
pub const FLAG_STDIN_TTY: u16 = 1 << 2;
/// The host's stdout is a terminal.
pub const FLAG_STDOUT_TTY: u16 = 1 << 3;
/// The host's stderr is a terminal.
pub const FLAG_STDERR_TTY: u16 = 1 << 4;
/// The program area is a rofs root image (or empty: the image is on the
/// first virtio block device) and the exec path names the program in it.
pub const FLAG_ROOT_IMAGE: u16 = 1 << 5;

/// Kernel option keys (strings `key=value` after envp).
pub mod options {
    /// Working directory of the program (`cwd=/srv`); default `/`.
    pub const CWD: &str = "cwd";
    /// A RAM file system: `tmpfs=/path` or `tmpfs=/path:SIZE` (SIZE in
    /// bytes); repeatable. /tmp always gets one.
    pub const TMPFS: &str = "tmpfs";
}
/// Size of the fixed header.
pub const HEADER_LEN: usize = 96;
/// Upper bound on argc + envc accepted by the decoder.
pub const MAX_STRINGS: usize = 1 << 16;

/// Why a launch record was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaunchError {
    /// Shorter than the header.
    Truncated,
    /// Wrong magic.
    BadMagic,
    /// A version this kernel does not know.
    BadVersion(u16),
    /// Strings or program area outside the record.
    BadBounds,
    /// The strings area does not hold `1 + argc + envc` NUL-terminated strings.
    BadStrings,
}

/// A decoded, validated launch record borrowing the module bytes.
#[derive(Debug, Clone)]
pub struct LaunchRecord<'a> {
    /// Flag bits.
    pub flags: u16,
    /// Number of argv strings.
    pub argc: usize,
    /// Number of envp strings.
    pub envc: usize,
    /// Host wall clock at launch (ns since the epoch).
    pub wall_clock_ns: u64,
    /// Host entropy.
    pub entropy: [u8; 32],
    /// Terminal size (rows, columns); (0, 0) when there is no terminal.
    pub winsize: (u16, u16),
    /// Number of kernel option strings.
    pub optc: usize,
    strings: &'a [u8],
    /// The program's ELF bytes.
    pub program: &'a [u8],
}

fn area(buf: &[u8], off: u64, len: u64) -> Result<&[u8], LaunchError> {
    let off = usize::try_from(off).map_err(|_| LaunchError::BadBounds)?;
    let len = usize::try_from(len).map_err(|_| LaunchError::BadBounds)?;
    let end = off.checked_add(len).ok_or(LaunchError::BadBounds)?;
    if off < HEADER_LEN {
        return Err(LaunchError::BadBounds);
    }
    buf.get(off..end).ok_or(LaunchError::BadBounds)
}

impl<'a> LaunchRecord<'a> {
    /// Decodes and validates `buf`.
    pub fn decode(buf: &'a [u8]) -> Result<Self, LaunchError> {
        let mut r = Reader::new(buf);
        let magic = r.bytes(4).ok_or(LaunchError::Truncated)?;
        if magic != MAGIC {
            return Err(LaunchError::BadMagic);
        }
        let version = r.u16().ok_or(LaunchError::Truncated)?;
        if version != VERSION {
            return Err(LaunchError::BadVersion(version));
        }
        let t = LaunchError::Truncated;
        let flags = r.u16().ok_or(t)?;
        let argc = r.u32().ok_or(t)? as usize;
        let envc = r.u32().ok_or(t)? as usize;
        let wall_clock_ns = r.u64().ok_or(t)?;
        let (s_off, s_len) = (r.u64().ok_or(t)?, r.u64().ok_or(t)?);
        let (p_off, p_len) = (r.u64().ok_or(t)?, r.u64().ok_or(t)?);
        let mut entropy = [0u8; 32];
        entropy.copy_from_slice(r.bytes(32).ok_or(t)?);
        let winsize = (r.u16().ok_or(t)?, r.u16().ok_or(t)?);
        let optc = r.u32().ok_or(t)? as usize;
        let strings = area(buf, s_off, s_len)?;
        let program = area(buf, p_off, p_len)?;
        let want = argc
            .checked_add(envc)
            .and_then(|n| n.checked_add(optc))
            .and_then(|n| n.checked_add(1))
            .filter(|&n| n <= MAX_STRINGS + 1)
            .ok_or(LaunchError::BadStrings)?;
        let nuls = strings.iter().filter(|&&b| b == 0).count();
        if nuls != want || strings.last() != Some(&0) {
            return Err(LaunchError::BadStrings);
        }
        Ok(Self {
            flags,
            argc,
            envc,
            wall_clock_ns,
            entropy,
            winsize,
            optc,
            strings,
            program,
        })
    }

    fn all_strings(&self) -> impl Iterator<Item = &'a [u8]> {
        let s = self.strings;
        s[..s.len() - 1].split(|&b| b == 0)
    }

    /// The program's path as the guest sees it (no NUL).
    pub fn exec_path(&self) -> &'a [u8] {
        self.all_strings().next().unwrap_or(b"")
    }

    /// argv strings (no NULs).
    pub fn argv(&self) -> impl Iterator<Item = &'a [u8]> {
        self.all_strings().skip(1).take(self.argc)
    }

    /// envp strings (no NULs).
    pub fn envp(&self) -> impl Iterator<Item = &'a [u8]> {
        self.all_strings().skip(1 + self.argc).take(self.envc)
    }

    /// Kernel option strings (`key=value`).
    pub fn options(&self) -> impl Iterator<Item = &'a [u8]> {
        self.all_strings().skip(1 + self.argc + self.envc)
    }

    /// Values of option `key`, in order.
    pub fn option_values(&self, key: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.options().filter_map(move |o| {
            let k = key.as_bytes();
            (o.len() > k.len() && o.starts_with(k) && o[k.len()] == b'=').then(|| &o[k.len() + 1..])
        })
    }

    /// Whether a flag bit is set.
    pub fn has(&self, flag: u16) -> bool {
        self.flags & flag != 0
    }
}

/// Host-side encoder.
#[cfg(feature = "std")]
pub mod encode {
    use super::*;

    /// What the host puts in a launch record.
    #[derive(Debug, Clone, Default)]
    pub struct LaunchSpec<'a> {
        /// Flag bits.
        pub flags: u16,
        /// Guest path of the program.
        pub exec_path: &'a [u8],
        /// argv (argv[0] included).
        pub argv: Vec<&'a [u8]>,
        /// envp as `KEY=VALUE`.
        pub envp: Vec<&'a [u8]>,
        /// Host wall clock (ns since the epoch).
        pub wall_clock_ns: u64,
        /// Host entropy.
        pub entropy: [u8; 32],
        /// Terminal size (rows, columns), (0, 0) without a terminal.
        pub winsize: (u16, u16),
        /// Kernel options (`key=value`).
        pub options: Vec<&'a [u8]>,
        /// The program's ELF bytes, or the root image (see the module docs).
        pub program: &'a [u8],
    }

    /// Why a spec cannot be encoded.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum EncodeError {
        /// A string contains a NUL byte (it could not reach the program intact).
        NulInString(String),
        /// Too many argv + envp strings.
        TooManyStrings,
    }

    impl core::fmt::Display for EncodeError {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            match self {
                Self::NulInString(s) => write!(f, "string contains a NUL byte: {s:?}"),
                Self::TooManyStrings => {
                    write!(f, "more than {MAX_STRINGS} arguments and variables")
                }
            }
        }
    }

    impl std::error::Error for EncodeError {}

    /// Encodes `spec` into a launch record.
    pub fn encode(spec: &LaunchSpec<'_>) -> Result<Vec<u8>, EncodeError> {
        if spec.argv.len() + spec.envp.len() + spec.options.len() > MAX_STRINGS {
            return Err(EncodeError::TooManyStrings);
        }
        let mut strings = Vec::new();
        let all = core::iter::once(&spec.exec_path)
            .chain(spec.argv.iter())
            .chain(spec.envp.iter())
            .chain(spec.options.iter());
        for s in all {
            if s.contains(&0) {
                return Err(EncodeError::NulInString(
                    String::from_utf8_lossy(s).into_owned(),
                ));
            }
            strings.extend_from_slice(s);
            strings.push(0);
        }
        // Program on an 8-byte boundary after the strings.
        let s_off = HEADER_LEN;
        let p_off = (s_off + strings.len()).next_multiple_of(8);
        let mut out = Vec::with_capacity(p_off + spec.program.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&spec.flags.to_le_bytes());
        out.extend_from_slice(&(spec.argv.len() as u32).to_le_bytes());
        out.extend_from_slice(&(spec.envp.len() as u32).to_le_bytes());
        out.extend_from_slice(&spec.wall_clock_ns.to_le_bytes());
        out.extend_from_slice(&(s_off as u64).to_le_bytes());
        out.extend_from_slice(&(strings.len() as u64).to_le_bytes());
        out.extend_from_slice(&(p_off as u64).to_le_bytes());
        out.extend_from_slice(&(spec.program.len() as u64).to_le_bytes());
        out.extend_from_slice(&spec.entropy);
        out.extend_from_slice(&spec.winsize.0.to_le_bytes());
        out.extend_from_slice(&spec.winsize.1.to_le_bytes());
        out.extend_from_slice(&(spec.options.len() as u32).to_le_bytes());
        debug_assert_eq!(out.len(), HEADER_LEN);
        out.extend_from_slice(&strings);
        out.resize(p_off, 0);
        out.extend_from_slice(spec.program);
        Ok(out)
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::encode::*;
    use super::*;

    fn spec<'a>(argv: Vec<&'a [u8]>, envp: Vec<&'a [u8]>, program: &'a [u8]) -> LaunchSpec<'a> {
        LaunchSpec {
            flags: FLAG_VERBOSE,
            exec_path: b"/hello",
            argv,
            envp,
            wall_clock_ns: 42,
            entropy: [7; 32],
            winsize: (24, 80),
            options: vec![b"cwd=/srv", b"tmpfs=/tmp:1024"],
            program,
        }
    }

    #[test]
    fn round_trip() {
        let prog = b"\x7fELF....";
        let s = spec(vec![b"hello", b"a b", b""], vec![b"HOME=/", b"X="], prog);
        let buf = encode(&s).unwrap();
        let r = LaunchRecord::decode(&buf).unwrap();
        assert_eq!(r.exec_path(), b"/hello");
        assert_eq!(r.argv().collect::<Vec<_>>(), s.argv);
        assert_eq!(r.envp().collect::<Vec<_>>(), s.envp);
        assert_eq!(r.program, prog);
        assert_eq!(r.wall_clock_ns, 42);
        assert_eq!(r.entropy, [7; 32]);
        assert_eq!(r.winsize, (24, 80));
        assert_eq!(r.options().collect::<Vec<_>>(), s.options);
        assert_eq!(
            r.option_values("tmpfs").collect::<Vec<_>>(),
            vec![&b"/tmp:1024"[..]]
        );
        assert_eq!(r.option_values("cw").count(), 0);
        assert!(r.has(FLAG_VERBOSE) && !r.has(FLAG_BOOTCHART));
    }

    #[test]
    fn empty_argv_and_env() {
        let buf = encode(&spec(vec![], vec![], b"")).unwrap();
        let r = LaunchRecord::decode(&buf).unwrap();
        assert_eq!(r.argv().count(), 0);
        assert_eq!(r.envp().count(), 0);
    }

    #[test]
    fn nul_in_argument_refused() {
        assert!(matches!(
            encode(&spec(vec![b"a\0b"], vec![], b"")),
            Err(EncodeError::NulInString(_))
        ));
    }

    #[test]
    fn every_truncation_and_corruption_is_an_error_not_a_panic() {
        let buf = encode(&spec(vec![b"x", b"yy"], vec![b"A=1"], b"PROGRAM")).unwrap();
        for n in 0..buf.len() {
            assert!(LaunchRecord::decode(&buf[..n]).is_err(), "prefix {n}");
        }
        for i in 0..buf.len() {
            for v in [0u8, 0xff, 0x80] {
                let mut b = buf.clone();
                b[i] = v;
                let _ = LaunchRecord::decode(&b);
            }
        }
        let mut b = buf.clone();
        b[0] = b'X';
        assert_eq!(LaunchRecord::decode(&b).unwrap_err(), LaunchError::BadMagic);
    }
}
