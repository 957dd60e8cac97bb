//! The admin API for the JWT-bearer grant's trust relationships (Hydra v2's
//! `/admin/trust/grants/jwt-bearer/issuers`): create (201), list (paginated by
//! `page_size` or the SDK's `maxItems`, `Link`, optional `issuer` filter), get,
//! delete (204).

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use serde_json::Value;

use super::admin::{link_header, page_size, positive};
use super::response;
use super::{body, Reply, Server};
use crate::endpoint::trust::TrustRequest;
use crate::storage::TrustQuery;

impl Server {
    /// `GET|POST /admin/trust/grants/jwt-bearer/issuers`.
    pub(super) async fn trust_issuers(&self, req: &Request<Bytes>) -> Reply {
        if req.method() == Method::POST {
            let request: TrustRequest = body::json(req, self.options.max_body_bytes)?;
            let trust = self.provider.trust_jwt_grant_issuer(request).await?;
            return Ok(response::json(StatusCode::CREATED, &trust.to_public_json()));
        }
        let params = body::query(req)?;
        // Hydra v2's SDK calls the page size `maxItems` here (and sends a `defaultItems`
        // that has no meaning of its own: ignored).
        let page_size = match page_size(&params)? {
            0 => positive(&params, "maxItems")?,
            n => n,
        };
        let query = TrustQuery {
            page_size,
            page_token: params.get("page_token")?.map(str::to_owned),
            issuer: params.get("issuer")?.map(str::to_owned),
        };
        let page = self.provider.list_trusted_jwt_grant_issuers(&query).await?;
        let items: Vec<Value> = page.trusts.iter().map(|t| t.to_public_json()).collect();
        let mut resp = response::json(StatusCode::OK, &items);
        link_header(&mut resp, req, page.next_page_token.as_deref());
        Ok(resp)
    }

    /// `GET|DELETE /admin/trust/grants/jwt-bearer/issuers/{id}`.
    pub(super) async fn trust_issuer(&self, req: &Request<Bytes>, id: &str) -> Reply {
        let p = &self.provider;
        if req.method() == Method::GET {
            let trust = p.get_trusted_jwt_grant_issuer(id).await?;
            return Ok(response::json(StatusCode::OK, &trust.to_public_json()));
        }
        p.delete_trusted_jwt_grant_issuer(id).await?;
        Ok(response::empty(StatusCode::NO_CONTENT))
    }
}
