//! Retention: old rows are deleted in small batches by a background worker, per kind, so the
//! database stops growing without end and no single delete holds the write lock for long.
//! CDR records are the dedup keys of what CMS sent: they are never deleted while CMS could
//! still resend them or while the live-state rebuild reads them (see `RetentionPolicy::cdr_cutoff`).
//! The deletes are per backend (`retention/sqlite.rs`, `retention/postgres.rs`).

mod postgres;
mod sqlite;

use crate::store::{Backend, Store, StoreError};
use crate::sync::{lock, read};
use crate::workers::WorkerCtx;
use std::sync::Arc;
use std::sync::{Mutex, RwLock};
use std::time::Duration;
use time::OffsetDateTime;

/// How long each kind of row is kept. Also the server's `[retention]` config section, so its
/// keys and defaults are defined once, here.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionPolicy {
    pub cdr_days: u32,
    pub dead_letter_days: u32,
    pub dead_letter_max_rows: u32,
    pub banner_history_days: u32,
    pub gap_days: u32,
    pub audit_days: u32,
    /// Ended incidents, with their deliveries, acknowledgements and timeline.
    pub incident_days: u32,
    /// People of the Webex directory no longer seen by its refresh (left the org), unless a
    /// responder still points at them.
    pub directory_stale_days: u32,
    /// The calendar's log of what was done to meetings, and its user sync runs.
    pub calendar_log_days: u32,
    pub calendar_sync_run_days: u32,
    /// Hours of CDRs the live state is rebuilt from at start (`cdr.rebuild_hours`, not a
    /// retention key).
    #[serde(skip)]
    pub rebuild_hours: u32,
    /// Rows per delete statement.
    pub batch_rows: u32,
    /// How often the job runs (`interval_minutes` in the config).
    #[serde(rename = "interval_minutes", with = "minutes")]
    pub interval: Duration,
}

/// A `Duration` written as whole minutes.
mod minutes {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs() / 60)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_secs(u64::deserialize(d)?.saturating_mul(60)))
    }
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        Self {
            cdr_days: 90,
            dead_letter_days: 14,
            dead_letter_max_rows: 1000,
            banner_history_days: 90,
            gap_days: 90,
            audit_days: 365,
            incident_days: 365,
            directory_stale_days: 30,
            calendar_log_days: 90,
            calendar_sync_run_days: 90,
            rebuild_hours: 24,
            batch_rows: 1000,
            interval: Duration::from_secs(3600),
        }
    }
}

impl RetentionPolicy {
    /// CDRs older than this go. Never younger than a day (CMS resends an unacknowledged batch
    /// within minutes; a day is far beyond that) nor than twice the rebuild window (a restart
    /// replays them).
    pub fn cdr_cutoff(&self, now: OffsetDateTime) -> OffsetDateTime {
        let days = time::Duration::days(self.cdr_days.into());
        let floor = time::Duration::hours((2 * self.rebuild_hours).max(24).into());
        now - days.max(floor)
    }
}

/// What one pass deleted, per kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    pub cdr_records: u64,
    pub dead_letters: u64,
    pub gaps: u64,
    pub banner_history: u64,
    pub audit: u64,
    pub incidents: u64,
    pub directory: u64,
    pub calendar_log: u64,
    pub calendar_sync_runs: u64,
}

impl PruneReport {
    pub fn total(&self) -> u64 {
        self.cdr_records
            + self.dead_letters
            + self.gaps
            + self.banner_history
            + self.audit
            + self.incidents
            + self.directory
            + self.calendar_log
            + self.calendar_sync_runs
    }
}

/// The database's size and age, for the dashboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageFacts {
    pub bytes: i64,
    pub oldest_cdr: Option<OffsetDateTime>,
    pub last_prune: Option<(OffsetDateTime, PruneReport)>,
    pub policy: RetentionPolicy,
}

/// The deletes, one batch per call (the caller repeats until nothing is left), one
/// implementation per backend. `table` and `column` are constants of this module, never input.
#[async_trait::async_trait]
pub(crate) trait RetentionRepo: Send + Sync {
    /// Up to `batch` rows of `table` whose `column` is before `cutoff`, oldest ids first.
    async fn delete_older(&self, table: &str, column: &str, cutoff: OffsetDateTime, batch: i64) -> Result<u64, StoreError>;
    /// Up to `batch` rows of `table` beyond the newest `keep` (by id).
    async fn keep_newest(&self, table: &str, keep: i64, batch: i64) -> Result<u64, StoreError>;
    /// Up to `batch` incidents stopped before `cutoff`, each with its deliveries,
    /// acknowledgements and timeline, in one transaction; returns the incidents deleted.
    async fn delete_ended_incidents(&self, cutoff: OffsetDateTime, batch: i64) -> Result<u64, StoreError>;
    /// Up to `batch` directory people not refreshed since `cutoff`, unless a responder is them.
    async fn delete_stale_directory(&self, cutoff: OffsetDateTime, batch: i64) -> Result<u64, StoreError>;
    /// The database's size on disk.
    async fn bytes(&self) -> Result<i64, StoreError>;
    async fn oldest_cdr(&self) -> Result<Option<OffsetDateTime>, StoreError>;
}

