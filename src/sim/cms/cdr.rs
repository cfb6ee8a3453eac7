//! CDRs the way a Call Bridge sends them: `<records session callBridge>` documents holding
//! several `<record type time recordIndex correlatorIndex>`, POSTed over keep-alive to each
//! receiver, the same batch again until a 200 arrives, and `numPreceedingRecordsMissing` on
//! the next record delivered once the buffer overflowed while a receiver was down.

use quick_xml::escape::escape;
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write;
use std::time::Duration;

#[derive(Debug, Clone)]
struct Pending {
    index: u64,
    kind: &'static str,
    time: String,
    correlator_index: u64,
    missing_before: u64,
    inner: String,
}

#[derive(Debug, Default)]
struct ReceiverQueue {
    next_index: u64,
    queue: VecDeque<Pending>,
    delivered: u64,
    attempts: u64,
    failures: u64,
    dropped: u64,
}

/// What the inspection endpoint shows per receiver.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReceiverStats {
    pub url: String,
    pub queued: usize,
    pub delivered: u64,
    pub attempts: u64,
    pub failures: u64,
    pub dropped: u64,
}

#[derive(Debug)]
pub struct Outbox {
    pub session: String,
    /// Sent as `callBridge` only when the node is part of a cluster.
    pub bridge: Option<String>,
    correlator_index: u64,
    capacity: usize,
    receivers: BTreeMap<String, ReceiverQueue>,
}

pub fn cdr_time() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", now.year(), u8::from(now.month()), now.day(), now.hour(), now.minute(), now.second())
}

impl Outbox {
    pub fn new(bridge: Option<String>, capacity: usize) -> Self {
        Self {
            session: uuid::Uuid::new_v4().to_string(),
            bridge,
            correlator_index: 0,
            capacity: capacity.max(1),
            receivers: BTreeMap::new(),
        }
    }

    /// The Call Bridge restarted: a new session, `recordIndex` from 1 again for every receiver,
    /// and what was still waiting in memory is lost (counted as dropped).
    pub fn restart(&mut self) -> String {
        self.session = uuid::Uuid::new_v4().to_string();
        self.correlator_index = 0;
        for q in self.receivers.values_mut() {
            q.dropped += q.queue.len() as u64;
            q.queue.clear();
            q.next_index = 1;
        }
        self.session.clone()
    }

    /// Keeps the receiver set in step with the node's configured `/system/cdrReceivers`.
    pub fn sync_receivers(&mut self, urls: &[String]) {
        self.receivers.retain(|u, _| urls.contains(u));
        for u in urls {
            self.receivers.entry(u.clone()).or_insert_with(|| ReceiverQueue { next_index: 1, ..Default::default() });
        }
    }

    /// Queues one record for every receiver.
    pub fn emit(&mut self, kind: &'static str, inner: String) {
        let correlator_index = self.correlator_index;
        self.correlator_index += 1;
        let time = cdr_time();
        for q in self.receivers.values_mut() {
            let p = Pending { index: q.next_index, kind, time: time.clone(), correlator_index, missing_before: 0, inner: inner.clone() };
            q.next_index += 1;
            q.queue.push_back(p);
            if q.queue.len() > self.capacity {
                // The buffer is full: the oldest record is lost, and the next one says so.
                if let Some(lost) = q.queue.pop_front() {
                    q.dropped += 1;
                    if let Some(front) = q.queue.front_mut() {
                        front.missing_before += lost.missing_before + 1;
                    }
                }
            }
        }
    }

    /// The next batch for a receiver: (last recordIndex in it, the POST body).
    pub fn batch(&mut self, url: &str, max: usize) -> Option<(u64, String)> {
        let q = self.receivers.get_mut(url)?;
        if q.queue.is_empty() {
            return None;
        }
        q.attempts += 1;
        let mut body = String::from("<?xml version=\"1.0\"?>\n");
        let _ = write!(body, "<records session=\"{}\"", self.session);
        if let Some(b) = &self.bridge {
            let _ = write!(body, " callBridge=\"{b}\"");
        }
        body.push('>');
        let mut last = 0;
        for p in q.queue.iter().take(max) {
            let _ = write!(
                body,
                "<record type=\"{}\" time=\"{}\" recordIndex=\"{}\" correlatorIndex=\"{}\"",
                p.kind, p.time, p.index, p.correlator_index
            );
            if p.missing_before > 0 {
                let _ = write!(body, " numPreceedingRecordsMissing=\"{}\"", p.missing_before);
            }
            body.push('>');
            body.push_str(&p.inner);
            body.push_str("</record>");
            last = p.index;
        }
        body.push_str("</records>");
        Some((last, body))
    }

