//! Builds the whole application (store, services, routers, workers) from a `Config`, so `main`
//! and the integration tests start exactly the same thing.

use crate::config::Config;
use crate::metrics::{self, Metrics};
use crate::rate_limit::ClientLimiter;
use crate::sessions::Sessions;
use crate::state::{AppState, SESSION_COOKIE};
use crate::{auth, ops};
use app::{shell, App};
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use switchboard::services::{DemoControl, Services, ServicesConfig};
use switchboard::store::Store;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

pub struct Application {
    listener: TcpListener,
    router: Router,
    limits: crate::http::ServeLimits,
    store: Store,
    addr: SocketAddr,
    services: Services,
    /// Cancelled first at shutdown: ends the pages' event streams.
    closing: CancellationToken,
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
    pub async fn build_with(config: &Config, mode: Mode, demo: Option<Arc<dyn DemoControl>>) -> anyhow::Result<Self> {
        let store = config.database.connect(&config.server.data_dir).await?;
        // Before anything runs on it: a PostgreSQL database with capabilities not ported yet
        // would half-work.
        store.check_fully_ported()?;
        store.migrate().await?;
        let session_store = Sessions::open(&store).await?;

        let cms = config.cms.cluster()?;
        // Bound first: links Switchboard hands out (OAuth redirect, acknowledgement links) need
        // the real port when none is configured.
        let listener = TcpListener::bind(config.server.addr).await?;
        let addr = listener.local_addr()?;
        let services = Services::build(store.clone(), cms, demo, services_config(config, mode, addr)?).await?;

        let bundle = crate::assets::Bundle::load(&config.server.site_root);
        let secure = config.server.secure_cookies_or(mode == Mode::Serve);
        let state = app_state(config, &bundle, addr, services.clone(), secure);
        let origins = auth::OriginPolicy { public_url: config.server.public_url.clone(), https: secure };
        let closing = CancellationToken::new();
        let router = build_router(
            state,
            &bundle,
            session_layer(config, secure, session_store.clone()),
            Limits::of(config)?,
            config.cdr.guard()?,
            origins,
            closing.clone(),
        );

        crate::workers::start(&services, config, session_store);
        Ok(Self { listener, router, limits: config.server.serve_limits(), store, addr, services, closing })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn services(&self) -> &Services {
        &self.services
    }

    /// Serves until `shutdown` completes, then: ends the event streams, lets in-flight requests
    /// finish, stops the workers and admit jobs, and closes the database.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let closing = self.closing.clone();
        let shutdown = async move {
            shutdown.await;
            closing.cancel();
        };
        let res = crate::http::serve(self.listener, self.router, self.limits, shutdown).await;
        // The rest is bounded too: a worker or a job that does not stop in time is left behind
        // (the process ends anyway), so the whole shutdown ends within its configured grace.
        let wind_down = async {
            self.services.workers.shutdown().await;
            self.services.lobby.wait_jobs().await;
            self.store.close().await;
        };
        if tokio::time::timeout(self.limits.shutdown_grace, wind_down).await.is_err() {
            tracing::warn!(grace = ?self.limits.shutdown_grace, "workers or jobs still running after the shutdown grace were left behind");
        }
        res
    }
}

/// What the domain's services are built from: each configured section's settings.
fn services_config(config: &Config, mode: Mode, addr: SocketAddr) -> Result<ServicesConfig, crate::config::ConfigError> {
    Ok(ServicesConfig {
        mode: mode.as_str(),
        rebuild_hours: config.cdr.rebuild_hours,
        cdr_group_batches: config.cdr.max_group_batches,
        retention: config.retention_policy(),
        webex: config.webex_settings(Some(addr))?,
        calendar: config.calendar_settings()?,
    })
}

/// The state the session-bearing routers share.
fn app_state(config: &Config, bundle: &crate::assets::Bundle, addr: SocketAddr, services: Services, secure_cookies: bool) -> AppState {
    let leptos_options = LeptosOptions::builder()
        .output_name("switchboard")
        .site_root(config.server.site_root.display().to_string())
        .site_pkg_dir(bundle.pkg_dir.clone())
        .site_addr(addr)
        .build();
    AppState {
        leptos_options,
        services,
        limiter: Arc::new(config.auth.limiter()),
        metrics: Metrics::new(),
        absolute_session_secs: config.auth.absolute_session_secs(),
        secure_cookies,
    }
}

/// Session cookies: HttpOnly, SameSite=Lax, `Secure` over HTTPS, ended after the idle timeout.
fn session_layer(config: &Config, secure: bool, store: Sessions) -> SessionManagerLayer<Sessions> {
    SessionManagerLayer::new(store)
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(secure)
        // Written on sign-in and then at most once a minute (`auth::require_user`): each write
        // slides the idle expiry, and assets or API calls do not write at all.
        .with_expiry(Expiry::OnInactivity(config.auth.idle_expiry()))
}

