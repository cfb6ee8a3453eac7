//! Operator-editable settings, stored as JSON documents by key.

use super::{now_text, Store, StoreError};

impl Store {
    /// The document under `key`; `None` when never saved (or no longer readable as `T`, which is
    /// logged: the caller falls back to its defaults rather than failing).
    pub async fn setting<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        let v: Option<String> =
            sqlx::query_scalar("SELECT value FROM settings WHERE key = ?").bind(key).fetch_optional(self.pool()).await?;
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
        sqlx::query(
            "INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, ?)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        )
        .bind(key)
        .bind(json)
        .bind(now_text())
        .bind(by)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::store::test_store;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Doc {
        words: Vec<String>,
    }

    #[tokio::test]
    async fn settings_round_trip_as_json_and_a_second_save_replaces_the_first() {
        let (store, _d) = test_store().await;
        assert_eq!(store.setting::<Doc>("doc").await.unwrap(), None);
        store.put_setting("doc", &Doc { words: vec!["a".into()] }, "ann").await.unwrap();
        store.put_setting("doc", &Doc { words: vec!["b".into()] }, "ann").await.unwrap();
        assert_eq!(store.setting::<Doc>("doc").await.unwrap(), Some(Doc { words: vec!["b".into()] }));
    }
}
