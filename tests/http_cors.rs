//! CORS on the public API: preflights, the server's origin list, the requesting client's
//! `allowed_cors_origins`, and what stays closed; and on the admin API, with its own list.

mod common;

use common::*;
use portcullis::http::{CorsOptions, Server, ServerOptions};
use portcullis::ClientRequest;

const SPA: &str = "https://spa.example.org";

/// An `Http` whose server has `cors`.
fn with_cors(f: &Fixture, cors: Option<CorsOptions>) -> Http {
    let mut http = Http::new(&f.provider);
    let mut options = ServerOptions::default();
    options.cors = cors;
    http.server = Server::new(f.provider.clone()).with_options(options);
    http
}

fn allowed_origin(resp: &http::Response<bytes::Bytes>) -> Option<&str> {
    header(resp, "access-control-allow-origin")
}

fn varies_on_origin(resp: &http::Response<bytes::Bytes>) -> bool {
    resp.headers()
        .get_all("vary")
        .iter()
        .any(|v| v.to_str().unwrap().contains("Origin"))
}

async fn get_from(http: &mut Http, path: &str, origin: &str) -> http::Response<bytes::Bytes> {
    http.send("GET", path, &[("origin", origin)], bytes::Bytes::new())
        .await
}

async fn preflight(
    http: &mut Http,
    path: &str,
    origin: &str,
    method: &str,
    headers: Option<&str>,
) -> http::Response<bytes::Bytes> {
    let mut h = vec![
        ("origin", origin),
        ("access-control-request-method", method),
    ];
    if let Some(v) = headers {
        h.push(("access-control-request-headers", v));
    }
    http.send("OPTIONS", path, &h, bytes::Bytes::new()).await
}

/// A public SPA client whose origin is allowed.
fn spa_client() -> ClientRequest {
    ClientRequest {
        grant_types: Some(vec!["authorization_code".into()]),
        response_types: Some(vec!["code".into()]),
        redirect_uris: Some(vec![format!("{SPA}/cb")]),
        token_endpoint_auth_method: Some("none".into()),
        allowed_cors_origins: Some(vec![SPA.into()]),
        ..Default::default()
    }
}

#[tokio::test]
async fn off_by_default() {
    let f = fixture().await;
    let mut http = with_cors(&f, None);
    let resp = get_from(&mut http, "/.well-known/openid-configuration", SPA).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(allowed_origin(&resp), None);
    let resp = preflight(&mut http, "/oauth2/token", SPA, "POST", None).await;
    assert_eq!(resp.status(), 405);
    assert_eq!(allowed_origin(&resp), None);
}

#[tokio::test]
async fn preflights_are_answered_for_any_origin() {
    let f = fixture().await;
    let mut cors = CorsOptions::default();
    cors.max_age = Some(600);
    cors.allow_credentials = true;
    let mut http = with_cors(&f, Some(cors));
    let resp = preflight(
        &mut http,
        "/oauth2/token",
        "https://anyone.example",
        "POST",
        Some("Content-Type, authorization"),
    )
    .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(allowed_origin(&resp), Some("https://anyone.example"));
    assert_eq!(header(&resp, "access-control-allow-methods"), Some("POST"));
    assert_eq!(
        header(&resp, "access-control-allow-headers"),
        Some("content-type, authorization")
    );
    assert_eq!(header(&resp, "access-control-max-age"), Some("600"));
    assert_eq!(
        header(&resp, "access-control-allow-credentials"),
        Some("true")
    );
    assert!(varies_on_origin(&resp));
    assert!(resp.body().is_empty());
}

