//! `/sim/…`: no authentication, no faults — mints tokens and shows what was sent, so tests and
//! people can see what a responder would have received; and a consent answered from code, for
//! demo mode and scripts.

use super::{api, error, Shared, SimMembership, SimMessage, SimRequest, SimWebex};
use crate::sync::lock;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use std::sync::Arc;

#[derive(Deserialize)]
pub(super) struct EmailQuery {
    email: Option<String>,
    /// The scopes to grant (space-separated); a personal token's by default.
    scope: Option<String>,
}

pub(super) async fn sim_token(State(s): State<Arc<Shared>>, Query(q): Query<EmailQuery>) -> Response {
    let mut w = lock(&s.world);
    let Some(p) = q.email.as_deref().and_then(|e| w.person_by_email(e)).cloned() else {
        return error(StatusCode::NOT_FOUND, "No such person in the simulated org (pass ?email=).");
    };
    let scope = q.scope.clone().unwrap_or_else(|| w.personal_scope(&p.id));
    let (token, expires_in) = w.issue_access(&p.id, None, &scope);
    let person = api::person_json(&p, &s.cfg.org.org_id);
    Json(serde_json::json!({ "access_token": token, "expires_in": expires_in, "person": person })).into_response()
}

pub(super) async fn sim_messages(State(s): State<Arc<Shared>>) -> Json<Vec<SimMessage>> {
    Json(lock(&s.world).messages.clone())
}

pub(super) async fn sim_requests(State(s): State<Arc<Shared>>) -> Json<Vec<SimRequest>> {
    Json(lock(&s.world).requests.clone())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RoomQuery {
    room_id: Option<String>,
}

pub(super) async fn sim_memberships(State(s): State<Arc<Shared>>, Query(q): Query<RoomQuery>) -> Json<Vec<SimMembership>> {
    let w = lock(&s.world);
    Json(w.memberships.iter().filter(|m| q.room_id.as_ref().is_none_or(|r| &m.room_id == r)).map(|m| w.sim_membership(m)).collect())
}

impl SimWebex {
    /// Answers the consent page of `authorize_url` as `email` (accept), as a person clicking
    /// through it would; returns where the simulator redirects (the client's redirect URI with
    /// `code` and `state`). For demo mode and scripts.
    pub async fn consent(&self, authorize_url: &str, email: &str) -> Result<String, String> {
        let url = reqwest::Url::parse(authorize_url).map_err(|e| e.to_string())?;
        let mut form: Vec<(String, String)> = url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        form.push(("email".into(), email.into()));
        form.push(("decision".into(), "accept".into()));
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().map_err(|e| e.to_string())?;
        let res = http.post(format!("{}/v1/authorize", self.url())).form(&form).send().await.map_err(|e| e.to_string())?;
        res.headers()
            .get(axum::http::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .map(String::from)
            .ok_or_else(|| format!("the consent page answered {} without a redirect", res.status()))
    }
}
