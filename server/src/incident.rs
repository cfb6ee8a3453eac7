//! The incident edge outside the Leptos pages: the responders' acknowledgement pages
//! (`/ack/{token}`, no login), the external responders' export (`/incidents/directory.csv`,
//! admins) and the live pages' event stream (`/events/incidents`).

use crate::page::{esc, page, problem};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use serde::Deserialize;
use std::sync::Arc;
use switchboard::incident::{AckPage, IncidentError, IncidentService};
use switchboard::model::incident::AckAnswer;
use switchboard::model::{IncidentAction, UserInfo};

#[derive(Debug, Deserialize)]
pub struct AckForm {
    answer: String,
}

/// `GET /ack/{token}`: what the link is about, and the two answers.
pub async fn ack_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let Some(incidents) = state.services.incidents() else { return problem(StatusCode::NOT_FOUND, "Not found", "Nothing here.") };
    match incidents.ack_page(&token).await {
        Ok(p) => render_ack(&token, &p, None, StatusCode::OK),
        Err(e) => ack_error(e),
    }
}

/// `POST /ack/{token}`: records the answer (410 once the incident is over).
pub async fn ack_submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    form: Result<Form<AckForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Some(incidents) = state.services.incidents() else { return problem(StatusCode::NOT_FOUND, "Not found", "Nothing here.") };
    let Some(answer) = form.ok().and_then(|Form(f)| f.answer.parse::<AckAnswer>().ok()) else {
        return problem(StatusCode::BAD_REQUEST, "Choose an answer", "Choose \"On my way\" or \"Can't join\".");
    };
    match incidents.ack(&token, answer).await {
        Ok(p) => render_ack(&token, &p, Some("Thank you, the commander sees your answer."), StatusCode::OK),
        Err(IncidentError::Conflict(_)) => match incidents.ack_page(&token).await {
            Ok(p) => render_ack(&token, &p, None, StatusCode::GONE),
            Err(e) => ack_error(e),
        },
        Err(e) => ack_error(e),
    }
}

/// `GET /incidents/directory.csv` (protected): the external responders as CSV, for those the
/// matrix lets export the directory; audited.
pub async fn directory_csv(State(state): State<AppState>, Extension(user): Extension<UserInfo>) -> Response {
    let Some(incidents) = state.services.incidents() else { return problem(StatusCode::NOT_FOUND, "Not found", "Nothing here.") };
    let action = IncidentAction::ExportDirectory;
    if !action.allowed(user.role) {
        let why = format!("Your role ({}) may not {}; it needs {}.", user.role, action.label(), action.least_role());
        return problem(StatusCode::FORBIDDEN, "Not allowed", &why);
    }
    match incidents.export_directory(&user.actor()).await {
        Ok(csv) => (
            [
                (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (axum::http::header::CONTENT_DISPOSITION, "attachment; filename=\"external-responders.csv\""),
                (axum::http::header::CACHE_CONTROL, "no-store"),
            ],
            csv,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "exporting the responder directory failed");
            problem(StatusCode::SERVICE_UNAVAILABLE, "Try again", "The directory cannot be exported right now; try again in a moment.")
        }
    }
}

fn ack_error(e: IncidentError) -> Response {
    match e {
        IncidentError::NotFound(m) => problem(StatusCode::NOT_FOUND, "Link not valid", &m),
        e => {
            tracing::error!(error = %e, "acknowledgement page failed");
            problem(StatusCode::SERVICE_UNAVAILABLE, "Try again", "This page is unavailable right now; try again in a moment.")
        }
    }
}

fn render_ack(token: &str, p: &AckPage, thanks: Option<&str>, status: StatusCode) -> Response {
    let body = if p.over {
        format!("<p class=\"alert info\" data-testid=\"ack-over\">This incident is over: &ldquo;{}&rdquo; was stopped. No answer is needed.</p>", esc(&p.incident_name))
    } else {
        let answered = p
            .answer
            .map(|a| {
                format!(
                    "<p class=\"alert ok\" data-testid=\"ack-answer\">Your answer: <strong>{}</strong>{}</p>",
                    a.label(),
                    thanks.map(|t| format!(" &mdash; {}", esc(t))).unwrap_or_default()
                )
            })
            .unwrap_or_default();
        format!(
            "<p>Incident <strong>&ldquo;{name}&rdquo;</strong> needs you, {who}.</p>{answered}\
             <form method=\"post\" action=\"/ack/{tok}\" class=\"ack-buttons\">\
             <button class=\"primary\" name=\"answer\" value=\"coming\" data-testid=\"ack-coming\">On my way</button> \
             <button class=\"secondary\" name=\"answer\" value=\"declined\" data-testid=\"ack-declined\">Can't join</button></form>\
             <p><a href=\"{link}\" rel=\"noreferrer\">Join the meeting</a></p>",
            name = esc(&p.incident_name),
            who = esc(&p.responder_name),
            answered = answered,
            tok = esc(token),
            link = esc(&p.meeting_link),
        )
    };
    page(status, "Incident", &body)
}

#[derive(Clone)]
struct IncidentEvents {
    incidents: Arc<IncidentService>,
    closing: tokio_util::sync::CancellationToken,
}

/// `GET /events/incidents` (protected): an `incident` event (data: its id) whenever an
/// incident's deliveries, acknowledgements or state changed; bursts are coalesced.
pub fn event_routes<S: Clone + Send + Sync + 'static>(
    incidents: Arc<IncidentService>,
    closing: tokio_util::sync::CancellationToken,
) -> axum::Router<S> {
    axum::Router::new().route("/events/incidents", axum::routing::get(incident_events)).with_state(IncidentEvents { incidents, closing })
}

async fn incident_events(
    State(e): State<IncidentEvents>,
) -> axum::response::sse::Sse<impl futures::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    use tokio::sync::broadcast::error::RecvError;
    let rx = e.incidents.subscribe();
    let stream = futures::stream::unfold((rx, e.closing), |(mut rx, closing)| async move {
        tokio::select! {
            _ = closing.cancelled() => None,
            got = rx.recv() => match got {
                Ok(id) => {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    while rx.try_recv().is_ok() {}
                    Some((Ok(Event::default().event("incident").data(id.to_string())), (rx, closing)))
                }
                Err(RecvError::Lagged(_)) => Some((Ok(Event::default().event("incident").data("0")), (rx, closing))),
                Err(RecvError::Closed) => None,
            },
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(15)))
}
