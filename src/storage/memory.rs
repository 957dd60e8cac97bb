//! An in-memory store: for tests, benchmarks and single-process apps that accept losing
//! their state on restart.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::memory_assertions::AssertionIds;
use super::memory_table::{Keyed, Table};
use super::memory_trust::Trusts;
use super::StoreFuture;

use super::{
    page_of, ClientPage, ClientQuery, ClientStore, Consumed, KeyStore, Rotated, Rotation,
    SessionSelector, SessionStore, TokenStore, MARKER_UNTIL_FIRST_FLUSH, REVOKED_GRANT_GRACE,
};
use crate::error::{Error, ErrorCode, Result};
use crate::model::flow::Versioned;
use crate::model::{
    Client, ConsentSession, Flow, LoginSession, LogoutFlow, StoredKey, TokenKind, TokenRecord,
    TokenStatus,
};

/// Hash maps keyed by server-generated values (token signatures, grant and flow ids,
/// session ids) or by subjects the login app vouched for: foldhash, seeded per process,
/// hashes them several times faster than SipHash, and no caller chooses a key that is
/// inserted.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// An in-memory [`Storage`](super::Storage). Cheap to clone: clones share the data.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    clients: Arc<RwLock<BTreeMap<String, Arc<Client>>>>,
    tokens: Arc<RwLock<Tokens>>,
    keys: Arc<RwLock<Vec<StoredKey>>>,
    sessions: Arc<RwLock<Sessions>>,
    assertion_ids: Arc<RwLock<AssertionIds>>,
    pub(super) trusts: Arc<RwLock<Trusts>>,
}

#[derive(Debug, Default)]
struct Sessions {
    flows: Table<Box<Flow>>,
    logouts: Table<Box<LogoutFlow>>,
    logins: Table<LoginSession>,
    consents: Table<ConsentsOf>,
}

/// A subject's consent sessions, oldest first (by `handled_at`, ties in the order stored).
#[derive(Debug)]
struct ConsentsOf {
    subject: String,
    sessions: Vec<ConsentSession>,
}

impl Keyed for ConsentsOf {
    fn key(&self) -> &str {
        &self.subject
    }
}

impl Keyed for LoginSession {
    fn key(&self) -> &str {
        &self.sid
    }
}

/// Flows and logout requests are boxed in their tables: the records are large and the
/// tables grow one record per authorization request, so an entry stays small to move.
impl<T: Versioned> Keyed for Box<T> {
    fn key(&self) -> &str {
        self.id()
    }
}

/// Token records by signature, and the revoked grants.
///
/// Revoking a grant only records a marker; every read answers a record of a marked grant
/// as revoked. So issuing is one map insert, revoking a grant is one marker whatever its
/// size, and no index by grant or by client is kept: revoking a client's tokens (client
/// deletion, an admin call) and flushing scan the records.
#[derive(Debug, Default)]
struct Tokens {
    by_signature: Table<Slot>,
    /// Revoked grants, and until when the marker is needed (unix seconds;
    /// [`MARKER_UNTIL_FIRST_FLUSH`] until a flush has looked at the grant's tokens).
    revoked_grants: HashMap<String, i64>,
}

/// A stored record and its status now. Consuming, rotating and revoking set the slot's
/// status and leave the shared record as issued, so they copy nothing; a reader of a
/// spent token gets a copy with the status set.
#[derive(Debug)]
struct Slot {
    status: TokenStatus,
    /// When a refresh token was rotated, once it is, and how often reused since.
    rotated_at: Option<i64>,
    reuses: u32,
    record: Arc<TokenRecord>,
}

impl Keyed for Slot {
    fn key(&self) -> &str {
        &self.record.signature
    }
}

impl Tokens {
    fn records(&self) -> impl Iterator<Item = &TokenRecord> {
        self.by_signature.values().map(|s| &*s.record)
    }

    fn insert(&mut self, record: TokenRecord) {
        self.by_signature.insert(Slot {
            status: record.status,
            rotated_at: record.rotated_at,
            reuses: record.reuses,
            record: Arc::new(record),
        });
    }

