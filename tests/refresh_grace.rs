//! The refresh-token rotation grace period (Hydra's
//! `oauth2.grant.refresh_token.rotation_grace_period`): for a while after its first
//! rotation, a refresh token may be redeemed again (a client whose answer was lost, two
//! tabs refreshing at once) without revoking its family; after that, reuse revokes the
//! family as it does without a grace period. On both stores, and across a restart.

mod common;

use common::*;
use portcullis::storage::{MemoryStore, SledStore, Storage};
use portcullis::{Config, CreatedClient, ErrorCode, Provider, TokenResponse};
use time::Duration;

const GRACE: i64 = 30;

fn graced(c: &mut Config) {
    c.refresh_token_rotation_grace_period = Duration::seconds(GRACE);
}

/// A client of `f` and its first token response (with a refresh token).
async fn first_tokens(f: &Fixture) -> (CreatedClient, TokenResponse) {
    let c = f.client(web_client()).await;
    let code = f.code(&c.client.client_id, "openid offline_access").await;
    let first = f.exchange(&code, &c).await.unwrap();
    (c, first)
}

/// A fixture with the grace period on `store`, a client, and its first token response.
async fn start(store: impl Storage) -> (Fixture, CreatedClient, TokenResponse) {
    let f = fixture_on(store, graced).await;
    let (c, first) = first_tokens(&f).await;
    (f, c, first)
}

fn rt(r: &TokenResponse) -> &str {
    r.refresh_token.as_deref().expect("a refresh token")
}

fn sled() -> (TempDir, SledStore) {
    let dir = TempDir::new("grace");
    let store = SledStore::open(&dir.0).unwrap();
    (dir, store)
}

/// Each test below, on a MemoryStore, a SledStore and (when a server is named) a
/// PostgresStore.
macro_rules! on_every_store {
    ($($test:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    super::$test(super::MemoryStore::new()).await;
                }
            )*
        }
        mod sled {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    let (_dir, store) = super::sled();
                    super::$test(store).await;
                }
            )*
        }
        #[cfg(feature = "postgres")]
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    if let Some(store) = super::postgres_store().await {
                        super::$test(store).await;
                    }
                }
            )*
        }
    };
}

on_every_store!(
    reuse_within_the_grace_period_issues_again,
    the_grace_period_runs_from_the_first_rotation,
    a_revoked_family_is_not_reopened,
    concurrent_refreshes_all_succeed,
);

async fn reuse_within_the_grace_period_issues_again(store: impl Storage) {
    let (f, c, first) = start(store).await;
    let second = f.refresh(rt(&first), &c).await.unwrap();
    f.clock.advance(Duration::seconds(GRACE - 1));
    let again = f
        .refresh(rt(&first), &c)
        .await
        .expect("within the grace period");
    assert_ne!(rt(&again), rt(&second));
    assert!(
        again.id_token.is_some(),
        "an openid grant, as on any refresh"
    );
    // Nothing was revoked: both successors' tokens live, and both rotate.
    for r in [&second, &again] {
        assert!(f.introspect(&r.access_token).await.is_active());
        assert!(f.introspect(rt(r)).await.is_active());
    }
    // The spent token itself is not active, grace or not.
    assert_eq!(f.introspect_json(rt(&first)).await, INACTIVE);
    f.refresh(rt(&second), &c).await.unwrap();
    f.refresh(rt(&again), &c).await.unwrap();
}

/// The period runs from the first rotation: reusing the token does not extend it, and a
/// reuse after it revokes the family, the reuses' tokens included.
async fn the_grace_period_runs_from_the_first_rotation(store: impl Storage) {
    let (f, c, first) = start(store).await;
    let second = f.refresh(rt(&first), &c).await.unwrap();
    f.clock.advance(Duration::seconds(GRACE - 5));
    let again = f.refresh(rt(&first), &c).await.unwrap();
    f.clock.advance(Duration::seconds(5));
    let late = f.refresh(rt(&first), &c).await.unwrap_err();
    assert_eq!(late.code(), ErrorCode::InvalidGrant);
    for r in [&first, &second, &again] {
        assert_eq!(f.introspect_json(&r.access_token).await, INACTIVE);
        assert_eq!(
            f.refresh(rt(r), &c).await.unwrap_err().code(),
            ErrorCode::InvalidGrant
        );
    }
}

