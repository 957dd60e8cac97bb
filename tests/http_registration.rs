//! Dynamic client registration over HTTP (RFC 7591 / RFC 7592).

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn disabled_registration_is_404_registration_not_supported() {
    let f = fixture().await;
    let mut h = Http::new(&f.provider);
    for base in ["/oauth2/register", "/connect/register"] {
        let resp = h
            .json("POST", base, &json!({"redirect_uris": [REDIRECT]}))
            .await;
        assert_eq!(resp.status(), 404, "{base}");
        assert_eq!(body_json(&resp)["error"], "registration_not_supported");
        let resp = h
            .send(
                "GET",
                &format!("{base}/x"),
                &[("authorization", "Bearer t")],
                "",
            )
            .await;
        assert_eq!(resp.status(), 404, "{base}");
    }
}

#[tokio::test]
async fn register_read_update_delete_with_the_registration_token() {
    let f = fixture_with(|c| c.dynamic_registration = true).await;
    let mut h = Http::new(&f.provider);
    let doc = body_json(&h.get("/.well-known/openid-configuration").await);
    assert_eq!(
        doc["registration_endpoint"],
        format!("{ISSUER}/oauth2/register")
    );

    let resp = h
        .json(
            "POST",
            "/oauth2/register",
            &json!({"client_name": "dyn", "redirect_uris": [REDIRECT]}),
        )
        .await;
    assert_eq!(resp.status(), 201, "{:?}", body_json(&resp));
    assert_eq!(header(&resp, "cache-control"), Some("no-store"));
    let reg = body_json(&resp);
    let id = reg["client_id"].as_str().unwrap().to_owned();
    let token = reg["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(reg["client_secret"].is_string());
    let uri = reg["registration_client_uri"].as_str().unwrap().to_owned();
    assert_eq!(uri, format!("{ISSUER}/oauth2/register/{id}"));
    let path = local(&uri);
    let bearer = format!("Bearer {token}");
    let auth = [("authorization", bearer.as_str())];

    // Without the token, or with a wrong one: 401 invalid_token with a Bearer challenge.
    for headers in [
        &[][..],
        &[("authorization", "Bearer wrong")][..],
        &[("authorization", "Basic eDp5")][..],
    ] {
        let resp = h.send("GET", &path, headers, "").await;
        assert_eq!(resp.status(), 401);
        assert_eq!(body_json(&resp)["error"], "invalid_token");
        assert!(header(&resp, "www-authenticate")
            .unwrap()
            .starts_with("Bearer"));
    }
    // Another client's id with this token: 401 too (no probing).
    let resp = h
        .send("GET", "/oauth2/register/someone-else", &auth, "")
        .await;
    assert_eq!(resp.status(), 401);

    let resp = h.send("GET", &path, &auth, "").await;
    assert_eq!(resp.status(), 200);
    let got = body_json(&resp);
    assert_eq!(got["client_name"], "dyn");
    assert!(got.get("client_secret").is_none());
    assert!(got.get("registration_access_token").is_none());

    let resp = h
        .send(
            "PUT",
            &path,
            &[
                ("authorization", bearer.as_str()),
                ("content-type", "application/json"),
            ],
            serde_json::to_vec(&json!({"client_name": "renamed", "redirect_uris": [REDIRECT]}))
                .unwrap(),
        )
        .await;
    assert_eq!(resp.status(), 200, "{:?}", body_json(&resp));
    assert_eq!(body_json(&resp)["client_name"], "renamed");

    // Self-service limits hold over HTTP.
    let resp = h
        .send(
            "PUT",
            &path,
            &[
                ("authorization", bearer.as_str()),
                ("content-type", "application/json"),
            ],
            serde_json::to_vec(&json!({"skip_consent": true})).unwrap(),
        )
        .await;
    assert_eq!(resp.status(), 400);
    assert_eq!(body_json(&resp)["error"], "invalid_client_metadata");

    let resp = h.send("DELETE", &path, &auth, "").await;
    assert_eq!(resp.status(), 204);
    assert_eq!(h.send("GET", &path, &auth, "").await.status(), 401);
    assert_eq!(h.get(&format!("/admin/clients/{id}")).await.status(), 404);
}

/// Hydra v1.x's registration path, which its SDKs (e.g. the `ory-hydra-client` crate)
/// call, is the same endpoint; the URIs handed out name `/oauth2/register`.
#[tokio::test]
async fn connect_register_is_hydra_v1s_path_for_the_same_endpoint() {
    let f = fixture_with(|c| c.dynamic_registration = true).await;
    let mut h = Http::new(&f.provider);
    let resp = h
        .json(
            "POST",
            "/connect/register",
            &json!({"client_name": "v1", "redirect_uris": [REDIRECT]}),
        )
        .await;
    assert_eq!(resp.status(), 201, "{:?}", body_json(&resp));
    let reg = body_json(&resp);
    let id = reg["client_id"].as_str().unwrap();
    assert_eq!(
        reg["registration_client_uri"],
        format!("{ISSUER}/oauth2/register/{id}")
    );
    let bearer = format!(
        "Bearer {}",
        reg["registration_access_token"].as_str().unwrap()
    );
    let auth = [("authorization", bearer.as_str())];
    let path = format!("/connect/register/{id}");
    let resp = h.send("GET", &path, &auth, "").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(body_json(&resp)["client_name"], "v1");
    let resp = h
        .send("GET", &path, &[("authorization", "Bearer wrong")], "")
        .await;
    assert_eq!(resp.status(), 401);
    assert_eq!(body_json(&resp)["error"], "invalid_token");
    assert_eq!(h.send("DELETE", &path, &auth, "").await.status(), 204);
    assert_eq!(h.get(&format!("/admin/clients/{id}")).await.status(), 404);
}

#[tokio::test]
async fn registration_refuses_privileges_and_bad_uris() {
    let f = fixture_with(|c| c.dynamic_registration = true).await;
    let mut h = Http::new(&f.provider);
    for (body, code) in [
        (json!({"client_id": "mine"}), "invalid_client_metadata"),
        (
            json!({"grant_types": ["client_credentials"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": ["http://evil.example/cb"]}),
            "invalid_redirect_uri",
        ),
        (json!({"redirect_uris": "not-a-list"}), "invalid_request"),
    ] {
        let resp = h.json("POST", "/oauth2/register", &body).await;
        assert_eq!(resp.status(), 400, "{body}");
        assert_eq!(body_json(&resp)["error"], code, "{body}");
    }
}
