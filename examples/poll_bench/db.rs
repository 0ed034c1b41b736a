//! The benchmark's database chores beside the store: the PostgreSQL
//! server's version, `ANALYZE` on request, and dropping the scratch database.

use meteobot::store::EngineKind;
use sqlx::Connection;

/// `SHOW server_version` of the PostgreSQL server at `server`.
pub async fn server_version(server: &str) -> anyhow::Result<String> {
    let mut admin = sqlx::PgConnection::connect(server).await?;
    let version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&mut admin)
        .await?;
    admin.close().await?;
    Ok(version)
}

/// `ANALYZE` on its own connection, as autovacuum (PostgreSQL) or a
/// `PRAGMA optimize` (SQLite) would in a long-running database: with
/// `--analyze`, before every evaluation tick (untimed), so the planner sees
/// the tables as they are instead of as freshly created.
pub async fn analyze(engine: EngineKind, database_url: &str) -> anyhow::Result<()> {
    match engine {
        EngineKind::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(database_url).await?;
            sqlx::query("ANALYZE").execute(&mut c).await?;
            c.close().await?;
        }
        EngineKind::Postgres => {
            let mut c = sqlx::PgConnection::connect(database_url).await?;
            sqlx::query("ANALYZE").execute(&mut c).await?;
            c.close().await?;
        }
    }
    Ok(())
}

/// Drops the benchmark's database on the server it was created on (its
/// 100k subscriptions and 200k outbox rows are of no use afterwards).
pub async fn drop_postgres_database(server: &str, database_url: &str) -> anyhow::Result<()> {
    let name = reqwest::Url::parse(database_url)?
        .path()
        .trim_start_matches('/')
        .to_owned();
    let mut admin = sqlx::PgConnection::connect(server).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    Ok(())
}
