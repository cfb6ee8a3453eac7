//! The `switchboard` command line, run as a person would run it.

use std::io::Write;
use std::process::{Command, Output, Stdio};

pub(crate) fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .env_remove("SWITCHBOARD_ADMIN_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("switchboard runs");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

#[tokio::test]
async fn user_add_reads_the_password_from_stdin_and_refuses_duplicates_and_bad_roles() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let out = run(&["user", "add", "ann", "--role", "operator", "--data-dir", d], Some("ann-password\n"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("User 'ann' (operator) saved."));

    let out = run(&["user", "add", "ann", "--role", "admin", "--data-dir", d], Some("other-password\n"));
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("already exists"), "{}", text(&out.stderr));

    let out = run(&["user", "add", "bob", "--role", "root", "--data-dir", d], Some("bob-password\n"));
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("admin, operator or viewer"), "{}", text(&out.stderr));

    let out = run(&["user", "add", "cy", "--role", "viewer", "--data-dir", d], Some("short\n"));
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("at least 8 characters"), "{}", text(&out.stderr));

    let store = switchboard::store::Store::open_in_dir(dir.path()).await.unwrap();
    let ann = switchboard::auth::Users::new(store.clone()).authenticate("ann", "ann-password").await.unwrap().expect("ann can sign in");
    assert_eq!(ann.role, switchboard::model::Role::Operator);
    assert!(switchboard::auth::Users::new(store.clone()).find("bob").await.unwrap().is_none());
    // Nothing in the output gives the hash away.
    assert!(!text(&run(&["user", "add", "dee", "--role", "viewer", "--data-dir", d], Some("dee-password\n")).stdout).contains("argon2"));
}

#[test]
fn migrate_creates_the_database_and_a_bad_config_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = run(&["migrate", "--data-dir", data.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(data.join("switchboard.db").exists());

    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "[server]\naddr = \"nowhere\"\n").unwrap();
    let out = run(&["serve", "--config", cfg.to_str().unwrap()], None);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("server.addr") && err.starts_with("error: "), "{err}");
    assert!(!err.contains("panicked"), "a clean error, not a crash: {err}");

    let out = run(&["serve", "--config", dir.path().join("missing.toml").to_str().unwrap()], None);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("missing.toml"));
}

#[test]
fn serve_refuses_exchange_over_plain_http_naming_the_key_and_the_way_out() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("http.toml");
    let base = format!(
        "[server]\naddr = \"127.0.0.1:1\"\ndata_dir = \"{}\"\n[cdr]\ntoken = \"0123456789abcdef0123\"\n[[cms.nodes]]\nname = \"cb1\"\nurl = \"https://cb1.example.com:445\"\nusername = \"api\"\npassword = \"pw\"\n[calendar]\nenabled = true\news_url = \"http://exchange.example.com/EWS/Exchange.asmx\"\news_user = \"svc\"\news_password = \"pw\"\nsecrets_key = \"{}\"\n",
        dir.path().join("d").display(),
        switchboard::secret::SecretBox::generate_key()
    );
    std::fs::write(&cfg, &base).unwrap();
    let out = run(&["serve", "--config", cfg.to_str().unwrap()], None);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("calendar.ews_url") && err.contains("server.allow_insecure_http"), "{err}");
    assert!(!dir.path().join("d").exists(), "refused before anything was created");
}

#[test]
fn serve_refuses_a_cdr_receiver_anyone_could_post_to_unless_told_it_is_on_purpose() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("open.toml");
    std::fs::write(&cfg, format!("[server]\naddr = \"127.0.0.1:1\"\ndata_dir = \"{}\"\n", dir.path().join("d").display())).unwrap();
    let out = run(&["serve", "--config", cfg.to_str().unwrap()], None);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("cdr.token") && err.contains("cdr.open"), "{err}");
    assert!(!dir.path().join("d").exists(), "refused before anything was created");
}

