//! The [`TokenStore`] half of [`PostgresStore`].
//!
//! A token row keeps the record as issued in `body`, and what changes after issuance —
//! `status`, `rotated_at`, `reuses` — in columns, so consuming, rotating and revoking
//! update a few columns and never rewrite the record. Every read joins the grant's
//! revocation marker: an `Active` token of a revoked grant reads as `Revoked`.
//!
//! Consuming a code and revoking a token are one `UPDATE` each: PostgreSQL re-checks the
//! `WHERE` of an `UPDATE` that waited on a row lock, so of concurrent calls exactly one
//! changes the row. Rotating a refresh token is a transaction that locks the token's row
//! (`SELECT … FOR UPDATE`), decides with [`Rotation`], updates it and inserts the
//! replacements. Issuing is one `INSERT … SELECT … WHERE NOT EXISTS` (the grant's marker),
//! one round trip, whose commit does not wait for the disk (issuance may ride on the
//! normal flush); a revocation committed while it runs leaves records behind that read
//! as revoked.

use std::sync::Arc;

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::postgres_store::{db, decode, encode, PostgresStore};
use super::{
    Consumed, Rotated, Rotation, StoreFuture, TokenStore, MARKER_UNTIL_FIRST_FLUSH,
    REVOKED_GRANT_GRACE,
};
use crate::error::{Error, Result};
use crate::model::{TokenKind, TokenRecord, TokenStatus};

/// The columns a token is read from, in the order [`read`] takes them.
const READ: &str = "SELECT t.body, t.status, t.rotated_at, t.reuses, \
     EXISTS (SELECT 1 FROM portcullis_revoked_grants g WHERE g.grant_id = t.grant_id) \
     FROM portcullis_tokens t WHERE t.signature = $1";

fn kind_name(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::AuthorizationCode => "authorization_code",
        TokenKind::AccessToken => "access_token",
        TokenKind::RefreshToken => "refresh_token",
    }
}

fn status_name(status: TokenStatus) -> &'static str {
    match status {
        TokenStatus::Active => "active",
        TokenStatus::Revoked => "revoked",
        TokenStatus::Consumed => "consumed",
        TokenStatus::Rotated => "rotated",
    }
}

fn status_of(name: &str) -> Result<TokenStatus> {
    Ok(match name {
        "active" => TokenStatus::Active,
        "revoked" => TokenStatus::Revoked,
        "consumed" => TokenStatus::Consumed,
        "rotated" => TokenStatus::Rotated,
        other => return Err(Error::internal(format!("a token of status {other:?}"))),
    })
}

/// A token as readers see it, from a row of [`READ`]: its status now, revoked if its
/// grant is, and whether the grant is.
fn read(row: &Row) -> Result<(TokenRecord, bool)> {
    let record: TokenRecord = decode(row.get(0))?;
    let revoked: bool = row.get(4);
    let status = match status_of(row.get(1))? {
        TokenStatus::Active if revoked => TokenStatus::Revoked,
        status => status,
    };
    let reuses: i64 = row.get(3);
    Ok((
        TokenRecord {
            rotated_at: row.get(2),
            reuses: u32::try_from(reuses).unwrap_or(u32::MAX),
            ..record.with_status(status)
        },
        revoked,
    ))
}

/// The insert of [`insert`]: records from arrays, unless their grant is revoked, and, if
/// `$10`, with `synchronous_commit` off for its transaction (`set_config(…, true)` is
/// `SET LOCAL`).
const INSERT: &str = "INSERT INTO portcullis_tokens \
     (signature, kind, status, rotated_at, reuses, grant_id, client_id, expires_at, body) \
     SELECT * FROM unnest($1::bytea[], $2::text[], $3::text[], $4::bigint[], \
                          $5::bigint[], $6::bytea[], $7::bytea[], $8::bigint[], $9::bytea[]) \
     WHERE NOT EXISTS (SELECT 1 FROM portcullis_revoked_grants g WHERE g.grant_id = ANY($6)) \
       AND (NOT $10::boolean OR set_config('synchronous_commit', 'off', true) = 'off') \
     ON CONFLICT (signature) DO UPDATE SET kind = EXCLUDED.kind, \
     status = EXCLUDED.status, rotated_at = EXCLUDED.rotated_at, \
     reuses = EXCLUDED.reuses, grant_id = EXCLUDED.grant_id, \
     client_id = EXCLUDED.client_id, expires_at = EXCLUDED.expires_at, \
     body = EXCLUDED.body";

