//! The admin API over HTTP: clients (CRUD, pagination, JSON Patch, lifespans), consent
//! and login sessions, introspection, token deletion and flush; and the token routes of
//! the public API (revocation, userinfo).

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use portcullis::endpoint::logout::{BackchannelLogout, LogoutNotifier};
use portcullis::token::pkce::s256_challenge;
use portcullis::AuthorizeOutcome;
use serde_json::{json, Value};

async fn create(h: &mut Http, body: Value) -> Value {
    let resp = h.json("POST", "/admin/clients", &body).await;
    assert_eq!(resp.status(), 201, "{:?}", body_json(&resp));
    assert_eq!(header(&resp, "cache-control"), Some("no-store"));
    body_json(&resp)
}

fn cc_client() -> Value {
    json!({
        "client_name": "svc",
        "grant_types": ["client_credentials"],
        "scope": "read write",
        "owner": "team-a",
    })
}

#[tokio::test]
async fn client_crud() {
    let f = fixture().await;
    let mut h = Http::new(&f.provider);
    let c = create(&mut h, json!({"client_id": "my:app", "client_name": "one"})).await;
    assert_eq!(c["client_id"], "my:app");
    assert!(c["client_secret"].as_str().unwrap().len() >= 32);
    assert!(c.get("client_secret_hash").is_none());

    // Path ids are percent-decoded.
    let resp = h.get("/admin/clients/my%3Aapp").await;
    assert_eq!(resp.status(), 200);
    let got = body_json(&resp);
    assert_eq!(got["client_name"], "one");
    assert!(got.get("client_secret").is_none());

    // Create again: conflict.
    let resp = h
        .json("POST", "/admin/clients", &json!({"client_id": "my:app"}))
        .await;
    assert_eq!(resp.status(), 409);

    // PUT replaces; without a secret the secret stays (and is not echoed).
    let resp = h
        .json(
            "PUT",
            "/admin/clients/my%3Aapp",
            &json!({"client_name": "two", "redirect_uris": [REDIRECT]}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let put = body_json(&resp);
    assert_eq!(put["client_name"], "two");
    assert!(put.get("client_secret").is_none());

    // PUT with a bad field: 400 with Hydra's error shape.
    let resp = h
        .json(
            "PUT",
            "/admin/clients/my%3Aapp",
            &json!({"grant_types": ["password"]}),
        )
        .await;
    assert_eq!(resp.status(), 400);
    assert_eq!(body_json(&resp)["error"], "invalid_client_metadata");

    assert_eq!(
        h.send("DELETE", "/admin/clients/my%3Aapp", &[], "")
            .await
            .status(),
        204
    );
    let resp = h.get("/admin/clients/my%3Aapp").await;
    assert_eq!(resp.status(), 404);
    assert_eq!(body_json(&resp)["error"], "not_found");
    assert_eq!(
        h.send("DELETE", "/admin/clients/my%3Aapp", &[], "")
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn client_list_paginates_with_link_headers_and_filters() {
    let f = fixture().await;
    let mut h = Http::new(&f.provider);
    for i in 0..5 {
        let owner = if i % 2 == 0 { "even" } else { "odd" };
        create(
            &mut h,
            json!({"client_id": format!("c{i}"), "owner": owner}),
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut uri = "/admin/clients?page_size=2".to_owned();
    loop {
        let resp = h.get(&uri).await;
        assert_eq!(resp.status(), 200);
        let page = body_json(&resp);
        assert!(page.as_array().unwrap().len() <= 2);
        for c in page.as_array().unwrap() {
            assert!(c.get("client_secret").is_none());
            seen.push(c["client_id"].as_str().unwrap().to_owned());
        }
        let link = header(&resp, "link").unwrap().to_owned();
        assert!(
            link.contains("</admin/clients?page_size=2>; rel=\"first\""),
            "{link}"
        );
        let Some(next) = link
            .split(',')
            .find(|l| l.ends_with("rel=\"next\""))
            .map(|l| {
                l.trim_start_matches('<')
                    .split('>')
                    .next()
                    .unwrap()
                    .to_owned()
            })
        else {
            break;
        };
        assert!(
            next.starts_with("/admin/clients?page_size=2&page_token="),
            "{next}"
        );
        uri = next;
    }
    seen.sort();
    assert_eq!(seen, ["c0", "c1", "c2", "c3", "c4"]);

    let odd = body_json(&h.get("/admin/clients?owner=odd").await);
    assert_eq!(odd.as_array().unwrap().len(), 2);
    for bad in [
        "page_size=0",
        "page_size=x",
        "page_size=-1",
        "owner=a&owner=b",
    ] {
        let resp = h.get(&format!("/admin/clients?{bad}")).await;
        assert_eq!(resp.status(), 400, "{bad}");
        assert_eq!(body_json(&resp)["error"], "invalid_request");
    }
}

#[tokio::test]
async fn client_patch_applies_rfc_6902_through_validation() {
    let f = fixture().await;
    let mut h = Http::new(&f.provider);
    create(
        &mut h,
        json!({"client_id": "p", "client_name": "old", "contacts": ["a"]}),
    )
    .await;
    let resp = h
        .json(
            "PATCH",
            "/admin/clients/p",
            &json!([
                {"op": "replace", "path": "/client_name", "value": "new"},
                {"op": "add", "path": "/contacts/-", "value": "b"},
                {"op": "test", "path": "/client_id", "value": "p"},
            ]),
        )
        .await;
    assert_eq!(resp.status(), 200, "{:?}", body_json(&resp));
    let c = body_json(&resp);
    assert_eq!(c["client_name"], "new");
    assert_eq!(c["contacts"], json!(["a", "b"]));
    assert!(c.get("client_secret").is_none());

    // A new secret through the patch is echoed once and works.
    let resp = h
        .json(
            "PATCH",
            "/admin/clients/p",
            &json!([{"op": "add", "path": "/client_secret", "value": "a-new-secret-of-enough-length"}]),
        )
        .await;
    assert_eq!(
        body_json(&resp)["client_secret"],
        "a-new-secret-of-enough-length"
    );

    for (patch, why) in [
        (
            json!([{"op": "test", "path": "/client_name", "value": "nope"}]),
            "failed test",
        ),
        (
            json!([{"op": "remove", "path": "/does_not_exist"}]),
            "bad path",
        ),
        (
            json!([{"op": "replace", "path": "/client_id", "value": "q"}]),
            "id change",
        ),
        (
            json!([{"op": "replace", "path": "/grant_types", "value": ["nope"]}]),
            "invalid",
        ),
        (
            json!([{"op": "replace", "path": "/scope", "value": 7}]),
            "wrong type",
        ),
        (json!({"op": "replace"}), "not an array"),
        (json!([{"op": "frobnicate", "path": "/x"}]), "unknown op"),
    ] {
        let resp = h.json("PATCH", "/admin/clients/p", &patch).await;
        assert_eq!(resp.status(), 400, "{why}: {:?}", body_json(&resp));
    }
    assert_eq!(
        body_json(&h.get("/admin/clients/p").await)["client_name"],
        "new"
    );
    let resp = h.json("PATCH", "/admin/clients/zzz", &json!([])).await;
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn client_lifespans_change_only_lifespans() {
    let f = fixture().await;
    let mut h = Http::new(&f.provider);
    let c = create(&mut h, cc_client()).await;
    let id = c["client_id"].as_str().unwrap().to_owned();
    let secret = c["client_secret"].as_str().unwrap().to_owned();
    let resp = h
        .json(
            "PUT",
            &format!("/admin/clients/{id}/lifespans"),
            &json!({"client_credentials_grant_access_token_lifespan": "30m"}),
        )
        .await;
    assert_eq!(resp.status(), 200, "{:?}", body_json(&resp));
    let c2 = body_json(&resp);
    assert_eq!(
        c2["client_credentials_grant_access_token_lifespan"],
        "0h30m0s"
    );
    assert_eq!(c2["owner"], "team-a");
    assert!(c2.get("client_secret").is_none());
    // The secret still works, and tokens get the new lifespan.
    let t = h
        .form(
            "/oauth2/token",
            &format!("grant_type=client_credentials&client_id={id}&client_secret={secret}"),
            None,
        )
        .await;
    // client_secret_basic is the default; the body method is refused.
    assert_eq!(t.status(), 401);
    let t = h
        .form(
            "/oauth2/token",
            "grant_type=client_credentials",
            Some(&basic_of(&id, &secret)),
        )
        .await;
    assert_eq!(body_json(&t)["expires_in"], 1800);

    let resp = h
        .json(
            "PUT",
            &format!("/admin/clients/{id}/lifespans"),
            &json!({"implicit_grant_access_token_lifespan": "forever"}),
        )
        .await;
    assert_eq!(resp.status(), 400);
}

fn basic_of(id: &str, secret: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

async fn cc_token(h: &mut Http, id: &str, secret: &str) -> String {
    let t = h
        .form(
            "/oauth2/token",
            "grant_type=client_credentials&scope=read",
            Some(&basic_of(id, secret)),
        )
        .await;
    assert_eq!(t.status(), 200);
    body_json(&t)["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn introspect_revoke_and_delete_tokens() {
    let f = fixture().await;
    let mut h = Http::new(&f.provider);
    let c = create(&mut h, cc_client()).await;
    let (id, secret) = (
        c["client_id"].as_str().unwrap().to_owned(),
        c["client_secret"].as_str().unwrap().to_owned(),
    );
    let introspect = |t: &str| format!("token={}", urlencode(t));

    let at = cc_token(&mut h, &id, &secret).await;
    let resp = h
        .form("/admin/oauth2/introspect", &introspect(&at), None)
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "cache-control"), Some("no-store"));
    let i = body_json(&resp);
    assert_eq!(i["active"], true);
    assert_eq!(i["client_id"], id.as_str());
    let resp = h
        .form(
            "/admin/oauth2/introspect",
            &format!("{}&scope=write", introspect(&at)),
            None,
        )
        .await;
    assert_eq!(body_json(&resp)["active"], false);
    let resp = h.form("/admin/oauth2/introspect", "", None).await;
    assert_eq!(resp.status(), 400);

    // Revocation: 200 and empty, for unknown tokens too.
    let resp = h
        .form(
            "/oauth2/revoke",
            &introspect(&at),
            Some(&basic_of(&id, &secret)),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert!(resp.body().is_empty());
    let resp = h
        .form("/admin/oauth2/introspect", &introspect(&at), None)
        .await;
    assert_eq!(body_json(&resp)["active"], false);
    let resp = h
        .form(
            "/oauth2/revoke",
            "token=garbage",
            Some(&basic_of(&id, &secret)),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let resp = h
        .form(
            "/oauth2/revoke",
            "token=garbage",
            Some(&basic_of(&id, "bad")),
        )
        .await;
    assert_eq!(resp.status(), 401);
    assert!(header(&resp, "www-authenticate").is_some());

    // DELETE /admin/oauth2/tokens?client_id=.
    let at = cc_token(&mut h, &id, &secret).await;
    let resp = h
        .send(
            "DELETE",
            &format!("/admin/oauth2/tokens?client_id={id}"),
            &[],
            "",
        )
        .await;
    assert_eq!(resp.status(), 204);
    let resp = h
        .form("/admin/oauth2/introspect", &introspect(&at), None)
        .await;
    assert_eq!(body_json(&resp)["active"], false);
    let resp = h.send("DELETE", "/admin/oauth2/tokens", &[], "").await;
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn flush_takes_hydras_body() {
    let f = fixture().await;
    let mut h = Http::new(&f.provider);
    let c = create(&mut h, cc_client()).await;
    let (id, secret) = (
        c["client_id"].as_str().unwrap().to_owned(),
        c["client_secret"].as_str().unwrap().to_owned(),
    );
    let at = cc_token(&mut h, &id, &secret).await;
    f.clock.advance(time::Duration::hours(2));
    assert_eq!(
        h.send("POST", "/admin/oauth2/flush", &[], "")
            .await
            .status(),
        204
    );
    let resp = h
        .json(
            "POST",
            "/admin/oauth2/flush",
            &json!({"notAfter": "2030-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(resp.status(), 204);
    let resp = h
        .json(
            "POST",
            "/admin/oauth2/flush",
            &json!({"notAfter": "yesterday"}),
        )
        .await;
    assert_eq!(resp.status(), 400);
    let resp = h
        .form(
            "/admin/oauth2/introspect",
            &format!("token={}", urlencode(&at)),
            None,
        )
        .await;
    assert_eq!(body_json(&resp)["active"], false);
}

#[tokio::test]
async fn userinfo_over_http() {
    let f = fixture().await;
    let mut h = Http::new(&f.provider);
    let c = f.client(web_client()).await;
    let code = f.code(&c.client.client_id, "openid profile").await;
    let t = f.exchange(&code, &c).await.unwrap();

    let bearer = format!("Bearer {}", t.access_token);
    let resp = h
        .send("GET", "/userinfo", &[("authorization", &bearer)], "")
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(body_json(&resp)["sub"], "alice");
    assert_eq!(header(&resp, "cache-control"), Some("no-store"));
    let resp = h
        .send("POST", "/userinfo", &[("authorization", &bearer)], "")
        .await;
    assert_eq!(resp.status(), 200);

    let resp = h.get("/userinfo").await;
    assert_eq!(resp.status(), 401);
    assert_eq!(
        header(&resp, "www-authenticate"),
        Some("Bearer realm=\"portcullis\"")
    );
    assert!(resp.body().is_empty());
    let resp = h
        .send("GET", "/userinfo", &[("authorization", "Bearer nope")], "")
        .await;
    assert_eq!(resp.status(), 401);
    assert!(header(&resp, "www-authenticate")
        .unwrap()
        .contains("invalid_token"));
    assert_eq!(body_json(&resp)["error"], "invalid_token");

    // A client that asked for signed userinfo gets application/jwt.
    let signed = f
        .client(portcullis::ClientRequest {
            userinfo_signed_response_alg: Some("RS256".into()),
            ..web_client()
        })
        .await;
    let code = f.code(&signed.client.client_id, "openid").await;
    let t = f.exchange(&code, &signed).await.unwrap();
    let resp = h
        .send(
            "GET",
            "/userinfo",
            &[("authorization", &format!("Bearer {}", t.access_token))],
            "",
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "content-type"), Some("application/jwt"));
    assert_eq!(String::from_utf8_lossy(resp.body()).matches('.').count(), 2);
}

/// Logs `subject` in through the engine with a remembered consent; the login `sid`.
async fn consent_for(f: &Fixture, client_id: &str, subject: &str) -> String {
    let mut b = Browser::new(&f.provider);
    let ch = s256_challenge(VERIFIER);
    let AuthorizeOutcome::Login { challenge, .. } = b.authorize(&code_flow(client_id, &ch)).await
    else {
        panic!("login expected")
    };
    let to = f
        .provider
        .accept_login(&challenge, accept_login(subject, true))
        .await
        .unwrap();
    let AuthorizeOutcome::Consent { challenge, .. } = b.follow(&to.redirect_to).await else {
        panic!("consent expected")
    };
    let cr = f.provider.consent_request(&challenge).await.unwrap();
    let portcullis::Challenge::Pending(cr) = cr else {
        panic!("pending consent expected")
    };
    let to = f
        .provider
        .accept_consent(&challenge, accept_consent(&["openid", "profile"], true))
        .await
        .unwrap();
    let out = b.follow(&to.redirect_to).await;
    assert!(matches!(out, AuthorizeOutcome::Redirect(_)), "{out:?}");
    cr.login_session_id
}

#[tokio::test]
async fn consent_sessions_list_in_hydras_shape_and_revoke() {
    let f = fixture().await;
    let mut h = Http::new(&f.provider);
    let a = f.client(web_client()).await;
    let b = f.client(web_client()).await;
    let sid = consent_for(&f, &a.client.client_id, "erin").await;
    consent_for(&f, &b.client.client_id, "erin").await;

    let resp = h
        .get("/admin/oauth2/auth/sessions/consent?subject=erin")
        .await;
    assert_eq!(resp.status(), 200);
    let list = body_json(&resp);
    assert_eq!(list.as_array().unwrap().len(), 2);
    let item = &list[0];
    assert_eq!(item["grant_scope"], json!(["openid", "profile"]));
    assert_eq!(item["remember"], true);
    assert_eq!(item["consent_request"]["subject"], "erin");
    assert!(item["consent_request"]["client"]["client_id"].is_string());
    assert!(item["handled_at"].as_str().unwrap().ends_with('Z'));
    assert!(item["session"]["id_token"].is_object());

    let page = h
        .get("/admin/oauth2/auth/sessions/consent?subject=erin&page_size=1")
        .await;
    assert_eq!(body_json(&page).as_array().unwrap().len(), 1);
    assert!(header(&page, "link").unwrap().contains("rel=\"next\""));
    let by_sid = body_json(
        &h.get(&format!(
            "/admin/oauth2/auth/sessions/consent?subject=erin&login_session_id={sid}"
        ))
        .await,
    );
    assert!(!by_sid.as_array().unwrap().is_empty());
    assert_eq!(
        h.get("/admin/oauth2/auth/sessions/consent").await.status(),
        400
    );

    let del = |q: &str| format!("/admin/oauth2/auth/sessions/consent?{q}");
    assert_eq!(
        h.send("DELETE", &del("subject=erin"), &[], "")
            .await
            .status(),
        400
    );
    assert_eq!(
        h.send("DELETE", &del("subject=erin&all=maybe"), &[], "")
            .await
            .status(),
        400
    );
    let resp = h
        .send(
            "DELETE",
            &del(&format!("subject=erin&client={}", a.client.client_id)),
            &[],
            "",
        )
        .await;
    assert_eq!(resp.status(), 204);
    let list = body_json(&h.get(&del("subject=erin")).await);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(
        h.send("DELETE", &del("subject=erin&all=true"), &[], "")
            .await
            .status(),
        204
    );
    assert_eq!(body_json(&h.get(&del("subject=erin")).await), json!([]));
}

#[derive(Default)]
struct Recorder(Mutex<Vec<BackchannelLogout>>);

#[async_trait::async_trait]
impl LogoutNotifier for Recorder {
    async fn deliver(&self, logout: &BackchannelLogout) -> Result<(), String> {
        self.0.lock().unwrap().push(logout.clone());
        Ok(())
    }
}

#[tokio::test]
async fn login_sessions_end_by_sid_with_backchannel_or_by_subject() {
    let f = fixture().await;
    let recorder = Arc::new(Recorder::default());
    let mut h = Http::new(&f.provider);
    h.server = h.server.clone().with_notifier(recorder.clone());
    let c = f
        .client(portcullis::ClientRequest {
            backchannel_logout_uri: Some("https://app.example.com/bc".into()),
            ..web_client()
        })
        .await;
    let sid = consent_for(&f, &c.client.client_id, "frank").await;
    let url = |q: &str| format!("/admin/oauth2/auth/sessions/login?{q}");
    for bad in ["", "subject=frank&sid=x", "sid=a&sid=b"] {
        assert_eq!(
            h.send("DELETE", &url(bad), &[], "").await.status(),
            400,
            "{bad}"
        );
    }
    let resp = h.send("DELETE", &url(&format!("sid={sid}")), &[], "").await;
    assert_eq!(resp.status(), 204);
    let delivered = recorder.0.lock().unwrap().clone();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].client_id, c.client.client_id);

    consent_for(&f, &c.client.client_id, "frank").await;
    let resp = h.send("DELETE", &url("subject=frank"), &[], "").await;
    assert_eq!(resp.status(), 204);
    assert_eq!(
        recorder.0.lock().unwrap().len(),
        1,
        "no notification by subject"
    );
}

#[tokio::test]
async fn challenge_routes_need_their_challenge() {
    let f = fixture().await;
    let mut h = Http::new(&f.provider);
    for (path, m) in [
        ("/admin/oauth2/auth/requests/login", "GET"),
        ("/admin/oauth2/auth/requests/consent/accept", "PUT"),
        ("/admin/oauth2/auth/requests/logout/reject", "PUT"),
    ] {
        let resp = h.send(m, path, &[], "").await;
        assert_eq!(resp.status(), 400, "{path}");
        let resp = h
            .send(
                m,
                &format!("{path}?login_challenge=x&consent_challenge=x&logout_challenge=x"),
                &[],
                "",
            )
            .await;
        assert_eq!(resp.status(), 404, "{path}");
        assert_eq!(body_json(&resp)["error"], "not_found");
    }
}
