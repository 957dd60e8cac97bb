//! The introspection endpoint (RFC 7662, with Hydra's `scope` and `ext`): what an active
//! token reports, and that every inactive token is answered exactly `{"active":false}`.

mod common;

use common::*;
use portcullis::{ClientRequest, ErrorCode, IntrospectRequest};
use serde_json::json;
use time::Duration;

#[tokio::test]
async fn an_active_access_token_reports_hydras_fields_and_ext() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let id = c.client.client_id.clone();
    let code = f
        .code_with(
            &id,
            "openid offline_access profile",
            &["https://api.example.com"],
            rich_session(),
        )
        .await;
    let t = f.exchange(&code, &c).await.unwrap();
    let now = f.provider.now().unix_timestamp();
    let answer = f.introspect(&t.access_token).await;
    let active = answer.active().expect("active");
    assert_eq!(active.token_use(), "access_token");
    assert_eq!(active.subject(), "alice");
    let got: serde_json::Value = serde_json::to_value(&answer).unwrap();
    assert_eq!(
        got,
        json!({
            "active": true,
            "scope": "openid offline_access profile",
            "client_id": id,
            "sub": "alice",
            "exp": now + 3600,
            "iat": now,
            "nbf": now,
            "aud": ["https://api.example.com"],
            "iss": ISSUER,
            "token_type": "Bearer",
            "token_use": "access_token",
            "ext": {"tenant": "acme", "roles": ["admin", "dev"]},
        })
    );
    // The ID-token extras are not access-token extras.
    assert!(got.get("email").is_none() && got.get("username").is_none());
}

#[tokio::test]
async fn refresh_tokens_introspect_with_token_use_refresh_token() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let t = f.tokens(&c).await;
    let got =
        serde_json::to_value(f.introspect(t.refresh_token.as_deref().unwrap()).await).unwrap();
    assert_eq!(got["active"], true);
    assert_eq!(got["token_use"], "refresh_token");
    assert!(got.get("token_type").is_none());
    assert_eq!(
        got["exp"].as_i64().unwrap() - got["iat"].as_i64().unwrap(),
        720 * 3600
    );
    assert_eq!(got["ext"]["tenant"], "acme");
}

#[tokio::test]
async fn client_credentials_tokens_have_the_client_as_subject_and_no_ext() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let at = f
        .token("grant_type=client_credentials&scope=read", Some(&c))
        .await
        .unwrap()
        .access_token;
    let got = serde_json::to_value(f.introspect(&at).await).unwrap();
    assert_eq!(got["sub"], c.client.client_id.as_str());
    assert_eq!(got["scope"], "read");
    assert!(got.get("ext").is_none() && got.get("aud").is_none());
}

#[tokio::test]
async fn expired_tokens_are_inactive() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let t = f.tokens(&c).await;
    f.clock.advance(Duration::seconds(3599));
    assert!(f.introspect(&t.access_token).await.is_active());
    f.clock.advance(Duration::seconds(1));
    assert_eq!(f.introspect_json(&t.access_token).await, INACTIVE);
    let rt = t.refresh_token.unwrap();
    assert!(f.introspect(&rt).await.is_active());
    f.clock.advance(Duration::hours(720));
    assert_eq!(f.introspect_json(&rt).await, INACTIVE);
}

#[tokio::test]
async fn unknown_and_malformed_tokens_are_inactive() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let t = f.tokens(&c).await;
    let forged = t.access_token.replacen("ptc_at_", "ptc_rt_", 1);
    // A correctly shaped JWT that was never issued here.
    let jwt = f
        .client(ClientRequest {
            access_token_strategy: Some("jwt".into()),
            ..web_client()
        })
        .await;
    let issued = f.tokens(&jwt).await.access_token;
    let mut parts: Vec<&str> = issued.split('.').collect();
    parts[2] = "c2lnbmF0dXJl";
    let resigned = parts.join(".");
    for junk in [
        "x",
        "ptc_at_",
        "ptc_at_x.y",
        "ptc_zz_abc.def",
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
        &forged,
        &resigned,
        &"é".repeat(5000),
    ] {
        assert_eq!(f.introspect_json(junk).await, INACTIVE, "{junk:.40}");
    }
}

#[tokio::test]
async fn revoked_tokens_and_revoked_grants_are_inactive() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let t = f.tokens(&c).await;
    assert_eq!(
        f.revoke(&t.access_token, &c).await.unwrap(),
        portcullis::Revocation::AccessToken
    );
    assert_eq!(f.introspect_json(&t.access_token).await, INACTIVE);
    let rt = t.refresh_token.unwrap();
    assert!(f.introspect(&rt).await.is_active());

    // A replayed code revokes its grant: every token of it turns inactive.
    let code = f.code(&c.client.client_id, "openid offline_access").await;
    let first = f.exchange(&code, &c).await.unwrap();
    assert!(f.introspect(&first.access_token).await.is_active());
    assert!(f.exchange(&code, &c).await.is_err());
    assert_eq!(f.introspect_json(&first.access_token).await, INACTIVE);
    assert_eq!(
        f.introspect_json(first.refresh_token.as_deref().unwrap())
            .await,
        INACTIVE
    );
}

