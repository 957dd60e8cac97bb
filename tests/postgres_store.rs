//! The PostgreSQL store beyond the conformance suite: several app instances on one
//! database (what the store is for), and the layout check. Runs when
//! `PORTCULLIS_TEST_POSTGRES` names a server (`.ci/run` starts one).
#![cfg(feature = "postgres")]

mod common;
#[path = "../examples/axum_server/postgres_tls.rs"]
mod postgres_tls;

use common::*;
use portcullis::storage::PostgresStore;
use portcullis::token::pkce::s256_challenge;
use portcullis::{AuthorizeOutcome, ErrorCode, IntrospectRequest};

/// Two providers, as two app instances behind a load balancer: one configuration, each
/// with its own connection pool to one database.
async fn two_instances() -> Option<(Fixture, Fixture)> {
    let url = postgres_schema().await?;
    let a = PostgresStore::connect(&url).await.expect("instance a");
    let b = PostgresStore::connect(&url).await.expect("instance b");
    Some((fixture_on(a, |_| {}).await, fixture_on(b, |_| {}).await))
}

async fn active(f: &Fixture, token: &str) -> bool {
    let req = IntrospectRequest::from_form(format!("token={token}").as_bytes()).unwrap();
    f.provider.introspect(req).await.unwrap().is_active()
}

/// A session of its own on the test's database (another app, an operator).
async fn session(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

/// The query parameters of the URL an outcome sends the browser to.
fn target(out: &AuthorizeOutcome) -> std::collections::HashMap<String, String> {
    match out {
        AuthorizeOutcome::Login { redirect_to, .. }
        | AuthorizeOutcome::Consent { redirect_to, .. } => response_params(redirect_to),
        AuthorizeOutcome::Redirect(url) => response_params(url),
        other => panic!("unexpected outcome {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flow_moves_between_instances() {
    let Some((a, b)) = two_instances().await else {
        return;
    };
    let c = a.client(web_client()).await;
    let id = c.client.client_id.clone();
    let challenge = s256_challenge(VERIFIER);

    // The browser lands on a, the login app answers b, the browser comes back to a…
    let out = Browser::new(&a.provider)
        .authorize(&code_flow(&id, &challenge))
        .await;
    let login = target(&out)["login_challenge"].clone();
    let to = b
        .provider
        .accept_login(&login, accept_login("alice", false))
        .await
        .unwrap();
    let out = Browser::new(&a.provider).follow(&to.redirect_to).await;
    let consent = target(&out)["consent_challenge"].clone();
    let to = a
        .provider
        .accept_consent(
            &consent,
            accept_consent(&["openid", "offline_access"], false),
        )
        .await
        .unwrap();
    // …and a replayed verifier is refused on the other one.
    let out = Browser::new(&b.provider).follow(&to.redirect_to).await;
    let code = target(&out)["code"].clone();
    let replay = Browser::new(&a.provider).follow(&to.redirect_to).await;
    assert!(
        matches!(replay, AuthorizeOutcome::ErrorPage(_)),
        "{replay:?}"
    );

    let first = b.exchange(&code, &c).await.unwrap();
    assert!(active(&a, &first.access_token).await);
    let refresh = first.refresh_token.clone().expect("offline_access");
    let second = a
        .token(
            &format!("grant_type=refresh_token&refresh_token={refresh}"),
            Some(&c),
        )
        .await
        .unwrap();
    assert!(active(&b, &second.access_token).await);

    // The spent refresh token replayed on the other instance revokes the family there
    // and here.
    let replayed = b
        .token(
            &format!("grant_type=refresh_token&refresh_token={refresh}"),
            Some(&c),
        )
        .await
        .unwrap_err();
    assert_eq!(replayed.code(), ErrorCode::InvalidGrant);
    assert!(!active(&a, &second.access_token).await);
    assert!(!active(&b, &first.access_token).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_code_redeems_once_across_instances() {
    let Some((a, b)) = two_instances().await else {
        return;
    };
    let (a, b) = (std::sync::Arc::new(a), std::sync::Arc::new(b));
    let c = a.client(web_client()).await;
    let code = a.code(&c.client.client_id, "openid offline_access").await;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(8));
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let f = if i % 2 == 0 { a.clone() } else { b.clone() };
            let (c, code, barrier) = (c.clone(), code.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                f.exchange(&code, &c).await
            })
        })
        .collect();
    let mut wins = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(tokens) => wins.push(tokens),
            Err(e) => assert_eq!(e.code(), ErrorCode::InvalidGrant, "{e}"),
        }
    }
    // At most one redemption issues, and the others, replays of a spent code, revoke
    // what it issued (RFC 6749 §4.1.2): nothing stays live on either instance.
    assert!(wins.len() <= 1);
    for w in &wins {
        assert!(!active(&a, &w.access_token).await);
        assert!(!active(&b, &w.access_token).await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_concurrent_consumptions_on_two_pools_exactly_one_wins() {
    use portcullis::storage::{Consumed, TokenStore};
    let Some(url) = postgres_schema().await else {
        return;
    };
    let a = PostgresStore::connect(&url).await.unwrap();
    let b = PostgresStore::connect(&url).await.unwrap();
    let f = fixture_on(a.clone(), |_| {}).await;
    let c = f.client(web_client()).await;
    let code = f.code(&c.client.client_id, "openid").await;
    let signature = signature_of(&code).to_owned();
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(16));
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            let (signature, barrier) = (signature.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                store.consume_code(&signature).await.unwrap()
            })
        })
        .collect();
    let mut redeemed = 0;
    for t in tasks {
        match t.await.unwrap() {
            Consumed::Redeemed(_) => redeemed += 1,
            Consumed::AlreadyUsed { .. } => {}
            Consumed::NotFound => panic!("the code is there"),
        }
    }
    assert_eq!(redeemed, 1);
}

