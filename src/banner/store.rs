//! Banner tables: the rules document and the history of every banner set or cleared.

use crate::model::{BannerEvent, BannerRules};
use crate::store::{now_text, Store, StoreError};

/// Settings key under which the rules are stored.
const RULES_SETTING: &str = "banner_rules";

#[derive(Clone)]
pub struct BannerStore {
    store: Store,
}

impl BannerStore {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// The saved rules, or `None` when none were saved yet.
    pub async fn rules(&self) -> Result<Option<BannerRules>, StoreError> {
        self.store.setting(RULES_SETTING).await
    }

    pub async fn put_rules(&self, rules: &BannerRules, by: &str) -> Result<(), StoreError> {
        self.store.put_setting(RULES_SETTING, rules, by).await
    }

    pub async fn record(&self, call_id: &str, node: &str, call_name: &str, text: &str, result: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO banner_history (at, call_id, node, call_name, text, result) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(now_text())
            .bind(call_id)
            .bind(node)
            .bind(call_name)
            .bind(text)
            .bind(result)
            .execute(self.store.pool())
            .await?;
        Ok(())
    }

    pub async fn history(&self, limit: i64) -> Result<Vec<BannerEvent>, StoreError> {
        Ok(sqlx::query_as("SELECT at, call_id, node, call_name, text, result FROM banner_history ORDER BY id DESC LIMIT ?")
            .bind(limit)
            .fetch_all(self.store.pool())
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_store;

    #[tokio::test]
    async fn rules_are_absent_until_saved_and_history_comes_back_newest_first() {
        let (store, _d) = test_store().await;
        let banners = BannerStore::new(store);
        assert_eq!(banners.rules().await.unwrap(), None);
        let mut r = BannerRules::default();
        r.restricted_keywords.push("secret".into());
        banners.put_rules(&r, "ann").await.unwrap();
        assert_eq!(banners.rules().await.unwrap(), Some(r));
        banners.record("C1", "cb1", "Board", "Restricted Meeting", "ok").await.unwrap();
        banners.record("C2", "cb2", "Team", "(cleared)", "failed: timeout").await.unwrap();
        let h = banners.history(10).await.unwrap();
        assert_eq!(h.iter().map(|e| e.call_id.as_str()).collect::<Vec<_>>(), ["C2", "C1"]);
        assert_eq!(h[0].result, "failed: timeout");
    }
}
