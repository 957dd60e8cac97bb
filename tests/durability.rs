//! What protects users survives a restart: revocations, spent codes, rotated refresh
//! tokens, clients and signing keys, on a SledStore reopened from its directory; and
//! revoke-then-introspect is inactive on both stores.

mod common;

use common::*;
use portcullis::clock::MockClock;
use portcullis::storage::{MemoryStore, SledStore, Storage};
use portcullis::{Config, IntrospectRequest, Provider, RevokeRequest, TokenRequest};

/// A provider whose keys are loaded from (or generated into) the store.
async fn provider_on(store: impl Storage, clock: &MockClock) -> Provider {
    Provider::builder(Config::new(ISSUER, [7u8; 32]))
        .store(store)
        .clock(clock.clone())
        .build()
        .await
        .expect("provider builds")
}

async fn active(p: &Provider, token: &str) -> bool {
    let body = format!("token={}", urlencode(token));
    p.introspect(IntrospectRequest::from_form(body.as_bytes()).unwrap())
        .await
        .unwrap()
        .is_active()
}

async fn revoke(p: &Provider, token: &str, client: &portcullis::CreatedClient) {
    let body = format!("token={}", urlencode(token));
    let auth = basic(client);
    let done = p
        .revoke(RevokeRequest::from_form(body.as_bytes(), Some(&auth)).unwrap())
        .await
        .unwrap();
    assert_eq!(done, portcullis::Revocation::AccessToken);
}

async fn cc_token(p: &Provider, client: &portcullis::CreatedClient) -> String {
    let auth = basic(client);
    let req =
        TokenRequest::from_form(b"grant_type=client_credentials&scope=read", Some(&auth)).unwrap();
    p.token(req).await.unwrap().access_token
}

async fn revoke_then_introspect(store: impl Storage) {
    let clock = MockClock::default();
    let p = provider_on(store, &clock).await;
    let f = Fixture {
        provider: p.clone(),
        clock,
    };
    let c = f.client(web_client()).await;
    let token = cc_token(&p, &c).await;
    assert!(active(&p, &token).await);
    revoke(&p, &token, &c).await;
    assert!(!active(&p, &token).await);
}

#[tokio::test]
async fn revoke_then_introspect_on_memory() {
    revoke_then_introspect(MemoryStore::new()).await;
}

#[tokio::test]
async fn revoke_then_introspect_on_sled() {
    revoke_then_introspect(SledStore::temporary().unwrap()).await;
}

#[tokio::test]
async fn a_reopened_sled_store_keeps_revocations_spent_codes_clients_and_keys() {
    let dir = TempDir::new("reopen");
    let clock = MockClock::default();
    let (client, revoked, kept, code, spent_refresh, jwks) = {
        let p = provider_on(SledStore::open(&dir.0).unwrap(), &clock).await;
        let f = Fixture {
            provider: p.clone(),
            clock: clock.clone(),
        };
        let c = f.client(web_client()).await;
        let revoked = cc_token(&p, &c).await;
        let kept = cc_token(&p, &c).await;
        revoke(&p, &revoked, &c).await;
        let code = f.code(&c.client.client_id, "openid offline_access").await;
        let first = f.exchange(&code, &c).await.unwrap();
        let rt1 = first.refresh_token.unwrap();
        f.token(
            &format!("grant_type=refresh_token&refresh_token={rt1}"),
            Some(&c),
        )
        .await
        .unwrap();
        (c, revoked, kept, code, rt1, p.jwks())
    };
    // Everything above was dropped: the sled database is closed.
    let p = provider_on(SledStore::open(&dir.0).unwrap(), &clock).await;
    let f = Fixture {
        provider: p.clone(),
        clock: clock.clone(),
    };
    assert_eq!(p.jwks(), jwks, "the same signing keys after a restart");
    assert!(p.get_client(&client.client.client_id).await.is_ok());
    assert!(!active(&p, &revoked).await, "a revoked token stays revoked");
    assert!(active(&p, &kept).await);
    assert!(
        f.exchange(&code, &client).await.is_err(),
        "a spent code stays spent"
    );
    let replay = f
        .token(
            &format!("grant_type=refresh_token&refresh_token={spent_refresh}"),
            Some(&client),
        )
        .await;
    assert_eq!(
        replay.unwrap_err().code(),
        portcullis::ErrorCode::InvalidGrant
    );
}