/// SIGTERM while a request is still in flight (a client that sent the headers of a CDR batch
/// and then nothing): the process ends by itself within its grace and the wind-down after it,
/// instead of waiting for the request's own timeout (ten minutes here).
#[tokio::test]
async fn serve_ends_within_its_shutdown_grace_whatever_is_in_flight() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let cfg = dir.path().join("grace.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\naddr = \"127.0.0.1:{port}\"\ndata_dir = \"{}\"\nshutdown_grace_seconds = 1\nrequest_timeout_seconds = 600\n[cdr]\ntoken = \"0123456789abcdef0123\"\n",
            dir.path().join("d").display()
        ),
    )
    .unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["serve", "--config", cfg.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut up = false;
    for _ in 0..300 {
        if http.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(up, "serve started");
    let mut stalled = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stalled
        .write_all(b"POST /cdr?token=0123456789abcdef0123 HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\nContent-Length: 100000\r\n\r\n<records")
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let pid = child.id().unwrap().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    // Grace (1 s) + wind-down (at most 1 s more) + the runtime's own exit wait: well inside 20 s;
    // without the bound the process would wait for the stalled request (600 s).
    let status = tokio::time::timeout(std::time::Duration::from_secs(20), child.wait()).await;
    let status = status.expect("the process ended within its grace, not at the request timeout").unwrap();
    assert!(status.success(), "a clean exit: {status:?}");
    drop(stalled);
}

/// `run`, with the database given by the environment as an operator would give it.
fn run_on(url: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .env_remove("SWITCHBOARD_ADMIN_PASSWORD")
        .env("SWITCHBOARD_DATABASE__URL", url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("switchboard runs");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

/// Every capability stores on PostgreSQL (NOT_PORTED_TO_POSTGRES is empty): `serve` starts on a
/// postgres:// database and answers /healthz. (The refusal naming unported parts is tested in
/// switchboard's store module with a non-empty list.)
#[tokio::test]
async fn migrate_user_add_and_serve_work_on_postgres() {
    use switchboard::store::testing::{TestBackend, TestDb};
    let db = TestDb::fresh_unmigrated(TestBackend::Postgres).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();

    let out = run_on(&db.url, &["migrate", "--data-dir", d], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("is up to date"), "{}", text(&out.stdout));
    assert!(!dir.path().join("switchboard.db").exists(), "no SQLite file beside PostgreSQL");

    let out = run_on(&db.url, &["user", "add", "ann", "--role", "admin", "--data-dir", d], Some("ann-password\n"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let ann = switchboard::auth::Users::new(db.store.clone()).authenticate("ANN", "ann-password").await.unwrap();
    assert_eq!(ann.map(|u| u.role), Some(switchboard::model::Role::Admin));

    assert!(switchboard::store::NOT_PORTED_TO_POSTGRES.is_empty(), "{:?}", switchboard::store::NOT_PORTED_TO_POSTGRES);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let cfg = dir.path().join("pg.toml");
    std::fs::write(&cfg, format!("[server]\naddr = \"127.0.0.1:{port}\"\ndata_dir = \"{d}\"\n[cdr]\ntoken = \"0123456789abcdef0123\"\n"))
        .unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["serve", "--config", cfg.to_str().unwrap()])
        .env_remove("SWITCHBOARD_ADMIN_PASSWORD")
        .env("SWITCHBOARD_DATABASE__URL", &db.url)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let mut healthz = None;
    for _ in 0..300 {
        if let Ok(r) = http.get(format!("http://127.0.0.1:{port}/healthz")).send().await {
            healthz = Some(r.status().as_u16());
            if r.status().is_success() {
                break;
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                use tokio::io::AsyncReadExt;
                let _ = e.read_to_string(&mut err).await;
            }
            panic!("serve ended ({status}) on PostgreSQL: {err}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(healthz, Some(200), "serve on PostgreSQL answers /healthz");
    assert!(!dir.path().join("switchboard.db").exists(), "serve made no SQLite file either");
    let pid = child.id().unwrap().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = tokio::time::timeout(std::time::Duration::from_secs(20), child.wait()).await.expect("serve stops").unwrap();
    assert!(status.success(), "a clean exit: {status:?}");
}
