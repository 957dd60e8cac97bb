//! The key set a [`Keyring`](super::Keyring) signs with: immutable, rebuilt on every
//! rotation. Every key in it is parsed once, and its protected headers for the common
//! `typ` values are encoded once, so a signature costs the signature itself plus base64
//! of the payload and one allocation.

use std::borrow::Cow;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use p256::elliptic_curve::zeroize::Zeroizing;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::backend::Backend;
use super::Algorithm;
use crate::error::{Error, Result};
use crate::model::KeyState;

/// The `typ` values whose protected headers are encoded ahead of time, per key.
pub(super) const COMMON_TYPES: [&str; 4] =
    ["JWT", "at+jwt", "logout+jwt", "token-introspection+jwt"];

/// The algorithms, in a fixed order (the index of the signing key table).
pub(super) const ALGORITHMS: [Algorithm; 2] = [Algorithm::RS256, Algorithm::ES256];

const fn index(alg: Algorithm) -> usize {
    match alg {
        Algorithm::RS256 => 0,
        Algorithm::ES256 => 1,
    }
}

/// An immutable set of keys; a rotation builds a new one.
pub(super) struct KeySet<B: Backend> {
    pub slots: Vec<Slot<B>>,
    /// The signing key per algorithm, by [`index`].
    signing: [Option<Arc<LoadedKey<B>>>; 2],
    /// The public JWK Set, built once per set.
    pub jwks: serde_json::Value,
}

/// A key and where it is in its rotation.
pub(super) struct Slot<B: Backend> {
    pub state: KeyState,
    pub key: Arc<LoadedKey<B>>,
}

impl<B: Backend> Clone for Slot<B> {
    fn clone(&self) -> Self {
        Self {
            state: self.state,
            key: Arc::clone(&self.key),
        }
    }
}

impl<B: Backend> KeySet<B> {
    pub fn new(slots: Vec<Slot<B>>) -> Self {
        // The newest current key signs (later in the list wins a tie).
        let signing = ALGORITHMS.map(|alg| {
            slots
                .iter()
                .filter(|s| s.key.alg == alg && s.state == KeyState::Current)
                .max_by_key(|s| s.key.created_at)
                .map(|s| Arc::clone(&s.key))
        });
        let mut set = Self {
            slots,
            signing,
            jwks: serde_json::Value::Null,
        };
        let keys: Vec<serde_json::Value> = set.published().map(|s| s.key.jwk.clone()).collect();
        set.jwks = serde_json::json!({ "keys": keys });
        set
    }

    pub fn signer(&self, alg: Algorithm) -> Option<&Arc<LoadedKey<B>>> {
        self.signing[index(alg)].as_ref()
    }

    /// The slots in JWKS order: signing keys first (verifiers that ignore `kid` pick
    /// them), then other current keys, next keys and retired keys.
    pub fn published(&self) -> impl Iterator<Item = &Slot<B>> {
        let rank = |s: &Slot<B>| match s.state {
            KeyState::Current
                if self
                    .signing
                    .iter()
                    .flatten()
                    .any(|k| Arc::ptr_eq(k, &s.key)) =>
            {
                0
            }
            KeyState::Current => 1,
            KeyState::Next => 2,
            KeyState::Retired { .. } => 3,
        };
        (0..4).flat_map(move |r| self.slots.iter().filter(move |s| rank(s) == r))
    }
}

/// A key parsed once, with everything signing needs precomputed.
pub(super) struct LoadedKey<B: Backend> {
    pub kid: String,
    pub alg: Algorithm,
    pub created_at: i64,
    pub key: B::Key,
    /// Kept to re-seal the key when its state changes in the store.
    pub pkcs8: Zeroizing<Vec<u8>>,
    pub jwk: serde_json::Value,
    signature_len: usize,
    /// Encoded protected headers for [`COMMON_TYPES`], in that order.
    headers: Vec<String>,
}

