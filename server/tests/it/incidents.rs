//! Incident rooms over real HTTP: Switchboard against the Webex and Webex Connect simulators,
//! with a real SQLite file. The OAuth dances go through the simulator's consent page as a
//! browser would (GET authorize, POST the form, follow the redirect back).

use crate::common::{client, config_for, location, login, TestApp};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;
use switchboard::model::Role;
use switchboard::sim::connect::{ConnectConfig, SimConnect};
use switchboard::sim::webex::{SimWebex, WebexSimConfig};

pub const KEY: &str = "connect-test-key";

pub struct World {
    pub webex: SimWebex,
    pub connect: SimConnect,
    pub secrets_key: String,
}

pub async fn world() -> World {
    let webex = SimWebex::start("127.0.0.1:0".parse().unwrap(), WebexSimConfig::demo()).await.unwrap();
    let connect = SimConnect::start("127.0.0.1:0".parse().unwrap(), ConnectConfig { service_key: KEY.into() }).await.unwrap();
    World { webex, connect, secrets_key: switchboard::webex::SecretBox::generate_key() }
}

pub fn webex_config(dir: &Path, w: &World, connect_key: &str) -> server::config::Config {
    let mut cfg = config_for(dir);
    let sim = WebexSimConfig::demo();
    cfg.webex.enabled = true;
    cfg.webex.client_id = sim.client_id;
    cfg.webex.client_secret = server::config::Secret(sim.client_secret);
    cfg.webex.api_url = format!("{}/v1", w.webex.url());
    cfg.webex.secrets_key = Some(server::config::Secret(w.secrets_key.clone()));
    cfg.webex.org_admins_role = Some("admin".into());
    cfg.webex.domains.insert("example.com".into(), "operator".into());
    cfg.webex.responders_space_id = Some(room_id(w, "Incident_Responders_Members"));
    cfg.connect.url = w.connect.url();
    cfg.connect.service_key = Some(server::config::Secret(connect_key.into()));
    cfg.connect.sms_from = "+14155550100".into();
    cfg.connect.voice_from = "+14155550199".into();
    cfg
}

pub async fn app(dir: &Path, w: &World) -> TestApp {
    TestApp::spawn_with(webex_config(dir, w, KEY)).await
}

/// Follows Switchboard's redirect to the simulator's consent page, answers it as `email`
/// (accept or decline), and returns the simulator's redirect back to Switchboard.
pub async fn consent(c: &reqwest::Client, authorize_url: &str, email: &str, accept: bool) -> String {
    let page = c.get(authorize_url).send().await.unwrap();
    assert_eq!(page.status(), 200, "the consent page answers");
    let html = page.text().await.unwrap();
    assert!(html.contains("name=\"email\""), "a person can be picked: {html}");
    let url = reqwest::Url::parse(authorize_url).unwrap();
    let mut form: Vec<(String, String)> = url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    form.push(("email".into(), email.into()));
    form.push(("decision".into(), if accept { "accept" } else { "decline" }.into()));
    let post = format!("{}://{}/v1/authorize", url.scheme(), url.host_str().unwrap().to_owned() + &format!(":{}", url.port().unwrap()));
    let res = c.post(post).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 303, "consent answers with a redirect");
    location(&res)
}

