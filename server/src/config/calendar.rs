//! `[calendar]`: join details in Exchange invitations — the domain's join-details keys
//! (`CalendarConfig`, flattened in), the daily CMS user sync, and Exchange (EWS on premises,
//! Graph online); builds the calendar's settings, from which the domain makes both clients.

use super::{ConfigError, HttpLimitsConfig, Secret};
use figment::Figment;
use serde::{Deserialize, Serialize};
use switchboard::calendar::service::CalendarConfig;
use switchboard::calendar::{CalendarSettings, EwsSettings, GraphSettings};

/// Calendar join details (`@cms` in an Outlook meeting's Location).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CalendarSection {
    pub enabled: bool,
    /// `keyword`, `remove_when_keyword_gone`, `dry_run`, `sip_domain`, `dial_in`, `language`.
    #[serde(flatten)]
    pub join: CalendarConfig,
    /// Mailbox of users without an email: `<JID local part>@<mail_domain>`.
    pub mail_domain: String,
    /// The sample's personal-space naming `<login>.<suffix>` (a fallback only).
    pub space_suffix: String,
    /// Web app base for join links (`https://join.example.com`).
    pub web_app_url: String,
    /// The daily CMS user sync: local time and time zone.
    pub sync_at: String,
    pub sync_time_zone: String,
    /// EWS (Exchange on premises): the URL, the impersonation account, and which mailbox
    /// domains it serves (empty: all).
    pub ews_url: String,
    pub ews_user: String,
    pub ews_password: Secret,
    /// `basic` or `ntlm` (for an Exchange where Basic is switched off; the user as `DOMAIN\\user`).
    pub ews_auth: EwsAuth,
    pub ews_domains: Vec<String>,
    /// Microsoft Graph (Exchange Online): the tenant, the app registration (application
    /// permission `Calendars.ReadWrite`), which mailbox domains it serves, and how often each
    /// mailbox's calendar delta is asked for.
    pub graph_tenant: String,
    pub graph_client_id: String,
    pub graph_client_secret: Secret,
    pub graph_domains: Vec<String>,
    pub graph_poll_seconds: u64,
    /// The public HTTPS URL of Switchboard's `/hooks/graph` (`https://switchboard.example.com/hooks/graph`):
    /// set, Graph change notifications wake the poller at once; empty, polling only.
    pub graph_notification_url: String,
    /// `https://login.microsoftonline.com` and `https://graph.microsoft.com/v1.0` (other clouds, the simulator).
    pub graph_login_url: String,
    pub graph_api_url: String,
    /// The key that seals the synced users' passcodes and space secrets at rest (32 bytes,
    /// base64; best from the environment: `SWITCHBOARD_CALENDAR__SECRETS_KEY`). Unset:
    /// `webex.secrets_key` when Webex is configured.
    pub secrets_key: Option<Secret>,
    /// `[calendar.http]`: timeouts and answer cap of every request to Exchange (EWS, NTLM, Graph
    /// and its token endpoint).
    pub http: HttpLimitsConfig,
    /// A watcher (an EWS stream group, the Graph poller) that shows no sign of life this long —
    /// no document on its stream (Exchange sends keep-alives), no answer, no round — is
    /// restarted by the supervisor (resubscribe and catch up). More than `http.timeout_seconds`.
    pub worker_stale_seconds: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EwsAuth {
    Basic,
    Ntlm,
}

impl Default for CalendarSection {
    fn default() -> Self {
        Self {
            enabled: false,
            join: CalendarConfig::default(),
            mail_domain: String::new(),
            space_suffix: "space".into(),
            web_app_url: String::new(),
            sync_at: "02:00".into(),
            sync_time_zone: "UTC".into(),
            ews_url: String::new(),
            ews_user: String::new(),
            ews_password: Secret::default(),
            ews_auth: EwsAuth::Basic,
            ews_domains: vec![],
            graph_tenant: String::new(),
            graph_client_id: String::new(),
            graph_client_secret: Secret::default(),
            graph_domains: vec![],
            graph_poll_seconds: 60,
            graph_notification_url: String::new(),
            secrets_key: None,
            graph_login_url: "https://login.microsoftonline.com".into(),
            graph_api_url: "https://graph.microsoft.com/v1.0".into(),
            http: HttpLimitsConfig::default(),
            worker_stale_seconds: 300,
        }
    }
}