pub struct Retention {
    repo: Arc<dyn RetentionRepo>,
    policy: RwLock<RetentionPolicy>,
    last: Mutex<Option<(OffsetDateTime, PruneReport)>>,
}

/// Pause between two delete batches, so other writers get the lock.
const BETWEEN_BATCHES: Duration = Duration::from_millis(20);

impl Retention {
    pub fn new(store: Store, policy: RetentionPolicy) -> Self {
        let repo: Arc<dyn RetentionRepo> = match store.backend() {
            Backend::Sqlite(pool) => Arc::new(sqlite::SqliteRetention(pool.clone())),
            Backend::Postgres(pool) => Arc::new(postgres::PgRetention(pool.clone())),
        };
        Self { repo, policy: RwLock::new(policy), last: Mutex::new(None) }
    }

    /// The retention worker: a pass now, then every `interval`.
    pub async fn run(&self, ctx: WorkerCtx) {
        let every = read(&self.policy).interval;
        loop {
            match self.prune(OffsetDateTime::now_utc()).await {
                Ok(r) if r.total() > 0 => tracing::info!(?r, "retention: old rows deleted"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "retention pass failed; next pass later"),
            }
            ctx.beat();
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = ctx.cancelled() => return,
            }
        }
    }

    /// One pass as of `now`.
    pub async fn prune(&self, now: OffsetDateTime) -> Result<PruneReport, StoreError> {
        let p = read(&self.policy).clone();
        let days = |d: u32| now - time::Duration::days(d.into());
        let batch = i64::from(p.batch_rows.max(1));
        let repo = self.repo.as_ref();
        let older = |table: &'static str, column: &'static str, cutoff: OffsetDateTime| {
            in_batches(move || repo.delete_older(table, column, cutoff, batch))
        };
        let report = PruneReport {
            cdr_records: older("cdr_records", "received_at", p.cdr_cutoff(now)).await?,
            dead_letters: older("cdr_dead_letters", "received_at", days(p.dead_letter_days)).await?
                + in_batches(|| repo.keep_newest("cdr_dead_letters", i64::from(p.dead_letter_max_rows), batch)).await?,
            gaps: older("cdr_gaps", "at", days(p.gap_days)).await?,
            banner_history: older("banner_history", "at", days(p.banner_history_days)).await?,
            audit: older("audit_log", "at", days(p.audit_days)).await?,
            incidents: in_batches(|| repo.delete_ended_incidents(days(p.incident_days), batch)).await?,
            directory: in_batches(|| repo.delete_stale_directory(days(p.directory_stale_days), batch)).await?,
            calendar_log: older("calendar_log", "at", days(p.calendar_log_days)).await?,
            // A run still going (no finished_at) is never old.
            calendar_sync_runs: older("calendar_sync_runs", "finished_at", days(p.calendar_sync_run_days)).await?,
        };
        *lock(&self.last) = Some((now, report.clone()));
        Ok(report)
    }

    pub async fn facts(&self) -> Result<StorageFacts, StoreError> {
        let bytes = self.repo.bytes().await?;
        let oldest_cdr = self.repo.oldest_cdr().await?;
        Ok(StorageFacts { bytes, oldest_cdr, last_prune: lock(&self.last).clone(), policy: read(&self.policy).clone() })
    }
}