#[tokio::test]
async fn refuses_a_database_of_another_layout() {
    let Some(url) = postgres_schema().await else {
        return;
    };
    drop(PostgresStore::connect(&url).await.expect("a new database"));
    PostgresStore::connect(&url)
        .await
        .expect("reopens its own layout");

    let client = session(&url).await;
    client
        .execute("UPDATE portcullis_layout SET version = 99", &[])
        .await
        .unwrap();
    let e = PostgresStore::connect(&url).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::ServerError);
    assert!(
        e.description().contains("layout 99") && e.description().contains("layout 1"),
        "{}",
        e.description()
    );
}

#[tokio::test]
async fn an_unreachable_server_is_an_error_not_a_panic() {
    // Port 1 on loopback: nothing listens there. The operator learns why.
    let e = PostgresStore::connect("postgres://nobody@127.0.0.1:1/none")
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ServerError);
    assert!(e.description().starts_with("PostgreSQL: "), "{e}");
    let e = PostgresStore::connect("postgres://host:notaport/db")
        .await
        .unwrap_err();
    assert!(e.description().starts_with("PostgreSQL URL: "), "{e}");
}

#[tokio::test]
async fn issuance_leaves_the_connection_durable() {
    let Some(url) = postgres_schema().await else {
        return;
    };
    // One connection, so the statement below runs where the insert ran.
    let config: tokio_postgres::Config = url.parse().unwrap();
    let manager = deadpool_postgres::Manager::new(config, tokio_postgres::NoTls);
    let pool = deadpool_postgres::Pool::builder(manager)
        .max_size(1)
        .build()
        .unwrap();
    let store = PostgresStore::from_pool(pool.clone()).await.unwrap();
    let f = fixture_on(store, |_| {}).await;
    let c = f.client(web_client()).await;
    let code = f.code(&c.client.client_id, "openid offline_access").await;
    f.exchange(&code, &c).await.unwrap();
    // Issuance commits without waiting for the disk, for its own transaction only: what
    // runs next on the connection (a revocation, say) waits again.
    let conn = pool.get().await.unwrap();
    let setting: String = conn
        .query_one("SHOW synchronous_commit", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(setting, "on");
    drop(conn);
    assert!(f
        .provider
        .store()
        .revoke_token(signature_of(&code))
        .await
        .unwrap());
}

#[tokio::test]
async fn a_tls_connector_is_used_as_the_url_asks() {
    use portcullis::storage::postgres_store::tokio_postgres::NoTls;
    let Some(url) = postgres_schema().await else {
        return;
    };
    PostgresStore::connect_with(&url, NoTls)
        .await
        .expect("sslmode prefer (the default) falls back to plain");
    // Required TLS with a connector that has none: an error for the operator, not a
    // panic and not a plain connection.
    let e = PostgresStore::connect_with(&format!("{url}&sslmode=require"), NoTls)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ServerError);
    assert!(e.description().starts_with("PostgreSQL: "), "{e}");
}

