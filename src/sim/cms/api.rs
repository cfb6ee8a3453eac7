//! The simulated Call Bridge's HTTP surface: `/api/v1/...` as CMS serves it (Basic auth, XML,
//! form bodies, `Location` on POST, case-insensitive paths, pages capped at `max_page`) and
//! `/sim/...` for tests and people to look inside and inject faults.

// Handlers answer errors as ready axum responses; boxing them would only add noise.
#![allow(clippy::result_large_err)]

use super::db::{self, LegKind, Profile};
use super::xml;
use super::{lock, Cluster, SimError};
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tower::Layer;

#[derive(Clone)]
pub struct Ctx {
    cluster: Arc<Cluster>,
    node: usize,
}

type Q = Query<HashMap<String, String>>;
type F = Form<HashMap<String, String>>;

fn xml_ok(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/xml")], body).into_response()
}

fn not_found(what: &str) -> Response {
    (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/xml")], xml::failure(&format!("{what}DoesNotExist"))).into_response()
}

fn bad(reason: &str) -> Response {
    (StatusCode::BAD_REQUEST, [(header::CONTENT_TYPE, "text/xml")], xml::failure(reason)).into_response()
}

fn param_error(p: &str, e: &str) -> Response {
    (StatusCode::BAD_REQUEST, [(header::CONTENT_TYPE, "text/xml")], xml::parameter_error(p, e)).into_response()
}

fn created(path: String) -> Response {
    let mut r = StatusCode::OK.into_response();
    if let Ok(v) = HeaderValue::from_str(&path) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// Pages a list as CMS does: `offset`, and `limit` capped at the node's largest page.
fn page(q: &HashMap<String, String>, total: usize, max: usize) -> Result<(usize, usize), Response> {
    let num = |k: &str| -> Result<Option<usize>, Response> {
        match q.get(k) {
            None => Ok(None),
            Some(v) => v.parse::<usize>().map(Some).map_err(|_| param_error(k, "invalidValue")),
        }
    };
    let offset = num("offset")?.unwrap_or(0).min(total);
    let limit = num("limit")?.unwrap_or(max).min(max);
    Ok((offset, (offset + limit).min(total)))
}

fn contains_ci(hay: &str, needle: &str) -> bool {
    hay.to_lowercase().contains(&needle.to_lowercase())
}

/// Every parameter must be one the object accepts: real CMS answers unknown ones with an error.
fn only(form: &HashMap<String, String>, allowed: &[&str]) -> Result<(), Response> {
    for k in form.keys() {
        if !allowed.contains(&k.as_str()) {
            return Err(param_error(k, "unrecognised"));
        }
    }
    Ok(())
}

type Lower = fn(axum::http::Request<hyper::body::Incoming>) -> Request;

pub fn router(cluster: Arc<Cluster>, node: usize) -> axum::routing::IntoMakeService<tower::util::MapRequest<Router, Lower>> {
    let ctx = Ctx { cluster, node };
    let api = Router::new()
        .route("/api/v1/calls", get(list_calls))
        .route("/api/v1/calls/{id}", get(get_call).put(put_call))
        .route("/api/v1/calls/{id}/calllegs", get(list_call_legs_of))
        .route("/api/v1/calls/{id}/participants", get(list_participants_of))
        .route("/api/v1/calllegs", get(list_call_legs))
        .route("/api/v1/calllegs/{id}", get(get_call_leg))
        .route("/api/v1/participants", get(list_participants))
        .route("/api/v1/participants/{id}", get(get_participant).put(put_participant))
        .route("/api/v1/participants/{id}/calllegs", get(list_participant_legs))
        .route("/api/v1/cospaces", get(list_co_spaces).post(post_co_space))
        .route("/api/v1/cospaces/{id}", get(get_co_space).put(put_co_space).delete(delete_co_space))
        .route("/api/v1/users", get(list_users))
        .route("/api/v1/users/{id}", get(get_user))
        .route("/api/v1/users/{id}/usercospaces", get(user_co_spaces))
        .route("/api/v1/callbrandingprofiles", get(list_profiles::<0>).post(post_profile::<0>))
        .route("/api/v1/callbrandingprofiles/{id}", get(get_profile::<0>).put(put_profile::<0>).delete(delete_profile::<0>))
        .route("/api/v1/ivrbrandingprofiles", get(list_profiles::<1>).post(post_profile::<1>))
        .route("/api/v1/ivrbrandingprofiles/{id}", get(get_profile::<1>).put(put_profile::<1>).delete(delete_profile::<1>))
        .route("/api/v1/webbridgeprofiles", get(list_profiles::<2>).post(post_profile::<2>))
        .route("/api/v1/webbridgeprofiles/{id}", get(get_profile::<2>).put(put_profile::<2>).delete(delete_profile::<2>))
        .route("/api/v1/system/cdrreceivers", get(list_cdr_receivers).post(post_cdr_receiver))
        .route("/api/v1/system/cdrreceivers/{id}", get(get_cdr_receiver).put(put_cdr_receiver).delete(delete_cdr_receiver))
        .route("/api/v1/system/status", get(system_status))
        .layer(axum::middleware::from_fn_with_state(ctx.clone(), basic_auth))
        .layer(axum::middleware::from_fn_with_state(ctx.clone(), faults));
    let sim = Router::new()
        .route("/sim/requests", get(sim_requests).delete(sim_clear_requests))
        .route("/sim/cdr", get(sim_cdr))
        .route("/sim/faults", axum::routing::post(sim_faults))
        .route("/sim/state", get(sim_state));
    let app = api.merge(sim).layer(axum::middleware::from_fn_with_state(ctx.clone(), log_requests)).with_state(ctx);
    // CMS paths are matched without regard to case (the old scripts used `calllegs`).
    let lower: Lower = lowercase_path;
    axum::ServiceExt::<axum::http::Request<hyper::body::Incoming>>::into_make_service(tower::util::MapRequestLayer::new(lower).layer(app))
}

fn lowercase_path(req: axum::http::Request<hyper::body::Incoming>) -> Request {
    let mut req = req.map(Body::new);
    let uri = req.uri();
    let lowered = uri.path().to_ascii_lowercase();
    if lowered != uri.path() {
        let pq = match uri.query() {
            Some(q) => format!("{lowered}?{q}"),
            None => lowered,
        };
        if let Ok(new) = pq.parse::<Uri>() {
            *req.uri_mut() = new;
        }
    }
    req
}

async fn basic_auth(State(ctx): State<Ctx>, req: Request, next: Next) -> Response {
    use base64::Engine;
    let decode = |b: &str| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok().and_then(|v| String::from_utf8(v).ok());
    let ok = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Basic "))
        .and_then(decode)
        .is_some_and(|cred| cred == format!("{}:{}", ctx.cluster.cfg.username, ctx.cluster.cfg.password));
    if !ok {
        return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Basic realm=\"CMS API\"")], "").into_response();
    }
    next.run(req).await
}

