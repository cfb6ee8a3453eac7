//! Simulators started apart on the command line, as a tester wires them, make one world: the
//! CMS users a list names (each with its personal space), the mailboxes the EWS and Graph
//! simulators are given, and Switchboard's calendar user sync finding them all; `/sim/requests`
//! on EWS and Graph shows what Switchboard asked.

use crate::common::{config_for, TestApp};
use server::config::{CmsNodeConfig, Secret};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use switchboard::sim::request_log::LoggedRequest;

/// A simulator process; killed when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn start(args: &[&str], port: u16) -> Running {
    let child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the simulator starts");
    let running = Running(child);
    let t = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(t.elapsed() < Duration::from_secs(30), "{args:?} never listened on {port}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    running
}

async fn until<F: std::future::Future<Output = bool>>(what: &str, mut f: impl FnMut() -> F) {
    let t = Instant::now();
    while !f().await {
        assert!(t.elapsed() < Duration::from_secs(30), "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn sim_requests(base: &str) -> Vec<LoggedRequest> {
    let res = reqwest::get(format!("{base}/sim/requests")).await.unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn simulators_given_the_same_lists_make_one_world_the_user_sync_finds_and_each_shows_what_it_received() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.txt");
    std::fs::write(&users, "# as LDAP would give them\nann.lee@example.com\nbob.stone@example.com, Bob Stone\ndave@cloud.example.com\n")
        .unwrap();
    let ews_list = dir.path().join("mailboxes.txt");
    std::fs::write(&ews_list, "ann.lee@example.com\nbob.stone@example.com\n").unwrap();
    let (cms_port, ews_port, graph_port) = (free_port(), free_port(), free_port());
    let (cms_addr, ews_addr, graph_addr) =
        (format!("127.0.0.1:{cms_port}"), format!("127.0.0.1:{ews_port}"), format!("127.0.0.1:{graph_port}"));
    let users_arg = users.to_str().unwrap();
    let _cms = start(
        &[
            "sim",
            "cms",
            "--addr",
            &cms_addr,
            "--scenario",
            "quiet",
            "--user",
            "api",
            "--password",
            "api-pass",
            "--user-list",
            users_arg,
            "--cms-user",
            "cy@example.com,Cy Young",
        ],
        cms_port,
    )
    .await;
    let ews_arg = ews_list.to_str().unwrap();
    let _ews = start(&["sim", "ews", "--addr", &ews_addr, "--mailboxes-file", ews_arg, "--mailbox", "cy@example.com"], ews_port).await;
    let _graph = start(&["sim", "graph", "--addr", &graph_addr, "--mailbox", "dave@cloud.example.com"], graph_port).await;

    let mut cfg = config_for(dir.path());
    cfg.cms.username = "api".into();
    cfg.cms.password = Secret("api-pass".into());
    cfg.cms.nodes = vec![CmsNodeConfig {
        name: "cb1".into(),
        url: format!("http://{cms_addr}"),
        username: None,
        password: None,
        ca_file: None,
        insecure: false,
    }];
    let c = &mut cfg.calendar;
    c.secrets_key = Some(Secret(switchboard::secret::SecretBox::generate_key()));
    c.enabled = true;
    c.mail_domain = "example.com".into();
    c.web_app_url = "https://join.example.com".into();
    c.ews_url = format!("http://{ews_addr}/EWS/Exchange.asmx");
    c.ews_user = "svc-switchboard".into();
    c.ews_password = Secret("svc-pass".into());
    c.ews_domains = vec!["example.com".into()];
    c.graph_tenant = "contoso".into();
    c.graph_client_id = "switchboard-app".into();
    c.graph_client_secret = Secret("app-secret".into());
    c.graph_domains = vec!["cloud.example.com".into()];
    c.graph_login_url = format!("http://{graph_addr}");
    c.graph_api_url = format!("http://{graph_addr}/v1.0");
    let app = TestApp::spawn_with(cfg).await;
    let calendar = app.services.calendar.clone().expect("the calendar is configured");

    // Every listed user, each with the personal space named `<local part>.space`.
    // (The sync at start may still be running: then this one waits its turn.)
    let t = Instant::now();
    let report = loop {
        match calendar.sync_users("test").await {
            Err(switchboard::calendar::users::SyncError::Busy) if t.elapsed() < Duration::from_secs(30) => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            r => break r.unwrap(),
        }
    };
    assert_eq!((report.users, report.no_space), (4, 0), "{report:?}");
    let store = switchboard::store::Store::open_in_dir(&app.data_dir).await.unwrap();
    let rows: Vec<(String, String, Option<String>)> =
        sqlx::query_as("SELECT jid, mailbox, uri FROM calendar_users ORDER BY jid").fetch_all(store.pool()).await.unwrap();
    let want = [
        ("ann.lee@example.com", "ann.lee.space"),
        ("bob.stone@example.com", "bob.stone.space"),
        ("cy@example.com", "cy.space"),
        ("dave@cloud.example.com", "dave.space"),
    ];
    let got: Vec<(&str, &str, &str)> = rows.iter().map(|(j, m, u)| (j.as_str(), m.as_str(), u.as_deref().unwrap_or(""))).collect();
    assert_eq!(got, want.iter().map(|(j, u)| (*j, *j, *u)).collect::<Vec<_>>());
    store.close().await;

    // Each simulator holds the mailboxes it was given: Switchboard's requests for them succeed
    // (an unknown mailbox would be ErrorNonExistentMailbox / ErrorInvalidUser), as its
    // `/sim/requests` shows.
    let ews_base = format!("http://{ews_addr}");
    for mailbox in ["ann.lee@example.com", "bob.stone@example.com", "cy@example.com"] {
        until(&format!("a subscription for {mailbox}"), || async {
            sim_requests(&ews_base).await.iter().any(|r| {
                r.method == "POST"
                    && r.path == "/EWS/Exchange.asmx"
                    && r.status == 200
                    && r.body.contains("Subscribe")
                    && r.body.contains(mailbox)
            })
        })
        .await;
    }
    assert!(
        !sim_requests(&ews_base).await.iter().any(|r| r.body.contains("dave@cloud.example.com")),
        "Graph's mailbox is not asked of EWS"
    );
    let graph_base = format!("http://{graph_addr}");
    until("Dave's calendar asked of Graph", || async {
        sim_requests(&graph_base)
            .await
            .iter()
            .any(|r| r.path.replace("%40", "@") == "/v1.0/users/dave@cloud.example.com/calendarView/delta" && r.status == 200)
    })
    .await;
    let graph_seen = sim_requests(&graph_base).await;
    let token = graph_seen.iter().find(|r| r.path == "/contoso/oauth2/v2.0/token").expect("a token was asked for");
    assert_eq!(token.method, "POST");
    // (Our client sends the secret in Basic authentication; headers are not logged, and a
    // secret in the form would be masked.)
    assert!(token.body.contains("grant_type=client_credentials") && !token.body.contains("app-secret"), "{}", token.body);
    let users_asked: Vec<String> =
        graph_seen.iter().filter(|r| r.path.starts_with("/v1.0/users/")).map(|r| r.path.replace("%40", "@")).collect();
    assert!(users_asked.iter().all(|p| p.starts_with("/v1.0/users/dave@cloud.example.com/")), "only Graph's mailbox: {users_asked:?}");

    // Emptied on request, as on the CMS simulator.
    let res = reqwest::Client::new().delete(format!("{graph_base}/sim/requests")).send().await.unwrap();
    assert_eq!(res.status(), 204);
    app.stop().await;
}
