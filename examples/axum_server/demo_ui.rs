//! A demo login, consent and logout UI, for trying the server without writing a login
//! app. It accepts **any username** (there are no passwords): never run it in production;
//! set `URLS_LOGIN` and `URLS_CONSENT` to your own app instead, and it is not mounted.
//!
//! It calls the engine directly (`accept_login`, `accept_consent`, …), as a login app
//! embedded in the same process would; an external app calls the admin API instead.
//!
//! Every page is `no-store`, cannot be framed (`X-Frame-Options: DENY`, CSP
//! `frame-ancestors 'none'`) and escapes what it shows. Forms are CSRF-protected by a
//! double-submit cookie bound to the challenge: the hidden `csrf` field is an HMAC, under
//! a key derived from the system secret, of the challenge and a random cookie value; a
//! POST without the matching cookie and field is refused.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use portcullis::model::{AcceptConsent, AcceptLogin, Rejection};
use portcullis::{Challenge, Provider};
use sha2::Sha256;

const CSRF_COOKIE: &str = "portcullis_ui_csrf";

/// The demo UI: routes `/ui/login`, `/ui/consent`, `/ui/logout` and `/ui/logged-out`
/// (the default URLs of `Config` under the issuer).
#[derive(Clone)]
pub struct DemoUi {
    inner: Arc<Inner>,
}

struct Inner {
    provider: Provider,
    csrf_key: [u8; 32],
    secure_cookie: bool,
}

type Form = HashMap<String, Vec<String>>;

impl DemoUi {
    /// The UI for `provider`; its CSRF key is derived from the current system secret.
    pub fn new(provider: Provider) -> Self {
        let secret = provider
            .config()
            .secrets
            .first()
            .cloned()
            .unwrap_or_default();
        let mut mac = <Hmac<Sha256>>::new_from_slice(&secret).expect("HMAC takes any key");
        mac.update(b"portcullis demo-ui csrf key");
        let csrf_key = mac.finalize().into_bytes().into();
        let secure_cookie = provider.config().issuer.starts_with("https:");
        Self {
            inner: Arc::new(Inner {
                provider,
                csrf_key,
                secure_cookie,
            }),
        }
    }

    /// The routes, to merge into the public router.
    pub fn router<S: Clone + Send + Sync + 'static>(self) -> Router<S> {
        Router::new()
            .route("/ui/login", get(login_page).post(login_submit))
            .route("/ui/consent", get(consent_page).post(consent_submit))
            .route("/ui/logout", get(logout_page).post(logout_submit))
            .route("/ui/logged-out", get(logged_out))
            .with_state(self)
    }

    fn provider(&self) -> &Provider {
        &self.inner.provider
    }

    fn csrf_token(&self, purpose: &str, challenge: &str, cookie: &str) -> String {
        URL_SAFE_NO_PAD.encode(
            self.csrf_mac(purpose, challenge, cookie)
                .finalize()
                .into_bytes(),
        )
    }

    fn csrf_mac(&self, purpose: &str, challenge: &str, cookie: &str) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256>>::new_from_slice(&self.inner.csrf_key).expect("any key");
        for part in [purpose, challenge, cookie] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac
    }

    /// Whether a POST carries the cookie and the matching field (constant time).
    fn csrf_ok(&self, purpose: &str, challenge: &str, headers: &HeaderMap, form: &Form) -> bool {
        let (Some(cookie), Some(token)) = (csrf_cookie(headers), field(form, "csrf")) else {
            return false;
        };
        let Ok(token) = URL_SAFE_NO_PAD.decode(token) else {
            return false;
        };
        self.csrf_mac(purpose, challenge, &cookie)
            .verify_slice(&token)
            .is_ok()
    }

    /// A form page: reuses the browser's CSRF cookie or sets a new one.
    fn form_page(
        &self,
        headers: &HeaderMap,
        purpose: &str,
        challenge: &str,
        body: impl FnOnce(&str) -> String,
    ) -> Response {
        let cookie = csrf_cookie(headers).unwrap_or_else(|| {
            let mut b = [0u8; 32];
            self.provider().entropy().fill(&mut b);
            URL_SAFE_NO_PAD.encode(b)
        });
        let hidden = format!(
            r#"<input type="hidden" name="challenge" value="{}"><input type="hidden" name="csrf" value="{}">"#,
            esc(challenge),
            self.csrf_token(purpose, challenge, &cookie)
        );
        let secure = if self.inner.secure_cookie {
            "; Secure"
        } else {
            ""
        };
        let mut resp = page(StatusCode::OK, &body(&hidden));
        let set = format!("{CSRF_COOKIE}={cookie}; Path=/ui; HttpOnly; SameSite=Strict{secure}");
        if let Ok(v) = set.parse() {
            resp.headers_mut().insert(header::SET_COOKIE, v);
        }
        resp
    }
}

