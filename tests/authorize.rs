//! The authorization endpoint, the login/consent challenges and ID tokens, end to end in
//! the engine (no HTTP).

mod common;

use common::*;
use portcullis::model::{AcceptConsent, ConsentClaims, Rejection};
use portcullis::storage::SessionSelector;
use portcullis::token::pkce::s256_challenge;
use portcullis::{AuthorizeOutcome, Challenge, ClientRequest, ErrorCode};
use time::Duration;

fn hybrid_client() -> ClientRequest {
    ClientRequest {
        grant_types: Some(vec![
            "authorization_code".into(),
            "implicit".into(),
            "refresh_token".into(),
        ]),
        response_types: Some(
            [
                "code",
                "id_token",
                "token",
                "id_token token",
                "code id_token",
                "code token",
                "code id_token token",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ),
        ..web_client()
    }
}

fn login_challenge(o: &AuthorizeOutcome) -> String {
    match o {
        AuthorizeOutcome::Login {
            challenge,
            redirect_to,
        } => {
            assert!(redirect_to.contains(&format!("login_challenge={challenge}")));
            challenge.clone()
        }
        other => panic!("expected the login app, got {other:?}"),
    }
}

fn consent_challenge(o: &AuthorizeOutcome) -> String {
    match o {
        AuthorizeOutcome::Consent { challenge, .. } => challenge.clone(),
        other => panic!("expected the consent app, got {other:?}"),
    }
}

fn redirect(o: &AuthorizeOutcome) -> std::collections::HashMap<String, String> {
    match o {
        AuthorizeOutcome::Redirect(url) => {
            assert!(url.starts_with(REDIRECT), "{url}");
            response_params(url)
        }
        other => panic!("expected a redirect to the client, got {other:?}"),
    }
}

fn verify_id_token(
    provider: &portcullis::Provider,
    token: &str,
    aud: &str,
) -> serde_json::Map<String, serde_json::Value> {
    let (_, claims) = verify_jwt(provider, token, Some(aud));
    claims.as_object().cloned().expect("a claims object")
}

/// Runs login and consent; returns the final outcome.
async fn login_and_consent(
    f: &Fixture,
    b: &mut Browser<'_>,
    params: &[(&str, &str)],
    subject: &str,
    scopes: &[&str],
) -> AuthorizeOutcome {
    let out = b.authorize(params).await;
    let ch = login_challenge(&out);
    let to = f
        .provider
        .accept_login(&ch, accept_login(subject, true))
        .await
        .unwrap();
    let out = b.follow(&to.redirect_to).await;
    let ch = consent_challenge(&out);
    let to = f
        .provider
        .accept_consent(&ch, accept_consent(scopes, true))
        .await
        .unwrap();
    b.follow(&to.redirect_to).await
}

/// The login and consent apps see the URL the browser asked for, with every parameter,
/// unknown ones and their encoding included.
#[tokio::test]
async fn challenges_carry_the_request_url_with_every_parameter() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let id = c.client.client_id.clone();
    let challenge = s256_challenge(VERIFIER);
    let mut sent = code_flow(&id, &challenge);
    sent.push(("ui_theme", "dark & \"bold\" é"));
    let mut b = Browser::new(&f.provider);
    let ch = login_challenge(&b.authorize(&sent).await);
    let Challenge::Pending(req) = f.provider.login_request(&ch).await.unwrap() else {
        panic!("pending")
    };
    let query = req
        .request_url
        .strip_prefix(&format!("{ISSUER}/oauth2/auth?"))
        .expect("the authorization endpoint's URL");
    let got: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let want: Vec<(String, String)> = sent
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    assert_eq!(got, want);
    let to = f
        .provider
        .accept_login(&ch, accept_login("alice", false))
        .await
        .unwrap();
    let consent = consent_challenge(&b.follow(&to.redirect_to).await);
    let Challenge::Pending(creq) = f.provider.consent_request(&consent).await.unwrap() else {
        panic!("pending")
    };
    assert_eq!(creq.request_url, req.request_url);
}

