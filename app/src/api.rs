//! Server functions shared by several pages, and the server-side context they run in.

use leptos::prelude::*;
use switchboard::model::{AuditPage, SystemStatus, UserInfo};

#[cfg(feature = "ssr")]
pub mod ssr {
    //! What server functions reach through Leptos context. Provided by the server crate.
    use leptos::prelude::*;
    use std::sync::{Arc, RwLock};
    use std::time::Instant;
    use switchboard::model::{ComponentStatus, Role, UserInfo};
    use switchboard::store::Store;

    /// Everything the UI's server functions may use. Cheap to clone.
    #[derive(Clone)]
    pub struct Services {
        pub store: Store,
        pub started: Instant,
        pub mode: &'static str,
        /// Health of each configured integration, kept fresh by background workers.
        pub integrations: Arc<RwLock<Vec<ComponentStatus>>>,
        /// The CMS cluster, when nodes are configured.
        pub cms: Option<Arc<switchboard::cms::CmsCluster>>,
        /// Live calls from CDRs.
        pub cdr: Arc<switchboard::cdr::CdrService>,
        /// Banner enforcement (only with a CMS cluster to talk to).
        pub enforcer: Option<Arc<switchboard::banner::enforcer::Enforcer>>,
        /// Admitting from the lobby (only with a CMS cluster).
        pub lobby: Option<Arc<switchboard::lobby::admit::LobbyService>>,
        /// Bulk admits in progress or recently done, by job id.
        pub admit_jobs: Arc<std::sync::Mutex<std::collections::HashMap<String, switchboard::model::AdmitJob>>>,
        /// Only in demo mode.
        pub demo: Option<Arc<dyn DemoControl>>,
        /// Branding host: CMS-facing lookups (cached), changes, request log.
        pub branding: switchboard::branding::BrandingService,
    }

    /// What demo mode lets people do to the simulated world, to see Switchboard react.
    pub trait DemoControl: Send + Sync {
        /// A web-app guest with a fresh name joins the call; returns the name.
        fn guest_joins(&self, call_id: &str) -> Result<String, String>;
    }

    pub fn services() -> Result<Services, ServerFnError> {
        use_context::<Services>().ok_or_else(|| ServerFnError::new("server context is missing"))
    }

    /// The signed-in user, put in the request by the server's session middleware.
    pub async fn current_user() -> Option<UserInfo> {
        leptos_axum::extract::<axum::Extension<UserInfo>>().await.ok().map(|axum::Extension(u)| u)
    }

    /// Refuses (401/403 with a readable reason) unless the session's role includes `required`.
    pub async fn require(required: Role) -> Result<UserInfo, ServerFnError> {
        let response = use_context::<leptos_axum::ResponseOptions>();
        let Some(user) = current_user().await else {
            if let Some(r) = &response {
                r.set_status(axum::http::StatusCode::UNAUTHORIZED);
            }
            return Err(ServerFnError::new("You are not signed in (or your session expired). Sign in again."));
        };
        if !user.role.allows(required) {
            if let Some(r) = &response {
                r.set_status(axum::http::StatusCode::FORBIDDEN);
            }
            return Err(ServerFnError::new(format!(
                "Your role ({}) may not do this; it needs {}.",
                user.role, required
            )));
        }
        Ok(user)
    }

    /// Logs the real cause and hands the page a message without internals.
    pub fn internal(context: &str, err: impl std::fmt::Display) -> ServerFnError {
        tracing::error!(%err, "{context}");
        ServerFnError::new(format!("{context} failed; the server log has details."))
    }
}

/// Demo mode only: a web-app guest joins the given call in the simulated CMS.
#[server]
pub async fn demo_guest_joins(call_id: String) -> Result<String, ServerFnError> {
    use switchboard::model::Role;
    use switchboard::store::{AuditRecord, AuditResult};
    let user = ssr::require(Role::Operator).await?;
    let s = ssr::services()?;
    let demo = s.demo.clone().ok_or_else(|| ServerFnError::new("Only available in demo mode."))?;
    let name = demo.guest_joins(&call_id).map_err(ServerFnError::new)?;
    let _ = s.store.audit(AuditRecord::new(&user.name, "demo.guest_joins", AuditResult::Ok).target(&call_id).detail(&name)).await;
    Ok(name)
}

/// The user behind this session, or none on the login page.
#[server]
pub async fn whoami() -> Result<Option<UserInfo>, ServerFnError> {
    Ok(ssr::current_user().await)
}

#[server]
pub async fn get_system_status() -> Result<SystemStatus, ServerFnError> {
    use switchboard::model::{ComponentState, ComponentStatus, Role};
    ssr::require(Role::Viewer).await?;
    let s = ssr::services()?;
    let started = std::time::Instant::now();
    let database = match s.store.ping().await {
        Ok(()) => ComponentStatus {
            name: "Database".into(),
            state: ComponentState::Up,
            detail: format!("SQLite, answered in {} ms", started.elapsed().as_millis()),
        },
        Err(e) => {
            tracing::warn!(error = %e, "database health check failed");
            ComponentStatus { name: "Database".into(), state: ComponentState::Down, detail: "not answering".into() }
        }
    };
    let integrations = s.integrations.read().map(|v| v.clone()).unwrap_or_default();
    Ok(SystemStatus {
        version: env!("CARGO_PKG_VERSION").to_string(),
        uptime_seconds: s.started.elapsed().as_secs(),
        mode: s.mode.to_string(),
        database,
        integrations,
    })
}

#[server]
pub async fn audit_log(offset: i64, action: Option<String>) -> Result<AuditPage, ServerFnError> {
    use switchboard::model::Role;
    ssr::require(Role::Admin).await?;
    let s = ssr::services()?;
    let action = action.filter(|a| !a.trim().is_empty());
    s.store
        .audit_page(offset, 50, action.as_deref())
        .await
        .map_err(|e| ssr::internal("Reading the audit log", e))
}
