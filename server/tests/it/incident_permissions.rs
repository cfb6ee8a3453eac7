//! The incident permission matrix over real HTTP, one role at a time: viewers see incidents
//! without phone numbers or join links (in what they receive, not only on the page), operators
//! run incidents but do not edit the external directory, admins do, and every change is in the
//! audit log with who, what, before and after. And the responders' space, chosen by room id.

use crate::common::{client, location, login, TestApp};
use crate::incidents::{
    admin, all_done, call, connect_org, deliveries, linked_external, person_id, ready, room_id, wait_for, webex_config, webex_sign_in,
    World, KEY,
};
use serde_json::{json, Value};
use switchboard::model::Role;
use switchboard::sim::connect::{ConnectConfig, SimConnect};
use switchboard::sim::webex::{SimRoom, SimWebex, WebexSimConfig};

/// `GET /incidents/directory.csv` as `c`: the status and the body.
async fn export(app: &TestApp, c: &reqwest::Client) -> (u16, String) {
    let res = c.get(app.url("/incidents/directory.csv")).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// Every phone number in an operator's view of a space: its responders' and its deliveries'.
fn numbers_in(page: &Value) -> Vec<String> {
    let mut out: Vec<String> = page["responders"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| [r["sms_number"].as_str(), r["voice_number"].as_str()])
        .flatten()
        .map(String::from)
        .collect();
    out.extend(deliveries(page).iter().filter(|d| d["channel"] != "webex").filter_map(|d| d["address"].as_str().map(String::from)));
    out.sort();
    out.dedup();
    out
}

/// Sends each call as `c` and expects 403 for every one.
async fn all_refused(app: &TestApp, c: &reqwest::Client, who: &str, calls: &[(&str, Value)]) {
    for (name, body) in calls {
        let (s, e) = call(app, c, name, body.clone()).await;
        assert_eq!(s, 403, "{who} may not {name}: {e}");
    }
}

#[tokio::test]
async fn a_viewer_receives_incidents_without_phone_numbers_or_join_links_and_is_refused_every_change() {
    let dir = tempfile::tempdir().unwrap();
    let w = crate::incidents::world().await;
    let (app, c) = ready(dir.path(), &w).await;
    let room = room_id(&w, "Response - Security");
    let (s, page) = call(&app, &c, "open_space", json!({"room_id": room})).await;
    assert_eq!(s, 200, "{page}");
    let pat = linked_external(&app, &c, &room, "Pat Partner", "+1 201 555 0177", "+1 201 555 0178").await;
    let (s, v) = call(&app, &c, "start_incident", json!({"room_id": room, "name": "Badge readers offline"})).await;
    assert_eq!(s, 200, "{v}");
    let operator_view = wait_for(&app, &c, &room, "deliveries", all_done).await;
    let numbers = numbers_in(&operator_view);
    assert!(numbers.contains(&"+12015550177".to_string()) && numbers.len() > 2, "the operator sees them: {numbers:?}");
    let link = v["meeting_link"].as_str().unwrap().to_string();
    let dial_in = v["meeting_number"].as_str().unwrap().to_string();
    assert!(link.starts_with("https://") && !dial_in.is_empty());

    app.add_user("vera", "vera-password-1", Role::Viewer).await;
    let viewer = client();
    login(&app, &viewer, "vera", "vera-password-1").await;
    let id = v["summary"]["id"].clone();
    let (s, incident) = call(&app, &viewer, "get_incident", json!({"id": id})).await;
    assert_eq!(s, 200, "a viewer sees the incident: {incident}");
    assert_eq!(incident["summary"]["name"], "Badge readers offline");
    assert_eq!(deliveries(&json!({"incident": incident})).len(), deliveries(&operator_view).len(), "every delivery, by name");
    let (s, space) = call(&app, &viewer, "get_space", json!({"room_id": room})).await;
    assert_eq!(s, 200, "{space}");
    let (s, home) = call(&app, &viewer, "get_incidents_home", json!({})).await;
    assert_eq!(s, 200, "{home}");
    let html = viewer.get(app.url(&format!("/incidents/history?id={id}"))).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Badge readers offline"), "the page renders the incident");
    for (what, got) in
        [("get_incident", incident.to_string()), ("get_space", space.to_string()), ("home", home.to_string()), ("page", html)]
    {
        for n in &numbers {
            let digits = n.trim_start_matches('+');
            assert!(!got.contains(digits), "{what} holds the number {n}");
        }
        assert!(!got.contains(&link) && !got.contains(&dial_in) && !got.contains("+1-408-555-0100"), "{what} holds the join details");
    }

    let op = [
        ("open_space", json!({"room_id": room})),
        ("save_incident_name", json!({"room_id": room, "name": "x"})),
        ("start_incident", json!({"room_id": room, "name": "x"})),
        ("remind_responder", json!({"room_id": room, "responder_id": pat, "channels": ["sms"]})),
        ("retry_delivery", json!({"delivery_id": deliveries(&operator_view)[0]["id"]})),
        ("add_internal", json!({"room_id": room, "person_id": person_id("admin@example.com")})),
        ("remove_responder", json!({"room_id": room, "responder_id": pat})),
        ("link_external", json!({"room_id": room, "id": pat})),
        ("search_people", json!({"q": "example.com"})),
        ("refresh_directory", json!({})),
        ("stop_incident", json!({"room_id": room})),
    ];
    all_refused(&app, &viewer, "a viewer", &op).await;
    all_refused(&app, &viewer, "a viewer", &admin_calls(&room, &pat)).await;
    assert_eq!(export(&app, &viewer).await.0, 403);
    let (_, still) = call(&app, &c, "get_incident", json!({"id": id})).await;
    assert!(still["summary"]["stopped_at"].is_null(), "nothing changed: still running");
}

/// The admin-only calls, aimed at a real external and space.
fn admin_calls(room: &str, external: &Value) -> Vec<(&'static str, Value)> {
    vec![
        ("save_external", json!({"id": null, "name": "Mallory", "email": "", "mobile": "+1 201 555 0100", "voice": ""})),
        ("save_external", json!({"id": external, "name": "Pat Partner", "email": "", "mobile": "+1 201 555 0666", "voice": ""})),
        ("delete_external", json!({"id": external})),
        ("set_channel", json!({"room_id": room, "responder_id": external, "channel": "sms", "on": false})),
        ("list_externals", json!({})),
        ("responders_space_choices", json!({})),
        ("choose_responders_space", json!({"room_id": room})),
    ]
}

#[tokio::test]
async fn an_operator_runs_incidents_but_may_not_edit_silence_or_export_the_directory_and_sees_its_numbers_masked() {
    let dir = tempfile::tempdir().unwrap();
    let w = crate::incidents::world().await;
    let (app, c) = ready(dir.path(), &w).await;
    let boss = admin(&app).await;
    let room = room_id(&w, "Response - Security");
    call(&app, &c, "open_space", json!({"room_id": room})).await;
    let pat = linked_external(&app, &c, &room, "Pat Partner", "+1 201 555 0177", "+1 201 555 0178").await;
    let (s, sam) = call(
        &app,
        &boss,
        "save_external",
        json!({"id": null, "name": "Sam Supplier", "email": "", "mobile": "+1 201 555 0111", "voice": ""}),
    )
    .await;
    assert_eq!(s, 200, "{sam}");

    all_refused(&app, &c, "an operator", &admin_calls(&room, &pat)).await;
    assert_eq!(export(&app, &c).await.0, 403, "nor export it");

    // The directory as an operator receives it: numbers masked to their last 4 digits.
    let (_, page) = call(&app, &c, "get_space", json!({"room_id": room})).await;
    let listed = page["externals"].as_array().unwrap().iter().find(|e| e["name"] == "Sam Supplier").cloned().unwrap();
    assert_eq!(listed["sms_number"], "•••0111", "{listed}");
    assert!(!page.to_string().contains("2015550111"), "{page}");
    let (s, people) = call(&app, &c, "search_people", json!({"q": "example.com"})).await;
    assert_eq!(s, 200, "{people}");
    for p in people.as_array().unwrap() {
        for n in [&p["sms_number"], &p["voice_number"]] {
            assert!(n.is_null() || n.as_str().unwrap().starts_with("•••"), "masked: {p}");
        }
    }

    // It still runs incidents.
    let (s, v) = call(&app, &c, "start_incident", json!({"room_id": room, "name": "Door forced"})).await;
    assert_eq!(s, 200, "{v}");
    wait_for(&app, &c, &room, "deliveries", all_done).await;
    let (s, b) = call(&app, &c, "stop_incident", json!({"room_id": room})).await;
    assert_eq!(s, 200, "{b}");

    // Nothing the operator tried changed the directory.
    let (_, all) = call(&app, &boss, "list_externals", json!({})).await;
    let numbers: Vec<(&str, &str)> =
        all.as_array().unwrap().iter().map(|e| (e["name"].as_str().unwrap(), e["sms_number"].as_str().unwrap())).collect();
    assert_eq!(numbers, vec![("Pat Partner", "+12015550177"), ("Sam Supplier", "+12015550111")]);
}

#[tokio::test]
async fn an_admin_edits_and_exports_the_directory_and_every_change_is_audited_with_who_before_and_after() {
    let dir = tempfile::tempdir().unwrap();
    let w = crate::incidents::world().await;
    let (app, c) = ready(dir.path(), &w).await;
    let boss = admin(&app).await;
    let form =
        |id: Value, mobile: &str| json!({"id": id, "name": "Sam Supplier", "email": "sam@partner.example", "mobile": mobile, "voice": ""});
    let (s, sam) = call(&app, &boss, "save_external", form(Value::Null, "+1 201 555 0142")).await;
    assert_eq!(s, 200, "{sam}");
    let (s, upd) = call(&app, &boss, "save_external", form(sam["id"].clone(), "+1 201 555 0143")).await;
    assert_eq!((s, upd["sms_number"].as_str()), (200, Some("+12015550143")), "re-pointed");
    let room = room_id(&w, "Response - Datacenter");
    call(&app, &c, "open_space", json!({"room_id": room})).await;
    let (s, b) = call(&app, &c, "link_external", json!({"room_id": room, "id": sam["id"]})).await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = call(&app, &boss, "set_channel", json!({"room_id": room, "responder_id": sam["id"], "channel": "sms", "on": false})).await;
    assert_eq!(s, 200, "silenced: {b}");
    let (s, csv) = export(&app, &boss).await;
    assert_eq!(s, 200, "{csv}");
    assert_eq!(csv, "name,email,mobile,voice\r\n\"Sam Supplier\",\"sam@partner.example\",\"+12015550143\",\"\"\r\n");
    let (s, b) = call(&app, &boss, "delete_external", json!({"id": sam["id"]})).await;
    assert_eq!(s, 200, "{b}");

    let store = switchboard::store::Store::open_in_dir(&app.data_dir).await.unwrap();
    let rows: Vec<(String, String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT actor, action, target, detail FROM audit_log WHERE action LIKE 'incident.external.%' OR action IN \
         ('incident.channel', 'incident.directory.export', 'incident.responder.add') ORDER BY id",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    let row = |action: &str| rows.iter().find(|r| r.1 == action).cloned().unwrap_or_else(|| panic!("{action} audited: {rows:?}"));
    let sam_was = "name \"Sam Supplier\", email sam@partner.example, mobile •••0142, voice none";
    let sam_is = "name \"Sam Supplier\", email sam@partner.example, mobile •••0143, voice none";
    let expected = [
        ("boss", "incident.external.create", format!("before: none; after: {sam_was}")),
        ("boss", "incident.external.update", format!("before: {sam_was}; after: {sam_is}")),
        (
            "moderator@example.com",
            "incident.responder.add",
            "external \"Sam Supplier\": before: not in the space; after: in the space".into(),
        ),
        ("boss", "incident.channel", "SMS for \"Sam Supplier\": before: on; after: off".into()),
        ("boss", "incident.directory.export", "1 external responders".into()),
        ("boss", "incident.external.delete", format!("before: {sam_is}; after: none")),
    ];
    for (actor, action, detail) in expected {
        let r = row(action);
        assert_eq!((r.0.as_str(), r.3.as_deref()), (actor, Some(detail.as_str())), "{action}");
    }
    assert_eq!(row("incident.channel").2.as_deref(), Some(room.as_str()), "the space it happened in");
    assert!(rows.iter().all(|r| !r.3.clone().unwrap_or_default().contains("20155501")), "numbers are masked in the audit log: {rows:?}");
}

const RESPONDERS: &str = "Incident_Responders_Members";

#[tokio::test]
async fn the_responders_space_is_chosen_by_room_id_and_a_space_with_the_same_title_admits_nobody() {
    // Two spaces titled as the responders' space: the real one, and one an outsider made and
    // added the connected admin to, listed first (where a lookup by title would find it).
    let mut sim = WebexSimConfig::demo();
    let real = sim.org.room_by_title(RESPONDERS).unwrap().clone();
    let admin_id = person_id("admin@example.com");
    let outsider = sim.org.people.iter().find(|p| !real.members.iter().any(|(id, _)| *id == p.id)).unwrap().clone();
    let impostor = SimRoom {
        id: "Y2lzY29zcGFyazovL3VzL1JPT00vaW1wb3N0b3I".into(),
        title: RESPONDERS.into(),
        room_type: "group".into(),
        members: vec![(admin_id, false), (outsider.id.clone(), false)],
    };
    sim.org.rooms.insert(0, impostor.clone());
    let w = World {
        webex: SimWebex::start("127.0.0.1:0".parse().unwrap(), sim).await.unwrap(),
        connect: SimConnect::start("127.0.0.1:0".parse().unwrap(), ConnectConfig { service_key: KEY.into() }).await.unwrap(),
        secrets_key: switchboard::webex::SecretBox::generate_key(),
    };
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = webex_config(dir.path(), &w, KEY);
    cfg.webex.responders_space_id = None;
    let app = TestApp::spawn_with(cfg).await;
    assert_eq!(location(&connect_org(&app, "admin@example.com").await), "/incidents?connected=1");
    let boss = admin(&app).await;
    let mallory = client();
    assert_eq!(location(&webex_sign_in(&app, &mallory, &outsider.email).await), "/incidents", "an operator by the domain rule");
    let security = room_id(&w, "Response - Security");

    // None chosen yet: nobody runs incidents.
    let (s, e) = call(&app, &mallory, "open_space", json!({"room_id": security})).await;
    assert_eq!(s, 403, "{e}");
    assert!(e.to_string().contains("No responders' space is chosen"), "{e}");

    // The admin picks from the list, where both show with their ids.
    let (s, choices) = call(&app, &boss, "responders_space_choices", json!({})).await;
    assert_eq!(s, 200, "{choices}");
    let mut same_title: Vec<&str> =
        choices.as_array().unwrap().iter().filter(|c| c["title"] == RESPONDERS).map(|c| c["room_id"].as_str().unwrap()).collect();
    same_title.sort();
    let mut both = vec![real.id.as_str(), impostor.id.as_str()];
    both.sort();
    assert_eq!(same_title, both);
    let (s, e) = call(&app, &mallory, "choose_responders_space", json!({"room_id": impostor.id})).await;
    assert_eq!(s, 403, "an operator may not choose: {e}");
    let (s, e) = call(&app, &boss, "choose_responders_space", json!({"room_id": "not-a-room"})).await;
    assert_eq!(s, 404, "{e}");
    let (s, chosen) = call(&app, &boss, "choose_responders_space", json!({"room_id": real.id})).await;
    assert_eq!((s, chosen["room_id"].as_str()), (200, Some(real.id.as_str())), "{chosen}");

    // Only members of the room with that id run incidents.
    let mark = w.webex.requests().len();
    let (s, e) = call(&app, &mallory, "open_space", json!({"room_id": security})).await;
    assert_eq!(s, 403, "a member of the look-alike only: {e}");
    assert!(e.to_string().contains(&format!("Only members of the Webex space \\\"{RESPONDERS}\\\"")), "{e}");
    let c = client();
    webex_sign_in(&app, &c, "moderator@example.com").await;
    let (s, home) = call(&app, &c, "get_incidents_home", json!({})).await;
    assert_eq!((s, home["responders_space"]["room_id"].as_str()), (200, Some(real.id.as_str())), "{home}");
    let (s, page) = call(&app, &c, "open_space", json!({"room_id": security})).await;
    assert_eq!(s, 200, "{page}");

    // At the simulator's inspect endpoint: the responders' space was read by its id only.
    let requests: Vec<Value> = reqwest::get(format!("{}/sim/requests", w.webex.url())).await.unwrap().json().await.unwrap();
    let rooms_read: Vec<String> = requests[mark..]
        .iter()
        .filter_map(|r| {
            let url = reqwest::Url::parse(&format!("http://sim{}", r["path"].as_str()?)).ok()?;
            url.query_pairs().find(|(k, _)| k == "roomId").map(|(_, v)| v.into_owned())
        })
        .collect();
    assert!(rooms_read.contains(&real.id), "{rooms_read:?}");
    assert!(!requests.iter().any(|r| r["path"].as_str().unwrap_or_default().contains(&impostor.id)), "the look-alike is never read");
    let members: Vec<Value> =
        reqwest::get(format!("{}/sim/memberships?roomId={}", w.webex.url(), impostor.id)).await.unwrap().json().await.unwrap();
    assert_eq!(members.len(), 2, "nobody was added to the look-alike");

    let store = switchboard::store::Store::open_in_dir(&app.data_dir).await.unwrap();
    let detail: String = sqlx::query_scalar("SELECT detail FROM audit_log WHERE action = 'incident.responders_space' AND actor = 'boss'")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(detail, format!("before: none; after: \"{RESPONDERS}\" ({})", real.id));
}
