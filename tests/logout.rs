//! Logout: RP-initiated, front-channel and back-channel (OpenID Connect), Hydra's logout
//! challenge, and session revocation.

mod common;

use common::*;
use portcullis::endpoint::logout::{deliver_all, BackchannelLogout, LogoutNotifier, LogoutOutcome};
use portcullis::storage::SessionSelector;
use portcullis::token::pkce::s256_challenge;
use portcullis::{AuthorizeOutcome, Challenge, ClientRequest, ErrorCode, Params};
use time::Duration;

const POST_LOGOUT: &str = "https://app.example.com/bye";

fn logout_client() -> ClientRequest {
    ClientRequest {
        post_logout_redirect_uris: Some(vec![POST_LOGOUT.into()]),
        frontchannel_logout_uri: Some("https://app.example.com/fc".into()),
        frontchannel_logout_session_required: Some(true),
        backchannel_logout_uri: Some("https://app.example.com/bc".into()),
        backchannel_logout_session_required: Some(true),
        ..web_client()
    }
}

/// Logs `subject` in (remembered) through the full flow; returns the ID token.
async fn login(
    f: &Fixture,
    b: &mut Browser<'_>,
    c: &portcullis::CreatedClient,
    subject: &str,
) -> String {
    let ch = s256_challenge(VERIFIER);
    let out = b.authorize(&code_flow(&c.client.client_id, &ch)).await;
    let AuthorizeOutcome::Login { challenge, .. } = out else {
        panic!("{out:?}")
    };
    let to = f
        .provider
        .accept_login(&challenge, accept_login(subject, true))
        .await
        .unwrap();
    let AuthorizeOutcome::Consent { challenge, .. } = b.follow(&to.redirect_to).await else {
        panic!()
    };
    let to = f
        .provider
        .accept_consent(&challenge, accept_consent(&["openid"], true))
        .await
        .unwrap();
    let AuthorizeOutcome::Redirect(url) = b.follow(&to.redirect_to).await else {
        panic!()
    };
    let code = response_params(&url)["code"].clone();
    f.exchange(&code, c).await.unwrap().id_token.unwrap()
}

async fn logout(f: &Fixture, params: &[(&str, &str)], cookie: Option<&str>) -> LogoutOutcome {
    let p = Params::from_pairs(params.iter().map(|(k, v)| (*k, *v)));
    f.provider
        .logout(&p, cookie)
        .await
        .expect("no internal error")
}

async fn follow_logout(f: &Fixture, redirect_to: &str) -> LogoutOutcome {
    let q = response_params(redirect_to);
    logout(
        f,
        &[("logout_verifier", q["logout_verifier"].as_str())],
        None,
    )
    .await
}

fn app(o: &LogoutOutcome) -> String {
    match o {
        LogoutOutcome::LogoutApp {
            challenge,
            redirect_to,
        } => {
            assert!(redirect_to.contains("logout_challenge="));
            challenge.clone()
        }
        other => panic!("expected the logout app, got {other:?}"),
    }
}

