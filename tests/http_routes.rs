//! The HTTP mapping's route table, the token endpoint, a complete authorization-code flow
//! driven only through HTTP requests, and the logout pages.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use portcullis::endpoint::logout::{BackchannelLogout, LogoutNotifier};
use serde_json::json;

/// Every route with the methods it allows.
const ROUTES: &[(&str, &[&str])] = &[
    ("/oauth2/auth", &["GET", "POST"]),
    ("/oauth2/token", &["POST"]),
    ("/oauth2/revoke", &["POST"]),
    ("/userinfo", &["GET", "POST"]),
    ("/oauth2/sessions/logout", &["GET", "POST"]),
    ("/.well-known/openid-configuration", &["GET"]),
    ("/.well-known/jwks.json", &["GET"]),
    ("/oauth2/register", &["POST"]),
    ("/oauth2/register/some-id", &["GET", "PUT", "DELETE"]),
    ("/admin/clients", &["GET", "POST"]),
    ("/admin/clients/some-id", &["GET", "PUT", "PATCH", "DELETE"]),
    ("/admin/clients/some-id/lifespans", &["PUT"]),
    ("/admin/oauth2/auth/requests/login", &["GET"]),
    ("/admin/oauth2/auth/requests/login/accept", &["PUT"]),
    ("/admin/oauth2/auth/requests/login/reject", &["PUT"]),
    ("/admin/oauth2/auth/requests/consent", &["GET"]),
    ("/admin/oauth2/auth/requests/consent/accept", &["PUT"]),
    ("/admin/oauth2/auth/requests/consent/reject", &["PUT"]),
    ("/admin/oauth2/auth/requests/logout", &["GET"]),
    ("/admin/oauth2/auth/requests/logout/accept", &["PUT"]),
    ("/admin/oauth2/auth/requests/logout/reject", &["PUT"]),
    ("/admin/oauth2/auth/sessions/consent", &["GET", "DELETE"]),
    ("/admin/oauth2/auth/sessions/login", &["DELETE"]),
    ("/admin/oauth2/introspect", &["POST"]),
    ("/admin/oauth2/tokens", &["DELETE"]),
    ("/admin/oauth2/flush", &["POST"]),
    ("/admin/trust/grants/jwt-bearer/issuers", &["GET", "POST"]),
    (
        "/admin/trust/grants/jwt-bearer/issuers/some-id",
        &["GET", "DELETE"],
    ),
    ("/health/alive", &["GET"]),
    ("/health/ready", &["GET"]),
    ("/version", &["GET"]),
];

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

#[tokio::test]
async fn every_route_answers_its_methods_and_405s_the_rest() {
    let f = fixture_with(|c| c.dynamic_registration = true).await;
    let mut h = Http::new(&f.provider);
    for (path, allowed) in ROUTES {
        for m in METHODS {
            let resp = h.send(m, path, &[], "").await;
            let s = resp.status().as_u16();
            if allowed.contains(m) {
                assert!(s != 404 || path.contains("some-id"), "{m} {path}: {s}");
                assert!(s != 405 && s < 500, "{m} {path}: {s}");
            } else {
                assert_eq!(s, 405, "{m} {path}");
                assert_eq!(header(&resp, "allow"), Some(allowed.join(", ").as_str()));
                assert_eq!(body_json(&resp)["error"], "invalid_request");
            }
        }
    }
}

#[tokio::test]
async fn unknown_paths_are_404_and_the_apis_are_separable() {
    let f = fixture().await;
    let mut h = Http::new(&f.provider);
    for p in [
        "/",
        "/oauth2",
        "/oauth2/auth/",
        "/admin/clients/",
        "/admin/clients/a/b",
        "/admin/trust/grants/jwt-bearer/issuers/",
        "/admin/trust/grants/jwt-bearer/issuers/a/b",
        "/.well-known/openid-configuration/x",
    ] {
        let resp = h.get(p).await;
        assert_eq!(resp.status(), 404, "{p}");
        assert_eq!(body_json(&resp)["error"], "not_found");
    }
    let req = |p: &str| http::Request::get(p).body(bytes::Bytes::new()).unwrap();
    let s = &h.server;
    assert_eq!(s.public(req("/admin/clients")).await.status(), 404);
    assert_eq!(s.admin(req("/admin/clients")).await.status(), 200);
    assert_eq!(s.admin(req("/.well-known/jwks.json")).await.status(), 404);
    assert_eq!(s.public(req("/.well-known/jwks.json")).await.status(), 200);
}

