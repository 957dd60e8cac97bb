//! Shared setup for the benchmarks: runtimes, stores, signers, providers, clients and the
//! requests they send.
//!
//! Every benchmark runs on a current-thread tokio runtime (one core, no scheduler hops)
//! and times whole engine operations: parsing the request, authenticating the client,
//! the grant, signing and storing.
//!
//! State is fresh per criterion sample: [`Fixture::new`] builds a new store, provider and
//! client, untimed, and the sample times its iterations against it (see [`run`]). Setup
//! that belongs to one iteration (a code to redeem, a refresh token to rotate) is made
//! for the whole sample before the timer starts, as `iter_batched` would, and the store
//! never grows past one sample's worth of records.
#![allow(dead_code)]

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion};
use portcullis::grant::authorization_code::AuthorizedGrant;
use portcullis::keys::{Algorithm, KeySigner};
use portcullis::model::{AcceptConsent, AcceptLogin, Pkce, PkceMethod, Scope, Session};
use portcullis::storage::{MemoryStore, SledStore, Storage};
use portcullis::token::pkce::s256_challenge;
use portcullis::{ClientRequest, Config, Params, Provider, TokenRequest, TokenResponse};
use tokio::runtime::Runtime;

pub const ISSUER: &str = "https://auth.example.com";
pub const REDIRECT: &str = "https://app.example.com/cb";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// A single-threaded runtime: the engine's cost on one core (with the IO driver, which
/// only the PostgreSQL store uses).
pub fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime")
}

/// The environment variable naming the PostgreSQL server the `postgres` rows of
/// `benches/targets` run on (`postgres://user:password@host/db`; each fixture creates a
/// schema of its own there).
pub const POSTGRES_ENV: &str = "PORTCULLIS_BENCH_POSTGRES";

/// Criterion with the defaults overridden only where the environment asks for it.
pub fn criterion() -> Criterion {
    Criterion::default().configure_from_args()
}

/// The stores the engine benchmarks run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Memory,
    Sled,
    /// On the server [`POSTGRES_ENV`] names (feature `postgres`).
    Postgres,
}

impl Store {
    pub const ALL: [Store; 2] = [Store::Memory, Store::Sled];

    pub fn name(self) -> &'static str {
        match self {
            Store::Memory => "memory",
            Store::Sled => "sled",
            Store::Postgres => "postgres",
        }
    }

    async fn open(self) -> Arc<dyn Storage> {
        match self {
            Store::Memory => Arc::new(MemoryStore::new()),
            Store::Sled => Arc::new(SledStore::temporary().expect("a temporary sled store")),
            Store::Postgres => postgres().await,
        }
    }
}

#[cfg(feature = "postgres")]
#[path = "../../tests/common/postgres.rs"]
mod postgres;

/// A PostgreSQL store in a fresh schema on the server [`POSTGRES_ENV`] names.
#[cfg(feature = "postgres")]
async fn postgres() -> Arc<dyn Storage> {
    let url = std::env::var(POSTGRES_ENV).unwrap_or_else(|_| panic!("{POSTGRES_ENV} is not set"));
    let url = postgres::fresh_schema(&url).await;
    Arc::new(
        portcullis::storage::PostgresStore::connect(&url)
            .await
            .expect("the PostgreSQL store connects"),
    )
}

#[cfg(not(feature = "postgres"))]
async fn postgres() -> Arc<dyn Storage> {
    panic!("the PostgreSQL store needs the `postgres` feature")
}

/// The signer backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// [`portcullis::keys::LocalSigner`]: pure Rust, the default.
    Local,
    /// [`portcullis::keys::AwsLcSigner`].
    #[cfg(feature = "aws-lc")]
    AwsLc,
}

impl Backend {
    /// Every backend compiled in.
    pub fn all() -> Vec<Backend> {
        vec![
            Backend::Local,
            #[cfg(feature = "aws-lc")]
            Backend::AwsLc,
        ]
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Local => "local",
            #[cfg(feature = "aws-lc")]
            Backend::AwsLc => "aws-lc",
        }
    }

    /// One RS256 + ES256 keyring per backend for the whole run (RSA key generation is
    /// slow); every provider of that backend signs with it.
    pub fn signer(self) -> Arc<dyn KeySigner> {
        const ALGS: [Algorithm; 2] = [Algorithm::RS256, Algorithm::ES256];
        static LOCAL: OnceLock<Arc<dyn KeySigner>> = OnceLock::new();
        #[cfg(feature = "aws-lc")]
        static AWS_LC: OnceLock<Arc<dyn KeySigner>> = OnceLock::new();
        match self {
            Backend::Local => LOCAL
                .get_or_init(|| {
                    Arc::new(portcullis::keys::LocalSigner::generate(&ALGS).expect("keys"))
                })
                .clone(),
            #[cfg(feature = "aws-lc")]
            Backend::AwsLc => AWS_LC
                .get_or_init(|| {
                    Arc::new(portcullis::keys::AwsLcSigner::generate(&ALGS).expect("keys"))
                })
                .clone(),
        }
    }
}