/// Inserts records (replacing any with the same signature) unless their grant is
/// revoked: one statement, whose marker check and insert are one step. The records all
/// belong to one grant (the storage contract), so either all are stored or none.
///
/// `lazy`: the insert is its own transaction, and may ride on the store's normal flush
/// (a token lost in a crash fails closed: its client asks again), so its commit does not
/// wait for the WAL to reach the disk. Inside `rotate_refresh`'s transaction it is not:
/// the rotation must be durable.
async fn insert(client: &impl GenericClient, tokens: &[TokenRecord], lazy: bool) -> Result<()> {
    if tokens.is_empty() {
        return Ok(());
    }
    let bodies = tokens.iter().map(encode).collect::<Result<Vec<_>>>()?;
    let column = |f: fn(&TokenRecord) -> &[u8]| tokens.iter().map(f).collect::<Vec<_>>();
    let statement = client.prepare_cached(INSERT).await.map_err(db)?;
    let stored = client
        .execute(
            &statement,
            &[
                &column(|t| t.signature.as_bytes()),
                &tokens.iter().map(|t| kind_name(t.kind)).collect::<Vec<_>>(),
                &tokens
                    .iter()
                    .map(|t| status_name(t.status))
                    .collect::<Vec<_>>(),
                &tokens.iter().map(|t| t.rotated_at).collect::<Vec<_>>(),
                &tokens
                    .iter()
                    .map(|t| i64::from(t.reuses))
                    .collect::<Vec<_>>(),
                &column(|t| t.grant_id.as_bytes()),
                &column(|t| t.client_id.as_bytes()),
                &tokens.iter().map(|t| t.expires_at).collect::<Vec<_>>(),
                &bodies,
                &lazy,
            ],
        )
        .await
        .map_err(db)?;
    if stored == 0 {
        return Err(Error::invalid_grant("The grant has been revoked."));
    }
    Ok(())
}

