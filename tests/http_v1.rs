//! Hydra v1's admin paths (`seeds/001`) over HTTP: a whole flow answered through them,
//! clients with `limit` / `offset`, consent and login sessions by user, introspection
//! and flush; their malformed ids, wrong methods, and the public listener not serving
//! them.

mod common;

use common::*;
use serde_json::{json, Value};

/// Creates a client through v1's `POST /clients`: its id and secret.
async fn create(h: &mut Http, body: Value) -> (String, String) {
    create_client_at(h, "/clients", body).await
}

/// The `rel="next"` URL of a page's `Link` header.
fn next_link(page: &http::Response<bytes::Bytes>) -> String {
    header(page, "link")
        .unwrap()
        .split(',')
        .find(|l| l.contains("rel=\"next\""))
        .and_then(|l| l.split(['<', '>']).nth(1))
        .expect("a next link")
        .to_owned()
}

/// Starts a code flow for `client_id` in the browser; its login challenge, URL-encoded.
async fn login_challenge(h: &mut Http, client_id: &str) -> String {
    let to = location(&h.get(&authorize_uri(client_id)).await);
    urlencode(&query_param(&to, "login_challenge").unwrap())
}

/// An app's answer: a PUT of `body` to `path`; where it sends the browser.
async fn answer(h: &mut Http, path: &str, body: Value) -> String {
    let resp = h.json("PUT", path, &body).await;
    assert_eq!(resp.status(), 200, "{:?}", body_json(&resp));
    body_json(&resp)["redirect_to"].as_str().unwrap().to_owned()
}

/// The browser follows `redirect_to`; where the server sends it next.
async fn follow(h: &mut Http, redirect_to: &str) -> String {
    location(&h.get(&local(redirect_to)).await)
}

/// The flow as a v1 login and consent app answers it; the code.
async fn v1_flow(h: &mut Http, client_id: &str, subject: &str) -> String {
    let login = login_challenge(h, client_id).await;
    let lr = h.get(&format!("/oauth2/auth/requests/login/{login}")).await;
    assert_eq!(lr.status(), 200, "{:?}", body_json(&lr));
    let lr = body_json(&lr);
    assert_eq!(lr["client"]["client_id"], client_id);
    assert_eq!(lr["skip"], false);
    let redirect_to = answer(
        h,
        &format!("/oauth2/auth/requests/login/{login}/accept"),
        json!({ "subject": subject, "remember": true }),
    )
    .await;

    // Handled: the v1 path answers 410 with where the browser went, as v2 does.
    let again = h.get(&format!("/oauth2/auth/requests/login/{login}")).await;
    assert_eq!(again.status(), 410);
    assert_eq!(body_json(&again)["redirect_to"], redirect_to.as_str());

    let to = follow(h, &redirect_to).await;
    let consent = urlencode(&query_param(&to, "consent_challenge").unwrap());
    let cr = h
        .get(&format!("/oauth2/auth/requests/consent/{consent}"))
        .await;
    assert_eq!(cr.status(), 200);
    assert_eq!(body_json(&cr)["subject"], subject);
    let redirect_to = answer(
        h,
        &format!("/oauth2/auth/requests/consent/{consent}/accept"),
        json!({ "grant_scope": ["openid", "offline_access"], "remember": true }),
    )
    .await;
    let to = follow(h, &redirect_to).await;
    assert!(to.starts_with(REDIRECT), "{to}");
    query_param(&to, "code").unwrap()
}

#[tokio::test]
async fn a_flow_answered_through_v1_paths_then_introspected_and_flushed() {
    let f = fixture().await;
    let mut h = Http::new(&f.provider);
    let (id, secret) = create(&mut h, web_client_json()).await;
    let code = v1_flow(&mut h, &id, "alice").await;
    let body = format!(
        "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={VERIFIER}",
        urlencode(&code),
        urlencode(REDIRECT)
    );
    let resp = h
        .form("/oauth2/token", &body, Some(&basic_auth(&id, &secret)))
        .await;
    assert_eq!(resp.status(), 200, "{:?}", body_json(&resp));
    let at = body_json(&resp)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let resp = h
        .form(
            "/oauth2/introspect",
            &format!("token={}", urlencode(&at)),
            None,
        )
        .await;
    assert_eq!(resp.status(), 200);
    let i = body_json(&resp);
    assert_eq!(i["active"], true);
    assert_eq!(i["sub"], "alice");
    assert_eq!(i["client_id"], id.as_str());

    let resp = h.json("POST", "/oauth2/flush", &json!({})).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(
        h.send("GET", "/oauth2/introspect", &[], "").await.status(),
        405
    );
}

