//! Model-based property test: random sequences of operations (client_credentials,
//! JWT-bearer, implicit, code issue and exchange, refresh, revoke, clock, flush, client
//! deletion) run against the engine and a small reference model, on MemoryStore,
//! SledStore and (when a server is named) PostgresStore. Invariants: a revoked or expired
//! token never introspects active; a code redeems at most once; refresh reuse revokes its
//! family (after the rotation grace period, when a case has one); scopes never widen; a
//! deleted client's tokens are inactive.

mod common;

use common::signing_keys::{es256, fresh_jti, sign, Key};
use common::*;
use portcullis::clock::MockClock;
use portcullis::grant::jwt_bearer::GRANT_TYPE as JWT_BEARER;
use portcullis::storage::{MemoryStore, SledStore, Storage};
use portcullis::{
    AuthorizeOutcome, Config, CreatedClient, IntrospectRequest, Provider, RevokeRequest,
    TokenRequest, TrustRequest,
};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};
use serde_json::json;
use time::Duration;

/// The issuer trusted for JWT-bearer grants.
const IDP: &str = "https://idp.example.com";

/// The rotation grace period of the cases that have one (seconds).
const GRACE: i64 = 60;

/// `Refresh` uses the `token`th refresh token, or (`None`) the last one a refresh spent:
/// a client retrying.
#[derive(Debug, Clone)]
enum Op {
    ClientCredentials {
        client: usize,
    },
    /// An RFC 7523 grant: an assertion about `alice` from the trusted issuer.
    JwtBearer {
        client: usize,
    },
    /// The implicit grant (`response_type=token`) through login and consent.
    Implicit {
        client: usize,
    },
    IssueCode {
        client: usize,
    },
    Exchange {
        code: usize,
    },
    Refresh {
        token: Option<usize>,
        narrow: bool,
    },
    Revoke {
        token: usize,
    },
    Advance {
        seconds: i64,
    },
    Flush,
    DeleteClient {
        client: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..2usize).prop_map(|client| Op::ClientCredentials { client }),
        2 => (0..2usize).prop_map(|client| Op::JwtBearer { client }),
        2 => (0..2usize).prop_map(|client| Op::Implicit { client }),
        3 => (0..2usize).prop_map(|client| Op::IssueCode { client }),
        4 => any::<usize>().prop_map(|code| Op::Exchange { code }),
        4 => (any::<usize>(), any::<bool>()).prop_map(|(token, narrow)| Op::Refresh { token: Some(token), narrow }),
        2 => any::<bool>().prop_map(|narrow| Op::Refresh { token: None, narrow }),
        3 => any::<usize>().prop_map(|token| Op::Revoke { token }),
        2 => prop_oneof![0..GRACE * 2, 0..700i64, 3000..4000i64]
            .prop_map(|seconds| Op::Advance { seconds }),
        1 => Just(Op::Flush),
        1 => (0..2usize).prop_map(|client| Op::DeleteClient { client }),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Code,
    Access,
    Refresh,
}

#[derive(Debug, Clone)]
struct Tok {
    value: String,
    kind: Kind,
    client: usize,
    grant: usize,
    expires_at: i64,
    /// Revoked directly, rotated (refresh) or redeemed (code).
    spent: bool,
    /// When a refresh token was first rotated, and how often reused since.
    rotated_at: Option<i64>,
    reuses: u32,
    revoked: bool,
    /// Still in the store (not flushed).
    present: bool,
}

#[derive(Default)]
struct Model {
    now: i64,
    /// The rotation grace period (seconds; 0: none) and its reuse count (0: any).
    grace: i64,
    max_reuses: u32,
    tokens: Vec<Tok>,
    revoked_grants: Vec<bool>,
    grant_scope: Vec<Vec<String>>,
    deleted: [bool; 2],
    /// The refresh token a refresh spent last.
    last_spent: Option<usize>,
}

impl Model {
    fn active(&self, t: &Tok) -> bool {
        t.kind != Kind::Code
            && t.present
            && !t.spent
            && !t.revoked
            && self.now < t.expires_at
            && !self.revoked_grants[t.grant]
            && !self.deleted[t.client]
    }

    fn revoke_grant(&mut self, grant: usize) {
        self.revoked_grants[grant] = true;
    }

