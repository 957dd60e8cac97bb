//! The [`TokenStore`] half of [`SledStore`]: the `tokens` and `revoked_grants` trees.
//!
//! No operation here is a sled transaction (in sled 0.34 a transaction takes a global
//! write lock and costs several plain writes); each is plain reads and writes of single
//! keys, with compare-and-swap where a race must have one winner.
//!
//! **Revocation is a marker read back.** Revoking a grant writes its marker in
//! `revoked_grants` and nothing else; every read of a record treats an `Active` record
//! whose grant has a marker as `Revoked` ([`TokenStore::get_token`] answers it so, and
//! consuming, rotating or revoking it finds it already used). A record therefore never
//! needs to be rewritten when its grant is revoked, and an insert racing a revocation can
//! store a record but never a live one. Each operation:
//!
//! - `insert_tokens`: one plain write per record, then a read of each grant's marker; if
//!   one is there, the records just written are deleted again and the call fails with
//!   `invalid_grant`. A revocation whose marker is written before that read refuses the
//!   insert; one written after it revokes the new tokens through the marker. Not flushed:
//!   issuance rides on sled's periodic flush, and a record lost in a crash is a token
//!   that no longer works, never one that works too long. A record left behind by a
//!   crash between write and delete is revoked by the marker it found.
//! - `consume_code`, `rotate_refresh`, `revoke_token`: read the record, check its status
//!   and its grant's marker, then compare-and-swap the stored bytes for the record with
//!   its new status; a lost swap reads again, so of concurrent calls exactly one moves an
//!   active record. A rotation first refuses replacements into a revoked grant (changing
//!   nothing), swaps the old token to `Rotated` (recording when), then inserts the
//!   replacements as `insert_tokens` does; a token rotated before but within the grace
//!   period is swapped to count one more reuse (its rotation time stays), so of
//!   concurrent reuses no more than the limit win. Flushed before returning.
//! - `revoke_grant`: writes the marker unless one is there (a marker's `until` only ever
//!   grows), then flushes.
//! - `revoke_client_tokens`: scans the whole `tokens` tree for the client's records and
//!   marks each of their grants as `revoke_grant` does, then flushes. Its cost grows with
//!   the number of stored records (all clients'); it is a rare admin operation (client
//!   deletion, `DELETE /admin/oauth2/tokens`). A token issued to the client while the
//!   scan runs may escape it, as it could escape any revocation that precedes it.
//! - `use_assertion_id`: one compare-and-swap in `assertion_ids` (`sled_assertions.rs`),
//!   flushed before returning a first use.
//! - `flush_inactive`: also one scan of `tokens`. It deletes the records that expired
//!   (compare-and-swap, so a record changed meanwhile is read again) and, for every
//!   marker that existed before the scan, learns the latest expiry of the grant's
//!   records. A marker then lives until the last record of its grant expires (so no
//!   record can outlive the marker that revokes it), or, for a grant without records,
//!   until [`REVOKED_GRANT_GRACE`] after the first flush that sees it
//!   ([`MARKER_UNTIL_FIRST_FLUSH`] until then). Markers are rewritten or removed by
//!   compare-and-swap, so a concurrent revocation is never undone.
//!
//! Crashes: a plain write is atomic per key, and the operations that must survive
//! (consume, rotate, revoke) flush before they return. A rotation interrupted between
//! its swap and its replacements leaves the old token rotated and no successor: the
//! client never got an answer and must authorize again, but nothing revoked comes back.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::StoreFuture;
use serde::Deserialize;
use sled::IVec;

use super::sled_store::{decode, encode, SledStore};
use super::{
    Consumed, Rotated, Rotation, TokenStore, MARKER_UNTIL_FIRST_FLUSH, REVOKED_GRANT_GRACE,
};
use crate::error::{Error, Result};
use crate::model::{TokenKind, TokenRecord, TokenStatus};

