//! Events: created (with attendees' copies) by POST or by a test, GET with the marker property
//! expanded, PATCH with `If-Match` (an occurrence patched becoming an exception, the organiser's
//! body reaching the copies), DELETE. Times are read in the zone they are given in and
//! answered in UTC, or in the zone `Prefer: outlook.timezone` asks for.

use super::gate::Mailbox;
use super::model::{lookup, recurrence_json, recurrence_of, GraphEvent};
use super::notifications::notify_change;
use super::zones::{read_time, Answering, Zone};
use super::{error, new_id, Shared};
use crate::sim::ews::SimMeeting;
use crate::sync::lock;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Outlook's property set for named string properties (PS_PUBLIC_STRINGS).
const PS_PUBLIC_STRINGS: &str = "{00020329-0000-0000-C000-000000000046}";

/// The organiser's event and the attendees' copies (created notifications for each); `zones`:
/// those the start and end were given in.
pub(super) fn insert(s: &Shared, m: &SimMeeting, html: bool, zones: (&str, &str)) -> String {
    let uid = format!("040000008200E00074C5B7101A82E008{}", uuid::Uuid::new_v4().simple());
    let (start, end) = match &m.recurrence {
        Some(r) => r.expand(m.start, m.end, None, 1).first().map(|o| (o.1, o.2)).unwrap_or((m.start, m.end)),
        None => (m.start, m.end),
    };
    let organizer = m.organizer.to_ascii_lowercase();
    let mut mailboxes = vec![organizer.clone()];
    mailboxes.extend(
        m.attendees
            .iter()
            .map(|a| a.to_ascii_lowercase())
            .filter(|a| s.cfg.mailboxes.iter().any(|x| x.eq_ignore_ascii_case(a)) && *a != organizer),
    );
    let made: Vec<GraphEvent> = mailboxes
        .into_iter()
        .map(|mailbox| GraphEvent {
            id: new_id(),
            mailbox,
            subject: m.subject.clone(),
            location: m.location.clone(),
            body: m.body_html.clone(),
            body_html: html,
            organizer: m.organizer.to_ascii_lowercase(),
            start,
            end,
            start_zone: zones.0.to_string(),
            end_zone: zones.1.to_string(),
            properties: HashMap::new(),
            updates: 0,
            kind: if m.recurrence.is_some() { "seriesMaster" } else { "singleInstance" },
            recurrence: m.recurrence.clone(),
            master: None,
            uid: uid.clone(),
            version: 1,
            seq: s.seq.fetch_add(1, Ordering::Relaxed) + 1,
        })
        .collect();
    let id = made[0].id.clone();
    lock(&s.events).extend(made.iter().cloned());
    for e in &made {
        notify_change(s, e, "created");
    }
    id
}

fn full_event(e: &GraphEvent, base: &str, expand_property: Option<&str>, zone: &Zone) -> Value {
    let mut v = json!({
        "@odata.context": format!("{base}/v1.0/$metadata#users('{}')/events/$entity", e.mailbox),
        "@odata.etag": e.etag(),
        "id": e.id,
        "iCalUId": e.uid,
        "subject": e.subject,
        "type": e.kind,
        "seriesMasterId": e.master.as_ref().map(|m| m.0.clone()),
        "recurrence": e.recurrence.as_ref().map(|r| recurrence_json(r, e.start)),
        "isOrganizer": e.organizer == e.mailbox,
        "isCancelled": false,
        "body": { "contentType": if e.body_html { "html" } else { "text" }, "content": e.body },
        "start": zone.write(e.start),
        "end": zone.write(e.end),
        "originalStartTimeZone": e.start_zone,
        "originalEndTimeZone": e.end_zone,
        "location": { "displayName": e.location, "locationType": "default" },
        "organizer": { "emailAddress": { "name": e.organizer, "address": e.organizer } },
    });
    if let Some(pid) = expand_property {
        let props: Vec<Value> = e
            .properties
            .iter()
            .filter(|(name, _)| property_id(name).eq_ignore_ascii_case(pid))
            .map(|(name, value)| json!({ "id": property_id(name), "value": value }))
            .collect();
        if !props.is_empty() {
            v["singleValueExtendedProperties"] = json!(props);
        }
    }
    v
}

fn property_id(name: &str) -> String {
    format!("String {PS_PUBLIC_STRINGS} Name {name}")
}

