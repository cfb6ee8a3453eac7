//! The layers every API request passes: fault injection first, then Basic auth, and a log of
//! what was asked and answered (the `/sim/...` endpoints are not logged).

use super::Ctx;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub(super) async fn basic_auth(State(ctx): State<Ctx>, req: Request, next: Next) -> Response {
    use base64::Engine;
    let decode = |b: &str| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok().and_then(|v| String::from_utf8(v).ok());
    let ok = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Basic "))
        .and_then(decode)
        .is_some_and(|cred| cred == format!("{}:{}", ctx.cluster.cfg.username, ctx.cluster.cfg.password));
    if !ok {
        return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Basic realm=\"CMS API\"")], "").into_response();
    }
    next.run(req).await
}

pub(super) async fn faults(State(ctx): State<Ctx>, req: Request, next: Next) -> Response {
    let f = &ctx.cluster.nodes[ctx.node].faults;
    let latency = f.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if f.should_error() {
        return (StatusCode::SERVICE_UNAVAILABLE, "").into_response();
    }
    if f.should_drop() {
        // Headers go out, then the connection dies mid-body: what a crashing node looks like.
        let body = Body::from_stream(futures::stream::once(async { Err::<Bytes, std::io::Error>(std::io::Error::other("dropped")) }));
        return Response::new(body);
    }
    next.run(req).await
}

pub(super) async fn log_requests(State(ctx): State<Ctx>, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/sim/") {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 1024 * 1024).await.unwrap_or_default();
    let method = parts.method.to_string();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or("").to_string();
    let text = String::from_utf8_lossy(&bytes).to_string();
    let res = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let node = &ctx.cluster.nodes[ctx.node];
    node.record(crate::sim::cms::LoggedRequest { method, path, query, body: text, status: res.status().as_u16(), at_us: node.clock_us() });
    res
}
