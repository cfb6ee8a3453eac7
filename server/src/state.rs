//! The router's shared state.

use crate::metrics::Metrics;
use app::api::ssr::Services;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;
use switchboard::auth::LoginLimiter;

pub const SESSION_COOKIE: &str = "switchboard_session";

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub services: Services,
    pub limiter: Arc<LoginLimiter>,
    pub metrics: Metrics,
    pub cdr_guard: crate::cdr::CdrGuard,
    /// Where CMS posts CDRs (public, like the login page).
    pub cdr_path: String,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(s: &AppState) -> Self {
        s.leptos_options.clone()
    }
}

impl FromRef<AppState> for Metrics {
    fn from_ref(s: &AppState) -> Self {
        s.metrics.clone()
    }
}
