//! Private keys at rest: sealed with XChaCha20-Poly1305 under the system secret.
//!
//! The store never sees a private key in clear. A key's PKCS#8 DER is sealed as
//! `nonce (24 bytes) || ciphertext || tag (16 bytes)`, under a sealing key derived from
//! the system secret as `HMAC-SHA256(secret, "portcullis/key-sealing/v1")`. The key's
//! `kid` and `alg` are bound as associated data, so a sealed blob moved onto another key
//! record does not open.
//!
//! System secrets rotate: keys are sealed under the first (current) secret and
//! [`open_private_key`] tries each secret in turn, so a deployment can add a new secret in
//! front and keep the old one behind it until every key has been re-sealed.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use p256::elliptic_curve::zeroize::Zeroizing;
use sha2::Sha256;

use super::Algorithm;
use crate::error::{Error, Result};
use crate::random::Entropy;

/// The label the sealing key is derived under; bump the version to change the format.
const LABEL: &[u8] = b"portcullis/key-sealing/v1";
/// XChaCha20 nonce length.
const NONCE_LEN: usize = 24;
/// Poly1305 tag length.
const TAG_LEN: usize = 16;

/// Seals a PKCS#8 DER private key under `secret`, bound to `kid` and `alg`.
///
/// The output is `nonce || ciphertext || tag`, with a fresh random nonce from `entropy`.
pub fn seal_private_key(
    secret: &[u8],
    kid: &str,
    alg: Algorithm,
    pkcs8_der: &[u8],
    entropy: &dyn Entropy,
) -> Result<Vec<u8>> {
    if secret.is_empty() {
        return Err(Error::internal(
            "cannot seal a key under an empty system secret",
        ));
    }
    let cipher = cipher(secret);
    let mut nonce = [0u8; NONCE_LEN];
    entropy.fill(&mut nonce);
    let aad = associated_data(kid, alg);
    let ciphertext = cipher
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: pkcs8_der,
                aad: &aad,
            },
        )
        .map_err(|_| Error::internal("sealing a private key failed"))?;
    let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

/// Opens a key sealed by [`seal_private_key`], trying each of `secrets` in order (the
/// current secret first, then older ones).
///
/// Fails with an internal error if the blob is malformed, was tampered with, belongs to
/// another `kid`/`alg`, or no secret opens it.
pub fn open_private_key(
    secrets: &[Vec<u8>],
    kid: &str,
    alg: Algorithm,
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(Error::internal(format_args!(
            "sealed private key {kid} is truncated"
        )));
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    let mut nonce_bytes = [0u8; NONCE_LEN];
    nonce_bytes.copy_from_slice(nonce);
    let nonce = XNonce::from(nonce_bytes);
    let aad = associated_data(kid, alg);
    secrets
        .iter()
        .filter(|secret| !secret.is_empty())
        .find_map(|secret| {
            cipher(secret)
                .decrypt(
                    &nonce,
                    Payload {
                        msg: ciphertext,
                        aad: &aad,
                    },
                )
                .ok()
        })
        .map(Zeroizing::new)
        .ok_or_else(|| {
            Error::internal(format_args!(
                "no system secret opens the sealed private key {kid} (wrong secret or tampered record)"
            ))
        })
}

fn cipher(secret: &[u8]) -> XChaCha20Poly1305 {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(LABEL);
    let key = Zeroizing::new(mac.finalize().into_bytes());
    XChaCha20Poly1305::new(&key)
}

fn associated_data(kid: &str, alg: Algorithm) -> Vec<u8> {
    let mut aad = Vec::with_capacity(LABEL.len() + 8 + kid.len());
    aad.extend_from_slice(LABEL);
    aad.push(0);
    aad.extend_from_slice(alg.as_str().as_bytes());
    aad.push(0);
    aad.extend_from_slice(kid.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsEntropy;

    const DER: &[u8] = b"0\x81\x87 pretend this is a PKCS#8 document";

    fn secrets(list: &[&[u8]]) -> Vec<Vec<u8>> {
        list.iter().map(|s| s.to_vec()).collect()
    }

    #[test]
    fn round_trip() {
        let sealed = seal_private_key(b"current", "k1", Algorithm::ES256, DER, &OsEntropy).unwrap();
        assert_eq!(sealed.len(), NONCE_LEN + DER.len() + TAG_LEN);
        let opened =
            open_private_key(&secrets(&[b"current"]), "k1", Algorithm::ES256, &sealed).unwrap();
        assert_eq!(opened.as_slice(), DER);
    }

    #[test]
    fn ciphertext_hides_the_key_and_nonces_differ() {
        let a = seal_private_key(b"s", "k1", Algorithm::RS256, DER, &OsEntropy).unwrap();
        let b = seal_private_key(b"s", "k1", Algorithm::RS256, DER, &OsEntropy).unwrap();
        assert_ne!(a, b, "a fresh nonce per seal");
        assert!(!a.windows(DER.len()).any(|w| w == DER));
    }

    #[test]
    fn any_tampered_byte_fails() {
        let sealed = seal_private_key(b"s", "k1", Algorithm::ES256, DER, &OsEntropy).unwrap();
        let secrets = secrets(&[b"s"]);
        for i in [0, NONCE_LEN - 1, NONCE_LEN, NONCE_LEN + 5, sealed.len() - 1] {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            let err = open_private_key(&secrets, "k1", Algorithm::ES256, &bad).unwrap_err();
            assert_eq!(err.code(), crate::ErrorCode::ServerError, "byte {i}");
        }
    }

    #[test]
    fn bound_to_kid_and_alg() {
        let sealed = seal_private_key(b"s", "k1", Algorithm::ES256, DER, &OsEntropy).unwrap();
        let secrets = secrets(&[b"s"]);
        assert!(open_private_key(&secrets, "k2", Algorithm::ES256, &sealed).is_err());
        assert!(open_private_key(&secrets, "k1", Algorithm::RS256, &sealed).is_err());
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        let secrets = secrets(&[b"s"]);
        for len in [0, 1, NONCE_LEN, NONCE_LEN + TAG_LEN - 1] {
            let short = vec![0u8; len];
            assert!(open_private_key(&secrets, "k1", Algorithm::ES256, &short).is_err());
        }
    }

    #[test]
    fn secrets_rotate() {
        let sealed = seal_private_key(b"old", "k1", Algorithm::ES256, DER, &OsEntropy).unwrap();
        assert!(open_private_key(&secrets(&[b"new"]), "k1", Algorithm::ES256, &sealed).is_err());
        assert!(open_private_key(&[], "k1", Algorithm::ES256, &sealed).is_err());
        let opened =
            open_private_key(&secrets(&[b"new", b"old"]), "k1", Algorithm::ES256, &sealed).unwrap();
        assert_eq!(opened.as_slice(), DER);
    }

    #[test]
    fn empty_secret_refused() {
        assert!(seal_private_key(b"", "k1", Algorithm::ES256, DER, &OsEntropy).is_err());
    }
}
