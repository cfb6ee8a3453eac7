//! What the audit log records: the closed set of actions, each stored as its stable string.

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