#[tokio::test]
async fn end_to_end_code_flow_with_pkce_and_verified_id_token() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let id = c.client.client_id.clone();
    let challenge = s256_challenge(VERIFIER);
    let mut b = Browser::new(&f.provider);

    let out = b.authorize(&code_flow(&id, &challenge)).await;
    let ch = login_challenge(&out);
    let Challenge::Pending(req) = f.provider.login_request(&ch).await.unwrap() else {
        panic!("pending")
    };
    assert!(!req.skip);
    assert_eq!(
        req.requested_scope,
        vec!["openid", "offline_access", "profile"]
    );
    assert_eq!(req.client["client_id"], id.as_str());
    assert!(req.client.get("client_secret_hash").is_none());

    let to = f
        .provider
        .accept_login(&ch, accept_login("alice", true))
        .await
        .unwrap();
    let out = b.follow(&to.redirect_to).await;
    assert!(
        b.cookie.is_some(),
        "remembered login sets the session cookie"
    );
    let ch = consent_challenge(&out);
    let Challenge::Pending(creq) = f.provider.consent_request(&ch).await.unwrap() else {
        panic!("pending")
    };
    assert_eq!(creq.subject, "alice");
    assert!(!creq.skip);

    let mut consent = accept_consent(&["openid", "offline_access", "profile"], true);
    consent.session = ConsentClaims {
        id_token: serde_json::json!({"email": "alice@example.com", "sub": "mallory"})
            .as_object()
            .unwrap()
            .clone(),
        ..Default::default()
    };
    let to = f.provider.accept_consent(&ch, consent).await.unwrap();
    let out = b.follow(&to.redirect_to).await;
    let params = redirect(&out);
    assert_eq!(params["state"], "st-123");
    assert_eq!(params["iss"], ISSUER);
    let code = &params["code"];

    let tokens = f.exchange(code, &c).await.unwrap();
    assert!(tokens.refresh_token.is_some());
    let claims = verify_id_token(&f.provider, tokens.id_token.as_deref().unwrap(), &id);
    assert_eq!(
        claims["sub"], "alice",
        "consent claims never override protected ones"
    );
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(claims["azp"], id.as_str());
    assert_eq!(claims["acr"], "urn:acr:pwd");
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    assert_eq!(claims["auth_time"], f.provider.now().unix_timestamp());
    assert!(claims["sid"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(
        claims["sid"],
        req.session_id.as_str(),
        "the login request names the session the login starts"
    );
    assert_eq!(b.cookie.as_deref(), Some(req.session_id.as_str()));
    assert_eq!(
        claims["at_hash"],
        portcullis::token::jwt::half_hash(&tokens.access_token)
    );
}

#[tokio::test]
async fn unknown_client_and_redirect_mismatch_give_error_pages() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let id = c.client.client_id.clone();
    let ch = s256_challenge(VERIFIER);
    let mut b = Browser::new(&f.provider);
    let mut p = code_flow("nobody", &ch);
    assert!(matches!(
        b.authorize(&p).await,
        AuthorizeOutcome::ErrorPage(_)
    ));
    p = code_flow(&id, &ch);
    p[2] = ("redirect_uri", "https://evil.example/cb");
    assert!(matches!(
        b.authorize(&p).await,
        AuthorizeOutcome::ErrorPage(_)
    ));
    p.retain(|(k, _)| *k != "client_id");
    assert!(matches!(
        b.authorize(&p).await,
        AuthorizeOutcome::ErrorPage(_)
    ));
    // Two registered URIs and none named: error page, never a guess.
    let two = f
        .client(ClientRequest {
            redirect_uris: Some(vec![REDIRECT.into(), "https://app.example.com/2".into()]),
            ..web_client()
        })
        .await;
    let mut p = code_flow(&two.client.client_id, &ch);
    p.retain(|(k, _)| *k != "redirect_uri");
    assert!(matches!(
        b.authorize(&p).await,
        AuthorizeOutcome::ErrorPage(_)
    ));
}

