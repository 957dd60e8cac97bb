//! A [`Storage`](super::Storage) in PostgreSQL: one database shared by many app
//! instances behind a load balancer (feature `postgres`).
//!
//! Layout (storage layout 1 of this backend; tables in the connection's `search_path`,
//! so a schema is chosen with the URL's `options=-csearch_path%3D<schema>`):
//!
//! Every column that holds a string the engine was given (ids, names, subjects) is
//! `bytea`: it compares byte for byte, as the other stores do (so pages come in the
//! same order, whatever the database's collation), and holds any string, NUL included.
//!
//! - `portcullis_clients`: `client_id`, `client_name`, `owner` (the list filters), and
//!   the JSON `Client`;
//! - `portcullis_tokens`: `signature`, `kind`, `status`, `rotated_at`, `reuses`,
//!   `grant_id`, `client_id`, `expires_at`, and the JSON
//!   [`TokenRecord`](crate::model::TokenRecord) as issued (its status and rotation live
//!   in their columns); indexed by grant, client and expiry;
//! - `portcullis_revoked_grants`: `grant_id` → `until` (the revocation markers);
//! - `portcullis_assertion_ids`: used `(client_id, jti)` pairs with their expiry;
//! - `portcullis_keys`: `kid`, a sequence number (oldest first), the JSON key;
//! - the session tables (flows, logout requests, login sessions, consents), in
//!   `postgres_sessions.rs`; the trust relationships in `postgres_trust.rs`;
//! - `portcullis_layout`: one row, the layout version.
//!
//! Atomicity: every operation that protects users is one SQL statement, or one
//! transaction holding the row it changes (`SELECT … FOR UPDATE`), so of concurrent
//! calls on one code, refresh token, challenge or assertion id exactly one wins, across
//! every app instance. Revoking a grant writes its marker, which every read of a token
//! honours (an `Active` token of a marked grant reads as `Revoked`), as in the other
//! stores. Every statement commits before the call returns, so with PostgreSQL's default
//! `synchronous_commit = on` everything the storage contract asks to be durable is.
//!
//! [`PostgresStore::connect`] creates the tables in a new database (under an advisory
//! lock, so instances starting together do not race) and refuses one that holds another
//! layout.

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{
    Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime, TimeoutType,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row, Socket};

/// The PostgreSQL client and pool crates this store is built on, for
/// [`PostgresStore::from_pool`] and TLS connectors of matching versions.
pub use {deadpool_postgres, tokio_postgres};

use super::{page_of, ClientPage, ClientQuery, ClientStore, KeyStore, StoreFuture};
use crate::error::{Error, ErrorCode, Result};
use crate::model::{Client, StoredKey};

/// The layout this version reads and writes.
const LAYOUT: i32 = 1;

/// How long [`PostgresStore::connect`] gives a new connection to be made (socket,
/// TLS, authentication), unless the URL's `connect_timeout` says otherwise.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an operation of [`PostgresStore::connect`]'s store waits for a free pooled
/// connection before it answers `temporarily_unavailable` (503): under more load than
/// the pool serves, requests fail fast instead of queueing without end.
pub const POOL_WAIT_TIMEOUT: Duration = Duration::from_secs(10);

/// The advisory lock key [`PostgresStore::connect`] holds while it creates the tables.
const MIGRATION_LOCK: i64 = 0x706f_7274_6375_6c6c; // "portcull"

