//! Token endpoints beyond issuance: revocation and userinfo (public), introspection,
//! deleting a client's tokens and flushing inactive ones (admin).

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use serde::Deserialize;
use time::OffsetDateTime;

use super::response;
use super::{body, Reply, Server};
use crate::endpoint::userinfo::Userinfo;
use crate::{IntrospectRequest, RevokeRequest, UserinfoRequest};

/// Hydra's `FlushInactiveOAuth2TokensRequest`.
#[derive(Deserialize)]
struct FlushRequest {
    /// Flush what expired before this instant (RFC 3339); now by default.
    #[serde(rename = "notAfter", default, with = "time::serde::rfc3339::option")]
    not_after: Option<OffsetDateTime>,
}

impl Server {
    /// `POST /oauth2/revoke` (RFC 7009): `200` with an empty body, for unknown tokens too.
    pub(super) async fn revoke(&self, req: &Request<Bytes>) -> Reply {
        let params = body::form(req, self.options.max_body_bytes)?;
        let auth = body::authorization(req.headers())?;
        let request = RevokeRequest::from_params(&params, auth)?;
        let _ = self.provider.revoke(request).await?;
        Ok(response::no_store(response::empty(StatusCode::OK)))
    }

    /// `GET|POST /userinfo` (OpenID Connect Core §5.3): JSON or `application/jwt`. A
    /// request without any token gets `401` with a bare `WWW-Authenticate: Bearer`.
    pub(super) async fn userinfo(&self, req: &Request<Bytes>) -> Reply {
        let params = if req.method() == Method::POST {
            body::form(req, self.options.max_body_bytes)?
        } else {
            body::query(req)?
        };
        let auth = body::authorization(req.headers())?;
        let request = UserinfoRequest::parse(auth, &params)?;
        let resp = match self.provider.userinfo(request).await? {
            Userinfo::Json(claims) => response::json(StatusCode::OK, &claims),
            Userinfo::Jwt(token) => response::with_body(StatusCode::OK, "application/jwt", token),
        };
        Ok(response::no_store(resp))
    }

    /// `POST /admin/oauth2/introspect` (RFC 7662; form: `token`, optional `scope`).
    pub(super) async fn introspect(&self, req: &Request<Bytes>) -> Reply {
        let params = body::form(req, self.options.max_body_bytes)?;
        let request = IntrospectRequest::from_params(&params)?;
        let answer = self.provider.introspect(request).await?;
        Ok(response::no_store(response::json(StatusCode::OK, &answer)))
    }

    /// `DELETE /admin/oauth2/tokens?client_id=`: revokes every token of the client; `204`.
    pub(super) async fn delete_tokens(&self, req: &Request<Bytes>) -> Reply {
        let params = body::query(req)?;
        let client_id = params.require("client_id")?;
        self.provider.delete_client_tokens(client_id).await?;
        Ok(response::empty(StatusCode::NO_CONTENT))
    }

    /// `POST /admin/oauth2/flush` with `{"notAfter": RFC 3339}` (optional; now by
    /// default): deletes expired tokens, flows and sessions; `204`.
    pub(super) async fn flush(&self, req: &Request<Bytes>) -> Reply {
        let flush: FlushRequest = body::json(req, self.options.max_body_bytes)?;
        let before = flush.not_after.unwrap_or_else(|| self.provider.now());
        self.provider.flush_inactive_tokens(before).await?;
        Ok(response::empty(StatusCode::NO_CONTENT))
    }
}
