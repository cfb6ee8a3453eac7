//! The integration's OAuth 2.0 authorisation code flow (reference/webex.md §2): `GET /v1/authorize`
//! shows a consent page where the simulated user picks who they are, `POST /v1/authorize` sends
//! the browser back with a code (or `error=access_denied`), and `POST /v1/access_token` trades a
//! code or a refresh token for tokens. PKCE (RFC 7636, S256 and plain), the client as form fields
//! or HTTP Basic (RFC 6749 §2.3.1), single-use codes valid 5 minutes, and a replayed code revoking
//! what it issued (RFC 6749 §4.1.2) are RFC behaviour; whether Webex does each is [I].

use super::{tracking_id, Code, Refresh, Shared};
use crate::sync::lock;
use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::{Form, Json};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CODE_LIFETIME: Duration = Duration::from_secs(300);

/// RFC 3986 unreserved characters stay as they are.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>body{{font-family:sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}}\
         select,button{{font-size:1rem;margin:.3rem 0}}</style></head>\
         <body><h1>{t}</h1>\n{body}\n<p><small>Webex simulator</small></p></body></html>\n",
        t = esc(title)
    );
    (status, Html(html)).into_response()
}

fn refuse_page(why: &str) -> Response {
    page(StatusCode::BAD_REQUEST, "Authorization request refused", &format!("<p id=\"error\">{}</p>", esc(why)))
}

/// An unregistered redirect URI is never redirected to; with no URIs registered any `http(s)`
/// URI is accepted [I].
/// The redirect URI, or why the request is refused.
fn check_client(s: &Shared, q: &HashMap<String, String>) -> Result<String, String> {
    match q.get("client_id") {
        Some(id) if *id == s.cfg.client_id => {}
        Some(_) => return Err("The client_id is not a known integration.".into()),
        None => return Err("The client_id parameter is missing.".into()),
    }
    let Some(uri) = q.get("redirect_uri") else {
        return Err("The redirect_uri parameter is missing.".into());
    };
    let allowed = if s.cfg.redirect_uris.is_empty() {
        uri.starts_with("http://") || uri.starts_with("https://")
    } else {
        s.cfg.redirect_uris.iter().any(|r| r == uri)
    };
    if !allowed {
        return Err(format!("The redirect_uri {uri} is not registered for this integration."));
    }
    Ok(uri.clone())
}

fn redirect_with(uri: &str, params: &[(&str, Option<&str>)]) -> Response {
    let mut loc = uri.to_string();
    let mut sep = if uri.contains('?') { '&' } else { '?' };
    for (k, v) in params {
        if let Some(v) = v {
            loc.push(sep);
            loc.push_str(k);
            loc.push('=');
            loc.extend(utf8_percent_encode(v, QUERY_VALUE));
            sep = '&';
        }
    }
    match HeaderValue::from_str(&loc) {
        Ok(v) => (StatusCode::SEE_OTHER, [(header::LOCATION, v)]).into_response(),
        Err(_) => refuse_page("The redirect_uri cannot be used in a Location header."),
    }
}

/// The parameters errors after the client check go back to the redirect URI with (RFC 6749
/// §4.1.2.1): response_type, scope and the PKCE method.
fn check_request(uri: &str, q: &HashMap<String, String>) -> Option<Response> {
    let state = q.get("state").map(String::as_str);
    let fail = |code: &str, why: &str| redirect_with(uri, &[("error", Some(code)), ("error_description", Some(why)), ("state", state)]);
    if q.get("response_type").map(String::as_str) != Some("code") {
        return Some(fail("unsupported_response_type", "response_type must be code"));
    }
    if q.get("scope").is_none_or(|s| s.trim().is_empty()) {
        return Some(fail("invalid_scope", "scope is required"));
    }
    match (q.get("code_challenge"), q.get("code_challenge_method").map(String::as_str)) {
        (None, Some(_)) => Some(fail("invalid_request", "code_challenge_method without code_challenge")),
        (Some(_), Some(m)) if m != "S256" && m != "plain" => Some(fail("invalid_request", "code_challenge_method must be S256 or plain")),
        _ => None,
    }
}