struct Limits {
    max_body: usize,
    /// Where each request's client address comes from.
    clients: Arc<crate::client_addr::ClientAddrPolicy>,
    /// One per-client limiter for each unauthenticated route.
    sign_in_start: Arc<ClientLimiter>,
    sign_in_callback: Arc<ClientLimiter>,
    ack: Arc<ClientLimiter>,
    graph_hook: Arc<ClientLimiter>,
    cdr_path: String,
    cdr_max_body: usize,
    /// Every route but the event streams answers within this.
    request_timeout: Duration,
}

impl Limits {
    fn of(config: &Config) -> Result<Self, crate::config::ConfigError> {
        let rl = &config.server.rate_limit;
        Ok(Self {
            max_body: config.server.max_body_bytes,
            clients: Arc::new(config.server.client_addr_policy()?),
            sign_in_start: rl.limiter()?,
            sign_in_callback: rl.limiter()?,
            ack: rl.limiter()?,
            graph_hook: rl.graph_hook_limiter()?,
            cdr_path: config.cdr.path.clone(),
            cdr_max_body: config.cdr.max_body_bytes,
            request_timeout: config.server.request_timeout(),
        })
    }
}

/// `router` behind `limiter`: each client gets its own allowance (429 beyond it).
fn limited<S: Clone + Send + Sync + 'static>(router: Router<S>, limiter: &Arc<ClientLimiter>) -> Router<S> {
    router.route_layer(axum::middleware::from_fn_with_state(limiter.clone(), crate::rate_limit::limit))
}

/// Three routers by what they need: CMS-facing and system endpoints (no session), sign-in (a
/// session, no user), and everything else (a signed-in user). Assets and 404s are the fallback.
fn build_router(
    state: AppState,
    bundle: &crate::assets::Bundle,
    sessions: SessionManagerLayer<Sessions>,
    limits: Limits,
    cdr: crate::cdr::CdrGuard,
    origins: auth::OriginPolicy,
    closing: CancellationToken,
) -> Router {
    let s = &state.services;
    let timeout = || tower_http::timeout::TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, limits.request_timeout);
    let mut public: Router<AppState> = Router::new()
        .route("/healthz", get(ops::healthz).with_state(s.status.clone()))
        .merge(bundle.routes())
        .merge(metrics::routes(state.metrics.clone(), s.workers.clone()))
        .merge(crate::cdr::receiver_routes(&limits.cdr_path, s.calls.clone(), cdr, state.metrics.clone(), limits.cdr_max_body))
        .merge(crate::branding::cms_routes(&s.branding))
        .merge(limited(Router::new().route("/ack/{token}", get(crate::incident::ack_page).post(crate::incident::ack_submit)), &limits.ack));
    if let Some(calendar) = s.calendar.clone() {
        public = public.merge(limited(crate::calendar::hook_routes(calendar), &limits.graph_hook));
    }
    let public = public.layer(timeout());

    let sign_in: Router<AppState> = Router::new()
        .route("/login", get(auth::login_page).post(auth::login_submit))
        .route("/logout", post(auth::logout))
        .merge(limited(Router::new().route("/auth/webex", get(crate::webex::sign_in_start)), &limits.sign_in_start))
        .merge(limited(Router::new().route("/auth/webex/callback", get(crate::webex::callback)), &limits.sign_in_callback))
        .layer(timeout());

    let services = s.clone();
    let pages = generate_route_list(App).into_iter().filter(|r| r.path() != "/login").collect();
    let mut protected: Router<AppState> = Router::new()
        .merge(crate::branding::manage_routes())
        // A POST (behind the same-origin check): starting the grant writes the pending login.
        .route("/incidents/connect", post(crate::webex::grant_start))
        .route("/incidents/directory.csv", get(crate::incident::directory_csv))
        .leptos_routes_with_context(&state, pages, move || provide_context(services.clone()), {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .layer(timeout())
        // The live pages' event streams stay open as long as the page does: no timeout.
        .merge(crate::cdr::event_routes(s.calls.clone(), closing.clone()));
    if let Some(incidents) = s.incidents() {
        protected = protected.merge(crate::incident::event_routes(incidents.clone(), closing));
    }
    let protected = protected.route_layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_user));

    let with_session =
        sign_in.merge(protected).layer(sessions).layer(axum::middleware::from_fn_with_state(origins, auth::same_origin_only));

    let site = public.merge(with_session).fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell));
    // Outermost first. One stack applied once rather than a `Router::layer` call each: every
    // such call boxes each route again, and every box is cloned per request (a tenth of the
    // branding host's CPU, issue 23).
    let stack = tower::ServiceBuilder::new()
        .layer(SetRequestIdLayer::x_request_id(ops::RequestIds::default()))
        .layer(TraceLayer::new_for_http().make_span_with(ops::request_span))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(RequestBodyLimitLayer::new(limits.max_body))
        // Back to axum's body type for the layers below (the limit above still applies).
        .map_request(|req: axum::http::Request<_>| req.map(axum::body::Body::new))
        .layer(DefaultBodyLimit::max(limits.max_body))
        .layer(axum::middleware::from_fn_with_state(limits.clients.clone(), crate::client_addr::resolve))
        .layer(axum::middleware::from_fn_with_state(Arc::new(state.metrics.clone()), metrics::track));
    ops::security_headers(site).layer(stack).with_state(state)
}
