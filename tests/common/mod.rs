//! Shared test fixtures.
#![allow(dead_code)]

#[cfg(feature = "postgres")]
pub mod postgres;
pub mod signing_keys;

use portcullis::clock::MockClock;
use portcullis::grant::authorization_code::AuthorizedGrant;
use portcullis::model::{Pkce, PkceMethod, Scope, Session};
use portcullis::storage::MemoryStore;
use portcullis::token::pkce::s256_challenge;
use portcullis::{ClientRequest, Config, CreatedClient, Provider, TokenRequest, TokenResponse};

pub const ISSUER: &str = "https://auth.example.com";
pub const REDIRECT: &str = "https://app.example.com/cb";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// One signer for the whole test binary: RSA key generation is slow.
pub fn signer() -> std::sync::Arc<dyn portcullis::keys::KeySigner> {
    static SIGNER: std::sync::OnceLock<std::sync::Arc<dyn portcullis::keys::KeySigner>> =
        std::sync::OnceLock::new();
    SIGNER
        .get_or_init(|| {
            std::sync::Arc::new(
                portcullis::keys::LocalSigner::generate(&[
                    portcullis::keys::Algorithm::RS256,
                    portcullis::keys::Algorithm::ES256,
                ])
                .expect("keys generate"),
            )
        })
        .clone()
}

/// A unique directory under the system temp dir (not created), removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let mut rnd = [0u8; 8];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut rnd);
        let dir =
            std::env::temp_dir().join(format!("portcullis-{name}-{}", u64::from_le_bytes(rnd)));
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The raw sled database in `dir`, for a test to inspect or tamper with, once a store
/// dropped just before has released it (sled closes its files on background threads).
pub fn raw_sled(dir: &std::path::Path) -> sled::Db {
    let deadline = std::time::Instant::now() + portcullis::storage::sled_store::RELEASE_WAIT;
    loop {
        match sled::open(dir) {
            Ok(db) => return db,
            Err(_) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(e) => panic!("cannot open {}: {e}", dir.display()),
        }
    }
}

pub struct Fixture {
    pub provider: Provider,
    pub clock: MockClock,
}

pub async fn fixture() -> Fixture {
    fixture_with(|_| {}).await
}

pub async fn fixture_with(edit: impl FnOnce(&mut Config)) -> Fixture {
    fixture_on(MemoryStore::new(), edit).await
}

/// A fixture on `store`, its configuration edited.
pub async fn fixture_on(
    store: impl portcullis::storage::Storage,
    edit: impl FnOnce(&mut Config),
) -> Fixture {
    let clock = MockClock::default();
    let mut config = Config::new(ISSUER, [7u8; 32]);
    edit(&mut config);
    let provider = Provider::builder(config)
        .store(store)
        .signer(signer())
        .clock(clock.clone())
        .build()
        .await
        .expect("provider builds");
    Fixture { provider, clock }
}

/// A confidential client with every grant, basic auth.
pub fn web_client() -> ClientRequest {
    ClientRequest {
        client_name: Some("web".into()),
        grant_types: Some(vec![
            "authorization_code".into(),
            "refresh_token".into(),
            "client_credentials".into(),
        ]),
        response_types: Some(vec!["code".into()]),
        redirect_uris: Some(vec![REDIRECT.into()]),
        scope: Some("openid offline_access profile read write".into()),
        audience: Some(vec!["https://api.example.com".into()]),
        ..Default::default()
    }
}

pub fn basic(client: &CreatedClient) -> String {
    basic_auth(
        &client.client.client_id,
        client.client_secret.as_deref().unwrap_or_default(),
    )
}

impl Fixture {
    pub async fn client(&self, req: ClientRequest) -> CreatedClient {
        self.provider
            .create_client(req)
            .await
            .expect("client created")
    }

    /// The stored record of an opaque token (it must exist).
    pub async fn record(&self, token: &str) -> std::sync::Arc<portcullis::model::TokenRecord> {
        self.provider
            .store()
            .get_token(signature_of(token))
            .await
            .expect("store answers")
            .expect("token recorded")
    }

    /// Runs a token request from a form body, with Basic auth for `client` when given.
    pub async fn token(
        &self,
        body: &str,
        client: Option<&CreatedClient>,
    ) -> portcullis::Result<TokenResponse> {
        let auth = client.map(basic);
        let req = TokenRequest::from_form(body.as_bytes(), auth.as_deref())?;
        self.provider.token(req).await
    }

