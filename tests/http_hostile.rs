//! Hostile HTTP input: malformed JSON, forms, query strings and paths, oversized bodies,
//! invalid UTF-8, duplicate parameters and huge headers are answered 4xx, never 500, and
//! random bytes as method, path and body never make the server panic.

mod common;

use bytes::Bytes;
use common::*;
use portcullis::http::{Server, ServerOptions};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};

async fn send_raw(
    s: &Server,
    method: &str,
    uri: &str,
    headers: &[(&str, &[u8])],
    body: Vec<u8>,
) -> http::Response<Bytes> {
    let mut b = http::Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        b = b.header(*k, http::HeaderValue::from_bytes(v).unwrap());
    }
    s.handle(b.body(Bytes::from(body)).unwrap()).await
}

fn assert_4xx(resp: &http::Response<Bytes>, what: &str) {
    let s = resp.status().as_u16();
    assert!((400..500).contains(&s), "{what}: {s}");
}

const JSON: (&str, &[u8]) = ("content-type", b"application/json");
const FORM: (&str, &[u8]) = ("content-type", b"application/x-www-form-urlencoded");

#[tokio::test]
async fn malformed_json_is_400_invalid_request() {
    let f = fixture().await;
    let s = Server::new(f.provider.clone());
    let nested = "[".repeat(10_000);
    let bodies: Vec<Vec<u8>> = vec![
        b"{".to_vec(),
        b"[]".to_vec(),
        b"null".to_vec(),
        b"{\"client_name\": 7}".to_vec(),
        b"{\"redirect_uris\": [\"\xff\xfe\"]}".to_vec(),
        b"\xef\xbb\xbf{}".to_vec(),
        nested.into_bytes(),
        b"{\"metadata\": 1e999999}".to_vec(),
    ];
    for body in bodies {
        for (m, path) in [
            ("POST", "/admin/clients"),
            (
                "PUT",
                "/admin/oauth2/auth/requests/login/accept?login_challenge=x",
            ),
            ("PATCH", "/admin/clients/x"),
        ] {
            let resp = send_raw(&s, m, path, &[JSON], body.clone()).await;
            assert_4xx(&resp, path);
            if resp.status() == 400 {
                assert_eq!(body_json(&resp)["error"], "invalid_request", "{path}");
            }
        }
    }
    for body in [&b"{"[..], b"[]", b"{\"notAfter\": 5}"] {
        let resp = send_raw(&s, "POST", "/admin/oauth2/flush", &[JSON], body.to_vec()).await;
        assert_eq!(resp.status(), 400);
    }
    let resp = send_raw(
        &s,
        "POST",
        "/admin/clients",
        &[("content-type", b"text/plain")],
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(resp.status(), 415);
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let f = fixture().await;
    let s = Server::new(f.provider.clone());
    let big = vec![b'a'; (1 << 20) + 1];
    for (m, path, ct) in [
        ("POST", "/admin/clients", JSON),
        ("POST", "/oauth2/token", FORM),
        ("POST", "/oauth2/revoke", FORM),
        ("POST", "/admin/oauth2/introspect", FORM),
        ("POST", "/oauth2/auth", FORM),
    ] {
        let resp = send_raw(&s, m, path, &[ct], big.clone()).await;
        assert_eq!(resp.status(), 413, "{path}");
    }
    let small = Server::new(f.provider.clone()).with_options({
        let mut o = ServerOptions::default();
        o.max_body_bytes = 16;
        o
    });
    let resp = send_raw(
        &small,
        "POST",
        "/admin/clients",
        &[JSON],
        br#"{"client_name": "long enough"}"#.to_vec(),
    )
    .await;
    assert_eq!(resp.status(), 413);
    assert_eq!(body_json(&resp)["error"], "invalid_request");
}

#[tokio::test]
async fn bad_encodings_and_duplicates_are_400() {
    let f = fixture().await;
    let s = Server::new(f.provider.clone());
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        ("GET", "/admin/clients/%zz", vec![]),
        ("GET", "/admin/clients/%C3%28", vec![]),
        ("GET", "/admin/clients?owner=%", vec![]),
        ("GET", "/admin/clients?owner=%ff", vec![]),
        (
            "GET",
            "/admin/oauth2/auth/requests/login?login_challenge=a&login_challenge=b",
            vec![],
        ),
        ("POST", "/oauth2/token", b"grant_type=%zz".to_vec()),
        (
            "POST",
            "/oauth2/token",
            b"grant_type=client_credentials&grant_type=client_credentials&client_id=a".to_vec(),
        ),
        ("POST", "/oauth2/token", b"grant_type=\xff\xfe".to_vec()),
        ("POST", "/oauth2/token", b"grant_type=%ff%fe".to_vec()),
        ("GET", "/oauth2/auth?client_id=a&client_id=b", vec![]),
        ("GET", "/oauth2/auth?client_id=%", vec![]),
        ("POST", "/oauth2/auth", b"client_id=%ff".to_vec()),
        ("GET", "/oauth2/sessions/logout?state=%G0", vec![]),
        ("GET", "/userinfo?access_token=%", vec![]),
    ];
    for (m, path, body) in cases {
        let resp = send_raw(&s, m, path, &[FORM], body).await;
        assert_eq!(resp.status(), 400, "{m} {path}");
    }
    // Browser endpoints answer malformed input with the HTML error page.
    let resp = send_raw(&s, "GET", "/oauth2/auth?client_id=%", &[], vec![]).await;
    assert!(header(&resp, "content-type")
        .unwrap()
        .starts_with("text/html"));
}