impl TokenStore for PostgresStore {
    fn insert_tokens<'a>(&'a self, tokens: Vec<TokenRecord>) -> StoreFuture<'a, Result<()>> {
        StoreFuture::boxed(async move { insert(&self.conn().await?, &tokens, true).await })
    }

    fn get_token<'a>(
        &'a self,
        signature: &'a str,
    ) -> StoreFuture<'a, Result<Option<Arc<TokenRecord>>>> {
        StoreFuture::boxed(async move {
            let rows = self.query(READ, &[&signature.as_bytes()]).await?;
            rows.first()
                .map(|row| Ok(Arc::new(read(row)?.0)))
                .transpose()
        })
    }

    fn consume_code<'a>(&'a self, signature: &'a str) -> StoreFuture<'a, Result<Consumed>> {
        StoreFuture::boxed(async move {
            let consumed = self
                .query(
                    "UPDATE portcullis_tokens t SET status = 'consumed' \
                     WHERE t.signature = $1 AND t.kind = 'authorization_code' \
                       AND t.status = 'active' AND NOT EXISTS \
                       (SELECT 1 FROM portcullis_revoked_grants g WHERE g.grant_id = t.grant_id) \
                     RETURNING t.body, t.rotated_at, t.reuses",
                    &[&signature.as_bytes()],
                )
                .await?;
            if let Some(row) = consumed.first() {
                let record: TokenRecord = decode(row.get(0))?;
                let reuses: i64 = row.get(2);
                return Ok(Consumed::Redeemed(Arc::new(TokenRecord {
                    rotated_at: row.get(1),
                    reuses: u32::try_from(reuses).unwrap_or(u32::MAX),
                    ..record.with_status(TokenStatus::Active)
                })));
            }
            let rows = self.query(READ, &[&signature.as_bytes()]).await?;
            let Some(row) = rows.first() else {
                return Ok(Consumed::NotFound);
            };
            let (record, _) = read(row)?;
            Ok(match record.kind {
                TokenKind::AuthorizationCode => Consumed::AlreadyUsed {
                    grant_id: record.grant_id,
                },
                _ => Consumed::NotFound,
            })
        })
    }

    fn rotate_refresh<'a>(
        &'a self,
        signature: &'a str,
        replacements: Vec<TokenRecord>,
        rotation: Rotation,
    ) -> StoreFuture<'a, Result<Rotated>> {
        StoreFuture::boxed(async move {
            let mut conn = self.conn().await?;
            let tx = conn.transaction().await.map_err(db)?;
            let locked = format!("{READ} FOR UPDATE OF t");
            let Some(row) = tx
                .query_opt(&locked, &[&signature.as_bytes()])
                .await
                .map_err(db)?
            else {
                return Ok(Rotated::NotFound);
            };
            let (record, grant_revoked) = read(&row)?;
            if record.kind != TokenKind::RefreshToken {
                return Ok(Rotated::NotFound);
            }
            // An active token of a revoked grant reads as revoked; a rotated one not.
            if !rotation.admits(&record) || grant_revoked {
                return Ok(Rotated::AlreadyUsed {
                    grant_id: record.grant_id,
                });
            }
            insert(&tx, &replacements, false).await?;
            let rotated = rotation.rotated(&record);
            tx.execute(
                "UPDATE portcullis_tokens SET status = $2, rotated_at = $3, reuses = $4 \
                 WHERE signature = $1",
                &[
                    &signature.as_bytes(),
                    &status_name(rotated.status),
                    &rotated.rotated_at,
                    &i64::from(rotated.reuses),
                ],
            )
            .await
            .map_err(db)?;
            tx.commit().await.map_err(db)?;
            Ok(Rotated::Rotated(Arc::new(record)))
        })
    }

    fn revoke_token<'a>(&'a self, signature: &'a str) -> StoreFuture<'a, Result<bool>> {
        StoreFuture::boxed(async move {
            let found = self
                .execute(
                    "UPDATE portcullis_tokens SET status = CASE status \
                     WHEN 'active' THEN 'revoked' ELSE status END WHERE signature = $1",
                    &[&signature.as_bytes()],
                )
                .await?;
            Ok(found > 0)
        })
    }

    fn revoke_grant<'a>(&'a self, grant_id: &'a str) -> StoreFuture<'a, Result<()>> {
        StoreFuture::boxed(async move {
            self.execute(
                "INSERT INTO portcullis_revoked_grants (grant_id, until) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
                &[&grant_id.as_bytes(), &MARKER_UNTIL_FIRST_FLUSH],
            )
            .await?;
            Ok(())
        })
    }

    fn revoke_client_tokens<'a>(&'a self, client_id: &'a str) -> StoreFuture<'a, Result<u64>> {
        StoreFuture::boxed(async move {
            let rows = self
                .query(
                    "WITH mine AS (SELECT grant_id FROM portcullis_tokens WHERE client_id = $1), \
                     marked AS (INSERT INTO portcullis_revoked_grants (grant_id, until) \
                       SELECT DISTINCT grant_id, $2::bigint FROM mine ON CONFLICT DO NOTHING) \
                     SELECT count(*) FROM mine",
                    &[&client_id.as_bytes(), &MARKER_UNTIL_FIRST_FLUSH],
                )
                .await?;
            let count: i64 = rows.first().map_or(0, |row| row.get(0));
            Ok(count.unsigned_abs())
        })
    }

    fn use_assertion_id<'a>(
        &'a self,
        client_id: &'a str,
        jti: &'a str,
        expires_at: i64,
    ) -> StoreFuture<'a, Result<bool>> {
        StoreFuture::boxed(async move {
            let inserted = self
                .execute(
                    "INSERT INTO portcullis_assertion_ids (client_id, jti, expires_at) \
                     VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    &[&client_id.as_bytes(), &jti.as_bytes(), &expires_at],
                )
                .await?;
            Ok(inserted == 1)
        })
    }

    fn flush_inactive<'a>(&'a self, before: i64) -> StoreFuture<'a, Result<u64>> {
        StoreFuture::boxed(async move {
            let mut conn = self.conn().await?;
            let tx = conn.transaction().await.map_err(db)?;
            let ids = tx
                .execute(
                    "DELETE FROM portcullis_assertion_ids WHERE expires_at < $1",
                    &[&before],
                )
                .await
                .map_err(db)?;
            let tokens = tx
                .execute(
                    "DELETE FROM portcullis_tokens WHERE expires_at < $1",
                    &[&before],
                )
                .await
                .map_err(db)?;
            // A marker lasts while its grant's tokens could still be presented: until the
            // last of them expires, or the grace after the first flush for a tokenless grant.
            tx.execute(
                "UPDATE portcullis_revoked_grants g SET until = CASE \
                   WHEN EXISTS (SELECT 1 FROM portcullis_tokens t WHERE t.grant_id = g.grant_id) \
                   THEN GREATEST(g.until, (SELECT max(t.expires_at) FROM portcullis_tokens t \
                                           WHERE t.grant_id = g.grant_id)) \
                   WHEN g.until = $2::bigint THEN $1::bigint + $3::bigint \
                   ELSE g.until END",
                &[&before, &MARKER_UNTIL_FIRST_FLUSH, &REVOKED_GRANT_GRACE],
            )
            .await
            .map_err(db)?;
            tx.execute(
                "DELETE FROM portcullis_revoked_grants WHERE until < $1",
                &[&before],
            )
            .await
            .map_err(db)?;
            tx.commit().await.map_err(db)?;
            Ok(ids + tokens)
        })
    }
}
