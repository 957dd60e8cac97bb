//! The revocation endpoint (RFC 7009): what each kind of token revokes, who may revoke
//! it, and that invalid tokens are answered with success.

mod common;

use common::*;
use portcullis::{ClientRequest, ErrorCode, Revocation, RevokeRequest};
use time::Duration;

#[tokio::test]
async fn revoking_an_access_token_kills_only_that_token() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let t = f.tokens(&c).await;
    assert!(f.introspect(&t.access_token).await.is_active());
    assert_eq!(
        f.revoke(&t.access_token, &c).await.unwrap(),
        Revocation::AccessToken
    );
    assert_eq!(f.introspect_json(&t.access_token).await, INACTIVE);
    // The refresh token of the grant stays usable, and what it mints is active.
    let rt = t.refresh_token.unwrap();
    assert!(f.introspect(&rt).await.is_active());
    let next = f.refresh(&rt, &c).await.expect("refresh still works");
    assert!(f.introspect(&next.access_token).await.is_active());
    // Revoking it again changes nothing and still succeeds.
    assert_eq!(
        f.revoke(&t.access_token, &c).await.unwrap(),
        Revocation::Nothing
    );
}

#[tokio::test]
async fn revoking_a_refresh_token_kills_the_whole_grant() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let first = f.tokens(&c).await;
    let second = f
        .refresh(first.refresh_token.as_deref().unwrap(), &c)
        .await
        .unwrap();
    let rt = second.refresh_token.unwrap();
    assert_eq!(f.revoke(&rt, &c).await.unwrap(), Revocation::Grant);
    for token in [&first.access_token, &second.access_token, &rt] {
        assert_eq!(f.introspect_json(token).await, INACTIVE);
    }
    assert_eq!(
        f.refresh(&rt, &c).await.unwrap_err().code(),
        ErrorCode::InvalidGrant
    );
    // Other grants of the same client are untouched.
    let other = f.tokens(&c).await;
    assert!(f.introspect(&other.access_token).await.is_active());
    assert!(f
        .refresh(other.refresh_token.as_deref().unwrap(), &c)
        .await
        .is_ok());
}

#[tokio::test]
async fn revoking_a_spent_refresh_token_still_ends_its_grant() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let first = f.tokens(&c).await;
    let spent = first.refresh_token.unwrap();
    let second = f.refresh(&spent, &c).await.unwrap();
    assert_eq!(f.revoke(&spent, &c).await.unwrap(), Revocation::Grant);
    assert_eq!(f.introspect_json(&second.access_token).await, INACTIVE);
    assert!(f
        .refresh(second.refresh_token.as_deref().unwrap(), &c)
        .await
        .is_err());
}

#[tokio::test]
async fn another_clients_token_is_refused_and_left_alone() {
    let f = fixture().await;
    let owner = f.client(web_client()).await;
    let thief = f.client(web_client()).await;
    let t = f.tokens(&owner).await;
    let rt = t.refresh_token.clone().unwrap();
    for token in [&t.access_token, &rt] {
        let e = f.revoke(token, &thief).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::UnauthorizedClient, "{token}");
        assert_eq!(e.status(), 400);
    }
    // No effect: both still work for their owner.
    assert!(f.introspect(&t.access_token).await.is_active());
    assert!(f.refresh(&rt, &owner).await.is_ok());
    // A client_credentials token of another client too.
    let cc = f
        .token("grant_type=client_credentials", Some(&owner))
        .await
        .unwrap();
    assert_eq!(
        f.revoke(&cc.access_token, &thief).await.unwrap_err().code(),
        ErrorCode::UnauthorizedClient
    );
    assert!(f.introspect(&cc.access_token).await.is_active());
}

#[tokio::test]
async fn garbage_unknown_expired_and_revoked_tokens_answer_success() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let t = f.tokens(&c).await;
    let forged = t.access_token.replacen("ptc_at_", "ptc_rt_", 1);
    let mut tampered = t.access_token.clone();
    tampered.pop();
    tampered.push(if t.access_token.ends_with('A') {
        'B'
    } else {
        'A'
    });
    // A well-formed token under another system secret: the MAC fails.
    let other = fixture_with(|cfg| cfg.secrets = vec![vec![9u8; 32]]).await;
    let oc = other.client(web_client()).await;
    let foreign = other
        .token("grant_type=client_credentials", Some(&oc))
        .await
        .unwrap()
        .access_token;
    for junk in [
        "x",
        "ptc_at_",
        "ptc_at_x.y",
        "ptc_rt_.",
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.sig",
        "\u{0}\u{7f}é",
        &"a".repeat(10_000),
        &forged,
        &tampered,
        &foreign,
    ] {
        assert_eq!(
            f.revoke(junk, &c).await.unwrap(),
            Revocation::Nothing,
            "{junk:.40}"
        );
    }
    assert!(f.introspect(&t.access_token).await.is_active());
    // Expired: nothing to do, still success, even for another client.
    let cc = f
        .token("grant_type=client_credentials", Some(&c))
        .await
        .unwrap();
    f.clock.advance(Duration::hours(2));
    assert_eq!(
        f.revoke(&cc.access_token, &c).await.unwrap(),
        Revocation::Nothing
    );
    let thief = f.client(web_client()).await;
    assert_eq!(
        f.revoke(&cc.access_token, &thief).await.unwrap(),
        Revocation::Nothing
    );
}

