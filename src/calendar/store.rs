//! All of the calendar's SQL, behind typed methods: the log of what was done to meetings, the
//! synced CMS users and the sync runs, the EWS SyncStates, the Graph delta links and the Graph
//! change-notification subscriptions (only a clientState's SHA-256 is kept, never the secret).
//! A user's passcode, space secret and web link (which carries the secret) are sealed with the
//! vault key ([`SecretBox`]) per user: the database file alone does not give anyone a way in.
//! The SQL is per backend (`store/sqlite.rs`, `store/postgres.rs`); sealing is done here, the same
//! for both.

mod postgres;
mod sqlite;

use super::model::{CalendarUser, SyncReport};
use super::templates::JoinTemplates;
use crate::model::calendar::{CalendarLogEntry, DiffLine, LogAction, SyncRunView};
use crate::secret::SecretBox;
use crate::store::{Backend, Store, StoreError};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

/// The setting that holds the join-details templates.
pub const TEMPLATES_KEY: &str = "calendar.templates";

const USER_COLUMNS: &str = "jid, cms_id, name, mailbox, space_id, space_name, uri, secondary_uri, call_id, passcode, secret, web_link";

/// What a sealed column is bound to: the column and the user (a value cannot be moved to
/// another column or another user's row and still open).
fn purpose(column: &str, jid: &str) -> String {
    format!("calendar_users.{column}:{}", jid.to_ascii_lowercase())
}

fn seal(secrets: &SecretBox, column: &str, jid: &str, v: &Option<String>) -> Option<String> {
    v.as_ref().map(|v| secrets.seal(&purpose(column, jid), v))
}

/// Opens a sealed column. A value written before sealing (no `v1.` prefix) is read as it is;
/// the next sync writes it sealed.
fn open(secrets: &SecretBox, column: &str, jid: &str, v: Option<String>) -> Result<Option<String>, StoreError> {
    match v {
        Some(s) if s.starts_with("v1.") => secrets
            .open(&purpose(column, jid), &s)
            .map(Some)
            .map_err(|e| StoreError::Config(format!("calendar_users.{column} of {jid}: {e}"))),
        other => Ok(other),
    }
}

fn opened(secrets: &SecretBox, mut u: CalendarUser) -> Result<CalendarUser, StoreError> {
    u.passcode = open(secrets, "passcode", &u.jid, u.passcode.take())?;
    u.secret = open(secrets, "secret", &u.jid, u.secret.take())?;
    u.web_link = open(secrets, "web_link", &u.jid, u.web_link.take())?;
    Ok(u)
}

/// One line of the calendar log, as written.
pub struct LogLine<'a> {
    pub mailbox: &'a str,
    pub item_id: &'a str,
    pub subject: &'a str,
    pub action: LogAction,
    pub detail: &'a str,
    pub latency_ms: Option<i64>,
}

