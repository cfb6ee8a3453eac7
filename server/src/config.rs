//! Configuration: one TOML file (see `switchboard.example.toml`), every key overridable by a
//! `SWITCHBOARD_<SECTION>__<KEY>` environment variable. Errors name the offending key.

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
    pub retention: RetentionConfig,
    pub webex: WebexConfig,
    pub connect: ConnectConfig,
    pub calendar: CalendarConfig,
}

/// Calendar join details (`@cms` in an Outlook meeting's Location).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CalendarConfig {
    pub enabled: bool,
    pub keyword: String,
    pub remove_when_keyword_gone: bool,
    /// Log what would be written instead of writing.
    pub dry_run: bool,
    /// Appended to bare space URIs (`ann.space` → `ann.space@<sip_domain>`).
    pub sip_domain: String,
    /// Dial-in numbers shown in the invitation.
    pub dial_in: Vec<String>,
    pub language: String,
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EwsAuth {
    Basic,
    Ntlm,
}

impl Default for CalendarConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            keyword: "@cms".into(),
            remove_when_keyword_gone: true,
            dry_run: false,
            sip_domain: String::new(),
            dial_in: vec![],
            language: "en".into(),
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
            graph_login_url: "https://login.microsoftonline.com".into(),
            graph_api_url: "https://graph.microsoft.com/v1.0".into(),
        }
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

impl Config {
    /// The calendar part of the services, or `None` when off.
    pub fn calendar_settings(&self) -> Result<Option<switchboard::calendar::CalendarSettings>, ConfigError> {
        let c = &self.calendar;
        if !c.enabled {
            return Ok(None);
        }
        if self.cms.nodes.is_empty() {
            return Err(ConfigError::Invalid("calendar.enabled needs CMS nodes ([[cms.nodes]]) to read users and spaces from".into()));
        }
        let ews = if c.ews_url.trim().is_empty() {
            None
        } else {
            if c.ews_user.trim().is_empty() {
                return Err(ConfigError::Invalid(
                    "calendar.ews_url needs calendar.ews_user (and SWITCHBOARD_CALENDAR__EWS_PASSWORD)".into(),
                ));
            }
            Some(switchboard::calendar::EwsSettings {
                url: c.ews_url.clone(),
                user: c.ews_user.clone(),
                password: c.ews_password.0.clone(),
                ntlm: c.ews_auth == EwsAuth::Ntlm,
                domains: c.ews_domains.clone(),
            })
        };
        let graph = if c.graph_tenant.trim().is_empty() {
            None
        } else {
            if c.graph_client_id.trim().is_empty() || c.graph_client_secret.0.is_empty() {
                return Err(ConfigError::Invalid(
                    "calendar.graph_tenant needs calendar.graph_client_id (and SWITCHBOARD_CALENDAR__GRAPH_CLIENT_SECRET)".into(),
                ));
            }
            if !c.graph_tenant.trim().chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '.' || ch == '-') {
                return Err(ConfigError::Invalid(
                    "calendar.graph_tenant is the tenant id (a GUID) or its domain (contoso.onmicrosoft.com)".into(),
                ));
            }
            if ews.is_some() && c.graph_domains.is_empty() {
                return Err(ConfigError::Invalid(
                    "with both EWS and Graph, calendar.graph_domains must list the mailbox domains in Exchange Online".into(),
                ));
            }
            Some(switchboard::calendar::GraphSettings {
                token_url: format!("{}/{}/oauth2/v2.0/token", c.graph_login_url.trim_end_matches('/'), c.graph_tenant.trim()),
                api_url: c.graph_api_url.clone(),
                client_id: c.graph_client_id.clone(),
                client_secret: c.graph_client_secret.0.clone(),
                domains: c.graph_domains.clone(),
                poll_interval: std::time::Duration::from_secs(c.graph_poll_seconds.clamp(5, 3600)),
                notification_url: graph_notification_url(&c.graph_notification_url)?,
            })
        };
        if ews.is_none() && graph.is_none() {
            return Err(ConfigError::Invalid(
                "calendar.enabled needs Exchange: calendar.ews_url and calendar.ews_user (on premises) and/or calendar.graph_tenant and calendar.graph_client_id (Exchange Online)".into(),
            ));
        }
        let schedule = switchboard::calendar::schedule::Daily::parse(&c.sync_at, &c.sync_time_zone)
            .map_err(|e| ConfigError::Invalid(format!("calendar.sync_at / sync_time_zone: {e}")))?;
        Ok(Some(switchboard::calendar::CalendarSettings {
            calendar: switchboard::calendar::service::CalendarConfig {
                keyword: c.keyword.clone(),
                remove_when_keyword_gone: c.remove_when_keyword_gone,
                dry_run: c.dry_run,
                sip_domain: c.sip_domain.clone(),
                dial_in: c.dial_in.clone(),
                language: c.language.clone(),
            },
            sync: switchboard::calendar::users::SyncConfig {
                mail_domain: c.mail_domain.clone(),
                space_suffix: c.space_suffix.clone(),
                web_app_url: c.web_app_url.clone(),
                concurrency: self.cms.max_concurrency.clamp(1, 16),
            },
            schedule,
            ews,
            graph,
        }))
    }
}

