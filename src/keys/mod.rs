//! Signing keys: the [`KeySigner`] trait, the local signers, JWKS and rotation.
//!
//! A signer holds one *current* key per algorithm and signs with it; it publishes every
//! key that verifiers may meet: the next key (published before it signs, so caches warm
//! up) and retired keys until what they signed has expired. Keys are parsed once when
//! loaded, never per signature.

use serde::{Deserialize, Serialize};

use crate::error::Result;

#[cfg(feature = "aws-lc")]
mod aws_lc;
mod backend;
mod key_set;
mod keyring;
#[cfg(feature = "rust-crypto")]
mod rust_crypto;
pub mod sealed;

#[cfg(feature = "aws-lc")]
pub use aws_lc::AwsLc;
pub use backend::Backend;
#[cfg(feature = "aws-lc")]
pub use keyring::AwsLcSigner;
#[cfg(feature = "rust-crypto")]
pub use keyring::LocalSigner;
pub use keyring::{KeyInfo, Keyring};
#[cfg(feature = "rust-crypto")]
pub use rust_crypto::RustCrypto;

/// A JWS algorithm the signers support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (the OpenID Connect default).
    RS256,
    /// ECDSA P-256 with SHA-256.
    ES256,
}

impl Algorithm {
    /// The JOSE name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::ES256 => "ES256",
        }
    }

    /// Parses a JOSE name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "RS256" => Some(Self::RS256),
            "ES256" => Some(Self::ES256),
            _ => None,
        }
    }
}

/// Signs JWS for the provider: ID tokens, JWT access tokens, logout tokens, userinfo.
pub trait KeySigner: Send + Sync + 'static {
    /// Signs `payload` (JSON claims) with the current key for `alg` and returns the JWS
    /// compact serialization. The protected header is `{"alg","kid","typ"}`.
    fn sign(&self, alg: Algorithm, typ: &str, payload: &[u8]) -> Result<String>;

    /// Like [`sign`](Self::sign), and also returns the SHA-256 digest of the whole compact
    /// serialization: the key a JWT access token is recorded under. The default hashes
    /// the token; the keyring reuses the hash of the signing input it signs.
    fn sign_digested(
        &self,
        alg: Algorithm,
        typ: &str,
        payload: &[u8],
    ) -> Result<(String, [u8; 32])> {
        use sha2::Digest as _;
        let jws = self.sign(alg, typ, payload)?;
        let digest = sha2::Sha256::digest(jws.as_bytes()).into();
        Ok((jws, digest))
    }

    /// The `kid` of the key that signs for `alg` now, if there is one.
    fn current_kid(&self, alg: Algorithm) -> Option<String>;

    /// The public JWK Set (`{"keys": [...]}`): current, next and retired keys.
    fn jwks(&self) -> serde_json::Value;

    /// The algorithms this signer can sign with.
    fn algorithms(&self) -> Vec<Algorithm>;

    /// Reads the signing keys again from `store`, where other instances of the app may
    /// have rotated them ([`Keyring::reload`]). A signer that keeps no keys in a store
    /// has nothing to read: the default does nothing.
    fn reload<'a>(
        &'a self,
        store: &'a dyn crate::storage::KeyStore,
        secrets: &'a [Vec<u8>],
    ) -> crate::storage::StoreFuture<'a, Result<()>> {
        let _ = (store, secrets);
        crate::storage::StoreFuture::now(|| Ok(()))
    }
}
