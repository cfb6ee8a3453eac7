//! The directory's tables: the org directory cached from Webex (`webex_directory`) and the
//! responders themselves (`responders`: Webex people with a `person_id`, externals without).
//! The SQL is per backend (`store/sqlite.rs`, `store/postgres.rs`).

pub(crate) mod postgres;
pub(crate) mod sqlite;

use super::Responder;
use crate::model::incident::{DirectoryPerson, ExternalResponder};
use crate::store::{Backend, Store, StoreError};
use std::sync::Arc;
use time::OffsetDateTime;

/// The directory's rows, one implementation per backend.
#[async_trait::async_trait]
pub(crate) trait DirectoryRepo: Send + Sync {
    async fn replace_directory(&self, people: &[DirectoryPerson]) -> Result<(), StoreError>;
    async fn directory_state(&self) -> Result<(i64, Option<OffsetDateTime>), StoreError>;
    async fn search_directory(&self, q: &str, limit: i64) -> Result<Vec<DirectoryPerson>, StoreError>;
    async fn directory_person(&self, person_id: &str) -> Result<Option<DirectoryPerson>, StoreError>;
    async fn responders(&self, ids: &[i64]) -> Result<Vec<Responder>, StoreError>;
    async fn externals(&self) -> Result<Vec<ExternalResponder>, StoreError>;
    async fn insert_external(&self, e: &ExternalResponder) -> Result<i64, StoreError>;
    /// Saves an external responder and, in the same transaction, turns off in every space a
    /// channel it has no number for; false when there is no such external.
    async fn update_external(&self, e: &ExternalResponder) -> Result<bool, StoreError>;
    async fn delete_external(&self, id: i64) -> Result<bool, StoreError>;
}

#[derive(Clone)]
pub struct DirectoryStore {
    repo: Arc<dyn DirectoryRepo>,
}

impl DirectoryStore {
    pub fn new(store: Store) -> Self {
        let repo: Arc<dyn DirectoryRepo> = match store.backend() {
            Backend::Sqlite(pool) => Arc::new(sqlite::SqliteDirectory(pool.clone())),
            Backend::Postgres(pool) => Arc::new(postgres::PgDirectory(pool.clone())),
        };
        Self { repo }
    }

    pub async fn replace_directory(&self, people: &[DirectoryPerson]) -> Result<(), StoreError> {
        self.repo.replace_directory(people).await
    }

    pub async fn directory_state(&self) -> Result<(i64, Option<OffsetDateTime>), StoreError> {
        self.repo.directory_state().await
    }

    pub async fn search_directory(&self, q: &str, limit: i64) -> Result<Vec<DirectoryPerson>, StoreError> {
        self.repo.search_directory(q, limit).await
    }

    pub async fn directory_person(&self, person_id: &str) -> Result<Option<DirectoryPerson>, StoreError> {
        self.repo.directory_person(person_id).await
    }

    /// The responders of these ids (any order).
    pub async fn responders(&self, ids: &[i64]) -> Result<Vec<Responder>, StoreError> {
        self.repo.responders(ids).await
    }

    pub async fn externals(&self) -> Result<Vec<ExternalResponder>, StoreError> {
        self.repo.externals().await
    }

    pub async fn insert_external(&self, e: &ExternalResponder) -> Result<i64, StoreError> {
        self.repo.insert_external(e).await
    }

    pub async fn update_external(&self, e: &ExternalResponder) -> Result<bool, StoreError> {
        self.repo.update_external(e).await
    }

    /// Deletes an external responder (its links to spaces go with it: `ON DELETE CASCADE`).
    pub async fn delete_external(&self, id: i64) -> Result<bool, StoreError> {
        self.repo.delete_external(id).await
    }
}