async fn faults(State(ctx): State<Ctx>, req: Request, next: Next) -> Response {
    let f = &ctx.cluster.nodes[ctx.node].faults;
    let latency = f.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if f.should_error() {
        return (StatusCode::SERVICE_UNAVAILABLE, "").into_response();
    }
    if f.should_drop() {
        // Headers go out, then the connection dies mid-body: what a crashing node looks like.
        let body = Body::from_stream(futures::stream::once(async { Err::<Bytes, std::io::Error>(std::io::Error::other("dropped")) }));
        return Response::new(body);
    }
    next.run(req).await
}

async fn log_requests(State(ctx): State<Ctx>, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/sim/") {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 1024 * 1024).await.unwrap_or_default();
    let method = parts.method.to_string();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or("").to_string();
    let text = String::from_utf8_lossy(&bytes).to_string();
    let res = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let node = &ctx.cluster.nodes[ctx.node];
    node.record(super::LoggedRequest { method, path, query, body: text, status: res.status().as_u16(), at_us: node.clock_us() });
    res
}

// --- calls ---------------------------------------------------------------------------------

async fn list_calls(State(ctx): State<Ctx>, Query(q): Q) -> Response {
    let n = &ctx.cluster.nodes[ctx.node];
    let db = lock(&n.db);
    let filter = q.get("cospacefilter").or(q.get("coSpaceFilter"));
    let calls: Vec<_> = db.calls.values().filter(|c| filter.is_none_or(|f| c.co_space.as_deref() == Some(f.as_str()))).collect();
    let (a, b) = match page(&q, calls.len(), ctx.cluster.cfg.max_page) {
        Ok(r) => r,
        Err(e) => return e,
    };
    xml_ok(xml::collection("calls", calls.len(), &calls[a..b].iter().map(|c| xml::call_summary(c)).collect::<Vec<_>>()))
}

