//! Builds the whole application (store, router, workers) from a `Config`, so `main` and the
//! integration tests start exactly the same thing.

use crate::config::Config;
use crate::metrics::{self, Metrics};
use crate::state::{AppState, SESSION_COOKIE};
use crate::{auth, ops};
use app::api::ssr::Services;
use app::{shell, App};
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use switchboard::auth::LoginLimiter;
use switchboard::model::{ComponentState, ComponentStatus};
use switchboard::banner::enforcer::Enforcer;
use switchboard::cdr::CdrService;
use switchboard::model::BannerRules;
use switchboard::store::Store;

use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::SqliteStore;

pub struct Application {
    listener: TcpListener,
    router: Router,
    store: Store,
    addr: SocketAddr,
    background: Vec<tokio::task::JoinHandle<()>>,
    cdr: Arc<CdrService>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Demo,
    Serve,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Demo => "demo",
            Mode::Serve => "production",
        }
    }
}

impl Application {
    pub async fn build(config: &Config, mode: Mode) -> anyhow::Result<Self> {
        Self::build_with(config, mode, None).await
    }

    /// As `build`, with demo-mode controls over the simulated world.
    pub async fn build_with(config: &Config, mode: Mode, demo: Option<Arc<dyn app::api::ssr::DemoControl>>) -> anyhow::Result<Self> {
        let store = Store::connect(&config.database_url()).await?;
        store.migrate().await?;
        let session_store = SqliteStore::new(store.pool().clone());
        session_store.migrate().await?;

        let integrations = config
            .cms
            .nodes
            .iter()
            .map(|n| ComponentStatus {
                name: format!("CMS node {}", n.name),
                state: ComponentState::Unknown,
                detail: format!("{} (not checked yet)", n.url),
            })
            .collect();
        let cms = crate::cms::cluster_from_config(&config.cms)?;
        let cdr = CdrService::new(store.clone());
        let replayed = cdr.rebuild(config.cdr.rebuild_hours).await?;
        if replayed > 0 {
            tracing::info!(records = replayed, "live call state rebuilt from stored CDRs");
        }
        let rules: BannerRules = store.setting(switchboard::banner::RULES_SETTING).await?.unwrap_or_default();
        let enforcer = cms.as_ref().map(|c| Enforcer::new(cdr.clone(), c.clone(), rules));
        let services = Services {
            lobby: cms.as_ref().map(|c| switchboard::lobby::admit::LobbyService::new(cdr.clone(), c.clone(), store.clone())),
            store: store.clone(),
            started: Instant::now(),
            mode: mode.as_str(),
            integrations: Arc::new(RwLock::new(integrations)),
            cms,
            cdr: cdr.clone(),
            enforcer: enforcer.clone(),
            admit_jobs: Default::default(),
            demo,
            branding: switchboard::branding::BrandingService::new(store.clone()),
        };

        let listener = TcpListener::bind(config.server.addr).await?;
        let addr = listener.local_addr()?;
        let leptos_options = LeptosOptions::builder()
            .output_name("switchboard")
            .site_root(config.server.site_root.display().to_string())
            .site_pkg_dir("pkg")
            .site_addr(addr)
            .build();

        let state = AppState {
            leptos_options,
            services: services.clone(),
            limiter: Arc::new(LoginLimiter::new(
                config.auth.max_failures as usize,
                Duration::from_secs(config.auth.failure_window_seconds),
            )),
            metrics: Metrics::new(),
            cdr_guard: crate::cdr::CdrGuard {
                token: config.cdr.token.clone().map(|t| t.0).filter(|t| !t.is_empty()),
                networks: config.cdr.networks()?,
            },
            cdr_path: config.cdr.path.clone(),
        };

        let sessions = SessionManagerLayer::new(session_store.clone())
            .with_name(SESSION_COOKIE)
            .with_http_only(true)
            .with_same_site(SameSite::Lax)
            .with_secure(config.server.secure_cookies)
            // Saving on every request is what makes the expiry an idle timeout.
            .with_always_save(true)
            .with_expiry(Expiry::OnInactivity(time::Duration::minutes(config.auth.idle_timeout_minutes.into())));

        let router = build_router(state, sessions, config.server.max_body_bytes, config.cdr.max_body_bytes);

        let reaper = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(600));
            loop {
                tick.tick().await;
                use tower_sessions::ExpiredDeletion;
                if let Err(e) = session_store.delete_expired().await {
                    tracing::warn!(error = %e, "could not delete expired sessions");
                }
            }
        });

        let mut background = vec![reaper];
        if let Some(cluster) = &services.cms {
            background.push(crate::cms::spawn_health_worker(
                cluster.clone(),
                services.integrations.clone(),
                Duration::from_secs(config.cms.health_interval_seconds.max(1)),
            ));
            if let (true, Some(url)) = (config.cms.register_cdr_receiver, config.cms.cdr_receiver_url.clone()) {
                let cluster = cluster.clone();
                background.push(tokio::spawn(async move { crate::cms::register_cdr_receiver(&cluster, &url).await }));
            }
            // Reconcile with the API now (calls that began before we listened) and then regularly.
            let (cdr, cluster, every) = (cdr.clone(), cluster.clone(), Duration::from_secs(config.cdr.reconcile_interval_seconds.max(5)));
            background.push(tokio::spawn(async move {
                loop {
                    for problem in cdr.reconcile(&cluster).await {
                        tracing::warn!(%problem, "reconciling live calls with CMS");
                    }
                    // Sleep until the next round, or until a page asks for fresh data.
                    tokio::select! {
                        _ = tokio::time::sleep(every) => {},
                        _ = cdr.reconcile_requested() => {},
                    }
                }
            }));
        }
        if let Some(e) = &enforcer {
            background.push(e.spawn());
        }

        Ok(Self { listener, router, store, addr, background, cdr })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let service = self.router.into_make_service_with_connect_info::<SocketAddr>();
        let cdr = self.cdr.clone();
        let shutdown = async move {
            shutdown.await;
            cdr.close_streams();
        };
        let res = axum::serve(self.listener, service).with_graceful_shutdown(shutdown).await;
        for task in self.background {
            task.abort();
        }
        self.store.close().await;
        res
    }
}

fn build_router(state: AppState, sessions: SessionManagerLayer<SqliteStore>, max_body: usize, cdr_max_body: usize) -> Router {
    let routes = generate_route_list(App);
    let services = state.services.clone();
    let leptos_options = state.leptos_options.clone();

    Router::new()
        .route("/login", post(auth::login_submit))
        .route("/logout", post(auth::logout))
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(metrics::exposition))
        .route(&state.cdr_path, post(crate::cdr::receive).layer(DefaultBodyLimit::max(cdr_max_body)))
        .route("/events/calls", get(crate::cdr::events))
        .merge(crate::branding::manage_routes())
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(services.clone()),
            move || shell(leptos_options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_session))
        .layer(sessions)
        .layer(axum::middleware::from_fn(auth::same_origin_only))
        // CMS-facing branding fetches: public, so added after the session layers (skipping them).
        .merge(crate::branding::cms_routes(&state.services.branding))
        .layer(axum::middleware::from_fn_with_state(state.metrics.clone(), metrics::track))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(RequestBodyLimitLayer::new(max_body))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(ops::request_span))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}
