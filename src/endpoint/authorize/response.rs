//! What the authorization endpoint answers: a redirect, an auto-submitting form, a hand-off
//! to the login or consent app, or an error page.

use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::endpoint::html::escape;
use crate::endpoint::url_query::{append_query, encode_pairs};
use crate::error::Error;
use crate::model::ResponseMode;

/// The result of [`Provider::authorize`](crate::Provider::authorize).
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct Authorization {
    /// What to answer the browser.
    pub outcome: AuthorizeOutcome,
    /// A login-session cookie to set, if the login was remembered.
    pub set_cookie: Option<SessionCookie>,
}

/// What to answer the browser.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub enum AuthorizeOutcome {
    /// Redirect (303) to this URL: the client's redirect URI with the response in the
    /// query or fragment.
    Redirect(String),
    /// Answer 200 with [`FormPost::html`] and [`FormPost::content_security_policy`].
    FormPost(FormPost),
    /// Send the browser to the login app (`redirect_to`), which handles `challenge`.
    Login {
        /// The login challenge.
        challenge: String,
        /// The login app URL with `login_challenge`.
        redirect_to: String,
    },
    /// Send the browser to the consent app (`redirect_to`), which handles `challenge`.
    Consent {
        /// The consent challenge.
        challenge: String,
        /// The consent app URL with `consent_challenge`.
        redirect_to: String,
    },
    /// Show an error page; never redirect (unknown client, unregistered redirect URI).
    ErrorPage(Error),
}

/// The login-session cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCookie {
    /// The cookie value: the session id.
    pub value: String,
    /// Seconds until it expires.
    pub max_age: i64,
}

impl SessionCookie {
    /// The cookie's name.
    pub const NAME: &'static str = "portcullis_session";

    /// A `Set-Cookie` header value: `HttpOnly`, `Secure`, `SameSite=Lax`.
    pub fn header_value(&self) -> String {
        format!(
            "{}={}; Path=/; Max-Age={}; HttpOnly; Secure; SameSite=Lax",
            Self::NAME,
            self.value,
            self.max_age
        )
    }
}

/// An auto-submitting HTML form (OAuth 2.0 Form Post Response Mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormPost {
    /// The client's redirect URI.
    pub action: String,
    /// The response parameters.
    pub fields: Vec<(String, String)>,
}

const SUBMIT_SCRIPT: &str = "document.forms[0].submit();";

impl FormPost {
    /// The page: a form of hidden fields, submitted by one inline script whose hash the
    /// CSP allows; a button for browsers without script.
    pub fn html(&self) -> String {
        let mut out = String::from(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Submit</title></head>\
             <body><form method=\"post\" action=\"",
        );
        out.push_str(&escape(&self.action));
        out.push_str("\">");
        for (k, v) in &self.fields {
            out.push_str("<input type=\"hidden\" name=\"");
            out.push_str(&escape(k));
            out.push_str("\" value=\"");
            out.push_str(&escape(v));
            out.push_str("\">");
        }
        out.push_str(
            "<noscript><button type=\"submit\">Continue</button></noscript></form><script>",
        );
        out.push_str(SUBMIT_SCRIPT);
        out.push_str("</script></body></html>");
        out
    }

    /// The `Content-Security-Policy` to serve the page with: nothing but the one script
    /// and a form post to the redirect URI.
    pub fn content_security_policy(&self) -> String {
        static HASH: OnceLock<String> = OnceLock::new();
        let hash = HASH.get_or_init(|| STANDARD.encode(Sha256::digest(SUBMIT_SCRIPT.as_bytes())));
        let origin = url::Url::parse(&self.action)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_else(|_| "'none'".to_owned());
        format!(
            "default-src 'none'; script-src 'sha256-{hash}'; form-action {origin}; \
             frame-ancestors 'none'; base-uri 'none'"
        )
    }
}

/// Encodes response parameters for the client in the response mode. `redirect_uri` is
/// registered and so has no fragment (RFC 6749 §3.1.2); one is dropped all the same, as
/// the response must not be mixed with it.
pub(crate) fn respond(
    redirect_uri: &str,
    mode: ResponseMode,
    params: &[(&str, &str)],
) -> AuthorizeOutcome {
    let base = redirect_uri
        .split_once('#')
        .map_or(redirect_uri, |(b, _)| b);
    if mode == ResponseMode::FormPost {
        return AuthorizeOutcome::FormPost(FormPost {
            action: base.to_owned(),
            fields: params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        });
    }
    let len = params
        .iter()
        .map(|(k, v)| k.len() + v.len() + 2)
        .sum::<usize>();
    let mut url = String::with_capacity(base.len() + len + len / 4);
    url.push_str(base);
    if mode == ResponseMode::Query {
        append_query(&mut url, params.iter().copied());
    } else {
        url.push('#');
        encode_pairs(&mut url, params.iter().copied());
    }
    AuthorizeOutcome::Redirect(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_keeps_existing_parameters() {
        let out = respond(
            "https://a.example/cb?x=1",
            ResponseMode::Query,
            &[("code", "c d")],
        );
        assert_eq!(
            out,
            AuthorizeOutcome::Redirect("https://a.example/cb?x=1&code=c%20d".into())
        );
    }

    #[test]
    fn a_fragment_of_the_redirect_uri_is_dropped() {
        for mode in [ResponseMode::Query, ResponseMode::Fragment] {
            let AuthorizeOutcome::Redirect(url) =
                respond("https://a.example/cb?x=1#old", mode, &[("code", "c")])
            else {
                panic!("redirect expected")
            };
            assert!(!url.contains("old"), "{url}");
            assert!(url.contains("code=c"), "{url}");
        }
    }

    #[test]
    fn fragment() {
        let out = respond(
            "https://a.example/cb",
            ResponseMode::Fragment,
            &[("access_token", "t"), ("state", "s")],
        );
        assert_eq!(
            out,
            AuthorizeOutcome::Redirect("https://a.example/cb#access_token=t&state=s".into())
        );
    }

    #[test]
    fn form_post_escapes_and_pins_the_script() {
        let AuthorizeOutcome::FormPost(f) = respond(
            "https://a.example/cb",
            ResponseMode::FormPost,
            &[("state", "\"><script>x</script>")],
        ) else {
            panic!("form post expected")
        };
        let html = f.html();
        assert!(!html.contains("<script>x"));
        assert!(html.contains("&quot;&gt;&lt;script&gt;"));
        let csp = f.content_security_policy();
        assert!(csp.contains("form-action https://a.example"));
        assert!(csp.contains("script-src 'sha256-"));
        assert!(!csp.contains("unsafe-inline"));
    }
}
