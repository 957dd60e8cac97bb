//! The handles of a login, consent or logout flow besides its id: the consent challenge
//! and the login, consent and logout verifiers, each `<flow id>.<secret>`.
//!
//! The [`Secret`] is 128 random bits, drawn when the handle is first handed out and kept
//! with the flow. A handle presented is looked up by its flow id and its secret compared
//! with the kept one in constant time: no MAC to compute, and a handle handed out again
//! (`login_request` on a handled challenge) is the same value.
//!
//! The store keeps the secrets in the clear, as it keeps the flow id (the login and
//! logout challenge) and the login session id (the browser's session cookie): bearer
//! handles that live for the minutes of a flow, which whoever reads the store could
//! outlive with the session ids anyway. An HMAC tag derived from the flow id instead
//! would keep them out of the store at the price of a MAC at every use (about a tenth of
//! an authorization flow's work in the engine).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use subtle::ConstantTimeEq;

use crate::random::Entropy;

/// Characters of a secret in base64url.
const SECRET_LEN: usize = 22;

/// The secret part of a flow's handle: 128 random bits, shown as 22 base64url characters
/// (stored that way too).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Secret([u8; 16]);

impl Secret {
    /// A new secret.
    pub(crate) fn random(entropy: &dyn Entropy) -> Self {
        let mut bytes = [0u8; 16];
        entropy.fill(&mut bytes);
        Secret(bytes)
    }

    /// Calls `f` with the handle `<flow_id>.<secret>`, built on the stack.
    pub(crate) fn with_handle<R>(&self, flow_id: &str, f: impl FnOnce(&str) -> R) -> R {
        let mut buf = [0u8; 128];
        let Some(handle) = buf.get_mut(..flow_id.len() + 1 + SECRET_LEN) else {
            // Flow ids are the server's own, far shorter; a longer one costs a String.
            return f(&format!("{flow_id}.{}", B64.encode(self.0)));
        };
        let (id, rest) = handle.split_at_mut(flow_id.len());
        id.copy_from_slice(flow_id.as_bytes());
        rest[0] = b'.';
        B64.encode_slice(self.0, &mut rest[1..])
            .expect("16 bytes encode in 22");
        f(std::str::from_utf8(handle).expect("an id, a dot and base64"))
    }

    /// The handle as a string.
    pub(crate) fn handle(&self, flow_id: &str) -> String {
        self.with_handle(flow_id, str::to_owned)
    }

    /// Whether `given` (the part of a handle after the dot) is this secret, in constant
    /// time; `kept` is the flow's, if it has one.
    pub(crate) fn matches(kept: Option<&Secret>, given: &str) -> bool {
        match (kept, Self::parse(given)) {
            (Some(kept), Some(given)) => bool::from(kept.0.ct_eq(&given.0)),
            _ => false,
        }
    }

    fn parse(text: &str) -> Option<Self> {
        let mut bytes = [0u8; 18];
        match B64.decode_slice(text, &mut bytes) {
            Ok(16) if text.len() == SECRET_LEN => Some(Secret(bytes[..16].try_into().ok()?)),
            _ => None,
        }
    }
}

impl From<[u8; 16]> for Secret {
    fn from(bytes: [u8; 16]) -> Self {
        Secret(bytes)
    }
}

/// Splits a handle into its flow id and the text of its secret.
pub(crate) fn split(handle: &str) -> Option<(&str, &str)> {
    handle.split_once('.')
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut text = [0u8; SECRET_LEN];
        B64.encode_slice(self.0, &mut text)
            .expect("16 bytes encode in 22");
        s.serialize_str(std::str::from_utf8(&text).expect("base64 is ASCII"))
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Self::parse(&text).ok_or_else(|| serde::de::Error::custom("not a flow handle's secret"))
    }
}

/// For a flow's `Option<Secret>` fields: a value that is not a secret (a handle of a
/// version that kept other values) reads as none, so the flow still loads.
pub(crate) fn lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    let text = Option::<std::borrow::Cow<'de, str>>::deserialize(d)?;
    Ok(text.and_then(|t| Secret::parse(&t)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsEntropy;

    #[test]
    fn handles_name_their_flow_and_match_their_secret_only() {
        let a = Secret::random(&OsEntropy);
        let b = Secret::random(&OsEntropy);
        let handle = a.handle("flow-1");
        assert_eq!(handle.len(), "flow-1.".len() + SECRET_LEN);
        let (id, secret) = split(&handle).unwrap();
        assert_eq!(id, "flow-1");
        assert!(Secret::matches(Some(&a), secret));
        assert!(!Secret::matches(Some(&b), secret));
        assert!(!Secret::matches(None, secret));
        for bad in [
            "",
            "AAAA",
            &secret[..21],
            &format!("{secret}A"),
            "!!!!!!!!!!!!!!!!!!!!!!",
        ] {
            assert!(!Secret::matches(Some(&a), bad), "{bad:?}");
        }
    }

    #[test]
    fn long_flow_ids_still_make_handles() {
        let id = "x".repeat(300);
        let handle = Secret::random(&OsEntropy).handle(&id);
        assert_eq!(split(&handle).unwrap().0, id);
    }

    #[test]
    fn stored_as_its_text_and_legacy_values_read_as_none() {
        let a = Secret::random(&OsEntropy);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json.len(), SECRET_LEN + 2);
        assert_eq!(serde_json::from_str::<Secret>(&json).unwrap(), a);
        assert!(serde_json::from_str::<Secret>("\"flow.tag\"").is_err());
        let mut d = serde_json::Deserializer::from_str("\"flow-1.an-older-tag\"");
        assert_eq!(lenient(&mut d).unwrap(), None);
        let mut d = serde_json::Deserializer::from_str(&json);
        assert_eq!(lenient(&mut d).unwrap(), Some(a));
    }
}
