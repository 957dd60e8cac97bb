//! A [`Storage`](super::Storage) in one sled directory: the default for a single app
//! instance.
//!
//! Layout (one sled tree each):
//!
//! - `clients`: `client_id` → JSON [`Client`];
//! - `tokens`: signature → JSON [`TokenRecord`];
//! - `grant_tokens`: `grant_id`, signature → nothing (the tokens of a grant);
//! - `client_grants`: `client_id`, `grant_id` → how many token records of that grant
//!   exist (the grants of a client, so revoking a client's tokens does not scan all);
//! - `revoked_grants`: `grant_id` → until when the marker is needed (unix seconds);
//! - `keys`: `kid` → JSON signing key with its insertion sequence number;
//! - the session trees (flows, login sessions, consents), described in `sled_sessions.rs`.
//!
//! Compound keys are `len(first) as u32 BE ‖ first ‖ second`, so no id can be mistaken
//! for a prefix of another. Every operation on tokens runs as one sled transaction over
//! the four token trees; sled retries the closure on conflict, so a race lost shows up as
//! an ordinary outcome ([`Consumed::AlreadyUsed`], [`Rotated::AlreadyUsed`]).

use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sled::transaction::{
    ConflictableTransactionError, ConflictableTransactionResult, TransactionError,
    TransactionalTree,
};
use sled::{Db, IVec, Transactional, Tree};

use super::sled_sessions::SessionTrees;
use super::{
    ClientPage, ClientQuery, ClientStore, Consumed, KeyStore, Rotated, TokenStore,
    MARKER_UNTIL_FIRST_FLUSH, REVOKED_GRANT_GRACE,
};
use crate::error::{Error, ErrorCode, Result};
use crate::model::{Client, StoredKey, TokenKind, TokenRecord, TokenStatus};

/// How many expired records a flush deletes per transaction.
pub(super) const FLUSH_BATCH: usize = 256;

/// A [`Storage`](super::Storage) on sled. Cheap to clone: clones share the database.
#[derive(Debug, Clone)]
pub struct SledStore {
    pub(super) db: Db,
    clients: Tree,
    tokens: Tree,
    grant_tokens: Tree,
    client_grants: Tree,
    revoked_grants: Tree,
    keys: Tree,
    pub(super) sessions: SessionTrees,
}

/// A key as stored: with the sequence number of its first insertion, so
/// [`KeyStore::keys`] answers oldest first.
#[derive(Serialize, Deserialize)]
struct KeyEntry {
    seq: u64,
    key: StoredKey,
}

pub(super) type TxResult<T> = ConflictableTransactionResult<T, Error>;

impl SledStore {
    /// Opens (or creates) the store in the directory `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_db(
            sled::Config::new()
                .path(path)
                .open()
                .map_err(Error::internal)?,
        )
    }

    /// A store in a temporary directory, deleted when the last clone is dropped (tests).
    pub fn temporary() -> Result<Self> {
        Self::from_db(
            sled::Config::new()
                .temporary(true)
                .open()
                .map_err(Error::internal)?,
        )
    }

    fn from_db(db: Db) -> Result<Self> {
        let tree = |name: &str| db.open_tree(name).map_err(Error::internal);
        Ok(Self {
            clients: tree("clients")?,
            tokens: tree("tokens")?,
            grant_tokens: tree("grant_tokens")?,
            client_grants: tree("client_grants")?,
            revoked_grants: tree("revoked_grants")?,
            keys: tree("keys")?,
            sessions: SessionTrees::open(&db)?,
            db,
        })
    }

    /// Makes every write so far durable. Deliberately the blocking `flush`: in sled 0.34,
    /// concurrent `flush_async` calls can exhaust sled's own I/O thread pool while a
    /// transaction waits for the global lock, and deadlock (spacejam/sled#1308; seen here
    /// with 32 concurrent redemptions). The blocking flush runs on the caller's thread and
    /// leaves the pool free to write.
    pub(super) async fn flush(&self) -> Result<()> {
        self.db.flush().map_err(Error::internal)?;
        Ok(())
    }

    /// Runs `f` as one transaction over the token trees.
    fn token_tx<T>(&self, f: impl Fn(&TokenTx<'_>) -> TxResult<T>) -> Result<T> {
        (
            &self.tokens,
            &self.grant_tokens,
            &self.client_grants,
            &self.revoked_grants,
        )
            .transaction(|(tokens, grant_tokens, client_grants, revoked_grants)| {
                f(&TokenTx {
                    tokens,
                    grant_tokens,
                    client_grants,
                    revoked_grants,
                })
            })
            .map_err(tx_error)
    }

    /// The signatures indexed under a grant, in key order.
    fn grant_signatures(&self, grant_id: &str) -> Result<Vec<String>> {
        second_parts(&self.grant_tokens, grant_id)
    }

    /// Revokes every token of a grant and leaves a marker refusing new ones; how many
    /// tokens the grant has. Transactions cannot scan, so: revoke what the index lists
    /// and set the marker in one transaction, then look again. Once the marker is
    /// committed no insert can add to the grant, so the second look normally agrees.
    fn close_grant(&self, grant_id: &str) -> Result<u64> {
        let mut signatures = self.grant_signatures(grant_id)?;
        loop {
            self.token_tx(|tx| {
                let mut until = tx.marker(grant_id)?.unwrap_or(MARKER_UNTIL_FIRST_FLUSH);
                for signature in &signatures {
                    if let Some(mut rec) = tx.get(signature)? {
                        until = until.max(rec.expires_at);
                        if rec.status == TokenStatus::Active {
                            rec.status = TokenStatus::Revoked;
                            tx.put(&rec)?;
                        }
                    }
                }
                tx.revoked_grants
                    .insert(grant_id.as_bytes(), &until.to_be_bytes())?;
                Ok(())
            })?;
            let now = self.grant_signatures(grant_id)?;
            if now == signatures {
                return Ok(signatures.len() as u64);
            }
            signatures = now;
        }
    }

    /// Deletes the records with these signatures that expired before `before`; how many.
    fn delete_expired(&self, signatures: &[IVec], before: i64) -> Result<u64> {
        self.token_tx(|tx| {
            let mut deleted = 0;
            for signature in signatures {
                let Some(bytes) = tx.tokens.get(signature)? else {
                    continue;
                };
                let rec: TokenRecord = decode(&bytes).map_err(abort)?;
                if rec.expires_at < before {
                    tx.remove(&rec)?;
                    deleted += 1;
                }
            }
            Ok(deleted)
        })
    }
}