/// The lowercase name of an algorithm, for bench ids.
pub fn alg_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::ES256 => "es256",
        Algorithm::RS256 => "rs256",
    }
}

pub const ALGS: [Algorithm; 2] = [Algorithm::ES256, Algorithm::RS256];

/// A typical claims payload: an RFC 9068 access token of a few hundred bytes, as the
/// engine signs for `client_credentials`.
pub fn typical_claims() -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "iss": ISSUER,
        "sub": "9f3c2b1e-7a4d-4e8f-b6c5-0d1e2f3a4b5c",
        "aud": ["https://api.example.com"],
        "exp": 1_767_229_200,
        "iat": 1_767_225_600,
        "nbf": 1_767_225_600,
        "jti": "q7R2xW9vK1mN3pL5tY8zAb",
        "client_id": "9f3c2b1e-7a4d-4e8f-b6c5-0d1e2f3a4b5c",
        "scope": "read write",
    }))
    .expect("claims encode")
}

/// How the client issues access tokens and signs ID tokens.
#[derive(Debug, Clone, Copy)]
pub enum Tokens {
    /// Opaque access tokens (the default).
    Opaque,
    /// RFC 9068 JWT access tokens signed with this algorithm.
    Jwt(Algorithm),
    /// Opaque access tokens, ID tokens signed with this algorithm.
    IdToken(Algorithm),
}

/// A provider on a fresh store with one confidential client (server-generated secret,
/// `client_secret_basic`) that may use every grant the benches need.
pub struct Fixture {
    pub provider: Provider,
    pub client_id: String,
    /// `Authorization: Basic …` for the client.
    pub basic: String,
}

impl Fixture {
    pub async fn new(store: Store, backend: Backend, tokens: Tokens) -> Fixture {
        Self::with_signer(store, backend.signer(), tokens).await
    }

