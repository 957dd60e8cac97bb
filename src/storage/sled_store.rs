//! A [`Storage`](super::Storage) in one sled directory: the default for a single app
//! instance.
//!
//! Layout (storage layout 2; one sled tree each):
//!
//! - `clients`: `client_id` → JSON [`Client`](crate::model::Client) (decoded clients are
//!   also cached in memory, see `sled_clients.rs`);
//! - `tokens`: signature → JSON [`TokenRecord`](crate::model::TokenRecord);
//! - `revoked_grants`: `grant_id` → until when the revocation marker is needed (unix
//!   seconds, `i64` big-endian);
//! - `keys`: `kid` → JSON signing key with its insertion sequence number;
//! - `assertion_ids`: used client assertion ids (`sled_assertions.rs`; a directory
//!   written before the tree existed simply has none);
//! - the session trees (flows, login sessions, consents), described in `sled_sessions.rs`;
//! - `trusts` and `trust_keys`: the JWT-bearer grant's trust relationships
//!   (`sled_trust.rs`; as with `assertion_ids`, an older directory simply has none);
//! - in the default tree, `portcullis.layout` → `2`.
//!
//! There is no index of tokens by grant or by client, and no token operation is a sled
//! transaction (in sled 0.34 one takes a global write lock). What is atomic, and how
//! (the full argument is in `sled_tokens.rs`):
//!
//! - issuing tokens: one plain write per record, then a read of the grant's marker (a
//!   marker found means the records are deleted again and the insert refused);
//! - revoking a grant: one write of its marker, which every read of a record honours: an
//!   `Active` record of a marked grant reads as `Revoked`, so an insert racing the
//!   revocation can leave a record behind but never a live one;
//! - consuming a code, rotating a refresh token, revoking one token: a compare-and-swap
//!   of that record's bytes, after checking its status and its grant's marker; of
//!   concurrent calls exactly one wins;
//! - revoking a client's tokens and flushing expired records: one scan of the whole
//!   `tokens` tree each (cost proportional to all stored records, every client's),
//!   acceptable for these rare admin and maintenance operations.
//!
//! Client writes and cache fills are serialized by the client cache's lock
//! (`sled_clients.rs`). Revocations, consumed codes, rotations and client, key and
//! trust writes are flushed before they return; issuance rides on sled's periodic flush.
//!
//! [`SledStore::open`] writes the layout version into a new directory, upgrades a
//! directory of layout 1 (which kept per-grant and per-client index trees and revoked
//! records one by one: its index trees are dropped, everything else reads as it is), and
//! refuses a directory holding another layout, or unversioned data that is not layout 1,
//! rather than misread it.
//!
//! Compound keys (in the session trees) are `len(first) as u32 BE ‖ first ‖ second`, so
//! no id can be mistaken for a prefix of another.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::StoreFuture;
use serde::{Deserialize, Serialize};
use sled::transaction::{
    ConflictableTransactionError, ConflictableTransactionResult, TransactionError,
};
use sled::{Db, Tree};

use super::sled_clients::ClientCache;
use super::sled_sessions::SessionTrees;
use super::KeyStore;
use crate::error::{Error, ErrorCode, Result};
use crate::model::StoredKey;

/// How many expired records a flush deletes per transaction.
pub(super) const FLUSH_BATCH: usize = 256;

/// The key of the layout version, in the default tree.
const LAYOUT_KEY: &[u8] = b"portcullis.layout";

/// The layout this version reads and writes.
const LAYOUT: &[u8] = b"2";

/// How long [`SledStore::open`] waits for a directory's lock to be released.
pub const RELEASE_WAIT: Duration = Duration::from_secs(2);

/// A [`Storage`](super::Storage) on sled. Cheap to clone: clones share the database.
#[derive(Debug, Clone)]
pub struct SledStore {
    pub(super) db: Db,
    pub(super) clients: Tree,
    pub(super) client_cache: Arc<ClientCache>,
    pub(super) tokens: Tree,
    pub(super) revoked_grants: Tree,
    pub(super) assertion_ids: Tree,
    keys: Tree,
    pub(super) sessions: SessionTrees,
    pub(super) trusts: Tree,
    pub(super) trust_keys: Tree,
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
    ///
    /// Upgrades a directory of storage layout 1 (portcullis before the layout version).
    /// Fails if the directory holds data of another storage layout (written by another
    /// version of portcullis): the error's description names both layouts. Fails if
    /// another store has the directory open, after waiting up to [`RELEASE_WAIT`] in case
    /// that store was just dropped: sled closes its files on background threads, so a
    /// store dropped and reopened in one process may find the directory still locked.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let config = sled::Config::new().path(path);
        let deadline = Instant::now() + RELEASE_WAIT;
        loop {
            match config.open() {
                Ok(db) => return Self::from_db(db),
                Err(e) if is_locked(&e) && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => return Err(Error::internal(e)),
            }
        }
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
        check_layout(&db)?;
        let tree = |name: &str| db.open_tree(name).map_err(Error::internal);
        Ok(Self {
            clients: tree("clients")?,
            client_cache: Arc::default(),
            tokens: tree("tokens")?,
            revoked_grants: tree("revoked_grants")?,
            assertion_ids: tree("assertion_ids")?,
            keys: tree("keys")?,
            sessions: SessionTrees::open(&db)?,
            trusts: tree("trusts")?,
            trust_keys: tree("trust_keys")?,
            db,
        })
    }

    /// Makes every write so far durable. Deliberately the blocking `flush`: in sled 0.34,
    /// concurrent `flush_async` calls can exhaust sled's own I/O thread pool while a
    /// transaction waits for the global lock, and deadlock (spacejam/sled#1308; seen here
    /// with 32 concurrent redemptions). The blocking flush runs on the caller's thread and
    /// leaves the pool free to write.
    pub(super) fn flush(&self) -> Result<()> {
        self.db.flush().map_err(Error::internal)?;
        Ok(())
    }
}

