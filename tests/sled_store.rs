//! SledStore behaviour beyond the shared conformance suite: the storage layout version,
//! the cache of decoded clients, revocation by a marker read back, and the scan behind
//! revoking a client's tokens.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::{raw_sled, TempDir};
use portcullis::model::{Client, Scope, Session, TokenKind, TokenRecord, TokenStatus};
use portcullis::storage::{ClientStore, Consumed, Rotated, Rotation, SledStore, TokenStore};
use portcullis::ErrorCode;

const NOW: i64 = 1_700_000_000;

/// A rotation now, without a grace period.
const STRICT: Rotation = Rotation {
    at: NOW,
    grace: 0,
    max_reuses: 0,
};

fn token(signature: &str, kind: TokenKind, grant_id: &str, client_id: &str) -> TokenRecord {
    TokenRecord {
        signature: signature.to_owned(),
        kind,
        status: TokenStatus::Active,
        rotated_at: None,
        reuses: 0,
        grant_id: grant_id.into(),
        client_id: client_id.into(),
        scope: Scope::parse("offline_access read").unwrap(),
        granted_scope: Scope::parse("offline_access read").unwrap(),
        audience: vec![],
        issued_at: NOW,
        expires_at: NOW + 100,
        session: Arc::new(Session {
            subject: "alice".to_owned(),
            ..Session::default()
        }),
        code: None,
    }
}

fn client(id: &str, name: &str) -> Client {
    Client {
        client_id: id.to_owned(),
        client_name: name.to_owned(),
        ..Client::default()
    }
}

async fn status(store: &SledStore, signature: &str) -> Option<TokenStatus> {
    store.get_token(signature).await.unwrap().map(|r| r.status)
}

async fn name(store: &SledStore, client_id: &str) -> Option<String> {
    store
        .get_client(client_id)
        .await
        .unwrap()
        .map(|c| c.client_name.clone())
}

fn refused(description: &str, open: portcullis::Result<SledStore>) {
    let err = open.expect_err("the directory is refused");
    assert_eq!(err.code(), ErrorCode::ServerError);
    assert!(
        err.description().contains(description),
        "{}",
        err.description()
    );
    assert!(
        err.description().contains("layout 2"),
        "{}",
        err.description()
    );
}

// ---- layout version ----

#[tokio::test]
async fn a_new_directory_is_stamped_with_the_layout_and_reopens() {
    let dir = TempDir::new("layout-new");
    {
        let store = SledStore::open(&dir.0).unwrap();
        store.create_client(client("app", "App")).await.unwrap();
    }
    {
        let db = raw_sled(&dir.0);
        assert_eq!(
            db.get("portcullis.layout").unwrap().as_deref(),
            Some(&b"2"[..])
        );
    }
    let store = SledStore::open(&dir.0).expect("its own layout opens");
    assert_eq!(name(&store, "app").await.as_deref(), Some("App"));
}

#[tokio::test]
async fn a_directory_of_layout_1_is_upgraded_in_place() {
    let dir = TempDir::new("layout-1");
    {
        // As layout 1 left it: records, a marker of a revoked grant whose record was
        // also rewritten, an active record of that grant written after (a race layout 1
        // allowed), and the two index trees.
        let db = raw_sled(&dir.0);
        let tokens = db.open_tree("tokens").unwrap();
        let put = |rec: TokenRecord| {
            tokens
                .insert(rec.signature.clone(), serde_json::to_vec(&rec).unwrap())
                .unwrap();
        };
        put(token("live", TokenKind::AccessToken, "g-live", "app"));
        put(TokenRecord {
            status: TokenStatus::Revoked,
            ..token("dead", TokenKind::RefreshToken, "g-dead", "app")
        });
        put(token("late", TokenKind::AccessToken, "g-dead", "app"));
        db.open_tree("revoked_grants")
            .unwrap()
            .insert("g-dead", &(NOW + 100).to_be_bytes()[..])
            .unwrap();
        for index in ["grant_tokens", "client_grants"] {
            db.open_tree(index).unwrap().insert("k", &[][..]).unwrap();
        }
        db.flush().unwrap();
    }
    {
        let store = SledStore::open(&dir.0).expect("layout 1 is upgraded");
        assert_eq!(status(&store, "live").await, Some(TokenStatus::Active));
        assert_eq!(status(&store, "dead").await, Some(TokenStatus::Revoked));
        assert_eq!(status(&store, "late").await, Some(TokenStatus::Revoked));
        assert_eq!(store.revoke_client_tokens("app").await.unwrap(), 3);
        assert_eq!(status(&store, "live").await, Some(TokenStatus::Revoked));
    }
    let db = raw_sled(&dir.0);
    assert_eq!(
        db.get("portcullis.layout").unwrap().as_deref(),
        Some(&b"2"[..])
    );
    let names = db.tree_names();
    for index in ["grant_tokens", "client_grants"] {
        assert!(
            !names.iter().any(|n| n == index.as_bytes()),
            "{index} dropped"
        );
    }
}