/// Hydra's probes answer on both APIs, uncached: alive, ready (the store answers) and the
/// version.
#[tokio::test]
async fn health_and_version_are_served_on_both_apis() {
    let f = fixture().await;
    let h = Http::new(&f.provider);
    let req = |p: &str| http::Request::get(p).body(bytes::Bytes::new()).unwrap();
    for admin in [false, true] {
        for path in ["/health/alive", "/health/ready"] {
            let resp = match admin {
                true => h.server.admin(req(path)).await,
                false => h.server.public(req(path)).await,
            };
            assert_eq!(resp.status(), 200, "{path}");
            assert_eq!(body_json(&resp), json!({"status": "ok"}));
            assert_eq!(header(&resp, "cache-control"), Some("no-store"));
        }
        let resp = match admin {
            true => h.server.admin(req("/version")).await,
            false => h.server.public(req("/version")).await,
        };
        assert_eq!(resp.status(), 200);
        assert_eq!(body_json(&resp)["version"], env!("CARGO_PKG_VERSION"));
    }
    for p in ["/health", "/health/alive/", "/health/readyx", "/version/x"] {
        assert_eq!(h.server.handle(req(p)).await.status(), 404, "{p}");
    }
}

#[tokio::test]
async fn head_is_get_without_a_body_and_discovery_is_served() {
    let f = fixture().await;
    let mut h = Http::new(&f.provider);
    let resp = h.get("/.well-known/openid-configuration").await;
    assert_eq!(resp.status(), 200);
    let doc = body_json(&resp);
    assert_eq!(doc["issuer"], ISSUER);
    assert_eq!(doc["token_endpoint"], format!("{ISSUER}/oauth2/token"));
    assert!(doc.get("registration_endpoint").is_none());
    assert_eq!(header(&resp, "x-content-type-options"), Some("nosniff"));
    let jwks = body_json(&h.get("/.well-known/jwks.json").await);
    assert!(!jwks["keys"].as_array().unwrap().is_empty());
    let head = h.send("HEAD", "/.well-known/jwks.json", &[], "").await;
    assert_eq!(head.status(), 200);
    assert!(head.body().is_empty());
}

