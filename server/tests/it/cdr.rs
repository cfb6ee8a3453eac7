//! The CDR receiver, live call state and security banners, over real HTTP, against the CMS
//! simulator (which sends CDRs as CMS does and records the banner PUTs it receives).

use crate::common::{app_with_cms, client, login, sim, TestApp};
use leptos::server_fn::ServerFn;
use std::future::Future;
use std::time::Duration;
use switchboard::model::{CallsOverview, Role};
use switchboard::sim::cms::Joiner;

async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

async fn overview(app: &TestApp, c: &reqwest::Client) -> CallsOverview {
    let res = c.post(app.url(app::pages::calls::GetCallsOverview::PATH)).form(&[("", "")]).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn viewer(app: &TestApp) -> reqwest::Client {
    app.add_user("vic", "viewer-password", Role::Viewer).await;
    let c = client();
    login(app, &c, "vic", "viewer-password").await;
    c
}

fn post_cdr(c: &reqwest::Client, app: &TestApp, body: String) -> impl Future<Output = reqwest::Response> {
    let req = c.post(app.url("/cdr")).header("content-type", "text/xml").body(body).send();
    async move { req.await.unwrap() }
}

const START: &str = r#"<?xml version="1.0"?><records session="S-1"><record type="callStart" time="2026-11-23T09:00:00Z" recordIndex="1" correlatorIndex="0"><call id="c1000000-0000-4000-8000-000000000001"><name>Quarterly Review</name><callType>coSpace</callType><callCorrelator>k-1</callCorrelator></call></record><record type="callLegStart" time="2026-11-23T09:00:01Z" recordIndex="2" correlatorIndex="1"><callLeg id="11000000-0000-4000-8000-000000000001"><displayName>Guest Ann</displayName><remoteAddress>ann@webapp</remoteAddress><type>acano</type><subType>webApp</subType><guestConnection>true</guestConnection><call>c1000000-0000-4000-8000-000000000001</call></callLeg></record><record type="callLegUpdate" time="2026-11-23T09:00:02Z" recordIndex="3" correlatorIndex="2"><callLeg id="11000000-0000-4000-8000-000000000001"><state>connected</state><call>c1000000-0000-4000-8000-000000000001</call><deactivated>true</deactivated></callLeg></record></records>"#;

#[tokio::test]
async fn batches_are_stored_once_even_when_resent_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let cms = reqwest::Client::new();
    assert_eq!(post_cdr(&cms, &app, START.into()).await.status(), 200);
    assert_eq!(post_cdr(&cms, &app, START.into()).await.status(), 200, "a resent batch is acknowledged again");

    let c = viewer(&app).await;
    let o = overview(&app, &c).await;
    assert_eq!(o.records_received, 3, "duplicates applied once");
    assert_eq!(o.meetings.len(), 1);
    let m = &o.meetings[0];
    assert_eq!((m.name.as_str(), m.lobby, m.externals), ("Quarterly Review", 1, 1));
    let metrics = cms.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("switchboard_cdr_duplicate_records_total 3"), "{metrics}");

    // Crash-like restart: the state comes back from the store.
    app.stop().await;
    let app = TestApp::spawn(dir.path()).await;
    let c = client();
    login(&app, &c, "vic", "viewer-password").await;
    let o = overview(&app, &c).await;
    assert_eq!(o.meetings.len(), 1, "rebuilt from stored CDRs");
    assert_eq!(o.meetings[0].instances[0].legs[0].display_name, "Guest Ann");

    // The rest of the call arrives after the restart.
    let end = r#"<records session="S-1"><record type="callLegEnd" time="t" recordIndex="4" correlatorIndex="3"><callLeg id="11000000-0000-4000-8000-000000000001"><reason>remoteTeardown</reason></callLeg></record><record type="callEnd" time="t" recordIndex="5" correlatorIndex="4"><call id="c1000000-0000-4000-8000-000000000001"/></record></records>"#;
    assert_eq!(post_cdr(&cms, &app, end.into()).await.status(), 200);
    assert!(overview(&app, &c).await.meetings.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn malformed_unknown_oversized_and_unauthorised_posts_get_the_right_answers() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = crate::common::config_for(dir.path());
    cfg.cdr.token = Some(server::config::Secret("s3cret-token".into()));
    cfg.cdr.max_body_bytes = 64 * 1024;
    let app = TestApp::spawn_with(cfg).await;
    let cms = reqwest::Client::new();
    let post = |q: &str, body: String| cms.post(app.url(&format!("/cdr{q}"))).body(body).send();

    let res = post("", START.into()).await.unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("token"));
    assert_eq!(post("?token=wrong", START.into()).await.unwrap().status(), 403);

    let res = post("?token=s3cret-token", "<records session=\"S\"><record type=".into()).await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().starts_with("Not a CDR document: "));

    let future = r#"<records session="S-9"><record type="somethingNew" time="t" recordIndex="1"><gadget id="g"><x>1</x></gadget></record></records>"#;
    assert_eq!(post("?token=s3cret-token", future.into()).await.unwrap().status(), 200, "unknown types are accepted");
    assert_eq!(post("?token=s3cret-token", START.into()).await.unwrap().status(), 200, "the receiver goes on after a bad body");
    assert_eq!(post("?token=s3cret-token", "x".repeat(100 * 1024)).await.unwrap().status(), 413);
    // A forged call id aimed at another CMS object through the API path.
    let forged = START.replace("c1000000-0000-4000-8000-000000000001", "../coSpaces/c1000000-0000-4000-8000-000000000001");
    let res = post("?token=s3cret-token", forged).await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("is not a CMS id"));

    let c = viewer(&app).await;
    let o = overview(&app, &c).await;
    assert_eq!(o.dead_letters, 2, "the malformed and the forged bodies are kept for inspection");
    assert_eq!(o.records_received, 4);
    app.stop().await;
}

