//! Users on PostgreSQL: `$n` placeholders, times as TIMESTAMPTZ, BOOLEAN `disabled`. Names are
//! compared as `lower(name) = lower($n)`, which the unique index `users_name_lower` serves.

use super::{StoredUser, UserWithHash, UsersRepo};
use crate::model::Role;
use sqlx::PgPool;
use time::OffsetDateTime;

pub(crate) struct PgUsers(pub(crate) PgPool);

#[async_trait::async_trait]
impl UsersRepo for PgUsers {
    async fn insert(&self, name: &str, password_hash: &str, role: Role) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("INSERT INTO users (name, password_hash, role, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(name)
            .bind(password_hash)
            .bind(role.as_str())
            .bind(OffsetDateTime::now_utc())
            .fetch_one(&self.0)
            .await
    }

    async fn reset(&self, name: &str, password_hash: &str, role: Role) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE users SET password_hash = $1, role = $2, session_epoch = session_epoch + 1, disabled = FALSE
             WHERE lower(name) = lower($3)",
        )
        .bind(password_hash)
        .bind(role.as_str())
        .bind(name)
        .execute(&self.0)
        .await?;
        Ok(())
    }

    async fn find(&self, name: &str) -> Result<Option<StoredUser>, sqlx::Error> {
        sqlx::query_as("SELECT id, name, role, session_epoch, disabled FROM users WHERE lower(name) = lower($1)")
            .bind(name)
            .fetch_optional(&self.0)
            .await
    }

    async fn find_with_hash(&self, name: &str) -> Result<Option<(StoredUser, String)>, sqlx::Error> {
        let row: Option<UserWithHash> =
            sqlx::query_as("SELECT id, name, role, session_epoch, disabled, password_hash FROM users WHERE lower(name) = lower($1)")
                .bind(name)
                .fetch_optional(&self.0)
                .await?;
        Ok(row.map(|r| (r.user, r.password_hash)))
    }

    async fn disable(&self, name: &str) -> Result<bool, sqlx::Error> {
        let r = sqlx::query("UPDATE users SET disabled = TRUE, session_epoch = session_epoch + 1 WHERE lower(name) = lower($1)")
            .bind(name)
            .execute(&self.0)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    async fn delete(&self, name: &str) -> Result<bool, sqlx::Error> {
        let r = sqlx::query("DELETE FROM users WHERE lower(name) = lower($1)").bind(name).execute(&self.0).await?;
        Ok(r.rows_affected() > 0)
    }

    async fn count(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&self.0).await
    }
}