/// Runs the flow as a browser and a login/consent app would; answers the code.
async fn browser_flow(h: &mut Http, client_id: &str, subject: &str) -> String {
    let to = location(&h.get(&authorize_uri(client_id)).await);
    assert!(to.starts_with(&format!("{ISSUER}/ui/login?")), "{to}");
    let challenge = query_param(&to, "login_challenge").unwrap();
    let lr = h
        .get(&format!(
            "/admin/oauth2/auth/requests/login?login_challenge={challenge}"
        ))
        .await;
    assert_eq!(lr.status(), 200);
    let lr = body_json(&lr);
    let redirect_to = if lr["skip"] == true {
        assert_eq!(lr["subject"], subject);
        let resp = h
            .json(
                "PUT",
                &format!("/admin/oauth2/auth/requests/login/accept?login_challenge={challenge}"),
                &json!({ "subject": subject }),
            )
            .await;
        body_json(&resp)["redirect_to"].as_str().unwrap().to_owned()
    } else {
        assert_eq!(lr["client"]["client_id"], client_id);
        assert!(lr["client"].get("client_secret").is_none());
        let resp = h
            .json(
                "PUT",
                &format!("/admin/oauth2/auth/requests/login/accept?login_challenge={challenge}"),
                &json!({ "subject": subject, "remember": true, "amr": ["pwd"] }),
            )
            .await;
        assert_eq!(resp.status(), 200);
        body_json(&resp)["redirect_to"].as_str().unwrap().to_owned()
    };
    let to = location(&h.get(&local(&redirect_to)).await);
    assert!(h.cookie.is_some(), "the login session cookie is set");
    if to.starts_with(REDIRECT) {
        return query_param(&to, "code").unwrap();
    }
    let challenge = query_param(&to, "consent_challenge").unwrap();
    let cr = body_json(
        &h.get(&format!(
            "/admin/oauth2/auth/requests/consent?consent_challenge={}",
            urlencode(&challenge)
        ))
        .await,
    );
    assert_eq!(cr["subject"], subject);
    let resp = h
        .json(
            "PUT",
            &format!(
                "/admin/oauth2/auth/requests/consent/accept?consent_challenge={}",
                urlencode(&challenge)
            ),
            &json!({ "grant_scope": ["openid", "offline_access"], "remember": true }),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let redirect_to = body_json(&resp)["redirect_to"].as_str().unwrap().to_owned();
    let to = location(&h.get(&local(&redirect_to)).await);
    assert!(to.starts_with(REDIRECT), "{to}");
    assert_eq!(query_param(&to, "state").as_deref(), Some("st-123"));
    assert_eq!(query_param(&to, "iss").as_deref(), Some(ISSUER));
    query_param(&to, "code").unwrap()
}

async fn exchange(
    h: &mut Http,
    id: &str,
    secret: &str,
    code: &str,
) -> http::Response<bytes::Bytes> {
    let body = format!(
        "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={VERIFIER}",
        urlencode(code),
        urlencode(REDIRECT)
    );
    h.form("/oauth2/token", &body, Some(&basic_auth(id, secret)))
        .await
}

#[tokio::test]
async fn authorization_code_flow_through_http_only() {
    let f = fixture().await;
    let mut h = Http::new(&f.provider);
    let (id, secret) = create_client(&mut h, web_client_json()).await;
    let code = browser_flow(&mut h, &id, "alice").await;

    let resp = exchange(&mut h, &id, &secret, &code).await;
    assert_eq!(resp.status(), 200, "{:?}", body_json(&resp));
    assert_eq!(header(&resp, "cache-control"), Some("no-store"));
    assert_eq!(header(&resp, "pragma"), Some("no-cache"));
    let t = body_json(&resp);
    assert_eq!(t["token_type"], "bearer");
    assert!(t["id_token"].is_string() && t["refresh_token"].is_string());

    // A refresh.
    let rt = t["refresh_token"].as_str().unwrap();
    let resp = h
        .form(
            "/oauth2/token",
            &format!("grant_type=refresh_token&refresh_token={}", urlencode(rt)),
            Some(&basic_auth(&id, &secret)),
        )
        .await;
    assert_eq!(resp.status(), 200, "{:?}", body_json(&resp));

    // The code is spent: replaying it fails (and revokes what it issued).
    let again = exchange(&mut h, &id, &secret, &code).await;
    assert_eq!(again.status(), 400);
    assert_eq!(body_json(&again)["error"], "invalid_grant");

    // The remembered session skips the login form, and the consent was remembered.
    let code = browser_flow(&mut h, &id, "alice").await;
    assert_eq!(exchange(&mut h, &id, &secret, &code).await.status(), 200);
}

#[tokio::test]
async fn handled_challenges_answer_410_with_the_redirect() {
    let f = fixture().await;
    let mut h = Http::new(&f.provider);
    let (id, _) = create_client(&mut h, web_client_json()).await;
    let to = location(&h.get(&authorize_uri(&id)).await);
    let challenge = query_param(&to, "login_challenge").unwrap();
    let uri = format!("/admin/oauth2/auth/requests/login/accept?login_challenge={challenge}");
    let first = h.json("PUT", &uri, &json!({"subject": "bob"})).await;
    assert_eq!(first.status(), 200);
    let resp = h
        .get(&format!(
            "/admin/oauth2/auth/requests/login?login_challenge={challenge}"
        ))
        .await;
    assert_eq!(resp.status(), 410);
    assert_eq!(
        body_json(&resp)["redirect_to"],
        body_json(&first)["redirect_to"]
    );
    let twice = h.json("PUT", &uri, &json!({"subject": "bob"})).await;
    assert_eq!(twice.status(), 409);
    assert_eq!(body_json(&twice)["error"], "conflict");
}

#[tokio::test]
async fn token_endpoint_errors_follow_rfc_6749() {
    let f = fixture().await;
    let mut h = Http::new(&f.provider);
    let (id, _) = create_client(&mut h, web_client_json()).await;
    let resp = h
        .form(
            "/oauth2/token",
            "grant_type=client_credentials",
            Some(&basic_auth(&id, "wrong")),
        )
        .await;
    assert_eq!(resp.status(), 401);
    assert!(header(&resp, "www-authenticate")
        .unwrap()
        .starts_with("Basic"));
    assert_eq!(header(&resp, "cache-control"), Some("no-store"));
    assert_eq!(body_json(&resp)["error"], "invalid_client");

    let resp = h.form("/oauth2/token", "grant_type=password", None).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(body_json(&resp)["error"], "unsupported_grant_type");

    let resp = h
        .send(
            "POST",
            "/oauth2/token",
            &[("content-type", "application/json")],
            "{}",
        )
        .await;
    assert_eq!(resp.status(), 415);
    assert_eq!(body_json(&resp)["error"], "invalid_request");
}

#[tokio::test]
async fn authorize_errors_are_pages_and_form_post_is_pinned() {
    let f = fixture().await;
    let mut h = Http::new(&f.provider);
    let resp = h
        .get("/oauth2/auth?client_id=nobody&response_type=code")
        .await;
    assert_eq!(resp.status(), 400);
    assert!(header(&resp, "content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(header(&resp, "www-authenticate").is_none());
    assert!(header(&resp, "content-security-policy")
        .unwrap()
        .contains("default-src 'none'"));
    let html = String::from_utf8_lossy(resp.body());
    assert!(html.contains("invalid_client"));

    let resp = h
        .send(
            "GET",
            "/oauth2/auth?client_id=%3Cscript%3E",
            &[("accept", "application/json")],
            "",
        )
        .await;
    assert_eq!(resp.status(), 400);
    assert_eq!(body_json(&resp)["error"], "invalid_client");

    let (id, _) = create_client(&mut h, web_client_json()).await;
    let to = location(
        &h.get(&format!("{}&response_mode=form_post", authorize_uri(&id)))
            .await,
    );
    let challenge = query_param(&to, "login_challenge").unwrap();
    let resp = h
        .json(
            "PUT",
            &format!("/admin/oauth2/auth/requests/login/reject?login_challenge={challenge}"),
            &json!({"error": "access_denied", "error_description": "<b>no</b>"}),
        )
        .await;
    let redirect_to = body_json(&resp)["redirect_to"].as_str().unwrap().to_owned();
    let resp = h.get(&local(&redirect_to)).await;
    assert_eq!(resp.status(), 200);
    let csp = header(&resp, "content-security-policy").unwrap();
    assert!(csp.contains("form-action https://app.example.com"), "{csp}");
    let html = String::from_utf8_lossy(resp.body());
    assert!(html.contains("access_denied") && html.contains("&lt;b&gt;no"));
    assert_eq!(header(&resp, "cache-control"), Some("no-store"));
}

#[derive(Default)]
struct Recorder(Mutex<Vec<BackchannelLogout>>);

#[async_trait::async_trait]
impl LogoutNotifier for Recorder {
    async fn deliver(&self, logout: &BackchannelLogout) -> Result<(), String> {
        self.0.lock().unwrap().push(logout.clone());
        Err("the test notifier fails, which must not matter".into())
    }
}

#[tokio::test]
async fn logout_runs_the_frontchannel_page_and_clears_the_cookie() {
    let f = fixture().await;
    let recorder = Arc::new(Recorder::default());
    let mut h = Http::new(&f.provider);
    h.server = h.server.clone().with_notifier(recorder.clone());
    let (id, secret) = create_client(&mut h, web_client_json()).await;
    let code = browser_flow(&mut h, &id, "carol").await;
    let t = body_json(&exchange(&mut h, &id, &secret, &code).await);
    let id_token = t["id_token"].as_str().unwrap();

    let uri = format!(
        "/oauth2/sessions/logout?id_token_hint={id_token}&post_logout_redirect_uri={}&state=s1",
        urlencode("https://app.example.com/bye")
    );
    let to = location(&h.get(&uri).await);
    assert!(to.starts_with(&format!("{ISSUER}/ui/logout?")), "{to}");
    let challenge = query_param(&to, "logout_challenge").unwrap();
    let lr = h
        .get(&format!(
            "/admin/oauth2/auth/requests/logout?logout_challenge={challenge}"
        ))
        .await;
    assert_eq!(lr.status(), 200);
    assert_eq!(body_json(&lr)["subject"], "carol");
    let resp = h
        .send(
            "PUT",
            &format!("/admin/oauth2/auth/requests/logout/accept?logout_challenge={challenge}"),
            &[],
            "",
        )
        .await;
    assert_eq!(resp.status(), 200);
    let redirect_to = body_json(&resp)["redirect_to"].as_str().unwrap().to_owned();

    let page = h.get(&local(&redirect_to)).await;
    assert_eq!(page.status(), 200);
    let csp = header(&page, "content-security-policy").unwrap();
    assert!(csp.contains("frame-src https://app.example.com;"), "{csp}");
    assert!(csp.contains("script-src 'sha256-") && !csp.contains("unsafe-inline"));
    let html = String::from_utf8_lossy(page.body()).into_owned();
    assert!(
        html.contains("<iframe src=\"https://app.example.com/fc?iss="),
        "{html}"
    );
    assert!(html.contains("https://app.example.com/bye?state=s1"));
    let cookie = page.headers().get("set-cookie").unwrap().to_str().unwrap();
    assert!(cookie.starts_with("portcullis_session=;") && cookie.contains("Max-Age=0"));
    assert!(h.cookie.is_none());
    let delivered = recorder.0.lock().unwrap().clone();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].uri, "https://app.example.com/bc");

    // The verifier is spent; the browser now gets an error page.
    assert_eq!(h.get(&local(&redirect_to)).await.status(), 400);
}

#[tokio::test]
async fn logout_without_session_redirects_and_reject_is_204() {
    let f = fixture().await;
    let mut h = Http::new(&f.provider);
    let to = location(&h.get("/oauth2/sessions/logout").await);
    assert_eq!(to, format!("{ISSUER}/ui/logged-out"));

    let (id, _) = create_client(&mut h, web_client_json()).await;
    browser_flow(&mut h, &id, "dave").await;
    let to = location(&h.send("POST", "/oauth2/sessions/logout", &[], "").await);
    let challenge = query_param(&to, "logout_challenge").unwrap();
    let resp = h
        .send(
            "PUT",
            &format!("/admin/oauth2/auth/requests/logout/reject?logout_challenge={challenge}"),
            &[],
            "",
        )
        .await;
    assert_eq!(resp.status(), 204);
    let resp = h
        .get(&format!(
            "/admin/oauth2/auth/requests/logout?logout_challenge={challenge}"
        ))
        .await;
    assert_eq!(resp.status(), 410);

    let resp = h.get("/oauth2/sessions/logout?state=x").await;
    assert_eq!(resp.status(), 400);
    assert!(header(&resp, "content-type")
        .unwrap()
        .starts_with("text/html"));
}
