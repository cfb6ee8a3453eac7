//! The routes anyone may call without signing in (`/auth/webex`, its callback, `/hooks/graph`,
//! `/ack/{token}`), as an attacker meets them over real HTTP: floods write nothing, one client
//! beyond its rate gets 429, untrusted text reaches the audit log cut and without markup. And
//! who acted, in the audit log: a local user and a Webex user of the same name stay apart; a
//! Webex user's roles are asked of Webex again.

use crate::common::{client, location, login, point_at_cms, sim, TestApp};
use crate::incidents::{connect_org, consent, webex_config, webex_sign_in, world};
use futures::StreamExt;
use server::config::Secret;
use std::path::Path;
use std::time::{Duration, Instant};
use switchboard::model::Role;
use switchboard::sim::graph::{GraphSimConfig, SimGraph};

const DAVE: &str = "dave@cloud.example.com";

/// Builds the request of one hit, given its number.
type MakeHit<'a> = dyn Fn(&reqwest::Client, usize) -> reqwest::RequestBuilder + 'a;

async fn db_bytes(dir: &Path) -> u64 {
    ["switchboard.db", "switchboard.db-wal"].iter().filter_map(|f| std::fs::metadata(dir.join(f)).ok()).map(|m| m.len()).sum()
}

async fn count(app: &TestApp, table: &str) -> i64 {
    let store = switchboard::store::Store::open_in_dir(&app.data_dir).await.unwrap();
    let n = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(store.pool()).await.unwrap();
    store.close().await;
    n
}

/// `n` requests made by `make` (given the hit's number, from a different client each), 16 at
/// a time, with a `/healthz` probe that must answer 200 every 500 hits. Returns the statuses seen.
async fn flood<F>(app: &TestApp, n: usize, make: F) -> std::collections::BTreeMap<u16, usize>
where
    F: Fn(&reqwest::Client, usize) -> reqwest::RequestBuilder,
{
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut seen = std::collections::BTreeMap::new();
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let statuses: Vec<u16> = futures::stream::iter(chunk.iter().map(|&i| {
            let xff = format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256);
            make(&http, i).header("x-forwarded-for", xff).send()
        }))
        .buffer_unordered(16)
        .map(|r| r.unwrap().status().as_u16())
        .collect()
        .await;
        for s in statuses {
            *seen.entry(s).or_default() += 1;
        }
        let health = http.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(health.status(), 200, "healthz answers throughout");
    }
    seen
}

#[tokio::test]
async fn ten_thousand_anonymous_hits_on_each_unauthenticated_route_leave_the_database_and_sessions_unchanged_and_healthz_answers() {
    let cms = sim(1).await;
    cms.cluster.add_user("dave@example.com", "Dave Diver", DAVE);
    let graph = SimGraph::start("127.0.0.1:0".parse().unwrap(), GraphSimConfig { mailboxes: vec![DAVE.into()], ..GraphSimConfig::demo(1) })
        .await
        .unwrap();
    let w = world().await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = webex_config(dir.path(), &w, "connect-test-key");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    cfg.server.addr = format!("127.0.0.1:{port}").parse().unwrap();
    // The test stands in for a proxy that names each hit's client: every hit is a new client,
    // so no rate limit hides what a hit would cost.
    cfg.server.trusted_proxies = vec!["127.0.0.1".into()];
    point_at_cms(&mut cfg, &cms);
    let c = &mut cfg.calendar;
    c.enabled = true;
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
    // Settled: subscribed, stored, the first round done.
    let t = Instant::now();
    while graph.subscriptions().is_empty() || count(&app, "calendar_graph_subscriptions").await == 0 {
        assert!(t.elapsed() < Duration::from_secs(15), "timed out waiting for the subscription");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sub = graph.subscriptions().remove(0);
    tokio::time::sleep(Duration::from_millis(500)).await;

    let (bytes, sessions, audit) = (db_bytes(dir.path()).await, count(&app, "tower_sessions").await, count(&app, "audit_log").await);
    let n = 10_000;
    let evil = format!("<script>alert(1)</script>\n{}", "x".repeat(5000));
    let routes: Vec<(&str, Box<MakeHit>)> = vec![
        ("/auth/webex", Box::new(|h, _| h.get(app.url("/auth/webex?next=/incidents")))),
        (
            "the callback with an error",
            Box::new(|h, i| {
                h.get(app.url("/auth/webex/callback")).query(&[
                    ("error", "access_denied"),
                    ("error_description", evil.as_str()),
                    ("state", &format!("s{i}")),
                ])
            }),
        ),
        ("the callback with a code", Box::new(|h, i| h.get(app.url(&format!("/auth/webex/callback?code=c{i}&state=s{i}"))))),
        (
            "/hooks/graph",
            Box::new(|h, i| {
                let forged = serde_json::json!({ "value": [
                { "subscriptionId": format!("forged-{i}"), "clientState": "guess", "changeType": "updated" },
                { "subscriptionId": sub.id, "clientState": "guess", "changeType": "updated" },
            ] });
                h.post(app.url("/hooks/graph")).json(&forged)
            }),
        ),
        ("GET /ack", Box::new(|h, i| h.get(app.url(&format!("/ack/not-a-token-{i}"))))),
        ("POST /ack", Box::new(|h, i| h.post(app.url(&format!("/ack/not-a-token-{i}"))).form(&[("answer", "coming")]))),
    ];
    for (route, make) in routes {
        let started = Instant::now();
        let seen = flood(&app, n, make).await;
        assert_eq!(seen.values().sum::<usize>(), n, "{route}: every hit answered: {seen:?}");
        assert!(!seen.contains_key(&500) && !seen.contains_key(&503), "{route}: {seen:?}");
        eprintln!("{route}: {seen:?} in {:?}", started.elapsed());
        assert_eq!(count(&app, "tower_sessions").await, sessions, "{route}: no session row per anonymous hit");
        assert_eq!(count(&app, "audit_log").await, audit, "{route}: no audit row per anonymous hit");
        let grown = db_bytes(dir.path()).await.saturating_sub(bytes);
        assert!(grown < 256 * 1024, "{route}: the database grew by {grown} bytes");
    }
    assert_eq!(graph.requests().iter().filter(|(_, p)| p.contains("/calendarView/delta")).count(), 1, "forged notifications wake nothing");
    app.stop().await;
}

#[tokio::test]
async fn a_client_beyond_its_rate_gets_429_with_retry_after_and_cannot_escape_it_by_claiming_another_address() {
    let w = world().await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = webex_config(dir.path(), &w, "connect-test-key");
    cfg.server.rate_limit.burst = 3;
    cfg.server.rate_limit.per_minute = 1;
    let app = TestApp::spawn_with(cfg).await;
    let http = client();
    for path in ["/auth/webex", "/auth/webex/callback?error=x", "/ack/nothing"] {
        for i in 0..3 {
            let res = http.get(app.url(path)).header("x-forwarded-for", format!("198.51.100.{i}")).send().await.unwrap();
            assert_ne!(res.status(), 429, "{path}: within the burst");
        }
        let res = http.get(app.url(path)).header("x-forwarded-for", "198.51.100.99").send().await.unwrap();
        assert_eq!(res.status(), 429, "{path}: the header of an untrusted peer changes nothing");
        let wait: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&wait), "{wait}");
        assert!(res.text().await.unwrap().contains(&format!("Wait {wait} seconds and try again")));
    }
    assert_eq!(http.get(app.url("/healthz")).send().await.unwrap().status(), 200, "healthz is not limited");
    app.stop().await;
}

