//! The [`TrustStore`] half of [`PostgresStore`]: `portcullis_trusts` holds each
//! relationship by `id`, with a unique constraint on `(issuer, subject, kid)`, so the
//! duplicate check of [`TrustStore::create_trust`] is the insert itself.

use std::sync::Arc;

use super::postgres_store::{bigint, db, decode, encode, text, violates, PostgresStore};
use super::{page_of, StoreFuture, TrustPage, TrustQuery, TrustStore};
use super::{TRUST_ID_TAKEN, TRUST_KEY_TAKEN};
use crate::error::{Error, ErrorCode, Result};
use crate::model::TrustedIssuer;

impl TrustStore for PostgresStore {
    fn create_trust<'a>(&'a self, trust: TrustedIssuer) -> StoreFuture<'a, Result<()>> {
        StoreFuture::boxed(async move {
            let body = encode(&trust)?;
            let conn = self.conn().await?;
            let inserted = conn
                .execute(
                    "INSERT INTO portcullis_trusts (id, issuer, subject, kid, body) \
                     VALUES ($1, $2, $3, $4, $5)",
                    &[
                        &trust.id.as_bytes(),
                        &trust.issuer.as_bytes(),
                        &trust.subject.as_bytes(),
                        &trust.public_key.kid.as_bytes(),
                        &body,
                    ],
                )
                .await;
            match inserted {
                Ok(_) => Ok(()),
                Err(e) if violates(&e, "portcullis_trusts_id") => {
                    Err(Error::new(ErrorCode::Conflict, TRUST_ID_TAKEN))
                }
                Err(e) if violates(&e, "portcullis_trusts_key") => {
                    Err(Error::new(ErrorCode::Conflict, TRUST_KEY_TAKEN))
                }
                Err(e) => Err(db(e)),
            }
        })
    }

    fn get_trust<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Result<Option<Arc<TrustedIssuer>>>> {
        StoreFuture::boxed(async move {
            let found: Option<TrustedIssuer> = self
                .body("SELECT body FROM portcullis_trusts WHERE id = $1", id)
                .await?;
            Ok(found.map(Arc::new))
        })
    }

    fn list_trusts<'a>(&'a self, query: &'a TrustQuery) -> StoreFuture<'a, Result<TrustPage>> {
        StoreFuture::boxed(async move {
            let limit = bigint(query.limit() as u64 + 1)?;
            let rows = self
                .query(
                    "SELECT id, body FROM portcullis_trusts \
                     WHERE ($1::bytea IS NULL OR id > $1) AND ($2::bytea IS NULL OR issuer = $2) \
                     ORDER BY id LIMIT $3",
                    &[
                        &query.page_token.as_deref().map(str::as_bytes),
                        &query.issuer.as_deref().map(str::as_bytes),
                        &limit,
                    ],
                )
                .await?;
            let items = rows
                .iter()
                .map(|row| {
                    Ok((
                        text(row.get(0))?,
                        Arc::new(decode::<TrustedIssuer>(row.get(1))?),
                    ))
                })
                .collect::<Result<Vec<_>>>()?;
            let (trusts, next_page_token) = page_of(items, query.limit());
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
        StoreFuture::boxed(async move {
            let found: Vec<TrustedIssuer> = self
                .bodies(
                    "SELECT body FROM portcullis_trusts WHERE issuer = $1 ORDER BY id",
                    &[&issuer.as_bytes()],
                )
                .await?;
            Ok(found.into_iter().map(Arc::new).collect())
        })
    }

    fn delete_trust<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Result<bool>> {
        StoreFuture::boxed(async move {
            let deleted = self
                .execute(
                    "DELETE FROM portcullis_trusts WHERE id = $1",
                    &[&id.as_bytes()],
                )
                .await?;
            Ok(deleted > 0)
        })
    }

    fn flush_trusts<'a>(&'a self, before: i64) -> StoreFuture<'a, Result<u64>> {
        StoreFuture::boxed(async move {
            // The expiry is inside the body: relationships are few (admins write them),
            // so read them all and delete the expired ones whose body is unchanged.
            let rows = self
                .query("SELECT id, body FROM portcullis_trusts", &[])
                .await?;
            let mut ids: Vec<&[u8]> = Vec::new();
            let mut bodies: Vec<&[u8]> = Vec::new();
            for row in &rows {
                if decode::<TrustedIssuer>(row.get(1))?.expired_before(before) {
                    ids.push(row.get(0));
                    bodies.push(row.get(1));
                }
            }
            if ids.is_empty() {
                return Ok(0);
            }
            self.execute(
                "DELETE FROM portcullis_trusts t USING unnest($1::bytea[], $2::bytea[]) \
                 AS d(id, body) WHERE t.id = d.id AND t.body = d.body",
                &[&ids, &bodies],
            )
            .await
        })
    }
}