/// Runs one delete batch after another, with a pause between, until one deletes nothing;
/// returns the rows deleted in all.
async fn in_batches<F, Fut>(delete: F) -> Result<u64, StoreError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<u64, StoreError>>,
{
    let mut total = 0;
    loop {
        let n = delete().await?;
        total += n;
        if n == 0 {
            return Ok(total);
        }
        tokio::time::sleep(BETWEEN_BATCHES).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::time_text;
    use sqlx::Row;
    use time::macros::datetime;

    /// A value for a fixture row: times go in as each backend stores them (text or TIMESTAMPTZ).
    #[derive(Clone, Copy)]
    enum V<'a> {
        T(OffsetDateTime),
        OptT(Option<OffsetDateTime>),
        I(i64),
        S(&'a str),
    }

    /// Runs fixture SQL written with `?` placeholders on either backend; returns the first
    /// column of the first row when the statement returns one (`RETURNING id`).
    async fn exec(store: &Store, sql: &str, vals: &[V<'_>]) -> Option<i64> {
        match store.backend() {
            Backend::Sqlite(pool) => {
                let mut q = sqlx::query(sql);
                for v in vals {
                    q = match *v {
                        V::T(t) => q.bind(time_text(t)),
                        V::OptT(t) => q.bind(t.map(time_text)),
                        V::I(i) => q.bind(i),
                        V::S(s) => q.bind(s),
                    };
                }
                q.fetch_all(pool).await.unwrap().first().and_then(|r| r.try_get::<i64, _>(0).ok())
            }
            Backend::Postgres(pool) => {
                let mut n = 0;
                let sql: String = sql
                    .chars()
                    .map(|c| match c {
                        '?' => {
                            n += 1;
                            format!("${n}")
                        }
                        c => c.to_string(),
                    })
                    .collect();
                let mut q = sqlx::query(&sql);
                for v in vals {
                    q = match *v {
                        V::T(t) => q.bind(t),
                        V::OptT(t) => q.bind(t),
                        V::I(i) => q.bind(i),
                        V::S(s) => q.bind(s),
                    };
                }
                q.fetch_all(pool).await.unwrap().first().and_then(|r| r.try_get::<i64, _>(0).ok())
            }
        }
    }

    async fn column<T>(store: &Store, sql: &str) -> Vec<T>
    where
        T: Send + Unpin + for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
        T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    {
        match store.backend() {
            Backend::Sqlite(pool) => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap(),
            Backend::Postgres(pool) => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap(),
        }
    }

    async fn count(store: &Store, table: &str) -> i64 {
        column::<i64>(store, &format!("SELECT COUNT(*) FROM {table}")).await[0]
    }

    crate::both_backends! {
        async fn old_rows_go_in_batches_new_ones_stay_and_dead_letters_are_capped(store) {
            let now = datetime!(2026-11-24 12:00 UTC);
            let old = now - time::Duration::days(400);
            let recent = now - time::Duration::days(1);
            let cdr = "INSERT INTO cdr_records (bridge, session, record_index, record_type, time, object_id, received_at, raw) VALUES ('', 'S', ?, 'callStart', ?, 'c', ?, '<r/>')";
            for (i, at) in [old, old, old, recent].into_iter().enumerate() {
                exec(&store, cdr, &[V::I(i as i64), V::T(at), V::T(at)]).await;
            }
            for at in [old, recent, recent, recent] {
                exec(&store, "INSERT INTO cdr_dead_letters (received_at, peer, reason, body) VALUES (?, 'p', 'r', 'b')", &[V::T(at)]).await;
            }
            for at in [old, recent] {
                exec(&store, "INSERT INTO audit_log (at, actor, action, result) VALUES (?, 'ann', 'login', 'ok')", &[V::T(at)]).await;
                exec(&store, "INSERT INTO banner_history (at, call_id, node, call_name, text, result) VALUES (?, 'c', 'n', 'x', 't', 'ok')", &[V::T(at)]).await;
            }
            exec(&store, "INSERT INTO cdr_gaps (at, bridge, session, record_index, missing) VALUES (?, '', 'S', 1, 2)", &[V::T(old)]).await;
            let r = Retention::new(store.clone(), RetentionPolicy { dead_letter_max_rows: 2, batch_rows: 2, ..RetentionPolicy::default() });
            let report = r.prune(now).await.unwrap();
            assert_eq!(report, PruneReport { cdr_records: 3, dead_letters: 2, gaps: 1, banner_history: 1, audit: 1, ..PruneReport::default() });
            assert_eq!((count(&store, "cdr_records").await, count(&store, "cdr_dead_letters").await), (1, 2));
            assert_eq!((count(&store, "audit_log").await, count(&store, "banner_history").await), (1, 1));
            let facts = r.facts().await.unwrap();
            assert!(facts.bytes > 0);
            assert_eq!(facts.oldest_cdr, Some(recent));
            assert_eq!(facts.last_prune.map(|(_, r)| r.total()), Some(8));
        }

        async fn a_row_exactly_at_the_cutoff_stays_and_one_a_second_older_goes(store) {
            // Compared as times on both backends: the boundary is exact.
            let now = datetime!(2026-11-24 12:00 UTC);
            let cutoff = now - time::Duration::days(90);
            for at in [cutoff - time::Duration::seconds(1), cutoff] {
                exec(&store, "INSERT INTO audit_log (at, actor, action, result) VALUES (?, 'ann', 'login', 'ok')", &[V::T(at)]).await;
            }
            let r = Retention::new(store.clone(), RetentionPolicy { audit_days: 90, ..RetentionPolicy::default() });
            assert_eq!(r.prune(now).await.unwrap().audit, 1);
            assert_eq!(count(&store, "audit_log").await, 1);
        }

        async fn ended_incidents_go_with_their_parts_running_ones_stay_and_calendar_and_directory_rows_age_out(store) {
            let now = datetime!(2026-11-24 12:00 UTC);
            let old = now - time::Duration::days(400);
            let recent = now - time::Duration::days(1);
            // 1st: ended long ago; 2nd: started long ago and still running; 3rd: ended yesterday.
            let mut ids = Vec::new();
            for (room, stopped) in [("r1", Some(old)), ("r2", None), ("r3", Some(recent))] {
                let id = exec(
                    &store,
                    "INSERT INTO incidents (room_id, space_title, name, commander, commander_person_id, meeting_link, meeting_number, toll_number, ack_salt, started_at, stopped_at)
                     VALUES (?, 't', 'n', 'c', 'p', 'l', 'm', 'x', 's', ?, ?) RETURNING id",
                    &[V::S(room), V::T(old), V::OptT(stopped)],
                )
                .await
                .expect("an id");
                exec(&store, "INSERT INTO incident_deliveries (incident_id, responder_id, responder_name, channel, address, round, status, due_at, updated_at) VALUES (?, 1, 'r', 'sms', '+1', 0, 'sent', ?, ?)",
                    &[V::I(id), V::T(old), V::T(old)]).await;
                exec(&store, "INSERT INTO incident_acks (incident_id, responder_id, responder_name, token_hash) VALUES (?, 1, 'r', ?)",
                    &[V::I(id), V::S(room)]).await;
                exec(&store, "INSERT INTO incident_events (incident_id, at, kind, detail) VALUES (?, ?, 'started', 'd')", &[V::I(id), V::T(old)]).await;
                ids.push(id);
            }
            for (person, at) in [("gone", old), ("still-here", recent), ("responder", old)] {
                exec(&store, "INSERT INTO webex_directory (person_id, display_name, email, refreshed_at) VALUES (?, ?, 'e', ?)",
                    &[V::S(person), V::S(person), V::T(at)]).await;
            }
            exec(&store, "INSERT INTO responders (person_id, name, created_at, updated_at) VALUES ('responder', 'R', ?, ?)", &[V::T(old), V::T(old)]).await;
            for at in [old, recent] {
                exec(&store, "INSERT INTO calendar_log (at, mailbox, item_id, subject, action, detail) VALUES (?, 'm', 'i', 's', 'inserted', 'd')", &[V::T(at)]).await;
            }
            for (finished, status) in [(Some(old), "done"), (Some(recent), "done"), (None, "running")] {
                exec(&store, "INSERT INTO calendar_sync_runs (started_at, finished_at, trigger, status) VALUES (?, ?, 'daily', ?)",
                    &[V::T(old), V::OptT(finished), V::S(status)]).await;
            }

            let r = Retention::new(store.clone(), RetentionPolicy { batch_rows: 1, ..RetentionPolicy::default() });
            let report = r.prune(now).await.unwrap();
            assert_eq!((report.incidents, report.directory, report.calendar_log, report.calendar_sync_runs), (1, 1, 1, 1), "{report:?}");
            assert_eq!(column::<i64>(&store, "SELECT id FROM incidents ORDER BY id").await, ids[1..], "the running incident stays, however old");
            for table in ["incident_deliveries", "incident_acks", "incident_events"] {
                let left = column::<i64>(&store, &format!("SELECT incident_id FROM {table} ORDER BY incident_id")).await;
                assert_eq!(left, ids[1..], "{table} follows its incident");
            }
            let people = column::<String>(&store, "SELECT person_id FROM webex_directory ORDER BY person_id").await;
            assert_eq!(people, ["responder", "still-here"], "a responder's directory entry stays");
            assert_eq!((count(&store, "calendar_log").await, count(&store, "calendar_sync_runs").await), (1, 2));
        }
    }

    #[test]
    fn cdrs_are_kept_at_least_a_day_and_twice_the_rebuild_window() {
        let now = datetime!(2026-11-24 12:00 UTC);
        let p = |cdr_days, rebuild_hours| RetentionPolicy { cdr_days, rebuild_hours, ..RetentionPolicy::default() };
        assert_eq!(p(90, 24).cdr_cutoff(now), now - time::Duration::days(90));
        assert_eq!(p(0, 1).cdr_cutoff(now), now - time::Duration::hours(24), "never younger than a day");
        assert_eq!(p(1, 48).cdr_cutoff(now), now - time::Duration::hours(96), "twice the rebuild window");
    }
}
