//! Token administration: flushing expired records and revoking a client's tokens.

mod common;

use common::*;
use portcullis::model::TokenStatus;
use portcullis::ErrorCode;
use time::Duration;

#[tokio::test]
async fn flush_deletes_expired_records_only() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let old = f
        .token("grant_type=client_credentials", Some(&c))
        .await
        .unwrap()
        .access_token;
    f.clock.advance(Duration::hours(2));
    let fresh = f
        .token("grant_type=client_credentials", Some(&c))
        .await
        .unwrap()
        .access_token;
    let store = f.provider.store();
    assert!(store.get_token(signature_of(&old)).await.unwrap().is_some());
    // A `before` in the future is capped at now: the fresh token survives.
    let n = f
        .provider
        .flush_inactive_tokens(f.provider.now() + Duration::days(365))
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert!(store.get_token(signature_of(&old)).await.unwrap().is_none());
    assert!(store
        .get_token(signature_of(&fresh))
        .await
        .unwrap()
        .is_some());
    assert!(f.introspect(&fresh).await.is_active());
    assert_eq!(f.introspect_json(&old).await, INACTIVE);
    // Nothing left to flush.
    assert_eq!(
        f.provider
            .flush_inactive_tokens(f.provider.now())
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn flush_deletes_expired_trust_relationships() {
    let f = fixture().await;
    let now = f.provider.now().unix_timestamp();
    let trust = |id: &str, kid: &str, lifetime: i64| {
        trust_relationship(id, "https://idp.example", "alice", kid, now, now + lifetime)
    };
    let store = f.provider.store();
    store
        .create_trust(trust("short", "k1", 3600))
        .await
        .unwrap();
    store
        .create_trust(trust("long", "k2", 30 * 86400))
        .await
        .unwrap();
    f.clock.advance(Duration::hours(2));
    let n = f
        .provider
        .flush_inactive_tokens(f.provider.now())
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert!(store.get_trust("short").await.unwrap().is_none());
    assert!(store.get_trust("long").await.unwrap().is_some());
}

#[tokio::test]
async fn delete_client_tokens_revokes_every_grant_of_the_client_only() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let other = f.client(web_client()).await;
    let a = f.tokens(&c).await;
    let b = f
        .token("grant_type=client_credentials", Some(&c))
        .await
        .unwrap();
    let keep = f.tokens(&other).await;
    let n = f
        .provider
        .delete_client_tokens(&c.client.client_id)
        .await
        .unwrap();
    // At least the access and refresh token of the code grant and the client_credentials
    // token (a store may also count the spent code's record).
    assert!(n >= 3, "{n}");
    for t in [
        &a.access_token,
        a.refresh_token.as_deref().unwrap(),
        &b.access_token,
    ] {
        assert_eq!(f.introspect_json(t).await, INACTIVE);
    }
    let rec = f.record(&b.access_token).await;
    assert_eq!(rec.status, TokenStatus::Revoked);
    assert!(f.introspect(&keep.access_token).await.is_active());
    // The client stays and can get new tokens.
    assert!(f
        .token("grant_type=client_credentials", Some(&c))
        .await
        .is_ok());
    assert_eq!(f.provider.delete_client_tokens("nobody").await.unwrap(), 0);
    assert_eq!(
        f.provider
            .delete_client_tokens("")
            .await
            .unwrap_err()
            .code(),
        ErrorCode::InvalidRequest
    );
}
