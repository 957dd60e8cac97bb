//! The [`SessionStore`] half of [`SledStore`]: flows, login sessions and consent sessions.
//!
//! Layout (one sled tree each; compound keys as in [`sled_store`](super::sled_store)):
//!
//! - `flows`: flow id → JSON [`Flow`]. Written only by single-key compare-and-swap on
//!   the stored bytes, so of concurrent [`SessionStore::update_flow`] calls from one
//!   version exactly one replaces them.
//! - `logouts`: logout challenge → JSON [`LogoutFlow`], written the same way;
//! - `login_sessions`: `sid` → JSON [`LoginSession`];
//! - `subject_sids`: subject, `sid` → nothing (a subject's login sessions);
//! - `consents`: subject, `handled_at`, sequence number → JSON [`ConsentSession`].
//!   `handled_at` is stored with its sign bit flipped, big-endian, and the sequence
//!   number (from [`sled::Db::generate_id`], increasing) big-endian, so a subject's
//!   consents are one prefix and a reverse scan of it is newest first;
//! - `consent_keys`: subject, consent id → the consent's key in `consents` (so storing a
//!   consent with a known id replaces it).
//!
//! The login and consent trees are only written in transactions over both trees of a
//! pair, so record and index never disagree.

use super::StoreFuture;
use sled::transaction::TransactionalTree;
use sled::{Db, IVec, Transactional, Tree};

use super::sled_store::{
    abort, compound, compound_prefix, decode, encode, second_parts, tx_error, SledStore, TxResult,
    FLUSH_BATCH,
};
use super::{SessionSelector, SessionStore};
use crate::error::{Error, ErrorCode, Result};
use crate::model::flow::Versioned;
use crate::model::{ConsentSession, Flow, LoginSession, LogoutFlow};

/// The session trees of a [`SledStore`].
#[derive(Debug, Clone)]
pub(super) struct SessionTrees {
    flows: Tree,
    logouts: Tree,
    logins: Tree,
    subject_sids: Tree,
    consents: Tree,
    consent_keys: Tree,
}

impl SessionTrees {
    pub(super) fn open(db: &Db) -> Result<Self> {
        let tree = |name: &str| db.open_tree(name).map_err(Error::internal);
        Ok(Self {
            flows: tree("flows")?,
            logouts: tree("logouts")?,
            logins: tree("login_sessions")?,
            subject_sids: tree("subject_sids")?,
            consents: tree("consents")?,
            consent_keys: tree("consent_keys")?,
        })
    }

    /// Runs `f` as one transaction over the login session trees.
    fn login_tx<T>(
        &self,
        f: impl Fn(&TransactionalTree, &TransactionalTree) -> TxResult<T>,
    ) -> Result<T> {
        (&self.logins, &self.subject_sids)
            .transaction(|(logins, sids)| f(logins, sids))
            .map_err(tx_error)
    }

    /// Runs `f` as one transaction over the consent trees.
    fn consent_tx<T>(
        &self,
        f: impl Fn(&TransactionalTree, &TransactionalTree) -> TxResult<T>,
    ) -> Result<T> {
        (&self.consents, &self.consent_keys)
            .transaction(|(consents, keys)| f(consents, keys))
            .map_err(tx_error)
    }

    /// Deletes the login sessions with these `sid`s if still stored exactly as given (or
    /// any version, for `None`) and, with `subject`, only if they belong to it (its index
    /// entries for these `sid`s go in any case); the deleted ones.
    fn delete_logins(
        &self,
        sids: &[(IVec, Option<IVec>)],
        subject: Option<&str>,
    ) -> Result<Vec<LoginSession>> {
        self.login_tx(|logins, index| {
            let mut deleted = Vec::new();
            for (sid, expected) in sids {
                if let Some(subject) = subject {
                    let mut key = compound_prefix(subject);
                    key.extend_from_slice(sid);
                    index.remove(key)?;
                }
                let Some(bytes) = logins.get(sid)? else {
                    continue;
                };
                if expected.as_ref().is_some_and(|e| *e != bytes) {
                    continue;
                }
                let session: LoginSession = decode(&bytes).map_err(abort)?;
                if subject.is_some_and(|s| s != session.subject) {
                    continue;
                }
                logins.remove(sid)?;
                index.remove(compound(&session.subject, &session.sid))?;
                deleted.push(session);
            }
            Ok(deleted)
        })
    }

