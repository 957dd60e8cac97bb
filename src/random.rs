//! Randomness, injected: `rand_core` generators behind one small trait.

use std::sync::Mutex;

use rand_core::{CryptoRng, OsRng, RngCore};

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

/// `rand_core` view of an [`Entropy`], for crates that take an `RngCore`.
pub(crate) struct EntropyRng<'a>(pub(crate) &'a dyn Entropy);

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

impl CryptoRng for EntropyRng<'_> {}

/// `n` random bytes, base64url without padding.
pub(crate) fn token_string(entropy: &dyn Entropy, n: usize) -> String {
    use base64::Engine as _;
    let mut buf = vec![0u8; n];
    entropy.fill(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&buf)
}