    /// Like [`new`](Self::new), with this signer.
    pub async fn with_signer(store: Store, signer: Arc<dyn KeySigner>, tokens: Tokens) -> Fixture {
        let mut config = Config::new(ISSUER, [7u8; 32]);
        if let Tokens::Jwt(alg) = tokens {
            config.access_token_alg = alg;
        }
        let provider = Provider::builder(config)
            .shared_store(store.open().await)
            .signer(signer)
            .build()
            .await
            .expect("provider builds");
        let created = provider
            .create_client(ClientRequest {
                client_name: Some("bench".into()),
                grant_types: Some(vec![
                    "authorization_code".into(),
                    "refresh_token".into(),
                    "client_credentials".into(),
                ]),
                response_types: Some(vec!["code".into()]),
                redirect_uris: Some(vec![REDIRECT.into()]),
                scope: Some("openid offline_access profile read write".into()),
                audience: Some(vec!["https://api.example.com".into()]),
                access_token_strategy: matches!(tokens, Tokens::Jwt(_)).then(|| "jwt".into()),
                id_token_signed_response_alg: match tokens {
                    Tokens::IdToken(alg) => Some(alg.as_str().into()),
                    _ => None,
                },
                ..Default::default()
            })
            .await
            .expect("client created");
        let client_id = created.client.client_id;
        let secret = created.client_secret.expect("a generated secret");
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"))
        );
        Fixture {
            provider,
            client_id,
            basic,
        }
    }

    /// A token request as the token endpoint receives it: parse the form body and the
    /// Basic header, then run it (client authentication included).
    pub async fn token(&self, body: &str) -> TokenResponse {
        let request =
            TokenRequest::from_form(body.as_bytes(), Some(&self.basic)).expect("request parses");
        self.provider.token(request).await.expect("tokens issued")
    }

    /// A code for the client, as the authorization endpoint would record it after login
    /// and consent: bound to [`REDIRECT`] and PKCE ([`VERIFIER`]), with an OpenID session.
    pub async fn code(&self, scope: &Scope) -> String {
        self.provider
            .issue_authorization_code(AuthorizedGrant {
                client_id: self.client_id.clone(),
                redirect_uri: Some(REDIRECT.into()),
                scope: scope.clone(),
                audience: vec![],
                pkce: Some(Pkce {
                    challenge: s256_challenge(VERIFIER),
                    method: PkceMethod::S256,
                }),
                session: Session {
                    subject: "alice".into(),
                    auth_time: Some(self.provider.now().unix_timestamp()),
                    acr: Some("urn:acr:pwd".into()),
                    amr: vec!["pwd".into()],
                    nonce: Some("n-0S6_WzA2Mj".into()),
                    sid: Some("3f0c6a8e-sid".into()),
                    ..Session::default()
                }
                .into(),
            })
            .await
            .expect("code issued")
    }

    /// A full authorization-code flow in the engine, as a browser, the login and consent
    /// apps and the client drive it: authorize → accept_login → follow the login verifier
    /// → accept_consent → follow the consent verifier → redeem the code with PKCE.
    pub async fn code_flow(&self, subject: &str) -> TokenResponse {
        use portcullis::AuthorizeOutcome;
        let p = &self.provider;
        // The client's work, not the server's: its PKCE challenge, computed once.
        static CHALLENGE: OnceLock<String> = OnceLock::new();
        let challenge = CHALLENGE.get_or_init(|| s256_challenge(VERIFIER));
        let params = Params::from_pairs([
            ("client_id", self.client_id.as_str()),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("scope", "openid offline_access profile"),
            ("state", "st-123"),
            ("nonce", "n-0S6_WzA2Mj"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ]);
        let out = p.authorize(&params, None).await.expect("authorize");
        let AuthorizeOutcome::Login { challenge, .. } = out.outcome else {
            panic!("expected the login app, got {:?}", out.outcome)
        };
        let login = AcceptLogin {
            subject: subject.into(),
            acr: Some("urn:acr:pwd".into()),
            amr: vec!["pwd".into()],
            ..Default::default()
        };
        let to = p.accept_login(&challenge, login).await.expect("login");
        let out = p
            .authorize(&query(&to.redirect_to), None)
            .await
            .expect("login verifier");
        let AuthorizeOutcome::Consent { challenge, .. } = out.outcome else {
            panic!("expected the consent app, got {:?}", out.outcome)
        };
        let consent = AcceptConsent {
            grant_scope: vec!["openid".into(), "offline_access".into(), "profile".into()],
            ..Default::default()
        };
        let to = p
            .accept_consent(&challenge, consent)
            .await
            .expect("consent");
        let out = p
            .authorize(&query(&to.redirect_to), None)
            .await
            .expect("consent verifier");
        let AuthorizeOutcome::Redirect(url) = out.outcome else {
            panic!("expected the redirect to the client, got {:?}", out.outcome)
        };
        let code = query(&url)
            .get("code")
            .ok()
            .flatten()
            .expect("a code")
            .to_owned();
        self.token(&exchange_body(&code)).await
    }
}

/// The query of a URL, decoded.
pub fn query(url: &str) -> Params {
    let q = url.split_once('?').map_or("", |(_, q)| q);
    Params::parse(q.as_bytes())
}

/// The form body of a `client_credentials` request.
pub const CLIENT_CREDENTIALS: &str = "grant_type=client_credentials&scope=read%20write";

/// The form body redeeming `code` with the redirect URI and the PKCE verifier.
pub fn exchange_body(code: &str) -> String {
    format!(
        "grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&code_verifier={VERIFIER}"
    )
}

/// The form body rotating `refresh_token`.
pub fn refresh_body(refresh_token: &str) -> String {
    format!("grant_type=refresh_token&refresh_token={refresh_token}")
}

/// Times `iters` runs of `op` against a fresh fixture per sample. `prepare` makes each
/// iteration's input before the timer starts (codes to redeem, tokens to rotate).
pub fn run<I, O>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &Runtime,
    id: &str,
    (store, backend, tokens): (Store, Backend, Tokens),
    prepare: impl AsyncFn(&Fixture, u64) -> I,
    op: impl AsyncFn(&Fixture, I) -> O,
) {
    group.bench_function(id, |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let fx = Fixture::new(store, backend, tokens).await;
                let mut inputs = Vec::with_capacity(iters as usize);
                for i in 0..iters {
                    inputs.push(prepare(&fx, i).await);
                }
                let start = Instant::now();
                for input in inputs {
                    std::hint::black_box(op(&fx, input).await);
                }
                start.elapsed()
            })
        })
    });
}

/// Iteration inputs for operations that need none.
pub async fn nothing(_: &Fixture, _: u64) {}

/// Sample settings for slow benchmarks (RSA on the pure-Rust backend takes milliseconds).
pub fn slow(group: &mut BenchmarkGroup<'_, WallTime>) {
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));
}