#[tokio::test]
async fn the_reference_servers_tls_verifies_the_server() {
    use portcullis::storage::TokenStore;
    let Some(url) = postgres_schema().await else {
        return;
    };
    // `.ci/postgres` serves TLS with the test CA's leaf for 127.0.0.1.
    let ca = include_bytes!("data/tls/ca.pem");
    let required = format!("{url}&sslmode=require");
    let tls = postgres_tls::connector(Some(ca)).unwrap();
    let (client, connection) = tokio_postgres::connect(&required, tls.clone())
        .await
        .expect("a TLS connection to the server the test CA vouches for");
    tokio::spawn(connection);
    let ssl: bool = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(ssl, "the session is encrypted");
    let store = PostgresStore::connect_with(&required, tls).await.unwrap();
    assert!(store.get_token("none").await.unwrap().is_none());

    // Without the test CA the server's certificate is not trusted: an error, even
    // under `prefer` (a certificate that fails is not a reason to go plain).
    let untrusting = postgres_tls::connector(None).unwrap();
    for mode in ["require", "prefer"] {
        let e = PostgresStore::connect_with(&format!("{url}&sslmode={mode}"), untrusting.clone())
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::ServerError, "{mode}");
        assert!(e.description().starts_with("PostgreSQL: "), "{mode}: {e}");
        assert!(e.description().contains("certificate"), "the cause: {e}");
    }
    assert!(postgres_tls::connector(Some(b"not a certificate")).is_err());
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    // It accepts the connection and says nothing: the socket connects, the startup
    // handshake would wait for ever. The store gives up after `connect_timeout`.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let url = format!("postgres://nobody@127.0.0.1:{port}/none?connect_timeout=1");
    let e = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        PostgresStore::connect(&url),
    )
    .await
    .expect("the store gives up by itself")
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ServerError);
    assert!(e.description().starts_with("PostgreSQL: "), "{e}");
    silent.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_busy_pool_answers_temporarily_unavailable() {
    use portcullis::storage::postgres_store::POOL_WAIT_TIMEOUT;
    use portcullis::storage::TokenStore;
    let Some(url) = postgres_schema().await else {
        return;
    };
    let store = PostgresStore::connect(&url).await.unwrap();
    // Another session locks the tokens table, so every lookup holds its connection.
    let locker = session(&url).await;
    locker
        .batch_execute("BEGIN; LOCK TABLE portcullis_tokens IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let held: Vec<_> = (0..16)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.get_token(&format!("held-{i}")).await })
        })
        .collect();
    // Wait until all 16 pooled connections wait on the lock (the locker's transaction
    // sees a snapshot of the statistics unless it clears it).
    loop {
        locker
            .batch_execute("SELECT pg_stat_clear_snapshot()")
            .await
            .unwrap();
        let waiting: i64 = locker
            .query_one(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock' \
                 AND wait_event = 'relation' AND query LIKE '%portcullis_tokens%'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if waiting >= 16 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let e = tokio::time::timeout(POOL_WAIT_TIMEOUT * 3, store.get_token("one-more"))
        .await
        .expect("the wait for a connection ends")
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::TemporarilyUnavailable);
    assert_eq!(e.code().status(), 503);

    // Once the lock goes, the held lookups finish and the pool serves again.
    locker.batch_execute("COMMIT").await.unwrap();
    for h in held {
        assert!(h.await.unwrap().unwrap().is_none());
    }
    assert!(store.get_token("after").await.unwrap().is_none());
}

/// `/health/ready` asks the database: with the store's tables unreadable it is `503` in
/// Hydra's shape (the detail logged, not shown), and `200` again once they are back.
#[tokio::test]
async fn readiness_follows_the_database() {
    let Some(url) = postgres_schema().await else {
        return;
    };
    let f = fixture_on(PostgresStore::connect(&url).await.unwrap(), |_| {}).await;
    let h = Http::new(&f.provider);
    let ready = || async {
        let req = http::Request::get("/health/ready")
            .body(bytes::Bytes::new())
            .unwrap();
        h.server.public(req).await
    };
    assert_eq!(ready().await.status(), 200);

    let admin = session(&url).await;
    admin
        .batch_execute("ALTER TABLE portcullis_keys RENAME TO portcullis_keys_away")
        .await
        .unwrap();
    let resp = ready().await;
    assert_eq!(resp.status(), 503);
    assert_eq!(header(&resp, "retry-after"), Some("1"));
    assert_eq!(
        body_json(&resp),
        serde_json::json!({"errors": {"database": "The server met an unexpected condition."}})
    );
    // Alive does not ask the database.
    let req = http::Request::get("/health/alive")
        .body(bytes::Bytes::new())
        .unwrap();
    assert_eq!(h.server.admin(req).await.status(), 200);

    admin
        .batch_execute("ALTER TABLE portcullis_keys_away RENAME TO portcullis_keys")
        .await
        .unwrap();
    assert_eq!(ready().await.status(), 200);
}
