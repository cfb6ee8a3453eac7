//! Prometheus metrics: a registry per application instance (so tests can run several apps in
//! one process) and the HTTP middleware that counts requests and their latency.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus_client::encoding::{text::encode, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use switchboard::workers::Workers;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    /// The route pattern (`/branding/{tenant}/call/{file}`), never the raw path, to bound cardinality.
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WorkerLabels {
    pub worker: String,
}

#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    pub http_requests: Family<RequestLabels, Counter>,
    pub http_duration: Family<RouteLabels, Histogram>,
    pub login_failures: Counter,
    pub cdr_records: Counter,
    pub cdr_duplicates: Counter,
    pub cdr_malformed: Counter,
    pub cdr_missing: Counter,
    pub cdr_live_legs: prometheus_client::metrics::gauge::Gauge,
    pub worker_restarts: Family<WorkerLabels, Counter>,
    pub worker_up: Family<WorkerLabels, prometheus_client::metrics::gauge::Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("switchboard");
        let http_requests = Family::<RequestLabels, Counter>::default();
        let http_duration = Family::<RouteLabels, Histogram>::new_with_constructor(|| Histogram::new(exponential_buckets(0.0005, 2.0, 16)));
        let login_failures = Counter::default();
        registry.register("http_requests", "HTTP requests handled", http_requests.clone());
        registry.register("http_request_duration_seconds", "HTTP request latency", http_duration.clone());
        registry.register("login_failures", "Failed operator logins", login_failures.clone());
        let cdr_records = Counter::default();
        let cdr_duplicates = Counter::default();
        let cdr_malformed = Counter::default();
        let cdr_missing = Counter::default();
        let cdr_live_legs = prometheus_client::metrics::gauge::Gauge::default();
        registry.register("cdr_records", "CDR records stored (new)", cdr_records.clone());
        registry.register("cdr_duplicate_records", "CDR records received again (CMS resends) and ignored", cdr_duplicates.clone());
        registry.register("cdr_malformed_posts", "CDR posts rejected as malformed (kept as dead letters)", cdr_malformed.clone());
        registry.register("cdr_records_missing", "CDR records CMS reported lost (numPreceedingRecordsMissing)", cdr_missing.clone());
        registry.register("cdr_live_legs", "Call legs currently live", cdr_live_legs.clone());
        let worker_restarts = Family::<WorkerLabels, Counter>::default();
        let worker_up = Family::<WorkerLabels, prometheus_client::metrics::gauge::Gauge>::default();
        registry.register("worker_restarts", "Background worker restarts after a panic", worker_restarts.clone());
        registry.register("worker_up", "1 when a background worker is running and not stuck", worker_up.clone());
        Self {
            registry: Arc::new(Mutex::new(registry)),
            http_requests,
            http_duration,
            login_failures,
            cdr_records,
            cdr_duplicates,
            cdr_malformed,
            cdr_missing,
            cdr_live_legs,
            worker_restarts,
            worker_up,
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let reg = switchboard::sync::lock(&self.registry);
        if encode(&mut out, &reg).is_err() {
            out.clear();
        }
        out
    }
}

/// The method as a label: the standard ones, else "other", so invented methods cannot create
/// new series without end.
fn method_label(m: &axum::http::Method) -> &'static str {
    use axum::http::Method as M;
    match *m {
        M::GET => "GET",
        M::HEAD => "HEAD",
        M::POST => "POST",
        M::PUT => "PUT",
        M::DELETE => "DELETE",
        M::PATCH => "PATCH",
        M::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Counts and times every request. The state is an `Arc`: the middleware clones it per request,
/// and `Metrics` itself is a dozen handles.
pub async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let method = method_label(req.method()).to_string();
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_else(|| {
        if req.uri().path().starts_with("/pkg/") {
            "/pkg/*".into()
        } else {
            "other".into()
        }
    });
    let started = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16();
    metrics
        .http_duration
        .get_or_create(&RouteLabels { method: method.clone(), route: route.clone() })
        .observe(started.elapsed().as_secs_f64());
    metrics.http_requests.get_or_create(&RequestLabels { method, route, status }).inc();
    res
}

impl Metrics {
    /// Brings the worker series up to date (called at each scrape).
    pub fn observe_workers(&self, workers: &Workers) {
        for w in workers.report() {
            let labels = WorkerLabels { worker: w.name.to_string() };
            let counter = self.worker_restarts.get_or_create(&labels);
            counter.inc_by(w.restarts.saturating_sub(counter.get()));
            self.worker_up.get_or_create(&labels).set(i64::from(w.healthy()));
        }
    }
}

/// `GET /metrics` (public, like `/healthz`).
pub fn routes<S: Clone + Send + Sync + 'static>(metrics: Metrics, workers: Workers) -> Router<S> {
    Router::new().route("/metrics", get(exposition)).with_state((metrics, workers))
}

async fn exposition(State((metrics, workers)): State<(Metrics, Workers)>) -> impl IntoResponse {
    metrics.observe_workers(&workers);
    ([(axum::http::header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], metrics.render())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invented_methods_share_one_label() {
        assert_eq!(method_label(&axum::http::Method::GET), "GET");
        assert_eq!(method_label(&axum::http::Method::from_bytes(b"BREW").unwrap()), "other");
        assert_eq!(method_label(&axum::http::Method::from_bytes(b"XYZZY1").unwrap()), "other");
    }
}
