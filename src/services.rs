//! The composition root of the domain: every service, built once from a store and the CMS
//! cluster, handed to the web layer (which only calls their methods). No tasks start here: the
//! server's `workers` module starts what must run in the background.

use crate::auth::Users;
use crate::banner::BannerService;
use crate::branding::BrandingService;
use crate::cdr::CdrService;
use crate::cms::CmsCluster;
use crate::incident::{IncidentConfig, IncidentService, WebexAccess};
use crate::lobby::LobbyService;
use crate::outbound::{BoundedOAuthHttp, HttpLimits};
use crate::retention::{Retention, RetentionPolicy};
use crate::status::{Area, StatusService};
use crate::store::{AuditLog, Store, StoreError};
use crate::webex::oauth::OAuthConfig;
use crate::webex::{ConnectApi, OrgGrant, PendingLogins, SecretBox, WebexApi, WebexOAuth};
use crate::workers::Workers;
use std::sync::Arc;

/// What demo mode lets people do to the simulated world, to see Switchboard react.
pub trait DemoControl: Send + Sync {
    /// A web-app guest with a fresh name joins the call; returns the name.
    fn guest_joins(&self, call_id: &str) -> Result<String, String>;
}

/// Everything the web layer may use. Cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub status: Arc<StatusService>,
    pub audit: AuditLog,
    pub users: Users,
    /// Live calls from CDRs.
    pub calls: Arc<CdrService>,
    pub banners: Arc<BannerService>,
    pub lobby: Arc<LobbyService>,
    pub branding: BrandingService,
    pub retention: Arc<Retention>,
    /// The CMS cluster, when nodes are configured.
    pub cms: Option<Arc<CmsCluster>>,
    /// Only in demo mode.
    pub demo: Option<Arc<dyn DemoControl>>,
    pub workers: Workers,
    /// Webex sign-in and incident rooms, when Webex is configured.
    pub webex: Option<Arc<WebexServices>>,
    /// Calendar join details, when configured (needs CMS).
    pub calendar: Option<Arc<crate::calendar::Calendar>>,
}

/// Webex, when configured: the OAuth integration (both kinds of login), who may sign in, the
/// key that seals tokens, and the incident rooms.
pub struct WebexServices {
    pub oauth: WebexOAuth,
    /// Logins between the redirect to Webex and the callback (in memory, bounded).
    pub pending: PendingLogins,
    pub api: WebexApi,
    pub access: WebexAccess,
    pub secrets: SecretBox,
    pub incidents: Arc<IncidentService>,
    /// How often the org directory is reloaded.
    pub directory_refresh: std::time::Duration,
}

/// Logins under way held at most (a few hundred bytes each); beyond it the oldest is dropped.
const PENDING_LOGINS_MAX: std::num::NonZeroUsize = match std::num::NonZeroUsize::new(10_000) {
    Some(n) => n,
    None => panic!("a capacity above zero"),
};

/// How to reach Webex and Webex Connect, and the incident settings.
pub struct WebexSettings {
    pub oauth: OAuthConfig,
    /// `https://webexapis.com/v1`
    pub api_base: String,
    pub secrets: SecretBox,
    pub access: WebexAccess,
    /// Webex Connect base URL and service key; `None`: no SMS or voice.
    pub connect: Option<(String, String)>,
    pub incident: IncidentConfig,
    pub directory_refresh: std::time::Duration,
    /// Timeouts and answer cap of the Webex API and its token endpoint.
    pub http: HttpLimits,
    /// The same for Webex Connect.
    pub connect_http: HttpLimits,
}

/// How to build the services.
pub struct ServicesConfig {
    /// "demo" or "production", as the dashboard shows it.
    pub mode: &'static str,
    /// Hours of stored CDRs replayed into the live state at start.
    pub rebuild_hours: i64,
    /// CDR POSTs committed together at most (group commit; 1 = each alone).
    pub cdr_group_batches: usize,
    pub retention: RetentionPolicy,
    pub webex: Option<WebexSettings>,
    pub calendar: Option<crate::calendar::CalendarSettings>,
}

