//! The state the session-bearing routers share (sign-in and protected pages). The CMS-facing
//! routers carry only what they need.

use crate::metrics::Metrics;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;
use switchboard::auth::LoginLimiter;
use switchboard::services::Services;

pub const SESSION_COOKIE: &str = "switchboard_session";

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub services: Services,
    pub limiter: Arc<LoginLimiter>,
    pub metrics: Metrics,
    /// A session ends this long after sign-in, however busy (seconds).
    pub absolute_session_secs: i64,
    /// Cookies get `Secure` (Switchboard is reached over HTTPS).
    pub secure_cookies: bool,
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