#[tokio::test]
async fn loopback_redirects_match_any_port_and_single_uri_may_be_omitted() {
    let f = fixture().await;
    let c = f
        .client(ClientRequest {
            redirect_uris: Some(vec!["http://127.0.0.1/cb".into()]),
            ..web_client()
        })
        .await;
    let ch = s256_challenge(VERIFIER);
    let mut b = Browser::new(&f.provider);
    let mut p = code_flow(&c.client.client_id, &ch);
    p[2] = ("redirect_uri", "http://127.0.0.1:49152/cb");
    login_challenge(&b.authorize(&p).await);
    p.retain(|(k, _)| *k != "redirect_uri");
    login_challenge(&b.authorize(&p).await);
}

#[tokio::test]
async fn request_errors_redirect_with_state_and_iss() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let pub_client = f
        .client(ClientRequest {
            token_endpoint_auth_method: Some("none".into()),
            ..web_client()
        })
        .await;
    let id = c.client.client_id.clone();
    let ch = s256_challenge(VERIFIER);
    let mut b = Browser::new(&f.provider);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("response_type", "token")], "unauthorized_client"),
        (
            vec![("response_type", "magic")],
            "unsupported_response_type",
        ),
        (vec![("scope", "admin")], "invalid_scope"),
        (vec![("response_mode", "carrier_pigeon")], "invalid_request"),
        (vec![("prompt", "none login")], "invalid_request"),
        (vec![("max_age", "-1")], "invalid_request"),
        (vec![("code_challenge_method", "plain")], "invalid_request"),
        (vec![("code_challenge", "short")], "invalid_request"),
        (vec![("request", "eyJ.x.y")], "request_not_supported"),
        (
            vec![("request_uri", "https://x")],
            "request_uri_not_supported",
        ),
        (vec![("id_token_hint", "not-a-jwt")], "invalid_request"),
        (vec![("audience", "https://evil")], "invalid_request"),
        (vec![("state", "a"), ("state", "b")], "invalid_request"),
    ];
    for (overrides, want) in cases {
        let mut p = code_flow(&id, &ch);
        p.retain(|(k, _)| !overrides.iter().any(|(o, _)| o == k));
        p.extend(overrides.iter().copied());
        let params = redirect(&b.authorize(&p).await);
        assert_eq!(params["error"], want, "{overrides:?}");
        assert!(!params["error_description"].is_empty());
        assert_eq!(params["iss"], ISSUER);
        if !overrides.iter().any(|(k, _)| *k == "state") {
            assert_eq!(params["state"], "st-123");
        }
    }
    // PKCE is required for public clients.
    let mut p = code_flow(&pub_client.client.client_id, &ch);
    p.retain(|(k, _)| !k.starts_with("code_challenge"));
    assert_eq!(redirect(&b.authorize(&p).await)["error"], "invalid_request");
}

#[tokio::test]
async fn implicit_flow_needs_a_nonce_and_answers_in_the_fragment() {
    let f = fixture().await;
    let c = f.client(hybrid_client()).await;
    let id = c.client.client_id.clone();
    let mut b = Browser::new(&f.provider);
    let base = [
        ("client_id", id.as_str()),
        ("response_type", "id_token token"),
        ("redirect_uri", REDIRECT),
        ("scope", "openid profile"),
        ("state", "s1"),
    ];
    let out = b.authorize(&base).await;
    match &out {
        AuthorizeOutcome::Redirect(url) => {
            assert!(
                url.contains('#'),
                "errors of token flows go in the fragment: {url}"
            );
            assert_eq!(response_params(url)["error"], "invalid_request");
        }
        other => panic!("{other:?}"),
    }
    let mut with_nonce = base.to_vec();
    with_nonce.push(("nonce", "xyz"));
    let out = login_and_consent(&f, &mut b, &with_nonce, "alice", &["openid", "profile"]).await;
    let AuthorizeOutcome::Redirect(url) = &out else {
        panic!("{out:?}")
    };
    assert!(
        url::Url::parse(url).unwrap().query().is_none(),
        "tokens never in the query"
    );
    let params = response_params(url);
    assert_eq!(params["token_type"], "bearer");
    let claims = verify_id_token(&f.provider, &params["id_token"], &id);
    assert_eq!(claims["nonce"], "xyz");
    assert_eq!(
        claims["at_hash"],
        portcullis::token::jwt::half_hash(&params["access_token"])
    );
    assert!(claims.get("c_hash").is_none());
}

