//! Calls and legs as they happen: a call starts, spreads to other nodes, people join (some into
//! the lobby), are admitted, leave, and the call ends — each change emitting its CDR in order.

use super::cluster::{Cluster, SimError};
use super::db::{self, Call, Leg, LegKind, NodeDb, Participant};
use super::node::Node;
use super::{cdr, lock};
use std::time::{Duration, Instant};

/// What joins a call.
#[derive(Debug, Clone)]
pub struct Joiner {
    pub name: String,
    pub remote: String,
    pub kind: LegKind,
    /// A web-app guest login (`guestConnection`).
    pub guest: bool,
    /// Host-type participant: needsActivation=false.
    pub activator: bool,
    /// Arrives through the IVR first (callLegUpdate with `<ivr/>` before the call is known).
    pub via_ivr: bool,
}

impl Joiner {
    pub fn sip(name: &str, remote: &str, activator: bool) -> Self {
        Self { name: name.into(), remote: remote.into(), kind: LegKind::Sip, guest: false, activator, via_ivr: false }
    }
    pub fn web_guest(name: &str) -> Self {
        Self {
            name: name.into(),
            remote: format!("guest{}@webapp", rand::random::<u16>()),
            kind: LegKind::WebApp,
            guest: true,
            activator: false,
            via_ivr: false,
        }
    }
    pub fn web_user(name: &str, jid: &str, activator: bool) -> Self {
        Self { name: name.into(), remote: jid.into(), kind: LegKind::WebApp, guest: false, activator, via_ivr: false }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    pub leg: String,
    pub participant: String,
    pub deactivated: bool,
}

impl Cluster {
    /// A call starts on a node (in a space, or ad hoc when `co_space` is None).
    pub fn start_call(&self, node: usize, co_space: Option<&str>, name: Option<&str>) -> Result<String, SimError> {
        let n = self.node(node)?;
        let (space_name, owner) = match co_space {
            Some(id) => {
                let shared = lock(&self.shared);
                let s = shared.co_spaces.get(id).ok_or(SimError::NotFound("coSpace"))?;
                (Some(s.name.clone()), s.owner_jid.clone())
            }
            None => (None, None),
        };
        let call = Call {
            id: db::new_id(),
            name: name.map(str::to_string).or(space_name).unwrap_or_else(|| "Ad hoc call".into()),
            co_space: co_space.map(str::to_string),
            correlator: db::new_id(),
            tenant: None,
            started: Instant::now(),
            locked: false,
            message_text: String::new(),
            message_position: "bottom".into(),
            message_duration: "0".into(),
            legs_completed: 0,
            legs_max_active: 0,
        };
        let id = call.id.clone();
        let mut db = lock(&n.db);
        Self::emit(n, &db, "callStart", cdr::records::call_start(&call, owner.as_deref()));
        db.calls.insert(id.clone(), call);
        Ok(id)
    }

    /// Spreads a call to another Call Bridge: a second call instance with the same
    /// callCorrelator and coSpace, and a distributionLink leg on each side.
    pub fn distribute(&self, from: usize, call_id: &str, to: usize) -> Result<String, SimError> {
        if from == to {
            return Err(SimError::Invalid("a call cannot be distributed to its own node".into()));
        }
        let (a, b) = (self.node(from)?, self.node(to)?);
        let mut inst = lock(&a.db).calls.get(call_id).cloned().ok_or(SimError::NotFound("call"))?;
        inst.id = db::new_id();
        inst.started = Instant::now();
        inst.legs_completed = 0;
        inst.legs_max_active = 0;
        let remote_id = inst.id.clone();
        {
            let mut db = lock(&b.db);
            Self::emit(b, &db, "callStart", cdr::records::call_start(&inst, None));
            db.calls.insert(remote_id.clone(), inst);
        }
        for (node, call, peer) in [(a, call_id.to_string(), b), (b, remote_id.clone(), a)] {
            let j = Joiner {
                name: format!("distribution link to {}", peer.name),
                remote: format!("{}@{}.cluster.local", call, peer.name),
                kind: LegKind::DistributionLink,
                guest: false,
                activator: false,
                via_ivr: false,
            };
            self.join_on(node, &call, j)?;
        }
        Ok(remote_id)
    }

    pub fn join(&self, node: usize, call_id: &str, j: Joiner) -> Result<Joined, SimError> {
        let n = self.node(node)?;
        self.join_on(n, call_id, j)
    }

