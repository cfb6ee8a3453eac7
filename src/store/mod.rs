//! The database: one sqlx pool for one of two backends — SQLite (a file in the data directory, the
//! embedded default) or PostgreSQL (several instances on one server) — its migrations embedded in
//! the binary, the settings documents and the audit log. Each capability keeps its own tables' SQL
//! beside it (`cdr/store.rs`, …), one implementation per backend; nothing here knows about them.

mod audit;
mod settings;
pub mod testing;

pub use audit::{AuditLog, AuditRecord, AuditResult};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use std::path::{Path, PathBuf};
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

/// The SQLite migrations, unchanged since before PostgreSQL (same versions and checksums, so
/// existing databases keep migrating), and their PostgreSQL twins under the same versions.
static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("store/migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("store/migrations/postgres");

/// The capabilities whose storage has no PostgreSQL implementation yet. `serve` and `demo` refuse
/// to start on PostgreSQL while this is not empty, so the server never half-works there. Issue 20
/// ported them all; a capability added later without a PostgreSQL side goes here.
pub const NOT_PORTED_TO_POSTGRES: &[&str] = &[];

/// Which database the store talks to; capabilities pick their implementation by it.
#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// How to connect, beyond the URL (the `[database]` keys).
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    pub max_connections: u32,
    /// How long a query waits for a free connection before failing.
    pub acquire_timeout: Duration,
    /// PostgreSQL only: the server cancels a statement running longer (`statement_timeout`).
    /// `None` leaves the server's own setting.
    pub statement_timeout: Option<Duration>,
    /// PostgreSQL only: a PEM file of CA certificates to trust besides the system roots
    /// (`sslrootcert`); the TLS mode itself comes from the URL's `sslmode`.
    pub ca_file: Option<PathBuf>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self { max_connections: 8, acquire_timeout: Duration::from_secs(30), statement_timeout: None, ca_file: None }
    }
}

#[derive(Clone)]
pub struct Store {
    backend: Backend,
    /// What `pool()` hands the capabilities not ported yet: the SQLite pool itself, or on
    /// PostgreSQL a pool that can never connect (every use fails with an error, never touches a
    /// wrong database; `serve` refuses to start before any of them runs).
    unported: SqlitePool,
    settings: std::sync::Arc<dyn settings::SettingsRepo>,
}