/// The property id in `$expand=singleValueExtendedProperties($filter=id eq '…')`.
fn expanded_property(q: &HashMap<String, String>) -> Option<String> {
    let e = q.get("$expand")?;
    let inner = e.strip_prefix("singleValueExtendedProperties(")?.strip_suffix(')')?;
    let f = inner.strip_prefix("$filter=")?;
    let id = f.trim().strip_prefix("id eq '")?.strip_suffix('\'')?;
    Some(id.to_string())
}

pub(super) async fn get_event(
    State(s): State<Arc<Shared>>,
    Mailbox(mailbox): Mailbox,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let answering = match Answering::of(&headers) {
        Ok(a) => a,
        Err(refused) => return *refused,
    };
    let events = lock(&s.events);
    match lookup(&events, &id, &mailbox) {
        Some(e) => answering.mark(Json(full_event(&e, &s.base, expanded_property(&q).as_deref(), &answering.zone)).into_response()),
        None => error(StatusCode::NOT_FOUND, "ErrorItemNotFound", "The specified object was not found in the store."),
    }
}

pub(super) async fn patch_event(
    State(s): State<Arc<Shared>>,
    Mailbox(mailbox): Mailbox,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Ok(patch) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
        );
    };
    let answering = match Answering::of(&headers) {
        Ok(a) => a,
        Err(refused) => return *refused,
    };
    let mut events = lock(&s.events);
    // Changing an occurrence makes it an exception of its series.
    if let Some(mut occ) = lookup(&events, &id, &mailbox).filter(|e| e.kind == "occurrence") {
        occ.kind = "exception";
        events.push(occ);
    }
    let Some(e) = events.iter_mut().find(|e| e.id == id && e.mailbox == mailbox) else {
        return error(StatusCode::NOT_FOUND, "ErrorItemNotFound", "The specified object was not found in the store.");
    };
    if s.edit_before_patch.swap(false, Ordering::Relaxed) {
        e.body.push_str("<p>Organiser's late edit</p>");
        e.version += 1;
        e.seq = s.seq.fetch_add(1, Ordering::Relaxed) + 1;
    }
    if let Some(want) = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()) {
        if want != "*" && want != e.etag() {
            return error(
                StatusCode::PRECONDITION_FAILED,
                "ErrorIrresolvableConflict",
                "The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item.",
            );
        }
    }
    if let Err(refused) = apply_patch(e, &patch) {
        return *refused;
    }
    e.updates += 1;
    e.version += 1;
    e.seq = s.seq.fetch_add(1, Ordering::Relaxed) + 1;
    let e = e.clone();
    let mut changed = vec![e.clone()];
    if e.organizer == e.mailbox && e.master.is_none() && patch.get("body").is_some() {
        changed.extend(reach_copies(&s, &mut events, &e));
    }
    drop(events);
    for c in &changed {
        notify_change(&s, c, "updated");
    }
    answering.mark(Json(full_event(&e, &s.base, None, &answering.zone)).into_response())
}

/// Writes what the PATCH sets: body, location, subject, start and end (in their zones; 400 for
/// an unknown zone, nothing written), extended properties (400 for an id not in
/// PS_PUBLIC_STRINGS, what came before it kept).
fn apply_patch(e: &mut GraphEvent, patch: &Value) -> Result<(), Box<Response>> {
    let (start, end) = (read_time(patch.get("start"))?, read_time(patch.get("end"))?);
    if let Some((t, zone)) = start {
        e.start = t;
        e.start_zone = zone;
    }
    if let Some((t, zone)) = end {
        e.end = t;
        e.end_zone = zone;
    }
    if let Some(b) = patch.get("body") {
        let html = b.get("contentType").and_then(|c| c.as_str()).is_some_and(|c| c.eq_ignore_ascii_case("html"));
        e.body = b.get("content").and_then(|c| c.as_str()).unwrap_or_default().to_string();
        e.body_html = html;
    }
    if let Some(l) = patch.pointer("/location/displayName").and_then(|v| v.as_str()) {
        e.location = l.into();
    }
    if let Some(sub) = patch.get("subject").and_then(|v| v.as_str()) {
        e.subject = sub.into();
    }
    for p in patch.get("singleValueExtendedProperties").and_then(|v| v.as_array()).into_iter().flatten() {
        let pid = p.get("id").and_then(|v| v.as_str()).unwrap_or_default();
        let Some(name) = pid
            .strip_prefix("String ")
            .and_then(|r| r.strip_prefix(PS_PUBLIC_STRINGS).or_else(|| r.strip_prefix(&PS_PUBLIC_STRINGS.to_ascii_lowercase())))
            .and_then(|r| r.trim().strip_prefix("Name "))
        else {
            return Err(Box::new(error(
                StatusCode::BAD_REQUEST,
                "ErrorInvalidProperty",
                &format!("The extended property id '{pid}' is not valid."),
            )));
        };
        e.properties.insert(name.trim().to_string(), p.get("value").and_then(|v| v.as_str()).unwrap_or_default().to_string());
    }
    Ok(())
}

