//! The live picture of every call and leg, built from CDRs. Robust to records arriving out of
//! order or not at all: a leg update before its start creates the leg, a leg naming an unknown
//! call creates a placeholder call, and the CMS API fills in what CDRs never said.

use super::parse::{Record, RecordType};
use crate::model::{LiveCall, LiveLeg};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use time::OffsetDateTime;

/// A record's `time`, when it is one (CMS sends RFC 3339).
fn record_time(r: &Record) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(&r.time, &time::format_description::well_known::Rfc3339).ok()
}

/// A call instance: CMS call ids are GUIDs, unique across the Call Bridges of a cluster (each
/// bridge's instance of a distributed call has its own id, sharing the callCorrelator).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallKey(pub String);

#[derive(Debug, Clone, Default)]
pub struct LiveState {
    calls: BTreeMap<CallKey, LiveCall>,
    legs: HashMap<String, LiveLeg>,
    /// Leg ids by the call they are in: a call's legs without walking every leg.
    by_call: HashMap<String, BTreeSet<String>>,
}

/// What a record changed, so listeners (banner enforcer, pages) know where to look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Call(CallKey),
    CallEnded(CallKey),
    None,
}

impl LiveState {
    pub fn call(&self, key: &CallKey) -> Option<&LiveCall> {
        self.calls.get(key)
    }

