//! The integration's OAuth 2.0 authorisation code flow (../shared/reference/webex.md §2):
//! `GET /v1/authorize` shows a consent page where the simulated user picks who they are,
//! `POST /v1/authorize` sends the browser back with a code (or `error=access_denied`), and
//! `POST /v1/access_token` trades a code or a refresh token for tokens. The client authenticates
//! as Webex documents it: `client_id` and `client_secret` form fields. HTTP Basic alone is refused
//! (Webex documents only the form fields, and the sample pins requests-oauthlib 1.0.0 because the
//! versions that send Basic by default failed against Webex). A refresh token that is expired or
//! revoked is answered as Webex answers it: 400 with `error`, `error_description` ("The refresh
//! token provided is expired, revoked, malformed, or invalid.", the text Cisco's own clients look
//! for), `errors` and `message`; the `error` code (`invalid_request`) is [I]. PKCE (RFC 7636, S256
//! and plain), single-use codes valid 5 minutes, and a replayed code revoking what it issued
//! (RFC 6749 §4.1.2) are RFC behaviour; whether Webex does each is [I].

use super::world::{random_code, token_string, Code, Refresh, World};
use super::{tracking_id, Shared};
use crate::sync::lock;
use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::{Form, Json};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CODE_LIFETIME: Duration = Duration::from_secs(300);

/// RFC 3986 unreserved characters stay as they are.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Text inside an element.
fn text(s: &str) -> std::borrow::Cow<'_, str> {
    html_escape::encode_text(s)
}

/// A value inside a double-quoted attribute.
fn attr(s: &str) -> std::borrow::Cow<'_, str> {
    html_escape::encode_double_quoted_attribute(s)
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>body{{font-family:sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}}\
         select,button{{font-size:1rem;margin:.3rem 0}}</style></head>\
         <body><h1>{t}</h1>\n{body}\n<p><small>Webex simulator</small></p></body></html>\n",
        t = text(title)
    );
    (status, Html(html)).into_response()
}

fn refuse_page(why: &str) -> Response {
    page(StatusCode::BAD_REQUEST, "Authorization request refused", &format!("<p id=\"error\">{}</p>", text(why)))
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
            format!("<option value=\"{}\"{selected}>{} &lt;{}&gt;</option>\n", attr(&p.email), text(&p.display_name), text(&p.email))
        })
        .collect();
    let hidden: String =
        CARRIED.iter().filter_map(|k| q.get(*k).map(|v| format!("<input type=\"hidden\" name=\"{k}\" value=\"{}\">\n", attr(v)))).collect();
    let scope = q.get("scope").cloned().unwrap_or_default();
    let body = format!(
        "<p>Switchboard wants to access your Webex account.</p>\n<p>Requested scopes: <code>{}</code></p>\n\
         <form method=\"post\" action=\"/v1/authorize\">\n{hidden}<label for=\"email\">Sign in as</label>\n\
         <select name=\"email\" id=\"email\">\n{options}</select>\n<p>\
         <button type=\"submit\" id=\"accept\" name=\"decision\" value=\"accept\">Accept</button>\n\
         <button type=\"submit\" id=\"decline\" name=\"decision\" value=\"decline\">Decline</button></p>\n</form>",
        text(&scope)
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
            let code = random_code();
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

/// OAuth errors from the token endpoint, in Webex's shape: the OAuth fields (`error`,
/// `error_description`) beside Webex's own (`message`, `errors[].description`, `trackingId`).
fn oauth_error(status: StatusCode, code: &str, why: &str) -> Response {
    let body = serde_json::json!({
        "error": code, "error_description": why, "message": why, "errors": [{ "description": why }], "trackingId": tracking_id(),
    });
    (status, Json(body)).into_response()
}

/// What Webex answers for a refresh token it no longer honours.
pub(super) const DEAD_REFRESH: &str = "The refresh token provided is expired, revoked, malformed, or invalid.";

/// What a grant gives: whose tokens, their scope, the refresh token with its remaining
/// lifetime in seconds, and the authorisation code they trace back to.
struct Grant {
    person_id: String,
    scope: String,
    refresh: (String, u64),
    code: Option<String>,
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
    if let Err(refused) = check_token_client(&s, &headers, &f) {
        return *refused;
    }
    let mut w = lock(&s.world);
    let grant = match f.get("grant_type").map(String::as_str) {
        Some("authorization_code") => code_grant(&mut w, &f),
        Some("refresh_token") => refresh_grant(&w, &f),
        Some(_) => Err(Box::new(oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be authorization_code or refresh_token.",
        ))),
        None => Err(Box::new(oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "grant_type is required."))),
    };
    let g = match grant {
        Ok(g) => g,
        Err(refused) => return *refused,
    };
    let (access, expires_in) = w.issue_access(&g.person_id, g.code.as_deref(), &g.scope);
    let body = serde_json::json!({
        "access_token": access,
        "expires_in": expires_in,
        "refresh_token": g.refresh.0,
        "refresh_token_expires_in": g.refresh.1,
        "token_type": "Bearer",
        "scope": g.scope,
    });
    ([(header::CACHE_CONTROL, "no-store"), (header::PRAGMA, "no-cache")], Json(body)).into_response()
}

