//! The two engines behind [`super::Store`]: how each pool is opened, how a
//! write transaction begins, and the little SQL that differs.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, PgPool, Postgres, Sqlite, SqlitePool, Transaction};

use super::Unreachable;

static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// Connections per process on PostgreSQL: three replicas stay well inside the
/// server's default `max_connections` (100).
const PG_MAX_CONNECTIONS: u32 = 10;
/// How long a query waits for a pooled connection (and, while PostgreSQL
/// restarts, for a new one) before its worker gives up and retries later.
const PG_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The transaction-level advisory lock every PostgreSQL write transaction
/// takes ("meteobot" in ASCII). See [`Engine::begin_write`].
const PG_WRITE_LOCK: i64 = 0x6d65_7465_6f62_6f74;

/// Which engine a `DATABASE_URL` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineKind {
    Sqlite,
    Postgres,
}

impl EngineKind {
    /// `sqlite:…` or `postgres://…` / `postgresql://…`; anything else is
    /// refused, naming the schemes (and never echoing a password).
    pub fn of_url(url: &str) -> anyhow::Result<Self> {
        let url = url.trim();
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            anyhow::bail!(
                "'{}' is neither a sqlite: URL (e.g. sqlite:meteobot.db) nor a postgres:// URL \
                 (e.g. postgres://meteobot:…@db:5432/meteobot)",
                crate::secret::redact_url(url)
            )
        }
    }
}

/// The SQL that is not the same on both engines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dialect(EngineKind);

impl Dialect {
    pub fn kind(self) -> EngineKind {
        self.0
    }

    /// A subquery listing the integers of the JSON array bound at `$n`
    /// (`WHERE id IN (…)` with a list of any length as one parameter).
    pub fn ids_in(self, n: u32) -> String {
        match self.0 {
            EngineKind::Sqlite => format!("SELECT value FROM json_each(${n})"),
            EngineKind::Postgres => {
                format!(
                    "SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST(${n} AS JSON))"
                )
            }
        }
    }

    /// The larger of two values (SQLite's two-argument `MAX`).
    pub fn greatest(self) -> &'static str {
        match self.0 {
            EngineKind::Sqlite => "MAX",
            EngineKind::Postgres => "GREATEST",
        }
    }
}

/// What the store needs of an engine's pool, beyond sqlx's `Executor`.
pub(crate) trait Engine {
    type Db: sqlx::Database;

    fn dialect(&self) -> Dialect;

    fn migrator(&self) -> &'static Migrator;

    /// A transaction for a read-then-write. Both engines run them one at a
    /// time, so each sees the others' effects whole:
    /// - SQLite: `BEGIN IMMEDIATE` takes the write lock at once. A deferred
    ///   transaction that reads first and writes later is refused with
    ///   "database is locked" *without* waiting when another connection wrote
    ///   in between; an immediate one waits under the busy timeout instead.
    /// - PostgreSQL: one transaction-level advisory lock, the same for all.
    ///   The store's transactions were written for SQLite's single writer
    ///   (count-then-insert limits, read-modify-write of a chat); the lock
    ///   keeps that meaning without SERIALIZABLE and its retries. The hot
    ///   multi-replica paths do not take it: outbox claims
    ///   (`FOR UPDATE SKIP LOCKED`), leases and single-statement writes.
    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<Transaction<'static, Self::Db>, sqlx::Error>> + Send;
}

impl Engine for SqlitePool {
    type Db = Sqlite;

    fn dialect(&self) -> Dialect {
        Dialect(EngineKind::Sqlite)
    }

    fn migrator(&self) -> &'static Migrator {
        &SQLITE_MIGRATOR
    }

    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<Transaction<'static, Sqlite>, sqlx::Error>> + Send {
        self.begin_with("BEGIN IMMEDIATE")
    }
}

impl Engine for PgPool {
    type Db = Postgres;

    fn dialect(&self) -> Dialect {
        Dialect(EngineKind::Postgres)
    }

    fn migrator(&self) -> &'static Migrator {
        &POSTGRES_MIGRATOR
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        let mut tx = self.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(PG_WRITE_LOCK)
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }
}

/// SQLite's pool; `acquisitions` counts every connection handed out.
pub(super) async fn sqlite_pool(
    database_url: &str,
    acquisitions: Arc<AtomicU64>,
) -> anyhow::Result<SqlitePool> {
    let options = SqliteConnectOptions::from_str(database_url)
        .with_context(|| format!("DATABASE_URL '{database_url}' is not a SQLite URL"))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5));
    // sqlx calls `before_acquire` only for a connection reused from the idle
    // queue and `after_connect` for one opened to serve an acquire
    // (min_connections is 0, so none is opened otherwise): together they
    // count every acquisition.
    //
    // Pool health: a reused connection is pinged (`test_before_acquire`) and
    // dropped if it is unfit (see `unfit`); its replacement is opened fresh.
    // Connections are also recycled after `max_lifetime` / `idle_timeout`.
    let (reused, opened) = (Arc::clone(&acquisitions), acquisitions);
    SqlitePoolOptions::new()
        .max_connections(8)
        .test_before_acquire(true)
        .idle_timeout(Duration::from_secs(60))
        .max_lifetime(Duration::from_secs(30 * 60))
        .before_acquire(move |conn, _meta| {
            reused.fetch_add(1, Ordering::Relaxed);
            Box::pin(async move {
                let why = unfit(conn).await?;
                if let Some(why) = why {
                    tracing::warn!("dropping a database connection: {why}");
                }
                Ok(why.is_none())
            })
        })
        .after_connect(move |_conn, _meta| {
            opened.fetch_add(1, Ordering::Relaxed);
            Box::pin(async { Ok(()) })
        })
        .connect_with(options)
        .await
        .map_err(|source| {
            Unreachable {
                url: database_url.to_owned(),
                source,
            }
            .into()
        })
}