#[tokio::test]
async fn hostile_headers_never_500() {
    let f = fixture().await;
    let s = Server::new(f.provider.clone());
    let huge = vec![b'a'; 256 * 1024];
    let mut basic = b"Basic ".to_vec();
    basic.extend_from_slice(&huge);
    let mut bearer = b"Bearer ".to_vec();
    bearer.extend_from_slice(&huge);
    let mut cookie = b"portcullis_session=".to_vec();
    cookie.extend_from_slice(&huge);
    let headers: Vec<(&str, Vec<u8>)> = vec![
        ("authorization", basic),
        ("authorization", bearer),
        ("authorization", b"Basic \xff\xfe".to_vec()),
        ("authorization", b"Bearer \x80".to_vec()),
        ("authorization", b"Negotiate abc".to_vec()),
        ("cookie", cookie),
        ("cookie", b"portcullis_session=\xff; x=\x80".to_vec()),
        ("content-type", b"\xff".to_vec()),
        ("accept", b"\xfe".to_vec()),
    ];
    for (m, path) in [
        ("POST", "/oauth2/token"),
        ("POST", "/oauth2/revoke"),
        ("GET", "/userinfo"),
        ("GET", "/oauth2/auth?client_id=x"),
        ("GET", "/oauth2/sessions/logout"),
        ("GET", "/oauth2/register/x"),
        ("POST", "/admin/clients"),
    ] {
        for (name, value) in &headers {
            let resp = send_raw(
                &s,
                m,
                path,
                &[(name, value)],
                b"grant_type=client_credentials".to_vec(),
            )
            .await;
            assert!(
                resp.status().as_u16() < 500,
                "{m} {path} {name}: {}",
                resp.status()
            );
        }
    }
    // Two Authorization headers: refused.
    let resp = send_raw(
        &s,
        "POST",
        "/oauth2/token",
        &[
            ("authorization", b"Basic eDp5"),
            ("authorization", b"Basic eDp5"),
        ],
        b"grant_type=client_credentials".to_vec(),
    )
    .await;
    assert_eq!(resp.status(), 400);
}

#[test]
fn random_requests_never_panic_nor_500() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let f = rt.block_on(fixture_with(|c| c.dynamic_registration = true));
    let s = Server::new(f.provider.clone());
    let paths = [
        "/oauth2/auth",
        "/oauth2/token",
        "/oauth2/revoke",
        "/userinfo",
        "/oauth2/sessions/logout",
        "/oauth2/register",
        "/oauth2/register/",
        "/admin/clients",
        "/admin/clients/",
        "/admin/oauth2/auth/requests/login/accept",
        "/admin/oauth2/auth/requests/consent",
        "/admin/oauth2/auth/sessions/consent",
        "/admin/oauth2/auth/sessions/login",
        "/admin/oauth2/introspect",
        "/admin/oauth2/tokens",
        "/admin/oauth2/flush",
        "/",
    ];
    let methods = [
        "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "FOO",
    ];
    let strategy = (
        prop_oneof![
            proptest::sample::select(methods.to_vec()).prop_map(str::to_owned),
            "[A-Za-z!#$%&'*+.^_`|~-]{1,12}",
        ],
        proptest::sample::select(paths.to_vec()),
        proptest::collection::vec(any::<u8>(), 0..48),
        proptest::collection::vec(any::<u8>(), 0..256),
        proptest::sample::select(
            &["application/json", "application/x-www-form-urlencoded", ""][..],
        ),
    );
    let mut runner = TestRunner::new(RunnerConfig {
        cases: 384,
        failure_persistence: None,
        ..RunnerConfig::default()
    });
    runner
        .run(&strategy, |(method, path, tail, body, ct)| {
            // The tail: random bytes, percent-encoded where a URI cannot carry them.
            let tail: String = tail
                .iter()
                .map(|b| match *b {
                    b'!'..=b'~' if *b != b'#' => (*b as char).to_string(),
                    b => format!("%{b:02X}"),
                })
                .collect();
            let uri = format!("{path}{tail}");
            let Ok(uri) = uri.parse::<http::Uri>() else {
                return Ok(());
            };
            let Ok(method) = http::Method::from_bytes(method.as_bytes()) else {
                return Ok(());
            };
            let mut b = http::Request::builder().method(method).uri(uri);
            if !ct.is_empty() {
                b = b.header("content-type", ct);
            }
            let req = b.body(Bytes::from(body)).unwrap();
            let resp = rt.block_on(s.handle(req));
            prop_assert!(resp.status().as_u16() < 500, "{}", resp.status());
            Ok(())
        })
        .unwrap();
}