#[tokio::test]
async fn preflights_outside_the_rules_allow_nothing() {
    let f = fixture().await;
    let mut http = with_cors(&f, Some(CorsOptions::default()));
    // A method the route does not take, a header not allowed, an opaque origin.
    for (path, origin, method, headers) in [
        ("/oauth2/token", SPA, "DELETE", None),
        ("/oauth2/token", SPA, "POST", Some("x-custom")),
        ("/oauth2/token", SPA, "NOT A METHOD", None),
        ("/oauth2/token", "null", "POST", None),
        ("/.well-known/jwks.json", SPA, "POST", None),
    ] {
        let resp = preflight(&mut http, path, origin, method, headers).await;
        assert_eq!(resp.status(), 204, "{path} {method}");
        assert_eq!(allowed_origin(&resp), None, "{path} {origin} {method}");
        assert_eq!(header(&resp, "access-control-allow-methods"), None);
    }
    // The admin API never answers CORS; unknown paths stay unknown.
    let resp = preflight(&mut http, "/admin/clients", SPA, "GET", None).await;
    assert_eq!(resp.status(), 405);
    assert_eq!(allowed_origin(&resp), None);
    let resp = preflight(&mut http, "/nowhere", SPA, "GET", None).await;
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn the_server_list_opens_every_public_route() {
    let f = fixture().await;
    let cors = CorsOptions::allowing(["https://*.example.com"]).unwrap();
    let mut http = with_cors(&f, Some(cors));
    for method in ["GET", "HEAD"] {
        let resp = http
            .send(
                method,
                "/.well-known/jwks.json",
                &[("origin", "https://app.example.com")],
                bytes::Bytes::new(),
            )
            .await;
        assert_eq!(resp.status(), 200);
        assert_eq!(allowed_origin(&resp), Some("https://app.example.com"));
        assert!(header(&resp, "access-control-expose-headers")
            .unwrap()
            .contains("Content-Type"));
        assert_eq!(header(&resp, "access-control-allow-credentials"), None);
        assert!(varies_on_origin(&resp));
    }
    // Nested labels and look-alikes are not on the list; the answer still varies.
    for origin in [
        "https://a.b.example.com",
        "https://example.com",
        "https://app.example.com.evil.net",
        "http://app.example.com",
    ] {
        let resp = get_from(&mut http, "/.well-known/openid-configuration", origin).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(allowed_origin(&resp), None, "{origin}");
        assert!(varies_on_origin(&resp));
    }
    // Without an Origin there is nothing to allow.
    let resp = http.get("/.well-known/jwks.json").await;
    assert_eq!(allowed_origin(&resp), None);
    assert!(varies_on_origin(&resp));
    // The admin API is untouched even for a listed origin.
    let resp = get_from(&mut http, "/admin/clients", "https://app.example.com").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(allowed_origin(&resp), None);
    assert!(!varies_on_origin(&resp));
}

#[tokio::test]
async fn a_public_client_names_itself_in_the_form() {
    let f = fixture().await;
    let spa = f.client(spa_client()).await;
    let mut http = with_cors(&f, Some(CorsOptions::default()));
    let body = format!(
        "grant_type=authorization_code&code=ptc_ac_bogus&client_id={}&code_verifier={}",
        spa.client.client_id,
        "v".repeat(43)
    );
    let headers = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("origin", SPA),
    ];
    let resp = http
        .send("POST", "/oauth2/token", &headers, body.clone())
        .await;
    // The error is the client's to read.
    assert_eq!(resp.status(), 400);
    assert_eq!(body_json(&resp)["error"], "invalid_grant");
    assert_eq!(allowed_origin(&resp), Some(SPA));
    // Another origin runs the same request but may not read the answer.
    let other = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("origin", "https://evil.example"),
    ];
    let resp = http.send("POST", "/oauth2/token", &other, body).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(allowed_origin(&resp), None);
    // A client that does not exist allows nothing.
    let resp = http
        .send(
            "POST",
            "/oauth2/token",
            &headers,
            "grant_type=authorization_code&code=x&client_id=nobody",
        )
        .await;
    assert_eq!(allowed_origin(&resp), None);
}

#[tokio::test]
async fn a_confidential_client_names_itself_in_basic_auth() {
    let f = fixture().await;
    let client = f
        .client(ClientRequest {
            allowed_cors_origins: Some(vec!["https://*.tools.example".into()]),
            ..web_client()
        })
        .await;
    let mut http = with_cors(&f, Some(CorsOptions::default()));
    let auth = basic(&client);
    for (origin, allowed) in [
        ("https://admin.tools.example", true),
        ("https://tools.example", false),
    ] {
        let resp = http
            .send(
                "POST",
                "/oauth2/token",
                &[
                    ("content-type", "application/x-www-form-urlencoded"),
                    ("authorization", &auth),
                    ("origin", origin),
                ],
                "grant_type=client_credentials&scope=read",
            )
            .await;
        assert_eq!(resp.status(), 200);
        assert_eq!(allowed_origin(&resp), allowed.then_some(origin), "{origin}");
    }
}

