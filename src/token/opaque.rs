//! Opaque tokens: `<prefix><random>.<mac>`.
//!
//! `random` is 32 bytes from the provider's entropy; `mac` is HMAC-SHA256 over the
//! token's prefix and random part, under a key derived from a system secret. Only the
//! MAC is stored (as the record's signature), so a leaked store yields no usable token.
//! A token is checked against every configured secret, newest first, so secrets rotate
//! without invalidating tokens in flight. The prefix names the kind (`ptc_at_`,
//! `ptc_rt_`, `ptc_ac_`) and is covered by the MAC: a refresh token cannot pose as an
//! access token.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::model::TokenKind;
use crate::random::Entropy;

type HmacSha256 = Hmac<Sha256>;

const RANDOM_LEN: usize = 32;
/// base64url length of 32 bytes.
const B64_LEN: usize = 43;

/// Mints and checks opaque tokens. The HMAC keys are derived and keyed once.
#[derive(Clone)]
pub struct OpaqueTokens {
    macs: Vec<HmacSha256>,
}

impl std::fmt::Debug for OpaqueTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OpaqueTokens({} secrets)", self.macs.len())
    }
}

/// A freshly minted token: the string for the client and the signature to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Minted {
    /// The token handed to the client.
    pub token: String,
    /// The lookup key stored with the record.
    pub signature: String,
}

impl OpaqueTokens {
    /// Keys from the system secrets, the first being the current one.
    pub fn new(secrets: &[Vec<u8>]) -> Self {
        let macs = secrets
            .iter()
            .map(|secret| {
                let mut derive = HmacSha256::new_from_slice(secret).expect("HMAC takes any key");
                derive.update(b"portcullis/opaque-token/v1");
                let key = derive.finalize().into_bytes();
                HmacSha256::new_from_slice(&key).expect("HMAC takes any key")
            })
            .collect();
        Self { macs }
    }

    fn mac(mac: &HmacSha256, prefix: &str, random: &str) -> [u8; 32] {
        let mut m = mac.clone();
        m.update(prefix.as_bytes());
        m.update(random.as_bytes());
        m.finalize().into_bytes().into()
    }

    /// A new token of `kind`.
    pub fn mint(&self, kind: TokenKind, entropy: &dyn Entropy) -> Minted {
        let mut random = [0u8; RANDOM_LEN];
        entropy.fill(&mut random);
        let prefix = kind.prefix();
        let mut token = String::with_capacity(prefix.len() + 2 * B64_LEN + 1);
        token.push_str(prefix);
        B64.encode_string(random, &mut token);
        let random_part = &token[prefix.len()..];
        let mac = Self::mac(&self.macs[0], prefix, random_part);
        let signature = B64.encode(mac);
        token.push('.');
        token.push_str(&signature);
        Minted { token, signature }
    }

    /// The signature of `token` if it is a well-formed token of `kind` minted under one of
    /// the secrets; `None` otherwise.
    pub fn verify<'t>(&self, kind: TokenKind, token: &'t str) -> Option<&'t str> {
        let prefix = kind.prefix();
        let rest = token.strip_prefix(prefix)?;
        let (random_part, signature) = rest.split_once('.')?;
        if random_part.len() != B64_LEN || signature.len() != B64_LEN {
            return None;
        }
        let mut given = [0u8; 32];
        if B64.decode_slice(signature, &mut given).ok()? != 32 {
            return None;
        }
        self.macs
            .iter()
            .any(|mac| bool::from(Self::mac(mac, prefix, random_part).ct_eq(&given)))
            .then_some(signature)
    }

    /// The kind a token's prefix claims, if any (not yet verified).
    pub fn kind_of(token: &str) -> Option<TokenKind> {
        [
            TokenKind::AccessToken,
            TokenKind::RefreshToken,
            TokenKind::AuthorizationCode,
        ]
        .into_iter()
        .find(|k| token.starts_with(k.prefix()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsEntropy;

    #[test]
    fn mint_and_verify() {
        let t = OpaqueTokens::new(&[vec![1; 32]]);
        let m = t.mint(TokenKind::AccessToken, &OsEntropy);
        assert!(m.token.starts_with("ptc_at_"));
        assert_eq!(
            t.verify(TokenKind::AccessToken, &m.token),
            Some(m.signature.as_str())
        );
        assert!(!m.token[..m.token.len() - 43].contains(&m.signature));
        assert_eq!(
            OpaqueTokens::kind_of(&m.token),
            Some(TokenKind::AccessToken)
        );
    }

    #[test]
    fn kind_is_bound() {
        let t = OpaqueTokens::new(&[vec![1; 32]]);
        let m = t.mint(TokenKind::RefreshToken, &OsEntropy);
        let forged = m.token.replacen("ptc_rt_", "ptc_at_", 1);
        assert_eq!(t.verify(TokenKind::AccessToken, &forged), None);
    }

    #[test]
    fn old_secrets_still_verify_new_ones_sign() {
        let old = OpaqueTokens::new(&[vec![1; 32]]);
        let m = old.mint(TokenKind::AccessToken, &OsEntropy);
        let rotated = OpaqueTokens::new(&[vec![2; 32], vec![1; 32]]);
        assert_eq!(
            rotated.verify(TokenKind::AccessToken, &m.token),
            Some(m.signature.as_str())
        );
        let other = OpaqueTokens::new(&[vec![2; 32]]);
        assert_eq!(other.verify(TokenKind::AccessToken, &m.token), None);
    }

    #[test]
    fn tampering_and_garbage_fail() {
        let t = OpaqueTokens::new(&[vec![1; 32]]);
        let m = t.mint(TokenKind::AccessToken, &OsEntropy);
        let mut bytes = m.token.clone().into_bytes();
        bytes[10] = if bytes[10] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert_eq!(t.verify(TokenKind::AccessToken, &tampered), None);
        for junk in ["", "ptc_at_", "ptc_at_.", "ptc_at_a.b", "ptc_at_é.é"] {
            assert_eq!(t.verify(TokenKind::AccessToken, junk), None);
        }
    }
}
