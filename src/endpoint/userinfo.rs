//! The userinfo endpoint (OpenID Connect Core §5.3), a protected resource (RFC 6750).
//!
//! The access token comes in the `Authorization: Bearer` header (RFC 6750 §2.1) or the
//! `access_token` form or query parameter (§2.2, §2.3); both at once is `invalid_request`
//! (§3.1). A request with no token at all gets [`Error::missing_bearer_token`]: answer 401
//! with a bare `WWW-Authenticate: Bearer` challenge and no error code (§3.1). A token that
//! is not an active access token is `invalid_token` (401); one without the `openid` scope
//! is `insufficient_scope` (403).
//!
//! The claims are `sub` and the consent session's ID-token claims, which never override a
//! protected claim ([`PROTECTED_ID_TOKEN_CLAIMS`]). A client that registered
//! `userinfo_signed_response_alg` (RS256 or ES256) gets them as a signed JWT
//! (`application/jwt`) that also carries `iss`, `aud` (the client id) and `iat`
//! (§5.3.2); otherwise, or with `none`, as JSON.

use serde_json::{Map, Value};

use super::params::Params;
use crate::error::{Error, ErrorCode, Result};
use crate::keys::Algorithm;
use crate::model::TokenKind;
use crate::token::jwt::PROTECTED_ID_TOKEN_CLAIMS;
use crate::Provider;

/// A parsed userinfo request: the bearer access token.
#[derive(Clone, PartialEq, Eq)]
pub struct UserinfoRequest {
    /// The access token (never empty).
    pub access_token: String,
}

impl std::fmt::Debug for UserinfoRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UserinfoRequest(token hidden)")
    }
}

impl UserinfoRequest {
    /// Reads the access token from the `Authorization` header value and the form body or
    /// query parameters.
    ///
    /// A header with another scheme (e.g. `Basic`) is not a bearer credential and is
    /// disregarded; a malformed `Bearer` header is `invalid_request`.
    pub fn parse(authorization: Option<&str>, form_or_query: &Params) -> Result<Self> {
        let from_header = match authorization {
            Some(h) => parse_bearer(h)?,
            None => None,
        };
        let from_params = form_or_query.get("access_token")?;
        let token = match (from_header, from_params) {
            (Some(_), Some(_)) => {
                return Err(Error::invalid_request(
                    "The request uses more than one method for including an access token.",
                ))
            }
            (Some(t), None) | (None, Some(t)) => t,
            (None, None) => return Err(Error::missing_bearer_token()),
        };
        Ok(Self {
            access_token: token.to_owned(),
        })
    }
}

/// The token of a `Bearer` credential (RFC 6750 §2.1: `"Bearer" 1*SP b64token`), `None`
/// for another scheme.
fn parse_bearer(header: &str) -> Result<Option<&str>> {
    let header = header.trim();
    if header.is_empty() {
        return Ok(None);
    }
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Ok(None);
    }
    let token = rest.trim_start_matches(' ');
    let body = token.trim_end_matches('=');
    let is_b64token = !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
    if !is_b64token {
        return Err(Error::invalid_request(
            "The Authorization header is not a valid Bearer credential.",
        ));
    }
    Ok(Some(token))
}

/// The userinfo response: JSON claims, or a signed JWT for clients that registered
/// `userinfo_signed_response_alg`.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub enum Userinfo {
    /// The claims, served as `application/json`.
    Json(Map<String, Value>),
    /// The claims as a signed JWT, served as `application/jwt`.
    Jwt(String),
}

impl Userinfo {
    /// The `Content-Type` to serve this response with.
    pub fn content_type(&self) -> &'static str {
        match self {
            Self::Json(_) => "application/json",
            Self::Jwt(_) => "application/jwt",
        }
    }
}

impl Provider {
    /// The userinfo endpoint: the claims about the end-user the access token stands for.
    pub async fn userinfo(&self, request: UserinfoRequest) -> Result<Userinfo> {
        let invalid = || {
            Error::new(
                ErrorCode::InvalidToken,
                "The access token is invalid, expired or revoked.",
            )
        };
        let record = super::introspect::lookup(self, &request.access_token)
            .await?
            .filter(|r| r.kind == TokenKind::AccessToken && r.is_active(self.unix_now()))
            .ok_or_else(invalid)?;
        let client = self
            .store()
            .get_client(&record.client_id)
            .await?
            .ok_or_else(invalid)?;
        if !record.scope.contains("openid") {
            return Err(Error::new(
                ErrorCode::InsufficientScope,
                "The access token was not granted the 'openid' scope.",
            ));
        }
        let session = &record.session;
        let mut claims: Map<String, Value> = session
            .id_token_claims
            .iter()
            .filter(|(k, _)| !PROTECTED_ID_TOKEN_CLAIMS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        claims.insert("sub".to_owned(), session.subject.as_str().into());
        let alg = match client.userinfo_signed_response_alg.as_deref() {
            None | Some("none") => return Ok(Userinfo::Json(claims)),
            Some(name) => Algorithm::parse(name).ok_or_else(|| {
                Error::internal(format!(
                    "client {} registered an unsupported userinfo_signed_response_alg",
                    client.client_id
                ))
            })?,
        };
        claims.insert("iss".to_owned(), self.config().issuer.as_str().into());
        claims.insert("aud".to_owned(), client.client_id.as_str().into());
        claims.insert("iat".to_owned(), self.unix_now().into());
        let payload = serde_json::to_vec(&claims).map_err(Error::internal)?;
        Ok(Userinfo::Jwt(self.signer().sign(alg, "JWT", &payload)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(h: Option<&str>, body: &[u8]) -> Result<UserinfoRequest> {
        UserinfoRequest::parse(h, &Params::parse(body))
    }

    #[test]
    fn header_or_form() {
        assert_eq!(
            parse(Some("Bearer ptc_at_abc.def"), b"")
                .unwrap()
                .access_token,
            "ptc_at_abc.def"
        );
        assert_eq!(
            parse(Some("bearer  ey.x.y=="), b"").unwrap().access_token,
            "ey.x.y=="
        );
        assert_eq!(
            parse(None, b"access_token=tok").unwrap().access_token,
            "tok"
        );
        // Another scheme is not a bearer credential.
        assert_eq!(
            parse(Some("Basic YTpi"), b"access_token=tok")
                .unwrap()
                .access_token,
            "tok"
        );
    }

    #[test]
    fn errors() {
        let both = parse(Some("Bearer a"), b"access_token=b").unwrap_err();
        assert_eq!(both.code(), ErrorCode::InvalidRequest);
        for bad in ["Bearer", "Bearer ", "Bearer a b", "Bearer a=b", "Bearer é"] {
            let e = parse(Some(bad), b"").unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidRequest, "{bad}");
        }
        let e = parse(Some("Bearer a"), b"access_token=b&access_token=c").unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidRequest);
        for missing in [
            parse(None, b"").unwrap_err(),
            parse(Some("Basic YTpi"), b"").unwrap_err(),
            parse(Some("  "), b"access_token=").unwrap_err(),
        ] {
            assert!(missing.is_missing_bearer_token());
            assert_eq!(missing.status(), 401);
            assert_eq!(
                missing.www_authenticate().as_deref(),
                Some("Bearer realm=\"portcullis\"")
            );
        }
        assert!(!Error::new(ErrorCode::InvalidToken, "x").is_missing_bearer_token());
    }
}