/// The outcome of [`SledStore::transition`].
enum Transition {
    /// This call moved the record: the record as it was.
    Moved(TokenRecord),
    /// The record may not move (spent, revoked, or its grant revoked): the record as
    /// stored.
    Inactive(TokenRecord),
    /// No record, or one of another kind.
    NotFound,
}

/// The fields of a stored record the scans need, decoded without copying.
#[derive(Deserialize)]
struct RecordHead<'a> {
    #[serde(borrow)]
    grant_id: Cow<'a, str>,
    #[serde(borrow)]
    client_id: Cow<'a, str>,
    expires_at: i64,
}

fn active(rec: &TokenRecord) -> bool {
    rec.status == TokenStatus::Active
}

fn revoked_grant() -> Error {
    Error::invalid_grant("The grant has been revoked.")
}

fn decode_i64(bytes: &[u8]) -> Result<i64> {
    <[u8; 8]>::try_from(bytes)
        .map(i64::from_be_bytes)
        .map_err(|_| Error::internal("corrupt revocation marker"))
}

/// Every distinct grant of `records`, in order.
fn grants_of(records: &[TokenRecord]) -> impl Iterator<Item = &str> {
    records.iter().enumerate().filter_map(|(i, rec)| {
        let seen = records[..i].iter().any(|r| r.grant_id == rec.grant_id);
        (!seen).then_some(&*rec.grant_id)
    })
}

impl SledStore {
    /// Whether the grant has a revocation marker.
    fn grant_revoked(&self, grant_id: &str) -> Result<bool> {
        self.revoked_grants
            .contains_key(grant_id)
            .map_err(Error::internal)
    }

    /// Fails with `invalid_grant` if one of the records' grants is revoked.
    fn refuse_revoked(&self, records: &[TokenRecord]) -> Result<()> {
        for grant_id in grants_of(records) {
            if self.grant_revoked(grant_id)? {
                return Err(revoked_grant());
            }
        }
        Ok(())
    }

    /// Stores new records (one plain write each); if one's grant turns out revoked,
    /// deletes them again and fails with `invalid_grant`.
    fn insert_records(&self, records: &[TokenRecord]) -> Result<()> {
        let encoded = records.iter().map(encode).collect::<Result<Vec<_>>>()?;
        for (rec, bytes) in records.iter().zip(encoded) {
            self.tokens
                .insert(rec.signature.as_bytes(), bytes)
                .map_err(Error::internal)?;
        }
        if let Err(refused) = self.refuse_revoked(records) {
            for rec in records {
                self.tokens
                    .remove(rec.signature.as_bytes())
                    .map_err(Error::internal)?;
            }
            return Err(refused);
        }
        Ok(())
    }

    /// Moves the record to what `to` makes of it, if `to` makes something of it (for an
    /// active record, out of `Active`), its grant is not revoked, it is of kind `kind`
    /// (any, for `None`), and `admit` (run once the record qualifies, before it moves)
    /// does not fail. Compare-and-swap on the stored bytes: of concurrent calls, each
    /// moves the record from what the one before left, so exactly one moves an active
    /// record out of `Active`.
    fn transition(
        &self,
        signature: &str,
        kind: Option<TokenKind>,
        to: impl Fn(&TokenRecord) -> Option<TokenRecord>,
        admit: impl Fn() -> Result<()>,
    ) -> Result<Transition> {
        loop {
            let Some(bytes) = self.tokens.get(signature).map_err(Error::internal)? else {
                return Ok(Transition::NotFound);
            };
            let rec: TokenRecord = decode(&bytes)?;
            if kind.is_some_and(|k| k != rec.kind) {
                return Ok(Transition::NotFound);
            }
            let moved = match to(&rec) {
                Some(moved) if !self.grant_revoked(&rec.grant_id)? => encode(&moved)?,
                _ => return Ok(Transition::Inactive(rec)),
            };
            admit()?;
            let swapped = self
                .tokens
                .compare_and_swap(signature, Some(&bytes), Some(moved))
                .map_err(Error::internal)?;
            if swapped.is_ok() {
                return Ok(Transition::Moved(rec));
            }
        }
    }

