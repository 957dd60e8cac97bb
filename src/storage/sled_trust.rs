//! The [`TrustStore`] half of [`SledStore`]: two trees, written together in one sled
//! transaction.
//!
//! - `trusts`: `id` → JSON [`TrustedIssuer`];
//! - `trust_keys`: `len(issuer) ‖ issuer ‖ len(subject) ‖ subject ‖ kid` → `id` (lengths
//!   `u32` big-endian; the subject is empty for a trust of any subject).
//!
//! `trust_keys` makes the duplicate check of a creation a read inside the transaction
//! that writes, and answers [`TrustStore::issuer_trusts`] with a prefix scan. Creations
//! and deletions are rare admin calls, so the transaction's global lock costs nothing
//! that matters. Both are flushed before they return.

use std::sync::Arc;

use sled::transaction::TransactionalTree;
use sled::Transactional as _;

use super::sled_store::{
    abort, compound_prefix, decode, encode, page, tx_error, SledStore, TxResult,
};
use super::{StoreFuture, TrustPage, TrustQuery, TrustStore, TRUST_ID_TAKEN, TRUST_KEY_TAKEN};
use crate::error::{Error, ErrorCode, Result};
use crate::model::TrustedIssuer;

/// The `trust_keys` key of a relationship.
fn key_of(trust: &TrustedIssuer) -> Vec<u8> {
    let mut key = compound_prefix(&trust.issuer);
    key.extend_from_slice(&compound_prefix(&trust.subject));
    key.extend_from_slice(trust.public_key.kid.as_bytes());
    key
}

fn conflict(description: &'static str) -> sled::transaction::ConflictableTransactionError<Error> {
    abort(Error::new(ErrorCode::Conflict, description))
}

fn insert(trusts: &TransactionalTree, keys: &TransactionalTree, t: &TrustedIssuer) -> TxResult<()> {
    if trusts.get(t.id.as_bytes())?.is_some() {
        return Err(conflict(TRUST_ID_TAKEN));
    }
    let key = key_of(t);
    if keys.get(&key)?.is_some() {
        return Err(conflict(TRUST_KEY_TAKEN));
    }
    trusts.insert(t.id.as_bytes(), encode(t).map_err(abort)?)?;
    keys.insert(key, t.id.as_bytes())?;
    Ok(())
}

impl SledStore {
    fn read_trust(&self, id: &[u8]) -> Result<Option<TrustedIssuer>> {
        match self.trusts.get(id).map_err(Error::internal)? {
            Some(bytes) => decode(&bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Deletes the relationship `id` with its key, if it exists and `doomed` says so, in
    /// one transaction; whether it did (not flushed).
    fn remove_trust(&self, id: &[u8], doomed: impl Fn(&TrustedIssuer) -> bool) -> Result<bool> {
        (&self.trusts, &self.trust_keys)
            .transaction(|(trusts, keys)| {
                let Some(bytes) = trusts.get(id)? else {
                    return Ok(false);
                };
                let trust: TrustedIssuer = decode(&bytes).map_err(abort)?;
                if !doomed(&trust) {
                    return Ok(false);
                }
                trusts.remove(id)?;
                keys.remove(key_of(&trust))?;
                Ok(true)
            })
            .map_err(tx_error)
    }
}

impl TrustStore for SledStore {
    fn create_trust<'a>(&'a self, trust: TrustedIssuer) -> StoreFuture<'a, Result<()>> {
        StoreFuture::now(|| {
            (&self.trusts, &self.trust_keys)
                .transaction(|(trusts, keys)| insert(trusts, keys, &trust))
                .map_err(tx_error)?;
            self.flush()
        })
    }

    fn get_trust<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Result<Option<Arc<TrustedIssuer>>>> {
        StoreFuture::now(|| Ok(self.read_trust(id.as_bytes())?.map(Arc::new)))
    }

    fn list_trusts<'a>(&'a self, query: &'a TrustQuery) -> StoreFuture<'a, Result<TrustPage>> {
        StoreFuture::now(|| {
            let (trusts, next_page_token) = page(
                &self.trusts,
                query.page_token.as_deref(),
                query.limit(),
                |t| query.matches(t),
            )?;
            Ok(TrustPage {
                trusts,
                next_page_token,
            })
        })
    }

    fn issuer_trusts<'a>(
        &'a self,
        issuer: &'a str,
    ) -> StoreFuture<'a, Result<Vec<Arc<TrustedIssuer>>>> {
        StoreFuture::now(|| {
            let mut found = Vec::new();
            for id in self
                .trust_keys
                .scan_prefix(compound_prefix(issuer))
                .values()
            {
                let id = id.map_err(Error::internal)?;
                // Written with its record in one transaction; a key without one would
                // be a relationship deleted between the two reads.
                if let Some(trust) = self.read_trust(&id)? {
                    found.push(Arc::new(trust));
                }
            }
            Ok(found)
        })
    }

    fn delete_trust<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Result<bool>> {
        StoreFuture::now(|| {
            let existed = self.remove_trust(id.as_bytes(), |_| true)?;
            self.flush()?;
            Ok(existed)
        })
    }

    fn flush_trusts<'a>(&'a self, before: i64) -> StoreFuture<'a, Result<u64>> {
        StoreFuture::now(|| {
            let expired = |t: &TrustedIssuer| t.expired_before(before);
            let mut deleted = 0;
            for entry in self.trusts.iter() {
                let (id, bytes) = entry.map_err(Error::internal)?;
                // Judged again inside the transaction: the record may have changed.
                if expired(&decode(&bytes)?) && self.remove_trust(&id, expired)? {
                    deleted += 1;
                }
            }
            if deleted > 0 {
                self.flush()?;
            }
            Ok(deleted)
        })
    }
}
