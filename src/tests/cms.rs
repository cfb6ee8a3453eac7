//! The CMS client against the CMS simulator over real HTTP, and the simulator's fidelity to the
//! reference (XML shapes, paging, auth, CDR delivery).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchboard::cms::{CmsCluster, CmsError, CmsNode, NodeConfig, NodeState};
use switchboard::sim::cms::{Joiner, Scenario, SimCms, SimConfig};

const USER: &str = "api";
const PASS: &str = "api-secret";

async fn sim(nodes: usize) -> SimCms {
    let cfg = SimConfig { nodes, username: USER.into(), password: PASS.into(), ..SimConfig::default() };
    SimCms::start("127.0.0.1:0".parse().unwrap(), cfg).await.unwrap()
}

fn node_cfg(sim: &SimCms, i: usize) -> NodeConfig {
    let mut c = NodeConfig::new(&format!("cb{}", i + 1), &sim.url(i), USER, PASS);
    c.timeout = Duration::from_secs(2);
    c
}

fn node(sim: &SimCms, i: usize) -> CmsNode {
    CmsNode::new(node_cfg(sim, i)).unwrap()
}

#[tokio::test]
async fn paging_follows_offsets_until_total_even_when_pages_are_shorter_than_asked() {
    let sim = sim(1).await;
    Scenario::populate(&sim.cluster, 0, 37, 1);
    let n = node(&sim, 0);
    let calls = n.calls().await.unwrap();
    assert_eq!(calls.len(), 37);
    let mut ids: Vec<_> = calls.iter().map(|c| c.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 37, "no call twice");

    let gets: Vec<String> = sim.node(0).requests().into_iter().filter(|r| r.path == "/api/v1/calls").map(|r| r.query).collect();
    assert!(gets.iter().all(|q| q.contains("limit=20")), "asks for 20: {gets:?}");
    for off in ["offset=0", "offset=10", "offset=20", "offset=30"] {
        assert!(gets.iter().any(|q| q.contains(off)), "{off} in {gets:?}");
    }

    let seq = n.list_all_sequential::<switchboard::cms::model::CallSummary>("/calls", &[]).await.unwrap();
    assert_eq!(seq.len(), 37);
}

#[tokio::test]
async fn wrong_credentials_are_reported_as_unauthorized_and_not_retried() {
    let sim = sim(1).await;
    let mut cfg = node_cfg(&sim, 0);
    cfg.password = "wrong".into();
    let n = CmsNode::new(cfg).unwrap();
    let err = n.calls().await.unwrap_err();
    assert_eq!(err, CmsError::Unauthorized { node: "cb1".into() });
    assert_eq!(sim.node(0).requests().iter().filter(|r| r.status == 401).count(), 1);
    assert!(!format!("{:?}", node_cfg(&sim, 0)).contains(PASS), "password never in Debug output");
}

#[tokio::test]
async fn transient_5xx_and_dropped_connections_are_retried_for_gets_but_posts_are_not() {
    let sim = sim(1).await;
    let n = node(&sim, 0);
    sim.node(0).faults.fail_next(2);
    assert!(n.calls().await.is_ok(), "two 503s then success");
    let statuses: Vec<u16> = sim.node(0).requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![503, 503, 200]);

    sim.node(0).faults.drop_next(1);
    assert!(n.co_spaces(None).await.is_ok(), "dropped connection, then success");

    sim.node(0).clear_requests();
    sim.node(0).faults.fail_next(1);
    let err = n.post_form("/coSpaces", &[("name", "X".into()), ("uri", "x".into())]).await.unwrap_err();
    assert!(matches!(err, CmsError::Refused { status: 503, .. }), "{err:?}");
    assert_eq!(sim.node(0).requests().iter().filter(|r| r.method == "POST").count(), 1, "a POST is never repeated");
}

