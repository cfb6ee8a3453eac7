//! The layers every API request passes: fault injection first, then Basic auth (the log of what
//! was asked and answered, around both, is the simulators' shared `request_log`).

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
