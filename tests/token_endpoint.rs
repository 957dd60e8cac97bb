//! The token endpoint: every grant, every error path RFC 6749 names, and replay defence.

mod common;

use common::*;
use portcullis::model::TokenStatus;
use portcullis::{ClientRequest, ErrorCode};
use time::Duration;

fn code_of(r: portcullis::Result<portcullis::TokenResponse>) -> ErrorCode {
    r.expect_err("the request must fail").code()
}

#[test]
fn provider_is_send_sync_clone_static() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<portcullis::Provider>();
}

#[tokio::test]
async fn client_credentials_issues_an_opaque_token_without_refresh() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let r = f
        .token(
            "grant_type=client_credentials&scope=read&audience=https%3A%2F%2Fapi.example.com",
            Some(&c),
        )
        .await
        .unwrap();
    assert!(r.access_token.starts_with("ptc_at_"));
    assert_eq!(r.token_type, "bearer");
    assert_eq!(r.expires_in, 3600);
    assert_eq!(r.scope.as_deref(), Some("read"));
    assert!(r.refresh_token.is_none() && r.id_token.is_none());
    let rec = f
        .provider
        .store()
        .get_token(signature_of(&r.access_token))
        .await
        .unwrap()
        .expect("stored by signature");
    assert_eq!(rec.session.subject, c.client.client_id);
    assert_eq!(rec.audience, vec!["https://api.example.com".to_string()]);
}

#[tokio::test]
async fn client_secret_post_and_chosen_secrets() {
    let f = fixture().await;
    let c = f
        .client(ClientRequest {
            client_secret: Some("a chosen secret".into()),
            token_endpoint_auth_method: Some("client_secret_post".into()),
            ..web_client()
        })
        .await;
    assert!(c
        .client
        .client_secret_hash
        .as_ref()
        .unwrap()
        .as_str()
        .starts_with("$pbkdf2-sha256$"));
    let id = &c.client.client_id;
    let ok = f
        .token(
            &format!(
                "grant_type=client_credentials&client_id={id}&client_secret=a%20chosen%20secret"
            ),
            None,
        )
        .await;
    assert!(ok.is_ok(), "{ok:?}");
    // Registered for post: Basic is the wrong method.
    assert_eq!(
        code_of(f.token("grant_type=client_credentials", Some(&c)).await),
        ErrorCode::InvalidClient
    );
}

#[tokio::test]
async fn client_authentication_failures_are_invalid_client() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let id = &c.client.client_id;
    // Wrong secret.
    let mut wrong = c.clone();
    wrong.client_secret = Some("nope".into());
    let e = f
        .token("grant_type=client_credentials", Some(&wrong))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidClient);
    assert_eq!(e.status(), 401);
    assert!(e.www_authenticate().is_some());
    // Unknown client.
    let mut ghost = c.clone();
    ghost.client.client_id = "ghost".into();
    assert_eq!(
        code_of(f.token("grant_type=client_credentials", Some(&ghost)).await),
        ErrorCode::InvalidClient
    );
    // Wrong method: registered basic, sent post.
    let body = format!(
        "grant_type=client_credentials&client_id={id}&client_secret={}",
        c.client_secret.as_deref().unwrap()
    );
    assert_eq!(
        code_of(f.token(&body, None).await),
        ErrorCode::InvalidClient
    );
    // No credentials at all / public attempt by a confidential client.
    assert_eq!(
        code_of(f.token("grant_type=client_credentials", None).await),
        ErrorCode::InvalidClient
    );
    assert_eq!(
        code_of(
            f.token(
                &format!("grant_type=client_credentials&client_id={id}"),
                None
            )
            .await
        ),
        ErrorCode::InvalidClient
    );
}

#[tokio::test]
async fn expired_client_secret_is_refused() {
    let f = fixture().await;
    let at = f.provider.now().unix_timestamp() + 60;
    let c = f
        .client(ClientRequest {
            client_secret_expires_at: Some(at),
            ..web_client()
        })
        .await;
    assert!(f
        .token("grant_type=client_credentials", Some(&c))
        .await
        .is_ok());
    f.clock.advance(Duration::seconds(61));
    assert_eq!(
        code_of(f.token("grant_type=client_credentials", Some(&c)).await),
        ErrorCode::InvalidClient
    );
}

