//! The Graph simulator as other clients meet Graph (Microsoft's MSAL above all, and plain HTTP):
//! instance discovery, the OpenID Connect discovery document and the token endpoint it names,
//! events created and read in other time zones than UTC (`Prefer: outlook.timezone`), unknown
//! zones refused as Graph refuses them, and the 401 challenge.

use serde_json::{json, Value};
use switchboard::sim::graph::{GraphSimConfig, SimGraph};

const MAILBOX: &str = "user1@cloud.example.com";

async fn sim() -> SimGraph {
    SimGraph::start("127.0.0.1:0".parse().unwrap(), GraphSimConfig::demo(2)).await.unwrap()
}

/// A token as MSAL asks for one: client credentials POSTed to `token_endpoint`.
async fn token_at(http: &reqwest::Client, token_endpoint: &str) -> reqwest::Response {
    http.post(token_endpoint)
        .form(&[
            ("client_id", "switchboard-app"),
            ("client_secret", "app-secret"),
            ("grant_type", "client_credentials"),
            ("scope", "https://graph.microsoft.com/.default"),
            ("client_info", "1"),
        ])
        .send()
        .await
        .unwrap()
}

async fn token(g: &SimGraph) -> String {
    let v: Value = token_at(&reqwest::Client::new(), &g.token_url()).await.json().await.unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

/// POSTs an event whose start and end are given as `dateTimeTimeZone` in `zone`.
async fn create_in(g: &SimGraph, tok: &str, start: &str, end: &str, zone: &str) -> reqwest::Response {
    let body = json!({
        "subject": "Planning", "location": {"displayName": "@cms"}, "body": {"contentType": "html", "content": "<p>a</p>"},
        "start": {"dateTime": start, "timeZone": zone}, "end": {"dateTime": end, "timeZone": zone},
    });
    reqwest::Client::new().post(format!("{}/users/{MAILBOX}/events", g.api_url())).bearer_auth(tok).json(&body).send().await.unwrap()
}

/// As MSAL Python with `authority` the simulator's (HTTPS: MSAL takes no other) and
/// `instance_discovery` pointed at it: instance discovery, the document, the token.
#[tokio::test]
async fn msal_finds_the_tenant_by_instance_discovery_and_the_openid_document_and_signs_in_at_its_token_endpoint() {
    let g = SimGraph::start("127.0.0.1:0".parse().unwrap(), GraphSimConfig { tls: true, ..GraphSimConfig::demo(2) }).await.unwrap();
    let ca = reqwest::Certificate::from_pem(g.cert_pem().expect("a certificate").as_bytes()).unwrap();
    let http = reqwest::Client::builder().add_root_certificate(ca).build().unwrap();
    let authority = g.authority_url();
    assert!(authority.starts_with("https://"), "{authority}");
    // What MSAL asks first (unless instance discovery is off): where the tenant's document is.
    let found: Value = http
        .get(format!("{}/common/discovery/instance", g.login_url()))
        .query(&[("api-version", "1.1"), ("authorization_endpoint", &format!("{authority}/oauth2/v2.0/authorize"))])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let doc_url = found["tenant_discovery_endpoint"].as_str().expect("tenant_discovery_endpoint");
    assert_eq!(doc_url, format!("{authority}/v2.0/.well-known/openid-configuration"));
    assert!(found["metadata"][0]["aliases"].as_array().is_some_and(|a| !a.is_empty()), "{found}");
    // MSAL Python names the instance by its host alone (no port) and asks with api-version 1.0.
    let mut portless = reqwest::Url::parse(&format!("{authority}/oauth2/v2.0/authorize")).unwrap();
    portless.set_port(None).unwrap();
    let found_too: Value = http
        .get(format!("{}/common/discovery/instance", g.login_url()))
        .query(&[("authorization_endpoint", portless.as_str()), ("api-version", "1.0")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found_too["tenant_discovery_endpoint"], doc_url, "{found_too}");
    // The discovery document, every endpoint on the simulator.
    let res = http.get(doc_url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc["issuer"], format!("{authority}/v2.0"));
    assert_eq!(doc["token_endpoint"], format!("{authority}/oauth2/v2.0/token"));
    assert_eq!(doc["authorization_endpoint"], format!("{authority}/oauth2/v2.0/authorize"));
    assert!(doc["jwks_uri"].as_str().is_some_and(|u| u.starts_with(&authority)), "{doc}");
    assert!(doc["response_types_supported"].as_array().is_some_and(|r| r.contains(&json!("code"))), "{doc}");
    assert_eq!(http.get(doc["jwks_uri"].as_str().unwrap()).send().await.unwrap().status(), 200);
    // The token from the endpoint the document names opens the API.
    let res = token_at(&http, doc["token_endpoint"].as_str().unwrap()).await;
    assert_eq!(res.status(), 200);
    let tok: Value = res.json().await.unwrap();
    assert_eq!(tok["token_type"], "Bearer");
    let id = g.create_meeting(MAILBOX, "x", "y", "z", time::OffsetDateTime::now_utc(), time::OffsetDateTime::now_utc());
    let res = http
        .get(format!("{}/users/{MAILBOX}/events/{id}", g.api_url()))
        .bearer_auth(tok["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // The multi-tenant document says {tenantid} in its issuer, as Entra ID's.
    let common: Value =
        http.get(format!("{}/common/v2.0/.well-known/openid-configuration", g.login_url())).send().await.unwrap().json().await.unwrap();
    assert_eq!(common["issuer"], format!("{}/{{tenantid}}/v2.0", g.login_url()));
}

#[tokio::test]
async fn discovery_refuses_an_unknown_tenant_and_an_authority_on_another_host() {
    let g = sim().await;
    let http = reqwest::Client::new();
    let res = http.get(format!("{}/fabrikam/v2.0/.well-known/openid-configuration", g.login_url())).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let v: Value = res.json().await.unwrap();
    assert!(v["error_description"].as_str().is_some_and(|d| d.starts_with("AADSTS90002")), "{v}");
    let res = http
        .get(format!("{}/common/discovery/instance", g.login_url()))
        .query(&[("api-version", "1.1"), ("authorization_endpoint", "https://login.example.net/contoso/oauth2/v2.0/authorize")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_instance");
}

#[tokio::test]
async fn a_401_challenges_with_www_authenticate_bearer_naming_the_authorization_endpoint_and_graph() {
    let g = sim().await;
    let http = reqwest::Client::new();
    let want = format!(
        "Bearer realm=\"\", authorization_uri=\"{}/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"",
        g.login_url()
    );
    for req in [
        http.get(format!("{}/users/{MAILBOX}/events/x", g.api_url())),
        http.get(format!("{}/subscriptions/x", g.api_url())).bearer_auth("stale"),
    ] {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 401);
        assert_eq!(res.headers().get("www-authenticate").and_then(|v| v.to_str().ok()), Some(want.as_str()));
        assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "InvalidAuthenticationToken");
    }
}

#[tokio::test]
async fn an_event_created_at_nine_pacific_time_reads_back_at_seventeen_utc_in_winter_and_sixteen_in_summer() {
    let g = sim().await;
    let tok = token(&g).await;
    let res = create_in(&g, &tok, "2026-01-05T09:00:00.0000000", "2026-01-05T09:30:00.0000000", "Pacific Standard Time").await;
    assert_eq!(res.status(), 201);
    assert!(res.headers().get("preference-applied").is_none(), "no preference asked, none applied");
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["start"], json!({"dateTime": "2026-01-05T17:00:00.0000000", "timeZone": "UTC"}));
    assert_eq!(v["end"], json!({"dateTime": "2026-01-05T17:30:00.0000000", "timeZone": "UTC"}));
    assert_eq!(
        (&v["originalStartTimeZone"], &v["originalEndTimeZone"]),
        (&json!("Pacific Standard Time"), &json!("Pacific Standard Time"))
    );
    let id = v["id"].as_str().unwrap();
    let stored = g.event(id).unwrap();
    assert_eq!(stored.start, time::macros::datetime!(2026-01-05 17:00 UTC));
    assert_eq!(stored.start_zone, "Pacific Standard Time");
    let got: Value = reqwest::Client::new()
        .get(format!("{}/users/{MAILBOX}/events/{id}", g.api_url()))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["start"]["dateTime"], "2026-01-05T17:00:00.0000000");
    // In summer the zone is seven hours behind (daylight saving time); an IANA name reads the same.
    for zone in ["Pacific Standard Time", "America/Los_Angeles"] {
        let v: Value = create_in(&g, &tok, "2026-07-06T09:00:00", "2026-07-06T10:00:00", zone).await.json().await.unwrap();
        assert_eq!(v["start"]["dateTime"], "2026-07-06T16:00:00.0000000", "{zone}");
        assert_eq!(v["originalStartTimeZone"], zone);
    }
    // A PATCH moving the meeting is read in its zone too.
    let patched: Value = reqwest::Client::new()
        .patch(format!("{}/users/{MAILBOX}/events/{id}", g.api_url()))
        .bearer_auth(&tok)
        .json(&json!({"start": {"dateTime": "2026-01-05T10:00:00", "timeZone": "W. Europe Standard Time"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(patched["start"]["dateTime"], "2026-01-05T09:00:00.0000000");
    assert_eq!(patched["originalStartTimeZone"], "W. Europe Standard Time");
}

#[tokio::test]
async fn prefer_outlook_timezone_answers_in_that_zone_under_its_name_and_says_it_was_applied() {
    let g = sim().await;
    let tok = token(&g).await;
    let v: Value = create_in(&g, &tok, "2026-01-05T09:00:00", "2026-01-05T09:30:00", "Pacific Standard Time").await.json().await.unwrap();
    let id = v["id"].as_str().unwrap();
    let http = reqwest::Client::new();
    let res = http
        .get(format!("{}/users/{MAILBOX}/events/{id}", g.api_url()))
        .bearer_auth(&tok)
        .header("Prefer", "outlook.timezone=\"W. Europe Standard Time\"")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers().get("preference-applied").and_then(|v| v.to_str().ok()), Some("outlook.timezone=\"W. Europe Standard Time\""));
    let got: Value = res.json().await.unwrap();
    assert_eq!(got["start"], json!({"dateTime": "2026-01-05T18:00:00.0000000", "timeZone": "W. Europe Standard Time"}));
    assert_eq!(got["originalStartTimeZone"], "Pacific Standard Time");
    // The delta query too, with the page size preference beside it in one header.
    let page: Value = http
        .get(format!("{}/users/{MAILBOX}/calendarView/delta", g.api_url()))
        .query(&[("startDateTime", "2026-01-01T00:00:00Z"), ("endDateTime", "2026-02-01T00:00:00Z")])
        .bearer_auth(&tok)
        .header("Prefer", "odata.maxpagesize=5, outlook.timezone=\"America/New_York\"")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["value"][0]["start"], json!({"dateTime": "2026-01-05T12:00:00.0000000", "timeZone": "America/New_York"}));
}

#[tokio::test]
async fn an_unknown_time_zone_is_refused_with_graphs_400_in_an_event_or_in_prefer() {
    let g = sim().await;
    let tok = token(&g).await;
    let res = create_in(&g, &tok, "2026-01-05T09:00:00", "2026-01-05T09:30:00", "Mars Standard Time").await;
    assert_eq!(res.status(), 400);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["code"], "TimeZoneNotSupportedException");
    assert!(v["error"]["message"].as_str().is_some_and(|m| m.contains("Mars Standard Time")), "{v}");
    assert!(g.events_of(MAILBOX).is_empty(), "nothing created");
    let id = g.create_meeting(MAILBOX, "x", "y", "z", time::OffsetDateTime::now_utc(), time::OffsetDateTime::now_utc());
    let res = reqwest::Client::new()
        .get(format!("{}/users/{MAILBOX}/events/{id}", g.api_url()))
        .bearer_auth(&tok)
        .header("Prefer", "outlook.timezone=\"Nowhere/Atlantis\"")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "TimeZoneNotSupportedException");
}
