//! The one SQLite store. All SQL of the crate lives here and in `migrations/`.
//! WAL lets the REST port read while a worker writes; the busy timeout turns
//! short write contention into waiting instead of errors.

mod alerts;
mod chat_settings;
mod chats;
mod dialogues;
mod digest;
mod forecasts;
mod held;
mod inbound;
mod leases;
mod notifier_queries;
mod outbox;
mod settings;
mod sla;
mod subscriptions;
mod tokens;
mod users;

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub use alerts::{AlertWrite, EpisodeChange, EpisodeRow, Watched};
pub use chat_settings::{ChatSettings, SnoozeTarget};
pub use chats::Chat;
pub use digest::{DigestChat, DigestPlace};
pub use forecasts::{SeriesRow, Spent};
pub use held::{HeldRow, NewHeld};
pub use inbound::{InboundRow, InboundUpdate};
pub use leases::{Gate, LEADER, LEASE_PERIOD, Leader, every_as_leader, holder_name};
pub use outbox::{NewMessage, OutboxMessage, OutboxRow};
pub use sla::{Pruned, SlaRow, SlaSample, SlaUpsert};
pub use subscriptions::{Insert, NewSubscription, Subscription};
pub use users::{NewUser, User};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
    /// Connections handed out by the pool since start (`db_connections_total`).
    acquisitions: Arc<AtomicU64>,
}

/// A write that broke a UNIQUE constraint, told apart from other failures.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{0} is already taken")]
    Conflict(&'static str),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl Store {
    /// Opens (creating if missing) and migrates the database.
    pub async fn connect(database_url: &str) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(database_url)
            .with_context(|| format!("DATABASE_URL '{database_url}' is not a SQLite URL"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let acquisitions = Arc::new(AtomicU64::new(0));
        // sqlx calls `before_acquire` only for a connection reused from the
        // idle queue and `after_connect` for one opened to serve an acquire
        // (min_connections is 0, so none is opened otherwise): together they
        // count every acquisition.
        //
        // Pool health: a reused connection is pinged (`test_before_acquire`)
        // and dropped if it is unfit (see `unfit`); its replacement is opened
        // fresh. Connections are also recycled after `max_lifetime` /
        // `idle_timeout`.
        let (reused, opened) = (Arc::clone(&acquisitions), Arc::clone(&acquisitions));
        let pool = SqlitePoolOptions::new()
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
            .with_context(|| format!("cannot open the database {database_url}"))?;
        MIGRATOR
            .run(&pool)
            .await
            .context("cannot apply database migrations")?;
        Ok(Self { pool, acquisitions })
    }

    /// `SELECT 1`: the database answers a query (readiness).
    pub async fn ping(&self) -> anyhow::Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .context("SELECT 1")?;
        Ok(())
    }

    /// Versions of this build's migrations the database has not applied
    /// successfully (readiness); empty when it is up to date.
    pub async fn pending_migrations(&self) -> anyhow::Result<Vec<i64>> {
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = 1")
                .fetch_all(&self.pool)
                .await
                .context("reading _sqlx_migrations")?;
        Ok(MIGRATOR
            .iter()
            .filter(|m| m.migration_type.is_up_migration() && !applied.contains(&m.version))
            .map(|m| m.version)
            .collect())
    }

    /// How many connections the pool has handed out since `connect`.
    pub fn connection_acquisitions(&self) -> u64 {
        self.acquisitions.load(Ordering::Relaxed)
    }

    /// A write transaction that takes SQLite's write lock at once
    /// (`BEGIN IMMEDIATE`). A deferred transaction that reads first and
    /// writes later is refused with "database is locked" *without* waiting
    /// when another connection wrote in between; an immediate one waits for
    /// the lock under the busy timeout instead.
    pub(crate) async fn write_tx(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
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

/// Maps a UNIQUE violation to `Conflict(what)`, anything else to `Other`.
fn conflict_or(err: sqlx::Error, what: &'static str, context: &'static str) -> WriteError {
    if let sqlx::Error::Database(db) = &err
        && db.is_unique_violation()
    {
        return WriteError::Conflict(what);
    }
    WriteError::Other(anyhow::Error::new(err).context(context))
}

/// Whether a failure is the store being unable to serve right now (a full
/// disk, a lock held too long, an I/O error, a closed or exhausted pool)
/// rather than a bug: such a request may be retried later, and nothing of it
/// was stored.
pub fn is_unavailable(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<sqlx::Error>(),
            Some(
                sqlx::Error::Database(_)
                    | sqlx::Error::Io(_)
                    | sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::WorkerCrashed
            )
        )
    })
}

fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Wall-clock unix milliseconds, the outbox's time unit.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod pool_health_tests {
    use std::str::FromStr;

    use sqlx::ConnectOptions;
    use sqlx::sqlite::SqliteConnectOptions;

    use super::*;

    #[tokio::test]
    async fn read_only_connections_are_recognised() {
        let (store, dir) = test_support::temp_store().await;
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
        let (store, _dir) = test_support::temp_store().await;
        for _ in 0..3 {
            let mut tx = store.write_tx().await.expect("begin");
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

#[cfg(test)]
mod unavailable_tests {
    use super::is_unavailable;
    use anyhow::Context;

    #[test]
    fn storage_failures_are_told_from_bugs() {
        let closed: anyhow::Result<()> = Err(sqlx::Error::PoolClosed).context("writing");
        assert!(is_unavailable(&closed.unwrap_err()));
        let timed_out = anyhow::Error::new(sqlx::Error::PoolTimedOut)
            .context("a")
            .context("b");
        assert!(is_unavailable(&timed_out));
        assert!(!is_unavailable(&anyhow::anyhow!("a bug")));
        assert!(!is_unavailable(&anyhow::Error::new(
            sqlx::Error::RowNotFound
        )));
    }

    #[tokio::test]
    async fn a_closed_store_is_unavailable() {
        let (store, _dir) = super::test_support::temp_store().await;
        store.close().await;
        let err = store.watch_generation().await.unwrap_err();
        assert!(is_unavailable(&err), "{err:#}");
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::Store;

    /// A migrated store on a fresh temporary file (kept alive by the guard).
    pub async fn temp_store() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite:{}", dir.path().join("test.db").display());
        (Store::connect(&url).await.expect("store"), dir)
    }
}
