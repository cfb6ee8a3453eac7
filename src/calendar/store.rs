//! All of the calendar's SQL, behind typed methods: the log of what was done to meetings, the
//! synced CMS users and the sync runs, the EWS SyncStates, the Graph delta links and the Graph
//! change-notification subscriptions (only a clientState's SHA-256 is kept, never the secret).
//! A user's passcode, space secret and web link (which carries the secret) are sealed with the
//! vault key ([`SecretBox`]) per user: the database file alone does not give anyone a way in.

use super::model::{CalendarUser, SyncReport};
use super::templates::JoinTemplates;
use crate::model::calendar::{CalendarLogEntry, DiffLine, LogAction, SyncRunView, SyncStatus};
use crate::secret::SecretBox;
use crate::store::{now_text, time_text, Store, StoreError};
use sha2::{Digest, Sha256};
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

#[derive(Clone)]
pub struct CalendarStore {
    store: Store,
}

impl CalendarStore {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    // --- the log ---

    pub async fn log(&self, l: LogLine<'_>) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO calendar_log (at, mailbox, item_id, subject, action, detail, latency_ms) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .bind(now_text())
            .bind(l.mailbox)
            .bind(l.item_id)
            .bind(l.subject)
            .bind(l.action)
            .bind(l.detail)
            .bind(l.latency_ms)
            .execute(self.store.pool())
            .await?;
        Ok(())
    }

    /// Whether a failure of this item was logged in the last `within` (it is logged once).
    pub async fn failed_lately(&self, item_id: &str, within: time::Duration) -> Result<bool, StoreError> {
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM calendar_log WHERE item_id = ? AND action = ? AND at >= ? LIMIT 1")
            .bind(item_id)
            .bind(LogAction::Failed)
            .bind(time_text(OffsetDateTime::now_utc() - within))
            .fetch_optional(self.store.pool())
            .await?;
        Ok(id.is_some())
    }

    /// The meeting (mailbox, item id) a log entry is about.
    pub async fn log_target(&self, log_id: i64) -> Result<Option<(String, String)>, StoreError> {
        Ok(sqlx::query_as("SELECT mailbox, item_id FROM calendar_log WHERE id = ?").bind(log_id).fetch_optional(self.store.pool()).await?)
    }