/// The organiser's body change reaches the attendees' copies (Graph sends them the update).
fn reach_copies(s: &Shared, events: &mut [GraphEvent], e: &GraphEvent) -> Vec<GraphEvent> {
    let mut changed = Vec::new();
    for copy in events.iter_mut().filter(|c| c.uid == e.uid && c.mailbox != c.organizer) {
        copy.body = e.body.clone();
        copy.body_html = e.body_html;
        copy.version += 1;
        copy.seq = s.seq.fetch_add(1, Ordering::Relaxed) + 1;
        changed.push(copy.clone());
    }
    changed
}

pub(super) async fn create(
    State(s): State<Arc<Shared>>,
    Mailbox(mailbox): Mailbox,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "BadRequest", "Unable to read JSON request payload.");
    };
    let parsed = Answering::of(&headers).and_then(|a| Ok((a, read_time(v.get("start"))?, read_time(v.get("end"))?)));
    let (answering, start, end) = match parsed {
        Ok(p) => p,
        Err(refused) => return *refused,
    };
    let (Some((start, start_zone)), Some((end, end_zone))) = (start, end) else {
        return error(StatusCode::BAD_REQUEST, "ErrorInvalidRequest", "start and end (dateTime, timeZone) are required.");
    };
    let html = v.pointer("/body/contentType").and_then(|c| c.as_str()).is_none_or(|c| c.eq_ignore_ascii_case("html"));
    let s2 = |p: &str| v.pointer(p).and_then(|x| x.as_str()).unwrap_or_default().to_string();
    let m = SimMeeting {
        organizer: mailbox.clone(),
        attendees: v
            .get("attendees")
            .and_then(|a| a.as_array())
            .into_iter()
            .flatten()
            .filter_map(|a| a.pointer("/emailAddress/address").and_then(|x| x.as_str()).map(str::to_string))
            .collect(),
        subject: s2("/subject"),
        location: s2("/location/displayName"),
        body_html: s2("/body/content"),
        start,
        end,
        recurrence: v.get("recurrence").and_then(recurrence_of),
    };
    let id = insert(&s, &m, html, (&start_zone, &end_zone));
    let events = lock(&s.events);
    let e = events.iter().find(|e| e.id == id).cloned();
    drop(events);
    match e {
        Some(e) => answering.mark((StatusCode::CREATED, Json(full_event(&e, &s.base, None, &answering.zone))).into_response()),
        None => error(StatusCode::INTERNAL_SERVER_ERROR, "generalException", "The event vanished."),
    }
}

pub(super) async fn delete_event(
    State(s): State<Arc<Shared>>,
    Mailbox(mailbox): Mailbox,
    Path((_, id)): Path<(String, String)>,
) -> Response {
    let mut events = lock(&s.events);
    let Some(pos) = events.iter().position(|e| e.id == id && e.mailbox == mailbox) else {
        return error(StatusCode::NOT_FOUND, "ErrorItemNotFound", "The specified object was not found in the store.");
    };
    let gone = events.remove(pos);
    drop(events);
    notify_change(&s, &gone, "deleted");
    lock(&s.removed).push((mailbox, id, s.seq.fetch_add(1, Ordering::Relaxed) + 1));
    StatusCode::NO_CONTENT.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_property_filter_is_read_from_expand() {
        let mut q = HashMap::new();
        q.insert(
            "$expand".to_string(),
            "singleValueExtendedProperties($filter=id eq 'String {00020329-0000-0000-C000-000000000046} Name X')".to_string(),
        );
        assert_eq!(expanded_property(&q).as_deref(), Some("String {00020329-0000-0000-C000-000000000046} Name X"));
        q.insert("$expand".to_string(), "attachments".to_string());
        assert_eq!(expanded_property(&q), None);
    }
}
