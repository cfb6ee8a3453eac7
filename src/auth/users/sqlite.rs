//! Users on SQLite: `?` placeholders, times as RFC 3339 text; the `name` column is
//! `COLLATE NOCASE`, so `name = ?` already ignores case.

use super::{StoredUser, UserWithHash, UsersRepo};
use crate::model::Role;
use crate::store::now_text;
use sqlx::SqlitePool;

pub(crate) struct SqliteUsers(pub(crate) SqlitePool);

#[async_trait::async_trait]
impl UsersRepo for SqliteUsers {
    async fn insert(&self, name: &str, password_hash: &str, role: Role) -> Result<i64, sqlx::Error> {
        let r = sqlx::query("INSERT INTO users (name, password_hash, role, created_at) VALUES (?, ?, ?, ?)")
            .bind(name)
            .bind(password_hash)
            .bind(role.as_str())
            .bind(now_text())
            .execute(&self.0)
            .await?;
        Ok(r.last_insert_rowid())
    }

    async fn reset(&self, name: &str, password_hash: &str, role: Role) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE users SET password_hash = ?, role = ?, session_epoch = session_epoch + 1, disabled = 0 WHERE name = ?")
            .bind(password_hash)
            .bind(role.as_str())
            .bind(name)
            .execute(&self.0)
            .await?;
        Ok(())
    }

    async fn find(&self, name: &str) -> Result<Option<StoredUser>, sqlx::Error> {
        sqlx::query_as("SELECT id, name, role, session_epoch, disabled FROM users WHERE name = ?").bind(name).fetch_optional(&self.0).await
    }

    async fn find_with_hash(&self, name: &str) -> Result<Option<(StoredUser, String)>, sqlx::Error> {
        let row: Option<UserWithHash> =
            sqlx::query_as("SELECT id, name, role, session_epoch, disabled, password_hash FROM users WHERE name = ?")
                .bind(name)
                .fetch_optional(&self.0)
                .await?;
        Ok(row.map(|r| (r.user, r.password_hash)))
    }

    async fn disable(&self, name: &str) -> Result<bool, sqlx::Error> {
        let r = sqlx::query("UPDATE users SET disabled = 1, session_epoch = session_epoch + 1 WHERE name = ?")
            .bind(name)
            .execute(&self.0)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    async fn delete(&self, name: &str) -> Result<bool, sqlx::Error> {
        let r = sqlx::query("DELETE FROM users WHERE name = ?").bind(name).execute(&self.0).await?;
        Ok(r.rows_affected() > 0)
    }

    async fn count(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&self.0).await
    }
}
