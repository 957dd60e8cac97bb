//! Trust relationships of the JWT-bearer grant, administered as Hydra v2's
//! `/admin/trust/grants/jwt-bearer/issuers`: trust an issuer, read, list, delete.
//!
//! A relationship is checked whole when it is created, so the grant can rely on it:
//! an issuer; exactly one of a `subject` or `allow_any_subject: true`; an `expires_at`
//! in the future; and a public key (no private or symmetric material) with a `kid`, of
//! an algorithm assertions may use ([`SIGNING_ALGS`](crate::token::assertion::SIGNING_ALGS)).
//! Relationships are never edited: replace one by creating the new and deleting the old.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::model::{Scope, TrustedIssuer, TrustedKey};
use crate::storage::{TrustPage, TrustQuery};
use crate::token::assertion;
use crate::Provider;

/// The longest issuer or subject accepted (bytes), here and from the login app
/// ([`Provider::accept_login`]): each becomes part of a store key (within every
/// backend's key limits, PostgreSQL's index rows included).
pub const MAX_IDENTIFIER_BYTES: usize = 1024;

/// The longest key id accepted (bytes).
pub const MAX_KID_BYTES: usize = 256;

/// A request to trust an issuer (Hydra's `TrustOAuth2JwtGrantIssuer`). Every field is
/// optional here so that a missing one is answered with a description naming it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrustRequest {
    /// The `iss` of the assertions to accept.
    pub issuer: Option<String>,
    /// The one `sub` to accept; excludes `allow_any_subject`.
    pub subject: Option<String>,
    /// Accept any `sub`; excludes `subject`.
    pub allow_any_subject: Option<bool>,
    /// The scopes tokens issued on this trust may carry.
    pub scope: Option<Vec<String>>,
    /// The issuer's public key (a JWK with a `kid`).
    pub jwk: Option<serde_json::Value>,
    /// When the trust ends (RFC 3339).
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

fn invalid(description: &'static str) -> Error {
    Error::invalid_request(description)
}

/// A required, bounded identifier.
fn identifier(value: Option<String>, missing: &'static str, long: &'static str) -> Result<String> {
    let value = value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| invalid(missing))?;
    if value.len() > MAX_IDENTIFIER_BYTES {
        return Err(invalid(long));
    }
    Ok(value)
}

/// The subject, or `""` for any subject: exactly one of the two must be asked for.
fn subject(subject: Option<String>, any: Option<bool>) -> Result<(String, bool)> {
    match (subject.filter(|s| !s.is_empty()), any.unwrap_or(false)) {
        (Some(_), true) => Err(invalid(
            "Set either subject or allow_any_subject, not both.",
        )),
        (None, false) => Err(invalid(
            "A subject, or allow_any_subject set to true, is required.",
        )),
        (None, true) => Ok((String::new(), true)),
        (Some(s), false) if s.len() > MAX_IDENTIFIER_BYTES => {
            Err(invalid("The subject is too long (at most 1024 bytes)."))
        }
        (Some(s), false) => Ok((s, false)),
    }
}

/// The public key's `kid`, once the key is known to be a usable public key.
fn check_jwk(jwk: &serde_json::Value) -> Result<String> {
    if !jwk.is_object() {
        return Err(invalid("The jwk must be a JSON Web Key object."));
    }
    if assertion::has_private_material(jwk) {
        return Err(invalid(
            "The jwk must be a public key: it has private or symmetric key material.",
        ));
    }
    let parsed = jsonwebtoken::jwk::Jwk::deserialize(jwk)
        .map_err(|_| invalid("The jwk is not a valid JSON Web Key."))?;
    if !assertion::verifies(&parsed, None) {
        return Err(invalid(
            "The jwk is not a signing key of a supported asymmetric algorithm \
             (RSA, EC P-256 or P-384, Ed25519).",
        ));
    }
    let kid = parsed
        .common
        .key_id
        .filter(|k| !k.is_empty())
        .ok_or_else(|| invalid("The jwk must have a kid."))?;
    if kid.len() > MAX_KID_BYTES {
        return Err(invalid("The jwk's kid is too long (at most 256 bytes)."));
    }
    Ok(kid)
}

impl TrustRequest {
    /// The relationship this request asks for, with `id` and created at `now`.
    fn into_trust(self, id: String, now: OffsetDateTime) -> Result<TrustedIssuer> {
        let issuer = identifier(
            self.issuer,
            "The issuer is required.",
            "The issuer is too long (at most 1024 bytes).",
        )?;
        let (subject, allow_any_subject) = subject(self.subject, self.allow_any_subject)?;
        let expires_at = self
            .expires_at
            .ok_or_else(|| invalid("The expires_at is required."))?;
        if expires_at <= now {
            return Err(invalid("The expires_at must be in the future."));
        }
        let scope = self.scope.unwrap_or_default();
        Scope::from_tokens(&scope)
            .map_err(|_| invalid("The scope must be an array of scope tokens (RFC 6749 §3.3)."))?;
        let jwk = self.jwk.ok_or_else(|| invalid("The jwk is required."))?;
        let kid = check_jwk(&jwk)?;
        Ok(TrustedIssuer {
            id,
            public_key: TrustedKey {
                set: issuer.clone(),
                kid,
            },
            issuer,
            subject,
            allow_any_subject,
            scope,
            jwk,
            expires_at,
            created_at: now,
        })
    }
}

impl Provider {
    /// Trusts an issuer for the JWT-bearer grant (Hydra's `trustOAuth2JwtGrantIssuer`).
    /// Fails with `invalid_request` naming the field at fault, or `conflict` if the
    /// issuer already has a relationship for this subject and key id.
    pub async fn trust_jwt_grant_issuer(&self, request: TrustRequest) -> Result<TrustedIssuer> {
        let trust = request.into_trust(self.new_uuid(), self.now())?;
        self.store().create_trust(trust.clone()).await?;
        Ok(trust)
    }

    /// The trust relationship with this id.
    pub async fn get_trusted_jwt_grant_issuer(
        &self,
        id: &str,
    ) -> Result<std::sync::Arc<TrustedIssuer>> {
        self.store()
            .get_trust(id)
            .await?
            .ok_or_else(|| Error::not_found("No trust relationship with this id."))
    }

    /// A page of trust relationships, filtered by issuer.
    pub async fn list_trusted_jwt_grant_issuers(&self, query: &TrustQuery) -> Result<TrustPage> {
        self.store().list_trusts(query).await
    }

    /// Deletes a trust relationship: its issuer's assertions are refused from now on.
    pub async fn delete_trusted_jwt_grant_issuer(&self, id: &str) -> Result<()> {
        if !self.store().delete_trust(id).await? {
            return Err(Error::not_found("No trust relationship with this id."));
        }
        Ok(())
    }
}
