//! `[webex]`: the Webex integration — OAuth (sign-in and the org admin grant), who may sign
//! in with which role, the key that seals tokens at rest, and the incident rooms; builds the
//! Webex settings the domain makes its clients from (with `[connect]` for SMS and voice).

use super::{ConfigError, ConnectConfig, HttpLimitsConfig, Secret};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use switchboard::incident::{IncidentConfig, WebexAccess, WebexRoleRule};
use switchboard::model::Role;
use switchboard::services::WebexSettings;
use switchboard::webex::oauth::OAuthConfig;
use switchboard::webex::SecretBox;

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
    pub admin_roles: BTreeMap<String, String>,
    /// Role of Webex org administrators who sign in ("admin", "operator", "viewer"; none: not allowed).
    pub org_admins_role: Option<String>,
    /// Roles by email address, then by email domain: `{ "ann@example.com" = "admin" }`.
    pub emails: BTreeMap<String, String>,
    pub domains: BTreeMap<String, String>,
    /// Spaces offered for incidents: group spaces whose title starts with this.
    pub space_prefix: String,
    /// The room id of the Webex space whose members may run incidents, until an admin chooses
    /// one on the Incidents page (that choice wins). Unset and not chosen: nobody runs incidents.
    pub responders_space_id: Option<String>,
    /// No longer read (a title names no one space: anyone can make one with the same title);
    /// set, it stops start-up with the way out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responders_space: Option<String>,
    /// Which Webex phone number type internal responders are texted and called on.
    pub sms_phone_type: String,
    pub voice_phone_type: String,
    /// Region for numbers typed without a country code (two letters).
    pub default_region: String,
    /// Hours between reloads of the org directory.
    pub directory_refresh_hours: u64,
    /// Notifications in flight at once.
    pub concurrency: usize,
    /// A Webex-signed-in person's roles are asked of Webex again at most this often (seconds;
    /// also at every sign-in): someone removed from an admin role loses it within this time.
    pub role_recheck_seconds: u64,
    /// Attempts of one notification (Webex message, SMS or call) while the service throttles,
    /// fails with 5xx or cannot be reached, before it is marked failed with the reason (backoff
    /// 1 s, 2 s, 4 s … or the `Retry-After` between them).
    pub max_attempts: u32,
    /// `[webex.http]`: timeouts and answer cap of requests to the Webex API and its token endpoint.
    pub http: HttpLimitsConfig,
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
            responders_space_id: None,
            responders_space: None,
            sms_phone_type: "mobile".into(),
            voice_phone_type: "mobile".into(),
            default_region: "US".into(),
            directory_refresh_hours: 24,
            concurrency: 32,
            max_attempts: 8,
            http: HttpLimitsConfig::default(),
            role_recheck_seconds: 600,
        }
    }
}

impl WebexConfig {
    /// The URLs this section sends tokens or the client secret to, by key (when Webex is on).
    pub(super) fn secret_bearing_urls(&self) -> Vec<(&'static str, &str)> {
        if !self.enabled {
            return Vec::new();
        }
        let mut urls = vec![("webex.api_url", self.api_url.as_str())];
        urls.extend(self.authorize_url.as_deref().map(|u| ("webex.authorize_url", u)));
        urls.extend(self.token_url.as_deref().map(|u| ("webex.token_url", u)));
        urls
    }

    /// The Webex part of the services, or `None` when Webex is off. A missing or bad secrets
    /// key is an error here, at start-up. `public_base`: how browsers and phones reach
    /// Switchboard (the OAuth callback and acknowledgement links are under it).
    pub fn settings(&self, connect: &ConnectConfig, public_base: String) -> Result<Option<WebexSettings>, ConfigError> {
        if !self.enabled {
            return Ok(None);
        }
        if self.client_id.trim().is_empty() || self.client_secret.0.trim().is_empty() {
            return Err(ConfigError::Invalid(
                "webex.enabled needs webex.client_id and webex.client_secret (SWITCHBOARD_WEBEX__CLIENT_SECRET)".into(),
            ));
        }
        let secrets = self.secrets()?;
        let rules = self.role_rules()?;
        let api = self.api_url.trim_end_matches('/').to_string();
        Ok(Some(WebexSettings {
            oauth: self.oauth(&api, &public_base),
            api_base: api,
            secrets,
            access: WebexAccess {
                org_id: self.org_id.clone().filter(|o| !o.is_empty()),
                rules,
                recheck_every: std::time::Duration::from_secs(self.role_recheck_seconds.max(1)),
            },
            connect: connect.client(),
            incident: self.incident(connect, public_base)?,
            directory_refresh: std::time::Duration::from_secs(self.directory_refresh_hours.max(1) * 3600),
            http: self.http.limits("webex.http")?,
            connect_http: connect.limits()?,
        }))
    }