impl Store {
    /// Connects by the URL's scheme: `sqlite:` (created if missing) or `postgres://` /
    /// `postgresql://`, with default options.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, &ConnectOptions::default()).await
    }

    pub async fn connect_with(url: &str, opts: &ConnectOptions) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Self::connect_sqlite(url, opts).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::connect_postgres(url, opts).await
        } else {
            Err(StoreError::Config(format!("database URL {} is neither sqlite: nor postgres:// (or postgresql://)", redacted_url(url))))
        }
    }

    async fn connect_sqlite(url: &str, o: &ConnectOptions) -> Result<Self, StoreError> {
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
        let pool = SqlitePoolOptions::new()
            .max_connections(o.max_connections)
            .acquire_timeout(o.acquire_timeout)
            .connect_with(opts)
            .await
            .map_err(open_err)?;
        Ok(Self::with_backend(Backend::Sqlite(pool.clone()), pool))
    }

    async fn connect_postgres(url: &str, o: &ConnectOptions) -> Result<Self, StoreError> {
        let open_err = |source| StoreError::Open { url: redacted_url(url), source };
        // The URL carries host, credentials, database and `sslmode` (`sslrootcert` too); TLS is
        // rustls with the system roots, plus `ca_file` when given.
        let mut opts = PgConnectOptions::from_str(url).map_err(open_err)?.application_name("switchboard");
        if let Some(ca) = &o.ca_file {
            opts = opts.ssl_root_cert(ca);
        }
        if let Some(t) = o.statement_timeout {
            opts = opts.options([("statement_timeout", format!("{}ms", t.as_millis()))]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(o.max_connections)
            .acquire_timeout(o.acquire_timeout)
            .connect_with(opts)
            .await
            .map_err(open_err)?;
        Ok(Self::with_backend(Backend::Postgres(pool), refusing_sqlite_pool()))
    }

    fn with_backend(backend: Backend, unported: SqlitePool) -> Self {
        let settings = settings::repo(&backend);
        Self { backend, unported, settings }
    }

    /// Opens `switchboard.db` inside a data directory, creating the directory if needed.
    pub async fn open_in_dir(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Open { url: dir.display().to_string(), source: sqlx::Error::Io(e) })?;
        Self::connect(&sqlite_url_for(&dir.join("switchboard.db"))).await
    }

    /// Brings the schema up to date with this backend's migrations. On PostgreSQL sqlx's migrator
    /// holds an advisory lock while it runs, so instances starting together apply each migration
    /// once (the others wait, then find nothing left to do).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(pool) => SQLITE_MIGRATOR.run(pool).await?,
            Backend::Postgres(pool) => POSTGRES_MIGRATOR.run(pool).await?,
        }
        Ok(())
    }

    /// For `serve`, `demo` and `branding import`: refuses a PostgreSQL database while some capability can only store
    /// in SQLite, naming them (the server must not half-work).
    pub fn check_fully_ported(&self) -> Result<(), StoreError> {
        check_ported(self.is_postgres(), NOT_PORTED_TO_POSTGRES)
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// The SQLite pool, for the capabilities in [`NOT_PORTED_TO_POSTGRES`] (they still speak
    /// SQLite only). On PostgreSQL every use of it fails: port the capability instead.
    pub fn pool(&self) -> &SqlitePool {
        &self.unported
    }

    /// A write transaction that takes the write lock at once. SQLite cannot upgrade a deferred
    /// (read) transaction to a write while another connection has committed in between: that
    /// fails at once with "database is locked" instead of waiting for `busy_timeout`. SQLite
    /// only, like [`Store::pool`].
    pub async fn write_tx(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.unported.begin_with("BEGIN IMMEDIATE").await
    }

    /// A cheap round trip, for health checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(pool) => {
                sqlx::query("SELECT 1").execute(pool).await?;
            }
            Backend::Postgres(pool) => {
                sqlx::query("SELECT 1").execute(pool).await?;
            }
        }
        Ok(())
    }

    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(pool) => pool.close().await,
            Backend::Postgres(pool) => pool.close().await,
        }
    }
}

fn check_ported(postgres: bool, unported: &[&str]) -> Result<(), StoreError> {
    if !postgres || unported.is_empty() {
        return Ok(());
    }
    Err(StoreError::Config(format!(
        "PostgreSQL is not supported by `serve` and `demo` yet: these parts still store in SQLite only: {}. \
         Use a sqlite: database.url (or leave it unset) for now; `switchboard migrate` and `switchboard user` work on PostgreSQL",
        unported.join(", ")
    )))
}

/// A SQLite pool that never opens anything: a read-only open of a file that does not exist, made
/// lazily, so building it cannot fail and using it always does.
fn refusing_sqlite_pool() -> SqlitePool {
    let opts = SqliteConnectOptions::new()
        .filename("/nonexistent/switchboard-capability-not-ported-to-postgresql")
        .create_if_missing(false)
        .read_only(true);
    SqlitePoolOptions::new().max_connections(1).acquire_timeout(Duration::from_secs(1)).connect_lazy_with(opts)
}

