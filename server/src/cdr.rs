//! CMS-facing CDR receiver (`POST /cdr`) and the push channel (`GET /events/calls`) that live
//! pages listen to.

use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;
use subtle::ConstantTimeEq;
use switchboard::cdr::IngestError;

/// Who may post, decided before the body is read.
#[derive(Clone, Default)]
pub struct CdrGuard {
    pub token: Option<String>,
    pub networks: Vec<ipnet::IpNet>,
}

impl CdrGuard {
    fn check(&self, peer: &SocketAddr, query: &HashMap<String, String>) -> Result<(), (StatusCode, &'static str)> {
        if !self.networks.is_empty() && !self.networks.iter().any(|n| n.contains(&peer.ip())) {
            return Err((StatusCode::FORBIDDEN, "This address may not post CDRs (cdr.allowed_sources).\n"));
        }
        if let Some(t) = &self.token {
            let given = query.get("token").map(String::as_bytes).unwrap_or(b"");
            if !bool::from(given.ct_eq(t.as_bytes())) {
                return Err((StatusCode::FORBIDDEN, "Missing or wrong CDR receiver token (the ?token= in the receiver URL).\n"));
            }
        }
        Ok(())
    }
}

pub async fn receive(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    if let Err((status, msg)) = state.cdr_guard.check(&peer, &query) {
        tracing::warn!(%peer, "CDR post refused: {}", msg.trim());
        return (status, msg).into_response();
    }
    let peer_s = peer.ip().to_string();
    let text = match std::str::from_utf8(&body) {
        Ok(t) => t,
        Err(_) => {
            let _ = state.services.cdr.store().cdr_dead_letter(&peer_s, "not UTF-8", &String::from_utf8_lossy(&body)).await;
            state.metrics.cdr_malformed.inc();
            return (StatusCode::BAD_REQUEST, "The body is not UTF-8 text.\n").into_response();
        }
    };
    match state.services.cdr.ingest(text, &peer_s).await {
        Ok(report) => {
            let m = &state.metrics;
            m.cdr_records.inc_by(report.new as u64);
            m.cdr_duplicates.inc_by(report.duplicates as u64);
            m.cdr_missing.inc_by(report.missing);
            m.cdr_live_legs.set(state.services.cdr.leg_count() as i64);
            StatusCode::OK.into_response()
        }
        Err(IngestError::Malformed(reason)) => {
            state.metrics.cdr_malformed.inc();
            (StatusCode::BAD_REQUEST, format!("Not a CDR document: {reason}\n")).into_response()
        }
        Err(IngestError::Store(e)) => {
            // Not acknowledged: CMS keeps the batch and sends it again.
            tracing::error!(error = %e, "CDR batch could not be stored");
            (StatusCode::SERVICE_UNAVAILABLE, "Storage unavailable; send again.\n").into_response()
        }
    }
}

/// Server-sent events: one `calls` event whenever calls changed (bursts are coalesced).
pub async fn events(State(state): State<AppState>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = state.services.cdr.subscribe();
    let closing = state.services.cdr.closing();
    let stream = futures::stream::unfold((rx, closing), |(mut rx, mut closing)| async move {
        loop {
            tokio::select! {
                // Shutting down: end the stream so the graceful shutdown can finish.
                _ = async { drop(closing.wait_for(|c| *c).await) } => return None,
                got = rx.recv() => match got {
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        while rx.try_recv().is_ok() {}
                        return Some((Ok(Event::default().event("calls").data("changed")), (rx, closing)));
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                },
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
