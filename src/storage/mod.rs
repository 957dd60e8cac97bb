//! The storage contract.
//!
//! Storage is split by aggregate — [`ClientStore`], [`TokenStore`], [`SessionStore`],
//! [`KeyStore`], [`TrustStore`] — and
//! [`Storage`] is their sum, so `Arc<dyn Storage>` is what a [`Provider`](crate::Provider)
//! holds. Every operation that protects users is **one atomic trait method**, never a
//! get-then-put in the engine:
//!
//! - [`TokenStore::consume_code`]: an authorization code is redeemed at most once; a
//!   second redemption learns which grant the code belonged to, so the engine can revoke it.
//! - [`TokenStore::rotate_refresh`]: a refresh token is exchanged at most once, or, with
//!   a rotation grace period, any number of times within that period after its first
//!   exchange.
//! - [`SessionStore::update_flow`]: a login or consent challenge moves forward at most
//!   once (compare-and-swap on the flow's version), so a handled challenge cannot be
//!   accepted twice and a verifier cannot be redeemed twice.
//! - [`TokenStore::revoke_grant`]: a whole family of tokens is revoked, and no token can be
//!   added to a revoked family afterwards ([`TokenStore::insert_tokens`] refuses).
//! - [`TokenStore::use_assertion_id`]: a client assertion's `jti` (`private_key_jwt`) is
//!   accepted once per client (insert-if-absent), so a captured assertion cannot be
//!   replayed. The JWT-bearer grant spends its assertions' ids through it too, in a
//!   namespace no client id can take.
//! - [`TrustStore::create_trust`]: a trust relationship is stored unless one for the same
//!   issuer, subject and key exists (checked and written at once).
//!
//! Durability: revocations, consumed codes, rotations, used assertion ids and trust
//! relationships created or deleted are durable when the call returns. Issuance may ride on the backend's normal flush.
//!
//! Errors: backends answer with [`Error`](crate::Error); a failure of the backend itself is
//! [`Error::internal`](crate::Error::internal), a race lost is an ordinary outcome.
//!
//! Every operation returns a [`StoreFuture`]: a store that answers in the caller's
//! thread (memory, sled) returns [`StoreFuture::now`], which allocates nothing; one that
//! waits on I/O returns [`StoreFuture::boxed`] around an `async` block. The engine awaits
//! both the same way.

use std::sync::Arc;

use crate::error::Result;
use crate::model::{
    Client, ConsentSession, Flow, LoginSession, LogoutFlow, StoredKey, TokenRecord, TokenStatus,
    TrustedIssuer,
};

mod future;
pub mod memory;
mod memory_assertions;
mod memory_table;
mod memory_trust;
#[cfg(feature = "postgres")]
mod postgres_sessions;
#[cfg(feature = "postgres")]
pub mod postgres_store;
#[cfg(feature = "postgres")]
mod postgres_tokens;
#[cfg(feature = "postgres")]
mod postgres_trust;
#[cfg(feature = "sled")]
mod sled_assertions;
#[cfg(feature = "sled")]
mod sled_clients;
#[cfg(feature = "sled")]
mod sled_sessions;
#[cfg(feature = "sled")]
pub mod sled_store;
#[cfg(feature = "sled")]
mod sled_tokens;
#[cfg(feature = "sled")]
mod sled_trust;

#[cfg(feature = "postgres")]
pub use self::postgres_store::PostgresStore;
#[cfg(feature = "sled")]
pub use self::sled_store::SledStore;
pub use future::StoreFuture;
pub use memory::MemoryStore;

/// How long (seconds) the revocation marker of a grant revoked without tokens outlives
/// the first [`TokenStore::flush_inactive`] after the revocation: far longer than any flow
/// (30 minutes by default) can still try to issue tokens into the grant.
pub const REVOKED_GRANT_GRACE: i64 = 24 * 60 * 60;

/// The `until` of a revocation marker whose grant had no tokens: replaced by
/// `before + REVOKED_GRANT_GRACE` at the next flush.
pub(crate) const MARKER_UNTIL_FIRST_FLUSH: i64 = i64::MIN;

