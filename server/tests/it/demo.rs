//! Demo mode's simulated world (issue 19 item 16): its simulators misbehave now and then unless
//! `--no-faults`, and a seed repeats the same faults; over real HTTP, as Switchboard meets them.

use crate::common::config_for;
use server::demo::DemoWorld;
use server::demo_faults::DemoFaults;

async fn world(dir: &std::path::Path, faults: DemoFaults) -> (DemoWorld, server::config::Config) {
    let mut cfg = config_for(dir);
    let world = server::demo::start(&mut cfg, faults, 7).await.expect("demo world starts");
    (world, cfg)
}

/// What the first CMS node answers to the same 60 list requests (a page in the middle of the
/// coSpaces): rows per page, or the error status.
async fn cms_pages(world: &DemoWorld, cfg: &server::config::Config) -> Vec<Result<usize, u16>> {
    let ca = reqwest::Certificate::from_pem(world.cms.cert_pem().expect("tls sim").as_bytes()).expect("ca");
    let c = reqwest::Client::builder().add_root_certificate(ca).build().expect("client");
    let mut out = Vec::new();
    for _ in 0..60 {
        let res = c
            .get(format!("{}/api/v1/coSpaces?offset=1&limit=3", world.cms.url(0)))
            .basic_auth(&cfg.cms.username, Some(&cfg.cms.password.0))
            .send()
            .await
            .expect("cms answers");
        let status = res.status().as_u16();
        let body = res.text().await.expect("body");
        out.push(if status == 200 { Ok(body.matches("<coSpace ").count()) } else { Err(status) });
    }
    out
}

/// Statuses of 60 Graph API requests with a valid token, as the calendar makes them.
async fn graph_statuses(world: &DemoWorld, cfg: &server::config::Config) -> Vec<(u16, Option<String>)> {
    let c = reqwest::Client::new();
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", cfg.calendar.graph_client_id.as_str()),
        ("client_secret", cfg.calendar.graph_client_secret.0.as_str()),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let token: serde_json::Value = c.post(world.graph.token_url()).form(&form).send().await.expect("token").json().await.expect("json");
    let bearer = token["access_token"].as_str().expect("access token").to_string();
    let mut out = Vec::new();
    for _ in 0..60 {
        let res = c
            .get(format!("{}/users/dave.diver@cloud.example.com/calendarView/delta?startDateTime=2026-01-01T00:00:00Z&endDateTime=2026-02-01T00:00:00Z", world.graph.api_url()))
            .bearer_auth(&bearer)
            .send()
            .await
            .expect("graph answers");
        let retry_after = res.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_string);
        out.push((res.status().as_u16(), retry_after));
    }
    out
}

#[tokio::test]
async fn the_demo_simulators_misbehave_now_and_then_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let (world, cfg) = world(dir.path(), DemoFaults::Mild { seed: 7 }).await;
    let pages = cms_pages(&world, &cfg).await;
    assert!(pages.contains(&Ok(2)), "a short page in the middle of the list now and then: {pages:?}");
    assert!(pages.iter().filter(|p| **p == Ok(3)).count() > 30, "most pages are whole: {pages:?}");
    let graph = graph_statuses(&world, &cfg).await;
    assert!(graph.iter().any(|(s, ra)| *s == 429 && ra.as_deref() == Some("1")), "a 429 with Retry-After: {graph:?}");
    assert!(graph.iter().any(|(s, _)| *s == 503), "a 503: {graph:?}");
    assert!(graph.iter().filter(|(s, _)| *s == 200).count() > 45, "most requests answer: {graph:?}");
}

#[tokio::test]
async fn no_faults_means_the_demo_simulators_behave() {
    let dir = tempfile::tempdir().unwrap();
    let (world, cfg) = world(dir.path(), DemoFaults::Off).await;
    let pages = cms_pages(&world, &cfg).await;
    assert!(pages.iter().all(|p| *p == Ok(3)), "{pages:?}");
    let graph = graph_statuses(&world, &cfg).await;
    assert!(graph.iter().all(|(s, _)| *s == 200), "{graph:?}");
}

#[tokio::test]
async fn the_same_seed_repeats_the_same_faults() {
    let (a, b, c) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = {
        let (world, cfg) = world(a.path(), DemoFaults::Mild { seed: 41 }).await;
        cms_pages(&world, &cfg).await
    };
    let again = {
        let (world, cfg) = world(b.path(), DemoFaults::Mild { seed: 41 }).await;
        cms_pages(&world, &cfg).await
    };
    let other = {
        let (world, cfg) = world(c.path(), DemoFaults::Mild { seed: 42 }).await;
        cms_pages(&world, &cfg).await
    };
    assert_eq!(first, again, "seed 41 twice");
    assert_ne!(first, other, "seed 41 and 42");
}