#[tokio::test]
async fn unversioned_data_that_is_not_layout_1_is_refused_and_left_alone() {
    let dir = TempDir::new("layout-unknown");
    {
        let db = raw_sled(&dir.0);
        db.open_tree("tokens")
            .unwrap()
            .insert("sig", &b"{}"[..])
            .unwrap();
        db.flush().unwrap();
    }
    refused("data without a layout version", SledStore::open(&dir.0));
    let db = raw_sled(&dir.0);
    assert_eq!(db.get("portcullis.layout").unwrap(), None, "not stamped");
    assert_eq!(db.open_tree("tokens").unwrap().len(), 1, "nothing changed");
}

#[tokio::test]
async fn a_directory_of_another_layout_is_refused() {
    let dir = TempDir::new("layout-3");
    {
        let db = raw_sled(&dir.0);
        db.insert("portcullis.layout", &b"3"[..]).unwrap();
        db.flush().unwrap();
    }
    refused("layout 3", SledStore::open(&dir.0));
}

#[tokio::test]
async fn an_empty_directory_without_a_layout_is_adopted() {
    let dir = TempDir::new("layout-empty");
    {
        let db = raw_sled(&dir.0);
        db.open_tree("tokens").unwrap();
        db.flush().unwrap();
    }
    let store = SledStore::open(&dir.0).expect("an empty directory opens");
    store.create_client(client("app", "App")).await.unwrap();
}

// ---- the directory lock ----

#[tokio::test]
async fn open_waits_for_a_store_being_released() {
    let dir = TempDir::new("lock-released");
    let held = SledStore::open(&dir.0).unwrap();
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        drop(held);
    });
    SledStore::open(&dir.0).expect("opens once the other store is gone");
    releaser.join().unwrap();
}

#[tokio::test]
async fn a_directory_held_open_is_refused_after_the_wait() {
    let dir = TempDir::new("lock-held");
    let _held = SledStore::open(&dir.0).unwrap();
    let started = std::time::Instant::now();
    let err = SledStore::open(&dir.0).expect_err("the directory is in use");
    assert_eq!(err.code(), ErrorCode::ServerError);
    assert!(started.elapsed() >= portcullis::storage::sled_store::RELEASE_WAIT);
}

// ---- the client cache ----

#[tokio::test]
async fn cached_clients_follow_every_write() {
    let dir = TempDir::new("client-cache");
    {
        let store = SledStore::open(&dir.0).unwrap();
        let other = store.clone();
        assert_eq!(name(&store, "app").await, None);
        store.create_client(client("app", "v1")).await.unwrap();
        assert_eq!(name(&store, "app").await.as_deref(), Some("v1"));
        other.update_client(client("app", "v2")).await.unwrap();
        assert_eq!(
            name(&store, "app").await.as_deref(),
            Some("v2"),
            "clones share the cache"
        );
        assert!(other.delete_client("app").await.unwrap());
        assert_eq!(name(&store, "app").await, None);
        assert_eq!(
            store
                .update_client(client("app", "v3"))
                .await
                .unwrap_err()
                .code(),
            ErrorCode::NotFound,
            "a deleted client stays deleted"
        );
        assert_eq!(name(&store, "app").await, None);
        store.create_client(client("app", "v4")).await.unwrap();
        assert_eq!(name(&store, "app").await.as_deref(), Some("v4"));
    }
    let store = SledStore::open(&dir.0).unwrap();
    assert_eq!(
        name(&store, "app").await.as_deref(),
        Some("v4"),
        "what the cache answered is what was stored"
    );
}