fn distributed_instances(ctx: &Ctx, correlator: &str) -> usize {
    ctx.cluster.nodes.iter().filter(|n| lock(&n.db).calls.values().any(|c| c.correlator == correlator)).count()
}

async fn get_call(State(ctx): State<Ctx>, Path(id): Path<String>) -> Response {
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

async fn put_call(State(ctx): State<Ctx>, Path(id): Path<String>, Form(f): F) -> Response {
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

// --- call legs -----------------------------------------------------------------------------

async fn list_call_legs_of(State(ctx): State<Ctx>, Path(id): Path<String>, Query(q): Q) -> Response {
    let db = lock(&ctx.cluster.nodes[ctx.node].db);
    if !db.calls.contains_key(&id) {
        return not_found("call");
    }
    let legs: Vec<_> = db.legs_of(&id).collect();
    let (a, b) = match page(&q, legs.len(), ctx.cluster.cfg.max_page) {
        Ok(r) => r,
        Err(e) => return e,
    };
    xml_ok(xml::collection("callLegs", legs.len(), &legs[a..b].iter().map(|l| xml::leg_summary(l)).collect::<Vec<_>>()))
}

async fn list_call_legs(State(ctx): State<Ctx>, Query(q): Q) -> Response {
    let db = lock(&ctx.cluster.nodes[ctx.node].db);
    let filter = q.get("filter");
    let legs: Vec<_> = db.legs.values().filter(|l| filter.is_none_or(|f| contains_ci(&l.name, f) || contains_ci(&l.remote, f))).collect();
    let (a, b) = match page(&q, legs.len(), ctx.cluster.cfg.max_page) {
        Ok(r) => r,
        Err(e) => return e,
    };
    xml_ok(xml::collection("callLegs", legs.len(), &legs[a..b].iter().map(|l| xml::leg_summary(l)).collect::<Vec<_>>()))
}

async fn get_call_leg(State(ctx): State<Ctx>, Path(id): Path<String>) -> Response {
    let db = lock(&ctx.cluster.nodes[ctx.node].db);
    match db.legs.get(&id) {
        Some(l) => xml_ok(xml::object(xml::leg_detail(l))),
        None => not_found("callLeg"),
    }
}

// --- participants --------------------------------------------------------------------------

async fn list_participants_of(State(ctx): State<Ctx>, Path(id): Path<String>, Query(q): Q) -> Response {
    let n = &ctx.cluster.nodes[ctx.node];
    let db = lock(&n.db);
    if !db.calls.contains_key(&id) {
        return not_found("call");
    }
    let ps: Vec<_> = db.participants_of(&id).collect();
    let (a, b) = match page(&q, ps.len(), ctx.cluster.cfg.max_page) {
        Ok(r) => r,
        Err(e) => return e,
    };
    xml_ok(xml::collection("participants", ps.len(), &ps[a..b].iter().map(|p| xml::participant(p, &n.bridge_id)).collect::<Vec<_>>()))
}

async fn list_participants(State(ctx): State<Ctx>, Query(q): Q) -> Response {
    let n = &ctx.cluster.nodes[ctx.node];
    let db = lock(&n.db);
    let filter = q.get("filter");
    let ps: Vec<_> = db.participants.values().filter(|p| filter.is_none_or(|f| contains_ci(&p.name, f))).collect();
    let (a, b) = match page(&q, ps.len(), ctx.cluster.cfg.max_page) {
        Ok(r) => r,
        Err(e) => return e,
    };
    xml_ok(xml::collection("participants", ps.len(), &ps[a..b].iter().map(|p| xml::participant(p, &n.bridge_id)).collect::<Vec<_>>()))
}

async fn get_participant(State(ctx): State<Ctx>, Path(id): Path<String>) -> Response {
    let n = &ctx.cluster.nodes[ctx.node];
    let db = lock(&n.db);
    match db.participants.get(&id) {
        Some(p) => xml_ok(xml::object(xml::participant(p, &n.bridge_id))),
        None => not_found("participant"),
    }
}

async fn list_participant_legs(State(ctx): State<Ctx>, Path(id): Path<String>, Query(q): Q) -> Response {
    let db = lock(&ctx.cluster.nodes[ctx.node].db);
    if !db.participants.contains_key(&id) {
        return not_found("participant");
    }
    let legs: Vec<_> = db.legs.values().filter(|l| l.participant == id).collect();
    let (a, b) = match page(&q, legs.len(), ctx.cluster.cfg.max_page) {
        Ok(r) => r,
        Err(e) => return e,
    };
    xml_ok(xml::collection("callLegs", legs.len(), &legs[a..b].iter().map(|l| xml::leg_summary(l)).collect::<Vec<_>>()))
}

async fn put_participant(State(ctx): State<Ctx>, Path(id): Path<String>, Form(f): F) -> Response {
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
                Cluster::emit(n, &db, "callLegUpdate", super::cdr::records::leg_update(&l, false));
            }
            StatusCode::OK.into_response()
        }
        Some(_) => param_error("deactivated", "invalidValue"),
    }
}

