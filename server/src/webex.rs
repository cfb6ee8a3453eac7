//! The Webex edge: "Sign in with Webex" (`/auth/webex`), the org admin grant
//! (`POST /incidents/connect`), their shared callback (`/auth/webex/callback`) and a Webex user's
//! session (token sealed in the server-side session, refreshed while in use).

use crate::page::problem;
use crate::state::AppState;
use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use serde::{Deserialize, Serialize};
use switchboard::incident::Commander;
use switchboard::model::AuditAction;
use switchboard::model::{Role, UserInfo};
use switchboard::services::WebexServices;
use switchboard::store::{AuditRecord, AuditResult};
use switchboard::webex::{LoginKind, OAuthError, PendingLogin, Person, TokenSet};
use time::OffsetDateTime;
use tower_sessions::Session;

const PENDING_KEY: &str = "webex_pending";
pub const WEBEX_USER_KEY: &str = "webex_user";
const TOKEN_PURPOSE: &str = "webex-session-token";

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
}

fn unix_now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

fn not_configured() -> Response {
    problem(StatusCode::NOT_FOUND, "Webex is not configured", "Webex sign-in is not configured on this Switchboard.")
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// `GET /auth/webex`: starts "Sign in with Webex".
pub async fn sign_in_start(State(state): State<AppState>, session: Session, Query(q): Query<NextQuery>) -> Response {
    let Some(w) = state.services.webex.as_ref() else { return not_configured() };
    let (url, pending) = w.oauth.begin(LoginKind::SignIn, &app::safe_next(q.next), OffsetDateTime::now_utc());
    redirect_with(session, pending, &url).await
}

/// `POST /incidents/connect` (admins, same-origin): starts the org admin grant.
pub async fn grant_start(State(state): State<AppState>, Extension(user): Extension<UserInfo>, session: Session) -> Response {
    if !user.role.allows(Role::Admin) {
        return problem(StatusCode::FORBIDDEN, "Not allowed", "Only a Switchboard admin can connect the Webex org.");
    }
    let Some(w) = state.services.webex.as_ref() else { return not_configured() };
    let (url, mut pending) = w.oauth.begin(LoginKind::OrgGrant, "/incidents", OffsetDateTime::now_utc());
    pending.by = Some(user.name.clone());
    redirect_with(session, pending, &url).await
}

async fn redirect_with(session: Session, pending: PendingLogin, url: &str) -> Response {
    if let Err(e) = session.insert(PENDING_KEY, pending).await {
        tracing::error!(error = %e, "could not keep the Webex login in the session");
        return problem(StatusCode::SERVICE_UNAVAILABLE, "Try again", "Sign-in is unavailable right now; try again shortly.");
    }
    Redirect::to(url).into_response()
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /auth/webex/callback`: both kinds of login end here. Whatever goes wrong, nothing is stored.
pub async fn callback(State(state): State<AppState>, session: Session, Query(q): Query<CallbackQuery>) -> Response {
    let Some(w) = state.services.webex.clone() else { return not_configured() };
    // The login under way is used once, whatever happens next.
    let pending: Option<PendingLogin> = session.remove(PENDING_KEY).await.ok().flatten();
    let audit = |actor: String, action: AuditAction, result: AuditResult, detail: String| {
        let s = state.services.clone();
        async move { s.audit.record(AuditRecord::new(&actor, action, result).detail(&detail)).await }
    };
    let action = |p: &Option<PendingLogin>| match p.as_ref().map(|p| p.kind) {
        Some(LoginKind::OrgGrant) => AuditAction::WebexGrant,
        _ => AuditAction::LoginWebex,
    };
    if let Some(err) = q.error.as_deref() {
        let why = q.error_description.clone().unwrap_or_else(|| err.to_string());
        let e = OAuthError::Denied(sanitize(&why));
        audit(
            pending.as_ref().and_then(|p| p.by.clone()).unwrap_or_else(|| "(webex)".into()),
            action(&pending),
            AuditResult::Denied,
            e.to_string(),
        )
        .await;
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
        audit("(webex)".into(), AuditAction::LoginWebex, AuditResult::Denied, OAuthError::Stale.to_string()).await;
        return problem(StatusCode::BAD_REQUEST, "Webex sign-in failed", &OAuthError::Stale.to_string());
    };
    let tokens = match w.oauth.finish(&pending, got_state, code, OffsetDateTime::now_utc()).await {
        Ok(t) => t,
        Err(e) => {
            let actor = pending.by.clone().unwrap_or_else(|| "(webex)".into());
            audit(actor, action(&Some(pending.clone())), AuditResult::Denied, e.to_string()).await;
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
        LoginKind::SignIn => sign_in_finish(&state, &w, session, tokens, &pending.next).await,
    }
}

async fn sign_in_finish(state: &AppState, w: &WebexServices, session: Session, tokens: TokenSet, next: &str) -> Response {
    let me = match w.api.me(&tokens.access_token).await {
        Ok(me) => me,
        Err(e) => return problem(StatusCode::BAD_GATEWAY, "Webex sign-in failed", &format!("Could not read your Webex profile: {e}")),
    };
    let grant_org = w.incidents.grant().org_id().await.ok().flatten();
    let Some(role) = w.access.role_for(&me, grant_org.as_deref()) else {
        state
            .services
            .audit
            .record(
                AuditRecord::new(me.email(), AuditAction::LoginWebex, AuditResult::Denied).detail("not allowed by the Webex sign-in rules"),
            )
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
    state.services.audit.record(AuditRecord::new(me.email(), AuditAction::LoginWebex, AuditResult::Ok).detail(&format!("as {role}"))).await;
    Redirect::to(next).into_response()
}

/// The guard's Webex half: a Webex session goes on while the rules still let the person in and
/// their token can be kept fresh. Puts `UserInfo` and `Commander` in the request.
pub async fn webex_user(state: &AppState, session: &Session, mut su: WebexSessionUser, req: &mut Request) -> bool {
    let Some(w) = state.services.webex.as_ref() else { return false };
    let now = unix_now();
    if now - su.signed_in >= state.absolute_session_secs {
        return false;
    }
    let grant_org = w.incidents.grant().org_id().await.ok().flatten();
    let Some(role) = w.access.role_for(&su.person(), grant_org.as_deref()) else { return false };
    let Ok(mut tokens) = w.secrets.open(TOKEN_PURPOSE, &su.sealed_token).map(|j| serde_json::from_str::<TokenSet>(&j)) else {
        return false;
    };
    let Ok(t) = tokens.as_mut() else { return false };
    let mut write = now - su.touched >= 60;
    if t.expires_at - OffsetDateTime::now_utc() < time::Duration::seconds(60) {
        let Some(rt) = t.refresh_token.clone() else { return false };
        match w.oauth.refresh(&rt, OffsetDateTime::now_utc()).await {
            Ok(fresh) => {
                *t = fresh;
                su.sealed_token = w.secrets.seal(TOKEN_PURPOSE, &serde_json::to_string(&*t).unwrap_or_default());
                write = true;
            }
            Err(e) => {
                tracing::info!(user = %su.email, error = %e, "Webex session token could not be refreshed; signing out");
                state
                    .services
                    .audit
                    .record(AuditRecord::new(&su.email, AuditAction::LoginWebexRefresh, AuditResult::Failed).detail(&e.to_string()))
                    .await;
                return false;
            }
        }
    }
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
    req.extensions_mut().insert(UserInfo { name: su.email.clone(), role });
    req.extensions_mut().insert(commander);
    true
}

/// What an OAuth error description may show: printable, short.
fn sanitize(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth_error_descriptions_are_shown_printable_and_short() {
        assert_eq!(sanitize("a\nb\u{7}c"), "abc");
    }
}
