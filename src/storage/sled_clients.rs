//! The [`ClientStore`] half of [`SledStore`], with an in-memory cache of decoded clients.
//!
//! Every request authenticates a client, and decoding its JSON costs more than reading
//! it. sled is single-process and every client write goes through this module, so the
//! cache can be kept exact rather than expiring:
//!
//! - a hit takes the read side of the cache lock only;
//! - a miss takes the write side, looks again, then reads sled and installs the decoded
//!   client while still holding it;
//! - a write (create, update, delete) takes the write side, writes sled and updates the
//!   cache while still holding it.
//!
//! So a fill and a write never interleave: a fill cannot install a client that a write
//! has replaced or deleted meanwhile. The lock is never held across an `await` (the
//! durable flush comes after it is released). The cache holds at most
//! [`CLIENT_CACHE_CAPACITY`] clients and drops an arbitrary one to make room; unknown ids
//! are not cached, so probing ids cannot fill it.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockWriteGuard};

use super::StoreFuture;

use super::sled_store::{decode, encode, page, SledStore};
use super::{ClientPage, ClientQuery, ClientStore};
use crate::error::{Error, ErrorCode, Result};
use crate::model::Client;

/// How many decoded clients a [`SledStore`] keeps in memory.
pub(super) const CLIENT_CACHE_CAPACITY: usize = 4096;

/// Decoded clients by id; see the module docs for why it stays coherent.
#[derive(Debug, Default)]
pub(super) struct ClientCache {
    clients: RwLock<HashMap<String, Arc<Client>>>,
}

/// The cache under its write lock.
type Guard<'a> = RwLockWriteGuard<'a, HashMap<String, Arc<Client>>>;

impl ClientCache {
    /// The cached client, if any.
    fn hit(&self, client_id: &str) -> Option<Arc<Client>> {
        // A poisoned lock counts as a miss; the write side then clears the cache.
        self.clients.read().ok()?.get(client_id).cloned()
    }

    /// The write side. A panic under it may have left the cache behind sled, so a
    /// poisoned cache is emptied before use.
    fn write(&self) -> Guard<'_> {
        match self.clients.write() {
            Ok(guard) => guard,
            Err(poisoned) => {
                let mut guard = poisoned.into_inner();
                guard.clear();
                self.clients.clear_poison();
                guard
            }
        }
    }
}

/// Installs a client, making room if the cache is full.
fn install(cache: &mut Guard<'_>, client: Arc<Client>) {
    if cache.len() >= CLIENT_CACHE_CAPACITY && !cache.contains_key(&client.client_id) {
        if let Some(victim) = cache.keys().next().cloned() {
            cache.remove(&victim);
        }
    }
    cache.insert(client.client_id.clone(), client);
}

impl ClientStore for SledStore {
    fn create_client<'a>(&'a self, client: Client) -> StoreFuture<'a, Result<()>> {
        StoreFuture::now(|| {
            let bytes = encode(&client)?;
            {
                let mut cache = self.client_cache.write();
                self.clients
                    .compare_and_swap(client.client_id.as_bytes(), None::<&[u8]>, Some(bytes))
                    .map_err(Error::internal)?
                    .map_err(|_| {
                        Error::new(ErrorCode::Conflict, "A client with this id already exists.")
                    })?;
                install(&mut cache, Arc::new(client));
            }
            self.flush()
        })
    }

    fn get_client<'a>(
        &'a self,
        client_id: &'a str,
    ) -> StoreFuture<'a, Result<Option<Arc<Client>>>> {
        StoreFuture::now(|| {
            if let Some(client) = self.client_cache.hit(client_id) {
                return Ok(Some(client));
            }
            let mut cache = self.client_cache.write();
            if let Some(client) = cache.get(client_id) {
                return Ok(Some(client.clone()));
            }
            let Some(bytes) = self.clients.get(client_id).map_err(Error::internal)? else {
                return Ok(None);
            };
            let client = Arc::new(decode::<Client>(&bytes)?);
            install(&mut cache, client.clone());
            Ok(Some(client))
        })
    }

    fn update_client<'a>(&'a self, client: Client) -> StoreFuture<'a, Result<()>> {
        StoreFuture::now(|| {
            let bytes = encode(&client)?;
            {
                let mut cache = self.client_cache.write();
                // Every client write holds the cache lock, so nothing can come between the
                // look and the write.
                let id = client.client_id.as_bytes();
                if !self.clients.contains_key(id).map_err(Error::internal)? {
                    return Err(Error::not_found("No client with this id."));
                }
                self.clients.insert(id, bytes).map_err(Error::internal)?;
                install(&mut cache, Arc::new(client));
            }
            self.flush()
        })
    }

    fn delete_client<'a>(&'a self, client_id: &'a str) -> StoreFuture<'a, Result<bool>> {
        StoreFuture::now(|| {
            let existed = {
                let mut cache = self.client_cache.write();
                let existed = self.clients.remove(client_id).map_err(Error::internal)?;
                cache.remove(client_id);
                existed.is_some()
            };
            self.flush()?;
            Ok(existed)
        })
    }

    fn list_clients<'a>(&'a self, query: &'a ClientQuery) -> StoreFuture<'a, Result<ClientPage>> {
        StoreFuture::now(|| {
            let (clients, next_page_token) = page(
                &self.clients,
                query.page_token.as_deref(),
                query.limit(),
                |c| query.matches(c),
            )?;
            Ok(ClientPage {
                clients,
                next_page_token,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cached(cache: &ClientCache, id: &str) -> bool {
        cache.hit(id).is_some()
    }

    fn client(id: &str) -> Arc<Client> {
        Arc::new(Client {
            client_id: id.to_owned(),
            ..Client::default()
        })
    }

    #[test]
    fn the_cache_stays_bounded_and_keeps_the_newest() {
        let cache = ClientCache::default();
        let newest = format!("c{CLIENT_CACHE_CAPACITY}");
        {
            let mut guard = cache.write();
            for i in 0..=CLIENT_CACHE_CAPACITY {
                install(&mut guard, client(&format!("c{i}")));
            }
            assert_eq!(guard.len(), CLIENT_CACHE_CAPACITY);
            install(&mut guard, client(&newest));
            assert_eq!(
                guard.len(),
                CLIENT_CACHE_CAPACITY,
                "a replacement evicts none"
            );
        }
        assert!(cached(&cache, &newest));
    }

    #[test]
    fn a_poisoned_cache_is_emptied() {
        let cache = Arc::new(ClientCache::default());
        install(&mut cache.write(), client("app"));
        let poisoner = cache.clone();
        let _ = std::thread::spawn(move || {
            let _guard = poisoner.write();
            panic!("a panic while writing a client");
        })
        .join();
        assert!(!cached(&cache, "app"), "a poisoned lock is a miss");
        assert!(cache.write().is_empty(), "and the cache starts over");
        install(&mut cache.write(), client("app"));
        assert!(cached(&cache, "app"), "and works again");
    }
}
