//! The simulated organisation: people, group rooms and who is in them. The demo org is built
//! without randomness so tests can name its people and rooms.

use super::ids;

/// The Webex organisation the simulator serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimOrg {
    /// A Webex-style organisation id (base64 of `ciscospark://us/ORGANIZATION/<uuid>`).
    pub org_id: String,
    pub people: Vec<SimPerson>,
    pub rooms: Vec<SimRoom>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimPerson {
    /// A Webex-style person id (base64 of `ciscospark://us/PEOPLE/<uuid>`).
    pub id: String,
    pub email: String,
    pub display_name: String,
    /// `(type, number)`; the types are Webex's `phoneNumbers[].type` values: `work`, `mobile`,
    /// `fax`, `work_extension` (../shared/reference/webex.md §3).
    pub phones: Vec<(String, String)>,
    /// Non-empty = an org admin (e.g. `id_full_admin`). The sample only checks for non-empty `roles`.
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimRoom {
    /// A Webex-style room id (base64 of `ciscospark://us/ROOM/<uuid>`).
    pub id: String,
    pub title: String,
    /// `group` or `direct`.
    pub room_type: String,
    /// `(personId, isModerator)`.
    pub members: Vec<(String, bool)>,
}

const FIRST: [&str; 24] = [
    "Jordan", "Taylor", "Casey", "Riley", "Avery", "Quinn", "Jamie", "Dana", "Robin", "Sam", "Charlie", "Drew", "Emerson", "Finley",
    "Harper", "Kendall", "Logan", "Parker", "Reese", "Rowan", "Sage", "Skyler", "Tatum", "Winter",
];
const LAST: [&str; 19] = [
    "Nguyen", "Garcia", "Smith", "Patel", "Kim", "Johnson", "Okafor", "Rossi", "Muller", "Silva", "Larsen", "Chen", "Dubois", "Novak",
    "Haddad", "Walsh", "Ibrahim", "Kowalski", "Tanaka",
];

pub(super) const DEMO_CREATED: &str = "2022-06-20T10:00:00.000Z";

impl SimOrg {
    /// The demo/test org: `people` people (at least 2) with plausible names, emails at
    /// example.com and E.164 phones (+1 408 555 xxxx mobiles for most, +1 650 555 xxxx work
    /// numbers for many, none for about one in six).
    /// Person 0 is "Alex Admin" admin@example.com with roles `["id_full_admin"]`; person 1 is
    /// "Morgan Moderator" moderator@example.com (no roles, not in any Response room).
    /// Rooms: "Incident_Responders_Members" (admin, moderator and persons 2..=6),
    /// "Response - Network outage" (admin, 7, 8, 9), "Response - Security" (admin, 10, 11),
    /// "Response - Datacenter" (admin, 12, 13, 14) and "Lunch club" (admin, 2, 15); people
    /// beyond `people` are left out. Nobody is a moderator at the start.
    pub fn demo(people: usize) -> SimOrg {
        let people = people.max(2);
        let mut out = Vec::with_capacity(people);
        let mut seen = std::collections::HashSet::new();
        for i in 0..people {
            let (name, roles) = match i {
                0 => ("Alex Admin".to_string(), vec!["id_full_admin".to_string()]),
                1 => ("Morgan Moderator".to_string(), vec![]),
                _ => (format!("{} {}", FIRST[(i - 2) % FIRST.len()], LAST[((i - 2) * 7 + (i - 2) / FIRST.len()) % LAST.len()]), vec![]),
            };
            let mut email = match i {
                0 => "admin@example.com".to_string(),
                1 => "moderator@example.com".to_string(),
                _ => format!("{}@example.com", name.to_lowercase().replace(' ', ".")),
            };
            if !seen.insert(email.clone()) {
                email = email.replace('@', &format!("{i}@"));
                seen.insert(email.clone());
            }
            let n = i % 10_000;
            let mut phones = Vec::new();
            if i % 3 != 2 {
                phones.push(("work".to_string(), format!("+1650555{n:04}")));
            }
            if i % 6 != 5 {
                phones.push(("mobile".to_string(), format!("+1408555{n:04}")));
            }
            if i % 7 == 3 {
                phones.push(("work_extension".to_string(), format!("{}", 4000 + n % 1000)));
            }
            out.push(SimPerson { id: ids::encode("PEOPLE", &ids::uuid_for("person", i)), email, display_name: name, phones, roles });
        }
        let room = |k: usize, title: &str, members: &[usize]| SimRoom {
            id: ids::encode("ROOM", &ids::uuid_for("room", k)),
            title: title.to_string(),
            room_type: "group".to_string(),
            members: members.iter().filter(|&&m| m < people).map(|&m| (out[m].id.clone(), false)).collect(),
        };
        let rooms = vec![
            room(0, "Incident_Responders_Members", &[0, 1, 2, 3, 4, 5, 6]),
            room(1, "Response - Network outage", &[0, 7, 8, 9]),
            room(2, "Response - Security", &[0, 10, 11]),
            room(3, "Response - Datacenter", &[0, 12, 13, 14]),
            room(4, "Lunch club", &[0, 2, 15]),
        ];
        SimOrg { org_id: ids::encode("ORGANIZATION", &ids::uuid_for("org", 0)), people: out, rooms }
    }

    /// Case-insensitive, as Webex treats email addresses.
    pub fn person_by_email(&self, email: &str) -> Option<&SimPerson> {
        self.people.iter().find(|p| p.email.eq_ignore_ascii_case(email))
    }

    pub fn room_by_title(&self, title: &str) -> Option<&SimRoom> {
        self.rooms.iter().find(|r| r.title == title)
    }
}
