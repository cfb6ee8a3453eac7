//! Operator accounts: names, argon2id password hashes, roles.

use super::{hash_password, verify_password, PasswordError};
use crate::model::{Role, UserInfo};
use crate::store::{now_text, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("user '{0}' already exists")]
    Exists(String),
    #[error("user names are 1 to 64 letters, digits, '.', '_', '-' or '@'")]
    BadName,
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for UserError {
    fn from(e: sqlx::Error) -> Self {
        UserError::Store(e.into())
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredUser {
    pub id: i64,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    /// Moves on every password reset and disable: sessions carrying an older one are ended.
    pub session_epoch: i64,
    pub disabled: bool,
}

impl From<StoredUser> for UserInfo {
    fn from(u: StoredUser) -> Self {
        UserInfo { name: u.name, role: u.role, provider: crate::model::IdentityProvider::Local }
    }
}

/// 1 to 64 letters, digits, `.`, `_`, `-` or `@`: safe to log and to show.
pub fn valid_user_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

/// A real argon2id hash of a random password, so unknown users cost as much to check as known ones.
fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&uuid::Uuid::new_v4().to_string()).unwrap_or_default()).clone()
}

/// Why a sign-in could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Every password-check slot is taken; try again in a moment.
    #[error("too many sign-ins are being checked at once")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for AuthError {
    fn from(e: sqlx::Error) -> Self {
        AuthError::Store(e.into())
    }
}

/// The `users` table.
#[derive(Clone)]
pub struct Users {
    store: Store,
    /// Each argon2 check holds ~19 MiB on a blocking thread: at most 2 per core at once.
    checks: std::sync::Arc<tokio::sync::Semaphore>,
}