/// Webex: the OAuth integration (sign-in and the org admin grant) and the incident rooms.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebexConfig {
    /// Webex sign-in and incident rooms are on.
    pub enabled: bool,
    pub client_id: String,
    pub client_secret: Secret,
    /// The REST API base.
    pub api_url: String,
    /// Defaults: `<api_url>/authorize` and `<api_url>/access_token`.
    pub authorize_url: Option<String>,
    pub token_url: Option<String>,
    /// 32 random bytes in base64 that seal Webex tokens at rest (`openssl rand -base64 32`). Keep it
    /// out of the file: `SWITCHBOARD_WEBEX__SECRETS_KEY`. Changing it means connecting the org again.
    pub secrets_key: Option<Secret>,
    /// Only people of this Webex org may sign in; empty: the org of the admin grant.
    pub org_id: Option<String>,
    /// Roles by Webex admin role, checked first: the role's id as `/people` returns it in `roles`,
    /// or the name inside it: `{ "id_full_admin" = "admin", "id_readonly_admin" = "viewer" }`.
    pub admin_roles: std::collections::BTreeMap<String, String>,
    /// Role of Webex org administrators who sign in ("admin", "operator", "viewer"; none: not allowed).
    pub org_admins_role: Option<String>,
    /// Roles by email address, then by email domain: `{ "ann@example.com" = "admin" }`.
    pub emails: std::collections::BTreeMap<String, String>,
    pub domains: std::collections::BTreeMap<String, String>,
    /// Spaces offered for incidents: group spaces whose title starts with this.
    pub space_prefix: String,
    /// Only members of this space may run incidents.
    pub responders_space: String,
    /// Which Webex phone number type internal responders are texted and called on.
    pub sms_phone_type: String,
    pub voice_phone_type: String,
    /// Region for numbers typed without a country code (two letters).
    pub default_region: String,
    /// Hours between reloads of the org directory.
    pub directory_refresh_hours: u64,
    /// Notifications in flight at once.
    pub concurrency: usize,
    /// Attempts of one notification (Webex message, SMS or call) while the service throttles,
    /// fails with 5xx or cannot be reached, before it is marked failed with the reason (backoff
    /// 1 s, 2 s, 4 s … or the `Retry-After` between them).
    pub max_attempts: u32,
}

impl Default for WebexConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            client_id: String::new(),
            client_secret: Secret::default(),
            api_url: "https://webexapis.com/v1".into(),
            authorize_url: None,
            token_url: None,
            secrets_key: None,
            org_id: None,
            admin_roles: Default::default(),
            org_admins_role: None,
            emails: Default::default(),
            domains: Default::default(),
            space_prefix: "Response".into(),
            responders_space: "Incident_Responders_Members".into(),
            sms_phone_type: "mobile".into(),
            voice_phone_type: "mobile".into(),
            default_region: "US".into(),
            directory_refresh_hours: 24,
            concurrency: 32,
            max_attempts: 8,
        }
    }
}

/// Webex Connect (SMS and voice for incidents).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectConfig {
    /// The messaging API base (`/v1/sms/messages` is under it).
    pub url: String,
    /// The service key; empty: no SMS or voice.
    pub service_key: Option<Secret>,
    /// Sender numbers (E.164).
    pub sms_from: String,
    pub voice_from: String,
    pub voice: String,
    pub voice_language: String,
    pub voice_gender: String,
}

