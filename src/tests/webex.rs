//! The Webex simulator over real HTTP: the OAuth code flow with PKCE, refresh and expiry, the
//! people/rooms/memberships/messages calls the incident-rooms sample makes, paging through `Link`,
//! and faults.

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::time::Duration;
use switchboard::sim::webex::{SimOrg, SimWebex, WebexSimConfig};

const ID: &str = "switchboard-sim-client";
const SECRET: &str = "switchboard-sim-secret";
const REDIRECT: &str = "http://127.0.0.1:5500/callback";

async fn sim() -> SimWebex {
    SimWebex::start("127.0.0.1:0".parse().unwrap(), WebexSimConfig::demo()).await.unwrap()
}

fn client() -> Client {
    Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn query_of(location: &str) -> HashMap<String, String> {
    reqwest::Url::parse(location).unwrap().query_pairs().into_owned().collect()
}

/// Accepts (or declines) on the consent page as `email`; returns the redirect's query.
async fn consent(s: &SimWebex, email: &str, decision: &str, verifier: Option<&str>) -> HashMap<String, String> {
    let mut form = vec![
        ("response_type", "code".to_string()),
        ("client_id", ID.to_string()),
        ("redirect_uri", REDIRECT.to_string()),
        ("scope", "spark:all".to_string()),
        ("state", "st-123".to_string()),
        ("email", email.to_string()),
        ("decision", decision.to_string()),
    ];
    if let Some(v) = verifier {
        form.push(("code_challenge", challenge(v)));
        form.push(("code_challenge_method", "S256".to_string()));
    }
    let r = client().post(format!("{}/v1/authorize", s.url())).form(&form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    assert!(loc.starts_with(REDIRECT), "{loc}");
    query_of(&loc)
}

async fn exchange(s: &SimWebex, code: &str, verifier: Option<&str>) -> reqwest::Response {
    let mut form = vec![("grant_type", "authorization_code"), ("code", code), ("redirect_uri", REDIRECT)];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    form.extend([("client_id", ID), ("client_secret", SECRET)]);
    client().post(format!("{}/v1/access_token", s.url())).form(&form).send().await.unwrap()
}

async fn refresh(s: &SimWebex, token: &str) -> reqwest::Response {
    let form = [("grant_type", "refresh_token"), ("refresh_token", token), ("client_id", ID), ("client_secret", SECRET)];
    client().post(format!("{}/v1/access_token", s.url())).form(&form).send().await.unwrap()
}

/// The whole code flow for `email`; the token response.
async fn login(s: &SimWebex, email: &str) -> Value {
    let q = consent(s, email, "accept", Some("a-verifier-that-is-long-enough-0123456789-abcdefghij")).await;
    let r = exchange(s, &q["code"], Some("a-verifier-that-is-long-enough-0123456789-abcdefghij")).await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn get(s: &SimWebex, token: &str, path: &str) -> reqwest::Response {
    client().get(format!("{}{path}", s.url())).bearer_auth(token).send().await.unwrap()
}

#[tokio::test]
async fn the_code_flow_with_pkce_gives_tokens_once_and_only_for_the_right_verifier() {
    let s = sim().await;
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let url = format!(
        "{}/v1/authorize?response_type=code&client_id={ID}&redirect_uri={}&scope=spark%3Aall&state=st-123&code_challenge={}&code_challenge_method=S256&login_hint=moderator%40example.com",
        s.url(),
        "http%3A%2F%2F127.0.0.1%3A5500%2Fcallback",
        challenge(verifier)
    );
    let r = client().get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("Switchboard wants to access your Webex account"));
    assert!(html.contains(r#"<select name="email" id="email">"#), "{html}");
    assert!(html.contains(r#"<option value="moderator@example.com" selected>"#), "login_hint preselects");
    assert!(html.contains(r#"id="accept""#) && html.contains(r#"id="decline""#));
    assert!(html.contains(&format!(r#"name="code_challenge" value="{}""#, challenge(verifier))), "carried in hidden inputs");

    let q = consent(&s, "moderator@example.com", "accept", Some(verifier)).await;
    assert_eq!(q["state"], "st-123");
    let code = q["code"].clone();

    let wrong = exchange(&s, &code, Some("not-the-verifier-not-the-verifier-not-the-verifier")).await;
    assert_eq!(wrong.status(), 400);
    assert_eq!(wrong.json::<Value>().await.unwrap()["error"], "invalid_grant");
    let missing = exchange(&s, &code, None).await;
    assert_eq!(missing.json::<Value>().await.unwrap()["error"], "invalid_grant", "a challenged code needs a verifier");

    let ok = exchange(&s, &code, Some(verifier)).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["cache-control"], "no-store");
    let t: Value = ok.json().await.unwrap();
    assert_eq!((t["token_type"].as_str(), t["scope"].as_str()), (Some("Bearer"), Some("spark:all")));
    assert_eq!(t["expires_in"], 14 * 86_400);
    assert!(t["refresh_token_expires_in"].as_u64().unwrap() >= 90 * 86_400 - 1);
    let access = t["access_token"].as_str().unwrap();
    let me: Value = get(&s, access, "/v1/people/me").await.json().await.unwrap();
    assert_eq!(me["emails"][0], "moderator@example.com");

    let again = exchange(&s, &code, Some(verifier)).await;
    assert_eq!((again.status().as_u16(), again.json::<Value>().await.unwrap()["error"].clone()), (400, json!("invalid_grant")));
    assert_eq!(get(&s, access, "/v1/people/me").await.status(), 401, "a replayed code revokes what it issued");
    assert_eq!(refresh(&s, t["refresh_token"].as_str().unwrap()).await.status(), 400);

    let declined = consent(&s, "moderator@example.com", "decline", None).await;
    assert_eq!((declined["error"].as_str(), declined["state"].as_str()), ("access_denied", "st-123"));
    assert!(!declined.contains_key("code"));
}

#[tokio::test]
async fn unknown_clients_and_unregistered_redirects_get_a_page_not_a_redirect() {
    let mut cfg = WebexSimConfig::demo();
    cfg.redirect_uris = vec![REDIRECT.to_string()];
    let s = SimWebex::start("127.0.0.1:0".parse().unwrap(), cfg).await.unwrap();
    let auth = |client_id: &str, redirect: &str| {
        format!(
            "{}/v1/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=spark:all&state=x",
            s.url(),
            redirect.replace(':', "%3A").replace('/', "%2F")
        )
    };
    for url in [auth("someone-else", REDIRECT), auth(ID, "http://evil.example/cb"), auth(ID, "http://127.0.0.1:5500/callback2")] {
        let r = client().get(&url).send().await.unwrap();
        assert_eq!(r.status(), 400, "{url}");
        assert!(r.headers().get("location").is_none());
    }
    assert_eq!(client().get(auth(ID, REDIRECT)).send().await.unwrap().status(), 200);
    let bad_type = client().get(auth(ID, REDIRECT).replace("response_type=code", "response_type=token")).send().await.unwrap();
    assert_eq!(bad_type.status(), 303);
    assert_eq!(query_of(bad_type.headers()["location"].to_str().unwrap())["error"], "unsupported_response_type");

    let q = consent(&s, "admin@example.com", "accept", None).await;
    let wrong_secret = client()
        .post(format!("{}/v1/access_token", s.url()))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", q["code"].as_str()),
            ("redirect_uri", REDIRECT),
            ("client_id", ID),
            ("client_secret", "nope"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_secret.status(), 401);
    assert_eq!(wrong_secret.json::<Value>().await.unwrap()["error"], "invalid_client");
    let other_redirect = client()
        .post(format!("{}/v1/access_token", s.url()))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", q["code"].as_str()),
            ("redirect_uri", "http://127.0.0.1:5500/other"),
            ("client_id", ID),
            ("client_secret", SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(other_redirect.json::<Value>().await.unwrap()["error"], "invalid_grant");
    assert_eq!(exchange(&s, &q["code"], None).await.status(), 200, "no challenge, no verifier needed");
}

#[tokio::test]
async fn access_tokens_expire_refresh_gives_new_ones_and_a_revoked_refresh_token_is_refused_as_webex_does() {
    let s = sim().await;
    s.set_lifetimes(Duration::from_secs(1), Duration::from_secs(60));
    let t = login(&s, "admin@example.com").await;
    assert_eq!((t["expires_in"].as_u64(), t["refresh_token_expires_in"].as_u64()), (Some(1), Some(60)));
    let access = t["access_token"].as_str().unwrap();
    assert_eq!(get(&s, access, "/v1/people/me").await.status(), 200);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let expired = get(&s, access, "/v1/people/me").await;
    assert_eq!(expired.status(), 401);
    assert!(expired.headers().get("trackingid").is_some());
    let body: Value = expired.json().await.unwrap();
    assert_eq!(body["message"], "The request requires a valid access token set in the Authorization request header.");
    assert!(body["trackingId"].as_str().unwrap().starts_with("ROUTER_"));

    let rt = t["refresh_token"].as_str().unwrap();
    let r = refresh(&s, rt).await;
    assert_eq!(r.status(), 200);
    let fresh: Value = r.json().await.unwrap();
    assert_eq!(fresh["refresh_token"], rt, "the same refresh token comes back");
    assert!(fresh["refresh_token_expires_in"].as_u64().unwrap() <= 60);
    assert_ne!(fresh["access_token"], t["access_token"]);
    assert_eq!(get(&s, fresh["access_token"].as_str().unwrap(), "/v1/people/me").await.status(), 200);

    s.revoke_refresh_tokens();
    let dead = refresh(&s, rt).await;
    assert_eq!(dead.status(), 400);
    let body: Value = dead.json().await.unwrap();
    let text = "The refresh token provided is expired, revoked, malformed, or invalid.";
    assert_eq!((body["error"].as_str(), body["error_description"].as_str()), (Some("invalid_request"), Some(text)), "{body}");
    assert_eq!((body["errors"][0]["description"].as_str(), body["message"].as_str()), (Some(text), Some(text)), "Webex's own fields too");
    assert_eq!(refresh(&s, "never-issued").await.json::<Value>().await.unwrap()["error_description"], text);
}

#[tokio::test]
async fn the_token_endpoint_takes_the_client_as_form_fields_and_refuses_http_basic() {
    let s = sim().await;
    let q = consent(&s, "admin@example.com", "accept", None).await;
    let form = [("grant_type", "authorization_code"), ("code", q["code"].as_str()), ("redirect_uri", REDIRECT)];
    let basic = client().post(format!("{}/v1/access_token", s.url())).basic_auth(ID, Some(SECRET)).form(&form).send().await.unwrap();
    assert_eq!(basic.status(), 400, "HTTP Basic alone is not how Webex takes the client");
    let body: Value = basic.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert!(body["error_description"].as_str().unwrap().contains("client_id and client_secret"), "{body}");
    let mut wrong = form.to_vec();
    wrong.extend([("client_id", ID), ("client_secret", "not-the-secret")]);
    let r = client().post(format!("{}/v1/access_token", s.url())).form(&wrong).send().await.unwrap();
    assert_eq!(
        (r.status().as_u16(), r.json::<Value>().await.unwrap()["error"].as_str().map(String::from)),
        (401, Some("invalid_client".into()))
    );
    let mut right = form.to_vec();
    right.extend([("client_id", ID), ("client_secret", SECRET)]);
    let r = client().post(format!("{}/v1/access_token", s.url())).form(&right).send().await.unwrap();
    assert_eq!(r.status(), 200, "the form fields are accepted (the code was not used up by the refused tries)");
}

#[tokio::test]
async fn people_pages_through_link_for_an_admin_and_needs_a_filter_otherwise() {
    let s = sim().await;
    let admin = s.mint_token("admin@example.com").unwrap();
    let mut url = format!("{}/v1/people?max=100", s.url());
    let (mut seen, mut pages) = (Vec::new(), 0);
    loop {
        let r = client().get(&url).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let next = r.headers().get("link").map(|l| l.to_str().unwrap().to_string());
        let items = r.json::<Value>().await.unwrap()["items"].as_array().unwrap().clone();
        assert!(items.len() <= 30);
        seen.extend(items.iter().map(|p| p["id"].as_str().unwrap().to_string()));
        pages += 1;
        match next {
            Some(l) => {
                assert!(l.ends_with(r#">; rel="next""#) && l.contains("max=100"), "{l}");
                url = l.trim_start_matches('<').split('>').next().unwrap().to_string();
            }
            None => break,
        }
    }
    assert_eq!((seen.len(), pages), (50, 2));
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 50);
    let raw = String::from_utf8(STANDARD_NO_PAD.decode(&seen[0]).unwrap()).unwrap();
    assert!(raw.starts_with("ciscospark://us/PEOPLE/"), "{raw}");

    let user = s.mint_token("moderator@example.com").unwrap();
    let r = get(&s, &user, "/v1/people").await;
    assert_eq!(r.status(), 403);
    assert!(r.json::<Value>().await.unwrap()["errors"][0]["description"].is_string());
    let one: Value = get(&s, &user, "/v1/people?email=ADMIN@example.com").await.json().await.unwrap();
    assert_eq!(one["items"].as_array().unwrap().len(), 1);
    let admin_json = &one["items"][0];
    assert!(!admin_json["roles"].as_array().unwrap().is_empty());
    assert_eq!(admin_json["phoneNumbers"][0]["value"].as_str().map(|v| v.starts_with("+1")), Some(true));
    let by_name: Value = get(&s, &user, "/v1/people?displayName=morg").await.json().await.unwrap();
    assert_eq!(by_name["items"][0]["displayName"], "Morgan Moderator");
    let id = admin_json["id"].as_str().unwrap();
    assert_eq!(get(&s, &user, &format!("/v1/people/{id}")).await.status(), 200);
    assert_eq!(get(&s, &user, "/v1/people/nobody").await.status(), 404);
    let me: Value = get(&s, &user, "/v1/people/me").await.json().await.unwrap();
    assert!(me["roles"].as_array().unwrap().is_empty());
    assert_eq!(
        (me["firstName"].as_str(), me["lastName"].as_str(), me["type"].as_str()),
        (Some("Morgan"), Some("Moderator"), Some("person"))
    );
    assert_eq!(client().get(format!("{}/v1/people/me", s.url())).send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn memberships_are_created_once_updated_and_deleted_by_room_members_only() {
    let s = sim().await;
    let org = SimOrg::demo(50);
    let moderator = org.person_by_email("moderator@example.com").unwrap().clone();
    let admin = s.mint_token("admin@example.com").unwrap();
    let user = s.mint_token("moderator@example.com").unwrap();

    let rooms: Value = get(&s, &admin, "/v1/rooms?type=group&max=2").await.json().await.unwrap();
    assert_eq!(rooms["items"].as_array().unwrap().len(), 2, "max narrows the page");
    let mine: Value = get(&s, &user, "/v1/rooms?type=group").await.json().await.unwrap();
    let titles: Vec<&str> = mine["items"].as_array().unwrap().iter().map(|r| r["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Incident_Responders_Members"], "only the caller's rooms");

    let room = org.room_by_title("Response - Security").unwrap().id.clone();
    assert_eq!(get(&s, &user, &format!("/v1/memberships?roomId={room}")).await.status(), 404, "not a member");
    assert_eq!(get(&s, &user, &format!("/v1/rooms/{room}")).await.status(), 404);
    let listed: Value = get(&s, &admin, &format!("/v1/memberships?roomId={room}")).await.json().await.unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 3);
    assert_eq!(listed["items"][0]["personEmail"], "admin@example.com");

    let post = |token: &str, body: Value| client().post(format!("{}/v1/memberships", s.url())).bearer_auth(token).json(&body).send();
    let r = post(&user, json!({"roomId": room, "personId": moderator.id})).await.unwrap();
    assert_eq!(r.status(), 404, "the caller must be in the room");
    // Nobody moderates the space yet: the admin may make themself its moderator.
    let own = listed["items"][0]["id"].as_str().unwrap();
    let r = client()
        .put(format!("{}/v1/memberships/{own}", s.url()))
        .bearer_auth(&admin)
        .json(&json!({"isModerator": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = post(&admin, json!({"roomId": room, "personId": moderator.id, "isModerator": true})).await.unwrap();
    assert_eq!(r.status(), 200);
    let m: Value = r.json().await.unwrap();
    assert_eq!(
        (m["personEmail"].as_str(), m["isModerator"].as_bool(), m["roomType"].as_str()),
        (Some("moderator@example.com"), Some(true), Some("group"))
    );
    let raw = String::from_utf8(STANDARD_NO_PAD.decode(m["id"].as_str().unwrap()).unwrap()).unwrap();
    assert!(raw.starts_with("ciscospark://us/MEMBERSHIP/") && raw.contains(':'), "{raw}");
    assert_eq!(post(&admin, json!({"roomId": room, "personEmail": "moderator@example.com"})).await.unwrap().status(), 409);
    assert_eq!(post(&admin, json!({"roomId": room, "personEmail": "ghost@example.com"})).await.unwrap().status(), 404);
    let bad = client().post(format!("{}/v1/memberships", s.url())).bearer_auth(&admin).body("{not json").send().await.unwrap();
    assert_eq!(bad.status(), 400);

    let room_json: Value = get(&s, &user, &format!("/v1/rooms/{room}")).await.json().await.unwrap();
    assert_eq!((room_json["title"].as_str(), room_json["isLocked"].as_bool()), (Some("Response - Security"), Some(true)));
    let filtered: Value = get(&s, &user, &format!("/v1/memberships?roomId={room}&personId={}", moderator.id)).await.json().await.unwrap();
    assert_eq!(filtered["items"].as_array().unwrap().len(), 1);

    let id = m["id"].as_str().unwrap();
    let put = client()
        .put(format!("{}/v1/memberships/{id}", s.url()))
        .bearer_auth(&admin)
        .json(&json!({"isModerator": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    assert_eq!(put.json::<Value>().await.unwrap()["isModerator"], false);
    assert!(s.memberships(&room).iter().any(|m| m.person_email == "moderator@example.com" && !m.is_moderator));

    let del = || client().delete(format!("{}/v1/memberships/{id}", s.url())).bearer_auth(&admin).send();
    assert_eq!(del().await.unwrap().status(), 204);
    assert_eq!(del().await.unwrap().status(), 404);
    assert_eq!(s.memberships(&room).len(), 3);

    s.add_membership(&room, &moderator.id, false);
    let info: Value = get(&s, &user, &format!("/v1/rooms/{room}/meetingInfo")).await.json().await.unwrap();
    let number = info["meetingNumber"].as_str().unwrap();
    assert!(number.len() == 10 && number.bytes().all(|b| b.is_ascii_digit()), "{number}");
    assert_eq!(info["sipAddress"], format!("{number}@example.webex.com"));
    assert!(info["meetingLink"].as_str().unwrap().starts_with("https://example.webex.com/m/"));
    let again: Value = get(&s, &admin, &format!("/v1/rooms/{room}/meetingInfo")).await.json().await.unwrap();
    assert_eq!(again["meetingNumber"], info["meetingNumber"], "stable per room");
}

#[tokio::test]
async fn messages_to_someone_are_logged_and_to_yourself_refused() {
    let s = sim().await;
    let org = SimOrg::demo(50);
    let admin = org.person_by_email("admin@example.com").unwrap().clone();
    let user = s.mint_token("moderator@example.com").unwrap();
    let send = |body: Value| client().post(format!("{}/v1/messages", s.url())).bearer_auth(&user).json(&body).send();

    assert_eq!(send(json!({"toPersonEmail": "moderator@example.com", "text": "hi me"})).await.unwrap().status(), 400);
    assert_eq!(send(json!({"toPersonId": admin.id})).await.unwrap().status(), 400, "no text or markdown");
    assert_eq!(send(json!({"toPersonEmail": "ghost@example.com", "text": "x"})).await.unwrap().status(), 404);
    let r = send(json!({"toPersonId": admin.id, "text": "Join incident \"Fire\""})).await.unwrap();
    assert_eq!(r.status(), 200);
    let m: Value = r.json().await.unwrap();
    assert_eq!(
        (m["roomType"].as_str(), m["toPersonEmail"].as_str(), m["personEmail"].as_str()),
        (Some("direct"), Some("admin@example.com"), Some("moderator@example.com"))
    );
    assert!(m["created"].as_str().unwrap().ends_with('Z') && m["created"].as_str().unwrap().contains('.'));

    let log = s.messages();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].to_person_id.as_deref(), log[0].text.as_deref(), log[0].from_person_id.as_str()),
        (Some(admin.id.as_str()), Some("Join incident \"Fire\""), org.person_by_email("moderator@example.com").unwrap().id.as_str())
    );
    let over_http: Value = client().get(format!("{}/sim/messages", s.url())).send().await.unwrap().json().await.unwrap();
    assert_eq!(over_http.as_array().unwrap().len(), 1);
    let reqs = s.requests();
    assert!(reqs.iter().all(|r| r.path == "/v1/messages" && r.person_email.as_deref() == Some("moderator@example.com")));
    assert_eq!(reqs.iter().map(|r| r.status).collect::<Vec<_>>(), [400, 400, 404, 200]);
}

#[tokio::test]
async fn throttling_answers_429_with_retry_after_and_failures_503_on_the_api_only() {
    let s = sim().await;
    let token: Value = client().get(format!("{}/sim/token?email=admin@example.com", s.url())).send().await.unwrap().json().await.unwrap();
    assert_eq!(token["person"]["displayName"], "Alex Admin");
    let token = token["access_token"].as_str().unwrap().to_string();
    s.faults().set_throttle_every(2);
    assert_eq!(get(&s, &token, "/v1/people/me").await.status(), 200);
    let r = get(&s, &token, "/v1/people/me").await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "1");
    assert!(r.json::<Value>().await.unwrap()["message"].is_string());
    s.faults().set_retry_after_secs(5);
    assert_eq!(get(&s, &token, "/v1/people/me").await.status(), 200);
    assert_eq!(get(&s, &token, "/v1/people/me").await.headers()["retry-after"], "5");
    s.faults().set_throttle_every(0);
    s.faults().set_fail_every(1);
    assert_eq!(get(&s, &token, "/v1/rooms").await.status(), 503);
    assert_eq!(client().get(format!("{}/sim/token?email=admin@example.com", s.url())).send().await.unwrap().status(), 200);
    assert_eq!(client().get(format!("{}/sim/token?email=nobody@example.com", s.url())).send().await.unwrap().status(), 404);
    let unknown = client().get(format!("{}/v1/nothing-here", s.url())).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    assert!(unknown.json::<Value>().await.unwrap()["trackingId"].is_string());
}

#[test]
fn the_demo_org_is_deterministic_and_shaped_as_promised() {
    let org = SimOrg::demo(50);
    assert_eq!(org, SimOrg::demo(50));
    assert_eq!(org.people.len(), 50);
    assert_eq!(
        (org.people[0].display_name.as_str(), org.people[0].roles.as_slice()),
        ("Alex Admin", ["id_full_admin".to_string()].as_slice())
    );
    assert_eq!(org.people[1].email, "moderator@example.com");
    let mut emails: Vec<_> = org.people.iter().map(|p| p.email.as_str()).collect();
    emails.sort();
    emails.dedup();
    assert_eq!(emails.len(), 50);
    let with = |kind: &str| org.people.iter().filter(|p| p.phones.iter().any(|(t, _)| t == kind)).count();
    assert!(with("mobile") > 35 && with("work") > 25, "most have a mobile, many a work number");
    assert!(org.people.iter().any(|p| p.phones.is_empty()), "a few have none");
    let responders = org.room_by_title("Incident_Responders_Members").unwrap();
    assert!(responders.members.iter().any(|(p, _)| *p == org.people[1].id) && responders.members.len() >= 7);
    for t in ["Response - Network outage", "Response - Security", "Response - Datacenter", "Lunch club"] {
        assert!(org.room_by_title(t).unwrap().members.iter().any(|(p, _)| *p == org.people[0].id), "{t}");
    }
}

#[tokio::test]
async fn in_a_moderated_space_only_its_moderators_add_remove_or_change_moderators() {
    let s = sim().await;
    let org = SimOrg::demo(50);
    let room = org.room_by_title("Incident_Responders_Members").unwrap().id.clone();
    let (admin, user) = (s.mint_token("admin@example.com").unwrap(), s.mint_token("moderator@example.com").unwrap());
    let admin_id = org.person_by_email("admin@example.com").unwrap().id.clone();
    let (p2, p20) = (org.people[2].id.clone(), org.people[20].id.clone());
    s.add_membership(&room, &admin_id, true);
    let membership_of = |pid: &str| s.memberships(&room).into_iter().find(|m| m.person_id == pid).unwrap().id;
    let forbidden = |r: reqwest::Response| async move {
        assert_eq!(r.status(), 403);
        let body: Value = r.json().await.unwrap();
        assert!(body["message"].as_str().unwrap().contains("moderated") && body["errors"][0]["description"].is_string(), "{body}");
        assert!(body["trackingId"].is_string());
    };
    let add = |token: &str, pid: &str| {
        client().post(format!("{}/v1/memberships", s.url())).bearer_auth(token).json(&json!({"roomId": room, "personId": pid})).send()
    };
    forbidden(add(&user, &p20).await.unwrap()).await;
    let flag = |token: &str, mid: &str, on: bool| {
        client().put(format!("{}/v1/memberships/{mid}", s.url())).bearer_auth(token).json(&json!({"isModerator": on})).send()
    };
    forbidden(flag(&user, &membership_of(&p2), true).await.unwrap()).await;
    let user_id = org.person_by_email("moderator@example.com").unwrap().id.clone();
    forbidden(flag(&user, &membership_of(&user_id), true).await.unwrap()).await;
    let remove = |token: &str, mid: &str| client().delete(format!("{}/v1/memberships/{mid}", s.url())).bearer_auth(token).send();
    forbidden(remove(&user, &membership_of(&p2)).await.unwrap()).await;
    assert_eq!(s.memberships(&room).len(), 7, "nothing changed");

    // The moderator may; and anyone may leave.
    assert_eq!(add(&admin, &p20).await.unwrap().status(), 200);
    assert_eq!(flag(&admin, &membership_of(&user_id), true).await.unwrap().status(), 200);
    assert_eq!(remove(&user, &membership_of(&p20)).await.unwrap().status(), 204, "a new moderator removes people");
    let p3 = org.people[3].id.clone();
    let leaver = s.mint_token(&org.people[3].email).unwrap();
    assert_eq!(remove(&leaver, &membership_of(&p3)).await.unwrap().status(), 204, "leaving is always allowed");
}

#[tokio::test]
async fn scopes_are_enforced_per_endpoint() {
    let s = sim().await;
    let no_admin_scope = s.mint_token_with_scope("admin@example.com", "spark:all").unwrap();
    let r = get(&s, &no_admin_scope, "/v1/people").await;
    assert_eq!(r.status(), 403, "the admin people list needs spark-admin:people_read");
    assert!(r.json::<Value>().await.unwrap()["message"].as_str().unwrap().contains("spark-admin:people_read"));
    assert_eq!(get(&s, &no_admin_scope, "/v1/people?email=admin@example.com").await.status(), 200, "spark:all reads people");
    let with_it = s.mint_token_with_scope("admin@example.com", "spark:all spark-admin:people_read").unwrap();
    assert_eq!(get(&s, &with_it, "/v1/people").await.status(), 200);
    let people_only = s.mint_token_with_scope("admin@example.com", "spark:people_read").unwrap();
    assert_eq!(get(&s, &people_only, "/v1/people/me").await.status(), 200);
    let r = get(&s, &people_only, "/v1/rooms").await;
    assert_eq!(r.status(), 403);
    assert!(r.json::<Value>().await.unwrap()["message"].as_str().unwrap().contains("spark:rooms_read"));
    let send = client()
        .post(format!("{}/v1/messages", s.url()))
        .bearer_auth(&people_only)
        .json(&json!({"toPersonEmail": "moderator@example.com", "text": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(send.status(), 403);
    assert!(s.messages().is_empty());
    let granted = login(&s, "moderator@example.com").await;
    assert_eq!(get(&s, granted["access_token"].as_str().unwrap(), "/v1/rooms").await.status(), 200, "what was consented to counts");
}

#[tokio::test]
async fn a_change_carried_out_can_lose_its_answer() {
    let s = sim().await;
    let token = s.mint_token("admin@example.com").unwrap();
    s.faults().set_lose_answer_every(1);
    assert_eq!(get(&s, &token, "/v1/people/me").await.status(), 200, "reads always answer");
    let send = || {
        client()
            .post(format!("{}/v1/messages", s.url()))
            .bearer_auth(&token)
            .json(&json!({"toPersonEmail": "moderator@example.com", "text": "hi"}))
            .send()
    };
    let lost = send().await;
    assert!(lost.is_err(), "no answer arrives: {lost:?}");
    assert_eq!(s.messages().len(), 1, "but the message was sent");
    s.faults().set_lose_answer_every(0);
    assert_eq!(send().await.unwrap().status(), 200);
    assert_eq!(s.messages().len(), 2, "a repeat is another message: Webex has no key to recognise it by");
}

#[tokio::test]
async fn our_oauth_client_sends_the_client_as_form_fields_and_knows_a_dead_refresh_token() {
    use switchboard::webex::oauth::OAuthConfig;
    use switchboard::webex::{LoginKind, OAuthError, WebexOAuth};
    let s = sim().await;
    let cfg = OAuthConfig {
        client_id: ID.into(),
        client_secret: SECRET.into(),
        authorize_url: format!("{}/v1/authorize", s.url()),
        token_url: format!("{}/v1/access_token", s.url()),
        redirect_url: REDIRECT.into(),
        org_scopes: OAuthConfig::default_org_scopes(),
        user_scopes: OAuthConfig::default_user_scopes(),
    };
    let limits = switchboard::outbound::HttpLimits::default();
    let oauth = WebexOAuth::new(&cfg, switchboard::outbound::BoundedOAuthHttp::new(limits.client().unwrap(), limits)).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let (url, pending) = oauth.begin(LoginKind::OrgGrant, "/", now);
    let back = query_of(&s.consent(&url, "admin@example.com").await.unwrap());
    let tokens = oauth.finish(&pending, &back["state"], &back["code"], now).await.expect("the code is traded with form fields");
    let rt = tokens.refresh_token.clone().unwrap();
    assert!(oauth.refresh(&rt, now).await.is_ok());
    s.revoke_refresh_tokens();
    let e = oauth.refresh(&rt, now).await.unwrap_err();
    assert_eq!(e, OAuthError::RefreshDead, "Webex's 400 is recognised: {e}");
    assert!(e.to_string().contains("sign in with Webex again"));
}
