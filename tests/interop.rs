//! Interoperability: the axum reference server's routers, on ephemeral ports, driven by
//! independent client libraries rather than our own code. `openidconnect` discovers the
//! provider, runs the authorization code flow with PKCE, verifies the ID token against the
//! JWKS, calls userinfo and refreshes; `oauth2` introspects (on the admin port, as in
//! Hydra) and revokes. The login and consent steps go through the admin API over HTTP, as
//! an external login app would, with reqwest as the browser.

#[path = "../examples/axum_server/app.rs"]
#[allow(dead_code)] // the jwks_uri fetcher: tests/reference_outbound.rs
mod app;

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessToken, AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, RefreshToken, Scope,
    TokenResponse as _,
};
use portcullis::storage::MemoryStore;
use portcullis::{Config, Provider};
use serde_json::{json, Value};

const REDIRECT: &str = "http://127.0.0.1:9/callback";

struct Running {
    issuer: String,
    admin: String,
    /// The browser and the clients' HTTP client: never follows redirects.
    http: reqwest::Client,
}

/// Starts the reference server's public and admin routers with external login and consent
/// URLs (the demo UI off).
async fn start() -> Running {
    let public = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", public.local_addr().unwrap());
    let mut config = Config::new(issuer.clone(), [42u8; 32]);
    config.urls.login = "http://127.0.0.1:9/login".into();
    config.urls.consent = "http://127.0.0.1:9/consent".into();
    let provider = Provider::builder(config)
        .store(MemoryStore::new())
        .build()
        .await
        .expect("provider builds");
    let server =
        app::server(provider, app::outbound::Outbound::public_only()).expect("HTTP client builds");
    let admin_base = format!("http://{}", admin.local_addr().unwrap());
    let public_app = app::public_router(server.clone(), None);
    tokio::spawn(async move { axum::serve(public, public_app).await });
    tokio::spawn(async move { axum::serve(admin, app::admin_router(server)).await });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Running {
        issuer,
        admin: admin_base,
        http,
    }
}

impl Running {
    async fn admin_json(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.admin));
        if !body.is_null() {
            req = req
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let resp = req.send().await.unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap()
    }

    /// A GET as a browser: the `Location` of the redirect (no cookies needed: the flow is
    /// carried by the challenge and verifier).
    async fn follow(&self, url: &str) -> url::Url {
        let resp = self.http.get(url).send().await.unwrap();
        assert_eq!(resp.status(), 303, "{url}");
        let to = resp.headers()["location"].to_str().unwrap();
        url::Url::parse(to).unwrap()
    }
}

