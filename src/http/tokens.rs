//! Token endpoints beyond issuance: revocation, userinfo, introspection, deleting a
//! client's tokens, and flushing inactive ones.

use bytes::Bytes;
use http::Request;

use super::{Reply, Server};
use crate::error::{Error, ErrorCode};

fn pending() -> super::Fail {
    Error::new(ErrorCode::TemporarilyUnavailable, "Not wired yet.").into()
}

impl Server {
    /// `POST /oauth2/revoke`.
    pub(super) async fn revoke(&self, _req: &Request<Bytes>) -> Reply {
        Err(pending())
    }
    /// `GET|POST /userinfo`.
    pub(super) async fn userinfo(&self, _req: &Request<Bytes>) -> Reply {
        Err(pending())
    }
    /// `POST /admin/oauth2/introspect`.
    pub(super) async fn introspect(&self, _req: &Request<Bytes>) -> Reply {
        Err(pending())
    }
    /// `DELETE /admin/oauth2/tokens?client_id=`.
    pub(super) async fn delete_tokens(&self, _req: &Request<Bytes>) -> Reply {
        Err(pending())
    }
    /// `POST /admin/oauth2/flush`.
    pub(super) async fn flush(&self, _req: &Request<Bytes>) -> Reply {
        Err(pending())
    }
}
