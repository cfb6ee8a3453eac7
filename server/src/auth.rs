//! Operator sign-in over plain HTML forms (`GET`/`POST /login`, `POST /logout`), the guard of
//! the protected router (a signed-in user, with the current role), and the cross-site check.

use crate::client_addr::ClientAddr;
use crate::state::AppState;
use app::LoginFeedback;
use axum::body::Body;
use axum::extract::rejection::FormRejection;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use leptos::prelude::provide_context;
use serde::{Deserialize, Serialize};
use switchboard::auth::{valid_user_name, AuthError, LimitDecision, StoredUser};
use switchboard::model::AuditAction;
use switchboard::model::UserInfo;
use switchboard::store::{AuditRecord, AuditResult};
use tower_sessions::Session;

const USER_KEY: &str = "user";

/// What the session remembers: who, not what they may do (the role is read fresh each request).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SessionUser {
    id: i64,
    name: String,
    /// The user's session epoch at sign-in; a reset or disable moves it and ends this session.
    epoch: i64,
    /// Unix seconds: when the person signed in (the absolute lifetime counts from here)…
    signed_in: i64,
    /// …and when the session was last written (writes are throttled to once a minute).
    touched: i64,
}

/// A session is written at most this often; the idle expiry slides with each write.
const TOUCH_EVERY_SECS: i64 = 60;

/// Whether a session may go on, given the account as it is now.
fn session_ok(su: &SessionUser, user: &StoredUser, now: i64, absolute_secs: i64) -> bool {
    user.id == su.id && !user.disabled && user.session_epoch == su.epoch && now - su.signed_in < absolute_secs
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    username: Option<String>,
    password: Option<String>,
    next: Option<String>,
}

/// The sign-in page (public). Its query (`next`, `reason`) is the page's.
pub async fn login_page(State(state): State<AppState>, uri: axum::http::Uri) -> Response {
    render_login(&state, None, uri.path_and_query().map(|p| p.as_str()).unwrap_or("/login")).await
}

pub async fn login_submit(
    State(state): State<AppState>,
    client: ClientAddr,
    session: Session,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return login_failure(&state, StatusCode::BAD_REQUEST, "The sign-in form was not sent as a form.", "", None).await;
    };
    let username = form.username.unwrap_or_default().trim().to_string();
    let password = form.password.unwrap_or_default();
    if username.is_empty() || password.is_empty() {
        return login_failure(&state, StatusCode::BAD_REQUEST, "Enter your user name and password.", &username, None).await;
    }
    let addr = client.to_string();
    // Names outside the allowed set exist nowhere; they are never logged or echoed as typed
    // (a newline in a name would forge log lines), but still count against the address.
    let valid = valid_user_name(&username);
    let (logged, shown) = if valid { (username.as_str(), username.as_str()) } else { ("(not a valid user name)", "") };
    match state.limiter.begin(logged, &addr) {
        LimitDecision::Limited { retry_after } => {
            let secs = retry_after.as_secs().max(1);
            tracing::warn!(user = %logged, %addr, "login refused: too many failures");
            let msg = format!("Too many failed sign-ins. Wait {secs} seconds and try again.");
            return login_failure(&state, StatusCode::TOO_MANY_REQUESTS, &msg, shown, Some(secs)).await;
        }
        // Someone elsewhere is guessing this name: slower, not refused.
        LimitDecision::Delay(d) => tokio::time::sleep(d).await,
        LimitDecision::Allowed => {}
    }
    let user = match verify(&state, &username, &password, valid, shown, &addr).await {
        Ok(u) => u,
        Err(unavailable) => return unavailable,
    };
    let Some(user) = user else {
        state.metrics.login_failures.inc();
        tracing::info!(user = %logged, %addr, "login failed");
        audit(&state, AuditRecord::new(logged, AuditAction::Login, AuditResult::Denied).detail(&format!("from {addr}"))).await;
        return login_failure(&state, StatusCode::UNAUTHORIZED, "Wrong user name or password.", shown, None).await;
    };
    state.limiter.success(&username, &addr);
    let stored = start_session(&session, &user).await;
    if let Err(e) = stored {
        tracing::error!(error = %e, "login: session store error");
        return login_failure(
            &state,
            StatusCode::SERVICE_UNAVAILABLE,
            "Sign-in is unavailable right now; try again shortly.",
            &username,
            None,
        )
        .await;
    }
    tracing::info!(user = %user.name, role = %user.role, %addr, "login");
    audit(&state, AuditRecord::new(&user.name, AuditAction::Login, AuditResult::Ok).detail(&format!("from {addr}"))).await;
    Redirect::to(&app::safe_next(form.next)).into_response()
}