    fn check_grants_open(&self, tokens: &[TokenRecord]) -> Result<()> {
        if tokens.iter().any(|t| self.is_revoked(&t.grant_id)) {
            return Err(Error::invalid_grant("The grant has been revoked."));
        }
        Ok(())
    }

    fn is_revoked(&self, grant_id: &str) -> bool {
        !self.revoked_grants.is_empty() && self.revoked_grants.contains_key(grant_id)
    }

    /// The record as readers see it: with its status now, revoked if its grant is.
    fn get(&self, signature: &str) -> Option<Arc<TokenRecord>> {
        let Slot {
            status,
            rotated_at,
            reuses,
            record,
            ..
        } = self.by_signature.get(signature)?;
        let status = match status {
            TokenStatus::Active if self.is_revoked(&record.grant_id) => TokenStatus::Revoked,
            status => *status,
        };
        if (status, *rotated_at, *reuses) == (record.status, record.rotated_at, record.reuses) {
            return Some(record.clone());
        }
        Some(Arc::new(TokenRecord {
            rotated_at: *rotated_at,
            reuses: *reuses,
            ..record.with_status(status)
        }))
    }

    fn set_status(&mut self, signature: &str, status: TokenStatus) {
        if let Some(slot) = self.by_signature.get_mut(signature) {
            slot.status = status;
        }
    }

    fn rotate(&mut self, signature: &str, rotation: Rotation) {
        if let Some(slot) = self.by_signature.get_mut(signature) {
            rotation.apply(&mut slot.status, &mut slot.rotated_at, &mut slot.reuses);
        }
    }

    fn revoke_grant(&mut self, grant_id: &str) {
        if !self.revoked_grants.contains_key(grant_id) {
            self.revoked_grants
                .insert(grant_id.to_owned(), MARKER_UNTIL_FIRST_FLUSH);
        }
    }
}

pub(super) fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

pub(super) fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

/// A page of `map`'s values in key order, after the key `page_token`: at most `limit`
/// that pass `keep`, and the next page token when more follow.
pub(super) fn page<T>(
    map: &BTreeMap<String, Arc<T>>,
    page_token: Option<&str>,
    limit: usize,
    keep: impl Fn(&T) -> bool,
) -> (Vec<Arc<T>>, Option<String>) {
    let start = match page_token {
        Some(after) => std::ops::Bound::Excluded(after),
        None => std::ops::Bound::Unbounded,
    };
    let matching = map
        .range::<str, _>((start, std::ops::Bound::Unbounded))
        .filter(|(_, v)| keep(v))
        .take(limit + 1)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    page_of(matching, limit)
}

fn create_versioned<T: Versioned>(table: &mut Table<Box<T>>, record: &T) -> Result<()> {
    table
        .insert_new(Box::new(record.clone()))
        .map_err(|_| Error::new(ErrorCode::Conflict, "The request already exists."))
}

fn update_versioned<T: Versioned>(table: &mut Table<Box<T>>, record: &T) -> bool {
    match table.get_mut(record.id()) {
        Some(stored) if stored.version().checked_add(1) == Some(record.version()) => {
            (**stored).clone_from(record);
            true
        }
        _ => false,
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl ClientStore for MemoryStore {
    fn create_client<'a>(&'a self, client: Client) -> StoreFuture<'a, Result<()>> {
        StoreFuture::now(|| {
            let mut clients = write(&self.clients);
            if clients.contains_key(&client.client_id) {
                return Err(Error::new(
                    ErrorCode::Conflict,
                    "A client with this id already exists.",
                ));
            }
            clients.insert(client.client_id.clone(), Arc::new(client));
            Ok(())
        })
    }

    fn get_client<'a>(
        &'a self,
        client_id: &'a str,
    ) -> StoreFuture<'a, Result<Option<Arc<Client>>>> {
        StoreFuture::now(|| Ok(read(&self.clients).get(client_id).cloned()))
    }

    fn update_client<'a>(&'a self, client: Client) -> StoreFuture<'a, Result<()>> {
        StoreFuture::now(|| {
            let mut clients = write(&self.clients);
            match clients.get_mut(&client.client_id) {
                Some(slot) => {
                    *slot = Arc::new(client);
                    Ok(())
                }
                None => Err(Error::not_found("No client with this id.")),
            }
        })
    }

    fn delete_client<'a>(&'a self, client_id: &'a str) -> StoreFuture<'a, Result<bool>> {
        StoreFuture::now(|| Ok(write(&self.clients).remove(client_id).is_some()))
    }

    fn list_clients<'a>(&'a self, query: &'a ClientQuery) -> StoreFuture<'a, Result<ClientPage>> {
        StoreFuture::now(|| {
            let (clients, next_page_token) = page(
                &read(&self.clients),
                query.page_token.as_deref(),
                query.limit(),
                |c| query.matches(c),
            );
            Ok(ClientPage {
                clients,
                next_page_token,
            })
        })
    }
}

