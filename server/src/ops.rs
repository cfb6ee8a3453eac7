//! Operational endpoints and request tracing.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use std::sync::Arc;
use switchboard::status::StatusService;
use tracing::Span;

/// 200 when the database answers and every background worker is alive; 503 naming what is not.
/// Never needs a session.
pub async fn healthz(State(status): State<Arc<StatusService>>) -> impl IntoResponse {
    let h = status.health().await;
    if h.ok() {
        return (StatusCode::OK, "ok: database reachable, workers running\n".to_string());
    }
    let mut problems = Vec::new();
    if !h.database {
        problems.push("database unreachable".to_string());
    }
    if !h.failing_workers.is_empty() {
        problems.push(format!("workers not running: {}", h.failing_workers.join(", ")));
    }
    (StatusCode::SERVICE_UNAVAILABLE, format!("unhealthy: {}\n", problems.join("; ")))
}

/// One span per request, carrying the request id so every log line of a request can be found.
pub fn request_span(req: &Request) -> Span {
    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
    tracing::info_span!("request", id = %id, method = %req.method(), path = %req.uri().path())
}
