//! GetStreamingEvents: a chunked stream of SOAP documents — an OK document, notifications as they
//! happen, keep-alives, `Closed` at the `ConnectionTimeout` — or an error document when a
//! subscription is unknown, too many streams are open, or the subscriptions expire mid-way.

use super::model::folder_id;
use super::reply::{message, xml_response};
use super::request::Req;
use super::subscriptions::Event;
use super::xml::t3339;
use super::Shared;
use crate::sync::lock;
use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::broadcast;

type Chunk = Result<String, std::io::Error>;

/// An open stream: the subscriptions it serves and its timing.
struct Stream {
    wanted: Vec<String>,
    /// Wakes the stream when an event was queued.
    wake: broadcast::Receiver<()>,
    /// The subscriptions' epoch when it opened; a change means they expired or are dropped.
    epoch: u64,
    /// When it closes (`ConnectionTimeout`).
    until: tokio::time::Instant,
    keepalive: Duration,
}

/// A streaming response: an OK document, notifications as they happen, keep-alives, `Closed`
/// at the timeout (or an error document when a subscription is unknown).
pub(super) fn stream(s: Arc<Shared>, req: Req, account: String) -> Response {
    if let Some(refused) = refusal(&s, &req, &account) {
        return xml_response(StatusCode::OK, refused);
    }
    let open = Stream {
        wanted: req.sub_ids.clone(),
        wake: s.events.subscribe(),
        epoch: s.epoch.load(Ordering::Relaxed),
        until: tokio::time::Instant::now() + Duration::from_secs(req.timeout_minutes.clamp(1, 30) * 60),
        keepalive: Duration::from_secs(s.cfg.keepalive_seconds.max(1)),
    };
    let (tx, body_rx) = tokio::sync::mpsc::channel::<Chunk>(64);
    // Counted from now: a second request racing this one sees it.
    s.open_streams.fetch_add(1, Ordering::Relaxed);
    *lock(&s.streams_by_account).entry(account.clone()).or_default() += 1;
    tokio::spawn(async move {
        serve(&s, open, &tx).await;
        s.open_streams.fetch_sub(1, Ordering::Relaxed);
        if let Some(n) = lock(&s.streams_by_account).get_mut(&account) {
            *n = n.saturating_sub(1);
        }
    });
    let body = Body::from_stream(tokio_stream_from(body_rx));
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/xml; charset=utf-8")
        .body(body)
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// Why no stream opens, as the error document Exchange answers: an unknown subscription, too
/// many open streams for the account whose budget pays (the impersonated mailbox, else the
/// service account; 3 by default, as Exchange 2013–2019 on premises), or too many
/// subscriptions on one connection.
fn refusal(s: &Shared, req: &Req, account: &str) -> Option<String> {
    let unknown: Vec<String> = {
        let subs = lock(&s.subs);
        req.sub_ids.iter().filter(|id| !subs.contains_key(*id)).cloned().collect()
    };
    if !unknown.is_empty() {
        return Some(not_found(&unknown));
    }
    let limit = s.faults.stream_limit.load(Ordering::Relaxed);
    if limit > 0 && lock(&s.streams_by_account).get(account).copied().unwrap_or(0) >= limit {
        return Some(message(
            "GetStreamingEvents",
            "Error",
            "ErrorExceededConnectionCount",
            "You have exceeded the available concurrent connections for your account. Try again once your other requests have completed.",
            "",
        ));
    }
    if req.sub_ids.len() > 200 {
        return Some(message(
            "GetStreamingEvents",
            "Error",
            "ErrorInvalidSubscriptionRequest",
            "At most 200 subscriptions per connection.",
            "",
        ));
    }
    None
}

/// ErrorSubscriptionNotFound naming the subscriptions.
fn not_found(ids: &[String]) -> String {
    let ids: String = ids.iter().map(|i| format!("<t:SubscriptionId>{i}</t:SubscriptionId>")).collect();
    message(
        "GetStreamingEvents",
        "Error",
        "ErrorSubscriptionNotFound",
        "The specified subscription was not found.",
        &format!("<m:ErrorSubscriptionIds>{ids}</m:ErrorSubscriptionIds>"),
    )
}

/// A success document: notifications (or none, a keep-alive) and the connection's status.
fn ok(notes: &str, status: &str) -> String {
    message("GetStreamingEvents", "Success", "NoError", "", &format!("{notes}<m:ConnectionStatus>{status}</m:ConnectionStatus>"))
}

/// Writes the stream until it closes, is cut, its subscriptions go, or the client leaves.
async fn serve(s: &Shared, mut open: Stream, tx: &tokio::sync::mpsc::Sender<Chunk>) {
    let _ = tx.send(Ok(ok("", "OK"))).await;
    let mut last_sent = tokio::time::Instant::now();
    loop {
        if tx.is_closed() {
            // The client went away: the connection no longer counts against its budget.
            return;
        }
        if last_sent.elapsed() >= open.keepalive {
            // A keep-alive: a document without notifications.
            if tx.send(Ok(ok("", "OK"))).await.is_err() {
                return;
            }
            last_sent = tokio::time::Instant::now();
        }
        if s.epoch.load(Ordering::Relaxed) != open.epoch {
            if s.faults.drop_streams.swap(false, Ordering::Relaxed) {
                // Cut without Closed.
                let _ = tx.send(Err(std::io::Error::other("connection reset"))).await;
            } else {
                let _ = tx.send(Ok(not_found(&open.wanted))).await;
            }
            return;
        }
        for (sub, ev) in take_due(s, &open.wanted) {
            if tx.send(Ok(ok(&notification(&sub, &ev), "OK"))).await.is_err() {
                return;
            }
            last_sent = tokio::time::Instant::now();
        }
        let wait = tokio::time::sleep(open.keepalive.min(Duration::from_millis(200)));
        tokio::select! {
            _ = tokio::time::sleep_until(open.until) => {
                let _ = tx.send(Ok(ok("", "Closed"))).await;
                return;
            }
            ev = open.wake.recv() => if let Err(broadcast::error::RecvError::Closed) = ev { return },
            _ = wait => {}
        }
    }
}

/// The events queued on the stream's subscriptions, taken off their queues.
fn take_due(s: &Shared, wanted: &[String]) -> Vec<(String, Event)> {
    let mut subs = lock(&s.subs);
    let mut due = Vec::new();
    for id in wanted {
        if let Some(sub) = subs.get_mut(id) {
            due.extend(sub.queue.drain(..).map(|ev| (id.clone(), ev)));
        }
    }
    due
}

/// One notification of one subscription: the event with the item's id and folder (a move also
/// names its old id and old folder).
fn notification(sub: &str, ev: &Event) -> String {
    let folder = |name: &str| format!("Id=\"{}\" ChangeKey=\"AQ==\"", folder_id(&ev.mailbox, name));
    let old = ev.old.as_ref().map(|(id, f)| format!("<t:OldItemId Id=\"{id}\"/><t:OldParentFolderId {}/>", folder(f))).unwrap_or_default();
    format!(
        "<m:Notifications><m:Notification><t:SubscriptionId>{sub}</t:SubscriptionId><t:PreviousWatermark>AQ==</t:PreviousWatermark><t:MoreEvents>false</t:MoreEvents>\
         <t:{k}><t:Watermark>AQ==</t:Watermark><t:TimeStamp>{ts}</t:TimeStamp><t:ItemId Id=\"{id}\" ChangeKey=\"{ck}\"/><t:ParentFolderId {parent}/>{old}</t:{k}>\
         </m:Notification></m:Notifications>",
        k = ev.kind,
        ts = t3339(OffsetDateTime::now_utc()),
        id = ev.item_id,
        ck = ev.change_key,
        parent = folder(ev.folder),
    )
}

fn tokio_stream_from(rx: tokio::sync::mpsc::Receiver<Chunk>) -> impl futures::Stream<Item = Chunk> {
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|v| (v, rx)) })
}