/// The integration authenticated itself with its `client_id` and `client_secret` form fields; an
/// `Authorization: Basic` header does not stand in for them [I: the status and code].
fn check_token_client(s: &Shared, headers: &HeaderMap, f: &HashMap<String, String>) -> Result<(), Box<Response>> {
    match (f.get("client_id"), f.get("client_secret")) {
        (Some(id), Some(secret)) if *id == s.cfg.client_id && *secret == s.cfg.client_secret => Ok(()),
        (Some(_), Some(_)) => Err(Box::new(oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Client authentication failed."))),
        _ => {
            let basic = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("basic ")));
            let why = if basic {
                "client_id and client_secret are required form parameters; HTTP Basic client authentication is not accepted."
            } else {
                "client_id and client_secret are required form parameters."
            };
            Err(Box::new(oauth_error(StatusCode::BAD_REQUEST, "invalid_request", why)))
        }
    }
}

fn invalid_grant(why: &str) -> Box<Response> {
    Box::new(oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", why))
}

/// `authorization_code`: a code used once, before it expires, with its redirect URI and PKCE
/// verifier; it gives a new refresh token. A replayed code revokes what it issued.
fn code_grant(w: &mut World, f: &HashMap<String, String>) -> Result<Grant, Box<Response>> {
    let Some(code) = f.get("code") else {
        return Err(Box::new(oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "code is required.")));
    };
    let Some(c) = w.codes.get_mut(code) else {
        return Err(invalid_grant("The authorization code is invalid."));
    };
    if c.used {
        c.expires = Instant::now();
        w.access.retain(|_, t| t.code.as_deref() != Some(code));
        w.refresh.retain(|_, t| t.code.as_deref() != Some(code));
        return Err(invalid_grant("The authorization code has already been used; the tokens issued from it are revoked."));
    }
    if Instant::now() >= c.expires {
        return Err(invalid_grant("The authorization code has expired."));
    }
    if f.get("redirect_uri") != Some(&c.redirect_uri) {
        return Err(invalid_grant("redirect_uri does not match the one used in the authorization request."));
    }
    check_verifier(c, f)?;
    c.used = true;
    let (person_id, scope) = (c.person_id.clone(), c.scope.clone());
    let token = token_string();
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
    Ok(Grant { person_id, scope, refresh: (token, life.as_secs()), code: Some(code.clone()) })
}

/// PKCE (RFC 7636): a challenged code needs the verifier that hashes (S256) or equals (plain) it.
fn check_verifier(c: &Code, f: &HashMap<String, String>) -> Result<(), Box<Response>> {
    let Some(challenge) = &c.challenge else { return Ok(()) };
    let Some(verifier) = f.get("code_verifier") else {
        return Err(invalid_grant("code_verifier is required."));
    };
    let ok = match c.method.as_str() {
        "S256" => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == *challenge,
        _ => verifier == challenge,
    };
    if ok {
        Ok(())
    } else {
        Err(invalid_grant("code_verifier does not match the code_challenge."))
    }
}

/// `refresh_token`: a refresh token neither expired nor revoked; it stays the same, with what
/// is left of its lifetime.
fn refresh_grant(w: &World, f: &HashMap<String, String>) -> Result<Grant, Box<Response>> {
    let Some(token) = f.get("refresh_token") else {
        return Err(Box::new(oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "refresh_token is required.")));
    };
    let dead = || Box::new(oauth_error(StatusCode::BAD_REQUEST, "invalid_request", DEAD_REFRESH));
    let Some(r) = w.refresh.get(token) else {
        return Err(dead());
    };
    let now = Instant::now();
    if r.revoked || now >= r.expires {
        return Err(dead());
    }
    let left = r.expires.saturating_duration_since(now).as_secs();
    Ok(Grant { person_id: r.person_id.clone(), scope: r.scope.clone(), refresh: (token.clone(), left), code: r.code.clone() })
}

#[cfg(test)]
mod tests {
    use super::{attr, text};

    #[test]
    fn page_values_are_escaped_for_where_they_stand() {
        assert_eq!(text("<b>Tom & \"Jerry\"</b>"), "&lt;b&gt;Tom &amp; \"Jerry\"&lt;/b&gt;");
        assert_eq!(attr("x\" onload=\"alert(1)"), "x&quot; onload=&quot;alert(1)");
        assert_eq!(attr("a&b<c>"), "a&amp;b&lt;c&gt;");
    }
}
