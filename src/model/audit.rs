//! What the audit log records: the closed set of actions, each stored as its stable string, and
//! who acted — a name and the identity provider that vouched for it, since a local user and a
//! Webex user may carry the same name.

crate::stable_strings! {
    /// One kind of operator or system action the audit log records.
    pub enum AuditAction("audit action") {
        BrandingDelete = "branding.delete",
        BrandingImport = "branding.import",
        BrandingTemplate = "branding.template",
        BrandingTenantCreate = "branding.tenant.create",
        BrandingUpload = "branding.upload",
        CalendarDryRun = "calendar.dry_run",
        CalendarTemplates = "calendar.templates",
        DemoGuestJoins = "demo.guest_joins",
        IncidentDeliveryResend = "incident.delivery.resend",
        IncidentChannel = "incident.channel",
        IncidentDirectory = "incident.directory",
        IncidentDirectoryExport = "incident.directory.export",
        IncidentExternalCreate = "incident.external.create",
        IncidentExternalUpdate = "incident.external.update",
        IncidentExternalDelete = "incident.external.delete",
        IncidentResponderAdd = "incident.responder.add",
        IncidentResponderRemove = "incident.responder.remove",
        IncidentRespondersSpace = "incident.responders_space",
        IncidentStart = "incident.start",
        IncidentStop = "incident.stop",
        IncidentTemplates = "incident.templates",
        LobbyAdmit = "lobby.admit",
        Login = "login",
        LoginWebex = "login.webex",
        LoginWebexRefresh = "login.webex.refresh",
        Logout = "logout",
        SettingsBanner = "settings.banner",
        WebexGrant = "webex.grant",
        WebexGrantRefresh = "webex.grant.refresh",
    }
}

crate::stable_strings! {
    /// Who vouched for an actor: Switchboard's own accounts, Webex sign-in, or Switchboard itself
    /// (background work).
    #[derive(Default)]
    pub enum IdentityProvider("identity provider") {
        #[default]
        Local = "local",
        Webex = "webex",
        System = "system",
    }
}

impl IdentityProvider {
    /// How the audit page names it.
    pub fn label(self) -> &'static str {
        match self {
            IdentityProvider::Local => "local account",
            IdentityProvider::Webex => "Webex",
            IdentityProvider::System => "Switchboard",
        }
    }
}

/// The actor as services pass it on to the audit log: a local user's name as it is
/// ("ann"), anyone else's after their provider ("webex:ann@example.com", "system:retention").
/// Local user names cannot contain ':', so the two never meet. Made by [`actor_key`] (or
/// `UserInfo::actor`), read back once by [`split_actor`] when the entry is recorded.
pub fn actor_key(provider: IdentityProvider, name: &str) -> String {
    match provider {
        IdentityProvider::Local => name.to_string(),
        p => format!("{}:{name}", p.as_str()),
    }
}

/// The provider and the name of an actor key (see [`actor_key`]).
pub fn split_actor(key: &str) -> (IdentityProvider, &str) {
    match key.split_once(':') {
        Some((p, name)) => match p.parse::<IdentityProvider>() {
            Ok(p) if p != IdentityProvider::Local => (p, name),
            _ => (IdentityProvider::Local, key),
        },
        None => (IdentityProvider::Local, key),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_actor_key_names_its_provider_so_a_local_and_a_webex_ann_differ() {
        let local = actor_key(IdentityProvider::Local, "ann@example.com");
        let webex = actor_key(IdentityProvider::Webex, "ann@example.com");
        assert_ne!(local, webex);
        assert_eq!(split_actor(&local), (IdentityProvider::Local, "ann@example.com"));
        assert_eq!(split_actor(&webex), (IdentityProvider::Webex, "ann@example.com"));
        assert_eq!(split_actor(&actor_key(IdentityProvider::System, "retention")), (IdentityProvider::System, "retention"));
        assert_eq!(split_actor("local:x"), (IdentityProvider::Local, "local:x"), "no second spelling of local");
        assert_eq!(split_actor("other:x"), (IdentityProvider::Local, "other:x"));
    }
}