/// "Sign in with Webex" as `email`; returns Switchboard's answer to the callback.
pub async fn webex_sign_in(app: &TestApp, c: &reqwest::Client, email: &str) -> reqwest::Response {
    let res = c.get(app.url("/auth/webex?next=/incidents")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let back = consent(c, &location(&res), email, true).await;
    assert!(back.starts_with(&app.base), "back to Switchboard: {back}");
    c.get(back).send().await.unwrap()
}

/// The local admin [`connect_org`] made, signed in: only admins edit the external directory.
pub async fn admin(app: &TestApp) -> reqwest::Client {
    let c = client();
    let res = login(app, &c, "boss", "boss-password-1").await;
    assert_eq!(res.status(), 303, "the admin signs in");
    c
}

/// A local admin connects the Webex org as `email`.
pub async fn connect_org(app: &TestApp, email: &str) -> reqwest::Response {
    app.add_user("boss", "boss-password-1", Role::Admin).await;
    let c = client();
    login(app, &c, "boss", "boss-password-1").await;
    let res = c.post(app.url("/incidents/connect")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let back = consent(&c, &location(&res), email, true).await;
    c.get(back).send().await.unwrap()
}

/// Calls an incident server function (JSON in, JSON out); returns status and body.
pub async fn call(app: &TestApp, c: &reqwest::Client, name: &str, body: Value) -> (u16, Value) {
    let res = c.post(app.url(&format!("/api/incidents/{name}"))).json(&body).send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

pub fn room_id(_w: &World, title: &str) -> String {
    WebexSimConfig::demo().org.room_by_title(title).unwrap().id.clone()
}

pub fn person_id(email: &str) -> String {
    WebexSimConfig::demo().org.person_by_email(email).unwrap().id.clone()
}

/// Connected org, directory loaded, the moderator signed in with Webex: ready to run incidents.
pub async fn ready(dir: &Path, w: &World) -> (TestApp, reqwest::Client) {
    ready_with(app(dir, w).await).await
}

/// [`ready`] for an application started with its own configuration.
async fn ready_with(app: TestApp) -> (TestApp, reqwest::Client) {
    assert_eq!(location(&connect_org(&app, "admin@example.com").await), "/incidents?connected=1");
    let c = client();
    let res = webex_sign_in(&app, &c, "moderator@example.com").await;
    assert_eq!(location(&res), "/incidents");
    let (s, n) = call(&app, &c, "refresh_directory", json!({})).await;
    assert_eq!(s, 200, "{n}");
    (app, c)
}

pub async fn wait_for<F: Fn(&Value) -> bool>(app: &TestApp, c: &reqwest::Client, room: &str, what: &str, f: F) -> Value {
    for _ in 0..300 {
        let (s, page) = call(app, c, "get_space", json!({"room_id": room})).await;
        assert_eq!(s, 200, "{page}");
        if f(&page) {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Calls a server function that takes a form (the default encoding), as the settings page does.
pub async fn call_form(app: &TestApp, c: &reqwest::Client, name: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let res = c.post(app.url(&format!("/api/incidents/{name}"))).form(form).send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn timeline_details(page: &Value, kind: &str) -> Vec<String> {
    page["incident"]["timeline"]
        .as_array()
        .map(|t| t.iter().filter(|e| e["kind"] == kind).map(|e| e["detail"].as_str().unwrap_or_default().to_string()).collect())
        .unwrap_or_default()
}

pub fn deliveries(page: &Value) -> Vec<Value> {
    page["incident"]["deliveries"].as_array().cloned().unwrap_or_default()
}

pub fn all_done(page: &Value) -> bool {
    let d = deliveries(page);
    !d.is_empty() && d.iter().all(|d| d["status"] == "sent" || d["status"] == "failed" || d["status"] == "unknown")
}

#[tokio::test]
async fn the_org_grant_starts_only_with_a_same_site_post() {
    let dir = tempfile::tempdir().unwrap();
    let w = world().await;
    let app = app(dir.path(), &w).await;
    app.add_user("boss", "boss-password-1", Role::Admin).await;
    let c = client();
    login(&app, &c, "boss", "boss-password-1").await;
    let res = c.get(app.url("/incidents/connect")).send().await.unwrap();
    assert_eq!(res.status(), 405, "a link or an image cannot start it");
    let res = c.post(app.url("/incidents/connect")).header("sec-fetch-site", "cross-site").send().await.unwrap();
    assert_eq!(res.status(), 403, "another site cannot start it");
    let res = c.post(app.url("/incidents/connect")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert!(location(&res).contains("/authorize?"), "{}", location(&res));
}

#[tokio::test]
async fn sign_in_with_webex_gives_a_session_by_the_rules_and_refuses_tampered_or_declined_callbacks() {
    let dir = tempfile::tempdir().unwrap();
    let w = world().await;
    let app = app(dir.path(), &w).await;
    // Before any org grant, the org is unknown: nobody may enter (default: nobody).
    let c = client();
    let res = webex_sign_in(&app, &c, "moderator@example.com").await;
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("not allowed to sign in"));

    assert_eq!(location(&connect_org(&app, "admin@example.com").await), "/incidents?connected=1");
    let c = client();
    let res = webex_sign_in(&app, &c, "moderator@example.com").await;
    assert_eq!((res.status().as_u16(), location(&res)), (303, "/incidents".to_string()));
    let page = c.get(app.url("/incidents")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("moderator@example.com") && html.contains("operator"), "signed in as an operator");

    // A tampered state: refused, no session.
    let t = client();
    let res = t.get(app.url("/auth/webex?next=/")).send().await.unwrap();
    let back = consent(&t, &location(&res), "moderator@example.com", true).await;
    let forged = back.replace("state=", "state=x");
    let res = t.get(&forged).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("state does not match"));
    assert_eq!(t.get(app.url("/incidents")).send().await.unwrap().status(), 303, "not signed in");
    // The code cannot be used again afterwards (the login under way was used up).
    let res = t.get(&back).send().await.unwrap();
    assert_eq!(res.status(), 400);

    // Code swap: the code of one login with the state of another is refused by PKCE.
    let s = client();
    let first = location(&s.get(app.url("/auth/webex")).send().await.unwrap());
    let back_a = consent(&s, &first, "moderator@example.com", true).await;
    let second = location(&s.get(app.url("/auth/webex")).send().await.unwrap());
    let state_b = reqwest::Url::parse(&second).unwrap().query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    let code_a = reqwest::Url::parse(&back_a).unwrap().query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    let res = s.get(app.url(&format!("/auth/webex/callback?code={code_a}&state={state_b}"))).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("refused the sign-in code"));

    // Declined at Webex: a clear page.
    let d = client();
    let res = d.get(app.url("/auth/webex")).send().await.unwrap();
    let back = consent(&d, &location(&res), "moderator@example.com", false).await;
    let res = d.get(back).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("not allowed"));

    let audit = switchboard::store::Store::open_in_dir(&app.data_dir).await.unwrap();
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT action, result FROM audit_log WHERE action IN ('login.webex', 'webex.grant') ORDER BY id")
            .fetch_all(audit.pool())
            .await
            .unwrap();
    assert!(rows.contains(&("webex.grant".into(), "ok".into())));
    assert!(rows.contains(&("login.webex".into(), "ok".into())));
    let detail: String = sqlx::query_scalar("SELECT detail FROM audit_log WHERE action = 'login.webex' AND result = 'ok'")
        .fetch_one(audit.pool())
        .await
        .unwrap();
    assert_eq!(detail, "as operator", "the role by the domain rule");
    assert!(rows.iter().filter(|r| r.0 == "login.webex" && r.1 == "denied").count() >= 3, "{rows:?}");
}

#[tokio::test]
async fn the_org_grant_is_sealed_at_rest_refreshed_on_expiry_and_says_so_when_the_refresh_token_dies() {
    let dir = tempfile::tempdir().unwrap();
    let w = world().await;
    w.webex.set_lifetimes(Duration::from_secs(2), Duration::from_secs(3600));
    let app = app(dir.path(), &w).await;
    assert_eq!(location(&connect_org(&app, "admin@example.com").await), "/incidents?connected=1");

    let store = switchboard::store::Store::open_in_dir(&app.data_dir).await.unwrap();
    let sealed: String = sqlx::query_scalar("SELECT sealed_tokens FROM webex_grant").fetch_one(store.pool()).await.unwrap();
    let tokens: Value = serde_json::from_str(
        &switchboard::webex::SecretBox::from_base64(&w.secrets_key).unwrap().open("webex-org-grant", &sealed).unwrap(),
    )
    .unwrap();
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    let mut bytes = std::fs::read(app.data_dir.join("switchboard.db")).unwrap();
    bytes.extend(std::fs::read(app.data_dir.join("switchboard.db-wal")).unwrap_or_default());
    let hay = String::from_utf8_lossy(&bytes);
    assert!(!hay.contains(&access) && !hay.contains(&refresh), "no plaintext token in the database file");

    // Expired by now: using the grant refreshes it first.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let c = client();
    login(&app, &c, "boss", "boss-password-1").await;
    let (s, n) = call(&app, &c, "refresh_directory", json!({})).await;
    assert_eq!((s, n.as_u64().unwrap_or(0) >= 50), (200, true), "{n}");
    assert!(w.webex.requests().iter().any(|r| r.path.starts_with("/v1/people") && r.status == 200));

    // The refresh token dies: "admin grant needed", and the page still works.
    w.webex.revoke_refresh_tokens();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (s, n) = call(&app, &c, "refresh_directory", json!({})).await;
    assert_eq!(s, 503, "{n}");
    assert!(n.to_string().contains("sign in with Webex again"), "{n}");
    let (s, home) = call(&app, &c, "get_incidents_home", json!({})).await;
    assert_eq!(s, 200);
    assert_eq!((home["grant"]["needs_grant"].as_bool(), home["grant"]["connected"].as_bool()), (Some(true), Some(false)), "{home}");
    let html = c.get(app.url("/incidents")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Admin grant needed: sign in with Webex again"), "the page says what to do");
}

#[tokio::test]
async fn an_incident_under_a_429_storm_delivers_every_channel_exactly_once_and_stop_removes_only_the_added() {
    let dir = tempfile::tempdir().unwrap();
    let w = world().await;
    let (app, c) = ready(dir.path(), &w).await;
    let room = room_id(&w, "Response - Network outage");
    let before: Vec<String> = w.webex.memberships(&room).iter().map(|m| m.person_id.clone()).collect();
    let (s, page) = call(&app, &c, "open_space", json!({"room_id": room})).await;
    assert_eq!(s, 200, "{page}");
    let moderator = person_id("moderator@example.com");
    assert!(w.webex.memberships(&room).iter().any(|m| m.person_id == moderator && m.is_moderator), "the commander is made moderator");

    // Add two people of the org and an external.
    let people: Vec<Value> = call(&app, &c, "search_people", json!({"q": "example.com"})).await.1.as_array().unwrap().clone();
    let added: Vec<String> = people
        .iter()
        .map(|p| p["person_id"].as_str().unwrap().to_string())
        .filter(|id| !before.contains(id) && *id != moderator)
        .take(2)
        .collect();
    for pid in &added {
        let (s, b) = call(&app, &c, "add_internal", json!({"room_id": room, "person_id": pid})).await;
        assert_eq!(s, 200, "{b}");
    }
    let boss = admin(&app).await;
    let (s, ext) = call(
        &app,
        &boss,
        "save_external",
        json!({"id": null, "name": "Pat Partner", "email": "", "mobile": "(201) 555-0199", "voice": "+44 20 7946 0958"}),
    )
    .await;
    assert_eq!(s, 200, "{ext}");
    assert_eq!(ext["sms_number"], "+12015550199");
    call(&app, &c, "link_external", json!({"room_id": room, "id": ext["id"]})).await;
    let page = call(&app, &c, "get_space", json!({"room_id": room})).await.1;
    let responders = page["responders"].as_array().unwrap().clone();
    for r in responders.iter().filter(|r| r["internal"] == true && r["sms_number"].is_string()) {
        let (s, b) =
            call(&app, &boss, "set_channel", json!({"room_id": room, "responder_id": r["id"], "channel": "sms", "on": true})).await;
        assert_eq!(s, 200, "{b}");
    }

    // A storm: every 3rd Webex call and every 2nd Connect call answers 429.
    w.webex.faults().set_throttle_every(3);
    w.connect.faults().set_throttle_every(2);
    let (s, v) = call(&app, &c, "start_incident", json!({"room_id": room, "name": "Core router down"})).await;
    assert_eq!(s, 200, "{v}");
    assert!(v["meeting_link"].as_str().unwrap().starts_with("https://"));
    let page = wait_for(&app, &c, &room, "every delivery", all_done).await;
    let d = deliveries(&page);
    assert!(d.iter().all(|d| d["status"] == "sent"), "{d:?}");
    let expected_webex = responders.iter().filter(|r| r["internal"] == true && r["is_commander"] == false).count();
    assert_eq!(d.iter().filter(|d| d["channel"] == "webex").count(), expected_webex);
    w.webex.faults().set_throttle_every(0);
    w.connect.faults().set_throttle_every(0);

    // Exactly once per person and channel, despite the 429s.
    let msgs = w.webex.messages();
    let mut to: Vec<String> = msgs.iter().filter_map(|m| m.to_person_id.clone()).collect();
    to.sort();
    let n = to.len();
    to.dedup();
    assert_eq!((n, to.len()), (expected_webex, expected_webex), "one message each");
    assert!(!to.contains(&moderator), "never to the sender");
    assert!(msgs.iter().all(|m| m.from_person_email == "moderator@example.com"), "sent as the commander");
    assert!(msgs[0].markdown.as_deref().unwrap().contains("Core router down"));
    let accepted: Vec<_> = w.connect.messages().into_iter().filter(|m| m.status == 202).collect();
    let mut keys: Vec<(String, String)> = accepted.iter().map(|m| (m.channel.clone(), m.to.clone())).collect();
    keys.sort();
    let n = keys.len();
    keys.dedup();
    assert_eq!(n, keys.len(), "no SMS or call accepted twice");
    assert!(keys.contains(&("voice".into(), "+442079460958".into())));
    assert!(w.connect.messages().iter().any(|m| m.status == 429), "the storm happened");

    // Stop: only the people added for the incident leave the Webex space.
    let (s, removed) = call(&app, &c, "stop_incident", json!({"room_id": room})).await;
    assert_eq!(s, 200, "{removed}");
    assert_eq!(removed.as_u64(), Some(added.len() as u64));
    let after: Vec<String> = w.webex.memberships(&room).iter().map(|m| m.person_id.clone()).collect();
    for p in &before {
        assert!(after.contains(p), "pre-existing member kept");
    }
    for p in &added {
        assert!(!after.contains(p), "added member removed");
    }
    assert!(after.contains(&moderator), "never the commander");
    let (s, v) = call(&app, &c, "get_incident", json!({"id": v["summary"]["id"]})).await;
    assert_eq!(s, 200);
    let kinds: Vec<&str> = v["timeline"].as_array().unwrap().iter().map(|t| t["kind"].as_str().unwrap()).collect();
    assert_eq!((kinds.first().copied(), kinds.last().copied()), (Some("started"), Some("stopped")), "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "delivery").count(), d.len(), "each delivery is on the timeline once");
}

#[tokio::test]
async fn a_responder_acknowledges_from_the_link_in_the_message_and_the_link_says_when_the_incident_is_over() {
    let dir = tempfile::tempdir().unwrap();
    let w = world().await;
    let (app, c) = ready(dir.path(), &w).await;
    let room = room_id(&w, "Response - Security");
    call(&app, &c, "open_space", json!({"room_id": room})).await;
    let (s, v) = call(&app, &c, "start_incident", json!({"room_id": room, "name": "Phishing wave"})).await;
    assert_eq!(s, 200, "{v}");
    wait_for(&app, &c, &room, "deliveries", all_done).await;
    let md = w.webex.messages().into_iter().find_map(|m| m.markdown).unwrap();
    let link = md.split_whitespace().find(|t| t.contains("/ack/")).unwrap().trim_end_matches(['.', ')']).to_string();
    assert!(link.starts_with(&app.base), "{link}");
    let anon = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = anon.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Phishing wave"));
    let res = anon.post(&link).form(&[("answer", "coming")]).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("On my way"));
    let page = wait_for(&app, &c, &room, "the ack", |p| {
        p["incident"]["acks"].as_array().is_some_and(|a| a.iter().any(|a| a["answer"] == "coming"))
    })
    .await;
    assert!(page["incident"]["timeline"].as_array().unwrap().iter().any(|t| t["kind"] == "ack"));
    // No token in the database, only its hash.
    let token = link.rsplit('/').next().unwrap();
    let store = switchboard::store::Store::open_in_dir(&app.data_dir).await.unwrap();
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM incident_acks WHERE token_hash = ?").bind(token).fetch_one(store.pool()).await.unwrap();
    assert_eq!(n, 0);
    assert_eq!(anon.get(app.url("/ack/not-a-real-token")).send().await.unwrap().status(), 404);

    call(&app, &c, "stop_incident", json!({"room_id": room})).await;
    let page = anon.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("This incident is over"));
    let res = anon.post(&link).form(&[("answer", "declined")]).send().await.unwrap();
    assert_eq!(res.status(), 410);
    assert!(res.text().await.unwrap().contains("This incident is over"));
}

#[tokio::test]
async fn bad_numbers_are_refused_with_the_reason_and_a_wrong_connect_key_fails_only_sms_and_voice_with_a_retry() {
    let dir = tempfile::tempdir().unwrap();
    let w = world().await;
    let app = TestApp::spawn_with(webex_config(dir.path(), &w, "wrong-key")).await;
    assert_eq!(location(&connect_org(&app, "admin@example.com").await), "/incidents?connected=1");
    let c = client();
    webex_sign_in(&app, &c, "moderator@example.com").await;
    let boss = admin(&app).await;
    let (s, e) =
        call(&app, &boss, "save_external", json!({"id": null, "name": "Bad", "email": "", "mobile": "call me maybe", "voice": ""})).await;
    assert_eq!(s, 400);
    assert!(e.to_string().contains("Mobile number: 'call me maybe' is not a phone number"), "{e}");
    let (s, e) = call(&app, &boss, "save_external", json!({"id": null, "name": "Nobody", "email": "", "mobile": "", "voice": ""})).await;
    assert_eq!(s, 400, "{e}");
    let (s, ext) = call(
        &app,
        &boss,
        "save_external",
        json!({"id": null, "name": "Sam Supplier", "email": "sam@partner.example", "mobile": "+1 201 555 0142", "voice": ""}),
    )
    .await;
    assert_eq!(s, 200, "{ext}");
    let (s, upd) = call(
        &app,
        &boss,
        "save_external",
        json!({"id": ext["id"], "name": "Sam Supplier", "email": "", "mobile": "+1 201 555 0143", "voice": ""}),
    )
    .await;
    assert_eq!((s, upd["sms_number"].as_str()), (200, Some("+12015550143")));

    let room = room_id(&w, "Response - Datacenter");
    call(&app, &c, "open_space", json!({"room_id": room})).await;
    call(&app, &c, "link_external", json!({"room_id": room, "id": ext["id"]})).await;
    let (s, v) = call(&app, &c, "start_incident", json!({"room_id": room, "name": "Cooling failure"})).await;
    assert_eq!(s, 200, "{v}");
    let page = wait_for(&app, &c, &room, "deliveries", all_done).await;
    let d = deliveries(&page);
    let sms = d.iter().find(|d| d["channel"] == "sms").unwrap();
    assert_eq!(sms["status"], "failed");
    assert!(sms["reason"].as_str().unwrap().contains("service key"), "{sms}");
    assert!(d.iter().filter(|d| d["channel"] == "webex").all(|d| d["status"] == "sent"), "the rest still go out: {d:?}");
    let (s, b) = call(&app, &c, "retry_delivery", json!({"delivery_id": sms["id"]})).await;
    assert_eq!(s, 200, "{b}");
    let page =
        wait_for(&app, &c, &room, "the retry", |p| deliveries(p).iter().any(|d| d["id"] == sms["id"] && d["status"] == "failed")).await;
    assert!(page["incident"]["timeline"].as_array().unwrap().iter().any(|t| t["kind"] == "retry"));
    assert_eq!(w.connect.messages().iter().filter(|m| m.status == 401).count(), 2, "tried again once, on request");
    let (s, _) = call(&app, &boss, "delete_external", json!({"id": ext["id"]})).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn a_webex_session_refreshes_its_own_token_while_in_use_and_ends_when_it_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let w = world().await;
    let (app, c) = ready(dir.path(), &w).await;
    let room = room_id(&w, "Response - Security");
    // Tokens issued from now on live 1 s: the moderator signs in again with such a token.
    w.webex.set_lifetimes(Duration::from_secs(1), Duration::from_secs(3600));
    let c2 = client();
    assert_eq!(location(&webex_sign_in(&app, &c2, "moderator@example.com").await), "/incidents");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let refreshes = |w: &World| w.webex.requests().iter().filter(|r| r.path.starts_with("/v1/access_token")).count();
    let before = refreshes(&w);
    let (s, page) = call(&app, &c2, "open_space", json!({"room_id": room})).await;
    assert_eq!(s, 200, "{page}");
    assert!(refreshes(&w) > before, "the session's token was refreshed");
    // The refresh token dies: the session ends (signed out), nothing crashes.
    w.webex.revoke_refresh_tokens();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (s, _) = call(&app, &c2, "open_space", json!({"room_id": room})).await;
    assert_eq!(s, 401);
    let res = c2.get(app.url("/incidents")).send().await.unwrap();
    assert!(location(&res).starts_with("/login"), "back to the sign-in page");
    drop(c);
}

#[tokio::test]
async fn only_members_of_the_responders_space_run_incidents() {
    let dir = tempfile::tempdir().unwrap();
    let w = world().await;
    let (app, _c) = ready(dir.path(), &w).await;
    let org = WebexSimConfig::demo().org;
    let responders = org.room_by_title("Incident_Responders_Members").unwrap();
    let outsider = org.people.iter().find(|p| !responders.members.iter().any(|(id, _)| *id == p.id)).unwrap();
    let c = client();
    assert_eq!(location(&webex_sign_in(&app, &c, &outsider.email).await), "/incidents", "an operator by the domain rule");
    let (s, home) = call(&app, &c, "get_incidents_home", json!({})).await;
    assert_eq!(s, 200);
    assert!(home["blocked"].as_str().unwrap().contains("Incident_Responders_Members"), "{home}");
    assert_eq!(home["spaces"].as_array().unwrap().len(), 0);
    let room = room_id(&w, "Response - Security");
    let (s, e) = call(&app, &c, "open_space", json!({"room_id": room})).await;
    assert_eq!(s, 403, "{e}");
    let (s, e) = call(&app, &c, "start_incident", json!({"room_id": room, "name": "x"})).await;
    assert_eq!(s, 403, "{e}");
    assert!(w.webex.memberships(&room).iter().all(|m| m.person_id != outsider.id), "nothing changed in Webex");
}

/// An external with both numbers (created by the admin), linked to `room` by `c`; returns its id.
pub async fn linked_external(app: &TestApp, c: &reqwest::Client, room: &str, name: &str, mobile: &str, voice: &str) -> Value {
    let (s, ext) =
        call(app, &admin(app).await, "save_external", json!({"id": null, "name": name, "email": "", "mobile": mobile, "voice": voice}))
            .await;
    assert_eq!(s, 200, "{ext}");
    let (s, b) = call(app, c, "link_external", json!({"room_id": room, "id": ext["id"]})).await;
    assert_eq!(s, 200, "{b}");
    ext["id"].clone()
}

#[tokio::test]
async fn remind_notifies_one_person_again_on_only_the_channels_chosen_and_lands_on_the_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let w = world().await;
    let (app, c) = ready(dir.path(), &w).await;
    let room = room_id(&w, "Response - Security");
    let (s, page) = call(&app, &c, "open_space", json!({"room_id": room})).await;
    assert_eq!(s, 200, "{page}");
    let pat = linked_external(&app, &c, &room, "Pat Partner", "+1 201 555 0177", "+1 201 555 0178").await;
    let (s, v) = call(&app, &c, "start_incident", json!({"room_id": room, "name": "Badge readers offline"})).await;
    assert_eq!(s, 200, "{v}");
    let page = wait_for(&app, &c, &room, "the first round", all_done).await;
    let first = deliveries(&page);
    assert!(first.iter().all(|d| d["status"] == "sent"), "{first:?}");

    let accepted = |w: &World, channel: &str, to: &str| {
        w.connect.messages().iter().filter(|m| m.channel == channel && m.to == to && m.status == 202).count()
    };
    let messages_to = |w: &World, pid: &str| w.webex.messages().iter().filter(|m| m.to_person_id.as_deref() == Some(pid)).count();
    assert_eq!((accepted(&w, "sms", "+12015550177"), accepted(&w, "voice", "+12015550178")), (1, 1));

    // Pat again, by SMS only.
    let (s, n) = call(&app, &c, "remind_responder", json!({"room_id": room, "responder_id": pat, "channels": ["sms"]})).await;
    assert_eq!((s, n.as_u64()), (200, Some(1)), "{n}");
    let page = wait_for(&app, &c, &room, "the reminder", |p| deliveries(p).len() == first.len() + 1 && all_done(p)).await;
    let again: Vec<Value> = deliveries(&page).into_iter().filter(|d| d["round"].as_i64() > Some(0)).collect();
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(
        (again[0]["responder_id"].clone(), again[0]["channel"].as_str(), again[0]["status"].as_str()),
        (pat.clone(), Some("sms"), Some("sent"))
    );
    assert_eq!(accepted(&w, "sms", "+12015550177"), 2, "the SMS went out again");
    assert_eq!(accepted(&w, "voice", "+12015550178"), 1, "the call was not chosen, so not made again");

    // A member of the space again, by Webex message only (they have a mobile, not chosen).
    let member = page["responders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["internal"] == true && r["is_commander"] == false && r["sms_number"].is_string())
        .cloned()
        .expect("a member with a mobile");
    let email = member["email"].as_str().unwrap();
    let pid = person_id(email);
    let sms_before = accepted(&w, "sms", member["sms_number"].as_str().unwrap());
    assert_eq!(messages_to(&w, &pid), 1);
    let (s, n) = call(&app, &c, "remind_responder", json!({"room_id": room, "responder_id": member["id"], "channels": ["webex"]})).await;
    assert_eq!((s, n.as_u64()), (200, Some(1)), "{n}");
    let page = wait_for(&app, &c, &room, "the second reminder", |p| deliveries(p).len() == first.len() + 2 && all_done(p)).await;
    assert_eq!(messages_to(&w, &pid), 2, "a second 1:1 message");
    assert_eq!(accepted(&w, "sms", member["sms_number"].as_str().unwrap()), sms_before, "no SMS: not chosen");

    let reminders = timeline_details(&page, "reminder");
    assert_eq!(reminders.len(), 2, "{reminders:?}");
    assert!(reminders[0].contains("reminded Pat Partner (SMS)"), "{reminders:?}");
    assert!(reminders[1].contains(&format!("reminded {} (Webex message)", member["name"].as_str().unwrap())), "{reminders:?}");

    // Nothing chosen, or a channel the person cannot be reached on: refused with the reason.
    let (s, e) = call(&app, &c, "remind_responder", json!({"room_id": room, "responder_id": pat, "channels": []})).await;
    assert_eq!(s, 400, "{e}");
    let (s, e) = call(&app, &c, "remind_responder", json!({"room_id": room, "responder_id": pat, "channels": ["webex"]})).await;
    assert_eq!(s, 400, "{e}");
    assert!(e.to_string().contains("Pat Partner cannot be reached on the channels chosen"), "{e}");
    assert_eq!(deliveries(&call(&app, &c, "get_space", json!({"room_id": room})).await.1).len(), first.len() + 2, "nothing queued");
}

#[tokio::test]
async fn notification_templates_are_previewed_and_saved_in_settings_a_broken_one_is_refused_and_the_next_start_uses_them() {
    let dir = tempfile::tempdir().unwrap();
    let w = world().await;
    let (app, c) = ready(dir.path(), &w).await;
    let admin = client();
    login(&app, &admin, "boss", "boss-password-1").await;
    let (s, got) = call_form(&app, &admin, "templates", &[]).await;
    assert_eq!(s, 200, "{got}");
    let defaults = got[0].clone();
    assert_eq!(got[1], true, "an admin may edit");

    let webex =
        "**Page for {{ responder_name }}**: {{ incident_name }} in {{ space_title }}. Join {{ meeting_link }} or answer {{ ack_link }}";
    let sms = "SB-PAGE {{ incident_name }}: {{ toll_number }}pp{{ meeting_number }}# answer {{ ack_link }}";
    let voice = "Switchboard calling about {{ incident_name }}.";

    // Preview: rendered with the sample values, nothing stored.
    let (s, p) = call_form(&app, &admin, "preview_templates", &[("webex", webex), ("sms", sms), ("voice", voice), ("save", "false")]).await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["saved"], false);
    assert!(p["webex"].as_str().unwrap().starts_with("**Page for Robin Responder**: Core router down in Response - Network outage"), "{p}");
    assert_eq!(p["voice"], "Switchboard calling about Core router down.");
    assert_eq!(call_form(&app, &admin, "templates", &[]).await.1[0], defaults, "a preview stores nothing");

    // A template that loops without bound: refused at once, naming the limit.
    let looping = "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}";
    let (s, e) =
        call_form(&app, &admin, "preview_templates", &[("webex", looping), ("sms", sms), ("voice", voice), ("save", "false")]).await;
    assert_eq!(s, 400, "{e}");
    assert!(e.to_string().contains("The Webex message template does not render") && e.to_string().contains("(the limit)"), "{e}");

    // A template that does not render: refused with the reason, the stored ones kept.
    let (s, e) = call_form(
        &app,
        &admin,
        "preview_templates",
        &[("webex", webex), ("sms", "Hi {{ pager_number }}"), ("voice", voice), ("save", "true")],
    )
    .await;
    assert_eq!(s, 400, "{e}");
    assert!(e.to_string().contains("The SMS template does not render") && e.to_string().contains("undefined"), "{e}");
    let (s, e) =
        call_form(&app, &admin, "preview_templates", &[("webex", webex), ("sms", sms), ("voice", "{% if %}"), ("save", "true")]).await;
    assert_eq!(s, 400, "{e}");
    assert!(e.to_string().contains("The voice template does not render"), "{e}");
    assert_eq!(call_form(&app, &admin, "templates", &[]).await.1[0], defaults, "nothing stored");

    // Previews render what the caller wrote: operators and admins only, never a viewer.
    let preview = [("webex", webex), ("sms", sms), ("voice", voice), ("save", "false")];
    app.add_user("vera", "vera-password-1", Role::Viewer).await;
    let viewer = client();
    login(&app, &viewer, "vera", "vera-password-1").await;
    let (s, e) = call_form(&app, &viewer, "preview_templates", &preview).await;
    assert_eq!(s, 403, "a viewer may not preview: {e}");
    let (s, p) = call_form(&app, &c, "preview_templates", &preview).await;
    assert_eq!((s, &p["saved"]), (200, &Value::Bool(false)), "the commander (an operator) may: {p}");

    // Only admins save (the commander is an operator).
    let form = [("webex", webex), ("sms", sms), ("voice", voice), ("save", "true")];
    let (s, e) = call_form(&app, &c, "preview_templates", &form).await;
    assert_eq!(s, 403, "{e}");
    let (s, p) = call_form(&app, &admin, "preview_templates", &form).await;
    assert_eq!((s, &p["saved"]), (200, &Value::Bool(true)), "{p}");
    let stored = call_form(&app, &admin, "templates", &[]).await.1;
    assert_eq!(stored[0], json!({"webex": webex, "sms": sms, "voice": voice}));
    let store = switchboard::store::Store::open_in_dir(&app.data_dir).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'incident.templates' AND actor = 'boss'")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(n, 1, "only the save that worked is audited");

    // The next Start uses them, on every channel, with the incident's own values.
    let room = room_id(&w, "Response - Security");
    call(&app, &c, "open_space", json!({"room_id": room})).await;
    linked_external(&app, &c, &room, "Pat Partner", "+1 201 555 0177", "+1 201 555 0178").await;
    let (s, v) = call(&app, &c, "start_incident", json!({"room_id": room, "name": "Cache poisoning"})).await;
    assert_eq!(s, 200, "{v}");
    let page = wait_for(&app, &c, &room, "deliveries", all_done).await;
    assert!(deliveries(&page).iter().all(|d| d["status"] == "sent"), "{page}");
    let msgs = w.webex.messages();
    assert!(!msgs.is_empty());
    for m in &msgs {
        let md = m.markdown.as_deref().unwrap_or_default();
        assert!(md.starts_with("**Page for ") && md.contains("**: Cache poisoning in Response - Security. Join https://"), "{md}");
        assert!(md.contains(&format!("{}/ack/", app.base)), "{md}");
    }
    let connect = w.connect.messages();
    let sms_text = &connect.iter().find(|m| m.channel == "sms").unwrap().text;
    assert!(sms_text.starts_with("SB-PAGE Cache poisoning: ") && sms_text.contains("/ack/"), "{sms_text}");
    assert_eq!(connect.iter().find(|m| m.channel == "voice").unwrap().text, "Switchboard calling about Cache poisoning.");
}

/// Starts an incident in a space with an external (SMS and voice) while Connect is down, and
/// checks what the commander sees: SMS and voice failed with `why` after `attempts` tries,
/// every Webex message sent anyway.
async fn start_while_connect_is_down(app: &TestApp, c: &reqwest::Client, w: &World, attempts: i64, why: &str) -> Vec<Value> {
    let room = room_id(w, "Response - Datacenter");
    let (s, page) = call(app, c, "open_space", json!({"room_id": room})).await;
    assert_eq!(s, 200, "{page}");
    let pat = linked_external(app, c, &room, "Pat Partner", "+1 201 555 0177", "+1 201 555 0178").await;
    let (s, v) = call(app, c, "start_incident", json!({"room_id": room, "name": "Generator test"})).await;
    assert_eq!(s, 200, "{v}");
    let page = wait_for(app, c, &room, "every delivery to end", all_done).await;
    let d = deliveries(&page);
    let phone: Vec<&Value> = d.iter().filter(|d| d["responder_id"] == pat).collect();
    assert_eq!(phone.len(), 2, "{d:?}");
    for p in &phone {
        assert_eq!(p["status"], "failed", "{p}");
        let reason = p["reason"].as_str().unwrap_or_default();
        assert!(reason.contains(why) && reason.contains("gave up after repeated attempts"), "{p}");
        assert_eq!(p["attempts"].as_i64(), Some(attempts), "bounded: {p}");
    }
    let webex: Vec<&Value> = d.iter().filter(|d| d["channel"] == "webex").collect();
    assert!(!webex.is_empty() && webex.iter().all(|d| d["status"] == "sent"), "the Webex messages still go out: {d:?}");
    assert_eq!(w.webex.messages().len(), webex.len());
    let failed = timeline_details(&page, "delivery").into_iter().filter(|t| t.contains("failed")).count();
    assert_eq!(failed, 2, "each failure is on the timeline once");
    d
}

#[tokio::test]
async fn connect_answering_only_5xx_fails_sms_and_voice_with_the_reason_after_bounded_retries_and_webex_still_goes_out() {
    let dir = tempfile::tempdir().unwrap();
    let w = world().await;
    let mut cfg = webex_config(dir.path(), &w, KEY);
    cfg.webex.max_attempts = 3;
    let (app, c) = ready_with(TestApp::spawn_with(cfg).await).await;
    w.connect.faults().set_fail_every(1);
    start_while_connect_is_down(&app, &c, &w, 3, "server error 503").await;
    let statuses: Vec<u16> = w.connect.messages().iter().map(|m| m.status).collect();
    assert_eq!(statuses, vec![503; 6], "three tries each for the SMS and the call, none accepted");
}

#[tokio::test]
async fn connect_unreachable_fails_sms_and_voice_with_the_reason_after_bounded_retries_and_webex_still_goes_out() {
    let dir = tempfile::tempdir().unwrap();
    let w = world().await;
    // A port nobody listens on any more: connections are refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut cfg = webex_config(dir.path(), &w, KEY);
    cfg.connect.url = format!("http://{closed}");
    cfg.webex.max_attempts = 2;
    let (app, c) = ready_with(TestApp::spawn_with(cfg).await).await;
    start_while_connect_is_down(&app, &c, &w, 2, "cannot reach the service").await;
    assert!(w.connect.messages().is_empty());
}

#[tokio::test]
async fn opening_a_space_again_syncs_its_members_people_who_left_drop_out_and_those_there_before_stay_at_stop() {
    let dir = tempfile::tempdir().unwrap();
    let w = world().await;
    let (app, c) = ready(dir.path(), &w).await;
    let org = WebexSimConfig::demo().org;
    let room = room_id(&w, "Response - Network outage");
    let by_email =
        |page: &Value, email: &str| page["responders"].as_array().unwrap().iter().find(|r| r["email"].as_str() == Some(email)).cloned();
    let (s, page) = call(&app, &c, "open_space", json!({"room_id": room})).await;
    assert_eq!(s, 200, "{page}");
    let (p7, p8) = (&org.people[7], &org.people[8]);
    for p in [p7, p8] {
        let r = by_email(&page, &p.email).unwrap_or_else(|| panic!("{} synced: {page}", p.email));
        assert_eq!(r["pre_existing"], true, "in the space before Switchboard: {r}");
    }

    // Switchboard adds one person; in Webex, p8 leaves and someone else is added by hand.
    let (added, by_hand) = (&org.people[20], &org.people[21]);
    let (s, b) = call(&app, &c, "add_internal", json!({"room_id": room, "person_id": added.id})).await;
    assert_eq!(s, 200, "{b}");
    assert!(w.webex.remove_membership(&room, &p8.id));
    w.webex.add_membership(&room, &by_hand.id, false);
    // Until the space is opened again the page shows what was synced.
    assert!(by_email(&call(&app, &c, "get_space", json!({"room_id": room})).await.1, &p8.email).is_some());

    let (s, page) = call(&app, &c, "open_space", json!({"room_id": room})).await;
    assert_eq!(s, 200, "{page}");
    assert!(by_email(&page, &p8.email).is_none(), "who left dropped out: {page}");
    assert_eq!(by_email(&page, &p7.email).unwrap()["pre_existing"], true, "still remembered as pre-existing");
    assert_eq!(by_email(&page, &by_hand.email).expect("joined in Webex: synced")["pre_existing"], true, "not added by Switchboard");
    assert_eq!(by_email(&page, &added.email).expect("still linked")["pre_existing"], false, "added by Switchboard, not pre-existing");
    let store = switchboard::store::Store::open_in_dir(&app.data_dir).await.unwrap();
    let linked: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM space_responders s JOIN responders r ON r.id = s.responder_id WHERE s.room_id = ? AND r.person_id = ?",
    )
    .bind(&room)
    .bind(&p8.id)
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(linked, 0, "the link is gone from the database");

    // Stop takes out only the one Switchboard added.
    let (s, v) = call(&app, &c, "start_incident", json!({"room_id": room, "name": "Fibre cut"})).await;
    assert_eq!(s, 200, "{v}");
    wait_for(&app, &c, &room, "deliveries", all_done).await;
    let (s, removed) = call(&app, &c, "stop_incident", json!({"room_id": room})).await;
    assert_eq!((s, removed.as_u64()), (200, Some(1)), "{removed}");
    let members: Vec<String> = w.webex.memberships(&room).into_iter().map(|m| m.person_id).collect();
    assert!(!members.contains(&added.id), "added for the incident: removed");
    assert!(members.contains(&by_hand.id) && members.contains(&p7.id), "pre-existing members stay: {members:?}");
    assert!(!members.contains(&p8.id));
}

#[tokio::test]
async fn a_specific_webex_admin_role_maps_to_its_own_switchboard_role_ahead_of_any_admin_role() {
    let dir = tempfile::tempdir().unwrap();
    let w = world().await;
    let mut cfg = webex_config(dir.path(), &w, KEY);
    // admin@example.com holds id_full_admin (the simulator returns it as a Webex role id).
    cfg.webex.admin_roles.insert("id_full_admin".into(), "viewer".into());
    let app = TestApp::spawn_with(cfg).await;
    assert_eq!(location(&connect_org(&app, "admin@example.com").await), "/incidents?connected=1");
    let c = client();
    assert_eq!(location(&webex_sign_in(&app, &c, "admin@example.com").await), "/incidents");
    let store = switchboard::store::Store::open_in_dir(&app.data_dir).await.unwrap();
    let detail: String =
        sqlx::query_scalar("SELECT detail FROM audit_log WHERE action = 'login.webex' AND result = 'ok' AND actor = 'admin@example.com'")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(detail, "as viewer", "the specific role rule, not org_admins_role = admin");
    let (s, e) = call(&app, &c, "refresh_directory", json!({})).await;
    assert_eq!(s, 403, "a viewer may not refresh the directory: {e}");
}

/// Ends the simulator process this test started, even when an assertion fails.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn sim_webex_on_the_command_line_takes_fault_flags_and_token_lifetimes() {
    use std::io::BufRead;
    let mut child = Child(
        std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(["sim", "webex", "--addr", "127.0.0.1:0", "--people", "5", "--access-seconds", "30", "--refresh-seconds", "60"])
            .args(["--latency-ms", "1", "--throttle-every", "2", "--retry-after", "7", "--fail-every", "3"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("switchboard runs"),
    );
    let mut lines = std::io::BufReader::new(child.0.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    let url = loop {
        let line = lines.next().expect("the simulator says where it runs").unwrap();
        printed.push(line.clone());
        if let Some(rest) = line.strip_prefix("Webex simulator running at ") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    printed.extend(lines.by_ref().take(2).map_while(Result::ok));
    assert!(printed.iter().any(|l| l.contains("Tokens: access 30 s, refresh 60 s")), "{printed:?}");

    let http = reqwest::Client::new();
    let minted: Value = http.get(format!("{url}/sim/token?email=admin@example.com")).send().await.unwrap().json().await.unwrap();
    assert_eq!(minted["expires_in"], 30, "{minted}");
    let token = minted["access_token"].as_str().unwrap();
    let mut answers = Vec::new();
    for _ in 0..4 {
        let r = http.get(format!("{url}/v1/people/me")).bearer_auth(token).send().await.unwrap();
        let retry_after = r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
        answers.push((r.status().as_u16(), retry_after));
    }
    assert_eq!(
        answers,
        vec![(200, None), (429, Some("7".into())), (503, None), (429, Some("7".into()))],
        "every 2nd throttled with Retry-After 7, every 3rd failed"
    );
}

/// Percent-encodes a room id into one path segment, as the pages link to a space.
fn segment(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn a_space_has_its_own_address_even_with_slashes_in_its_id_the_old_address_redirects_and_history_still_opens() {
    let dir = tempfile::tempdir().unwrap();
    // Webex room ids are base64, which may hold '/' and '+': give one space such an id.
    let room = "Y2lzY29zcGFyazovL3VzL1JPT00v+c2VjdXJpdHk/YQ".to_string();
    let mut sim = WebexSimConfig::demo();
    let security = sim.org.rooms.iter_mut().find(|r| r.title == "Response - Security").unwrap();
    security.id = room.clone();
    let w = World {
        webex: SimWebex::start("127.0.0.1:0".parse().unwrap(), sim).await.unwrap(),
        connect: SimConnect::start("127.0.0.1:0".parse().unwrap(), ConnectConfig { service_key: KEY.into() }).await.unwrap(),
        secrets_key: switchboard::webex::SecretBox::generate_key(),
    };
    let (app, c) = ready(dir.path(), &w).await;
    let href = format!("/incidents/{}", segment(&room));
    assert!(href.contains("%2F") && href.contains("%2B"), "{href}");

    let home = c.get(app.url("/incidents")).send().await.unwrap().text().await.unwrap();
    assert!(home.contains(&format!("href=\"{href}\"")), "the home page links to the space's own address: {home}");

    let res = c.get(app.url(&href)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("data-testid=\"space-title\"") && html.contains("Response - Security"), "{html}");
    let moderator = person_id("moderator@example.com");
    assert!(w.webex.memberships(&room).iter().any(|m| m.person_id == moderator && m.is_moderator), "the id arrived whole: opened");

    // As a browser asks for a page (Leptos answers 302 only to requests that accept HTML).
    let res = c.get(app.url(&format!("/incidents/space?id={}", segment(&room)))).header("accept", "text/html").send().await.unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(location(&res), href, "the old address sends bookmarks on");

    let other = c.get(app.url("/incidents/not-a-room")).send().await.unwrap().text().await.unwrap();
    assert!(other.contains("data-testid=\"space-error\"") && other.contains("not a response space"), "{other}");

    let (s, v) = call(&app, &c, "start_incident", json!({"room_id": room, "name": "Tailgating"})).await;
    assert_eq!(s, 200, "{v}");
    wait_for(&app, &c, &room, "deliveries", all_done).await;
    call(&app, &c, "stop_incident", json!({"room_id": room})).await;
    let res = c.get(app.url(&format!("/incidents/history?id={}", v["summary"]["id"]))).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("Tailgating") && !html.contains("space-error"), "history is not taken for a space: {html}");
}

#[tokio::test]
async fn an_sms_and_a_call_whose_answers_are_lost_are_retried_under_their_key_and_arrive_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let w = world().await;
    let (app, c) = ready(dir.path(), &w).await;
    let room = room_id(&w, "Response - Datacenter");
    let (s, page) = call(&app, &c, "open_space", json!({"room_id": room})).await;
    assert_eq!(s, 200, "{page}");
    let pat = linked_external(&app, &c, &room, "Pat Partner", "+1 201 555 0177", "+1 201 555 0178").await;
    // Connect accepts every send, then the connection drops before its answer.
    w.connect.faults().set_lose_answer_every(1);
    let (s, v) = call(&app, &c, "start_incident", json!({"room_id": room, "name": "Generator test"})).await;
    assert_eq!(s, 200, "{v}");
    let page = wait_for(&app, &c, &room, "every delivery to end", all_done).await;
    let phone: Vec<Value> = deliveries(&page).into_iter().filter(|d| d["responder_id"] == pat).collect();
    assert_eq!(phone.len(), 2, "{phone:?}");
    for p in &phone {
        assert_eq!(p["status"], "sent", "the repeat was recognised as the accepted send: {p}");
        assert!(p["reason"].as_str().unwrap_or_default().contains("earlier attempt"), "{p}");
    }
    // What Connect holds, as its inspect endpoint shows it.
    let seen: Vec<Value> = reqwest::get(format!("{}/sim/messages", w.connect.url())).await.unwrap().json().await.unwrap();
    for (channel, to) in [("sms", "+12015550177"), ("voice", "+12015550178")] {
        let accepted: Vec<&Value> = seen.iter().filter(|m| m["channel"] == channel && m["to"] == to && m["status"] == 202).collect();
        assert_eq!(accepted.len(), 1, "exactly one {channel} at Connect: {seen:?}");
        assert_eq!(accepted[0]["answer_lost"], true);
        let tries: Vec<&Value> = seen.iter().filter(|m| m["channel"] == channel && m["to"] == to).collect();
        assert!(
            tries.len() >= 2 && tries.iter().all(|m| m["idempotency_key"] == accepted[0]["idempotency_key"]),
            "retried under one key: {tries:?}"
        );
    }
}

#[tokio::test]
async fn a_webex_message_whose_answer_is_lost_is_not_sent_again_its_outcome_is_unknown_and_a_resend_is_explicit_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let w = world().await;
    let (app, c) = ready(dir.path(), &w).await;
    let room = room_id(&w, "Response - Security");
    let (s, page) = call(&app, &c, "open_space", json!({"room_id": room})).await;
    assert_eq!(s, 200, "{page}");
    // Webex carries every change out, then the connection drops before its answer.
    w.webex.faults().set_lose_answer_every(1);
    let (s, v) = call(&app, &c, "start_incident", json!({"room_id": room, "name": "Phishing wave"})).await;
    assert_eq!(s, 200, "{v}");
    let page = wait_for(&app, &c, &room, "every delivery to end", all_done).await;
    w.webex.faults().set_lose_answer_every(0);
    let webex: Vec<Value> = deliveries(&page).into_iter().filter(|d| d["channel"] == "webex").collect();
    assert!(!webex.is_empty());
    for d in &webex {
        assert_eq!((d["status"].as_str(), d["attempts"].as_i64()), (Some("unknown"), Some(1)), "not repeated blindly: {d}");
        assert!(d["reason"].as_str().unwrap_or_default().contains("may have arrived"), "{d}");
    }
    assert_eq!(w.webex.messages().len(), webex.len(), "each went out once");
    let html = c.get(app.url(&format!("/incidents/{}", switchboard::url::path_segment(&room)))).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("outcome unknown") && html.contains("data-testid=\"resend\""), "the page shows it and offers a resend");

    let one = &webex[0];
    let (s, b) = call(&app, &c, "retry_delivery", json!({"delivery_id": one["id"]})).await;
    assert_eq!(s, 200, "{b}");
    wait_for(&app, &c, &room, "the resend", |p| deliveries(p).iter().any(|d| d["id"] == one["id"] && d["status"] == "sent")).await;
    assert_eq!(w.webex.messages().len(), webex.len() + 1, "resent once, on request");
    let store = switchboard::store::Store::open_in_dir(&app.data_dir).await.unwrap();
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'incident.delivery.resend' AND actor = 'moderator@example.com'")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(n, 1, "the resend is audited");
}
