//! Server functions shared by several pages, and the edge they all go through (`ssr`).

use crate::error::AppError;
use leptos::prelude::*;
use switchboard::model::{AuditPage, SystemStatus, UserInfo};

#[cfg(feature = "ssr")]
pub mod ssr {
    //! The server side of the edge: the services (provided by the server crate through Leptos
    //! context), the session's user and role check, and the one mapping of domain errors to
    //! `AppError` (which sets the HTTP status).
    use crate::error::AppError;
    use leptos::prelude::*;
    use switchboard::model::{Role, UserInfo};
    pub use switchboard::services::Services;

    pub fn services() -> Result<Services, AppError> {
        use_context::<Services>().ok_or_else(|| internal("Finding the server's services", "no Services in the Leptos context"))
    }

    /// The signed-in user, put in the request by the server's session layer.
    pub async fn current_user() -> Option<UserInfo> {
        leptos_axum::extract::<axum::Extension<UserInfo>>().await.ok().map(|axum::Extension(u)| u)
    }

    /// The signed-in user, if their role includes `required`.
    pub async fn require(required: Role) -> Result<UserInfo, AppError> {
        let user = current_user().await.ok_or(AppError::Unauthorized)?;
        if !user.role.allows(required) {
            return Err(AppError::Forbidden(format!("Your role ({}) may not do this; it needs {}.", user.role, required)));
        }
        Ok(user)
    }

    /// The signed-in user, if the incident matrix lets their role do `action`.
    pub async fn permit(action: switchboard::model::IncidentAction) -> Result<UserInfo, AppError> {
        let user = current_user().await.ok_or(AppError::Unauthorized)?;
        if !action.allowed(user.role) {
            return Err(AppError::Forbidden(format!(
                "Your role ({}) may not {}; it needs {}.",
                user.role,
                action.label(),
                action.least_role()
            )));
        }
        Ok(user)
    }

    /// The Webex person behind this session (only a "Sign in with Webex" session has one).
    pub async fn commander() -> Result<switchboard::incident::Commander, AppError> {
        leptos_axum::extract::<axum::Extension<switchboard::incident::Commander>>()
            .await
            .map(|axum::Extension(c)| c)
            .map_err(|_| AppError::Forbidden(switchboard::incident::IncidentError::NotWebexUser.to_string()))
    }

    /// For the actions of a running incident: someone who may run incidents, signed in with
    /// Webex; the service, the commander and their role.
    pub async fn commanding(
    ) -> Result<(std::sync::Arc<switchboard::incident::IncidentService>, switchboard::incident::Commander, Role), AppError> {
        let user = permit(switchboard::model::IncidentAction::Run).await?;
        let c = commander().await?;
        Ok((incidents()?, c, user.role))
    }

    /// The incident rooms, or why there are none.
    pub fn incidents() -> Result<std::sync::Arc<switchboard::incident::IncidentService>, AppError> {
        services()?.incidents().cloned().ok_or_else(|| AppError::NotFound(switchboard::incident::IncidentError::NotConfigured.to_string()))
    }

    /// The Content-Security-Policy of a rendered page: scripts only with this response's nonce
    /// (Leptos puts it on its hydration and streaming scripts; `strict-dynamic` lets the bundle
    /// they import load), WebAssembly compiled, nothing framed, nothing from elsewhere. Styles
    /// allow inline attributes: the calendar's template preview shows the invitation's own.
    pub fn page_policy(nonce: &str) -> String {
        format!(
            "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
             style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
             base-uri 'none'; frame-ancestors 'none'"
        )
    }

    /// Sets the page's policy on the response being rendered (called from the shell, so every
    /// page rendered by Leptos, the 404 page included, has one).
    pub fn set_page_policy() {
        if let (Some(nonce), Some(res)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>()) {
            if let Ok(value) = axum::http::HeaderValue::from_str(&page_policy(&nonce)) {
                res.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
            }
        }
    }