// --- coSpaces and users (the cluster's shared database) ------------------------------------

const CO_SPACE_FIELDS: &[&str] = &[
    "name",
    "uri",
    "secondaryUri",
    "callId",
    "cdrTag",
    "passcode",
    "defaultLayout",
    "tenant",
    "callLegProfile",
    "callProfile",
    "callBrandingProfile",
    "requireCallId",
    "secret",
    "regenerateSecret",
    "nonMemberAccess",
    "ownerJid",
    "streamUrl",
];

async fn list_co_spaces(State(ctx): State<Ctx>, Query(q): Q) -> Response {
    let shared = lock(&ctx.cluster.shared);
    let filter = q.get("filter");
    let v: Vec<_> =
        shared.co_spaces.values().filter(|s| filter.is_none_or(|f| contains_ci(&s.name, f) || contains_ci(&s.uri, f))).collect();
    let (a, b) = match page(&q, v.len(), ctx.cluster.cfg.max_page) {
        Ok(r) => r,
        Err(e) => return e,
    };
    xml_ok(xml::collection("coSpaces", v.len(), &v[a..b].iter().map(|s| xml::co_space(s, false)).collect::<Vec<_>>()))
}

async fn get_co_space(State(ctx): State<Ctx>, Path(id): Path<String>) -> Response {
    match lock(&ctx.cluster.shared).co_spaces.get(&id) {
        Some(s) => xml_ok(xml::object(xml::co_space(s, true))),
        None => not_found("coSpace"),
    }
}

