//! The HTTP mapping: one function from an [`http::Request<Bytes>`] to an
//! [`http::Response<Bytes>`], with Ory Hydra v2's route table.
//!
//! The [`Server`] owns what the HTTP layer decides: routing, form / query / JSON parsing
//! (strict percent-decoding, a body size limit), client Basic auth and bearer tokens,
//! status codes, `Cache-Control: no-store`, `WWW-Authenticate`, cookies, the pages
//! portcullis renders itself (form post, errors, front-channel logout) and Hydra's JSON
//! shapes. An adapter for any server framework only converts its request into an
//! `http::Request<Bytes>` (body read whole, at most [`ServerOptions::max_body_bytes`])
//! and the answer back.
//!
//! Mount [`Server::public`] on the public listener and [`Server::admin`] on a private
//! one (the admin API has no authentication of its own, as in Hydra); [`Server::handle`]
//! serves both, for tests and single-listener setups.
//!
//! # Routes
//!
//! Public:
//!
//! | method | path | |
//! | --- | --- | --- |
//! | GET, POST | `/oauth2/auth` | authorization endpoint (query or form) |
//! | POST | `/oauth2/token` | token endpoint |
//! | POST | `/oauth2/revoke` | revocation (RFC 7009) |
//! | GET, POST | `/userinfo` | userinfo (Bearer) |
//! | GET, POST | `/oauth2/sessions/logout` | RP-initiated logout |
//! | GET | `/.well-known/openid-configuration` | discovery |
//! | GET | `/.well-known/jwks.json` | JWKS |
//! | POST | `/oauth2/register` | dynamic registration (RFC 7591) |
//! | GET, PUT, DELETE | `/oauth2/register/{id}` | registration management (RFC 7592) |
//!
//! (`/connect/register`, Hydra v1.x's registration path, is served the same.)
//!
//! Admin:
//!
//! | method | path | |
//! | --- | --- | --- |
//! | GET, POST | `/admin/clients` | list (paginated, `Link`) / create (201) |
//! | GET, PUT, PATCH, DELETE | `/admin/clients/{id}` | get / set / JSON Patch / delete (204) |
//! | PUT | `/admin/clients/{id}/lifespans` | set token lifespans |
//! | GET | `/admin/oauth2/auth/requests/{login,consent,logout}` | a challenge (200, or 410 when handled) |
//! | PUT | `/admin/oauth2/auth/requests/{login,consent,logout}/{accept,reject}` | answer it |
//! | GET, DELETE | `/admin/oauth2/auth/sessions/consent` | list / revoke consent sessions |
//! | DELETE | `/admin/oauth2/auth/sessions/login` | end login sessions (`subject` or `sid`) |
//! | POST | `/admin/oauth2/introspect` | introspection (RFC 7662) |
//! | DELETE | `/admin/oauth2/tokens` | delete a client's tokens |
//! | POST | `/admin/oauth2/flush` | flush inactive tokens and flows |
//! | GET, POST | `/admin/trust/grants/jwt-bearer/issuers` | list (paginated, `Link`, `issuer` filter) / trust an issuer (201) |
//! | GET, DELETE | `/admin/trust/grants/jwt-bearer/issuers/{id}` | get / delete (204) a trust relationship |
//!
//! Hydra v1's admin paths (`/clients`, `/oauth2/auth/requests/login/{challenge}/accept`,
//! `/oauth2/introspect`, …; `seeds/001`) are served on the admin API as the v2 routes
//! they became, their path ids moved into the v2 query: `/clients/{id}` is
//! `/admin/clients/{id}`, `PUT /oauth2/auth/requests/login/{challenge}/accept` is
//! `PUT /admin/oauth2/auth/requests/login/accept?login_challenge={challenge}`, `DELETE
//! /oauth2/auth/sessions/consent/{user}[/{client}]` revokes the user's consents (all, or
//! the client's), `DELETE /oauth2/auth/sessions/login/{user}` ends the user's login
//! sessions, and `GET /clients` takes v1's `limit` and `offset`.
//!
//! Both:
//!
//! | method | path | |
//! | --- | --- | --- |
//! | GET | `/health/alive` | the server answers: `{"status": "ok"}` |
//! | GET | `/health/ready` | and so does its store ([`Provider::check_ready`]); else `503` |
//! | GET | `/version` | `{"version": …}`, this crate's |
//!
//! With [`ServerOptions::cors`] set, the public routes answer CORS preflights and mark
//! responses readable by allowed origins ([`CorsOptions`]); the admin routes do only
//! with [`ServerOptions::admin_cors`], for the origins on its list.
//!
//! `HEAD` is answered wherever `GET` is. An unknown path is `404`, a known path with
//! another method `405` with `Allow`. Errors are `{"error", "error_description"}` with
//! the error's status; malformed input is `400 invalid_request` (`413` for a body over
//! the limit, `415` for a body of the wrong media type), never `500`.

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};