/// The token trees inside one transaction, with the index bookkeeping.
struct TokenTx<'a> {
    tokens: &'a TransactionalTree,
    grant_tokens: &'a TransactionalTree,
    client_grants: &'a TransactionalTree,
    revoked_grants: &'a TransactionalTree,
}

impl TokenTx<'_> {
    fn get(&self, signature: &str) -> TxResult<Option<TokenRecord>> {
        match self.tokens.get(signature.as_bytes())? {
            Some(bytes) => Ok(Some(decode(&bytes).map_err(abort)?)),
            None => Ok(None),
        }
    }

    /// Rewrites a record in place (its grant and client unchanged).
    fn put(&self, rec: &TokenRecord) -> TxResult<()> {
        self.tokens
            .insert(rec.signature.as_bytes(), encode(rec).map_err(abort)?)?;
        Ok(())
    }

    fn marker(&self, grant_id: &str) -> TxResult<Option<i64>> {
        match self.revoked_grants.get(grant_id.as_bytes())? {
            Some(bytes) => Ok(Some(decode_i64(&bytes).map_err(abort)?)),
            None => Ok(None),
        }
    }

    /// Stores new records, refusing all of them if one's grant was revoked.
    fn insert_all(&self, records: &[TokenRecord]) -> TxResult<()> {
        for rec in records {
            if self.marker(&rec.grant_id)?.is_some() {
                return Err(abort(Error::invalid_grant("The grant has been revoked.")));
            }
        }
        for rec in records {
            if let Some(old) = self.get(&rec.signature)? {
                self.remove(&old)?;
            }
            self.put(rec)?;
            self.grant_tokens
                .insert(compound(&rec.grant_id, &rec.signature), &[])?;
            self.add_to_client_grant(rec, 1)?;
        }
        Ok(())
    }

    /// Deletes a record and its index entries.
    fn remove(&self, rec: &TokenRecord) -> TxResult<()> {
        self.tokens.remove(rec.signature.as_bytes())?;
        self.grant_tokens
            .remove(compound(&rec.grant_id, &rec.signature))?;
        self.add_to_client_grant(rec, -1)
    }

    /// Adjusts the record count of the record's (client, grant) index entry, dropping it
    /// at zero.
    fn add_to_client_grant(&self, rec: &TokenRecord, delta: i64) -> TxResult<()> {
        let key = compound(&rec.client_id, &rec.grant_id);
        let count = match self.client_grants.get(&key)? {
            Some(bytes) => decode_i64(&bytes).map_err(abort)?,
            None => 0,
        } + delta;
        if count > 0 {
            self.client_grants.insert(key, &count.to_be_bytes())?;
        } else {
            self.client_grants.remove(key)?;
        }
        Ok(())
    }
}

pub(super) fn abort(e: Error) -> ConflictableTransactionError<Error> {
    ConflictableTransactionError::Abort(e)
}

