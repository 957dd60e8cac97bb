//! One conformance suite for every storage backend: each test is written once, generic
//! over the store, and instantiated for `MemoryStore`, `SledStore` and, with the
//! `postgres` feature and a server named by `PORTCULLIS_TEST_POSTGRES`, `PostgresStore`.

mod common;

use std::sync::Arc;

use common::{raw_sled, TempDir};
use portcullis::model::{
    AcceptLogin, AuthorizationRequest, Client, ConsentClaims, ConsentSession, Flow, FlowState,
    KeyState, LoginSession, OidcContext, Prompt, ResponseMode, ResponseType, Scope, Session,
    StoredKey, TokenKind, TokenRecord, TokenStatus, TrustedIssuer,
};
use portcullis::storage::{
    ClientQuery, ClientStore, Consumed, KeyStore, MemoryStore, Rotated, Rotation, SessionSelector,
    SessionStore, SledStore, Storage, TokenStore, TrustQuery, TrustStore, REVOKED_GRANT_GRACE,
};
use portcullis::{ErrorCode, Params};
use tokio::sync::Barrier;

const NOW: i64 = 1_700_000_000;

/// A rotation now, without a grace period.
const STRICT: Rotation = Rotation {
    at: NOW,
    grace: 0,
    max_reuses: 0,
};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn token(signature: &str, kind: TokenKind, grant_id: &str, client_id: &str) -> TokenRecord {
    TokenRecord {
        signature: signature.to_owned(),
        kind,
        status: TokenStatus::Active,
        rotated_at: None,
        reuses: 0,
        grant_id: grant_id.into(),
        client_id: client_id.into(),
        scope: Scope::parse("openid offline").unwrap(),
        granted_scope: Scope::parse("openid offline").unwrap(),
        audience: vec!["https://api.example.com".to_owned()],
        issued_at: NOW,
        expires_at: NOW + 3600,
        session: Arc::new(Session {
            subject: "alice".to_owned(),
            ..Session::default()
        }),
        code: None,
    }
}

fn code(signature: &str, grant_id: &str) -> TokenRecord {
    token(signature, TokenKind::AuthorizationCode, grant_id, "app")
}

fn access(signature: &str, grant_id: &str) -> TokenRecord {
    token(signature, TokenKind::AccessToken, grant_id, "app")
}

fn refresh(signature: &str, grant_id: &str) -> TokenRecord {
    token(signature, TokenKind::RefreshToken, grant_id, "app")
}

fn expiring(mut record: TokenRecord, expires_at: i64) -> TokenRecord {
    record.expires_at = expires_at;
    record
}

fn client(id: &str, name: &str, owner: &str) -> Client {
    Client {
        client_id: id.to_owned(),
        client_name: name.to_owned(),
        owner: owner.to_owned(),
        redirect_uris: vec![format!("https://{id}.example.com/cb")],
        metadata: serde_json::json!({ "tier": "gold", "nested": { "n": [1, 2, 3] } }),
        ..Client::default()
    }
}

fn key(kid: &str, state: KeyState, created_at: i64) -> StoredKey {
    StoredKey {
        kid: kid.to_owned(),
        alg: "ES256".to_owned(),
        state,
        sealed_private_key: vec![1, 2, 3, kid.len() as u8],
        created_at,
    }
}

fn flow(id: &str, expires_at: i64) -> Flow {
    let request = AuthorizationRequest {
        client_id: "app".to_owned(),
        redirect_uri: "https://app.example.com/cb".to_owned(),
        redirect_uri_given: true,
        response_type: ResponseType::parse("code").unwrap(),
        response_mode: ResponseMode::Query,
        scope: Scope::parse("openid offline").unwrap(),
        audience: vec![],
        state: Some("xyz".to_owned()),
        nonce: None,
        pkce: None,
        prompt: Prompt::default(),
        max_age: None,
        oidc_context: OidcContext::default(),
        params: Params::parse(b"client_id=app&response_type=code&scope=openid+offline"),
    };
    Flow::requested(
        id.into(),
        request.into(),
        format!("sid-{id}").into(),
        NOW,
        expires_at,
    )
}

/// The flow moved one step forward.
fn advanced(flow: &Flow, subject: &str) -> Flow {
    Flow {
        version: flow.version + 1,
        state: FlowState::LoginHandled,
        login: Some(
            AcceptLogin {
                subject: subject.to_owned(),
                ..AcceptLogin::default()
            }
            .into(),
        ),
        ..flow.clone()
    }
}

fn login(sid: &str, subject: &str, expires_at: i64) -> LoginSession {
    LoginSession {
        sid: sid.into(),
        subject: subject.to_owned(),
        authenticated_at: NOW,
        expires_at,
        remember: true,
    }
}

fn consent(id: &str, subject: &str, client_id: &str, handled_at: i64) -> ConsentSession {
    ConsentSession {
        id: id.into(),
        subject: subject.to_owned(),
        client_id: client_id.to_owned(),
        sid: "sid-1".into(),
        granted_scope: Scope::parse("openid").unwrap(),
        granted_audience: vec![],
        claims: ConsentClaims::default(),
        remember: true,
        remember_until: None,
        handled_at,
    }
}

fn trust(id: &str, issuer: &str, subject: &str, kid: &str) -> TrustedIssuer {
    common::trust_relationship(id, issuer, subject, kid, NOW, NOW + 3600)
}

/// The ids of `issuer`'s relationships, sorted.
async fn issuer_ids<S: Storage>(store: &S, issuer: &str) -> Vec<String> {
    let mut ids: Vec<String> = store
        .issuer_trusts(issuer)
        .await
        .unwrap()
        .iter()
        .map(|t| t.id.clone())
        .collect();
    ids.sort();
    ids
}

async fn consent_ids<S: Storage>(store: &S, subject: &str) -> Vec<String> {
    store
        .consents(subject)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id.to_string())
        .collect()
}

fn sorted_ids<T>(items: Vec<T>, id: impl Fn(T) -> String) -> Vec<String> {
    let mut ids: Vec<String> = items.into_iter().map(id).collect();
    ids.sort();
    ids
}

async fn status<S: Storage>(store: &S, signature: &str) -> Option<TokenStatus> {
    store
        .get_token(signature)
        .await
        .expect("get_token")
        .map(|r| r.status)
}

async fn all_ids<S: Storage>(store: &S, mut query: ClientQuery) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut pages = 0;
    loop {
        let page = store.list_clients(&query).await.expect("list_clients");
        pages += 1;
        assert!(page.clients.len() <= query.limit());
        ids.extend(page.clients.iter().map(|c| c.client_id.clone()));
        match page.next_page_token {
            Some(t) => query.page_token = Some(t),
            None => return (ids, pages),
        }
        assert!(pages < 100, "paging does not terminate");
    }
}

// ---------------------------------------------------------------------------------------
// The suite
// ---------------------------------------------------------------------------------------

async fn client_crud<S: Storage + Clone>(store: S) {
    let original = client("app", "My App", "acme");
    store.create_client(original.clone()).await.unwrap();
    assert_eq!(
        store.get_client("app").await.unwrap().as_deref(),
        Some(&original),
        "the stored client (metadata included) reads back unchanged"
    );

    let dup = store
        .create_client(client("app", "Impostor", "evil"))
        .await
        .unwrap_err();
    assert_eq!(dup.code(), ErrorCode::Conflict);
    assert_eq!(
        store.get_client("app").await.unwrap().unwrap().client_name,
        "My App",
        "a refused duplicate does not overwrite"
    );

    let mut changed = original.clone();
    changed.client_name = "Renamed".to_owned();
    changed.redirect_uris.clear();
    store.update_client(changed.clone()).await.unwrap();
    assert_eq!(
        store.get_client("app").await.unwrap().as_deref(),
        Some(&changed)
    );

    let missing = store
        .update_client(client("ghost", "Ghost", "acme"))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), ErrorCode::NotFound);
    assert!(
        store.get_client("ghost").await.unwrap().is_none(),
        "update never creates"
    );

    assert!(store.delete_client("app").await.unwrap());
    assert!(store.get_client("app").await.unwrap().is_none());
    assert!(!store.delete_client("app").await.unwrap());
    store
        .create_client(client("app", "Again", "acme"))
        .await
        .unwrap();
}

