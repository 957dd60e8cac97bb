//! The userinfo endpoint (OIDC Core §5.3) as an RFC 6750 protected resource: how the token
//! arrives, which tokens are accepted, the claims, and signed responses.

mod common;

use common::*;
use portcullis::endpoint::params::Params;
use portcullis::{ClientRequest, ErrorCode, Userinfo, UserinfoRequest};
use time::Duration;

async fn userinfo_header(f: &Fixture, token: &str) -> portcullis::Result<Userinfo> {
    let header = format!("Bearer {token}");
    let req = UserinfoRequest::parse(Some(&header), &Params::default())?;
    f.provider.userinfo(req).await
}

fn json(u: Userinfo) -> serde_json::Map<String, serde_json::Value> {
    assert_eq!(u.content_type(), "application/json");
    match u {
        Userinfo::Json(m) => m,
        Userinfo::Jwt(_) => panic!("expected JSON"),
    }
}

#[tokio::test]
async fn json_claims_are_sub_and_the_sessions_id_token_claims() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let t = f.tokens(&c).await;
    let claims = json(userinfo_header(&f, &t.access_token).await.unwrap());
    assert_eq!(
        serde_json::Value::Object(claims),
        serde_json::json!({
            "sub": "alice",
            "email": "alice@example.com",
            "email_verified": true,
        }),
        "protected claims (sub, iss, aud) from the extras never appear"
    );
}

#[tokio::test]
async fn the_token_may_come_in_the_form_or_query() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let t = f.tokens(&c).await;
    let params = Params::parse(format!("access_token={}", t.access_token).as_bytes());
    let req = UserinfoRequest::parse(None, &params).unwrap();
    let claims = json(f.provider.userinfo(req).await.unwrap());
    assert_eq!(claims["sub"], "alice");
    // Any case of the scheme (RFC 7235 §2.1).
    let header = format!("bEaReR {}", t.access_token);
    let req = UserinfoRequest::parse(Some(&header), &Params::default()).unwrap();
    assert!(f.provider.userinfo(req).await.is_ok());
}

#[tokio::test]
async fn a_missing_token_gets_a_bare_challenge() {
    for (header, body) in [
        (None, ""),
        (Some(""), ""),
        (Some("Basic YTpi"), ""),
        (None, "access_token="),
        (None, "other=1"),
    ] {
        let e = UserinfoRequest::parse(header, &Params::parse(body.as_bytes())).unwrap_err();
        assert!(e.is_missing_bearer_token(), "{header:?} {body}");
        assert_eq!(e.status(), 401);
        let challenge = e.www_authenticate().unwrap();
        assert!(challenge.starts_with("Bearer"), "{challenge}");
        assert!(!challenge.contains("error"), "{challenge}");
    }
}

#[tokio::test]
async fn header_and_form_at_once_and_malformed_headers_are_invalid_request() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let at = f.tokens(&c).await.access_token;
    let header = format!("Bearer {at}");
    let both = Params::parse(format!("access_token={at}").as_bytes());
    let e = UserinfoRequest::parse(Some(&header), &both).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidRequest);
    assert_eq!(e.status(), 400);
    assert!(!e.is_missing_bearer_token());
    for bad in ["Bearer", "Bearer   ", "Bearer a b", "Bearer <script>"] {
        let e = UserinfoRequest::parse(Some(bad), &Params::default()).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidRequest, "{bad}");
    }
    let twice = Params::parse(b"access_token=a&access_token=b");
    assert_eq!(
        UserinfoRequest::parse(None, &twice).unwrap_err().code(),
        ErrorCode::InvalidRequest
    );
}

#[tokio::test]
async fn invalid_expired_revoked_and_non_access_tokens_are_invalid_token() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let t = f.tokens(&c).await;
    let code = f.code(&c.client.client_id, "openid").await;
    let forged = t.access_token.replacen("ptc_at_", "ptc_rt_", 1);
    for token in [
        "garbage",
        "ptc_at_x.y",
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.sig",
        t.refresh_token.as_deref().unwrap(),
        &code,
        &forged,
    ] {
        let e = userinfo_header(&f, token).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidToken, "{token}");
        assert_eq!(e.status(), 401);
        let challenge = e.www_authenticate().unwrap();
        assert!(
            challenge.starts_with("Bearer error=\"invalid_token\""),
            "{challenge}"
        );
    }
    // Revoked.
    let revoked = f.tokens(&c).await.access_token;
    assert!(userinfo_header(&f, &revoked).await.is_ok());
    let _ = f.revoke(&revoked, &c).await.unwrap();
    assert_eq!(
        userinfo_header(&f, &revoked).await.unwrap_err().code(),
        ErrorCode::InvalidToken
    );
    // Expired.
    assert!(userinfo_header(&f, &t.access_token).await.is_ok());
    f.clock.advance(Duration::hours(1));
    assert_eq!(
        userinfo_header(&f, &t.access_token)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::InvalidToken
    );
}

#[tokio::test]
async fn a_deleted_clients_token_is_invalid_token() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let at = f.tokens(&c).await.access_token;
    assert!(f
        .provider
        .store()
        .delete_client(&c.client.client_id)
        .await
        .unwrap());
    assert_eq!(
        userinfo_header(&f, &at).await.unwrap_err().code(),
        ErrorCode::InvalidToken
    );
}

#[tokio::test]
async fn a_token_without_openid_is_insufficient_scope() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let t = f
        .tokens_with(&c, "profile offline_access", rich_session())
        .await;
    let e = userinfo_header(&f, &t.access_token).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InsufficientScope);
    assert_eq!(e.status(), 403);
    assert!(e
        .www_authenticate()
        .unwrap()
        .starts_with("Bearer error=\"insufficient_scope\""));
    let cc = f
        .token("grant_type=client_credentials&scope=read", Some(&c))
        .await
        .unwrap();
    assert_eq!(
        userinfo_header(&f, &cc.access_token)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::InsufficientScope
    );
}

#[tokio::test]
async fn clients_that_registered_a_signing_alg_get_a_verifiable_jwt() {
    let f = fixture().await;
    for alg in ["RS256", "ES256"] {
        let c = f
            .client(ClientRequest {
                userinfo_signed_response_alg: Some(alg.into()),
                ..web_client()
            })
            .await;
        let id = c.client.client_id.clone();
        let t = f.tokens(&c).await;
        let u = userinfo_header(&f, &t.access_token).await.unwrap();
        assert_eq!(u.content_type(), "application/jwt");
        let Userinfo::Jwt(jwt) = u else {
            panic!("expected a JWT")
        };
        let (header, claims) = verify_jwt(&f.provider, &jwt, Some(&id));
        assert_eq!(format!("{:?}", header.alg), alg);
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        assert_eq!(claims["iss"], ISSUER);
        assert_eq!(claims["aud"], id.as_str());
        assert_eq!(claims["sub"], "alice");
        assert_eq!(claims["email"], "alice@example.com");
        assert_eq!(claims["iat"], f.provider.now().unix_timestamp());
    }
}

#[tokio::test]
async fn none_means_json_and_jwt_access_tokens_work() {
    let f = fixture().await;
    let c = f
        .client(ClientRequest {
            userinfo_signed_response_alg: Some("none".into()),
            access_token_strategy: Some("jwt".into()),
            ..web_client()
        })
        .await;
    let t = f.tokens(&c).await;
    assert!(portcullis::token::jwt::looks_like_jwt(&t.access_token));
    let claims = json(userinfo_header(&f, &t.access_token).await.unwrap());
    assert_eq!(claims["sub"], "alice");
    assert!(claims.get("iss").is_none());
}
