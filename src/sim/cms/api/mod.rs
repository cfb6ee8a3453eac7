//! The simulated Call Bridge's HTTP surface: `/api/v1/...` as CMS serves it (Basic auth, XML,
//! form bodies, `Location` on POST, paths in any case and with or without a trailing slash,
//! pages capped at `max_page`, shorter ones in the middle on request) and
//! `/sim/...` for tests and people to look inside and inject faults.

// Handlers answer errors as ready axum responses; boxing them would only add noise.
#![allow(clippy::result_large_err)]

mod calls;
mod inspect;
mod middleware;
mod profiles;
mod spaces;
mod system;

use super::xml;
use super::Cluster;
use axum::body::Body;
use axum::extract::{Query, Request};
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use std::collections::HashMap;
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

/// Pages a list as CMS does: `offset`, and `limit` capped at the node's largest page. With the
/// short-pages fault, a page past the first with rows after it holds about a third fewer.
fn page(q: &HashMap<String, String>, total: usize, ctx: &Ctx) -> Result<(usize, usize), Response> {
    let max = ctx.cluster.cfg.max_page;
    let num = |k: &str| -> Result<Option<usize>, Response> {
        match q.get(k) {
            None => Ok(None),
            Some(v) => v.parse::<usize>().map(Some).map_err(|_| param_error(k, "invalidValue")),
        }
    };
    let offset = num("offset")?.unwrap_or(0).min(total);
    let limit = num("limit")?.unwrap_or(max).min(max);
    let end = (offset + limit).min(total);
    let rows = end - offset;
    if offset > 0 && end < total && rows >= 2 && ctx.cluster.nodes[ctx.node].faults.should_short_page() {
        return Ok((offset, offset + rows * 2 / 3));
    }
    Ok((offset, end))
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

type Normalise = fn(axum::http::Request<hyper::body::Incoming>) -> Request;

pub fn router(cluster: Arc<Cluster>, node: usize) -> axum::routing::IntoMakeService<tower::util::MapRequest<Router, Normalise>> {
    let ctx = Ctx { cluster, node };
    let api = Router::new()
        .route("/api/v1/calls", get(calls::list_calls))
        .route("/api/v1/calls/{id}", get(calls::get_call).put(calls::put_call))
        .route("/api/v1/calls/{id}/calllegs", get(calls::list_call_legs_of))
        .route("/api/v1/calls/{id}/participants", get(calls::list_participants_of))
        .route("/api/v1/calllegs", get(calls::list_call_legs))
        .route("/api/v1/calllegs/{id}", get(calls::get_call_leg))
        .route("/api/v1/participants", get(calls::list_participants))
        .route("/api/v1/participants/{id}", get(calls::get_participant).put(calls::put_participant))
        .route("/api/v1/participants/{id}/calllegs", get(calls::list_participant_legs))
        .route("/api/v1/cospaces", get(spaces::list_co_spaces).post(spaces::post_co_space))
        .route("/api/v1/cospaces/{id}", get(spaces::get_co_space).put(spaces::put_co_space).delete(spaces::delete_co_space))
        .route("/api/v1/users", get(spaces::list_users))
        .route("/api/v1/users/{id}", get(spaces::get_user))
        .route("/api/v1/users/{id}/usercospaces", get(spaces::user_co_spaces))
        .route("/api/v1/callbrandingprofiles", get(profiles::list_profiles::<0>).post(profiles::post_profile::<0>))
        .route(
            "/api/v1/callbrandingprofiles/{id}",
            get(profiles::get_profile::<0>).put(profiles::put_profile::<0>).delete(profiles::delete_profile::<0>),
        )
        .route("/api/v1/ivrbrandingprofiles", get(profiles::list_profiles::<1>).post(profiles::post_profile::<1>))
        .route(
            "/api/v1/ivrbrandingprofiles/{id}",
            get(profiles::get_profile::<1>).put(profiles::put_profile::<1>).delete(profiles::delete_profile::<1>),
        )
        .route("/api/v1/webbridgeprofiles", get(profiles::list_profiles::<2>).post(profiles::post_profile::<2>))
        .route(
            "/api/v1/webbridgeprofiles/{id}",
            get(profiles::get_profile::<2>).put(profiles::put_profile::<2>).delete(profiles::delete_profile::<2>),
        )
        .route("/api/v1/system/cdrreceivers", get(system::list_cdr_receivers).post(system::post_cdr_receiver))
        .route(
            "/api/v1/system/cdrreceivers/{id}",
            get(system::get_cdr_receiver).put(system::put_cdr_receiver).delete(system::delete_cdr_receiver),
        )
        .route("/api/v1/system/status", get(system::system_status))
        .layer(axum::middleware::from_fn_with_state(ctx.clone(), middleware::basic_auth))
        .layer(axum::middleware::from_fn_with_state(ctx.clone(), middleware::faults));
    let log = ctx.cluster.nodes[node].log.clone();
    let sim = log
        .routes()
        .route("/sim/cdr", get(inspect::sim_cdr))
        .route("/sim/faults", axum::routing::post(inspect::sim_faults))
        .route("/sim/restart-callbridge", axum::routing::post(inspect::sim_restart_call_bridge))
        .route("/sim/state", get(inspect::sim_state));
    let app = api.merge(sim).layer(axum::middleware::from_fn_with_state(log, crate::sim::request_log::record)).with_state(ctx);
    // CMS paths are matched without regard to case (the old scripts used `calllegs`) and with or
    // without a trailing slash (scripts written against CMS send `/coSpaces/<id>/`).
    let normalise: Normalise = normalise_path;
    axum::ServiceExt::<axum::http::Request<hyper::body::Incoming>>::into_make_service(
        tower::util::MapRequestLayer::new(normalise).layer(app),
    )
}

/// The path as the routes spell it: lower case, no trailing slash.
fn normalised(path: &str) -> String {
    let lowered = path.to_ascii_lowercase();
    match lowered.trim_end_matches('/') {
        "" => "/".to_string(),
        trimmed => trimmed.to_string(),
    }
}

fn normalise_path(req: axum::http::Request<hyper::body::Incoming>) -> Request {
    let mut req = req.map(Body::new);
    let uri = req.uri();
    let path = normalised(uri.path());
    if path != uri.path() {
        let pq = match uri.query() {
            Some(q) => format!("{path}?{q}"),
            None => path,
        };
        if let Ok(new) = pq.parse::<Uri>() {
            *req.uri_mut() = new;
        }
    }
    req
}

#[cfg(test)]
mod tests {
    use super::normalised;

    #[test]
    fn paths_match_in_any_case_and_with_a_trailing_slash() {
        assert_eq!(normalised("/api/v1/coSpaces/ABC/"), "/api/v1/cospaces/abc");
        assert_eq!(normalised("/api/v1/callLegs//"), "/api/v1/calllegs");
        assert_eq!(normalised("/api/v1/calls"), "/api/v1/calls");
        assert_eq!(normalised("/"), "/");
    }
}
