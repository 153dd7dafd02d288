//! The kernel's random number generator (getrandom, AT_RANDOM, /dev/urandom).
//!
//! A ChaCha20 CSPRNG (`oxv_rng`, RFC 8439 block function, fast key erasure). Its 256-bit seed mixes, by XOR:
//! RDSEED output (or RDRAND where RDSEED is missing), 32 bytes of host
//! entropy passed in the launch record (from the host's getrandom), and the
//! TSC at boot. Either hardware or host entropy alone is enough for a
//! seed an attacker cannot predict; the TSC only adds jitter.

use oxv_hal::sync::SpinLock;
use oxv_rng::ChaCha20Rng;

static RNG: SpinLock<Option<ChaCha20Rng>> = SpinLock::new(None);

/// Where the seed came from, for the boot log.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SeedSources {
    pub(crate) rdseed: bool,
    pub(crate) rdrand: bool,
}

/// Seeds the generator.
pub(crate) fn init(host_entropy: &[u8; 32]) -> SeedSources {
    let mut seed = *host_entropy;
    let mut src = SeedSources {
        rdseed: false,
        rdrand: false,
    };
    for chunk in seed.chunks_mut(8) {
        let hw = if let Some(v) = oxv_hal::rdseed64() {
            src.rdseed = true;
            v
        } else if let Some(v) = oxv_hal::rdrand64() {
            src.rdrand = true;
            v
        } else {
            0
        };
        let mixed = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8])) ^ hw ^ oxv_hal::rdtsc();
        chunk.copy_from_slice(&mixed.to_le_bytes());
    }
    *RNG.lock() = Some(ChaCha20Rng::from_seed(seed));
    src
}

/// Fills `buf` with random bytes.
pub(crate) fn fill(buf: &mut [u8]) {
    let mut g = RNG.lock();
    let rng = g.get_or_insert_with(|| {
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&oxv_hal::rdtsc().to_le_bytes());
        ChaCha20Rng::from_seed(seed)
    });
    rng.fill_bytes(buf);
}
