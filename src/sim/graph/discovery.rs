//! What an identity-platform client reads before it asks for a token: the OpenID Connect
//! discovery document (`/{tenant}/v2.0/.well-known/openid-configuration`), MSAL's instance
//! discovery (`/common/discovery/instance?api-version=1.1&authorization_endpoint=…`) and the
//! (empty) signing keys; every endpoint named points back at this simulator, as reached.

use super::Shared;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// Tenants that name no tenant in particular (their documents say `{tenantid}` in the issuer).
const MULTI_TENANT: [&str; 3] = ["common", "organizations", "consumers"];

/// The simulator's origin as the client reached it (its `Host`; `https` when serving TLS or
/// behind a proxy that says so), so that the endpoints it is sent to are ones it can reach.
pub(super) fn public_base(s: &Shared, headers: &HeaderMap) -> String {
    let host = headers.get(axum::http::header::HOST).and_then(|v| v.to_str().ok()).filter(|h| !h.is_empty());
    let Some(host) = host else { return s.base.clone() };
    let https = s.base.starts_with("https:")
        || headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).is_some_and(|p| p.eq_ignore_ascii_case("https"));
    format!("{}://{host}", if https { "https" } else { "http" })
}

/// Entra ID's error body (`AADSTS…` in the description).
fn aad(status: StatusCode, error: &str, code: u32, desc: &str) -> Response {
    let body = json!({
        "error": error, "error_description": desc, "error_codes": [code],
        "timestamp": "", "trace_id": uuid::Uuid::new_v4().to_string(), "correlation_id": uuid::Uuid::new_v4().to_string(),
    });
    (status, Json(body)).into_response()
}

/// The tenant as the simulator knows it (the configured one, case as configured, or a
/// multi-tenant alias), or Entra ID's 400.
fn known_tenant(s: &Shared, tenant: &str) -> Result<String, Box<Response>> {
    if tenant.eq_ignore_ascii_case(&s.cfg.tenant) {
        return Ok(s.cfg.tenant.clone());
    }
    if let Some(t) = MULTI_TENANT.iter().find(|t| tenant.eq_ignore_ascii_case(t)) {
        return Ok(t.to_string());
    }
    Err(Box::new(aad(
        StatusCode::BAD_REQUEST,
        "invalid_tenant",
        90002,
        &format!("AADSTS90002: Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."),
    )))
}

/// The v2.0 OpenID Connect discovery document of `tenant`.
fn openid_document(base: &str, tenant: &str) -> Value {
    let issuer_tenant = if MULTI_TENANT.contains(&tenant) { "{tenantid}" } else { tenant };
    let at = |p: &str| format!("{base}/{tenant}/{p}");
    json!({
        "issuer": format!("{base}/{issuer_tenant}/v2.0"),
        "authorization_endpoint": at("oauth2/v2.0/authorize"),
        "token_endpoint": at("oauth2/v2.0/token"),
        "device_authorization_endpoint": at("oauth2/v2.0/devicecode"),
        "end_session_endpoint": at("oauth2/v2.0/logout"),
        "jwks_uri": at("discovery/v2.0/keys"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "preferred_username", "name", "tid", "ver", "email"],
        "request_uri_parameter_supported": false,
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
    })
}

pub(super) async fn openid_configuration(State(s): State<Arc<Shared>>, Path(tenant): Path<String>, headers: HeaderMap) -> Response {
    match known_tenant(&s, &tenant) {
        Ok(t) => Json(openid_document(&public_base(&s, &headers), &t)).into_response(),
        Err(refused) => *refused,
    }
}

/// The signing keys the document names: none, as the simulator's tokens are opaque.
pub(super) async fn keys(State(s): State<Arc<Shared>>, Path(tenant): Path<String>) -> Response {
    match known_tenant(&s, &tenant) {
        Ok(_) => Json(json!({ "keys": [] })).into_response(),
        Err(refused) => *refused,
    }
}

/// MSAL's instance discovery: an authorization endpoint on this simulator's host (as reached;
/// MSAL Python names the host without its port) is a known instance, answered with where its
/// tenant's document is and the instance's aliases (only itself); any other host is
/// `invalid_instance`, as Entra ID answers for one it does not run.
pub(super) async fn instance(State(s): State<Arc<Shared>>, Query(q): Query<HashMap<String, String>>, headers: HeaderMap) -> Response {
    if !matches!(q.get("api-version").map(String::as_str), Some("1.0" | "1.1")) {
        return aad(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900_144,
            "AADSTS900144: The request body must contain the following parameter: 'api-version'.",
        );
    }
    let base = public_base(&s, &headers);
    let unknown = || aad(StatusCode::BAD_REQUEST, "invalid_instance", 50049, "AADSTS50049: Unknown or invalid instance.");
    let Some(url) = q.get("authorization_endpoint").and_then(|a| reqwest::Url::parse(a).ok()) else { return unknown() };
    let host_of = |u: &str| reqwest::Url::parse(u).ok().and_then(|u| u.host_str().map(str::to_ascii_lowercase));
    let asked = url.host_str().map(str::to_ascii_lowercase);
    if asked.is_none() || (asked != host_of(&base) && asked != host_of(&s.base)) {
        return unknown();
    }
    let mut segments = url.path_segments().into_iter().flatten().filter(|p| !p.is_empty());
    let Some(tenant) = segments.next().map(str::to_string) else { return unknown() };
    if segments.next() != Some("oauth2") {
        return unknown();
    }
    let host = base.split_once("://").map_or(base.as_str(), |(_, h)| h).to_string();
    Json(json!({
        "tenant_discovery_endpoint": format!("{base}/{tenant}/v2.0/.well-known/openid-configuration"),
        "api-version": "1.1",
        "metadata": [{ "preferred_network": host, "preferred_cache": host, "aliases": [host] }],
    }))
    .into_response()
}
