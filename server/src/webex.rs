//! The Webex edge: "Sign in with Webex" (`/auth/webex`), the org admin grant
//! (`POST /incidents/connect`), their shared callback (`/auth/webex/callback`) and a Webex user's
//! session (token sealed in the server-side session, refreshed while in use, its roles asked
//! of Webex again at most every `webex.role_recheck_seconds`). A login under way is held in
//! memory (`PendingLogins`), never in the session table.

use crate::page::problem;
use crate::state::AppState;
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use serde::{Deserialize, Serialize};
use switchboard::incident::Commander;
use switchboard::model::{actor_key, AuditAction, IdentityProvider, Role, UserInfo};
use switchboard::services::WebexServices;
use switchboard::store::{AuditRecord, AuditResult};
use switchboard::untrusted;
use switchboard::webex::oauth::PENDING_LIFETIME;
use switchboard::webex::{LoginKind, OAuthError, PendingLogin, Person, TokenSet};
use time::OffsetDateTime;
use tower_sessions::cookie::{Cookie, SameSite};
use tower_sessions::Session;

pub const WEBEX_USER_KEY: &str = "webex_user";
const TOKEN_PURPOSE: &str = "webex-session-token";
/// The browser that started a login carries its `state` here (HttpOnly, sent only to
/// `/auth/webex…`, gone after the login's lifetime): the callback takes the login named by the
/// cookie, so an answer carried to another browser finds nothing.
const PENDING_COOKIE: &str = "switchboard_oauth";

/// A Webex user's session: who, what decides their role, and their token sealed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebexSessionUser {
    pub person_id: String,
    pub email: String,
    pub display_name: String,
    pub org_id: String,
    /// The Webex admin roles they hold (ids as `/people/me` gave them): the role rules are
    /// checked again on every request, and some name a specific admin role.
    pub roles: Vec<String>,
    pub sealed_token: String,
    pub signed_in: i64,
    pub touched: i64,
    /// Unix seconds: when Webex last confirmed who they are and which roles they hold (at
    /// sign-in, then again at most every `webex.role_recheck_seconds`).
    #[serde(default)]
    pub checked: i64,
}

impl WebexSessionUser {
    fn person(&self) -> Person {
        Person {
            id: self.person_id.clone(),
            emails: vec![self.email.clone()],
            display_name: self.display_name.clone(),
            phone_numbers: vec![],
            org_id: self.org_id.clone(),
            roles: self.roles.clone(),
        }
    }

    /// Takes what Webex says about them now.
    fn update(&mut self, me: &Person, now: i64) {
        self.email = me.email().to_string();
        self.display_name = me.display_name.clone();
        self.org_id = me.org_id.clone();
        self.roles = me.roles.clone();
        self.checked = now;
    }
}

fn unix_now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

fn webex_actor(email: &str) -> String {
    actor_key(IdentityProvider::Webex, email)
}