#[tokio::test]
async fn hybrid_flow_carries_c_hash_and_form_post_works() {
    let f = fixture().await;
    let c = f.client(hybrid_client()).await;
    let id = c.client.client_id.clone();
    let ch = s256_challenge(VERIFIER);
    let mut b = Browser::new(&f.provider);
    let p = [
        ("client_id", id.as_str()),
        ("response_type", "code id_token"),
        ("redirect_uri", REDIRECT),
        ("scope", "openid"),
        ("nonce", "n1"),
        ("code_challenge", ch.as_str()),
        ("code_challenge_method", "S256"),
        ("response_mode", "form_post"),
        ("state", "s2"),
    ];
    let out = login_and_consent(&f, &mut b, &p, "alice", &["openid"]).await;
    let AuthorizeOutcome::FormPost(form) = &out else {
        panic!("{out:?}")
    };
    assert_eq!(form.action, REDIRECT);
    let fields: std::collections::HashMap<_, _> = form.fields.iter().cloned().collect();
    assert_eq!(fields["state"], "s2");
    let claims = verify_id_token(&f.provider, &fields["id_token"], &id);
    assert_eq!(
        claims["c_hash"],
        portcullis::token::jwt::half_hash(&fields["code"])
    );
    assert!(form.html().contains("<form method=\"post\""));
    assert!(f.exchange(&fields["code"], &c).await.is_ok());
}

#[tokio::test]
async fn prompt_none_without_session_is_login_required() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let ch = s256_challenge(VERIFIER);
    let mut b = Browser::new(&f.provider);
    let mut p = code_flow(&c.client.client_id, &ch);
    p.push(("prompt", "none"));
    let params = redirect(&b.authorize(&p).await);
    assert_eq!(params["error"], "login_required");
    assert_eq!(params["state"], "st-123");
}

#[tokio::test]
async fn remembered_login_skips_and_prompt_none_works_with_remembered_consent() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let ch = s256_challenge(VERIFIER);
    let mut b = Browser::new(&f.provider);
    let p = code_flow(&c.client.client_id, &ch);
    redirect(
        &login_and_consent(
            &f,
            &mut b,
            &p,
            "alice",
            &["openid", "offline_access", "profile"],
        )
        .await,
    );

    // Second time: the login app is told to skip; the consent is remembered.
    let out = b.authorize(&p).await;
    let login = login_challenge(&out);
    let Challenge::Pending(req) = f.provider.login_request(&login).await.unwrap() else {
        panic!()
    };
    assert!(req.skip);
    assert_eq!(req.subject, "alice");
    // Accepting a skipped login as someone else is refused.
    assert!(f
        .provider
        .accept_login(&login, accept_login("mallory", false))
        .await
        .is_err());
    let to = f
        .provider
        .accept_login(&login, accept_login("alice", false))
        .await
        .unwrap();
    let consent = consent_challenge(&b.follow(&to.redirect_to).await);
    let Challenge::Pending(creq) = f.provider.consent_request(&consent).await.unwrap() else {
        panic!()
    };
    assert!(creq.skip, "a remembered consent skips the consent step");

    // prompt=none with a session and a remembered consent goes through without UI.
    let mut none = p.clone();
    none.push(("prompt", "none"));
    let out = b.authorize(&none).await;
    let login = login_challenge(&out);
    let to = f
        .provider
        .accept_login(&login, accept_login("alice", false))
        .await
        .unwrap();
    let consent = consent_challenge(&b.follow(&to.redirect_to).await);
    let to = f
        .provider
        .accept_consent(&consent, accept_consent(&["openid"], false))
        .await
        .unwrap();
    assert!(redirect(&b.follow(&to.redirect_to).await).contains_key("code"));
}