/// Filters and paging for [`ClientStore::list_clients`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientQuery {
    /// At most this many clients (the store caps it at 500; 0 means the default of 100).
    pub page_size: usize,
    /// Continue after the page that returned this token.
    pub page_token: Option<String>,
    /// Only clients with exactly this name.
    pub client_name: Option<String>,
    /// Only clients with exactly this owner.
    pub owner: Option<String>,
}

impl ClientQuery {
    /// The effective page size.
    pub fn limit(&self) -> usize {
        match self.page_size {
            0 => 100,
            n => n.min(500),
        }
    }

    /// Whether a client passes the filters.
    pub fn matches(&self, client: &Client) -> bool {
        self.client_name
            .as_deref()
            .is_none_or(|n| n == client.client_name)
            && self.owner.as_deref().is_none_or(|o| o == client.owner)
    }
}

/// One page of clients, ordered by `client_id`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientPage {
    /// The clients of this page.
    pub clients: Vec<Arc<Client>>,
    /// The token for the next page; `None` on the last page.
    pub next_page_token: Option<String>,
}

/// Clients.
pub trait ClientStore: Send + Sync {
    /// Stores a new client; `conflict` if the id is taken.
    fn create_client<'a>(&'a self, client: Client) -> StoreFuture<'a, Result<()>>;
    /// The client with this id.
    fn get_client<'a>(&'a self, client_id: &'a str)
        -> StoreFuture<'a, Result<Option<Arc<Client>>>>;
    /// Replaces an existing client; `not_found` if there is none.
    fn update_client<'a>(&'a self, client: Client) -> StoreFuture<'a, Result<()>>;
    /// Deletes a client; whether it existed. Its tokens are not touched here (the engine
    /// revokes them with [`TokenStore::revoke_client_tokens`]).
    fn delete_client<'a>(&'a self, client_id: &'a str) -> StoreFuture<'a, Result<bool>>;
    /// A page of clients ordered by id, filtered by name and owner.
    fn list_clients<'a>(&'a self, query: &'a ClientQuery) -> StoreFuture<'a, Result<ClientPage>>;
}

/// The outcome of [`TokenStore::consume_code`].
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub enum Consumed {
    /// This call redeemed the code; here is its record (still with status `Active`).
    Redeemed(Arc<TokenRecord>),
    /// The code was redeemed (or revoked) before: the grant it belonged to.
    AlreadyUsed {
        /// The grant to revoke.
        grant_id: Arc<str>,
    },
    /// No such code.
    NotFound,
}

/// The outcome of [`TokenStore::rotate_refresh`].
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub enum Rotated {
    /// This call rotated the token: the old record as it was (`Active`, or `Rotated`
    /// within the grace period).
    Rotated(Arc<TokenRecord>),
    /// The token was rotated or revoked before (a replay): the grant it belonged to.
    AlreadyUsed {
        /// The grant to revoke.
        grant_id: Arc<str>,
    },
    /// No such refresh token.
    NotFound,
}

/// The time of a [`TokenStore::rotate_refresh`] and the grace period it honours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// Now (unix seconds): an active token rotated by this call is recorded as rotated at
    /// this time ([`TokenRecord::rotated_at`]).
    pub at: i64,
    /// The rotation grace period in seconds (0: none). A token first rotated at `t` may
    /// be rotated again while `at < t + grace`; such a rotation stores its replacements,
    /// counts itself in [`TokenRecord::reuses`] and leaves `t` as it was, so reuse never
    /// extends the period.
    pub grace: i64,
    /// How many such reuses the grace period allows (0: any number).
    pub max_reuses: u32,
}

impl Rotation {
    /// Whether `record` is a rotated token still within the grace period, its reuses
    /// not used up (never, without a grace period).
    pub fn within_grace(&self, record: &TokenRecord) -> bool {
        self.grace > 0
            && record.status == TokenStatus::Rotated
            && record
                .rotated_at
                .is_some_and(|t| self.at < t.saturating_add(self.grace))
            && (self.max_reuses == 0 || record.reuses < self.max_reuses)
    }