impl Default for ConnectConfig {
    fn default() -> Self {
        Self {
            url: "https://api-sandbox.imiconnect.io".into(),
            service_key: None,
            sms_from: String::new(),
            voice_from: String::new(),
            voice: "AriaNeural".into(),
            voice_language: "en-US".into(),
            voice_gender: "female".into(),
        }
    }
}

impl Config {
    /// The public base URL people's browsers (and responders' phones) use.
    /// `bound`: the address actually listened on (the configured port may be 0).
    pub fn public_base(&self, bound: Option<SocketAddr>) -> String {
        match &self.server.public_url {
            Some(u) if !u.trim().is_empty() => u.trim_end_matches('/').to_string(),
            _ => format!("http://{}", bound.unwrap_or(self.server.addr)),
        }
    }

    /// The Webex part of the services, or `None` when Webex is off. A missing or bad secrets
    /// key is an error here, at start-up.
    pub fn webex_settings(&self, bound: Option<SocketAddr>) -> Result<Option<switchboard::services::WebexSettings>, ConfigError> {
        use switchboard::incident::{IncidentConfig, WebexAccess, WebexRoleRule};
        use switchboard::model::Role;
        let w = &self.webex;
        if !w.enabled {
            return Ok(None);
        }
        if w.client_id.trim().is_empty() || w.client_secret.0.trim().is_empty() {
            return Err(ConfigError::Invalid(
                "webex.enabled needs webex.client_id and webex.client_secret (SWITCHBOARD_WEBEX__CLIENT_SECRET)".into(),
            ));
        }
        let key = w.secrets_key.as_ref().filter(|k| !k.0.trim().is_empty()).ok_or_else(|| {
            ConfigError::Invalid(
                "webex.enabled needs webex.secrets_key to seal Webex tokens at rest: set SWITCHBOARD_WEBEX__SECRETS_KEY to the output of \
                 `openssl rand -base64 32`"
                    .into(),
            )
        })?;
        let secrets =
            switchboard::webex::SecretBox::from_base64(&key.0).map_err(|e| ConfigError::Invalid(format!("webex.secrets_key: {e}")))?;
        let role = |key: &str, v: &str| {
            v.parse::<Role>().map_err(|_| ConfigError::Invalid(format!("{key}: '{v}' is not a role (admin, operator, viewer)")))
        };
        let mut rules = Vec::new();
        // A specific admin role before "any admin role", so it can give a different role.
        for (admin_role, r) in &w.admin_roles {
            rules.push(WebexRoleRule::AdminRole(admin_role.clone(), role(&format!("webex.admin_roles.{admin_role}"), r)?));
        }
        if let Some(r) = &w.org_admins_role {
            rules.push(WebexRoleRule::OrgAdmins(role("webex.org_admins_role", r)?));
        }
        for (email, r) in &w.emails {
            rules.push(WebexRoleRule::Email(email.clone(), role(&format!("webex.emails.{email}"), r)?));
        }
        for (domain, r) in &w.domains {
            rules.push(WebexRoleRule::Domain(domain.clone(), role(&format!("webex.domains.{domain}"), r)?));
        }
        let region = switchboard::incident::phone::region(&w.default_region)
            .ok_or_else(|| ConfigError::Invalid(format!("webex.default_region: '{}' is not a two-letter region", w.default_region)))?;
        let api = w.api_url.trim_end_matches('/').to_string();
        let base = self.public_base(bound);
        let connect = self.connect.service_key.as_ref().filter(|k| !k.0.is_empty()).map(|k| (self.connect.url.clone(), k.0.clone()));
        Ok(Some(switchboard::services::WebexSettings {
            oauth: switchboard::webex::oauth::OAuthConfig {
                client_id: w.client_id.clone(),
                client_secret: w.client_secret.0.clone(),
                authorize_url: w.authorize_url.clone().unwrap_or_else(|| format!("{api}/authorize")),
                token_url: w.token_url.clone().unwrap_or_else(|| format!("{api}/access_token")),
                redirect_url: format!("{base}/auth/webex/callback"),
                org_scopes: switchboard::webex::oauth::OAuthConfig::default_org_scopes(),
                user_scopes: switchboard::webex::oauth::OAuthConfig::default_user_scopes(),
            },
            api_base: api,
            secrets,
            access: WebexAccess { org_id: w.org_id.clone().filter(|o| !o.is_empty()), rules },
            connect,
            incident: IncidentConfig {
                space_prefix: w.space_prefix.clone(),
                responders_space: w.responders_space.clone(),
                sms_phone_type: w.sms_phone_type.clone(),
                voice_phone_type: w.voice_phone_type.clone(),
                default_region: Some(region),
                sms_from: self.connect.sms_from.clone(),
                voice_from: self.connect.voice_from.clone(),
                public_url: base,
                concurrency: w.concurrency.max(1),
                max_attempts: i64::from(w.max_attempts.max(1)),
                voice: switchboard::webex::connect::Voice {
                    voice: self.connect.voice.clone(),
                    engine: "AZURE".into(),
                    language: self.connect.voice_language.clone(),
                    gender: self.connect.voice_gender.clone(),
                },
            },
            directory_refresh: std::time::Duration::from_secs(w.directory_refresh_hours.max(1) * 3600),
        }))
    }
}

