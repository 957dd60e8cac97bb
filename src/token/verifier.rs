//! The handles of a login, consent or logout flow besides its id: the consent challenge
//! and the login, consent and logout verifiers, each `<flow id>.<secret>`.
//!
//! The secret is 128 random bits, minted when the handle is first handed out and kept
//! with the flow. A handle presented is looked up by its flow id and compared with the
//! kept one in constant time: no MAC to compute, and a handle the browser replays
//! (`login_request` on a handled challenge) is the same value.
//!
//! The store keeps them in the clear, as it keeps the flow id (the login and logout
//! challenge) and the login session id (the browser's session cookie): bearer handles
//! that live for the minutes of a flow, which whoever reads the store could outlive
//! with the session ids anyway. An HMAC tag derived from the flow id instead would keep
//! them out of the store at the price of a MAC at every use (about a tenth of an
//! authorization flow's work in the engine).

use std::sync::Arc;

use subtle::ConstantTimeEq;

use crate::random::{encode_random, Entropy};

/// Bytes of randomness in a secret.
const SECRET_BYTES: usize = 16;

/// A new handle for the flow `flow_id`.
pub(crate) fn mint(flow_id: &str, entropy: &dyn Entropy) -> Arc<str> {
    let mut secret = [0u8; 24];
    let len = encode_random::<SECRET_BYTES>(entropy, &mut secret);
    let secret = std::str::from_utf8(&secret[..len]).expect("base64 is ASCII");
    let mut buf = [0u8; 128];
    match buf.get_mut(..flow_id.len() + 1 + len) {
        Some(handle) => {
            let (id, rest) = handle.split_at_mut(flow_id.len());
            id.copy_from_slice(flow_id.as_bytes());
            rest[0] = b'.';
            rest[1..].copy_from_slice(secret.as_bytes());
            Arc::from(std::str::from_utf8(handle).expect("an id, a dot and base64"))
        }
        // Flow ids are the server's own, far shorter; a longer one costs a String.
        None => format!("{flow_id}.{secret}").into(),
    }
}

/// The flow id a presented handle names, if it has the shape of one.
pub(crate) fn flow_id(handle: &str) -> Option<&str> {
    handle.split_once('.').map(|(id, _)| id)
}

/// Whether `given` is the handle the flow kept, in constant time.
pub(crate) fn matches(kept: Option<&str>, given: &str) -> bool {
    kept.is_some_and(|kept| bool::from(kept.as_bytes().ct_eq(given.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsEntropy;

    #[test]
    fn minted_handles_name_their_flow_and_differ() {
        let a = mint("flow-1", &OsEntropy);
        let b = mint("flow-1", &OsEntropy);
        assert_eq!(flow_id(&a), Some("flow-1"));
        assert_eq!(a.len(), "flow-1.".len() + 22);
        assert_ne!(a, b);
        assert!(matches(Some(&a), &a));
        assert!(!matches(Some(&a), &b));
        assert!(!matches(None, &a));
        assert!(!matches(Some(&a), &a[..a.len() - 1]));
    }

    #[test]
    fn long_flow_ids_still_mint() {
        let id = "x".repeat(300);
        let h = mint(&id, &OsEntropy);
        assert_eq!(flow_id(&h), Some(id.as_str()));
        assert_eq!(h.len(), 300 + 1 + 22);
    }

    #[test]
    fn shapes_without_a_dot_name_no_flow() {
        assert_eq!(flow_id("no-dot"), None);
        assert_eq!(flow_id(""), None);
        assert_eq!(flow_id(".x"), Some(""));
    }
}
