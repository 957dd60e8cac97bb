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

/// A tagged secret hash (`$sha256$…` or `$pbkdf2-sha256$…`), parsed once when made or
/// loaded, so checking a secret decodes nothing.
#[derive(Clone)]
pub struct SecretHash {
    text: String,
    parsed: Parsed,
}

#[derive(Clone)]
enum Parsed {
    Sha256([u8; 32]),
    Pbkdf2 {
        iterations: u32,
        salt: Vec<u8>,
        digest: Vec<u8>,
    },
    /// Malformed or of an unknown scheme: matches nothing.
    Invalid,
}

impl Parsed {
    fn from_text(text: &str) -> Self {
        let mut parts = text.split('$');
        if parts.next() != Some("") {
            return Self::Invalid;
        }
        let parsed = match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("sha256"), Some(d), None, None) => {
                let mut digest = [0u8; 32];
                matches!(B64.decode_slice(d, &mut digest), Ok(32)).then_some(Self::Sha256(digest))
            }
            (Some("pbkdf2-sha256"), Some(iter), Some(salt), Some(digest))
                if parts.next().is_none() =>
            {
                match (iter.parse::<u32>(), B64.decode(salt), B64.decode(digest)) {
                    (Ok(iterations @ 1..=10_000_000), Ok(salt), Ok(digest)) => Some(Self::Pbkdf2 {
                        iterations,
                        salt,
                        digest,
                    }),
                    _ => None,
                }
            }
            _ => None,
        };
        parsed.unwrap_or(Self::Invalid)
    }
}

impl std::fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = self.text.split('$').nth(1).unwrap_or("?");
        write!(f, "SecretHash(${scheme}$…)")
    }
}

impl PartialEq for SecretHash {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for SecretHash {}

impl std::hash::Hash for SecretHash {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl Serialize for SecretHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for SecretHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self::from_text)
    }
}

impl SecretHash {
    fn from_text(text: String) -> Self {
        let parsed = Parsed::from_text(&text);
        Self { text, parsed }
    }

    /// The fast hash, for a high-entropy secret the server generated.
    pub fn generated(secret: &str) -> Self {
        Self::from_text(format!(
            "$sha256${}",
            B64.encode(Sha256::digest(secret.as_bytes()))
        ))
    }

    /// The slow hash, for a secret a caller chose.
    pub fn chosen(secret: &str, entropy: &dyn Entropy) -> Self {
        let mut salt = [0u8; 16];
        entropy.fill(&mut salt);
        let digest = pbkdf2_sha256(secret.as_bytes(), &salt, PBKDF2_ITERATIONS);
        Self::from_text(format!(
            "$pbkdf2-sha256${PBKDF2_ITERATIONS}${}${}",
            B64.encode(salt),
            B64.encode(digest)
        ))
    }

    /// Whether `secret` matches, in constant time over the digest. A malformed or unknown
    /// hash never matches.
    pub fn verify(&self, secret: &str) -> bool {
        match &self.parsed {
            Parsed::Sha256(want) => bool::from(Sha256::digest(secret.as_bytes())[..].ct_eq(want)),
            Parsed::Pbkdf2 {
                iterations,
                salt,
                digest,
            } => bool::from(pbkdf2_sha256(secret.as_bytes(), salt, *iterations).ct_eq(digest)),
            Parsed::Invalid => false,
        }
    }

    /// The stored string.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

fn pbkdf2_sha256(secret: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(secret, salt, iterations, &mut out);
    out
}

/// A fresh 256-bit secret, base64url.
pub fn generate(entropy: &dyn Entropy) -> String {
    crate::random::token_string::<32, _>(entropy)
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
    fn stored_hashes_load_and_verify() {
        let s = generate(&OsEntropy);
        for h in [
            SecretHash::generated(&s),
            SecretHash::chosen(&s, &OsEntropy),
        ] {
            let json = serde_json::to_string(&h).unwrap();
            let back: SecretHash = serde_json::from_str(&json).unwrap();
            assert_eq!(back, h);
            assert_eq!(json, format!("\"{}\"", h.as_str()));
            assert!(back.verify(&s) && !back.verify("wrong"));
        }
        // SHA-256 of the empty string: the well-formed hash of "" verifies "".
        let empty =
            SecretHash::from_text("$sha256$47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU".into());
        assert!(empty.verify(""));
    }

    #[test]
    fn malformed_hashes_never_match() {
        for h in [
            "",
            "$",
            "$sha256$",
            "$md5$abc",
            "$pbkdf2-sha256$0$AA$AA",
            "$pbkdf2-sha256$10000001$AA$AA",
            "$pbkdf2-sha256$x",
            "sha256$47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU",
            "$sha256$47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU$",
        ] {
            assert!(!SecretHash::from_text(h.to_owned()).verify(""), "{h}");
        }
    }

    #[test]
    fn debug_hides_the_digest() {
        let h = SecretHash::generated("x");
        assert_eq!(format!("{h:?}"), "SecretHash($sha256$…)");
    }
}