// ---- login ----

async fn login_page(State(ui): State<DemoUi>, uri: Uri, headers: HeaderMap) -> Response {
    let Some(challenge) = query(&uri, "login_challenge") else {
        return error_page(StatusCode::BAD_REQUEST, "The login challenge is missing.");
    };
    let req = match ui.provider().login_request(&challenge).await {
        Ok(Challenge::Pending(r)) => r,
        Ok(Challenge::Handled(to)) => return redirect(&to.redirect_to),
        Err(e) => return engine_error(&e),
    };
    if req.skip {
        // The browser is already logged in: confirm it without a form, as Hydra advises.
        let accept = AcceptLogin {
            subject: req.subject.clone(),
            ..Default::default()
        };
        return answer(ui.provider().accept_login(&challenge, accept).await);
    }
    let client = client_name(&req.client);
    ui.form_page(&headers, "login", &challenge, |hidden| {
        format!(
            r#"<h1>Sign in</h1>
<p><b>{client}</b> asks you to sign in.</p>
<form method="post" action="login">{hidden}
<p><label>Username <input name="username" autofocus required></label></p>
<p><label>Password <input name="password" type="password" placeholder="(demo: anything)"></label></p>
<p><label><input type="checkbox" name="remember" value="1"> Remember me</label></p>
<p><button name="action" value="accept">Sign in</button>
<button name="action" value="reject" formnovalidate>Cancel</button></p>
</form>
<p class="note">Demo UI: any username is accepted. Set URLS_LOGIN and URLS_CONSENT to use your own app.</p>"#
        )
    })
}

async fn login_submit(State(ui): State<DemoUi>, headers: HeaderMap, body: Bytes) -> Response {
    let form = parse_form(&body);
    let Some(challenge) = field(&form, "challenge") else {
        return error_page(StatusCode::BAD_REQUEST, "The login challenge is missing.");
    };
    if !ui.csrf_ok("login", challenge, &headers, &form) {
        return csrf_failed();
    }
    let p = ui.provider();
    if field(&form, "action") != Some("accept") {
        return answer(
            p.reject_login(challenge, denied("The user cancelled the login."))
                .await,
        );
    }
    let subject = field(&form, "username").unwrap_or_default().trim();
    if subject.is_empty() {
        return error_page(StatusCode::BAD_REQUEST, "Enter a username.");
    }
    let accept = AcceptLogin {
        subject: subject.to_owned(),
        remember: field(&form, "remember").is_some(),
        amr: vec!["pwd".into()],
        ..Default::default()
    };
    answer(p.accept_login(challenge, accept).await)
}

// ---- consent ----