#[tokio::test]
async fn pages_hear_of_new_cdrs_by_push_and_an_open_stream_does_not_block_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let c = viewer(&app).await;
    let mut stream = c.get(app.url("/events/calls")).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    assert_eq!(post_cdr(&reqwest::Client::new(), &app, START.into()).await.status(), 200);
    let chunk = tokio::time::timeout(Duration::from_secs(5), stream.chunk()).await.expect("pushed in time").unwrap().unwrap();
    assert!(String::from_utf8_lossy(&chunk).contains("event: calls"), "{chunk:?}");

    // The stream is still open: shutting down must not wait for the browser to leave.
    tokio::time::timeout(Duration::from_secs(5), app.stop()).await.expect("graceful shutdown ends open event streams");
}

#[tokio::test]
async fn only_allowed_sources_may_post_cdrs() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = crate::common::config_for(dir.path());
    cfg.cdr.allowed_sources = vec!["10.0.0.0/8".into(), "192.0.2.7".into()];
    let app = TestApp::spawn_with(cfg).await;
    let res = post_cdr(&reqwest::Client::new(), &app, START.into()).await;
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("allowed_sources"));
    app.stop().await;

    let dir = tempfile::tempdir().unwrap();
    let mut cfg = crate::common::config_for(dir.path());
    cfg.cdr.allowed_sources = vec!["127.0.0.0/8".into()];
    let app = TestApp::spawn_with(cfg).await;
    assert_eq!(post_cdr(&reqwest::Client::new(), &app, START.into()).await.status(), 200, "loopback is allowed here");
    app.stop().await;
}

#[tokio::test]
async fn records_cms_lost_are_surfaced_as_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let cms = reqwest::Client::new();
    let body = r#"<records session="S-2" callBridge="cb-x"><record type="callStart" time="t" recordIndex="40" correlatorIndex="39" numPreceedingRecordsMissing="17"><call id="c2000000-0000-4000-8000-000000000002"><name>After outage</name></call></record></records>"#;
    assert_eq!(post_cdr(&cms, &app, body.into()).await.status(), 200);
    let c = viewer(&app).await;
    let o = overview(&app, &c).await;
    assert_eq!(o.gaps.len(), 1);
    assert_eq!((o.gaps[0].missing, o.gaps[0].bridge.as_str()), (17, "cb-x"));
    let page = c.get(app.url("/calls")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("17 record(s) missing"), "the calls page says so");
    let metrics = cms.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("switchboard_cdr_records_missing_total 17"));
    app.stop().await;
}