    /// The receiver answered 200: the batch up to `last` of `session` is delivered. A batch sent
    /// before a restart acknowledges nothing of the new session.
    pub fn ack(&mut self, url: &str, session: &str, last: u64) {
        if session != self.session {
            return;
        }
        if let Some(q) = self.receivers.get_mut(url) {
            while q.queue.front().is_some_and(|p| p.index <= last) {
                q.queue.pop_front();
                q.delivered += 1;
            }
        }
    }

    pub fn nack(&mut self, url: &str) {
        if let Some(q) = self.receivers.get_mut(url) {
            q.failures += 1;
        }
    }

    pub fn urls(&self) -> Vec<String> {
        self.receivers.keys().cloned().collect()
    }

    pub fn pending(&self) -> usize {
        self.receivers.values().map(|q| q.queue.len()).sum()
    }

    pub fn stats(&self) -> Vec<ReceiverStats> {
        self.receivers
            .iter()
            .map(|(u, q)| ReceiverStats {
                url: u.clone(),
                queued: q.queue.len(),
                delivered: q.delivered,
                attempts: q.attempts,
                failures: q.failures,
                dropped: q.dropped,
            })
            .collect()
    }
}

/// Inner XML of each record kind, with the fields the CDR guide lists.
pub mod records {
    use super::*;
    use crate::sim::cms::db::{Call, Leg, LegKind};
    use crate::sim::cms::xml::leg_type;

    fn el(out: &mut String, name: &str, value: &str) {
        let _ = write!(out, "<{name}>{}</{name}>", escape(value));
    }

    pub fn call_start(c: &Call, owner: Option<&str>) -> String {
        let mut s = format!("<call id=\"{}\">", c.id);
        el(&mut s, "name", &c.name);
        if let Some(o) = owner {
            el(&mut s, "ownerName", o);
        }
        el(&mut s, "callType", if c.co_space.is_some() { "coSpace" } else { "adHoc" });
        if let Some(cs) = &c.co_space {
            el(&mut s, "coSpace", cs);
        }
        el(&mut s, "callCorrelator", &c.correlator);
        if let Some(t) = &c.tenant {
            el(&mut s, "tenant", t);
        }
        s.push_str("</call>");
        s
    }

    pub fn call_end(c: &Call) -> String {
        let mut s = format!("<call id=\"{}\">", c.id);
        el(&mut s, "callLegsCompleted", &c.legs_completed.to_string());
        el(&mut s, "callLegsMaxActive", &c.legs_max_active.to_string());
        el(&mut s, "durationSeconds", &c.started.elapsed().as_secs().to_string());
        s.push_str("</call>");
        s
    }

    /// callLegStart. `call_known` is false for legs that arrive through the IVR.
    pub fn leg_start(l: &Leg, call_known: bool) -> String {
        let (ty, sub) = leg_type(l);
        let mut s = format!("<callLeg id=\"{}\">", l.id);
        el(&mut s, "displayName", &l.name);
        el(&mut s, "localAddress", &l.local);
        el(&mut s, "remoteAddress", &l.remote);
        if l.guest {
            el(&mut s, "guestConnection", "true");
        }
        el(&mut s, "recording", "false");
        el(&mut s, "streaming", "false");
        el(&mut s, "type", ty);
        if let Some(sub) = sub {
            el(&mut s, "subType", sub);
        }
        el(&mut s, "direction", l.direction);
        if call_known {
            el(&mut s, "call", &l.call);
        }
        if let Some(id) = &l.sip_call_id {
            el(&mut s, "sipCallId", id);
        }
        el(&mut s, "canMove", if l.kind == LegKind::DistributionLink { "false" } else { "true" });
        s.push_str("</callLeg>");
        s
    }

    /// callLegUpdate: connected, in a call (or the IVR), with its lobby state.
    pub fn leg_update(l: &Leg, in_ivr: bool) -> String {
        let mut s = format!("<callLeg id=\"{}\">", l.id);
        el(&mut s, "state", "connected");
        if in_ivr {
            s.push_str("<ivr />");
        } else {
            el(&mut s, "call", &l.call);
            el(&mut s, "deactivated", if l.deactivated { "true" } else { "false" });
        }
        if let Some(id) = &l.sip_call_id {
            el(&mut s, "sipCallId", id);
            el(&mut s, "remoteAddress", &l.remote);
        }
        el(&mut s, "displayName", &l.name);
        s.push_str("</callLeg>");
        s
    }

