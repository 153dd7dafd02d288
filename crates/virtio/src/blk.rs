//! virtio-blk (VIRTIO 1.2 section 5.2): feature bits (5.2.3), the device
//! configuration layout (5.2.4), the request format (5.2.6), and
//! [`plan`], which splits a byte range of the disk into sector-aligned
//! requests of bounded size.
//!
//! A request is a chain of three parts (5.2.6): the 16-byte
//! [`RequestHeader`] (device-readable), the data (device-writable for
//! reads, device-readable for writes; absent for flush), and one status
//! byte (device-writable). Sectors are always 512 bytes, whatever the
//! device's `blk_size` (5.2.6: "sector ... in 512-byte units").

/// Sector size of the request protocol.
pub const SECTOR_SIZE: u64 = 512;

/// Feature bits (5.2.3).
pub mod feature {
    /// `size_max` is valid: the largest single segment.
    pub const SIZE_MAX: u64 = 1 << 1;
    /// `seg_max` is valid: the most segments in one request.
    pub const SEG_MAX: u64 = 1 << 2;
    /// `geometry` is valid.
    pub const GEOMETRY: u64 = 1 << 4;
    /// The device is read-only.
    pub const RO: u64 = 1 << 5;
    /// `blk_size` is valid.
    pub const BLK_SIZE: u64 = 1 << 6;
    /// Cache flush command support.
    pub const FLUSH: u64 = 1 << 9;
    /// `topology` is valid.
    pub const TOPOLOGY: u64 = 1 << 10;
    /// The device can toggle its cache between writeback and writethrough.
    pub const CONFIG_WCE: u64 = 1 << 11;
    /// Multiqueue.
    pub const MQ: u64 = 1 << 12;
    /// Discard command support.
    pub const DISCARD: u64 = 1 << 13;
    /// Write-zeroes command support.
    pub const WRITE_ZEROES: u64 = 1 << 14;
}

/// Device configuration offsets (5.2.4, `struct virtio_blk_config`).
pub mod config {
    /// le64: capacity in 512-byte sectors.
    pub const CAPACITY: u64 = 0;
    /// le32: largest segment (with SIZE_MAX).
    pub const SIZE_MAX: u64 = 8;
    /// le32: most segments per request (with SEG_MAX).
    pub const SEG_MAX: u64 = 12;
    /// le32: block size for performance (with BLK_SIZE).
    pub const BLK_SIZE: u64 = 20;
}

/// Request types (5.2.6).
pub mod req_type {
    /// Read.
    pub const IN: u32 = 0;
    /// Write.
    pub const OUT: u32 = 1;
    /// Flush the write cache.
    pub const FLUSH: u32 = 4;
    /// Device ID string (20 bytes).
    pub const GET_ID: u32 = 8;
}

/// Status values written by the device (5.2.6).
pub mod req_status {
    /// Success.
    pub const OK: u8 = 0;
    /// Device or driver error.
    pub const IOERR: u8 = 1;
    /// Request unsupported by the device.
    pub const UNSUPP: u8 = 2;
}

/// `struct virtio_blk_req` header (5.2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestHeader {
    /// One of [`req_type`].
    pub kind: u32,
    /// First sector (512-byte units).
    pub sector: u64,
}

impl RequestHeader {
    /// Encoded size.
    pub const LEN: usize = 16;

    /// Little-endian encoding: type, reserved, sector.
    pub fn encode(&self) -> [u8; Self::LEN] {
        let mut b = [0; Self::LEN];
        b[0..4].copy_from_slice(&self.kind.to_le_bytes());
        b[8..16].copy_from_slice(&self.sector.to_le_bytes());
        b
    }
}

/// One request of a [`plan`]: read `bytes` starting at `sector`, then copy
/// `copy` bytes from offset `skip` of what was read to offset `dst` of the
/// caller's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    /// First sector.
    pub sector: u64,
    /// Bytes to transfer (a multiple of [`SECTOR_SIZE`]).
    pub bytes: u32,
    /// Offset inside the transferred data where the caller's range starts.
    pub skip: u32,
    /// Bytes of the caller's range in this piece.
    pub copy: u32,
    /// Offset in the caller's buffer.
    pub dst: usize,
}

