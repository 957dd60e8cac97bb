//! Session administration: consent sessions (list, revoke — with every token issued
//! under them) and login sessions (revoke by subject or `sid`).

use crate::error::{Error, Result};
use crate::model::{ConsentSession, LoginSession};
use crate::storage::SessionSelector;
use crate::Provider;

/// One page of a subject's consent sessions, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsentPage {
    /// The sessions.
    pub sessions: Vec<ConsentSession>,
    /// The token of the next page; `None` on the last.
    pub next_page_token: Option<String>,
}

impl Provider {
    /// A subject's consent sessions (optionally only those given in login session `sid`),
    /// `page_size` at a time (default 250, at most 500) after `page_token`.
    pub async fn list_consent_sessions(
        &self,
        subject: &str,
        sid: Option<&str>,
        page_size: usize,
        page_token: Option<&str>,
    ) -> Result<ConsentPage> {
        let start = match page_token {
            Some(t) => t
                .parse::<usize>()
                .map_err(|_| Error::invalid_request("The page_token is not valid."))?,
            None => 0,
        };
        let limit = match page_size {
            0 => 250,
            n => n.min(500),
        };
        let all: Vec<ConsentSession> = self
            .store()
            .consents(subject)
            .await?
            .into_iter()
            .filter(|c| sid.is_none_or(|s| *c.sid == *s))
            .collect();
        let end = start.saturating_add(limit).min(all.len());
        let sessions = all.get(start..end).map(<[_]>::to_vec).unwrap_or_default();
        Ok(ConsentPage {
            sessions,
            next_page_token: (end < all.len()).then(|| end.to_string()),
        })
    }

    /// Revokes a subject's consent sessions — all, or those of one client — and every
    /// token issued under them. Tokens go first, so a crash never leaves live tokens
    /// behind a deleted consent.
    pub async fn revoke_consent_sessions(
        &self,
        subject: &str,
        client_id: Option<&str>,
    ) -> Result<u64> {
        let consents = self.store().consents(subject).await?;
        for c in consents
            .iter()
            .filter(|c| client_id.is_none_or(|id| c.client_id == id))
        {
            self.store().revoke_grant(&c.id).await?;
        }
        Ok(self
            .store()
            .delete_consents(subject, client_id)
            .await?
            .len() as u64)
    }

    /// Ends login sessions (by subject or `sid`): the browser must log in again. Tokens
    /// stay valid. Returns the ended sessions.
    pub async fn revoke_login_sessions(
        &self,
        by: SessionSelector<'_>,
    ) -> Result<Vec<LoginSession>> {
        self.store().delete_login_sessions(by).await
    }
}
