//! `/api/v1/calls`, `/callLegs` and `/participants`: the node's own live calls, their legs and
//! participants; `PUT` sets a call's banner and lock, and moves a participant in or out of the lobby.

use super::{bad, contains_ci, not_found, only, page, param_error, xml_ok, Ctx, F, Q};
use crate::sim::cms::xml;
use crate::sim::cms::{lock, Cluster, SimError};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;

pub(super) async fn list_calls(State(ctx): State<Ctx>, Query(q): Q) -> Response {
    let n = &ctx.cluster.nodes[ctx.node];
    let db = lock(&n.db);
    let filter = q.get("cospacefilter").or(q.get("coSpaceFilter"));
    let calls: Vec<_> = db.calls.values().filter(|c| filter.is_none_or(|f| c.co_space.as_deref() == Some(f.as_str()))).collect();
    let (a, b) = match page(&q, calls.len(), &ctx) {
        Ok(r) => r,
        Err(e) => return e,
    };
    xml_ok(xml::collection("calls", calls.len(), &calls[a..b].iter().map(|c| xml::call_summary(c)).collect::<Vec<_>>()))
}

fn distributed_instances(ctx: &Ctx, correlator: &str) -> usize {
    ctx.cluster.nodes.iter().filter(|n| lock(&n.db).calls.values().any(|c| c.correlator == correlator)).count()
}

pub(super) async fn get_call(State(ctx): State<Ctx>, Path(id): Path<String>) -> Response {
    let correlator = {
        let db = lock(&ctx.cluster.nodes[ctx.node].db);
        match db.calls.get(&id) {
            Some(c) => c.correlator.clone(),
            None => return not_found("call"),
        }
    };
    let instances = distributed_instances(&ctx, &correlator);
    let db = lock(&ctx.cluster.nodes[ctx.node].db);
    match db.calls.get(&id) {
        Some(c) => xml_ok(xml::object(xml::call_detail(c, &db, instances))),
        None => not_found("call"),
    }
}

pub(super) async fn put_call(State(ctx): State<Ctx>, Path(id): Path<String>, Form(f): F) -> Response {
    const ALLOWED: &[&str] = &[
        "name",
        "locked",
        "recording",
        "streaming",
        "allowAllMuteSelf",
        "allowAllPresentationContribution",
        "joinAudioMuteOverride",
        "messageText",
        "messagePosition",
        "messageDuration",
        "activeWhenEmpty",
        "panePlacementHighestImportance",
    ];
    if let Err(e) = only(&f, ALLOWED) {
        return e;
    }
    if let Some(p) = f.get("messagePosition") {
        if !matches!(p.as_str(), "top" | "middle" | "bottom") {
            return param_error("messagePosition", "invalidValue");
        }
    }
    if let Some(d) = f.get("messageDuration") {
        if d != "permanent" && d.parse::<u32>().is_err() {
            return param_error("messageDuration", "invalidValue");
        }
    }
    if let Some(l) = f.get("locked") {
        if !matches!(l.as_str(), "true" | "false") {
            return param_error("locked", "invalidValue");
        }
    }
    let mut db = lock(&ctx.cluster.nodes[ctx.node].db);
    let Some(c) = db.calls.get_mut(&id) else { return not_found("call") };
    // An omitted parameter is unchanged; `param=` clears it.
    if let Some(v) = f.get("messageText") {
        c.message_text = v.clone();
    }
    if let Some(v) = f.get("messagePosition") {
        c.message_position = v.clone();
    }
    if let Some(v) = f.get("messageDuration") {
        c.message_duration = v.clone();
    }
    if let Some(v) = f.get("name") {
        c.name = v.clone();
    }
    if let Some(v) = f.get("locked") {
        c.locked = v == "true";
    }
    StatusCode::OK.into_response()
}

pub(super) async fn list_call_legs_of(State(ctx): State<Ctx>, Path(id): Path<String>, Query(q): Q) -> Response {
    let db = lock(&ctx.cluster.nodes[ctx.node].db);
    if !db.calls.contains_key(&id) {
        return not_found("call");
    }
    let legs: Vec<_> = db.legs_of(&id).collect();
    let (a, b) = match page(&q, legs.len(), &ctx) {
        Ok(r) => r,
        Err(e) => return e,
    };
    xml_ok(xml::collection("callLegs", legs.len(), &legs[a..b].iter().map(|l| xml::leg_summary(l)).collect::<Vec<_>>()))
}

