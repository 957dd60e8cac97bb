//! The pages portcullis renders itself: the error page of the authorization and logout
//! endpoints, and the front-channel logout page.

use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use http::header::ACCEPT;
use http::{HeaderMap, Response, StatusCode};
use sha2::{Digest, Sha256};

use super::response::{self, PAGE_CSP};
use crate::endpoint::html::escape;
use crate::error::Error;

/// Whether the caller prefers JSON to HTML (an API client rather than a browser).
fn wants_json(headers: &HeaderMap) -> bool {
    let accept = headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    accept.contains("application/json") && !accept.contains("text/html")
}

/// An error shown to the browser (never a redirect): HTML, or JSON if the caller asks
/// for JSON only. The status is the error's, except that `401` becomes `400` (a browser
/// would otherwise offer a password dialog).
pub(crate) fn error_page(headers: &HeaderMap, e: &Error) -> Response<Bytes> {
    let mut status = response::status_of(e);
    if status == StatusCode::UNAUTHORIZED {
        status = StatusCode::BAD_REQUEST;
    }
    if wants_json(headers) {
        let mut resp = response::error_with_status(status, e);
        resp.headers_mut().remove(http::header::WWW_AUTHENTICATE);
        return resp;
    }
    let body = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Error</title></head>\
         <body><h1>The request could not be completed</h1>\
         <p><code>{}</code></p><p>{}</p></body></html>",
        escape(e.code().as_str()),
        escape(e.description())
    );
    response::html(status, body, PAGE_CSP)
}

const FRONTCHANNEL_SCRIPT: &str = "(function(){var f=document.getElementsByTagName('iframe'),\
n=f.length,d=false;function go(){if(!d){d=true;window.location.replace(\
document.getElementById('next').getAttribute('href'));}}\
for(var i=0;i<f.length;i++){f[i].addEventListener('load',function(){if(--n<=0){go();}});}\
if(n===0){go();}setTimeout(go,3000);})();";

/// The front-channel logout page (OpenID Connect Front-Channel Logout 1.0 §4): one
/// hidden iframe per client URL, then on to `redirect_to` once they loaded (or after
/// three seconds; without script, a meta refresh and a link).
pub(crate) fn frontchannel_page(urls: &[String], redirect_to: &str) -> Response<Bytes> {
    static HASH: OnceLock<String> = OnceLock::new();
    let hash = HASH.get_or_init(|| STANDARD.encode(Sha256::digest(FRONTCHANNEL_SCRIPT.as_bytes())));
    let mut origins: Vec<String> = Vec::new();
    let mut frames = String::new();
    for u in urls {
        let Ok(parsed) = url::Url::parse(u) else {
            continue;
        };
        if !matches!(parsed.scheme(), "https" | "http") {
            continue;
        }
        let origin = parsed.origin().ascii_serialization();
        if !origins.contains(&origin) {
            origins.push(origin);
        }
        frames.push_str("<iframe src=\"");
        frames.push_str(&escape(parsed.as_str()));
        frames.push_str("\" hidden width=\"0\" height=\"0\"></iframe>");
    }
    let next = escape(redirect_to);
    let body = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Logging out</title>\
         <noscript><meta http-equiv=\"refresh\" content=\"3;url={next}\"></noscript></head>\
         <body><p>Logging out… <a id=\"next\" href=\"{next}\">Continue</a></p>{frames}\
         <script>{FRONTCHANNEL_SCRIPT}</script></body></html>"
    );
    let frame_src = if origins.is_empty() {
        "'none'".to_owned()
    } else {
        origins.join(" ")
    };
    let csp = format!(
        "default-src 'none'; frame-src {frame_src}; script-src 'sha256-{hash}'; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    );
    response::html(StatusCode::OK, body, &csp)
}
