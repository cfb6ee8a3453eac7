//! `[database]`: where the store lives, and the connection to it. An empty URL means
//! `switchboard.db` in `server.data_dir`.

use serde::{Deserialize, Serialize};
use std::path::Path;
use switchboard::store::{Store, StoreError};

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// A `sqlite:` URL. Empty means `switchboard.db` in `server.data_dir`.
    pub url: Option<String>,
}

impl DatabaseConfig {
    /// The URL to connect to, given `server.data_dir`.
    pub fn url(&self, data_dir: &Path) -> String {
        match &self.url {
            Some(u) if !u.trim().is_empty() => u.clone(),
            _ => switchboard::store::sqlite_url_for(&data_dir.join("switchboard.db")),
        }
    }

    /// Connects to the store (without migrating it).
    pub async fn connect(&self, data_dir: &Path) -> Result<Store, StoreError> {
        Store::connect(&self.url(data_dir)).await
    }
}
