//! One provider per fuzz process, with a client of every kind registered.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use portcullis::clock::{Clock as _, MockClock};
use portcullis::keys::{Algorithm, LocalSigner};
use portcullis::storage::{ClientQuery, MemoryStore};
use portcullis::{ClientRequest, Config, Provider};

pub struct World {
    pub rt: tokio::runtime::Runtime,
    pub provider: Provider,
    /// `Basic` header of a confidential client with every grant.
    pub basic: String,
    pub client_id: String,
    /// The provider's clock: real time at the start, moved on by [`World::tidy`].
    clock: MockClock,
    runs: AtomicU64,
}

/// Runs between two flushes of the world's store.
const RUNS_PER_FLUSH: u64 = 10_000;

impl World {
    /// Every [`RUNS_PER_FLUSH`] runs, moves the clock 60 days on (past every default
    /// lifespan), flushes what expired and deletes every client but the world's own. Over a
    /// long run the store kept every flow, token and client the fuzzer made until libFuzzer
    /// stopped the process at its memory limit; and the clean-up runs against whatever
    /// state the fuzzer left.
    fn tidy(&self) {
        if self.runs.fetch_add(1, Ordering::Relaxed) % RUNS_PER_FLUSH != RUNS_PER_FLUSH - 1 {
            return;
        }
        self.clock.advance(time::Duration::days(60));
        let p = &self.provider;
        let flushed = self.rt.block_on(p.flush_inactive_tokens(self.clock.now()));
        assert!(flushed.is_ok(), "the memory store flushes: {flushed:?}");
        // A page that holds no other client holds only the world's: it is the last.
        let query = ClientQuery {
            page_size: 500,
            ..Default::default()
        };
        loop {
            let page = self
                .rt
                .block_on(p.list_clients(&query))
                .expect("clients listed");
            let others: Vec<_> = page
                .clients
                .iter()
                .filter(|c| c.client_id != self.client_id)
                .collect();
            if others.is_empty() {
                break;
            }
            for c in others {
                let deleted = self.rt.block_on(p.delete_client(&c.client_id));
                assert!(deleted.is_ok(), "a listed client deletes: {deleted:?}");
            }
        }
    }
}

/// The world, tidied now and then (see [`World::tidy`]).
pub fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    let world = WORLD.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let clock = MockClock::new(time::OffsetDateTime::now_utc());
        let (provider, basic, client_id) = rt.block_on(async {
            let mut config = Config::new("https://fuzz.example", [9u8; 32]);
            config.dynamic_registration = true;
            let signer =
                LocalSigner::generate(&[Algorithm::RS256, Algorithm::ES256]).expect("keys");
            let provider = Provider::builder(config)
                .store(MemoryStore::new())
                .signer(Arc::new(signer))
                .clock(clock.clone())
                .build()
                .await
                .expect("provider");
            let created = provider
                .create_client(ClientRequest {
                    client_id: Some("fuzz".into()),
                    grant_types: Some(vec![
                        "authorization_code".into(),
                        "refresh_token".into(),
                        "client_credentials".into(),
                        "implicit".into(),
                    ]),
                    response_types: Some(vec![
                        "code".into(),
                        "id_token token".into(),
                        "code id_token".into(),
                    ]),
                    redirect_uris: Some(vec!["https://rp.example/cb".into()]),
                    scope: Some("openid offline_access read".into()),
                    ..Default::default()
                })
                .await
                .expect("client");
            // A server-generated secret: verified with one SHA-256, not PBKDF2.
            let secret = created.client_secret.unwrap_or_default();
            let basic = format!("Basic {}", STANDARD.encode(format!("fuzz:{secret}")));
            (provider, basic, created.client.client_id)
        });
        World {
            rt,
            provider,
            basic,
            client_id,
            clock,
            runs: AtomicU64::new(0),
        }
    });
    world.tidy();
    world
}
