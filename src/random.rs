//! Randomness, injected: `rand_core` generators behind one small trait.
//!
//! The default, [`ThreadEntropy`], is a ChaCha20 generator per thread seeded from the
//! operating system: a token costs a few nanoseconds of ChaCha instead of a `getrandom`
//! system call. [`OsEntropy`] asks the operating system every time; tests inject a seeded
//! generator with [`RngEntropy`].

use std::cell::RefCell;
use std::sync::Mutex;

use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, OsRng, RngCore, SeedableRng};

/// A source of cryptographically secure random bytes, shared by all requests.
pub trait Entropy: Send + Sync + 'static {
    /// Fills `dest` with random bytes.
    fn fill(&self, dest: &mut [u8]);
}

/// The operating system's generator (the default).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill(&self, dest: &mut [u8]) {
        OsRng.fill_bytes(dest);
    }
}

/// How many bytes a thread's generator yields before it is reseeded from the OS.
const RESEED_AFTER: usize = 64 * 1024;

/// The default entropy: a cryptographically secure generator (ChaCha20, `rand_chacha`)
/// per thread, seeded from the operating system's generator on first use and reseeded
/// from it after every 64 KiB of output, as `rand`'s `ThreadRng` does.
///
/// A generator is never shared between threads and holds no lock. As with `ThreadRng`, a
/// process that forks must not use, in the child, a generator state inherited from the
/// parent: build the provider after forking.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadEntropy;

struct Reseeding {
    rng: ChaCha20Rng,
    remaining: usize,
}

thread_local! {
    static THREAD_RNG: RefCell<Option<Reseeding>> = const { RefCell::new(None) };
}

impl Entropy for ThreadEntropy {
    fn fill(&self, dest: &mut [u8]) {
        THREAD_RNG.with(|cell| {
            let mut slot = cell.borrow_mut();
            if slot.as_ref().is_none_or(|s| s.remaining < dest.len()) {
                *slot = Some(Reseeding {
                    rng: ChaCha20Rng::from_entropy(),
                    remaining: RESEED_AFTER,
                });
            }
            if let Some(state) = slot.as_mut() {
                state.rng.fill_bytes(dest);
                state.remaining = state.remaining.saturating_sub(dest.len());
            }
        });
    }
}

/// Any `rand_core` generator, e.g. a seeded ChaCha for deterministic tests.
pub struct RngEntropy<R>(Mutex<R>);

impl<R: RngCore + CryptoRng + Send + 'static> RngEntropy<R> {
    /// Wraps a generator.
    pub fn new(rng: R) -> Self {
        Self(Mutex::new(rng))
    }
}

impl<R: RngCore + CryptoRng + Send + 'static> Entropy for RngEntropy<R> {
    fn fill(&self, dest: &mut [u8]) {
        let mut rng = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        rng.fill_bytes(dest);
    }
}

/// `rand_core` view of an [`Entropy`], for crates that take an `RngCore` (the pure-Rust
/// signer's key generation).
#[cfg(feature = "rust-crypto")]
pub(crate) struct EntropyRng<'a>(pub(crate) &'a dyn Entropy);

#[cfg(feature = "rust-crypto")]
impl RngCore for EntropyRng<'_> {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0; 4];
        self.0.fill(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0; 8];
        self.0.fill(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill(dest);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.0.fill(dest);
        Ok(())
    }
}

#[cfg(feature = "rust-crypto")]
impl CryptoRng for EntropyRng<'_> {}

/// `N` (at most 48) random bytes, base64url without padding, as a `String` or an
/// `Arc<str>` (encoded on the stack, so either costs one allocation).
pub(crate) fn token_string<const N: usize, T: for<'a> From<&'a str>>(entropy: &dyn Entropy) -> T {
    with_token::<N, T>(entropy, |s| T::from(s))
}

/// Calls `f` with `N` (at most 48) random bytes, base64url without padding, encoded on
/// the stack.
pub(crate) fn with_token<const N: usize, R>(entropy: &dyn Entropy, f: impl FnOnce(&str) -> R) -> R {
    use base64::Engine as _;
    let mut random = [0u8; N];
    entropy.fill(&mut random);
    let mut encoded = [0u8; 64];
    let len = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode_slice(random, &mut encoded)
        .expect("48 bytes encode in 64");
    f(std::str::from_utf8(&encoded[..len]).expect("base64 is ASCII"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_entropy_is_fresh_across_reseeds() {
        let mut seen = std::collections::HashSet::new();
        // Past the reseed threshold, and a request larger than it.
        for _ in 0..(2 * RESEED_AFTER / 32) {
            let mut b = [0u8; 32];
            ThreadEntropy.fill(&mut b);
            assert!(seen.insert(b), "a repeated block");
        }
        let mut big = vec![0u8; RESEED_AFTER + 1];
        ThreadEntropy.fill(&mut big);
        assert!(big.iter().any(|&x| x != 0));
    }
}
