//! `private_key_jwt` clients that register their keys by URL (`jwks_uri`), fetched by the
//! `JwksFetcher` the app gives the provider: registration rules, verification with the
//! fetched keys, one refetch when a client rotated its keys, and every failure as
//! `invalid_client`.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use common::signing_keys::*;
use common::*;
use portcullis::clock::MockClock;
use portcullis::storage::{MemoryStore, StoreFuture};
use portcullis::{ClientRequest, Config, CreatedClient, Error, ErrorCode, JwksFetcher, Provider};
use serde_json::{json, Value};

const JWKS_URI: &str = "https://app.example.com/jwks.json";
const TYPE: &str = "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer";

/// A fetcher with a cache, as an app's would be: it answers its cached copy of a
/// document unless asked to refresh. `published` is what the URL serves now.
#[derive(Default)]
struct Fetcher {
    published: Mutex<HashMap<String, Result<Value, String>>>,
    cached: Mutex<HashMap<String, Value>>,
    /// `(fetches, refreshes)` asked for.
    asked: Mutex<(u32, u32)>,
}

impl Fetcher {
    fn publish(&self, uri: &str, document: Result<Value, String>) {
        self.published.lock().unwrap().insert(uri.into(), document);
    }

    fn asked(&self) -> (u32, u32) {
        *self.asked.lock().unwrap()
    }
}

impl JwksFetcher for Fetcher {
    fn fetch<'a>(
        &'a self,
        uri: &'a str,
        refresh: bool,
    ) -> StoreFuture<'a, portcullis::Result<Value>> {
        StoreFuture::now(move || {
            let mut asked = self.asked.lock().unwrap();
            asked.0 += 1;
            asked.1 += u32::from(refresh);
            if !refresh {
                if let Some(cached) = self.cached.lock().unwrap().get(uri) {
                    return Ok(cached.clone());
                }
            }
            let published = self.published.lock().unwrap().get(uri).cloned();
            match published {
                Some(Ok(document)) => {
                    self.cached
                        .lock()
                        .unwrap()
                        .insert(uri.into(), document.clone());
                    Ok(document)
                }
                Some(Err(why)) => Err(Error::internal(why)),
                None => Err(Error::internal("404")),
            }
        })
    }
}

fn jwks(keys: &[&Key]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() })
}

async fn fixture_fetching(fetcher: Arc<Fetcher>) -> Fixture {
    let clock = MockClock::default();
    let provider = Provider::builder(Config::new(ISSUER, [7u8; 32]))
        .store(MemoryStore::new())
        .signer(signer())
        .clock(clock.clone())
        .jwks_fetcher(fetcher)
        .build()
        .await
        .expect("provider builds");
    Fixture { provider, clock }
}

fn by_url() -> ClientRequest {
    ClientRequest {
        token_endpoint_auth_method: Some("private_key_jwt".into()),
        jwks_uri: Some(JWKS_URI.into()),
        ..web_client()
    }
}

/// A client_credentials request with an assertion signed by `key` for `client`.
async fn authenticate(f: &Fixture, client: &CreatedClient, key: &Key) -> portcullis::Result<()> {
    let id = &client.client.client_id;
    let now = f.provider.now().unix_timestamp();
    let claims = json!({
        "iss": id, "sub": id, "aud": format!("{ISSUER}/oauth2/token"),
        "iat": now, "exp": now + 300, "jti": fresh_jti(),
    });
    let body = format!(
        "grant_type=client_credentials&client_assertion_type={TYPE}&client_assertion={}",
        sign(key, &claims)
    );
    f.token(&body, None).await.map(|_| ())
}

#[tokio::test]
async fn a_client_authenticates_with_keys_at_its_jwks_uri() {
    let fetcher = Arc::new(Fetcher::default());
    let k1 = es256(Some("k1"));
    fetcher.publish(JWKS_URI, Ok(jwks(&[&k1])));
    let f = fixture_fetching(fetcher.clone()).await;
    let client = f.client(by_url()).await;
    assert!(client.client_secret.is_none());
    assert_eq!(client.client.jwks_uri.as_deref(), Some(JWKS_URI));

    authenticate(&f, &client, &k1)
        .await
        .expect("the fetched key verifies");
    authenticate(&f, &client, &k1)
        .await
        .expect("and again, from the cache");
    assert_eq!(fetcher.asked(), (2, 0), "no refresh while the kid is known");

    let stranger = es256(Some("k1"));
    let e = authenticate(&f, &client, &stranger).await.unwrap_err();
    assert_eq!(
        e.code(),
        ErrorCode::InvalidClient,
        "another key with the same kid"
    );
}