    /// A code for `client_id` with the given scope, bound to REDIRECT and PKCE (VERIFIER).
    pub async fn code(&self, client_id: &str, scope: &str) -> String {
        self.provider
            .issue_authorization_code(AuthorizedGrant {
                client_id: client_id.into(),
                redirect_uri: Some(REDIRECT.into()),
                scope: Scope::parse(scope).unwrap(),
                audience: vec![],
                pkce: Some(Pkce {
                    challenge: s256_challenge(VERIFIER),
                    method: PkceMethod::S256,
                }),
                session: Session {
                    subject: "alice".into(),
                    auth_time: Some(self.provider.now().unix_timestamp()),
                    nonce: Some("n-0S6_WzA2Mj".into()),
                    sid: Some("sid-1".into()),
                    ..Session::default()
                }
                .into(),
            })
            .await
            .expect("code issued")
    }

    /// Exchanges a code with the right redirect URI and verifier.
    pub async fn exchange(
        &self,
        code: &str,
        client: &CreatedClient,
    ) -> portcullis::Result<TokenResponse> {
        self.token(
            &format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
                urlencode(REDIRECT)
            ),
            Some(client),
        )
        .await
    }
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The stored signature of an opaque token (the part after the dot).
pub fn signature_of(token: &str) -> &str {
    token.rsplit_once('.').map(|(_, s)| s).unwrap()
}

/// The parameters of a URL's query, or of its fragment when it has one.
pub fn response_params(url: &str) -> std::collections::HashMap<String, String> {
    let u = url::Url::parse(url).expect("absolute URL");
    let raw = u
        .fragment()
        .map(str::to_owned)
        .unwrap_or_else(|| u.query().unwrap_or_default().to_owned());
    url::form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .collect()
}

/// A browser for the authorization flow: it remembers the session cookie.
pub struct Browser<'a> {
    pub provider: &'a Provider,
    pub cookie: Option<String>,
}

impl<'a> Browser<'a> {
    pub fn new(provider: &'a Provider) -> Self {
        Self {
            provider,
            cookie: None,
        }
    }

    /// GET /oauth2/auth with these parameters.
    pub async fn authorize(&mut self, params: &[(&str, &str)]) -> portcullis::AuthorizeOutcome {
        let p = portcullis::Params::from_pairs(params.iter().map(|(k, v)| (*k, *v)));
        let a = self
            .provider
            .authorize(&p, self.cookie.as_deref())
            .await
            .expect("no internal error");
        if let Some(c) = a.set_cookie {
            self.cookie = Some(c.value);
        }
        a.outcome
    }

    /// Follows a `redirect_to` that points back at the authorization endpoint.
    pub async fn follow(&mut self, redirect_to: &str) -> portcullis::AuthorizeOutcome {
        assert!(
            redirect_to.starts_with(&format!("{ISSUER}/oauth2/auth?")),
            "{redirect_to}"
        );
        let q = response_params(redirect_to);
        let pairs: Vec<(&str, &str)> = q.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        self.authorize(&pairs).await
    }
}

/// The standard code-flow parameters for `client_id`.
pub fn code_flow<'a>(client_id: &'a str, challenge: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("client_id", client_id),
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("scope", "openid offline_access profile"),
        ("state", "st-123"),
        ("nonce", "n-0S6_WzA2Mj"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]
}

pub fn accept_login(subject: &str, remember: bool) -> portcullis::model::AcceptLogin {
    portcullis::model::AcceptLogin {
        subject: subject.into(),
        remember,
        acr: Some("urn:acr:pwd".into()),
        amr: vec!["pwd".into()],
        ..Default::default()
    }
}

pub fn accept_consent(scopes: &[&str], remember: bool) -> portcullis::model::AcceptConsent {
    portcullis::model::AcceptConsent {
        grant_scope: scopes.iter().map(|s| s.to_string()).collect(),
        remember,
        ..Default::default()
    }
}

// Revocation, introspection and userinfo helpers.