#[tokio::test]
async fn a_guest_joining_raises_the_banner_and_leaving_clears_it() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(1).await;
    let app = app_with_cms(dir.path(), &sim).await;
    let call = sim.cluster.start_call(0, None, Some("Team Sync")).unwrap();
    sim.cluster.join(0, &call, Joiner::sip("Host", "host@example.com", true)).unwrap();
    let guest = sim.cluster.join(0, &call, Joiner::web_guest("Guest Ann")).unwrap();
    eventually("external banner shown", || async {
        sim.cluster.call_message(0, &call).map(|m| m.0) == Some("External Participant(s) in Meeting".into())
    })
    .await;
    let (_, pos, dur) = sim.cluster.call_message(0, &call).unwrap();
    assert_eq!((pos.as_str(), dur.as_str()), ("bottom", "permanent"));

    sim.cluster.leave(0, &guest.leg).unwrap();
    // The host is SIP from an unlisted domain, so external too: lists decide.
    eventually("banner stays for the external SIP host", || async {
        sim.cluster.call_message(0, &call).map(|m| m.0) == Some("External Participant(s) in Meeting".into())
    })
    .await;

    // Make example.com secure: the banner goes away, with an explicit clear.
    let admin = client();
    app.add_user("root", "admin-password", Role::Admin).await;
    login(&app, &admin, "root", "admin-password").await;
    let res = admin
        .post(app.url(app::pages::settings::SaveBannerSettings::PATH))
        .form(&[
            ("restricted_keywords", "restricted"),
            ("secure_domains", "example.com"),
            ("internal_domains", ""),
            ("restricted_text", "Restricted Meeting"),
            ("external_text", "External Participant(s) in Meeting"),
            ("internal_text", ""),
            ("position", "bottom"),
            ("duration", "permanent"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    eventually("banner cleared", || async { sim.cluster.call_message(0, &call).map(|m| m.0) == Some(String::new()) }).await;
    let clear = sim.node(0).requests().into_iter().rfind(|r| r.method == "PUT").unwrap();
    assert_eq!(clear.body, "messageText=&messagePosition=bottom&messageDuration=0");

    // Nothing more is sent while nothing changes.
    let puts = sim.node(0).requests().iter().filter(|r| r.method == "PUT").count();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(sim.node(0).requests().iter().filter(|r| r.method == "PUT").count(), puts, "PUT only on a difference");

    let c = client();
    login(&app, &c, "root", "admin-password").await;
    let o = overview(&app, &c).await;
    assert!(o.history.len() >= 2, "every change is in the history");
    assert!(o.history.iter().all(|h| h.result == "ok"));
    app.stop().await;
}

#[tokio::test]
async fn a_restricted_meeting_on_two_bridges_gets_the_banner_on_both_and_failures_are_retried() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(2).await;
    let app = app_with_cms(dir.path(), &sim).await;
    sim.node(1).faults.set_down(true);
    let call = sim.cluster.start_call(0, None, Some("Project Falcon (RESTRICTED)")).unwrap();
    let remote = sim.cluster.distribute(0, &call, 1).unwrap();
    sim.cluster.join(0, &call, Joiner::sip("Host", "host@example.com", true)).unwrap();
    let c = viewer(&app).await;
    eventually("the failed PUT is in the history", || async {
        overview(&app, &c).await.history.iter().any(|h| h.result.starts_with("failed"))
    })
    .await;
    sim.node(1).faults.set_down(false);
    for (node, id) in [(0, &call), (1, &remote)] {
        eventually("banner on each instance", || async {
            sim.cluster.call_message(node, id).map(|m| m.0).is_some_and(|t| t.starts_with("Restricted Meeting"))
        })
        .await;
    }
    // The simulator shows the banner as soon as the PUT arrives; the page says so once the
    // enforcer has recorded CMS's answer.
    eventually("the page shows the banner on the grouped meeting", || async {
        let o = overview(&app, &c).await;
        o.meetings.iter().find(|m| m.name.contains("Falcon")).is_some_and(|m| m.restricted && m.banner_shown)
    })
    .await;
    let o = overview(&app, &c).await;
    let m = o.meetings.iter().find(|m| m.name.contains("Falcon")).unwrap();
    assert_eq!(m.instances.len(), 2, "grouped by callCorrelator");
    app.stop().await;
}

#[tokio::test]
async fn calls_that_began_before_switchboard_listened_are_picked_up_from_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(1).await;
    let call = sim.cluster.start_call(0, None, Some("Early bird")).unwrap();
    sim.cluster.join(0, &call, Joiner::web_guest("Early Guest")).unwrap();
    let app = app_with_cms(dir.path(), &sim).await;
    let c = viewer(&app).await;
    let mut found = None;
    for _ in 0..100 {
        let o = overview(&app, &c).await;
        if let Some(m) = o.meetings.into_iter().find(|m| m.name == "Early bird") {
            found = Some(m);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let m = found.expect("reconciled from the API");
    assert_eq!(m.lobby, 1);
    assert_eq!(m.instances[0].node.as_deref(), Some("cb1"));
    eventually("banner for the early guest", || async {
        sim.cluster.call_message(0, &call).map(|m| m.0) == Some("External Participant(s) in Meeting".into())
    })
    .await;
    app.stop().await;
}

#[tokio::test]
async fn after_a_call_bridge_restart_its_cdrs_are_a_new_session_not_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(1).await;
    let app = app_with_cms(dir.path(), &sim).await;
    let c = viewer(&app).await;
    let before = sim.cluster.start_call(0, None, Some("Before the restart")).unwrap();
    sim.cluster.join(0, &before, Joiner::sip("Host", "host@example.com", true)).unwrap();
    assert!(sim.flush_cdrs(Duration::from_secs(10)).await);
    let first = sim.node(0).cdr_stats()[0].delivered as i64;
    assert_eq!(overview(&app, &c).await.records_received, first);

    // Restarted over its admin endpoint: its CDRs start again at recordIndex 1, new session.
    let res = reqwest::Client::new().post(format!("{}/sim/restart-callbridge", sim.url(0))).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let after = sim.cluster.start_call(0, None, Some("After the restart")).unwrap();
    sim.cluster.join(0, &after, Joiner::web_guest("Guest Ann")).unwrap();
    assert!(sim.flush_cdrs(Duration::from_secs(10)).await);
    let second = sim.node(0).cdr_stats()[0].delivered as i64 - first;
    assert!(second >= 3, "callStart, callLegStart, callLegUpdate at least: {second}");

    let o = overview(&app, &c).await;
    assert_eq!(o.records_received, first + second, "every record of the new session stored, none taken for a resend");
    let m = o.meetings.iter().find(|m| m.name == "After the restart").expect("the new call is live");
    assert_eq!(m.externals, 1);
    let metrics = reqwest::get(app.url("/metrics")).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("switchboard_cdr_duplicate_records_total 0"), "{metrics}");
    app.stop().await;
}