    /// Writes the grant's revocation marker unless it has one (whose `until` stays).
    fn mark_revoked(&self, grant_id: &str) -> Result<()> {
        let _ = self
            .revoked_grants
            .compare_and_swap(
                grant_id,
                None::<&[u8]>,
                Some(&MARKER_UNTIL_FIRST_FLUSH.to_be_bytes()[..]),
            )
            .map_err(Error::internal)?;
        Ok(())
    }

    /// Deletes a record that expired before `before`, unless it changed into one that
    /// did not; whether it did.
    fn delete_expired(&self, signature: &[u8], mut bytes: IVec, before: i64) -> Result<bool> {
        loop {
            if decode::<RecordHead<'_>>(&bytes)?.expires_at >= before {
                return Ok(false);
            }
            match self
                .tokens
                .compare_and_swap(signature, Some(&bytes), None::<&[u8]>)
                .map_err(Error::internal)?
            {
                Ok(()) => return Ok(true),
                Err(changed) => match changed.current {
                    Some(current) => bytes = current,
                    None => return Ok(false),
                },
            }
        }
    }

    /// Sets or drops one marker after a flush: `latest` is the latest expiry of the
    /// grant's records the flush saw. Only if the marker is still `bytes`.
    fn settle_marker(
        &self,
        grant_id: &[u8],
        bytes: &IVec,
        latest: Option<i64>,
        before: i64,
    ) -> Result<()> {
        let stored = decode_i64(bytes)?;
        let until = match (stored, latest) {
            (MARKER_UNTIL_FIRST_FLUSH, None) => before.saturating_add(REVOKED_GRANT_GRACE),
            (MARKER_UNTIL_FIRST_FLUSH, Some(latest)) => latest,
            (stored, latest) => stored.max(latest.unwrap_or(i64::MIN)),
        };
        let replacement = if until < before {
            None
        } else if until != stored {
            Some(until.to_be_bytes().to_vec())
        } else {
            return Ok(());
        };
        // Lost only to a concurrent revocation, which keeps the marker as it wants it.
        let _ = self
            .revoked_grants
            .compare_and_swap(grant_id, Some(bytes), replacement)
            .map_err(Error::internal)?;
        Ok(())
    }
}

