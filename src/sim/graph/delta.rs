//! `calendarView/delta`: a window on the first call, pages no longer than `Prefer:
//! odata.maxpagesize` nor the simulator's limit, absolute `@odata.nextLink`/`@odata.deltaLink`
//! carrying the round's state, removed events as `@removed`, 410 for a forgotten token.

use super::gate::Mailbox;
use super::model::{lookup, occurrence_id, parse_time, GraphEvent};
use super::zones::{Answering, Zone};
use super::{error, Shared};
use crate::sync::lock;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use time::OffsetDateTime;

/// What a delta link or next link carries (opaque to clients: base64 of this JSON).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct DeltaState {
    epoch: u64,
    start: i64,
    end: i64,
    /// Changes after this sequence number …
    since: u64,
    /// … up to this one (fixed for the round, so pages do not shift).
    upto: u64,
    /// The round's changes up to this sequence number were handed out (the page cursor:
    /// an event changed while the client pages moves past `upto` and comes next round).
    after: u64,
    /// … and of the entries with sequence number `after`, those up to this instance (a series'
    /// occurrences share their master's sequence number).
    #[serde(default)]
    after_n: u32,
}

fn encode_state(st: &DeltaState) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(st).unwrap_or_default())
}

fn decode_state(v: &str) -> Option<DeltaState> {
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(v).ok()?).ok()
}

/// One delta page: the round's next changes, then a next link while more remain, else the
/// delta link that starts the next round.
pub(super) async fn delta(
    State(s): State<Arc<Shared>>,
    Mailbox(mailbox): Mailbox,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let (st, answering) = match round_state(&s, &q).and_then(|st| Ok((st, Answering::of(&headers)?))) {
        Ok(r) => r,
        Err(refused) => return *refused,
    };
    let page_size = page_size(&s, &headers);
    let round = round_changes(&s, &mailbox, &st, &answering.zone);
    let page: Vec<Value> = round.iter().take(page_size).map(|(_, v)| v.clone()).collect();
    let link = |kind: &str, st: &DeltaState| format!("{}/v1.0/users/{}/calendarView/delta?{kind}={}", s.base, mailbox, encode_state(st));
    let mut body = json!({
        "@odata.context": format!("{}/v1.0/$metadata#Collection(event)", s.base),
        "value": page,
    });
    if round.len() > page_size {
        let (after, after_n) = round[page_size - 1].0;
        body["@odata.nextLink"] = json!(link("$skiptoken", &DeltaState { after, after_n, ..st }));
    } else {
        body["@odata.deltaLink"] = json!(link("$deltatoken", &DeltaState { after: st.upto, after_n: u32::MAX, ..st }));
    }
    answering.mark(Json(body).into_response())
}

/// The round this request goes on with: its token's (410 when the token is forgotten), or a new
/// one over the window asked. A delta link starts a new round: everything changed since the
/// last round, up to now.
fn round_state(s: &Shared, q: &HashMap<String, String>) -> Result<DeltaState, Box<Response>> {
    let token = q.get("$skiptoken").or_else(|| q.get("$deltatoken"));
    let st = match token {
        Some(t) => match decode_state(t) {
            Some(st) if st.epoch == s.delta_epoch.load(Ordering::Relaxed) => st,
            _ => {
                return Err(Box::new(error(
                    StatusCode::GONE,
                    "SyncStateNotFound",
                    "The sync state generation is not found. Start a new synchronisation without a token.",
                )))
            }
        },
        None => first_round(s, q)?,
    };
    Ok(if q.contains_key("$deltatoken") {
        DeltaState { since: st.upto, upto: s.seq.load(Ordering::Relaxed), after: st.upto, after_n: u32::MAX, ..st }
    } else {
        st
    })
}

/// The first round, over the window in `startDateTime`/`endDateTime` (both required).
fn first_round(s: &Shared, q: &HashMap<String, String>) -> Result<DeltaState, Box<Response>> {
    let (Some(start), Some(end)) = (q.get("startDateTime").and_then(|v| parse_time(v)), q.get("endDateTime").and_then(|v| parse_time(v)))
    else {
        return Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidParameter",
            "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.",
        )));
    };
    Ok(DeltaState {
        epoch: s.delta_epoch.load(Ordering::Relaxed),
        start: start.unix_timestamp(),
        end: end.unix_timestamp(),
        since: 0,
        upto: s.seq.load(Ordering::Relaxed),
        after: 0,
        after_n: 0,
    })
}

/// `Prefer: odata.maxpagesize`, never above the simulator's own limit.
fn page_size(s: &Shared, headers: &HeaderMap) -> usize {
    let asked = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| p.trim().strip_prefix("odata.maxpagesize="))
        .and_then(|n| n.trim().parse::<usize>().ok())
        .unwrap_or(s.cfg.page_max);
    asked.clamp(1, s.cfg.page_max.max(1))
}

/// The round's changes not yet handed out, oldest first: events changed in the window, then
/// events removed. A calendar view never shows a series master: its occurrences in the window
/// instead (all of them when the master changed; an exception when it changed).
fn round_changes(s: &Shared, mailbox: &str, st: &DeltaState, zone: &Zone) -> Vec<((u64, u32), Value)> {
    let (start, end) = (
        OffsetDateTime::from_unix_timestamp(st.start).unwrap_or(OffsetDateTime::UNIX_EPOCH),
        OffsetDateTime::from_unix_timestamp(st.end).unwrap_or(OffsetDateTime::UNIX_EPOCH),
    );
    let due = |seq: u64, n: u32| seq > st.since && seq <= st.upto && (seq, n) > (st.after, st.after_n);
    let mut round: Vec<((u64, u32), Value)> = Vec::new();
    {
        let events = lock(&s.events);
        for e in events.iter().filter(|e| e.mailbox == mailbox && e.master.is_none()) {
            match &e.recurrence {
                None if e.end > start && e.start < end && due(e.seq, 0) => round.push(((e.seq, 0), delta_entry(e, zone))),
                None => {}
                Some(r) => {
                    for (n, _, _) in r.expand(e.start, e.end, Some(end), usize::MAX) {
                        let Some(o) = lookup(&events, &occurrence_id(&e.id, n), mailbox) else { continue };
                        let seq = o.seq.max(e.seq);
                        if o.end > start && o.start < end && due(seq, n) {
                            round.push(((seq, n), delta_entry(&o, zone)));
                        }
                    }
                }
            }
        }
    }
    if st.since > 0 {
        round.extend(lock(&s.removed).iter().filter(|(m, _, seq)| *m == mailbox && due(*seq, 0)).map(|(_, id, seq)| {
            ((*seq, 0), json!({ "@odata.type": "#microsoft.graph.event", "id": id, "@removed": { "reason": "deleted" } }))
        }));
    }
    round.sort_by_key(|(key, _)| *key);
    round
}

/// A delta entry: Graph returns only some properties of each event here (times in `zone`).
fn delta_entry(e: &GraphEvent, zone: &Zone) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.event",
        "@odata.etag": e.etag(),
        "id": e.id,
        "subject": e.subject,
        "type": e.kind,
        "seriesMasterId": e.master.as_ref().map(|m| m.0.clone()),
        "start": zone.write(e.start),
        "end": zone.write(e.end),
    })
}