fn not_configured() -> Response {
    problem(StatusCode::NOT_FOUND, "Webex is not configured", "Webex sign-in is not configured on this Switchboard.")
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// `GET /auth/webex`: starts "Sign in with Webex". Writes nothing: the login under way is held
/// in memory and named by a cookie.
pub async fn sign_in_start(State(state): State<AppState>, Query(q): Query<NextQuery>) -> Response {
    let Some(w) = state.services.webex.as_ref() else { return not_configured() };
    let now = OffsetDateTime::now_utc();
    let (url, pending) = w.oauth.begin(LoginKind::SignIn, &app::safe_next(q.next), now);
    redirect_with(&state, w, pending, &url, now)
}

/// `POST /incidents/connect` (admins, same-origin): starts the org admin grant.
pub async fn grant_start(State(state): State<AppState>, Extension(user): Extension<UserInfo>) -> Response {
    if !user.role.allows(Role::Admin) {
        return problem(StatusCode::FORBIDDEN, "Not allowed", "Only a Switchboard admin can connect the Webex org.");
    }
    let Some(w) = state.services.webex.as_ref() else { return not_configured() };
    let now = OffsetDateTime::now_utc();
    let (url, mut pending) = w.oauth.begin(LoginKind::OrgGrant, "/incidents", now);
    pending.by = Some(user.actor());
    redirect_with(&state, w, pending, &url, now)
}

fn redirect_with(state: &AppState, w: &WebexServices, pending: PendingLogin, url: &str, now: OffsetDateTime) -> Response {
    let cookie = pending_cookie(&pending.state, state.secure_cookies, PENDING_LIFETIME);
    w.pending.insert(pending, now);
    ([(header::SET_COOKIE, cookie)], Redirect::to(url)).into_response()
}

/// The cookie naming the login under way (`max_age` zero: the one that removes it).
fn pending_cookie(state: &str, secure: bool, max_age: std::time::Duration) -> String {
    Cookie::build((PENDING_COOKIE, state.to_string()))
        .path("/auth/webex")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(time::Duration::seconds(max_age.as_secs() as i64))
        .build()
        .to_string()
}

/// The `state` of the login this browser started, from its cookie.
fn pending_state(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == PENDING_COOKIE)
        .map(|c| c.value().to_string())
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /auth/webex/callback`: both kinds of login end here. Whatever goes wrong, nothing is
/// stored; an answer for no login started in this browser is refused without a write.
pub async fn callback(State(state): State<AppState>, session: Session, headers: HeaderMap, Query(q): Query<CallbackQuery>) -> Response {
    let Some(w) = state.services.webex.clone() else { return not_configured() };
    // The login under way is used once, whatever happens next.
    let pending = pending_state(&headers).and_then(|s| w.pending.take(&s, OffsetDateTime::now_utc()));
    let mut res = finish_callback(&state, &w, session, q, pending).await;
    if let Ok(v) = pending_cookie("", state.secure_cookies, std::time::Duration::ZERO).parse() {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

async fn finish_callback(
    state: &AppState,
    w: &WebexServices,
    session: Session,
    q: CallbackQuery,
    pending: Option<PendingLogin>,
) -> Response {
    let denied = |p: &PendingLogin, detail: String| {
        let actor = p.by.clone().unwrap_or_else(|| webex_actor("(not signed in yet)"));
        let action = match p.kind {
            LoginKind::OrgGrant => AuditAction::WebexGrant,
            LoginKind::SignIn => AuditAction::LoginWebex,
        };
        let s = state.services.clone();
        async move { s.audit.record(AuditRecord::new(&actor, action, AuditResult::Denied).detail(&detail)).await }
    };
    if let Some(err) = q.error.as_deref() {
        // Webex's words, but anyone can send this URL: short, printable, no markup.
        let e = OAuthError::Denied(untrusted::loggable(q.error_description.as_deref().unwrap_or(err)));
        match &pending {
            Some(p) => denied(p, e.to_string()).await,
            None => tracing::info!(reason = %e, "a Webex sign-in error for no login started in this browser"),
        }
        return problem(StatusCode::FORBIDDEN, "Webex sign-in refused", &e.to_string());
    }
    let (Some(code), Some(got_state)) = (q.code.as_deref(), q.state.as_deref()) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "Webex sign-in failed",
            "The answer from Webex has no code or state. Nothing was stored; start again.",
        );
    };
    let Some(pending) = pending else {
        tracing::info!("a Webex sign-in answer for no login started in this browser (stale, used, or not ours)");
        return problem(StatusCode::BAD_REQUEST, "Webex sign-in failed", &OAuthError::Stale.to_string());
    };
    let tokens = match w.oauth.finish(&pending, got_state, code, OffsetDateTime::now_utc()).await {
        Ok(t) => t,
        Err(e) => {
            denied(&pending, e.to_string()).await;
            let status = if matches!(e, OAuthError::Network(_)) { StatusCode::BAD_GATEWAY } else { StatusCode::BAD_REQUEST };
            return problem(status, "Webex sign-in failed", &e.to_string());
        }
    };
    match pending.kind {
        LoginKind::OrgGrant => {
            let by = pending.by.clone().unwrap_or_else(|| "(unknown)".into());
            match w.incidents.connect_org(tokens, &by).await {
                Ok(_) => Redirect::to("/incidents?connected=1").into_response(),
                Err(e) => {
                    tracing::warn!(error = %e, "Webex org grant not stored");
                    problem(StatusCode::FORBIDDEN, "Webex org not connected", &e.to_string())
                }
            }
        }
        LoginKind::SignIn => sign_in_finish(state, w, session, tokens, &pending.next).await,
    }
}

async fn sign_in_finish(state: &AppState, w: &WebexServices, session: Session, tokens: TokenSet, next: &str) -> Response {
    let me = match w.api.me(&tokens.access_token).await {
        Ok(me) => me,
        Err(e) => return problem(StatusCode::BAD_GATEWAY, "Webex sign-in failed", &format!("Could not read your Webex profile: {e}")),
    };
    let grant_org = w.incidents.grant().org_id().await.ok().flatten();
    let actor = webex_actor(me.email());
    let Some(role) = w.access.role_for(&me, grant_org.as_deref()) else {
        state
            .services
            .audit
            .record(AuditRecord::new(&actor, AuditAction::LoginWebex, AuditResult::Denied).detail("not allowed by the Webex sign-in rules"))
            .await;
        return problem(
            StatusCode::FORBIDDEN,
            "Not allowed",
            &format!("Your Webex account ({}) is not allowed to sign in to Switchboard. Ask an administrator.", me.email()),
        );
    };
    let now = unix_now();
    let user = WebexSessionUser {
        person_id: me.id.clone(),
        email: me.email().to_string(),
        display_name: me.display_name.clone(),
        org_id: me.org_id.clone(),
        roles: me.roles.clone(),
        sealed_token: w.secrets.seal(TOKEN_PURPOSE, &serde_json::to_string(&tokens).unwrap_or_default()),
        signed_in: now,
        touched: now,
        checked: now,
    };
    let stored = async {
        session.cycle_id().await?;
        session.insert(WEBEX_USER_KEY, user).await
    }
    .await;
    if let Err(e) = stored {
        tracing::error!(error = %e, "Webex sign-in: session store error");
        return problem(StatusCode::SERVICE_UNAVAILABLE, "Try again", "Sign-in is unavailable right now; try again shortly.");
    }
    tracing::info!(user = %me.email(), %role, "login with Webex");
    state.services.audit.record(AuditRecord::new(&actor, AuditAction::LoginWebex, AuditResult::Ok).detail(&format!("as {role}"))).await;
    Redirect::to(next).into_response()
}

/// The guard's Webex half: a Webex session goes on while its token can be kept fresh and the
/// rules still let the person in — with the roles Webex gives them now, asked again at most
/// every `webex.role_recheck_seconds`. Puts `UserInfo` and `Commander` in the request.
pub async fn webex_user(state: &AppState, session: &Session, mut su: WebexSessionUser, req: &mut Request) -> bool {
    let Some(w) = state.services.webex.as_ref() else { return false };
    let now = unix_now();
    if now - su.signed_in >= state.absolute_session_secs {
        return false;
    }
    let Ok(mut tokens) = w.secrets.open(TOKEN_PURPOSE, &su.sealed_token).map(|j| serde_json::from_str::<TokenSet>(&j)) else {
        return false;
    };
    let Ok(t) = tokens.as_mut() else { return false };
    let mut write = now - su.touched >= 60;
    if t.expires_at - OffsetDateTime::now_utc() < time::Duration::seconds(60) {
        let Some(fresh) = refreshed(state, w, &su.email, t).await else { return false };
        *t = fresh;
        su.sealed_token = w.secrets.seal(TOKEN_PURPOSE, &serde_json::to_string(&*t).unwrap_or_default());
        write = true;
    }
    if w.access.recheck_due(su.checked, now) {
        match recheck(state, w, &su, &t.access_token).await {
            Recheck::Confirmed(me) => {
                su.update(&me, now);
                write = true;
            }
            Recheck::Unconfirmed if now - su.checked < 2 * w.access.recheck_every.as_secs() as i64 => {}
            Recheck::Unconfirmed | Recheck::Refused => return false,
        }
    }
    let grant_org = w.incidents.grant().org_id().await.ok().flatten();
    let Some(role) = w.access.role_for(&su.person(), grant_org.as_deref()) else {
        state
            .services
            .audit
            .record(
                AuditRecord::new(&webex_actor(&su.email), AuditAction::LoginWebex, AuditResult::Denied)
                    .detail("no longer allowed by the Webex sign-in rules"),
            )
            .await;
        return false;
    };
    let commander = Commander {
        person_id: su.person_id.clone(),
        name: su.display_name.clone(),
        email: su.email.clone(),
        token: t.access_token.clone(),
    };
    if write {
        su.touched = now;
        if let Err(e) = session.insert(WEBEX_USER_KEY, su.clone()).await {
            tracing::warn!(error = %e, "could not refresh the Webex session");
        }
    }
    req.extensions_mut().insert(UserInfo { name: su.email.clone(), role, provider: IdentityProvider::Webex });
    req.extensions_mut().insert(commander);
    true
}

/// A fresh session token, or `None` (audited) when Webex will not give one.
async fn refreshed(state: &AppState, w: &WebexServices, email: &str, t: &TokenSet) -> Option<TokenSet> {
    let rt = t.refresh_token.clone()?;
    match w.oauth.refresh(&rt, OffsetDateTime::now_utc()).await {
        Ok(fresh) => Some(fresh),
        Err(e) => {
            tracing::info!(user = %email, error = %e, "Webex session token could not be refreshed; signing out");
            state
                .services
                .audit
                .record(AuditRecord::new(&webex_actor(email), AuditAction::LoginWebexRefresh, AuditResult::Failed).detail(&e.to_string()))
                .await;
            None
        }
    }
}

enum Recheck {
    /// Webex says who they are now (roles included).
    Confirmed(Person),
    /// Webex could not be asked (throttled, down, unreachable): the last answer stands a little longer.
    Unconfirmed,
    /// Webex refused the token or the person: the session ends.
    Refused,
}

/// Asks Webex who the session's person is now (`/people/me` with their own token).
async fn recheck(state: &AppState, w: &WebexServices, su: &WebexSessionUser, token: &str) -> Recheck {
    match w.api.me(token).await {
        Ok(me) if me.id == su.person_id => Recheck::Confirmed(me),
        Ok(_) => Recheck::Refused,
        Err(e) if e.is_transient() => {
            tracing::warn!(user = %su.email, error = %e, "could not check the Webex roles again; keeping the last answer for now");
            Recheck::Unconfirmed
        }
        Err(e) => {
            tracing::info!(user = %su.email, error = %e, "Webex refused the role check; signing out");
            let (actor, detail) = (webex_actor(&su.email), format!("role check refused: {e}"));
            state
                .services
                .audit
                .record(AuditRecord::new(&actor, AuditAction::LoginWebexRefresh, AuditResult::Failed).detail(&detail))
                .await;
            Recheck::Refused
        }
    }
}
