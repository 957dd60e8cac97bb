//! PKCE (RFC 7636): challenge validation and constant-time verification.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::model::{Pkce, PkceMethod};

/// Whether `s` is a valid code verifier or challenge: 43 to 128 characters from
/// `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"` (RFC 7636 §4.1, §4.2).
pub fn is_well_formed(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// The S256 challenge of a verifier.
pub fn s256_challenge(verifier: &str) -> String {
    B64.encode(Sha256::digest(verifier.as_bytes()))
}

/// Whether `verifier` answers `pkce` (RFC 7636 §4.6), compared in constant time.
pub fn verify(pkce: &Pkce, verifier: &str) -> bool {
    if !is_well_formed(verifier) {
        return false;
    }
    let mut encoded = [0u8; 43];
    let expected = match pkce.method {
        PkceMethod::S256 => {
            let len = B64
                .encode_slice(Sha256::digest(verifier.as_bytes()), &mut encoded)
                .expect("32 bytes encode in 43");
            &encoded[..len]
        }
        PkceMethod::Plain => verifier.as_bytes(),
    };
    bool::from(expected.ct_eq(pkce.challenge.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            s256_challenge(verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let pkce = Pkce {
            challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
            method: PkceMethod::S256,
        };
        assert!(verify(&pkce, verifier));
        assert!(!verify(&pkce, &verifier.replace('d', "e")));
    }

    #[test]
    fn malformed_verifiers_fail() {
        let pkce = Pkce {
            challenge: "short".into(),
            method: PkceMethod::Plain,
        };
        assert!(!verify(&pkce, "short"), "too short for RFC 7636");
        assert!(!is_well_formed(&"a".repeat(129)));
        assert!(!is_well_formed(&format!("{}+", "a".repeat(43))));
        assert!(is_well_formed(&"a~._-".repeat(9)));
    }
}
