//! `/api/v1/system/...`: the node's CDR receivers (at most four, as the web admin offers) and its
//! status.

use super::{bad, created, not_found, only, page, param_error, xml_ok, Ctx, F, Q};
use crate::sim::cms::db::{self, LegKind};
use crate::sim::cms::lock;
use crate::sim::cms::xml;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;

/// The web admin offers four receiver slots.
const MAX_CDR_RECEIVERS: usize = 4;

pub(super) async fn list_cdr_receivers(State(ctx): State<Ctx>, Query(q): Q) -> Response {
    let db = lock(&ctx.cluster.nodes[ctx.node].db);
    let v: Vec<_> = db.cdr_receivers.iter().collect();
    let (a, b) = match page(&q, v.len(), &ctx) {
        Ok(r) => r,
        Err(e) => return e,
    };
    xml_ok(xml::collection("cdrReceivers", v.len(), &v[a..b].iter().map(|(id, u)| xml::cdr_receiver(id, u)).collect::<Vec<_>>()))
}

fn valid_receiver_url(u: &str) -> bool {
    (u.starts_with("http://") || u.starts_with("https://")) && u.len() > 8 && !u.contains(' ')
}

pub(super) async fn post_cdr_receiver(State(ctx): State<Ctx>, Form(f): F) -> Response {
    if let Err(e) = only(&f, &["url"]) {
        return e;
    }
    let Some(url) = f.get("url").filter(|u| valid_receiver_url(u)) else { return param_error("url", "invalidValue") };
    let mut db = lock(&ctx.cluster.nodes[ctx.node].db);
    if db.cdr_receivers.len() >= MAX_CDR_RECEIVERS {
        return bad("tooManyCdrReceivers");
    }
    let id = db::new_id();
    db.cdr_receivers.insert(id.clone(), url.clone());
    created(format!("/api/v1/system/cdrReceivers/{id}"))
}

pub(super) async fn get_cdr_receiver(State(ctx): State<Ctx>, Path(id): Path<String>) -> Response {
    let db = lock(&ctx.cluster.nodes[ctx.node].db);
    match db.cdr_receivers.get(&id) {
        Some(u) => xml_ok(xml::object(xml::cdr_receiver(&id, u))),
        None => not_found("cdrReceiver"),
    }
}

pub(super) async fn put_cdr_receiver(State(ctx): State<Ctx>, Path(id): Path<String>, Form(f): F) -> Response {
    if let Err(e) = only(&f, &["url"]) {
        return e;
    }
    let mut db = lock(&ctx.cluster.nodes[ctx.node].db);
    let Some(r) = db.cdr_receivers.get_mut(&id) else { return not_found("cdrReceiver") };
    if let Some(url) = f.get("url") {
        if !valid_receiver_url(url) {
            return param_error("url", "invalidValue");
        }
        *r = url.clone();
    }
    StatusCode::OK.into_response()
}

pub(super) async fn delete_cdr_receiver(State(ctx): State<Ctx>, Path(id): Path<String>) -> Response {
    match lock(&ctx.cluster.nodes[ctx.node].db).cdr_receivers.remove(&id) {
        Some(_) => StatusCode::OK.into_response(),
        None => not_found("cdrReceiver"),
    }
}

pub(super) async fn system_status(State(ctx): State<Ctx>) -> Response {
    let n = &ctx.cluster.nodes[ctx.node];
    let legs = lock(&n.db).legs.values().filter(|l| l.kind != LegKind::DistributionLink).count();
    let mut s = String::from("<status>");
    s.push_str("<softwareVersion>3.8.0 (simulated)</softwareVersion>");
    s.push_str(&format!("<uptimeSeconds>{}</uptimeSeconds>", n.started.elapsed().as_secs()));
    s.push_str("<activated>true</activated>");
    s.push_str(&format!("<clusterEnabled>{}</clusterEnabled>", ctx.cluster.nodes.len() > 1));
    s.push_str(&format!("<callLegsActive>{legs}</callLegsActive>"));
    s.push_str("</status>");
    xml_ok(xml::object(s))
}
