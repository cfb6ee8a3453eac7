//! Exchange Online change notifications over real HTTP: Switchboard's `/hooks/graph` against
//! the Graph simulator, which validates the URL, posts notifications (twice on request) and
//! lifecycle events. Polling is set to an hour, so only a notification can explain a meeting
//! handled within seconds.

use crate::common::{client, config_for, point_at_cms, sim, TestApp};
use server::config::Secret;
use std::time::{Duration, Instant};
use switchboard::sim::graph::{GraphSimConfig, SimGraph};

const DAVE: &str = "dave@cloud.example.com";

async fn until(what: &str, f: impl Fn() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < Duration::from_secs(15), "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn delta_requests(g: &SimGraph) -> usize {
    g.requests().iter().filter(|(_, p)| p.contains("/calendarView/delta")).count()
}

#[tokio::test]
async fn graph_notifications_validate_wake_the_poller_at_once_and_forged_or_repeated_ones_change_nothing() {
    let cms = sim(1).await;
    cms.cluster.add_user("dave@example.com", "Dave Diver", DAVE);
    cms.cluster.add_co_space("Dave's space", "dave.space", "700001", Some("dave@example.com"), Some("2468"));
    let graph = SimGraph::start("127.0.0.1:0".parse().unwrap(), GraphSimConfig { mailboxes: vec![DAVE.into()], ..GraphSimConfig::demo(1) })
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config_for(dir.path());
    let port = free_port();
    cfg.server.addr = format!("127.0.0.1:{port}").parse().unwrap();
    point_at_cms(&mut cfg, &cms);
    let c = &mut cfg.calendar;
    c.enabled = true;
    c.secrets_key = Some(Secret(switchboard::secret::SecretBox::generate_key()));
    c.join.sip_domain = "example.com".into();
    c.mail_domain = "example.com".into();
    c.web_app_url = "https://join.example.com".into();
    c.graph_tenant = "contoso".into();
    c.graph_client_id = "switchboard-app".into();
    c.graph_client_secret = Secret("app-secret".into());
    c.graph_login_url = graph.login_url();
    c.graph_api_url = graph.api_url();
    c.graph_poll_seconds = 3600;
    c.graph_notification_url = format!("http://127.0.0.1:{port}/hooks/graph");
    let app = TestApp::spawn_with(cfg).await;

    // Subscribed: Graph validated the URL (its token has spaces and a colon) and got it back.
    until("the subscription", || graph.subscriptions().len() == 1).await;
    let sub = graph.subscriptions().remove(0);
    assert_eq!(sub.mailbox, DAVE);
    assert!(sub.client_state.as_deref().is_some_and(|c| c.len() >= 32), "a random clientState");
    assert!(graph.deliveries().iter().any(|d| d.kind == "validation" && d.status == 200));
    // The database keeps only a hash of the clientState, never the secret itself.
    let store = switchboard::store::Store::open_in_dir(&app.data_dir).await.unwrap();
    // (Graph holds the subscription as soon as it answers; Switchboard stores it just after.)
    let t = Instant::now();
    let kept: String = loop {
        let row = sqlx::query_scalar("SELECT client_state FROM calendar_graph_subscriptions").fetch_optional(store.pool()).await.unwrap();
        if let Some(kept) = row {
            break kept;
        }
        assert!(t.elapsed() < Duration::from_secs(15), "timed out waiting for the stored subscription");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    let secret = sub.client_state.clone().unwrap();
    assert!(!kept.contains(&secret) && kept.len() == 64, "{kept}");

    // A meeting: handled within seconds although the next poll is an hour away.
    until("the first round", || delta_requests(&graph) >= 1).await;
    let (s, e) = (time::OffsetDateTime::now_utc() + time::Duration::hours(2), time::OffsetDateTime::now_utc() + time::Duration::hours(3));
    let id = graph.create_meeting(DAVE, "Review", "@cms", "<p>Agenda</p>", s, e);
    until("the notification and the write", || graph.event(&id).is_some_and(|ev| ev.updates == 1)).await;
    assert!(graph.event(&id).unwrap().body.contains("700001"));
    assert!(graph.deliveries().iter().any(|d| d.kind == "created" && d.status == 202), "{:?}", graph.deliveries());

    // A notification sent twice: still one write.
    graph.set_duplicate_notifications(true);
    let twice = graph.create_meeting(DAVE, "Twice", "@cms", "<p>x</p>", s, e);
    until("the write", || graph.event(&twice).is_some_and(|ev| ev.updates == 1)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(graph.event(&twice).unwrap().updates, 1, "not twice");
    graph.set_duplicate_notifications(false);

    // Forged: the right subscription id with the wrong clientState is accepted (202, as Graph
    // wants) and dropped: no delta request follows. Not JSON: 400 with the reason.
    let http = client();
    let before = delta_requests(&graph);
    let forged = serde_json::json!({ "value": [{ "subscriptionId": sub.id, "clientState": "guess", "changeType": "updated" }] });
    let res = http.post(app.url("/hooks/graph")).json(&forged).send().await.unwrap();
    assert_eq!(res.status(), 202);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(delta_requests(&graph), before, "a forged notification wakes nothing");
    let res = http.post(app.url("/hooks/graph")).body("hello").send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("Not a Graph change notification"));

    // The validation handshake by hand: the decoded token, as text/plain.
    let res = http.post(app.url("/hooks/graph?validationToken=Validation%3A%20Testing%20abc")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    assert_eq!(res.text().await.unwrap(), "Validation: Testing abc");

    // Lifecycle: reauthorizationRequired → renewed (PATCH); subscriptionRemoved → subscribed again.
    graph.lifecycle("reauthorizationRequired");
    until("the renewal", || graph.requests().iter().any(|(m, p)| m == "PATCH" && p.starts_with("/v1.0/subscriptions/"))).await;
    graph.lifecycle("subscriptionRemoved");
    until("a new subscription", || graph.subscriptions().first().is_some_and(|x| x.id != sub.id)).await;
    let after = graph.create_meeting(DAVE, "After the removal", "@cms", "<p>y</p>", s, e);
    until("the write after resubscribing", || graph.event(&after).is_some_and(|ev| ev.updates == 1)).await;
    app.stop().await;
}