impl TokenStore for MemoryStore {
    fn insert_tokens<'a>(&'a self, tokens: Vec<TokenRecord>) -> StoreFuture<'a, Result<()>> {
        StoreFuture::now(|| {
            let mut t = write(&self.tokens);
            t.check_grants_open(&tokens)?;
            for record in tokens {
                t.insert(record);
            }
            Ok(())
        })
    }

    fn get_token<'a>(
        &'a self,
        signature: &'a str,
    ) -> StoreFuture<'a, Result<Option<Arc<TokenRecord>>>> {
        StoreFuture::now(|| Ok(read(&self.tokens).get(signature)))
    }

    fn consume_code<'a>(&'a self, signature: &'a str) -> StoreFuture<'a, Result<Consumed>> {
        StoreFuture::now(|| {
            let mut t = write(&self.tokens);
            let Some(rec) = t.get(signature) else {
                return Ok(Consumed::NotFound);
            };
            if rec.kind != TokenKind::AuthorizationCode {
                return Ok(Consumed::NotFound);
            }
            if rec.status != TokenStatus::Active {
                return Ok(Consumed::AlreadyUsed {
                    grant_id: rec.grant_id.clone(),
                });
            }
            t.set_status(signature, TokenStatus::Consumed);
            Ok(Consumed::Redeemed(rec))
        })
    }

    fn rotate_refresh<'a>(
        &'a self,
        signature: &'a str,
        replacements: Vec<TokenRecord>,
        rotation: Rotation,
    ) -> StoreFuture<'a, Result<Rotated>> {
        StoreFuture::now(|| {
            let mut t = write(&self.tokens);
            let Some(rec) = t.get(signature) else {
                return Ok(Rotated::NotFound);
            };
            if rec.kind != TokenKind::RefreshToken {
                return Ok(Rotated::NotFound);
            }
            // An active token of a revoked grant reads as revoked; a rotated one not.
            if !rotation.admits(&rec) || t.is_revoked(&rec.grant_id) {
                return Ok(Rotated::AlreadyUsed {
                    grant_id: rec.grant_id.clone(),
                });
            }
            t.check_grants_open(&replacements)?;
            t.rotate(signature, rotation);
            for r in replacements {
                t.insert(r);
            }
            Ok(Rotated::Rotated(rec))
        })
    }

    fn revoke_token<'a>(&'a self, signature: &'a str) -> StoreFuture<'a, Result<bool>> {
        StoreFuture::now(|| {
            let mut t = write(&self.tokens);
            let Some(rec) = t.get(signature) else {
                return Ok(false);
            };
            if rec.status == TokenStatus::Active {
                t.set_status(signature, TokenStatus::Revoked);
            }
            Ok(true)
        })
    }

    fn revoke_grant<'a>(&'a self, grant_id: &'a str) -> StoreFuture<'a, Result<()>> {
        StoreFuture::now(|| {
            write(&self.tokens).revoke_grant(grant_id);
            Ok(())
        })
    }

    fn revoke_client_tokens<'a>(&'a self, client_id: &'a str) -> StoreFuture<'a, Result<u64>> {
        StoreFuture::now(|| {
            let mut t = write(&self.tokens);
            let mine: Vec<&TokenRecord> =
                t.records().filter(|r| &*r.client_id == client_id).collect();
            let count = mine.len() as u64;
            let grants: HashSet<Arc<str>> = mine.into_iter().map(|r| r.grant_id.clone()).collect();
            for g in &grants {
                t.revoke_grant(g);
            }
            Ok(count)
        })
    }

    fn use_assertion_id<'a>(
        &'a self,
        client_id: &'a str,
        jti: &'a str,
        expires_at: i64,
    ) -> StoreFuture<'a, Result<bool>> {
        StoreFuture::now(|| Ok(write(&self.assertion_ids).use_once(client_id, jti, expires_at)))
    }

    fn flush_inactive<'a>(&'a self, before: i64) -> StoreFuture<'a, Result<u64>> {
        StoreFuture::now(|| {
            let ids = write(&self.assertion_ids).flush(before);
            let mut t = write(&self.tokens);
            let Tokens {
                by_signature,
                revoked_grants,
            } = &mut *t;
            let count = by_signature.len();
            by_signature.retain(|s| s.record.expires_at >= before);
            // A marker lasts while its grant's tokens could still be presented: until the
            // last of them expires, or the grace after the first flush for a tokenless grant.
            let mut last_expiry: HashMap<&str, i64> = HashMap::default();
            for r in by_signature.values().map(|s| &s.record) {
                if let Some(until) = revoked_grants.get(&*r.grant_id) {
                    let last = last_expiry.entry(&*r.grant_id).or_insert(*until);
                    *last = (*last).max(r.expires_at);
                }
            }
            for (grant_id, until) in revoked_grants.iter_mut() {
                *until = match (last_expiry.get(grant_id.as_str()), *until) {
                    (Some(&last), _) => last,
                    (None, MARKER_UNTIL_FIRST_FLUSH) => before.saturating_add(REVOKED_GRANT_GRACE),
                    (None, until) => until,
                };
            }
            revoked_grants.retain(|_, until| *until >= before);
            Ok((count - by_signature.len()) as u64 + ids)
        })
    }
}

