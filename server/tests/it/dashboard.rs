//! The dashboard's list of areas over real HTTP: derived from what is configured and running,
//! so Calendar and Incidents are offered exactly when they work.

use crate::common::{client, login, point_at_cms, sim, TestApp};
use crate::incidents::{webex_config, world};
use leptos::server_fn::ServerFn;
use server::config::Secret;
use switchboard::model::{AreaStatus, ComponentState, Role, SystemStatus};
use switchboard::sim::graph::{GraphSimConfig, SimGraph};

/// The areas as the server function reports them, and the dashboard page as served.
async fn areas_and_page(app: &TestApp) -> (Vec<AreaStatus>, String) {
    app.add_user("vic", "viewer-password", Role::Viewer).await;
    let c = client();
    login(app, &c, "vic", "viewer-password").await;
    let s: SystemStatus = c.post(app.url(app::api::GetSystemStatus::PATH)).form(&[("", "")]).send().await.unwrap().json().await.unwrap();
    let page = c.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    (s.areas, page)
}

/// The dashboard's list item of the area `name`: its state and its markup.
fn page_item<'a>(page: &'a str, name: &str) -> (&'a str, &'a str) {
    page.split(r#"<li data-testid="area" data-state=""#)
        .skip(1)
        .map(|item| item.split_once('"').map(|(state, rest)| (state, rest.split("</li>").next().unwrap_or(rest))).unwrap())
        .find(|(_, markup)| markup.contains(name))
        .unwrap_or_else(|| panic!("{name} listed on the page: {page}"))
}

fn area<'a>(areas: &'a [AreaStatus], name: &str) -> &'a AreaStatus {
    areas.iter().find(|a| a.name == name).unwrap_or_else(|| panic!("{name} in {areas:?}"))
}

#[tokio::test]
async fn without_their_sections_calendar_and_incidents_are_listed_as_not_configured() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (areas, page) = areas_and_page(&app).await;
    let names: Vec<&str> = areas.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["Calls & banners", "Lobby", "Branding", "Calendar", "Incidents", "Settings", "Audit log"]);
    for name in ["Calendar", "Incidents"] {
        let a = area(&areas, name);
        assert_eq!(a.state, ComponentState::Disabled, "{a:?}");
        assert!(a.detail.starts_with("Not configured"), "{a:?}");
    }
    assert!(area(&areas, "Calendar").detail.contains("[calendar]"));
    assert!(area(&areas, "Incidents").detail.contains("[webex]"));
    for name in ["Calls & banners", "Lobby", "Branding", "Settings", "Audit log"] {
        assert_eq!(area(&areas, name).state, ComponentState::Up, "{name}");
    }
    for (name, section) in [("Calendar", "[calendar]"), ("Incidents", "[webex]")] {
        let (state, markup) = page_item(&page, name);
        assert_eq!(state, "not configured", "{markup}");
        assert!(markup.contains(section) && !markup.contains("href="), "says why, offers no link: {markup}");
    }
    assert!(!page.contains("Not yet available"));
    app.stop().await;
}

#[tokio::test]
async fn with_calendar_and_webex_configured_both_areas_are_available() {
    let cms = sim(1).await;
    let graph = SimGraph::start("127.0.0.1:0".parse().unwrap(), GraphSimConfig::demo(1)).await.unwrap();
    let w = world().await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = webex_config(dir.path(), &w, "connect-test-key");
    point_at_cms(&mut cfg, &cms);
    let c = &mut cfg.calendar;
    c.enabled = true;
    c.mail_domain = "example.com".into();
    c.graph_tenant = "contoso".into();
    c.graph_client_id = "switchboard-app".into();
    c.graph_client_secret = Secret("app-secret".into());
    c.graph_login_url = graph.login_url();
    c.graph_api_url = graph.api_url();
    let app = TestApp::spawn_with(cfg).await;
    let (areas, page) = areas_and_page(&app).await;
    for name in ["Calendar", "Incidents"] {
        let a = area(&areas, name);
        assert_ne!(a.state, ComponentState::Disabled, "{a:?}");
        assert!(!a.detail.contains("Not configured"), "{a:?}");
    }
    for (name, path) in [("Calendar", "/calendar"), ("Incidents", "/incidents")] {
        let (state, markup) = page_item(&page, name);
        assert_ne!(state, "not configured", "{markup}");
        assert!(markup.contains(&format!(r#"href="{path}""#)), "a link to the page: {markup}");
    }
    assert!(!page.contains("Not configured"), "{page}");
    assert!(!page.contains("Not yet available"));
    app.stop().await;
}