fn param(url: &url::Url, name: &str) -> String {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

/// The login and consent steps, through the admin API; the code the client receives.
async fn login_and_consent(s: &Running, authorize_url: &str, subject: &str) -> url::Url {
    let to = s.follow(authorize_url).await;
    assert!(to.as_str().starts_with("http://127.0.0.1:9/login?"), "{to}");
    let challenge = param(&to, "login_challenge");
    let login = s
        .admin_json(
            reqwest::Method::GET,
            &format!("/admin/oauth2/auth/requests/login?login_challenge={challenge}"),
            Value::Null,
        )
        .await;
    assert_eq!(login["skip"], false);
    let accepted = s
        .admin_json(
            reqwest::Method::PUT,
            &format!("/admin/oauth2/auth/requests/login/accept?login_challenge={challenge}"),
            json!({ "subject": subject, "amr": ["pwd"] }),
        )
        .await;
    let to = s.follow(accepted["redirect_to"].as_str().unwrap()).await;
    assert!(
        to.as_str().starts_with("http://127.0.0.1:9/consent?"),
        "{to}"
    );
    let challenge = param(&to, "consent_challenge");
    let q: String = url::form_urlencoded::byte_serialize(challenge.as_bytes()).collect();
    let consent = s
        .admin_json(
            reqwest::Method::GET,
            &format!("/admin/oauth2/auth/requests/consent?consent_challenge={q}"),
            Value::Null,
        )
        .await;
    let accepted = s
        .admin_json(
            reqwest::Method::PUT,
            &format!("/admin/oauth2/auth/requests/consent/accept?consent_challenge={q}"),
            json!({
                "grant_scope": consent["requested_scope"],
                "session": { "id_token": { "email": "alice@example.com" } },
            }),
        )
        .await;
    s.follow(accepted["redirect_to"].as_str().unwrap()).await
}

#[tokio::test]
async fn openidconnect_and_oauth2_crates_complete_a_flow() {
    let s = start().await;
    let created = s
        .admin_json(
            reqwest::Method::POST,
            "/admin/clients",
            json!({
                "client_name": "interop",
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "redirect_uris": [REDIRECT],
                "scope": "openid offline_access email",
            }),
        )
        .await;
    let client_id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();

    // Discovery (and the JWKS it points at), by openidconnect.
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(s.issuer.clone()).unwrap(), &s.http)
            .await
            .expect("discovery document accepted");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id.clone()),
        Some(ClientSecret::new(secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());

    let (pkce, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("offline_access".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(pkce)
        .url();
    let back = login_and_consent(&s, url.as_str(), "alice").await;
    assert!(back.as_str().starts_with(REDIRECT), "{back}");
    assert_eq!(&param(&back, "state"), state.secret());
    assert_eq!(param(&back, "iss"), s.issuer);

    let tokens = client
        .exchange_code(AuthorizationCode::new(param(&back, "code")))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&s.http)
        .await
        .expect("code exchanged");

    // The ID token: signature against the JWKS, iss, aud, exp, nonce, at_hash.
    let id_token = tokens.id_token().expect("an ID token");
    let id_verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&id_verifier, &nonce)
        .expect("ID token verifies");
    assert_eq!(claims.subject().as_str(), "alice");
    assert_eq!(
        claims.email().map(|e| e.as_str()),
        Some("alice@example.com")
    );
    let at_hash = claims.access_token_hash().expect("at_hash");
    let expected = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&id_verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(at_hash, &expected);

    // Userinfo, with the subject checked by openidconnect.
    let info: CoreUserInfoClaims = client
        .user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )
        .unwrap()
        .request_async(&s.http)
        .await
        .expect("userinfo");
    assert_eq!(info.subject().as_str(), "alice");
    assert_eq!(info.email().map(|e| e.as_str()), Some("alice@example.com"));

    // Refresh: a new pair; the old refresh token is spent.
    let refresh = tokens.refresh_token().expect("a refresh token").clone();
    let refreshed = client
        .exchange_refresh_token(&refresh)
        .unwrap()
        .request_async(&s.http)
        .await
        .expect("refreshed");
    let new_refresh = refreshed.refresh_token().expect("rotated").clone();
    assert_ne!(new_refresh.secret(), refresh.secret());

    // The oauth2 crate: introspection on the admin port, revocation on the public one.
    let oauth = oauth2::basic::BasicClient::new(oauth2::ClientId::new(client_id.clone()))
        .set_client_secret(oauth2::ClientSecret::new(secret))
        .set_introspection_url(
            oauth2::IntrospectionUrl::new(format!("{}/admin/oauth2/introspect", s.admin)).unwrap(),
        )
        .set_revocation_url(
            // oauth2 refuses a revocation URL that is not https (RFC 7009 §2); the test has
            // no TLS, so the URL says https and `tls_terminator` below sends it over http.
            oauth2::RevocationUrl::new(format!(
                "{}/oauth2/revoke",
                s.issuer.replacen("http:", "https:", 1)
            ))
            .unwrap(),
        );
    let access = AccessToken::new(refreshed.access_token().secret().clone());
    let intro = oauth
        .introspect(&access)
        .request_async(&s.http)
        .await
        .expect("introspection");
    use oauth2::TokenIntrospectionResponse as _;
    assert!(intro.active());
    assert_eq!(
        intro.client_id().map(|c| c.as_str()),
        Some(client_id.as_str())
    );
    assert_eq!(intro.sub(), Some("alice"));
    let scopes: Vec<String> = intro
        .scopes()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert!(scopes.contains(&"openid".to_owned()) && scopes.contains(&"email".to_owned()));

    // Revoking the refresh token revokes its family, access token included.
    let tls_terminator = |mut req: oauth2::HttpRequest| {
        let http = s.http.clone();
        async move {
            let uri = req.uri().to_string().replacen("https:", "http:", 1);
            *req.uri_mut() = uri.parse().unwrap();
            let resp = http.execute(req.try_into().unwrap()).await?;
            let status = resp.status();
            let mut out = oauth2::HttpResponse::new(resp.bytes().await?.to_vec());
            *out.status_mut() = status;
            Ok::<_, reqwest::Error>(out)
        }
    };
    oauth
        .revoke_token(oauth2::StandardRevocableToken::RefreshToken(
            oauth2::RefreshToken::new(new_refresh.secret().clone()),
        ))
        .expect("an https revocation URL")
        .request_async(&tls_terminator)
        .await
        .expect("revoked");
    let intro = oauth
        .introspect(&access)
        .request_async(&s.http)
        .await
        .expect("introspection");
    assert!(!intro.active());
    let again = client
        .exchange_refresh_token(&RefreshToken::new(new_refresh.secret().clone()))
        .unwrap()
        .request_async(&s.http)
        .await;
    assert!(again.is_err(), "a revoked refresh token is refused");
}