    fn new_grant(&mut self, scope: &[&str]) -> usize {
        self.revoked_grants.push(false);
        self.grant_scope
            .push(scope.iter().map(|s| s.to_string()).collect());
        self.revoked_grants.len() - 1
    }

    fn push(&mut self, value: String, kind: Kind, client: usize, grant: usize, lifespan: i64) {
        self.tokens.push(Tok {
            value,
            kind,
            client,
            grant,
            expires_at: self.now + lifespan,
            spent: false,
            rotated_at: None,
            reuses: 0,
            revoked: false,
            present: true,
        });
    }

    /// An access token of a new grant with scope `read` (client_credentials, JWT-bearer,
    /// implicit), valid for the default hour.
    fn push_read_grant(&mut self, token: String, client: usize) {
        let g = self.new_grant(&["read"]);
        self.push(token, Kind::Access, client, g, 3600);
    }

    fn pick(&self, kind: Kind, i: usize) -> Option<usize> {
        let of_kind: Vec<usize> = (0..self.tokens.len())
            .filter(|j| self.tokens[*j].kind == kind)
            .collect();
        (!of_kind.is_empty()).then(|| of_kind[i % of_kind.len()])
    }
}

struct World {
    provider: Provider,
    clock: MockClock,
    clients: Vec<CreatedClient>,
    /// The key of the issuer trusted for JWT-bearer grants about any subject.
    idp: Key,
}

impl World {
    async fn token(
        &self,
        body: &str,
        client: usize,
    ) -> portcullis::Result<portcullis::TokenResponse> {
        let auth = basic(&self.clients[client]);
        self.provider
            .token(TokenRequest::from_form(body.as_bytes(), Some(&auth))?)
            .await
    }

    /// An implicit flow for `alice` with scope `read`: the access token in the fragment,
    /// or `None` when the client is refused (an error page).
    async fn implicit(&self, client: usize) -> Option<String> {
        let p = &self.provider;
        let client_id = self.clients[client].client.client_id.as_str();
        let mut browser = Browser::new(p);
        let start = browser
            .authorize(&[
                ("client_id", client_id),
                ("response_type", "token"),
                ("redirect_uri", REDIRECT),
                ("scope", "read"),
                ("state", "st-implicit"),
            ])
            .await;
        let AuthorizeOutcome::Login { challenge, .. } = start else {
            assert!(
                matches!(start, AuthorizeOutcome::ErrorPage(_)),
                "implicit start: {start:?}"
            );
            return None;
        };
        let to = p
            .accept_login(&challenge, accept_login("alice", false))
            .await
            .unwrap();
        let AuthorizeOutcome::Consent { challenge, .. } = browser.follow(&to.redirect_to).await
        else {
            panic!("expected the consent app");
        };
        let to = p
            .accept_consent(&challenge, accept_consent(&["read"], false))
            .await
            .unwrap();
        let AuthorizeOutcome::Redirect(url) = browser.follow(&to.redirect_to).await else {
            panic!("expected the redirect to the client");
        };
        let params = response_params(&url);
        assert_eq!(params["state"], "st-implicit");
        assert!(!params.contains_key("refresh_token"), "{url}");
        Some(params["access_token"].clone())
    }

    async fn active(&self, token: &str) -> bool {
        let body = format!("token={}", urlencode(token));
        self.provider
            .introspect(IntrospectRequest::from_form(body.as_bytes()).unwrap())
            .await
            .unwrap()
            .is_active()
    }
}

async fn world(store: impl Storage, (grace, max_reuses): (i64, u32)) -> World {
    let clock = MockClock::default();
    let mut config = Config::new(ISSUER, [7u8; 32]);
    config.refresh_token_rotation_grace_period = Duration::seconds(grace);
    config.refresh_token_rotation_grace_reuse_count = max_reuses;
    let provider = Provider::builder(config)
        .store(store)
        .signer(signer())
        .clock(clock.clone())
        .build()
        .await
        .unwrap();
    let mut clients = Vec::new();
    for _ in 0..2 {
        let mut client = web_client();
        if let Some(grants) = client.grant_types.as_mut() {
            grants.extend([JWT_BEARER.into(), "implicit".into()]);
        }
        client.response_types = Some(vec!["code".into(), "token".into()]);
        clients.push(provider.create_client(client).await.unwrap());
    }
    let idp = es256(Some("idp-1"));
    provider
        .trust_jwt_grant_issuer(TrustRequest {
            issuer: Some(IDP.into()),
            allow_any_subject: Some(true),
            scope: Some(vec!["read".into()]),
            jwk: Some(idp.jwk.clone()),
            expires_at: Some(provider.now() + Duration::days(365)),
            ..Default::default()
        })
        .await
        .unwrap();
    World {
        provider,
        clock,
        clients,
        idp,
    }
}