pub(super) fn tx_error(e: TransactionError<Error>) -> Error {
    match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => Error::internal(e),
    }
}

pub(super) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(Error::internal)
}

pub(super) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::internal(format!("corrupt record: {e}")))
}

fn decode_i64(bytes: &[u8]) -> Result<i64> {
    <[u8; 8]>::try_from(bytes)
        .map(i64::from_be_bytes)
        .map_err(|_| Error::internal("corrupt counter or marker"))
}

fn utf8(bytes: &[u8]) -> Result<String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| Error::internal("corrupt index key"))
}

/// The key prefix of every compound key starting with `first`.
pub(super) fn compound_prefix(first: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(4 + first.len());
    // Ids longer than 4 GiB cannot be stored anyway; saturate rather than wrap.
    key.extend_from_slice(&u32::try_from(first.len()).unwrap_or(u32::MAX).to_be_bytes());
    key.extend_from_slice(first.as_bytes());
    key
}

/// The second parts of the compound keys of `tree` starting with `first`, in key order.
pub(super) fn second_parts(tree: &Tree, first: &str) -> Result<Vec<String>> {
    let prefix = compound_prefix(first);
    tree.scan_prefix(&prefix)
        .keys()
        .map(|k| {
            let k = k.map_err(Error::internal)?;
            utf8(&k[prefix.len()..])
        })
        .collect()
}

pub(super) fn compound(first: &str, second: &str) -> Vec<u8> {
    let mut key = compound_prefix(first);
    key.extend_from_slice(second.as_bytes());
    key
}

#[async_trait]
impl ClientStore for SledStore {
    async fn create_client(&self, client: Client) -> Result<()> {
        let bytes = encode(&client)?;
        self.clients
            .compare_and_swap(client.client_id.as_bytes(), None::<&[u8]>, Some(bytes))
            .map_err(Error::internal)?
            .map_err(|_| {
                Error::new(ErrorCode::Conflict, "A client with this id already exists.")
            })?;
        self.flush().await
    }

    async fn get_client(&self, client_id: &str) -> Result<Option<Arc<Client>>> {
        match self.clients.get(client_id).map_err(Error::internal)? {
            Some(bytes) => Ok(Some(Arc::new(decode(&bytes)?))),
            None => Ok(None),
        }
    }

    async fn update_client(&self, client: Client) -> Result<()> {
        let bytes = encode(&client)?;
        let id = client.client_id.as_bytes();
        self.clients
            .transaction(|clients| {
                if clients.get(id)?.is_none() {
                    return Err(abort(Error::not_found("No client with this id.")));
                }
                clients.insert(id, bytes.as_slice())?;
                Ok(())
            })
            .map_err(tx_error)?;
        self.flush().await
    }

    async fn delete_client(&self, client_id: &str) -> Result<bool> {
        let existed = self
            .clients
            .remove(client_id)
            .map_err(Error::internal)?
            .is_some();
        self.flush().await?;
        Ok(existed)
    }

    async fn list_clients(&self, query: &ClientQuery) -> Result<ClientPage> {
        let start = match &query.page_token {
            Some(after) => Bound::Excluded(after.as_bytes()),
            None => Bound::Unbounded,
        };
        let limit = query.limit();
        let mut clients = Vec::new();
        for entry in self.clients.range::<&[u8], _>((start, Bound::Unbounded)) {
            let (_, bytes) = entry.map_err(Error::internal)?;
            let client: Client = decode(&bytes)?;
            if query.matches(&client) {
                clients.push(Arc::new(client));
                if clients.len() > limit {
                    break;
                }
            }
        }
        let next_page_token = if clients.len() > limit {
            clients.truncate(limit);
            clients.last().map(|c| c.client_id.clone())
        } else {
            None
        };
        Ok(ClientPage {
            clients,
            next_page_token,
        })
    }
}

#[async_trait]
impl TokenStore for SledStore {
    async fn insert_tokens(&self, tokens: Vec<TokenRecord>) -> Result<()> {
        self.token_tx(|tx| tx.insert_all(&tokens))
    }

    async fn get_token(&self, signature: &str) -> Result<Option<Arc<TokenRecord>>> {
        match self.tokens.get(signature).map_err(Error::internal)? {
            Some(bytes) => Ok(Some(Arc::new(decode(&bytes)?))),
            None => Ok(None),
        }
    }