/// Readers fill the cache while a writer deletes and recreates the client: every answer
/// the writer gets right after its own write must reflect that write, so a fill can
/// never have installed a client read before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cache_fills_racing_writes_never_install_a_stale_client() {
    const READERS: usize = 6;
    const ROUNDS: usize = 200;
    let store = SledStore::temporary().unwrap();
    store.create_client(client("app", "v0")).await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let (store, stop) = (store.clone(), stop.clone());
            tokio::spawn(async move {
                let mut newest = 0;
                while !stop.load(Ordering::Relaxed) {
                    if let Some(n) = name(&store, "app").await {
                        let v: usize = n[1..].parse().unwrap();
                        assert!(v >= newest, "saw v{v} after v{newest}");
                        newest = v;
                    }
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    for round in 1..=ROUNDS {
        assert!(store.delete_client("app").await.unwrap());
        assert_eq!(name(&store, "app").await, None, "round {round}");
        let version = format!("v{round}");
        store.create_client(client("app", &version)).await.unwrap();
        assert_eq!(name(&store, "app").await, Some(version), "round {round}");
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.await.expect("a reader saw versions go backwards");
    }
}

// ---- revocation by marker ----

/// A record that reached the store after its grant was revoked (an insert racing the
/// revocation, then a crash before it could delete its record again) is revoked by the
/// grant's marker, and the marker outlives it.
#[tokio::test]
async fn a_record_written_into_a_revoked_grant_is_revoked() {
    let dir = TempDir::new("marker-on-read");
    {
        let store = SledStore::open(&dir.0).unwrap();
        store.revoke_grant("g").await.unwrap();
    }
    {
        let db = raw_sled(&dir.0);
        let tokens = db.open_tree("tokens").unwrap();
        for rec in [
            token("rt-raced", TokenKind::RefreshToken, "g", "app"),
            token("code-raced", TokenKind::AuthorizationCode, "g", "app"),
            token("at-raced", TokenKind::AccessToken, "g", "app"),
        ] {
            tokens
                .insert(&rec.signature, serde_json::to_vec(&rec).unwrap())
                .unwrap();
        }
        db.flush().unwrap();
    }
    let store = SledStore::open(&dir.0).unwrap();
    for sig in ["rt-raced", "code-raced", "at-raced"] {
        assert_eq!(
            status(&store, sig).await,
            Some(TokenStatus::Revoked),
            "{sig}"
        );
    }
    let gone = Rotated::AlreadyUsed {
        grant_id: "g".into(),
    };
    let next = token("rt-next", TokenKind::RefreshToken, "g2", "app");
    assert_eq!(
        store
            .rotate_refresh("rt-raced", vec![next], STRICT)
            .await
            .unwrap(),
        gone
    );
    assert_eq!(status(&store, "rt-next").await, None);
    assert_eq!(
        store.consume_code("code-raced").await.unwrap(),
        Consumed::AlreadyUsed {
            grant_id: "g".into()
        }
    );
    assert!(store.revoke_token("at-raced").await.unwrap());

    // The records expire at NOW + 100: until then the marker stays.
    assert_eq!(store.flush_inactive(NOW + 50).await.unwrap(), 0);
    assert_eq!(status(&store, "rt-raced").await, Some(TokenStatus::Revoked));
    let late = [token("at-late", TokenKind::AccessToken, "g", "app")];
    assert_eq!(
        store.insert_tokens(late.to_vec()).await.unwrap_err().code(),
        ErrorCode::InvalidGrant
    );
    assert_eq!(store.flush_inactive(NOW + 200).await.unwrap(), 3);
    store
        .insert_tokens(late.to_vec())
        .await
        .expect("records and marker are flushed together");
}

// ---- revoking a client's tokens ----

#[tokio::test]
async fn revoking_a_client_scans_every_grant_of_that_client_only() {
    const GRANTS: usize = 40;
    let store = SledStore::temporary().unwrap();
    for g in 0..GRANTS {
        let grant = format!("mine-{g}");
        let mut records = vec![token(
            &format!("m-at-{g}"),
            TokenKind::AccessToken,
            &grant,
            "mine",
        )];
        if g % 2 == 0 {
            records.push(token(
                &format!("m-rt-{g}"),
                TokenKind::RefreshToken,
                &grant,
                "mine",
            ));
        }
        store.insert_tokens(records).await.unwrap();
    }
    store
        .insert_tokens(vec![token(
            "o-at",
            TokenKind::AccessToken,
            "other-g",
            "mine2",
        )])
        .await
        .unwrap();

    assert_eq!(
        store.revoke_client_tokens("mine").await.unwrap(),
        (GRANTS + GRANTS / 2) as u64
    );
    for g in 0..GRANTS {
        assert_eq!(
            status(&store, &format!("m-at-{g}")).await,
            Some(TokenStatus::Revoked)
        );
    }
    assert_eq!(
        status(&store, "o-at").await,
        Some(TokenStatus::Active),
        "a client whose id extends the revoked one keeps its tokens"
    );
    let into_old = [token("m-late", TokenKind::AccessToken, "mine-7", "mine")];
    assert_eq!(
        store
            .insert_tokens(into_old.to_vec())
            .await
            .unwrap_err()
            .code(),
        ErrorCode::InvalidGrant
    );
    store
        .insert_tokens(vec![token(
            "m-new",
            TokenKind::AccessToken,
            "mine-new",
            "mine",
        )])
        .await
        .expect("the client may start new grants");
    assert_eq!(
        store.revoke_client_tokens("mine").await.unwrap(),
        (GRANTS + GRANTS / 2 + 1) as u64,
        "revoked records still count"
    );
    assert_eq!(status(&store, "m-new").await, Some(TokenStatus::Revoked));
}
