//! The used client assertion ids of [`MemoryStore`](super::MemoryStore).

use std::collections::HashMap;

/// Used `(client_id, jti)` pairs and until when each is kept (unix seconds).
///
/// Keyed by values a client chooses, so the map keeps std's SipHash (keyed per map)
/// rather than the faster hash the store uses for server-generated keys.
#[derive(Debug, Default)]
pub(super) struct AssertionIds(HashMap<(String, String), i64>);

impl AssertionIds {
    /// Records the id unless it is there; whether it was not.
    pub(super) fn use_once(&mut self, client_id: &str, jti: &str, expires_at: i64) -> bool {
        match self.0.entry((client_id.to_owned(), jti.to_owned())) {
            std::collections::hash_map::Entry::Occupied(_) => false,
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(expires_at);
                true
            }
        }
    }

    /// Drops the ids that expired before `before`; how many.
    pub(super) fn flush(&mut self, before: i64) -> u64 {
        let count = self.0.len();
        self.0.retain(|_, expires_at| *expires_at >= before);
        (count - self.0.len()) as u64
    }
}
