//! The REST calls the incident-rooms sample makes (../shared/reference/webex.md §3), behind the
//! bearer gate in `mod.rs`. Field names are Webex's (Person, Room, Membership, Message, meetingInfo).

use super::{error, ids, missing_scope, now_rfc3339, org, paged, Caller, Membership, Shared, SimMessage, SimPerson, World};
use crate::sync::lock;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

const NOT_FOUND: &str = "The requested resource could not be found.";

/// The Person JSON. `roles` are Webex role ids (base64 of `ciscospark://us/ROLE/<name>`) [I];
/// the first phone number is `primary` [I]; `nickName` is the first name [I].
pub(super) fn person_json(p: &SimPerson, org_id: &str) -> Value {
    let (first, last) = p.display_name.split_once(' ').unwrap_or((p.display_name.as_str(), ""));
    let phones: Vec<Value> =
        p.phones.iter().enumerate().map(|(i, (kind, number))| json!({ "type": kind, "value": number, "primary": i == 0 })).collect();
    let roles: Vec<String> = p.roles.iter().map(|r| ids::encode("ROLE", r)).collect();
    json!({
        "id": p.id,
        "emails": [p.email],
        "phoneNumbers": phones,
        "displayName": p.display_name,
        "nickName": first,
        "firstName": first,
        "lastName": last,
        "orgId": org_id,
        "roles": roles,
        "created": org::DEMO_CREATED,
        "lastModified": org::DEMO_CREATED,
        "type": "person",
        "status": "active",
    })
}

fn room_json(w: &World, room: &super::Room, org_id: &str) -> Value {
    let locked = w.memberships.iter().any(|m| m.room_id == room.id && m.is_moderator);
    json!({
        "id": room.id,
        "title": room.title,
        "type": room.room_type,
        "isLocked": locked,
        "lastActivity": room.last_activity,
        "creatorId": room.creator_id,
        "created": room.created,
        "ownerId": org_id,
    })
}

fn membership_json(w: &World, m: &Membership, org_id: &str) -> Value {
    let p = w.person(&m.person_id);
    json!({
        "id": m.id,
        "roomId": m.room_id,
        "personId": m.person_id,
        "personEmail": p.map(|p| p.email.as_str()).unwrap_or_default(),
        "personDisplayName": p.map(|p| p.display_name.as_str()).unwrap_or_default(),
        "personOrgId": org_id,
        "isModerator": m.is_moderator,
        "isMonitor": false,
        "roomType": w.room(&m.room_id).map(|r| r.room_type.as_str()).unwrap_or("group"),
        "created": m.created,
    })
}

pub(super) async fn me(State(s): State<Arc<Shared>>, Extension(c): Extension<Caller>) -> Json<Value> {
    Json(person_json(&c.person, &s.cfg.org.org_id))
}

/// `GET /people`: `email` (exact, case-insensitive), `displayName` (prefix, case-insensitive),
/// `id` (comma list, at most 85); several filters narrow together [I]. No filter at all needs an
/// admin (reference §3); others get 403 [I: the status]. Paged as `paged` says.
pub(super) async fn people(
    State(s): State<Arc<Shared>>,
    Extension(c): Extension<Caller>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let email = q.get("email");
    let name = q.get("displayName").map(|n| n.to_lowercase());
    let wanted: Option<Vec<&str>> = q.get("id").map(|ids| ids.split(',').map(str::trim).filter(|i| !i.is_empty()).collect());
    if wanted.as_ref().is_some_and(|w| w.len() > 85) {
        return error(StatusCode::BAD_REQUEST, "At most 85 ids may be given in the id parameter.");
    }
    if email.is_none() && name.is_none() && wanted.is_none() {
        if !c.is_admin() {
            return error(
                StatusCode::FORBIDDEN,
                "Admin privileges are required to list people without an email, displayName or id filter.",
            );
        }
        if !c.may("spark-admin:people_read") {
            return missing_scope("spark-admin:people_read");
        }
    }
    let items: Vec<Value> = {
        let w = lock(&s.world);
        w.people
            .iter()
            .filter(|p| email.is_none_or(|e| p.email.eq_ignore_ascii_case(e)))
            .filter(|p| name.as_ref().is_none_or(|n| p.display_name.to_lowercase().starts_with(n.as_str())))
            .filter(|p| wanted.as_ref().is_none_or(|w| w.contains(&p.id.as_str())))
            .map(|p| person_json(p, &s.cfg.org.org_id))
            .collect()
    };
    paged(&s, &headers, &uri, items)
}