pub(super) async fn list_call_legs(State(ctx): State<Ctx>, Query(q): Q) -> Response {
    let db = lock(&ctx.cluster.nodes[ctx.node].db);
    let filter = q.get("filter");
    let legs: Vec<_> = db.legs.values().filter(|l| filter.is_none_or(|f| contains_ci(&l.name, f) || contains_ci(&l.remote, f))).collect();
    let (a, b) = match page(&q, legs.len(), &ctx) {
        Ok(r) => r,
        Err(e) => return e,
    };
    xml_ok(xml::collection("callLegs", legs.len(), &legs[a..b].iter().map(|l| xml::leg_summary(l)).collect::<Vec<_>>()))
}

pub(super) async fn get_call_leg(State(ctx): State<Ctx>, Path(id): Path<String>) -> Response {
    let db = lock(&ctx.cluster.nodes[ctx.node].db);
    match db.legs.get(&id) {
        Some(l) => xml_ok(xml::object(xml::leg_detail(l))),
        None => not_found("callLeg"),
    }
}

pub(super) async fn list_participants_of(State(ctx): State<Ctx>, Path(id): Path<String>, Query(q): Q) -> Response {
    let n = &ctx.cluster.nodes[ctx.node];
    let db = lock(&n.db);
    if !db.calls.contains_key(&id) {
        return not_found("call");
    }
    let ps: Vec<_> = db.participants_of(&id).collect();
    let (a, b) = match page(&q, ps.len(), &ctx) {
        Ok(r) => r,
        Err(e) => return e,
    };
    xml_ok(xml::collection("participants", ps.len(), &ps[a..b].iter().map(|p| xml::participant(p, &n.bridge_id)).collect::<Vec<_>>()))
}

pub(super) async fn list_participants(State(ctx): State<Ctx>, Query(q): Q) -> Response {
    let n = &ctx.cluster.nodes[ctx.node];
    let db = lock(&n.db);
    let filter = q.get("filter");
    let ps: Vec<_> = db.participants.values().filter(|p| filter.is_none_or(|f| contains_ci(&p.name, f))).collect();
    let (a, b) = match page(&q, ps.len(), &ctx) {
        Ok(r) => r,
        Err(e) => return e,
    };
    xml_ok(xml::collection("participants", ps.len(), &ps[a..b].iter().map(|p| xml::participant(p, &n.bridge_id)).collect::<Vec<_>>()))
}

pub(super) async fn get_participant(State(ctx): State<Ctx>, Path(id): Path<String>) -> Response {
    let n = &ctx.cluster.nodes[ctx.node];
    let db = lock(&n.db);
    match db.participants.get(&id) {
        Some(p) => xml_ok(xml::object(xml::participant(p, &n.bridge_id))),
        None => not_found("participant"),
    }
}

pub(super) async fn list_participant_legs(State(ctx): State<Ctx>, Path(id): Path<String>, Query(q): Q) -> Response {
    let db = lock(&ctx.cluster.nodes[ctx.node].db);
    if !db.participants.contains_key(&id) {
        return not_found("participant");
    }
    let legs: Vec<_> = db.legs.values().filter(|l| l.participant == id).collect();
    let (a, b) = match page(&q, legs.len(), &ctx) {
        Ok(r) => r,
        Err(e) => return e,
    };
    xml_ok(xml::collection("callLegs", legs.len(), &legs[a..b].iter().map(|l| xml::leg_summary(l)).collect::<Vec<_>>()))
}

pub(super) async fn put_participant(State(ctx): State<Ctx>, Path(id): Path<String>, Form(f): F) -> Response {
    if let Err(e) = only(&f, &["importance", "dtmfSequence", "nameLabelOverride", "deactivated"]) {
        return e;
    }
    match f.get("deactivated").map(String::as_str) {
        None => {
            let db = lock(&ctx.cluster.nodes[ctx.node].db);
            if db.participants.contains_key(&id) {
                StatusCode::OK.into_response()
            } else {
                not_found("participant")
            }
        }
        Some("false") => match ctx.cluster.admit(ctx.node, &id) {
            Ok(()) => StatusCode::OK.into_response(),
            Err(SimError::NotFound(_)) => not_found("participant"),
            Err(SimError::NoActivator) => bad("participantActivationNotPossible"),
            Err(SimError::Invalid(m)) => bad(&m),
        },
        Some("true") => {
            // Moving someone back to the lobby.
            let n = &ctx.cluster.nodes[ctx.node];
            let mut db = lock(&n.db);
            let Some(leg) = db.participants.get(&id).map(|p| p.leg.clone()) else { return not_found("participant") };
            if let Some(l) = db.legs.get_mut(&leg) {
                l.deactivated = true;
                let l = l.clone();
                Cluster::emit(n, &db, "callLegUpdate", crate::sim::cms::cdr::records::leg_update(&l, false));
            }
            StatusCode::OK.into_response()
        }
        Some(_) => param_error("deactivated", "invalidValue"),
    }
}
