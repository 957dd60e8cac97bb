//! The [`SessionStore`] half of [`PostgresStore`].
//!
//! Tables: `portcullis_flows` and `portcullis_logouts` (`id`, `version`, `expires_at`,
//! JSON body: a challenge moves forward with one `UPDATE … WHERE version = v - 1`, so of
//! concurrent updates from one version exactly one succeeds);
//! `portcullis_login_sessions` (`sid`, `subject`, `expires_at`, body); and
//! `portcullis_consents` (`subject`, `id`, `client_id`, `handled_at`, a sequence number
//! that orders consents stored in the same second, body).

use super::postgres_store::{bigint, db, encode, PostgresStore};
use super::{SessionSelector, SessionStore, StoreFuture};
use crate::error::{Error, ErrorCode, Result};
use crate::model::flow::Versioned;
use crate::model::{ConsentSession, Flow, LoginSession, LogoutFlow};

/// The statements of a table of [`Versioned`] records.
struct VersionedTable {
    create: &'static str,
    get: &'static str,
    update: &'static str,
}

const FLOWS: VersionedTable = VersionedTable {
    create: "INSERT INTO portcullis_flows (id, version, expires_at, body) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    get: "SELECT body FROM portcullis_flows WHERE id = $1",
    update: "UPDATE portcullis_flows SET version = $2::bigint, expires_at = $3, body = $4 \
             WHERE id = $1 AND version = $2::bigint - 1",
};

const LOGOUTS: VersionedTable = VersionedTable {
    create: "INSERT INTO portcullis_logouts (id, version, expires_at, body) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    get: "SELECT body FROM portcullis_logouts WHERE id = $1",
    update: "UPDATE portcullis_logouts SET version = $2::bigint, expires_at = $3, body = $4 \
             WHERE id = $1 AND version = $2::bigint - 1",
};

impl PostgresStore {
    async fn create_versioned<T: Versioned>(
        &self,
        table: &VersionedTable,
        record: &T,
    ) -> Result<()> {
        let body = encode(record)?;
        let version = bigint(record.version())?;
        let created = self
            .execute(
                table.create,
                &[
                    &record.id().as_bytes(),
                    &version,
                    &record.expires_at(),
                    &body,
                ],
            )
            .await?;
        match created {
            0 => Err(Error::new(
                ErrorCode::Conflict,
                "The request already exists.",
            )),
            _ => Ok(()),
        }
    }

    async fn get_versioned<T: Versioned>(
        &self,
        table: &VersionedTable,
        id: &str,
    ) -> Result<Option<T>> {
        self.body(table.get, id).await
    }

    async fn update_versioned<T: Versioned>(
        &self,
        table: &VersionedTable,
        record: &T,
    ) -> Result<bool> {
        let body = encode(record)?;
        let version = bigint(record.version())?;
        let updated = self
            .execute(
                table.update,
                &[
                    &record.id().as_bytes(),
                    &version,
                    &record.expires_at(),
                    &body,
                ],
            )
            .await?;
        Ok(updated == 1)
    }
}

impl SessionStore for PostgresStore {
    fn create_flow<'a>(&'a self, flow: &'a Flow) -> StoreFuture<'a, Result<()>> {
        StoreFuture::boxed(self.create_versioned(&FLOWS, flow))
    }

    fn get_flow<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Result<Option<Box<Flow>>>> {
        StoreFuture::boxed(async move { Ok(self.get_versioned(&FLOWS, id).await?.map(Box::new)) })
    }

    fn update_flow<'a>(&'a self, flow: &'a Flow) -> StoreFuture<'a, Result<bool>> {
        StoreFuture::boxed(self.update_versioned(&FLOWS, flow))
    }