#[tokio::test]
async fn v1_rejections_reach_the_client() {
    let f = fixture().await;
    let mut h = Http::new(&f.provider);
    let (id, _) = create(&mut h, web_client_json()).await;
    let login = login_challenge(&mut h, &id).await;
    let redirect_to = answer(
        &mut h,
        &format!("/oauth2/auth/requests/login/{login}/reject"),
        json!({ "error": "access_denied", "error_description": "No." }),
    )
    .await;
    let to = follow(&mut h, &redirect_to).await;
    assert!(to.starts_with(REDIRECT), "{to}");
    assert_eq!(query_param(&to, "error").as_deref(), Some("access_denied"));

    // An unknown challenge is 404 on the v1 path as on the v2 one.
    let resp = h.get("/oauth2/auth/requests/consent/nope").await;
    assert_eq!(resp.status(), 404);
    assert_eq!(body_json(&resp)["error"], "not_found");
}

#[tokio::test]
async fn v1_clients_crud_and_limit_offset_paging() {
    let f = fixture().await;
    let mut h = Http::new(&f.provider);
    let (id, _) = create(
        &mut h,
        json!({ "client_id": "my:app", "client_name": "one" }),
    )
    .await;
    assert_eq!(id, "my:app");
    let got = h.get("/clients/my%3Aapp").await;
    assert_eq!(got.status(), 200);
    assert_eq!(body_json(&got)["client_name"], "one");
    let put = h
        .json("PUT", "/clients/my%3Aapp", &json!({ "client_name": "two" }))
        .await;
    assert_eq!(put.status(), 200);
    assert_eq!(body_json(&put)["client_name"], "two");
    for n in 0..4 {
        create(&mut h, json!({ "client_id": format!("c{n}") })).await;
    }

    let ids = |resp: &http::Response<bytes::Bytes>| -> Vec<String> {
        body_json(resp)
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["client_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = ids(&h.get("/clients").await);
    assert_eq!(all.len(), 5);
    let page = h.get("/clients?limit=2&offset=1").await;
    assert_eq!(page.status(), 200);
    assert_eq!(ids(&page), all[1..3]);
    // The next link continues after the page; offset is not applied again.
    let link = header(&page, "link").unwrap();
    assert!(!link.contains("offset"), "{link}");
    let next = next_link(&page);
    assert_eq!(ids(&h.get(&next).await), all[3..5]);
    // Offsets inside the list and past its end.
    assert_eq!(ids(&h.get("/clients?offset=4").await), all[4..]);
    let past = h.get("/clients?offset=900").await;
    assert_eq!(past.status(), 200);
    assert!(ids(&past).is_empty());
    assert!(!header(&past, "link").unwrap().contains("rel=\"next\""));
    // v2's page_size works on the v2 path and the v1 one.
    assert_eq!(ids(&h.get("/admin/clients?page_size=2").await), all[..2]);

    for bad in [
        "/clients?limit=0",
        "/clients?limit=x",
        "/clients?offset=-1",
        "/clients?offset=1&offset=2",
        "/clients?limit=1&page_size=1",
    ] {
        let resp = h.get(bad).await;
        assert_eq!(resp.status(), 400, "{bad}");
        assert_eq!(body_json(&resp)["error"], "invalid_request", "{bad}");
    }

    assert_eq!(
        h.send("DELETE", "/clients/my%3Aapp", &[], "")
            .await
            .status(),
        204
    );
    assert_eq!(h.get("/clients/my%3Aapp").await.status(), 404);
}

#[tokio::test]
async fn v1_consent_and_login_sessions_by_user() {
    let f = fixture().await;
    let mut h = Http::new(&f.provider);
    let (a, _) = create(&mut h, web_client_json()).await;
    let (b, _) = create(&mut h, web_client_json()).await;
    v1_flow(&mut h, &a, "erin").await;
    // The same browser, for b: its login is remembered, its consent for b is asked.
    let login = login_challenge(&mut h, &b).await;
    let redirect_to = answer(
        &mut h,
        &format!("/oauth2/auth/requests/login/{login}/accept"),
        json!({ "subject": "erin" }),
    )
    .await;
    let to = follow(&mut h, &redirect_to).await;
    let consent = urlencode(&query_param(&to, "consent_challenge").unwrap());
    let redirect_to = answer(
        &mut h,
        &format!("/oauth2/auth/requests/consent/{consent}/accept"),
        json!({ "grant_scope": ["openid"], "remember": true }),
    )
    .await;
    let to = follow(&mut h, &redirect_to).await;
    assert!(to.starts_with(REDIRECT), "{to}");

    let list = body_json(&h.get("/oauth2/auth/sessions/consent/erin").await);
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[0]["consent_request"]["subject"], "erin");

    // One client's consents: DELETE only.
    let one = format!("/oauth2/auth/sessions/consent/erin/{}", urlencode(&a));
    let resp = h.get(&one).await;
    assert_eq!(resp.status(), 405);
    assert_eq!(header(&resp, "allow"), Some("DELETE"));
    assert_eq!(h.send("DELETE", &one, &[], "").await.status(), 204);
    let list = body_json(&h.get("/oauth2/auth/sessions/consent/erin").await);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(
        list[0]["consent_request"]["client"]["client_id"],
        b.as_str()
    );
    // All of the user's.
    assert_eq!(
        h.send("DELETE", "/oauth2/auth/sessions/consent/erin", &[], "")
            .await
            .status(),
        204
    );
    assert_eq!(
        body_json(&h.get("/oauth2/auth/sessions/consent/erin").await),
        json!([])
    );

    // Ending erin's login sessions: the browser must log in again.
    assert_eq!(
        h.send("DELETE", "/oauth2/auth/sessions/login/erin", &[], "")
            .await
            .status(),
        204
    );
    let login = login_challenge(&mut h, &a).await;
    let lr = body_json(&h.get(&format!("/oauth2/auth/requests/login/{login}")).await);
    assert_eq!(lr["skip"], false);
    assert_eq!(
        h.get("/oauth2/auth/sessions/login/erin").await.status(),
        405
    );
}

#[tokio::test]
async fn malformed_v1_paths_and_the_public_listener() {
    let f = fixture().await;
    let mut h = Http::new(&f.provider);
    // Malformed ids: 400, never a panic or a 500.
    for path in [
        "/clients/%zz",
        "/oauth2/auth/requests/login/%",
        "/oauth2/auth/requests/consent/a%2/accept",
        "/oauth2/auth/sessions/consent/%c3%28",
        "/oauth2/auth/sessions/consent/erin/%",
        "/oauth2/auth/sessions/login/%ff%",
    ] {
        let resp = h.send("DELETE", path, &[], "").await;
        assert_eq!(resp.status(), 400, "{path}");
        assert_eq!(body_json(&resp)["error"], "invalid_request", "{path}");
    }
    // Other shapes are not v1 paths.
    for path in [
        "/clients/",
        "/clients/a/b",
        "/oauth2/auth/requests/login",
        "/oauth2/auth/requests/login/",
        "/oauth2/auth/requests/login/a/b/accept",
        "/oauth2/auth/requests/logout/x",
        "/oauth2/auth/requests/login/x/approve",
        "/oauth2/auth/sessions/consent/",
        "/oauth2/auth/sessions/consent/a/b/c",
        "/oauth2/auth/sessions/login/a/b",
    ] {
        assert_eq!(h.get(path).await.status(), 404, "{path}");
    }
    // A challenge in the path and in the query is ambiguous.
    let resp = h
        .get("/oauth2/auth/requests/login/a?login_challenge=b")
        .await;
    assert_eq!(resp.status(), 400);
    assert!(body_json(&resp)["error_description"]
        .as_str()
        .unwrap()
        .contains("more than once"));
    // A wrong method on a v1 path is the v2 route's 405.
    let resp = h.get("/oauth2/auth/requests/login/x/accept").await;
    assert_eq!(resp.status(), 405);
    assert_eq!(header(&resp, "allow"), Some("PUT"));

    // The public listener knows none of them.
    let public = portcullis::http::Server::new(f.provider.clone());
    for (method, path) in [
        ("GET", "/clients"),
        ("GET", "/clients/%zz"),
        ("POST", "/oauth2/introspect"),
        ("POST", "/oauth2/flush"),
        ("GET", "/oauth2/auth/requests/login/x"),
        ("GET", "/oauth2/auth/sessions/consent/erin/app"),
        ("DELETE", "/oauth2/auth/sessions/login/erin"),
    ] {
        let req = http::Request::builder()
            .method(method)
            .uri(path)
            .body(bytes::Bytes::new())
            .unwrap();
        assert_eq!(public.public(req).await.status(), 404, "{method} {path}");
    }
}

#[tokio::test]
async fn an_offset_beyond_one_store_page_is_paged_through() {
    let f = fixture().await;
    let mut h = Http::new(&f.provider);
    for n in 0..503 {
        f.client(portcullis::ClientRequest {
            client_id: Some(format!("c{n:03}")),
            ..Default::default()
        })
        .await;
    }
    let ids = |v: Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| c["client_id"].as_str().unwrap().to_owned())
            .collect()
    };
    // Every client, in the store's order, through v2's page tokens.
    let first = h.get("/admin/clients?page_size=500").await;
    let mut all = ids(body_json(&first));
    let next = next_link(&first);
    all.extend(ids(body_json(&h.get(&next).await)));
    assert_eq!(all.len(), 503);

    let page = body_json(&h.get("/clients?offset=501&limit=5").await);
    assert_eq!(ids(page), all[501..]);
    let page = body_json(&h.get("/clients?offset=499&limit=3").await);
    assert_eq!(ids(page), all[499..502]);
}