pub(super) async fn person(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let w = lock(&s.world);
    match w.person(&id) {
        Some(p) => Json(person_json(p, &s.cfg.org.org_id)).into_response(),
        None => error(StatusCode::NOT_FOUND, NOT_FOUND),
    }
}

/// `GET /rooms`: only rooms the caller is a member of (reference §3), optionally by `type`.
pub(super) async fn rooms(
    State(s): State<Arc<Shared>>,
    Extension(c): Extension<Caller>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let kind = q.get("type");
    if kind.is_some_and(|k| k != "group" && k != "direct") {
        return error(StatusCode::BAD_REQUEST, "type must be group or direct.");
    }
    let items: Vec<Value> = {
        let w = lock(&s.world);
        w.rooms
            .iter()
            .filter(|r| kind.is_none_or(|k| &r.room_type == k) && w.is_member(&r.id, &c.person.id))
            .map(|r| room_json(&w, r, &s.cfg.org.org_id))
            .collect()
    };
    paged(&s, &headers, &uri, items)
}

/// `GET /rooms/{id}`: members only; others get 404 as if it did not exist [I].
pub(super) async fn room(State(s): State<Arc<Shared>>, Extension(c): Extension<Caller>, Path(id): Path<String>) -> Response {
    let w = lock(&s.world);
    match w.room(&id).filter(|r| w.is_member(&r.id, &c.person.id)) {
        Some(r) => Json(room_json(&w, r, &s.cfg.org.org_id)).into_response(),
        None => error(StatusCode::NOT_FOUND, NOT_FOUND),
    }
}

/// `GET /rooms/{id}/meetingInfo`: the space's built-in meeting, members only [I]. Values are
/// derived from the room id, so they are stable: a 10-digit meeting number starting with 2 [I],
/// `https://example.webex.com/m/<hex>`, `<number>@example.webex.com`; toll numbers as in the
/// reference's example.
pub(super) async fn meeting_info(State(s): State<Arc<Shared>>, Extension(c): Extension<Caller>, Path(id): Path<String>) -> Response {
    let w = lock(&s.world);
    if w.room(&id).is_none() || !w.is_member(&id, &c.person.id) {
        return error(StatusCode::NOT_FOUND, NOT_FOUND);
    }
    let hex = ids::digest_hex(&id);
    let n = u64::from_str_radix(&hex[..15], 16).unwrap_or(0) % 1_000_000_000;
    let number = format!("2{n:09}");
    Json(json!({
        "roomId": id,
        "meetingLink": format!("https://example.webex.com/m/{}", &hex[16..48]),
        "sipAddress": format!("{number}@example.webex.com"),
        "meetingNumber": number,
        "meetingId": &hex[32..64],
        "callInTollFreeNumber": "+1-866-555-0100",
        "callInTollNumber": "+1-408-555-0100",
    }))
    .into_response()
}

/// `GET /memberships`: with `roomId`, that room's memberships (the caller must be a member or an
/// org admin, else 404 [I]), narrowed by `personId`/`personEmail`; without, the caller's own.
/// Unknown parameters such as the sample's misspelled `personID` are ignored [I].
pub(super) async fn memberships(
    State(s): State<Arc<Shared>>,
    Extension(c): Extension<Caller>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let items: Vec<Value> = {
        let w = lock(&s.world);
        match q.get("roomId") {
            Some(room) => {
                if w.room(room).is_none() || !(c.is_admin() || w.is_member(room, &c.person.id)) {
                    return error(StatusCode::NOT_FOUND, NOT_FOUND);
                }
                let by_email = q.get("personEmail").and_then(|e| w.person_by_email(e)).map(|p| p.id.clone());
                w.memberships
                    .iter()
                    .filter(|m| &m.room_id == room)
                    .filter(|m| q.get("personId").is_none_or(|p| &m.person_id == p))
                    .filter(|m| !q.contains_key("personEmail") || by_email.as_ref() == Some(&m.person_id))
                    .map(|m| membership_json(&w, m, &s.cfg.org.org_id))
                    .collect()
            }
            None => {
                w.memberships.iter().filter(|m| m.person_id == c.person.id).map(|m| membership_json(&w, m, &s.cfg.org.org_id)).collect()
            }
        }
    };
    paged(&s, &headers, &uri, items)
}

