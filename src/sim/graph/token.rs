//! The identity platform's token endpoint: client credentials, the client authenticated in the
//! form or with HTTP Basic, scope `https://graph.microsoft.com/.default`, errors as Entra ID
//! words them (`AADSTS…`).

use super::Shared;
use crate::sync::lock;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Deserialize)]
pub(super) struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
}

pub(super) async fn token(
    State(s): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Form(f): Form<TokenForm>,
) -> Response {
    let aad = |status: StatusCode, error: &str, desc: &str| {
        (status, Json(json!({ "error": error, "error_description": desc, "error_codes": [], "timestamp": "", "trace_id": uuid::Uuid::new_v4().to_string() })))
            .into_response()
    };
    if !tenant.eq_ignore_ascii_case(&s.cfg.tenant) {
        return aad(StatusCode::BAD_REQUEST, "invalid_request", &format!("AADSTS90002: Tenant '{tenant}' not found."));
    }
    if f.grant_type.as_deref() != Some("client_credentials") {
        return aad(StatusCode::BAD_REQUEST, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.");
    }
    // The client authenticates in the form or with HTTP Basic (RFC 6749 §2.3.1), as Entra ID allows.
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|raw| raw.split_once(':').map(|(u, p)| (url_decode(u), url_decode(p))));
    let (id, secret) = match (basic, f.client_id, f.client_secret) {
        (Some((u, p)), _, _) => (u, p),
        (None, Some(u), Some(p)) => (u, p),
        _ => return aad(StatusCode::UNAUTHORIZED, "invalid_client", "AADSTS7000216: 'client_assertion' or 'client_secret' is required."),
    };
    if id != s.cfg.client_id {
        return aad(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            &format!("AADSTS700016: Application with identifier '{id}' was not found."),
        );
    }
    if secret != s.cfg.client_secret {
        return aad(StatusCode::UNAUTHORIZED, "invalid_client", "AADSTS7000215: Invalid client secret provided.");
    }
    if !f.scope.as_deref().unwrap_or_default().split(' ').any(|x| x == "https://graph.microsoft.com/.default") {
        return aad(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "AADSTS1002012: The provided value for scope is not valid. Client credential flows must have a scope value with /.default.",
        );
    }
    let tok = format!("eyJ0eXAiOiJKV1Qi.{}", uuid::Uuid::new_v4().simple());
    lock(&s.tokens).insert(tok.clone(), Instant::now() + Duration::from_secs(s.cfg.token_seconds));
    Json(json!({ "token_type": "Bearer", "expires_in": s.cfg.token_seconds, "ext_expires_in": s.cfg.token_seconds, "access_token": tok }))
        .into_response()
}

pub(super) fn url_decode(v: &str) -> String {
    percent_encoding::percent_decode_str(&v.replace('+', " ")).decode_utf8_lossy().into_owned()
}
