//! The revocation endpoint (RFC 7009).
//!
//! The client authenticates exactly as at the token endpoint. What happens next depends on
//! what the token is:
//!
//! - an access token of this client: that token alone is revoked; the refresh token of
//!   its grant stays usable;
//! - a refresh token of this client: its whole grant is revoked, every access token issued
//!   from it included (RFC 7009 §2.1: the server SHOULD also invalidate the access tokens
//!   of the same grant);
//! - unknown, malformed, expired or already revoked: nothing happens, and the answer is
//!   still success (§2.2: "invalid tokens do not cause an error response");
//! - a live token issued to another client: nothing happens, and the request is refused
//!   with `unauthorized_client` (§2.1: the server "verifies whether the token was issued
//!   to the client making the revocation request. If this validation fails, the request
//!   is refused and the client is informed of the error"; the codes are those of RFC 6749
//!   §5.2, and `unauthorized_client` is the one Hydra answers);
//! - an authorization code: `unsupported_token_type` (§2.2.1), since RFC 7009 revokes
//!   access and refresh tokens only.
//!
//! `token_type_hint` is parsed and otherwise ignored: portcullis tokens name their own
//! type (an opaque token by its MAC-bound prefix, a JWT is an access token), so the search
//! always covers every type, as §2.1 requires when a hint misleads. An unknown hint value
//! is not an error (§2.1: the server MAY ignore the parameter).
//!
//! Revocation is durable when the operation returns (the store's revoke methods are).

use super::client_auth::ClientCredentials;
use super::params::Params;
use crate::error::{Error, ErrorCode, Result};
use crate::model::{TokenKind, TokenStatus};
use crate::Provider;

/// The `token_type_hint` of a revocation or introspection request (RFC 7009 §2.1,
/// RFC 7662 §2.1). Values other than these two are ignored, as the RFCs allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenTypeHint {
    /// `access_token`.
    AccessToken,
    /// `refresh_token`.
    RefreshToken,
}

impl TokenTypeHint {
    /// Reads the optional `token_type_hint` parameter: `None` when absent or a value this
    /// server does not know; `invalid_request` only when the parameter is repeated.
    pub fn from_params(params: &Params) -> Result<Option<Self>> {
        Ok(match params.get("token_type_hint")? {
            Some("access_token") => Some(Self::AccessToken),
            Some("refresh_token") => Some(Self::RefreshToken),
            _ => None,
        })
    }

    /// The registered name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AccessToken => "access_token",
            Self::RefreshToken => "refresh_token",
        }
    }
}

/// A parsed revocation request: the client's credentials and the token to revoke.
#[derive(Clone, PartialEq, Eq)]
pub struct RevokeRequest {
    /// The client's credentials.
    pub client: ClientCredentials,
    /// The token to revoke (never empty).
    pub token: String,
    /// The client's hint about the token's type, if it gave a known one.
    pub token_type_hint: Option<TokenTypeHint>,
}

impl std::fmt::Debug for RevokeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevokeRequest")
            .field("client", &self.client)
            .field("token", &"(hidden)")
            .field("token_type_hint", &self.token_type_hint)
            .finish()
    }
}

impl RevokeRequest {
    /// Parses a form body and the `Authorization` header value.
    pub fn from_form(body: &[u8], authorization: Option<&str>) -> Result<Self> {
        Self::from_params(&Params::parse(body), authorization)
    }

    /// Parses decoded parameters and the `Authorization` header value.
    pub fn from_params(params: &Params, authorization: Option<&str>) -> Result<Self> {
        let token = params.require("token")?.to_owned();
        let token_type_hint = TokenTypeHint::from_params(params)?;
        let client = ClientCredentials::parse(params, authorization)?;
        Ok(Self {
            client,
            token,
            token_type_hint,
        })
    }
}

/// What a revocation did. Every variant is answered the same way: `200 OK` with an empty
/// body (RFC 7009 §2.2); the variants are for the application's logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use]
pub enum Revocation {
    /// The access token was revoked; its grant's refresh token stays usable.
    AccessToken,
    /// The refresh token and its whole grant (every access token issued from it) were
    /// revoked.
    Grant,
    /// The token was unknown, malformed, expired or already revoked: nothing changed.
    Nothing,
}

impl Provider {
    /// The revocation endpoint (RFC 7009): authenticates the client and revokes the token
    /// if it was issued to that client. See the [module docs](crate::endpoint::revoke) for
    /// every case.
    pub async fn revoke(&self, request: RevokeRequest) -> Result<Revocation> {
        let client = self.authenticate_client(&request.client).await?;
        let Some(record) = super::introspect::lookup(self, &request.token).await? else {
            return Ok(Revocation::Nothing);
        };
        let now = self.unix_now();
        let live = now < record.expires_at
            && match record.kind {
                TokenKind::AccessToken => record.status == TokenStatus::Active,
                // A spent (rotated) refresh token still names a live grant: its client may
                // end that grant with it.
                TokenKind::RefreshToken => {
                    matches!(record.status, TokenStatus::Active | TokenStatus::Rotated)
                }
                TokenKind::AuthorizationCode => {
                    return Err(Error::new(
                        ErrorCode::UnsupportedTokenType,
                        "Authorization codes cannot be revoked; revoke the tokens issued from \
                         them.",
                    ))
                }
            };
        if !live {
            return Ok(Revocation::Nothing);
        }
        if *record.client_id != *client.client_id {
            tracing::warn!(
                client_id = %client.client_id,
                "a client tried to revoke a token issued to another client"
            );
            return Err(Error::new(
                ErrorCode::UnauthorizedClient,
                "The token was not issued to this client.",
            ));
        }
        match record.kind {
            TokenKind::RefreshToken => {
                self.store().revoke_grant(&record.grant_id).await?;
                Ok(Revocation::Grant)
            }
            _ => {
                self.store().revoke_token(&record.signature).await?;
                Ok(Revocation::AccessToken)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_token_hint_and_credentials() {
        let r = RevokeRequest::from_form(
            b"token=abc&token_type_hint=refresh_token&client_id=a&client_secret=b",
            None,
        )
        .unwrap();
        assert_eq!(r.token, "abc");
        assert_eq!(r.token_type_hint, Some(TokenTypeHint::RefreshToken));
        assert_eq!(r.client.client_id(), "a");
        assert!(!format!("{r:?}").contains("abc"));
    }

    #[test]
    fn unknown_hint_is_ignored_and_errors_name_the_problem() {
        let r = RevokeRequest::from_form(b"token=abc&token_type_hint=id_token&client_id=a", None)
            .unwrap();
        assert_eq!(r.token_type_hint, None);
        let code = |body: &[u8]| RevokeRequest::from_form(body, None).unwrap_err().code();
        assert_eq!(code(b"client_id=a"), ErrorCode::InvalidRequest);
        assert_eq!(code(b"token=&client_id=a"), ErrorCode::InvalidRequest);
        assert_eq!(
            code(b"token=a&token=b&client_id=a"),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            code(b"token=a&token_type_hint=access_token&token_type_hint=refresh_token&client_id=a"),
            ErrorCode::InvalidRequest
        );
        assert_eq!(code(b"token=a"), ErrorCode::InvalidClient);
    }
}