    /// Whether this rotation may take `record`: active, or within the grace period.
    pub fn admits(&self, record: &TokenRecord) -> bool {
        record.status == TokenStatus::Active || self.within_grace(record)
    }

    /// `record` after this rotation (see [`apply`](Self::apply)).
    pub fn rotated(&self, record: &TokenRecord) -> TokenRecord {
        let mut rotated = record.clone();
        self.apply(
            &mut rotated.status,
            &mut rotated.rotated_at,
            &mut rotated.reuses,
        );
        rotated
    }

    /// This rotation applied to a record's status, rotation time and reuses: an active
    /// token becomes `Rotated` at [`at`](Self::at), a rotated one counts one more reuse.
    pub fn apply(&self, status: &mut TokenStatus, rotated_at: &mut Option<i64>, reuses: &mut u32) {
        if *status == TokenStatus::Active {
            *status = TokenStatus::Rotated;
            *rotated_at = Some(self.at);
        } else {
            *reuses = reuses.saturating_add(1);
        }
    }
}

/// Codes, access tokens and refresh tokens, by signature.
pub trait TokenStore: Send + Sync {
    /// Stores freshly issued tokens. All belong to one grant; if that grant was revoked,
    /// nothing is stored and the call fails with `invalid_grant`.
    fn insert_tokens<'a>(&'a self, tokens: Vec<TokenRecord>) -> StoreFuture<'a, Result<()>>;

    /// The record with this signature, whatever its status.
    fn get_token<'a>(
        &'a self,
        signature: &'a str,
    ) -> StoreFuture<'a, Result<Option<Arc<TokenRecord>>>>;

    /// Atomically marks an active authorization code consumed. Durable on return.
    fn consume_code<'a>(&'a self, signature: &'a str) -> StoreFuture<'a, Result<Consumed>>;

    /// Atomically marks an active refresh token rotated (at `rotation.at`) and stores its
    /// replacements (of the same grant). Exactly one of many concurrent calls for one
    /// active token rotates it. A token already rotated, but
    /// [within the grace period](Rotation::within_grace), is answered `Rotated` too, its
    /// reuse counted (of concurrent reuses, no more than `max_reuses` win) and its
    /// replacements stored, its rotation time unchanged. Any other spent or revoked token,
    /// or one whose grant is revoked, is `AlreadyUsed`. Replacements into a revoked grant
    /// are refused with `invalid_grant`, changing nothing. Durable on return.
    fn rotate_refresh<'a>(
        &'a self,
        signature: &'a str,
        replacements: Vec<TokenRecord>,
        rotation: Rotation,
    ) -> StoreFuture<'a, Result<Rotated>>;

    /// Revokes one token; whether it existed. Durable on return.
    fn revoke_token<'a>(&'a self, signature: &'a str) -> StoreFuture<'a, Result<bool>>;

    /// Revokes every token of a grant and refuses new ones for it. Durable on return.
    ///
    /// The refusal (a revocation marker) lasts as long as it can matter, then
    /// [`flush_inactive`](Self::flush_inactive) drops it:
    ///
    /// - if the grant has tokens, until the last of them expires (a later revocation of
    ///   the same grant only extends this);
    /// - if it has none (revoked before anything was issued, or after its tokens were
    ///   flushed), the store cannot know how long a flow may still try to issue into it,
    ///   and it has no clock of its own: the marker is kept until
    ///   [`REVOKED_GRANT_GRACE`] seconds after the `before` of the first
    ///   `flush_inactive` that sees it.
    fn revoke_grant<'a>(&'a self, grant_id: &'a str) -> StoreFuture<'a, Result<()>>;

    /// Revokes every token issued to a client; how many. Durable on return.
    fn revoke_client_tokens<'a>(&'a self, client_id: &'a str) -> StoreFuture<'a, Result<u64>>;

    /// Records that the client `client_id` used the client assertion id `jti`, unless it
    /// did before: `true` the first time, `false` for a replay. Insert-if-absent, atomic:
    /// of concurrent calls for one `(client_id, jti)` exactly one gets `true`. The id is
    /// remembered until `expires_at` (unix seconds) has passed and
    /// [`flush_inactive`](Self::flush_inactive) drops it; until then every use is a
    /// replay, whatever the time. Durable on return.
    fn use_assertion_id<'a>(
        &'a self,
        client_id: &'a str,
        jti: &'a str,
        expires_at: i64,
    ) -> StoreFuture<'a, Result<bool>>;

    /// Deletes records and used assertion ids that expired before `before`, and
    /// revocation markers no longer needed; how many records and ids were deleted.
    fn flush_inactive<'a>(&'a self, before: i64) -> StoreFuture<'a, Result<u64>>;
}