#[tokio::test]
async fn client_credentials_policy_errors() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    assert_eq!(
        code_of(
            f.token("grant_type=client_credentials&scope=admin", Some(&c))
                .await
        ),
        ErrorCode::InvalidScope
    );
    assert_eq!(
        code_of(
            f.token(
                "grant_type=client_credentials&audience=https%3A%2F%2Fevil",
                Some(&c)
            )
            .await
        ),
        ErrorCode::InvalidRequest
    );
    let no_cc = f
        .client(ClientRequest {
            grant_types: Some(vec!["authorization_code".into()]),
            ..web_client()
        })
        .await;
    assert_eq!(
        code_of(f.token("grant_type=client_credentials", Some(&no_cc)).await),
        ErrorCode::UnauthorizedClient
    );
    let public = f
        .client(ClientRequest {
            token_endpoint_auth_method: Some("none".into()),
            ..web_client()
        })
        .await;
    assert!(public.client_secret.is_none());
    let body = format!(
        "grant_type=client_credentials&client_id={}",
        public.client.client_id
    );
    assert_eq!(
        code_of(f.token(&body, None).await),
        ErrorCode::UnauthorizedClient
    );
}

#[tokio::test]
async fn unknown_grant_and_missing_parameters() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    for (body, want) in [
        (
            "grant_type=password&username=a&password=b",
            ErrorCode::UnsupportedGrantType,
        ),
        (
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code",
            ErrorCode::UnsupportedGrantType,
        ),
        ("scope=read", ErrorCode::InvalidRequest),
        ("grant_type=authorization_code", ErrorCode::InvalidRequest),
        ("grant_type=refresh_token", ErrorCode::InvalidRequest),
        (
            "grant_type=client_credentials&scope=a&scope=b",
            ErrorCode::InvalidRequest,
        ),
    ] {
        assert_eq!(code_of(f.token(body, Some(&c)).await), want, "{body}");
    }
}

#[tokio::test]
async fn per_client_lifespans_override_defaults() {
    let f = fixture().await;
    let mut req = web_client();
    req.lifespans.client_credentials_grant_access_token_lifespan =
        portcullis::model::Lifespan::parse("5m");
    let c = f.client(req).await;
    let r = f
        .token("grant_type=client_credentials", Some(&c))
        .await
        .unwrap();
    assert_eq!(r.expires_in, 300);
}

#[tokio::test]
async fn authorization_code_exchange_issues_access_refresh_and_id_token() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let code = f
        .code(&c.client.client_id, "openid offline_access profile")
        .await;
    assert!(code.starts_with("ptc_ac_"));
    let r = f.exchange(&code, &c).await.unwrap();
    assert!(r.access_token.starts_with("ptc_at_"));
    assert!(r.refresh_token.as_deref().unwrap().starts_with("ptc_rt_"));
    assert!(r.id_token.is_some());
    assert_eq!(r.scope.as_deref(), Some("openid offline_access profile"));
}

#[tokio::test]
async fn no_offline_scope_no_refresh_token_and_no_openid_no_id_token() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let code = f.code(&c.client.client_id, "profile").await;
    let r = f.exchange(&code, &c).await.unwrap();
    assert!(r.refresh_token.is_none());
    assert!(r.id_token.is_none());
}

