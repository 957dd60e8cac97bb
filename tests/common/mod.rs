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
