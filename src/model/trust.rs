//! Trust relationships of the JWT-bearer grant (RFC 7523 §2.1; Hydra's
//! `TrustedOAuth2JwtGrantIssuer`): an issuer whose signed assertions this server accepts
//! in exchange for access tokens, for one subject or any, within a set of scopes.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Where the trusted public key lives, in Hydra's shape: the key set is named after the
/// issuer, the key by its `kid`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TrustedKey {
    /// The key set: the issuer.
    pub set: String,
    /// The key id.
    pub kid: String,
}

/// One trust relationship: `issuer` may sign assertions for `subject` (or for any
/// subject) with the key `jwk`, asking for scopes within `scope`, until `expires_at`.
///
/// Stored as its JSON, with the public key; answered by the admin API without the key
/// material ([`to_public_json`](Self::to_public_json)), as Hydra does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrustedIssuer {
    /// The relationship's id (a UUID).
    pub id: String,
    /// The `iss` of the assertions.
    pub issuer: String,
    /// The one `sub` allowed; empty when any subject is.
    #[serde(default)]
    pub subject: String,
    /// Whether any `sub` is allowed.
    #[serde(default)]
    pub allow_any_subject: bool,
    /// The scopes a token issued on this trust may carry.
    #[serde(default)]
    pub scope: Vec<String>,
    /// Which key verifies the assertions.
    pub public_key: TrustedKey,
    /// That key: a public JWK.
    pub jwk: serde_json::Value,
    /// When the trust ends: assertions are refused from then on.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// When the trust was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl TrustedIssuer {
    /// The admin API's JSON: every field but the key material.
    pub fn to_public_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(map) = v.as_object_mut() {
            map.remove("jwk");
        }
        v
    }

    /// Whether the trust still holds at `now`.
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        now < self.expires_at
    }

    /// Whether a flush at `before` (unix seconds) removes it: it expired before then.
    pub fn expired_before(&self, before: i64) -> bool {
        self.expires_at.unix_timestamp() < before
    }

    /// Whether the trust covers assertions about `subject`.
    pub fn trusts_subject(&self, subject: &str) -> bool {
        self.allow_any_subject || self.subject == subject
    }

    /// Whether every token of `scope` is one the trust allows.
    pub fn allows_scope(&self, scope: &super::Scope) -> bool {
        scope.iter().all(|t| self.scope.iter().any(|s| s == t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trust() -> TrustedIssuer {
        TrustedIssuer {
            id: "t1".into(),
            issuer: "https://idp.example".into(),
            subject: "alice".into(),
            allow_any_subject: false,
            scope: vec!["read".into()],
            public_key: TrustedKey {
                set: "https://idp.example".into(),
                kid: "k1".into(),
            },
            jwk: serde_json::json!({"kty": "EC", "kid": "k1"}),
            expires_at: OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(100),
            created_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn public_json_has_no_key_material_and_hydra_fields() {
        let v = trust().to_public_json();
        assert!(v.get("jwk").is_none());
        assert_eq!(v["public_key"]["kid"], "k1");
        assert_eq!(v["public_key"]["set"], "https://idp.example");
        assert_eq!(v["expires_at"], "1970-01-01T00:01:40Z");
        assert_eq!(v["scope"], serde_json::json!(["read"]));
    }

    #[test]
    fn subject_scope_and_expiry() {
        let mut t = trust();
        assert!(t.trusts_subject("alice") && !t.trusts_subject("bob"));
        assert!(t.allows_scope(&crate::model::Scope::parse("read").unwrap()));
        assert!(!t.allows_scope(&crate::model::Scope::parse("read write").unwrap()));
        assert!(t.is_active(OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(99)));
        assert!(!t.is_active(t.expires_at));
        t.allow_any_subject = true;
        assert!(t.trusts_subject("bob"));
    }
}