/// A revoked family stays revoked: the grace period does not reopen it.
async fn a_revoked_family_is_not_reopened(store: impl Storage) {
    let (f, c, first) = start(store).await;
    let second = f.refresh(rt(&first), &c).await.unwrap();
    assert_eq!(
        f.revoke(rt(&second), &c).await.unwrap(),
        portcullis::Revocation::Grant
    );
    assert_eq!(
        f.refresh(rt(&first), &c).await.unwrap_err().code(),
        ErrorCode::InvalidGrant
    );
    assert_eq!(f.introspect_json(&second.access_token).await, INACTIVE);
}

/// Concurrent refreshes with one token (two tabs) all succeed within the period, and
/// every successor rotates.
async fn concurrent_refreshes_all_succeed(store: impl Storage) {
    let (f, c, first) = start(store).await;
    let body = format!("grant_type=refresh_token&refresh_token={}", rt(&first));
    let wins = concurrent_token_requests(&f, &c, &body, 16).await;
    assert_eq!(wins.len(), 16);
    for w in &wins {
        f.refresh(rt(w), &c).await.expect("a live successor");
    }
}

/// The rotation time is stored with the record: after a restart the period still runs
/// from the first rotation.
#[tokio::test]
async fn the_rotation_time_survives_a_restart() {
    let dir = TempDir::new("grace-restart");
    // Every fixture's clock starts at the same instant: each restart moves it on.
    let dir = &dir.0;
    let restarted_after = |seconds: i64| async move {
        let f = fixture_on(SledStore::open(dir).unwrap(), graced).await;
        f.clock.advance(Duration::seconds(seconds));
        f
    };
    let (c, first, second) = {
        let f = restarted_after(0).await;
        let (c, first) = first_tokens(&f).await;
        let second = f.refresh(rt(&first), &c).await.unwrap();
        (c, first, second)
    };
    {
        let f = restarted_after(GRACE / 2).await;
        f.refresh(rt(&first), &c)
            .await
            .expect("still within the period");
    }
    let f = restarted_after(GRACE).await;
    assert_eq!(
        f.refresh(rt(&first), &c).await.unwrap_err().code(),
        ErrorCode::InvalidGrant
    );
    assert_eq!(f.introspect_json(&second.access_token).await, INACTIVE);
}

/// Without a grace period (the default), the first reuse revokes the family.
#[tokio::test]
async fn no_grace_period_by_default() {
    let f = fixture().await;
    assert_eq!(
        f.provider.config().refresh_token_rotation_grace_period,
        Duration::ZERO
    );
    let (c, first) = first_tokens(&f).await;
    let second = f.refresh(rt(&first), &c).await.unwrap();
    assert_eq!(
        f.refresh(rt(&first), &c).await.unwrap_err().code(),
        ErrorCode::InvalidGrant
    );
    assert_eq!(f.introspect_json(&second.access_token).await, INACTIVE);
}

/// With a reuse count, the token may be reused that many times within the period; the
/// next reuse revokes the family.
#[tokio::test]
async fn a_reuse_count_limits_the_reuses() {
    let f = fixture_on(MemoryStore::new(), |c| {
        c.refresh_token_rotation_grace_period = Duration::days(1);
        c.refresh_token_rotation_grace_reuse_count = 2;
    })
    .await;
    let (c, first) = first_tokens(&f).await;
    let second = f.refresh(rt(&first), &c).await.unwrap();
    f.clock.advance(Duration::hours(12));
    let reuses = [
        f.refresh(rt(&first), &c).await.unwrap(),
        f.refresh(rt(&first), &c).await.unwrap(),
    ];
    assert_eq!(
        f.refresh(rt(&first), &c).await.unwrap_err().code(),
        ErrorCode::InvalidGrant,
        "a third reuse"
    );
    for r in reuses.iter().chain([&second]) {
        assert_eq!(f.introspect_json(&r.access_token).await, INACTIVE);
    }
}

/// As in Hydra, the period is at most five minutes, or 30 days with a reuse count; a
/// negative one is refused too.
#[tokio::test]
async fn the_grace_period_is_bounded() {
    for (grace, count, ok) in [
        (Duration::minutes(5), 0, true),
        (Duration::minutes(5) + Duration::seconds(1), 0, false),
        (Duration::seconds(-1), 0, false),
        (Duration::days(30), 1, true),
        (Duration::days(30) + Duration::seconds(1), 1, false),
    ] {
        let mut config = Config::new(ISSUER, [7u8; 32]);
        config.refresh_token_rotation_grace_period = grace;
        config.refresh_token_rotation_grace_reuse_count = count;
        let built = Provider::builder(config)
            .store(MemoryStore::new())
            .signer(signer())
            .build()
            .await;
        assert_eq!(built.is_ok(), ok, "{grace}");
        if let Err(e) = built {
            assert!(e.description().contains("grace period"), "{e}");
        }
    }
}