/// Authorization flows, remembered logins and consent sessions.
pub trait SessionStore: Send + Sync {
    /// Stores a new flow.
    fn create_flow<'a>(&'a self, flow: &'a Flow) -> StoreFuture<'a, Result<()>>;
    /// The flow with this id (boxed: the engine passes it through several steps, each a
    /// move of a pointer rather than of the record).
    fn get_flow<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Result<Option<Box<Flow>>>>;
    /// Replaces the flow if the stored one's version is `flow.version - 1`; whether it
    /// did. Of concurrent updates from one version, exactly one succeeds.
    fn update_flow<'a>(&'a self, flow: &'a Flow) -> StoreFuture<'a, Result<bool>>;

    /// Inserts or replaces a login session (by `sid`).
    fn put_login_session<'a>(&'a self, session: LoginSession) -> StoreFuture<'a, Result<()>>;
    /// The login session with this `sid`.
    fn get_login_session<'a>(
        &'a self,
        sid: &'a str,
    ) -> StoreFuture<'a, Result<Option<LoginSession>>>;
    /// Deletes one login session by `sid`, or all of a subject's; the deleted sessions.
    /// Durable on return.
    fn delete_login_sessions<'a>(
        &'a self,
        by: SessionSelector<'a>,
    ) -> StoreFuture<'a, Result<Vec<LoginSession>>>;

    /// Stores a consent session, replacing the subject's consent with the same `id`.
    fn put_consent<'a>(&'a self, consent: ConsentSession) -> StoreFuture<'a, Result<()>>;
    /// A subject's consent sessions, newest first (by `handled_at`; of equal ones, the
    /// one stored last first).
    fn consents<'a>(&'a self, subject: &'a str) -> StoreFuture<'a, Result<Vec<ConsentSession>>>;
    /// Deletes a subject's consent sessions (all, or those of one client); the deleted
    /// ones. Durable on return.
    fn delete_consents<'a>(
        &'a self,
        subject: &'a str,
        client_id: Option<&'a str>,
    ) -> StoreFuture<'a, Result<Vec<ConsentSession>>>;

    /// Stores a new logout request.
    fn create_logout<'a>(&'a self, logout: &'a LogoutFlow) -> StoreFuture<'a, Result<()>>;
    /// The logout request with this challenge.
    fn get_logout<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Result<Option<LogoutFlow>>>;
    /// Replaces the logout request if the stored one's version is `logout.version - 1`;
    /// whether it did (compare-and-swap, as [`update_flow`](Self::update_flow)).
    fn update_logout<'a>(&'a self, logout: &'a LogoutFlow) -> StoreFuture<'a, Result<bool>>;

    /// Deletes flows, logout requests and login sessions that expired before `before`;
    /// how many.
    fn flush_sessions<'a>(&'a self, before: i64) -> StoreFuture<'a, Result<u64>>;
}

