//! Operator sign-in, sessions, roles and the operational endpoints, over real HTTP.

use crate::common::{client, location, login, TestApp};
use leptos::server_fn::ServerFn;
use switchboard::model::Role;

#[tokio::test]
async fn pages_need_a_session_and_send_people_to_login_with_the_way_back() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let c = client();
    let res = c.get(app.url("/audit?offset=50")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login?next=/audit%3Foffset%3D50");

    let res = c.get(app.url("/login")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    assert!(body.contains(r#"action="/login""#) && body.contains(r#"method="post""#), "a plain HTML form");
    let body = c.get(app.url("/login?reason=signed-out&next=/calls")).send().await.unwrap().text().await.unwrap();
    assert!(body.contains("You are signed out."), "the page reads its own query: {body}");
    assert!(body.contains(r#"value="/calls""#), "and keeps the way back");
    app.stop().await;
}

#[tokio::test]
async fn right_password_signs_in_with_a_safe_cookie_and_shows_the_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    app.add_user("ann", "ann-password", Role::Operator).await;
    let c = client();
    let res = login(&app, &c, "ann", "ann-password").await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/");
    let cookie = res.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
    assert!(cookie.starts_with("switchboard_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain HTTP in tests: {cookie}");

    let res = c.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    assert!(body.contains("Dashboard"));
    assert!(body.contains("ann"), "shows who is signed in");
    app.stop().await;
}

#[tokio::test]
async fn wrong_password_unknown_user_and_missing_fields_get_clear_errors_without_leaks() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    app.add_user("ann", "ann-password", Role::Operator).await;
    let c = client();

    for (user, pw) in [("ann", "nope-nope"), ("nobody", "ann-password")] {
        let res = login(&app, &c, user, pw).await;
        assert_eq!(res.status(), 401, "{user}");
        assert!(res.headers().get("set-cookie").is_none(), "no session for a failed login");
        let body = res.text().await.unwrap();
        assert!(body.contains("Wrong user name or password."), "{body}");
        assert!(!body.contains("argon2"), "no hash in the page");
    }

    let res = c.post(app.url("/login")).form(&[("username", "ann")]).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("Enter your user name and password."));

    let res = c.post(app.url("/login")).header("content-type", "application/json").body("{}").send().await.unwrap();
    assert_eq!(res.status(), 400);

    let res = c.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 303, "still signed out");
    app.stop().await;
}

#[tokio::test]
async fn forty_wrong_passwords_sent_at_once_get_only_five_checks() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    app.add_user("admin", "admin-password", Role::Admin).await;
    let c = client();
    let all = futures::future::join_all((0..40).map(|_| login(&app, &c, "admin", "wrong-password"))).await;
    let count = |code: u16| all.iter().filter(|r| r.status().as_u16() == code).count();
    assert_eq!(count(429), 35, "the limit holds for attempts in flight");
    assert_eq!(count(401) + count(503), 5, "at most five were checked (a check may be told busy)");
    assert!(all.iter().filter(|r| r.status() == 503).all(|r| r.headers().contains_key("retry-after")));
    app.stop().await;
}

#[tokio::test]
async fn a_user_name_that_could_forge_log_lines_is_never_echoed_or_checked() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let c = client();
    let res = login(&app, &c, "admin\nINFO login user=admin role=admin", "whatever-password").await;
    assert_eq!(res.status(), 401);
    let body = res.text().await.unwrap();
    assert!(!body.contains("role=admin"), "the name is not echoed into the page");
    app.stop().await;
}

#[tokio::test]
async fn five_failures_in_a_minute_lock_the_user_out_with_429_even_for_the_right_password() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    app.add_user("ann", "ann-password", Role::Operator).await;
    let c = client();
    for _ in 0..5 {
        assert_eq!(login(&app, &c, "ann", "bad-password").await.status(), 401);
    }
    let res = login(&app, &c, "ann", "ann-password").await;
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers().get("retry-after").unwrap().to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    let body = res.text().await.unwrap();
    assert!(body.contains("Too many failed sign-ins"), "{body}");

    let metrics = c.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("switchboard_login_failures_total 5"), "{metrics}");
    app.stop().await;
}