    /// Runs a server function's body; an error sets the response status it means.
    pub async fn edge<T>(body: impl std::future::Future<Output = Result<T, AppError>>) -> Result<T, AppError> {
        let result = body.await;
        if let Err(e) = &result {
            if let Some(r) = use_context::<leptos_axum::ResponseOptions>() {
                r.set_status(axum::http::StatusCode::from_u16(e.status()).unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR));
            }
        }
        result
    }

    /// Logs the real cause and gives the page a message without internals.
    pub fn internal(context: &str, err: impl std::fmt::Display) -> AppError {
        tracing::error!(%err, "{context} failed");
        AppError::Internal(context.to_string())
    }

    impl From<switchboard::store::StoreError> for AppError {
        fn from(e: switchboard::store::StoreError) -> Self {
            internal("Reading or writing the database", e)
        }
    }

    impl From<switchboard::banner::BannerError> for AppError {
        fn from(e: switchboard::banner::BannerError) -> Self {
            match e {
                switchboard::banner::BannerError::Invalid(msg) => AppError::Invalid(msg),
                switchboard::banner::BannerError::Store(e) => e.into(),
            }
        }
    }

    impl From<switchboard::lobby::LobbyError> for AppError {
        fn from(e: switchboard::lobby::LobbyError) -> Self {
            use switchboard::lobby::LobbyError as L;
            match e {
                L::NoCms | L::ShuttingDown => AppError::Unavailable(e.to_string()),
                L::NothingSelected | L::TooMany | L::BadTarget(_) => AppError::Invalid(e.to_string()),
                L::UnknownJob => AppError::NotFound(e.to_string()),
            }
        }
    }

    impl From<switchboard::incident::IncidentError> for AppError {
        fn from(e: switchboard::incident::IncidentError) -> Self {
            use switchboard::incident::IncidentError as I;
            use switchboard::webex::grant::GrantError as G;
            match e {
                I::NotConfigured | I::NotFound(_) | I::NotResponseSpace(_) => AppError::NotFound(e.to_string()),
                I::NotWebexUser | I::NotResponder(_) | I::NoRespondersSpace => AppError::Forbidden(e.to_string()),
                I::Invalid(m) => AppError::Invalid(m),
                I::Conflict(m) => AppError::Conflict(m),
                I::Grant(G::Missing | G::Dead | G::NotAdmin) => AppError::Unavailable(e.to_string()),
                I::Grant(G::Store(e)) | I::Store(e) => e.into(),
                I::Grant(G::Sealed(_)) => internal("Opening the Webex org grant", e),
                I::Grant(_) | I::Api(_) => AppError::Upstream(e.to_string()),
            }
        }
    }

    impl From<switchboard::calendar::users::SyncError> for AppError {
        fn from(e: switchboard::calendar::users::SyncError) -> Self {
            use switchboard::calendar::users::SyncError as S;
            match e {
                S::Busy => AppError::Conflict("A user sync is already running.".into()),
                S::Cms(_) => AppError::Upstream(e.to_string()),
                S::Store(e) => e.into(),
            }
        }
    }

    impl From<switchboard::calendar::service::CalendarError> for AppError {
        fn from(e: switchboard::calendar::service::CalendarError) -> Self {
            use switchboard::calendar::service::CalendarError as C;
            match e {
                C::Template(m) => AppError::Invalid(m),
                C::NotFound(m) => AppError::NotFound(m),
                C::Provider(_) => AppError::Upstream(e.to_string()),
                C::Store(e) => e.into(),
            }
        }
    }

    impl From<switchboard::branding::BrandingError> for AppError {
        fn from(e: switchboard::branding::BrandingError) -> Self {
            use switchboard::branding::validate::ValidationError;
            use switchboard::branding::BrandingError as B;
            match e {
                B::Name(_) => AppError::Invalid(e.to_string()),
                B::Invalid(ValidationError::TooLarge { .. }) => AppError::TooLarge(e.to_string()),
                B::Invalid(_) => AppError::Rejected(e.to_string()),
                B::UnknownTenant(_) | B::NotFound(_) => AppError::NotFound(e.to_string()),
                B::Store(_) | B::Archive(_) => internal("Storing branding", e),
            }
        }
    }
}

/// Demo mode only: a web-app guest joins the given call in the simulated CMS.
#[server]
pub async fn demo_guest_joins(call_id: String) -> Result<String, AppError> {
    use switchboard::model::AuditAction;
    use switchboard::model::Role;
    use switchboard::store::{AuditRecord, AuditResult};
    ssr::edge(async {
        let user = ssr::require(Role::Operator).await?;
        let s = ssr::services()?;
        let demo = s.demo.clone().ok_or_else(|| AppError::NotFound("Only available in demo mode.".into()))?;
        let name = demo.guest_joins(&call_id).map_err(AppError::NotFound)?;
        s.audit.record(AuditRecord::new(&user.actor(), AuditAction::DemoGuestJoins, AuditResult::Ok).target(&call_id).detail(&name)).await;
        Ok(name)
    })
    .await
}

/// The user behind this session, or none on the login page.
#[server]
pub async fn whoami() -> Result<Option<UserInfo>, AppError> {
    Ok(ssr::current_user().await)
}

#[server]
pub async fn get_system_status() -> Result<SystemStatus, AppError> {
    use switchboard::model::Role;
    ssr::edge(async {
        ssr::require(Role::Viewer).await?;
        Ok(ssr::services()?.status.system_status().await)
    })
    .await
}

#[server]
pub async fn audit_log(offset: i64, action: Option<String>) -> Result<AuditPage, AppError> {
    use switchboard::model::{AuditAction, Role};
    ssr::edge(async {
        ssr::require(Role::Admin).await?;
        let action = action.filter(|a| !a.trim().is_empty()).map(|a| a.trim().parse::<AuditAction>()).transpose();
        let action = action.map_err(|e| AppError::Invalid(format!("{e}: choose one from the list")))?;
        Ok(ssr::services()?.audit.page(offset, 50, action).await?)
    })
    .await
}
