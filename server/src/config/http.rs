//! `[calendar.http]`, `[webex.http]`, `[connect.http]`: the limits of the section's outbound
//! HTTP client — connect timeout, overall request timeout, the largest answer read — the same
//! keys in each section; builds the domain's `HttpLimits`.

use super::ConfigError;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use switchboard::outbound::{HttpLimits, DEFAULT_MAX_ANSWER_BYTES};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpLimitsConfig {
    /// Seconds until the connection is up.
    pub connect_timeout_seconds: u64,
    /// Seconds for a whole request (connect, send, the answer to its end). Long-lived EWS
    /// streams have their own: the connection's lifetime and a minute.
    pub timeout_seconds: u64,
    /// Answers longer than this are refused, not read further.
    pub max_answer_bytes: usize,
}

impl Default for HttpLimitsConfig {
    fn default() -> Self {
        let d = HttpLimits::default();
        Self {
            connect_timeout_seconds: d.connect_timeout.as_secs(),
            timeout_seconds: d.request_timeout.as_secs(),
            max_answer_bytes: DEFAULT_MAX_ANSWER_BYTES,
        }
    }
}

impl HttpLimitsConfig {
    /// The limits; `section` names the keys in errors (`calendar.http`).
    pub fn limits(&self, section: &str) -> Result<HttpLimits, ConfigError> {
        let positive = |key: &str, v: u64| match v {
            0 => Err(ConfigError::Invalid(format!("{section}.{key} must be at least 1"))),
            v => Ok(v),
        };
        let connect = positive("connect_timeout_seconds", self.connect_timeout_seconds)?;
        let request = positive("timeout_seconds", self.timeout_seconds)?;
        if self.max_answer_bytes < 64 * 1024 {
            return Err(ConfigError::Invalid(format!("{section}.max_answer_bytes must be at least 65536 (64 KB)")));
        }
        Ok(HttpLimits {
            connect_timeout: Duration::from_secs(connect),
            request_timeout: Duration::from_secs(request),
            max_answer_bytes: self.max_answer_bytes,
        })
    }
}

#[cfg(test)]
// figment's `Jail` closures return its own (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use crate::config::Config;
    use figment::Jail;
    use std::path::Path;

    #[test]
    fn outbound_limits_are_read_per_section_and_a_bad_one_is_named() {
        Jail::expect_with(|jail| {
            jail.create_file("c.toml", "[calendar.http]\ntimeout_seconds = 7\n[connect.http]\nconnect_timeout_seconds = 2\n")?;
            jail.set_env("SWITCHBOARD_WEBEX__HTTP__MAX_ANSWER_BYTES", "1048576");
            let c = Config::load(Some(Path::new("c.toml"))).map_err(|e| e.to_string())?;
            let calendar = c.calendar.http.limits("calendar.http").map_err(|e| e.to_string())?;
            assert_eq!((calendar.request_timeout, calendar.connect_timeout), (Duration::from_secs(7), Duration::from_secs(5)));
            assert_eq!(c.connect.limits().map_err(|e| e.to_string())?.connect_timeout, Duration::from_secs(2));
            assert_eq!(c.webex.http.max_answer_bytes, 1_048_576);
            jail.create_file("typo.toml", "[webex.http]\ntimeout = 3\n")?;
            let err = Config::load(Some(Path::new("typo.toml"))).unwrap_err().to_string();
            assert!(err.contains("timeout"), "{err}");
            Ok(())
        });
        let zero = HttpLimitsConfig { timeout_seconds: 0, ..HttpLimitsConfig::default() };
        assert!(zero.limits("webex.http").unwrap_err().to_string().contains("webex.http.timeout_seconds must be at least 1"));
        let tiny = HttpLimitsConfig { max_answer_bytes: 100, ..HttpLimitsConfig::default() };
        assert!(tiny.limits("connect.http").unwrap_err().to_string().contains("connect.http.max_answer_bytes"));
    }

    #[test]
    fn a_calendar_watcher_may_not_be_called_stale_sooner_than_one_request_may_take() {
        Jail::expect_with(|jail| {
            let base = "[cms]\nusername = \"u\"\npassword = \"p\"\n[[cms.nodes]]\nname = \"cb1\"\nurl = \"https://cb1.example.com:445\"\n\
                        [calendar]\nenabled = true\news_url = \"https://ews.example.com/EWS/Exchange.asmx\"\news_user = \"svc\"\n";
            jail.set_env("SWITCHBOARD_CALENDAR__SECRETS_KEY", switchboard::secret::SecretBox::generate_key());
            jail.create_file("stale.toml", &format!("{base}worker_stale_seconds = 30\n"))?;
            let err = Config::load(Some(Path::new("stale.toml"))).unwrap_err().to_string();
            assert!(err.contains("calendar.worker_stale_seconds") && err.contains("calendar.http.timeout_seconds"), "{err}");
            jail.create_file("ok.toml", &format!("{base}worker_stale_seconds = 120\n"))?;
            let c = Config::load(Some(Path::new("ok.toml"))).map_err(|e| e.to_string())?;
            let s = c.calendar_settings().map_err(|e| e.to_string())?.expect("the calendar is on");
            assert_eq!((s.stale_after, s.http.request_timeout), (Duration::from_secs(120), Duration::from_secs(30)));
            Ok(())
        });
    }
}
