//! The reference server's `JwksFetcher`: clients' `jwks_uri`s over HTTPS with reqwest,
//! cached for five minutes, fetched again early at most every 30 s per URL (a client
//! rotating its keys is seen within that; a stream of unknown `kid`s cannot make the
//! server hammer the URL), bodies capped at 64 KiB, 5 s per request, no redirects.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use portcullis::storage::StoreFuture;
use portcullis::{Error, JwksFetcher};

/// How long a fetched document is used.
const FRESH_FOR: Duration = Duration::from_secs(300);
/// How soon after a fetch a refresh may fetch again.
const REFRESH_AFTER: Duration = Duration::from_secs(30);
/// The largest document accepted.
const MAX_BYTES: usize = 64 * 1024;

pub struct HttpJwksFetcher {
    client: reqwest::Client,
    cache: Mutex<HashMap<String, (Instant, serde_json::Value)>>,
}

impl HttpJwksFetcher {
    pub fn new() -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .https_only(true)
            .user_agent("portcullis-jwks-fetcher")
            .build()?;
        Ok(Self {
            client,
            cache: Mutex::default(),
        })
    }

    /// The cached document, if it may be answered for this request.
    fn cached(&self, uri: &str, refresh: bool) -> Option<serde_json::Value> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let (at, document) = cache.get(uri)?;
        let age = at.elapsed();
        let usable = if refresh {
            age < REFRESH_AFTER
        } else {
            age < FRESH_FOR
        };
        usable.then(|| document.clone())
    }

    async fn get(&self, uri: &str) -> Result<serde_json::Value, String> {
        let mut response = self
            .client
            .get(uri)
            .header("accept", "application/jwk-set+json, application/json")
            .send()
            .await
            .map_err(|e| format!("{uri}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("{uri} answered {}", response.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| format!("{uri}: {e}"))? {
            if body.len() + chunk.len() > MAX_BYTES {
                return Err(format!("{uri}: the document is over {MAX_BYTES} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| format!("{uri}: not JSON: {e}"))
    }
}

impl JwksFetcher for HttpJwksFetcher {
    fn fetch<'a>(
        &'a self,
        uri: &'a str,
        refresh: bool,
    ) -> StoreFuture<'a, portcullis::Result<serde_json::Value>> {
        StoreFuture::boxed(async move {
            if let Some(document) = self.cached(uri, refresh) {
                return Ok(document);
            }
            let document = self.get(uri).await.map_err(Error::internal)?;
            self.cache
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(uri.to_owned(), (Instant::now(), document.clone()));
            Ok(document)
        })
    }
}
