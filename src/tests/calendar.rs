//! The calendar's CMS user sync against the CMS simulator over real HTTP and a real SQLite file:
//! paging to `total` with short pages, the personal space found from the user's own spaces,
//! the naming fallback with an exact check, and the diff between runs.

use std::time::Duration;
use switchboard::calendar::users::{SyncConfig, UserSync};
use switchboard::cms::{CmsNode, NodeConfig};
use switchboard::sim::cms::{SimCms, SimConfig};
use switchboard::store::Store;

#[tokio::test]
async fn user_sync_pages_finds_personal_spaces_robustly_and_reports_the_diff() {
    let sim = SimCms::start(
        "127.0.0.1:0".parse().unwrap(),
        SimConfig { username: "api".into(), password: "pw".into(), max_page: 7, ..SimConfig::default() },
    )
    .await
    .unwrap();
    let c = &sim.cluster;
    // 23 users (pages of 7): most own an LDAP-made space; one has only a space by the naming
    // convention; one has nothing (and a look-alike space that must not match).
    for i in 0..21 {
        c.add_user(&format!("user{i}@cms.example.com"), &format!("User {i}"), &format!("user{i}@example.com"));
        c.add_co_space(
            &format!("User {i}'s space"),
            &format!("user{i}.space"),
            &format!("100{i:03}"),
            Some(&format!("user{i}@cms.example.com")),
            Some("1234"),
        );
    }
    c.add_user("legacy@cms.example.com", "Legacy", "");
    c.add_co_space("legacy.space", "legacy.space", "200001", None, None);
    c.add_user("jdoe@cms.example.com", "J Doe", "jdoe@example.com");
    c.add_co_space("ajdoe.space", "ajdoe.space", "200002", None, None);

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in_dir(dir.path()).await.unwrap();
    store.migrate().await.unwrap();
    let mut nc = NodeConfig::new("cb1", &sim.url(0), "api", "pw");
    nc.timeout = Duration::from_secs(5);
    let node = CmsNode::new(nc).unwrap();
    let cfg = SyncConfig {
        mail_domain: "example.com".into(),
        space_suffix: "space".into(),
        web_app_url: "https://join.example.com".into(),
        concurrency: 4,
    };
    let sync = UserSync::new(store.clone(), cfg);
    let r = sync.run(&node, "test").await.unwrap();
    assert_eq!((r.users, r.added, r.changed, r.gone, r.no_space), (23, 23, 0, 0, 1), "{r:?}");
    let users = sync.users().await.unwrap();
    let u5 = users.iter().find(|u| u.jid == "user5@cms.example.com").unwrap();
    assert_eq!(u5.mailbox, "user5@example.com");
    assert_eq!((u5.uri.as_deref(), u5.call_id.as_deref(), u5.passcode.as_deref()), (Some("user5.space"), Some("100005"), Some("1234")));
    assert!(u5.web_link.as_deref().unwrap().starts_with("https://join.example.com/meeting/100005?secret="));
    let legacy = sync.by_mailbox("legacy@example.com").await.unwrap().expect("mailbox from the JID when there is no email");
    assert_eq!(legacy.uri.as_deref(), Some("legacy.space"), "the naming fallback");
    let jdoe = users.iter().find(|u| u.jid == "jdoe@cms.example.com").unwrap();
    assert_eq!(jdoe.space_id, None, "ajdoe.space is not jdoe's");
    let asked: Vec<String> = sim.node(0).requests().into_iter().filter(|r| r.path == "/api/v1/users").map(|r| r.query).collect();
    assert!(asked.len() >= 4, "paged through short pages: {asked:?}");

    // Second run: one user changed their space, one left, one joined.
    let s5 = u5.space_id.clone().unwrap();
    let client = reqwest::Client::new();
    let res = client
        .put(format!("{}/api/v1/coSpaces/{s5}", sim.url(0)))
        .basic_auth("api", Some("pw"))
        .form(&[("passcode", "9999")])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let gone_id = sim.cluster.user_id("user7@cms.example.com").unwrap();
    sim.cluster.remove_user(&gone_id);
    c.add_user("new@cms.example.com", "New", "new@example.com");
    let r = sync.run(&node, "test").await.unwrap();
    assert_eq!((r.users, r.added, r.changed, r.gone, r.no_space), (23, 1, 1, 1, 2), "{r:?}");
    assert!(r.diff.iter().any(|d| d.jid == "user5@cms.example.com" && d.what == "changed"));
    assert!(r.diff.iter().any(|d| d.jid == "user7@cms.example.com" && d.what == "gone"));
    let runs: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, added FROM calendar_sync_runs ORDER BY id").fetch_all(store.pool()).await.unwrap();
    assert_eq!(runs, vec![("done".to_string(), 23), ("done".to_string(), 1)]);
}
