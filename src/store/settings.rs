//! Operator-editable settings, stored as JSON documents by key. The documents are (de)serialised
//! here; each backend only stores the text (`settings/sqlite.rs`, `settings/postgres.rs`).

mod postgres;
mod sqlite;

use super::{Backend, Store, StoreError};
use std::sync::Arc;

/// The `settings` table, one implementation per backend.
#[async_trait::async_trait]
pub(crate) trait SettingsRepo: Send + Sync {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError>;
    async fn put(&self, key: &str, json: &str, by: &str) -> Result<(), StoreError>;
}

pub(crate) fn repo(backend: &Backend) -> Arc<dyn SettingsRepo> {
    match backend {
        Backend::Sqlite(pool) => Arc::new(sqlite::SqliteSettings(pool.clone())),
        Backend::Postgres(pool) => Arc::new(postgres::PgSettings(pool.clone())),
    }
}

impl Store {
    /// The document under `key`; `None` when never saved (or no longer readable as `T`, which is
    /// logged: the caller falls back to its defaults rather than failing).
    pub async fn setting<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        let v = self.settings.get(key).await?;
        Ok(v.and_then(|s| match serde_json::from_str(&s) {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::warn!(%key, error = %e, "stored setting is unreadable; using defaults");
                None
            }
        }))
    }

    pub async fn put_setting<T: serde::Serialize>(&self, key: &str, value: &T, by: &str) -> Result<(), StoreError> {
        let json = serde_json::to_string(value).map_err(|e| StoreError::Db(sqlx::Error::Encode(Box::new(e))))?;
        self.settings.put(key, &json, by).await
    }
}

#[cfg(test)]
mod tests {
    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Doc {
        words: Vec<String>,
    }

    crate::both_backends! {
        async fn settings_round_trip_as_json_and_a_second_save_replaces_the_first(store) {
            assert_eq!(store.setting::<Doc>("doc").await.unwrap(), None);
            store.put_setting("doc", &Doc { words: vec!["a".into()] }, "ann").await.unwrap();
            store.put_setting("doc", &Doc { words: vec!["b".into()] }, "ann").await.unwrap();
            assert_eq!(store.setting::<Doc>("doc").await.unwrap(), Some(Doc { words: vec!["b".into()] }));
        }

        async fn an_unreadable_setting_reads_as_never_saved(store) {
            store.put_setting("doc", &serde_json::json!({"words": 3}), "ann").await.unwrap();
            assert_eq!(store.setting::<Doc>("doc").await.unwrap(), None);
        }
    }
}
