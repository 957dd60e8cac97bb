//! Signing keys as the store keeps them: the private half sealed under the system secret.

use serde::{Deserialize, Serialize};

/// Where a key is in its rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum KeyState {
    /// Published in the JWKS but not yet signing, so verifiers can fetch it in advance.
    Next,
    /// The key that signs.
    Current,
    /// No longer signing; published until `until` (unix seconds), when everything it
    /// signed has expired.
    Retired {
        /// When the key may be dropped from the JWKS.
        until: i64,
    },
}

/// A signing key record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredKey {
    /// The key id (`kid`).
    pub kid: String,
    /// The JWS algorithm (`RS256`, `ES256`).
    pub alg: String,
    /// Its rotation state.
    pub state: KeyState,
    /// The PKCS#8 DER private key, sealed with an AEAD under the system secret
    /// (nonce followed by ciphertext).
    pub sealed_private_key: Vec<u8>,
    /// When it was created (unix seconds).
    pub created_at: i64,
}
