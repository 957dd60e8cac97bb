//! The public endpoints a browser or a client calls: authorization, token, logout,
//! discovery and JWKS. (Revocation and userinfo live in `tokens.rs`.)

use bytes::Bytes;
use http::header::CACHE_CONTROL;
use http::{Method, Request, Response, StatusCode};

use super::response::{self, set};
use super::{body, html, Fail, Reply, Server};
use crate::endpoint::authorize::{AuthorizeOutcome, SessionCookie};
use crate::endpoint::logout::LogoutOutcome;
use crate::error::Error;
use crate::{Params, TokenRequest};

/// A public document (discovery, JWKS): JSON, cacheable for five minutes.
pub(super) fn cacheable(value: &serde_json::Value) -> Response<Bytes> {
    let mut resp = response::json(StatusCode::OK, value);
    set(&mut resp, CACHE_CONTROL, "public, max-age=300");
    resp
}

/// The `Set-Cookie` value that deletes the session cookie.
fn clear_session_cookie() -> String {
    format!(
        "{}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax",
        SessionCookie::NAME
    )
}

impl Server {
    /// The parameters of a browser endpoint: the query of a GET, the form of a POST.
    fn browser_params(&self, req: &Request<Bytes>) -> Result<Params, Fail> {
        let parsed = if req.method() == Method::POST {
            body::form(req, self.options.max_body_bytes).map_err(|f| *f.0)
        } else {
            body::query(req).map_err(|e| response::error(&e))
        };
        // A browser gets a page, not JSON, for malformed input too.
        parsed.map_err(|resp| {
            let status = resp.status();
            let e = Error::invalid_request("The request parameters are malformed.");
            let mut page = html::error_page(req.headers(), &e);
            *page.status_mut() = status;
            Fail(Box::new(page))
        })
    }

    /// `GET|POST /oauth2/auth`.
    pub(super) async fn authorize(&self, req: &Request<Bytes>) -> Reply {
        let params = match self.browser_params(req) {
            Ok(p) => p,
            Err(Fail(page)) => return Ok(*page),
        };
        let cookie = body::session_cookie(req.headers());
        let authorization = match self.provider.authorize(&params, cookie.as_deref()).await {
            Ok(a) => a,
            Err(e) => return Ok(html::error_page(req.headers(), &e)),
        };
        let mut resp = match authorization.outcome {
            AuthorizeOutcome::Redirect(url) => response::redirect(&url),
            AuthorizeOutcome::FormPost(form) => {
                response::html(StatusCode::OK, form.html(), &form.content_security_policy())
            }
            AuthorizeOutcome::Login { redirect_to, .. }
            | AuthorizeOutcome::Consent { redirect_to, .. } => response::redirect(&redirect_to),
            AuthorizeOutcome::ErrorPage(e) => html::error_page(req.headers(), &e),
        };
        if let Some(cookie) = authorization.set_cookie {
            response::set_cookie(&mut resp, &cookie.header_value());
        }
        Ok(resp)
    }

    /// `POST /oauth2/token`.
    pub(super) async fn token(&self, req: &Request<Bytes>) -> Reply {
        let params = body::form(req, self.options.max_body_bytes)?;
        let auth = body::authorization(req.headers())?;
        let request = TokenRequest::from_params(&params, auth)?;
        let token = self.provider.token(request).await?;
        Ok(response::no_store(response::json(StatusCode::OK, &token)))
    }

    /// `GET|POST /oauth2/sessions/logout`.
    pub(super) async fn logout(&self, req: &Request<Bytes>) -> Reply {
        let params = match self.browser_params(req) {
            Ok(p) => p,
            Err(Fail(page)) => return Ok(*page),
        };
        let cookie = body::session_cookie(req.headers());
        let outcome = match self.provider.logout(&params, cookie.as_deref()).await {
            Ok(o) => o,
            Err(e) => return Ok(html::error_page(req.headers(), &e)),
        };
        Ok(match outcome {
            LogoutOutcome::LogoutApp { redirect_to, .. } => response::redirect(&redirect_to),
            LogoutOutcome::ErrorPage(e) => html::error_page(req.headers(), &e),
            LogoutOutcome::LoggedOut(done) => {
                self.notify(&done.backchannel).await;
                let mut resp = if done.frontchannel_urls.is_empty() {
                    response::redirect(&done.redirect_to)
                } else {
                    html::frontchannel_page(&done.frontchannel_urls, &done.redirect_to)
                };
                if done.clear_cookie {
                    response::set_cookie(&mut resp, &clear_session_cookie());
                }
                resp
            }
        })
    }
}
