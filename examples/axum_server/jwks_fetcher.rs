//! The reference server's `JwksFetcher`: clients' `jwks_uri`s over HTTPS with reqwest,
//! under the [`Outbound`] policy (public addresses only by default, no redirects).
//!
//! A fetched document is used for five minutes; a refresh (the engine met an unknown
//! `kid`: the client rotated its keys) fetches again at most every 30 s per URL, so a
//! stream of unknown `kid`s cannot make the server hammer the URL; a failed fetch is
//! answered again for 10 s without a request, so a client whose URL hangs or fails
//! cannot make every token request wait on it. Requests for one URL at once share one
//! fetch. Bodies are capped at 64 KiB, requests at 5 s, and at most 1,024 URLs are
//! remembered.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portcullis::storage::StoreFuture;
use portcullis::{Error, ErrorCode, JwksFetcher};

use super::outbound::{error_chain, Outbound};

/// The largest document accepted.
const MAX_BYTES: usize = 64 * 1024;
/// The most URLs remembered; beyond it, stale ones are forgotten.
const MAX_URLS: usize = 1024;

/// How long fetched documents and failures are used.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// How long a fetched document is answered.
    pub fresh_for: Duration,
    /// How soon after a fetch a refresh may fetch again.
    pub refresh_after: Duration,
    /// How long a failure is answered before the URL is tried again.
    pub retry_failed_after: Duration,
    /// The time limit of one request.
    pub timeout: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            fresh_for: Duration::from_secs(300),
            refresh_after: Duration::from_secs(30),
            retry_failed_after: Duration::from_secs(10),
            timeout: Duration::from_secs(5),
        }
    }
}

/// The last fetch of one URL.
struct Fetched {
    at: Instant,
    outcome: Result<serde_json::Value, String>,
}

/// One URL's last fetch; held across a fetch, so requests at once share it.
type Slot = Arc<tokio::sync::Mutex<Option<Fetched>>>;

pub struct HttpJwksFetcher {
    client: reqwest::Client,
    outbound: Outbound,
    timing: Timing,
    slots: Mutex<HashMap<String, Slot>>,
}

impl HttpJwksFetcher {
    pub fn new(outbound: Outbound, timing: Timing) -> Result<Self, reqwest::Error> {
        let client = outbound.client("portcullis-jwks-fetcher", timing.timeout)?;
        Ok(Self {
            client,
            outbound,
            timing,
            slots: Mutex::default(),
        })
    }

    /// The slot of `uri`, made if missing (forgetting stale ones when there are many).
    fn slot(&self, uri: &str) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = slots.get(uri) {
            return slot.clone();
        }
        if slots.len() >= MAX_URLS {
            let fresh_for = self.timing.fresh_for;
            // Keep slots in use and documents still fresh; if none is stale, start over.
            slots.retain(|_, slot| match slot.try_lock() {
                Ok(last) => last.as_ref().is_some_and(|f| f.at.elapsed() < fresh_for),
                Err(_) => true,
            });
            if slots.len() >= MAX_URLS {
                slots.clear();
            }
        }
        slots.entry(uri.to_owned()).or_default().clone()
    }

    /// Whether the last fetch may be answered for this request.
    fn usable(&self, last: &Fetched, refresh: bool) -> bool {
        let age = last.at.elapsed();
        match (&last.outcome, refresh) {
            (Err(_), _) => age < self.timing.retry_failed_after,
            (Ok(_), false) => age < self.timing.fresh_for,
            (Ok(_), true) => age < self.timing.refresh_after,
        }
    }

    async fn get(&self, uri: &str) -> Result<serde_json::Value, String> {
        let url = self.outbound.url(uri)?;
        if url.scheme() != "https" {
            return Err(format!("{uri}: only https URLs are fetched"));
        }
        let mut response = self
            .client
            .get(url)
            .header("accept", "application/jwk-set+json, application/json")
            .send()
            .await
            .map_err(|e| format!("{uri}: {}", error_chain(&e)))?;
        if !response.status().is_success() {
            return Err(format!("{uri} answered {}", response.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("{uri}: {}", error_chain(&e)))?
        {
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
            let slot = self.slot(uri);
            let mut last = slot.lock().await;
            let fetched = match last.take() {
                Some(fetched) if self.usable(&fetched, refresh) => fetched,
                _ => Fetched {
                    outcome: self.get(uri).await,
                    at: Instant::now(),
                },
            };
            let outcome = fetched.outcome.clone();
            *last = Some(fetched);
            // The engine logs the description and answers the client `invalid_client`.
            outcome.map_err(|why| Error::new(ErrorCode::ServerError, why))
        })
    }
}
