//! The crypto backend seam: what a [`Keyring`](super::Keyring) needs from a crypto library.
//!
//! Rotation, sealing, JWKS and JWS framing live once, in the keyring; a backend only
//! generates, parses and signs. Every backend stores keys the same way (PKCS#8 DER), so a
//! key persisted through one backend loads in another.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use p256::elliptic_curve::zeroize::Zeroizing;
use sha2::{Digest as _, Sha256};

use super::Algorithm;
use crate::error::{Error, Result};
use crate::random::Entropy;

/// A crypto library a [`Keyring`](super::Keyring) can sign with.
///
/// Implemented by [`RustCrypto`](super::RustCrypto) (feature `rust-crypto`) and
/// [`AwsLc`](super::AwsLc) (feature `aws-lc`); sealed, so it cannot be implemented outside
/// this crate.
pub trait Backend: private::Sealed {}

impl<T: private::Sealed> Backend for T {}

pub(crate) mod private {
    use super::*;

    /// The backend operations. Public in a private module: nameable only in this crate.
    pub trait Sealed: Send + Sync + 'static {
        /// A parsed private key, ready to sign.
        type Key: Send + Sync + 'static;

        /// Generates a fresh key for `alg` (RSA 2048 or P-256) and returns its PKCS#8 DER.
        fn generate(alg: Algorithm, entropy: &dyn Entropy) -> Result<Zeroizing<Vec<u8>>>;

        /// Parses a PKCS#8 DER private key for `alg`; fails if it is a key of another kind.
        fn load(alg: Algorithm, pkcs8_der: &[u8]) -> Result<Self::Key>;

        /// Signs the message whose SHA-256 digest is `digest` (both algorithms hash with
        /// SHA-256; the keyring hashes the signing input itself, so the digest of the
        /// whole token costs only its last segment more) and returns the raw JWS
        /// signature: PKCS#1 v1.5 for RS256, the 64-byte `r || s` for ES256.
        fn sign_digest(key: &Self::Key, digest: &[u8; 32]) -> Result<Vec<u8>>;

        /// The public half of `key`.
        fn public_key(key: &Self::Key) -> PublicKey;
    }

    /// The public parameters of a key, as the JWK carries them (big-endian bytes).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum PublicKey {
        /// An RSA public key.
        Rsa {
            /// The modulus.
            n: Vec<u8>,
            /// The public exponent.
            e: Vec<u8>,
        },
        /// A P-256 public key point.
        P256 {
            /// The x coordinate (32 bytes).
            x: [u8; 32],
            /// The y coordinate (32 bytes).
            y: [u8; 32],
        },
    }
}

pub(crate) use private::PublicKey;

/// The smallest RSA modulus accepted, in bytes (2048 bits).
const MIN_RSA_MODULUS_LEN: usize = 256;

impl PublicKey {
    /// Checks that the key is strong enough and matches `alg`.
    pub(crate) fn check(&self, alg: Algorithm) -> Result<()> {
        match (self, alg) {
            (Self::Rsa { n, .. }, Algorithm::RS256) => {
                if strip_zeros(n).len() < MIN_RSA_MODULUS_LEN {
                    return Err(Error::invalid_request(
                        "RSA keys must be at least 2048 bits long",
                    ));
                }
                Ok(())
            }
            (Self::P256 { .. }, Algorithm::ES256) => Ok(()),
            _ => Err(Error::invalid_request(
                "the key does not match the algorithm",
            )),
        }
    }

    /// The length of a signature this key makes, in bytes.
    pub(crate) fn signature_len(&self) -> usize {
        match self {
            Self::Rsa { n, .. } => strip_zeros(n).len(),
            Self::P256 { .. } => 64,
        }
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url): a `kid` derived from the key.
    pub(crate) fn thumbprint(&self) -> String {
        // The required members in lexicographic order, no whitespace (RFC 7638 §3.2).
        let canonical = match self {
            Self::Rsa { n, e } => format!(
                r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
                b64(strip_zeros(e)),
                b64(strip_zeros(n))
            ),
            Self::P256 { x, y } => format!(
                r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
                b64(x),
                b64(y)
            ),
        };
        b64(&Sha256::digest(canonical.as_bytes()))
    }

