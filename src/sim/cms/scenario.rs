//! Traffic for the simulated cluster: the demo's living meetings (a restricted one, lobbies
//! with guests, a call spread over two bridges) and bulk populations for benchmarks.

use super::db::LegKind;
use super::{Cluster, Joiner};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScenarioKind {
    /// A few meetings that stay alive, with people coming and going every few seconds.
    Demo,
    /// Nothing moves; tests drive the cluster themselves.
    Quiet,
}

pub struct Scenario {
    pub calls: Vec<(usize, String)>,
    /// Calls where the scenario itself never brings in outsiders (so a person can, and see
    /// the banner appear).
    pub internal_only: Vec<String>,
}

const GUESTS: &[&str] = &["Guest Ann", "Visitor Vic", "Guest Gina", "Pat (guest)", "Sam Contractor", "Lee Auditor", "Kim Press"];
const ROOMS: &[(&str, &str)] = &[
    ("Room Oslo", "oslo@rooms.example.com"),
    ("Room Lima", "lima@rooms.example.com"),
    ("Jabber Jo", "jo@example.com"),
    ("Partner Pete", "pete@partner.example"),
    ("Supplier Sue", "sue@supplier.example"),
];

impl Scenario {
    /// Sets up the demo meetings. Node 1 is used for distribution when the cluster has two nodes.
    pub fn demo_setup(c: &Cluster) -> Scenario {
        let alice = "alice.admin@example.com";
        let bob = "bob.builder@example.com";
        c.add_user(alice, "Alice Admin", alice);
        c.add_user(bob, "Bob Builder", bob);
        c.add_user("carol.cook@example.com", "Carol Cook", "carol.cook@example.com");
        let board = c.add_co_space("Restricted Board Meeting", "board", "100100", Some(alice), Some("4321"));
        let standup = c.add_co_space("Team Standup", "standup", "100200", Some(bob), None);
        let allhands = c.add_co_space("All Hands", "allhands", "100300", Some(alice), None);
        c.add_co_space("Alice Admin's space", "alice.admin", "200001", Some(alice), None);
        c.add_co_space("Bob Builder's space", "bob.builder", "200002", Some(bob), None);

        let mut calls = Vec::new();
        let mut internal_only = Vec::new();
        // A locked, restricted meeting: the host is in, guests wait for an operator.
        if let Ok(id) = c.start_call(0, Some(&board), None) {
            let _ = c.set_locked(0, &id, true);
            let _ = c.join(0, &id, Joiner::web_user("Alice Admin", alice, true));
            let _ = c.join(0, &id, Joiner::sip("Room Oslo", "oslo@rooms.example.com", false));
            let _ = c.join(0, &id, Joiner::web_guest("Guest Ann"));
            calls.push((0, id));
        }
        // No host yet: everyone waits in the lobby.
        let standup_node = if c.nodes.len() > 1 { 1 } else { 0 };
        if let Ok(id) = c.start_call(standup_node, Some(&standup), None) {
            let _ = c.join(standup_node, &id, Joiner::web_guest("Visitor Vic"));
            let _ = c.join(standup_node, &id, Joiner::sip("Partner Pete", "pete@partner.example", false));
            calls.push((standup_node, id));
        }
        // A meeting on both bridges, internal people only: no banner until a guest joins.
        if let Ok(id) = c.start_call(0, Some(&allhands), None) {
            let _ = c.join(0, &id, Joiner::sip("Bob Builder", bob, true));
            let _ = c.join(0, &id, Joiner::sip("Room Lima", "lima@rooms.example.com", true));
            calls.push((0, id.clone()));
            internal_only.push(id.clone());
            if c.nodes.len() > 1 {
                if let Ok(remote) = c.distribute(0, &id, 1) {
                    let _ = c.join(1, &remote, Joiner::sip("Jabber Jo", "jo@example.com", true));
                    internal_only.push(remote.clone());
                    calls.push((1, remote));
                }
            }
        }
        Scenario { calls, internal_only }
    }

    /// Keeps the demo alive: every few seconds someone joins, waits, or leaves.
    pub fn run_demo(c: Arc<Cluster>, scenario: Scenario, seed: u64) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(seed);
            loop {
                tokio::time::sleep(Duration::from_millis(rng.gen_range(2500..6000))).await;
                let (node, call) = &scenario.calls[rng.gen_range(0..scenario.calls.len())];
                let legs = c.legs(*node, call);
                let people: Vec<_> = legs.iter().filter(|l| l.kind != LegKind::DistributionLink).collect();
                let waiting = people.iter().filter(|l| l.deactivated).count();
                let internal = scenario.internal_only.contains(call);
                match rng.gen_range(0..10) {
                    // Keep at least one guest in a lobby, at most four.
                    0..=3 if !internal && waiting < 4 && people.len() < 9 => {
                        let name = GUESTS[rng.gen_range(0..GUESTS.len())];
                        let _ = c.join(*node, call, Joiner::web_guest(name));
                    }
                    4..=5 if people.len() < 9 => {
                        let rooms: Vec<_> = ROOMS.iter().filter(|(_, uri)| !internal || uri.ends_with("example.com")).collect();
                        let (name, uri) = rooms[rng.gen_range(0..rooms.len())];
                        let mut j = Joiner::sip(name, uri, false);
                        j.via_ivr = rng.gen_bool(0.3);
                        let _ = c.join(*node, call, j);
                    }
                    6..=8 => {
                        // Someone who is neither host nor the last waiting guest leaves; people
                        // a person brought in through the demo controls stay.
                        let leavers: Vec<_> = people
                            .iter()
                            .filter(|l| !l.activator && (!l.deactivated || waiting > 1) && !l.name.starts_with("Demo Guest"))
                            .collect();
                        if !leavers.is_empty() {
                            let l = leavers[rng.gen_range(0..leavers.len())];
                            let _ = c.leave(*node, &l.id);
                        }
                    }
                    _ => {
                        // A short ad-hoc call comes and goes.
                        if let Ok(id) = c.start_call(0, None, Some("Quick sync")) {
                            let _ = c.join(0, &id, Joiner::sip("Carol Cook", "carol.cook@example.com", true));
                            let c2 = c.clone();
                            tokio::spawn(async move {
                                tokio::time::sleep(Duration::from_secs(8)).await;
                                let _ = c2.end_call(0, &id);
                            });
                        }
                    }
                }
            }
        })
    }

    /// `calls` calls with `legs` people each on one node, half of them waiting in the lobby
    /// (locked calls with a host), for benchmarks.
    pub fn populate(c: &Cluster, node: usize, calls: usize, legs: usize) -> Vec<String> {
        let mut ids = Vec::with_capacity(calls);
        for i in 0..calls {
            let space = c.add_co_space(&format!("Bench space {i}"), &format!("bench{i}"), &format!("9{i:05}"), None, None);
            let Ok(id) = c.start_call(node, Some(&space), None) else { continue };
            let _ = c.set_locked(node, &id, true);
            let _ = c.join(node, &id, Joiner::sip(&format!("Host {i}"), &format!("host{i}@example.com"), true));
            for k in 1..legs {
                let j = if k % 2 == 0 {
                    Joiner::web_guest(&format!("Guest {i}.{k}"))
                } else {
                    Joiner::sip(&format!("Room {i}.{k}"), &format!("room{i}.{k}@example.com"), false)
                };
                let _ = c.join(node, &id, j);
            }
            ids.push(id);
        }
        ids
    }
}
