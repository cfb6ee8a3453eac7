//! The calendar's tables on SQLite: `?` placeholders, times as RFC 3339 text. JIDs and mailboxes
//! compare case-insensitively through the columns' `COLLATE NOCASE`.

use super::{CalendarRepo, LogLine, RunCounts, USER_COLUMNS};
use crate::calendar::model::CalendarUser;
use crate::model::calendar::{CalendarLogEntry, LogAction, SyncRunView, SyncStatus};
use crate::store::{now_text, time_text, StoreError};
use sqlx::SqlitePool;
use time::OffsetDateTime;

pub(crate) struct SqliteCalendar(pub(crate) SqlitePool);

#[async_trait::async_trait]
impl CalendarRepo for SqliteCalendar {
    async fn log(&self, l: &LogLine<'_>) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO calendar_log (at, mailbox, item_id, subject, action, detail, latency_ms) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .bind(now_text())
            .bind(l.mailbox)
            .bind(l.item_id)
            .bind(l.subject)
            .bind(l.action)
            .bind(l.detail)
            .bind(l.latency_ms)
            .execute(&self.0)
            .await?;
        Ok(())
    }

    async fn failed_since(&self, item_id: &str, since: OffsetDateTime) -> Result<bool, StoreError> {
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM calendar_log WHERE item_id = ? AND action = ? AND at >= ? LIMIT 1")
            .bind(item_id)
            .bind(LogAction::Failed)
            .bind(time_text(since))
            .fetch_optional(&self.0)
            .await?;
        Ok(id.is_some())
    }

    async fn log_target(&self, log_id: i64) -> Result<Option<(String, String)>, StoreError> {
        Ok(sqlx::query_as("SELECT mailbox, item_id FROM calendar_log WHERE id = ?").bind(log_id).fetch_optional(&self.0).await?)
    }