async fn consent_page(State(ui): State<DemoUi>, uri: Uri, headers: HeaderMap) -> Response {
    let Some(challenge) = query(&uri, "consent_challenge") else {
        return error_page(StatusCode::BAD_REQUEST, "The consent challenge is missing.");
    };
    let req = match ui.provider().consent_request(&challenge).await {
        Ok(Challenge::Pending(r)) => r,
        Ok(Challenge::Handled(to)) => return redirect(&to.redirect_to),
        Err(e) => return engine_error(&e),
    };
    if req.skip {
        // Consent was given and remembered before: grant what is asked again.
        let accept = grant(
            &req.subject,
            &req.requested_scope,
            &req.requested_access_token_audience,
            false,
        );
        return answer(ui.provider().accept_consent(&challenge, accept).await);
    }
    let client = client_name(&req.client);
    let subject = esc(&req.subject);
    let scopes: String = req
        .requested_scope
        .iter()
        .map(|s| {
            let s = esc(s);
            format!(r#"<li><label><input type="checkbox" name="grant_scope" value="{s}" checked> {s}</label></li>"#)
        })
        .collect();
    ui.form_page(&headers, "consent", &challenge, |hidden| {
        format!(
            r#"<h1>Allow access?</h1>
<p>Signed in as <b>{subject}</b>. <b>{client}</b> asks for:</p>
<form method="post" action="consent">{hidden}
<ul>{scopes}</ul>
<p><label><input type="checkbox" name="remember" value="1"> Remember this decision</label></p>
<p><button name="action" value="accept">Allow</button>
<button name="action" value="reject">Deny</button></p>
</form>"#
        )
    })
}

async fn consent_submit(State(ui): State<DemoUi>, headers: HeaderMap, body: Bytes) -> Response {
    let form = parse_form(&body);
    let Some(challenge) = field(&form, "challenge") else {
        return error_page(StatusCode::BAD_REQUEST, "The consent challenge is missing.");
    };
    if !ui.csrf_ok("consent", challenge, &headers, &form) {
        return csrf_failed();
    }
    let p = ui.provider();
    if field(&form, "action") != Some("accept") {
        return answer(
            p.reject_consent(challenge, denied("The user denied access."))
                .await,
        );
    }
    let req = match p.consent_request(challenge).await {
        Ok(Challenge::Pending(r)) => r,
        Ok(Challenge::Handled(to)) => return redirect(&to.redirect_to),
        Err(e) => return engine_error(&e),
    };
    let checked = form.get("grant_scope").cloned().unwrap_or_default();
    // Only what was asked for; the engine refuses anything else anyway.
    let scopes: Vec<String> = req
        .requested_scope
        .iter()
        .filter(|s| checked.contains(s))
        .cloned()
        .collect();
    let remember = field(&form, "remember").is_some();
    let accept = grant(
        &req.subject,
        &scopes,
        &req.requested_access_token_audience,
        remember,
    );
    answer(p.accept_consent(challenge, accept).await)
}

/// A consent for `scopes`; with `profile`, the ID token and userinfo carry a
/// `preferred_username` (the demo's only profile data).
fn grant(subject: &str, scopes: &[String], audience: &[String], remember: bool) -> AcceptConsent {
    let mut accept = AcceptConsent {
        grant_scope: scopes.to_vec(),
        grant_access_token_audience: audience.to_vec(),
        remember,
        ..Default::default()
    };
    if scopes.iter().any(|s| s == "profile") {
        accept
            .session
            .id_token
            .insert("preferred_username".into(), subject.into());
    }
    accept
}

// ---- logout ----

async fn logout_page(State(ui): State<DemoUi>, uri: Uri, headers: HeaderMap) -> Response {
    let Some(challenge) = query(&uri, "logout_challenge") else {
        return error_page(StatusCode::BAD_REQUEST, "The logout challenge is missing.");
    };
    let req = match ui.provider().logout_request(&challenge).await {
        Ok(Challenge::Pending(r)) => r,
        Ok(Challenge::Handled(to)) => return redirect(&to.redirect_to),
        Err(e) => return engine_error(&e),
    };
    let subject = esc(&req.subject);
    ui.form_page(&headers, "logout", &challenge, |hidden| {
        format!(
            r#"<h1>Sign out?</h1>
<p>You are signed in as <b>{subject}</b>.</p>
<form method="post" action="logout">{hidden}
<p><button name="action" value="accept">Yes, sign me out</button>
<button name="action" value="reject">No, stay signed in</button></p>
</form>"#
        )
    })
}

async fn logout_submit(State(ui): State<DemoUi>, headers: HeaderMap, body: Bytes) -> Response {
    let form = parse_form(&body);
    let Some(challenge) = field(&form, "challenge") else {
        return error_page(StatusCode::BAD_REQUEST, "The logout challenge is missing.");
    };
    if !ui.csrf_ok("logout", challenge, &headers, &form) {
        return csrf_failed();
    }
    let p = ui.provider();
    if field(&form, "action") == Some("accept") {
        return answer(p.accept_logout(challenge).await);
    }
    match p.reject_logout(challenge).await {
        Ok(()) => page(
            StatusCode::OK,
            "<h1>Still signed in</h1><p>You chose not to sign out.</p>",
        ),
        Err(e) => engine_error(&e),
    }
}

async fn logged_out() -> Response {
    page(
        StatusCode::OK,
        "<h1>Signed out</h1><p>You have been signed out.</p>",
    )
}

// ---- helpers ----

fn denied(description: &str) -> Rejection {
    Rejection {
        error: "access_denied".into(),
        error_description: description.into(),
        ..Default::default()
    }
}

/// Sends the browser where the engine says, or shows its error.
fn answer(result: portcullis::Result<portcullis::RedirectTo>) -> Response {
    match result {
        Ok(to) => redirect(&to.redirect_to),
        Err(e) => engine_error(&e),
    }
}

fn redirect(to: &str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = to.parse() {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    protect(&mut resp);
    resp
}

fn engine_error(e: &portcullis::Error) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
    error_page(status, e.description())
}

fn csrf_failed() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "The form has expired or did not come from this site (CSRF check failed). Go back and try again.",
    )
}