#[tokio::test]
async fn code_errors() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let other = f.client(web_client()).await;
    let id = &c.client.client_id;
    let with = |code: &str, redirect: &str, verifier: &str| {
        format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={verifier}",
            urlencode(redirect)
        )
    };
    let code = f.code(id, "openid").await;
    // Wrong redirect_uri.
    assert_eq!(
        code_of(
            f.token(
                &with(&code, "https://app.example.com/other", VERIFIER),
                Some(&c)
            )
            .await
        ),
        ErrorCode::InvalidGrant
    );
    // Missing redirect_uri when the authorization request had one.
    assert_eq!(
        code_of(
            f.token(
                &format!("grant_type=authorization_code&code={code}&code_verifier={VERIFIER}"),
                Some(&c)
            )
            .await
        ),
        ErrorCode::InvalidGrant
    );
    // Wrong and missing PKCE verifier.
    let wrong_verifier = "x".repeat(43);
    assert_eq!(
        code_of(
            f.token(&with(&code, REDIRECT, &wrong_verifier), Some(&c))
                .await
        ),
        ErrorCode::InvalidGrant
    );
    assert_eq!(
        code_of(
            f.token(
                &format!(
                    "grant_type=authorization_code&code={code}&redirect_uri={}",
                    urlencode(REDIRECT)
                ),
                Some(&c)
            )
            .await
        ),
        ErrorCode::InvalidGrant
    );
    // Another client's code.
    assert_eq!(
        code_of(f.exchange(&code, &other).await),
        ErrorCode::InvalidGrant
    );
    // Forged or garbage codes.
    for junk in ["abc", "ptc_ac_x.y", &code.replace("ptc_ac_", "ptc_at_")] {
        assert_eq!(
            code_of(f.exchange(junk, &c).await),
            ErrorCode::InvalidGrant,
            "{junk}"
        );
    }
    // Failed attempts did not burn the code.
    assert!(f.exchange(&code, &c).await.is_ok());
}

#[tokio::test]
async fn expired_code_is_invalid_grant() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let code = f.code(&c.client.client_id, "openid").await;
    f.clock.advance(Duration::minutes(10));
    assert_eq!(
        code_of(f.exchange(&code, &c).await),
        ErrorCode::InvalidGrant
    );
}

#[tokio::test]
async fn verifier_without_challenge_is_refused() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let code = f
        .provider
        .issue_authorization_code(portcullis::grant::authorization_code::AuthorizedGrant {
            client_id: c.client.client_id.clone(),
            redirect_uri: None,
            scope: portcullis::model::Scope::parse("openid").unwrap(),
            audience: vec![],
            pkce: None,
            session: portcullis::model::Session {
                subject: "bob".into(),
                ..Default::default()
            }
            .into(),
        })
        .await
        .unwrap();
    assert_eq!(
        code_of(f.exchange(&code, &c).await),
        ErrorCode::InvalidGrant
    );
    // Without a verifier, and redirect_uri repeating a registered one, it works.
    let r = f
        .token(
            &format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}",
                urlencode(REDIRECT)
            ),
            Some(&c),
        )
        .await;
    assert!(r.is_ok(), "{r:?}");
}

#[tokio::test]
async fn public_clients_need_pkce_and_authenticate_with_none() {
    let f = fixture().await;
    let public = f
        .client(ClientRequest {
            token_endpoint_auth_method: Some("none".into()),
            ..web_client()
        })
        .await;
    let id = public.client.client_id.clone();
    let no_pkce = f
        .provider
        .issue_authorization_code(portcullis::grant::authorization_code::AuthorizedGrant {
            client_id: id.clone(),
            redirect_uri: Some(REDIRECT.into()),
            scope: portcullis::model::Scope::parse("openid").unwrap(),
            audience: vec![],
            pkce: None,
            session: Default::default(),
        })
        .await;
    assert_eq!(no_pkce.unwrap_err().code(), ErrorCode::InvalidRequest);
    let code = f.code(&id, "openid offline_access").await;
    let body = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}&client_id={id}",
        urlencode(REDIRECT)
    );
    let r = f.token(&body, None).await.unwrap();
    assert!(r.refresh_token.is_some());
}