/// Claims the consent added: access-token extras (`ext`) and ID-token extras (userinfo).
pub fn rich_session() -> Session {
    let mut access_token_claims = serde_json::Map::new();
    access_token_claims.insert("tenant".into(), "acme".into());
    access_token_claims.insert("roles".into(), serde_json::json!(["admin", "dev"]));
    let mut id_token_claims = serde_json::Map::new();
    id_token_claims.insert("email".into(), "alice@example.com".into());
    id_token_claims.insert("email_verified".into(), true.into());
    // Protected claims an extras map must never override.
    id_token_claims.insert("sub".into(), "mallory".into());
    id_token_claims.insert("iss".into(), "https://evil.example".into());
    id_token_claims.insert("aud".into(), "evil".into());
    Session {
        subject: "alice".into(),
        access_token_claims,
        id_token_claims,
        ..Session::default()
    }
}

impl Fixture {
    /// A code for `client_id` with `scope`, `audience` and a custom session (PKCE with
    /// VERIFIER, bound to REDIRECT).
    pub async fn code_with(
        &self,
        client_id: &str,
        scope: &str,
        audience: &[&str],
        session: Session,
    ) -> String {
        self.provider
            .issue_authorization_code(AuthorizedGrant {
                client_id: client_id.into(),
                redirect_uri: Some(REDIRECT.into()),
                scope: Scope::parse(scope).unwrap(),
                audience: audience.iter().map(|a| a.to_string()).collect(),
                pkce: Some(Pkce {
                    challenge: s256_challenge(VERIFIER),
                    method: PkceMethod::S256,
                }),
                session: session.into(),
            })
            .await
            .expect("code issued")
    }

    /// Access and refresh tokens (and an ID token with `openid`) for `client`, from a code
    /// with `scope` and `session`.
    pub async fn tokens_with(
        &self,
        client: &CreatedClient,
        scope: &str,
        session: Session,
    ) -> TokenResponse {
        let code = self
            .code_with(&client.client.client_id, scope, &[], session)
            .await;
        self.exchange(&code, client).await.expect("code exchanged")
    }

    /// Tokens for `client` with `openid offline_access profile` and [`rich_session`].
    pub async fn tokens(&self, client: &CreatedClient) -> TokenResponse {
        self.tokens_with(client, "openid offline_access profile", rich_session())
            .await
    }

    /// Revokes `token` as `client` (Basic auth).
    pub async fn revoke(
        &self,
        token: &str,
        client: &CreatedClient,
    ) -> portcullis::Result<portcullis::Revocation> {
        let body = format!("token={}", urlencode(token));
        let auth = basic(client);
        let req = portcullis::RevokeRequest::from_form(body.as_bytes(), Some(&auth))?;
        self.provider.revoke(req).await
    }

    /// Introspects `token` (with an optional required `scope`).
    pub async fn introspect_scoped(
        &self,
        token: &str,
        scope: Option<&str>,
    ) -> portcullis::Introspection {
        let mut body = format!("token={}", urlencode(token));
        if let Some(s) = scope {
            body.push_str(&format!("&scope={}", urlencode(s)));
        }
        let req = portcullis::IntrospectRequest::from_form(body.as_bytes()).expect("parses");
        self.provider.introspect(req).await.expect("introspects")
    }

    /// Introspects `token`.
    pub async fn introspect(&self, token: &str) -> portcullis::Introspection {
        self.introspect_scoped(token, None).await
    }

    /// Introspects `token` and serializes the answer as the HTTP layer would.
    pub async fn introspect_json(&self, token: &str) -> String {
        serde_json::to_string(&self.introspect(token).await).unwrap()
    }

    /// Whether a refresh with `refresh_token` as `client` succeeds.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        client: &CreatedClient,
    ) -> portcullis::Result<TokenResponse> {
        self.token(
            &format!("grant_type=refresh_token&refresh_token={refresh_token}"),
            Some(client),
        )
        .await
    }
}

/// The answer for every inactive token, exactly.
pub const INACTIVE: &str = r#"{"active":false}"#;