fn apply_co_space(s: &mut db::CoSpace, f: &HashMap<String, String>) {
    let opt = |v: &String| if v.is_empty() { None } else { Some(v.clone()) };
    if let Some(v) = f.get("name") {
        s.name = v.clone();
    }
    if let Some(v) = f.get("uri") {
        s.uri = v.clone();
    }
    if let Some(v) = f.get("secondaryUri") {
        s.secondary_uri = opt(v);
    }
    if let Some(v) = f.get("callId") {
        s.call_id = v.clone();
    }
    if let Some(v) = f.get("passcode") {
        s.passcode = opt(v);
    }
    if let Some(v) = f.get("secret") {
        s.secret = v.clone();
    }
    if let Some(v) = f.get("ownerJid") {
        s.owner_jid = opt(v);
    }
    if let Some(v) = f.get("tenant") {
        s.tenant = opt(v);
    }
}

async fn post_co_space(State(ctx): State<Ctx>, Form(f): F) -> Response {
    if let Err(e) = only(&f, CO_SPACE_FIELDS) {
        return e;
    }
    let mut shared = lock(&ctx.cluster.shared);
    if let Some(uri) = f.get("uri").filter(|u| !u.is_empty()) {
        if shared.co_spaces.values().any(|s| &s.uri == uri) {
            return bad("duplicateCoSpaceUri");
        }
    }
    let id = db::new_id();
    let mut s = db::CoSpace {
        id: id.clone(),
        name: String::new(),
        uri: String::new(),
        secondary_uri: None,
        call_id: String::new(),
        passcode: None,
        secret: db::new_id().replace('-', "").chars().take(16).collect(),
        owner_jid: None,
        tenant: None,
    };
    apply_co_space(&mut s, &f);
    shared.co_spaces.insert(id.clone(), s);
    created(format!("/api/v1/coSpaces/{id}"))
}

async fn put_co_space(State(ctx): State<Ctx>, Path(id): Path<String>, Form(f): F) -> Response {
    if let Err(e) = only(&f, CO_SPACE_FIELDS) {
        return e;
    }
    let mut shared = lock(&ctx.cluster.shared);
    match shared.co_spaces.get_mut(&id) {
        Some(s) => {
            apply_co_space(s, &f);
            StatusCode::OK.into_response()
        }
        None => not_found("coSpace"),
    }
}

async fn delete_co_space(State(ctx): State<Ctx>, Path(id): Path<String>) -> Response {
    match lock(&ctx.cluster.shared).co_spaces.remove(&id) {
        Some(_) => StatusCode::OK.into_response(),
        None => not_found("coSpace"),
    }
}

async fn list_users(State(ctx): State<Ctx>, Query(q): Q) -> Response {
    let shared = lock(&ctx.cluster.shared);
    let filter = q.get("filter");
    let email = q.get("emailFilter").or(q.get("emailfilter"));
    let v: Vec<_> = shared
        .users
        .values()
        .filter(|u| filter.is_none_or(|f| contains_ci(&u.user_jid, f) || contains_ci(&u.name, f)))
        .filter(|u| email.is_none_or(|e| u.email.eq_ignore_ascii_case(e)))
        .collect();
    let (a, b) = match page(&q, v.len(), ctx.cluster.cfg.max_page) {
        Ok(r) => r,
        Err(e) => return e,
    };
    xml_ok(xml::collection("users", v.len(), &v[a..b].iter().map(|u| xml::user(u, false)).collect::<Vec<_>>()))
}

async fn get_user(State(ctx): State<Ctx>, Path(id): Path<String>) -> Response {
    match lock(&ctx.cluster.shared).users.get(&id) {
        Some(u) => xml_ok(xml::object(xml::user(u, true))),
        None => not_found("user"),
    }
}