const CARRIED: [&str; 7] = ["response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method"];

/// `GET /v1/authorize`: the consent page.
pub(super) async fn authorize_page(State(s): State<Arc<Shared>>, Query(q): Query<HashMap<String, String>>) -> Response {
    let uri = match check_client(&s, &q) {
        Ok(u) => u,
        Err(why) => return refuse_page(&why),
    };
    if let Some(r) = check_request(&uri, &q) {
        return r;
    }
    let hint = q.get("login_hint").or_else(|| q.get("email")).map(|h| h.to_lowercase());
    let options: String = lock(&s.world)
        .people
        .iter()
        .map(|p| {
            let selected = if hint.as_deref() == Some(p.email.to_lowercase().as_str()) { " selected" } else { "" };
            format!("<option value=\"{}\"{selected}>{} &lt;{}&gt;</option>\n", esc(&p.email), esc(&p.display_name), esc(&p.email))
        })
        .collect();
    let hidden: String =
        CARRIED.iter().filter_map(|k| q.get(*k).map(|v| format!("<input type=\"hidden\" name=\"{k}\" value=\"{}\">\n", esc(v)))).collect();
    let scope = q.get("scope").cloned().unwrap_or_default();
    let body = format!(
        "<p>Switchboard wants to access your Webex account.</p>\n<p>Requested scopes: <code>{}</code></p>\n\
         <form method=\"post\" action=\"/v1/authorize\">\n{hidden}<label for=\"email\">Sign in as</label>\n\
         <select name=\"email\" id=\"email\">\n{options}</select>\n<p>\
         <button type=\"submit\" id=\"accept\" name=\"decision\" value=\"accept\">Accept</button>\n\
         <button type=\"submit\" id=\"decline\" name=\"decision\" value=\"decline\">Decline</button></p>\n</form>",
        esc(&scope)
    );
    page(StatusCode::OK, "Switchboard wants to access your Webex account", &body)
}

/// `POST /v1/authorize`: the user's decision.
pub(super) async fn authorize_decision(
    State(s): State<Arc<Shared>>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let Ok(Form(f)) = form else {
        return refuse_page("The form could not be read.");
    };
    let uri = match check_client(&s, &f) {
        Ok(u) => u,
        Err(why) => return refuse_page(&why),
    };
    if let Some(r) = check_request(&uri, &f) {
        return r;
    }
    let state = f.get("state").map(String::as_str);
    match f.get("decision").map(String::as_str) {
        Some("decline") => redirect_with(
            &uri,
            &[
                ("error", Some("access_denied")),
                ("error_description", Some("The user declined the authorization request.")),
                ("state", state),
            ],
        ),
        Some("accept") => {
            let mut w = lock(&s.world);
            let Some(person_id) = f.get("email").and_then(|e| w.person_by_email(e)).map(|p| p.id.clone()) else {
                return refuse_page("Pick a person from the list.");
            };
            let code = super::random_code();
            w.codes.insert(
                code.clone(),
                Code {
                    person_id,
                    scope: f.get("scope").cloned().unwrap_or_default(),
                    redirect_uri: uri.clone(),
                    challenge: f.get("code_challenge").cloned(),
                    method: f.get("code_challenge_method").cloned().unwrap_or_else(|| "plain".into()),
                    expires: Instant::now() + CODE_LIFETIME,
                    used: false,
                },
            );
            redirect_with(&uri, &[("code", Some(&code)), ("state", state)])
        }
        _ => refuse_page("decision must be accept or decline."),
    }
}

/// OAuth errors from the token endpoint: `{"error", "error_description", "trackingId"}`.
fn oauth_error(status: StatusCode, code: &str, why: &str) -> Response {
    let mut r = (status, Json(serde_json::json!({ "error": code, "error_description": why, "trackingId": tracking_id() }))).into_response();
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"webex\""));
    }
    r
}