    fn put_login_session<'a>(&'a self, session: LoginSession) -> StoreFuture<'a, Result<()>> {
        StoreFuture::boxed(async move {
            let body = encode(&session)?;
            self.execute(
                "INSERT INTO portcullis_login_sessions (sid, subject, expires_at, body) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (sid) DO UPDATE SET \
                 subject = EXCLUDED.subject, expires_at = EXCLUDED.expires_at, \
                 body = EXCLUDED.body",
                &[
                    &session.sid.as_bytes(),
                    &session.subject.as_bytes(),
                    &session.expires_at,
                    &body,
                ],
            )
            .await?;
            Ok(())
        })
    }

    fn get_login_session<'a>(
        &'a self,
        sid: &'a str,
    ) -> StoreFuture<'a, Result<Option<LoginSession>>> {
        StoreFuture::boxed(async move {
            self.body(
                "SELECT body FROM portcullis_login_sessions WHERE sid = $1",
                sid,
            )
            .await
        })
    }

    fn delete_login_sessions<'a>(
        &'a self,
        by: SessionSelector<'a>,
    ) -> StoreFuture<'a, Result<Vec<LoginSession>>> {
        StoreFuture::boxed(async move {
            match by {
                SessionSelector::Sid(sid) => {
                    self.bodies(
                        "DELETE FROM portcullis_login_sessions WHERE sid = $1 RETURNING body",
                        &[&sid.as_bytes()],
                    )
                    .await
                }
                SessionSelector::Subject(subject) => {
                    self.bodies(
                        "DELETE FROM portcullis_login_sessions WHERE subject = $1 \
                         RETURNING body",
                        &[&subject.as_bytes()],
                    )
                    .await
                }
            }
        })
    }

    fn put_consent<'a>(&'a self, consent: ConsentSession) -> StoreFuture<'a, Result<()>> {
        StoreFuture::boxed(async move {
            let body = encode(&consent)?;
            // A replaced consent takes a new sequence number: it was stored last.
            self.execute(
                "INSERT INTO portcullis_consents (subject, id, client_id, handled_at, body) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (subject, id) DO UPDATE SET \
                 client_id = EXCLUDED.client_id, handled_at = EXCLUDED.handled_at, \
                 seq = DEFAULT, body = EXCLUDED.body",
                &[
                    &consent.subject.as_bytes(),
                    &consent.id.as_bytes(),
                    &consent.client_id.as_bytes(),
                    &consent.handled_at,
                    &body,
                ],
            )
            .await?;
            Ok(())
        })
    }

    fn consents<'a>(&'a self, subject: &'a str) -> StoreFuture<'a, Result<Vec<ConsentSession>>> {
        StoreFuture::boxed(async move {
            self.bodies(
                "SELECT body FROM portcullis_consents WHERE subject = $1 \
                 ORDER BY handled_at DESC, seq DESC",
                &[&subject.as_bytes()],
            )
            .await
        })
    }

    fn delete_consents<'a>(
        &'a self,
        subject: &'a str,
        client_id: Option<&'a str>,
    ) -> StoreFuture<'a, Result<Vec<ConsentSession>>> {
        StoreFuture::boxed(async move {
            self.bodies(
                "DELETE FROM portcullis_consents \
                 WHERE subject = $1 AND ($2::bytea IS NULL OR client_id = $2) RETURNING body",
                &[&subject.as_bytes(), &client_id.map(str::as_bytes)],
            )
            .await
        })
    }

    fn create_logout<'a>(&'a self, logout: &'a LogoutFlow) -> StoreFuture<'a, Result<()>> {
        StoreFuture::boxed(self.create_versioned(&LOGOUTS, logout))
    }

    fn get_logout<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Result<Option<LogoutFlow>>> {
        StoreFuture::boxed(self.get_versioned(&LOGOUTS, id))
    }

    fn update_logout<'a>(&'a self, logout: &'a LogoutFlow) -> StoreFuture<'a, Result<bool>> {
        StoreFuture::boxed(self.update_versioned(&LOGOUTS, logout))
    }

    fn flush_sessions<'a>(&'a self, before: i64) -> StoreFuture<'a, Result<u64>> {
        StoreFuture::boxed(async move {
            let mut conn = self.conn().await?;
            let tx = conn.transaction().await.map_err(db)?;
            let mut deleted = 0;
            for table in [
                "portcullis_flows",
                "portcullis_logouts",
                "portcullis_login_sessions",
            ] {
                deleted += tx
                    .execute(
                        &format!("DELETE FROM {table} WHERE expires_at < $1"),
                        &[&before],
                    )
                    .await
                    .map_err(db)?;
            }
            tx.commit().await.map_err(db)?;
            Ok(deleted)
        })
    }
}
