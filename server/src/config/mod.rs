//! Configuration: one TOML file (see `switchboard.example.toml`), every key overridable by a
//! `SWITCHBOARD_<SECTION>__<KEY>` environment variable. This file is the loader; each section has
//! its own file with its keys, defaults, checks and what it builds. Errors name the offending key.

mod auth;
mod calendar;
mod cdr;
mod clients;
mod cms;
mod connect;
mod database;
mod http;
mod retention;
mod server;
mod webex;

pub use auth::AuthConfig;
pub use calendar::{CalendarSection, EwsAuth};
pub use cdr::CdrConfig;
pub use clients::RateLimitConfig;
pub use cms::{CmsConfig, CmsNodeConfig};
pub use connect::ConnectConfig;
pub use database::DatabaseConfig;
pub use http::HttpLimitsConfig;
pub use server::{LogFormat, ServerConfig};
pub use switchboard::retention::RetentionPolicy;
pub use webex::WebexConfig;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub auth: AuthConfig,
    pub cms: CmsConfig,
    pub cdr: CdrConfig,
    pub retention: RetentionPolicy,
    pub webex: WebexConfig,
    pub connect: ConnectConfig,
    pub calendar: CalendarSection,
}

/// A secret from the config: never printed by `Debug`, so it cannot reach a log line.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "<redacted>" })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {0} does not exist")]
    Missing(PathBuf),
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Environment variables that are read elsewhere and are not config keys (the last two: the
/// PostgreSQL the tests use, `scripts/test` and `scripts/pg`).
const NOT_CONFIG_KEYS: &[&str] = &["admin_password", "log", "test_postgres_url", "test_pg_port"];

impl Config {
    /// Defaults, then the file (if given), then `SWITCHBOARD_*` variables.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.exists() {
                return Err(ConfigError::Missing(file.to_path_buf()));
            }
            fig = fig.merge(Toml::file_exact(file));
        }
        fig = fig.merge(Env::prefixed("SWITCHBOARD_").split("__").ignore(NOT_CONFIG_KEYS));
        let cfg: Config = fig.extract().map_err(|e| ConfigError::Invalid(describe(calendar::name_the_key(&fig, e))))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Each section's own checks, then those that need two sections (a section that builds
    /// something is checked by building it).
    fn validate(&self) -> Result<(), ConfigError> {
        self.auth.validate()?;
        self.database.validate()?;
        retention::validate(&self.retention)?;
        self.cms.validate_nodes()?;
        self.server.validate()?;
        self.cdr.validate(self.server.max_body_bytes)?;
        self.webex_settings(None)?;
        self.calendar_settings()?;
        self.cms.validate_registration()
    }

    /// For `serve`: no service that gets a password or token is reached over plain `http://`
    /// unless `server.allow_insecure_http = true` (the error names the key and the way out).
    pub fn check_secure_urls(&self) -> Result<(), ConfigError> {
        if self.server.allow_insecure_http {
            return Ok(());
        }
        // Each section names its own URLs; Webex Connect is used only with Webex on.
        let connect = if self.webex.enabled { self.connect.secret_bearing_urls() } else { Vec::new() };
        let urls = [self.calendar.secret_bearing_urls(), self.webex.secret_bearing_urls(), connect];
        match urls.into_iter().flatten().find(|(_, u)| u.trim_start().to_ascii_lowercase().starts_with("http://")) {
            Some((key, url)) => Err(ConfigError::Invalid(format!(
                "{key} is plain http:// ({url}): passwords and tokens would cross the network in clear; use https://, \
                 or set server.allow_insecure_http = true (test set-ups only)"
            ))),
            None => Ok(()),
        }
    }

    /// The public base URL people's browsers (and responders' phones) use.
    /// `bound`: the address actually listened on (the configured port may be 0).
    pub fn public_base(&self, bound: Option<SocketAddr>) -> String {
        self.server.public_base(bound)
    }

    /// The database URL as it may be shown (any password hidden).
    pub fn database_url(&self) -> String {
        self.database.shown_url(&self.server.data_dir)
    }

    /// The Webex part of the services (with Webex Connect), or `None` when Webex is off.
    pub fn webex_settings(&self, bound: Option<SocketAddr>) -> Result<Option<switchboard::services::WebexSettings>, ConfigError> {
        self.webex.settings(&self.connect, self.public_base(bound))
    }

    /// The calendar part of the services, or `None` when off.
    pub fn calendar_settings(&self) -> Result<Option<switchboard::calendar::CalendarSettings>, ConfigError> {
        self.calendar.settings(&self.cms, self.webex.secrets_key.as_ref())
    }

    /// The retention policy in force (the live-state rebuild window comes from `[cdr]`).
    pub fn retention_policy(&self) -> RetentionPolicy {
        retention::policy(&self.retention, self.cdr.rebuild_hours)
    }
}

/// Figment's errors carry the key path; put it first so the bad key is what people read.
fn describe(err: figment::Error) -> String {
    err.into_iter()
        .map(|e| {
            let key = if e.path.is_empty() { None } else { Some(e.path.join(".")) };
            let source = e.metadata.as_ref().map(|m| m.name.to_string());
            let kind = e.kind.to_string();
            match (key, source) {
                (Some(k), Some(s)) => format!("key '{k}' (from {s}): {kind}"),
                (Some(k), None) => format!("key '{k}': {kind}"),
                (None, Some(s)) => format!("{kind} (from {s})"),
                (None, None) => kind,
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests;
