//! The reference server's requests to clients' URLs, against a real HTTPS server on
//! loopback (a test CA in `tests/data/tls`): the `jwks_uri` fetcher's caching, refresh
//! limit, failure memory, shared fetches and refusals (redirects, big or non-JSON
//! bodies, plain http, untrusted certificates, hanging servers), the outbound policy's
//! refusal of non-public addresses, back-channel logout delivery, and a
//! `private_key_jwt` client authenticating with keys fetched from its `jwks_uri`.

mod common;

#[path = "../examples/axum_server/app.rs"]
#[allow(dead_code)] // the routers and the demo UI: tests/interop.rs
mod app;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::jwks_fetcher::{HttpJwksFetcher, Timing};
use app::outbound::{is_public, Outbound};
use app::HttpNotifier;
use bytes::Bytes;
use common::signing_keys::*;
use common::*;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use portcullis::clock::MockClock;
use portcullis::endpoint::logout::BackchannelLogout;
use portcullis::storage::MemoryStore;
use portcullis::{ClientRequest, Config, JwksFetcher, Provider};
use serde_json::{json, Value};
use tokio_rustls::rustls;

const CA: &[u8] = include_bytes!("data/tls/ca.pem");
const CERT: &[u8] = include_bytes!("data/tls/server.pem");
const KEY: &[u8] = include_bytes!("data/tls/server.key");

/// An HTTPS server on loopback: what it serves per path, and what it was asked.
#[derive(Clone, Default)]
struct Origin {
    port: u16,
    /// The JSON `/jwks` serves.
    published: Arc<Mutex<Value>>,
    /// Requests per path.
    hits: Arc<Mutex<HashMap<String, usize>>>,
    /// Bodies POSTed to `/bc`.
    posted: Arc<Mutex<Vec<String>>>,
}