/// Verifies a JWT signed by the provider with the key its JWKS publishes, checking `iss`
/// and, when given, `aud`; returns the header and claims.
pub fn verify_jwt(
    provider: &Provider,
    token: &str,
    aud: Option<&str>,
) -> (jsonwebtoken::Header, serde_json::Value) {
    let header = jsonwebtoken::decode_header(token).expect("a JWS header");
    let jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_value(provider.signer().jwks()).expect("a JWK set");
    let jwk = jwks
        .find(header.kid.as_deref().expect("a kid"))
        .expect("kid published");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).expect("a usable key");
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.validate_exp = false; // the mock clock is in 2026-01-01, not today
    v.required_spec_claims.clear();
    v.set_issuer(&[ISSUER]);
    match aud {
        Some(a) => v.set_audience(&[a]),
        None => v.validate_aud = false,
    }
    let claims = jsonwebtoken::decode::<serde_json::Value>(token, &key, &v)
        .expect("signature and claims verify")
        .claims;
    (header, claims)
}

/// Sends the same token request `n` times at once; the successful responses. Every failure
/// must be `invalid_grant` (a lost race is never an internal error).
pub async fn concurrent_token_requests(
    f: &Fixture,
    client: &CreatedClient,
    body: &str,
    n: usize,
) -> Vec<TokenResponse> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (provider, body, auth) = (f.provider.clone(), body.to_owned(), basic(client));
            tokio::spawn(async move {
                let req = TokenRequest::from_form(body.as_bytes(), Some(&auth))?;
                provider.token(req).await
            })
        })
        .collect();
    let mut wins = Vec::new();
    for t in tasks {
        match t.await.expect("task ran") {
            Ok(r) => wins.push(r),
            Err(e) => assert_eq!(e.code(), portcullis::ErrorCode::InvalidGrant, "{e}"),
        }
    }
    wins
}

// ---- HTTP helpers (tests/http_*.rs) ----

/// A test client for `portcullis::http::Server`: builds requests, remembers the session
/// cookie like a browser.
pub struct Http {
    pub server: portcullis::http::Server,
    pub cookie: Option<String>,
}

impl Http {
    pub fn new(provider: &Provider) -> Self {
        Self {
            server: portcullis::http::Server::new(provider.clone()),
            cookie: None,
        }
    }

    /// Sends a request through `Server::handle`; picks up `Set-Cookie` for the session.
    pub async fn send(
        &mut self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: impl Into<bytes::Bytes>,
    ) -> http::Response<bytes::Bytes> {
        let mut b = http::Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        if let Some(c) = &self.cookie {
            b = b.header("cookie", format!("portcullis_session={c}"));
        }
        let resp = self
            .server
            .handle(b.body(body.into()).expect("valid test request"))
            .await;
        for v in resp.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap();
            if let Some(rest) = v.strip_prefix("portcullis_session=") {
                let value = rest.split(';').next().unwrap_or_default();
                self.cookie = (!v.contains("Max-Age=0")).then(|| value.to_owned());
            }
        }
        resp
    }

    pub async fn get(&mut self, uri: &str) -> http::Response<bytes::Bytes> {
        self.send("GET", uri, &[], bytes::Bytes::new()).await
    }

    /// A JSON request.
    pub async fn json(
        &mut self,
        method: &str,
        uri: &str,
        body: &serde_json::Value,
    ) -> http::Response<bytes::Bytes> {
        self.send(
            method,
            uri,
            &[("content-type", "application/json")],
            serde_json::to_vec(body).unwrap(),
        )
        .await
    }

    /// A form POST, with an optional Authorization header.
    pub async fn form(
        &mut self,
        uri: &str,
        body: &str,
        authorization: Option<&str>,
    ) -> http::Response<bytes::Bytes> {
        let mut headers = vec![("content-type", "application/x-www-form-urlencoded")];
        if let Some(a) = authorization {
            headers.push(("authorization", a));
        }
        self.send("POST", uri, &headers, body.to_owned()).await
    }
}

/// Creates a client with a POST of `body` to `path` (v2's `/admin/clients` or v1's
/// `/clients`): its id and secret.
pub async fn create_client_at(
    h: &mut Http,
    path: &str,
    body: serde_json::Value,
) -> (String, String) {
    let resp = h.json("POST", path, &body).await;
    assert_eq!(resp.status(), 201, "{:?}", body_json(&resp));
    let c = body_json(&resp);
    (
        c["client_id"].as_str().unwrap().to_owned(),
        c["client_secret"].as_str().unwrap_or_default().to_owned(),
    )
}

