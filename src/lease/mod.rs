//! Leases: which instance runs a job that must not run twice (banner enforcer, deliveries,
//! grant refresh, …) when several share one database (../shared/reference/scale-out.md). A lease
//! row per job: taken when free or expired, renewed while working, and an epoch that moves on at
//! every take, so a holder that lost its lease (paused, cut off) is fenced off from acting.
//! The database's clock decides expiry, never the instances'. SQL per backend beside this file.

mod postgres;
mod sqlite;

use crate::store::{Backend, Store, StoreError};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// Who holds a lease: one running instance (a fresh id per process start).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HolderId(String);

impl HolderId {
    /// A new id for this process: the host name, to tell instances apart on the dashboard, and a
    /// random part, so that a restarted instance is a new holder.
    pub fn for_this_process() -> Self {
        let host = std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "switchboard".into());
        Self(format!("{host}:{}:{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..8]))
    }

    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for HolderId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The fencing token of one take: every write the job makes while holding the lease carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Epoch(pub i64);

/// A lease held: by whom, under which epoch, until when (the database's clock).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseView {
    pub name: String,
    pub holder: HolderId,
    pub epoch: Epoch,
    pub expires_at: OffsetDateTime,
}

/// The `leases` table, one implementation per backend.
#[async_trait::async_trait]
pub(crate) trait LeaseRepo: Send + Sync {
    /// Takes `name` for `holder` when nobody holds it or its holder let it expire; the new epoch.
    async fn try_take(&self, name: &str, holder: &HolderId, ttl: Duration) -> Result<Option<Epoch>, StoreError>;
    /// Extends a lease still held under `epoch`; false when it expired or another took it.
    async fn renew(&self, name: &str, holder: &HolderId, epoch: Epoch, ttl: Duration) -> Result<bool, StoreError>;
    /// Gives a lease up at once (a clean shutdown), so another takes over without waiting.
    async fn release(&self, name: &str, holder: &HolderId, epoch: Epoch) -> Result<(), StoreError>;
    /// Whether `holder` still holds `name` under `epoch` now.
    async fn holds(&self, name: &str, holder: &HolderId, epoch: Epoch) -> Result<bool, StoreError>;
    /// Every lease not yet expired.
    async fn held(&self) -> Result<Vec<LeaseView>, StoreError>;
}

#[derive(Clone)]
pub struct LeaseStore {
    repo: Arc<dyn LeaseRepo>,
}

impl LeaseStore {
    pub fn new(store: &Store) -> Self {
        let repo: Arc<dyn LeaseRepo> = match store.backend() {
            Backend::Sqlite(pool) => Arc::new(sqlite::SqliteLeases(pool.clone())),
            Backend::Postgres(pool) => Arc::new(postgres::PgLeases(pool.clone())),
        };
        Self { repo }
    }

    pub async fn try_take(&self, name: &str, holder: &HolderId, ttl: Duration) -> Result<Option<Epoch>, StoreError> {
        self.repo.try_take(name, holder, ttl).await
    }

    pub async fn renew(&self, name: &str, holder: &HolderId, epoch: Epoch, ttl: Duration) -> Result<bool, StoreError> {
        self.repo.renew(name, holder, epoch, ttl).await
    }

    pub async fn release(&self, name: &str, holder: &HolderId, epoch: Epoch) -> Result<(), StoreError> {
        self.repo.release(name, holder, epoch).await
    }

    pub async fn holds(&self, name: &str, holder: &HolderId, epoch: Epoch) -> Result<bool, StoreError> {
        self.repo.holds(name, holder, epoch).await
    }

    pub async fn held(&self) -> Result<Vec<LeaseView>, StoreError> {
        self.repo.held().await
    }
}

/// Milliseconds of a TTL as the SQL takes them (a TTL beyond i64 milliseconds is a bug upstream).
fn ttl_ms(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(30);

    crate::both_backends! {
        async fn the_first_taker_holds_the_lease_and_another_is_refused_until_it_expires(store) {
            let leases = LeaseStore::new(&store);
            let (a, b) = (HolderId::new("a"), HolderId::new("b"));
            let first = leases.try_take("enforcer", &a, Duration::from_millis(300)).await.unwrap().expect("free: taken");
            assert_eq!(leases.try_take("enforcer", &b, TTL).await.unwrap(), None, "held by a");
            assert!(leases.holds("enforcer", &a, first).await.unwrap());
            let other_job = leases.try_take("deliveries", &b, TTL).await.unwrap();
            assert!(other_job.is_some(), "each job has its own lease");
            tokio::time::sleep(Duration::from_millis(450)).await;
            let second = leases.try_take("enforcer", &b, TTL).await.unwrap().expect("expired: taken over");
            assert!(second > first, "a take moves the epoch on: {second:?} after {first:?}");
            assert!(!leases.holds("enforcer", &a, first).await.unwrap(), "a is fenced off");
            assert!(!leases.renew("enforcer", &a, first, TTL).await.unwrap(), "a cannot renew what it lost");
            assert!(leases.holds("enforcer", &b, second).await.unwrap());
        }

        async fn a_holder_renews_its_lease_past_the_first_ttl_and_releases_it_for_another(store) {
            let leases = LeaseStore::new(&store);
            let (a, b) = (HolderId::new("a"), HolderId::new("b"));
            let e = leases.try_take("grant", &a, Duration::from_millis(300)).await.unwrap().expect("taken");
            for _ in 0..3 {
                tokio::time::sleep(Duration::from_millis(150)).await;
                assert!(leases.renew("grant", &a, e, Duration::from_millis(300)).await.unwrap(), "renewed in time");
            }
            assert_eq!(leases.try_take("grant", &b, TTL).await.unwrap(), None, "still a's, 450 ms after a 300 ms take");
            leases.release("grant", &a, e).await.unwrap();
            let taken = leases.try_take("grant", &b, TTL).await.unwrap().expect("released: b takes it at once");
            assert!(taken > e);
            let held = leases.held().await.unwrap();
            assert_eq!(held.iter().map(|l| (l.name.as_str(), l.holder.as_str(), l.epoch)).collect::<Vec<_>>(), [("grant", "b", taken)]);
            assert!(held[0].expires_at > OffsetDateTime::now_utc() + Duration::from_secs(25));
        }

        async fn a_stale_epoch_cannot_release_the_lease_its_holder_took_again(store) {
            let leases = LeaseStore::new(&store);
            let a = HolderId::new("a");
            let old = leases.try_take("sync", &a, Duration::from_millis(100)).await.unwrap().expect("taken");
            tokio::time::sleep(Duration::from_millis(200)).await;
            let new = leases.try_take("sync", &a, TTL).await.unwrap().expect("taken again");
            leases.release("sync", &a, old).await.unwrap();
            assert!(leases.holds("sync", &a, new).await.unwrap(), "a release under the old epoch leaves the new take alone");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn on_postgres_of_many_instances_taking_at_once_exactly_one_gets_the_lease() {
        use crate::store::testing::{TestBackend, TestDb};
        let db = TestDb::fresh(TestBackend::Postgres).await;
        let mut tasks = Vec::new();
        for i in 0..12 {
            let store = Store::connect(&db.url).await.expect("instance pool");
            tasks.push(tokio::spawn(async move {
                let got = LeaseStore::new(&store).try_take("enforcer", &HolderId::new(format!("i{i}")), TTL).await.expect("take");
                store.close().await;
                got
            }));
        }
        let mut won = Vec::new();
        for t in tasks {
            won.extend(t.await.expect("task"));
        }
        assert_eq!(won.len(), 1, "one winner: {won:?}");
    }
}
