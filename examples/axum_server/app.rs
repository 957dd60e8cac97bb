//! The reference server's routing: the axum adapter for `portcullis::http::Server`, the
//! demo login / consent UI, the back-channel logout notifier and the `jwks_uri` fetcher
//! (both under one outbound policy). `main.rs` wires it to
//! the environment; `tests/interop.rs` mounts the same routers on ephemeral ports.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use portcullis::endpoint::logout::{BackchannelLogout, LogoutNotifier};
use portcullis::http::Server;

#[path = "demo_ui.rs"]
pub mod demo_ui;
#[path = "jwks_fetcher.rs"]
pub mod jwks_fetcher;
#[path = "outbound.rs"]
pub mod outbound;

use outbound::Outbound;

/// The public API (and the demo UI under `/ui` when given): every other path goes to
/// [`Server::public`].
pub fn public_router(server: Server, demo: Option<demo_ui::DemoUi>) -> Router {
    let router = match demo {
        Some(ui) => ui.router(),
        None => Router::new(),
    };
    router.fallback(public).with_state(server)
}

/// The admin API: every path goes to [`Server::admin`]. Bind it where only trusted
/// callers reach it (it has no authentication of its own, as in Hydra).
pub fn admin_router(server: Server) -> Router {
    Router::new().fallback(admin).with_state(server)
}

async fn public(State(server): State<Server>, req: Request) -> Response {
    match to_bytes(&server, req).await {
        Ok(req) => server.public(req).await.map(Body::from),
        Err(resp) => resp,
    }
}

async fn admin(State(server): State<Server>, req: Request) -> Response {
    match to_bytes(&server, req).await {
        Ok(req) => server.admin(req).await.map(Body::from),
        Err(resp) => resp,
    }
}

/// The whole adapter: read the body (at most the server's limit) into `Bytes`.
async fn to_bytes(
    server: &Server,
    req: Request,
) -> Result<axum::http::Request<bytes::Bytes>, Response> {
    let (parts, body) = req.into_parts();
    match axum::body::to_bytes(body, server.options().max_body_bytes).await {
        Ok(bytes) => Ok(axum::http::Request::from_parts(parts, bytes)),
        Err(_) => Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"error":"invalid_request","error_description":"The request body is too large or could not be read."}"#,
        )
            .into_response()),
    }
}

/// Delivers back-channel logout tokens by HTTP POST (`logout_token=…`, form-encoded),
/// in the background so the logout response is not delayed: a 5 s timeout per attempt,
/// three attempts with backoff, under the [`Outbound`] policy (no redirects).
#[derive(Clone)]
pub struct HttpNotifier {
    client: reqwest::Client,
    outbound: Outbound,
}

impl HttpNotifier {
    /// Attempts per logout token.
    const ATTEMPTS: u32 = 3;

    pub fn new(outbound: Outbound) -> Result<Self, reqwest::Error> {
        let client = outbound.client("portcullis-backchannel-logout", Duration::from_secs(5))?;
        Ok(Self { client, outbound })
    }

    /// Delivers one token, retrying on network errors and 5xx; answers whether the
    /// client acknowledged it with a 2xx.
    pub async fn deliver_now(&self, logout: &BackchannelLogout) -> Result<(), String> {
        let url = self.outbound.url(&logout.uri)?;
        let mut backoff = Duration::from_millis(500);
        let mut last = String::new();
        for attempt in 1..=Self::ATTEMPTS {
            let sent = self
                .client
                .post(url.clone())
                .form(&[("logout_token", &logout.logout_token)])
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => return Ok(()),
                // The client refused the token: trying again will not help.
                Ok(r) if r.status().is_client_error() => {
                    return Err(format!("{} answered {}", logout.uri, r.status()))
                }
                Ok(r) => last = format!("{} answered {}", logout.uri, r.status()),
                Err(e) => last = format!("{}: {}", logout.uri, outbound::error_chain(&e)),
            }
            if attempt < Self::ATTEMPTS {
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
        }
        Err(last)
    }
}

#[async_trait::async_trait]
impl LogoutNotifier for HttpNotifier {
    async fn deliver(&self, logout: &BackchannelLogout) -> Result<(), String> {
        let (this, logout) = (self.clone(), logout.clone());
        tokio::spawn(async move {
            match this.deliver_now(&logout).await {
                Ok(()) => {
                    tracing::info!(client_id = %logout.client_id, "back-channel logout delivered")
                }
                Err(e) => {
                    tracing::warn!(client_id = %logout.client_id, error = %e, "back-channel logout not delivered")
                }
            }
        });
        Ok(())
    }
}

/// The server for `provider` with HTTP back-channel logout delivery under `outbound`.
pub fn server(
    provider: portcullis::Provider,
    outbound: Outbound,
) -> Result<Server, reqwest::Error> {
    Ok(Server::new(provider).with_notifier(Arc::new(HttpNotifier::new(outbound)?)))
}