    async fn consume_code(&self, signature: &str) -> Result<Consumed> {
        let outcome = self.token_tx(|tx| {
            let Some(rec) = tx.get(signature)? else {
                return Ok(Consumed::NotFound);
            };
            if rec.kind != TokenKind::AuthorizationCode {
                return Ok(Consumed::NotFound);
            }
            if rec.status != TokenStatus::Active {
                return Ok(Consumed::AlreadyUsed {
                    grant_id: rec.grant_id,
                });
            }
            tx.put(&TokenRecord {
                status: TokenStatus::Consumed,
                ..rec.clone()
            })?;
            Ok(Consumed::Redeemed(Arc::new(rec)))
        })?;
        self.flush().await?;
        Ok(outcome)
    }

    async fn rotate_refresh(
        &self,
        signature: &str,
        replacements: Vec<TokenRecord>,
    ) -> Result<Rotated> {
        let outcome = self.token_tx(|tx| {
            let Some(rec) = tx.get(signature)? else {
                return Ok(Rotated::NotFound);
            };
            if rec.kind != TokenKind::RefreshToken {
                return Ok(Rotated::NotFound);
            }
            if rec.status != TokenStatus::Active {
                return Ok(Rotated::AlreadyUsed {
                    grant_id: rec.grant_id,
                });
            }
            tx.put(&TokenRecord {
                status: TokenStatus::Rotated,
                ..rec.clone()
            })?;
            tx.insert_all(&replacements)?;
            Ok(Rotated::Rotated(Arc::new(rec)))
        })?;
        self.flush().await?;
        Ok(outcome)
    }

    async fn revoke_token(&self, signature: &str) -> Result<bool> {
        let existed = self.token_tx(|tx| {
            let Some(mut rec) = tx.get(signature)? else {
                return Ok(false);
            };
            if rec.status == TokenStatus::Active {
                rec.status = TokenStatus::Revoked;
                tx.put(&rec)?;
            }
            Ok(true)
        })?;
        self.flush().await?;
        Ok(existed)
    }

    async fn revoke_grant(&self, grant_id: &str) -> Result<()> {
        self.close_grant(grant_id)?;
        self.flush().await
    }

    async fn revoke_client_tokens(&self, client_id: &str) -> Result<u64> {
        let mut count = 0;
        for grant_id in second_parts(&self.client_grants, client_id)? {
            count += self.close_grant(&grant_id)?;
        }
        self.flush().await?;
        Ok(count)
    }

    async fn flush_inactive(&self, before: i64) -> Result<u64> {
        let mut expired = Vec::new();
        for entry in self.tokens.iter() {
            let (signature, bytes) = entry.map_err(Error::internal)?;
            let rec: TokenRecord = decode(&bytes)?;
            if rec.expires_at < before {
                expired.push(signature);
            }
        }
        let mut deleted = 0;
        for batch in expired.chunks(FLUSH_BATCH) {
            deleted += self.delete_expired(batch, before)?;
        }
        for entry in self.revoked_grants.iter() {
            let (grant_id, bytes) = entry.map_err(Error::internal)?;
            // Only if unchanged: a concurrent revocation may have extended it.
            let until = decode_i64(&bytes)?;
            let replacement = if until == MARKER_UNTIL_FIRST_FLUSH {
                Some(
                    before
                        .saturating_add(REVOKED_GRANT_GRACE)
                        .to_be_bytes()
                        .to_vec(),
                )
            } else if until < before {
                None
            } else {
                continue;
            };
            let _ = self
                .revoked_grants
                .compare_and_swap(&grant_id, Some(&bytes), replacement)
                .map_err(Error::internal)?;
        }
        Ok(deleted)
    }
}

#[async_trait]
impl KeyStore for SledStore {
    async fn put_key(&self, key: StoredKey) -> Result<()> {
        let new_seq = self.db.generate_id().map_err(Error::internal)?;
        let kid = key.kid.as_bytes();
        self.keys
            .transaction(|keys| {
                let seq = match keys.get(kid)? {
                    Some(bytes) => decode::<KeyEntry>(&bytes).map_err(abort)?.seq,
                    None => new_seq,
                };
                let entry = KeyEntry {
                    seq,
                    key: key.clone(),
                };
                keys.insert(kid, encode(&entry).map_err(abort)?)?;
                Ok(())
            })
            .map_err(tx_error)?;
        self.flush().await
    }

    async fn keys(&self) -> Result<Vec<StoredKey>> {
        let mut entries = self
            .keys
            .iter()
            .values()
            .map(|v| decode::<KeyEntry>(&v.map_err(Error::internal)?))
            .collect::<Result<Vec<_>>>()?;
        entries.sort_by_key(|e| e.seq);
        Ok(entries.into_iter().map(|e| e.key).collect())
    }

    async fn delete_key(&self, kid: &str) -> Result<bool> {
        let existed = self.keys.remove(kid).map_err(Error::internal)?.is_some();
        self.flush().await?;
        Ok(existed)
    }
}