#[tokio::test]
async fn a_spent_refresh_token_is_inactive() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let rt = f.tokens(&c).await.refresh_token.unwrap();
    let next = f.refresh(&rt, &c).await.unwrap();
    assert_eq!(f.introspect_json(&rt).await, INACTIVE);
    assert!(f
        .introspect(next.refresh_token.as_deref().unwrap())
        .await
        .is_active());
}

#[tokio::test]
async fn a_deleted_clients_tokens_are_inactive() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let t = f.tokens(&c).await;
    // Even if the store still holds the tokens as active (the client row went first, e.g.
    // by hand), they die with the client.
    assert!(f
        .provider
        .store()
        .delete_client(&c.client.client_id)
        .await
        .unwrap());
    let stored = f.record(&t.access_token).await;
    assert_eq!(stored.status, portcullis::model::TokenStatus::Active);
    assert_eq!(f.introspect_json(&t.access_token).await, INACTIVE);
    assert_eq!(
        f.introspect_json(t.refresh_token.as_deref().unwrap()).await,
        INACTIVE
    );
    // And through the admin operation.
    let c2 = f.client(web_client()).await;
    let t2 = f.tokens(&c2).await;
    f.provider
        .delete_client(&c2.client.client_id)
        .await
        .unwrap();
    assert_eq!(f.introspect_json(&t2.access_token).await, INACTIVE);
}

#[tokio::test]
async fn authorization_codes_never_introspect_active() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let code = f.code(&c.client.client_id, "openid").await;
    assert_eq!(f.introspect_json(&code).await, INACTIVE);
    // Introspecting did not spend it.
    let t = f.exchange(&code, &c).await.unwrap();
    assert_eq!(f.introspect_json(&code).await, INACTIVE);
    assert!(f.introspect(&t.access_token).await.is_active());
}

#[tokio::test]
async fn the_scope_parameter_requires_every_listed_scope() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let t = f.tokens(&c).await; // openid offline_access profile
    let at = &t.access_token;
    for (scope, active) in [
        ("openid", true),
        ("profile openid", true),
        ("openid offline_access profile", true),
        ("  profile  ", true),
        ("", true),
        ("read", false),
        ("openid read", false),
        ("openi", false),
    ] {
        let answer = f.introspect_scoped(at, Some(scope)).await;
        assert_eq!(answer.is_active(), active, "{scope:?}");
        if !active {
            assert_eq!(serde_json::to_string(&answer).unwrap(), INACTIVE);
        }
    }
    // Narrowed by a refresh: the new token carries less.
    let narrow = f
        .token(
            &format!(
                "grant_type=refresh_token&refresh_token={}&scope=offline_access",
                t.refresh_token.unwrap()
            ),
            Some(&c),
        )
        .await
        .unwrap();
    assert!(!f
        .introspect_scoped(&narrow.access_token, Some("openid"))
        .await
        .is_active());
    assert!(f
        .introspect_scoped(&narrow.access_token, Some("offline_access"))
        .await
        .is_active());
}

#[tokio::test]
async fn malformed_requests_are_invalid_request() {
    for body in [
        "",
        "token=",
        "token=a&token=b",
        "token=a&scope=%22",
        "scope=openid",
    ] {
        assert_eq!(
            IntrospectRequest::from_form(body.as_bytes())
                .unwrap_err()
                .code(),
            ErrorCode::InvalidRequest,
            "{body}"
        );
    }
}

#[tokio::test]
async fn jwt_access_tokens_introspect_by_digest() {
    let f = fixture().await;
    let c = f
        .client(ClientRequest {
            access_token_strategy: Some("jwt".into()),
            ..web_client()
        })
        .await;
    let t = f.tokens(&c).await;
    let (_, claims) = verify_jwt(&f.provider, &t.access_token, None);
    let got = serde_json::to_value(f.introspect(&t.access_token).await).unwrap();
    assert_eq!(got["active"], true);
    assert_eq!(got["token_use"], "access_token");
    assert_eq!(got["sub"], claims["sub"]);
    assert_eq!(got["exp"], claims["exp"]);
    assert_eq!(got["client_id"], claims["client_id"]);
    assert_eq!(got["ext"], claims["ext"]);
    // A hint claiming otherwise changes nothing.
    let req = IntrospectRequest::from_form(
        format!("token={}&token_type_hint=refresh_token", t.access_token).as_bytes(),
    )
    .unwrap();
    assert!(f.provider.introspect(req).await.unwrap().is_active());
    f.clock.advance(Duration::hours(1));
    assert_eq!(f.introspect_json(&t.access_token).await, INACTIVE);
}