impl Origin {
    async fn start() -> Self {
        use rustls::pki_types::pem::PemObject as _;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let certs = CertificateDer::pem_slice_iter(CERT)
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_slice(KEY).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = Origin {
            port: listener.local_addr().unwrap().port(),
            published: Arc::new(Mutex::new(json!({"keys": []}))),
            ..Origin::default()
        };
        let serving = origin.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (acceptor, origin) = (acceptor.clone(), serving.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(socket).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(move |req| {
                        let origin = origin.clone();
                        async move { Ok::<_, hyper::Error>(origin.answer(req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        origin
    }

    fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }

    fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    async fn answer(&self, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        let path = req.uri().path().to_owned();
        *self.hits.lock().unwrap().entry(path.clone()).or_default() += 1;
        let respond = |status: StatusCode, body: Vec<u8>| {
            let mut resp = Response::new(Full::new(Bytes::from(body)));
            *resp.status_mut() = status;
            resp
        };
        match path.as_str() {
            "/jwks" => respond(
                StatusCode::OK,
                serde_json::to_vec(&*self.published.lock().unwrap()).unwrap(),
            ),
            "/slow" => {
                tokio::time::sleep(Duration::from_millis(300)).await;
                respond(StatusCode::OK, b"{\"keys\":[]}".to_vec())
            }
            "/hang" => {
                tokio::time::sleep(Duration::from_secs(60)).await;
                respond(StatusCode::OK, b"{}".to_vec())
            }
            "/big" => {
                let mut body = b"[".to_vec();
                body.extend(b"0,".repeat(40 * 1024));
                body.extend(b"0]");
                respond(StatusCode::OK, body)
            }
            "/text" => respond(StatusCode::OK, b"<html>not JSON</html>".to_vec()),
            "/redirect" => {
                let mut resp = respond(StatusCode::FOUND, Vec::new());
                resp.headers_mut()
                    .insert("location", "/jwks".parse().unwrap());
                resp
            }
            "/bc" => {
                let body = req.into_body().collect().await.unwrap().to_bytes();
                let body = String::from_utf8_lossy(&body).into_owned();
                self.posted.lock().unwrap().push(body);
                respond(StatusCode::OK, Vec::new())
            }
            "/unavailable" => respond(StatusCode::SERVICE_UNAVAILABLE, Vec::new()),
            _ => respond(StatusCode::NOT_FOUND, Vec::new()),
        }
    }
}

/// The policy the tests' fetchers run under: loopback allowed, the test CA trusted.
fn local() -> Outbound {
    Outbound::public_only()
        .allowing_private()
        .trusting_pem(CA)
        .unwrap()
}

fn fetcher(timing: Timing) -> HttpJwksFetcher {
    HttpJwksFetcher::new(local(), timing).unwrap()
}

/// The description of a failed fetch (what the engine logs).
async fn failure(fetcher: &HttpJwksFetcher, url: &str) -> String {
    match fetcher.fetch(url, false).await {
        Ok(v) => panic!("{url} fetched: {v}"),
        Err(e) => e.description().to_owned(),
    }
}

const SHORT: Duration = Duration::from_millis(200);

#[tokio::test]
async fn a_document_is_fetched_once_and_answered_from_the_cache() {
    let origin = Origin::start().await;
    let fetcher = fetcher(Timing {
        refresh_after: SHORT,
        ..Timing::default()
    });
    let url = origin.url("/jwks");
    assert_eq!(
        fetcher.fetch(&url, false).await.unwrap(),
        json!({"keys": []})
    );
    *origin.published.lock().unwrap() = json!({"keys": [], "v": 2});
    assert_eq!(
        fetcher.fetch(&url, false).await.unwrap(),
        json!({"keys": []})
    );
    // A refresh right after a fetch answers the same copy: no hammering.
    assert_eq!(
        fetcher.fetch(&url, true).await.unwrap(),
        json!({"keys": []})
    );
    assert_eq!(origin.hits("/jwks"), 1);

    tokio::time::sleep(SHORT * 2).await;
    assert_eq!(fetcher.fetch(&url, true).await.unwrap()["v"], 2);
    assert_eq!(fetcher.fetch(&url, false).await.unwrap()["v"], 2);
    assert_eq!(origin.hits("/jwks"), 2);
}

#[tokio::test]
async fn a_document_is_fetched_again_once_stale() {
    let origin = Origin::start().await;
    let fetcher = fetcher(Timing {
        fresh_for: SHORT,
        ..Timing::default()
    });
    let url = origin.url("/jwks");
    fetcher.fetch(&url, false).await.unwrap();
    tokio::time::sleep(SHORT * 2).await;
    fetcher.fetch(&url, false).await.unwrap();
    assert_eq!(origin.hits("/jwks"), 2);
}

#[tokio::test]
async fn a_failure_is_answered_again_without_a_request_for_a_while() {
    let origin = Origin::start().await;
    let fetcher = fetcher(Timing {
        retry_failed_after: SHORT,
        ..Timing::default()
    });
    let url = origin.url("/missing");
    assert!(failure(&fetcher, &url).await.contains("404"));
    assert!(failure(&fetcher, &url).await.contains("404"));
    assert!(fetcher.fetch(&url, true).await.is_err(), "a refresh too");
    assert_eq!(origin.hits("/missing"), 1);
    tokio::time::sleep(SHORT * 2).await;
    assert!(failure(&fetcher, &url).await.contains("404"));
    assert_eq!(origin.hits("/missing"), 2);
}

#[tokio::test]
async fn requests_at_once_share_one_fetch() {
    let origin = Origin::start().await;
    let fetcher = Arc::new(fetcher(Timing::default()));
    let url = origin.url("/slow");
    let asks: Vec<_> = (0..8)
        .map(|_| {
            let (fetcher, url) = (fetcher.clone(), url.clone());
            tokio::spawn(async move { fetcher.fetch(&url, false).await })
        })
        .collect();
    for ask in asks {
        assert_eq!(ask.await.unwrap().unwrap(), json!({"keys": []}));
    }
    assert_eq!(origin.hits("/slow"), 1);
}

#[tokio::test]
async fn what_is_not_a_small_json_document_over_trusted_https_is_refused() {
    let origin = Origin::start().await;
    let fetcher = fetcher(Timing::default());

    let why = failure(&fetcher, &origin.url("/redirect")).await;
    assert!(why.contains("302"), "{why}");
    assert_eq!(origin.hits("/jwks"), 0, "redirects are not followed");
    let why = failure(&fetcher, &origin.url("/big")).await;
    assert!(why.contains("over 65536 bytes"), "{why}");
    let why = failure(&fetcher, &origin.url("/text")).await;
    assert!(why.contains("not JSON"), "{why}");
    let why = failure(&fetcher, &origin.url("/unavailable")).await;
    assert!(why.contains("503"), "{why}");

    let plain = format!("http://127.0.0.1:{}/jwks", origin.port);
    let why = failure(&fetcher, &plain).await;
    assert!(why.contains("only https"), "{why}");

    // Without the test CA, the server's certificate is not trusted.
    let untrusting = HttpJwksFetcher::new(
        Outbound::public_only().allowing_private(),
        Timing::default(),
    )
    .unwrap();
    let why = failure(&untrusting, &origin.url("/jwks")).await;
    assert!(why.to_lowercase().contains("certificate"), "{why}");
    assert_eq!(origin.hits("/jwks"), 0);
}

#[tokio::test]
async fn a_hanging_server_is_given_up_on() {
    let origin = Origin::start().await;
    let fetcher = fetcher(Timing {
        timeout: SHORT,
        ..Timing::default()
    });
    let started = std::time::Instant::now();
    let why = failure(&fetcher, &origin.url("/hang")).await;
    assert!(started.elapsed() < Duration::from_secs(10), "{why}");
    assert!(
        why.contains("timed out") || why.contains("timeout"),
        "{why}"
    );
}

#[tokio::test]
async fn non_public_addresses_are_refused_by_default() {
    let origin = Origin::start().await;
    let public_only = Outbound::public_only().trusting_pem(CA).unwrap();
    let fetcher = HttpJwksFetcher::new(public_only.clone(), Timing::default()).unwrap();
    let why = failure(&fetcher, &origin.url("/jwks")).await;
    assert!(why.contains("127.0.0.1 is not a public address"), "{why}");
    // A name resolving to loopback: refused by the resolver.
    let by_name = format!("https://localhost:{}/jwks", origin.port);
    let why = failure(&fetcher, &by_name).await;
    assert!(why.contains("no public address"), "{why}");
    for literal in [
        "https://[::1]/jwks",
        "https://169.254.169.254/latest/meta-data",
    ] {
        assert!(failure(&fetcher, literal)
            .await
            .contains("not a public address"));
    }
    assert_eq!(origin.hits("/jwks"), 0);

    // Back-channel logout goes by the same policy.
    let notifier = HttpNotifier::new(public_only).unwrap();
    let why = notifier
        .deliver_now(&logout(origin.url("/bc")))
        .await
        .unwrap_err();
    assert!(why.contains("not a public address"), "{why}");
    assert_eq!(origin.hits("/bc"), 0);
}

#[test]
fn public_addresses_are_told_from_the_rest() {
    let public = [
        "8.8.8.8",
        "1.1.1.1",
        "2606:4700::1111",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
    ];
    let not_public = [
        "0.0.0.0",
        "0.1.2.3",
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "192.0.0.8",
        "192.0.2.1",
        "198.18.0.1",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::",
        "::1",
        "fe80::1",
        "fd00::1",
        "ff02::1",
        "2001:db8::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "64:ff9b::a00:1",
    ];
    for ip in public {
        assert!(is_public(ip.parse::<IpAddr>().unwrap()), "{ip}");
    }
    for ip in not_public {
        assert!(!is_public(ip.parse::<IpAddr>().unwrap()), "{ip}");
    }
}

fn logout(uri: String) -> BackchannelLogout {
    BackchannelLogout {
        client_id: "app".into(),
        uri,
        logout_token: "a.logout.token".into(),
    }
}

#[tokio::test]
async fn back_channel_logout_is_posted_and_retried_only_on_server_errors() {
    let origin = Origin::start().await;
    let notifier = HttpNotifier::new(local()).unwrap();
    notifier
        .deliver_now(&logout(origin.url("/bc")))
        .await
        .unwrap();
    assert_eq!(
        *origin.posted.lock().unwrap(),
        ["logout_token=a.logout.token"]
    );

    let why = notifier
        .deliver_now(&logout(origin.url("/missing")))
        .await
        .unwrap_err();
    assert!(why.contains("404"), "{why}");
    assert_eq!(origin.hits("/missing"), 1, "a refusal is not retried");

    let why = notifier
        .deliver_now(&logout(origin.url("/unavailable")))
        .await
        .unwrap_err();
    assert!(why.contains("503"), "{why}");
    assert_eq!(origin.hits("/unavailable"), 3, "a server error is retried");
}

#[tokio::test]
async fn a_client_authenticates_with_keys_fetched_from_its_jwks_uri() {
    let origin = Origin::start().await;
    let key = es256(Some("k1"));
    *origin.published.lock().unwrap() = json!({ "keys": [key.jwk] });
    let clock = MockClock::default();
    let provider = Provider::builder(Config::new(ISSUER, [7u8; 32]))
        .store(MemoryStore::new())
        .signer(signer())
        .clock(clock.clone())
        .jwks_fetcher(Arc::new(fetcher(Timing::default())))
        .build()
        .await
        .unwrap();
    let f = Fixture { provider, clock };
    let client = f
        .client(ClientRequest {
            token_endpoint_auth_method: Some("private_key_jwt".into()),
            jwks_uri: Some(origin.url("/jwks")),
            ..web_client()
        })
        .await;
    let id = &client.client.client_id;
    let assertion = |key: &Key| {
        let now = f.provider.now().unix_timestamp();
        sign(
            key,
            &json!({
                "iss": id, "sub": id, "aud": format!("{ISSUER}/oauth2/token"),
                "iat": now, "exp": now + 300, "jti": fresh_jti(),
            }),
        )
    };
    let body = |key: &Key| {
        format!(
            "grant_type=client_credentials&client_assertion_type=\
             urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer\
             &client_assertion={}",
            assertion(key)
        )
    };
    f.token(&body(&key), None)
        .await
        .expect("the fetched key verifies");
    f.token(&body(&key), None)
        .await
        .expect("and again, from the cache");
    assert_eq!(origin.hits("/jwks"), 1);

    let e = f.token(&body(&es256(Some("k2"))), None).await.unwrap_err();
    assert_eq!(e.code(), portcullis::ErrorCode::InvalidClient);
    assert_eq!(
        origin.hits("/jwks"),
        1,
        "an unknown kid within 30 s of the fetch answers the cached copy"
    );
}