/// The demo UI of the reference server: framing refused, output escaped, forms refused
/// without the CSRF cookie and field, and a login and consent through its forms.
#[tokio::test]
async fn demo_ui_forms_are_csrf_protected_and_complete_a_flow() {
    let public = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", public.local_addr().unwrap());
    let provider = Provider::builder(Config::new(issuer.clone(), [43u8; 32]))
        .store(MemoryStore::new())
        .build()
        .await
        .unwrap();
    let server = portcullis::http::Server::new(provider.clone());
    let demo = app::demo_ui::DemoUi::new(provider.clone());
    let router = app::public_router(server.clone(), Some(demo));
    tokio::spawn(async move { axum::serve(public, router).await });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let created = provider
        .create_client(portcullis::ClientRequest {
            token_endpoint_auth_method: Some("none".into()),
            grant_types: Some(vec!["authorization_code".into()]),
            response_types: Some(vec!["code".into()]),
            redirect_uris: Some(vec![REDIRECT.into()]),
            scope: Some("openid profile".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let (pkce, verifier) = PkceCodeChallenge::new_random_sha256();
    let auth = format!(
        "{issuer}/oauth2/auth?client_id={}&response_type=code&scope=openid+profile&state=st-12345678&redirect_uri={}&code_challenge={}&code_challenge_method=S256",
        created.client.client_id,
        url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>(),
        pkce.as_str()
    );
    let location = |r: &reqwest::Response| {
        assert_eq!(r.status(), 303);
        r.headers()["location"].to_str().unwrap().to_owned()
    };
    let login = location(&http.get(&auth).send().await.unwrap());
    assert!(login.starts_with(&format!("{issuer}/ui/login?")), "{login}");

    // The form page: not frameable, a CSRF cookie and a hidden field.
    let (cookie, fields) = form_page(&http, &login).await;
    let post = |path: &str, cookie: Option<&str>, body: Vec<(&str, &str)>| {
        let mut r = http.post(format!("{issuer}{path}")).form(&body);
        if let Some(c) = cookie {
            r = r.header("cookie", c);
        }
        r.send()
    };
    let mut body = vec![
        ("challenge", fields.0.as_str()),
        ("csrf", fields.1.as_str()),
        ("username", "<b>mallory</b>"),
        ("action", "accept"),
    ];
    let no_cookie = post("/ui/login", None, body.clone()).await.unwrap();
    assert_eq!(no_cookie.status(), 403);
    let other_cookie = format!("portcullis_ui_csrf={}", "A".repeat(43));
    let forged = post("/ui/login", Some(&other_cookie), body.clone())
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    body[1].1 = "bm90LXRoZS10b2tlbg";
    let wrong_field = post("/ui/login", Some(&cookie), body.clone())
        .await
        .unwrap();
    assert_eq!(wrong_field.status(), 403);
    body[1].1 = fields.1.as_str();
    let accepted = post("/ui/login", Some(&cookie), body).await.unwrap();
    let next = location(&accepted);
    assert!(next.starts_with(&format!("{issuer}/oauth2/auth?login_verifier=")));

    let consent = location(&http.get(&next).send().await.unwrap());
    assert!(
        consent.starts_with(&format!("{issuer}/ui/consent?")),
        "{consent}"
    );
    let resp = http
        .get(&consent)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let html = resp.text().await.unwrap();
    assert!(html.contains("&lt;b&gt;mallory&lt;/b&gt;") && !html.contains("<b>mallory"));
    assert!(html.contains(r#"name="grant_scope" value="profile""#));
    let (cookie, fields) = form_page(&http, &consent).await;
    let granted = post(
        "/ui/consent",
        Some(&cookie),
        vec![
            ("challenge", &fields.0),
            ("csrf", &fields.1),
            ("grant_scope", "openid"),
            ("action", "accept"),
        ],
    )
    .await
    .unwrap();
    let back = location(&http.get(location(&granted)).send().await.unwrap());
    let back = url::Url::parse(&back).unwrap();
    assert!(back.as_str().starts_with(REDIRECT), "{back}");
    let code = param(&back, "code");
    let tokens = http
        .post(format!("{issuer}/oauth2/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", &created.client.client_id),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier.secret()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(tokens.status(), 200);
    let tokens: Value = serde_json::from_slice(&tokens.bytes().await.unwrap()).unwrap();
    assert_eq!(
        tokens["scope"], "openid",
        "only the checked scope is granted"
    );
}

/// Loads a demo UI form: checks the anti-framing headers; answers the CSRF cookie (as a
/// `Cookie` header) and the hidden `challenge` and `csrf` fields.
async fn form_page(http: &reqwest::Client, url: &str) -> (String, (String, String)) {
    let resp = http.get(url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let h = resp.headers();
    assert_eq!(h["x-frame-options"], "DENY");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(h["cache-control"], "no-store");
    let set = h["set-cookie"].to_str().unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap().to_owned();
    let html = resp.text().await.unwrap();
    let hidden = |name: &str| {
        let marker = format!(r#"name="{name}" value=""#);
        let start = html.find(&marker).unwrap() + marker.len();
        html[start..].split('"').next().unwrap().to_owned()
    };
    (cookie, (hidden("challenge"), hidden("csrf")))
}