    /// The key that seals tokens at rest: required, and 32 bytes.
    fn secrets(&self) -> Result<SecretBox, ConfigError> {
        let key = self.secrets_key.as_ref().filter(|k| !k.0.trim().is_empty()).ok_or_else(|| {
            ConfigError::Invalid(
                "webex.enabled needs webex.secrets_key to seal Webex tokens at rest: set SWITCHBOARD_WEBEX__SECRETS_KEY to the output of \
                 `openssl rand -base64 32`"
                    .into(),
            )
        })?;
        SecretBox::from_base64(&key.0).map_err(|e| ConfigError::Invalid(format!("webex.secrets_key: {e}")))
    }

    /// Who gets which role, in the order the rules are tried.
    fn role_rules(&self) -> Result<Vec<WebexRoleRule>, ConfigError> {
        let role = |key: &str, v: &str| {
            v.parse::<Role>().map_err(|_| ConfigError::Invalid(format!("{key}: '{v}' is not a role (admin, operator, viewer)")))
        };
        let mut rules = Vec::new();
        // A specific admin role before "any admin role", so it can give a different role.
        for (admin_role, r) in &self.admin_roles {
            rules.push(WebexRoleRule::AdminRole(admin_role.clone(), role(&format!("webex.admin_roles.{admin_role}"), r)?));
        }
        if let Some(r) = &self.org_admins_role {
            rules.push(WebexRoleRule::OrgAdmins(role("webex.org_admins_role", r)?));
        }
        for (email, r) in &self.emails {
            rules.push(WebexRoleRule::Email(email.clone(), role(&format!("webex.emails.{email}"), r)?));
        }
        for (domain, r) in &self.domains {
            rules.push(WebexRoleRule::Domain(domain.clone(), role(&format!("webex.domains.{domain}"), r)?));
        }
        Ok(rules)
    }

    /// The OAuth integration; the endpoints default to the API's own.
    fn oauth(&self, api: &str, public_base: &str) -> OAuthConfig {
        OAuthConfig {
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.0.clone(),
            authorize_url: self.authorize_url.clone().unwrap_or_else(|| format!("{api}/authorize")),
            token_url: self.token_url.clone().unwrap_or_else(|| format!("{api}/access_token")),
            redirect_url: format!("{public_base}/auth/webex/callback"),
            org_scopes: OAuthConfig::default_org_scopes(),
            user_scopes: OAuthConfig::default_user_scopes(),
        }
    }

    /// The incident rooms: which spaces, who responds, and how they are reached.
    fn incident(&self, connect: &ConnectConfig, public_base: String) -> Result<IncidentConfig, ConfigError> {
        if let Some(title) = &self.responders_space {
            return Err(ConfigError::Invalid(format!(
                "webex.responders_space = \"{title}\" names a space by its title, which anyone can copy: remove it, and choose the \
                 responders' space on the Incidents page (admins) or set webex.responders_space_id to its room id"
            )));
        }
        let region = switchboard::incident::phone::region(&self.default_region)
            .ok_or_else(|| ConfigError::Invalid(format!("webex.default_region: '{}' is not a two-letter region", self.default_region)))?;
        Ok(IncidentConfig {
            space_prefix: self.space_prefix.clone(),
            responders_space_id: self.responders_space_id.clone().filter(|id| !id.trim().is_empty()),
            sms_phone_type: self.sms_phone_type.clone(),
            voice_phone_type: self.voice_phone_type.clone(),
            default_region: Some(region),
            sms_from: connect.sms_from.clone(),
            voice_from: connect.voice_from.clone(),
            public_url: public_base,
            concurrency: self.concurrency.max(1),
            max_attempts: i64::from(self.max_attempts.max(1)),
            voice: connect.voice(),
        })
    }
}

#[cfg(test)]
// figment's `Jail` closures return its own (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use crate::config::Config;
    use figment::Jail;
    use std::path::Path;

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
    fn a_responders_space_named_by_title_stops_start_up_and_one_named_by_room_id_is_taken() {
        Jail::expect_with(|jail| {
            jail.set_env("SWITCHBOARD_WEBEX__SECRETS_KEY", switchboard::webex::SecretBox::generate_key());
            let base = "[webex]\nenabled = true\nclient_id = \"c\"\nclient_secret = \"s\"\n";
            jail.create_file("title.toml", &format!("{base}responders_space = \"Incident_Responders_Members\"\n"))?;
            let err = Config::load(Some(Path::new("title.toml"))).and_then(|c| c.webex_settings(None)).map(|_| ()).unwrap_err().to_string();
            assert!(err.contains("webex.responders_space") && err.contains("webex.responders_space_id"), "{err}");
            jail.create_file("id.toml", &format!("{base}responders_space_id = \"Y2lzY29zcGFyazovL3VzL1JPT00vMQ\"\n"))?;
            let c = Config::load(Some(Path::new("id.toml"))).map_err(|e| e.to_string())?;
            let incident = c.webex_settings(None).map_err(|e| e.to_string())?.expect("webex is on").incident;
            assert_eq!(incident.responders_space_id.as_deref(), Some("Y2lzY29zcGFyazovL3VzL1JPT00vMQ"));
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
}