#[tokio::test]
async fn a_session_survives_a_restart_and_the_id_changes_at_each_login() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    app.add_user("ann", "ann-password", Role::Viewer).await;
    let c = client();
    let first = login(&app, &c, "ann", "ann-password").await;
    let first_cookie = first.headers().get("set-cookie").unwrap().to_str().unwrap().split(';').next().unwrap().to_string();
    let second = login(&app, &c, "ann", "ann-password").await;
    let second_cookie = second.headers().get("set-cookie").unwrap().to_str().unwrap().split(';').next().unwrap().to_string();
    assert_ne!(first_cookie, second_cookie, "session id rotated at login");

    app.stop().await;
    let app = TestApp::spawn(dir.path()).await;
    let res = c.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 200, "still signed in after the restart");

    // The old id from before the second login is worthless.
    let stale = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = stale.get(app.url("/")).header("cookie", &first_cookie).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert!(location(&res).contains("reason=expired"));
    app.stop().await;
}

#[tokio::test]
async fn roles_are_enforced_in_server_functions_not_just_hidden_in_the_ui() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    app.add_user("vic", "viewer-password", Role::Viewer).await;
    app.add_user("root", "admin-password", Role::Admin).await;
    let path = app::api::AuditLog::PATH;

    let anon = client();
    let res = anon.post(app.url(path)).form(&[("offset", "0")]).send().await.unwrap();
    assert_eq!(res.status(), 401);

    let viewer = client();
    login(&app, &viewer, "vic", "viewer-password").await;
    let res = viewer.post(app.url(path)).form(&[("offset", "0")]).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("Your role (viewer) may not do this"));

    let admin = client();
    login(&app, &admin, "root", "admin-password").await;
    let res = admin.post(app.url(path)).form(&[("offset", "0")]).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let page: switchboard::model::AuditPage = res.json().await.unwrap();
    let actions: Vec<(&str, &str)> = page.entries.iter().map(|e| (e.actor.as_str(), e.result.as_str())).collect();
    assert!(actions.contains(&("vic", "ok")) && actions.contains(&("root", "ok")), "logins are audited: {actions:?}");
    app.stop().await;
}

#[tokio::test]
async fn logout_ends_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    app.add_user("ann", "ann-password", Role::Operator).await;
    let c = client();
    login(&app, &c, "ann", "ann-password").await;
    let res = c.post(app.url("/logout")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login?reason=signed-out");
    assert_eq!(c.get(app.url("/")).send().await.unwrap().status(), 303);
    app.stop().await;
}