#[tokio::test]
async fn a_bearer_token_names_its_client_while_active() {
    let f = fixture().await;
    let client = f
        .client(ClientRequest {
            allowed_cors_origins: Some(vec![SPA.into()]),
            ..web_client()
        })
        .await;
    let token = f.tokens(&client).await.access_token;
    let mut http = with_cors(&f, Some(CorsOptions::default()));
    for (bearer, allowed) in [(format!("Bearer {token}"), Some(SPA))] {
        let resp = userinfo(&mut http, &bearer).await;
        assert_eq!(allowed_origin(&resp), allowed);
    }
    // Once revoked, the token names no one; nor does a forged one.
    let _ = f.revoke(&token, &client).await.expect("revoked");
    for bearer in [
        format!("Bearer {token}"),
        "Bearer ptc_at_forged.x".to_owned(),
    ] {
        let resp = userinfo(&mut http, &bearer).await;
        assert_eq!(resp.status(), 401);
        assert_eq!(allowed_origin(&resp), None);
    }
}

async fn userinfo(http: &mut Http, bearer: &str) -> http::Response<bytes::Bytes> {
    http.send(
        "GET",
        "/userinfo",
        &[("authorization", bearer), ("origin", SPA)],
        bytes::Bytes::new(),
    )
    .await
}

#[tokio::test]
async fn hostile_origins_are_never_echoed() {
    let f = fixture().await;
    let mut http = with_cors(&f, Some(CorsOptions::allowing(["*"]).unwrap()));
    let long = format!("https://{}.example", "a".repeat(60_000));
    for origins in [vec!["null"], vec![SPA, SPA], vec![long.as_str()]] {
        let mut h: Vec<(&str, &str)> = origins.iter().map(|o| ("origin", *o)).collect();
        h.push(("accept", "application/json"));
        let resp = http
            .send("GET", "/.well-known/jwks.json", &h, bytes::Bytes::new())
            .await;
        assert_eq!(resp.status(), 200);
        if origins.len() > 1 || origins[0] == "null" {
            assert_eq!(allowed_origin(&resp), None, "{origins:?}");
        }
    }
    // Bytes that are not text.
    let req = http::Request::builder()
        .uri("/.well-known/jwks.json")
        .header(
            "origin",
            http::HeaderValue::from_bytes(b"https://\xff.example").unwrap(),
        )
        .body(bytes::Bytes::new())
        .unwrap();
    let resp = http.server.handle(req).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(allowed_origin(&resp), None);
    // Any well-formed origin is allowed by `*`.
    let resp = get_from(&mut http, "/.well-known/jwks.json", "http://localhost:3000").await;
    assert_eq!(allowed_origin(&resp), Some("http://localhost:3000"));
}

#[tokio::test]
async fn origin_patterns_are_checked() {
    let f = fixture().await;
    for bad in [
        "https://spa.example.org/",
        "spa.example.org",
        "https://spa.example.org/cb?x=1",
    ] {
        let e = f
            .provider
            .create_client(ClientRequest {
                allowed_cors_origins: Some(vec![bad.into()]),
                ..spa_client()
            })
            .await
            .unwrap_err();
        assert_eq!(e.code().as_str(), "invalid_client_metadata", "{bad}");
        assert!(e.description().contains("allowed CORS origin"), "{e}");
    }
    let e = CorsOptions::allowing(["https://ok.example", "https://bad.example/path"]).unwrap_err();
    assert_eq!(e.code().as_str(), "invalid_request");
    assert!(e.description().contains("bad.example/path"), "{e}");
}

