//! A client's public keys at its `jwks_uri` (RFC 7591 §2), for `private_key_jwt`.
//!
//! The engine does no IO of its own, so it fetches no URL: an app that wants clients to
//! register keys by URL gives the provider a [`JwksFetcher`]
//! ([`ProviderBuilder::jwks_fetcher`](crate::ProviderBuilder::jwks_fetcher)), and the
//! fetcher does the HTTP and the caching. Without one, a `private_key_jwt` client must
//! register its keys inline (`jwks`), as before.
//!
//! What the engine does with the document is the same as with an inline `jwks`: it must
//! be a JWK Set of public keys only ([`check_public_jwks`]); an assertion is verified with
//! the key it names. When an assertion names a `kid` the cached set lacks (the client
//! rotated its keys), the engine asks the fetcher once more with `refresh` set.

use std::sync::Arc;

use jsonwebtoken::jwk::JwkSet;

use super::client_assertion::{check_public_jwks, header_kid};
use crate::error::{Error, Result};
use crate::model::Client;
use crate::storage::StoreFuture;

/// Fetches JWK Sets from clients' `jwks_uri`s. Implemented by the app (the reference
/// server has one on reqwest, with a cache).
pub trait JwksFetcher: Send + Sync + 'static {
    /// The JSON document at `uri`. With `refresh`, a cached copy must not be answered:
    /// the engine met a key id the last copy lacked. An implementation should bound
    /// the document's size and the request's time, and may refuse to refresh more often
    /// than it finds reasonable (answering its cached copy). The URL is one a client
    /// registered: it should refuse addresses the server must not reach on a client's
    /// behalf (loopback, private ranges, link-local metadata services) and not follow
    /// redirects, as the reference server's fetcher does.
    ///
    /// An error is reported to the client as `invalid_client` (its keys could not be
    /// had); its description is logged, never shown.
    fn fetch<'a>(
        &'a self,
        uri: &'a str,
        refresh: bool,
    ) -> StoreFuture<'a, Result<serde_json::Value>>;
}

/// The JWK Set that verifies `client`'s `assertion`: its inline `jwks`, or the document
/// at its `jwks_uri` (fetched again once if it lacks the assertion's `kid`).
pub(crate) async fn client_keys(
    fetcher: Option<&Arc<dyn JwksFetcher>>,
    client: &Client,
    assertion: &str,
) -> Result<JwkSet> {
    let unusable = || Error::invalid_client("The client has no usable registered keys (jwks).");
    if let Some(jwks) = &client.jwks {
        return check_public_jwks(jwks).map_err(|_| unusable());
    }
    let (Some(uri), Some(fetcher)) = (&client.jwks_uri, fetcher) else {
        return Err(unusable());
    };
    let kid = header_kid(assertion)?;
    let set = fetched(fetcher, uri, false).await?;
    let lacks_kid = kid.as_deref().is_some_and(|kid| {
        !set.keys
            .iter()
            .any(|k| k.common.key_id.as_deref() == Some(kid))
    });
    if lacks_kid {
        return fetched(fetcher, uri, true).await;
    }
    Ok(set)
}

async fn fetched(fetcher: &Arc<dyn JwksFetcher>, uri: &str, refresh: bool) -> Result<JwkSet> {
    let document = fetcher.fetch(uri, refresh).await.map_err(|e| {
        tracing::warn!(%uri, error = %e.description(), "fetching a client's jwks_uri");
        Error::invalid_client("The client's keys could not be fetched from its jwks_uri.")
    })?;
    check_public_jwks(&document).map_err(|why| {
        tracing::warn!(%uri, %why, "a client's jwks_uri document");
        Error::invalid_client(
            "The document at the client's jwks_uri is not a JWK Set of public keys.",
        )
    })
}
