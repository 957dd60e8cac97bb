//! The aws-lc-rs backend: the fast one.

use aws_lc_rs::digest::{Digest, SHA256};
use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    EcdsaKeyPair, KeyPair as _, RsaKeyPair, RsaPublicKeyComponents,
    ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
};
use p256::elliptic_curve::zeroize::Zeroizing;

use super::backend::{private::Sealed, reject_message, PublicKey};
use super::Algorithm;
use crate::error::{Error, Result};
use crate::random::Entropy;

/// The aws-lc-rs backend, for [`AwsLcSigner`](super::AwsLcSigner).
///
/// Keys are generated and signatures made by AWS-LC with its own generator (RSA
/// signatures are blinded); the keyring's [`Entropy`] is not used for key generation.
/// Signatures are made over the SHA-256 digest the keyring computes (`sign_digest`),
/// which AWS-LC's FIPS mode does not allow; this backend does not enable it.
#[derive(Debug, Clone, Copy, Default)]
pub struct AwsLc;

/// A parsed aws-lc-rs key.
#[doc(hidden)]
pub enum AwsLcKey {
    /// RS256.
    Rs256(RsaKeyPair),
    /// ES256, with fixed-length (`r || s`) signatures.
    Es256(EcdsaKeyPair),
}

impl Sealed for AwsLc {
    type Key = AwsLcKey;

    fn generate(alg: Algorithm, _entropy: &dyn Entropy) -> Result<Zeroizing<Vec<u8>>> {
        let failed = |_| {
            Error::internal(format_args!(
                "aws-lc {} key generation failed",
                alg.as_str()
            ))
        };
        let der = match alg {
            Algorithm::RS256 => RsaKeyPair::generate(KeySize::Rsa2048)
                .map_err(failed)?
                .as_der()
                .map_err(failed)?
                .as_ref()
                .to_vec(),
            Algorithm::ES256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .map_err(failed)?
                .to_pkcs8v1()
                .map_err(failed)?
                .as_ref()
                .to_vec(),
        };
        Ok(Zeroizing::new(der))
    }

    fn load(alg: Algorithm, pkcs8_der: &[u8]) -> Result<Self::Key> {
        let rejected = |_| Error::invalid_request(reject_message(alg));
        Ok(match alg {
            Algorithm::RS256 => {
                AwsLcKey::Rs256(RsaKeyPair::from_pkcs8(pkcs8_der).map_err(rejected)?)
            }
            Algorithm::ES256 => AwsLcKey::Es256(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8_der)
                    .map_err(rejected)?,
            ),
        })
    }

    fn sign_digest(key: &Self::Key, digest: &[u8; 32]) -> Result<Vec<u8>> {
        let failed = |_| Error::internal("aws-lc signing failed");
        // AWS-LC draws the signature's randomness (ECDSA nonce, RSA blinding) itself.
        let digest = Digest::import_less_safe(digest, &SHA256).map_err(failed)?;
        match key {
            AwsLcKey::Rs256(key) => {
                let mut signature = vec![0u8; key.public_modulus_len()];
                key.sign_digest(&RSA_PKCS1_SHA256, &digest, &mut signature)
                    .map_err(failed)?;
                Ok(signature)
            }
            AwsLcKey::Es256(key) => Ok(key.sign_digest(&digest).map_err(failed)?.as_ref().to_vec()),
        }
    }

    fn public_key(key: &Self::Key) -> PublicKey {
        match key {
            AwsLcKey::Rs256(key) => {
                let RsaPublicKeyComponents { n, e } =
                    RsaPublicKeyComponents::from(key.public_key());
                PublicKey::Rsa { n, e }
            }
            AwsLcKey::Es256(key) => {
                // The uncompressed SEC 1 point: 0x04 || x || y.
                let point = key.public_key().as_ref();
                let mut x = [0u8; 32];
                let mut y = [0u8; 32];
                if point.len() == 65 {
                    x.copy_from_slice(&point[1..33]);
                    y.copy_from_slice(&point[33..65]);
                }
                PublicKey::P256 { x, y }
            }
        }
    }
}
