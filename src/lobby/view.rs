//! Builds the lobby view from live calls: meetings grouped by callCorrelator, who waits (oldest
//! first) and who is in; links between bridges are not people.

use crate::model::{LiveCall, LiveLeg, LobbyMeeting, LobbyPerson};
use std::collections::BTreeMap;

pub fn joined_with(l: &LiveLeg) -> String {
    let base = match (l.sub_type.as_deref(), l.leg_type.as_deref()) {
        (Some("webApp"), _) => "web app".to_string(),
        (Some(s), _) => s.to_string(),
        (None, Some(t)) => t.to_string(),
        (None, None) => "unknown".to_string(),
    };
    if l.guest {
        format!("{base} (guest)")
    } else {
        base
    }
}

fn person(c: &LiveCall, l: &LiveLeg) -> LobbyPerson {
    LobbyPerson {
        call_id: c.id.clone(),
        leg_id: l.id.clone(),
        name: if l.display_name.is_empty() { "(no name)".into() } else { l.display_name.clone() },
        address: l.remote_address.clone().unwrap_or_default(),
        joined_with: joined_with(l),
        since: l.started.clone(),
        node: c.node.clone(),
    }
}

pub fn lobby_view(calls: &[LiveCall]) -> Vec<LobbyMeeting> {
    let mut groups: BTreeMap<String, Vec<&LiveCall>> = BTreeMap::new();
    for c in calls {
        groups.entry(c.correlator.clone().unwrap_or_else(|| c.id.clone())).or_default().push(c);
    }
    let mut out: Vec<LobbyMeeting> = groups
        .into_iter()
        .map(|(key, cs)| {
            let mut waiting = Vec::new();
            let mut in_call = Vec::new();
            for c in &cs {
                for l in c.legs.iter().filter(|l| !l.is_distribution_link() && !l.in_ivr) {
                    if l.in_lobby {
                        waiting.push(person(c, l));
                    } else {
                        in_call.push(person(c, l));
                    }
                }
            }
            waiting.sort_by(|a, b| a.since.cmp(&b.since).then(a.name.cmp(&b.name)));
            in_call.sort_by(|a, b| a.name.cmp(&b.name));
            LobbyMeeting {
                key,
                name: cs.iter().map(|c| c.name.clone()).find(|n| !n.is_empty()).unwrap_or_else(|| "(unnamed call)".into()),
                calls: cs.iter().map(|c| c.id.clone()).collect(),
                waiting,
                in_call,
            }
        })
        .collect();
    // Meetings with people waiting first, longest wait first.
    out.sort_by(|a, b| {
        a.waiting.is_empty().cmp(&b.waiting.is_empty()).then_with(|| {
            let (x, y) = (a.waiting.first().map(|p| p.since.clone()), b.waiting.first().map(|p| p.since.clone()));
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
        LiveLeg {
            id: id.into(),
            bridge: String::new(),
            call: Some("C".into()),
            participant: None,
            display_name: name.into(),
            local_address: None,
            remote_address: Some(format!("{id}@x")),
            leg_type: Some("sip".into()),
            sub_type: sub.map(str::to_string),
            guest: false,
            direction: None,
            connected: true,
            in_lobby: lobby,
            in_ivr: false,
            started: started.into(),
        }
    }

    fn call(id: &str, name: &str, corr: &str, legs: Vec<LiveLeg>) -> LiveCall {
        LiveCall { id: id.into(), bridge: String::new(), node: None, name: name.into(), co_space: None, owner: None, correlator: Some(corr.into()), call_type: None, started: String::new(), legs, message_text: None }
    }

    #[test]
    fn waiting_people_are_grouped_per_meeting_oldest_first_and_links_are_not_people() {
        let calls = vec![
            call("a", "Board", "k", vec![leg("1", "Ann", true, "2026-01-01T10:05:00Z", None), leg("2", "Host", false, "2026-01-01T10:00:00Z", None)]),
            call("b", "Board", "k", vec![leg("3", "Ann", true, "2026-01-01T10:01:00Z", Some("webApp")), leg("4", "link", false, "", Some("distributionLink"))]),
            call("c", "Quiet", "q", vec![leg("5", "Bob", false, "", None)]),
        ];
        let v = lobby_view(&calls);
        assert_eq!(v[0].name, "Board", "meetings with a queue come first");
        assert_eq!(v[0].calls.len(), 2);
        let waiting: Vec<(&str, &str)> = v[0].waiting.iter().map(|p| (p.leg_id.as_str(), p.joined_with.as_str())).collect();
        assert_eq!(waiting, vec![("3", "web app"), ("1", "sip")], "two people called Ann stay apart, oldest first");
        assert_eq!(v[0].in_call.len(), 1);
        assert_eq!(v[1].waiting.len(), 0);
    }

    #[test]
    fn search_matches_meeting_names_people_and_addresses() {
        let v = lobby_view(&[call("a", "Board", "k", vec![leg("1", "Ann", true, "", None)]), call("c", "Quiet", "q", vec![leg("5", "Bob", false, "", None)])]);
        assert_eq!(search(v.clone(), "board").len(), 1);
        assert_eq!(search(v.clone(), "BOB")[0].name, "Quiet");
        assert_eq!(search(v.clone(), "1@x")[0].name, "Board");
        assert_eq!(search(v.clone(), "  ").len(), 2);
        assert!(search(v, "nobody").is_empty());
    }
}