#[tokio::test]
async fn prompt_none_without_remembered_consent_is_consent_required() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let ch = s256_challenge(VERIFIER);
    let mut b = Browser::new(&f.provider);
    let p = code_flow(&c.client.client_id, &ch);
    // Log in (remembered), but do not remember the consent.
    let out = b.authorize(&p).await;
    let to = f
        .provider
        .accept_login(&login_challenge(&out), accept_login("alice", true))
        .await
        .unwrap();
    let consent = consent_challenge(&b.follow(&to.redirect_to).await);
    let to = f
        .provider
        .accept_consent(&consent, accept_consent(&["openid"], false))
        .await
        .unwrap();
    redirect(&b.follow(&to.redirect_to).await);
    let mut none = p.clone();
    none.push(("prompt", "none"));
    let out = b.authorize(&none).await;
    let to = f
        .provider
        .accept_login(&login_challenge(&out), accept_login("alice", false))
        .await
        .unwrap();
    assert_eq!(
        redirect(&b.follow(&to.redirect_to).await)["error"],
        "consent_required"
    );
}

#[tokio::test]
async fn prompt_login_and_max_age_force_reauthentication() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let ch = s256_challenge(VERIFIER);
    let mut b = Browser::new(&f.provider);
    let p = code_flow(&c.client.client_id, &ch);
    redirect(&login_and_consent(&f, &mut b, &p, "alice", &["openid"]).await);
    let first_auth = f.provider.now().unix_timestamp();

    f.clock.advance(Duration::seconds(2));
    let mut max_age = p.clone();
    max_age.push(("max_age", "1"));
    let out = b.authorize(&max_age).await;
    let Challenge::Pending(req) = f
        .provider
        .login_request(&login_challenge(&out))
        .await
        .unwrap()
    else {
        panic!()
    };
    assert!(!req.skip, "max_age=1 after 2 s forces login");
    let mut none = max_age.clone();
    none.push(("prompt", "none"));
    assert_eq!(
        redirect(&b.authorize(&none).await)["error"],
        "login_required"
    );

    let first_sid = b.cookie.clone().expect("a remembered login");
    let mut login = p.clone();
    login.push(("prompt", "login"));
    let out = login_and_consent(&f, &mut b, &login, "alice", &["openid"]).await;
    assert_eq!(
        b.cookie.as_deref(),
        Some(first_sid.as_str()),
        "re-authenticating the same subject keeps the session"
    );
    let code = redirect(&out)["code"].clone();
    let tokens = f.exchange(&code, &c).await.unwrap();
    let claims = verify_id_token(
        &f.provider,
        tokens.id_token.as_deref().unwrap(),
        &c.client.client_id,
    );
    assert!(
        claims["auth_time"].as_i64().unwrap() > first_auth,
        "prompt=login gives a later auth_time"
    );

    // Another subject logging in on this browser does not take the session over.
    let out = login_and_consent(&f, &mut b, &login, "bob", &["openid"]).await;
    redirect(&out);
    let bob_sid = b.cookie.clone().expect("a remembered login");
    assert_ne!(bob_sid, first_sid, "a new subject starts a new session");
}

#[tokio::test]
async fn skip_consent_clients_never_see_the_consent_app() {
    let f = fixture().await;
    let c = f
        .client(ClientRequest {
            skip_consent: Some(true),
            ..web_client()
        })
        .await;
    let ch = s256_challenge(VERIFIER);
    let mut b = Browser::new(&f.provider);
    let out = b.authorize(&code_flow(&c.client.client_id, &ch)).await;
    let to = f
        .provider
        .accept_login(&login_challenge(&out), accept_login("alice", false))
        .await
        .unwrap();
    let params = redirect(&b.follow(&to.redirect_to).await);
    let tokens = f.exchange(&params["code"], &c).await.unwrap();
    assert_eq!(
        tokens.scope.as_deref(),
        Some("openid offline_access profile")
    );
}

