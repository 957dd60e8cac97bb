//! Client secrets: stored as a tagged hash, compared in constant time.
//!
//! Format: `$<scheme>$<parameters>` so the scheme can change without a migration.
//! - `$sha256$<b64 digest>` for secrets the server generated: 256 random bits need no
//!   slow hash, and verifying costs well under a microsecond.
//! - `$pbkdf2-sha256$<iterations>$<b64 salt>$<b64 digest>` for secrets a caller chose,
//!   which may be guessable: PBKDF2-HMAC-SHA256 with 25,000 iterations (as Hydra).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::random::Entropy;

/// PBKDF2 iterations for caller-chosen secrets.
pub const PBKDF2_ITERATIONS: u32 = 25_000;

/// A tagged secret hash (`$sha256$…` or `$pbkdf2-sha256$…`).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretHash(String);

impl std::fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = self.0.split('$').nth(1).unwrap_or("?");
        write!(f, "SecretHash(${scheme}$…)")
    }
}

impl SecretHash {
    /// The fast hash, for a high-entropy secret the server generated.
    pub fn generated(secret: &str) -> Self {
        Self(format!(
            "$sha256${}",
            B64.encode(Sha256::digest(secret.as_bytes()))
        ))
    }

    /// The slow hash, for a secret a caller chose.
    pub fn chosen(secret: &str, entropy: &dyn Entropy) -> Self {
        let mut salt = [0u8; 16];
        entropy.fill(&mut salt);
        let digest = pbkdf2_sha256(secret.as_bytes(), &salt, PBKDF2_ITERATIONS);
        Self(format!(
            "$pbkdf2-sha256${PBKDF2_ITERATIONS}${}${}",
            B64.encode(salt),
            B64.encode(digest)
        ))
    }

    /// Whether `secret` matches, in constant time over the digest. A malformed or unknown
    /// hash never matches.
    pub fn verify(&self, secret: &str) -> bool {
        let mut parts = self.0.split('$').skip(1);
        match parts.next() {
            Some("sha256") => {
                let mut want = [0u8; 32];
                parts
                    .next()
                    .is_some_and(|d| matches!(B64.decode_slice(d, &mut want), Ok(32)))
                    && bool::from(Sha256::digest(secret.as_bytes())[..].ct_eq(&want))
            }
            Some("pbkdf2-sha256") => {
                let (Some(iter), Some(salt), Some(digest)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    return false;
                };
                let (Ok(iter), Ok(salt), Ok(want)) =
                    (iter.parse::<u32>(), B64.decode(salt), B64.decode(digest))
                else {
                    return false;
                };
                if iter == 0 || iter > 10_000_000 {
                    return false;
                }
                bool::from(pbkdf2_sha256(secret.as_bytes(), &salt, iter).ct_eq(&want))
            }
            _ => false,
        }
    }

    /// The stored string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn pbkdf2_sha256(secret: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(secret, salt, iterations, &mut out);
    out
}

/// A fresh 256-bit secret, base64url.
pub fn generate(entropy: &dyn Entropy) -> String {
    crate::random::token_string(entropy, 32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsEntropy;

    #[test]
    fn generated_round_trip() {
        let s = generate(&OsEntropy);
        let h = SecretHash::generated(&s);
        assert!(h.as_str().starts_with("$sha256$"));
        assert!(h.verify(&s));
        assert!(!h.verify("wrong"));
        assert!(!h.as_str().contains(&s));
    }

    #[test]
    fn chosen_uses_pbkdf2_with_salt() {
        let a = SecretHash::chosen("hunter2", &OsEntropy);
        let b = SecretHash::chosen("hunter2", &OsEntropy);
        assert!(a.as_str().starts_with("$pbkdf2-sha256$25000$"));
        assert_ne!(a, b, "salted");
        assert!(a.verify("hunter2"));
        assert!(!a.verify("hunter3"));
    }

    #[test]
    fn malformed_hashes_never_match() {
        for h in [
            "",
            "$",
            "$sha256$",
            "$md5$abc",
            "$pbkdf2-sha256$0$AA$AA",
            "$pbkdf2-sha256$x",
        ] {
            assert!(!SecretHash(h.to_owned()).verify(""), "{h}");
        }
    }

    #[test]
    fn debug_hides_the_digest() {
        let h = SecretHash::generated("x");
        assert_eq!(format!("{h:?}"), "SecretHash($sha256$…)");
    }
}