#[tokio::test]
async fn the_admin_api_answers_cors_only_with_its_own_list() {
    const CONSOLE: &str = "https://console.example.net";
    let f = fixture().await;
    // A client listing the console's origin opens the public API to it, never the admin.
    let spa = f
        .client(ClientRequest {
            allowed_cors_origins: Some(vec![CONSOLE.into(), SPA.into()]),
            ..spa_client()
        })
        .await;
    let form = format!("token=nothing&client_id={}", spa.client.client_id);
    let mut options = ServerOptions::default();
    options.cors = Some(CorsOptions::allowing(["https://public.example.com"]).unwrap());
    options.admin_cors = Some(CorsOptions::allowing([CONSOLE]).unwrap());
    let mut http = Http::new(&f.provider);
    http.server = Server::new(f.provider.clone()).with_options(options);

    let resp = get_from(&mut http, "/admin/clients", CONSOLE).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(allowed_origin(&resp), Some(CONSOLE));
    assert!(varies_on_origin(&resp));
    let resp = preflight(
        &mut http,
        "/admin/clients",
        CONSOLE,
        "POST",
        Some("content-type"),
    )
    .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(allowed_origin(&resp), Some(CONSOLE));
    assert!(header(&resp, "access-control-allow-methods")
        .unwrap()
        .contains("POST"));

    // The public list does not open the admin API, nor the admin list the public one.
    let resp = get_from(&mut http, "/admin/clients", "https://public.example.com").await;
    assert_eq!(allowed_origin(&resp), None);
    let resp = get_from(&mut http, "/.well-known/jwks.json", CONSOLE).await;
    assert_eq!(allowed_origin(&resp), None);
    let resp = get_from(
        &mut http,
        "/.well-known/jwks.json",
        "https://public.example.com",
    )
    .await;
    assert_eq!(allowed_origin(&resp), Some("https://public.example.com"));

    // A form naming a client that lists the origin opens the public API to it, not the
    // admin API.
    let headers = [
        ("origin", SPA),
        ("content-type", "application/x-www-form-urlencoded"),
    ];
    let body = bytes::Bytes::from(form);
    let resp = http
        .send("POST", "/oauth2/revoke", &headers, body.clone())
        .await;
    assert_eq!(allowed_origin(&resp), Some(SPA));
    let resp = http
        .send("POST", "/admin/oauth2/introspect", &headers, body)
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(allowed_origin(&resp), None);
}

/// A preflight for the JWKS from [`SPA`] asking for the private network (`value`).
async fn private_preflight(http: &mut Http, value: &str) -> http::Response<bytes::Bytes> {
    let headers = [
        ("origin", SPA),
        ("access-control-request-method", "GET"),
        ("access-control-request-private-network", value),
    ];
    http.send(
        "OPTIONS",
        "/.well-known/jwks.json",
        &headers,
        bytes::Bytes::new(),
    )
    .await
}

fn allows_private_network(resp: &http::Response<bytes::Bytes>) -> Option<&str> {
    header(resp, "access-control-allow-private-network")
}

#[tokio::test]
async fn private_network_access_is_allowed_only_when_asked_and_enabled() {
    let f = fixture().await;

    // Off by default: the preflight is answered, the private network is not allowed.
    let mut http = with_cors(&f, Some(CorsOptions::allowing([SPA]).unwrap()));
    let resp = private_preflight(&mut http, "true").await;
    assert_eq!(resp.status(), 204);
    assert_eq!(allowed_origin(&resp), Some(SPA));
    assert_eq!(allows_private_network(&resp), None);

    let mut cors = CorsOptions::allowing([SPA]).unwrap();
    cors.allow_private_network = true;
    let mut http = with_cors(&f, Some(cors));
    let resp = private_preflight(&mut http, "true").await;
    assert_eq!(allows_private_network(&resp), Some("true"));
    assert!(resp.headers().get_all("vary").iter().any(|v| v
        .to_str()
        .unwrap()
        .contains("Access-Control-Request-Private-Network")));
    let resp = private_preflight(&mut http, "false").await;
    assert_eq!(allows_private_network(&resp), None, "not asked");

    // A preflight that fails otherwise allows nothing, the private network included.
    let resp = http
        .send(
            "OPTIONS",
            "/.well-known/jwks.json",
            &[
                ("origin", SPA),
                ("access-control-request-method", "GET"),
                ("access-control-request-headers", "x-not-allowed"),
                ("access-control-request-private-network", "true"),
            ],
            bytes::Bytes::new(),
        )
        .await;
    assert_eq!(allowed_origin(&resp), None);
    assert_eq!(allows_private_network(&resp), None);
}
