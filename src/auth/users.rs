//! Operator accounts: names, argon2id password hashes, roles. Names are unique regardless of
//! case, and found regardless of case. The SQL is per backend (`users/sqlite.rs`, `users/postgres.rs`).

mod postgres;
mod sqlite;

use super::{hash_password, verify_password, PasswordError};
use crate::model::{Role, UserInfo};
use crate::store::{Backend, Store, StoreError};
use std::sync::Arc;

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

/// The `users` table, one implementation per backend. Names are trimmed by the caller.
#[async_trait::async_trait]
pub(crate) trait UsersRepo: Send + Sync {
    /// The new user's id; a unique violation when the name is taken (in any case).
    async fn insert(&self, name: &str, password_hash: &str, role: Role) -> Result<i64, sqlx::Error>;
    /// New password and role, the epoch moved on (ending sessions), enabled again.
    async fn reset(&self, name: &str, password_hash: &str, role: Role) -> Result<(), sqlx::Error>;
    async fn find(&self, name: &str) -> Result<Option<StoredUser>, sqlx::Error>;
    /// The user with their password hash, for sign-in.
    async fn find_with_hash(&self, name: &str) -> Result<Option<(StoredUser, String)>, sqlx::Error>;
    /// Disabled and the epoch moved on; false when there is no such user.
    async fn disable(&self, name: &str) -> Result<bool, sqlx::Error>;
    async fn delete(&self, name: &str) -> Result<bool, sqlx::Error>;
    async fn count(&self) -> Result<i64, sqlx::Error>;
}

/// A stored user with their hash, as the sign-in query reads it.
#[derive(sqlx::FromRow)]
struct UserWithHash {
    #[sqlx(flatten)]
    user: StoredUser,
    password_hash: String,
}

/// The `users` table.
#[derive(Clone)]
pub struct Users {
    repo: Arc<dyn UsersRepo>,
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
        let repo: Arc<dyn UsersRepo> = match store.backend() {
            Backend::Sqlite(pool) => Arc::new(sqlite::SqliteUsers(pool.clone())),
            Backend::Postgres(pool) => Arc::new(postgres::PgUsers(pool.clone())),
        };
        Self { repo, checks: Arc::new(tokio::sync::Semaphore::new(slots.max(1))) }
    }

    pub async fn create(&self, name: &str, password: &str, role: Role) -> Result<StoredUser, UserError> {
        let name = name.trim();
        if !valid_user_name(name) {
            return Err(UserError::BadName);
        }
        let hash = hash_password(password)?;
        match self.repo.insert(name, &hash, role).await {
            Ok(id) => Ok(StoredUser { id, name: name.to_string(), role, session_epoch: 0, disabled: false }),
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
                self.repo.reset(name.trim(), &hash, role).await?;
                self.find(name).await?.ok_or_else(|| UserError::Exists(name.to_string()))
            }
            other => other,
        }
    }

    pub async fn find(&self, name: &str) -> Result<Option<StoredUser>, StoreError> {
        Ok(self.repo.find(name.trim()).await?)
    }

    /// Disables an account: no sign-in, and its sessions end. False when there is no such user.
    pub async fn disable(&self, name: &str) -> Result<bool, StoreError> {
        Ok(self.repo.disable(name.trim()).await?)
    }

    /// Deletes an account (its sessions end with it). False when there is no such user.
    pub async fn delete(&self, name: &str) -> Result<bool, StoreError> {
        Ok(self.repo.delete(name.trim()).await?)
    }

    pub async fn exists(&self, name: &str) -> Result<bool, StoreError> {
        Ok(self.find(name).await?.is_some())
    }

    /// Checks a name and password. Runs the (slow) hash check on a blocking thread, and does the
    /// same work for unknown names so timing does not reveal which names exist. When every
    /// check slot is taken it answers `Busy` at once instead of queueing memory-hungry work.
    pub async fn authenticate(&self, name: &str, password: &str) -> Result<Option<StoredUser>, AuthError> {
        let _slot = self.checks.clone().try_acquire_owned().map_err(|_| AuthError::Busy)?;
        let row = self.repo.find_with_hash(name.trim()).await?;
        let (user, hash) = match row {
            Some((user, hash)) => (Some(user), hash),
            None => (None, dummy_hash()),
        };
        let password = password.to_string();
        let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash)).await.unwrap_or(false);
        // A disabled account is checked like any other (same time) and never signs in.
        Ok(if ok { user.filter(|u| !u.disabled) } else { None })
    }

    pub async fn count(&self) -> Result<i64, StoreError> {
        Ok(self.repo.count().await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_store;

    crate::both_backends! {
        async fn created_user_authenticates_with_its_password_only(store) {
            let users = Users::new(store);
            let created = users.create("ann", "s3cret-pass", Role::Operator).await.unwrap();
            let u = users.authenticate("ann", "s3cret-pass").await.unwrap().expect("authenticated");
            assert_eq!((u.id, u.name.as_str(), u.role), (created.id, "ann", Role::Operator));
            assert!(users.authenticate("ann", "wrong-pass").await.unwrap().is_none());
            assert!(users.authenticate("nobody", "s3cret-pass").await.unwrap().is_none());
            assert_eq!(users.count().await.unwrap(), 1);
        }

        async fn duplicate_names_are_refused_regardless_of_case_and_bad_names_rejected(store) {
            let users = Users::new(store);
            users.create("Ann", "s3cret-pass", Role::Viewer).await.unwrap();
            assert!(matches!(users.create("ann", "other-pass", Role::Admin).await, Err(UserError::Exists(_))));
            assert!(matches!(users.create("a b", "other-pass", Role::Admin).await, Err(UserError::BadName)));
            assert!(matches!(users.create("bob", "short", Role::Admin).await, Err(UserError::Password(_))));
            assert_eq!(users.count().await.unwrap(), 1);
        }

        async fn a_user_is_found_and_signs_in_whatever_the_case_of_the_name(store) {
            let users = Users::new(store);
            users.create("Ann", "s3cret-pass", Role::Viewer).await.unwrap();
            assert_eq!(users.find("aNN").await.unwrap().map(|u| u.name), Some("Ann".to_string()));
            assert!(users.authenticate("ANN", "s3cret-pass").await.unwrap().is_some());
            assert!(users.disable("ann").await.unwrap());
            assert!(users.find("Ann").await.unwrap().unwrap().disabled);
        }

        async fn disabling_refuses_sign_in_and_moves_the_epoch_and_a_reset_enables_again(store) {
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

        async fn upsert_replaces_password_and_role(store) {
            let users = Users::new(store);
            users.create("admin", "first-pass", Role::Viewer).await.unwrap();
            users.upsert("admin", "second-pass", Role::Admin).await.unwrap();
            assert!(users.authenticate("admin", "first-pass").await.unwrap().is_none());
            let u = users.authenticate("admin", "second-pass").await.unwrap().unwrap();
            assert_eq!(u.role, Role::Admin);
        }
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
}