use crate::endpoint::logout::{deliver_all, BackchannelLogout, LogoutNotifier};
use crate::error::Error;
use crate::Provider;

mod admin;
mod body;
mod challenges;
mod cors;
mod health;
mod html;
mod public;
mod registration;
mod response;
mod routes;
mod tokens;
mod trust;
mod v1;

pub use cors::CorsOptions;
use routes::{Api, Route};

/// Options of the HTTP layer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerOptions {
    /// The largest request body accepted (1 MiB by default); larger ones get `413`.
    /// Adapters should stop reading a body past this size.
    pub max_body_bytes: usize,
    /// CORS on the public API; off (`None`) by default, so browsers on other origins
    /// cannot read its answers and preflights get `405`.
    pub cors: Option<CorsOptions>,
    /// CORS on the admin API (Hydra's `serve.admin.cors`), for an admin web console on
    /// another origin; off by default. Only the server's list counts here: clients'
    /// `allowed_cors_origins` open the public API, never the admin one.
    pub admin_cors: Option<CorsOptions>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            max_body_bytes: 1 << 20,
            cors: None,
            admin_cors: None,
        }
    }
}

/// The HTTP front of a [`Provider`]: the public and admin APIs as functions from
/// request to response. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Server {
    provider: Provider,
    notifier: Option<Arc<dyn LogoutNotifier>>,
    options: ServerOptions,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("provider", &self.provider)
            .field("notifier", &self.notifier.is_some())
            .field("options", &self.options)
            .finish()
    }
}

/// A failed request: the response to send (an error in Hydra's shape).
pub(crate) struct Fail(Box<Response<Bytes>>);

impl Fail {
    /// An error answered with a chosen status.
    pub(crate) fn status(status: StatusCode, e: Error) -> Self {
        Self(Box::new(response::error_with_status(status, &e)))
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Self(Box::new(response::error(&e)))
    }
}

/// What a handler answers.
pub(crate) type Reply = Result<Response<Bytes>, Fail>;

impl Server {
    /// A server for `provider`, with default options and no logout notifier.
    pub fn new(provider: Provider) -> Self {
        Self {
            provider,
            notifier: None,
            options: ServerOptions::default(),
        }
    }

    /// Delivers back-channel logout tokens through `notifier` (at the logout endpoint and
    /// when an admin ends a login session by `sid`). Delivery failures are logged and
    /// never change the response; a notifier that must not delay the response should
    /// queue the work and return.
    pub fn with_notifier(mut self, notifier: Arc<dyn LogoutNotifier>) -> Self {
        self.notifier = Some(notifier);
        self
    }

    /// Replaces the options.
    pub fn with_options(mut self, options: ServerOptions) -> Self {
        self.options = options;
        self
    }

    /// The provider.
    pub fn provider(&self) -> &Provider {
        &self.provider
    }

    /// The options.
    pub fn options(&self) -> &ServerOptions {
        &self.options
    }

    /// Serves the public API (authorization, token, revocation, userinfo, logout,
    /// discovery, JWKS, dynamic registration) and the health and version probes. Admin
    /// paths are `404` here.
    pub async fn public(&self, req: Request<Bytes>) -> Response<Bytes> {
        self.serve(req, Api::Public).await
    }

    /// Serves the admin API (clients, login / consent / logout challenges, sessions,
    /// introspection, token deletion, flush, JWT-bearer trust relationships), Hydra v1's
    /// admin paths for the same, and the health and version probes. Public paths are
    /// `404` here. Mount it where only trusted callers reach it.
    pub async fn admin(&self, req: Request<Bytes>) -> Response<Bytes> {
        self.serve(req, Api::Admin).await
    }