/// The client from HTTP Basic (each part form-urlencoded first, RFC 6749 §2.3.1) or form fields.
fn client_auth(headers: &HeaderMap, f: &HashMap<String, String>) -> Option<(String, String)> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic ")))
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let decode = |s: &str| percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned();
    match basic.as_deref().and_then(|b| b.split_once(':')) {
        Some((id, secret)) => Some((decode(id), decode(secret))),
        None => Some((f.get("client_id")?.clone(), f.get("client_secret")?.clone())),
    }
}

/// `POST /v1/access_token` (form-encoded).
pub(super) async fn access_token(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let Ok(Form(f)) = form else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "The body must be application/x-www-form-urlencoded.");
    };
    match client_auth(&headers, &f) {
        Some((id, secret)) if id == s.cfg.client_id && secret == s.cfg.client_secret => {
            if f.get("client_id").is_some_and(|c| *c != id) {
                return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "client_id does not match the client authenticated.");
            }
        }
        _ => return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Client authentication failed."),
    }
    let grant = |why: &str| oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", why);
    let mut w = lock(&s.world);
    let (person_id, scope, refresh_token, code) = match f.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let Some(code) = f.get("code") else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "code is required.");
            };
            let Some(c) = w.codes.get_mut(code) else {
                return grant("The authorization code is invalid.");
            };
            if c.used {
                c.expires = Instant::now();
                w.access.retain(|_, t| t.code.as_deref() != Some(code));
                w.refresh.retain(|_, t| t.code.as_deref() != Some(code));
                return grant("The authorization code has already been used; the tokens issued from it are revoked.");
            }
            if Instant::now() >= c.expires {
                return grant("The authorization code has expired.");
            }
            if f.get("redirect_uri") != Some(&c.redirect_uri) {
                return grant("redirect_uri does not match the one used in the authorization request.");
            }
            if let Some(challenge) = &c.challenge {
                let Some(verifier) = f.get("code_verifier") else {
                    return grant("code_verifier is required.");
                };
                let ok = match c.method.as_str() {
                    "S256" => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == *challenge,
                    _ => verifier == challenge,
                };
                if !ok {
                    return grant("code_verifier does not match the code_challenge.");
                }
            }
            c.used = true;
            let (person_id, scope) = (c.person_id.clone(), c.scope.clone());
            let token = super::token_string();
            let life = w.refresh_lifetime;
            w.refresh.insert(
                token.clone(),
                Refresh {
                    person_id: person_id.clone(),
                    expires: Instant::now() + life,
                    scope: scope.clone(),
                    revoked: false,
                    code: Some(code.clone()),
                },
            );
            (person_id, scope, (token, life.as_secs()), Some(code.clone()))
        }
        Some("refresh_token") => {
            let Some(token) = f.get("refresh_token") else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "refresh_token is required.");
            };
            let Some(r) = w.refresh.get(token) else {
                return grant("The refresh token is invalid.");
            };
            let now = Instant::now();
            if r.revoked || now >= r.expires {
                return grant("The refresh token is expired or revoked.");
            }
            let left = r.expires.saturating_duration_since(now).as_secs();
            (r.person_id.clone(), r.scope.clone(), (token.clone(), left), r.code.clone())
        }
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant_type must be authorization_code or refresh_token.",
            )
        }
        None => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "grant_type is required."),
    };
    let (access, expires_in) = w.issue_access(&person_id, code.as_deref());
    let body = serde_json::json!({
        "access_token": access,
        "expires_in": expires_in,
        "refresh_token": refresh_token.0,
        "refresh_token_expires_in": refresh_token.1,
        "token_type": "Bearer",
        "scope": scope,
    });
    ([(header::CACHE_CONTROL, "no-store"), (header::PRAGMA, "no-cache")], Json(body)).into_response()
}