    /// A subject's consents matching `client_id` (all for `None`), oldest first, with
    /// their keys.
    fn scan_consents(
        &self,
        subject: &str,
        client_id: Option<&str>,
    ) -> Result<Vec<(IVec, ConsentSession)>> {
        let mut found = Vec::new();
        for entry in self.consents.scan_prefix(compound_prefix(subject)) {
            let (key, bytes) = entry.map_err(Error::internal)?;
            let consent: ConsentSession = decode(&bytes)?;
            if client_id.is_none_or(|c| c == consent.client_id) {
                found.push((key, consent));
            }
        }
        Ok(found)
    }
}

/// Stores a new versioned record; `conflict` if the id is taken.
fn create_versioned<T: Versioned>(tree: &Tree, record: &T) -> Result<()> {
    tree.compare_and_swap(record.id().as_bytes(), None::<&[u8]>, Some(encode(record)?))
        .map_err(Error::internal)?
        .map_err(|_| Error::new(ErrorCode::Conflict, "The request already exists."))
}

fn get_record<T: Versioned>(tree: &Tree, id: &str) -> Result<Option<T>> {
    match tree.get(id).map_err(Error::internal)? {
        Some(bytes) => Ok(Some(decode(&bytes)?)),
        None => Ok(None),
    }
}

/// Replaces a versioned record if the stored one is the version before it: a
/// compare-and-swap on the exact bytes read, so of concurrent updates from one version
/// exactly one wins (a flush or another update meanwhile makes ours stale).
fn update_versioned<T: Versioned>(tree: &Tree, record: &T) -> Result<bool> {
    let Some(old) = tree.get(record.id().as_bytes()).map_err(Error::internal)? else {
        return Ok(false);
    };
    let stored: T = decode(&old)?;
    if stored.version().checked_add(1) != Some(record.version()) {
        return Ok(false);
    }
    let swapped = tree
        .compare_and_swap(record.id().as_bytes(), Some(old), Some(encode(record)?))
        .map_err(Error::internal)?;
    Ok(swapped.is_ok())
}

/// Deletes expired versioned records still stored as read; how many.
fn flush_versioned<T: Versioned>(tree: &Tree, before: i64) -> Result<u64> {
    let mut deleted = 0;
    for entry in tree.iter() {
        let (id, bytes) = entry.map_err(Error::internal)?;
        if decode::<T>(&bytes)?.expires_at() < before {
            let swapped = tree
                .compare_and_swap(&id, Some(&bytes), None::<&[u8]>)
                .map_err(Error::internal)?;
            deleted += u64::from(swapped.is_ok());
        }
    }
    Ok(deleted)
}