    /// The newest log entries, newest first.
    pub async fn log_entries(&self, limit: i64) -> Result<Vec<CalendarLogEntry>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, at, mailbox, item_id, subject, action, detail, latency_ms FROM calendar_log ORDER BY id DESC LIMIT ?",
        )
        .bind(limit)
        .fetch_all(self.store.pool())
        .await?)
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
        Ok(sqlx::query_scalar("INSERT INTO calendar_sync_runs (started_at, trigger, status) VALUES (?, ?, ?) RETURNING id")
            .bind(now_text())
            .bind(trigger)
            .bind(SyncStatus::Running)
            .fetch_one(self.store.pool())
            .await?)
    }

    pub async fn finish_run(&self, run_id: i64, r: &SyncReport) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE calendar_sync_runs SET finished_at = ?, status = ?, users = ?, added = ?, changed = ?, gone = ?, no_space = ?, diff = ? WHERE id = ?",
        )
        .bind(now_text())
        .bind(SyncStatus::Done)
        .bind(r.users as i64)
        .bind(r.added as i64)
        .bind(r.changed as i64)
        .bind(r.gone as i64)
        .bind(r.no_space as i64)
        .bind(serde_json::to_string(&r.diff).unwrap_or_else(|_| "[]".into()))
        .bind(run_id)
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    pub async fn fail_run(&self, run_id: i64, error: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE calendar_sync_runs SET finished_at = ?, status = ?, error = ? WHERE id = ?")
            .bind(now_text())
            .bind(SyncStatus::Failed)
            .bind(error)
            .bind(run_id)
            .execute(self.store.pool())
            .await?;
        Ok(())
    }

    /// The newest runs, newest first, and the diff of the newest finished one.
    pub async fn runs(&self, limit: i64) -> Result<(Vec<SyncRunView>, Vec<DiffLine>), StoreError> {
        let runs = sqlx::query_as(
            "SELECT id, started_at, finished_at, trigger, status, users, added, changed, gone, no_space, error FROM calendar_sync_runs ORDER BY id DESC LIMIT ?",
        )
        .bind(limit)
        .fetch_all(self.store.pool())
        .await?;
        let diff: Option<String> = sqlx::query_scalar("SELECT diff FROM calendar_sync_runs WHERE status = ? ORDER BY id DESC LIMIT 1")
            .bind(SyncStatus::Done)
            .fetch_optional(self.store.pool())
            .await?;
        Ok((runs, diff.and_then(|d| serde_json::from_str(&d).ok()).unwrap_or_default()))
    }

    pub async fn users(&self, secrets: &SecretBox) -> Result<Vec<CalendarUser>, StoreError> {
        let rows: Vec<CalendarUser> =
            sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM calendar_users ORDER BY jid")).fetch_all(self.store.pool()).await?;
        rows.into_iter().map(|u| opened(secrets, u)).collect()
    }

    /// The user whose mailbox this is (the organiser of a meeting).
    pub async fn user_by_mailbox(&self, mailbox: &str, secrets: &SecretBox) -> Result<Option<CalendarUser>, StoreError> {
        let row: Option<CalendarUser> = sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM calendar_users WHERE mailbox = ?"))
            .bind(mailbox)
            .fetch_optional(self.store.pool())
            .await?;
        row.map(|u| opened(secrets, u)).transpose()
    }

    /// In one transaction: `fresh` stored (added or updated, secrets sealed), `gone` (JIDs) deleted.
    pub async fn replace_users(&self, fresh: &[CalendarUser], gone: &[String], secrets: &SecretBox) -> Result<(), StoreError> {
        let now = now_text();
        let mut tx = self.store.write_tx().await?;
        for u in fresh {
            sqlx::query(
                "INSERT INTO calendar_users (jid, cms_id, name, mailbox, space_id, space_name, uri, secondary_uri, call_id, passcode, secret, web_link, synced_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT(jid) DO UPDATE SET cms_id = excluded.cms_id, name = excluded.name, mailbox = excluded.mailbox, space_id = excluded.space_id,
                   space_name = excluded.space_name, uri = excluded.uri, secondary_uri = excluded.secondary_uri, call_id = excluded.call_id,
                   passcode = excluded.passcode, secret = excluded.secret, web_link = excluded.web_link, synced_at = excluded.synced_at",
            )
            .bind(&u.jid)
            .bind(&u.cms_id)
            .bind(&u.name)
            .bind(&u.mailbox)
            .bind(&u.space_id)
            .bind(&u.space_name)
            .bind(&u.uri)
            .bind(&u.secondary_uri)
            .bind(&u.call_id)
            .bind(seal(secrets, "passcode", &u.jid, &u.passcode))
            .bind(seal(secrets, "secret", &u.jid, &u.secret))
            .bind(seal(secrets, "web_link", &u.jid, &u.web_link))
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        }
        for jid in gone {
            sqlx::query("DELETE FROM calendar_users WHERE jid = ?").bind(jid).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    // --- EWS SyncStates ---

    pub async fn sync_state(&self, mailbox: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT state FROM calendar_sync_state WHERE mailbox = ?")
            .bind(mailbox)
            .fetch_optional(self.store.pool())
            .await?)
    }

    pub async fn save_sync_state(&self, mailbox: &str, state: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO calendar_sync_state (mailbox, state, updated_at) VALUES (?, ?, ?)
             ON CONFLICT(mailbox) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
        )
        .bind(mailbox)
        .bind(state)
        .bind(now_text())
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    // --- Graph delta links ---

    pub async fn delta_link(&self, mailbox: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT delta_link FROM calendar_graph_delta WHERE mailbox = ?")
            .bind(mailbox)
            .fetch_optional(self.store.pool())
            .await?)
    }

    /// Keeps `link` for the mailbox; `None` forgets it (the next round reads the window again).
    pub async fn save_delta_link(&self, mailbox: &str, link: Option<&str>) -> Result<(), StoreError> {
        match link {
            Some(l) => {
                sqlx::query(
                    "INSERT INTO calendar_graph_delta (mailbox, delta_link, updated_at) VALUES (?, ?, ?)
                     ON CONFLICT(mailbox) DO UPDATE SET delta_link = excluded.delta_link, updated_at = excluded.updated_at",
                )
                .bind(mailbox)
                .bind(l)
                .bind(now_text())
                .execute(self.store.pool())
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM calendar_graph_delta WHERE mailbox = ?").bind(mailbox).execute(self.store.pool()).await?;
            }
        }
        Ok(())
    }

    // --- Graph change-notification subscriptions ---

    /// The mailbox's subscription: its id and expiry.
    pub async fn subscription(&self, mailbox: &str) -> Result<Option<(String, OffsetDateTime)>, StoreError> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT subscription_id, expires_at FROM calendar_graph_subscriptions WHERE mailbox = ?")
                .bind(mailbox)
                .fetch_optional(self.store.pool())
                .await?;
        Ok(row.and_then(|(id, at)| OffsetDateTime::parse(&at, &time::format_description::well_known::Rfc3339).ok().map(|t| (id, t))))
    }

    /// A new subscription (its clientState's hash stored in place of any before).
    pub async fn save_subscription(&self, mailbox: &str, id: &str, client_state: &str, expires: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO calendar_graph_subscriptions (mailbox, subscription_id, client_state, expires_at, updated_at)
             VALUES (?, ?, ?, ?, ?)
             ON CONFLICT(mailbox) DO UPDATE SET subscription_id = excluded.subscription_id,
               client_state = excluded.client_state, expires_at = excluded.expires_at, updated_at = excluded.updated_at",
        )
        .bind(mailbox)
        .bind(id)
        .bind(digest(client_state))
        .bind(time_text(expires))
        .bind(now_text())
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    /// A renewal: the new expiry.
    pub async fn renewed_subscription(&self, mailbox: &str, expires: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query("UPDATE calendar_graph_subscriptions SET expires_at = ?, updated_at = ? WHERE mailbox = ?")
            .bind(time_text(expires))
            .bind(now_text())
            .bind(mailbox)
            .execute(self.store.pool())
            .await?;
        Ok(())
    }

    /// Every subscription, for the in-memory check of notifications.
    pub async fn subscriptions(&self) -> Result<Vec<KnownSubscription>, StoreError> {
        let rows: Vec<(String, String, String)> =
            sqlx::query_as("SELECT subscription_id, mailbox, client_state FROM calendar_graph_subscriptions")
                .fetch_all(self.store.pool())
                .await?;
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
    use crate::model::calendar::DiffKind;
    use crate::store::{assert_round_trips, test_store};

    #[tokio::test]
    async fn the_calendars_closed_sets_round_trip_through_sqlite_as_their_stable_strings() {
        let (store, _dir) = test_store().await;
        assert_round_trips(&store, LogAction::ALL).await;
        assert_round_trips(&store, SyncStatus::ALL).await;
        assert_round_trips(&store, DiffKind::ALL).await;
    }

    #[tokio::test]
    async fn rows_written_with_todays_strings_read_back_as_their_variants() {
        let (store, _dir) = test_store().await;
        let cal = CalendarStore::new(store.clone());
        for a in LogAction::ALL {
            cal.log(LogLine { mailbox: "ann@example.com", item_id: "I1", subject: "s", action: *a, detail: "d", latency_ms: None })
                .await
                .unwrap();
        }
        let stored: Vec<String> = sqlx::query_scalar("SELECT action FROM calendar_log ORDER BY id").fetch_all(store.pool()).await.unwrap();
        assert_eq!(stored, ["inserted", "replaced", "removed", "left alone", "dry run", "failed"]);
        let read: Vec<LogAction> = cal.log_entries(10).await.unwrap().into_iter().rev().map(|e| e.action).collect();
        assert_eq!(read, LogAction::ALL);
        assert!(cal.failed_lately("I1", time::Duration::seconds(5)).await.unwrap());

        let run = cal.start_run("test").await.unwrap();
        let diff = DiffKind::ALL.iter().map(|k| DiffLine { jid: format!("{k}@cms"), what: *k }).collect();
        cal.finish_run(run, &SyncReport { diff, ..SyncReport::default() }).await.unwrap();
        let raw: String = sqlx::query_scalar("SELECT diff FROM calendar_sync_runs").fetch_one(store.pool()).await.unwrap();
        assert!(raw.contains("\"what\":\"no space\"") && raw.contains("\"what\":\"added\""), "{raw}");
        let (runs, last) = cal.runs(5).await.unwrap();
        assert_eq!(runs[0].status, SyncStatus::Done);
        assert_eq!(last.iter().map(|d| d.what).collect::<Vec<_>>(), DiffKind::ALL);
        let failed = cal.start_run("test").await.unwrap();
        cal.fail_run(failed, "CMS down").await.unwrap();
        let (runs, _) = cal.runs(5).await.unwrap();
        assert_eq!(runs[0].status, SyncStatus::Failed);
        let running = cal.start_run("test").await.unwrap();
        let status: String =
            sqlx::query_scalar("SELECT status FROM calendar_sync_runs WHERE id = ?").bind(running).fetch_one(store.pool()).await.unwrap();
        assert_eq!(status, "running");
    }
}