/// The spaces a user is associated with: here, those they own (`ownerJid`). `autoGenerated` is
/// true for the space LDAP sync would have made, `<localpart>` or `<localpart>.<anything>` [I: element names from
/// memory of the CMS API reference].
async fn user_co_spaces(State(ctx): State<Ctx>, Path(id): Path<String>, Query(q): Q) -> Response {
    let shared = lock(&ctx.cluster.shared);
    let Some(u) = shared.users.get(&id) else { return not_found("user") };
    let local = u.user_jid.split('@').next().unwrap_or("").to_ascii_lowercase();
    let mut v: Vec<_> =
        shared.co_spaces.values().filter(|s| s.owner_jid.as_deref().is_some_and(|o| o.eq_ignore_ascii_case(&u.user_jid))).collect();
    v.sort_by(|a, b| a.name.cmp(&b.name));
    let (a, b) = match page(&q, v.len(), ctx.cluster.cfg.max_page) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let items: Vec<String> = v[a..b]
        .iter()
        .map(|s| {
            let uri = s.uri.to_ascii_lowercase();
            let auto = uri == local || uri.starts_with(&format!("{local}."));
            format!("<userCoSpace id=\"{}\"><coSpaceId>{}</coSpaceId><autoGenerated>{auto}</autoGenerated></userCoSpace>", s.id, s.id)
        })
        .collect();
    xml_ok(xml::collection("userCoSpaces", v.len(), &items))
}

// --- branding profiles ---------------------------------------------------------------------