impl Users {
    pub fn new(store: Store) -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Self::with_check_slots(store, 2 * cores)
    }

    /// With `slots` password checks at once.
    pub fn with_check_slots(store: Store, slots: usize) -> Self {
        Self { store, checks: std::sync::Arc::new(tokio::sync::Semaphore::new(slots.max(1))) }
    }

    pub async fn create(&self, name: &str, password: &str, role: Role) -> Result<StoredUser, UserError> {
        let name = name.trim();
        if !valid_user_name(name) {
            return Err(UserError::BadName);
        }
        let hash = hash_password(password)?;
        let res = sqlx::query("INSERT INTO users (name, password_hash, role, created_at) VALUES (?, ?, ?, ?)")
            .bind(name)
            .bind(&hash)
            .bind(role.as_str())
            .bind(now_text())
            .execute(self.store.pool())
            .await;
        match res {
            Ok(r) => Ok(StoredUser { id: r.last_insert_rowid(), name: name.to_string(), role, session_epoch: 0, disabled: false }),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(UserError::Exists(name.to_string())),
            Err(e) => Err(e.into()),
        }
    }

    /// Replaces a user's password and role, creating the user if missing.
    pub async fn upsert(&self, name: &str, password: &str, role: Role) -> Result<StoredUser, UserError> {
        match self.create(name, password, role).await {
            Err(UserError::Exists(_)) => {
                let hash = hash_password(password)?;
                // A reset ends every session of the user and re-enables the account.
                sqlx::query("UPDATE users SET password_hash = ?, role = ?, session_epoch = session_epoch + 1, disabled = 0 WHERE name = ?")
                    .bind(&hash)
                    .bind(role.as_str())
                    .bind(name.trim())
                    .execute(self.store.pool())
                    .await?;
                self.find(name).await?.ok_or_else(|| UserError::Exists(name.to_string()))
            }
            other => other,
        }
    }

    pub async fn find(&self, name: &str) -> Result<Option<StoredUser>, StoreError> {
        Ok(sqlx::query_as("SELECT id, name, role, session_epoch, disabled FROM users WHERE name = ?")
            .bind(name.trim())
            .fetch_optional(self.store.pool())
            .await?)
    }

    /// Disables an account: no sign-in, and its sessions end. False when there is no such user.
    pub async fn disable(&self, name: &str) -> Result<bool, StoreError> {
        let r = sqlx::query("UPDATE users SET disabled = 1, session_epoch = session_epoch + 1 WHERE name = ?")
            .bind(name.trim())
            .execute(self.store.pool())
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Deletes an account (its sessions end with it). False when there is no such user.
    pub async fn delete(&self, name: &str) -> Result<bool, StoreError> {
        let r = sqlx::query("DELETE FROM users WHERE name = ?").bind(name.trim()).execute(self.store.pool()).await?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn exists(&self, name: &str) -> Result<bool, StoreError> {
        Ok(self.find(name).await?.is_some())
    }

    /// Checks a name and password. Runs the (slow) hash check on a blocking thread, and does the
    /// same work for unknown names so timing does not reveal which names exist. When every
    /// check slot is taken it answers `Busy` at once instead of queueing memory-hungry work.
    pub async fn authenticate(&self, name: &str, password: &str) -> Result<Option<StoredUser>, AuthError> {
        let _slot = self.checks.clone().try_acquire_owned().map_err(|_| AuthError::Busy)?;
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: StoredUser,
            password_hash: String,
        }
        let row: Option<Row> = sqlx::query_as("SELECT id, name, role, session_epoch, disabled, password_hash FROM users WHERE name = ?")
            .bind(name.trim())
            .fetch_optional(self.store.pool())
            .await?;
        let (user, hash) = match row {
            Some(r) => (Some(r.user), r.password_hash),
            None => (None, dummy_hash()),
        };
        let password = password.to_string();
        let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash)).await.unwrap_or(false);
        // A disabled account is checked like any other (same time) and never signs in.
        Ok(if ok { user.filter(|u| !u.disabled) } else { None })
    }

    pub async fn count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(self.store.pool()).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_store;

    #[tokio::test]
    async fn created_user_authenticates_with_its_password_only() {
        let (store, _dir) = test_store().await;
        let users = Users::new(store);
        users.create("ann", "s3cret-pass", Role::Operator).await.unwrap();
        let u = users.authenticate("ann", "s3cret-pass").await.unwrap().expect("authenticated");
        assert_eq!((u.name.as_str(), u.role), ("ann", Role::Operator));
        assert!(users.authenticate("ann", "wrong-pass").await.unwrap().is_none());
        assert!(users.authenticate("nobody", "s3cret-pass").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn duplicate_names_are_refused_regardless_of_case_and_bad_names_rejected() {
        let (store, _dir) = test_store().await;
        let users = Users::new(store);
        users.create("Ann", "s3cret-pass", Role::Viewer).await.unwrap();
        assert!(matches!(users.create("ann", "other-pass", Role::Admin).await, Err(UserError::Exists(_))));
        assert!(matches!(users.create("a b", "other-pass", Role::Admin).await, Err(UserError::BadName)));
        assert!(matches!(users.create("bob", "short", Role::Admin).await, Err(UserError::Password(_))));
    }

    #[tokio::test]
    async fn when_every_check_slot_is_taken_a_sign_in_is_told_busy_at_once() {
        let (store, _dir) = test_store().await;
        let users = Users::with_check_slots(store, 1);
        users.create("ann", "s3cret-pass", Role::Operator).await.unwrap();
        let held = users.checks.clone().try_acquire_owned().unwrap();
        assert!(matches!(users.authenticate("ann", "s3cret-pass").await, Err(AuthError::Busy)));
        drop(held);
        assert!(users.authenticate("ann", "s3cret-pass").await.unwrap().is_some());
    }

    #[test]
    fn names_safe_to_log_are_checked_before_use() {
        assert!(valid_user_name("ann.o-k_1@example"));
        for bad in ["", "a b", "evil\nINFO login user=admin", &"x".repeat(65)] {
            assert!(!valid_user_name(bad), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn disabling_refuses_sign_in_and_moves_the_epoch_and_a_reset_enables_again() {
        let (store, _dir) = test_store().await;
        let users = Users::new(store);
        users.create("ann", "s3cret-pass", Role::Operator).await.unwrap();
        assert!(users.disable("ann").await.unwrap());
        assert!(users.authenticate("ann", "s3cret-pass").await.unwrap().is_none());
        let u = users.find("ann").await.unwrap().unwrap();
        assert!(u.disabled && u.session_epoch == 1);
        users.upsert("ann", "new-s3cret", Role::Operator).await.unwrap();
        let u = users.authenticate("ann", "new-s3cret").await.unwrap().unwrap();
        assert_eq!((u.disabled, u.session_epoch), (false, 2));
        assert!(users.delete("ann").await.unwrap());
        assert!(!users.delete("ann").await.unwrap());
        assert!(!users.disable("ann").await.unwrap());
    }

    #[tokio::test]
    async fn upsert_replaces_password_and_role() {
        let (store, _dir) = test_store().await;
        let users = Users::new(store);
        users.create("admin", "first-pass", Role::Viewer).await.unwrap();
        users.upsert("admin", "second-pass", Role::Admin).await.unwrap();
        assert!(users.authenticate("admin", "first-pass").await.unwrap().is_none());
        let u = users.authenticate("admin", "second-pass").await.unwrap().unwrap();
        assert_eq!(u.role, Role::Admin);
    }
}
