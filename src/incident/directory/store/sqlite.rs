//! The directory on SQLite: the SQL it always had. `upsert_internal` runs inside the
//! transactions of the spaces' steps too.

use super::super::Responder;
use super::DirectoryRepo;
use crate::model::incident::{DirectoryPerson, ExternalResponder};
use crate::store::{now_text, StoreError};
use sqlx::SqlitePool;
use time::OffsetDateTime;

pub(crate) struct SqliteDirectory(pub(crate) SqlitePool);

#[async_trait::async_trait]
impl DirectoryRepo for SqliteDirectory {
    async fn replace_directory(&self, people: &[DirectoryPerson]) -> Result<(), StoreError> {
        let now = now_text();
        let mut tx = self.0.begin_with("BEGIN IMMEDIATE").await?;
        for p in people {
            sqlx::query(
                "INSERT INTO webex_directory (person_id, display_name, email, sms_number, voice_number, refreshed_at) VALUES (?, ?, ?, ?, ?, ?)
                 ON CONFLICT(person_id) DO UPDATE SET display_name = excluded.display_name, email = excluded.email,
                   sms_number = excluded.sms_number, voice_number = excluded.voice_number, refreshed_at = excluded.refreshed_at",
            )
            .bind(&p.person_id)
            .bind(&p.display_name)
            .bind(&p.email)
            .bind(&p.sms_number)
            .bind(&p.voice_number)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        }
        // People no longer in the org drop out of the cache.
        sqlx::query("DELETE FROM webex_directory WHERE refreshed_at <> ?").bind(&now).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn directory_state(&self) -> Result<(i64, Option<OffsetDateTime>), StoreError> {
        Ok(sqlx::query_as("SELECT COUNT(*), MAX(refreshed_at) FROM webex_directory").fetch_one(&self.0).await?)
    }

    async fn search_directory(&self, q: &str, limit: i64) -> Result<Vec<DirectoryPerson>, StoreError> {
        let like = format!("%{}%", q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        Ok(sqlx::query_as(
            "SELECT person_id, display_name, email, sms_number, voice_number FROM webex_directory
             WHERE display_name LIKE ?1 ESCAPE '\\' OR email LIKE ?1 ESCAPE '\\' ORDER BY display_name COLLATE NOCASE LIMIT ?2",
        )
        .bind(like)
        .bind(limit)
        .fetch_all(&self.0)
        .await?)
    }

    async fn directory_person(&self, person_id: &str) -> Result<Option<DirectoryPerson>, StoreError> {
        Ok(sqlx::query_as("SELECT person_id, display_name, email, sms_number, voice_number FROM webex_directory WHERE person_id = ?")
            .bind(person_id)
            .fetch_optional(&self.0)
            .await?)
    }

    async fn responders(&self, ids: &[i64]) -> Result<Vec<Responder>, StoreError> {
        let ids = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
        Ok(sqlx::query_as(
            "SELECT id, person_id, name, email, sms_number, voice_number FROM responders WHERE id IN (SELECT value FROM json_each(?))",
        )
        .bind(ids)
        .fetch_all(&self.0)
        .await?)
    }

    async fn externals(&self) -> Result<Vec<ExternalResponder>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, name, email, sms_number, voice_number FROM responders WHERE person_id IS NULL ORDER BY name COLLATE NOCASE",
        )
        .fetch_all(&self.0)
        .await?)
    }

    async fn insert_external(&self, e: &ExternalResponder) -> Result<i64, StoreError> {
        let now = now_text();
        Ok(sqlx::query_scalar(
            "INSERT INTO responders (person_id, name, email, sms_number, voice_number, created_at, updated_at) VALUES (NULL, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&e.name)
        .bind(&e.email)
        .bind(&e.sms_number)
        .bind(&e.voice_number)
        .bind(&now)
        .bind(&now)
        .fetch_one(&self.0)
        .await?)
    }

    async fn update_external(&self, e: &ExternalResponder) -> Result<bool, StoreError> {
        let mut tx = self.0.begin_with("BEGIN IMMEDIATE").await?;
        let r = sqlx::query("UPDATE responders SET name = ?, email = ?, sms_number = ?, voice_number = ?, updated_at = ? WHERE id = ? AND person_id IS NULL")
            .bind(&e.name)
            .bind(&e.email)
            .bind(&e.sms_number)
            .bind(&e.voice_number)
            .bind(now_text())
            .bind(e.id)
            .execute(&mut *tx)
            .await?;
        if r.rows_affected() != 1 {
            return Ok(false);
        }
        crate::incident::statements::sqlite::keep_channels_with_numbers(&mut tx, e.id, e.sms_number.is_some(), e.voice_number.is_some())
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn delete_external(&self, id: i64) -> Result<bool, StoreError> {
        let r = sqlx::query("DELETE FROM responders WHERE id = ? AND person_id IS NULL").bind(id).execute(&self.0).await?;
        Ok(r.rows_affected() == 1)
    }
}
