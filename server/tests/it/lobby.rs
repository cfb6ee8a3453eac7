//! The lobby manager over real HTTP against the CMS simulator: listing, admitting by id (one,
//! many, across nodes), and every way admitting can go wrong.

use crate::common::{app_with_cms, client, login, sim, TestApp};
use leptos::server_fn::ServerFn;
use std::time::Duration;
use switchboard::model::{AdmitJob, AdmitOutcome, AdmitTarget, AuditPage, Role};
use switchboard::sim::cms::{Joiner, Scenario};

async fn operator(app: &TestApp) -> reqwest::Client {
    app.add_user("opal", "operator-password", Role::Operator).await;
    let c = client();
    login(app, &c, "opal", "operator-password").await;
    c
}

async fn lobby(app: &TestApp, c: &reqwest::Client) -> switchboard::model::LobbyPage {
    let res = c.post(app.url(app::pages::lobby::GetLobby::PATH)).form(&[("", "")]).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// Starts an admit and waits for its job to finish.
async fn admit(app: &TestApp, c: &reqwest::Client, targets: Vec<AdmitTarget>) -> AdmitJob {
    let res = c.post(app.url(app::pages::lobby::StartAdmit::PATH)).json(&serde_json::json!({ "targets": targets })).send().await.unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let id: String = res.json().await.unwrap();
    for _ in 0..200 {
        let job: AdmitJob =
            c.post(app.url(app::pages::lobby::GetAdmitJob::PATH)).form(&[("id", &id)]).send().await.unwrap().json().await.unwrap();
        if job.finished {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("admit job did not finish");
}

async fn wait_for_waiting(app: &TestApp, c: &reqwest::Client, n: usize) -> switchboard::model::LobbyPage {
    for _ in 0..200 {
        let page = lobby(app, c).await;
        if page.meetings.iter().map(|m| m.waiting.len()).sum::<usize>() == n {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let now: usize = lobby(app, c).await.meetings.iter().map(|m| m.waiting.len()).sum();
    panic!("lobby never showed {n} waiting (shows {now})");
}

#[tokio::test]
async fn calls_started_before_switchboard_are_listed_through_short_pages() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(1).await;
    Scenario::populate(&sim.cluster, 0, 23, 4);
    let app = app_with_cms(dir.path(), &sim).await;
    let c = operator(&app).await;
    // 23 locked calls, each with its host in and 3 others waiting.
    let page = wait_for_waiting(&app, &c, 69).await;
    assert_eq!(page.meetings.len(), 23);
    assert!(page.can_admit);
    assert!(page.meetings.iter().all(|m| m.in_call.len() == 1 && m.waiting.len() == 3));
    let gets = sim.node(0).requests().into_iter().filter(|r| r.path == "/api/v1/calls").count();
    assert!(gets >= 3, "paged through 23 calls 10 at a time");
    app.stop().await;
}

#[tokio::test]
async fn two_people_with_one_name_are_told_apart_and_admitted_one_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(1).await;
    let app = app_with_cms(dir.path(), &sim).await;
    let call = sim.cluster.start_call(0, None, Some("Board")).unwrap();
    sim.cluster.set_locked(0, &call, true).unwrap();
    sim.cluster.join(0, &call, Joiner::sip("Host", "host@example.com", true)).unwrap();
    let ann1 = sim.cluster.join(0, &call, Joiner::web_guest("Ann")).unwrap();
    let ann2 = sim.cluster.join(0, &call, Joiner::web_guest("Ann")).unwrap();
    let c = operator(&app).await;
    wait_for_waiting(&app, &c, 2).await;

    let job = admit(&app, &c, vec![AdmitTarget { call_id: call.clone(), leg_id: ann2.leg.clone() }]).await;
    assert_eq!(job.results.len(), 1);
    assert_eq!(job.results[0].outcome, AdmitOutcome::Admitted);
    let legs = sim.cluster.legs(0, &call);
    assert!(!legs.iter().find(|l| l.id == ann2.leg).unwrap().deactivated, "the chosen Ann is in");
    assert!(legs.iter().find(|l| l.id == ann1.leg).unwrap().deactivated, "the other Ann still waits");
    let page = wait_for_waiting(&app, &c, 1).await;
    assert_eq!(page.meetings[0].waiting[0].leg_id, ann1.leg);

    let put = sim.node(0).requests().into_iter().find(|r| r.method == "PUT" && r.path.starts_with("/api/v1/participants/")).unwrap();
    assert_eq!((put.path, put.body), (format!("/api/v1/participants/{}", ann2.participant), "deactivated=false".to_string()));

    // The audit log names the operator and the person.
    app.add_user("root", "admin-password", Role::Admin).await;
    let admin = client();
    login(&app, &admin, "root", "admin-password").await;
    let audit: AuditPage = admin
        .post(app.url(app::api::AuditLog::PATH))
        .form(&[("offset", "0"), ("action", "lobby.admit")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(audit.total, 1);
    assert_eq!(audit.entries[0].actor, "opal");
    assert!(audit.entries[0].target.as_deref().unwrap().contains(&ann2.leg));
    app.stop().await;
}

#[tokio::test]
async fn bulk_admit_reports_each_person_including_a_dead_node_a_leaver_and_a_lobby_without_host() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(2).await;
    let app = app_with_cms(dir.path(), &sim).await;
    // Node 1: a hosted, locked call with two waiting.
    let a = sim.cluster.start_call(0, None, Some("Hosted")).unwrap();
    sim.cluster.set_locked(0, &a, true).unwrap();
    sim.cluster.join(0, &a, Joiner::sip("Host", "host@example.com", true)).unwrap();
    let a1 = sim.cluster.join(0, &a, Joiner::web_guest("Gina")).unwrap();
    let a2 = sim.cluster.join(0, &a, Joiner::web_guest("Leaving Larry")).unwrap();
    // Node 1: nobody who can start the meeting is in.
    let b = sim.cluster.start_call(0, None, Some("No host")).unwrap();
    let b1 = sim.cluster.join(0, &b, Joiner::web_guest("Vic")).unwrap();
    // Node 2: a call whose node will be down.
    let d = sim.cluster.start_call(1, None, Some("Far away")).unwrap();
    sim.cluster.set_locked(1, &d, true).unwrap();
    sim.cluster.join(1, &d, Joiner::sip("Host2", "host2@example.com", true)).unwrap();
    let d1 = sim.cluster.join(1, &d, Joiner::web_guest("Dana")).unwrap();

    let c = operator(&app).await;
    wait_for_waiting(&app, &c, 4).await;
    sim.cluster.leave(0, &a2.leg).unwrap();
    sim.node(1).faults.set_down(true);

    let t = |call: &str, leg: &str| AdmitTarget { call_id: call.into(), leg_id: leg.into() };
    let job = admit(&app, &c, vec![t(&a, &a1.leg), t(&a, &a2.leg), t(&b, &b1.leg), t(&d, &d1.leg)]).await;
    assert_eq!((job.total, job.done), (4, 4));
    let outcome = |leg: &str| job.results.iter().find(|r| r.target.leg_id == leg).unwrap().outcome.clone();
    assert_eq!(outcome(&a1.leg), AdmitOutcome::Admitted);
    assert_eq!(outcome(&a2.leg), AdmitOutcome::Gone);
    assert_eq!(outcome(&b1.leg), AdmitOutcome::NoActivator);
    assert!(matches!(outcome(&d1.leg), AdmitOutcome::Unreachable(_)), "{:?}", outcome(&d1.leg));
    assert!(sim.cluster.legs(0, &b).iter().all(|l| l.deactivated), "no PUT sent for a lobby without host");
    assert!(outcome(&b1.leg).label().contains("no host"));
    app.stop().await;
}

#[tokio::test]
async fn viewers_see_the_lobby_but_cannot_admit() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(1).await;
    let app = app_with_cms(dir.path(), &sim).await;
    let call = sim.cluster.start_call(0, None, Some("Board")).unwrap();
    let g = sim.cluster.join(0, &call, Joiner::web_guest("Ann")).unwrap();
    app.add_user("vic", "viewer-password", Role::Viewer).await;
    let c = client();
    login(&app, &c, "vic", "viewer-password").await;
    let page = wait_for_waiting(&app, &c, 1).await;
    assert!(!page.can_admit);
    let res = c
        .post(app.url(app::pages::lobby::StartAdmit::PATH))
        .json(&serde_json::json!({ "targets": [AdmitTarget { call_id: call.clone(), leg_id: g.leg }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(sim.node(0).requests().iter().all(|r| !(r.method == "PUT" && r.path.starts_with("/api/v1/participants/"))));
    app.stop().await;
}

#[tokio::test]
async fn an_admit_naming_something_other_than_cms_ids_is_refused_before_any_cms_request() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(1).await;
    let app = app_with_cms(dir.path(), &sim).await;
    let call = sim.cluster.start_call(0, None, Some("Board")).unwrap();
    let c = operator(&app).await;
    let forged = AdmitTarget { call_id: format!("../coSpaces/{call}"), leg_id: "x".into() };
    let res = c.post(app.url(app::pages::lobby::StartAdmit::PATH)).json(&serde_json::json!({ "targets": [forged] })).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("is not a CMS id"));
    assert!(sim.node(0).requests().iter().all(|r| r.method != "PUT"));
    app.stop().await;
}
