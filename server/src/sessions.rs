//! Where sessions live: in the store's own database, so a user stays signed in whichever instance
//! answers — tower-sessions-sqlx-store's SQLite or PostgreSQL store, picked by the backend, behind
//! one type the session layer and the reaper use.

use async_trait::async_trait;
use switchboard::store::{Backend, Store};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

/// Any fixed key: serialises the session table's creation across instances starting together.
/// tower-sessions-sqlx-store's `migrate` copes with a concurrent `create schema` (both run in one
/// transaction) but not with a concurrent `create table` once the schema exists; the lock makes
/// both cases plain.
const SESSIONS_MIGRATION_LOCK: i64 = 0x5357_4254_5345_5353;

#[derive(Clone, Debug)]
pub enum Sessions {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl Sessions {
    /// The session store on `store`'s database, its table created if missing.
    pub async fn open(store: &Store) -> Result<Self, sqlx::Error> {
        match store.backend() {
            Backend::Sqlite(pool) => {
                let s = SqliteStore::new(pool.clone());
                s.migrate().await?;
                Ok(Self::Sqlite(s))
            }
            Backend::Postgres(pool) => {
                let s = PostgresStore::new(pool.clone());
                // A session-level lock on one held connection, for this one short step only: if
                // the holder dies the lock goes with it, and the next instance's `if not exists`
                // finds the work done.
                let mut conn = pool.acquire().await?;
                sqlx::query("SELECT pg_advisory_lock($1)").bind(SESSIONS_MIGRATION_LOCK).execute(&mut *conn).await?;
                let migrated = s.migrate().await;
                let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)").bind(SESSIONS_MIGRATION_LOCK).execute(&mut *conn).await;
                migrated?;
                unlocked?;
                Ok(Self::Postgres(s))
            }
        }
    }
}

#[async_trait]
impl SessionStore for Sessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.create(record).await,
            Self::Postgres(s) => s.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.save(record).await,
            Self::Postgres(s) => s.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Self::Sqlite(s) => s.load(id).await,
            Self::Postgres(s) => s.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.delete(id).await,
            Self::Postgres(s) => s.delete(id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for Sessions {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.delete_expired().await,
            Self::Postgres(s) => s.delete_expired().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard::store::testing::{TestBackend, TestDb};
    use time::{Duration, OffsetDateTime};

    fn record(expiry: OffsetDateTime) -> Record {
        let mut data = std::collections::HashMap::new();
        data.insert("user".to_string(), serde_json::json!("ann"));
        Record { id: Id::default(), data, expiry_date: expiry }
    }

    async fn a_session_is_saved_loaded_and_reaped_after_expiry(backend: TestBackend) {
        let db = TestDb::fresh(backend).await;
        let sessions = Sessions::open(&db.store).await.expect("open");
        let mut live = record(OffsetDateTime::now_utc() + Duration::hours(1));
        let mut stale = record(OffsetDateTime::now_utc() - Duration::hours(1));
        sessions.create(&mut live).await.unwrap();
        sessions.create(&mut stale).await.unwrap();
        let loaded = sessions.load(&live.id).await.unwrap().expect("live session");
        assert_eq!(loaded.data.get("user"), Some(&serde_json::json!("ann")));
        // A second instance (another store on the same database) sees the same session.
        let other = Store::connect(&db.url).await.unwrap();
        let from_other = Sessions::open(&other).await.unwrap();
        assert!(from_other.load(&live.id).await.unwrap().is_some());
        from_other.delete_expired().await.unwrap();
        assert!(sessions.load(&live.id).await.unwrap().is_some());
        assert!(sessions.load(&stale.id).await.unwrap().is_none());
        sessions.delete(&live.id).await.unwrap();
        assert!(from_other.load(&live.id).await.unwrap().is_none());
        other.close().await;
    }

    #[tokio::test]
    async fn sqlite_sessions_are_saved_loaded_shared_and_reaped() {
        a_session_is_saved_loaded_and_reaped_after_expiry(TestBackend::Sqlite).await;
    }

    #[tokio::test]
    async fn postgres_sessions_are_saved_loaded_shared_and_reaped() {
        a_session_is_saved_loaded_and_reaped_after_expiry(TestBackend::Postgres).await;
    }

    #[tokio::test]
    async fn instances_opening_postgres_sessions_at_once_all_succeed_even_where_the_schema_exists() {
        let db = TestDb::fresh(TestBackend::Postgres).await;
        // Made beforehand (by a DBA, or left by an earlier release): the `create table`s race.
        let Backend::Postgres(pool) = db.store.backend() else { panic!("postgres") };
        sqlx::query("CREATE SCHEMA tower_sessions").execute(pool).await.unwrap();
        let mut stores = Vec::new();
        for _ in 0..8 {
            stores.push(Store::connect(&db.url).await.unwrap());
        }
        let opened = futures::future::join_all(stores.iter().map(Sessions::open)).await;
        for o in opened {
            o.expect("every instance opens its session store");
        }
        for s in stores {
            s.close().await;
        }
    }
}
