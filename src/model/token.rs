//! Token records: what the store keeps for each issued code, access token and refresh
//! token. Records are keyed by the token's *signature* (the HMAC of an opaque token, the
//! `jti` of a JWT), never by the token itself, so a leaked store yields no usable token.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::scope::Scope;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// An authorization code.
    AuthorizationCode,
    /// An access token.
    AccessToken,
    /// A refresh token.
    RefreshToken,
}

impl TokenKind {
    /// The readable prefix of this kind's opaque tokens.
    pub const fn prefix(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "ptc_ac_",
            Self::AccessToken => "ptc_at_",
            Self::RefreshToken => "ptc_rt_",
        }
    }

    /// The RFC 7009 / RFC 7662 `token_type_hint` name.
    pub const fn hint(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::AccessToken => "access_token",
            Self::RefreshToken => "refresh_token",
        }
    }
}

/// The life state of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenStatus {
    /// Usable until it expires.
    Active,
    /// Revoked (directly or with its grant).
    Revoked,
    /// An authorization code already redeemed.
    Consumed,
    /// A refresh token already exchanged for a new one.
    Rotated,
}

/// The PKCE code challenge method (RFC 7636 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PkceMethod {
    /// `BASE64URL(SHA256(verifier)) == challenge`.
    S256,
    /// `verifier == challenge` (only when the provider enables it).
    #[serde(rename = "plain")]
    Plain,
}

/// A PKCE challenge recorded with a code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Pkce {
    /// The `code_challenge`.
    pub challenge: String,
    /// The `code_challenge_method`.
    pub method: PkceMethod,
}

/// What an authorization code is bound to, checked when it is redeemed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeBinding {
    /// The `redirect_uri` of the authorization request, if it carried one; the token
    /// request must then repeat it exactly (RFC 6749 §4.1.3).
    pub redirect_uri: Option<String>,
    /// The PKCE challenge, if the authorization request carried one.
    pub pkce: Option<Pkce>,
}

/// What one authorization established, shared by every token of its grant family:
/// who authenticated, how, and the extra claims the consent added.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Session {
    /// The subject (end-user id; the client id for `client_credentials`).
    pub subject: String,
    /// When the user authenticated (unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// Authentication context class reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// Authentication methods references.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// The login session id (`sid`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<Arc<str>>,
    /// The `nonce` of the authorization request, for the ID token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The consent that granted this authorization (revoking it revokes the grant).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consent_id: Option<Arc<str>>,
    /// Extra claims for access tokens (introspection `ext`, JWT claims).
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub access_token_claims: Map<String, Value>,
    /// Extra claims for ID tokens and userinfo.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub id_token_claims: Map<String, Value>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// One issued code or token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// The lookup key: the HMAC of an opaque token or the `jti` of a JWT.
    pub signature: String,
    /// What the token is.
    pub kind: TokenKind,
    /// Its life state.
    pub status: TokenStatus,
    /// When a refresh token was first rotated (unix seconds): the rotation grace period
    /// runs from here. `None` for anything never rotated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_at: Option<i64>,
    /// How many times a rotated refresh token was exchanged again within its grace
    /// period.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reuses: u32,
    /// The grant family it belongs to (one authorization; revoked as a whole). Shared by
    /// the records of one issue.
    pub grant_id: Arc<str>,
    /// The client it was issued to.
    pub client_id: Arc<str>,
    /// The scope it carries (may be narrower than the grant's on refresh).
    pub scope: Scope,
    /// The scope the grant started with; a refresh never exceeds it.
    pub granted_scope: Scope,
    /// The audiences it is valid for.
    pub audience: Vec<String>,
    /// When it was issued (unix seconds).
    pub issued_at: i64,
    /// When it expires (unix seconds).
    pub expires_at: i64,
    /// The grant's session.
    pub session: Arc<Session>,
    /// For codes: the redirect URI and PKCE challenge to check at redemption.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<CodeBinding>,
}

impl TokenRecord {
    /// Whether the token is usable at `now` (unix seconds): active and not expired.
    pub fn is_active(&self, now: i64) -> bool {
        self.status == TokenStatus::Active && now < self.expires_at
    }

    /// A copy of the record with `status`.
    pub fn with_status(&self, status: TokenStatus) -> TokenRecord {
        TokenRecord {
            status,
            ..self.clone()
        }
    }
}