fn profile_kind(k: usize) -> (&'static str, &'static str, &'static str, &'static [&'static str]) {
    match k {
        0 => ("callBrandingProfiles", "callBrandingProfile", "/api/v1/callBrandingProfiles", &["invitationTemplate", "resourceLocation"]),
        1 => ("ivrBrandingProfiles", "ivrBrandingProfile", "/api/v1/ivrBrandingProfiles", &["resourceLocation"]),
        _ => (
            "webBridgeProfiles",
            "webBridgeProfile",
            "/api/v1/webBridgeProfiles",
            &[
                "name",
                "resourceArchive",
                "allowPasscodes",
                "allowSecrets",
                "userPortalEnabled",
                "allowUnauthenticatedGuests",
                "resolveCoSpaceCallIds",
                "resolveLyncConferenceIds",
                "resolveCoSpaceUris",
            ],
        ),
    }
}

fn profiles_of(shared: &mut super::db::Shared, k: usize) -> &mut BTreeMap<String, Profile> {
    match k {
        0 => &mut shared.call_branding_profiles,
        1 => &mut shared.ivr_branding_profiles,
        _ => &mut shared.web_bridge_profiles,
    }
}

async fn list_profiles<const K: usize>(State(ctx): State<Ctx>, Query(q): Q) -> Response {
    let (coll, tag, _, _) = profile_kind(K);
    let mut shared = lock(&ctx.cluster.shared);
    let v: Vec<_> = profiles_of(&mut shared, K).values().cloned().collect();
    let (a, b) = match page(&q, v.len(), ctx.cluster.cfg.max_page) {
        Ok(r) => r,
        Err(e) => return e,
    };
    xml_ok(xml::collection(coll, v.len(), &v[a..b].iter().map(|p| xml::profile(tag, p)).collect::<Vec<_>>()))
}

async fn get_profile<const K: usize>(State(ctx): State<Ctx>, Path(id): Path<String>) -> Response {
    let (_, tag, _, _) = profile_kind(K);
    let mut shared = lock(&ctx.cluster.shared);
    match profiles_of(&mut shared, K).get(&id) {
        Some(p) => xml_ok(xml::object(xml::profile(tag, p))),
        None => not_found(tag),
    }
}

async fn post_profile<const K: usize>(State(ctx): State<Ctx>, Form(f): F) -> Response {
    let (_, _, path, fields) = profile_kind(K);
    if let Err(e) = only(&f, fields) {
        return e;
    }
    let id = db::new_id();
    let p = Profile { id: id.clone(), fields: f.into_iter().filter(|(_, v)| !v.is_empty()).collect() };
    profiles_of(&mut lock(&ctx.cluster.shared), K).insert(id.clone(), p);
    created(format!("{path}/{id}"))
}

async fn put_profile<const K: usize>(State(ctx): State<Ctx>, Path(id): Path<String>, Form(f): F) -> Response {
    let (_, tag, _, fields) = profile_kind(K);
    if let Err(e) = only(&f, fields) {
        return e;
    }
    let mut shared = lock(&ctx.cluster.shared);
    let Some(p) = profiles_of(&mut shared, K).get_mut(&id) else { return not_found(tag) };
    for (k, v) in f {
        if v.is_empty() {
            p.fields.remove(&k);
        } else {
            p.fields.insert(k, v);
        }
    }
    StatusCode::OK.into_response()
}

async fn delete_profile<const K: usize>(State(ctx): State<Ctx>, Path(id): Path<String>) -> Response {
    let (_, tag, _, _) = profile_kind(K);
    match profiles_of(&mut lock(&ctx.cluster.shared), K).remove(&id) {
        Some(_) => StatusCode::OK.into_response(),
        None => not_found(tag),
    }
}

// --- system --------------------------------------------------------------------------------

/// The web admin offers four receiver slots.
const MAX_CDR_RECEIVERS: usize = 4;

async fn list_cdr_receivers(State(ctx): State<Ctx>, Query(q): Q) -> Response {
    let db = lock(&ctx.cluster.nodes[ctx.node].db);
    let v: Vec<_> = db.cdr_receivers.iter().collect();
    let (a, b) = match page(&q, v.len(), ctx.cluster.cfg.max_page) {
        Ok(r) => r,
        Err(e) => return e,
    };
    xml_ok(xml::collection("cdrReceivers", v.len(), &v[a..b].iter().map(|(id, u)| xml::cdr_receiver(id, u)).collect::<Vec<_>>()))
}

fn valid_receiver_url(u: &str) -> bool {
    (u.starts_with("http://") || u.starts_with("https://")) && u.len() > 8 && !u.contains(' ')
}

async fn post_cdr_receiver(State(ctx): State<Ctx>, Form(f): F) -> Response {
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

async fn get_cdr_receiver(State(ctx): State<Ctx>, Path(id): Path<String>) -> Response {
    let db = lock(&ctx.cluster.nodes[ctx.node].db);
    match db.cdr_receivers.get(&id) {
        Some(u) => xml_ok(xml::object(xml::cdr_receiver(&id, u))),
        None => not_found("cdrReceiver"),
    }
}

async fn put_cdr_receiver(State(ctx): State<Ctx>, Path(id): Path<String>, Form(f): F) -> Response {
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

async fn delete_cdr_receiver(State(ctx): State<Ctx>, Path(id): Path<String>) -> Response {
    match lock(&ctx.cluster.nodes[ctx.node].db).cdr_receivers.remove(&id) {
        Some(_) => StatusCode::OK.into_response(),
        None => not_found("cdrReceiver"),
    }
}

async fn system_status(State(ctx): State<Ctx>) -> Response {
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

// --- /sim: inspection and control -----------------------------------------------------------

async fn sim_requests(State(ctx): State<Ctx>) -> Json<Vec<super::LoggedRequest>> {
    Json(ctx.cluster.nodes[ctx.node].requests())
}

async fn sim_clear_requests(State(ctx): State<Ctx>) -> StatusCode {
    ctx.cluster.nodes[ctx.node].clear_requests();
    StatusCode::NO_CONTENT
}

async fn sim_cdr(State(ctx): State<Ctx>) -> Json<Vec<super::cdr::ReceiverStats>> {
    Json(ctx.cluster.nodes[ctx.node].cdr_stats())
}

#[derive(serde::Deserialize)]
struct FaultForm {
    latency_ms: Option<u64>,
    error_rate: Option<f64>,
    drop_rate: Option<f64>,
    lost_ack_rate: Option<f64>,
    down: Option<bool>,
}

async fn sim_faults(State(ctx): State<Ctx>, Form(f): Form<FaultForm>) -> StatusCode {
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
    if let Some(d) = f.down {
        faults.set_down(d);
    }
    StatusCode::NO_CONTENT
}

#[derive(serde::Serialize)]
struct StateView {
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

async fn sim_state(State(ctx): State<Ctx>) -> Json<StateView> {
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
