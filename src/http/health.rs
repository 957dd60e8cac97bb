//! Hydra's health and version probes, on both APIs: `GET /health/alive` (the server
//! answers), `GET /health/ready` (and its store does: `503` with the failing dependency
//! otherwise) and `GET /version`. Never cached.

use bytes::Bytes;
use http::header::RETRY_AFTER;
use http::{Response, StatusCode};
use serde_json::json;

use super::response;
use crate::Provider;

/// `200 {"status": "ok"}`.
pub(super) fn alive() -> Response<Bytes> {
    response::json(StatusCode::OK, &json!({"status": "ok"}))
}

/// `200 {"status": "ok"}` if the store answers; else `503 {"errors": {"database": …}}`
/// (Hydra's shape) with the error's public description (its detail is logged).
pub(super) async fn ready(provider: &Provider) -> Response<Bytes> {
    match provider.check_ready().await {
        Ok(()) => alive(),
        Err(e) => {
            let errors = json!({"errors": {"database": e.description()}});
            let mut resp = response::json(StatusCode::SERVICE_UNAVAILABLE, &errors);
            response::set(&mut resp, RETRY_AFTER, response::RETRY_AFTER_SECONDS);
            resp
        }
    }
}

/// `200 {"version": …}`: this crate's version.
pub(super) fn version() -> Response<Bytes> {
    response::json(
        StatusCode::OK,
        &json!({"version": env!("CARGO_PKG_VERSION")}),
    )
}