fn error_page(status: StatusCode, message: &str) -> Response {
    page(status, &format!("<h1>Sorry</h1><p>{}</p>", esc(message)))
}

fn page(status: StatusCode, body: &str) -> Response {
    let html = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>portcullis</title>
<meta name="viewport" content="width=device-width">
<style>body{{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}}.note{{color:#666;font-size:.9em}}</style>
</head><body>{body}</body></html>"#
    );
    let mut resp = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response();
    protect(&mut resp);
    resp
}

/// No caching, no framing (clickjacking), no leaking the challenge in `Referer`.
fn protect(resp: &mut Response) {
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, "no-store".parse().expect("valid"));
    h.insert(header::X_FRAME_OPTIONS, "DENY".parse().expect("valid"));
    h.insert(
        header::REFERRER_POLICY,
        "no-referrer".parse().expect("valid"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        "nosniff".parse().expect("valid"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"
            .parse()
            .expect("valid"),
    );
}

/// HTML-escapes text for element content and quoted attributes.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn client_name(client: &serde_json::Value) -> String {
    let name = client["client_name"]
        .as_str()
        .filter(|n| !n.is_empty())
        .or_else(|| client["client_id"].as_str())
        .unwrap_or("An application");
    esc(name)
}

fn query(uri: &Uri, name: &str) -> Option<String> {
    form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn parse_form(body: &[u8]) -> Form {
    let mut form = Form::new();
    for (k, v) in form_urlencoded::parse(body) {
        form.entry(k.into_owned()).or_default().push(v.into_owned());
    }
    form
}

fn field<'a>(form: &'a Form, name: &str) -> Option<&'a str> {
    form.get(name).and_then(|v| v.first()).map(String::as_str)
}

fn csrf_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, v)| *k == CSRF_COOKIE && v.len() == 43)
        .map(|(_, v)| v.to_owned())
}
