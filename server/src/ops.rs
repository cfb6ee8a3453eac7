//! Operational endpoints and request tracing.

use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use tracing::Span;

/// 200 when the database answers, 503 otherwise. Never needs a session.
pub async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match state.services.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok: database reachable\n"),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "unhealthy: database unreachable\n")
        }
    }
}

/// One span per request, carrying the request id so every log line of a request can be found.
pub fn request_span(req: &Request) -> Span {
    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
    tracing::info_span!("request", id = %id, method = %req.method(), path = %req.uri().path())
}
