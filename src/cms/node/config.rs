//! How one Call Bridge is reached: its address, credentials, TLS mode, timeout, and the bounds
//! on concurrency, retries, page size and answer size.

use std::path::PathBuf;
use std::time::Duration;

/// How the node's certificate is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsMode {
    /// The operating system's trusted roots (and the bundled web roots).
    SystemRoots,
    /// Trust this PEM file (a company CA or the node's self-signed certificate).
    CustomCa(PathBuf),
    /// No verification at all. Only for labs; logged loudly at every start.
    Insecure,
}

#[derive(Clone)]
pub struct NodeConfig {
    pub name: String,
    /// `https://host:port` — `/api/v1` is added.
    pub base_url: String,
    pub username: String,
    pub password: String,
    pub tls: TlsMode,
    pub timeout: Duration,
    /// Requests in flight to this node at once.
    pub max_concurrency: usize,
    /// Extra attempts for idempotent requests after a transient failure.
    pub retries: usize,
    /// Rows asked for per page (CMS may send fewer).
    pub page_size: usize,
    /// Answers longer than this are refused (`CmsError::TooLarge`).
    pub max_answer_bytes: usize,
    /// `list_all` plans for at most this many rows, whatever `total` a node claims.
    pub max_listed_rows: usize,
}

impl std::fmt::Debug for NodeConfig {
    // Hand-written so the password can never reach a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeConfig")
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("tls", &self.tls)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl NodeConfig {
    pub fn new(name: &str, base_url: &str, username: &str, password: &str) -> Self {
        Self {
            name: name.to_string(),
            base_url: base_url.trim_end_matches('/').to_string(),
            username: username.to_string(),
            password: password.to_string(),
            tls: TlsMode::SystemRoots,
            timeout: Duration::from_secs(10),
            max_concurrency: 32,
            retries: 3,
            page_size: 20,
            max_answer_bytes: MAX_ANSWER_BYTES,
            max_listed_rows: MAX_LISTED_ROWS,
        }
    }
}

/// The largest API answer read from a node (a page of 20 rows is a few kB; one object less).
/// A node that sends more is refused rather than filling memory.
pub const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// The most rows `list_all` plans for, whatever `total` a node claims (CMS's own limits on
/// spaces and users are in the hundreds of thousands); a larger claim is cut here and logged.
pub const MAX_LISTED_ROWS: usize = 1_000_000;