#[tokio::test]
async fn rejections_reach_the_client() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let ch = s256_challenge(VERIFIER);
    let mut b = Browser::new(&f.provider);
    let p = code_flow(&c.client.client_id, &ch);
    let out = b.authorize(&p).await;
    let rej = Rejection {
        error: "access_denied".into(),
        error_description: "The user said no.".into(),
        ..Default::default()
    };
    let to = f
        .provider
        .reject_login(&login_challenge(&out), rej.clone())
        .await
        .unwrap();
    let params = redirect(&b.follow(&to.redirect_to).await);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["error_description"], "The user said no.");
    assert_eq!(params["state"], "st-123");

    let out = b.authorize(&p).await;
    let to = f
        .provider
        .accept_login(&login_challenge(&out), accept_login("alice", false))
        .await
        .unwrap();
    let consent = consent_challenge(&b.follow(&to.redirect_to).await);
    let to = f
        .provider
        .reject_consent(
            &consent,
            Rejection {
                error: "weird".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        redirect(&b.follow(&to.redirect_to).await)["error"],
        "access_denied"
    );
}

#[tokio::test]
async fn handled_challenges_cannot_be_answered_twice_and_verifiers_are_single_use() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let ch = s256_challenge(VERIFIER);
    let mut b = Browser::new(&f.provider);
    let out = b.authorize(&code_flow(&c.client.client_id, &ch)).await;
    let login = login_challenge(&out);
    let to = f
        .provider
        .accept_login(&login, accept_login("alice", false))
        .await
        .unwrap();
    let again = f
        .provider
        .accept_login(&login, accept_login("alice", false))
        .await
        .unwrap_err();
    assert_eq!(again.code(), ErrorCode::Conflict);
    assert!(f
        .provider
        .reject_login(&login, Rejection::default())
        .await
        .is_err());
    // Reading a handled challenge answers the redirect to follow (Hydra's 410).
    assert_eq!(
        f.provider.login_request(&login).await.unwrap(),
        Challenge::Handled(to.clone())
    );

    let login_verifier = to
        .redirect_to
        .split("login_verifier=")
        .nth(1)
        .unwrap()
        .to_owned();
    let out = b.follow(&to.redirect_to).await;
    let consent = consent_challenge(&out);
    assert!(
        matches!(
            b.follow(&to.redirect_to).await,
            AuthorizeOutcome::ErrorPage(_)
        ),
        "verifier reused"
    );
    // Each handle of the flow is good for its own use only.
    assert_eq!(
        f.provider
            .consent_request(&login_verifier)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::NotFound
    );
    let consent_as_verifier = format!("{ISSUER}/oauth2/auth?consent_verifier={consent}");
    assert!(matches!(
        b.follow(&consent_as_verifier).await,
        AuthorizeOutcome::ErrorPage(_)
    ));
    let to = f
        .provider
        .accept_consent(&consent, accept_consent(&["openid"], false))
        .await
        .unwrap();
    assert_eq!(
        f.provider
            .accept_consent(&consent, AcceptConsent::default())
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Conflict
    );
    redirect(&b.follow(&to.redirect_to).await);
    assert!(matches!(
        b.follow(&to.redirect_to).await,
        AuthorizeOutcome::ErrorPage(_)
    ));
    // Forged challenges and verifiers.
    assert_eq!(
        f.provider.login_request("nope").await.unwrap_err().code(),
        ErrorCode::NotFound
    );
    assert_eq!(
        f.provider
            .consent_request(&format!("{login}.AAAA"))
            .await
            .unwrap_err()
            .code(),
        ErrorCode::NotFound
    );
    // A secret of the right shape for the right flow, but not the one it kept.
    for (name, length) in [
        ("login_verifier", 22),
        ("consent_verifier", 22),
        ("login_verifier", 43),
    ] {
        let forged = format!("{ISSUER}/oauth2/auth?{name}={login}.{}", "A".repeat(length));
        assert!(matches!(
            b.follow(&forged).await,
            AuthorizeOutcome::ErrorPage(_)
        ));
    }
    let wrong_secret = format!("{login}.{}", "A".repeat(22));
    assert_eq!(
        f.provider
            .consent_request(&wrong_secret)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::NotFound
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_accepts_one_wins() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let ch = s256_challenge(VERIFIER);
    let mut b = Browser::new(&f.provider);
    let login = login_challenge(&b.authorize(&code_flow(&c.client.client_id, &ch)).await);
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let (p, l) = (f.provider.clone(), login.clone());
            tokio::spawn(async move {
                p.accept_login(&l, accept_login(&format!("user{i}"), false))
                    .await
            })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        if t.await.unwrap().is_ok() {
            wins += 1;
        }
    }
    assert_eq!(wins, 1);
}