/// Whether sled failed to open a directory because another database holds its lock.
fn is_locked(e: &sled::Error) -> bool {
    matches!(e, sled::Error::Io(io) if io.to_string().starts_with("could not acquire lock"))
}

/// The index trees of layout 1, which layout 2 replaced with revocation markers read back.
const LAYOUT_1_INDEXES: [&str; 2] = ["grant_tokens", "client_grants"];

/// Accepts a directory of this layout, stamps an empty one with it, upgrades one of
/// layout 1, and refuses any other.
fn check_layout(db: &Db) -> Result<()> {
    let found = db.get(LAYOUT_KEY).map_err(Error::internal)?;
    match found {
        Some(layout) if layout == LAYOUT => drop_layout_1_indexes(db),
        None if is_empty(db)? => stamp(db),
        None if is_layout_1(db) => {
            // Layout 1's records, markers, clients, keys and sessions read the same in
            // layout 2 (a record of a revoked grant was also marked): only its index
            // trees go. Stamped first, so a crash before they are dropped leaves a
            // layout 2 directory that drops them at the next open.
            tracing::info!("upgrading the sled store from storage layout 1 to 2");
            stamp(db)?;
            drop_layout_1_indexes(db)
        }
        found => {
            let found = match &found {
                Some(layout) => format!("layout {}", String::from_utf8_lossy(layout)),
                None => "data without a layout version".to_owned(),
            };
            let description = format!(
                "The sled directory holds {found}; this version of portcullis reads \
                 storage layout {}. Open it with the version that wrote it.",
                String::from_utf8_lossy(LAYOUT)
            );
            tracing::error!(%description, "refusing to open the sled store");
            Err(Error::new(ErrorCode::ServerError, description))
        }
    }
}

fn stamp(db: &Db) -> Result<()> {
    db.insert(LAYOUT_KEY, LAYOUT).map_err(Error::internal)?;
    db.flush().map_err(Error::internal)?;
    Ok(())
}

/// Whether the directory has every token tree layout 1 created.
fn is_layout_1(db: &Db) -> bool {
    let names = db.tree_names();
    ["tokens", "revoked_grants"]
        .iter()
        .chain(&LAYOUT_1_INDEXES)
        .all(|t| names.iter().any(|n| n == t.as_bytes()))
}

fn drop_layout_1_indexes(db: &Db) -> Result<()> {
    let names = db.tree_names();
    for index in LAYOUT_1_INDEXES {
        if names.iter().any(|n| n == index.as_bytes()) {
            db.drop_tree(index).map_err(Error::internal)?;
        }
    }
    Ok(())
}

/// Whether no tree of the database holds anything.
fn is_empty(db: &Db) -> Result<bool> {
    for name in db.tree_names() {
        if !db.open_tree(&name).map_err(Error::internal)?.is_empty() {
            return Ok(false);
        }
    }
    Ok(true)
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

pub(super) fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::internal(format!("corrupt record: {e}")))
}

fn utf8(bytes: &[u8]) -> Result<String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| Error::internal("corrupt index key"))
}

/// A page of `tree`'s JSON values in key order, after the key `page_token`: at most
/// `limit` that pass `keep`, and the next page token when more follow.
pub(super) fn page<T: serde::de::DeserializeOwned>(
    tree: &Tree,
    page_token: Option<&str>,
    limit: usize,
    keep: impl Fn(&T) -> bool,
) -> Result<(Vec<Arc<T>>, Option<String>)> {
    let start = match page_token {
        Some(after) => std::ops::Bound::Excluded(after.as_bytes()),
        None => std::ops::Bound::Unbounded,
    };
    let mut matching = Vec::new();
    for entry in tree.range::<&[u8], _>((start, std::ops::Bound::Unbounded)) {
        let (key, bytes) = entry.map_err(Error::internal)?;
        let value: T = decode(&bytes)?;
        if keep(&value) {
            matching.push((utf8(&key)?, Arc::new(value)));
            if matching.len() > limit {
                break;
            }
        }
    }
    Ok(super::page_of(matching, limit))
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

impl KeyStore for SledStore {
    fn put_key<'a>(&'a self, key: StoredKey) -> StoreFuture<'a, Result<()>> {
        StoreFuture::now(|| {
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
            self.flush()
        })
    }

    fn keys<'a>(&'a self) -> StoreFuture<'a, Result<Vec<StoredKey>>> {
        StoreFuture::now(|| {
            let mut entries = self
                .keys
                .iter()
                .values()
                .map(|v| decode::<KeyEntry>(&v.map_err(Error::internal)?))
                .collect::<Result<Vec<_>>>()?;
            entries.sort_by_key(|e| e.seq);
            Ok(entries.into_iter().map(|e| e.key).collect())
        })
    }

    fn delete_key<'a>(&'a self, kid: &'a str) -> StoreFuture<'a, Result<bool>> {
        StoreFuture::now(|| {
            let existed = self.keys.remove(kid).map_err(Error::internal)?.is_some();
            self.flush()?;
            Ok(existed)
        })
    }
}
