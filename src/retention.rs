//! Retention: old rows are deleted in small batches by a background worker, per kind, so the
//! database stops growing without end and no single delete holds the write lock for long.
//! CDR records are the dedup keys of what CMS sent: they are never deleted while CMS could
//! still resend them or while the live-state rebuild reads them (see `RetentionPolicy::cdr_cutoff`).

use crate::store::{time_text, Store, StoreError};
use crate::sync::{lock, read};
use crate::workers::WorkerCtx;
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

pub struct Retention {
    store: Store,
    policy: RwLock<RetentionPolicy>,
    last: Mutex<Option<(OffsetDateTime, PruneReport)>>,
}

/// Pause between two delete batches, so other writers get the lock.
const BETWEEN_BATCHES: Duration = Duration::from_millis(20);

impl Retention {
    pub fn new(store: Store, policy: RetentionPolicy) -> Self {
        Self { store, policy: RwLock::new(policy), last: Mutex::new(None) }
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
        let days = |d: u32| time_text(now - time::Duration::days(d.into()));
        let batch = i64::from(p.batch_rows.max(1));
        let report = PruneReport {
            cdr_records: self.delete_older("cdr_records", "received_at", &time_text(p.cdr_cutoff(now)), batch).await?,
            dead_letters: self.delete_older("cdr_dead_letters", "received_at", &days(p.dead_letter_days), batch).await?
                + self.keep_newest("cdr_dead_letters", i64::from(p.dead_letter_max_rows), batch).await?,
            gaps: self.delete_older("cdr_gaps", "at", &days(p.gap_days), batch).await?,
            banner_history: self.delete_older("banner_history", "at", &days(p.banner_history_days), batch).await?,
            audit: self.delete_older("audit_log", "at", &days(p.audit_days), batch).await?,
            incidents: self.delete_ended_incidents(&days(p.incident_days), batch).await?,
            directory: self.delete_stale_directory(&days(p.directory_stale_days), batch).await?,
            calendar_log: self.delete_older("calendar_log", "at", &days(p.calendar_log_days), batch).await?,
            // A run still going (no finished_at) is never old.
            calendar_sync_runs: self.delete_older("calendar_sync_runs", "finished_at", &days(p.calendar_sync_run_days), batch).await?,
        };
        *lock(&self.last) = Some((now, report.clone()));
        Ok(report)
    }

    async fn delete_older(&self, table: &str, column: &str, cutoff: &str, batch: i64) -> Result<u64, StoreError> {
        // Table and column names are constants of this module, never input.
        let sql = format!("DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE {column} < ? ORDER BY id LIMIT ?)");
        self.in_batches(&sql, |q| q.bind(cutoff.to_string()).bind(batch)).await
    }

