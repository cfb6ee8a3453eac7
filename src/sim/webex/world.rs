//! What the simulated Webex holds: people, rooms, memberships and messages, the OAuth codes and
//! tokens it issued, and the requests it answered. The API, OAuth and `/sim` handlers all work
//! on this one [`World`] under the simulator's lock.

use super::SimPerson;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A message accepted by `POST /v1/messages`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimMessage {
    pub id: String,
    pub from_person_id: String,
    pub from_person_email: String,
    /// Set for a 1:1 message (`toPersonId` or `toPersonEmail`); `None` for a message to a room.
    pub to_person_id: Option<String>,
    pub to_person_email: Option<String>,
    /// The room it went to (the direct room for a 1:1 message).
    pub room_id: String,
    pub text: Option<String>,
    pub markdown: Option<String>,
    pub created: String,
}

/// A membership as the simulator holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimMembership {
    pub id: String,
    pub room_id: String,
    pub person_id: String,
    pub person_email: String,
    pub is_moderator: bool,
}

/// One request the simulator answered (`/sim/…` excluded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimRequest {
    pub method: String,
    /// The path with its query, if any.
    pub path: String,
    pub status: u16,
    /// Whose bearer token it carried, when the token was valid.
    pub person_email: Option<String>,
}

pub(super) struct Token {
    pub(super) person_id: String,
    pub(super) expires: Instant,
    /// The scopes granted, space-separated as OAuth writes them.
    pub(super) scope: String,
    /// The authorisation code it came from, so a replayed code can revoke it.
    pub(super) code: Option<String>,
}

pub(super) struct Refresh {
    pub(super) person_id: String,
    pub(super) expires: Instant,
    pub(super) scope: String,
    pub(super) revoked: bool,
    pub(super) code: Option<String>,
}

pub(super) struct Code {
    pub(super) person_id: String,
    pub(super) scope: String,
    pub(super) redirect_uri: String,
    pub(super) challenge: Option<String>,
    pub(super) method: String,
    pub(super) expires: Instant,
    pub(super) used: bool,
}

pub(super) struct Room {
    pub(super) id: String,
    pub(super) title: String,
    pub(super) room_type: String,
    pub(super) created: String,
    pub(super) last_activity: String,
    pub(super) creator_id: String,
}

pub(super) struct Membership {
    pub(super) id: String,
    pub(super) room_id: String,
    pub(super) person_id: String,
    pub(super) is_moderator: bool,
    pub(super) created: String,
}

pub(super) struct World {
    pub(super) people: Vec<SimPerson>,
    pub(super) rooms: Vec<Room>,
    pub(super) memberships: Vec<Membership>,
    pub(super) messages: Vec<SimMessage>,
    pub(super) codes: HashMap<String, Code>,
    pub(super) access: HashMap<String, Token>,
    pub(super) refresh: HashMap<String, Refresh>,
    pub(super) access_lifetime: Duration,
    pub(super) refresh_lifetime: Duration,
    pub(super) requests: Vec<SimRequest>,
}

impl World {
    pub(super) fn person(&self, id: &str) -> Option<&SimPerson> {
        self.people.iter().find(|p| p.id == id)
    }
    pub(super) fn person_by_email(&self, email: &str) -> Option<&SimPerson> {
        self.people.iter().find(|p| p.email.eq_ignore_ascii_case(email))
    }
    pub(super) fn room(&self, id: &str) -> Option<&Room> {
        self.rooms.iter().find(|r| r.id == id)
    }
    pub(super) fn is_member(&self, room_id: &str, person_id: &str) -> bool {
        self.memberships.iter().any(|m| m.room_id == room_id && m.person_id == person_id)
    }
    pub(super) fn sim_membership(&self, m: &Membership) -> SimMembership {
        SimMembership {
            id: m.id.clone(),
            room_id: m.room_id.clone(),
            person_id: m.person_id.clone(),
            person_email: self.person(&m.person_id).map(|p| p.email.clone()).unwrap_or_default(),
            is_moderator: m.is_moderator,
        }
    }
    pub(super) fn issue_access(&mut self, person_id: &str, code: Option<&str>, scope: &str) -> (String, u64) {
        let token = token_string();
        let life = self.access_lifetime;
        let t = Token { person_id: person_id.into(), expires: Instant::now() + life, scope: scope.into(), code: code.map(Into::into) };
        self.access.insert(token.clone(), t);
        (token, life.as_secs())
    }

    /// What a personal access token from the developer portal carries: `spark:all`, and for an
    /// org admin the admin read scopes as well [I].
    pub(super) fn personal_scope(&self, person_id: &str) -> String {
        let admin = self.person(person_id).is_some_and(|p| !p.roles.is_empty());
        if admin {
            "spark:all spark-admin:people_read spark-admin:organizations_read spark-admin:roles_read".into()
        } else {
            "spark:all".into()
        }
    }
}

/// Webex tokens look like `<base64ish>_<cluster>_<org uuid>` [I: the shape; only opacity matters].
pub(super) fn token_string() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    format!("{}_PF84_{}", Alphanumeric.sample_string(&mut rand::thread_rng(), 64), uuid::Uuid::new_v4())
}

pub(super) fn random_code() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    Alphanumeric.sample_string(&mut rand::thread_rng(), 48)
}
