//! Starts the real application on an ephemeral port against a SQLite file in a temp dir, and
//! the helpers the tests share.

use reqwest::redirect::Policy;
use server::config::Config;
use server::startup::{Application, Mode};
use std::path::{Path, PathBuf};
use switchboard::model::Role;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub struct TestApp {
    pub base: String,
    pub data_dir: PathBuf,
    /// The running application's services (workers, status) as `main` built them.
    pub services: switchboard::services::Services,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

pub fn config_for(data_dir: &Path) -> Config {
    let mut cfg = Config::default();
    cfg.server.addr = "127.0.0.1:0".parse().unwrap();
    cfg.server.data_dir = data_dir.to_path_buf();
    // Plain HTTP on loopback.
    cfg.server.secure_cookies = Some(false);
    cfg
}

impl TestApp {
    pub async fn spawn(data_dir: &Path) -> TestApp {
        Self::spawn_with(config_for(data_dir)).await
    }

    pub async fn spawn_with(cfg: Config) -> TestApp {
        let app = Application::build(&cfg, Mode::Serve).await.expect("application builds");
        let base = format!("http://{}", app.addr());
        let services = app.services().clone();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            app.run_until(async {
                let _ = rx.await;
            })
            .await
            .expect("server runs");
        });
        TestApp { base, data_dir: cfg.server.data_dir.clone(), services, stop: Some(tx), task: Some(task) }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Graceful stop, as on SIGTERM; returns once the server has let go of the database.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.expect("server task ends cleanly");
        }
    }

    pub async fn add_user(&self, name: &str, password: &str, role: Role) {
        let store = switchboard::store::Store::open_in_dir(&self.data_dir).await.unwrap();
        switchboard::auth::Users::new(store.clone()).create(name, password, role).await.unwrap();
        store.close().await;
    }
}

/// A browser-like client: keeps cookies, does not follow redirects (tests look at them), and
/// says its requests are same-origin, as a browser does for the app's own forms and calls.
pub fn client() -> reqwest::Client {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert("sec-fetch-site", reqwest::header::HeaderValue::from_static("same-origin"));
    reqwest::Client::builder().cookie_store(true).redirect(Policy::none()).default_headers(h).build().unwrap()
}

pub async fn login(app: &TestApp, c: &reqwest::Client, user: &str, password: &str) -> reqwest::Response {
    c.post(app.url("/login")).form(&[("username", user), ("password", password), ("next", "/")]).send().await.unwrap()
}

pub fn location(res: &reqwest::Response) -> String {
    res.headers().get("location").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

/// A CMS simulator with `nodes` Call Bridges and the API user the helpers below configure.
pub async fn sim(nodes: usize) -> switchboard::sim::cms::SimCms {
    let cfg = switchboard::sim::cms::SimConfig { nodes, username: "api".into(), password: "api-pass".into(), ..Default::default() };
    switchboard::sim::cms::SimCms::start("127.0.0.1:0".parse().unwrap(), cfg).await.unwrap()
}

/// Switchboard pointed at every node of `sim`, registered there as the CDR receiver.
pub async fn app_with_cms(dir: &Path, sim: &switchboard::sim::cms::SimCms) -> TestApp {
    let mut cfg = config_for(dir);
    point_at_cms(&mut cfg, sim);
    let app = TestApp::spawn_with(cfg).await;
    for i in 0..sim.addrs().len() {
        sim.cluster.add_cdr_receiver(i, &app.url("/cdr")).unwrap();
    }
    app
}

/// `cfg` pointed at every node of `sim` with the API user [`sim`] configures.
pub fn point_at_cms(cfg: &mut Config, sim: &switchboard::sim::cms::SimCms) {
    cfg.cms.username = "api".into();
    cfg.cms.password = server::config::Secret("api-pass".into());
    cfg.cms.timeout_seconds = 2;
    cfg.cms.retries = 1;
    cfg.cms.nodes = (0..sim.addrs().len())
        .map(|i| server::config::CmsNodeConfig {
            name: format!("cb{}", i + 1),
            url: sim.url(i),
            username: None,
            password: None,
            ca_file: None,
            insecure: false,
        })
        .collect();
}