async fn list_paging<S: Storage + Clone>(store: S) {
    for id in ["c4", "c1", "c6", "c0", "c3", "c5", "c2"] {
        store.create_client(client(id, "n", "o")).await.unwrap();
    }
    let expected: Vec<String> = (0..7).map(|i| format!("c{i}")).collect();

    let (ids, pages) = all_ids(
        &store,
        ClientQuery {
            page_size: 3,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(ids, expected, "every client exactly once, in id order");
    assert_eq!(pages, 3);

    let first = store
        .list_clients(&ClientQuery {
            page_size: 3,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(first.next_page_token.as_deref(), Some("c2"));

    let exact = store
        .list_clients(&ClientQuery {
            page_size: 7,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(exact.clients.len(), 7);
    assert_eq!(exact.next_page_token, None, "no empty trailing page");

    let default = store.list_clients(&ClientQuery::default()).await.unwrap();
    assert_eq!(default.clients.len(), 7);
    assert_eq!(default.next_page_token, None);

    let after_last = store
        .list_clients(&ClientQuery {
            page_token: Some("c6".to_owned()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(after_last.clients.is_empty());
}

/// Any string the engine is given is stored and found as it is — NUL, non-ASCII — and
/// pages come in byte order, whatever a database's collation.
async fn any_string_round_trips<S: Storage + Clone>(store: S) {
    for id in ["b\0x", "é", "Z", "a", "b", "\u{1F512}"] {
        store
            .create_client(client(id, "name\0with nul", "ownér"))
            .await
            .unwrap();
    }
    let got = store.get_client("b\0x").await.unwrap().expect("stored");
    assert_eq!(got.client_name, "name\0with nul");
    assert_eq!(got.owner, "ownér");
    assert!(store.get_client("b\0").await.unwrap().is_none());
    assert!(store.get_client("\0").await.unwrap().is_none());
    let (ids, _) = all_ids(
        &store,
        ClientQuery {
            page_size: 2,
            owner: Some("ownér".into()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(ids, ["Z", "a", "b", "b\0x", "é", "\u{1F512}"]);

    assert!(store.use_assertion_id("b\0x", "j\0ti", NOW).await.unwrap());
    assert!(!store.use_assertion_id("b\0x", "j\0ti", NOW).await.unwrap());
    assert!(store.use_assertion_id("b\0x", "j", NOW).await.unwrap());

    store
        .put_login_session(login("s\0id", "al\0ice", NOW + 60))
        .await
        .unwrap();
    assert!(store.get_login_session("s\0id").await.unwrap().is_some());
    assert!(store.get_login_session("s").await.unwrap().is_none());
    store
        .put_consent(consent("c\0", "al\0ice", "b\0x", NOW))
        .await
        .unwrap();
    assert_eq!(consent_ids(&store, "al\0ice").await, ["c\0"]);
    assert!(store.consents("al").await.unwrap().is_empty());
    assert!(store.get_flow("f\0").await.unwrap().is_none());
    assert!(store.get_token("t\0").await.unwrap().is_none());
    assert_eq!(store.consume_code("t\0").await.unwrap(), Consumed::NotFound);
    assert!(!store.revoke_token("t\0").await.unwrap());
    assert_eq!(store.revoke_client_tokens("b\0x").await.unwrap(), 0);
    assert!(!store.delete_client("\0").await.unwrap());
    assert!(store.get_trust("\0").await.unwrap().is_none());
    assert!(store.issuer_trusts("\0").await.unwrap().is_empty());

    // The longest subject the engine accepts, incompressible, as a key everywhere.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let long: String = (0..portcullis::endpoint::trust::MAX_IDENTIFIER_BYTES)
        .map(|_| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            char::from(b'!' + (x >> 58) as u8)
        })
        .collect();
    store
        .put_login_session(login("long", &long, NOW + 60))
        .await
        .unwrap();
    store
        .put_consent(consent("c-long", &long, "b\0x", NOW))
        .await
        .unwrap();
    assert_eq!(consent_ids(&store, &long).await, ["c-long"]);
    let gone = store
        .delete_login_sessions(SessionSelector::Subject(&long))
        .await
        .unwrap();
    assert_eq!(gone.len(), 1);
}

async fn list_filters<S: Storage + Clone>(store: S) {
    store
        .create_client(client("a", "Shop", "acme"))
        .await
        .unwrap();
    store
        .create_client(client("b", "Blog", "acme"))
        .await
        .unwrap();
    store
        .create_client(client("c", "Shop", "other"))
        .await
        .unwrap();
    store
        .create_client(client("d", "Shop", "acme"))
        .await
        .unwrap();
    store
        .create_client(client("e", "Blog", "other"))
        .await
        .unwrap();

    let by_name = ClientQuery {
        client_name: Some("Shop".to_owned()),
        ..Default::default()
    };
    assert_eq!(all_ids(&store, by_name.clone()).await.0, ["a", "c", "d"]);

    let by_owner = ClientQuery {
        owner: Some("acme".to_owned()),
        ..Default::default()
    };
    assert_eq!(all_ids(&store, by_owner).await.0, ["a", "b", "d"]);

    let both = ClientQuery {
        client_name: Some("Shop".to_owned()),
        owner: Some("acme".to_owned()),
        page_size: 1,
        ..Default::default()
    };
    let (ids, pages) = all_ids(&store, both).await;
    assert_eq!(
        ids,
        ["a", "d"],
        "filters combine, and paging skips non-matches"
    );
    assert_eq!(pages, 2);

    let none = ClientQuery {
        client_name: Some("Nope".to_owned()),
        ..Default::default()
    };
    let page = store.list_clients(&none).await.unwrap();
    assert!(page.clients.is_empty());
    assert_eq!(page.next_page_token, None);
}

async fn insert_and_get_tokens<S: Storage + Clone>(store: S) {
    let mut c = code("code-1", "g1");
    c.session = Arc::new(Session {
        subject: "alice".to_owned(),
        nonce: Some("n-0S6".to_owned()),
        access_token_claims: serde_json::json!({ "role": "admin" })
            .as_object()
            .cloned()
            .unwrap(),
        ..Session::default()
    });
    let a = access("at-1", "g1");
    store
        .insert_tokens(vec![c.clone(), a.clone()])
        .await
        .unwrap();
    assert_eq!(
        store.get_token("code-1").await.unwrap().as_deref(),
        Some(&c)
    );
    assert_eq!(store.get_token("at-1").await.unwrap().as_deref(), Some(&a));
    assert!(store.get_token("nope").await.unwrap().is_none());
    store.insert_tokens(vec![]).await.unwrap();
}

async fn consume_code_once<S: Storage + Clone>(store: S) {
    let c = code("code-1", "g1");
    store
        .insert_tokens(vec![c.clone(), access("at-1", "g1")])
        .await
        .unwrap();

    match store.consume_code("code-1").await.unwrap() {
        Consumed::Redeemed(rec) => assert_eq!(*rec, c, "the record as it was, still Active"),
        other => panic!("expected Redeemed, got {other:?}"),
    }
    assert_eq!(status(&store, "code-1").await, Some(TokenStatus::Consumed));
    assert_eq!(
        store.consume_code("code-1").await.unwrap(),
        Consumed::AlreadyUsed {
            grant_id: "g1".into()
        }
    );
    assert_eq!(
        store.consume_code("at-1").await.unwrap(),
        Consumed::NotFound,
        "an access token is not a code"
    );
    assert_eq!(
        status(&store, "at-1").await,
        Some(TokenStatus::Active),
        "and is left alone"
    );
    assert_eq!(
        store.consume_code("nope").await.unwrap(),
        Consumed::NotFound
    );

    store
        .insert_tokens(vec![code("code-2", "g2")])
        .await
        .unwrap();
    assert!(store.revoke_token("code-2").await.unwrap());
    assert_eq!(
        store.consume_code("code-2").await.unwrap(),
        Consumed::AlreadyUsed {
            grant_id: "g2".into()
        },
        "a revoked code cannot be redeemed"
    );
}

async fn concurrent_code_redemption<S: Storage + Clone>(store: S) {
    const TASKS: usize = 32;
    store
        .insert_tokens(vec![code("code-1", "g1")])
        .await
        .unwrap();
    let barrier = Arc::new(Barrier::new(TASKS));
    let handles: Vec<_> = (0..TASKS)
        .map(|_| {
            let store = store.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                store.consume_code("code-1").await
            })
        })
        .collect();
    let mut redeemed = 0;
    let mut already_used = 0;
    for h in handles {
        match h.await.unwrap().expect("no error under contention") {
            Consumed::Redeemed(rec) => {
                assert_eq!(rec.signature, "code-1");
                redeemed += 1;
            }
            Consumed::AlreadyUsed { grant_id } => {
                assert_eq!(&*grant_id, "g1");
                already_used += 1;
            }
            Consumed::NotFound => panic!("the code exists"),
        }
    }
    assert_eq!(redeemed, 1, "exactly one redemption wins");
    assert_eq!(already_used, TASKS - 1);
    assert_eq!(status(&store, "code-1").await, Some(TokenStatus::Consumed));
}

async fn concurrent_refresh_rotation<S: Storage + Clone>(store: S) {
    const TASKS: usize = 16;
    store
        .insert_tokens(vec![refresh("rt-0", "g1"), access("at-0", "g1")])
        .await
        .unwrap();
    let barrier = Arc::new(Barrier::new(TASKS));
    let handles: Vec<_> = (0..TASKS)
        .map(|i| {
            let store = store.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                let replacements = [
                    refresh(&format!("rt-{i}-new"), "g1"),
                    access(&format!("at-{i}-new"), "g1"),
                ];
                barrier.wait().await;
                (
                    i,
                    store
                        .rotate_refresh("rt-0", replacements.to_vec(), STRICT)
                        .await,
                )
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut losers = Vec::new();
    for h in handles {
        let (i, outcome) = h.await.unwrap();
        match outcome.expect("no error under contention") {
            Rotated::Rotated(old) => {
                assert_eq!(old.signature, "rt-0");
                assert_eq!(old.status, TokenStatus::Active);
                winners.push(i);
            }
            Rotated::AlreadyUsed { grant_id } => {
                assert_eq!(&*grant_id, "g1");
                losers.push(i);
            }
            Rotated::NotFound => panic!("the refresh token exists"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one rotation wins");
    assert_eq!(losers.len(), TASKS - 1);
    assert_eq!(status(&store, "rt-0").await, Some(TokenStatus::Rotated));
    let w = winners[0];
    assert_eq!(
        status(&store, &format!("rt-{w}-new")).await,
        Some(TokenStatus::Active)
    );
    assert_eq!(
        status(&store, &format!("at-{w}-new")).await,
        Some(TokenStatus::Active)
    );
    for l in losers {
        assert_eq!(
            status(&store, &format!("rt-{l}-new")).await,
            None,
            "a lost rotation stores nothing"
        );
        assert_eq!(status(&store, &format!("at-{l}-new")).await, None);
    }
}

/// Inserts racing a revocation of their grant: once the revocation has returned, none of
/// their tokens is active, whether its insert won the race (then it is revoked) or lost it
/// (then it stored nothing).
async fn inserts_racing_a_revocation<S: Storage + Clone>(store: S) {
    const TASKS: usize = 16;
    store
        .insert_tokens(vec![refresh("rt-0", "g1")])
        .await
        .unwrap();
    let barrier = Arc::new(Barrier::new(TASKS + 1));
    let inserts: Vec<_> = (0..TASKS)
        .map(|i| {
            let store = store.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                store
                    .insert_tokens(vec![access(&format!("at-{i}"), "g1")])
                    .await
            })
        })
        .collect();
    let revocation = {
        let store = store.clone();
        tokio::spawn(async move {
            barrier.wait().await;
            store.revoke_grant("g1").await
        })
    };
    revocation.await.unwrap().expect("revoked");
    for (i, insert) in inserts.into_iter().enumerate() {
        let signature = format!("at-{i}");
        match insert.await.unwrap() {
            Ok(()) => assert_eq!(
                status(&store, &signature).await,
                Some(TokenStatus::Revoked),
                "an insert that won the race is revoked"
            ),
            Err(e) => {
                assert_eq!(e.code(), ErrorCode::InvalidGrant);
                assert_eq!(
                    status(&store, &signature).await,
                    None,
                    "a refused insert stores nothing"
                );
            }
        }
    }
    assert_eq!(status(&store, "rt-0").await, Some(TokenStatus::Revoked));
}

async fn rotate_refresh_outcomes<S: Storage + Clone>(store: S) {
    store
        .insert_tokens(vec![refresh("rt-1", "g1"), code("code-1", "g1")])
        .await
        .unwrap();
    assert_eq!(
        store.rotate_refresh("nope", vec![], STRICT).await.unwrap(),
        Rotated::NotFound
    );
    assert_eq!(
        store
            .rotate_refresh("code-1", vec![], STRICT)
            .await
            .unwrap(),
        Rotated::NotFound,
        "a code is not a refresh token"
    );
    assert_eq!(status(&store, "code-1").await, Some(TokenStatus::Active));

    let next = [refresh("rt-2", "g1"), access("at-2", "g1")];
    assert!(matches!(
        store
            .rotate_refresh("rt-1", next.to_vec(), STRICT)
            .await
            .unwrap(),
        Rotated::Rotated(_)
    ));
    assert_eq!(
        store.get_token("rt-2").await.unwrap().as_deref(),
        Some(&next[0])
    );
    assert_eq!(status(&store, "at-2").await, Some(TokenStatus::Active));
    assert_eq!(
        store
            .rotate_refresh("rt-1", vec![refresh("rt-3", "g1")], STRICT)
            .await
            .unwrap(),
        Rotated::AlreadyUsed {
            grant_id: "g1".into()
        },
        "a replayed refresh token is detected"
    );
    assert_eq!(status(&store, "rt-3").await, None);

    // The replacement can itself be rotated.
    assert!(matches!(
        store
            .rotate_refresh("rt-2", vec![refresh("rt-3", "g1")], STRICT)
            .await
            .unwrap(),
        Rotated::Rotated(_)
    ));
}

/// Within the grace period a rotated token rotates again (its rotation time kept);
/// at its end, or once the grant is revoked, it is `AlreadyUsed`.
async fn rotate_within_the_grace_period<S: Storage + Clone>(store: S) {
    let at = |t: i64| Rotation {
        at: NOW + t,
        grace: 30,
        max_reuses: 0,
    };
    store
        .insert_tokens(vec![refresh("rt-1", "g1")])
        .await
        .unwrap();
    assert!(matches!(
        store
            .rotate_refresh("rt-1", vec![refresh("rt-2", "g1")], at(10))
            .await
            .unwrap(),
        Rotated::Rotated(old) if old.status == TokenStatus::Active
    ));
    let rotated = store.get_token("rt-1").await.unwrap().unwrap();
    assert_eq!(rotated.status, TokenStatus::Rotated);
    assert_eq!(rotated.rotated_at, Some(NOW + 10));
    assert!(matches!(
        store
            .rotate_refresh("rt-1", vec![refresh("rt-3", "g1")], at(39))
            .await
            .unwrap(),
        Rotated::Rotated(old) if old.status == TokenStatus::Rotated
    ));
    assert_eq!(status(&store, "rt-3").await, Some(TokenStatus::Active));
    assert_eq!(
        store.get_token("rt-1").await.unwrap().unwrap().rotated_at,
        Some(NOW + 10),
        "a reuse does not extend the period"
    );
    assert_eq!(
        store
            .rotate_refresh("rt-1", vec![refresh("rt-4", "g1")], at(40))
            .await
            .unwrap(),
        Rotated::AlreadyUsed {
            grant_id: "g1".into()
        },
        "the period has ended"
    );
    assert_eq!(status(&store, "rt-4").await, None);
    // A grace period does not make a strict rotation of the same token pass later.
    assert!(matches!(
        store
            .rotate_refresh("rt-1", vec![refresh("rt-4", "g1")], STRICT)
            .await
            .unwrap(),
        Rotated::AlreadyUsed { .. }
    ));

    store
        .insert_tokens(vec![refresh("rt-g2", "g2")])
        .await
        .unwrap();
    let _ = store
        .rotate_refresh("rt-g2", vec![refresh("rt-g2-next", "g2")], at(0))
        .await
        .unwrap();
    store.revoke_grant("g2").await.unwrap();
    assert_eq!(
        store
            .rotate_refresh("rt-g2", vec![refresh("rt-g2-late", "g2")], at(1))
            .await
            .unwrap(),
        Rotated::AlreadyUsed {
            grant_id: "g2".into()
        },
        "a revoked grant is not reopened"
    );
    assert_eq!(status(&store, "rt-g2-late").await, None);
}

/// `tasks` concurrent rotations of `rt-0` (replacements `rt-<i>-new`), their outcomes.
async fn rotate_concurrently<S: Storage + Clone>(
    store: &S,
    rotation: Rotation,
    tasks: usize,
) -> Vec<Rotated> {
    let barrier = Arc::new(Barrier::new(tasks));
    let handles: Vec<_> = (0..tasks)
        .map(|i| {
            let (store, barrier) = (store.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let next = vec![refresh(&format!("rt-{i}-new"), "g1")];
                store.rotate_refresh("rt-0", next, rotation).await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for h in handles {
        outcomes.push(h.await.unwrap().expect("no error under contention"));
    }
    outcomes
}

/// Concurrent reuses within the grace period all store their replacements.
async fn concurrent_rotation_within_the_grace_period<S: Storage + Clone>(store: S) {
    const TASKS: usize = 8;
    let graced = Rotation {
        at: NOW,
        grace: 30,
        max_reuses: 0,
    };
    store
        .insert_tokens(vec![refresh("rt-0", "g1")])
        .await
        .unwrap();
    for outcome in rotate_concurrently(&store, graced, TASKS).await {
        assert!(matches!(outcome, Rotated::Rotated(_)));
    }
    for i in 0..TASKS {
        let new = format!("rt-{i}-new");
        assert_eq!(status(&store, &new).await, Some(TokenStatus::Active));
    }
}

/// With a reuse count, of concurrent reuses exactly that many win, each counted.
async fn reuse_count_within_the_grace_period<S: Storage + Clone>(store: S) {
    const TASKS: usize = 8;
    let counted = Rotation {
        at: NOW,
        grace: 30,
        max_reuses: 3,
    };
    store
        .insert_tokens(vec![refresh("rt-0", "g1")])
        .await
        .unwrap();
    let first = store
        .rotate_refresh("rt-0", vec![refresh("rt-first", "g1")], counted)
        .await
        .unwrap();
    assert!(
        matches!(first, Rotated::Rotated(_)),
        "the rotation is no reuse"
    );
    let mut wins = 0;
    for outcome in rotate_concurrently(&store, counted, TASKS).await {
        match outcome {
            Rotated::Rotated(_) => wins += 1,
            used => assert_eq!(
                used,
                Rotated::AlreadyUsed {
                    grant_id: "g1".into()
                }
            ),
        }
    }
    assert_eq!(wins, 3);
    let rec = store.get_token("rt-0").await.unwrap().unwrap();
    assert_eq!((rec.reuses, rec.rotated_at), (3, Some(NOW)));
    let mut stored = 0;
    for i in 0..TASKS {
        stored += usize::from(status(&store, &format!("rt-{i}-new")).await.is_some());
    }
    assert_eq!(stored, 3, "only the winners' replacements are stored");
}

async fn revoke_grant_family<S: Storage + Clone>(store: S) {
    store
        .insert_tokens(vec![code("code-1", "g1")])
        .await
        .unwrap();
    let _ = store.consume_code("code-1").await.unwrap();
    store
        .insert_tokens(vec![access("at-1", "g1"), refresh("rt-1", "g1")])
        .await
        .unwrap();
    store
        .insert_tokens(vec![access("at-other", "g2"), refresh("rt-other", "g2")])
        .await
        .unwrap();

    store.revoke_grant("g1").await.unwrap();
    assert_eq!(status(&store, "at-1").await, Some(TokenStatus::Revoked));
    assert_eq!(status(&store, "rt-1").await, Some(TokenStatus::Revoked));
    assert_eq!(
        status(&store, "code-1").await,
        Some(TokenStatus::Consumed),
        "a consumed code stays unusable"
    );
    assert_eq!(status(&store, "at-other").await, Some(TokenStatus::Active));
    assert_eq!(status(&store, "rt-other").await, Some(TokenStatus::Active));

    let err = store
        .insert_tokens(vec![access("at-late", "g1")])
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidGrant);
    assert_eq!(status(&store, "at-late").await, None);

    let err = store
        .insert_tokens(vec![access("at-g2-new", "g2"), access("at-late", "g1")])
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidGrant);
    assert_eq!(
        status(&store, "at-g2-new").await,
        None,
        "a refused batch stores nothing"
    );

    assert_eq!(
        store
            .rotate_refresh("rt-1", vec![refresh("rt-late", "g1")], STRICT)
            .await
            .unwrap(),
        Rotated::AlreadyUsed {
            grant_id: "g1".into()
        },
        "a refresh token of a revoked grant cannot be rotated"
    );
    assert_eq!(status(&store, "rt-late").await, None);

    // Revoking again is harmless; grants that never existed can be revoked too.
    store.revoke_grant("g1").await.unwrap();
    store.revoke_grant("g-unknown").await.unwrap();
    assert_eq!(
        store
            .insert_tokens(vec![access("at-x", "g-unknown")])
            .await
            .unwrap_err()
            .code(),
        ErrorCode::InvalidGrant
    );
}

async fn rotate_into_revoked_grant<S: Storage + Clone>(store: S) {
    store
        .insert_tokens(vec![refresh("rt-1", "g1"), access("at-dead", "g-dead")])
        .await
        .unwrap();
    store.revoke_grant("g-dead").await.unwrap();

    let err = store
        .rotate_refresh(
            "rt-1",
            vec![refresh("rt-2", "g1"), access("at-2", "g-dead")],
            STRICT,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidGrant);
    assert_eq!(
        status(&store, "rt-1").await,
        Some(TokenStatus::Active),
        "a refused rotation changes nothing"
    );
    assert_eq!(status(&store, "rt-2").await, None);
    assert_eq!(status(&store, "at-2").await, None);

    assert!(matches!(
        store
            .rotate_refresh("rt-1", vec![refresh("rt-2", "g1")], STRICT)
            .await
            .unwrap(),
        Rotated::Rotated(_)
    ));
}

async fn revoke_single_token<S: Storage + Clone>(store: S) {
    store
        .insert_tokens(vec![access("at-1", "g1"), refresh("rt-1", "g1")])
        .await
        .unwrap();
    assert!(store.revoke_token("at-1").await.unwrap());
    assert_eq!(status(&store, "at-1").await, Some(TokenStatus::Revoked));
    assert_eq!(
        status(&store, "rt-1").await,
        Some(TokenStatus::Active),
        "only that token"
    );
    assert!(store.revoke_token("at-1").await.unwrap(), "idempotent");
    assert!(!store.revoke_token("nope").await.unwrap());
    store
        .insert_tokens(vec![access("at-2", "g1")])
        .await
        .expect("revoking one token does not close its grant");
}

async fn revoke_client_tokens_scoped<S: Storage + Clone>(store: S) {
    let mine = |sig: &str, kind, grant: &str| token(sig, kind, grant, "mine");
    let theirs = |sig: &str, kind, grant: &str| token(sig, kind, grant, "theirs");
    store
        .insert_tokens(vec![
            mine("m-at-1", TokenKind::AccessToken, "mg1"),
            mine("m-rt-1", TokenKind::RefreshToken, "mg1"),
        ])
        .await
        .unwrap();
    store
        .insert_tokens(vec![mine("m-at-2", TokenKind::AccessToken, "mg2")])
        .await
        .unwrap();
    store
        .insert_tokens(vec![
            theirs("t-at-1", TokenKind::AccessToken, "tg1"),
            theirs("t-rt-1", TokenKind::RefreshToken, "tg1"),
        ])
        .await
        .unwrap();

    assert_eq!(store.revoke_client_tokens("mine").await.unwrap(), 3);
    for sig in ["m-at-1", "m-rt-1", "m-at-2"] {
        assert_eq!(
            status(&store, sig).await,
            Some(TokenStatus::Revoked),
            "{sig}"
        );
    }
    for sig in ["t-at-1", "t-rt-1"] {
        assert_eq!(
            status(&store, sig).await,
            Some(TokenStatus::Active),
            "{sig}"
        );
    }
    assert_eq!(
        store
            .insert_tokens(vec![mine("m-late", TokenKind::AccessToken, "mg2")])
            .await
            .unwrap_err()
            .code(),
        ErrorCode::InvalidGrant,
        "the client's grants are closed"
    );
    store
        .insert_tokens(vec![theirs("t-at-2", TokenKind::AccessToken, "tg1")])
        .await
        .expect("other clients' grants stay open");
    assert_eq!(store.revoke_client_tokens("nobody").await.unwrap(), 0);
}

async fn flush_inactive_removes_expired_only<S: Storage + Clone>(store: S) {
    store
        .insert_tokens(vec![
            expiring(code("code-old", "g1"), NOW - 100),
            expiring(access("at-old", "g1"), NOW - 1),
            expiring(refresh("rt-live", "g1"), NOW + 1000),
        ])
        .await
        .unwrap();
    store
        .insert_tokens(vec![expiring(access("at-now", "g2"), NOW)])
        .await
        .unwrap();

    assert_eq!(store.flush_inactive(NOW).await.unwrap(), 2);
    assert_eq!(status(&store, "code-old").await, None);
    assert_eq!(status(&store, "at-old").await, None);
    assert_eq!(
        status(&store, "at-now").await,
        Some(TokenStatus::Active),
        "expiring exactly at `before` is kept"
    );
    assert_eq!(status(&store, "rt-live").await, Some(TokenStatus::Active));
    assert_eq!(store.flush_inactive(NOW).await.unwrap(), 0, "nothing left");

    // The indexes forgot the deleted records: revoking the client counts what remains.
    assert_eq!(store.revoke_client_tokens("app").await.unwrap(), 2);
    assert_eq!(status(&store, "rt-live").await, Some(TokenStatus::Revoked));
}

async fn flush_inactive_keeps_needed_markers<S: Storage + Clone>(store: S) {
    store
        .insert_tokens(vec![expiring(refresh("rt-1", "g1"), NOW + 100)])
        .await
        .unwrap();
    store.revoke_grant("g1").await.unwrap();

    assert_eq!(store.flush_inactive(NOW).await.unwrap(), 0);
    assert_eq!(
        store
            .insert_tokens(vec![access("at-late", "g1")])
            .await
            .unwrap_err()
            .code(),
        ErrorCode::InvalidGrant,
        "the marker outlives flushing while the grant's tokens could still be used"
    );

    assert_eq!(store.flush_inactive(NOW + 200).await.unwrap(), 1);
    assert_eq!(status(&store, "rt-1").await, None);
    store
        .insert_tokens(vec![access("at-later", "g1")])
        .await
        .expect("an expired marker is flushed");
}

async fn assertion_id_used_once<S: Storage + Clone>(store: S) {
    assert!(store.use_assertion_id("app", "j1", NOW + 60).await.unwrap());
    assert!(
        !store.use_assertion_id("app", "j1", NOW + 60).await.unwrap(),
        "a second use is a replay"
    );
    assert!(
        !store
            .use_assertion_id("app", "j1", NOW + 9999)
            .await
            .unwrap(),
        "another expiry does not make it new"
    );
    assert!(
        store
            .use_assertion_id("other", "j1", NOW + 60)
            .await
            .unwrap(),
        "ids are per client"
    );
    assert!(store.use_assertion_id("app", "j2", NOW + 60).await.unwrap());
    assert!(
        store.use_assertion_id("ap", "pj1", NOW + 60).await.unwrap(),
        "no (client, jti) pair is mistaken for another"
    );
}

async fn concurrent_assertion_id_use<S: Storage + Clone>(store: S) {
    const TASKS: usize = 32;
    let barrier = Arc::new(Barrier::new(TASKS));
    let handles: Vec<_> = (0..TASKS)
        .map(|_| {
            let store = store.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                store.use_assertion_id("app", "jti-1", NOW + 60).await
            })
        })
        .collect();
    let mut first = 0;
    for h in handles {
        if h.await.unwrap().expect("no error under contention") {
            first += 1;
        }
    }
    assert_eq!(first, 1, "exactly one use is the first");
}

async fn flush_inactive_drops_expired_assertion_ids<S: Storage + Clone>(store: S) {
    for (jti, expires_at) in [("old", NOW - 1), ("edge", NOW), ("live", NOW + 100)] {
        assert!(store
            .use_assertion_id("app", jti, expires_at)
            .await
            .unwrap());
    }
    assert_eq!(store.flush_inactive(NOW).await.unwrap(), 1);
    assert!(
        store.use_assertion_id("app", "old", NOW - 1).await.unwrap(),
        "an expired id is forgotten by the flush"
    );
    assert!(
        !store.use_assertion_id("app", "edge", NOW).await.unwrap(),
        "expiring exactly at `before` is kept"
    );
    assert!(!store
        .use_assertion_id("app", "live", NOW + 100)
        .await
        .unwrap());
    assert_eq!(store.flush_inactive(NOW + 101).await.unwrap(), 3);
    assert!(store
        .use_assertion_id("app", "live", NOW + 500)
        .await
        .unwrap());
}

async fn keys_put_list_delete<S: Storage + Clone>(store: S) {
    assert!(store.keys().await.unwrap().is_empty());
    let k1 = key("k1", KeyState::Retired { until: NOW + 10 }, NOW - 20);
    let k2 = key("k2", KeyState::Current, NOW - 10);
    let k3 = key("k3", KeyState::Next, NOW);
    for k in [&k1, &k2, &k3] {
        store.put_key(k.clone()).await.unwrap();
    }
    assert_eq!(
        store.keys().await.unwrap(),
        [k1.clone(), k2.clone(), k3.clone()]
    );

    let k2_retired = StoredKey {
        state: KeyState::Retired { until: NOW + 99 },
        ..k2.clone()
    };
    store.put_key(k2_retired.clone()).await.unwrap();
    assert_eq!(
        store.keys().await.unwrap(),
        [k1.clone(), k2_retired.clone(), k3.clone()],
        "replacing a key keeps its place"
    );

    assert!(store.delete_key("k1").await.unwrap());
    assert!(!store.delete_key("k1").await.unwrap());
    assert_eq!(store.keys().await.unwrap(), [k2_retired, k3]);
}

async fn revoke_grant_without_tokens<S: Storage + Clone>(store: S) {
    store.revoke_grant("g-empty").await.unwrap();
    let refused = |r: portcullis::Result<()>| {
        assert_eq!(r.unwrap_err().code(), ErrorCode::InvalidGrant);
    };
    refused(store.insert_tokens(vec![access("at-1", "g-empty")]).await);

    // The first flush starts the grace period, counted from its `before`.
    assert_eq!(store.flush_inactive(NOW).await.unwrap(), 0);
    refused(store.insert_tokens(vec![access("at-2", "g-empty")]).await);
    assert_eq!(
        store
            .flush_inactive(NOW + REVOKED_GRANT_GRACE)
            .await
            .unwrap(),
        0
    );
    refused(store.insert_tokens(vec![access("at-3", "g-empty")]).await);

    // Revoking again during the grace does not shorten it.
    store.revoke_grant("g-empty").await.unwrap();
    assert_eq!(store.flush_inactive(NOW + 10).await.unwrap(), 0);
    refused(store.insert_tokens(vec![access("at-4", "g-empty")]).await);

    store
        .flush_inactive(NOW + REVOKED_GRANT_GRACE + 1)
        .await
        .unwrap();
    store
        .insert_tokens(vec![access("at-5", "g-empty")])
        .await
        .expect("the marker is gone after the grace");

    // A grant whose tokens were all flushed before it was revoked counts as tokenless.
    store
        .insert_tokens(vec![expiring(access("at-old", "g-flushed"), NOW - 10)])
        .await
        .unwrap();
    assert_eq!(store.flush_inactive(NOW).await.unwrap(), 1);
    store.revoke_grant("g-flushed").await.unwrap();
    store.flush_inactive(NOW + 1).await.unwrap();
    refused(store.insert_tokens(vec![access("at-6", "g-flushed")]).await);
}

async fn flow_create_get_update<S: Storage + Clone>(store: S) {
    let f0 = flow("f1", NOW + 1800);
    assert_eq!(store.get_flow("f1").await.unwrap(), None);
    store.create_flow(&f0).await.unwrap();
    assert_eq!(store.get_flow("f1").await.unwrap().as_deref(), Some(&f0));

    let dup = store
        .create_flow(&advanced(&f0, "mallory"))
        .await
        .unwrap_err();
    assert_eq!(dup.code(), ErrorCode::Conflict);
    assert_eq!(
        store.get_flow("f1").await.unwrap().as_deref(),
        Some(&f0),
        "a refused duplicate does not overwrite"
    );

    let f1 = advanced(&f0, "alice");
    assert!(
        store.update_flow(&f1).await.unwrap(),
        "the right version wins"
    );
    assert_eq!(store.get_flow("f1").await.unwrap().as_deref(), Some(&f1));

    assert!(
        !store.update_flow(&advanced(&f0, "mallory")).await.unwrap(),
        "an update from a stale version is refused"
    );
    let skip = Flow {
        version: f1.version + 2,
        ..f1.clone()
    };
    assert!(
        !store.update_flow(&skip).await.unwrap(),
        "an update skipping a version is refused"
    );
    let same = Flow { ..f1.clone() };
    assert!(
        !store.update_flow(&same).await.unwrap(),
        "an update to the same version is refused"
    );
    assert_eq!(store.get_flow("f1").await.unwrap().as_deref(), Some(&f1));

    assert!(
        !store
            .update_flow(&advanced(&flow("ghost", NOW), "alice"))
            .await
            .unwrap(),
        "a missing flow is not updated"
    );
    assert_eq!(store.get_flow("ghost").await.unwrap(), None);

    let f2 = advanced(&f1, "alice");
    assert!(store.update_flow(&f2).await.unwrap());
    assert_eq!(store.get_flow("f1").await.unwrap().unwrap().version, 2);
}

async fn concurrent_flow_updates<S: Storage + Clone>(store: S) {
    const TASKS: usize = 16;
    let f0 = flow("f1", NOW + 1800);
    store.create_flow(&f0).await.unwrap();
    let barrier = Arc::new(Barrier::new(TASKS));
    let handles: Vec<_> = (0..TASKS)
        .map(|i| {
            let store = store.clone();
            let barrier = barrier.clone();
            let next = advanced(&f0, &format!("user-{i}"));
            tokio::spawn(async move {
                barrier.wait().await;
                (i, store.update_flow(&next).await)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for h in handles {
        let (i, won) = h.await.unwrap();
        if won.expect("no error under contention") {
            winners.push(i);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one update from a version wins");
    let stored = store.get_flow("f1").await.unwrap().unwrap();
    assert_eq!(stored.version, 1);
    assert_eq!(
        stored.login.unwrap().subject,
        format!("user-{}", winners[0]),
        "the winner's flow is stored"
    );
}

async fn login_sessions_by_sid_and_subject<S: Storage + Clone>(store: S) {
    assert_eq!(store.get_login_session("s1").await.unwrap(), None);
    for l in [
        login("s1", "alice", NOW + 100),
        login("s2", "alice", NOW + 100),
        login("s3", "bob", NOW + 100),
        login("s4", "alice2", NOW + 100),
    ] {
        store.put_login_session(l.clone()).await.unwrap();
    }
    assert_eq!(
        store.get_login_session("s1").await.unwrap(),
        Some(login("s1", "alice", NOW + 100))
    );

    // Replacing a session, even with another subject, moves it.
    store
        .put_login_session(login("s2", "carol", NOW + 200))
        .await
        .unwrap();
    assert_eq!(
        store.get_login_session("s2").await.unwrap(),
        Some(login("s2", "carol", NOW + 200))
    );

    let gone = store
        .delete_login_sessions(SessionSelector::Sid("s3"))
        .await
        .unwrap();
    assert_eq!(gone, [login("s3", "bob", NOW + 100)]);
    assert_eq!(store.get_login_session("s3").await.unwrap(), None);
    assert!(store
        .delete_login_sessions(SessionSelector::Sid("s3"))
        .await
        .unwrap()
        .is_empty());

    store
        .put_login_session(login("s5", "alice", NOW + 100))
        .await
        .unwrap();
    let gone = store
        .delete_login_sessions(SessionSelector::Subject("alice"))
        .await
        .unwrap();
    assert_eq!(
        sorted_ids(gone, |l| l.sid.to_string()),
        ["s1", "s5"],
        "only alice's sessions (s2 moved to carol)"
    );
    assert_eq!(store.get_login_session("s1").await.unwrap(), None);
    assert_eq!(store.get_login_session("s5").await.unwrap(), None);
    assert!(store.get_login_session("s2").await.unwrap().is_some());
    assert!(
        store.get_login_session("s4").await.unwrap().is_some(),
        "a subject with alice as a prefix is untouched"
    );
    assert!(store
        .delete_login_sessions(SessionSelector::Subject("alice"))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .delete_login_sessions(SessionSelector::Subject("carol"))
            .await
            .unwrap(),
        [login("s2", "carol", NOW + 200)]
    );
}

async fn consents_newest_first<S: Storage + Clone>(store: S) {
    assert!(store.consents("alice").await.unwrap().is_empty());
    store
        .put_consent(consent("c2", "alice", "app", NOW - 50))
        .await
        .unwrap();
    store
        .put_consent(consent("c1", "alice", "app", NOW - 100))
        .await
        .unwrap();
    store
        .put_consent(consent("c3", "alice", "other", NOW))
        .await
        .unwrap();
    store
        .put_consent(consent("b1", "bob", "app", NOW))
        .await
        .unwrap();
    store
        .put_consent(consent("n1", "alice-2", "app", NOW))
        .await
        .unwrap();
    store
        .put_consent(consent("m1", "-1", "app", NOW - 1_000_000_000_000))
        .await
        .unwrap();
    store
        .put_consent(consent("m2", "-1", "app", -5))
        .await
        .unwrap();
    assert_eq!(consent_ids(&store, "alice").await, ["c3", "c2", "c1"]);
    assert_eq!(consent_ids(&store, "bob").await, ["b1"]);
    assert_eq!(
        consent_ids(&store, "-1").await,
        ["m2", "m1"],
        "ordered by time, negative times too"
    );
    assert_eq!(
        store.consents("alice").await.unwrap()[0],
        consent("c3", "alice", "other", NOW),
        "stored unchanged"
    );

    // Same time: the one stored last comes first.
    store
        .put_consent(consent("c4", "alice", "app", NOW))
        .await
        .unwrap();
    assert_eq!(consent_ids(&store, "alice").await, ["c4", "c3", "c2", "c1"]);

    // Storing an id again replaces it (and moves it by its new time).
    let mut renewed = consent("c1", "alice", "app", NOW + 10);
    renewed.granted_audience = vec!["https://api.example.com".to_owned()];
    store.put_consent(renewed.clone()).await.unwrap();
    assert_eq!(consent_ids(&store, "alice").await, ["c1", "c4", "c3", "c2"]);
    assert_eq!(store.consents("alice").await.unwrap()[0], renewed);
    store
        .put_consent(consent("c3", "alice", "other", NOW))
        .await
        .unwrap();
    assert_eq!(
        consent_ids(&store, "alice").await,
        ["c1", "c3", "c4", "c2"],
        "replaced with the same time, it counts as stored last"
    );
    assert_eq!(consent_ids(&store, "bob").await, ["b1"]);
}

async fn delete_consents_all_or_one_client<S: Storage + Clone>(store: S) {
    for c in [
        consent("a1", "alice", "app", NOW - 30),
        consent("a2", "alice", "other", NOW - 20),
        consent("a3", "alice", "app", NOW - 10),
        consent("a4", "alice", "third", NOW),
        consent("b1", "bob", "app", NOW),
    ] {
        store.put_consent(c.clone()).await.unwrap();
    }
    let gone = store.delete_consents("alice", Some("app")).await.unwrap();
    assert_eq!(sorted_ids(gone.clone(), |c| c.id.to_string()), ["a1", "a3"]);
    assert!(gone.contains(&consent("a1", "alice", "app", NOW - 30)));
    assert_eq!(consent_ids(&store, "alice").await, ["a4", "a2"]);
    assert_eq!(consent_ids(&store, "bob").await, ["b1"], "bob's stay");
    assert!(store
        .delete_consents("alice", Some("app"))
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .delete_consents("nobody", None)
        .await
        .unwrap()
        .is_empty());

    // A deleted consent stored again is a fresh one.
    store
        .put_consent(consent("a1", "alice", "app", NOW + 5))
        .await
        .unwrap();
    assert_eq!(consent_ids(&store, "alice").await, ["a1", "a4", "a2"]);

    let gone = store.delete_consents("alice", None).await.unwrap();
    assert_eq!(sorted_ids(gone, |c| c.id.to_string()), ["a1", "a2", "a4"]);
    assert!(store.consents("alice").await.unwrap().is_empty());
    assert_eq!(consent_ids(&store, "bob").await, ["b1"]);
}

async fn flush_sessions_removes_expired_only<S: Storage + Clone>(store: S) {
    store.create_flow(&flow("f-old", NOW - 1)).await.unwrap();
    store.create_flow(&flow("f-now", NOW)).await.unwrap();
    store.create_flow(&flow("f-live", NOW + 60)).await.unwrap();
    store
        .put_login_session(login("s-old", "alice", NOW - 100))
        .await
        .unwrap();
    store
        .put_login_session(login("s-live", "alice", NOW + 100))
        .await
        .unwrap();
    store
        .put_consent(consent("c1", "alice", "app", NOW - 1_000_000))
        .await
        .unwrap();

    assert_eq!(store.flush_sessions(NOW).await.unwrap(), 2);
    assert_eq!(store.get_flow("f-old").await.unwrap(), None);
    assert!(
        store.get_flow("f-now").await.unwrap().is_some(),
        "expiring exactly at `before` is kept"
    );
    assert!(store.get_flow("f-live").await.unwrap().is_some());
    assert_eq!(store.get_login_session("s-old").await.unwrap(), None);
    assert!(store.get_login_session("s-live").await.unwrap().is_some());
    assert_eq!(
        consent_ids(&store, "alice").await,
        ["c1"],
        "consents are not flushed"
    );
    assert_eq!(store.flush_sessions(NOW).await.unwrap(), 0, "nothing left");

    // The subject index forgot the flushed session.
    assert_eq!(
        store
            .delete_login_sessions(SessionSelector::Subject("alice"))
            .await
            .unwrap(),
        [login("s-live", "alice", NOW + 100)]
    );
    assert_eq!(store.flush_sessions(NOW + 1000).await.unwrap(), 2);
}

async fn trust_crud_and_duplicates<S: Storage + Clone>(store: S) {
    let idp = "https://idp.example";
    let t1 = trust("t1", idp, "alice", "k1");
    store.create_trust(t1.clone()).await.unwrap();
    assert_eq!(store.get_trust("t1").await.unwrap().as_deref(), Some(&t1));
    assert_eq!(store.get_trust("nope").await.unwrap(), None);
    let e = store
        .create_trust(trust("t2", idp, "alice", "k1"))
        .await
        .unwrap_err();
    assert_eq!(
        e.code(),
        ErrorCode::Conflict,
        "same issuer, subject and kid"
    );
    let e = store
        .create_trust(trust("t1", idp, "bob", "k9"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Conflict, "same id");
    // Another subject, any subject, another key or another issuer: all distinct.
    for t in [
        trust("t2", idp, "bob", "k1"),
        trust("t3", idp, "", "k1"),
        trust("t4", idp, "alice", "k2"),
        trust("t5", "https://other.example", "alice", "k1"),
    ] {
        store.create_trust(t).await.unwrap();
    }
    assert_eq!(issuer_ids(&store, idp).await, ["t1", "t2", "t3", "t4"]);
    assert_eq!(issuer_ids(&store, "https://other.example").await, ["t5"]);
    assert!(
        issuer_ids(&store, "https://idp").await.is_empty(),
        "no prefix match"
    );
    assert!(store.delete_trust("t1").await.unwrap());
    assert!(!store.delete_trust("t1").await.unwrap());
    assert_eq!(store.get_trust("t1").await.unwrap(), None);
    assert_eq!(issuer_ids(&store, idp).await, ["t2", "t3", "t4"]);
    // The triple is free again once its relationship is gone.
    store
        .create_trust(trust("t6", idp, "alice", "k1"))
        .await
        .unwrap();
    assert_eq!(issuer_ids(&store, idp).await, ["t2", "t3", "t4", "t6"]);
}

async fn trust_list_paging_and_filter<S: Storage + Clone>(store: S) {
    for i in 0..5 {
        let issuer = if i % 2 == 0 {
            "https://a.example"
        } else {
            "https://b.example"
        };
        store
            .create_trust(trust(&format!("t{i}"), issuer, "alice", &format!("k{i}")))
            .await
            .unwrap();
    }
    let mut query = TrustQuery {
        page_size: 2,
        ..TrustQuery::default()
    };
    let mut seen = Vec::new();
    loop {
        let page = store.list_trusts(&query).await.unwrap();
        assert!(page.trusts.len() <= 2);
        seen.extend(page.trusts.iter().map(|t| t.id.clone()));
        match page.next_page_token {
            Some(next) => query.page_token = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ["t0", "t1", "t2", "t3", "t4"]);
    let a = store
        .list_trusts(&TrustQuery {
            issuer: Some("https://a.example".into()),
            ..TrustQuery::default()
        })
        .await
        .unwrap();
    let ids: Vec<&str> = a.trusts.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["t0", "t2", "t4"]);
    assert_eq!(a.next_page_token, None);
}

async fn flush_trusts_removes_expired_only<S: Storage + Clone>(store: S) {
    let idp = "https://idp.example";
    for (id, kid, expires_at) in [
        ("old", "k1", NOW - 1),
        ("edge", "k2", NOW),
        ("live", "k3", NOW + 100),
    ] {
        let t = common::trust_relationship(id, idp, "alice", kid, NOW - 10, expires_at);
        store.create_trust(t).await.unwrap();
    }
    assert_eq!(store.flush_trusts(NOW).await.unwrap(), 1);
    assert_eq!(store.get_trust("old").await.unwrap(), None);
    assert_eq!(issuer_ids(&store, idp).await, ["edge", "live"]);
    // Its issuer, subject and key id are free again.
    store
        .create_trust(trust("renewed", idp, "alice", "k1"))
        .await
        .unwrap();
    assert_eq!(store.flush_trusts(NOW).await.unwrap(), 0);
    assert_eq!(store.flush_trusts(NOW + 101).await.unwrap(), 2);
    assert_eq!(issuer_ids(&store, idp).await, ["renewed"]);
}

async fn concurrent_trust_creation<S: Storage + Clone>(store: S) {
    let barrier = Arc::new(Barrier::new(16));
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let (store, barrier) = (store.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let t = trust(&format!("t{i}"), "https://idp.example", "alice", "k1");
                store.create_trust(t).await
            })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => created += 1,
            Err(e) => assert_eq!(e.code(), ErrorCode::Conflict, "{e}"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(issuer_ids(&store, "https://idp.example").await.len(), 1);
}

macro_rules! conformance {
    ($($test:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    super::$test(super::MemoryStore::new()).await;
                }
            )*
        }

        mod sled_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    super::$test(super::SledStore::temporary().expect("temporary store")).await;
                }
            )*
        }

        #[cfg(feature = "postgres")]
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    if let Some(store) = super::common::postgres_store().await {
                        super::$test(store).await;
                    }
                }
            )*
        }
    };
}

conformance!(
    client_crud,
    list_paging,
    any_string_round_trips,
    list_filters,
    insert_and_get_tokens,
    consume_code_once,
    concurrent_code_redemption,
    concurrent_refresh_rotation,
    inserts_racing_a_revocation,
    rotate_refresh_outcomes,
    rotate_within_the_grace_period,
    concurrent_rotation_within_the_grace_period,
    reuse_count_within_the_grace_period,
    revoke_grant_family,
    rotate_into_revoked_grant,
    revoke_single_token,
    revoke_client_tokens_scoped,
    flush_inactive_removes_expired_only,
    flush_inactive_keeps_needed_markers,
    assertion_id_used_once,
    concurrent_assertion_id_use,
    flush_inactive_drops_expired_assertion_ids,
    keys_put_list_delete,
    revoke_grant_without_tokens,
    flow_create_get_update,
    concurrent_flow_updates,
    login_sessions_by_sid_and_subject,
    consents_newest_first,
    delete_consents_all_or_one_client,
    flush_sessions_removes_expired_only,
    trust_crud_and_duplicates,
    trust_list_paging_and_filter,
    concurrent_trust_creation,
    flush_trusts_removes_expired_only,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sled_trusts_survive_reopen() {
    let dir = TempDir::new("trust-reopen");
    let idp = "https://idp.example";
    {
        let store = SledStore::open(&dir.0).unwrap();
        for t in [trust("t1", idp, "alice", "k1"), trust("t2", idp, "", "k1")] {
            store.create_trust(t).await.unwrap();
        }
        // The last write before the store is dropped: a deletion.
        assert!(store.delete_trust("t1").await.unwrap());
    }
    let store = SledStore::open(&dir.0).expect("reopen after drop");
    assert_eq!(store.get_trust("t1").await.unwrap(), None);
    assert_eq!(
        store.get_trust("t2").await.unwrap().as_deref(),
        Some(&trust("t2", idp, "", "k1"))
    );
    assert_eq!(issuer_ids(&store, idp).await, ["t2"]);
    // The index was reopened too: the deleted triple is free, the kept one taken.
    store
        .create_trust(trust("t3", idp, "alice", "k1"))
        .await
        .unwrap();
    let e = store
        .create_trust(trust("t4", idp, "", "k1"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Conflict);
}

// ---------------------------------------------------------------------------------------
// Sled only: persistence
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sled_state_survives_reopen() {
    let dir = TempDir::new("reopen");
    {
        let store = SledStore::open(&dir.0).unwrap();
        store
            .create_client(client("app", "My App", "acme"))
            .await
            .unwrap();
        store
            .insert_tokens(vec![access("at-1", "g1"), refresh("rt-1", "g1")])
            .await
            .unwrap();
        store
            .insert_tokens(vec![access("at-2", "g2"), code("code-2", "g2")])
            .await
            .unwrap();
        store.revoke_token("at-1").await.unwrap();
        let _ = store.consume_code("code-2").await.unwrap();
        store.revoke_grant("g2").await.unwrap();
        store
            .put_key(key("k1", KeyState::Current, NOW))
            .await
            .unwrap();
        store.put_key(key("k2", KeyState::Next, NOW)).await.unwrap();

        let f0 = flow("f1", NOW + 1800);
        store.create_flow(&f0).await.unwrap();
        assert!(store.update_flow(&advanced(&f0, "alice")).await.unwrap());
        for l in [
            login("s1", "alice", NOW + 100),
            login("s2", "alice", NOW + 100),
            login("s3", "bob", NOW + 100),
        ] {
            store.put_login_session(l.clone()).await.unwrap();
        }
        for c in [
            consent("c1", "alice", "app", NOW - 10),
            consent("c2", "alice", "other", NOW),
            consent("c3", "alice", "third", NOW + 10),
        ] {
            store.put_consent(c.clone()).await.unwrap();
        }
        store.revoke_grant("g-empty").await.unwrap();
        assert!(store
            .use_assertion_id("app", "jti-1", NOW + 60)
            .await
            .unwrap());
        // Revocations, the last writes before the store is dropped.
        store
            .delete_login_sessions(SessionSelector::Subject("alice"))
            .await
            .unwrap();
        store.delete_consents("alice", Some("other")).await.unwrap();
    }

    let store = SledStore::open(&dir.0).expect("reopen after drop");
    assert_eq!(
        store.get_client("app").await.unwrap().as_deref(),
        Some(&client("app", "My App", "acme"))
    );
    assert_eq!(status(&store, "at-1").await, Some(TokenStatus::Revoked));
    assert_eq!(status(&store, "rt-1").await, Some(TokenStatus::Active));
    assert_eq!(status(&store, "at-2").await, Some(TokenStatus::Revoked));
    assert_eq!(
        store.consume_code("code-2").await.unwrap(),
        Consumed::AlreadyUsed {
            grant_id: "g2".into()
        },
        "a consumed code stays consumed"
    );
    assert!(
        !store
            .use_assertion_id("app", "jti-1", NOW + 60)
            .await
            .unwrap(),
        "a used assertion id stays used"
    );
    assert_eq!(
        store
            .insert_tokens(vec![access("at-late", "g2")])
            .await
            .unwrap_err()
            .code(),
        ErrorCode::InvalidGrant,
        "a revoked grant still refuses new tokens"
    );
    let kids: Vec<String> = store
        .keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.kid)
        .collect();
    assert_eq!(kids, ["k1", "k2"]);
    let f1 = store.get_flow("f1").await.unwrap().expect("flows persist");
    assert_eq!(*f1, advanced(&flow("f1", NOW + 1800), "alice"));
    assert!(
        !store
            .update_flow(&advanced(&flow("f1", NOW + 1800), "mallory"))
            .await
            .unwrap(),
        "the persisted version still guards updates"
    );
    assert!(store.update_flow(&advanced(&f1, "alice")).await.unwrap());
    assert_eq!(store.get_login_session("s1").await.unwrap(), None);
    assert_eq!(store.get_login_session("s2").await.unwrap(), None);
    assert_eq!(
        store.get_login_session("s3").await.unwrap(),
        Some(login("s3", "bob", NOW + 100))
    );
    assert!(
        store
            .delete_login_sessions(SessionSelector::Subject("alice"))
            .await
            .unwrap()
            .is_empty(),
        "deleted sessions stay deleted"
    );
    assert_eq!(
        consent_ids(&store, "alice").await,
        ["c3", "c1"],
        "the deleted consent stays deleted, the others persist in order"
    );
    store
        .put_consent(consent("c1", "alice", "app", NOW + 20))
        .await
        .unwrap();
    assert_eq!(
        consent_ids(&store, "alice").await,
        ["c1", "c3"],
        "the id index persists: storing c1 again replaces it"
    );
    assert_eq!(
        store
            .insert_tokens(vec![access("at-x", "g-empty")])
            .await
            .unwrap_err()
            .code(),
        ErrorCode::InvalidGrant,
        "a tokenless grant's marker persists"
    );
    // Indexes survive too: the client's remaining grant is found and revoked.
    assert_eq!(store.revoke_client_tokens("app").await.unwrap(), 4);
    assert_eq!(status(&store, "rt-1").await, Some(TokenStatus::Revoked));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sled_corrupt_records_are_internal_errors() {
    let dir = TempDir::new("corrupt");
    {
        let store = SledStore::open(&dir.0).unwrap();
        store
            .insert_tokens(vec![access("at-1", "g1")])
            .await
            .unwrap();
        store
            .create_client(client("app", "My App", "acme"))
            .await
            .unwrap();
    }
    {
        let db = raw_sled(&dir.0);
        db.open_tree("tokens")
            .unwrap()
            .insert("at-1", &b"{not json"[..])
            .unwrap();
        db.open_tree("clients")
            .unwrap()
            .insert("app", &b"\xff\x00"[..])
            .unwrap();
        db.flush().unwrap();
    }
    let store = SledStore::open(&dir.0).unwrap();
    let internal = |e: portcullis::Error| assert_eq!(e.code(), ErrorCode::ServerError);
    internal(store.get_token("at-1").await.unwrap_err());
    internal(store.consume_code("at-1").await.unwrap_err());
    internal(store.revoke_token("at-1").await.unwrap_err());
    internal(store.get_client("app").await.unwrap_err());
    internal(
        store
            .list_clients(&ClientQuery::default())
            .await
            .unwrap_err(),
    );
}
