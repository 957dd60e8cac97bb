//! Cross-origin requests to the public API (the Fetch standard's CORS protocol), as
//! Hydra answers them: a browser app on another origin may read a response when its
//! origin is on the server's list or on the `allowed_cors_origins` of the client the
//! request names.
//!
//! - **Preflights** (`OPTIONS` with `Access-Control-Request-Method`) carry no
//!   credentials, so they are answered for any origin: `204`, allowing the method if the
//!   route and the options allow it and the headers if all are allowed.
//! - **Requests** run as they would without CORS; the response carries
//!   `Access-Control-Allow-Origin` only if the origin matches the server's list, or the
//!   list of the requesting client: the `client_id` of the form, the Basic user, or the
//!   client of an active bearer token (userinfo).
//! - Every public response varies on `Origin`, so caches keep answers apart.
//!
//! The admin API answers CORS only with its own options
//! ([`ServerOptions::admin_cors`](super::ServerOptions::admin_cors)), and only for the
//! origins on their list: no client opens it. Without them it never does: mount it
//! where browsers do not reach it.

use bytes::Bytes;
use http::header::{
    HeaderMap, HeaderName, ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS,
    ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS,
    ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN,
    VARY,
};
use http::{Method, Request, Response, StatusCode};

use super::{body, response, Server};
use crate::endpoint::client_auth::ClientCredentials;
use crate::endpoint::params::printable;
use crate::error::{Error, ErrorCode};
use crate::model::origin;
use crate::{IntrospectRequest, Params};

/// CORS on the public API. Hydra's defaults: methods `GET`, `POST`, `PUT`, `PATCH`,
/// `DELETE`; request headers `Authorization`, `Content-Type`; the simple response
/// headers exposed; no credentials; no preflight caching.
///
/// ```
/// use portcullis::http::{CorsOptions, ServerOptions};
///
/// let mut options = ServerOptions::default();
/// options.cors = Some(CorsOptions::allowing(["https://*.example.com"])?);
/// # Ok::<(), portcullis::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CorsOptions {
    /// Origin patterns allowed for every request (see [`origin`] for the syntax).
    /// Empty: only the origins of the requesting client's `allowed_cors_origins`, and
    /// none for requests that name no client (discovery, JWKS).
    pub allowed_origins: Vec<String>,
    /// Methods a preflight may ask for (the route must allow them too).
    pub allowed_methods: Vec<Method>,
    /// Request headers a preflight may ask for (ASCII case ignored).
    pub allowed_headers: Vec<String>,
    /// Response headers the browser may show the app.
    pub exposed_headers: Vec<String>,
    /// Whether to send `Access-Control-Allow-Credentials: true` (cookies, HTTP auth).
    pub allow_credentials: bool,
    /// How long a browser may cache a preflight answer, in seconds.
    pub max_age: Option<u32>,
    /// Whether a preflight asking `Access-Control-Request-Private-Network: true` (a
    /// public page calling a server on a private network, Private Network Access) is
    /// answered `Access-Control-Allow-Private-Network: true`. Off by default.
    pub allow_private_network: bool,
}

impl Default for CorsOptions {
    fn default() -> Self {
        Self {
            allowed_origins: Vec::new(),
            allowed_methods: vec![
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ],
            allowed_headers: vec!["Authorization".to_owned(), "Content-Type".to_owned()],
            exposed_headers: [
                "Cache-Control",
                "Content-Language",
                "Content-Length",
                "Content-Type",
                "Expires",
                "Last-Modified",
                "Pragma",
            ]
            .map(str::to_owned)
            .to_vec(),
            allow_credentials: false,
            max_age: None,
            allow_private_network: false,
        }
    }
}

impl CorsOptions {
    /// The defaults, with `origins` allowed for every request; each is checked.
    pub fn allowing<S: Into<String>>(origins: impl IntoIterator<Item = S>) -> Result<Self, Error> {
        let allowed_origins: Vec<String> = origins.into_iter().map(Into::into).collect();
        for o in &allowed_origins {
            origin::check_pattern(o).map_err(|why| {
                Error::new(
                    ErrorCode::InvalidRequest,
                    format!("The CORS origin '{}' {why}.", printable(o)),
                )
            })?;
        }
        Ok(Self {
            allowed_origins,
            ..Self::default()
        })
    }

    fn on_list(&self, origin: &str) -> bool {
        self.allowed_origins
            .iter()
            .any(|p| origin::matches(p, origin))
    }

