//! Streaming subscriptions: Subscribe gives an id whose events wait in a queue until a stream
//! takes them (what happens between Subscribe and GetStreamingEvents, or between two
//! connections, is delivered on the next connection).

use super::model::SimItem;
use super::reply::{message, xml_response};
use super::{new_id, Shared};
use crate::sync::lock;
use axum::http::{header, StatusCode};
use axum::response::Response;

/// A subscription: its mailbox and the events not yet delivered.
pub(super) struct Sub {
    pub(super) mailbox: String,
    /// The event types it reports (`CreatedEvent`, …), as Subscribe asked.
    pub(super) types: Vec<String>,
    pub(super) queue: std::collections::VecDeque<Event>,
}

/// Events a subscription keeps for a client that does not connect (then the oldest go).
const SUB_QUEUE_MAX: usize = 10_000;

/// A change to report: `CreatedEvent`, `ModifiedEvent`, `DeletedEvent` or `MovedEvent` of an
/// item in a mailbox.
#[derive(Debug, Clone)]
pub(super) struct Event {
    pub(super) mailbox: String,
    pub(super) kind: &'static str,
    pub(super) item_id: String,
    pub(super) change_key: String,
    /// The folder the item is in now (a distinguished folder's name).
    pub(super) folder: &'static str,
    /// A move's old id and old folder.
    pub(super) old: Option<(String, &'static str)>,
}

impl Event {
    pub(super) fn of(i: &SimItem, kind: &'static str) -> Self {
        Event { mailbox: i.mailbox.clone(), kind, item_id: i.id.clone(), change_key: i.change_key.clone(), folder: i.folder, old: None }
    }
}

/// Subscribe: a new subscription to the mailbox's calendar, and the back-end cookie Exchange
/// sets so the client's streams reach the server that holds it.
pub(super) fn subscribe(s: &Shared, mailbox: &str, types: &[String]) -> Response {
    let id = new_id("SUB");
    lock(&s.subs).insert(id.clone(), Sub { mailbox: mailbox.to_string(), types: types.to_vec(), queue: Default::default() });
    let mut res =
        xml_response(StatusCode::OK, message("Subscribe", "Success", "NoError", "", &format!("<m:SubscriptionId>{id}</m:SubscriptionId>")));
    if let Ok(v) = "X-BackEndOverrideCookie=ews-sim-backend~1; path=/; HttpOnly".parse() {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

/// Queues `ev` on every subscription of its mailbox that asked for its type, and wakes the
/// open streams.
pub(super) fn publish(s: &Shared, ev: Event) {
    {
        let mut subs = lock(&s.subs);
        let wanted = |sub: &Sub| sub.mailbox.eq_ignore_ascii_case(&ev.mailbox) && sub.types.iter().any(|t| t == ev.kind);
        for sub in subs.values_mut().filter(|sub| wanted(sub)) {
            if sub.queue.len() >= SUB_QUEUE_MAX {
                sub.queue.pop_front();
            }
            sub.queue.push_back(ev.clone());
        }
    }
    let _ = s.events.send(());
}
