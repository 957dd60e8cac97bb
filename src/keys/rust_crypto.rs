//! The pure-Rust backend: `rsa` and `p256` from RustCrypto.

use p256::ecdsa::signature::hazmat::PrehashSigner as _;
use p256::elliptic_curve::zeroize::Zeroizing;
use p256::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use rand_core::OsRng;
use rsa::traits::PublicKeyParts as _;
use sha2::Sha256;

use super::backend::{private::Sealed, reject_message, PublicKey};
use super::Algorithm;
use crate::error::{Error, Result};
use crate::random::{Entropy, EntropyRng};

/// The pure-Rust backend (`rsa`, `p256`), for [`LocalSigner`](super::LocalSigner).
///
/// RSA signatures are blinded with the operating system's generator; ECDSA signatures are
/// deterministic (RFC 6979). Key generation draws from the keyring's [`Entropy`].
#[derive(Debug, Clone, Copy, Default)]
pub struct RustCrypto;

/// A parsed RustCrypto key.
#[doc(hidden)]
pub enum RustCryptoKey {
    /// RS256.
    Rs256(Box<rsa::RsaPrivateKey>),
    /// ES256.
    Es256(p256::ecdsa::SigningKey),
}

impl Sealed for RustCrypto {
    type Key = RustCryptoKey;

    fn generate(alg: Algorithm, entropy: &dyn Entropy) -> Result<Zeroizing<Vec<u8>>> {
        let mut rng = EntropyRng(entropy);
        let doc = match alg {
            Algorithm::RS256 => rsa::RsaPrivateKey::new(&mut rng, 2048)
                .map_err(|e| Error::internal(format_args!("RSA key generation: {e}")))?
                .to_pkcs8_der(),
            Algorithm::ES256 => p256::SecretKey::random(&mut rng).to_pkcs8_der(),
        }
        .map_err(|e| Error::internal(format_args!("encoding a new key: {e}")))?;
        Ok(Zeroizing::new(doc.as_bytes().to_vec()))
    }

    fn load(alg: Algorithm, pkcs8_der: &[u8]) -> Result<Self::Key> {
        let rejected = |_| Error::invalid_request(reject_message(alg));
        Ok(match alg {
            Algorithm::RS256 => RustCryptoKey::Rs256(Box::new(
                rsa::RsaPrivateKey::from_pkcs8_der(pkcs8_der).map_err(rejected)?,
            )),
            Algorithm::ES256 => RustCryptoKey::Es256(
                p256::ecdsa::SigningKey::from_pkcs8_der(pkcs8_der).map_err(rejected)?,
            ),
        })
    }

    fn sign_digest(key: &Self::Key, digest: &[u8; 32]) -> Result<Vec<u8>> {
        fn failed(e: impl std::fmt::Display) -> Error {
            Error::internal(format_args!("signing failed: {e}"))
        }
        match key {
            RustCryptoKey::Rs256(key) => {
                // PKCS#1 v1.5 over the SHA-256 DigestInfo, blinded with the OS generator.
                key.sign_with_rng(&mut OsRng, rsa::Pkcs1v15Sign::new::<Sha256>(), digest)
                    .map_err(failed)
            }
            RustCryptoKey::Es256(key) => {
                let signature: p256::ecdsa::Signature = key.sign_prehash(digest).map_err(failed)?;
                Ok(signature.to_vec())
            }
        }
    }

    fn public_key(key: &Self::Key) -> PublicKey {
        match key {
            RustCryptoKey::Rs256(key) => PublicKey::Rsa {
                n: key.n().to_bytes_be(),
                e: key.e().to_bytes_be(),
            },
            RustCryptoKey::Es256(key) => {
                let point = key.verifying_key().to_encoded_point(false);
                let mut x = [0u8; 32];
                let mut y = [0u8; 32];
                // An uncompressed point on P-256 always has both coordinates, 32 bytes each.
                if let (Some(px), Some(py)) = (point.x(), point.y()) {
                    x.copy_from_slice(px);
                    y.copy_from_slice(py);
                }
                PublicKey::P256 { x, y }
            }
        }
    }
}
