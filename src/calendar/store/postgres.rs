//! The calendar's tables on PostgreSQL: `$n` placeholders, times as TIMESTAMPTZ. Where SQLite's
//! JID and mailbox columns are `COLLATE NOCASE`, these compare `lower(col) = lower($1)` and
//! upserts name the `lower()` unique indexes, so a JID in another case is the same user.

use super::{CalendarRepo, LogLine, RunCounts, USER_COLUMNS};
use crate::calendar::model::CalendarUser;
use crate::model::calendar::{CalendarLogEntry, LogAction, SyncRunView, SyncStatus};
use crate::store::StoreError;
use sqlx::PgPool;
use time::OffsetDateTime;

pub(crate) struct PgCalendar(pub(crate) PgPool);

#[async_trait::async_trait]
impl CalendarRepo for PgCalendar {
    async fn log(&self, l: &LogLine<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO calendar_log (at, mailbox, item_id, subject, action, detail, latency_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(OffsetDateTime::now_utc())
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
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM calendar_log WHERE item_id = $1 AND action = $2 AND at >= $3 LIMIT 1")
            .bind(item_id)
            .bind(LogAction::Failed)
            .bind(since)
            .fetch_optional(&self.0)
            .await?;
        Ok(id.is_some())
    }

    async fn log_target(&self, log_id: i64) -> Result<Option<(String, String)>, StoreError> {
        Ok(sqlx::query_as("SELECT mailbox, item_id FROM calendar_log WHERE id = $1").bind(log_id).fetch_optional(&self.0).await?)
    }

    async fn log_entries(&self, limit: i64) -> Result<Vec<CalendarLogEntry>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, at, mailbox, item_id, subject, action, detail, latency_ms FROM calendar_log ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.0)
        .await?)
    }

    async fn start_run(&self, trigger: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("INSERT INTO calendar_sync_runs (started_at, trigger, status) VALUES ($1, $2, $3) RETURNING id")
            .bind(OffsetDateTime::now_utc())
            .bind(trigger)
            .bind(SyncStatus::Running)
            .fetch_one(&self.0)
            .await?)
    }

    async fn finish_run(&self, run_id: i64, r: &RunCounts) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE calendar_sync_runs SET finished_at = $1, status = $2, users = $3, added = $4, changed = $5, gone = $6, no_space = $7, diff = $8 WHERE id = $9",
        )
        .bind(OffsetDateTime::now_utc())
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
        sqlx::query("UPDATE calendar_sync_runs SET finished_at = $1, status = $2, error = $3 WHERE id = $4")
            .bind(OffsetDateTime::now_utc())
            .bind(SyncStatus::Failed)
            .bind(error)
            .bind(run_id)
            .execute(&self.0)
            .await?;
        Ok(())
    }

    async fn runs(&self, limit: i64) -> Result<Vec<SyncRunView>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, started_at, finished_at, trigger, status, users, added, changed, gone, no_space, error FROM calendar_sync_runs ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.0)
        .await?)
    }

    async fn last_done_diff(&self) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT diff FROM calendar_sync_runs WHERE status = $1 ORDER BY id DESC LIMIT 1")
            .bind(SyncStatus::Done)
            .fetch_optional(&self.0)
            .await?)
    }

    async fn users(&self) -> Result<Vec<CalendarUser>, StoreError> {
        Ok(sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM calendar_users ORDER BY lower(jid), jid")).fetch_all(&self.0).await?)
    }

    async fn user_by_mailbox(&self, mailbox: &str) -> Result<Option<CalendarUser>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM calendar_users WHERE lower(mailbox) = lower($1) ORDER BY lower(jid) LIMIT 1"
        ))
        .bind(mailbox)
        .fetch_optional(&self.0)
        .await?)
    }

    async fn replace_users(&self, fresh: &[CalendarUser], gone: &[String]) -> Result<(), StoreError> {
        let now = OffsetDateTime::now_utc();
        let mut tx = self.0.begin().await?;
        for u in fresh {
            sqlx::query(
                "INSERT INTO calendar_users (jid, cms_id, name, mailbox, space_id, space_name, uri, secondary_uri, call_id, passcode, secret, web_link, synced_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                 ON CONFLICT ((lower(jid))) DO UPDATE SET cms_id = excluded.cms_id, name = excluded.name, mailbox = excluded.mailbox, space_id = excluded.space_id,
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
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        for jid in gone {
            sqlx::query("DELETE FROM calendar_users WHERE lower(jid) = lower($1)").bind(jid).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn sync_state(&self, mailbox: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT state FROM calendar_sync_state WHERE lower(mailbox) = lower($1)")
            .bind(mailbox)
            .fetch_optional(&self.0)
            .await?)
    }

    async fn save_sync_state(&self, mailbox: &str, state: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO calendar_sync_state (mailbox, state, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT ((lower(mailbox))) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
        )
        .bind(mailbox)
        .bind(state)
        .bind(OffsetDateTime::now_utc())
        .execute(&self.0)
        .await?;
        Ok(())
    }

    async fn delta_link(&self, mailbox: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT delta_link FROM calendar_graph_delta WHERE mailbox = $1")
            .bind(mailbox)
            .fetch_optional(&self.0)
            .await?)
    }

    async fn save_delta_link(&self, mailbox: &str, link: Option<&str>) -> Result<(), StoreError> {
        match link {
            Some(l) => {
                sqlx::query(
                    "INSERT INTO calendar_graph_delta (mailbox, delta_link, updated_at) VALUES ($1, $2, $3)
                     ON CONFLICT(mailbox) DO UPDATE SET delta_link = excluded.delta_link, updated_at = excluded.updated_at",
                )
                .bind(mailbox)
                .bind(l)
                .bind(OffsetDateTime::now_utc())
                .execute(&self.0)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM calendar_graph_delta WHERE mailbox = $1").bind(mailbox).execute(&self.0).await?;
            }
        }
        Ok(())
    }

    async fn subscription(&self, mailbox: &str) -> Result<Option<(String, OffsetDateTime)>, StoreError> {
        Ok(sqlx::query_as("SELECT subscription_id, expires_at FROM calendar_graph_subscriptions WHERE mailbox = $1")
            .bind(mailbox)
            .fetch_optional(&self.0)
            .await?)
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
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT(mailbox) DO UPDATE SET subscription_id = excluded.subscription_id,
               client_state = excluded.client_state, expires_at = excluded.expires_at, updated_at = excluded.updated_at",
        )
        .bind(mailbox)
        .bind(id)
        .bind(client_state_digest)
        .bind(expires)
        .bind(OffsetDateTime::now_utc())
        .execute(&self.0)
        .await?;
        Ok(())
    }

    async fn renewed_subscription(&self, mailbox: &str, expires: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query("UPDATE calendar_graph_subscriptions SET expires_at = $1, updated_at = $2 WHERE mailbox = $3")
            .bind(expires)
            .bind(OffsetDateTime::now_utc())
            .bind(mailbox)
            .execute(&self.0)
            .await?;
        Ok(())
    }

    async fn subscriptions(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        Ok(sqlx::query_as("SELECT subscription_id, mailbox, client_state FROM calendar_graph_subscriptions").fetch_all(&self.0).await?)
    }
}
