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
        "[server]\naddr = \"127.0.0.1:1\"\ndata_dir = \"{}\"\n[cdr]\ntoken = \"0123456789abcdef0123\"\n[[cms.nodes]]\nname = \"cb1\"\nurl = \"https://cb1.example.com:445\"\nusername = \"api\"\npassword = \"pw\"\n[calendar]\nenabled = true\news_url = \"http://exchange.example.com/EWS/Exchange.asmx\"\news_user = \"svc\"\news_password = \"pw\"\n",
        dir.path().join("d").display()
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