#[tokio::test]
async fn challenges_expire() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let ch = s256_challenge(VERIFIER);
    let mut b = Browser::new(&f.provider);
    let login = login_challenge(&b.authorize(&code_flow(&c.client.client_id, &ch)).await);
    f.clock.advance(Duration::minutes(31));
    assert_eq!(
        f.provider
            .accept_login(&login, accept_login("alice", false))
            .await
            .unwrap_err()
            .code(),
        ErrorCode::NotFound
    );
}

#[tokio::test]
async fn revoking_a_consent_session_kills_its_tokens() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let other = f.client(web_client()).await;
    let ch = s256_challenge(VERIFIER);
    let mut b = Browser::new(&f.provider);
    let out = login_and_consent(
        &f,
        &mut b,
        &code_flow(&c.client.client_id, &ch),
        "alice",
        &["openid", "offline_access"],
    )
    .await;
    let tokens = f.exchange(&redirect(&out)["code"], &c).await.unwrap();
    let out = login_and_consent(
        &f,
        &mut Browser::new(&f.provider),
        &code_flow(&other.client.client_id, &ch),
        "alice",
        &["openid"],
    )
    .await;
    let other_tokens = f.exchange(&redirect(&out)["code"], &other).await.unwrap();

    let page = f
        .provider
        .list_consent_sessions("alice", None, 0, None)
        .await
        .unwrap();
    assert_eq!(page.sessions.len(), 2);
    let one = f
        .provider
        .list_consent_sessions("alice", None, 1, None)
        .await
        .unwrap();
    assert_eq!(one.sessions.len(), 1);
    assert!(one.next_page_token.is_some());

    assert_eq!(
        f.provider
            .revoke_consent_sessions("alice", Some(&c.client.client_id))
            .await
            .unwrap(),
        1
    );
    let store = f.provider.store();
    let at = store
        .get_token(signature_of(&tokens.access_token))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(at.status, portcullis::model::TokenStatus::Revoked);
    let rt = tokens.refresh_token.unwrap();
    assert!(f
        .token(
            &format!("grant_type=refresh_token&refresh_token={rt}"),
            Some(&c)
        )
        .await
        .is_err());
    let other_at = store
        .get_token(signature_of(&other_tokens.access_token))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        other_at.status,
        portcullis::model::TokenStatus::Active,
        "other clients keep theirs"
    );
    // The revoked consent no longer skips the consent step.
    let out = b.authorize(&code_flow(&c.client.client_id, &ch)).await;
    let to = f
        .provider
        .accept_login(&login_challenge(&out), accept_login("alice", false))
        .await
        .unwrap();
    let consent = consent_challenge(&b.follow(&to.redirect_to).await);
    let Challenge::Pending(req) = f.provider.consent_request(&consent).await.unwrap() else {
        panic!()
    };
    assert!(!req.skip);
}

#[tokio::test]
async fn revoking_login_sessions_forces_login() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let ch = s256_challenge(VERIFIER);
    let mut b = Browser::new(&f.provider);
    let p = code_flow(&c.client.client_id, &ch);
    redirect(&login_and_consent(&f, &mut b, &p, "alice", &["openid"]).await);
    let ended = f
        .provider
        .revoke_login_sessions(SessionSelector::Subject("alice"))
        .await
        .unwrap();
    assert_eq!(ended.len(), 1);
    let Challenge::Pending(req) = f
        .provider
        .login_request(&login_challenge(&b.authorize(&p).await))
        .await
        .unwrap()
    else {
        panic!()
    };
    assert!(!req.skip);
}