/// Splits the byte range `offset..offset + len` of a disk of `capacity`
/// bytes (clamped to it) into sector-aligned requests of at most
/// `max_request` bytes (rounded down to whole sectors, at least one).
pub fn plan(offset: u64, len: usize, capacity: u64, max_request: u32) -> Plan {
    let end = offset.saturating_add(len as u64).min(capacity);
    let start = offset.min(end);
    let max = (u64::from(max_request) / SECTOR_SIZE).max(1) * SECTOR_SIZE;
    Plan {
        start,
        pos: start - start % SECTOR_SIZE,
        end,
        max,
    }
}

/// Iterator returned by [`plan`].
#[derive(Debug, Clone)]
pub struct Plan {
    start: u64,
    /// Disk position of the next piece (sector aligned).
    pos: u64,
    end: u64,
    max: u64,
}

impl Plan {
    /// Bytes of the caller's buffer the plan fills (the clamped length).
    pub fn total(&self) -> usize {
        (self.end - self.start) as usize
    }
}

impl Iterator for Plan {
    type Item = Piece;

    fn next(&mut self) -> Option<Piece> {
        if self.pos >= self.end {
            return None;
        }
        let disk_end = (self.pos + self.max).min(self.end.next_multiple_of(SECTOR_SIZE));
        let from = self.pos.max(self.start);
        let to = disk_end.min(self.end);
        let piece = Piece {
            sector: self.pos / SECTOR_SIZE,
            bytes: (disk_end - self.pos) as u32,
            skip: (from - self.pos) as u32,
            copy: (to - from) as u32,
            dst: (from - self.start) as usize,
        };
        self.pos = disk_end;
        Some(piece)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    #[test]
    fn header_encoding() {
        let h = RequestHeader {
            kind: req_type::OUT,
            sector: 0x0102_0304_0506_0708,
        };
        assert_eq!(h.encode(), [1, 0, 0, 0, 0, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1]);
    }

    #[test]
    fn aligned_plan() {
        let p: Vec<Piece> = plan(4096, 3 * 65536, 1 << 30, 65536).collect();
        assert_eq!(p.len(), 3);
        assert_eq!(
            p[0],
            Piece {
                sector: 8,
                bytes: 65536,
                skip: 0,
                copy: 65536,
                dst: 0
            }
        );
        assert_eq!(
            p[2],
            Piece {
                sector: 8 + 256,
                bytes: 65536,
                skip: 0,
                copy: 65536,
                dst: 131072
            }
        );
        assert_eq!(plan(0, 0, 4096, 512).count(), 0);
        assert_eq!(plan(4096, 10, 4096, 512).count(), 0);
        assert_eq!(plan(5000, 10, 4096, 512).total(), 0);
        assert_eq!(plan(0, 100, 1 << 20, 0).next().unwrap().bytes, 512);
    }

    /// Every plan reproduces a direct slice of a simulated disk, each
    /// request is sector-aligned, bounded, and never reads past the
    /// (sector-rounded) capacity.
    #[test]
    fn plans_match_a_simulated_disk() {
        for capacity in [0u64, 512, 1000, 4096, 5120] {
            let disk: Vec<u8> = (0..capacity.next_multiple_of(512))
                .map(|i| (i * 7 + i / 511) as u8)
                .collect();
            for max in [1u32, 512, 1024, 1536, 4096] {
                for offset in (0..capacity + 700).step_by(97) {
                    for len in (0..3000).step_by(131) {
                        let p = plan(offset, len, capacity, max);
                        let total = p.total();
                        let mut out = vec![0xeeu8; len];
                        let mut covered = 0;
                        for piece in p {
                            assert_eq!(u64::from(piece.bytes) % SECTOR_SIZE, 0);
                            assert!(
                                piece.bytes > 0
                                    && u64::from(piece.bytes) <= u64::from(max).max(512)
                            );
                            let s = (piece.sector * SECTOR_SIZE) as usize;
                            let e = s + piece.bytes as usize;
                            assert!(e <= disk.len(), "reads past the disk");
                            let data = &disk[s..e];
                            let (k, c) = (piece.skip as usize, piece.copy as usize);
                            out[piece.dst..piece.dst + c].copy_from_slice(&data[k..k + c]);
                            assert_eq!(piece.dst, covered, "pieces out of order or overlapping");
                            covered += c;
                        }
                        let want_end = (offset + len as u64).min(capacity);
                        let want = want_end.saturating_sub(offset) as usize;
                        assert_eq!(total, want);
                        assert_eq!(covered, want);
                        if want > 0 {
                            assert_eq!(&out[..want], &disk[offset as usize..want_end as usize]);
                        }
                        assert!(out[want..].iter().all(|&b| b == 0xee));
                    }
                }
            }
        }
    }
}