    async fn log_entries(&self, limit: i64) -> Result<Vec<CalendarLogEntry>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, at, mailbox, item_id, subject, action, detail, latency_ms FROM calendar_log ORDER BY id DESC LIMIT ?",
        )
        .bind(limit)
        .fetch_all(&self.0)
        .await?)
    }

    async fn start_run(&self, trigger: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("INSERT INTO calendar_sync_runs (started_at, trigger, status) VALUES (?, ?, ?) RETURNING id")
            .bind(now_text())
            .bind(trigger)
            .bind(SyncStatus::Running)
            .fetch_one(&self.0)
            .await?)
    }

    async fn finish_run(&self, run_id: i64, r: &RunCounts) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE calendar_sync_runs SET finished_at = ?, status = ?, users = ?, added = ?, changed = ?, gone = ?, no_space = ?, diff = ? WHERE id = ?",
        )
        .bind(now_text())
        .bind(SyncStatus::Done)
        .bind(r.users)
        .bind(r.added)
        .bind(r.changed)
        .bind(r.gone)
        .bind(r.no_space)
        .bind(&r.diff)
        .bind(run_id)
        .execute(&self.0)
        .await?;
        Ok(())
    }

    async fn fail_run(&self, run_id: i64, error: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE calendar_sync_runs SET finished_at = ?, status = ?, error = ? WHERE id = ?")
            .bind(now_text())
            .bind(SyncStatus::Failed)
            .bind(error)
            .bind(run_id)
            .execute(&self.0)
            .await?;
        Ok(())
    }

    async fn runs(&self, limit: i64) -> Result<Vec<SyncRunView>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, started_at, finished_at, trigger, status, users, added, changed, gone, no_space, error FROM calendar_sync_runs ORDER BY id DESC LIMIT ?",
        )
        .bind(limit)
        .fetch_all(&self.0)
        .await?)
    }

    async fn last_done_diff(&self) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT diff FROM calendar_sync_runs WHERE status = ? ORDER BY id DESC LIMIT 1")
            .bind(SyncStatus::Done)
            .fetch_optional(&self.0)
            .await?)
    }

    async fn users(&self) -> Result<Vec<CalendarUser>, StoreError> {
        Ok(sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM calendar_users ORDER BY jid")).fetch_all(&self.0).await?)
    }

    async fn user_by_mailbox(&self, mailbox: &str) -> Result<Option<CalendarUser>, StoreError> {
        Ok(sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM calendar_users WHERE mailbox = ?"))
            .bind(mailbox)
            .fetch_optional(&self.0)
            .await?)
    }

    async fn replace_users(&self, fresh: &[CalendarUser], gone: &[String]) -> Result<(), StoreError> {
        let now = now_text();
        // Takes the write lock at once (a deferred transaction could not upgrade to a write
        // after another connection committed in between).
        let mut tx = self.0.begin_with("BEGIN IMMEDIATE").await?;
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
            .bind(&u.passcode)
            .bind(&u.secret)
            .bind(&u.web_link)
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

    async fn sync_state(&self, mailbox: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT state FROM calendar_sync_state WHERE mailbox = ?").bind(mailbox).fetch_optional(&self.0).await?)
    }

    async fn save_sync_state(&self, mailbox: &str, state: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO calendar_sync_state (mailbox, state, updated_at) VALUES (?, ?, ?)
             ON CONFLICT(mailbox) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
        )
        .bind(mailbox)
        .bind(state)
        .bind(now_text())
        .execute(&self.0)
        .await?;
        Ok(())
    }

    async fn delta_link(&self, mailbox: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT delta_link FROM calendar_graph_delta WHERE mailbox = ?")
            .bind(mailbox)
            .fetch_optional(&self.0)
            .await?)
    }

    async fn save_delta_link(&self, mailbox: &str, link: Option<&str>) -> Result<(), StoreError> {
        match link {
            Some(l) => {
                sqlx::query(
                    "INSERT INTO calendar_graph_delta (mailbox, delta_link, updated_at) VALUES (?, ?, ?)
                     ON CONFLICT(mailbox) DO UPDATE SET delta_link = excluded.delta_link, updated_at = excluded.updated_at",
                )
                .bind(mailbox)
                .bind(l)
                .bind(now_text())
                .execute(&self.0)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM calendar_graph_delta WHERE mailbox = ?").bind(mailbox).execute(&self.0).await?;
            }
        }
        Ok(())
    }

    async fn subscription(&self, mailbox: &str) -> Result<Option<(String, OffsetDateTime)>, StoreError> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT subscription_id, expires_at FROM calendar_graph_subscriptions WHERE mailbox = ?")
                .bind(mailbox)
                .fetch_optional(&self.0)
                .await?;
        Ok(row.and_then(|(id, at)| OffsetDateTime::parse(&at, &time::format_description::well_known::Rfc3339).ok().map(|t| (id, t))))
    }

    async fn save_subscription(
        &self,
        mailbox: &str,
        id: &str,
        client_state_digest: &str,
        expires: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO calendar_graph_subscriptions (mailbox, subscription_id, client_state, expires_at, updated_at)
             VALUES (?, ?, ?, ?, ?)
             ON CONFLICT(mailbox) DO UPDATE SET subscription_id = excluded.subscription_id,
               client_state = excluded.client_state, expires_at = excluded.expires_at, updated_at = excluded.updated_at",
        )
        .bind(mailbox)
        .bind(id)
        .bind(client_state_digest)
        .bind(time_text(expires))
        .bind(now_text())
        .execute(&self.0)
        .await?;
        Ok(())
    }

    async fn renewed_subscription(&self, mailbox: &str, expires: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query("UPDATE calendar_graph_subscriptions SET expires_at = ?, updated_at = ? WHERE mailbox = ?")
            .bind(time_text(expires))
            .bind(now_text())
            .bind(mailbox)
            .execute(&self.0)
            .await?;
        Ok(())
    }

    async fn subscriptions(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        Ok(sqlx::query_as("SELECT subscription_id, mailbox, client_state FROM calendar_graph_subscriptions").fetch_all(&self.0).await?)
    }
}
