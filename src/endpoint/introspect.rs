//! The introspection endpoint (RFC 7662), with Hydra's `scope` extension.
//!
//! Introspection is an operation for resource servers, served on Hydra's admin port
//! (`POST /admin/oauth2/introspect`): the operation itself does not authenticate a caller;
//! the HTTP layer protects the route.
//!
//! A token is active when it is an access or refresh token that is neither expired nor
//! revoked (directly or with its grant), the client it was issued to still exists, and,
//! when the request names a `scope`, it carries every scope listed. Anything else —
//! unknown, malformed, expired, revoked, spent, a deleted client's, an authorization
//! code — is answered exactly `{"active":false}` (RFC 7662 §2.2: no detail on why).
//!
//! For an opaque token this is one HMAC, one token lookup and one client lookup, and the
//! answer shares the stored record rather than copying it.

use std::borrow::Cow;
use std::sync::Arc;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

use super::params::Params;
use super::revoke::TokenTypeHint;
use crate::error::{Error, Result};
use crate::model::{Scope, TokenKind, TokenRecord};
use crate::token::jwt;
use crate::token::opaque::OpaqueTokens;
use crate::Provider;

/// A parsed introspection request.
#[derive(Clone, PartialEq, Eq)]
pub struct IntrospectRequest {
    /// The token to introspect (never empty).
    pub token: String,
    /// The caller's hint about the token's type, if it gave a known one. Ignored: tokens
    /// name their own type.
    pub token_type_hint: Option<TokenTypeHint>,
    /// Hydra's extension: scopes the token must all carry, or it is answered inactive.
    pub scope: Option<Scope>,
}

impl std::fmt::Debug for IntrospectRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntrospectRequest")
            .field("token", &"(hidden)")
            .field("token_type_hint", &self.token_type_hint)
            .field("scope", &self.scope)
            .finish()
    }
}

impl IntrospectRequest {
    /// Parses a form body.
    pub fn from_form(body: &[u8]) -> Result<Self> {
        Self::from_params(&Params::parse(body))
    }

    /// Parses decoded parameters: `token` (required), `token_type_hint` and `scope`
    /// (space-separated) optional.
    pub fn from_params(params: &Params) -> Result<Self> {
        let token = params.require("token")?.to_owned();
        let token_type_hint = TokenTypeHint::from_params(params)?;
        let scope = params
            .get("scope")?
            .map(|s| {
                Scope::parse(s).map_err(|_| {
                    Error::invalid_request(
                        "The scope contains a character RFC 6749 §3.3 does not allow.",
                    )
                })
            })
            .transpose()?
            .filter(|s| !s.is_empty());
        Ok(Self {
            token,
            token_type_hint,
            scope,
        })
    }
}

/// The answer of an introspection (RFC 7662 §2.2). Serialize it as the JSON body:
/// `{"active":false}` exactly when inactive; otherwise `active`, `scope`, `client_id`,
/// `sub`, `exp`, `iat`, `nbf`, `aud` (when non-empty), `iss`, `token_type` (`Bearer`, for
/// access tokens), `token_use` (`access_token` or `refresh_token`, as Hydra) and `ext`
/// (the consent session's access-token claims, when non-empty).
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub enum Introspection {
    /// Not an active token; nothing more is said.
    Inactive,
    /// An active token.
    Active(ActiveToken),
}

impl Introspection {
    /// Whether the token is active.
    pub fn is_active(&self) -> bool {
        matches!(self, Self::Active(_))
    }

    /// The active token's details, if active.
    pub fn active(&self) -> Option<&ActiveToken> {
        match self {
            Self::Active(t) => Some(t),
            Self::Inactive => None,
        }
    }
}

/// An active access or refresh token, as introspection describes it. It shares the stored
/// record.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveToken {
    record: Arc<TokenRecord>,
    issuer: Arc<str>,
}

impl ActiveToken {
    /// `access_token` or `refresh_token` (Hydra's `token_use`).
    pub fn token_use(&self) -> &'static str {
        self.record.kind.hint()
    }

    /// `Bearer` for access tokens; `None` for refresh tokens.
    pub fn token_type(&self) -> Option<&'static str> {
        (self.record.kind == TokenKind::AccessToken).then_some("Bearer")
    }

    /// The token's scope.
    pub fn scope(&self) -> &Scope {
        &self.record.scope
    }

    /// The client the token was issued to.
    pub fn client_id(&self) -> &str {
        &self.record.client_id
    }

    /// The subject (the end-user, or the client for `client_credentials`).
    pub fn subject(&self) -> &str {
        &self.record.session.subject
    }

    /// When the token expires (unix seconds).
    pub fn expires_at(&self) -> i64 {
        self.record.expires_at
    }

    /// When the token was issued (unix seconds); also its `nbf`.
    pub fn issued_at(&self) -> i64 {
        self.record.issued_at
    }

    /// The audiences the token is valid for.
    pub fn audience(&self) -> &[String] {
        &self.record.audience
    }

    /// The issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The extra claims the consent set for access tokens (`ext`).
    pub fn ext(&self) -> &Map<String, Value> {
        &self.record.session.access_token_claims
    }

    /// The stored record.
    pub fn record(&self) -> &TokenRecord {
        &self.record
    }
}

