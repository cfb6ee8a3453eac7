//! The database: one sqlx pool, migrations embedded in the binary, write transactions, the
//! settings documents and the audit log. SQLite (a file in the data directory) is the embedded
//! default. Each capability keeps its own tables' SQL beside it (`cdr/store.rs`, …); nothing
//! here knows about them.

mod audit;
mod settings;

pub use audit::{AuditLog, AuditRecord, AuditResult};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {url}: {source}")]
    Open { url: String, source: sqlx::Error },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("{0}")]
    Config(String),
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("store/migrations");

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if missing) a SQLite database given as a `sqlite:` URL.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let open_err = |source| StoreError::Open { url: url.to_string(), source };
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(open_err)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit is on disk before it returns, so what Switchboard acknowledged
            // (a CDR batch CMS then deletes) survives a power failure. The CDR writer commits
            // many batches at once to keep that cheap.
            .synchronous(SqliteSynchronous::Full)
            // Checkpoints (which fsync the database file) run inside a committing writer; every
            // 64 MB of WAL instead of every 4 MB keeps them off most CDR commits.
            .pragma("wal_autocheckpoint", "16384")
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(opts).await.map_err(open_err)?;
        Ok(Self { pool })
    }

    /// Opens `switchboard.db` inside a data directory, creating the directory if needed.
    pub async fn open_in_dir(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Open { url: dir.display().to_string(), source: sqlx::Error::Io(e) })?;
        Self::connect(&sqlite_url_for(&dir.join("switchboard.db"))).await
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// A write transaction that takes the write lock at once. SQLite cannot upgrade a deferred
    /// (read) transaction to a write while another connection has committed in between: that
    /// fails at once with "database is locked" instead of waiting for `busy_timeout`.
    pub async fn write_tx(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }

    /// A cheap round trip, for health checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The `sqlite:` URL for a file path.
pub fn sqlite_url_for(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// Now, as stored: RFC 3339 UTC text (sorts as time, and SQLite compares it as text).
pub fn now_text() -> String {
    time_text(time::OffsetDateTime::now_utc())
}

/// A time as stored.
pub fn time_text(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

#[cfg(test)]
pub(crate) async fn test_store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_in_dir(dir.path()).await.expect("open store");
    store.migrate().await.expect("migrate");
    (store, dir)
}

/// For the closed sets stored as text (`stable_strings!`): every variant goes into the database
/// and comes back as itself, and is stored as exactly its stable string.
#[cfg(test)]
pub(crate) async fn assert_round_trips<T>(store: &Store, all: &[T])
where
    T: Copy + PartialEq + std::fmt::Debug + std::fmt::Display + Send + Unpin + 'static,
    T: sqlx::Type<sqlx::Sqlite> + for<'q> sqlx::Encode<'q, sqlx::Sqlite> + for<'r> sqlx::Decode<'r, sqlx::Sqlite>,
{
    for v in all {
        let (back, text): (T, String) =
            sqlx::query_as("SELECT ?1, CAST(?1 AS TEXT)").bind(*v).fetch_one(store.pool()).await.expect("round trip");
        assert_eq!(back, *v);
        assert_eq!(text, v.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_connection_commits_to_disk_before_it_returns() {
        let (store, _dir) = test_store().await;
        // Several connections: the pool hands out any of them for the CDR writer.
        let mut conns = Vec::new();
        for _ in 0..3 {
            let mut c = store.pool().acquire().await.expect("connection");
            let sync: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(&mut *c).await.expect("pragma");
            assert_eq!(sync, 2, "synchronous=FULL (2): an acknowledged CDR batch survives a power failure");
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut *c).await.expect("pragma");
            assert_eq!(mode, "wal");
            conns.push(c);
        }
    }
}
