//! The directory on PostgreSQL: `$n` placeholders, TIMESTAMPTZ times, `ILIKE` and `lower()` where
//! SQLite's LIKE and NOCASE ignore case. `upsert_internal` runs inside the spaces' steps too.

use super::super::Responder;
use super::DirectoryRepo;
use crate::model::incident::{DirectoryPerson, ExternalResponder};
use crate::store::StoreError;
use sqlx::PgPool;
use time::OffsetDateTime;

pub(crate) struct PgDirectory(pub(crate) PgPool);

#[async_trait::async_trait]
impl DirectoryRepo for PgDirectory {
    async fn replace_directory(&self, people: &[DirectoryPerson]) -> Result<(), StoreError> {
        let now = OffsetDateTime::now_utc();
        let mut tx = self.0.begin().await?;
        for p in people {
            sqlx::query(
                "INSERT INTO webex_directory (person_id, display_name, email, sms_number, voice_number, refreshed_at) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (person_id) DO UPDATE SET display_name = excluded.display_name, email = excluded.email,
                   sms_number = excluded.sms_number, voice_number = excluded.voice_number, refreshed_at = excluded.refreshed_at",
            )
            .bind(&p.person_id)
            .bind(&p.display_name)
            .bind(&p.email)
            .bind(&p.sms_number)
            .bind(&p.voice_number)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        // People no longer in the org drop out of the cache.
        sqlx::query("DELETE FROM webex_directory WHERE refreshed_at <> $1").bind(now).execute(&mut *tx).await?;
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
             WHERE display_name ILIKE $1 ESCAPE '\\' OR email ILIKE $1 ESCAPE '\\' ORDER BY lower(display_name) LIMIT $2",
        )
        .bind(like)
        .bind(limit)
        .fetch_all(&self.0)
        .await?)
    }

    async fn directory_person(&self, person_id: &str) -> Result<Option<DirectoryPerson>, StoreError> {
        Ok(sqlx::query_as("SELECT person_id, display_name, email, sms_number, voice_number FROM webex_directory WHERE person_id = $1")
            .bind(person_id)
            .fetch_optional(&self.0)
            .await?)
    }

    async fn responders(&self, ids: &[i64]) -> Result<Vec<Responder>, StoreError> {
        Ok(sqlx::query_as("SELECT id, person_id, name, email, sms_number, voice_number FROM responders WHERE id = ANY($1)")
            .bind(ids)
            .fetch_all(&self.0)
            .await?)
    }

    async fn externals(&self) -> Result<Vec<ExternalResponder>, StoreError> {
        Ok(sqlx::query_as("SELECT id, name, email, sms_number, voice_number FROM responders WHERE person_id IS NULL ORDER BY lower(name)")
            .fetch_all(&self.0)
            .await?)
    }

    async fn insert_external(&self, e: &ExternalResponder) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO responders (person_id, name, email, sms_number, voice_number, created_at, updated_at) VALUES (NULL, $1, $2, $3, $4, $5, $5) RETURNING id",
        )
        .bind(&e.name)
        .bind(&e.email)
        .bind(&e.sms_number)
        .bind(&e.voice_number)
        .bind(OffsetDateTime::now_utc())
        .fetch_one(&self.0)
        .await?)
    }

    async fn update_external(&self, e: &ExternalResponder) -> Result<bool, StoreError> {
        let mut tx = self.0.begin().await?;
        let r = sqlx::query(
            "UPDATE responders SET name = $1, email = $2, sms_number = $3, voice_number = $4, updated_at = $5 WHERE id = $6 AND person_id IS NULL",
        )
        .bind(&e.name)
        .bind(&e.email)
        .bind(&e.sms_number)
        .bind(&e.voice_number)
        .bind(OffsetDateTime::now_utc())
        .bind(e.id)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() != 1 {
            return Ok(false);
        }
        crate::incident::statements::postgres::keep_channels_with_numbers(&mut tx, e.id, e.sms_number.is_some(), e.voice_number.is_some())
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn delete_external(&self, id: i64) -> Result<bool, StoreError> {
        let r = sqlx::query("DELETE FROM responders WHERE id = $1 AND person_id IS NULL").bind(id).execute(&self.0).await?;
        Ok(r.rows_affected() == 1)
    }
}