/// The account behind a name and password (`None`: wrong, or not a valid name), or the page
/// to answer when the password could not be checked.
async fn verify(
    state: &AppState,
    username: &str,
    password: &str,
    valid: bool,
    shown: &str,
    addr: &str,
) -> Result<Option<StoredUser>, Response> {
    if !valid {
        return Ok(None);
    }
    match state.services.users.authenticate(username, password).await {
        Ok(u) => Ok(u),
        Err(AuthError::Busy) => {
            tracing::warn!(%addr, "login: every password-check slot is busy");
            let msg = "Many sign-ins are being checked right now; try again in a second.";
            Err(login_failure(state, StatusCode::SERVICE_UNAVAILABLE, msg, shown, Some(1)).await)
        }
        Err(AuthError::Store(e)) => {
            tracing::error!(error = %e, "login: database error");
            Err(login_failure(state, StatusCode::SERVICE_UNAVAILABLE, "Sign-in is unavailable right now; try again shortly.", shown, None)
                .await)
        }
    }
}

/// Signs `user` in on this session, under a new id: an id planted before login is worthless afterwards.
async fn start_session(session: &Session, user: &StoredUser) -> Result<(), tower_sessions::session::Error> {
    session.cycle_id().await?;
    let now = unix_now();
    session
        .insert(USER_KEY, SessionUser { id: user.id, name: user.name.clone(), epoch: user.session_epoch, signed_in: now, touched: now })
        .await
}

pub async fn logout(State(state): State<AppState>, session: Session) -> Response {
    if let Ok(Some(u)) = session.get::<SessionUser>(USER_KEY).await {
        audit(&state, AuditRecord::new(&u.name, AuditAction::Logout, AuditResult::Ok)).await;
    } else if let Ok(Some(u)) = session.get::<crate::webex::WebexSessionUser>(crate::webex::WEBEX_USER_KEY).await {
        let actor = switchboard::model::actor_key(switchboard::model::IdentityProvider::Webex, &u.email);
        audit(&state, AuditRecord::new(&actor, AuditAction::Logout, AuditResult::Ok)).await;
    }
    if let Err(e) = session.flush().await {
        tracing::warn!(error = %e, "logout: could not delete session");
    }
    Redirect::to("/login?reason=signed-out").into_response()
}

async fn audit(state: &AppState, rec: AuditRecord<'_>) {
    state.services.audit.record(rec).await;
}

