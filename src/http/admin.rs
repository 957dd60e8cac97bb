//! The admin API for clients (Hydra v2's `/admin/clients`): create, list, get, set,
//! JSON Patch (RFC 6902), delete, and per-client lifespans.

use bytes::Bytes;
use http::header::LINK;
use http::{Method, Request, Response, StatusCode};
use serde_json::Value;

use super::response::{self, append};
use super::{body, Reply, Server};
use crate::endpoint::clients::{ClientRequest, CreatedClient};
use crate::endpoint::url_query::append_query;
use crate::error::Error;
use crate::model::ClientLifespans;
use crate::storage::{ClientPage, ClientQuery};
use crate::Params;

/// A client as the admin API shows it, with the clear secret when there is one to show
/// (once: on create, or when a new secret was set).
fn client_json(c: &CreatedClient) -> Value {
    let mut v = c.client.to_public_json();
    if let (Some(map), Some(secret)) = (v.as_object_mut(), &c.client_secret) {
        map.insert("client_secret".into(), secret.as_str().into());
    }
    v
}

/// A client answer: it may carry a secret, so it is never stored.
fn client_reply(status: StatusCode, c: &CreatedClient) -> Response<Bytes> {
    response::no_store(response::json(status, &client_json(c)))
}

/// A `page_size` parameter: a positive integer, or absent (0).
pub(super) fn page_size(params: &Params) -> Result<usize, Error> {
    positive(params, "page_size")
}

/// Hydra v1's `offset`: a non-negative integer, 0 when absent.
fn offset(params: &Params) -> Result<usize, Error> {
    match params.get("offset")? {
        None => Ok(0),
        Some(s) => s
            .parse::<usize>()
            .map_err(|_| Error::invalid_request("The offset must be a non-negative integer.")),
    }
}

/// A parameter that must be a positive integer when present; 0 when absent.
pub(super) fn positive(params: &Params, name: &str) -> Result<usize, Error> {
    match params.get(name)? {
        None => Ok(0),
        Some(s) => s.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
            Error::invalid_request(format!("The {name} must be a positive integer."))
        }),
    }
}

/// Adds Hydra's pagination `Link` header: `rel="first"`, and `rel="next"` with the next
/// page token when there is one. The URLs are the request's path and query with
/// `page_token` replaced (and Hydra v1's `offset` dropped: the token continues after it).
pub(super) fn link_header(resp: &mut Response<Bytes>, req: &Request<Bytes>, next: Option<&str>) {
    let params = body::query(req).unwrap_or_default();
    let url = |token: Option<&str>| {
        let mut url = req.uri().path().to_owned();
        let kept = params
            .pairs()
            .filter(|(k, _)| !matches!(*k, "page_token" | "offset"));
        append_query(&mut url, kept.chain(token.map(|t| ("page_token", t))));
        url
    };
    let mut links = vec![format!("<{}>; rel=\"first\"", url(None))];
    if let Some(t) = next {
        links.push(format!("<{}>; rel=\"next\"", url(Some(t))));
    }
    append(resp, LINK, &links.join(","));
}

/// The fields of `client` as a request that would recreate it (for PATCH and lifespans).
fn as_request(doc: Value) -> Result<ClientRequest, Error> {
    serde_json::from_value(doc).map_err(|e| {
        Error::invalid_request(format!(
            "The patched client is not valid: {}",
            body::safe_message(&e.to_string())
        ))
    })
}

impl Server {
    /// `GET|POST /admin/clients`.
    pub(super) async fn clients(&self, req: &Request<Bytes>) -> Reply {
        if req.method() == Method::POST {
            let request: ClientRequest = body::json(req, self.options.max_body_bytes)?;
            let created = self.provider.create_client(request).await?;
            return Ok(client_reply(StatusCode::CREATED, &created));
        }
        let params = body::query(req)?;
        // Hydra v1 pages with `limit` and `offset`; v2 with `page_size` and `page_token`.
        let page_size = match (page_size(&params)?, positive(&params, "limit")?) {
            (n, 0) | (0, n) => n,
            _ => {
                return Err(Error::invalid_request(
                    "Give one of the 'page_size' and 'limit' parameters, not both.",
                )
                .into())
            }
        };
        let query = ClientQuery {
            page_size,
            page_token: params.get("page_token")?.map(str::to_owned),
            client_name: params.get("client_name")?.map(str::to_owned),
            owner: params.get("owner")?.map(str::to_owned),
        };
        let page = match offset(&params)? {
            0 => self.provider.list_clients(&query).await?,
            n => self.skip_clients(query, n).await?,
        };
        let items: Vec<Value> = page.clients.iter().map(|c| c.to_public_json()).collect();
        let mut resp = response::json(StatusCode::OK, &items);
        link_header(&mut resp, req, page.next_page_token.as_deref());
        Ok(resp)
    }

    /// The page of `query` after skipping `offset` clients, paging through the ones
    /// skipped (as many a page as the store gives).
    async fn skip_clients(&self, query: ClientQuery, offset: usize) -> Result<ClientPage, Error> {
        let mut left = offset;
        let mut token = query.page_token.clone();
        while left > 0 {
            let skipped = ClientQuery {
                page_size: left,
                page_token: token,
                ..query.clone()
            };
            let page = self.provider.list_clients(&skipped).await?;
            left = left.saturating_sub(page.clients.len());
            token = page.next_page_token;
            if token.is_none() {
                return Ok(ClientPage {
                    clients: Vec::new(),
                    next_page_token: None,
                });
            }
        }
        self.provider
            .list_clients(&ClientQuery {
                page_token: token,
                ..query
            })
            .await
    }

    /// `GET|PUT|PATCH|DELETE /admin/clients/{id}`.
    pub(super) async fn client(&self, req: &Request<Bytes>, id: &str) -> Reply {
        let p = &self.provider;
        match *req.method() {
            Method::GET => {
                let client = p.get_client(id).await?;
                Ok(response::json(StatusCode::OK, &client.to_public_json()))
            }
            Method::PUT => {
                let request: ClientRequest = body::json(req, self.options.max_body_bytes)?;
                let set = p.set_client(id, request).await?;
                Ok(client_reply(StatusCode::OK, &set))
            }
            Method::PATCH => {
                let patch: json_patch::Patch = body::json_array(req, self.options.max_body_bytes)?;
                let mut doc = p.get_client(id).await?.to_public_json();
                json_patch::patch(&mut doc, &patch).map_err(|e| {
                    Error::invalid_request(format!(
                        "The JSON Patch cannot be applied: {}",
                        body::safe_message(&e.to_string())
                    ))
                })?;
                let set = p.set_client(id, as_request(doc)?).await?;
                Ok(client_reply(StatusCode::OK, &set))
            }
            _ => {
                p.delete_client(id).await?;
                Ok(response::empty(StatusCode::NO_CONTENT))
            }
        }
    }

    /// `PUT /admin/clients/{id}/lifespans`: replaces the client's lifespans, nothing
    /// else.
    pub(super) async fn client_lifespans(&self, req: &Request<Bytes>, id: &str) -> Reply {
        let lifespans: ClientLifespans = body::json(req, self.options.max_body_bytes)?;
        let p = &self.provider;
        let mut request = as_request(p.get_client(id).await?.to_public_json())?;
        request.lifespans = lifespans;
        let set = p.set_client(id, request).await?;
        Ok(client_reply(StatusCode::OK, &set))
    }
}