/// The URL with any password replaced by `***`, for messages and logs.
pub fn redacted_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else { return url.to_string() };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else { return url.to_string() };
    match rest[..at].find(':') {
        Some(colon) => format!("{}{}:***{}", &url[..scheme_end], &rest[..colon], &rest[at..]),
        None => url.to_string(),
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
/// and comes back as itself, and is stored as exactly its stable string (on either backend).
#[cfg(test)]
pub(crate) async fn assert_round_trips<T>(store: &Store, all: &[T])
where
    T: Copy + PartialEq + std::fmt::Debug + std::fmt::Display + Send + Unpin + 'static,
    T: sqlx::Type<sqlx::Sqlite> + for<'q> sqlx::Encode<'q, sqlx::Sqlite> + for<'r> sqlx::Decode<'r, sqlx::Sqlite>,
    T: sqlx::Type<sqlx::Postgres> + for<'q> sqlx::Encode<'q, sqlx::Postgres> + for<'r> sqlx::Decode<'r, sqlx::Postgres>,
{
    for v in all {
        let (back, text): (T, String) = match store.backend() {
            Backend::Sqlite(pool) => sqlx::query_as("SELECT ?1, CAST(?1 AS TEXT)").bind(*v).fetch_one(pool).await,
            Backend::Postgres(pool) => sqlx::query_as("SELECT $1::text, $1::text").bind(*v).fetch_one(pool).await,
        }
        .expect("round trip");
        assert_eq!(back, *v);
        assert_eq!(text, v.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use testing::{TestBackend, TestDb};

    /// The SQLite migrations as they were before PostgreSQL came: a database migrated by any
    /// earlier release keeps migrating only if these stay exactly the same.
    const SQLITE_MIGRATIONS: &[(i64, &str)] = &[
        (1, "9423bded4a68ddfe524454ce66ed3c515315954b928b5545f7d1394e34c5bb4403ce4da6c9c204acba272c7d43dea82a"),
        (2, "92ff2123cac5aa1d98ad45470f3e38f4f39d9e84ca03e4964999af7c4be8374f8b049faecba6df9e82abc6fc821efe99"),
        (3, "e39db13f52490c646418f84362698ec8af69f125ab8a84494c82ddabe02466755a6a700c64058c21befddbbffe3de6f4"),
        (4, "271de298b0c0501aaf849a7e9b4c105a7ce0984ab8b00a7c1f20b77896437b8cff0d8c48ab771088a34e58c862c6be66"),
        (5, "164c724c43fe6997040887313c4213129959fc46af2cfb9b8e5282b9afb8c3dd4b0278174c0d0d4833c987cb79dc1d80"),
        (6, "ce93af6b8f3284a40295249ebf10fa68a107965baa28e045ba4d19054dd712608804ef47cedf7a31acfd3eaff649d11c"),
        (7, "fe2ef3799704664a8341968c89e2199851cd1a2c927f467cdbb79c42096c11bf4f49a4320bc2e4e8363968639196ad75"),
        (8, "1fabd5d70dcf288ebfeb4fb28062a9ceabe34148fb61d8554e70565c0cc6783c7f48a941bc0b3038ea77e80877f51d89"),
        (9, "6700bb66a5c5a5cf97ef6e7861742ac8e2a749a373e6609bf7e61a159910f1b1031b21d41aeb2527d5059c658779a33d"),
        (10, "6ba81516e7faea41a1859a1a9bd39a043fcafdef17ecdf209b40c2c479ea54690166b4aeac301bc69737c1ebd694e76e"),
        // Added after PostgreSQL came: a new migration adds its line, none changes.
        (11, "edfd21784059782acb267fe98606987ce910adb683e85493e7c1f3c040ca3e8ea9e359832e23f26545ef7deb2587808c"),
        (12, "75772e92d8972779d201e54b2798d03aa24c8f6293862d8995abdbcdf872110ee9d1d8455aa8fb7d6d4573a646aa7d8b"),
    ];

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn the_sqlite_migrations_keep_the_versions_and_checksums_existing_databases_recorded() {
        let now: Vec<(i64, String)> = SQLITE_MIGRATOR.iter().map(|m| (m.version, hex(&m.checksum))).collect();
        let before: Vec<(i64, String)> = SQLITE_MIGRATIONS.iter().map(|(v, c)| (*v, c.to_string())).collect();
        assert_eq!(now, before);
    }

    #[test]
    fn postgres_has_a_migration_for_every_sqlite_version_and_no_other() {
        let versions = |m: &sqlx::migrate::Migrator| m.iter().map(|m| (m.version, m.description.to_string())).collect::<Vec<_>>();
        assert_eq!(versions(&POSTGRES_MIGRATOR), versions(&SQLITE_MIGRATOR));
    }

    #[tokio::test]
    async fn a_database_migrated_before_postgres_came_still_migrates() {
        // What an earlier release left behind: the same rows in `_sqlx_migrations`.
        let (store, _dir) = test_store().await;
        let recorded: Vec<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT version, checksum FROM _sqlx_migrations ORDER BY version").fetch_all(store.pool()).await.unwrap();
        let recorded: Vec<(i64, String)> = recorded.into_iter().map(|(v, c)| (v, hex(&c))).collect();
        let before: Vec<(i64, String)> = SQLITE_MIGRATIONS.iter().map(|(v, c)| (*v, c.to_string())).collect();
        assert_eq!(recorded, before);
        store.migrate().await.expect("a second run finds nothing to do");
    }

    /// Every (table, column) of the schema, sorted; the migrator's own table left out.
    async fn columns(store: &Store) -> Vec<(String, String)> {
        let mut cols: Vec<(String, String)> = match store.backend() {
            Backend::Sqlite(pool) => sqlx::query_as(
                "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'",
            )
            .fetch_all(pool)
            .await
            .unwrap(),
            Backend::Postgres(pool) => sqlx::query_as(
                "SELECT table_name::text, column_name::text FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'",
            )
            .fetch_all(pool)
            .await
            .unwrap(),
        };
        cols.sort();
        cols
    }

    #[tokio::test]
    async fn postgres_migrations_create_every_table_and_column_the_sqlite_ones_do() {
        let lite = TestDb::fresh(TestBackend::Sqlite).await;
        let pg = TestDb::fresh(TestBackend::Postgres).await;
        let lite_cols = columns(&lite.store).await;
        assert!(lite_cols.len() > 150, "the SQLite schema was read: {} columns", lite_cols.len());
        assert_eq!(columns(&pg.store).await, lite_cols);
    }

    #[tokio::test]
    async fn two_instances_migrating_a_fresh_postgres_database_at_once_both_succeed_and_apply_each_migration_once() {
        let db = TestDb::fresh_unmigrated(TestBackend::Postgres).await;
        let mut others = Vec::new();
        for _ in 0..3 {
            others.push(Store::connect(&db.url).await.unwrap());
        }
        let (a, b, c, d) = tokio::join!(db.store.migrate(), others[0].migrate(), others[1].migrate(), others[2].migrate());
        for r in [a, b, c, d] {
            r.expect("every instance's migrate succeeds");
        }
        let Backend::Postgres(pool) = db.store.backend() else { panic!("postgres") };
        let applied: Vec<(i64, bool)> =
            sqlx::query_as("SELECT version, success FROM _sqlx_migrations ORDER BY version").fetch_all(pool).await.unwrap();
        let every: Vec<(i64, bool)> = POSTGRES_MIGRATOR.iter().map(|m| (m.version, true)).collect();
        assert_eq!(applied, every);
        for s in others {
            s.close().await;
        }
    }

    #[tokio::test]
    async fn postgres_triggers_bump_the_branding_generation_on_every_change() {
        let db = TestDb::fresh(TestBackend::Postgres).await;
        let Backend::Postgres(pool) = db.store.backend() else { panic!("postgres") };
        let generation = || async { sqlx::query_scalar::<_, i64>("SELECT value FROM branding_generation").fetch_one(pool).await.unwrap() };
        assert_eq!(generation().await, 0);
        sqlx::query("INSERT INTO branding_tenants (name, created_at) VALUES ('t', now())").execute(pool).await.unwrap();
        assert_eq!(generation().await, 1);
        sqlx::query("DELETE FROM branding_tenants").execute(pool).await.unwrap();
        assert_eq!(generation().await, 2);
    }

    #[tokio::test]
    async fn postgres_cancels_a_statement_running_past_the_statement_timeout() {
        let db = TestDb::fresh_unmigrated(TestBackend::Postgres).await;
        let opts = ConnectOptions { statement_timeout: Some(Duration::from_millis(200)), ..ConnectOptions::default() };
        let store = Store::connect_with(&db.url, &opts).await.unwrap();
        let Backend::Postgres(pool) = store.backend() else { panic!("postgres") };
        let shown: String = sqlx::query_scalar("SHOW statement_timeout").fetch_one(pool).await.unwrap();
        assert_eq!(shown, "200ms");
        let err = sqlx::query("SELECT pg_sleep(2)").execute(pool).await.expect_err("cancelled");
        assert!(err.to_string().contains("statement timeout"), "{err}");
        store.close().await;
    }

    #[tokio::test]
    async fn the_tls_mode_comes_from_the_url_and_a_required_tls_is_not_given_up() {
        // The test server speaks no TLS: `require` must fail rather than fall back to clear text.
        let db = TestDb::fresh_unmigrated(TestBackend::Postgres).await;
        let sep = if db.url.contains('?') { '&' } else { '?' };
        assert!(Store::connect(&format!("{}{sep}sslmode=require", db.url)).await.is_err(), "no TLS, no connection");
        let store = Store::connect(&format!("{}{sep}sslmode=prefer", db.url)).await.expect("prefer falls back");
        store.close().await;
        let opts = ConnectOptions { ca_file: Some("/nonexistent/ca.pem".into()), ..ConnectOptions::default() };
        assert!(Store::connect_with(&format!("{}{sep}sslmode=verify-full", db.url), &opts).await.is_err());
    }

    #[tokio::test]
    async fn a_url_of_another_scheme_is_refused_by_name_without_its_password() {
        let err = Store::connect("mysql://ann:hunter2@db/x").await.err().expect("refused").to_string();
        assert!(err.contains("neither sqlite: nor postgres://"), "{err}");
        assert!(err.contains("mysql://ann:***@db/x") && !err.contains("hunter2"), "{err}");
    }

    #[test]
    fn postgres_is_refused_by_naming_every_capability_not_ported_yet() {
        let err = check_ported(true, &["CDR records (cdr/store.rs)", "retention (retention.rs)"]).expect_err("refused").to_string();
        assert!(err.contains("CDR records (cdr/store.rs), retention (retention.rs)"), "{err}");
        assert!(check_ported(true, &[]).is_ok(), "nothing left to port: PostgreSQL starts");
        assert!(check_ported(false, &["calendar (calendar/store.rs)"]).is_ok(), "SQLite always starts");
        assert!(check_ported(true, NOT_PORTED_TO_POSTGRES).is_ok(), "every capability is ported: PostgreSQL starts");
    }

    #[test]
    fn passwords_are_hidden_in_database_urls() {
        assert_eq!(redacted_url("postgres://ann:hunter2@db:5432/sb?sslmode=require"), "postgres://ann:***@db:5432/sb?sslmode=require");
        assert_eq!(redacted_url("postgres://ann@db/sb"), "postgres://ann@db/sb");
        assert_eq!(redacted_url("postgres://db/sb?user=a@b"), "postgres://db/sb?user=a@b");
        assert_eq!(redacted_url("sqlite:///data/switchboard.db"), "sqlite:///data/switchboard.db");
    }

    #[tokio::test]
    async fn on_postgres_the_unported_sqlite_pool_fails_instead_of_opening_a_database() {
        let db = TestDb::fresh(TestBackend::Postgres).await;
        assert!(db.store.is_postgres());
        assert!(sqlx::query("SELECT 1").execute(db.store.pool()).await.is_err());
        assert!(db.store.write_tx().await.is_err());
        db.store.ping().await.expect("the real pool answers");
    }

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