#[cfg(test)]
mod sealing_tests {
    use super::*;
    use crate::store::test_store;

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

    #[tokio::test]
    async fn passcodes_and_space_secrets_are_sealed_in_the_database_and_read_back_in_clear() {
        let (store, _dir) = test_store().await;
        let cal = CalendarStore::new(store.clone());
        let key = SecretBox::from_base64(&SecretBox::generate_key()).unwrap();
        cal.replace_users(&[ann()], &[], &key).await.unwrap();
        let (passcode, secret, link): (String, String, String) =
            sqlx::query_as("SELECT passcode, secret, web_link FROM calendar_users").fetch_one(store.pool()).await.unwrap();
        for raw in [&passcode, &secret, &link] {
            assert!(raw.starts_with("v1.") && !raw.contains("4321") && !raw.contains("s3cr3t"), "sealed: {raw}");
        }
        assert_eq!(cal.users(&key).await.unwrap(), vec![ann()]);
        assert_eq!(cal.user_by_mailbox("ann@example.com", &key).await.unwrap(), Some(ann()));

        // Another key cannot open them: a clear error, not garbage join details.
        let other = SecretBox::from_base64(&SecretBox::generate_key()).unwrap();
        let err = cal.users(&other).await.unwrap_err().to_string();
        assert!(err.contains("calendar_users.passcode") && err.contains("cannot be opened"), "{err}");

        // A value moved to another column does not open there.
        sqlx::query("UPDATE calendar_users SET secret = passcode").execute(store.pool()).await.unwrap();
        assert!(cal.users(&key).await.is_err());
    }

    #[tokio::test]
    async fn values_stored_in_clear_before_sealing_still_read_and_the_next_sync_seals_them() {
        let (store, _dir) = test_store().await;
        let cal = CalendarStore::new(store.clone());
        let key = SecretBox::from_base64(&SecretBox::generate_key()).unwrap();
        sqlx::query(
            "INSERT INTO calendar_users (jid, cms_id, name, mailbox, space_id, space_name, uri, call_id, passcode, secret, web_link, synced_at)
             VALUES ('Ann@cms.example.com', 'u1', 'Ann', 'ann@example.com', 's1', 'Ann''s space', 'ann.space', '100200300', '4321',
                     's3cr3tGuestAccess', 'https://join.example.com/meeting/100200300?secret=s3cr3tGuestAccess', '2026-01-01T00:00:00Z')",
        )
        .execute(store.pool())
        .await
        .unwrap();
        assert_eq!(cal.users(&key).await.unwrap(), vec![ann()]);
        cal.replace_users(&cal.users(&key).await.unwrap(), &[], &key).await.unwrap();
        let raw: String = sqlx::query_scalar("SELECT passcode FROM calendar_users").fetch_one(store.pool()).await.unwrap();
        assert!(raw.starts_with("v1."), "{raw}");
    }
}
