//! The used client assertion ids of [`SledStore`]: the `assertion_ids` tree,
//! `compound(client_id, jti)` → until when the id is kept (unix seconds, `i64`
//! big-endian).
//!
//! Using an id is one compare-and-swap from absent to present, so of concurrent uses
//! exactly one finds it absent. An id is never rewritten; a flush deletes it by
//! compare-and-swap once it expired.

use super::sled_store::{compound, SledStore};
use crate::error::{Error, Result};

fn decode_expiry(bytes: &[u8]) -> Result<i64> {
    <[u8; 8]>::try_from(bytes)
        .map(i64::from_be_bytes)
        .map_err(|_| Error::internal("corrupt assertion id record"))
}

impl SledStore {
    /// Records the id unless it is there; whether it was not. Not flushed here.
    pub(super) fn insert_assertion_id(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: i64,
    ) -> Result<bool> {
        let swapped = self
            .assertion_ids
            .compare_and_swap(
                compound(client_id, jti),
                None::<&[u8]>,
                Some(&expires_at.to_be_bytes()[..]),
            )
            .map_err(Error::internal)?;
        Ok(swapped.is_ok())
    }

    /// Deletes the ids that expired before `before`; how many.
    pub(super) fn flush_assertion_ids(&self, before: i64) -> Result<u64> {
        let mut deleted = 0;
        for entry in self.assertion_ids.iter() {
            let (key, bytes) = entry.map_err(Error::internal)?;
            if decode_expiry(&bytes)? >= before {
                continue;
            }
            let removed = self
                .assertion_ids
                .compare_and_swap(&key, Some(&bytes), None::<&[u8]>)
                .map_err(Error::internal)?;
            if removed.is_ok() {
                deleted += 1;
            }
        }
        Ok(deleted)
    }
}
