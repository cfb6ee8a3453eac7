//! `/sim/...`: what tests and people use to look inside a node (requests seen, CDR delivery,
//! calls and legs) and to switch its faults; no auth, not part of the CMS API.

use super::Ctx;
use crate::sim::cms::lock;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Form, Json};

pub(super) async fn sim_cdr(State(ctx): State<Ctx>) -> Json<Vec<crate::sim::cms::cdr::ReceiverStats>> {
    Json(ctx.cluster.nodes[ctx.node].cdr_stats())
}

#[derive(serde::Deserialize)]
pub(super) struct FaultForm {
    latency_ms: Option<u64>,
    error_rate: Option<f64>,
    drop_rate: Option<f64>,
    lost_ack_rate: Option<f64>,
    short_page_rate: Option<f64>,
    down: Option<bool>,
}

pub(super) async fn sim_faults(State(ctx): State<Ctx>, Form(f): Form<FaultForm>) -> StatusCode {
    let faults = &ctx.cluster.nodes[ctx.node].faults;
    if let Some(ms) = f.latency_ms {
        faults.set_latency(std::time::Duration::from_millis(ms));
    }
    if let Some(r) = f.error_rate {
        faults.set_error_rate(r);
    }
    if let Some(r) = f.drop_rate {
        faults.set_drop_rate(r);
    }
    if let Some(r) = f.lost_ack_rate {
        faults.set_lost_ack_rate(r);
    }
    if let Some(r) = f.short_page_rate {
        faults.set_short_page_rate(r);
    }
    if let Some(d) = f.down {
        faults.set_down(d);
    }
    StatusCode::NO_CONTENT
}

/// The Call Bridge restarts: its calls end without CDRs, and it sends CDRs under a new session.
pub(super) async fn sim_restart_call_bridge(State(ctx): State<Ctx>) -> Result<Json<Restarted>, StatusCode> {
    let session = ctx.cluster.restart_node(ctx.node).map_err(|_| StatusCode::NOT_FOUND)?;
    Ok(Json(Restarted { session }))
}

#[derive(serde::Serialize)]
pub(super) struct Restarted {
    /// The `session` its CDRs carry from now on.
    session: String,
}

#[derive(serde::Serialize)]
pub(super) struct StateView {
    node: String,
    call_bridge: String,
    calls: Vec<CallView>,
}

#[derive(serde::Serialize)]
struct CallView {
    id: String,
    name: String,
    correlator: String,
    locked: bool,
    message_text: String,
    legs: Vec<LegView>,
}

#[derive(serde::Serialize)]
struct LegView {
    id: String,
    participant: String,
    name: String,
    remote: String,
    kind: String,
    activator: bool,
    in_lobby: bool,
}

pub(super) async fn sim_state(State(ctx): State<Ctx>) -> Json<StateView> {
    let n = &ctx.cluster.nodes[ctx.node];
    let db = lock(&n.db);
    let calls = db
        .calls
        .values()
        .map(|c| CallView {
            id: c.id.clone(),
            name: c.name.clone(),
            correlator: c.correlator.clone(),
            locked: c.locked,
            message_text: c.message_text.clone(),
            legs: db
                .legs_of(&c.id)
                .map(|l| LegView {
                    id: l.id.clone(),
                    participant: l.participant.clone(),
                    name: l.name.clone(),
                    remote: l.remote.clone(),
                    kind: format!("{:?}", l.kind),
                    activator: l.activator,
                    in_lobby: l.deactivated,
                })
                .collect(),
        })
        .collect();
    Json(StateView { node: n.name.clone(), call_bridge: n.bridge_id.clone(), calls })
}
