//! Fresh databases for tests, on either backend: a new SQLite file in its own directory, or a new
//! database on the PostgreSQL server named by `SWITCHBOARD_TEST_POSTGRES_URL` (scripts/test starts
//! one with scripts/pg). Both are removed when the `TestDb` is dropped. Used by this crate's
//! contract tests and by the server's tests, hence not `cfg(test)`.

use super::{Store, StoreError};
use std::path::PathBuf;

/// The server the PostgreSQL variants of the tests create their databases on.
pub const TEST_POSTGRES_URL_ENV: &str = "SWITCHBOARD_TEST_POSTGRES_URL";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestBackend {
    Sqlite,
    Postgres,
}

/// One fresh database; dropped with it.
pub struct TestDb {
    pub store: Store,
    /// The URL the store was opened with (to open a second store on the same database).
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(PathBuf),
    PgDatabase { admin_url: String, name: String },
}

impl TestDb {
    /// A fresh, migrated database. Panics (it is for tests) when it cannot be made — in
    /// particular when the PostgreSQL variant has no server to use: it never skips silently.
    pub async fn fresh(backend: TestBackend) -> Self {
        let db = Self::fresh_unmigrated(backend).await;
        db.store.migrate().await.unwrap_or_else(|e| panic!("migrating the test database ({backend:?}): {e}"));
        db
    }

    /// A fresh, empty database (no migrations run).
    pub async fn fresh_unmigrated(backend: TestBackend) -> Self {
        Self::try_fresh(backend).await.unwrap_or_else(|e| panic!("{e}"))
    }

    async fn try_fresh(backend: TestBackend) -> Result<Self, String> {
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        match backend {
            TestBackend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("switchboard-test-{suffix}"));
                std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                let url = super::sqlite_url_for(&dir.join("switchboard.db"));
                let store = Store::connect(&url).await.map_err(|e| e.to_string())?;
                Ok(Self { store, url, cleanup: Cleanup::Dir(dir) })
            }
            TestBackend::Postgres => {
                let admin_url = std::env::var(TEST_POSTGRES_URL_ENV).map_err(|_| {
                    format!(
                        "{TEST_POSTGRES_URL_ENV} is not set: the PostgreSQL variant of this test needs a server. \
                         Run `export {TEST_POSTGRES_URL_ENV}=$(scripts/pg start)` (scripts/test does this itself)"
                    )
                })?;
                let name = format!("t_{suffix}");
                let admin = Store::connect(&admin_url).await.map_err(|e| format!("{TEST_POSTGRES_URL_ENV}: {e}"))?;
                admin_exec(&admin, &format!("CREATE DATABASE {name}")).await.map_err(|e| format!("creating {name}: {e}"))?;
                admin.close().await;
                let url = with_database(&admin_url, &name);
                let store = Store::connect(&url).await.map_err(|e| e.to_string())?;
                Ok(Self { store, url, cleanup: Cleanup::PgDatabase { admin_url, name } })
            }
        }
    }
}

async fn admin_exec(admin: &Store, sql: &str) -> Result<(), StoreError> {
    match admin.backend() {
        super::Backend::Postgres(pool) => {
            sqlx::query(sql).execute(pool).await?;
            Ok(())
        }
        super::Backend::Sqlite(_) => Err(StoreError::Config(format!("{TEST_POSTGRES_URL_ENV} must be a postgres:// URL"))),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            // Dropping needs a round trip, and Drop cannot await: a thread with its own runtime
            // does it (FORCE ends the test's own connections, still open in the test's pool).
            Cleanup::PgDatabase { admin_url, name } => {
                let (admin_url, sql) = (admin_url.clone(), format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                let done = std::thread::spawn(move || {
                    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
                    rt.block_on(async {
                        if let Ok(admin) = Store::connect(&admin_url).await {
                            let _ = admin_exec(&admin, &sql).await;
                            admin.close().await;
                        }
                    });
                });
                let _ = done.join();
            }
        }
    }
}

/// `url` with its database (the path) replaced by `name`, query kept.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// Writes each test twice, once per backend, in modules `sqlite` and `postgres`:
/// `both_backends! { async fn name(store) { … } }` binds `store` to a fresh, migrated `Store`.
#[macro_export]
macro_rules! both_backends {
    ($( $(#[$meta:meta])* async fn $name:ident($store:ident) $body:block )*) => {
        mod sqlite {
            #[allow(unused_imports)]
            use super::*;
            $( $(#[$meta])* #[tokio::test] async fn $name() {
                let db = $crate::store::testing::TestDb::fresh($crate::store::testing::TestBackend::Sqlite).await;
                let $store = db.store.clone();
                $body
            } )*
        }
        mod postgres {
            #[allow(unused_imports)]
            use super::*;
            $( $(#[$meta])* #[tokio::test] async fn $name() {
                let db = $crate::store::testing::TestDb::fresh($crate::store::testing::TestBackend::Postgres).await;
                let $store = db.store.clone();
                $body
            } )*
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_database_url_keeps_the_server_and_options_and_names_the_new_database() {
        assert_eq!(with_database("postgres://u@h:1/postgres", "t_1"), "postgres://u@h:1/t_1");
        assert_eq!(with_database("postgres://u:p@h/postgres?sslmode=disable", "t_1"), "postgres://u:p@h/t_1?sslmode=disable");
        assert_eq!(with_database("postgresql://h:5", "t_1"), "postgresql://h:5/t_1");
    }
}