impl Serialize for Introspection {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let t = match self {
            Self::Inactive => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("active", &false)?;
                return m.end();
            }
            Self::Active(t) => t,
        };
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("active", &true)?;
        m.serialize_entry("scope", t.scope())?;
        m.serialize_entry("client_id", t.client_id())?;
        m.serialize_entry("sub", t.subject())?;
        m.serialize_entry("exp", &t.expires_at())?;
        m.serialize_entry("iat", &t.issued_at())?;
        m.serialize_entry("nbf", &t.issued_at())?;
        if !t.audience().is_empty() {
            m.serialize_entry("aud", t.audience())?;
        }
        m.serialize_entry("iss", t.issuer())?;
        if let Some(tt) = t.token_type() {
            m.serialize_entry("token_type", tt)?;
        }
        m.serialize_entry("token_use", t.token_use())?;
        if !t.ext().is_empty() {
            m.serialize_entry("ext", t.ext())?;
        }
        m.end()
    }
}

/// Finds the record of a presented token: an opaque token by its MAC-checked prefix and
/// signature, anything shaped like a JWT as an access token by its digest. `None` when
/// the token is malformed, forged or unknown. The record's kind always matches the kind
/// the token was presented as.
pub(crate) async fn lookup(provider: &Provider, token: &str) -> Result<Option<Arc<TokenRecord>>> {
    let (kind, signature) = match OpaqueTokens::kind_of(token) {
        Some(kind) => match provider.opaque().verify(kind, token) {
            Some(signature) => (kind, Cow::Borrowed(signature)),
            None => return Ok(None),
        },
        None if jwt::looks_like_jwt(token) => {
            (TokenKind::AccessToken, Cow::Owned(jwt::digest(token)))
        }
        None => return Ok(None),
    };
    let record = provider.store().get_token(&signature).await?;
    Ok(record.filter(|r| r.kind == kind))
}

impl Provider {
    /// Introspects a token (RFC 7662). Does not authenticate the caller: serve it where
    /// only resource servers reach (Hydra's admin port).
    pub async fn introspect(&self, request: IntrospectRequest) -> Result<Introspection> {
        if OpaqueTokens::kind_of(&request.token) == Some(TokenKind::AuthorizationCode) {
            return Ok(Introspection::Inactive);
        }
        let Some(record) = lookup(self, &request.token).await? else {
            return Ok(Introspection::Inactive);
        };
        if record.kind == TokenKind::AuthorizationCode || !record.is_active(self.unix_now()) {
            return Ok(Introspection::Inactive);
        }
        if let Some(wanted) = &request.scope {
            if !wanted.is_subset_of(&record.scope) {
                return Ok(Introspection::Inactive);
            }
        }
        if self.store().get_client(&record.client_id).await?.is_none() {
            return Ok(Introspection::Inactive);
        }
        Ok(Introspection::Active(ActiveToken {
            record,
            issuer: self.issuer().clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn parses_and_hides_the_token() {
        let r = IntrospectRequest::from_form(
            b"token=secret-token&scope=read%20write&token_type_hint=whatever",
        )
        .unwrap();
        assert_eq!(r.scope, Some(Scope::parse("read write").unwrap()));
        assert_eq!(r.token_type_hint, None);
        assert!(!format!("{r:?}").contains("secret-token"));
        let r = IntrospectRequest::from_form(b"token=t&scope=%20").unwrap();
        assert_eq!(r.scope, None);
    }

    #[test]
    fn errors_name_the_problem() {
        let code = |body: &[u8]| IntrospectRequest::from_form(body).unwrap_err().code();
        assert_eq!(code(b""), ErrorCode::InvalidRequest);
        assert_eq!(code(b"token=a&token=b"), ErrorCode::InvalidRequest);
        assert_eq!(code(b"token=a&scope=%22"), ErrorCode::InvalidRequest);
        assert_eq!(code(b"token=a&scope=a&scope=b"), ErrorCode::InvalidRequest);
    }

    #[test]
    fn inactive_is_exactly_active_false() {
        assert_eq!(
            serde_json::to_string(&Introspection::Inactive).unwrap(),
            r#"{"active":false}"#
        );
    }
}
