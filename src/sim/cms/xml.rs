//! Writes the CMS API's XML shapes. Deliberately independent of the client's parser, so the
//! two only agree where both follow the reference.

use super::db::{Call, CoSpace, Leg, LegKind, NodeDb, Participant, Profile, User};
use quick_xml::escape::escape;
use std::fmt::Write;

pub const DECL: &str = "<?xml version=\"1.0\"?>\n";

fn el(out: &mut String, name: &str, value: &str) {
    let _ = write!(out, "<{name}>{}</{name}>", escape(value));
}

fn opt(out: &mut String, name: &str, value: &Option<String>) {
    if let Some(v) = value {
        el(out, name, v);
    }
}

/// `<things total="N">items</things>`.
pub fn collection(name: &str, total: usize, items: &[String]) -> String {
    let mut out = String::from(DECL);
    let _ = write!(out, "<{name} total=\"{total}\">");
    for i in items {
        out.push_str(i);
    }
    let _ = write!(out, "</{name}>");
    out
}

pub fn object(body: String) -> String {
    format!("{DECL}{body}")
}

pub fn failure(reason: &str) -> String {
    format!("{DECL}<failureDetails><{reason} /></failureDetails>")
}

pub fn parameter_error(parameter: &str, error: &str) -> String {
    format!("{DECL}<failureDetails><parameterError parameter=\"{}\" error=\"{}\" /></failureDetails>", escape(parameter), escape(error))
}

pub fn call_summary(c: &Call) -> String {
    let mut s = format!("<call id=\"{}\">", c.id);
    el(&mut s, "name", &c.name);
    opt(&mut s, "coSpace", &c.co_space);
    el(&mut s, "callCorrelator", &c.correlator);
    opt(&mut s, "tenant", &c.tenant);
    s.push_str("</call>");
    s
}

pub fn call_detail(c: &Call, db: &NodeDb, distributed: usize) -> String {
    let legs: Vec<&Leg> = db.legs_of(&c.id).collect();
    let local = legs.iter().filter(|l| l.kind != LegKind::DistributionLink).count();
    let mut s = format!("<call id=\"{}\">", c.id);
    el(&mut s, "name", &c.name);
    opt(&mut s, "coSpace", &c.co_space);
    el(&mut s, "callCorrelator", &c.correlator);
    opt(&mut s, "tenant", &c.tenant);
    el(&mut s, "durationSeconds", &c.started.elapsed().as_secs().to_string());
    el(&mut s, "numCallLegs", &legs.len().to_string());
    el(&mut s, "maxCallLegs", &c.legs_max_active.to_string());
    el(&mut s, "numParticipantsLocal", &local.to_string());
    el(&mut s, "numParticipantsRemote", "0");
    el(&mut s, "numDistributedInstances", &distributed.to_string());
    el(&mut s, "locked", if c.locked { "true" } else { "false" });
    el(&mut s, "recording", "false");
    el(&mut s, "streaming", "false");
    el(&mut s, "allowAllMuteSelf", "false");
    el(&mut s, "allowAllPresentationContribution", "true");
    if !c.message_text.is_empty() {
        el(&mut s, "messageText", &c.message_text);
        el(&mut s, "messagePosition", &c.message_position);
        el(&mut s, "messageDuration", &c.message_duration);
    }
    s.push_str("</call>");
    s
}

pub fn leg_summary(l: &Leg) -> String {
    let mut s = format!("<callLeg id=\"{}\">", l.id);
    el(&mut s, "name", &l.name);
    el(&mut s, "remoteParty", &l.remote);
    el(&mut s, "call", &l.call);
    s.push_str("</callLeg>");
    s
}

pub fn leg_type(l: &Leg) -> (&'static str, Option<&'static str>) {
    match l.kind {
        LegKind::Sip => ("sip", None),
        // [I] CMS 3.x web app legs: the reference confirms subType webApp, not the type.
        LegKind::WebApp => ("acano", Some("webApp")),
        LegKind::DistributionLink => ("sip", Some("distributionLink")),
    }
}

pub fn leg_detail(l: &Leg) -> String {
    let (ty, sub) = leg_type(l);
    let mut s = format!("<callLeg id=\"{}\">", l.id);
    el(&mut s, "name", &l.name);
    el(&mut s, "remoteParty", &l.remote);
    el(&mut s, "localAddress", &l.local);
    el(&mut s, "call", &l.call);
    el(&mut s, "type", ty);
    if let Some(sub) = sub {
        el(&mut s, "subType", sub);
    }
    el(&mut s, "direction", l.direction);
    s.push_str("<configuration><needsActivation>");
    s.push_str(if l.activator { "false" } else { "true" });
    s.push_str("</needsActivation></configuration><status>");
    el(&mut s, "state", "connected");
    el(&mut s, "durationSeconds", &l.started.elapsed().as_secs().to_string());
    // Only present while waiting in the lobby: absent means "in the meeting".
    if l.deactivated {
        el(&mut s, "deactivated", "true");
    }
    el(&mut s, "encryptedMedia", "true");
    s.push_str("</status></callLeg>");
    s
}

pub fn participant(p: &Participant, bridge: &str) -> String {
    let mut s = format!("<participant id=\"{}\">", p.id);
    el(&mut s, "name", &p.name);
    el(&mut s, "call", &p.call);
    el(&mut s, "callBridge", bridge);
    s.push_str("</participant>");
    s
}

pub fn co_space(c: &CoSpace, detail: bool) -> String {
    let mut s = format!("<coSpace id=\"{}\">", c.id);
    el(&mut s, "name", &c.name);
    el(&mut s, "uri", &c.uri);
    opt(&mut s, "secondaryUri", &c.secondary_uri);
    el(&mut s, "callId", &c.call_id);
    opt(&mut s, "tenant", &c.tenant);
    if detail {
        opt(&mut s, "passcode", &c.passcode);
        el(&mut s, "secret", &c.secret);
        opt(&mut s, "ownerJid", &c.owner_jid);
    }
    s.push_str("</coSpace>");
    s
}

pub fn user(u: &User, detail: bool) -> String {
    let mut s = format!("<user id=\"{}\">", u.id);
    el(&mut s, "userJid", &u.user_jid);
    opt(&mut s, "tenant", &u.tenant);
    if detail {
        el(&mut s, "name", &u.name);
        el(&mut s, "email", &u.email);
    }
    s.push_str("</user>");
    s
}

pub fn profile(tag: &str, p: &Profile) -> String {
    let mut s = format!("<{tag} id=\"{}\">", p.id);
    for (k, v) in &p.fields {
        el(&mut s, k, v);
    }
    let _ = write!(s, "</{tag}>");
    s
}

pub fn cdr_receiver(id: &str, url: &str) -> String {
    let mut s = format!("<cdrReceiver id=\"{id}\">");
    el(&mut s, "uri", url);
    s.push_str("</cdrReceiver>");
    s
}