async fn run(w: &World, (grace, max_reuses): (i64, u32), ops: &[Op]) -> Result<(), TestCaseError> {
    let mut m = Model {
        now: w.provider.now().unix_timestamp(),
        grace,
        max_reuses,
        ..Model::default()
    };
    for op in ops {
        match op {
            Op::ClientCredentials { client } => {
                let r = w
                    .token("grant_type=client_credentials&scope=read", *client)
                    .await;
                prop_assert_eq!(r.is_ok(), !m.deleted[*client], "cc for a deleted client");
                if let Ok(r) = r {
                    m.push_read_grant(r.access_token, *client);
                }
            }
            Op::JwtBearer { client } => {
                let assertion = sign(
                    &w.idp,
                    &json!({
                        "iss": IDP, "sub": "alice", "aud": format!("{ISSUER}/oauth2/token"),
                        "iat": m.now, "exp": m.now + 300, "jti": fresh_jti(),
                    }),
                );
                let body = format!(
                    "grant_type={}&assertion={assertion}&scope=read",
                    urlencode(JWT_BEARER)
                );
                let r = w.token(&body, *client).await;
                prop_assert_eq!(r.is_ok(), !m.deleted[*client], "jwt-bearer: {:?}", r);
                if let Ok(r) = r {
                    prop_assert!(
                        r.refresh_token.is_none(),
                        "jwt-bearer issued a refresh token"
                    );
                    m.push_read_grant(r.access_token, *client);
                }
            }
            Op::Implicit { client } => {
                let r = w.implicit(*client).await;
                prop_assert_eq!(r.is_some(), !m.deleted[*client], "implicit: {:?}", r);
                if let Some(token) = r {
                    m.push_read_grant(token, *client);
                }
            }
            Op::IssueCode { client } => {
                if m.deleted[*client] {
                    continue;
                }
                let code = Fixture {
                    provider: w.provider.clone(),
                    clock: w.clock.clone(),
                }
                .code(
                    &w.clients[*client].client.client_id,
                    "openid offline_access profile",
                )
                .await;
                let g = m.new_grant(&["openid", "offline_access", "profile"]);
                m.push(code, Kind::Code, *client, g, 600);
            }
            Op::Exchange { code } => {
                let Some(i) = m.pick(Kind::Code, *code) else {
                    continue;
                };
                let t = m.tokens[i].clone();
                let body = format!(
                    "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={VERIFIER}",
                    t.value,
                    urlencode(REDIRECT)
                );
                let r = w.token(&body, t.client).await;
                let expect_ok = t.present
                    && !t.spent
                    && !t.revoked
                    && m.now < t.expires_at
                    && !m.revoked_grants[t.grant]
                    && !m.deleted[t.client];
                prop_assert_eq!(r.is_ok(), expect_ok, "exchange of {:?}", t);
                if t.present && t.spent && !m.deleted[t.client] {
                    m.revoke_grant(t.grant); // a code presented twice revokes its family
                }
                if let Ok(r) = r {
                    m.tokens[i].spent = true;
                    m.push(r.access_token, Kind::Access, t.client, t.grant, 3600);
                    m.push(
                        r.refresh_token.unwrap(),
                        Kind::Refresh,
                        t.client,
                        t.grant,
                        720 * 3600,
                    );
                }
            }
            Op::Refresh { token, narrow } => {
                let Some(i) = token.map_or(m.last_spent, |n| m.pick(Kind::Refresh, n)) else {
                    continue;
                };
                let t = m.tokens[i].clone();
                let scope = if *narrow { "&scope=offline_access" } else { "" };
                let r = w
                    .token(
                        &format!("grant_type=refresh_token&refresh_token={}{scope}", t.value),
                        t.client,
                    )
                    .await;
                // Rotated, but within the grace period: reuse issues again.
                let graced = t.rotated_at.is_some_and(|at| m.now < at + m.grace)
                    && (m.max_reuses == 0 || t.reuses < m.max_reuses);
                let expect_ok = m.active(&t)
                    || (graced
                        && t.present
                        && !t.revoked
                        && m.now < t.expires_at
                        && !m.revoked_grants[t.grant]
                        && !m.deleted[t.client]);
                prop_assert_eq!(r.is_ok(), expect_ok, "refresh of {:?}", t);
                if t.present && t.spent && !graced && !t.revoked && !m.deleted[t.client] {
                    m.revoke_grant(t.grant); // refresh reuse revokes its family
                }
                if let Ok(r) = r {
                    let granted = r.scope.clone().unwrap_or_default();
                    for s in granted.split(' ') {
                        prop_assert!(
                            m.grant_scope[t.grant].iter().any(|g| g == s),
                            "scope widened: {}",
                            s
                        );
                    }
                    m.tokens[i].spent = true;
                    m.tokens[i].rotated_at = t.rotated_at.or(Some(m.now));
                    m.tokens[i].reuses += u32::from(t.spent);
                    m.last_spent = Some(i);
                    m.push(r.access_token, Kind::Access, t.client, t.grant, 3600);
                    m.push(
                        r.refresh_token.unwrap(),
                        Kind::Refresh,
                        t.client,
                        t.grant,
                        720 * 3600,
                    );
                }
            }
            Op::Revoke { token } => {
                if m.tokens.is_empty() {
                    continue;
                }
                let i = token % m.tokens.len();
                let t = m.tokens[i].clone();
                if t.kind == Kind::Code || m.deleted[t.client] {
                    continue;
                }
                let body = format!("token={}", urlencode(&t.value));
                let auth = basic(&w.clients[t.client]);
                let r = w
                    .provider
                    .revoke(RevokeRequest::from_form(body.as_bytes(), Some(&auth)).unwrap())
                    .await;
                prop_assert!(r.is_ok(), "revocation by the owner: {:?}", r);
                if t.present {
                    match t.kind {
                        Kind::Refresh if !t.revoked => m.revoke_grant(t.grant),
                        _ => m.tokens[i].revoked = true,
                    }
                }
            }
            Op::Advance { seconds } => {
                w.clock.advance(Duration::seconds(*seconds));
                m.now += seconds;
            }
            Op::Flush => {
                w.provider
                    .flush_inactive_tokens(w.provider.now())
                    .await
                    .unwrap();
                let now = m.now;
                for t in &mut m.tokens {
                    if t.expires_at < now {
                        t.present = false;
                    }
                }
            }
            Op::DeleteClient { client } => {
                let r = w
                    .provider
                    .delete_client(&w.clients[*client].client.client_id)
                    .await;
                prop_assert_eq!(r.is_ok(), !m.deleted[*client]);
                m.deleted[*client] = true;
            }
        }
        // The invariant: introspection agrees with the model for every token.
        for t in &m.tokens {
            prop_assert_eq!(
                w.active(&t.value).await,
                m.active(t),
                "after {:?}: {:?}",
                op,
                t
            );
        }
    }
    Ok(())
}

fn check<S: Storage, F: std::future::Future<Output = S>>(cases: u32, store: impl Fn() -> F) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut runner = TestRunner::new(RunnerConfig {
        cases,
        ..RunnerConfig::default()
    });
    runner
        .run(
            &(
                prop_oneof![Just((0, 0)), Just((GRACE, 0)), Just((GRACE, 1))],
                proptest::collection::vec(op(), 1..40),
            ),
            |(policy, ops)| {
                rt.block_on(async {
                    let w = world(store().await, policy).await;
                    run(&w, policy, &ops).await
                })
            },
        )
        .unwrap();
}

#[test]
fn engine_matches_the_model_on_memory() {
    check(96, || async { MemoryStore::new() });
}

#[test]
fn engine_matches_the_model_on_sled() {
    check(16, || async { SledStore::temporary().unwrap() });
}

#[cfg(feature = "postgres")]
#[test]
fn engine_matches_the_model_on_postgres() {
    if std::env::var(POSTGRES_ENV).is_err() {
        eprintln!("{POSTGRES_ENV} is not set: the PostgreSQL store is not tested");
        return;
    }
    check(16, || async {
        postgres_store().await.expect("a PostgreSQL store")
    });
}