    pub fn leg_end(l: &Leg, reason: &str, remote_teardown: bool, activated: Duration) -> String {
        let mut s = format!("<callLeg id=\"{}\">", l.id);
        el(&mut s, "reason", reason);
        el(&mut s, "remoteTeardown", if remote_teardown { "true" } else { "false" });
        el(&mut s, "durationSeconds", &l.started.elapsed().as_secs().to_string());
        el(&mut s, "activatedDuration", &activated.as_secs().to_string());
        el(&mut s, "encryptedMedia", "true");
        el(&mut s, "unencryptedMedia", "false");
        s.push_str("<mediaUsagePercentages><mainVideoViewer>100</mainVideoViewer><mainVideoContributor>80</mainVideoContributor>\
<presentationViewer>0</presentationViewer><presentationContributor>0</presentationContributor><multiStreamVideo>0</multiStreamVideo></mediaUsagePercentages>");
        s.push_str("<rxAudio><codec>opus</codec></rxAudio><txAudio><codec>opus</codec></txAudio>");
        s.push_str("</callLeg>");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_indexes_count_per_receiver_and_batches_resend_until_acknowledged() {
        let mut o = Outbox::new(Some("cb-1".into()), 100);
        o.sync_receivers(&["http://a/cdr".into()]);
        o.emit("callStart", "<call id=\"c\"/>".into());
        o.sync_receivers(&["http://a/cdr".into(), "http://b/cdr".into()]);
        o.emit("callEnd", "<call id=\"c\"/>".into());

        let (last_a, body_a) = o.batch("http://a/cdr", 10).unwrap();
        assert_eq!(last_a, 2);
        assert!(body_a.contains("callBridge=\"cb-1\""));
        assert!(body_a.contains("recordIndex=\"1\" correlatorIndex=\"0\""));
        let (last_b, body_b) = o.batch("http://b/cdr", 10).unwrap();
        assert_eq!(last_b, 1, "b only saw the record after it was added");
        assert!(body_b.contains("type=\"callEnd\" ") && body_b.contains("recordIndex=\"1\" correlatorIndex=\"1\""));

        // No 200: the same batch comes again.
        o.nack("http://a/cdr");
        assert_eq!(o.batch("http://a/cdr", 10).unwrap().1, body_a);
        o.ack("http://a/cdr", &o.session.clone(), last_a);
        assert!(o.batch("http://a/cdr", 10).is_none());
    }

    #[test]
    fn a_restart_starts_a_new_session_counting_from_one_and_loses_what_waited() {
        let mut o = Outbox::new(None, 100);
        o.sync_receivers(&["http://a/cdr".into()]);
        o.emit("callStart", "<call id=\"c\"/>".into());
        o.emit("callEnd", "<call id=\"c\"/>".into());
        let (_, before) = o.batch("http://a/cdr", 1).unwrap();
        let old = o.session.clone();
        o.ack("http://a/cdr", &old, 1);
        let new = o.restart();
        assert_ne!(new, old);
        assert!(o.batch("http://a/cdr", 10).is_none(), "the unsent callEnd went with the restart");
        o.emit("callStart", "<call id=\"d\"/>".into());
        let (last, after) = o.batch("http://a/cdr", 10).unwrap();
        assert_eq!(last, 1);
        o.ack("http://a/cdr", &old, 1);
        assert!(o.batch("http://a/cdr", 10).is_some(), "a 200 to a batch sent before the restart acknowledges nothing after it");
        assert!(before.contains(&format!("session=\"{old}\"")) && after.contains(&format!("session=\"{new}\"")), "{after}");
        assert!(after.contains("recordIndex=\"1\" correlatorIndex=\"0\""), "{after}");
        assert_eq!(o.stats()[0].dropped, 1);
    }

    #[test]
    fn overflow_drops_the_oldest_and_marks_the_next_record_with_the_count() {
        let mut o = Outbox::new(None, 3);
        o.sync_receivers(&["http://a/cdr".into()]);
        for _ in 0..5 {
            o.emit("callLegUpdate", "<callLeg id=\"l\"/>".into());
        }
        let (_, body) = o.batch("http://a/cdr", 10).unwrap();
        assert!(!body.contains("callBridge"), "single node: no callBridge attribute");
        assert!(body.contains("recordIndex=\"3\" correlatorIndex=\"2\" numPreceedingRecordsMissing=\"2\""), "{body}");
        assert_eq!(body.matches("<record ").count(), 3);
    }
}
