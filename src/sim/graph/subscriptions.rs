//! Change-notification subscriptions: POST (validated first, at most 10,080 minutes ahead, for
//! `users/{id}/events`), GET, PATCH to renew, DELETE.

use super::gate::{check_mailbox, App};
use super::model::{parse_time, t3339, SimSubscription};
use super::notifications::validate;
use super::token::url_decode;
use super::{error, Shared};
use crate::sync::lock;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;
use time::OffsetDateTime;

fn subscription_json(x: &SimSubscription, app: &str) -> Value {
    json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity",
        "id": x.id,
        "resource": format!("users/{}/events", x.mailbox),
        "applicationId": app,
        "changeType": x.change_types.join(","),
        "clientState": x.client_state,
        "notificationUrl": x.notification_url,
        "lifecycleNotificationUrl": x.lifecycle_url,
        "expirationDateTime": t3339(x.expires),
        "creatorId": uuid::Uuid::nil().to_string(),
        "latestSupportedTlsVersion": "v1_2",
    })
}

/// Outlook event subscriptions live at most 10,080 minutes.
const MAX_SUBSCRIPTION: time::Duration = time::Duration::minutes(10_080);

fn expiry(v: &Value) -> Result<OffsetDateTime, Box<Response>> {
    let t = v
        .get("expirationDateTime")
        .and_then(|t| t.as_str())
        .and_then(parse_time)
        .ok_or_else(|| Box::new(error(StatusCode::BAD_REQUEST, "InvalidRequest", "expirationDateTime is required (ISO 8601, UTC).")))?;
    let now = OffsetDateTime::now_utc();
    if t <= now || t > now + MAX_SUBSCRIPTION + time::Duration::minutes(1) {
        return Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "Subscription expiration can only be 10080 minutes in the future and not in the past.",
        )));
    }
    Ok(t)
}

pub(super) async fn create_subscription(State(s): State<Arc<Shared>>, _: App, body: axum::body::Bytes) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "BadRequest", "Unable to read JSON request payload.");
    };
    let text = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    let (Some(change), Some(url), Some(resource)) = (text("changeType"), text("notificationUrl"), text("resource")) else {
        return error(StatusCode::BAD_REQUEST, "InvalidRequest", "changeType, notificationUrl and resource are required.");
    };
    let expires = match expiry(&v) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let change_types: Vec<String> = change.split(',').map(|c| c.trim().to_string()).collect();
    if change_types.iter().any(|c| !["created", "updated", "deleted"].contains(&c.as_str())) {
        return error(StatusCode::BAD_REQUEST, "InvalidRequest", &format!("changeType '{change}' is not valid."));
    }
    if text("clientState").is_some_and(|c| c.len() > 128) {
        return error(StatusCode::BAD_REQUEST, "InvalidRequest", "clientState may be at most 128 characters.");
    }
    let lower = resource.trim_start_matches('/').to_ascii_lowercase();
    let Some(mailbox) = lower.strip_prefix("users/").and_then(|r| r.strip_suffix("/events")).map(url_decode) else {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            &format!("The resource '{resource}' is not supported: users/{{id}}/events."),
        );
    };
    let mailbox = match check_mailbox(&s, &mailbox) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let lifecycle = text("lifecycleNotificationUrl");
    let mut urls = vec![url.clone()];
    urls.extend(lifecycle.clone().filter(|l| *l != url));
    for u in &urls {
        if !(u.starts_with("https://") || u.starts_with("http://")) || !validate(&s, u).await {
            return error(
                StatusCode::BAD_REQUEST,
                "ValidationError",
                "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.",
            );
        }
    }
    let sub = SimSubscription {
        id: uuid::Uuid::new_v4().to_string(),
        mailbox,
        change_types,
        notification_url: url,
        lifecycle_url: lifecycle,
        client_state: text("clientState"),
        expires,
    };
    lock(&s.subscriptions).insert(sub.id.clone(), sub.clone());
    (StatusCode::CREATED, Json(subscription_json(&sub, &s.cfg.client_id))).into_response()
}

pub(super) async fn get_subscription(State(s): State<Arc<Shared>>, _: App, Path(id): Path<String>) -> Response {
    match lock(&s.subscriptions).get(&id) {
        Some(x) => Json(subscription_json(x, &s.cfg.client_id)).into_response(),
        None => error(StatusCode::NOT_FOUND, "ResourceNotFound", &format!("The object was not found: subscription {id}.")),
    }
}

pub(super) async fn renew_subscription(State(s): State<Arc<Shared>>, _: App, Path(id): Path<String>, body: axum::body::Bytes) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "BadRequest", "Unable to read JSON request payload.");
    };
    let expires = match expiry(&v) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let mut subs = lock(&s.subscriptions);
    match subs.get_mut(&id) {
        Some(x) => {
            x.expires = expires;
            Json(subscription_json(x, &s.cfg.client_id)).into_response()
        }
        None => error(StatusCode::NOT_FOUND, "ResourceNotFound", &format!("The object was not found: subscription {id}.")),
    }
}

pub(super) async fn delete_subscription(State(s): State<Arc<Shared>>, _: App, Path(id): Path<String>) -> Response {
    match lock(&s.subscriptions).remove(&id) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => error(StatusCode::NOT_FOUND, "ResourceNotFound", &format!("The object was not found: subscription {id}.")),
    }
}
