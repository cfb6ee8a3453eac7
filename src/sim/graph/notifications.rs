//! What the simulator POSTs to clients: change notifications on every change (retried when not
//! answered 2xx within 3 s, sent twice on request), lifecycle notifications, and the validation
//! of a new subscription's URLs. Each POST is logged as a [`Delivery`].

use super::model::{t3339, GraphEvent, SimSubscription};
use super::Shared;
use crate::sync::lock;
use axum::http::header;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::time::Duration;
use time::OffsetDateTime;

/// One POST the simulator made to a client's URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub url: String,
    /// `validation`, `created`/`updated`/`deleted`, or the lifecycle event.
    pub kind: String,
    pub status: u16,
}

/// Change notifications for `e` to every live subscription of its mailbox that wants `kind`.
pub(super) fn notify_change(s: &Shared, e: &GraphEvent, kind: &str) {
    let now = OffsetDateTime::now_utc();
    let subs: Vec<SimSubscription> = lock(&s.subscriptions)
        .values()
        .filter(|x| x.mailbox == e.mailbox && x.expires > now && x.change_types.iter().any(|c| c == kind))
        .cloned()
        .collect();
    for sub in subs {
        let resource = format!("Users/{}/Events/{}", sub.mailbox, e.id);
        let body = json!({ "value": [{
            "subscriptionId": sub.id,
            "subscriptionExpirationDateTime": t3339(sub.expires),
            "changeType": kind,
            "resource": resource,
            "resourceData": { "@odata.type": "#Microsoft.Graph.Event", "@odata.id": resource, "@odata.etag": e.etag(), "id": e.id },
            "clientState": sub.client_state,
            "tenantId": s.cfg.tenant,
        }]});
        let times = if s.duplicate_notifications.load(Ordering::Relaxed) { 2 } else { 1 };
        for _ in 0..times {
            post_notification(s, sub.notification_url.clone(), kind.to_string(), body.clone());
        }
    }
}

/// POSTs a notification from a task of its own: answered 2xx within 3 s, or retried after 1, 2
/// and 4 s (Graph goes on for hours; the simulator gives up sooner).
pub(super) fn post_notification(s: &Shared, url: String, kind: String, body: Value) {
    let Ok(rt) = tokio::runtime::Handle::try_current() else { return };
    let (http, log) = (s.http.clone(), s.deliveries.clone());
    rt.spawn(async move {
        for wait in [1u64, 2, 4, 0] {
            let status = match http.post(&url).json(&body).timeout(Duration::from_secs(3)).send().await {
                Ok(r) => r.status().as_u16(),
                Err(_) => 0,
            };
            lock(&log).push(Delivery { url: url.clone(), kind: kind.clone(), status });
            if (200..300).contains(&status) || wait == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_secs(wait)).await;
        }
    });
}

/// Graph's validation: POST `url?validationToken=…` and want the token back, as text, with 200.
pub(super) async fn validate(s: &Shared, url: &str) -> bool {
    let token = format!("Validation: Testing client application reachability for subscription Request-Id: {}", uuid::Uuid::new_v4());
    let Ok(mut target) = reqwest::Url::parse(url) else { return false };
    target.query_pairs_mut().append_pair("validationToken", &token);
    let res = s.http.post(target).header(header::CONTENT_TYPE, "text/plain; charset=utf-8").timeout(Duration::from_secs(10)).send().await;
    let (status, ok) = match res {
        Ok(r) => {
            let status = r.status().as_u16();
            let text = r.text().await.unwrap_or_default();
            (status, status == 200 && text == token)
        }
        Err(_) => (0, false),
    };
    lock(&s.deliveries).push(Delivery { url: url.to_string(), kind: "validation".into(), status });
    ok
}

/// Sends `event` (`reauthorizationRequired`, `subscriptionRemoved`, `missed`) for every
/// subscription to its lifecycle URL; `subscriptionRemoved` also forgets the subscriptions.
pub(super) fn lifecycle(s: &Shared, event: &str) {
    let subs: Vec<SimSubscription> = {
        let mut map = lock(&s.subscriptions);
        let v = map.values().cloned().collect();
        if event == "subscriptionRemoved" {
            map.clear();
        }
        v
    };
    for sub in subs {
        let Some(url) = sub.lifecycle_url.clone() else { continue };
        let body = json!({ "value": [{
            "subscriptionId": sub.id,
            "subscriptionExpirationDateTime": t3339(sub.expires),
            "tenantId": s.cfg.tenant,
            "clientState": sub.client_state,
            "lifecycleEvent": event,
        }]});
        post_notification(s, url, event.to_string(), body);
    }
}