/// serde reads the flattened keys from a buffer that has lost their names, so a bad value there
/// is reported against `calendar` only: asked for on their own, figment names the key.
pub(super) fn name_the_key(fig: &Figment, err: figment::Error) -> figment::Error {
    if err.path == ["calendar"] {
        if let Err(mut precise) = fig.extract_inner::<CalendarConfig>("calendar") {
            // `extract_inner` puts the section after the key; the section comes first.
            precise.path.retain(|k| k != "calendar");
            precise.path.insert(0, "calendar".into());
            return precise;
        }
    }
    err
}

impl CalendarSection {
    /// The URLs this section sends passwords or tokens to, by key (when the calendar is on).
    pub(super) fn secret_bearing_urls(&self) -> Vec<(&'static str, &str)> {
        if !self.enabled {
            return Vec::new();
        }
        vec![
            ("calendar.ews_url", &self.ews_url),
            ("calendar.graph_login_url", &self.graph_login_url),
            ("calendar.graph_api_url", &self.graph_api_url),
        ]
    }

    /// The calendar part of the services, or `None` when off. `cms`: the CMS section, whose
    /// nodes the users and spaces are read from and whose concurrency the sync keeps to.
    /// `webex_key`: `webex.secrets_key`, used when the calendar has no key of its own.
    pub fn settings(&self, cms: &super::CmsConfig, webex_key: Option<&Secret>) -> Result<Option<CalendarSettings>, ConfigError> {
        if !self.enabled {
            return Ok(None);
        }
        if cms.nodes.is_empty() {
            return Err(ConfigError::Invalid("calendar.enabled needs CMS nodes ([[cms.nodes]]) to read users and spaces from".into()));
        }
        let ews = self.ews()?;
        let graph = self.graph(ews.is_some())?;
        if ews.is_none() && graph.is_none() {
            return Err(ConfigError::Invalid(
                "calendar.enabled needs Exchange: calendar.ews_url and calendar.ews_user (on premises) and/or calendar.graph_tenant and calendar.graph_client_id (Exchange Online)".into(),
            ));
        }
        let secrets = Self::secrets(self.secrets_key.as_ref().or(webex_key))?;
        let schedule = switchboard::calendar::schedule::Daily::parse(&self.sync_at, &self.sync_time_zone)
            .map_err(|e| ConfigError::Invalid(format!("calendar.sync_at / sync_time_zone: {e}")))?;
        let http = self.http.limits("calendar.http")?;
        if self.worker_stale_seconds <= self.http.timeout_seconds {
            return Err(ConfigError::Invalid(format!(
                "calendar.worker_stale_seconds ({}) must be more than calendar.http.timeout_seconds ({}): a watcher waiting on one slow answer is not stalled",
                self.worker_stale_seconds, self.http.timeout_seconds
            )));
        }
        Ok(Some(CalendarSettings {
            calendar: self.join.clone(),
            sync: switchboard::calendar::users::SyncConfig {
                mail_domain: self.mail_domain.clone(),
                space_suffix: self.space_suffix.clone(),
                web_app_url: self.web_app_url.clone(),
                concurrency: cms.max_concurrency.clamp(1, 16),
            },
            schedule,
            ews,
            graph,
            secrets,
            http,
            stale_after: std::time::Duration::from_secs(self.worker_stale_seconds),
        }))
    }

    /// The vault key: required (passcodes are not kept in clear), and 32 bytes.
    fn secrets(key: Option<&Secret>) -> Result<switchboard::secret::SecretBox, ConfigError> {
        let key = key.filter(|k| !k.0.trim().is_empty()).ok_or_else(|| {
            ConfigError::Invalid(
                "calendar.enabled needs calendar.secrets_key (or webex.secrets_key) to seal CMS passcodes at rest: set \
                 SWITCHBOARD_CALENDAR__SECRETS_KEY to the output of `openssl rand -base64 32`"
                    .into(),
            )
        })?;
        switchboard::secret::SecretBox::from_base64(&key.0).map_err(|e| ConfigError::Invalid(format!("calendar.secrets_key: {e}")))
    }

    /// Exchange on premises, when `ews_url` is set.
    fn ews(&self) -> Result<Option<EwsSettings>, ConfigError> {
        if self.ews_url.trim().is_empty() {
            return Ok(None);
        }
        if self.ews_user.trim().is_empty() {
            return Err(ConfigError::Invalid("calendar.ews_url needs calendar.ews_user (and SWITCHBOARD_CALENDAR__EWS_PASSWORD)".into()));
        }
        Ok(Some(EwsSettings {
            url: self.ews_url.clone(),
            user: self.ews_user.clone(),
            password: self.ews_password.0.clone(),
            ntlm: self.ews_auth == EwsAuth::Ntlm,
            domains: self.ews_domains.clone(),
        }))
    }