/// PostgreSQL's pool. One direct connection first, so that a server that is
/// down, a wrong password or a missing database is reported as such (the
/// pool would only say that it timed out), then a lazy pool.
pub(super) async fn pg_pool(
    database_url: &str,
    acquisitions: Arc<AtomicU64>,
    reuse: bool,
) -> anyhow::Result<PgPool> {
    let unreachable = |source| Unreachable {
        url: crate::secret::redact_url(database_url),
        source,
    };
    let options = PgConnectOptions::from_str(database_url)
        .map_err(unreachable)?
        .application_name("meteobot");
    let first = tokio::time::timeout(
        PG_ACQUIRE_TIMEOUT,
        sqlx::PgConnection::connect_with(&options),
    )
    .await
    .unwrap_or(Err(sqlx::Error::PoolTimedOut))
    .map_err(unreachable)?;
    first.close().await.ok();
    let (reused, opened) = (Arc::clone(&acquisitions), acquisitions);
    Ok(PgPoolOptions::new()
        .max_connections(PG_MAX_CONNECTIONS)
        .acquire_timeout(PG_ACQUIRE_TIMEOUT)
        .test_before_acquire(true)
        .idle_timeout(Duration::from_secs(60))
        .max_lifetime(Duration::from_secs(30 * 60))
        .before_acquire(move |_conn, _meta| {
            reused.fetch_add(1, Ordering::Relaxed);
            Box::pin(async { Ok(true) })
        })
        .after_connect(move |_conn, _meta| {
            opened.fetch_add(1, Ordering::Relaxed);
            Box::pin(async { Ok(()) })
        })
        .after_release(move |_conn, _meta| Box::pin(async move { Ok(reuse) }))
        .connect_lazy_with(options))
}
/// Why an idle connection must not be reused, if it must not.
///
/// - Read-only: SQLite opens a connection so when the file is not writable
///   at that moment, and keeps it so after permissions are restored.
/// - Inside a transaction: an idle connection never legitimately is. A
///   COMMIT that fails with SQLITE_FULL or SQLITE_IOERR makes SQLite roll
///   the transaction back by itself, but sqlx still counts it open; its
///   ROLLBACK on drop then fails ("no transaction is active") and every
///   later `begin` on that connection fails ("non-zero transaction depth")
///   — a full disk would break writes until a restart. The ping before this
///   check runs after that queued ROLLBACK, so a healthy connection has
///   finished it by now.
async fn unfit(conn: &mut sqlx::SqliteConnection) -> Result<Option<&'static str>, sqlx::Error> {
    use sqlx::Connection;
    if conn.is_in_transaction() {
        return Ok(Some("left inside a failed transaction"));
    }
    let mut handle = conn.lock_handle().await?;
    // SAFETY: the live handle of the connection locked above.
    let autocommit =
        unsafe { libsqlite3_sys::sqlite3_get_autocommit(handle.as_raw_handle().as_ptr()) };
    drop(handle);
    if autocommit == 0 {
        return Ok(Some("SQLite holds a transaction open on it"));
    }
    if is_read_only(conn).await? {
        return Ok(Some("read-only"));
    }
    Ok(None)
}

/// Whether SQLite opened this connection's main database read-only.
async fn is_read_only(conn: &mut sqlx::SqliteConnection) -> Result<bool, sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle();
    // SAFETY: `db` is the live handle of the connection locked above, and
    // the schema name is a NUL-terminated C string literal.
    let state = unsafe { libsqlite3_sys::sqlite3_db_readonly(db.as_ptr(), c"main".as_ptr()) };
    Ok(state == 1)
}

#[cfg(test)]
mod pool_health_tests {
    use std::str::FromStr;

    use sqlx::ConnectOptions;
    use sqlx::sqlite::SqliteConnectOptions;

    use super::*;

    #[tokio::test]
    async fn read_only_connections_are_recognised() {
        let (store, dir) = crate::store::test_support::temp_sqlite_store().await;
        let url = format!("sqlite:{}", dir.path().join("test.db").display());
        let options = SqliteConnectOptions::from_str(&url).expect("url");
        let mut writable = options.clone().connect().await.expect("connect");
        assert!(!is_read_only(&mut writable).await.expect("handle"));
        let mut read_only = options.read_only(true).connect().await.expect("connect");
        assert!(is_read_only(&mut read_only).await.expect("handle"));
        // The pool hands out writable connections that answer.
        store.ping().await.expect("SELECT 1");
        assert!(store.pending_migrations().await.expect("read").is_empty());
        store.close().await;
    }

    /// What a COMMIT failing with SQLITE_FULL leaves behind, without a full
    /// disk: SQLite has rolled back, sqlx still counts the transaction open.
    #[tokio::test]
    async fn a_connection_left_in_a_failed_transaction_is_replaced() {
        let (store, _dir) = crate::store::test_support::temp_sqlite_store().await;
        for _ in 0..3 {
            let crate::store::Pool::Sqlite(pool) = &store.pool else {
                unreachable!("a SQLite store")
            };
            let mut tx = pool.begin_write().await.expect("begin");
            sqlx::query("ROLLBACK")
                .execute(&mut *tx)
                .await
                .expect("rolled back under sqlx's feet");
            drop(tx); // its own ROLLBACK fails: no transaction is active
            // Each write still gets a connection that can begin.
            store
                .set_chat_units(7, crate::domain::Units::Celsius)
                .await
                .expect("a write after the broken transaction");
        }
        store.close().await;
    }
}