/// A web client as the admin API takes it: the code flow, refresh, and every logout
/// channel.
pub fn web_client_json() -> serde_json::Value {
    serde_json::json!({
        "client_name": "web",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "redirect_uris": [REDIRECT],
        "scope": "openid offline_access profile",
        "post_logout_redirect_uris": ["https://app.example.com/bye"],
        "frontchannel_logout_uri": "https://app.example.com/fc",
        "frontchannel_logout_session_required": true,
        "backchannel_logout_uri": "https://app.example.com/bc",
    })
}

/// `/oauth2/auth` for a [`code_flow`] of `client_id`, with the PKCE challenge of
/// [`VERIFIER`].
pub fn authorize_uri(client_id: &str) -> String {
    let ch = portcullis::token::pkce::s256_challenge(VERIFIER);
    let q = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(code_flow(client_id, &ch))
        .finish();
    format!("/oauth2/auth?{q}")
}

/// Creates a client through `POST /admin/clients`: its id and secret.
pub async fn create_client(h: &mut Http, body: serde_json::Value) -> (String, String) {
    create_client_at(h, "/admin/clients", body).await
}

/// `Authorization: Basic` for a client id and secret (neither needing form-encoding).
pub fn basic_auth(id: &str, secret: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

/// The body as JSON.
pub fn body_json(resp: &http::Response<bytes::Bytes>) -> serde_json::Value {
    serde_json::from_slice(resp.body())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(resp.body())))
}

/// A header's value.
pub fn header<'a>(resp: &'a http::Response<bytes::Bytes>, name: &str) -> Option<&'a str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The `Location` of a 303, path and query relative to the issuer when it is ours.
pub fn location(resp: &http::Response<bytes::Bytes>) -> String {
    assert_eq!(
        resp.status(),
        303,
        "{:?}",
        String::from_utf8_lossy(resp.body())
    );
    header(resp, "location").expect("a Location").to_owned()
}

/// A URL of ours as a request target (path and query).
pub fn local(url: &str) -> String {
    url.strip_prefix(ISSUER).unwrap_or(url).to_owned()
}

/// The value of query parameter `name` in `url`.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    response_params(url).remove(name)
}

/// The environment variable naming the PostgreSQL server the PostgreSQL tests run on
/// (`postgres://user:password@host/db`); `.ci/run` starts one and sets it.
pub const POSTGRES_ENV: &str = "PORTCULLIS_TEST_POSTGRES";

/// The URL of a fresh, empty schema on the server [`POSTGRES_ENV`] names (so tests
/// running at once do not meet); `None`, with a note, when it names none.
#[cfg(feature = "postgres")]
pub async fn postgres_schema() -> Option<String> {
    let Ok(url) = std::env::var(POSTGRES_ENV) else {
        eprintln!("{POSTGRES_ENV} is not set: the PostgreSQL store is not tested");
        return None;
    };
    Some(postgres::fresh_schema(&url).await)
}

/// A [`PostgresStore`](portcullis::storage::PostgresStore) in a fresh schema (see
/// [`postgres_schema`]).
#[cfg(feature = "postgres")]
pub async fn postgres_store() -> Option<portcullis::storage::PostgresStore> {
    let url = postgres_schema().await?;
    Some(
        portcullis::storage::PostgresStore::connect(&url)
            .await
            .expect("the PostgreSQL store connects"),
    )
}

/// A JWT-bearer trust relationship of `issuer` (`subject` empty for any subject) with an
/// EC key `kid`, created and expiring at these unix times.
pub fn trust_relationship(
    id: &str,
    issuer: &str,
    subject: &str,
    kid: &str,
    created_at: i64,
    expires_at: i64,
) -> portcullis::model::TrustedIssuer {
    let at = |s: i64| time::OffsetDateTime::from_unix_timestamp(s).unwrap();
    portcullis::model::TrustedIssuer {
        id: id.to_owned(),
        issuer: issuer.to_owned(),
        subject: subject.to_owned(),
        allow_any_subject: subject.is_empty(),
        scope: vec!["read".to_owned(), "write".to_owned()],
        public_key: portcullis::model::TrustedKey {
            set: issuer.to_owned(),
            kid: kid.to_owned(),
        },
        jwk: serde_json::json!({"kty": "EC", "crv": "P-256", "kid": kid, "x": "AA", "y": "AA"}),
        expires_at: at(expires_at),
        created_at: at(created_at),
    }
}