/// The tables of layout 1.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS portcullis_layout (version integer NOT NULL);
CREATE TABLE IF NOT EXISTS portcullis_clients (
    client_id bytea PRIMARY KEY,
    client_name bytea NOT NULL,
    owner bytea NOT NULL,
    body bytea NOT NULL
);
CREATE TABLE IF NOT EXISTS portcullis_tokens (
    signature bytea PRIMARY KEY,
    kind text NOT NULL,
    status text NOT NULL,
    rotated_at bigint,
    reuses bigint NOT NULL DEFAULT 0,
    grant_id bytea NOT NULL,
    client_id bytea NOT NULL,
    expires_at bigint NOT NULL,
    body bytea NOT NULL
);
CREATE INDEX IF NOT EXISTS portcullis_tokens_grant ON portcullis_tokens (grant_id);
CREATE INDEX IF NOT EXISTS portcullis_tokens_client ON portcullis_tokens (client_id);
CREATE INDEX IF NOT EXISTS portcullis_tokens_expiry ON portcullis_tokens (expires_at);
CREATE TABLE IF NOT EXISTS portcullis_revoked_grants (
    grant_id bytea PRIMARY KEY,
    until bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS portcullis_assertion_ids (
    client_id bytea NOT NULL,
    jti bytea NOT NULL,
    expires_at bigint NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX IF NOT EXISTS portcullis_assertion_ids_expiry
    ON portcullis_assertion_ids (expires_at);
CREATE TABLE IF NOT EXISTS portcullis_keys (
    kid bytea PRIMARY KEY,
    seq bigserial NOT NULL,
    body bytea NOT NULL
);
CREATE TABLE IF NOT EXISTS portcullis_flows (
    id bytea PRIMARY KEY,
    version bigint NOT NULL,
    expires_at bigint NOT NULL,
    body bytea NOT NULL
);
CREATE INDEX IF NOT EXISTS portcullis_flows_expiry ON portcullis_flows (expires_at);
CREATE TABLE IF NOT EXISTS portcullis_logouts (
    id bytea PRIMARY KEY,
    version bigint NOT NULL,
    expires_at bigint NOT NULL,
    body bytea NOT NULL
);
CREATE INDEX IF NOT EXISTS portcullis_logouts_expiry ON portcullis_logouts (expires_at);
CREATE TABLE IF NOT EXISTS portcullis_login_sessions (
    sid bytea PRIMARY KEY,
    subject bytea NOT NULL,
    expires_at bigint NOT NULL,
    body bytea NOT NULL
);
CREATE INDEX IF NOT EXISTS portcullis_login_sessions_subject
    ON portcullis_login_sessions (subject);
CREATE INDEX IF NOT EXISTS portcullis_login_sessions_expiry
    ON portcullis_login_sessions (expires_at);
CREATE TABLE IF NOT EXISTS portcullis_consents (
    subject bytea NOT NULL,
    id bytea NOT NULL,
    client_id bytea NOT NULL,
    handled_at bigint NOT NULL,
    seq bigserial NOT NULL,
    body bytea NOT NULL,
    PRIMARY KEY (subject, id)
);
CREATE TABLE IF NOT EXISTS portcullis_trusts (
    id bytea NOT NULL,
    issuer bytea NOT NULL,
    subject bytea NOT NULL,
    kid bytea NOT NULL,
    body bytea NOT NULL,
    CONSTRAINT portcullis_trusts_id PRIMARY KEY (id),
    CONSTRAINT portcullis_trusts_key UNIQUE (issuer, subject, kid)
);
";

/// A [`Storage`](super::Storage) on PostgreSQL. Cheap to clone: clones share the pool.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = self.pool.status();
        f.debug_struct("PostgresStore")
            .field("connections", &status.size)
            .field("max_connections", &status.max_size)
            .finish()
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host/db`, libpq's
    /// URL and key-value forms) without TLS (for TLS, [`connect_with`](Self::connect_with)),
    /// with a pool of up to 16 connections, each made within [`CONNECT_TIMEOUT`] unless
    /// the URL's `connect_timeout` says otherwise, an operation waiting at most
    /// [`POOL_WAIT_TIMEOUT`] for a free one, and creates the tables if they are missing.
    /// A statement itself has no time limit unless the URL sets one
    /// (`options=-c%20statement_timeout%3D5s`).
    ///
    /// Fails if the database is unreachable, or holds another storage layout (written
    /// by another version of portcullis): the error's description names both.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, NoTls).await
    }

    /// Like [`connect`](Self::connect), over the TLS connector `tls` (any
    /// `tokio_postgres` one: `tokio-postgres-rustls`, `postgres-native-tls`, …); the URL's
    /// `sslmode` says whether TLS is preferred or required.
    pub async fn connect_with<T>(url: &str, tls: T) -> Result<Self>
    where
        T: MakeTlsConnect<Socket> + Clone + Sync + Send + 'static,
        T::Stream: Sync + Send,
        T::TlsConnect: Sync + Send,
        <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
    {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| Error::new(ErrorCode::ServerError, format!("PostgreSQL URL: {e}")))?;
        let connect_timeout = config
            .get_connect_timeout()
            .copied()
            .unwrap_or(CONNECT_TIMEOUT);
        config.connect_timeout(connect_timeout);
        let manager = Manager::from_config(
            config,
            tls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(16)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(connect_timeout))
            .wait_timeout(Some(POOL_WAIT_TIMEOUT))
            .build()
            .map_err(Error::internal)?;
        Self::from_pool(pool).await
    }

    /// A store on an existing pool (other pool settings); creates the tables if they are
    /// missing, as [`connect`](Self::connect). The pool's crate is re-exported as
    /// [`deadpool_postgres`], so its version
    /// matches.
    pub async fn from_pool(pool: Pool) -> Result<Self> {
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// Creates the tables if they are missing and checks the layout. Its errors are for
    /// the operator starting the app, so they carry the database's message.
    async fn migrate(&self) -> Result<()> {
        let mut conn = self.pool.get().await.map_err(|e| startup(&e))?;
        let tx = conn.transaction().await.map_err(|e| startup(&e))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(|e| startup(&e))?;
        tx.batch_execute(SCHEMA).await.map_err(|e| startup(&e))?;
        let found: Option<i32> = tx
            .query_opt("SELECT version FROM portcullis_layout", &[])
            .await
            .map_err(|e| startup(&e))?
            .map(|row| row.get(0));
        match found {
            None => {
                tx.execute(
                    "INSERT INTO portcullis_layout (version) VALUES ($1)",
                    &[&LAYOUT],
                )
                .await
                .map_err(|e| startup(&e))?;
            }
            Some(LAYOUT) => {}
            Some(other) => {
                return Err(Error::new(
                    ErrorCode::ServerError,
                    format!(
                        "PostgreSQL: the database holds storage layout {other}; this version \
                         of portcullis reads layout {LAYOUT}"
                    ),
                ))
            }
        }
        tx.commit().await.map_err(|e| startup(&e))
    }

    /// A pooled connection.
    pub(super) async fn conn(&self) -> Result<Object> {
        self.pool.get().await.map_err(|e| match e {
            PoolError::Timeout(TimeoutType::Wait) => {
                tracing::warn!("no PostgreSQL connection became free in time");
                Error::new(
                    ErrorCode::TemporarilyUnavailable,
                    "The server is busy; try again later.",
                )
            }
            e => Error::internal(format!("PostgreSQL pool: {e}")),
        })
    }

    /// Runs one statement (prepared once per connection); the rows it returns.
    pub(super) async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>> {
        let conn = self.conn().await?;
        let statement = conn.prepare_cached(sql).await.map_err(db)?;
        conn.query(&statement, params).await.map_err(db)
    }

    /// Runs one statement; how many rows it changed.
    pub(super) async fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        let conn = self.conn().await?;
        let statement = conn.prepare_cached(sql).await.map_err(db)?;
        conn.execute(&statement, params).await.map_err(db)
    }

    /// The JSON body of the one row a lookup by `key` (`$1`) finds, decoded.
    pub(super) async fn body<T: DeserializeOwned>(
        &self,
        sql: &str,
        key: &str,
    ) -> Result<Option<T>> {
        Ok(self
            .bodies(sql, &[&key.as_bytes()])
            .await?
            .into_iter()
            .next())
    }

    /// The JSON bodies in column 0 of the rows a statement returns, decoded.
    pub(super) async fn bodies<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<T>> {
        self.query(sql, params)
            .await?
            .iter()
            .map(|row| decode(row.get(0)))
            .collect()
    }
}

/// A database error, as the storage contract reports it.
/// An error met while starting (connecting, creating the tables), for the operator: with
/// its causes, each once (a TLS failure's reason is two sources down).
fn startup(e: &dyn std::error::Error) -> Error {
    let mut text = format!("PostgreSQL: {e}");
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    Error::new(ErrorCode::ServerError, text)
}

pub(super) fn db(e: tokio_postgres::Error) -> Error {
    // The debug form carries the cause (the server's message, a parameter's type).
    Error::internal(format!("PostgreSQL: {e:?}"))
}

/// Whether a database error is a unique-constraint violation of `constraint`.
pub(super) fn violates(e: &tokio_postgres::Error, constraint: &str) -> bool {
    e.as_db_error().is_some_and(|d| {
        *d.code() == tokio_postgres::error::SqlState::UNIQUE_VIOLATION
            && d.constraint() == Some(constraint)
    })
}

/// A record as stored.
pub(super) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(Error::internal)
}

/// A stored record.
pub(super) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(Error::internal)
}

/// A key column's bytes as the string they were stored from.
pub(super) fn text(bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes).map_err(Error::internal)
}

/// A `u64` as a `bigint` column (versions and counts never come near the limit).
pub(super) fn bigint(n: u64) -> Result<i64> {
    i64::try_from(n).map_err(|_| Error::internal("a version past i64::MAX"))
}

impl ClientStore for PostgresStore {
    fn create_client<'a>(&'a self, client: Client) -> StoreFuture<'a, Result<()>> {
        StoreFuture::boxed(async move {
            let body = encode(&client)?;
            let created = self
                .execute(
                    "INSERT INTO portcullis_clients (client_id, client_name, owner, body) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                    &[
                        &client.client_id.as_bytes(),
                        &client.client_name.as_bytes(),
                        &client.owner.as_bytes(),
                        &body,
                    ],
                )
                .await?;
            match created {
                0 => Err(Error::new(
                    ErrorCode::Conflict,
                    "A client with this id already exists.",
                )),
                _ => Ok(()),
            }
        })
    }

    fn get_client<'a>(
        &'a self,
        client_id: &'a str,
    ) -> StoreFuture<'a, Result<Option<Arc<Client>>>> {
        StoreFuture::boxed(async move {
            let found: Option<Client> = self
                .body(
                    "SELECT body FROM portcullis_clients WHERE client_id = $1",
                    client_id,
                )
                .await?;
            Ok(found.map(Arc::new))
        })
    }

    fn update_client<'a>(&'a self, client: Client) -> StoreFuture<'a, Result<()>> {
        StoreFuture::boxed(async move {
            let body = encode(&client)?;
            let updated = self
                .execute(
                    "UPDATE portcullis_clients SET client_name = $2, owner = $3, body = $4 \
                     WHERE client_id = $1",
                    &[
                        &client.client_id.as_bytes(),
                        &client.client_name.as_bytes(),
                        &client.owner.as_bytes(),
                        &body,
                    ],
                )
                .await?;
            match updated {
                0 => Err(Error::not_found("No client with this id.")),
                _ => Ok(()),
            }
        })
    }

    fn delete_client<'a>(&'a self, client_id: &'a str) -> StoreFuture<'a, Result<bool>> {
        StoreFuture::boxed(async move {
            let deleted = self
                .execute(
                    "DELETE FROM portcullis_clients WHERE client_id = $1",
                    &[&client_id.as_bytes()],
                )
                .await?;
            Ok(deleted > 0)
        })
    }

    fn list_clients<'a>(&'a self, query: &'a ClientQuery) -> StoreFuture<'a, Result<ClientPage>> {
        StoreFuture::boxed(async move {
            let limit = bigint(query.limit() as u64 + 1)?;
            let rows = self
                .query(
                    "SELECT client_id, body FROM portcullis_clients \
                     WHERE ($1::bytea IS NULL OR client_id > $1) \
                       AND ($2::bytea IS NULL OR client_name = $2) \
                       AND ($3::bytea IS NULL OR owner = $3) \
                     ORDER BY client_id LIMIT $4",
                    &[
                        &query.page_token.as_deref().map(str::as_bytes),
                        &query.client_name.as_deref().map(str::as_bytes),
                        &query.owner.as_deref().map(str::as_bytes),
                        &limit,
                    ],
                )
                .await?;
            let items = rows
                .iter()
                .map(|row| Ok((text(row.get(0))?, Arc::new(decode::<Client>(row.get(1))?))))
                .collect::<Result<Vec<_>>>()?;
            let (clients, next_page_token) = page_of(items, query.limit());
            Ok(ClientPage {
                clients,
                next_page_token,
            })
        })
    }
}

impl KeyStore for PostgresStore {
    fn put_key<'a>(&'a self, key: StoredKey) -> StoreFuture<'a, Result<()>> {
        StoreFuture::boxed(async move {
            let body = encode(&key)?;
            self.execute(
                "INSERT INTO portcullis_keys (kid, body) VALUES ($1, $2) \
                 ON CONFLICT (kid) DO UPDATE SET body = EXCLUDED.body",
                &[&key.kid.as_bytes(), &body],
            )
            .await?;
            Ok(())
        })
    }

    fn keys<'a>(&'a self) -> StoreFuture<'a, Result<Vec<StoredKey>>> {
        StoreFuture::boxed(async move {
            self.bodies("SELECT body FROM portcullis_keys ORDER BY seq", &[])
                .await
        })
    }

    fn delete_key<'a>(&'a self, kid: &'a str) -> StoreFuture<'a, Result<bool>> {
        StoreFuture::boxed(async move {
            let deleted = self
                .execute(
                    "DELETE FROM portcullis_keys WHERE kid = $1",
                    &[&kid.as_bytes()],
                )
                .await?;
            Ok(deleted > 0)
        })
    }
}
