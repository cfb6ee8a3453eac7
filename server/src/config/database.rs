//! `[database]`: where the store lives, and the connection to it. An empty URL means
//! `switchboard.db` in `server.data_dir` (SQLite); a `postgres://` URL is PostgreSQL, for several
//! instances sharing one database.

use super::ConfigError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;
use switchboard::store::{ConnectOptions, Store, StoreError};

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite:…` or `postgres://…` / `postgresql://…` (TLS by the URL's `sslmode`). Empty means
    /// `switchboard.db` in `server.data_dir`.
    pub url: Option<String>,
    /// Connections the pool keeps at most (per instance).
    pub max_connections: u32,
    /// How long a query waits for a free connection before it fails.
    pub acquire_timeout_seconds: u64,
    /// PostgreSQL: the server cancels a statement running longer. 0 leaves the server's setting.
    pub statement_timeout_seconds: u64,
    /// PostgreSQL: a PEM file of CA certificates to trust besides the system roots.
    pub ca_file: Option<PathBuf>,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self { url: None, max_connections: 8, acquire_timeout_seconds: 30, statement_timeout_seconds: 60, ca_file: None }
    }
}

/// By hand: a PostgreSQL URL may carry a password, shown as `***`.
impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &self.url.as_deref().map(switchboard::store::redacted_url))
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout_seconds", &self.acquire_timeout_seconds)
            .field("statement_timeout_seconds", &self.statement_timeout_seconds)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

impl DatabaseConfig {
    /// The URL to connect to, given `server.data_dir`.
    pub fn url(&self, data_dir: &Path) -> String {
        match &self.url {
            Some(u) if !u.trim().is_empty() => u.trim().to_string(),
            _ => switchboard::store::sqlite_url_for(&data_dir.join("switchboard.db")),
        }
    }

    /// The URL as it may be shown (any password hidden).
    pub fn shown_url(&self, data_dir: &Path) -> String {
        switchboard::store::redacted_url(&self.url(data_dir))
    }

    pub fn is_postgres(&self) -> bool {
        self.url.as_deref().map(str::trim).is_some_and(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"))
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        if let Some(u) = self.url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            if !(u.starts_with("sqlite:") || self.is_postgres()) {
                return invalid(format!(
                    "database.url must start with sqlite:, postgres:// or postgresql:// (got {})",
                    switchboard::store::redacted_url(u)
                ));
            }
        }
        if !(1..=1000).contains(&self.max_connections) {
            return invalid(format!("database.max_connections must be 1 to 1000 (got {})", self.max_connections));
        }
        if !(1..=3600).contains(&self.acquire_timeout_seconds) {
            return invalid(format!("database.acquire_timeout_seconds must be 1 to 3600 (got {})", self.acquire_timeout_seconds));
        }
        if self.statement_timeout_seconds > 86_400 {
            return invalid(format!(
                "database.statement_timeout_seconds must be 0 (the server's own) to 86400 (got {})",
                self.statement_timeout_seconds
            ));
        }
        if let Some(ca) = &self.ca_file {
            if !self.is_postgres() {
                return invalid("database.ca_file is for PostgreSQL only (database.url is not postgres://)".into());
            }
            if !ca.is_file() {
                return invalid(format!("database.ca_file {} is not a readable file", ca.display()));
            }
        }
        Ok(())
    }

    pub fn connect_options(&self) -> ConnectOptions {
        ConnectOptions {
            max_connections: self.max_connections,
            acquire_timeout: Duration::from_secs(self.acquire_timeout_seconds),
            statement_timeout: (self.statement_timeout_seconds > 0).then(|| Duration::from_secs(self.statement_timeout_seconds)),
            ca_file: self.ca_file.clone(),
        }
    }

    /// Connects to the store (without migrating it).
    pub async fn connect(&self, data_dir: &Path) -> Result<Store, StoreError> {
        Store::connect_with(&self.url(data_dir), &self.connect_options()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(f: impl FnOnce(&mut DatabaseConfig)) -> Result<(), String> {
        let mut c = DatabaseConfig::default();
        f(&mut c);
        c.validate().map_err(|e| e.to_string())
    }

    #[test]
    fn database_keys_out_of_range_are_refused_by_name() {
        assert!(check(|_| {}).is_ok());
        assert!(check(|c| c.url = Some("postgres://sb@db/sb?sslmode=verify-full".into())).is_ok());
        for (f, key) in [
            (
                Box::new(|c: &mut DatabaseConfig| c.url = Some("mysql://a:pw@db/x".into())) as Box<dyn FnOnce(&mut DatabaseConfig)>,
                "database.url",
            ),
            (Box::new(|c: &mut DatabaseConfig| c.max_connections = 0), "database.max_connections"),
            (Box::new(|c: &mut DatabaseConfig| c.acquire_timeout_seconds = 0), "database.acquire_timeout_seconds"),
            (Box::new(|c: &mut DatabaseConfig| c.statement_timeout_seconds = 100_000), "database.statement_timeout_seconds"),
            (Box::new(|c: &mut DatabaseConfig| c.ca_file = Some("/etc/hostname".into())), "database.ca_file"),
            (
                Box::new(|c: &mut DatabaseConfig| {
                    c.url = Some("postgres://db/sb".into());
                    c.ca_file = Some("/nonexistent/ca.pem".into());
                }),
                "database.ca_file",
            ),
        ] {
            let err = check(f).expect_err(key);
            assert!(err.contains(key), "{err}");
            assert!(!err.contains("pw@"), "no password in {err}");
        }
    }

    #[test]
    fn the_database_password_never_shows_in_debug_output() {
        let c = DatabaseConfig { url: Some("postgres://sb:hunter2@db/sb".into()), ..DatabaseConfig::default() };
        let shown = format!("{c:?}");
        assert!(shown.contains("postgres://sb:***@db/sb") && !shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn a_zero_statement_timeout_leaves_the_servers_own() {
        let c = DatabaseConfig { statement_timeout_seconds: 0, ..DatabaseConfig::default() };
        assert_eq!(c.connect_options().statement_timeout, None);
        assert_eq!(DatabaseConfig::default().connect_options().statement_timeout, Some(Duration::from_secs(60)));
    }
}