    /// Exchange Online, when `graph_tenant` is set. `with_ews`: both are configured, so the
    /// mailbox domains must say which mailboxes are online.
    fn graph(&self, with_ews: bool) -> Result<Option<GraphSettings>, ConfigError> {
        if self.graph_tenant.trim().is_empty() {
            return Ok(None);
        }
        if self.graph_client_id.trim().is_empty() || self.graph_client_secret.0.is_empty() {
            return Err(ConfigError::Invalid(
                "calendar.graph_tenant needs calendar.graph_client_id (and SWITCHBOARD_CALENDAR__GRAPH_CLIENT_SECRET)".into(),
            ));
        }
        if !self.graph_tenant.trim().chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '.' || ch == '-') {
            return Err(ConfigError::Invalid(
                "calendar.graph_tenant is the tenant id (a GUID) or its domain (contoso.onmicrosoft.com)".into(),
            ));
        }
        if with_ews && self.graph_domains.is_empty() {
            return Err(ConfigError::Invalid(
                "with both EWS and Graph, calendar.graph_domains must list the mailbox domains in Exchange Online".into(),
            ));
        }
        Ok(Some(GraphSettings {
            token_url: format!("{}/{}/oauth2/v2.0/token", self.graph_login_url.trim_end_matches('/'), self.graph_tenant.trim()),
            api_url: self.graph_api_url.clone(),
            client_id: self.graph_client_id.clone(),
            client_secret: self.graph_client_secret.0.clone(),
            domains: self.graph_domains.clone(),
            poll_interval: std::time::Duration::from_secs(self.graph_poll_seconds.clamp(5, 3600)),
            notification_url: graph_notification_url(&self.graph_notification_url)?,
        }))
    }
}

/// Graph posts only to HTTPS; plain HTTP is allowed for a loopback host (demo, tests).
fn graph_notification_url(v: &str) -> Result<Option<String>, ConfigError> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let bad =
        || ConfigError::Invalid(format!("calendar.graph_notification_url must be the public https:// URL of /hooks/graph, not {v:?}"));
    let url: axum::http::Uri = v.parse().map_err(|_| bad())?;
    let loopback = matches!(url.host(), Some("localhost" | "127.0.0.1" | "[::1]"));
    let scheme = url.scheme_str().unwrap_or_default();
    if !(scheme == "https" || (scheme == "http" && loopback)) || url.path() != "/hooks/graph" {
        return Err(bad());
    }
    Ok(Some(v.to_string()))
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
    fn graph_notification_urls_must_be_https_to_hooks_graph_except_on_loopback() {
        assert_eq!(graph_notification_url("").unwrap(), None);
        assert!(graph_notification_url("https://sb.example.com/hooks/graph").unwrap().is_some());
        assert!(graph_notification_url("http://127.0.0.1:3000/hooks/graph").unwrap().is_some());
        for bad in ["http://sb.example.com/hooks/graph", "https://sb.example.com/hooks", "not a url", "ftp://127.0.0.1/hooks/graph"] {
            let e = graph_notification_url(bad).unwrap_err().to_string();
            assert!(e.contains("graph_notification_url"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_join_details_keys_are_read_into_the_domain_config_and_a_bad_one_is_named() {
        Jail::expect_with(|jail| {
            jail.create_file("c.toml", "[calendar]\nkeyword = \"#join\"\ndial_in = [\"+1 555\"]\nmail_domain = \"example.com\"\n")?;
            jail.set_env("SWITCHBOARD_CALENDAR__DRY_RUN", "true");
            let c = Config::load(Some(Path::new("c.toml"))).map_err(|e| e.to_string())?;
            assert_eq!((c.calendar.join.keyword.as_str(), c.calendar.join.dry_run), ("#join", true));
            assert_eq!(c.calendar.join.dial_in, vec!["+1 555".to_string()]);
            assert_eq!((c.calendar.join.language.as_str(), c.calendar.mail_domain.as_str()), ("en", "example.com"));

            jail.create_file("bad.toml", "[calendar]\nremove_when_keyword_gone = \"often\"\n")?;
            let err = Config::load(Some(Path::new("bad.toml"))).unwrap_err().to_string();
            assert!(err.contains("calendar.remove_when_keyword_gone"), "{err}");
            jail.create_file("typo.toml", "[calendar]\nkeywords = \"@cms\"\n")?;
            let err = Config::load(Some(Path::new("typo.toml"))).unwrap_err().to_string();
            assert!(err.contains("keywords"), "{err}");
            Ok(())
        });
    }
}