#[tokio::test]
async fn pkce_plain_only_when_enabled() {
    let grant = |id: &str| portcullis::grant::authorization_code::AuthorizedGrant {
        client_id: id.into(),
        redirect_uri: Some(REDIRECT.into()),
        scope: portcullis::model::Scope::parse("openid").unwrap(),
        audience: vec![],
        pkce: Some(portcullis::model::Pkce {
            challenge: VERIFIER.into(),
            method: portcullis::model::PkceMethod::Plain,
        }),
        session: Default::default(),
    };
    let f = fixture().await;
    let c = f.client(web_client()).await;
    assert!(f
        .provider
        .issue_authorization_code(grant(&c.client.client_id))
        .await
        .is_err());
    let f = fixture_with(|cfg| cfg.pkce.allow_plain = true).await;
    let c = f.client(web_client()).await;
    let code = f
        .provider
        .issue_authorization_code(grant(&c.client.client_id))
        .await
        .unwrap();
    assert!(f.exchange(&code, &c).await.is_ok());
}

#[tokio::test]
async fn reused_code_is_refused_and_revokes_the_family() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let code = f.code(&c.client.client_id, "openid offline_access").await;
    let first = f.exchange(&code, &c).await.unwrap();
    assert_eq!(
        code_of(f.exchange(&code, &c).await),
        ErrorCode::InvalidGrant
    );
    let store = f.provider.store();
    let at = store
        .get_token(signature_of(&first.access_token))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(at.status, TokenStatus::Revoked);
    let rt = first.refresh_token.unwrap();
    assert_eq!(
        code_of(
            f.token(
                &format!("grant_type=refresh_token&refresh_token={rt}"),
                Some(&c)
            )
            .await
        ),
        ErrorCode::InvalidGrant
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
/// The store lets exactly one redemption consume the code; every other one is a replay and
/// revokes the family, so after the race nothing issued from the code is still active.
async fn concurrent_redemptions_of_one_code_leave_no_live_tokens() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let code = f.code(&c.client.client_id, "openid offline_access").await;
    let body = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
        urlencode(REDIRECT)
    );
    let wins = concurrent_token_requests(&f, &c, &body, 32).await;
    assert!(wins.len() <= 1);
    for w in &wins {
        let at = f.record(&w.access_token).await;
        assert_eq!(at.status, TokenStatus::Revoked);
    }
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let code = f
        .code(&c.client.client_id, "openid offline_access profile")
        .await;
    let first = f.exchange(&code, &c).await.unwrap();
    let rt1 = first.refresh_token.unwrap();
    let refresh = |rt: String| format!("grant_type=refresh_token&refresh_token={rt}");
    let second = f.token(&refresh(rt1.clone()), Some(&c)).await.unwrap();
    let rt2 = second.refresh_token.clone().unwrap();
    assert_ne!(rt1, rt2);
    assert!(
        second.id_token.is_some(),
        "openid grants get an ID token on refresh"
    );
    // Replay of the spent token: refused, and the family (rt2, its access token) dies.
    assert_eq!(
        code_of(f.token(&refresh(rt1), Some(&c)).await),
        ErrorCode::InvalidGrant
    );
    assert_eq!(
        code_of(f.token(&refresh(rt2), Some(&c)).await),
        ErrorCode::InvalidGrant
    );
    let at2 = f.record(&second.access_token).await;
    assert_eq!(at2.status, TokenStatus::Revoked);
}

#[tokio::test]
async fn refresh_scope_may_narrow_never_widen() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let code = f
        .code(&c.client.client_id, "openid offline_access profile")
        .await;
    let rt = f.exchange(&code, &c).await.unwrap().refresh_token.unwrap();
    assert_eq!(
        code_of(
            f.token(
                &format!("grant_type=refresh_token&refresh_token={rt}&scope=openid%20read"),
                Some(&c)
            )
            .await
        ),
        ErrorCode::InvalidScope
    );
    let narrow = f
        .token(
            &format!("grant_type=refresh_token&refresh_token={rt}&scope=offline_access"),
            Some(&c),
        )
        .await
        .unwrap();
    assert_eq!(narrow.scope.as_deref(), Some("offline_access"));
    // The next refresh may return to the original grant, never beyond it.
    let rt = narrow.refresh_token.unwrap();
    let back = f
        .token(
            &format!("grant_type=refresh_token&refresh_token={rt}"),
            Some(&c),
        )
        .await
        .unwrap();
    assert_eq!(back.scope.as_deref(), Some("openid offline_access profile"));
}