#[tokio::test]
async fn health_metrics_body_limit_and_cross_site_posts() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let c = client();
    let res = c.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().contains_key("x-request-id"), "every answer carries its request id");
    let metrics = c.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains(r#"switchboard_http_requests_total{method="GET",route="/healthz",status="200"} 1"#), "{metrics}");
    assert!(metrics.contains("switchboard_http_request_duration_seconds_bucket"), "{metrics}");

    let huge = "x".repeat(3 * 1024 * 1024);
    let res = c.post(app.url("/login")).header("content-type", "application/x-www-form-urlencoded").body(huge).send().await.unwrap();
    assert_eq!(res.status(), 413);

    let res = c
        .post(app.url("/login"))
        .header("origin", "https://evil.example")
        .form(&[("username", "a"), ("password", "b")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // Without the browser's same-origin marker: Origin must be this very site, scheme included.
    let bare = reqwest::Client::new();
    let post = |origin: Option<&'static str>| {
        let mut r = bare.post(app.url("/login")).form(&[("username", "a"), ("password", "b")]);
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        r.send()
    };
    assert_eq!(post(None).await.unwrap().status(), 403, "neither Origin nor Sec-Fetch-Site");
    assert_eq!(post(Some("null")).await.unwrap().status(), 403);
    let https_origin: &'static str = Box::leak(app.base.replace("http://", "https://").into_boxed_str());
    assert_eq!(post(Some(https_origin)).await.unwrap().status(), 403, "another scheme is another origin");
    let own: &'static str = Box::leak(app.base.clone().into_boxed_str());
    assert_eq!(post(Some(own)).await.unwrap().status(), 401, "this site's own origin gets through to the password check");
    let cdr = bare.post(app.url("/cdr")).body("<records session=\"S\"/>").send().await.unwrap();
    assert_ne!(cdr.status(), 403, "CMS posts CDRs without any of this");
    app.stop().await;
}

#[tokio::test]
async fn a_client_that_trickles_its_headers_is_cut_off_and_others_are_served_meanwhile() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = crate::common::config_for(dir.path());
    cfg.server.header_timeout_seconds = 1;
    let app = TestApp::spawn_with(cfg).await;
    // Half the headers, and a client that stops after three bytes (before HTTP/1 vs 2 is known).
    for start in [&b"GET /healthz HTTP/1.1\r\nHost: x\r\n"[..], &b"GET"[..]] {
        let mut slow = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://")).await.unwrap();
        slow.write_all(start).await.unwrap();
        assert_eq!(reqwest::get(app.url("/healthz")).await.unwrap().status(), 200, "the others are served");
        let mut buf = Vec::new();
        let closed = tokio::time::timeout(std::time::Duration::from_secs(5), slow.read_to_end(&mut buf)).await;
        assert!(closed.is_ok(), "the server closed the connection within the header timeout");
        assert!(!String::from_utf8_lossy(&buf).contains("200 OK"), "and never answered it: {buf:?}");
    }
    app.stop().await;
}

async fn status_of_home(app: &TestApp, c: &reqwest::Client) -> u16 {
    c.get(app.url("/")).send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn a_password_reset_disable_or_delete_ends_that_users_sessions_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    for u in ["ann", "bob", "cy"] {
        app.add_user(u, &format!("{u}-password"), Role::Operator).await;
    }
    let mut sessions = Vec::new();
    for u in ["ann", "bob", "cy"] {
        let c = client();
        assert_eq!(login(&app, &c, u, &format!("{u}-password")).await.status(), 303);
        sessions.push(c);
    }
    let d = app.data_dir.to_str().unwrap().to_string();
    for c in &sessions {
        assert_eq!(status_of_home(&app, c).await, 200);
    }
    let reset = crate::cli::run(&["user", "add", "ann", "--role", "operator", "--replace", "--data-dir", &d], Some("ann-new-password\n"));
    assert!(reset.status.success());
    let disable = crate::cli::run(&["user", "disable", "bob", "--data-dir", &d], None);
    assert!(disable.status.success(), "{}", String::from_utf8_lossy(&disable.stderr));
    let delete = crate::cli::run(&["user", "delete", "cy", "--data-dir", &d], None);
    assert!(delete.status.success());
    for c in &sessions {
        assert_eq!(status_of_home(&app, c).await, 303, "back to the login page");
    }
    assert_eq!(login(&app, &client(), "bob", "bob-password").await.status(), 401, "a disabled user cannot sign in");
    assert_eq!(login(&app, &client(), "ann", "ann-new-password").await.status(), 303, "the new password works");
    let missing = crate::cli::run(&["user", "disable", "nobody", "--data-dir", &d], None);
    assert!(!missing.status.success() && String::from_utf8_lossy(&missing.stderr).contains("no user 'nobody'"));
    app.stop().await;
}

#[tokio::test]
async fn requests_do_not_rewrite_the_session_each_time() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    app.add_user("ann", "ann-password", Role::Operator).await;
    let c = client();
    login(&app, &c, "ann", "ann-password").await;
    let store = switchboard::store::Store::open_in_dir(&app.data_dir).await.unwrap();
    let expiry = || async {
        sqlx::query_scalar::<_, String>("SELECT CAST(expiry_date AS TEXT) FROM tower_sessions").fetch_all(store.pool()).await.unwrap()
    };
    let before = expiry().await;
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    for _ in 0..3 {
        assert_eq!(status_of_home(&app, &c).await, 200);
        assert_eq!(c.get(app.url("/pkg/switchboard.css")).send().await.unwrap().status().as_u16() / 100, 4, "assets need no session");
    }
    assert_eq!(expiry().await, before, "no write within the minute");
    store.close().await;
    app.stop().await;
}