impl SessionStore for MemoryStore {
    fn create_flow<'a>(&'a self, flow: &'a Flow) -> StoreFuture<'a, Result<()>> {
        StoreFuture::now(|| create_versioned(&mut write(&self.sessions).flows, flow))
    }

    fn get_flow<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Result<Option<Box<Flow>>>> {
        StoreFuture::now(|| Ok(read(&self.sessions).flows.get(id).cloned()))
    }

    fn update_flow<'a>(&'a self, flow: &'a Flow) -> StoreFuture<'a, Result<bool>> {
        StoreFuture::now(|| Ok(update_versioned(&mut write(&self.sessions).flows, flow)))
    }

    fn put_login_session<'a>(&'a self, session: LoginSession) -> StoreFuture<'a, Result<()>> {
        StoreFuture::now(|| {
            write(&self.sessions).logins.insert(session);
            Ok(())
        })
    }

    fn get_login_session<'a>(
        &'a self,
        sid: &'a str,
    ) -> StoreFuture<'a, Result<Option<LoginSession>>> {
        StoreFuture::now(|| Ok(read(&self.sessions).logins.get(sid).cloned()))
    }

    fn delete_login_sessions<'a>(
        &'a self,
        by: SessionSelector<'a>,
    ) -> StoreFuture<'a, Result<Vec<LoginSession>>> {
        StoreFuture::now(|| {
            let mut s = write(&self.sessions);
            Ok(match by {
                SessionSelector::Sid(sid) => s.logins.remove(sid).into_iter().collect(),
                SessionSelector::Subject(subject) => {
                    let sids: Vec<Arc<str>> = s
                        .logins
                        .values()
                        .filter(|l| l.subject == subject)
                        .map(|l| l.sid.clone())
                        .collect();
                    sids.iter().filter_map(|sid| s.logins.remove(sid)).collect()
                }
            })
        })
    }

    fn put_consent<'a>(&'a self, consent: ConsentSession) -> StoreFuture<'a, Result<()>> {
        StoreFuture::now(|| {
            let mut s = write(&self.sessions);
            let Some(of) = s.consents.get_mut(&consent.subject) else {
                s.consents.insert(ConsentsOf {
                    subject: consent.subject.clone(),
                    sessions: vec![consent],
                });
                return Ok(());
            };
            let list = &mut of.sessions;
            list.retain(|c| c.id != consent.id);
            // Most subjects give few consents: grow one at a time, not by four.
            list.reserve_exact(1);
            let at = list.partition_point(|c| c.handled_at <= consent.handled_at);
            list.insert(at, consent);
            Ok(())
        })
    }

    fn consents<'a>(&'a self, subject: &'a str) -> StoreFuture<'a, Result<Vec<ConsentSession>>> {
        StoreFuture::now(|| {
            let s = read(&self.sessions);
            Ok(s.consents
                .get(subject)
                .map(|of| of.sessions.iter().rev().cloned().collect())
                .unwrap_or_default())
        })
    }

    fn delete_consents<'a>(
        &'a self,
        subject: &'a str,
        client_id: Option<&'a str>,
    ) -> StoreFuture<'a, Result<Vec<ConsentSession>>> {
        StoreFuture::now(|| {
            let mut s = write(&self.sessions);
            let Some(ConsentsOf { sessions: list, .. }) = s.consents.get_mut(subject) else {
                return Ok(Vec::new());
            };
            let (gone, kept): (Vec<_>, Vec<_>) = list
                .drain(..)
                .partition(|c| client_id.is_none_or(|id| c.client_id == id));
            *list = kept;
            if list.is_empty() {
                s.consents.remove(subject);
            }
            Ok(gone)
        })
    }

    fn create_logout<'a>(&'a self, logout: &'a LogoutFlow) -> StoreFuture<'a, Result<()>> {
        StoreFuture::now(|| create_versioned(&mut write(&self.sessions).logouts, logout))
    }

    fn get_logout<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Result<Option<LogoutFlow>>> {
        StoreFuture::now(|| Ok(read(&self.sessions).logouts.get(id).map(|l| (**l).clone())))
    }

    fn update_logout<'a>(&'a self, logout: &'a LogoutFlow) -> StoreFuture<'a, Result<bool>> {
        StoreFuture::now(|| Ok(update_versioned(&mut write(&self.sessions).logouts, logout)))
    }

    fn flush_sessions<'a>(&'a self, before: i64) -> StoreFuture<'a, Result<u64>> {
        StoreFuture::now(|| {
            let mut s = write(&self.sessions);
            let count = |s: &Sessions| s.flows.len() + s.logins.len() + s.logouts.len();
            let n = count(&s);
            s.flows.retain(|f| f.expires_at() >= before);
            s.logins.retain(|l| l.expires_at >= before);
            s.logouts.retain(|l| l.expires_at() >= before);
            Ok((n - count(&s)) as u64)
        })
    }
}

impl KeyStore for MemoryStore {
    fn put_key<'a>(&'a self, key: StoredKey) -> StoreFuture<'a, Result<()>> {
        StoreFuture::now(|| {
            let mut keys = write(&self.keys);
            match keys.iter_mut().find(|k| k.kid == key.kid) {
                Some(slot) => *slot = key,
                None => keys.push(key),
            }
            Ok(())
        })
    }

    fn keys<'a>(&'a self) -> StoreFuture<'a, Result<Vec<StoredKey>>> {
        StoreFuture::now(|| Ok(read(&self.keys).clone()))
    }

    fn delete_key<'a>(&'a self, kid: &'a str) -> StoreFuture<'a, Result<bool>> {
        StoreFuture::now(|| {
            let mut keys = write(&self.keys);
            let before = keys.len();
            keys.retain(|k| k.kid != kid);
            Ok(keys.len() != before)
        })
    }
}
