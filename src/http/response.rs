//! Building responses: JSON, errors in Hydra's shape, redirects, HTML pages, headers.

use bytes::Bytes;
use http::header::{
    HeaderName, HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION,
    PRAGMA, REFERRER_POLICY, RETRY_AFTER, SET_COOKIE, WWW_AUTHENTICATE, X_CONTENT_TYPE_OPTIONS,
};
use http::{Method, Response, StatusCode};
use serde::Serialize;
use serde_json::json;

use crate::error::{Error, ErrorCode};

/// The CSP of every page portcullis renders itself, unless the page needs more.
pub(crate) const PAGE_CSP: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Sets a header, skipping a value that is not a valid header value (never panics).
pub(crate) fn set(resp: &mut Response<Bytes>, name: HeaderName, value: &str) {
    match HeaderValue::from_str(value) {
        Ok(v) => {
            resp.headers_mut().insert(name, v);
        }
        Err(_) => tracing::warn!(header = %name, "dropped an invalid response header value"),
    }
}

/// Appends a header (for `Set-Cookie`, `Link`).
pub(crate) fn append(resp: &mut Response<Bytes>, name: HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().append(name, v);
    }
}

/// A response with a status and a body.
pub(crate) fn with_body(
    status: StatusCode,
    content_type: &str,
    body: impl Into<Bytes>,
) -> Response<Bytes> {
    let mut resp = Response::new(body.into());
    *resp.status_mut() = status;
    set(&mut resp, CONTENT_TYPE, content_type);
    resp
}

/// An empty response (`204`, …).
pub(crate) fn empty(status: StatusCode) -> Response<Bytes> {
    let mut resp = Response::new(Bytes::new());
    *resp.status_mut() = status;
    resp
}

/// A JSON response.
pub(crate) fn json(status: StatusCode, value: &impl Serialize) -> Response<Bytes> {
    match serde_json::to_vec(value) {
        Ok(body) => with_body(status, "application/json; charset=utf-8", body),
        Err(e) => error(&Error::internal(e)),
    }
}

/// Marks a response as carrying a token or secret (RFC 6749 §5.1).
pub(crate) fn no_store(mut resp: Response<Bytes>) -> Response<Bytes> {
    set(&mut resp, CACHE_CONTROL, "no-store");
    set(&mut resp, PRAGMA, "no-cache");
    resp
}

/// A status for an error, from its code.
pub(crate) fn status_of(e: &Error) -> StatusCode {
    StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST)
}

/// How many seconds a `503` asks the client to wait before it tries again.
pub(crate) const RETRY_AFTER_SECONDS: &str = "1";

/// An error as JSON (`{"error", "error_description"}`) with its status and, for
/// `invalid_client` and token errors, `WWW-Authenticate`; a `503` says when to retry.
pub(crate) fn error(e: &Error) -> Response<Bytes> {
    error_with_status(status_of(e), e)
}

/// An error as JSON with a chosen status.
pub(crate) fn error_with_status(status: StatusCode, e: &Error) -> Response<Bytes> {
    if e.is_missing_bearer_token() {
        // RFC 6750 §3.1: no credentials, no error code; just the challenge.
        let mut resp = empty(StatusCode::UNAUTHORIZED);
        if let Some(challenge) = e.www_authenticate() {
            set(&mut resp, WWW_AUTHENTICATE, &challenge);
        }
        return no_store(resp);
    }
    let body = json!({
        "error": e.code().as_str(),
        "error_description": e.description(),
    });
    let mut resp = match serde_json::to_vec(&body) {
        Ok(b) => with_body(status, "application/json; charset=utf-8", b),
        Err(_) => empty(status),
    };
    if let Some(challenge) = e.www_authenticate() {
        set(&mut resp, WWW_AUTHENTICATE, &challenge);
    }
    if status == StatusCode::SERVICE_UNAVAILABLE {
        set(&mut resp, RETRY_AFTER, RETRY_AFTER_SECONDS);
    }
    no_store(resp)
}

/// `404` for a path no route serves.
pub(crate) fn not_found() -> Response<Bytes> {
    error(&Error::new(
        ErrorCode::NotFound,
        "No endpoint is served at this path.",
    ))
}

/// `405` with the methods the route allows.
pub(crate) fn method_not_allowed(allowed: &[Method]) -> Response<Bytes> {
    let mut resp = error_with_status(
        StatusCode::METHOD_NOT_ALLOWED,
        &Error::invalid_request("The method is not allowed at this endpoint."),
    );
    let allow: Vec<&str> = allowed.iter().map(Method::as_str).collect();
    set(&mut resp, ALLOW, &allow.join(", "));
    resp
}

/// `303 See Other` to `location`. A URL with characters a header cannot carry is
/// re-serialised (percent-encoded) first.
pub(crate) fn redirect(location: &str) -> Response<Bytes> {
    let mut resp = empty(StatusCode::SEE_OTHER);
    let value = HeaderValue::from_str(location).ok().or_else(|| {
        url::Url::parse(location)
            .ok()
            .and_then(|u| HeaderValue::from_str(u.as_str()).ok())
    });
    match value {
        Some(v) => {
            resp.headers_mut().insert(LOCATION, v);
            no_store(resp)
        }
        None => error(&Error::internal("a redirect target is not a valid URL")),
    }
}

/// An HTML page with a Content-Security-Policy; never cached, never framed.
pub(crate) fn html(status: StatusCode, body: String, csp: &str) -> Response<Bytes> {
    let mut resp = with_body(status, "text/html; charset=utf-8", body);
    set(&mut resp, CONTENT_SECURITY_POLICY, csp);
    set(&mut resp, REFERRER_POLICY, "no-referrer");
    no_store(resp)
}

/// Adds `Set-Cookie`.
pub(crate) fn set_cookie(resp: &mut Response<Bytes>, value: &str) {
    append(resp, SET_COOKIE, value);
}

/// Headers every response carries.
pub(crate) fn finish(mut resp: Response<Bytes>) -> Response<Bytes> {
    set(&mut resp, X_CONTENT_TYPE_OPTIONS, "nosniff");
    if !resp.headers().contains_key(CACHE_CONTROL) {
        set(&mut resp, CACHE_CONTROL, "no-store");
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_server_says_when_to_retry() {
        let resp = error(&Error::new(ErrorCode::TemporarilyUnavailable, "busy"));
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(resp.headers()[RETRY_AFTER], RETRY_AFTER_SECONDS);
        let body: serde_json::Value = serde_json::from_slice(resp.body()).unwrap();
        assert_eq!(body["error"], "temporarily_unavailable");

        let resp = error(&Error::internal("broken"));
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(resp.headers().get(RETRY_AFTER).is_none());
    }
}