    /// Marks `resp` readable by `origin`.
    fn allow(&self, resp: &mut Response<Bytes>, origin: &str) {
        response::set(resp, ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        if self.allow_credentials {
            response::set(resp, ACCESS_CONTROL_ALLOW_CREDENTIALS, "true");
        }
    }

    /// The answer to a preflight for a route that allows `route_methods`.
    pub(super) fn preflight(
        &self,
        headers: &HeaderMap,
        route_methods: &[Method],
    ) -> Response<Bytes> {
        let mut resp = response::empty(StatusCode::NO_CONTENT);
        response::append(
            &mut resp,
            VARY,
            "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
        );
        if self.allow_private_network {
            response::append(&mut resp, VARY, "Access-Control-Request-Private-Network");
        }
        let Some(origin) = request_origin(headers).filter(|o| origin::matchable(o)) else {
            return resp;
        };
        let method = headers
            .get(ACCESS_CONTROL_REQUEST_METHOD)
            .and_then(|m| Method::from_bytes(m.as_bytes()).ok())
            .filter(|m| {
                let route_allows = route_methods.contains(m)
                    || (*m == Method::HEAD && route_methods.contains(&Method::GET));
                route_allows && self.allowed_methods.contains(m)
            });
        let Some(method) = method else {
            return resp;
        };
        let mut requested = Vec::new();
        for value in headers.get_all(ACCESS_CONTROL_REQUEST_HEADERS) {
            let Ok(value) = value.to_str() else {
                return resp;
            };
            requested.extend(value.split(',').map(str::trim).filter(|h| !h.is_empty()));
        }
        let all_allowed = requested.iter().all(|h| {
            self.allowed_headers
                .iter()
                .any(|a| a.eq_ignore_ascii_case(h))
        });
        if !all_allowed {
            return resp;
        }
        self.allow(&mut resp, origin);
        response::set(&mut resp, ACCESS_CONTROL_ALLOW_METHODS, method.as_str());
        if !requested.is_empty() {
            let names = requested.join(", ").to_ascii_lowercase();
            response::set(&mut resp, ACCESS_CONTROL_ALLOW_HEADERS, &names);
        }
        if let Some(age) = self.max_age {
            response::set(&mut resp, ACCESS_CONTROL_MAX_AGE, &age.to_string());
        }
        let private_network = headers
            .get(REQUEST_PRIVATE_NETWORK)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
        if self.allow_private_network && private_network {
            response::set(&mut resp, ALLOW_PRIVATE_NETWORK, "true");
        }
        resp
    }
}

/// Private Network Access: what a preflight asks, and the answer that allows it.
const REQUEST_PRIVATE_NETWORK: HeaderName =
    HeaderName::from_static("access-control-request-private-network");
const ALLOW_PRIVATE_NETWORK: HeaderName =
    HeaderName::from_static("access-control-allow-private-network");

/// Whether `req` is a CORS preflight.
pub(super) fn is_preflight<B>(req: &Request<B>) -> bool {
    req.method() == Method::OPTIONS && req.headers().contains_key(ACCESS_CONTROL_REQUEST_METHOD)
}

/// The single `Origin` header, as text.
fn request_origin(headers: &HeaderMap) -> Option<&str> {
    let mut all = headers.get_all(ORIGIN).iter();
    let first = all.next()?;
    match all.next() {
        Some(_) => None,
        None => first.to_str().ok(),
    }
}

impl Server {
    /// Adds the CORS headers `cors` gives the answer `resp` to `req`: for an origin on
    /// its list, or, if `clients_count` (the public API), on the requesting client's.
    pub(super) async fn cors(
        &self,
        cors: &CorsOptions,
        req: &Request<Bytes>,
        resp: &mut Response<Bytes>,
        clients_count: bool,
    ) {
        response::append(resp, VARY, "Origin");
        let Some(origin) = request_origin(req.headers()) else {
            return;
        };
        let allowed =
            cors.on_list(origin) || (clients_count && self.client_allows(req, origin).await);
        if !allowed {
            return;
        }
        cors.allow(resp, origin);
        if !cors.exposed_headers.is_empty() {
            let names = cors.exposed_headers.join(", ");
            response::set(resp, ACCESS_CONTROL_EXPOSE_HEADERS, &names);
        }
    }

    /// Whether the client `req` names lists `origin` in its `allowed_cors_origins`.
    async fn client_allows(&self, req: &Request<Bytes>, origin: &str) -> bool {
        let Some(client_id) = self.requesting_client(req).await else {
            return false;
        };
        match self.provider.store().get_client(&client_id).await {
            Ok(Some(client)) => client
                .allowed_cors_origins
                .iter()
                .any(|p| origin::matches(p, origin)),
            _ => false,
        }
    }

    /// The client a request names: its form's `client_id`, its Basic user, or the client
    /// of its active bearer token. Read only to choose CORS headers: it proves nothing.
    async fn requesting_client(&self, req: &Request<Bytes>) -> Option<String> {
        let headers = req.headers();
        let params = match *req.method() {
            Method::POST => body::form(req, self.options.max_body_bytes).ok(),
            _ => None,
        }
        .unwrap_or_else(Params::default);
        let authorization = body::authorization(headers).ok().flatten();
        if let Ok(credentials) = ClientCredentials::parse(&params, authorization) {
            return Some(credentials.client_id().to_owned());
        }
        let token = body::bearer(headers).ok().flatten()?;
        let request = IntrospectRequest {
            token: token.to_owned(),
            token_type_hint: None,
            scope: None,
        };
        let answer = self.provider.introspect(request).await.ok()?;
        answer.active().map(|t| t.client_id().to_owned())
    }
}