    /// Serves the public and the admin API on one listener.
    pub async fn handle(&self, req: Request<Bytes>) -> Response<Bytes> {
        self.serve(req, Api::Both).await
    }

    async fn serve(&self, mut req: Request<Bytes>, api: Api) -> Response<Bytes> {
        let mut route = routes::route(req.uri().path());
        // Hydra v1's paths are admin paths: the public listener does not know them.
        if route.is_none() && api != Api::Public {
            match v1::rewrite(&mut req) {
                None => {}
                Some(Err(Fail(r))) => return response::finish(*r),
                Some(Ok(())) => route = routes::route(req.uri().path()),
            }
        }
        let route = match route {
            None => return response::finish(response::not_found()),
            Some(Err(e)) => return response::finish(response::error(&e)),
            Some(Ok(r)) => r,
        };
        let served = match (api, route.api()) {
            (Api::Both, _) | (_, Api::Both) => true,
            (listener, owner) => listener == owner,
        };
        if !served {
            return response::finish(response::not_found());
        }
        let allowed = route.allowed();
        // The listener's CORS options; on one listener for both, the route's API's.
        let admin = match api {
            Api::Both => route.api() == Api::Admin,
            listener => listener == Api::Admin,
        };
        let cors = match admin {
            true => self.options.admin_cors.as_ref(),
            false => self.options.cors.as_ref(),
        };
        if let Some(cors) = cors.filter(|_| cors::is_preflight(&req)) {
            return response::finish(cors.preflight(req.headers(), allowed));
        }
        let head = req.method() == Method::HEAD && allowed.contains(&Method::GET);
        if head {
            *req.method_mut() = Method::GET;
        } else if !allowed.contains(req.method()) {
            return response::finish(response::method_not_allowed(allowed));
        }
        let mut resp = match self.dispatch(route, &req).await {
            Ok(r) => r,
            Err(Fail(r)) => *r,
        };
        if let Some(cors) = cors {
            self.cors(cors, &req, &mut resp, !admin).await;
        }
        if head {
            *resp.body_mut() = Bytes::new();
        }
        response::finish(resp)
    }

    async fn dispatch(&self, route: Route, req: &Request<Bytes>) -> Reply {
        match route {
            Route::Authorize => self.authorize(req).await,
            Route::Token => self.token(req).await,
            Route::Revoke => self.revoke(req).await,
            Route::Userinfo => self.userinfo(req).await,
            Route::Logout => self.logout(req).await,
            Route::Discovery => Ok(public::cacheable(&self.provider.discovery())),
            Route::Jwks => Ok(public::cacheable(&self.provider.jwks())),
            Route::Register => self.register(req).await,
            Route::Registration(id) => self.registration(req, &id).await,
            Route::Clients => self.clients(req).await,
            Route::Client(id) => self.client(req, &id).await,
            Route::ClientLifespans(id) => self.client_lifespans(req, &id).await,
            Route::LoginRequest => self.login_request(req).await,
            Route::LoginAccept => self.login_accept(req).await,
            Route::LoginReject => self.login_reject(req).await,
            Route::ConsentRequest => self.consent_request(req).await,
            Route::ConsentAccept => self.consent_accept(req).await,
            Route::ConsentReject => self.consent_reject(req).await,
            Route::LogoutRequest => self.logout_request(req).await,
            Route::LogoutAccept => self.logout_accept(req).await,
            Route::LogoutReject => self.logout_reject(req).await,
            Route::ConsentSessions => self.consent_sessions(req).await,
            Route::LoginSessions => self.login_sessions(req).await,
            Route::Introspect => self.introspect(req).await,
            Route::Tokens => self.delete_tokens(req).await,
            Route::Flush => self.flush(req).await,
            Route::TrustIssuers => self.trust_issuers(req).await,
            Route::TrustIssuer(id) => self.trust_issuer(req, &id).await,
            Route::Alive => Ok(health::alive()),
            Route::Ready => Ok(health::ready(&self.provider).await),
            Route::Version => Ok(health::version()),
        }
    }

    /// Hands back-channel logout tokens to the notifier, if there is one.
    async fn notify(&self, logouts: &[BackchannelLogout]) {
        if let (Some(n), false) = (&self.notifier, logouts.is_empty()) {
            let delivered = deliver_all(&**n, logouts).await;
            tracing::debug!(delivered, total = logouts.len(), "back-channel logout");
        }
    }
}