#[tokio::test]
async fn id_token_hint_of_another_subject_prevents_skip() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let ch = s256_challenge(VERIFIER);
    let mut b = Browser::new(&f.provider);
    let p = code_flow(&c.client.client_id, &ch);
    let out = login_and_consent(&f, &mut b, &p, "alice", &["openid"]).await;
    let tokens = f.exchange(&redirect(&out)["code"], &c).await.unwrap();
    let alice_hint = tokens.id_token.unwrap();
    // Bob logs in in another browser and gets a hint.
    let mut bob = Browser::new(&f.provider);
    let out = login_and_consent(&f, &mut bob, &p, "bob", &["openid"]).await;
    let bob_hint = f
        .exchange(&redirect(&out)["code"], &c)
        .await
        .unwrap()
        .id_token
        .unwrap();

    let mut with_hint = p.clone();
    with_hint.push(("id_token_hint", &alice_hint));
    let Challenge::Pending(req) = f
        .provider
        .login_request(&login_challenge(&b.authorize(&with_hint).await))
        .await
        .unwrap()
    else {
        panic!()
    };
    assert!(req.skip, "the hint names the logged-in subject");
    assert_eq!(
        req.oidc_context.id_token_hint_claims.unwrap()["sub"],
        "alice"
    );
    let mut mismatch = p.clone();
    mismatch.push(("id_token_hint", &bob_hint));
    mismatch.push(("prompt", "none"));
    assert_eq!(
        redirect(&b.authorize(&mismatch).await)["error"],
        "login_required"
    );
}

#[tokio::test]
async fn discovery_reflects_configuration() {
    let f = fixture_with(|c| c.pkce.allow_plain = true).await;
    let d = f.provider.discovery();
    assert_eq!(d["issuer"], ISSUER);
    assert_eq!(d["authorization_endpoint"], format!("{ISSUER}/oauth2/auth"));
    assert_eq!(d["jwks_uri"], format!("{ISSUER}/.well-known/jwks.json"));
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256", "plain"])
    );
    assert!(d["id_token_signing_alg_values_supported"]
        .as_array()
        .unwrap()
        .contains(&"RS256".into()));
    let jwks = f.provider.jwks();
    assert!(jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .all(|k| k.get("d").is_none()));
}

#[tokio::test]
async fn es256_id_tokens_per_client() {
    let f = fixture().await;
    let c = f
        .client(ClientRequest {
            id_token_signed_response_alg: Some("ES256".into()),
            ..web_client()
        })
        .await;
    let ch = s256_challenge(VERIFIER);
    let mut b = Browser::new(&f.provider);
    let out = login_and_consent(
        &f,
        &mut b,
        &code_flow(&c.client.client_id, &ch),
        "alice",
        &["openid"],
    )
    .await;
    let tokens = f.exchange(&redirect(&out)["code"], &c).await.unwrap();
    let id_token = tokens.id_token.unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(&id_token).unwrap().alg,
        jsonwebtoken::Algorithm::ES256
    );
    verify_id_token(&f.provider, &id_token, &c.client.client_id);
}

#[tokio::test]
async fn the_login_app_must_name_a_subject_of_bounded_length() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    let challenge = s256_challenge(VERIFIER);
    let mut b = Browser::new(&f.provider);
    let ch = login_challenge(
        &b.authorize(&code_flow(&c.client.client_id, &challenge))
            .await,
    );
    let limit = portcullis::endpoint::trust::MAX_IDENTIFIER_BYTES;
    for subject in [String::new(), "s".repeat(limit + 1)] {
        let e = f
            .provider
            .accept_login(&ch, accept_login(&subject, false))
            .await
            .unwrap_err();
        assert_eq!(e.code(), portcullis::ErrorCode::InvalidRequest, "{e}");
    }
    f.provider
        .accept_login(&ch, accept_login(&"s".repeat(limit), false))
        .await
        .expect("a subject at the limit is accepted, the challenge still open");
}