pub(super) async fn get_membership(State(s): State<Arc<Shared>>, Extension(c): Extension<Caller>, Path(id): Path<String>) -> Response {
    let w = lock(&s.world);
    match w.memberships.iter().find(|m| m.id == id && (c.is_admin() || w.is_member(&m.room_id, &c.person.id))) {
        Some(m) => Json(membership_json(&w, m, &s.cfg.org.org_id)).into_response(),
        None => error(StatusCode::NOT_FOUND, NOT_FOUND),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct NewMembership {
    room_id: Option<String>,
    person_id: Option<String>,
    person_email: Option<String>,
    #[serde(default)]
    is_moderator: bool,
}

/// In a moderated space (one with a moderator) only its moderators add or remove people or
/// change moderators; others get 403 [I: the message].
fn moderation(w: &World, room_id: &str, c: &Caller) -> Option<Response> {
    let moderated = w.memberships.iter().any(|m| m.room_id == room_id && m.is_moderator);
    let is_moderator = w.memberships.iter().any(|m| m.room_id == room_id && m.person_id == c.person.id && m.is_moderator);
    (moderated && !is_moderator).then(|| {
        error(StatusCode::FORBIDDEN, "This space is moderated: only its moderators can add or remove people or change moderators.")
    })
}

fn bad_json(e: &JsonRejection) -> Response {
    error(StatusCode::BAD_REQUEST, &format!("Unable to parse the JSON body: {}", e.body_text()))
}

/// `POST /memberships`: the caller must be a member of the room (404 otherwise [I]) and, in a
/// moderated space, one of its moderators (403); the person
/// must exist in the org (404 [I]: real Webex may invite unknown emails); 409 if already a member.
pub(super) async fn create_membership(
    State(s): State<Arc<Shared>>,
    Extension(c): Extension<Caller>,
    body: Result<Json<NewMembership>, JsonRejection>,
) -> Response {
    let b = match body {
        Ok(Json(b)) => b,
        Err(e) => return bad_json(&e),
    };
    let Some(room_id) = b.room_id else {
        return error(StatusCode::BAD_REQUEST, "roomId is required.");
    };
    let mut w = lock(&s.world);
    if w.room(&room_id).is_none() || !w.is_member(&room_id, &c.person.id) {
        return error(StatusCode::NOT_FOUND, NOT_FOUND);
    }
    if let Some(refused) = moderation(&w, &room_id, &c) {
        return refused;
    }
    let person = match (&b.person_id, &b.person_email) {
        (Some(id), _) => w.person(id),
        (None, Some(email)) => w.person_by_email(email),
        (None, None) => return error(StatusCode::BAD_REQUEST, "personId or personEmail is required."),
    };
    let Some(person_id) = person.map(|p| p.id.clone()) else {
        return error(StatusCode::NOT_FOUND, "The person could not be found.");
    };
    if w.is_member(&room_id, &person_id) {
        return error(StatusCode::CONFLICT, "The person is already a member of the room.");
    }
    let now = now_rfc3339();
    let m = Membership {
        id: ids::membership(&person_id, &room_id),
        room_id: room_id.clone(),
        person_id,
        is_moderator: b.is_moderator,
        created: now.clone(),
    };
    let out = membership_json(&w, &m, &s.cfg.org.org_id);
    w.memberships.push(m);
    if let Some(r) = w.rooms.iter_mut().find(|r| r.id == room_id) {
        r.last_activity = now;
    }
    Json(out).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct MembershipUpdate {
    is_moderator: Option<bool>,
}

/// `PUT /memberships/{id}` `{"isModerator": …}`: the caller must be a member of the room (404
/// otherwise [I]); in a moderated space, a moderator.
pub(super) async fn update_membership(
    State(s): State<Arc<Shared>>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    body: Result<Json<MembershipUpdate>, JsonRejection>,
) -> Response {
    let b = match body {
        Ok(Json(b)) => b,
        Err(e) => return bad_json(&e),
    };
    let mut w = lock(&s.world);
    let Some(i) = w.memberships.iter().position(|m| m.id == id) else {
        return error(StatusCode::NOT_FOUND, NOT_FOUND);
    };
    if !w.is_member(&w.memberships[i].room_id, &c.person.id) {
        return error(StatusCode::NOT_FOUND, NOT_FOUND);
    }
    if b.is_moderator.is_some() {
        if let Some(refused) = moderation(&w, &w.memberships[i].room_id, &c) {
            return refused;
        }
    }
    if let Some(moderator) = b.is_moderator {
        w.memberships[i].is_moderator = moderator;
    }
    Json(membership_json(&w, &w.memberships[i], &s.cfg.org.org_id)).into_response()
}

/// `DELETE /memberships/{id}`: 204; 404 if unknown or the caller is not in the room [I]; in a
/// moderated space only a moderator removes others (anyone may leave [I]).
pub(super) async fn delete_membership(State(s): State<Arc<Shared>>, Extension(c): Extension<Caller>, Path(id): Path<String>) -> Response {
    let mut w = lock(&s.world);
    let Some(i) = w.memberships.iter().position(|m| m.id == id) else {
        return error(StatusCode::NOT_FOUND, NOT_FOUND);
    };
    if !w.is_member(&w.memberships[i].room_id, &c.person.id) {
        return error(StatusCode::NOT_FOUND, NOT_FOUND);
    }
    if w.memberships[i].person_id != c.person.id {
        if let Some(refused) = moderation(&w, &w.memberships[i].room_id, &c) {
            return refused;
        }
    }
    w.memberships.remove(i);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct NewMessage {
    room_id: Option<String>,
    to_person_id: Option<String>,
    to_person_email: Option<String>,
    text: Option<String>,
    markdown: Option<String>,
}

/// `POST /messages`: to a room the caller is in, or 1:1 by `toPersonId`/`toPersonEmail`. Needs
/// `text` or `markdown` (400). Messaging yourself is refused with 400 (reference §3 says you
/// cannot; the status is [I]); an unknown person is 404 [I].
pub(super) async fn create_message(
    State(s): State<Arc<Shared>>,
    Extension(c): Extension<Caller>,
    body: Result<Json<NewMessage>, JsonRejection>,
) -> Response {
    let b = match body {
        Ok(Json(b)) => b,
        Err(e) => return bad_json(&e),
    };
    let text = b.text.filter(|t| !t.is_empty());
    let markdown = b.markdown.filter(|t| !t.is_empty());
    if text.is_none() && markdown.is_none() {
        return error(StatusCode::BAD_REQUEST, "A message needs text or markdown.");
    }
    let mut w = lock(&s.world);
    let (room_id, room_type, to) = if let Some(room_id) = b.room_id {
        let Some(room) = w.room(&room_id).filter(|r| w.is_member(&r.id, &c.person.id)) else {
            return error(StatusCode::NOT_FOUND, NOT_FOUND);
        };
        (room_id, room.room_type.clone(), None)
    } else {
        let to = match (&b.to_person_id, &b.to_person_email) {
            (Some(id), _) => w.person(id),
            (None, Some(email)) => w.person_by_email(email),
            (None, None) => return error(StatusCode::BAD_REQUEST, "One of roomId, toPersonId or toPersonEmail is required."),
        };
        let Some(to) = to.cloned() else {
            return error(StatusCode::NOT_FOUND, "The person could not be found.");
        };
        if to.id == c.person.id {
            return error(StatusCode::BAD_REQUEST, "You cannot send a message to yourself.");
        }
        let mut pair = [ids::tail(&c.person.id), ids::tail(&to.id)];
        pair.sort();
        let direct = ids::encode("ROOM", &uuid_from(&pair.join("+")));
        (direct, "direct".to_string(), Some(to))
    };
    let msg = SimMessage {
        id: ids::encode("MESSAGE", &uuid::Uuid::new_v4().to_string()),
        from_person_id: c.person.id.clone(),
        from_person_email: c.person.email.clone(),
        to_person_id: to.as_ref().map(|p| p.id.clone()),
        to_person_email: to.as_ref().map(|p| p.email.clone()),
        room_id,
        text,
        markdown,
        created: now_rfc3339(),
    };
    let mut out = json!({
        "id": msg.id,
        "roomId": msg.room_id,
        "roomType": room_type,
        "personId": msg.from_person_id,
        "personEmail": msg.from_person_email,
        "created": msg.created,
    });
    for (k, v) in
        [("toPersonId", &msg.to_person_id), ("toPersonEmail", &msg.to_person_email), ("text", &msg.text), ("markdown", &msg.markdown)]
    {
        if let Some(v) = v {
            out[k] = json!(v);
        }
    }
    if let Some(r) = w.rooms.iter_mut().find(|r| r.id == msg.room_id) {
        r.last_activity = msg.created.clone();
    }
    w.messages.push(msg);
    Json(out).into_response()
}

fn uuid_from(s: &str) -> String {
    let h = ids::digest_hex(s);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}