#[tokio::test]
async fn the_client_must_authenticate() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let t = f.tokens(&c).await;
    let mut wrong = c.clone();
    wrong.client_secret = Some("nope".into());
    let e = f.revoke(&t.access_token, &wrong).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidClient);
    assert_eq!(e.status(), 401);
    let body = format!("token={}", urlencode(&t.access_token));
    assert_eq!(
        RevokeRequest::from_form(body.as_bytes(), None)
            .unwrap_err()
            .code(),
        ErrorCode::InvalidClient
    );
    // A confidential client cannot pass as public.
    let public_attempt = format!("{body}&client_id={}", c.client.client_id);
    let req = RevokeRequest::from_form(public_attempt.as_bytes(), None).unwrap();
    assert_eq!(
        f.provider.revoke(req).await.unwrap_err().code(),
        ErrorCode::InvalidClient
    );
    // Nothing was revoked by the failed attempts.
    assert!(f.introspect(&t.access_token).await.is_active());
}

#[tokio::test]
async fn public_and_post_clients_revoke_their_own_tokens() {
    let f = fixture().await;
    let public = f
        .client(ClientRequest {
            token_endpoint_auth_method: Some("none".into()),
            ..web_client()
        })
        .await;
    let id = public.client.client_id.clone();
    let code = f.code(&id, "openid offline_access").await;
    let body = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}&client_id={id}",
        urlencode(REDIRECT)
    );
    let t = f.token(&body, None).await.unwrap();
    let rt = t.refresh_token.unwrap();
    let req =
        RevokeRequest::from_form(format!("token={rt}&client_id={id}").as_bytes(), None).unwrap();
    assert_eq!(f.provider.revoke(req).await.unwrap(), Revocation::Grant);
    assert_eq!(f.introspect_json(&t.access_token).await, INACTIVE);

    let post = f
        .client(ClientRequest {
            token_endpoint_auth_method: Some("client_secret_post".into()),
            ..web_client()
        })
        .await;
    let at = f
        .token(
            &format!(
                "grant_type=client_credentials&client_id={}&client_secret={}",
                post.client.client_id,
                post.client_secret.as_deref().unwrap()
            ),
            None,
        )
        .await
        .unwrap()
        .access_token;
    let req = RevokeRequest::from_form(
        format!(
            "token={at}&client_id={}&client_secret={}",
            post.client.client_id,
            post.client_secret.as_deref().unwrap()
        )
        .as_bytes(),
        None,
    )
    .unwrap();
    assert_eq!(
        f.provider.revoke(req).await.unwrap(),
        Revocation::AccessToken
    );
    assert!(!f.introspect(&at).await.is_active());
}

#[tokio::test]
async fn hints_are_only_hints() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let auth = basic(&c);
    // A misleading hint still finds the token (RFC 7009 §2.1), an unknown one is ignored.
    for (hint, revoked) in [
        ("refresh_token", Revocation::AccessToken),
        ("id_token", Revocation::AccessToken),
        ("access_token", Revocation::AccessToken),
    ] {
        let at = f.tokens(&c).await.access_token;
        let body = format!("token={at}&token_type_hint={hint}");
        let req = RevokeRequest::from_form(body.as_bytes(), Some(&auth)).unwrap();
        assert_eq!(f.provider.revoke(req).await.unwrap(), revoked, "{hint}");
        assert!(!f.introspect(&at).await.is_active());
    }
    let rt = f.tokens(&c).await.refresh_token.unwrap();
    let body = format!("token={rt}&token_type_hint=access_token");
    let req = RevokeRequest::from_form(body.as_bytes(), Some(&auth)).unwrap();
    assert_eq!(f.provider.revoke(req).await.unwrap(), Revocation::Grant);
}

#[tokio::test]
async fn malformed_requests_are_invalid_request() {
    let auth = "Basic YTpi";
    for body in [
        "",
        "token=",
        "token_type_hint=access_token",
        "token=a&token=b",
        "token=a&token_type_hint=access_token&token_type_hint=refresh_token",
    ] {
        assert_eq!(
            RevokeRequest::from_form(body.as_bytes(), Some(auth))
                .unwrap_err()
                .code(),
            ErrorCode::InvalidRequest,
            "{body}"
        );
    }
}

#[tokio::test]
async fn authorization_codes_are_an_unsupported_token_type() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let code = f.code(&c.client.client_id, "openid").await;
    let e = f.revoke(&code, &c).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::UnsupportedTokenType);
    assert_eq!(e.status(), 400);
    // The code is untouched.
    assert!(f.exchange(&code, &c).await.is_ok());
}

#[tokio::test]
async fn jwt_access_tokens_revoke_alone() {
    let f = fixture().await;
    let c = f
        .client(ClientRequest {
            access_token_strategy: Some("jwt".into()),
            ..web_client()
        })
        .await;
    let t = f.tokens(&c).await;
    assert!(portcullis::token::jwt::looks_like_jwt(&t.access_token));
    assert!(f.introspect(&t.access_token).await.is_active());
    let thief = f.client(web_client()).await;
    assert_eq!(
        f.revoke(&t.access_token, &thief).await.unwrap_err().code(),
        ErrorCode::UnauthorizedClient
    );
    assert_eq!(
        f.revoke(&t.access_token, &c).await.unwrap(),
        Revocation::AccessToken
    );
    assert_eq!(f.introspect_json(&t.access_token).await, INACTIVE);
    let next = f
        .refresh(t.refresh_token.as_deref().unwrap(), &c)
        .await
        .unwrap();
    assert!(f.introspect(&next.access_token).await.is_active());
    // Revoking the refresh token kills the JWT access tokens of the grant.
    assert_eq!(
        f.revoke(next.refresh_token.as_deref().unwrap(), &c)
            .await
            .unwrap(),
        Revocation::Grant
    );
    assert_eq!(f.introspect_json(&next.access_token).await, INACTIVE);
}