    fn join_on(&self, n: &Node, call_id: &str, j: Joiner) -> Result<Joined, SimError> {
        let mut db = lock(&n.db);
        let call = db.calls.get(call_id).ok_or(SimError::NotFound("call"))?.clone();
        let link = j.kind == LegKind::DistributionLink;
        // Non-activators wait in the lobby while no activator is in, or while the call is locked.
        let deactivated = !link && !j.activator && (call.locked || !db.has_activator(call_id));
        let leg = Leg {
            id: db::new_id(),
            call: call_id.to_string(),
            participant: db::new_id(),
            name: j.name.clone(),
            remote: j.remote.clone(),
            local: call
                .co_space
                .as_ref()
                .map(|_| format!("{}@meet.example.com", call.name.to_lowercase().replace(' ', ".")))
                .unwrap_or_default(),
            kind: j.kind,
            guest: j.guest,
            direction: "incoming",
            activator: j.activator,
            deactivated,
            started: Instant::now(),
            sip_call_id: (j.kind == LegKind::Sip).then(|| format!("{}@sip.example.com", db::new_id())),
        };
        let joined = Joined { leg: leg.id.clone(), participant: leg.participant.clone(), deactivated };
        if j.via_ivr {
            Self::emit(n, &db, "callLegStart", cdr::records::leg_start(&leg, false));
            Self::emit(n, &db, "callLegUpdate", cdr::records::leg_update(&leg, true));
        } else {
            Self::emit(n, &db, "callLegStart", cdr::records::leg_start(&leg, true));
        }
        Self::emit(n, &db, "callLegUpdate", cdr::records::leg_update(&leg, false));
        if !link {
            db.participants.insert(
                leg.participant.clone(),
                Participant { id: leg.participant.clone(), name: leg.name.clone(), call: call_id.to_string(), leg: leg.id.clone() },
            );
        }
        db.legs.insert(leg.id.clone(), leg);
        let active = db.legs_of(call_id).count() as u32;
        if let Some(c) = db.calls.get_mut(call_id) {
            c.legs_max_active = c.legs_max_active.max(active);
        }
        // The first activator releases the lobby of an unlocked call.
        if j.activator && !call.locked {
            let waiting: Vec<String> = db.legs_of(call_id).filter(|l| l.deactivated).map(|l| l.id.clone()).collect();
            for id in waiting {
                Self::activate(n, &mut db, &id);
            }
        }
        Ok(joined)
    }

    fn activate(n: &Node, db: &mut NodeDb, leg_id: &str) {
        if let Some(l) = db.legs.get_mut(leg_id) {
            l.deactivated = false;
            let l = l.clone();
            Self::emit(n, db, "callLegUpdate", cdr::records::leg_update(&l, false));
        }
    }

    /// `PUT /participants/<id>` with `deactivated=false`, as the API does it.
    pub fn admit(&self, node: usize, participant: &str) -> Result<(), SimError> {
        let n = self.node(node)?;
        let mut db = lock(&n.db);
        let p = db.participants.get(participant).cloned().ok_or(SimError::NotFound("participant"))?;
        let leg = db.legs.get(&p.leg).cloned().ok_or(SimError::NotFound("participant"))?;
        if !leg.deactivated {
            return Ok(());
        }
        if !db.has_activator(&p.call) {
            return Err(SimError::NoActivator);
        }
        Self::activate(n, &mut db, &leg.id);
        Ok(())
    }

    pub fn set_locked(&self, node: usize, call_id: &str, locked: bool) -> Result<(), SimError> {
        let n = self.node(node)?;
        let mut db = lock(&n.db);
        db.calls.get_mut(call_id).ok_or(SimError::NotFound("call"))?.locked = locked;
        Ok(())
    }

    pub fn leave(&self, node: usize, leg_id: &str) -> Result<(), SimError> {
        let n = self.node(node)?;
        let mut db = lock(&n.db);
        Self::remove_leg(n, &mut db, leg_id, "remoteTeardown", true)
    }

    fn remove_leg(n: &Node, db: &mut NodeDb, leg_id: &str, reason: &str, remote: bool) -> Result<(), SimError> {
        let leg = db.legs.remove(leg_id).ok_or(SimError::NotFound("callLeg"))?;
        db.participants.remove(&leg.participant);
        let activated = if leg.deactivated { Duration::ZERO } else { leg.started.elapsed() };
        Self::emit(n, db, "callLegEnd", cdr::records::leg_end(&leg, reason, remote, activated));
        if let Some(c) = db.calls.get_mut(&leg.call) {
            c.legs_completed += 1;
        }
        Ok(())
    }

    /// The call ends: every leg is torn down, then callEnd.
    pub fn end_call(&self, node: usize, call_id: &str) -> Result<(), SimError> {
        let n = self.node(node)?;
        let mut db = lock(&n.db);
        if !db.calls.contains_key(call_id) {
            return Err(SimError::NotFound("call"));
        }
        let legs: Vec<String> = db.legs_of(call_id).map(|l| l.id.clone()).collect();
        for l in legs {
            Self::remove_leg(n, &mut db, &l, "callEnded", false)?;
        }
        if let Some(c) = db.calls.remove(call_id) {
            Self::emit(n, &db, "callEnd", cdr::records::call_end(&c));
        }
        Ok(())
    }
}