#[tokio::test]
async fn a_rotated_key_is_fetched_again_once() {
    let fetcher = Arc::new(Fetcher::default());
    let (k1, k2) = (es256(Some("k1")), es256(Some("k2")));
    fetcher.publish(JWKS_URI, Ok(jwks(&[&k1])));
    let f = fixture_fetching(fetcher.clone()).await;
    let client = f.client(by_url()).await;
    authenticate(&f, &client, &k1).await.unwrap();

    // The client publishes a new key; the fetcher's cache still holds the old set.
    fetcher.publish(JWKS_URI, Ok(jwks(&[&k1, &k2])));
    authenticate(&f, &client, &k2)
        .await
        .expect("an unknown kid makes the engine ask for a fresh copy");
    assert_eq!(fetcher.asked(), (3, 1));

    // A kid the fresh copy lacks too: refused after one refresh, not a loop.
    let e = authenticate(&f, &client, &es256(Some("k3")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidClient);
    assert!(e.description().contains("kid"), "{e}");
    assert_eq!(fetcher.asked(), (5, 2));
}

#[tokio::test]
async fn unreachable_or_unusable_documents_are_invalid_client() {
    let fetcher = Arc::new(Fetcher::default());
    let key = es256(Some("k"));
    let f = fixture_fetching(fetcher.clone()).await;
    let client = f.client(by_url()).await;

    let refused = |why: &'static str| {
        let (f, client, key) = (&f, &client, &key);
        async move {
            let e = authenticate(f, client, key).await.unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidClient, "{e}");
            assert!(e.description().contains(why), "{e}");
        }
    };
    refused("could not be fetched").await;
    fetcher.publish(JWKS_URI, Err("connection refused".into()));
    refused("could not be fetched").await;

    let mut private = key.jwk.clone();
    private["d"] = json!("jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI");
    for document in [
        json!({ "keys": [private] }),
        json!({ "keys": [{"kty": "oct", "k": "c2VjcmV0"}] }),
        json!({ "not": "a key set" }),
        json!("<html>"),
    ] {
        fetcher.cached.lock().unwrap().clear();
        fetcher.publish(JWKS_URI, Ok(document));
        refused("not a JWK Set of public keys").await;
    }
}

#[tokio::test]
async fn registration_by_url_needs_a_fetcher_https_and_no_inline_keys() {
    let refused = |f: Fixture, req: ClientRequest, why: &'static str| async move {
        let e = f.provider.create_client(req).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidClientMetadata, "{e}");
        assert!(e.description().contains(why), "{e}");
    };
    refused(fixture().await, by_url(), "does not fetch").await;

    let fetching = || fixture_fetching(Arc::new(Fetcher::default()));
    let plain_http = ClientRequest {
        jwks_uri: Some("http://app.example.com/jwks.json".into()),
        ..by_url()
    };
    refused(fetching().await, plain_http, "https").await;
    let both = ClientRequest {
        jwks: Some(jwks(&[&es256(None)])),
        ..by_url()
    };
    refused(fetching().await, both, "not both").await;
    let neither = ClientRequest {
        jwks_uri: None,
        ..by_url()
    };
    refused(fetching().await, neither, "'jwks' or at 'jwks_uri'").await;

    // A client that does not use private_key_jwt may still name a jwks_uri (for other
    // uses) without a fetcher.
    let f = fixture().await;
    let basic = ClientRequest {
        jwks_uri: Some(JWKS_URI.into()),
        ..web_client()
    };
    let c = f
        .provider
        .create_client(basic)
        .await
        .expect("a secret client");
    assert_eq!(c.client.jwks_uri.as_deref(), Some(JWKS_URI));
}
