//! The [`TrustStore`] half of [`MemoryStore`]: relationships by id, under one lock, so
//! the duplicate check and the insert of [`TrustStore::create_trust`] are one step.
//! Lookups by issuer scan them all: trust relationships are few, and written by admins.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::memory::{page, read, write, MemoryStore};
use super::{StoreFuture, TrustPage, TrustQuery, TrustStore, TRUST_ID_TAKEN, TRUST_KEY_TAKEN};
use crate::error::{Error, ErrorCode, Result};
use crate::model::TrustedIssuer;

/// Trust relationships by id.
pub(super) type Trusts = BTreeMap<String, Arc<TrustedIssuer>>;

/// Whether two relationships claim the same issuer, subject and key.
fn same_key(a: &TrustedIssuer, b: &TrustedIssuer) -> bool {
    a.issuer == b.issuer && a.subject == b.subject && a.public_key.kid == b.public_key.kid
}

impl TrustStore for MemoryStore {
    fn create_trust<'a>(&'a self, trust: TrustedIssuer) -> StoreFuture<'a, Result<()>> {
        StoreFuture::now(|| {
            let mut trusts = write(&self.trusts);
            if trusts.contains_key(&trust.id) {
                return Err(Error::new(ErrorCode::Conflict, TRUST_ID_TAKEN));
            }
            if trusts.values().any(|t| same_key(t, &trust)) {
                return Err(Error::new(ErrorCode::Conflict, TRUST_KEY_TAKEN));
            }
            trusts.insert(trust.id.clone(), Arc::new(trust));
            Ok(())
        })
    }

    fn get_trust<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Result<Option<Arc<TrustedIssuer>>>> {
        StoreFuture::now(|| Ok(read(&self.trusts).get(id).cloned()))
    }

    fn list_trusts<'a>(&'a self, query: &'a TrustQuery) -> StoreFuture<'a, Result<TrustPage>> {
        StoreFuture::now(|| {
            let (trusts, next_page_token) = page(
                &read(&self.trusts),
                query.page_token.as_deref(),
                query.limit(),
                |t| query.matches(t),
            );
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
            Ok(read(&self.trusts)
                .values()
                .filter(|t| t.issuer == issuer)
                .cloned()
                .collect())
        })
    }

    fn delete_trust<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Result<bool>> {
        StoreFuture::now(|| Ok(write(&self.trusts).remove(id).is_some()))
    }

    fn flush_trusts<'a>(&'a self, before: i64) -> StoreFuture<'a, Result<u64>> {
        StoreFuture::now(|| {
            let mut trusts = write(&self.trusts);
            let was = trusts.len();
            trusts.retain(|_, t| !t.expired_before(before));
            Ok((was - trusts.len()) as u64)
        })
    }
}