/// What is stored of a clientState.
fn digest(client_state: &str) -> String {
    Sha256::digest(client_state.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A finished run's counts and its diff (JSON), as stored.
pub(crate) struct RunCounts {
    pub users: i64,
    pub added: i64,
    pub changed: i64,
    pub gone: i64,
    pub no_space: i64,
    pub diff: String,
}

/// The calendar's tables, one implementation per backend. Users come and go as stored: their
/// secrets sealed (the store seals and opens them).
#[async_trait::async_trait]
pub(crate) trait CalendarRepo: Send + Sync {
    async fn log(&self, l: &LogLine<'_>) -> Result<(), StoreError>;
    /// Whether a failure of this item was logged at or after `since`.
    async fn failed_since(&self, item_id: &str, since: OffsetDateTime) -> Result<bool, StoreError>;
    async fn log_target(&self, log_id: i64) -> Result<Option<(String, String)>, StoreError>;
    /// The newest `limit` log entries, newest first.
    async fn log_entries(&self, limit: i64) -> Result<Vec<CalendarLogEntry>, StoreError>;
    async fn start_run(&self, trigger: &str) -> Result<i64, StoreError>;
    async fn finish_run(&self, run_id: i64, r: &RunCounts) -> Result<(), StoreError>;
    async fn fail_run(&self, run_id: i64, error: &str) -> Result<(), StoreError>;
    /// The newest `limit` runs, newest first.
    async fn runs(&self, limit: i64) -> Result<Vec<SyncRunView>, StoreError>;
    /// The diff (JSON) of the newest finished run.
    async fn last_done_diff(&self) -> Result<Option<String>, StoreError>;
    /// Every user, by JID (case-insensitively).
    async fn users(&self) -> Result<Vec<CalendarUser>, StoreError>;
    /// A user whose mailbox this is, in any case.
    async fn user_by_mailbox(&self, mailbox: &str) -> Result<Option<CalendarUser>, StoreError>;
    /// In ONE transaction: `fresh` added or updated (a JID in another case is the same user),
    /// `gone` (JIDs, any case) deleted.
    async fn replace_users(&self, fresh: &[CalendarUser], gone: &[String]) -> Result<(), StoreError>;
    /// The mailbox's EWS SyncState (the mailbox in any case).
    async fn sync_state(&self, mailbox: &str) -> Result<Option<String>, StoreError>;
    async fn save_sync_state(&self, mailbox: &str, state: &str) -> Result<(), StoreError>;
    async fn delta_link(&self, mailbox: &str) -> Result<Option<String>, StoreError>;
    /// `None` deletes it.
    async fn save_delta_link(&self, mailbox: &str, link: Option<&str>) -> Result<(), StoreError>;
    async fn subscription(&self, mailbox: &str) -> Result<Option<(String, OffsetDateTime)>, StoreError>;
    async fn save_subscription(
        &self,
        mailbox: &str,
        id: &str,
        client_state_digest: &str,
        expires: OffsetDateTime,
    ) -> Result<(), StoreError>;
    async fn renewed_subscription(&self, mailbox: &str, expires: OffsetDateTime) -> Result<(), StoreError>;
    /// Every subscription: (id, mailbox, clientState digest).
    async fn subscriptions(&self) -> Result<Vec<(String, String, String)>, StoreError>;
}

#[derive(Clone)]
pub struct CalendarStore {
    store: Store,
    repo: Arc<dyn CalendarRepo>,
}

impl CalendarStore {
    pub fn new(store: Store) -> Self {
        let repo: Arc<dyn CalendarRepo> = match store.backend() {
            Backend::Sqlite(pool) => Arc::new(sqlite::SqliteCalendar(pool.clone())),
            Backend::Postgres(pool) => Arc::new(postgres::PgCalendar(pool.clone())),
        };
        Self { store, repo }
    }

    // --- the log ---

    pub async fn log(&self, l: LogLine<'_>) -> Result<(), StoreError> {
        self.repo.log(&l).await
    }

    /// Whether a failure of this item was logged in the last `within` (it is logged once).
    pub async fn failed_lately(&self, item_id: &str, within: time::Duration) -> Result<bool, StoreError> {
        self.repo.failed_since(item_id, OffsetDateTime::now_utc() - within).await
    }

    /// The meeting (mailbox, item id) a log entry is about.
    pub async fn log_target(&self, log_id: i64) -> Result<Option<(String, String)>, StoreError> {
        self.repo.log_target(log_id).await
    }

    /// The newest log entries, newest first.
    pub async fn log_entries(&self, limit: i64) -> Result<Vec<CalendarLogEntry>, StoreError> {
        self.repo.log_entries(limit).await
    }

    // --- templates ---

    pub async fn templates(&self) -> Result<JoinTemplates, StoreError> {
        Ok(self.store.setting::<JoinTemplates>(TEMPLATES_KEY).await?.unwrap_or_default())
    }

    pub async fn save_templates(&self, t: &JoinTemplates, by: &str) -> Result<(), StoreError> {
        self.store.put_setting(TEMPLATES_KEY, t, by).await
    }

    // --- users and sync runs ---

    pub async fn start_run(&self, trigger: &str) -> Result<i64, StoreError> {
        self.repo.start_run(trigger).await
    }

    pub async fn finish_run(&self, run_id: i64, r: &SyncReport) -> Result<(), StoreError> {
        let counts = RunCounts {
            users: r.users as i64,
            added: r.added as i64,
            changed: r.changed as i64,
            gone: r.gone as i64,
            no_space: r.no_space as i64,
            diff: serde_json::to_string(&r.diff).unwrap_or_else(|_| "[]".into()),
        };
        self.repo.finish_run(run_id, &counts).await
    }

    pub async fn fail_run(&self, run_id: i64, error: &str) -> Result<(), StoreError> {
        self.repo.fail_run(run_id, error).await
    }

    /// The newest runs, newest first, and the diff of the newest finished one.
    pub async fn runs(&self, limit: i64) -> Result<(Vec<SyncRunView>, Vec<DiffLine>), StoreError> {
        let runs = self.repo.runs(limit).await?;
        let diff = self.repo.last_done_diff().await?;
        Ok((runs, diff.and_then(|d| serde_json::from_str(&d).ok()).unwrap_or_default()))
    }

    pub async fn users(&self, secrets: &SecretBox) -> Result<Vec<CalendarUser>, StoreError> {
        self.repo.users().await?.into_iter().map(|u| opened(secrets, u)).collect()
    }

    /// The user whose mailbox this is (the organiser of a meeting).
    pub async fn user_by_mailbox(&self, mailbox: &str, secrets: &SecretBox) -> Result<Option<CalendarUser>, StoreError> {
        self.repo.user_by_mailbox(mailbox).await?.map(|u| opened(secrets, u)).transpose()
    }

    /// In one transaction: `fresh` stored (added or updated, secrets sealed), `gone` (JIDs) deleted.
    pub async fn replace_users(&self, fresh: &[CalendarUser], gone: &[String], secrets: &SecretBox) -> Result<(), StoreError> {
        let sealed: Vec<CalendarUser> = fresh
            .iter()
            .map(|u| CalendarUser {
                passcode: seal(secrets, "passcode", &u.jid, &u.passcode),
                secret: seal(secrets, "secret", &u.jid, &u.secret),
                web_link: seal(secrets, "web_link", &u.jid, &u.web_link),
                ..u.clone()
            })
            .collect();
        self.repo.replace_users(&sealed, gone).await
    }

    // --- EWS SyncStates ---

    pub async fn sync_state(&self, mailbox: &str) -> Result<Option<String>, StoreError> {
        self.repo.sync_state(mailbox).await
    }

    pub async fn save_sync_state(&self, mailbox: &str, state: &str) -> Result<(), StoreError> {
        self.repo.save_sync_state(mailbox, state).await
    }

    // --- Graph delta links ---

    pub async fn delta_link(&self, mailbox: &str) -> Result<Option<String>, StoreError> {
        self.repo.delta_link(mailbox).await
    }

    /// Keeps `link` for the mailbox; `None` forgets it (the next round reads the window again).
    pub async fn save_delta_link(&self, mailbox: &str, link: Option<&str>) -> Result<(), StoreError> {
        self.repo.save_delta_link(mailbox, link).await
    }

    // --- Graph change-notification subscriptions ---

    /// The mailbox's subscription: its id and expiry.
    pub async fn subscription(&self, mailbox: &str) -> Result<Option<(String, OffsetDateTime)>, StoreError> {
        self.repo.subscription(mailbox).await
    }

    /// A new subscription (its clientState's hash stored in place of any before).
    pub async fn save_subscription(&self, mailbox: &str, id: &str, client_state: &str, expires: OffsetDateTime) -> Result<(), StoreError> {
        self.repo.save_subscription(mailbox, id, &digest(client_state), expires).await
    }

    /// A renewal: the new expiry.
    pub async fn renewed_subscription(&self, mailbox: &str, expires: OffsetDateTime) -> Result<(), StoreError> {
        self.repo.renewed_subscription(mailbox, expires).await
    }

    /// Every subscription, for the in-memory check of notifications.
    pub async fn subscriptions(&self) -> Result<Vec<KnownSubscription>, StoreError> {
        let rows = self.repo.subscriptions().await?;
        Ok(rows.into_iter().map(|(id, mailbox, client_state_digest)| KnownSubscription { id, mailbox, client_state_digest }).collect())
    }
}

/// A subscription as notifications are checked against it (only the clientState's hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownSubscription {
    pub id: String,
    pub mailbox: String,
    client_state_digest: String,
}

impl KnownSubscription {
    /// As [`CalendarStore::save_subscription`] stores it.
    pub fn new(id: &str, mailbox: &str, client_state: &str) -> Self {
        Self { id: id.into(), mailbox: mailbox.into(), client_state_digest: digest(client_state) }
    }

    /// Its mailbox when `client_state` is the one it was created with (compared in constant time).
    pub fn check(&self, client_state: &str) -> Result<String, NotGenuine> {
        if bool::from(digest(client_state).as_bytes().ct_eq(self.client_state_digest.as_bytes())) {
            Ok(self.mailbox.clone())
        } else {
            Err(NotGenuine::WrongClientState(self.mailbox.clone()))
        }
    }
}

/// Why a Graph notification is dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotGenuine {
    UnknownSubscription,
    /// For this mailbox's subscription, but not with its clientState.
    WrongClientState(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::calendar::{DiffKind, SyncStatus};
    use crate::store::assert_round_trips;

    /// A statement without parameters, on either backend (the tests look at what is stored).
    pub(super) async fn exec(store: &Store, sql: &str) {
        match store.backend() {
            Backend::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(drop),
            Backend::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(drop),
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// A column of text, as stored, on either backend.
    pub(super) async fn strings(store: &Store, sql: &str) -> Vec<String> {
        match store.backend() {
            Backend::Sqlite(pool) => sqlx::query_scalar(sql).fetch_all(pool).await,
            Backend::Postgres(pool) => sqlx::query_scalar(sql).fetch_all(pool).await,
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    crate::both_backends! {
        async fn the_calendars_closed_sets_round_trip_through_the_database_as_their_stable_strings(store) {
            assert_round_trips(&store, LogAction::ALL).await;
            assert_round_trips(&store, SyncStatus::ALL).await;
            assert_round_trips(&store, DiffKind::ALL).await;
        }

        async fn rows_written_with_todays_strings_read_back_as_their_variants(store) {
            let cal = CalendarStore::new(store.clone());
            for a in LogAction::ALL {
                cal.log(LogLine { mailbox: "ann@example.com", item_id: "I1", subject: "s", action: *a, detail: "d", latency_ms: None })
                    .await
                    .unwrap();
            }
            let stored = strings(&store, "SELECT action FROM calendar_log ORDER BY id").await;
            assert_eq!(stored, ["inserted", "replaced", "removed", "left alone", "dry run", "failed"]);
            let read: Vec<LogAction> = cal.log_entries(10).await.unwrap().into_iter().rev().map(|e| e.action).collect();
            assert_eq!(read, LogAction::ALL);
            assert!(cal.failed_lately("I1", time::Duration::seconds(5)).await.unwrap());

            let run = cal.start_run("test").await.unwrap();
            let diff = DiffKind::ALL.iter().map(|k| DiffLine { jid: format!("{k}@cms"), what: *k }).collect();
            cal.finish_run(run, &SyncReport { diff, ..SyncReport::default() }).await.unwrap();
            let raw = strings(&store, "SELECT diff FROM calendar_sync_runs").await.concat();
            assert!(raw.contains("\"what\":\"no space\"") && raw.contains("\"what\":\"added\""), "{raw}");
            let (runs, last) = cal.runs(5).await.unwrap();
            assert_eq!(runs[0].status, SyncStatus::Done);
            assert_eq!(last.iter().map(|d| d.what).collect::<Vec<_>>(), DiffKind::ALL);
            let failed = cal.start_run("test").await.unwrap();
            cal.fail_run(failed, "CMS down").await.unwrap();
            let (runs, _) = cal.runs(5).await.unwrap();
            assert_eq!(runs[0].status, SyncStatus::Failed);
            let running = cal.start_run("test").await.unwrap();
            let status = strings(&store, &format!("SELECT status FROM calendar_sync_runs WHERE id = {running}")).await;
            assert_eq!(status, ["running"]);
        }

        async fn a_failure_logged_long_ago_is_not_a_failure_lately_and_a_log_entry_names_its_meeting(store) {
            let cal = CalendarStore::new(store.clone());
            cal.log(LogLine { mailbox: "ann@example.com", item_id: "I1", subject: "s", action: LogAction::Failed, detail: "d", latency_ms: Some(12) })
                .await
                .unwrap();
            exec(&store, "UPDATE calendar_log SET at = '2020-01-01T00:00:00Z'").await;
            assert!(!cal.failed_lately("I1", time::Duration::hours(1)).await.unwrap());
            assert!(!cal.failed_lately("I2", time::Duration::days(36500)).await.unwrap(), "another item");
            assert!(cal.failed_lately("I1", time::Duration::days(36500)).await.unwrap());
            let entry = &cal.log_entries(1).await.unwrap()[0];
            assert_eq!((entry.latency_ms, entry.at.year()), (Some(12), 2020));
            assert_eq!(cal.log_target(entry.id).await.unwrap(), Some(("ann@example.com".into(), "I1".into())));
            assert_eq!(cal.log_target(entry.id + 1).await.unwrap(), None);
        }

        async fn sync_states_delta_links_and_subscriptions_are_kept_per_mailbox_and_replaced(store) {
            let cal = CalendarStore::new(store.clone());
            assert_eq!(cal.sync_state("ann@example.com").await.unwrap(), None);
            cal.save_sync_state("ann@example.com", "S1").await.unwrap();
            cal.save_sync_state("ann@example.com", "S2").await.unwrap();
            assert_eq!(cal.sync_state("ann@example.com").await.unwrap().as_deref(), Some("S2"));
            assert_eq!(cal.sync_state("ANN@example.com").await.unwrap().as_deref(), Some("S2"), "the mailbox in any case");
            cal.save_sync_state("Ann@Example.com", "S3").await.unwrap();
            assert_eq!(strings(&store, "SELECT state FROM calendar_sync_state").await, ["S3"], "one row per mailbox, whatever its case");

            cal.save_delta_link("ann@example.com", Some("d1")).await.unwrap();
            cal.save_delta_link("ann@example.com", Some("d2")).await.unwrap();
            assert_eq!(cal.delta_link("ann@example.com").await.unwrap().as_deref(), Some("d2"));
            cal.save_delta_link("ann@example.com", None).await.unwrap();
            assert_eq!(cal.delta_link("ann@example.com").await.unwrap(), None);

            let expires = time::macros::datetime!(2030-01-02 03:04:05 UTC);
            cal.save_subscription("ann@example.com", "sub1", "client-secret", expires).await.unwrap();
            assert_eq!(cal.subscription("ann@example.com").await.unwrap(), Some(("sub1".into(), expires)));
            let later = expires + time::Duration::days(2);
            cal.renewed_subscription("ann@example.com", later).await.unwrap();
            assert_eq!(cal.subscription("ann@example.com").await.unwrap(), Some(("sub1".into(), later)));
            cal.save_subscription("ann@example.com", "sub2", "other-secret", expires).await.unwrap();
            let known = cal.subscriptions().await.unwrap();
            assert_eq!(known, [KnownSubscription::new("sub2", "ann@example.com", "other-secret")]);
            assert_eq!(known[0].check("other-secret"), Ok("ann@example.com".into()));
            assert!(known[0].check("client-secret").is_err(), "the old clientState no longer holds");
            assert_eq!(strings(&store, "SELECT client_state FROM calendar_graph_subscriptions").await, [digest("other-secret")], "only its hash");
        }
    }
}

#[cfg(test)]
mod sealing_tests {
    use super::tests::{exec, strings};
    use super::*;

    fn ann() -> CalendarUser {
        CalendarUser {
            jid: "Ann@cms.example.com".into(),
            cms_id: "u1".into(),
            name: "Ann".into(),
            mailbox: "ann@example.com".into(),
            space_id: Some("s1".into()),
            space_name: Some("Ann's space".into()),
            uri: Some("ann.space".into()),
            secondary_uri: None,
            call_id: Some("100200300".into()),
            passcode: Some("4321".into()),
            secret: Some("s3cr3tGuestAccess".into()),
            web_link: Some("https://join.example.com/meeting/100200300?secret=s3cr3tGuestAccess".into()),
        }
    }

    fn key() -> SecretBox {
        SecretBox::from_base64(&SecretBox::generate_key()).unwrap()
    }

    crate::both_backends! {
        async fn passcodes_and_space_secrets_are_sealed_in_the_database_and_read_back_in_clear(store) {
            let cal = CalendarStore::new(store.clone());
            let key = key();
            cal.replace_users(&[ann()], &[], &key).await.unwrap();
            for column in ["passcode", "secret", "web_link"] {
                let raw = strings(&store, &format!("SELECT {column} FROM calendar_users")).await.concat();
                assert!(raw.starts_with("v1.") && !raw.contains("4321") && !raw.contains("s3cr3t"), "sealed {column}: {raw}");
            }
            assert_eq!(cal.users(&key).await.unwrap(), vec![ann()]);
            assert_eq!(cal.user_by_mailbox("ann@example.com", &key).await.unwrap(), Some(ann()));

            // Another key cannot open them: a clear error, not garbage join details.
            let err = cal.users(&self::key()).await.unwrap_err().to_string();
            assert!(err.contains("calendar_users.passcode") && err.contains("cannot be opened"), "{err}");

            // A value moved to another column does not open there.
            exec(&store, "UPDATE calendar_users SET secret = passcode").await;
            assert!(cal.users(&key).await.is_err());
        }

        async fn values_stored_in_clear_before_sealing_still_read_and_the_next_sync_seals_them(store) {
            let cal = CalendarStore::new(store.clone());
            let key = key();
            exec(
                &store,
                "INSERT INTO calendar_users (jid, cms_id, name, mailbox, space_id, space_name, uri, call_id, passcode, secret, web_link, synced_at)
                 VALUES ('Ann@cms.example.com', 'u1', 'Ann', 'ann@example.com', 's1', 'Ann''s space', 'ann.space', '100200300', '4321',
                         's3cr3tGuestAccess', 'https://join.example.com/meeting/100200300?secret=s3cr3tGuestAccess', '2026-01-01T00:00:00Z')",
            )
            .await;
            assert_eq!(cal.users(&key).await.unwrap(), vec![ann()]);
            cal.replace_users(&cal.users(&key).await.unwrap(), &[], &key).await.unwrap();
            let raw = strings(&store, "SELECT passcode FROM calendar_users").await.concat();
            assert!(raw.starts_with("v1."), "{raw}");
        }

        async fn a_jid_or_mailbox_in_another_case_is_the_same_user(store) {
            let cal = CalendarStore::new(store.clone());
            let key = key();
            cal.replace_users(&[ann()], &[], &key).await.unwrap();
            assert_eq!(cal.user_by_mailbox("ANN@Example.COM", &key).await.unwrap(), Some(ann()), "the organiser's mailbox in any case");
            let renamed = CalendarUser { jid: "ann@CMS.example.com".into(), name: "Ann B".into(), ..ann() };
            cal.replace_users(&[renamed], &[], &key).await.unwrap();
            let users = cal.users(&key).await.unwrap();
            assert_eq!(users.len(), 1, "updated, not added: {users:?}");
            assert_eq!((users[0].jid.as_str(), users[0].name.as_str()), ("Ann@cms.example.com", "Ann B"), "the JID as first stored");
            assert_eq!(users[0].passcode.as_deref(), Some("4321"), "sealed for the JID in any case, it opens");
            let bob = CalendarUser { jid: "bob@cms.example.com".into(), mailbox: "bob@example.com".into(), ..ann() };
            cal.replace_users(std::slice::from_ref(&bob), &["ANN@cms.EXAMPLE.com".into()], &key).await.unwrap();
            assert_eq!(cal.users(&key).await.unwrap(), vec![bob], "a gone JID in another case is deleted");
        }

        async fn users_come_back_ordered_by_jid_whatever_its_case(store) {
            let cal = CalendarStore::new(store.clone());
            let key = key();
            let u = |jid: &str| CalendarUser { jid: jid.into(), mailbox: format!("{jid}.mail"), ..ann() };
            cal.replace_users(&[u("carl@cms"), u("Bob@cms"), u("al@cms")], &[], &key).await.unwrap();
            let jids: Vec<String> = cal.users(&key).await.unwrap().into_iter().map(|u| u.jid).collect();
            assert_eq!(jids, ["al@cms", "Bob@cms", "carl@cms"]);
        }
    }
}