impl Services {
    /// Builds every service and rebuilds the live call state from the stored CDRs.
    pub async fn build(
        store: Store,
        cms: Option<Arc<CmsCluster>>,
        demo: Option<Arc<dyn DemoControl>>,
        cfg: ServicesConfig,
    ) -> Result<Self, StoreError> {
        let workers = Workers::new();
        let audit = AuditLog::new(store.clone());
        let calls = Arc::new(CdrService::with_group_limit(store.clone(), cfg.cdr_group_batches));
        let replayed = calls.rebuild(cfg.rebuild_hours).await?;
        if replayed > 0 {
            tracing::info!(records = replayed, "live call state rebuilt from stored CDRs");
        }
        let banners = Arc::new(BannerService::load(store.clone(), calls.clone()).await?);
        let lobby = Arc::new(LobbyService::new(calls.clone(), cms.clone(), audit.clone(), workers.shutdown_token()));
        let retention = Arc::new(Retention::new(store.clone(), cfg.retention));
        let calendar = match (cfg.calendar, &cms) {
            (Some(c), Some(cluster)) => {
                Some(Arc::new(crate::calendar::Calendar::build(store.clone(), cluster.clone(), c).map_err(StoreError::Config)?))
            }
            (Some(_), None) => return Err(StoreError::Config("calendar: join details need CMS nodes ([[cms.nodes]])".into())),
            (None, _) => None,
        };
        let webex = match cfg.webex {
            Some(w) => Some(Arc::new(WebexServices::build(store.clone(), audit.clone(), w)?)),
            None => None,
        };
        Ok(Self {
            status: Arc::new(StatusService::new(
                store.clone(),
                workers.clone(),
                retention.clone(),
                cfg.mode,
                cms.as_deref(),
                webex.as_ref().map(|w| w.incidents.grant_handle()),
                areas(calendar.is_some(), webex.is_some()),
            )),
            retention,
            users: Users::new(store.clone()),
            branding: BrandingService::new(store),
            audit,
            calls,
            banners,
            lobby,
            cms,
            demo,
            workers,
            webex,
            calendar,
        })
    }

    /// The incident rooms, or the reason they are not available.
    pub fn incidents(&self) -> Option<&Arc<IncidentService>> {
        self.webex.as_ref().map(|w| &w.incidents)
    }
}

/// Every area of Switchboard, in the dashboard's order; calendar and incidents only when built.
fn areas(calendar: bool, incidents: bool) -> Vec<Area> {
    vec![
        Area::always("Calls & banners", "/calls", "live calls from CDRs, security banners in calls.", &["cdr-", "banner-"]),
        Area::always("Lobby", "/lobby", "who waits, admit one or many.", &[]),
        Area::always("Branding", "/branding", "invitation templates and files CMS fetches.", &["branding-"]),
        Area {
            missing: (!calendar).then_some("[calendar] in the config file: Exchange and CMS nodes"),
            ..Area::always("Calendar", "/calendar", "join details in Exchange invites.", &["calendar-"])
        },
        Area {
            missing: (!incidents).then_some("[webex] in the config file"),
            ..Area::always("Incidents", "/incidents", "Webex incident rooms.", &["webex-", "incident-"])
        },
        Area::always("Settings", "/settings", "security banner rules.", &[]),
        Area::always("Audit log", "/audit", "every operator action (admins).", &[]),
    ]
}

impl WebexServices {
    fn build(store: Store, audit: AuditLog, w: WebexSettings) -> Result<Self, StoreError> {
        // No redirects (a token endpoint that redirects opens the door to SSRF: oauth2's advice).
        let client = |l: &HttpLimits| l.client().map_err(|e| StoreError::Config(e.to_string()));
        let http = client(&w.http)?;
        let oauth =
            WebexOAuth::new(&w.oauth, BoundedOAuthHttp::new(http.clone(), w.http)).map_err(|e| StoreError::Config(e.to_string()))?;
        let api = WebexApi::new(http, &w.api_base).with_limits(w.http);
        let grant = Arc::new(OrgGrant::new(store.clone(), w.secrets.clone(), oauth.clone(), api.clone(), audit.clone()));
        let connect = match w.connect {
            Some((url, key)) => Some(ConnectApi::new(client(&w.connect_http)?, &url, &key).with_limits(w.connect_http)),
            None => None,
        };
        let ack_key = w.secrets.derive("incident-ack");
        let incidents = Arc::new(IncidentService::new(store, audit, grant, api.clone(), connect, w.incident, ack_key));
        let pending = PendingLogins::new(PENDING_LOGINS_MAX, crate::webex::oauth::PENDING_LIFETIME);
        Ok(Self { oauth, pending, api, access: w.access, secrets: w.secrets, incidents, directory_refresh: w.directory_refresh })
    }
}
