//! The admin API for JWT-bearer trust relationships (Hydra v2's
//! `/admin/trust/grants/jwt-bearer/issuers`) over HTTP: Hydra's shapes and status codes,
//! validation of what is trusted, pagination, and a round trip through the token
//! endpoint.

mod common;

use common::signing_keys::*;
use common::*;
use serde_json::{json, Value};

const ISSUERS: &str = "/admin/trust/grants/jwt-bearer/issuers";
const IDP: &str = "https://idp.example.com";

/// A trust request body for `key` and `alice`, expiring in 2030.
fn trust_body(key: &Key) -> Value {
    json!({
        "issuer": IDP,
        "subject": "alice",
        "scope": ["read", "profile"],
        "jwk": key.jwk,
        "expires_at": "2030-01-01T00:00:00Z",
    })
}

/// POSTs a trust; its error (status and body).
async fn refused(h: &mut Http, body: &Value, status: u16) -> Value {
    let resp = h.json("POST", ISSUERS, body).await;
    assert_eq!(resp.status(), status, "{body}");
    body_json(&resp)
}

#[tokio::test]
async fn trust_an_issuer_then_exchange_its_assertion_then_delete_it() {
    let f = fixture().await;
    let mut h = Http::new(&f.provider);
    let key = es256(Some("idp-1"));
    let resp = h.json("POST", ISSUERS, &trust_body(&key)).await;
    assert_eq!(resp.status(), 201);
    let trust = body_json(&resp);
    let id = trust["id"].as_str().unwrap().to_owned();
    assert_eq!(trust["issuer"], IDP);
    assert_eq!(trust["subject"], "alice");
    assert_eq!(trust["allow_any_subject"], false);
    assert_eq!(trust["scope"], json!(["read", "profile"]));
    assert_eq!(trust["public_key"], json!({"set": IDP, "kid": "idp-1"}));
    assert_eq!(trust["expires_at"], "2030-01-01T00:00:00Z");
    assert!(trust["created_at"].as_str().unwrap().starts_with("2026-"));
    assert!(trust.get("jwk").is_none(), "the key material is not echoed");

    let got = body_json(&h.get(&format!("{ISSUERS}/{id}")).await);
    assert_eq!(got, trust);

    let client = f
        .client(portcullis::ClientRequest {
            grant_types: Some(vec!["urn:ietf:params:oauth:grant-type:jwt-bearer".into()]),
            response_types: Some(vec![]),
            redirect_uris: Some(vec![]),
            scope: Some("read profile".into()),
            ..web_client()
        })
        .await;
    let now = f.provider.now().unix_timestamp();
    let assertion = |jti: &str| {
        sign(
            &key,
            &json!({"iss": IDP, "sub": "alice", "aud": format!("{ISSUER}/oauth2/token"),
                "exp": now + 120, "jti": jti}),
        )
    };
    let form = format!(
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&scope=read&assertion={}",
        assertion("j1")
    );
    let resp = h.form("/oauth2/token", &form, Some(&basic(&client))).await;
    assert_eq!(resp.status(), 200, "{:?}", body_json(&resp));
    assert_eq!(header(&resp, "cache-control"), Some("no-store"));
    let tokens = body_json(&resp);
    assert_eq!(tokens["scope"], "read");
    assert_eq!(tokens["token_type"], "bearer");
    assert!(tokens.get("refresh_token").is_none());
    let introspected = h
        .form(
            "/admin/oauth2/introspect",
            &format!("token={}", tokens["access_token"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(body_json(&introspected)["sub"], "alice");

    // Replayed over HTTP: 400 invalid_grant.
    let resp = h.form("/oauth2/token", &form, Some(&basic(&client))).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(body_json(&resp)["error"], "invalid_grant");

    let resp = h.send("DELETE", &format!("{ISSUERS}/{id}"), &[], "").await;
    assert_eq!(resp.status(), 204);
    assert!(resp.body().is_empty());
    let form = form.replace(&assertion("j1"), &assertion("j2"));
    let resp = h.form("/oauth2/token", &form, Some(&basic(&client))).await;
    assert_eq!(resp.status(), 400);
    let e = body_json(&resp);
    assert_eq!(e["error"], "invalid_grant");
    assert_eq!(
        e["error_description"],
        "The assertion's issuer is not trusted."
    );
}

#[tokio::test]
async fn trusts_list_with_pages_and_an_issuer_filter() {
    let f = fixture().await;
    let mut h = Http::new(&f.provider);
    let mut made = Vec::new();
    for i in 0..5 {
        let mut b = trust_body(&es256(Some(&format!("k{i}"))));
        b["issuer"] = json!(if i % 2 == 0 { IDP } else { "https://b.example" });
        let resp = h.json("POST", ISSUERS, &b).await;
        assert_eq!(resp.status(), 201);
        made.push(body_json(&resp)["id"].as_str().unwrap().to_owned());
    }
    let mut seen = Vec::new();
    let mut uri = format!("{ISSUERS}?page_size=2");
    loop {
        let resp = h.get(&uri).await;
        assert_eq!(resp.status(), 200);
        let page = body_json(&resp);
        assert!(page.as_array().unwrap().len() <= 2);
        seen.extend(
            page.as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_str().unwrap().to_owned()),
        );
        let link = header(&resp, "link").unwrap().to_owned();
        assert!(
            link.contains(&format!("<{ISSUERS}?page_size=2>; rel=\"first\"")),
            "{link}"
        );
        let Some(next) = link
            .split(',')
            .find(|l| l.ends_with("rel=\"next\""))
            .and_then(|l| l.trim_start_matches('<').split('>').next())
        else {
            break;
        };
        uri = next.to_owned();
    }
    seen.sort();
    made.sort();
    assert_eq!(seen, made);
    let only = body_json(&h.get(&format!("{ISSUERS}?issuer={}", urlencode(IDP))).await);
    let only = only.as_array().unwrap();
    assert_eq!(only.len(), 3);
    assert!(only.iter().all(|t| t["issuer"] == IDP));
    let resp = h.get(&format!("{ISSUERS}?page_size=0")).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(body_json(&resp)["error"], "invalid_request");

    // Hydra v2's SDK sends the page size as `maxItems` (and a `defaultItems`).
    let resp = h.get(&format!("{ISSUERS}?maxItems=2&defaultItems=1")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(body_json(&resp).as_array().unwrap().len(), 2);
    assert!(header(&resp, "link").unwrap().contains("rel=\"next\""));
    let resp = h.get(&format!("{ISSUERS}?page_size=4&maxItems=2")).await;
    assert_eq!(
        body_json(&resp).as_array().unwrap().len(),
        4,
        "page_size wins"
    );
    let resp = h.get(&format!("{ISSUERS}?maxItems=-1")).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(
        body_json(&resp)["error_description"],
        "The maxItems must be a positive integer."
    );
}

#[tokio::test]
async fn unknown_ids_bad_json_and_other_methods() {
    let f = fixture().await;
    let mut h = Http::new(&f.provider);
    for method in ["GET", "DELETE"] {
        let resp = h.send(method, &format!("{ISSUERS}/nope"), &[], "").await;
        assert_eq!(resp.status(), 404, "{method}");
        let e = body_json(&resp);
        assert_eq!(e["error"], "not_found");
        assert_eq!(
            e["error_description"],
            "No trust relationship with this id."
        );
    }
    let json_headers = [("content-type", "application/json")];
    for bad in [
        "{",
        "[]",
        r#"{"expires_at": "tomorrow"}"#,
        r#"{"scope": "read"}"#,
    ] {
        let resp = h.send("POST", ISSUERS, &json_headers, bad).await;
        assert_eq!(resp.status(), 400, "{bad}");
        assert_eq!(body_json(&resp)["error"], "invalid_request", "{bad}");
    }
    let resp = h
        .send("POST", ISSUERS, &[("content-type", "text/plain")], "{}")
        .await;
    assert_eq!(resp.status(), 415);
    for (method, path, allow) in [
        ("PUT", ISSUERS.to_owned(), "GET, POST"),
        ("DELETE", ISSUERS.to_owned(), "GET, POST"),
        ("PUT", format!("{ISSUERS}/x"), "GET, DELETE"),
        ("POST", format!("{ISSUERS}/x"), "GET, DELETE"),
    ] {
        let resp = h.send(method, &path, &[], "").await;
        assert_eq!(resp.status(), 405, "{method} {path}");
        assert_eq!(header(&resp, "allow"), Some(allow));
    }
    // The admin API only.
    let req = http::Request::get(ISSUERS)
        .body(bytes::Bytes::new())
        .unwrap();
    assert_eq!(h.server.public(req).await.status(), 404);
}

#[tokio::test]
async fn what_is_trusted_is_validated() {
    let f = fixture().await;
    let mut h = Http::new(&f.provider);
    let key = es256(Some("idp-1"));
    let good = trust_body(&key);
    let edit = |k: &str, v: Value| {
        let mut b = good.clone();
        b[k] = v;
        b
    };
    let without = |k: &str| {
        let mut b = good.clone();
        b.as_object_mut().unwrap().remove(k);
        b
    };
    let mut private = key.jwk.clone();
    private["d"] = json!("jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI");
    let mut no_kid = key.jwk.clone();
    no_kid.as_object_mut().unwrap().remove("kid");
    let mut encryption = key.jwk.clone();
    encryption["use"] = json!("enc");
    let unsupported = "The jwk is not a signing key of a supported asymmetric algorithm \
                       (RSA, EC P-256 or P-384, Ed25519).";
    let cases = [
        (without("issuer"), "The issuer is required."),
        (edit("issuer", json!("")), "The issuer is required."),
        (
            edit("issuer", json!("i".repeat(1025))),
            "The issuer is too long (at most 1024 bytes).",
        ),
        (
            without("subject"),
            "A subject, or allow_any_subject set to true, is required.",
        ),
        (
            edit("allow_any_subject", json!(true)),
            "Set either subject or allow_any_subject, not both.",
        ),
        (without("expires_at"), "The expires_at is required."),
        (
            edit("expires_at", json!("2020-01-01T00:00:00Z")),
            "The expires_at must be in the future.",
        ),
        (without("jwk"), "The jwk is required."),
        (
            edit("jwk", json!("a key")),
            "The jwk must be a JSON Web Key object.",
        ),
        (
            edit("jwk", private),
            "The jwk must be a public key: it has private or symmetric key material.",
        ),
        (
            edit("jwk", json!({"kty": "oct", "kid": "s", "k": "c2VjcmV0"})),
            "The jwk must be a public key: it has private or symmetric key material.",
        ),
        (
            edit(
                "jwk",
                json!({"kty": "RSA", "kid": "x", "n": 5, "e": "AQAB"}),
            ),
            unsupported,
        ),
        (
            edit("jwk", json!({"kty": "EC", "crv": "secp256k1", "kid": "x"})),
            unsupported,
        ),
        (edit("jwk", encryption), unsupported),
        (edit("jwk", no_kid), "The jwk must have a kid."),
        (
            edit("scope", json!(["read", "two words"])),
            "The scope must be an array of scope tokens (RFC 6749 §3.3).",
        ),
    ];
    for (body, description) in cases {
        let e = refused(&mut h, &body, 400).await;
        assert_eq!(e["error"], "invalid_request", "{body}");
        assert_eq!(e["error_description"], description, "{body}");
    }
    // Exactly one relationship per issuer, subject and kid.
    assert_eq!(h.json("POST", ISSUERS, &good).await.status(), 201);
    let e = refused(&mut h, &good, 409).await;
    assert_eq!(e["error"], "conflict");
    assert_eq!(
        e["error_description"],
        "A trust relationship for this issuer, subject and key id already exists."
    );
    let any = edit("allow_any_subject", json!(true));
    let mut any = any;
    any.as_object_mut().unwrap().remove("subject");
    let resp = h.json("POST", ISSUERS, &any).await;
    assert_eq!(resp.status(), 201, "any subject is another relationship");
    assert_eq!(body_json(&resp)["subject"], "");
    assert_eq!(body_json(&resp)["allow_any_subject"], true);
    let rsa = edit("jwk", rs256().jwk.clone());
    assert_eq!(h.json("POST", ISSUERS, &rsa).await.status(), 201);
}