#[tokio::test]
async fn op_initiated_logout_ends_the_session_and_notifies_clients() {
    let f = fixture().await;
    let c = f.client(logout_client()).await;
    let mut b = Browser::new(&f.provider);
    login(&f, &mut b, &c, "alice").await;
    let sid = b.cookie.clone().unwrap();

    let out = logout(&f, &[], Some(&sid)).await;
    let challenge = app(&out);
    let Challenge::Pending(req) = f.provider.logout_request(&challenge).await.unwrap() else {
        panic!()
    };
    assert!(!req.rp_initiated);
    assert_eq!(req.subject, "alice");
    assert_eq!(req.sid, sid);

    let to = f.provider.accept_logout(&challenge).await.unwrap();
    assert_eq!(
        f.provider
            .accept_logout(&challenge)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Conflict
    );
    // Reading the handled request answers the same redirect; a verifier of the right
    // shape for this logout, but not the one it kept, ends nothing.
    assert_eq!(
        f.provider.logout_request(&challenge).await.unwrap(),
        Challenge::Handled(to.clone())
    );
    let forged = format!("{challenge}.{}", "A".repeat(22));
    assert!(matches!(
        logout(&f, &[("logout_verifier", &forged)], None).await,
        LogoutOutcome::ErrorPage(_)
    ));
    let LogoutOutcome::LoggedOut(done) = follow_logout(&f, &to.redirect_to).await else {
        panic!()
    };
    assert_eq!(
        done.redirect_to,
        f.provider.config().urls.post_logout_redirect
    );
    assert!(done.clear_cookie);
    assert_eq!(done.frontchannel_urls.len(), 1);
    let fc = response_params(&done.frontchannel_urls[0]);
    assert_eq!(fc["iss"], ISSUER);
    assert_eq!(fc["sid"], sid);

    // The logout token: verifies against the JWKS and carries exactly the required claims.
    assert_eq!(done.backchannel.len(), 1);
    let bc = &done.backchannel[0];
    assert_eq!(bc.uri, "https://app.example.com/bc");
    let (header, claims) = verify_jwt(&f.provider, &bc.logout_token, Some(&c.client.client_id));
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    let claims = claims.as_object().expect("a claims object");
    let mut names: Vec<&str> = claims.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(
        names,
        ["aud", "events", "exp", "iat", "iss", "jti", "sid", "sub"]
    );
    assert_eq!(claims["sid"], sid.as_str());
    assert_eq!(claims["sub"], "alice");
    assert_eq!(
        claims["events"],
        serde_json::json!({"http://schemas.openid.net/event/backchannel-logout": {}})
    );

    // The verifier is single-use, and the session is gone.
    assert!(matches!(
        follow_logout(&f, &to.redirect_to).await,
        LogoutOutcome::ErrorPage(_)
    ));
    assert!(f
        .provider
        .store()
        .get_login_session(&sid)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn op_initiated_rules() {
    let f = fixture().await;
    // No session: straight to the default post-logout page.
    let LogoutOutcome::LoggedOut(done) = logout(&f, &[], None).await else {
        panic!()
    };
    assert_eq!(
        done.redirect_to,
        f.provider.config().urls.post_logout_redirect
    );
    assert!(done.backchannel.is_empty() && !done.clear_cookie);
    // No hint, but a redirect URI or state: error.
    assert!(matches!(
        logout(&f, &[("state", "x")], None).await,
        LogoutOutcome::ErrorPage(_)
    ));
    assert!(matches!(
        logout(&f, &[("post_logout_redirect_uri", POST_LOGOUT)], None).await,
        LogoutOutcome::ErrorPage(_)
    ));
}

#[tokio::test]
async fn rp_initiated_logout_returns_to_the_client_with_state() {
    let f = fixture().await;
    let c = f.client(logout_client()).await;
    let mut b = Browser::new(&f.provider);
    let hint = login(&f, &mut b, &c, "alice").await;
    // Expired hints are accepted.
    f.clock.advance(Duration::hours(3));
    let params = [
        ("id_token_hint", hint.as_str()),
        ("post_logout_redirect_uri", POST_LOGOUT),
        ("state", "s9"),
    ];
    let challenge = app(&logout(&f, &params, b.cookie.as_deref()).await);
    let Challenge::Pending(req) = f.provider.logout_request(&challenge).await.unwrap() else {
        panic!()
    };
    assert!(req.rp_initiated);
    assert_eq!(req.client["client_id"], c.client.client_id.as_str());
    let to = f.provider.accept_logout(&challenge).await.unwrap();
    let LogoutOutcome::LoggedOut(done) = follow_logout(&f, &to.redirect_to).await else {
        panic!()
    };
    assert_eq!(done.redirect_to, format!("{POST_LOGOUT}?state=s9"));
}

#[tokio::test]
async fn rp_initiated_errors_are_pages() {
    let f = fixture().await;
    let c = f.client(logout_client()).await;
    let other = f.client(logout_client()).await;
    let mut b = Browser::new(&f.provider);
    let hint = login(&f, &mut b, &c, "alice").await;
    let cookie = b.cookie.as_deref();
    for params in [
        vec![
            ("id_token_hint", hint.as_str()),
            ("post_logout_redirect_uri", "https://evil.example/"),
        ],
        vec![("id_token_hint", "garbage")],
        vec![
            ("id_token_hint", hint.as_str()),
            ("client_id", other.client.client_id.as_str()),
        ],
        vec![
            ("id_token_hint", hint.as_str()),
            ("id_token_hint", hint.as_str()),
        ],
    ] {
        assert!(
            matches!(
                logout(&f, &params, cookie).await,
                LogoutOutcome::ErrorPage(_)
            ),
            "{params:?}"
        );
    }
    // A hint signed by someone else.
    let forged = {
        let mut parts: Vec<&str> = hint.split('.').collect();
        parts[1] = "eyJzdWIiOiJtYWxsb3J5In0";
        parts.join(".")
    };
    assert!(matches!(
        logout(&f, &[("id_token_hint", &forged)], cookie).await,
        LogoutOutcome::ErrorPage(_)
    ));
}

#[tokio::test]
async fn rejected_logout_ends_nothing() {
    let f = fixture().await;
    let c = f.client(logout_client()).await;
    let mut b = Browser::new(&f.provider);
    login(&f, &mut b, &c, "alice").await;
    let sid = b.cookie.clone().unwrap();
    let challenge = app(&logout(&f, &[], Some(&sid)).await);
    f.provider.reject_logout(&challenge).await.unwrap();
    assert!(f.provider.accept_logout(&challenge).await.is_err());
    assert!(f
        .provider
        .store()
        .get_login_session(&sid)
        .await
        .unwrap()
        .is_some());
    let redirect = f.provider.logout_request(&challenge).await.unwrap();
    let Challenge::Handled(to) = redirect else {
        panic!()
    };
    assert!(matches!(
        follow_logout(&f, &to.redirect_to).await,
        LogoutOutcome::ErrorPage(_)
    ));
}

#[tokio::test]
async fn revoking_a_login_session_by_sid_yields_backchannel_tokens() {
    let f = fixture().await;
    let c = f.client(logout_client()).await;
    let mut b = Browser::new(&f.provider);
    login(&f, &mut b, &c, "alice").await;
    let sid = b.cookie.clone().unwrap();
    let tokens = f
        .provider
        .end_login_sessions(SessionSelector::Sid(&sid))
        .await
        .unwrap();
    assert_eq!(tokens.len(), 1);
    assert!(f
        .provider
        .end_login_sessions(SessionSelector::Sid(&sid))
        .await
        .unwrap()
        .is_empty());
}

struct Flaky;

#[async_trait::async_trait]
impl LogoutNotifier for Flaky {
    async fn deliver(&self, l: &BackchannelLogout) -> Result<(), String> {
        if l.client_id == "down" {
            Err("connection refused".into())
        } else {
            Ok(())
        }
    }
}

#[tokio::test]
async fn delivery_failures_never_block() {
    let mk = |id: &str| BackchannelLogout {
        client_id: id.into(),
        uri: "https://x/bc".into(),
        logout_token: "t".into(),
    };
    assert_eq!(
        deliver_all(&Flaky, &[mk("down"), mk("up"), mk("down")]).await,
        1
    );
}