    pub fn legs_of<'a>(&'a self, key: &'a CallKey) -> impl Iterator<Item = &'a LiveLeg> + 'a {
        self.by_call.get(&key.0).into_iter().flatten().filter_map(|id| self.legs.get(id))
    }

    pub fn leg_count(&self) -> usize {
        self.legs.len()
    }

    /// The calls of one meeting (sharing a callCorrelator).
    pub fn calls_with_correlator<'a>(&'a self, correlator: &'a str) -> impl Iterator<Item = CallKey> + 'a {
        self.calls.iter().filter(move |(_, c)| c.correlator.as_deref() == Some(correlator)).map(|(k, _)| k.clone())
    }

    fn call_entry(&mut self, key: &CallKey, bridge: &str, time: Option<OffsetDateTime>) -> &mut LiveCall {
        self.calls.entry(key.clone()).or_insert_with(|| LiveCall {
            id: key.0.clone(),
            bridge: bridge.to_string(),
            node: None,
            name: String::new(),
            co_space: None,
            owner: None,
            correlator: None,
            call_type: None,
            started: time,
            legs: Vec::new(),
            message_text: None,
        })
    }

    fn leg_entry(&mut self, bridge: &str, id: &str, time: Option<OffsetDateTime>) -> &mut LiveLeg {
        self.legs.entry(id.to_string()).or_insert_with(|| LiveLeg {
            id: id.to_string(),
            bridge: bridge.to_string(),
            call: None,
            participant: None,
            display_name: String::new(),
            local_address: None,
            remote_address: None,
            leg_type: None,
            sub_type: None,
            guest: false,
            direction: None,
            connected: false,
            in_lobby: false,
            in_ivr: false,
            started: time,
        })
    }

    /// Applies one record from a bridge (`""` for a single node that sends no callBridge).
    pub fn apply(&mut self, bridge: &str, r: &Record) -> Change {
        match r.kind {
            RecordType::CallStart => self.apply_call_start(bridge, r),
            RecordType::CallEnd => {
                let key = CallKey(r.id.clone());
                self.remove_call(&key);
                Change::CallEnded(key)
            }
            RecordType::CallLegStart | RecordType::CallLegUpdate => self.apply_leg(bridge, r),
            RecordType::CallLegEnd => match self.remove_leg(&r.id) {
                Some(l) => match l.call {
                    Some(c) => Change::Call(CallKey(c)),
                    None => Change::None,
                },
                None => Change::None,
            },
            _ => Change::None,
        }
    }

    /// `callStart`: the call, with what the record says about it (earlier knowledge kept where
    /// the record is silent).
    fn apply_call_start(&mut self, bridge: &str, r: &Record) -> Change {
        let key = CallKey(r.id.clone());
        let c = self.call_entry(&key, bridge, record_time(r));
        if let Some(v) = r.field("name") {
            c.name = v.to_string();
        }
        c.co_space = r.field("coSpace").map(str::to_string).or(c.co_space.take());
        c.owner = r.field("ownerName").map(str::to_string).or(c.owner.take());
        c.correlator = r.field("callCorrelator").map(str::to_string).or(c.correlator.take());
        c.call_type = r.field("callType").map(str::to_string).or(c.call_type.take());
        c.started = record_time(r).or(c.started);
        Change::Call(key)
    }

    /// `callLegStart` / `callLegUpdate`: the leg's fields, its lobby and IVR state, and the call
    /// it is in now (moved between calls' leg sets when that changed).
    fn apply_leg(&mut self, bridge: &str, r: &Record) -> Change {
        let time = record_time(r);
        let leg = self.leg_entry(bridge, &r.id, time);
        if let Some(v) = r.field("displayName") {
            leg.display_name = v.to_string();
        }
        if let Some(v) = r.field("localAddress") {
            leg.local_address = Some(v.to_string());
        }
        if let Some(v) = r.field("remoteAddress").or(r.field("remoteParty")) {
            leg.remote_address = Some(v.to_string());
        }
        if let Some(v) = r.field("type") {
            leg.leg_type = Some(v.to_string());
        }
        if let Some(v) = r.field("subType") {
            leg.sub_type = Some(v.into());
        }
        if let Some(v) = r.flag("guestConnection") {
            leg.guest = v;
        }
        if let Some(v) = r.field("direction") {
            leg.direction = Some(v.to_string());
        }
        if r.kind == RecordType::CallLegUpdate {
            // Absent `state` means not yet connected.
            leg.connected = r.field("state") == Some("connected");
        }
        let before = leg.call.clone();
        if r.field("ivr").is_some() {
            leg.in_ivr = true;
        } else if let Some(c) = r.field("call").filter(|c| !c.is_empty()) {
            leg.in_ivr = false;
            leg.call = Some(c.to_string());
        }
        if let Some(v) = r.flag("deactivated") {
            leg.in_lobby = v;
        }
        let call = leg.call.clone();
        if before != call {
            self.link(&r.id, before.as_deref(), call.as_deref());
        }
        match call {
            Some(c) => {
                let key = CallKey(c);
                self.call_entry(&key, bridge, time);
                Change::Call(key)
            }
            None => Change::None,
        }
    }

    /// Replaces what CDRs say about a call with what the CMS API says now (after a restart,
    /// or for calls that began before Switchboard listened).
    pub fn reconcile_call(&mut self, call: LiveCall, legs: Vec<LiveLeg>) -> CallKey {
        let key = CallKey(call.id.clone());
        let previous: HashMap<String, LiveLeg> =
            self.by_call.remove(&key.0).into_iter().flatten().filter_map(|id| self.legs.remove(&id).map(|l| (id, l))).collect();
        for mut l in legs {
            // The API does not say who is a guest, and CDRs know when a leg really started.
            if let Some(old) = previous.get(&l.id) {
                l.guest |= old.guest;
                l.started = old.started.or(l.started);
            }
            l.call = Some(key.0.clone());
            if let Some(old) = self.legs.remove(&l.id) {
                self.link(&l.id, old.call.as_deref(), None);
            }
            self.link(&l.id, None, Some(&key.0));
            self.legs.insert(l.id.clone(), l);
        }
        let existing = self.calls.remove(&key);
        let mut call = call;
        if let Some(e) = existing {
            if call.name.is_empty() {
                call.name = e.name;
            }
            call.owner = call.owner.or(e.owner);
            call.call_type = call.call_type.or(e.call_type);
            if call.bridge.is_empty() {
                call.bridge = e.bridge;
            }
        }
        self.calls.insert(key.clone(), call);
        key
    }

    /// Drops a call (it ended, or the CMS API says it is gone) with its legs.
    pub fn remove_call(&mut self, key: &CallKey) {
        self.calls.remove(key);
        for id in self.by_call.remove(&key.0).into_iter().flatten() {
            self.legs.remove(&id);
        }
    }

    fn remove_leg(&mut self, id: &str) -> Option<LiveLeg> {
        let l = self.legs.remove(id)?;
        self.link(id, l.call.as_deref(), None);
        Some(l)
    }

    /// Moves a leg id in the by-call index.
    fn link(&mut self, leg: &str, from: Option<&str>, to: Option<&str>) {
        if let Some(f) = from {
            if let Some(set) = self.by_call.get_mut(f) {
                set.remove(leg);
                if set.is_empty() {
                    self.by_call.remove(f);
                }
            }
        }
        if let Some(t) = to {
            self.by_call.entry(t.to_string()).or_default().insert(leg.to_string());
        }
    }

    /// Forgets legs in no call (in the IVR, or whose call was never named) that started before
    /// `before`: their end record was lost, and nothing else would ever remove them.
    pub fn prune_orphan_legs(&mut self, before: OffsetDateTime) -> usize {
        let n = self.legs.len();
        self.legs.retain(|_, l| l.call.is_some() || l.started.is_some_and(|t| t >= before));
        n - self.legs.len()
    }

    pub fn keys(&self) -> Vec<CallKey> {
        self.calls.keys().cloned().collect()
    }

    /// A snapshot of a call with its legs, for pages and the banner rules.
    pub fn snapshot(&self, key: &CallKey) -> Option<LiveCall> {
        let mut c = self.calls.get(key)?.clone();
        let mut legs: Vec<LiveLeg> = self.legs_of(key).cloned().collect();
        legs.sort_by(|a, b| a.started.cmp(&b.started).then(a.id.cmp(&b.id)));
        c.legs = legs;
        Some(c)
    }

    pub fn set_in_lobby<'a>(&mut self, legs: impl Iterator<Item = &'a str>, in_lobby: bool) {
        for id in legs {
            if let Some(l) = self.legs.get_mut(id) {
                l.in_lobby = in_lobby;
            }
        }
    }

    pub fn set_node(&mut self, key: &CallKey, node: &str) {
        if let Some(c) = self.calls.get_mut(key) {
            c.node = Some(node.to_string());
        }
    }

    pub fn set_message(&mut self, key: &CallKey, text: Option<String>) {
        if let Some(c) = self.calls.get_mut(key) {
            c.message_text = text;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cdr::parse::parse_batch;

    fn apply_all(state: &mut LiveState, xml: &str) {
        let b = parse_batch(xml).unwrap();
        for r in &b.records {
            state.apply(b.call_bridge.as_deref().unwrap_or(""), r);
        }
    }

    #[test]
    fn a_call_with_a_guest_in_the_lobby_then_admitted_then_gone() {
        let mut s = LiveState::default();
        apply_all(
            &mut s,
            r#"<records session="S"><record type="callStart" time="t1" recordIndex="1" correlatorIndex="0"><call id="C"><name>Board</name><callCorrelator>K</callCorrelator></call></record>
            <record type="callLegStart" time="t2" recordIndex="2" correlatorIndex="1"><callLeg id="L"><displayName>Ann</displayName><subType>webApp</subType><call>C</call></callLeg></record>
            <record type="callLegUpdate" time="t3" recordIndex="3" correlatorIndex="2"><callLeg id="L"><state>connected</state><call>C</call><deactivated>true</deactivated></callLeg></record></records>"#,
        );
        let key = CallKey("C".into());
        let snap = s.snapshot(&key).unwrap();
        assert_eq!(snap.name, "Board");
        assert_eq!(snap.correlator.as_deref(), Some("K"));
        assert!(snap.legs[0].in_lobby && snap.legs[0].connected);

        apply_all(
            &mut s,
            r#"<records session="S"><record type="callLegUpdate" time="t4" recordIndex="4"><callLeg id="L"><state>connected</state><call>C</call><deactivated>false</deactivated></callLeg></record></records>"#,
        );
        assert!(!s.snapshot(&key).unwrap().legs[0].in_lobby);
        apply_all(
            &mut s,
            r#"<records session="S"><record type="callLegEnd" time="t5" recordIndex="5"><callLeg id="L"><reason>x</reason></callLeg></record></records>"#,
        );
        assert!(s.snapshot(&key).unwrap().legs.is_empty());
        apply_all(&mut s, r#"<records session="S"><record type="callEnd" time="t6" recordIndex="6"><call id="C"/></record></records>"#);
        assert!(s.snapshot(&key).is_none());
    }

    #[test]
    fn out_of_order_records_still_give_the_right_picture() {
        let mut s = LiveState::default();
        // The update arrives before the start, and the leg before its call.
        apply_all(
            &mut s,
            r#"<records session="S" callBridge="B"><record type="callLegUpdate" time="t3" recordIndex="3"><callLeg id="L"><state>connected</state><call>C</call><deactivated>true</deactivated></callLeg></record>
            <record type="callLegStart" time="t2" recordIndex="2"><callLeg id="L"><displayName>Ann</displayName><call>C</call></callLeg></record>
            <record type="callStart" time="t1" recordIndex="1"><call id="C"><name>Late name</name></call></record></records>"#,
        );
        let key = CallKey("C".into());
        let snap = s.snapshot(&key).unwrap();
        assert_eq!(snap.name, "Late name");
        assert_eq!(snap.bridge, "B");
        assert_eq!(snap.legs.len(), 1);
        assert!(snap.legs[0].in_lobby, "a later-arriving start does not undo the lobby state");
        assert_eq!(snap.legs[0].display_name, "Ann");
        // An end for a leg never seen is harmless.
        apply_all(
            &mut s,
            r#"<records session="S"><record type="callLegEnd" time="t" recordIndex="9"><callLeg id="ghost"/></record></records>"#,
        );
    }

    #[test]
    fn a_leg_in_the_ivr_has_no_call_until_it_joins_one() {
        let mut s = LiveState::default();
        apply_all(
            &mut s,
            r#"<records session="S"><record type="callLegStart" time="t" recordIndex="1"><callLeg id="L"><displayName>Dialler</displayName></callLeg></record>
            <record type="callLegUpdate" time="t" recordIndex="2"><callLeg id="L"><state>connected</state><ivr/></callLeg></record></records>"#,
        );
        assert!(s.keys().is_empty());
        assert_eq!(s.leg_count(), 1);
        apply_all(
            &mut s,
            r#"<records session="S"><record type="callLegUpdate" time="t" recordIndex="3"><callLeg id="L"><state>connected</state><call>C</call></callLeg></record></records>"#,
        );
        let snap = s.snapshot(&CallKey("C".into())).unwrap();
        assert!(!snap.legs[0].in_ivr);
    }

    #[test]
    fn legs_follow_their_call_in_the_index_and_orphans_are_pruned_by_age() {
        let mut s = LiveState::default();
        apply_all(
            &mut s,
            r#"<records session="S"><record type="callLegStart" time="2026-01-01T10:00:00Z" recordIndex="1"><callLeg id="L"><call>A</call></callLeg></record>
            <record type="callLegUpdate" time="2026-01-01T10:00:01Z" recordIndex="2"><callLeg id="L"><state>connected</state><call>B</call></callLeg></record>
            <record type="callLegStart" time="2026-01-01T10:00:02Z" recordIndex="3"><callLeg id="IVR"><displayName>Dialler</displayName></callLeg></record></records>"#,
        );
        assert!(s.snapshot(&CallKey("A".into())).unwrap().legs.is_empty(), "the leg moved to B");
        assert_eq!(s.snapshot(&CallKey("B".into())).unwrap().legs.len(), 1);
        s.remove_call(&CallKey("B".into()));
        assert_eq!(s.leg_count(), 1, "B's leg went with it; the IVR leg stays");
        assert_eq!(s.prune_orphan_legs(time::macros::datetime!(2026-01-01 09:00:00 UTC)), 0, "still young");
        assert_eq!(s.prune_orphan_legs(time::macros::datetime!(2026-01-01 11:00:00 UTC)), 1);
        assert_eq!(s.leg_count(), 0);
    }

    #[test]
    fn reconciling_with_the_api_keeps_what_only_cdrs_know_and_drops_legs_cms_no_longer_has() {
        let mut s = LiveState::default();
        apply_all(
            &mut s,
            r#"<records session="S"><record type="callLegStart" time="2026-01-01T10:00:00Z" recordIndex="1"><callLeg id="L1"><displayName>Ann</displayName><guestConnection>true</guestConnection><call>C</call></callLeg></record>
            <record type="callLegStart" time="2026-01-01T10:00:01Z" recordIndex="2"><callLeg id="L2"><displayName>Gone</displayName><call>C</call></callLeg></record></records>"#,
        );
        let key = CallKey("C".into());
        let mut call = s.snapshot(&key).unwrap();
        call.name = "From API".into();
        call.node = Some("cb1".into());
        let mut api_leg = call.legs.iter().find(|l| l.id == "L1").unwrap().clone();
        api_leg.guest = false;
        api_leg.started = None;
        api_leg.in_lobby = true;
        s.reconcile_call(call, vec![api_leg]);
        let snap = s.snapshot(&key).unwrap();
        assert_eq!(snap.name, "From API");
        assert_eq!(snap.legs.len(), 1, "L2 is gone according to CMS");
        assert!(snap.legs[0].guest && snap.legs[0].in_lobby);
        assert_eq!(snap.legs[0].started, Some(time::macros::datetime!(2026-01-01 10:00:00 UTC)));
    }
}
