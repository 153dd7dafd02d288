//! Hand-built ELF64 images for the tests: an ELF header, program headers and
//! file bytes, with every field settable so each malformation is one line.
#![allow(dead_code)]

/// One program header.
#[derive(Clone, Copy, Debug)]
pub struct Ph {
    pub p_type: u32,
    pub flags: u32,
    pub offset: u64,
    pub vaddr: u64,
    pub filesz: u64,
    pub memsz: u64,
    pub align: u64,
}

impl Ph {
    pub fn new(
        p_type: u32,
        flags: u32,
        offset: u64,
        vaddr: u64,
        filesz: u64,
        memsz: u64,
        align: u64,
    ) -> Self {
        Ph {
            p_type,
            flags,
            offset,
            vaddr,
            filesz,
            memsz,
            align,
        }
    }
}

/// An ELF image description; `build` turns it into bytes.
#[derive(Clone, Debug)]
pub struct Img {
    pub ident: [u8; 16],
    pub e_type: u16,
    pub machine: u16,
    pub version: u32,
    pub entry: u64,
    pub phoff: u64,
    pub phentsize: u16,
    /// `e_phnum`; `None` means `phdrs.len()`.
    pub phnum: Option<u16>,
    pub phdrs: Vec<Ph>,
    /// Total file length.
    pub len: usize,
    /// Bytes to place at given offsets after the headers are written.
    pub blobs: Vec<(usize, Vec<u8>)>,
}

pub const INTERP: &[u8] = b"/lib64/ld-linux-x86-64.so.2";
pub const INTERP_OFF: u64 = 0x300;

impl Img {
    pub fn build(&self) -> Vec<u8> {
        let mut b = vec![0u8; self.len.max(64)];
        b[..16].copy_from_slice(&self.ident);
        b[16..18].copy_from_slice(&self.e_type.to_le_bytes());
        b[18..20].copy_from_slice(&self.machine.to_le_bytes());
        b[20..24].copy_from_slice(&self.version.to_le_bytes());
        b[24..32].copy_from_slice(&self.entry.to_le_bytes());
        b[32..40].copy_from_slice(&self.phoff.to_le_bytes());
        b[52..54].copy_from_slice(&64u16.to_le_bytes());
        b[54..56].copy_from_slice(&self.phentsize.to_le_bytes());
        let phnum = self.phnum.unwrap_or(self.phdrs.len() as u16);
        b[56..58].copy_from_slice(&phnum.to_le_bytes());
        b[58..60].copy_from_slice(&64u16.to_le_bytes());
        for (i, ph) in self.phdrs.iter().enumerate() {
            let o = self.phoff as usize + i * 56;
            if o + 56 > b.len() {
                b.resize(o + 56, 0);
            }
            let p = &mut b[o..o + 56];
            p[0..4].copy_from_slice(&ph.p_type.to_le_bytes());
            p[4..8].copy_from_slice(&ph.flags.to_le_bytes());
            p[8..16].copy_from_slice(&ph.offset.to_le_bytes());
            p[16..24].copy_from_slice(&ph.vaddr.to_le_bytes());
            p[24..32].copy_from_slice(&ph.vaddr.to_le_bytes());
            p[32..40].copy_from_slice(&ph.filesz.to_le_bytes());
            p[40..48].copy_from_slice(&ph.memsz.to_le_bytes());
            p[48..56].copy_from_slice(&ph.align.to_le_bytes());
        }
        for (at, bytes) in &self.blobs {
            b[*at..*at + bytes.len()].copy_from_slice(bytes);
        }
        b.truncate(self.len);
        b
    }
}

const R: u32 = 4;
const W: u32 = 2;
const X: u32 = 1;

/// A valid static `ET_EXEC`:
/// 0 PT_PHDR, 1 PT_LOAD r-x [0x400000, 0x401000) from offset 0,
/// 2 PT_LOAD rw- [0x401000, 0x404000) with 0x100 file bytes at 0x1000,
/// 3 PT_TLS, 4 PT_GNU_STACK rw-. File length 0x1100, entry 0x400200.
pub fn exec() -> Img {
    let mut ident = [0u8; 16];
    ident[..4].copy_from_slice(b"\x7fELF");
    ident[4] = 2;
    ident[5] = 1;
    ident[6] = 1;
    Img {
        ident,
        e_type: 2,
        machine: 62,
        version: 1,
        entry: 0x40_0200,
        phoff: 64,
        phentsize: 56,
        phnum: None,
        phdrs: vec![
            Ph::new(6, R, 64, 0x40_0040, 5 * 56, 5 * 56, 8),
            Ph::new(1, R | X, 0, 0x40_0000, 0x1000, 0x1000, 0x1000),
            Ph::new(1, R | W, 0x1000, 0x40_1000, 0x100, 0x3000, 0x1000),
            Ph::new(7, R, 0x1000, 0x40_1000, 0x10, 0x20, 8),
            Ph::new(0x6474_e551, R | W, 0, 0, 0, 0, 16),
        ],
        len: 0x1100,
        blobs: vec![],
    }
}

/// A valid dynamically linked PIE (`ET_DYN` with PT_INTERP at index 1):
/// 0 PT_PHDR, 1 PT_INTERP, 2 PT_LOAD r-x [0, 0x1000), 3 PT_LOAD rw-
/// [0x1000, 0x3000) with 0x100 file bytes, 4 PT_GNU_STACK. Entry 0x200.
pub fn dyn_interp() -> Img {
    let mut img = exec();
    img.e_type = 3;
    img.entry = 0x200;
    let mut with_nul = INTERP.to_vec();
    with_nul.push(0);
    img.phdrs = vec![
        Ph::new(6, R, 64, 0x40, 5 * 56, 5 * 56, 8),
        Ph::new(
            3,
            R,
            INTERP_OFF,
            INTERP_OFF,
            with_nul.len() as u64,
            with_nul.len() as u64,
            1,
        ),
        Ph::new(1, R | X, 0, 0, 0x1000, 0x1000, 0x1000),
        Ph::new(1, R | W, 0x1000, 0x1000, 0x100, 0x2000, 0x1000),
        Ph::new(0x6474_e551, R | W, 0, 0, 0, 0, 16),
    ];
    img.blobs = vec![(INTERP_OFF as usize, with_nul)];
    img
}

/// xorshift64: a deterministic PRNG for the fuzz smoke tests.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