#[tokio::test]
async fn foreign_and_expired_refresh_tokens_are_refused() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let thief = f.client(web_client()).await;
    let code = f.code(&c.client.client_id, "offline_access").await;
    let rt = f.exchange(&code, &c).await.unwrap().refresh_token.unwrap();
    let body = format!("grant_type=refresh_token&refresh_token={rt}");
    assert_eq!(
        code_of(f.token(&body, Some(&thief)).await),
        ErrorCode::InvalidGrant
    );
    // The thief's attempt did not spend it.
    let fresh = f
        .token(&body, Some(&c))
        .await
        .unwrap()
        .refresh_token
        .unwrap();
    f.clock.advance(Duration::hours(721));
    assert_eq!(
        code_of(
            f.token(
                &format!("grant_type=refresh_token&refresh_token={fresh}"),
                Some(&c)
            )
            .await
        ),
        ErrorCode::InvalidGrant
    );
    // An access token is not a refresh token.
    let at = f
        .token("grant_type=client_credentials", Some(&c))
        .await
        .unwrap()
        .access_token;
    assert_eq!(
        code_of(
            f.token(
                &format!("grant_type=refresh_token&refresh_token={at}"),
                Some(&c)
            )
            .await
        ),
        ErrorCode::InvalidGrant
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
/// One rotation wins at the store; the concurrent replays revoke the family (strict reuse
/// detection, RFC 9700 §4.14.2), and no loser sees an internal error.
async fn concurrent_refreshes_of_one_token_one_wins_none_errors_internally() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let code = f.code(&c.client.client_id, "offline_access").await;
    let rt = f.exchange(&code, &c).await.unwrap().refresh_token.unwrap();
    let body = format!("grant_type=refresh_token&refresh_token={rt}");
    let wins = concurrent_token_requests(&f, &c, &body, 16).await;
    assert!(wins.len() <= 1);
    for w in &wins {
        let rt = w.refresh_token.as_deref().unwrap();
        let next = f
            .token(
                &format!("grant_type=refresh_token&refresh_token={rt}"),
                Some(&c),
            )
            .await;
        assert_eq!(
            next.unwrap_err().code(),
            ErrorCode::InvalidGrant,
            "the family was revoked"
        );
    }
}

#[tokio::test]
async fn jwt_access_tokens_follow_rfc9068_and_are_recorded() {
    let f = fixture().await;
    let c = f
        .client(ClientRequest {
            access_token_strategy: Some("jwt".into()),
            ..web_client()
        })
        .await;
    let r = f
        .token("grant_type=client_credentials&scope=read", Some(&c))
        .await
        .unwrap();
    let (header, claims) = verify_jwt(&f.provider, &r.access_token, None);
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["client_id"], c.client.client_id.as_str());
    assert_eq!(claims["sub"], c.client.client_id.as_str());
    assert_eq!(claims["scope"], "read");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    let digest = portcullis::token::jwt::digest(&r.access_token);
    assert!(f
        .provider
        .store()
        .get_token(&digest)
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn id_token_carries_the_session_and_hashes() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let code = f.code(&c.client.client_id, "openid").await;
    let r = f.exchange(&code, &c).await.unwrap();
    let id_token = r.id_token.unwrap();
    let (header, claims) = verify_jwt(&f.provider, &id_token, Some(&c.client.client_id));
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(claims["sid"], "sid-1");
    assert_eq!(claims["azp"], c.client.client_id.as_str());
    assert_eq!(
        claims["at_hash"],
        portcullis::token::jwt::half_hash(&r.access_token)
    );
}

#[tokio::test]
async fn deleting_a_client_revokes_its_tokens() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let r = f
        .token("grant_type=client_credentials", Some(&c))
        .await
        .unwrap();
    f.provider.delete_client(&c.client.client_id).await.unwrap();
    let rec = f.record(&r.access_token).await;
    assert_eq!(rec.status, TokenStatus::Revoked);
    assert_eq!(
        f.provider
            .delete_client(&c.client.client_id)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::NotFound
    );
}
