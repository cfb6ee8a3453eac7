//! `[auth]`: how long sessions live and how many failed logins are allowed; builds the login
//! rate limiter and the sessions' idle expiry.

use super::ConfigError;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use switchboard::auth::LoginLimiter;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// A session unused for this long is ended.
    pub idle_timeout_minutes: u32,
    /// A session ends this long after sign-in, however busy.
    pub absolute_timeout_hours: u32,
    /// Failed logins allowed per user name and per client address within the window.
    pub max_failures: u32,
    pub failure_window_seconds: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self { idle_timeout_minutes: 60, absolute_timeout_hours: 12, max_failures: 5, failure_window_seconds: 60 }
    }
}

impl AuthConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        for (key, v) in [
            ("auth.max_failures", self.max_failures),
            ("auth.absolute_timeout_hours", self.absolute_timeout_hours),
            ("auth.idle_timeout_minutes", self.idle_timeout_minutes),
        ] {
            if v == 0 {
                return Err(ConfigError::Invalid(format!("{key} must be at least 1")));
            }
        }
        Ok(())
    }

    /// The login rate limiter (per user name and per client address).
    pub fn limiter(&self) -> LoginLimiter {
        LoginLimiter::new(self.max_failures as usize, Duration::from_secs(self.failure_window_seconds))
    }

    /// A session unused this long ends.
    pub fn idle_expiry(&self) -> time::Duration {
        time::Duration::minutes(self.idle_timeout_minutes.into())
    }

    /// A session ends this many seconds after sign-in, however busy.
    pub fn absolute_session_secs(&self) -> i64 {
        i64::from(self.absolute_timeout_hours) * 3600
    }
}