    /// Incidents stopped before `cutoff`, each with its deliveries, acknowledgements and
    /// timeline, a batch of incidents per transaction (a running incident is never touched).
    async fn delete_ended_incidents(&self, cutoff: &str, batch: i64) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            let mut tx = self.store.write_tx().await?;
            let ids: Vec<i64> =
                sqlx::query_scalar("SELECT id FROM incidents WHERE stopped_at IS NOT NULL AND stopped_at < ? ORDER BY id LIMIT ?")
                    .bind(cutoff)
                    .bind(batch)
                    .fetch_all(&mut *tx)
                    .await?;
            if ids.is_empty() {
                return Ok(total);
            }
            let list = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
            for table in ["incident_deliveries", "incident_acks", "incident_events"] {
                sqlx::query(&format!("DELETE FROM {table} WHERE incident_id IN (SELECT value FROM json_each(?))"))
                    .bind(&list)
                    .execute(&mut *tx)
                    .await?;
            }
            let n = sqlx::query("DELETE FROM incidents WHERE id IN (SELECT value FROM json_each(?))").bind(&list).execute(&mut *tx).await?;
            tx.commit().await?;
            total += n.rows_affected();
            tokio::time::sleep(BETWEEN_BATCHES).await;
        }
    }

    /// Directory people the refresh has not seen since `cutoff`, unless a responder is them.
    async fn delete_stale_directory(&self, cutoff: &str, batch: i64) -> Result<u64, StoreError> {
        let sql = "DELETE FROM webex_directory WHERE person_id IN (SELECT person_id FROM webex_directory WHERE refreshed_at < ?
                   AND person_id NOT IN (SELECT person_id FROM responders WHERE person_id IS NOT NULL) LIMIT ?)";
        self.in_batches(sql, |q| q.bind(cutoff.to_string()).bind(batch)).await
    }

    async fn keep_newest(&self, table: &str, keep: i64, batch: i64) -> Result<u64, StoreError> {
        let sql = format!(
            "DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE id <= (SELECT COALESCE(MAX(id), 0) FROM {table}) - ? ORDER BY id LIMIT ?)"
        );
        self.in_batches(&sql, |q| q.bind(keep).bind(batch)).await
    }

    async fn in_batches<'q>(
        &self,
        sql: &'q str,
        bind: impl Fn(
            sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
        ) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    ) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            let n = bind(sqlx::query(sql)).execute(self.store.pool()).await?.rows_affected();
            total += n;
            if n == 0 {
                return Ok(total);
            }
            tokio::time::sleep(BETWEEN_BATCHES).await;
        }
    }

    pub async fn facts(&self) -> Result<StorageFacts, StoreError> {
        let bytes: i64 = sqlx::query_scalar("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")
            .fetch_one(self.store.pool())
            .await?;
        let oldest: Option<String> = sqlx::query_scalar("SELECT MIN(received_at) FROM cdr_records").fetch_one(self.store.pool()).await?;
        let oldest_cdr = oldest.and_then(|t| OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339).ok());
        Ok(StorageFacts { bytes, oldest_cdr, last_prune: lock(&self.last).clone(), policy: read(&self.policy).clone() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_store;
    use time::macros::datetime;

    async fn insert(store: &Store, sql: &str, times: &[OffsetDateTime]) {
        for t in times {
            sqlx::query(sql).bind(time_text(*t)).execute(store.pool()).await.unwrap();
        }
    }

    async fn count(store: &Store, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(store.pool()).await.unwrap()
    }

    #[tokio::test]
    async fn old_rows_go_in_batches_new_ones_stay_and_dead_letters_are_capped() {
        let (store, _d) = test_store().await;
        let now = datetime!(2026-11-24 12:00 UTC);
        let old = now - time::Duration::days(400);
        let recent = now - time::Duration::days(1);
        let cdr = "INSERT INTO cdr_records (bridge, session, record_index, record_type, time, object_id, received_at, raw) VALUES ('', 'S', abs(random()), 'callStart', 't', 'c', ?, '<r/>')";
        insert(&store, cdr, &[old, old, old, recent]).await;
        insert(
            &store,
            "INSERT INTO cdr_dead_letters (received_at, peer, reason, body) VALUES (?, 'p', 'r', 'b')",
            &[old, recent, recent, recent],
        )
        .await;
        insert(&store, "INSERT INTO audit_log (at, actor, action, result) VALUES (?, 'ann', 'login', 'ok')", &[old, recent]).await;
        insert(
            &store,
            "INSERT INTO banner_history (at, call_id, node, call_name, text, result) VALUES (?, 'c', 'n', 'x', 't', 'ok')",
            &[old, recent],
        )
        .await;
        insert(&store, "INSERT INTO cdr_gaps (at, bridge, session, record_index, missing) VALUES (?, '', 'S', 1, 2)", &[old]).await;
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

    #[test]
    fn cdrs_are_kept_at_least_a_day_and_twice_the_rebuild_window() {
        let now = datetime!(2026-11-24 12:00 UTC);
        let p = |cdr_days, rebuild_hours| RetentionPolicy { cdr_days, rebuild_hours, ..RetentionPolicy::default() };
        assert_eq!(p(90, 24).cdr_cutoff(now), now - time::Duration::days(90));
        assert_eq!(p(0, 1).cdr_cutoff(now), now - time::Duration::hours(24), "never younger than a day");
        assert_eq!(p(1, 48).cdr_cutoff(now), now - time::Duration::hours(96), "twice the rebuild window");
    }

    #[tokio::test]
    async fn ended_incidents_go_with_their_parts_running_ones_stay_and_calendar_and_directory_rows_age_out() {
        let (store, _d) = test_store().await;
        let now = datetime!(2026-11-24 12:00 UTC);
        let old = time_text(now - time::Duration::days(400));
        let recent = time_text(now - time::Duration::days(1));
        // 1: ended long ago; 2: started long ago and still running; 3: ended yesterday.
        for (id, room, stopped) in [(1, "r1", Some(&old)), (2, "r2", None), (3, "r3", Some(&recent))] {
            sqlx::query(
                "INSERT INTO incidents (id, room_id, space_title, name, commander, commander_person_id, meeting_link, meeting_number, toll_number, ack_salt, started_at, stopped_at)
                 VALUES (?, ?, 't', 'n', 'c', 'p', 'l', 'm', 'x', 's', ?, ?)",
            )
            .bind(id)
            .bind(room)
            .bind(&old)
            .bind(stopped)
            .execute(store.pool())
            .await
            .unwrap();
            sqlx::query("INSERT INTO incident_deliveries (incident_id, responder_id, responder_name, channel, address, round, status, due_at, updated_at) VALUES (?, 1, 'r', 'sms', '+1', 0, 'sent', ?, ?)")
                .bind(id).bind(&old).bind(&old).execute(store.pool()).await.unwrap();
            sqlx::query("INSERT INTO incident_acks (incident_id, responder_id, responder_name, token_hash) VALUES (?, 1, 'r', ?)")
                .bind(id)
                .bind(format!("h{id}"))
                .execute(store.pool())
                .await
                .unwrap();
            sqlx::query("INSERT INTO incident_events (incident_id, at, kind, detail) VALUES (?, ?, 'started', 'd')")
                .bind(id)
                .bind(&old)
                .execute(store.pool())
                .await
                .unwrap();
        }
        for (person, at) in [("gone", &old), ("still-here", &recent), ("responder", &old)] {
            sqlx::query("INSERT INTO webex_directory (person_id, display_name, email, refreshed_at) VALUES (?, ?, 'e', ?)")
                .bind(person)
                .bind(person)
                .bind(at)
                .execute(store.pool())
                .await
                .unwrap();
        }
        sqlx::query("INSERT INTO responders (person_id, name, created_at, updated_at) VALUES ('responder', 'R', ?, ?)")
            .bind(&old)
            .bind(&old)
            .execute(store.pool())
            .await
            .unwrap();
        for at in [&old, &recent] {
            sqlx::query(
                "INSERT INTO calendar_log (at, mailbox, item_id, subject, action, detail) VALUES (?, 'm', 'i', 's', 'inserted', 'd')",
            )
            .bind(at)
            .execute(store.pool())
            .await
            .unwrap();
        }
        for finished in [Some(&old), Some(&recent), None] {
            sqlx::query("INSERT INTO calendar_sync_runs (started_at, finished_at, trigger, status) VALUES (?, ?, 'daily', ?)")
                .bind(&old)
                .bind(finished)
                .bind(if finished.is_some() { "done" } else { "running" })
                .execute(store.pool())
                .await
                .unwrap();
        }

        let r = Retention::new(store.clone(), RetentionPolicy { batch_rows: 1, ..RetentionPolicy::default() });
        let report = r.prune(now).await.unwrap();
        assert_eq!((report.incidents, report.directory, report.calendar_log, report.calendar_sync_runs), (1, 1, 1, 1), "{report:?}");
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM incidents ORDER BY id").fetch_all(store.pool()).await.unwrap();
        assert_eq!(ids, [2, 3], "the running incident stays, however old");
        for table in ["incident_deliveries", "incident_acks", "incident_events"] {
            let left: Vec<i64> =
                sqlx::query_scalar(&format!("SELECT incident_id FROM {table} ORDER BY incident_id")).fetch_all(store.pool()).await.unwrap();
            assert_eq!(left, [2, 3], "{table} follows its incident");
        }
        let people: Vec<String> =
            sqlx::query_scalar("SELECT person_id FROM webex_directory ORDER BY person_id").fetch_all(store.pool()).await.unwrap();
        assert_eq!(people, ["responder", "still-here"], "a responder's directory entry stays");
        assert_eq!((count(&store, "calendar_log").await, count(&store, "calendar_sync_runs").await), (1, 2));
    }
}