/// The key of a consent in the `consents` tree.
fn consent_key(subject: &str, handled_at: i64, seq: u64) -> Vec<u8> {
    let mut key = compound_prefix(subject);
    // Flipping the sign bit makes the big-endian bytes sort like the signed numbers.
    key.extend_from_slice(&((handled_at as u64) ^ (1 << 63)).to_be_bytes());
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

impl SessionStore for SledStore {
    fn create_flow<'a>(&'a self, flow: &'a Flow) -> StoreFuture<'a, Result<()>> {
        StoreFuture::now(|| create_versioned(&self.sessions.flows, flow))
    }

    fn get_flow<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Result<Option<Box<Flow>>>> {
        StoreFuture::now(|| Ok(get_record(&self.sessions.flows, id)?.map(Box::new)))
    }

    fn update_flow<'a>(&'a self, flow: &'a Flow) -> StoreFuture<'a, Result<bool>> {
        StoreFuture::now(|| update_versioned(&self.sessions.flows, flow))
    }

    fn create_logout<'a>(&'a self, logout: &'a LogoutFlow) -> StoreFuture<'a, Result<()>> {
        StoreFuture::now(|| create_versioned(&self.sessions.logouts, logout))
    }

    fn get_logout<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Result<Option<LogoutFlow>>> {
        StoreFuture::now(|| get_record(&self.sessions.logouts, id))
    }

    fn update_logout<'a>(&'a self, logout: &'a LogoutFlow) -> StoreFuture<'a, Result<bool>> {
        StoreFuture::now(|| update_versioned(&self.sessions.logouts, logout))
    }

    fn put_login_session<'a>(&'a self, session: LoginSession) -> StoreFuture<'a, Result<()>> {
        StoreFuture::now(|| {
            let bytes = encode(&session)?;
            let sid = session.sid.as_bytes();
            self.sessions.login_tx(|logins, index| {
                if let Some(old) = logins.get(sid)? {
                    let old: LoginSession = decode(&old).map_err(abort)?;
                    index.remove(compound(&old.subject, &old.sid))?;
                }
                logins.insert(sid, bytes.as_slice())?;
                index.insert(compound(&session.subject, &session.sid), &[])?;
                Ok(())
            })
        })
    }

    fn get_login_session<'a>(
        &'a self,
        sid: &'a str,
    ) -> StoreFuture<'a, Result<Option<LoginSession>>> {
        StoreFuture::now(
            || match self.sessions.logins.get(sid).map_err(Error::internal)? {
                Some(bytes) => Ok(Some(decode(&bytes)?)),
                None => Ok(None),
            },
        )
    }

    fn delete_login_sessions<'a>(
        &'a self,
        by: SessionSelector<'a>,
    ) -> StoreFuture<'a, Result<Vec<LoginSession>>> {
        StoreFuture::now(|| {
            let deleted = match by {
                SessionSelector::Sid(sid) => self
                    .sessions
                    .delete_logins(&[(IVec::from(sid), None)], None)?,
                SessionSelector::Subject(subject) => {
                    // Transactions cannot scan: delete what the index lists, then look again
                    // until a look finds nothing (a session stored meanwhile goes too).
                    let mut deleted = Vec::new();
                    loop {
                        let sids: Vec<(IVec, Option<IVec>)> =
                            second_parts(&self.sessions.subject_sids, subject)?
                                .into_iter()
                                .map(|sid| (IVec::from(sid.as_str()), None))
                                .collect();
                        if sids.is_empty() {
                            break;
                        }
                        deleted.extend(self.sessions.delete_logins(&sids, Some(subject))?);
                    }
                    deleted
                }
            };
            self.flush()?;
            Ok(deleted)
        })
    }

    fn put_consent<'a>(&'a self, consent: ConsentSession) -> StoreFuture<'a, Result<()>> {
        StoreFuture::now(|| {
            let seq = self.db.generate_id().map_err(Error::internal)?;
            let key = consent_key(&consent.subject, consent.handled_at, seq);
            let id_key = compound(&consent.subject, &consent.id);
            let bytes = encode(&consent)?;
            self.sessions.consent_tx(|consents, keys| {
                if let Some(old) = keys.get(&id_key)? {
                    consents.remove(old)?;
                }
                consents.insert(key.as_slice(), bytes.as_slice())?;
                keys.insert(id_key.as_slice(), key.as_slice())?;
                Ok(())
            })
        })
    }

    fn consents<'a>(&'a self, subject: &'a str) -> StoreFuture<'a, Result<Vec<ConsentSession>>> {
        StoreFuture::now(|| {
            self.sessions
                .consents
                .scan_prefix(compound_prefix(subject))
                .values()
                .rev()
                .map(|v| decode(&v.map_err(Error::internal)?))
                .collect()
        })
    }

    fn delete_consents<'a>(
        &'a self,
        subject: &'a str,
        client_id: Option<&'a str>,
    ) -> StoreFuture<'a, Result<Vec<ConsentSession>>> {
        StoreFuture::now(|| {
            let mut deleted = Vec::new();
            loop {
                let found = self.sessions.scan_consents(subject, client_id)?;
                if found.is_empty() {
                    break;
                }
                let batch = self.sessions.consent_tx(|consents, keys| {
                    let mut batch = Vec::new();
                    for (key, _) in &found {
                        let Some(bytes) = consents.remove(key)? else {
                            continue;
                        };
                        let consent: ConsentSession = decode(&bytes).map_err(abort)?;
                        let id_key = compound(&consent.subject, &consent.id);
                        if keys.get(&id_key)?.as_ref() == Some(key) {
                            keys.remove(id_key)?;
                        }
                        batch.push(consent);
                    }
                    Ok(batch)
                })?;
                deleted.extend(batch);
            }
            self.flush()?;
            Ok(deleted)
        })
    }

    fn flush_sessions<'a>(&'a self, before: i64) -> StoreFuture<'a, Result<u64>> {
        StoreFuture::now(|| {
            let mut deleted = flush_versioned::<Flow>(&self.sessions.flows, before)?
                + flush_versioned::<LogoutFlow>(&self.sessions.logouts, before)?;
            let mut expired = Vec::new();
            for entry in self.sessions.logins.iter() {
                let (sid, bytes) = entry.map_err(Error::internal)?;
                if decode::<LoginSession>(&bytes)?.expires_at < before {
                    expired.push((sid, Some(bytes)));
                }
            }
            for batch in expired.chunks(FLUSH_BATCH) {
                deleted += self.sessions.delete_logins(batch, None)?.len() as u64;
            }
            Ok(deleted)
        })
    }
}
