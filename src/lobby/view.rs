//! Builds the lobby view from meetings: who waits (oldest first) and who is in; links between
//! bridges are not people. Pure, so the browser can search the same data.

use crate::model::{LiveCall, LiveLeg, LobbyMeeting, LobbyPerson, Meeting};

fn person(c: &LiveCall, l: &LiveLeg) -> LobbyPerson {
    LobbyPerson {
        call_id: c.id.clone(),
        leg_id: l.id.clone(),
        name: l.shown_name(),
        address: l.remote_address.clone().unwrap_or_default(),
        joined_with: l.joined_with(),
        since: l.started,
        node: c.node.clone(),
    }
}

/// Who waits and who is in, per meeting; meetings with a queue first, longest wait first.
pub fn lobby_view(meetings: &[Meeting]) -> Vec<LobbyMeeting> {
    let mut out: Vec<LobbyMeeting> = meetings
        .iter()
        .map(|m| {
            let mut waiting = Vec::new();
            let mut in_call = Vec::new();
            for (c, l) in m.people().filter(|(_, l)| !l.in_ivr) {
                if l.in_lobby {
                    waiting.push(person(c, l));
                } else {
                    in_call.push(person(c, l));
                }
            }
            waiting.sort_by(|a, b| a.since.cmp(&b.since).then(a.name.cmp(&b.name)));
            in_call.sort_by(|a, b| a.name.cmp(&b.name));
            LobbyMeeting { key: m.key.clone(), name: m.name(), calls: m.instances.iter().map(|c| c.id.clone()).collect(), waiting, in_call }
        })
        .collect();
    out.sort_by(|a, b| {
        a.waiting.is_empty().cmp(&b.waiting.is_empty()).then_with(|| {
            let (x, y) = (a.waiting.first().map(|p| p.since), b.waiting.first().map(|p| p.since));
            x.cmp(&y).then(a.name.cmp(&b.name))
        })
    });
    out
}

/// Keeps meetings whose name, or one of whose people (name or address), contains `q` (any case).
pub fn search(meetings: Vec<LobbyMeeting>, q: &str) -> Vec<LobbyMeeting> {
    let q = q.trim().to_lowercase();
    if q.is_empty() {
        return meetings;
    }
    meetings
        .into_iter()
        .filter(|m| {
            m.name.to_lowercase().contains(&q)
                || m.waiting.iter().chain(&m.in_call).any(|p| p.name.to_lowercase().contains(&q) || p.address.to_lowercase().contains(&q))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leg(id: &str, name: &str, lobby: bool, started: &str, sub: Option<&str>) -> LiveLeg {
        let started = time::OffsetDateTime::parse(started, &time::format_description::well_known::Rfc3339).ok();
        LiveLeg {
            id: id.into(),
            bridge: String::new(),
            call: Some("C".into()),
            participant: None,
            display_name: name.into(),
            local_address: None,
            remote_address: Some(format!("{id}@x")),
            leg_type: Some("sip".into()),
            sub_type: sub.map(Into::into),
            guest: false,
            direction: None,
            connected: true,
            in_lobby: lobby,
            in_ivr: false,
            started,
        }
    }

    fn call(id: &str, name: &str, corr: &str, legs: Vec<LiveLeg>) -> LiveCall {
        LiveCall {
            id: id.into(),
            bridge: String::new(),
            node: None,
            name: name.into(),
            co_space: None,
            owner: None,
            correlator: Some(corr.into()),
            call_type: None,
            started: None,
            legs,
            message_text: None,
        }
    }

    #[test]
    fn waiting_people_are_grouped_per_meeting_oldest_first_and_links_are_not_people() {
        let calls = vec![
            call(
                "a",
                "Board",
                "k",
                vec![leg("1", "Ann", true, "2026-01-01T10:05:00Z", None), leg("2", "Host", false, "2026-01-01T10:00:00Z", None)],
            ),
            call(
                "b",
                "Board",
                "k",
                vec![leg("3", "Ann", true, "2026-01-01T10:01:00Z", Some("webApp")), leg("4", "link", false, "", Some("distributionLink"))],
            ),
            call("c", "Quiet", "q", vec![leg("5", "Bob", false, "", None)]),
        ];
        let v = lobby_view(&Meeting::group(calls));
        assert_eq!(v[0].name, "Board", "meetings with a queue come first");
        assert_eq!(v[0].calls.len(), 2);
        let waiting: Vec<(&str, &str)> = v[0].waiting.iter().map(|p| (p.leg_id.as_str(), p.joined_with.as_str())).collect();
        assert_eq!(waiting, vec![("3", "web app"), ("1", "sip")], "two people called Ann stay apart, oldest first");
        assert_eq!(v[0].in_call.len(), 1);
        assert_eq!(v[1].waiting.len(), 0);
    }

    #[test]
    fn search_matches_meeting_names_people_and_addresses() {
        let v = lobby_view(&Meeting::group([
            call("a", "Board", "k", vec![leg("1", "Ann", true, "", None)]),
            call("c", "Quiet", "q", vec![leg("5", "Bob", false, "", None)]),
        ]));
        assert_eq!(search(v.clone(), "board").len(), 1);
        assert_eq!(search(v.clone(), "BOB")[0].name, "Quiet");
        assert_eq!(search(v.clone(), "1@x")[0].name, "Board");
        assert_eq!(search(v.clone(), "  ").len(), 2);
        assert!(search(v, "nobody").is_empty());
    }
}
