//! `[server]`'s keys about clients: which reverse proxies are believed about the client address
//! (`trusted_proxies`, `client_ip_header`), and `[server.rate_limit]`, the per-client limits on
//! the routes anyone may call without signing in. Builds what the HTTP layer applies.

use super::ConfigError;
use crate::client_addr::ClientAddrPolicy;
use crate::rate_limit::{ClientLimiter, Rate};
use axum::http::HeaderName;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Per-client request limits on the unauthenticated routes (each route counts on its own).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// Requests one client may send at once to `/auth/webex`, its callback or `/ack/…`…
    pub burst: u32,
    /// …and how many more it earns each minute.
    pub per_minute: u32,
    /// The same for Graph's change notifications (`/hooks/graph`): Graph posts in bursts, from
    /// a few shared addresses.
    pub graph_hook_burst: u32,
    pub graph_hook_per_minute: u32,
    /// Clients remembered per route; beyond it the one seen longest ago is forgotten.
    pub max_clients: usize,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self { burst: 30, per_minute: 60, graph_hook_burst: 300, graph_hook_per_minute: 1200, max_clients: 10_000 }
    }
}

impl RateLimitConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        self.rate().and(self.graph_hook_rate()).map(|_| ())
    }

    fn rate_of(&self, (burst_key, burst): (&str, u32), (per_key, per_minute): (&str, u32)) -> Result<Rate, ConfigError> {
        let at_least_one = |key: &str| ConfigError::Invalid(format!("server.rate_limit.{key} must be at least 1"));
        let clients = std::num::NonZeroUsize::new(self.max_clients).ok_or_else(|| at_least_one("max_clients"))?;
        let burst = std::num::NonZeroU32::new(burst).ok_or_else(|| at_least_one(burst_key))?;
        let per_minute = std::num::NonZeroU32::new(per_minute).ok_or_else(|| at_least_one(per_key))?;
        Ok(Rate { burst, per_minute, max_clients: clients })
    }

    fn rate(&self) -> Result<Rate, ConfigError> {
        self.rate_of(("burst", self.burst), ("per_minute", self.per_minute))
    }

    fn graph_hook_rate(&self) -> Result<Rate, ConfigError> {
        self.rate_of(("graph_hook_burst", self.graph_hook_burst), ("graph_hook_per_minute", self.graph_hook_per_minute))
    }

    /// A limiter for one route (sign-in start, callback, acknowledgement links).
    pub fn limiter(&self) -> Result<Arc<ClientLimiter>, ConfigError> {
        Ok(Arc::new(ClientLimiter::new(self.rate()?)))
    }

    /// The limiter of `/hooks/graph`.
    pub fn graph_hook_limiter(&self) -> Result<Arc<ClientLimiter>, ConfigError> {
        Ok(Arc::new(ClientLimiter::new(self.graph_hook_rate()?)))
    }
}

/// IP addresses or networks (`10.0.0.0/8`, `192.0.2.7`, `2001:db8::/32`); a bad entry is an
/// error naming `key` and the entry.
pub(super) fn networks(key: &str, list: &[String]) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    list.iter()
        .map(|s| {
            let s = s.trim();
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| ConfigError::Invalid(format!("{key}: '{s}' is not an IP address or network")))
        })
        .collect()
}

/// Where the client address comes from: the `client_ip_header` when the TCP peer is one of the
/// `trusted_proxies`, the peer itself otherwise.
pub(super) fn client_addr_policy(trusted_proxies: &[String], client_ip_header: &str) -> Result<ClientAddrPolicy, ConfigError> {
    let header = HeaderName::from_bytes(client_ip_header.trim().as_bytes())
        .map_err(|_| ConfigError::Invalid(format!("server.client_ip_header: '{client_ip_header}' is not an HTTP header name")))?;
    Ok(ClientAddrPolicy::new(networks("server.trusted_proxies", trusted_proxies)?, header))
}