#[tokio::test]
async fn an_oauth_error_description_reaches_the_audit_log_short_printable_and_without_markup() {
    let w = world().await;
    let dir = tempfile::tempdir().unwrap();
    let app = crate::incidents::app(dir.path(), &w).await;
    let c = client();
    let start = c.get(app.url("/auth/webex")).send().await.unwrap();
    let authorize = reqwest::Url::parse(&location(&start)).unwrap();
    let state = authorize.query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    let evil = format!("<img src=x onerror=alert(1)>\nforged line{}", "y".repeat(5000));
    let res = c
        .get(app.url("/auth/webex/callback"))
        .query(&[("error", "access_denied"), ("error_description", evil.as_str()), ("state", state.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let store = switchboard::store::Store::open_in_dir(&app.data_dir).await.unwrap();
    let detail: String = sqlx::query_scalar("SELECT detail FROM audit_log WHERE action = 'login.webex' AND result = 'denied'")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert!(!detail.contains('<') && !detail.contains('>') && !detail.contains('\n'), "{detail}");
    assert!(detail.contains("img src=x") && detail.chars().count() < 300, "{detail}");
    app.stop().await;
}

#[tokio::test]
async fn the_audit_page_tells_a_local_user_from_a_webex_user_of_the_same_name() {
    let w = world().await;
    let dir = tempfile::tempdir().unwrap();
    let app = crate::incidents::app(dir.path(), &w).await;
    assert_eq!(location(&connect_org(&app, "admin@example.com").await), "/incidents?connected=1");
    app.add_user("moderator@example.com", "local-password-1", Role::Operator).await;
    assert_eq!(login(&app, &client(), "moderator@example.com", "local-password-1").await.status(), 303);
    assert_eq!(location(&webex_sign_in(&app, &client(), "moderator@example.com").await), "/incidents");

    let store = switchboard::store::Store::open_in_dir(&app.data_dir).await.unwrap();
    let rows: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT action, actor_provider FROM audit_log WHERE actor = 'moderator@example.com' AND result = 'ok' ORDER BY id")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(rows, vec![("login".into(), Some("local".into())), ("login.webex".into(), Some("webex".into()))]);
    let boss = client();
    login(&app, &boss, "boss", "boss-password-1").await;
    let html = boss.get(app.url("/audit")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("(local account)") && html.contains("(Webex)"), "the page names the provider: {html}");
    app.stop().await;
}

#[tokio::test]
async fn a_webex_user_removed_from_the_admin_role_loses_access_at_the_next_role_check() {
    let w = world().await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = webex_config(dir.path(), &w, "connect-test-key");
    cfg.webex.domains.clear(); // only org admins may sign in
    cfg.webex.role_recheck_seconds = 1;
    let app = TestApp::spawn_with(cfg).await;
    assert_eq!(location(&connect_org(&app, "admin@example.com").await), "/incidents?connected=1");
    let c = client();
    assert_eq!(location(&webex_sign_in(&app, &c, "admin@example.com").await), "/incidents");
    assert_eq!(c.get(app.url("/audit")).send().await.unwrap().status(), 200, "an admin by the Webex role");

    assert!(w.webex.set_roles("admin@example.com", &[]));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let res = c.get(app.url("/audit")).send().await.unwrap();
    assert!(location(&res).starts_with("/login"), "signed out at the next check: {}", res.status());
    // And at sign-in, the roles are Webex's of now.
    let res = c.get(app.url("/auth/webex")).send().await.unwrap();
    let back = consent(&c, &location(&res), "admin@example.com", true).await;
    let res = c.get(back).send().await.unwrap();
    assert_eq!(res.status(), 403, "not allowed any more");
    app.stop().await;
}