impl<B: Backend> LoadedKey<B> {
    /// Parses `pkcs8` for `alg`; the `kid` defaults to the RFC 7638 thumbprint.
    pub fn new(
        alg: Algorithm,
        pkcs8: Zeroizing<Vec<u8>>,
        kid: Option<String>,
        created_at: i64,
    ) -> Result<Self> {
        let key = B::load(alg, &pkcs8)?;
        let public = B::public_key(&key);
        public.check(alg)?;
        let kid = kid.unwrap_or_else(|| public.thumbprint());
        let headers = COMMON_TYPES
            .iter()
            .map(|typ| encode_header(alg, &kid, typ))
            .collect::<Result<_>>()?;
        Ok(Self {
            jwk: public.jwk(&kid, alg),
            signature_len: public.signature_len(),
            kid,
            alg,
            created_at,
            key,
            pkcs8,
            headers,
        })
    }

    pub fn header(&self, typ: &str) -> Result<Cow<'_, str>> {
        match COMMON_TYPES.iter().position(|t| *t == typ) {
            Some(i) => Ok(Cow::Borrowed(&self.headers[i])),
            None => encode_header(self.alg, &self.kid, typ).map(Cow::Owned),
        }
    }

    /// `base64url(header) . base64url(payload) . base64url(signature)`, the signature
    /// made over the SHA-256 of `header.payload` computed here.
    pub fn sign_compact(&self, typ: &str, payload: &[u8]) -> Result<Signed> {
        let header = self.header(typ)?;
        let mut jws = String::with_capacity(
            header.len() + 2 + encoded_len(payload.len()) + encoded_len(self.signature_len),
        );
        jws.push_str(&header);
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(payload, &mut jws);
        let mut hasher = Sha256::new();
        hasher.update(jws.as_bytes());
        let signature = B::sign_digest(&self.key, &hasher.clone().finalize().into())?;
        let signed_len = jws.len();
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut jws);
        Ok(Signed {
            jws,
            signed_len,
            hasher,
        })
    }
}

/// A signed JWS, with the SHA-256 state over its signing input.
pub(super) struct Signed {
    pub jws: String,
    /// The length of the signing input (`header.payload`).
    signed_len: usize,
    /// SHA-256 having absorbed the signing input.
    hasher: Sha256,
}

impl Signed {
    /// The JWS and the SHA-256 of all of it, hashing only what follows the signing input.
    pub fn digest(mut self) -> (String, [u8; 32]) {
        self.hasher.update(&self.jws.as_bytes()[self.signed_len..]);
        (self.jws, self.hasher.finalize().into())
    }
}

/// The base64url (unpadded) protected header `{"alg","kid","typ"}`.
pub(super) fn encode_header(alg: Algorithm, kid: &str, typ: &str) -> Result<String> {
    #[derive(Serialize)]
    struct Header<'a> {
        alg: &'a str,
        kid: &'a str,
        typ: &'a str,
    }
    let json = serde_json::to_vec(&Header {
        alg: alg.as_str(),
        kid,
        typ,
    })
    .map_err(|e| Error::internal(format_args!("encoding a JWS header: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

/// The length of `n` bytes in unpadded base64.
const fn encoded_len(n: usize) -> usize {
    (n * 4).div_ceil(3)
}

#[cfg(all(test, feature = "rust-crypto"))]
mod tests {
    use super::*;
    use crate::keys::{KeySigner, LocalSigner};

    #[test]
    fn exotic_typ_is_json_escaped() {
        let encoded = encode_header(Algorithm::ES256, "k", "a\"b").unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(encoded).unwrap()).unwrap();
        assert_eq!(json["typ"], "a\"b");
        assert_eq!(json["alg"], "ES256");
    }

    #[test]
    fn signature_len_is_exact() {
        let ring = LocalSigner::generate(&[Algorithm::ES256]).unwrap();
        let jws = ring.sign(Algorithm::ES256, "JWT", b"{}").unwrap();
        let sig = jws.rsplit('.').next().unwrap();
        assert_eq!(sig.len(), encoded_len(64));
        assert_eq!(URL_SAFE_NO_PAD.decode(sig).unwrap().len(), 64);
    }
}
