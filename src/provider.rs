//! [`Provider`]: the one entry point, and its builder.

use std::sync::Arc;

use time::OffsetDateTime;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::keys::{Algorithm, KeySigner};
use crate::random::{Entropy, ThreadEntropy};
use crate::storage::Storage;
use crate::token::client_jwks::JwksFetcher;
use crate::token::opaque::OpaqueTokens;

/// An OAuth 2.0 / OpenID Connect provider.
///
/// Cheap to clone (one `Arc`), `Send + Sync`, and every operation takes `&self`: one
/// instance serves any number of concurrent requests with no lock of its own. Operations
/// live next to their endpoint (`token`, client admin, …).
#[derive(Clone)]
pub struct Provider {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    store: Arc<dyn Storage>,
    signer: Arc<dyn KeySigner>,
    clock: Arc<dyn Clock>,
    entropy: Arc<dyn Entropy>,
    jwks_fetcher: Option<Arc<dyn JwksFetcher>>,
    opaque: OpaqueTokens,
    /// `config.issuer`, shared by every introspection answer.
    issuer: Arc<str>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("issuer", &self.inner.config.issuer)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Provider`]: a config, a store, and optionally a signer, clock and entropy.
pub struct ProviderBuilder {
    config: Config,
    store: Option<Arc<dyn Storage>>,
    signer: Option<Arc<dyn KeySigner>>,
    clock: Arc<dyn Clock>,
    entropy: Arc<dyn Entropy>,
    jwks_fetcher: Option<Arc<dyn JwksFetcher>>,
}

impl Provider {
    /// Starts building a provider.
    pub fn builder(config: Config) -> ProviderBuilder {
        ProviderBuilder {
            config,
            store: None,
            signer: None,
            clock: Arc::new(SystemClock),
            entropy: Arc::new(ThreadEntropy),
            jwks_fetcher: None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The store.
    pub fn store(&self) -> &dyn Storage {
        &*self.inner.store
    }

    /// The signer.
    pub fn signer(&self) -> &dyn KeySigner {
        &*self.inner.signer
    }

    /// Reads the signing keys again from the store, where another instance of the app
    /// sharing it may have rotated them (see [`Keyring::reload`](crate::keys::Keyring::reload));
    /// nothing to do for a signer that keeps no keys in a store. The engine never calls
    /// it on its own: an app running several instances on one store calls it on a timer.
    pub async fn reload_keys(&self) -> Result<()> {
        self.signer()
            .reload(self.store(), &self.config().secrets)
            .await
    }

    /// Whether the store answers: one read (the signing keys), as a readiness probe
    /// asks (`/health/ready`). An unreachable or broken store is its error.
    pub async fn check_ready(&self) -> Result<()> {
        self.store().keys().await.map(drop)
    }

    /// The current time, from the injected clock.
    pub fn now(&self) -> OffsetDateTime {
        self.inner.clock.now()
    }

    /// The current time in Unix seconds, from the injected clock.
    pub fn unix_now(&self) -> i64 {
        self.inner.clock.unix_now()
    }

    /// The injected entropy.
    pub fn entropy(&self) -> &dyn Entropy {
        &*self.inner.entropy
    }

    /// The fetcher of clients' `jwks_uri`s, if the app gave one.
    pub(crate) fn jwks_fetcher(&self) -> Option<&Arc<dyn JwksFetcher>> {
        self.inner.jwks_fetcher.as_ref()
    }

    /// The issuer, shared.
    pub(crate) fn issuer(&self) -> &Arc<str> {
        &self.inner.issuer
    }

    pub(crate) fn opaque(&self) -> &OpaqueTokens {
        &self.inner.opaque
    }

    /// A fresh random identifier (128 bits, base64url).
    pub(crate) fn new_id<T: for<'a> From<&'a str>>(&self) -> T {
        crate::random::token_string::<16, _>(self.entropy())
    }

    /// A fresh random UUID (version 4), as Hydra uses for client ids.
    pub(crate) fn new_uuid(&self) -> String {
        let mut b = [0u8; 16];
        self.entropy().fill(&mut b);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }
}

impl ProviderBuilder {
    /// The store (required).
    pub fn store(mut self, store: impl Storage) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// A store already shared.
    pub fn shared_store(mut self, store: Arc<dyn Storage>) -> Self {
        self.store = Some(store);
        self
    }

    /// The signer. Without one, [`build`](Self::build) loads the keys persisted in the
    /// store (sealed under the system secret) or generates and persists RS256 and ES256
    /// keys.
    pub fn signer(mut self, signer: Arc<dyn KeySigner>) -> Self {
        self.signer = Some(signer);
        self
    }

    /// Fetches clients' `jwks_uri`s, so that `private_key_jwt` clients may register their
    /// keys by URL (see [`token::client_jwks`](crate::token::client_jwks)). None by
    /// default: the engine does no IO, and such clients register inline `jwks`.
    pub fn jwks_fetcher(mut self, fetcher: Arc<dyn JwksFetcher>) -> Self {
        self.jwks_fetcher = Some(fetcher);
        self
    }

    /// The clock (the system clock by default).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The entropy source: by default [`ThreadEntropy`], a ChaCha20 generator per thread
    /// seeded from the operating system.
    pub fn entropy(mut self, entropy: impl Entropy) -> Self {
        self.entropy = Arc::new(entropy);
        self
    }

    /// Checks the configuration and builds the provider.
    pub async fn build(self) -> Result<Provider> {
        let config = self.config;
        let issuer = url::Url::parse(&config.issuer)
            .map_err(|_| Error::invalid_request("The issuer must be an absolute URL."))?;
        if issuer.query().is_some() || issuer.fragment().is_some() {
            return Err(Error::invalid_request(
                "The issuer must have no query or fragment (OIDC Discovery §3).",
            ));
        }
        if config.secrets.is_empty() || config.secrets.iter().any(|s| s.len() < 32) {
            return Err(Error::invalid_request(
                "At least one system secret is required, each of 32 bytes or more.",
            ));
        }
        let grace = config.refresh_token_rotation_grace_period;
        if grace.is_negative() || grace > config.max_rotation_grace_period() {
            return Err(Error::invalid_request(
                "The refresh token rotation grace period must be between 0 and 5 minutes, \
                 or 30 days with a reuse count.",
            ));
        }
        let store = self
            .store
            .ok_or_else(|| Error::invalid_request("The provider needs a store."))?;
        let signer = match self.signer {
            Some(s) => s,
            None => default_signer(&*store, &config, self.clock.unix_now()).await?,
        };
        Ok(Provider {
            inner: Arc::new(Inner {
                opaque: OpaqueTokens::new(&config.secrets),
                issuer: config.issuer.as_str().into(),
                config,
                store,
                signer,
                clock: self.clock,
                entropy: self.entropy,
                jwks_fetcher: self.jwks_fetcher,
            }),
        })
    }
}

async fn default_signer(
    store: &dyn Storage,
    config: &Config,
    now: i64,
) -> Result<Arc<dyn KeySigner>> {
    let algs = [Algorithm::RS256, Algorithm::ES256];
    #[cfg(feature = "aws-lc")]
    {
        let s =
            crate::keys::AwsLcSigner::load_or_generate(store, &config.secrets, &algs, now).await?;
        Ok(Arc::new(s))
    }
    #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc")))]
    {
        let s =
            crate::keys::LocalSigner::load_or_generate(store, &config.secrets, &algs, now).await?;
        Ok(Arc::new(s))
    }
    #[cfg(not(any(feature = "rust-crypto", feature = "aws-lc")))]
    {
        let _ = (store, config, now, algs);
        Err(Error::invalid_request(
            "No signer given and no signer backend enabled (features rust-crypto or aws-lc).",
        ))
    }
}
