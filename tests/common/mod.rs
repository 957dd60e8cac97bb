//! Shared test fixtures.
#![allow(dead_code)]

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

pub struct Fixture {
    pub provider: Provider,
    pub clock: MockClock,
}

pub async fn fixture() -> Fixture {
    fixture_with(|_| {}).await
}

pub async fn fixture_with(edit: impl FnOnce(&mut Config)) -> Fixture {
    let clock = MockClock::default();
    let mut config = Config::new(ISSUER, [7u8; 32]);
    edit(&mut config);
    let provider = Provider::builder(config)
        .store(MemoryStore::new())
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
    use base64::Engine as _;
    let raw = format!(
        "{}:{}",
        client.client.client_id,
        client.client_secret.as_deref().unwrap_or_default()
    );
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

impl Fixture {
    pub async fn client(&self, req: ClientRequest) -> CreatedClient {
        self.provider
            .create_client(req)
            .await
            .expect("client created")
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
                },
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