#[tokio::test]
async fn a_slow_node_times_out_with_a_clear_error() {
    let sim = sim(1).await;
    let mut cfg = node_cfg(&sim, 0);
    cfg.timeout = Duration::from_millis(200);
    cfg.retries = 1;
    let n = CmsNode::new(cfg).unwrap();
    sim.node(0).faults.set_latency(Duration::from_millis(1500));
    let err = n.check_health().await.unwrap_err();
    assert!(matches!(err, CmsError::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains("did not answer within 0.2 s"), "{err}");
    assert_eq!(n.health().state, NodeState::Down);
}

#[tokio::test]
async fn a_malformed_answer_is_a_typed_error() {
    let app = axum::Router::new().route(
        "/api/v1/calls",
        axum::routing::get(|| async { ([("content-type", "text/xml")], "<calls total=\"2\"><call id=\"a\"><name>x</na") }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let n = CmsNode::new(NodeConfig::new("odd", &format!("http://{addr}"), USER, PASS)).unwrap();
    let err = n.calls().await.unwrap_err();
    assert!(matches!(&err, CmsError::Malformed { what, .. } if what == "/calls"), "{err:?}");
}

#[tokio::test]
async fn cluster_fails_over_for_shared_data_and_finds_the_node_hosting_a_call() {
    let sim = sim(2).await;
    sim.cluster.add_co_space("Sales", "sales", "1001", None, None);
    let call_on_2 = sim.cluster.start_call(1, None, Some("On node two")).unwrap();
    let cluster = CmsCluster::new(vec![node_cfg(&sim, 0), node_cfg(&sim, 1)]).unwrap();

    sim.node(0).faults.set_down(true);
    cluster.check_health().await;
    assert_eq!(cluster.nodes()[0].health().state, NodeState::Down);
    assert_eq!(cluster.nodes()[1].health().state, NodeState::Up);

    let shared = cluster.node_for_shared_data().unwrap();
    assert_eq!(shared.name(), "cb2", "the first node not known to be down");
    let spaces = shared.co_spaces(Some("sal")).await.unwrap();
    assert_eq!(spaces.len(), 1, "served by the healthy node");

    let (home, detail) = cluster.node_for_call(&call_on_2).await.unwrap();
    assert_eq!(home.name(), "cb2");
    assert_eq!(detail.name, "On node two");

    let per_node = cluster.calls().await;
    assert!(per_node[0].result.is_err() && per_node[1].result.as_ref().unwrap().len() == 1);

    let err = cluster.node_for_call("00000000-0000-0000-0000-000000000000").await.unwrap_err();
    assert!(matches!(err, CmsError::NotFound { .. } | CmsError::Refused { .. }), "{err:?}");
}

#[tokio::test]
async fn banners_are_stored_on_the_call_and_bad_parameters_are_refused_with_cms_reason() {
    let sim = sim(1).await;
    let call = sim.cluster.start_call(0, None, Some("Board")).unwrap();
    let cluster = CmsCluster::new(vec![node_cfg(&sim, 0)]).unwrap();
    let node = cluster.set_call_message(&call, "External Participant(s) in Meeting", "bottom", "permanent").await.unwrap();
    assert_eq!(node, "cb1");
    let d = cluster.nodes()[0].call(&call).await.unwrap();
    assert_eq!(d.message_text.as_deref(), Some("External Participant(s) in Meeting"));
    assert_eq!(d.message_duration.as_deref(), Some("permanent"));
    let put = sim.node(0).requests().into_iter().find(|r| r.method == "PUT").unwrap();
    assert_eq!(put.body, "messageText=External+Participant%28s%29+in+Meeting&messagePosition=bottom&messageDuration=permanent");

    let err = cluster.nodes()[0].set_call_message(&call, "x", "sideways", "10").await.unwrap_err();
    assert!(matches!(&err, CmsError::Refused { status: 400, detail, .. } if detail == "parameterError"), "{err:?}");
    let err = cluster.nodes()[0].call("nope").await.unwrap_err();
    assert!(matches!(err, CmsError::NotFound { .. }));
}

#[tokio::test]
async fn lobby_participants_are_admitted_only_while_an_activator_is_in_the_call() {
    let sim = sim(1).await;
    let call = sim.cluster.start_call(0, None, Some("Standup")).unwrap();
    let guest = sim.cluster.join(0, &call, Joiner::web_guest("Guest Ann")).unwrap();
    assert!(guest.deactivated);
    let n = node(&sim, 0);

    let legs = n.call_legs_detailed(&call).await.unwrap();
    assert!(legs[0].status.deactivated, "waiting in the lobby");
    let err = n.admit_participant(&guest.participant).await.unwrap_err();
    assert!(matches!(&err, CmsError::Refused { status: 400, detail, .. } if detail == "participantActivationNotPossible"), "{err:?}");

    sim.cluster.set_locked(0, &call, true).unwrap();
    sim.cluster.join(0, &call, Joiner::sip("Host", "host@example.com", true)).unwrap();
    assert!(n.call_leg(&guest.leg).await.unwrap().status.deactivated, "locked: still waiting");
    n.admit_participant(&guest.participant).await.unwrap();
    assert!(!n.call_leg(&guest.leg).await.unwrap().status.deactivated, "admitted");
    let ps = n.participants_of(&call).await.unwrap();
    assert_eq!(ps.len(), 2);
    let by_leg = n.participant_by_leg(&call).await.unwrap();
    assert_eq!(by_leg.get(&guest.leg), Some(&guest.participant), "legs map to participants by id");
}

#[tokio::test]
async fn registering_the_cdr_receiver_on_every_node_does_not_duplicate_it() {
    let sim = sim(2).await;
    let cluster = CmsCluster::new(vec![node_cfg(&sim, 0), node_cfg(&sim, 1)]).unwrap();
    let url = "http://127.0.0.1:9/cdr";
    let first = cluster.ensure_cdr_receiver(url).await;
    assert!(first.iter().all(|r| r.result == Ok(true)), "{first:?}");
    let again = cluster.ensure_cdr_receiver(url).await;
    assert!(again.iter().all(|r| r.result == Ok(false)), "{again:?}");
    for i in 0..2 {
        assert_eq!(sim.node(i).cdr_receivers(), vec![url.to_string()]);
    }
}

#[tokio::test]
async fn simulator_speaks_the_reference_shapes() {
    let sim = sim(1).await;
    let call = sim.cluster.start_call(0, None, Some("Board")).unwrap();
    sim.cluster.join(0, &call, Joiner::web_guest("Ann & Co")).unwrap();
    let http = reqwest::Client::new();
    let get = |p: &str| http.get(format!("{}{}", sim.url(0), p)).basic_auth(USER, Some(PASS)).send();

    let res = get("/api/v1/calls").await.unwrap();
    assert_eq!(res.headers()["content-type"], "text/xml");
    let body = res.text().await.unwrap();
    assert!(body.contains(&format!("<calls total=\"1\"><call id=\"{call}\"><name>Board</name>")), "{body}");

    // Paths ignore case, as the old scripts relied on.
    let a = get(&format!("/api/v1/calls/{call}/calllegs")).await.unwrap();
    let b = get(&format!("/api/v1/Calls/{call}/callLegs")).await.unwrap();
    assert_eq!((a.status(), b.status()), (reqwest::StatusCode::OK, reqwest::StatusCode::OK));
    let legs = a.text().await.unwrap();
    assert!(legs.contains("<name>Ann &amp; Co</name>"), "XML escaped: {legs}");

    let res = http.get(format!("{}/api/v1/calls", sim.url(0))).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers().contains_key("www-authenticate"));

    let res = http
        .post(format!("{}/api/v1/coSpaces", sim.url(0)))
        .basic_auth(USER, Some(PASS))
        .form(&[("name", "Sales"), ("uri", "sales"), ("callId", "555")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let loc = res.headers()["location"].to_str().unwrap().to_string();
    assert!(loc.starts_with("/api/v1/coSpaces/"), "{loc}");
    let res =
        http.post(format!("{}/api/v1/coSpaces", sim.url(0))).basic_auth(USER, Some(PASS)).form(&[("uri", "sales")]).send().await.unwrap();
    assert_eq!(res.status(), 400, "duplicate uri");
    assert!(res.text().await.unwrap().contains("<duplicateCoSpaceUri />"));
    assert_eq!(get("/api/v1/callLegs/unknown").await.unwrap().status(), 404);
}

/// A CDR receiver for tests: records each POST body; answers with the statuses queued in
/// `script` first, then 200.
async fn receiver(script: Vec<u16>) -> (String, Arc<Mutex<Vec<String>>>) {
    let bodies = Arc::new(Mutex::new(Vec::<String>::new()));
    let script = Arc::new(Mutex::new(script.into_iter().collect::<std::collections::VecDeque<u16>>()));
    let b = bodies.clone();
    let app = axum::Router::new().route(
        "/cdr",
        axum::routing::post(move |body: String| {
            let b = b.clone();
            let script = script.clone();
            async move {
                b.lock().unwrap().push(body);
                let status = script.lock().unwrap().pop_front().unwrap_or(200);
                axum::http::StatusCode::from_u16(status).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/cdr"), bodies)
}

#[tokio::test]
async fn cdrs_arrive_as_cms_sends_them_and_a_batch_is_resent_until_it_gets_200() {
    let (url, bodies) = receiver(vec![500, 503]).await;
    let sim = sim(1).await;
    sim.cluster.add_cdr_receiver(0, &url).unwrap();
    let call = sim.cluster.start_call(0, None, Some("Board")).unwrap();
    let j = sim.cluster.join(0, &call, Joiner::web_guest("Guest Ann")).unwrap();
    sim.cluster.leave(0, &j.leg).unwrap();
    sim.cluster.end_call(0, &call).unwrap();
    assert!(sim.flush_cdrs(Duration::from_secs(10)).await, "delivered");

    let bodies = bodies.lock().unwrap().clone();
    assert!(bodies.len() >= 3, "two refusals, then accepted: {}", bodies.len());
    assert_eq!(bodies[0], bodies[1], "the same batch again after a 500");
    let all: String = bodies[2..].concat();
    assert!(bodies[0].starts_with("<?xml version=\"1.0\"?>\n<records session=\""), "{}", bodies[0]);
    assert!(!bodies[0].contains("callBridge="), "single node: no callBridge");
    for (i, t) in ["callStart", "callLegStart", "callLegUpdate", "callLegEnd", "callEnd"].iter().enumerate() {
        assert!(all.contains(&format!("<record type=\"{t}\" ")), "{t} in {all}");
        let _ = i;
    }
    assert!(all.contains("recordIndex=\"1\" correlatorIndex=\"0\""), "{all}");
    assert!(all.contains("<subType>webApp</subType>") && all.contains("<guestConnection>true</guestConnection>"));
    assert!(all.contains("<deactivated>true</deactivated>"), "guest waits in the lobby");
    assert!(sim.node(0).cdr_stats()[0].failures >= 2);
}

#[tokio::test]
async fn records_lost_while_the_receiver_was_down_are_counted_on_the_next_one() {
    let (url, bodies) = receiver(vec![503; 3]).await;
    let cfg = SimConfig { cdr_buffer: 4, ..SimConfig::default() };
    let sim = SimCms::start("127.0.0.1:0".parse().unwrap(), cfg).await.unwrap();
    sim.cluster.add_cdr_receiver(0, &url).unwrap();
    let call = sim.cluster.start_call(0, None, Some("Busy")).unwrap();
    for k in 0..4 {
        sim.cluster.join(0, &call, Joiner::sip(&format!("R{k}"), "r@example.com", true)).unwrap();
    }
    assert!(sim.flush_cdrs(Duration::from_secs(15)).await);
    let delivered = bodies.lock().unwrap().last().unwrap().clone();
    assert!(delivered.contains("numPreceedingRecordsMissing=\""), "{delivered}");
    assert!(sim.node(0).cdr_stats()[0].dropped > 0);
}

#[tokio::test]
async fn a_distributed_call_shares_its_correlator_across_bridges_with_distribution_links() {
    let (url, bodies) = receiver(vec![]).await;
    let sim = sim(2).await;
    sim.cluster.add_cdr_receiver(1, &url).unwrap();
    let scenario = Scenario::demo_setup(&sim.cluster);
    assert!(scenario.calls.len() >= 4);
    assert!(sim.flush_cdrs(Duration::from_secs(10)).await);

    let cluster = CmsCluster::new(vec![node_cfg(&sim, 0), node_cfg(&sim, 1)]).unwrap();
    let per_node = cluster.calls().await;
    let a = per_node[0].result.as_ref().unwrap();
    let b = per_node[1].result.as_ref().unwrap();
    let shared: Vec<_> = a.iter().filter(|x| b.iter().any(|y| y.call_correlator == x.call_correlator && y.id != x.id)).collect();
    assert_eq!(shared.len(), 1, "one meeting on both bridges");
    let remote = b.iter().find(|y| y.call_correlator == shared[0].call_correlator).unwrap();
    let legs = cluster.nodes()[1].call_legs_detailed(&remote.id).await.unwrap();
    assert!(legs.iter().any(|l| l.is_distribution_link()));

    let all = bodies.lock().unwrap().concat();
    assert!(all.contains(&format!("callBridge=\"{}\"", sim.node(1).bridge_id)), "cluster: callBridge set");
    assert!(all.contains("<subType>distributionLink</subType>"));
}

#[tokio::test]
async fn https_nodes_are_trusted_through_a_ca_file_or_an_explicit_insecure_switch_only() {
    let cfg = SimConfig { tls: true, username: USER.into(), password: PASS.into(), ..SimConfig::default() };
    let sim = SimCms::start("127.0.0.1:0".parse().unwrap(), cfg).await.unwrap();
    assert!(sim.url(0).starts_with("https://"));

    // Self-signed: the system roots do not trust it.
    let err = node(&sim, 0).check_health().await.unwrap_err();
    assert!(matches!(&err, CmsError::Unreachable { reason, .. } if reason.to_lowercase().contains("certificate")), "{err:?}");

    // Trusting its certificate as a CA works.
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("cms.pem");
    std::fs::write(&ca, sim.cert_pem().unwrap()).unwrap();
    let mut c = node_cfg(&sim, 0);
    c.tls = switchboard::cms::TlsMode::CustomCa(ca);
    assert!(CmsNode::new(c).unwrap().check_health().await.is_ok());

    // So does the explicit insecure switch.
    let mut c = node_cfg(&sim, 0);
    c.tls = switchboard::cms::TlsMode::Insecure;
    assert!(CmsNode::new(c).unwrap().calls().await.is_ok());

    // A CA file that is not a certificate is a configuration error naming the file.
    std::fs::write(dir.path().join("bad.pem"), "not a certificate").unwrap();
    let mut c = node_cfg(&sim, 0);
    c.tls = switchboard::cms::TlsMode::CustomCa(dir.path().join("bad.pem"));
    let err = CmsNode::new(c).unwrap_err();
    assert!(matches!(&err, CmsError::Config { reason, .. } if reason.contains("bad.pem")), "{err:?}");
}

#[tokio::test]
async fn an_id_with_slashes_stays_one_path_segment_and_dot_ids_are_never_sent() {
    let sim = sim(1).await;
    Scenario::populate(&sim.cluster, 0, 1, 1);
    let n = node(&sim, 0);
    let space = n.co_spaces(None).await.unwrap().into_iter().next().map(|s| s.id);
    let forged = format!("../coSpaces/{}", space.clone().unwrap_or_else(|| "x".into()));
    let err = n.set_call_message(&forged, "pwned", "top", "permanent").await.unwrap_err();
    assert!(matches!(err, CmsError::NotFound { .. }), "{err:?}");
    let puts: Vec<String> = sim.node(0).requests().into_iter().filter(|r| r.method == "PUT").map(|r| r.path).collect();
    assert_eq!(puts.len(), 1, "{puts:?}");
    assert!(puts[0].starts_with("/api/v1/calls/") && !puts[0].contains("/coSpaces/"), "{puts:?}");
    for dots in ["", ".", "..", "..."] {
        assert!(matches!(n.call(dots).await, Err(CmsError::BadId(_))), "{dots:?}");
    }
    assert_eq!(sim.node(0).requests().iter().filter(|r| r.method == "GET" && r.path.starts_with("/api/v1/calls")).count(), 0);
}

#[tokio::test]
async fn the_cluster_forgets_where_ended_calls_lived_once_every_node_has_answered() {
    let sim = sim(2).await;
    let mut cfgs = vec![node_cfg(&sim, 0), node_cfg(&sim, 1)];
    for c in &mut cfgs {
        c.retries = 0;
    }
    let cluster = CmsCluster::new(cfgs).unwrap();
    let a = sim.cluster.start_call(0, None, Some("A")).unwrap();
    sim.cluster.start_call(1, None, Some("B")).unwrap();
    cluster.calls().await;
    assert_eq!(cluster.remembered_calls(), 2);
    sim.cluster.end_call(0, &a).unwrap();
    sim.node(1).faults.set_down(true);
    cluster.calls().await;
    assert_eq!(cluster.remembered_calls(), 2, "a node did not answer: nothing can be known to be gone");
    sim.node(1).faults.set_down(false);
    cluster.calls().await;
    assert_eq!(cluster.remembered_calls(), 1, "the ended call is forgotten");
}

/// A node that answers whatever it likes: `/api/v1/calls` claims `total` rows and sends ten
/// per page; `/api/v1/coSpaces` sends `big` bytes.
async fn hostile_node(total: u64, big: usize) -> (String, Arc<Mutex<usize>>) {
    use axum::routing::get;
    let pages = Arc::new(Mutex::new(0usize));
    let counter = pages.clone();
    let app = axum::Router::new()
        .route(
            "/api/v1/calls",
            get(move || {
                let counter = counter.clone();
                async move {
                    *counter.lock().unwrap() += 1;
                    let rows: String =
                        (0..10).map(|i| format!("<call id=\"{:08x}-0000-0000-0000-000000000000\"><name>c</name></call>", i)).collect();
                    format!("<?xml version=\"1.0\"?><calls total=\"{total}\">{rows}</calls>")
                }
            }),
        )
        .route("/api/v1/coSpaces", get(move || async move { format!("<coSpaces total=\"1\">{}</coSpaces>", " ".repeat(big)) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), pages)
}

#[tokio::test]
async fn an_answer_larger_than_the_limit_is_refused_not_read_into_memory() {
    let (url, _) = hostile_node(1, 3 * 1024 * 1024).await;
    let mut cfg = NodeConfig::new("cb1", &url, USER, PASS);
    cfg.max_answer_bytes = 1024 * 1024;
    let n = CmsNode::new(cfg).unwrap();
    let err = n.co_spaces(None).await.unwrap_err();
    assert_eq!(err, CmsError::TooLarge { node: "cb1".into(), limit: 1024 * 1024 });
    assert!(err.to_string().contains("larger than 1048576 bytes"), "{err}");
    // Under the limit the same node is read.
    let (url, _) = hostile_node(1, 10_000).await;
    assert!(CmsNode::new(NodeConfig::new("cb1", &url, USER, PASS)).unwrap().co_spaces(None).await.is_ok());
}

#[tokio::test]
async fn a_claimed_total_beyond_the_limit_is_not_planned_for() {
    // Four billion rows claimed: paging to that would never end (and the plan alone would not
    // fit in memory); the client lists up to its limit and stops.
    let (url, pages) = hostile_node(4_000_000_000, 0).await;
    let mut cfg = NodeConfig::new("cb1", &url, USER, PASS);
    cfg.max_listed_rows = 100;
    let n = CmsNode::new(cfg).unwrap();
    let calls = n.calls().await.unwrap();
    assert_eq!(calls.len(), 100);
    assert_eq!(*pages.lock().unwrap(), 10, "ten pages of ten, no more");
    let seq = n.list_all_sequential::<switchboard::cms::model::CallSummary>("/calls", &[]).await.unwrap();
    assert_eq!(seq.len(), 100);
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test]
async fn a_short_page_in_the_middle_of_a_list_neither_skips_nor_repeats_rows() {
    let sim = sim(1).await;
    Scenario::populate(&sim.cluster, 0, 37, 1);
    // The fault switched on over HTTP, as a tester would.
    let res = reqwest::Client::new().post(format!("{}/sim/faults", sim.url(0))).form(&[("short_page_rate", "1")]).send().await.unwrap();
    assert_eq!(res.status(), 204);
    let n = node(&sim, 0);

    let listed = n.calls().await.unwrap();
    let want = sorted(sim.cluster.calls(0).into_iter().map(|(id, _)| id).collect());
    let got = sorted(listed.iter().map(|c| c.id.clone()).collect());
    assert_eq!(got.len(), listed.len(), "no row twice");
    assert_eq!(got, want, "every row once");
    let spaces = n.co_spaces(None).await.unwrap();
    assert_eq!(sorted(spaces.iter().map(|s| s.id.clone()).collect()).len(), 37);
    let seq = n.list_all_sequential::<switchboard::cms::model::CallSummary>("/calls", &[]).await.unwrap();
    assert_eq!(sorted(seq.into_iter().map(|c| c.id).collect()), want);

    // The pages really were short: one asked from offset 10 held fewer than 10 rows, so the
    // next one starts inside what a full page would have covered.
    let offsets: Vec<usize> = sim
        .node(0)
        .requests()
        .iter()
        .filter(|r| r.path == "/api/v1/calls")
        .filter_map(|r| r.query.split('&').find_map(|kv| kv.strip_prefix("offset=")).and_then(|o| o.parse().ok()))
        .collect();
    assert!(offsets.iter().any(|o| o % 10 != 0), "a page began where a short one ended: {offsets:?}");
}

#[tokio::test]
async fn filters_match_a_substring_in_any_case_on_name_and_uri_as_cms_does() {
    use switchboard::cms::model::User;
    let sim = sim(1).await;
    sim.cluster.add_co_space("Sales Weekly", "weekly", "1001", None, None);
    sim.cluster.add_co_space("Board", "presales.board", "1002", None, None);
    sim.cluster.add_co_space("Support", "support", "1003", None, None);
    sim.cluster.add_user("ann.lee@example.com", "Ann Lee", "ann@mail.example.com");
    sim.cluster.add_user("bob@example.com", "Bob Annan", "bob@example.com");
    sim.cluster.add_user("cy@example.com", "Cy", "cy@example.com");
    let n = node(&sim, 0);

    let names = |v: Vec<switchboard::cms::model::CoSpace>| sorted(v.into_iter().map(|s| s.name).collect());
    assert_eq!(names(n.co_spaces(Some("SALES")).await.unwrap()), vec!["Board", "Sales Weekly"], "name or URI, any case");
    assert_eq!(names(n.co_spaces(Some("port")).await.unwrap()), vec!["Support"], "inside a word");
    assert!(n.co_spaces(Some("1003")).await.unwrap().is_empty(), "not on the call id");
    let users = n.list_all::<User>("/users", &[("filter", "ANN".into())]).await.unwrap();
    assert_eq!(sorted(users.into_iter().map(|u| u.user_jid).collect()), vec!["ann.lee@example.com", "bob@example.com"], "JID or name");
    let by_mail = n.list_all::<User>("/users", &[("emailFilter", "ANN@mail.example.com".into())]).await.unwrap();
    assert_eq!(by_mail.len(), 1, "emailFilter is the whole address");
    assert!(n.list_all::<User>("/users", &[("emailFilter", "ann".into())]).await.unwrap().is_empty());
}

#[tokio::test]
async fn object_paths_with_a_trailing_slash_answer_as_without_it() {
    let sim = sim(1).await;
    let id = sim.cluster.add_co_space("Board", "board", "1001", None, None);
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", sim.url(0));
    let get = |p: String| http.get(url(&p)).basic_auth(USER, Some(PASS)).send();

    let plain = get(format!("/api/v1/coSpaces/{id}")).await.unwrap().text().await.unwrap();
    let res = get(format!("/api/v1/coSpaces/{id}/")).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), plain);
    let res = get("/api/v1/coSpaces/".into()).await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains(&format!("<coSpace id=\"{id}\">")));
    let res =
        http.put(url(&format!("/api/v1/coSpaces/{id}/"))).basic_auth(USER, Some(PASS)).form(&[("name", "Board 2")]).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(get(format!("/api/v1/coSpaces/{id}")).await.unwrap().text().await.unwrap().contains("<name>Board 2</name>"));
    assert_eq!(get("/api/v1/coSpaces/unknown/".into()).await.unwrap().status(), 404);
}

#[tokio::test]
async fn a_call_bridge_restart_sends_cdrs_under_a_new_session_from_record_index_one() {
    let (url, bodies) = receiver(vec![]).await;
    let sim = sim(1).await;
    sim.cluster.add_cdr_receiver(0, &url).unwrap();
    let before = sim.cluster.start_call(0, None, Some("Before")).unwrap();
    sim.cluster.join(0, &before, Joiner::sip("Host", "host@example.com", true)).unwrap();
    assert!(sim.flush_cdrs(Duration::from_secs(10)).await);

    let res = reqwest::Client::new().post(format!("{}/sim/restart-callbridge", sim.url(0))).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let session = res.json::<serde_json::Value>().await.unwrap()["session"].as_str().unwrap().to_string();
    assert!(sim.cluster.calls(0).is_empty(), "the restart ended its calls");
    let after = sim.cluster.start_call(0, None, Some("After")).unwrap();
    assert!(sim.flush_cdrs(Duration::from_secs(10)).await);

    let bodies = bodies.lock().unwrap().clone();
    let first = &bodies[0];
    let last = bodies.last().unwrap();
    assert!(!first.contains(&session) && first.contains("recordIndex=\"1\""), "{first}");
    assert!(last.contains(&format!("<records session=\"{session}\">")), "{last}");
    assert!(last.contains("recordIndex=\"1\" correlatorIndex=\"0\"") && last.contains(&after), "{last}");
    assert_eq!(sim.node(0).cdr_receivers(), vec![url], "the receivers stay configured");
}