#[tokio::test]
async fn the_dashboard_shows_storage_and_every_background_worker() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    app.add_user("vic", "viewer-password", Role::Viewer).await;
    let c = client();
    login(&app, &c, "vic", "viewer-password").await;
    let s: switchboard::model::SystemStatus =
        c.post(app.url(app::api::GetSystemStatus::PATH)).form(&[("", "")]).send().await.unwrap().json().await.unwrap();
    assert!(s.storage.detail.contains(" MB") && s.storage.detail.contains("oldest CDR"), "{:?}", s.storage);
    let names: Vec<&str> = s.workers.iter().map(|w| w.name.as_str()).collect();
    for w in ["Worker cdr-writer", "Worker retention", "Worker session-reaper", "Worker branding-request-log", "Worker branding-watcher"] {
        assert!(names.contains(&w), "{w} in {names:?}");
    }
    assert!(s.workers.iter().all(|w| w.state == switchboard::model::ComponentState::Up), "{:?}", s.workers);
    app.stop().await;
}

/// A request whose body never finishes arriving (Content-Length says 100, 10 bytes come).
async fn stalled_post(app: &TestApp) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut s = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://")).await.unwrap();
    let head = "POST /login HTTP/1.1\r\nHost: x\r\nSec-Fetch-Site: same-origin\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nusername=a";
    s.write_all(head.as_bytes()).await.unwrap();
    s
}

#[tokio::test]
async fn a_request_that_takes_too_long_is_answered_408() {
    use tokio::io::AsyncReadExt;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = crate::common::config_for(dir.path());
    cfg.server.request_timeout_seconds = 1;
    let app = TestApp::spawn_with(cfg).await;
    let mut s = stalled_post(&app).await;
    let mut buf = vec![0u8; 512];
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), s.read(&mut buf)).await.expect("answered in time").unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 408"), "{}", String::from_utf8_lossy(&buf[..n]));
    app.stop().await;
}

#[tokio::test]
async fn shutdown_waits_for_requests_in_flight_only_until_the_grace_period_ends() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = crate::common::config_for(dir.path());
    cfg.server.shutdown_grace_seconds = 1;
    let app = TestApp::spawn_with(cfg).await;
    let _stuck = stalled_post(&app).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let t = std::time::Instant::now();
    tokio::time::timeout(std::time::Duration::from_secs(10), app.stop()).await.expect("stopped despite the stuck request");
    assert!(t.elapsed() < std::time::Duration::from_secs(5), "{:?}", t.elapsed());
}

#[tokio::test]
async fn in_serve_mode_the_session_cookie_is_secure_unless_configured_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = crate::common::config_for(dir.path());
    cfg.server.secure_cookies = None;
    let app = TestApp::spawn_with(cfg).await;
    app.add_user("ann", "ann-password", Role::Operator).await;
    let res = login(&app, &client(), "ann", "ann-password").await;
    assert_eq!(res.status(), 303);
    let cookie = res.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
    assert!(cookie.contains("Secure") && cookie.contains("HttpOnly"), "a production default: {cookie}");
    app.stop().await;
}

#[tokio::test]
async fn healthz_answers_503_naming_a_worker_that_stopped_working() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let res = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().starts_with("ok"));

    // A worker that promised a heartbeat every 20 ms and never beats: stuck after three missed.
    let spec = switchboard::workers::WorkerSpec::new("probe-worker").heartbeat(std::time::Duration::from_millis(20));
    app.services.workers.spawn(spec, |_ctx| std::future::pending::<()>());
    let mut last = (0, String::new());
    for _ in 0..100 {
        let res = reqwest::get(app.url("/healthz")).await.unwrap();
        last = (res.status().as_u16(), res.text().await.unwrap());
        if last.0 == 503 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(last.0, 503, "{}", last.1);
    assert!(last.1.contains("workers not running: probe-worker"), "{}", last.1);
    app.stop().await;
}