/// Which login sessions to delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionSelector<'a> {
    /// The session with this `sid`.
    Sid(&'a str),
    /// Every session of this subject.
    Subject(&'a str),
}

/// Signing keys.
pub trait KeyStore: Send + Sync {
    /// Inserts or replaces a key (by `kid`). Durable on return.
    fn put_key<'a>(&'a self, key: StoredKey) -> StoreFuture<'a, Result<()>>;
    /// Every stored key, oldest first.
    fn keys<'a>(&'a self) -> StoreFuture<'a, Result<Vec<StoredKey>>>;
    /// Deletes a key; whether it existed.
    fn delete_key<'a>(&'a self, kid: &'a str) -> StoreFuture<'a, Result<bool>>;
}

/// Filters and paging for [`TrustStore::list_trusts`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustQuery {
    /// At most this many relationships (capped as [`ClientQuery::limit`]; 0 means 100).
    pub page_size: usize,
    /// Continue after the page that returned this token.
    pub page_token: Option<String>,
    /// Only relationships with exactly this issuer.
    pub issuer: Option<String>,
}

impl TrustQuery {
    /// The effective page size.
    pub fn limit(&self) -> usize {
        ClientQuery {
            page_size: self.page_size,
            ..ClientQuery::default()
        }
        .limit()
    }

    /// Whether a relationship passes the filter.
    pub fn matches(&self, trust: &TrustedIssuer) -> bool {
        self.issuer.as_deref().is_none_or(|i| i == trust.issuer)
    }
}

/// One page of trust relationships, ordered by `id`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrustPage {
    /// The relationships of this page.
    pub trusts: Vec<Arc<TrustedIssuer>>,
    /// The token for the next page; `None` on the last page.
    pub next_page_token: Option<String>,
}

/// The conflict of a relationship whose id is taken, from every store.
pub(crate) const TRUST_ID_TAKEN: &str = "A trust relationship with this id already exists.";

/// The conflict of a relationship whose issuer, subject and key id are taken, from
/// every store.
pub(crate) const TRUST_KEY_TAKEN: &str =
    "A trust relationship for this issuer, subject and key id already exists.";

/// Trust relationships of the JWT-bearer grant.
pub trait TrustStore: Send + Sync {
    /// Stores a new relationship; `conflict` if its id is taken, or if one with the same
    /// issuer, subject (empty for any subject) and key id exists. Atomic: of concurrent
    /// creations of one such triple exactly one succeeds. Durable on return.
    fn create_trust<'a>(&'a self, trust: TrustedIssuer) -> StoreFuture<'a, Result<()>>;
    /// The relationship with this id.
    fn get_trust<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Result<Option<Arc<TrustedIssuer>>>>;
    /// A page of relationships ordered by id, filtered by issuer.
    fn list_trusts<'a>(&'a self, query: &'a TrustQuery) -> StoreFuture<'a, Result<TrustPage>>;
    /// Every relationship of one issuer, expired ones included (the grant judges them):
    /// what verifying an assertion needs, without scanning the others.
    fn issuer_trusts<'a>(
        &'a self,
        issuer: &'a str,
    ) -> StoreFuture<'a, Result<Vec<Arc<TrustedIssuer>>>>;
    /// Deletes a relationship; whether it existed. Durable on return: a deleted trust
    /// must stay deleted.
    fn delete_trust<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Result<bool>>;
    /// Deletes the relationships that expired before `before` (unix seconds; one
    /// expiring at `before` stays); how many. Durable on return.
    fn flush_trusts<'a>(&'a self, before: i64) -> StoreFuture<'a, Result<u64>>;
}

/// A page from up to `limit + 1` `(key, item)` pairs in key order: the first `limit`
/// items, and the key of the last of them when more follow (the next page token).
/// Shared by the list operations of the stores.
pub(crate) fn page_of<T>(mut items: Vec<(String, T)>, limit: usize) -> (Vec<T>, Option<String>) {
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|(key, _)| key.clone())
    } else {
        None
    };
    (items.into_iter().map(|(_, item)| item).collect(), next)
}

/// Everything a provider needs from its store.
pub trait Storage:
    ClientStore + TokenStore + SessionStore + KeyStore + TrustStore + 'static
{
}

impl<T: ClientStore + TokenStore + SessionStore + KeyStore + TrustStore + 'static> Storage for T {}