    /// The public JWK for this key with `kid`, `alg` and `use: sig`.
    pub(crate) fn jwk(&self, kid: &str, alg: Algorithm) -> serde_json::Value {
        match self {
            Self::Rsa { n, e } => serde_json::json!({
                "kty": "RSA",
                "n": b64(strip_zeros(n)),
                "e": b64(strip_zeros(e)),
                "kid": kid,
                "alg": alg.as_str(),
                "use": "sig",
            }),
            Self::P256 { x, y } => serde_json::json!({
                "kty": "EC",
                "crv": "P-256",
                "x": b64(x),
                "y": b64(y),
                "kid": kid,
                "alg": alg.as_str(),
                "use": "sig",
            }),
        }
    }
}

/// The error description for a PKCS#8 document that is not a key for `alg`.
#[cfg_attr(
    not(any(feature = "rust-crypto", feature = "aws-lc")),
    allow(dead_code)
)]
pub(crate) fn reject_message(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::RS256 => "the private key is not a valid RSA PKCS#8 key",
        Algorithm::ES256 => "the private key is not a valid P-256 PKCS#8 key",
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// Converts a PEM private key to PKCS#8 DER: `PRIVATE KEY` (PKCS#8) as is,
/// `RSA PRIVATE KEY` (PKCS#1) and `EC PRIVATE KEY` (SEC 1, P-256) converted.
pub(crate) fn pem_to_pkcs8(pem: &str) -> Result<Zeroizing<Vec<u8>>> {
    use p256::pkcs8::der::pem as pem_rfc7468;
    use p256::pkcs8::EncodePrivateKey as _;
    use rsa::pkcs1::DecodeRsaPrivateKey as _;

    let pem = pem.trim();
    let bad = |_| Error::invalid_request("the private key is not a valid PEM document");
    let label = pem_rfc7468::decode_label(pem.as_bytes()).map_err(bad)?;
    let der = match label {
        "PRIVATE KEY" => pem_rfc7468::decode_vec(pem.as_bytes()).map_err(bad)?.1,
        "RSA PRIVATE KEY" => {
            let key = rsa::RsaPrivateKey::from_pkcs1_pem(pem)
                .map_err(|_| Error::invalid_request("the RSA private key is malformed"))?;
            key.to_pkcs8_der()
                .map_err(|e| Error::internal(format_args!("encoding an RSA key: {e}")))?
                .as_bytes()
                .to_vec()
        }
        "EC PRIVATE KEY" => {
            let key = p256::SecretKey::from_sec1_pem(pem)
                .map_err(|_| Error::invalid_request("the EC private key is not a P-256 key"))?;
            key.to_pkcs8_der()
                .map_err(|e| Error::internal(format_args!("encoding an EC key: {e}")))?
                .as_bytes()
                .to_vec()
        }
        _ => {
            return Err(Error::invalid_request(
                "expected a PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY PEM document",
            ))
        }
    };
    Ok(Zeroizing::new(der))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7638_example_thumbprint() {
        // RFC 7638 §3.1.
        let n = URL_SAFE_NO_PAD
            .decode(
                "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSo\
                 c_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YG\
                 jQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt\
                 -bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDK\
                 gw",
            )
            .unwrap();
        let key = PublicKey::Rsa {
            n,
            e: vec![1, 0, 1],
        };
        assert_eq!(
            key.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn small_rsa_and_mismatched_keys_refused() {
        let small = PublicKey::Rsa {
            n: vec![0xff; 128],
            e: vec![1, 0, 1],
        };
        assert!(small.check(Algorithm::RS256).is_err());
        let ec = PublicKey::P256 {
            x: [1; 32],
            y: [2; 32],
        };
        assert!(ec.check(Algorithm::ES256).is_ok());
        assert!(ec.check(Algorithm::RS256).is_err());
    }

    #[test]
    fn garbage_pem_is_an_error() {
        assert!(pem_to_pkcs8("not pem").is_err());
        assert!(
            pem_to_pkcs8("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----").is_err()
        );
        assert!(pem_to_pkcs8(
            "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----"
        )
        .is_err());
    }
}