impl TokenStore for SledStore {
    fn insert_tokens<'a>(&'a self, tokens: Vec<TokenRecord>) -> StoreFuture<'a, Result<()>> {
        StoreFuture::now(|| self.insert_records(&tokens))
    }

    fn get_token<'a>(
        &'a self,
        signature: &'a str,
    ) -> StoreFuture<'a, Result<Option<Arc<TokenRecord>>>> {
        StoreFuture::now(|| {
            let Some(bytes) = self.tokens.get(signature).map_err(Error::internal)? else {
                return Ok(None);
            };
            let mut rec: TokenRecord = decode(&bytes)?;
            if rec.status == TokenStatus::Active && self.grant_revoked(&rec.grant_id)? {
                rec.status = TokenStatus::Revoked;
            }
            Ok(Some(Arc::new(rec)))
        })
    }

    fn consume_code<'a>(&'a self, signature: &'a str) -> StoreFuture<'a, Result<Consumed>> {
        StoreFuture::now(|| {
            let outcome = match self.transition(
                signature,
                Some(TokenKind::AuthorizationCode),
                |rec| active(rec).then(|| rec.with_status(TokenStatus::Consumed)),
                || Ok(()),
            )? {
                Transition::Moved(rec) => Consumed::Redeemed(Arc::new(rec)),
                Transition::Inactive(rec) => Consumed::AlreadyUsed {
                    grant_id: rec.grant_id,
                },
                Transition::NotFound => return Ok(Consumed::NotFound),
            };
            self.flush()?;
            Ok(outcome)
        })
    }

    fn rotate_refresh<'a>(
        &'a self,
        signature: &'a str,
        replacements: Vec<TokenRecord>,
        rotation: Rotation,
    ) -> StoreFuture<'a, Result<Rotated>> {
        StoreFuture::now(|| {
            let outcome = match self.transition(
                signature,
                Some(TokenKind::RefreshToken),
                |rec| rotation.admits(rec).then(|| rotation.rotated(rec)),
                || self.refuse_revoked(&replacements),
            )? {
                Transition::Moved(rec) => self
                    .insert_records(&replacements)
                    .map(|()| Rotated::Rotated(Arc::new(rec))),
                Transition::Inactive(rec) => Ok(Rotated::AlreadyUsed {
                    grant_id: rec.grant_id,
                }),
                Transition::NotFound => return Ok(Rotated::NotFound),
            };
            self.flush()?;
            outcome
        })
    }

    fn revoke_token<'a>(&'a self, signature: &'a str) -> StoreFuture<'a, Result<bool>> {
        StoreFuture::now(|| {
            let existed = !matches!(
                self.transition(
                    signature,
                    None,
                    |rec| active(rec).then(|| rec.with_status(TokenStatus::Revoked)),
                    || Ok(())
                )?,
                Transition::NotFound
            );
            self.flush()?;
            Ok(existed)
        })
    }

    fn revoke_grant<'a>(&'a self, grant_id: &'a str) -> StoreFuture<'a, Result<()>> {
        StoreFuture::now(|| {
            self.mark_revoked(grant_id)?;
            self.flush()
        })
    }

    fn revoke_client_tokens<'a>(&'a self, client_id: &'a str) -> StoreFuture<'a, Result<u64>> {
        StoreFuture::now(|| {
            let mut count = 0;
            let mut grants = HashSet::new();
            for entry in self.tokens.iter() {
                let (_, bytes) = entry.map_err(Error::internal)?;
                let head: RecordHead<'_> = decode(&bytes)?;
                if head.client_id == client_id {
                    count += 1;
                    if !grants.contains(head.grant_id.as_ref()) {
                        grants.insert(head.grant_id.into_owned());
                    }
                }
            }
            for grant_id in &grants {
                self.mark_revoked(grant_id)?;
            }
            self.flush()?;
            Ok(count)
        })
    }

    fn use_assertion_id<'a>(
        &'a self,
        client_id: &'a str,
        jti: &'a str,
        expires_at: i64,
    ) -> StoreFuture<'a, Result<bool>> {
        StoreFuture::now(|| {
            let first = self.insert_assertion_id(client_id, jti, expires_at)?;
            if first {
                self.flush()?;
            }
            Ok(first)
        })
    }

    fn flush_inactive<'a>(&'a self, before: i64) -> StoreFuture<'a, Result<u64>> {
        StoreFuture::now(|| {
            let mut deleted = self.flush_assertion_ids(before)?;
            // The markers as they were before the scan: a grant revoked later is left alone.
            let markers = self
                .revoked_grants
                .iter()
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(Error::internal)?;
            // The latest expiry of each marked grant's records.
            let mut latest: HashMap<IVec, Option<i64>> = markers
                .iter()
                .map(|(grant_id, _)| (grant_id.clone(), None))
                .collect();
            for entry in self.tokens.iter() {
                let (signature, bytes) = entry.map_err(Error::internal)?;
                let head: RecordHead<'_> = decode(&bytes)?;
                if let Some(l) = latest.get_mut(head.grant_id.as_bytes()) {
                    *l = Some(l.map_or(head.expires_at, |l| l.max(head.expires_at)));
                }
                if head.expires_at < before
                    && self.delete_expired(&signature, bytes.clone(), before)?
                {
                    deleted += 1;
                }
            }
            for (grant_id, bytes) in &markers {
                let seen = latest.get(grant_id).copied().flatten();
                self.settle_marker(grant_id, bytes, seen, before)?;
            }
            Ok(deleted)
        })
    }
}