/// How long each kind of record is kept; pruned in small batches by a background job.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    pub cdr_days: u32,
    pub dead_letter_days: u32,
    pub dead_letter_max_rows: u32,
    pub banner_history_days: u32,
    pub gap_days: u32,
    pub audit_days: u32,
    pub interval_minutes: u64,
    pub batch_rows: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        let p = switchboard::retention::RetentionPolicy::default();
        Self {
            cdr_days: p.cdr_days,
            dead_letter_days: p.dead_letter_days,
            dead_letter_max_rows: p.dead_letter_max_rows,
            banner_history_days: p.banner_history_days,
            gap_days: p.gap_days,
            audit_days: p.audit_days,
            interval_minutes: 60,
            batch_rows: p.batch_rows,
        }
    }
}

impl RetentionConfig {
    pub fn policy(&self, rebuild_hours: i64) -> switchboard::retention::RetentionPolicy {
        switchboard::retention::RetentionPolicy {
            cdr_days: self.cdr_days,
            dead_letter_days: self.dead_letter_days,
            dead_letter_max_rows: self.dead_letter_max_rows,
            banner_history_days: self.banner_history_days,
            gap_days: self.gap_days,
            audit_days: self.audit_days,
            rebuild_hours: u32::try_from(rebuild_hours.max(0)).unwrap_or(u32::MAX),
            batch_rows: self.batch_rows,
            interval: std::time::Duration::from_secs(self.interval_minutes.max(1) * 60),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CdrConfig {
    /// Where CMS POSTs CDRs.
    pub path: String,
    /// If set, CMS must add `?token=<this>` to the receiver URL.
    pub token: Option<Secret>,
    /// If not empty, only these addresses or networks (`10.1.2.3`, `10.0.0.0/8`) may post CDRs.
    pub allowed_sources: Vec<String>,
    /// Largest CDR POST accepted, in bytes (at most `server.max_body_bytes`).
    pub max_body_bytes: usize,
    /// At start, the live state is rebuilt from the records received in this many hours.
    pub rebuild_hours: i64,
    /// How often the live state is checked against the CMS API.
    pub reconcile_interval_seconds: u64,
    /// Most CDR POSTs committed to disk together (group commit). 1 commits each on its own
    /// (slower under load; the benchmark's baseline).
    pub max_group_batches: usize,
    /// Accept CDRs from anyone without a token. `serve` refuses to start with neither a token
    /// nor an allow-list unless this is set on purpose (forged CDRs drive banner PUTs).
    pub open: bool,
}

impl Default for CdrConfig {
    fn default() -> Self {
        Self {
            path: "/cdr".into(),
            token: None,
            allowed_sources: Vec::new(),
            max_body_bytes: 1024 * 1024,
            rebuild_hours: 24,
            reconcile_interval_seconds: 60,
            max_group_batches: 200,
            open: false,
        }
    }
}

impl CdrConfig {
    /// Whether anyone may post CDRs (no token, no allow-list).
    pub fn unguarded(&self) -> bool {
        self.token.as_ref().is_none_or(|t| t.0.is_empty()) && self.allowed_sources.is_empty()
    }

    /// `serve` mode: an unguarded receiver only when `cdr.open = true` was set on purpose.
    pub fn check_guarded(&self) -> Result<(), ConfigError> {
        if self.unguarded() && !self.open {
            return Err(ConfigError::Invalid(
                "cdr: anyone could post CDRs (and so make Switchboard change banners in calls). Set cdr.token \
                 (SWITCHBOARD_CDR__TOKEN) or cdr.allowed_sources, or cdr.open = true to accept that on purpose"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The allow-list, parsed; a bad entry is an error naming it.
    pub fn networks(&self) -> Result<Vec<ipnet::IpNet>, ConfigError> {
        self.allowed_sources
            .iter()
            .map(|s| {
                let s = s.trim();
                s.parse::<ipnet::IpNet>()
                    .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| ConfigError::Invalid(format!("cdr.allowed_sources: '{s}' is not an IP address or network")))
            })
            .collect()
    }
}

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
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// A `sqlite:` URL. Empty means `switchboard.db` in `server.data_dir`.
    pub url: Option<String>,
}

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

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CmsConfig {
    /// API user and password for every node, unless a node sets its own.
    pub username: String,
    pub password: Secret,
    /// Seconds before a CMS request is given up.
    pub timeout_seconds: u64,
    /// Requests in flight to one node at once.
    pub max_concurrency: usize,
    /// Extra attempts for idempotent requests after 5xx or connection errors.
    pub retries: usize,
    /// How often each node's health is checked.
    pub health_interval_seconds: u64,
    /// The URL CMS should POST CDRs to (how CMS reaches Switchboard, e.g.
    /// `http://switchboard.example.com:3000/cdr`). With `register_cdr_receiver`, Switchboard adds
    /// it to every node's `/system/cdrReceivers` at start, unless already there.
    pub cdr_receiver_url: Option<String>,
    pub register_cdr_receiver: bool,
    pub nodes: Vec<CmsNodeConfig>,
}

impl Default for CmsConfig {
    fn default() -> Self {
        Self {
            username: String::new(),
            password: Secret::default(),
            timeout_seconds: 10,
            max_concurrency: 32,
            retries: 3,
            health_interval_seconds: 30,
            cdr_receiver_url: None,
            register_cdr_receiver: false,
            nodes: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CmsNodeConfig {
    pub name: String,
    /// Base URL of the API, e.g. `https://cb1.example.com:445` (`/api/v1` is added).
    pub url: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    /// PEM file of the CA (or self-signed certificate) to trust for this node.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Skip certificate checks entirely. Labs only; logged loudly.
    #[serde(default)]
    pub insecure: bool,
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
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self { idle_timeout_minutes: 60, absolute_timeout_hours: 12, max_failures: 5, failure_window_seconds: 60 }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {0} does not exist")]
    Missing(PathBuf),
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Environment variables that are read elsewhere and are not config keys.
const NOT_CONFIG_KEYS: &[&str] = &["admin_password", "log"];

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
        let cfg: Config = fig.extract().map_err(|e| ConfigError::Invalid(describe(e)))?;
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.auth.max_failures == 0 {
            return Err(ConfigError::Invalid("auth.max_failures must be at least 1".into()));
        }
        let r = &self.retention;
        for (key, v) in [
            ("retention.cdr_days", u64::from(r.cdr_days)),
            ("retention.dead_letter_days", u64::from(r.dead_letter_days)),
            ("retention.dead_letter_max_rows", u64::from(r.dead_letter_max_rows)),
            ("retention.banner_history_days", u64::from(r.banner_history_days)),
            ("retention.gap_days", u64::from(r.gap_days)),
            ("retention.audit_days", u64::from(r.audit_days)),
            ("retention.interval_minutes", r.interval_minutes),
            ("retention.batch_rows", u64::from(r.batch_rows)),
        ] {
            if v == 0 {
                return Err(ConfigError::Invalid(format!("{key} must be at least 1")));
            }
        }
        if self.auth.absolute_timeout_hours == 0 {
            return Err(ConfigError::Invalid("auth.absolute_timeout_hours must be at least 1".into()));
        }
        if self.auth.idle_timeout_minutes == 0 {
            return Err(ConfigError::Invalid("auth.idle_timeout_minutes must be at least 1".into()));
        }
        for (i, n) in self.cms.nodes.iter().enumerate() {
            if !(n.url.starts_with("http://") || n.url.starts_with("https://")) {
                return Err(ConfigError::Invalid(format!("cms.nodes[{i}].url must start with http:// or https:// (got '{}')", n.url)));
            }
            if n.username.as_deref().unwrap_or(&self.cms.username).is_empty() {
                return Err(ConfigError::Invalid(format!("cms.nodes[{i}] has no API user: set cms.username or cms.nodes[{i}].username")));
            }
        }
        if let Some(u) = &self.server.public_url {
            if !(u.starts_with("http://") || u.starts_with("https://")) || u.trim_end_matches('/').matches('/').count() != 2 {
                return Err(ConfigError::Invalid(format!(
                    "server.public_url must be a scheme and host, like https://switchboard.example.com (got '{u}')"
                )));
            }
        }
        for (key, v) in [
            ("server.header_timeout_seconds", self.server.header_timeout_seconds),
            ("server.request_timeout_seconds", self.server.request_timeout_seconds),
        ] {
            if v == 0 {
                return Err(ConfigError::Invalid(format!("{key} must be at least 1")));
            }
        }
        if !self.cdr.path.starts_with('/') || self.cdr.path.len() < 2 {
            return Err(ConfigError::Invalid(format!("cdr.path must start with / (got '{}')", self.cdr.path)));
        }
        if self.cdr.max_body_bytes > self.server.max_body_bytes {
            return Err(ConfigError::Invalid("cdr.max_body_bytes must not exceed server.max_body_bytes".into()));
        }
        self.cdr.networks()?;
        self.webex_settings(None)?;
        self.calendar_settings()?;
        if self.cms.register_cdr_receiver && self.cms.cdr_receiver_url.is_none() {
            return Err(ConfigError::Invalid("cms.register_cdr_receiver needs cms.cdr_receiver_url".into()));
        }
        Ok(())
    }

    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(u) if !u.trim().is_empty() => u.clone(),
            _ => switchboard::store::sqlite_url_for(&self.server.data_dir.join("switchboard.db")),
        }
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
// figment's `Jail` closures return its own (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;

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
    fn defaults_apply_without_a_file() {
        Jail::expect_with(|_| {
            let c = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(c.server.addr.port(), 3000);
            assert_eq!(c.auth.max_failures, 5);
            assert!(c.database_url().ends_with("data/switchboard.db"));
            Ok(())
        });
    }

    #[test]
    fn file_values_are_overridden_by_environment_variables() {
        Jail::expect_with(|jail| {
            jail.create_file("s.toml", "[server]\naddr = \"127.0.0.1:4000\"\n[auth]\nmax_failures = 3\n")?;
            jail.set_env("SWITCHBOARD_AUTH__MAX_FAILURES", "7");
            jail.set_env("SWITCHBOARD_ADMIN_PASSWORD", "not-a-config-key");
            let c = Config::load(Some(Path::new("s.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(c.server.addr.port(), 4000);
            assert_eq!(c.auth.max_failures, 7);
            Ok(())
        });
    }

    #[test]
    fn a_bad_value_or_unknown_key_is_reported_by_name() {
        Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "[server]\naddr = \"nowhere\"\n")?;
            let err = Config::load(Some(Path::new("bad.toml"))).unwrap_err().to_string();
            assert!(err.contains("server.addr"), "{err}");

            jail.create_file("typo.toml", "[auth]\nidle_timeout = 5\n")?;
            let err = Config::load(Some(Path::new("typo.toml"))).unwrap_err().to_string();
            assert!(err.contains("idle_timeout"), "{err}");

            jail.create_file("cdr.toml", "[cdr]\nallowed_sources = [\"10.0.0.0/8\", \"cms.example.com\"]\n")?;
            let err = Config::load(Some(Path::new("cdr.toml"))).unwrap_err().to_string();
            assert!(err.contains("cdr.allowed_sources") && err.contains("cms.example.com"), "{err}");

            jail.create_file("cms.toml", "[cms]\nusername = \"api\"\n[[cms.nodes]]\nname = \"cb1\"\nurl = \"cb1:445\"\n")?;
            let err = Config::load(Some(Path::new("cms.toml"))).unwrap_err().to_string();
            assert!(err.contains("cms.nodes[0].url"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        Jail::expect_with(|jail| {
            jail.set_env("SWITCHBOARD_CMS__PASSWORD", "hunter2-secret");
            let c = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(c.cms.password.0, "hunter2-secret");
            assert!(!format!("{c:?}").contains("hunter2"));
            Ok(())
        });
    }

    #[test]
    fn webex_without_a_usable_secrets_key_stops_start_up_with_the_reason() {
        Jail::expect_with(|jail| {
            jail.create_file("w.toml", "[webex]\nenabled = true\nclient_id = \"c\"\nclient_secret = \"s\"\n")?;
            let err = Config::load(Some(Path::new("w.toml"))).unwrap_err().to_string();
            assert!(err.contains("webex.secrets_key") && err.contains("SWITCHBOARD_WEBEX__SECRETS_KEY"), "{err}");
            jail.set_env("SWITCHBOARD_WEBEX__SECRETS_KEY", "c2hvcnQ=");
            let err = Config::load(Some(Path::new("w.toml"))).unwrap_err().to_string();
            assert!(err.contains("decodes to 5 bytes"), "{err}");
            jail.set_env("SWITCHBOARD_WEBEX__SECRETS_KEY", switchboard::webex::SecretBox::generate_key());
            let c = Config::load(Some(Path::new("w.toml"))).map_err(|e| e.to_string())?;
            assert!(!format!("{c:?}").contains(&c.webex.secrets_key.clone().unwrap().0), "the key never shows in Debug");
            jail.create_file(
                "r.toml",
                "[webex]\nenabled = true\nclient_id = \"c\"\nclient_secret = \"s\"\ndomains = { \"example.com\" = \"boss\" }\n",
            )?;
            let err = Config::load(Some(Path::new("r.toml"))).unwrap_err().to_string();
            assert!(err.contains("webex.domains.example.com") && err.contains("'boss' is not a role"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn webex_admin_roles_map_to_switchboard_roles_before_the_any_admin_rule() {
        use switchboard::incident::WebexRoleRule;
        use switchboard::model::Role;
        Jail::expect_with(|jail| {
            jail.set_env("SWITCHBOARD_WEBEX__SECRETS_KEY", switchboard::webex::SecretBox::generate_key());
            jail.create_file(
                "w.toml",
                "[webex]\nenabled = true\nclient_id = \"c\"\nclient_secret = \"s\"\norg_admins_role = \"operator\"\n\
                 admin_roles = { \"id_full_admin\" = \"admin\", \"id_readonly_admin\" = \"viewer\" }\n\
                 domains = { \"example.com\" = \"viewer\" }\n",
            )?;
            let c = Config::load(Some(Path::new("w.toml"))).map_err(|e| e.to_string())?;
            let access = c.webex_settings(None).map_err(|e| e.to_string())?.expect("webex is on").access;
            assert_eq!(
                access.rules,
                vec![
                    WebexRoleRule::AdminRole("id_full_admin".into(), Role::Admin),
                    WebexRoleRule::AdminRole("id_readonly_admin".into(), Role::Viewer),
                    WebexRoleRule::OrgAdmins(Role::Operator),
                    WebexRoleRule::Domain("example.com".into(), Role::Viewer),
                ]
            );
            jail.create_file(
                "bad.toml",
                "[webex]\nenabled = true\nclient_id = \"c\"\nclient_secret = \"s\"\nadmin_roles = { \"id_full_admin\" = \"root\" }\n",
            )?;
            let err = Config::load(Some(Path::new("bad.toml"))).unwrap_err().to_string();
            assert!(err.contains("webex.admin_roles.id_full_admin") && err.contains("'root' is not a role"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn a_missing_file_is_named() {
        Jail::expect_with(|_| {
            let err = Config::load(Some(Path::new("nope.toml"))).unwrap_err().to_string();
            assert!(err.contains("nope.toml"));
            Ok(())
        });
    }

    #[test]
    fn the_annotated_example_parses() {
        let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../switchboard.example.toml");
        Jail::expect_with(|_| {
            Config::load(Some(Path::new(example))).map_err(|e| e.to_string())?;
            Ok(())
        });
    }
}
