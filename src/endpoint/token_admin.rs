//! Token administration (Hydra's admin API): flushing expired records
//! (`POST /admin/oauth2/flush`) and revoking every token of a client
//! (`DELETE /admin/oauth2/tokens?client_id=…`).

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::Provider;

impl Provider {
    /// Deletes token records, flows, login sessions and JWT-bearer trust relationships
    /// that expired before `before`, with the revocation markers and used assertion ids
    /// no longer needed; how many records were deleted.
    ///
    /// `before` is capped at the current time: flushing never deletes a record that is
    /// still valid.
    pub async fn flush_inactive_tokens(&self, before: OffsetDateTime) -> Result<u64> {
        let before = before.min(self.now()).unix_timestamp();
        let tokens = self.store().flush_inactive(before).await?;
        let sessions = self.store().flush_sessions(before).await?;
        let trusts = self.store().flush_trusts(before).await?;
        Ok(tokens.saturating_add(sessions).saturating_add(trusts))
    }

    /// Revokes every token issued to a client (the client itself stays); how many.
    /// Durable on return. Unknown clients have no tokens: the answer is 0.
    pub async fn delete_client_tokens(&self, client_id: &str) -> Result<u64> {
        if client_id.is_empty() {
            return Err(Error::invalid_request(
                "The request is missing the 'client_id' parameter.",
            ));
        }
        self.store().revoke_client_tokens(client_id).await
    }
}
