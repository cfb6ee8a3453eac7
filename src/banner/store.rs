//! Banner tables: the rules document (a setting) and the history of every banner set or
//! cleared. The history's SQL is per backend (`store/sqlite.rs`, `store/postgres.rs`).

mod postgres;
mod sqlite;

use crate::model::{BannerEvent, BannerRules};
use crate::store::{Backend, Store, StoreError};
use std::sync::Arc;

/// Settings key under which the rules are stored.
const RULES_SETTING: &str = "banner_rules";

/// The `banner_history` table, one implementation per backend.
#[async_trait::async_trait]
pub(crate) trait BannerRepo: Send + Sync {
    /// Appends an event stamped now.
    async fn record(&self, call_id: &str, node: &str, call_name: &str, text: &str, result: &str) -> Result<(), StoreError>;
    /// The newest `limit` events, newest first.
    async fn history(&self, limit: i64) -> Result<Vec<BannerEvent>, StoreError>;
}

#[derive(Clone)]
pub struct BannerStore {
    store: Store,
    repo: Arc<dyn BannerRepo>,
}

impl BannerStore {
    pub fn new(store: Store) -> Self {
        let repo: Arc<dyn BannerRepo> = match store.backend() {
            Backend::Sqlite(pool) => Arc::new(sqlite::SqliteBanners(pool.clone())),
            Backend::Postgres(pool) => Arc::new(postgres::PgBanners(pool.clone())),
        };
        Self { store, repo }
    }

    /// The saved rules, or `None` when none were saved yet.
    pub async fn rules(&self) -> Result<Option<BannerRules>, StoreError> {
        self.store.setting(RULES_SETTING).await
    }

    pub async fn put_rules(&self, rules: &BannerRules, by: &str) -> Result<(), StoreError> {
        self.store.put_setting(RULES_SETTING, rules, by).await
    }

    pub async fn record(&self, call_id: &str, node: &str, call_name: &str, text: &str, result: &str) -> Result<(), StoreError> {
        self.repo.record(call_id, node, call_name, text, result).await
    }

    pub async fn history(&self, limit: i64) -> Result<Vec<BannerEvent>, StoreError> {
        self.repo.history(limit).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::both_backends! {
        async fn rules_are_absent_until_saved_and_history_comes_back_newest_first(store) {
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
            assert_eq!((h[0].node.as_str(), h[0].call_name.as_str(), h[0].text.as_str()), ("cb2", "Team", "(cleared)"));
            assert_eq!(h[0].result, "failed: timeout");
            assert_eq!(banners.history(1).await.unwrap().len(), 1);
        }
    }
}