/// Renders the login page, with the reason of a failed attempt when there is one.
async fn render_login(state: &AppState, feedback: Option<LoginFeedback>, uri: &str) -> Response {
    let options = state.leptos_options.clone();
    let services = state.services.clone();
    let render = leptos_axum::render_app_to_stream_with_context(
        move || {
            if let Some(f) = feedback.clone() {
                provide_context(f);
            }
            provide_context(services.clone());
        },
        move || app::shell(options.clone()),
    );
    match Request::builder().method(Method::GET).uri(uri).body(Body::empty()) {
        Ok(req) => render(req).await,
        Err(e) => {
            tracing::error!(error = %e, "could not build the login page request");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Renders the login page again with the reason, with the given status.
async fn login_failure(state: &AppState, status: StatusCode, message: &str, username: &str, retry_after: Option<u64>) -> Response {
    let feedback = LoginFeedback { message: message.to_string(), username: username.to_string() };
    let mut res = render_login(state, Some(feedback), "/login").await;
    *res.status_mut() = status;
    if let Some(secs) = retry_after {
        if let Ok(v) = secs.to_string().parse() {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    res
}

/// The guard of the protected router: finds the signed-in user (with the current role) and
/// puts it in the request, or sends people to the login page and API callers a 401.
pub async fn require_user(State(state): State<AppState>, session: Session, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if let Ok(Some(mut su)) = session.get::<SessionUser>(USER_KEY).await {
        let now = unix_now();
        match state.services.users.find(&su.name).await {
            Ok(Some(u)) if session_ok(&su, &u, now, state.absolute_session_secs) => {
                if now - su.touched >= TOUCH_EVERY_SECS {
                    su.touched = now;
                    if let Err(e) = session.insert(USER_KEY, su).await {
                        tracing::warn!(error = %e, "could not refresh the session");
                    }
                }
                req.extensions_mut().insert(UserInfo::from(u));
                return next.run(req).await;
            }
            Ok(_) => {
                // Too old, or the account was removed, disabled or reset since sign-in.
                if let Err(e) = session.flush().await {
                    tracing::warn!(error = %e, "could not end a stale session");
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "session check: database error");
                return (StatusCode::SERVICE_UNAVAILABLE, "The database is not answering; try again shortly.").into_response();
            }
        }
    }
    if let Ok(Some(wu)) = session.get::<crate::webex::WebexSessionUser>(crate::webex::WEBEX_USER_KEY).await {
        if crate::webex::webex_user(&state, &session, wu, &mut req).await {
            return next.run(req).await;
        }
        if let Err(e) = session.flush().await {
            tracing::warn!(error = %e, "could not end a stale Webex session");
        }
    }
    let had_cookie = has_session_cookie(req.headers());
    if req.method() == Method::GET && !path.starts_with("/api/") {
        let target = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let mut url = format!("/login?next={}", switchboard::url::query_value(target));
        if had_cookie {
            url.push_str("&reason=expired");
        }
        return Redirect::to(&url).into_response();
    }
    (StatusCode::UNAUTHORIZED, "You are not signed in (or your session expired). Sign in again.").into_response()
}

fn has_session_cookie(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(';').any(|c| c.trim().starts_with(crate::state::SESSION_COOKIE)))
}

/// Where state-changing browser requests must come from.
#[derive(Clone, Debug)]
pub struct OriginPolicy {
    /// `https://switchboard.example.com`; `None`: the request's own Host with this scheme.
    pub public_url: Option<String>,
    pub https: bool,
}

impl OriginPolicy {
    /// `Ok` for a safe method, or an unsafe one a browser sent from this site.
    pub fn check(&self, method: &Method, headers: &HeaderMap) -> Result<(), &'static str> {
        if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
            return Ok(());
        }
        let get = |h: header::HeaderName| headers.get(h).and_then(|v| v.to_str().ok());
        let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        let origin = get(header::ORIGIN);
        if let Some(site) = fetch_site {
            if site != "same-origin" {
                return Err("Cross-site request refused (Sec-Fetch-Site is not same-origin).");
            }
        }
        match origin {
            Some("null") => return Err("Cross-site request refused (Origin: null)."),
            Some(o) => {
                let expected = match &self.public_url {
                    Some(u) => u.trim_end_matches('/').to_string(),
                    None => format!("{}://{}", if self.https { "https" } else { "http" }, get(header::HOST).unwrap_or("")),
                };
                if !o.eq_ignore_ascii_case(&expected) {
                    return Err("Cross-site request refused (Origin is not this site).");
                }
            }
            None if fetch_site.is_none() => {
                return Err(
                    "Request refused: a browser request that changes something must say where it comes from (Origin or Sec-Fetch-Site).",
                )
            }
            None => {}
        }
        Ok(())
    }
}

/// Refuses state-changing requests not proven to come from this site: `Sec-Fetch-Site` must be
/// `same-origin` and `Origin` (when sent) this site's; a request with neither is refused too.
pub async fn same_origin_only(State(policy): State<OriginPolicy>, req: Request, next: Next) -> Response {
    if let Err(msg) = policy.check(req.method(), req.headers()) {
        let origin = req.headers().get(header::ORIGIN).and_then(|o| o.to_str().ok()).unwrap_or("-").chars().take(100).collect::<String>();
        tracing::warn!(origin = ?origin, path = %req.uri().path(), "{msg}");
        return (StatusCode::FORBIDDEN, msg).into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "sb.example:3000".parse().unwrap());
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn unsafe_requests_must_prove_they_come_from_this_site() {
        let p = OriginPolicy { public_url: None, https: false };
        let post = |pairs: &[(&'static str, &str)]| p.check(&Method::POST, &headers(pairs));
        assert!(post(&[("origin", "http://sb.example:3000")]).is_ok());
        assert!(post(&[("sec-fetch-site", "same-origin")]).is_ok());
        assert!(post(&[("sec-fetch-site", "same-origin"), ("origin", "http://sb.example:3000")]).is_ok());
        assert!(post(&[]).is_err(), "neither header");
        assert!(post(&[("origin", "null")]).is_err());
        assert!(post(&[("origin", "https://sb.example:3000")]).is_err(), "the scheme counts");
        assert!(post(&[("origin", "http://evil.example")]).is_err());
        assert!(post(&[("sec-fetch-site", "cross-site")]).is_err());
        assert!(post(&[("sec-fetch-site", "same-site"), ("origin", "http://sb.example:3000")]).is_err());
        assert!(post(&[("sec-fetch-site", "same-origin"), ("origin", "http://evil.example")]).is_err());
        assert!(p.check(&Method::GET, &headers(&[])).is_ok(), "safe methods pass");
        let behind_proxy = OriginPolicy { public_url: Some("https://switchboard.example.com/".into()), https: true };
        assert!(behind_proxy.check(&Method::POST, &headers(&[("origin", "https://switchboard.example.com")])).is_ok());
        assert!(behind_proxy.check(&Method::POST, &headers(&[("origin", "http://sb.example:3000")])).is_err());
    }

    #[test]
    fn a_session_ends_with_its_absolute_lifetime_a_new_epoch_a_disable_or_another_account() {
        let su = SessionUser { id: 7, name: "ann".into(), epoch: 2, signed_in: 1_000, touched: 1_000 };
        let user = StoredUser { id: 7, name: "ann".into(), role: switchboard::model::Role::Operator, session_epoch: 2, disabled: false };
        let day = 86_400;
        assert!(session_ok(&su, &user, 1_000 + 3_600, day));
        assert!(!session_ok(&su, &user, 1_000 + day, day), "absolute lifetime");
        assert!(!session_ok(&su, &StoredUser { session_epoch: 3, ..user.clone() }, 1_001, day), "password reset");
        assert!(!session_ok(&su, &StoredUser { disabled: true, ..user.clone() }, 1_001, day), "disabled");
        assert!(!session_ok(&su, &StoredUser { id: 8, ..user }, 1_001, day), "a new account of the same name");
    }

    #[test]
    fn next_targets_are_percent_encoded() {
        assert_eq!(switchboard::url::query_value("/audit?offset=50&action=login"), "/audit%3Foffset%3D50%26action%3Dlogin");
    }
}
