//! `[server]`: where Switchboard listens, where its state and built site live, how it is
//! reached from outside (and which proxies in front of it are believed), its HTTP limits, and
//! the log format.

use super::ConfigError;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address and port to listen on.
    pub addr: SocketAddr,
    /// Where the SQLite database and other state live.
    pub data_dir: PathBuf,
    /// The built site (wasm, js, css, public assets), as produced by `cargo leptos build`.
    pub site_root: PathBuf,
    /// Set when Switchboard is reached over HTTPS (directly or through a proxy): cookies get
    /// `Secure`. Unset: true for `serve`, false for `demo`.
    pub secure_cookies: Option<bool>,
    /// How people reach Switchboard (`https://switchboard.example.com`). State-changing browser
    /// requests must come from this origin; unset, the request's own Host is used.
    pub public_url: Option<String>,
    /// A client must finish sending its request headers within this many seconds.
    pub header_timeout_seconds: u64,
    /// A request (except the pages' event streams) must be answered within this many seconds.
    pub request_timeout_seconds: u64,
    /// At shutdown, requests still running after this many seconds are cut off.
    pub shutdown_grace_seconds: u64,
    /// Largest request body accepted anywhere, in bytes.
    pub max_body_bytes: usize,
    /// `text` for people, `json` for log collectors.
    pub log_format: LogFormat,
    /// Let `serve` reach Exchange, Graph, Webex or Webex Connect over plain `http://` (test
    /// set-ups only: tokens and passwords would cross the network in clear).
    pub allow_insecure_http: bool,
    /// Reverse proxies (addresses or networks) believed about the client address: a request
    /// from one of them is taken to come from the address in `client_ip_header`. Empty: every
    /// client is its TCP peer, whatever headers it sends.
    pub trusted_proxies: Vec<String>,
    /// The header those proxies name the client in, `X-Forwarded-For` style (a list the
    /// proxies append to; the last address not of a trusted proxy is the client).
    pub client_ip_header: String,
    /// Per-client limits on the routes anyone may call without signing in.
    pub rate_limit: super::clients::RateLimitConfig,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            data_dir: PathBuf::from("data"),
            site_root: PathBuf::from("target/site"),
            secure_cookies: None,
            public_url: None,
            header_timeout_seconds: 10,
            request_timeout_seconds: 60,
            shutdown_grace_seconds: 20,
            max_body_bytes: 2 * 1024 * 1024,
            log_format: LogFormat::Text,
            allow_insecure_http: false,
            trusted_proxies: Vec::new(),
            client_ip_header: "x-forwarded-for".into(),
            rate_limit: Default::default(),
        }
    }
}

impl ServerConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if let Some(u) = &self.public_url {
            if !(u.starts_with("http://") || u.starts_with("https://")) || u.trim_end_matches('/').matches('/').count() != 2 {
                return Err(ConfigError::Invalid(format!(
                    "server.public_url must be a scheme and host, like https://switchboard.example.com (got '{u}')"
                )));
            }
        }
        for (key, v) in [
            ("server.header_timeout_seconds", self.header_timeout_seconds),
            ("server.request_timeout_seconds", self.request_timeout_seconds),
        ] {
            if v == 0 {
                return Err(ConfigError::Invalid(format!("{key} must be at least 1")));
            }
        }
        self.client_addr_policy()?;
        self.rate_limit.validate()
    }

    /// Where each request's client address comes from (the limiters and logs use it).
    pub fn client_addr_policy(&self) -> Result<crate::client_addr::ClientAddrPolicy, ConfigError> {
        super::clients::client_addr_policy(&self.trusted_proxies, &self.client_ip_header)
    }

    /// The public base URL people's browsers (and responders' phones) use.
    /// `bound`: the address actually listened on (the configured port may be 0).
    pub fn public_base(&self, bound: Option<SocketAddr>) -> String {
        match &self.public_url {
            Some(u) if !u.trim().is_empty() => u.trim_end_matches('/').to_string(),
            _ => format!("http://{}", bound.unwrap_or(self.addr)),
        }
    }

    /// Whether cookies get `Secure`: as configured, else on for `serve` and off for `demo`.
    pub fn secure_cookies_or(&self, serving: bool) -> bool {
        self.secure_cookies.unwrap_or(serving)
    }

    /// How long a request may take (the pages' event streams excepted).
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_seconds)
    }

    /// The connection limits the HTTP server applies.
    pub fn serve_limits(&self) -> crate::http::ServeLimits {
        crate::http::ServeLimits {
            header_timeout: Duration::from_secs(self.header_timeout_seconds),
            shutdown_grace: Duration::from_secs(self.shutdown_grace_seconds),
        }
    }
}
