//! The HTTP server loop: like `axum::serve`, plus what a server facing slow or hostile clients
//! needs — a deadline for the request headers (a client trickling bytes is cut off) and a
//! deadline for the graceful shutdown (connections still busy after it are dropped).
//! HTTP/1.1 only: the HTTP/1-or-2 detection of an "auto" connection reads the first bytes with
//! no deadline, so a client stalling after three bytes would hold a connection forever.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1::Builder;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceExt;

#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    /// Time a client has to send the request line and headers.
    pub header_timeout: Duration,
    /// After shutdown is asked for, how long requests in flight may still run.
    pub shutdown_grace: Duration,
}

/// Serves `router` until `shutdown` completes, then lets connections finish within the grace.
pub async fn serve(listener: TcpListener, router: Router, limits: ServeLimits, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    // Cancelled when the grace is over: every connection still open is then dropped, with the
    // request it serves (and whatever that holds: a database connection, a stream).
    let cut_off = tokio_util::sync::CancellationToken::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        // Each answer goes out whole at once: without this, the last part of a large file can
        // wait on Nagle for the client's delayed ACK (nginx sets it for keep-alive too).
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(%peer, error = %e, "could not set TCP_NODELAY");
        }
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            router.clone().oneshot(req.map(axum::body::Body::new))
        });
        let mut builder = Builder::new();
        builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        let cut_off = cut_off.clone();
        tokio::spawn(async move {
            tokio::select! {
                ended = conn => if let Err(e) = ended {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                },
                _ = cut_off.cancelled() => tracing::debug!(%peer, "connection cut off at the end of the shutdown grace"),
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown()).await.is_err() {
        tracing::warn!(grace = ?limits.shutdown_grace, "requests still running after the shutdown grace period were cut off");
    }
    cut_off.cancel();
    Ok(())
}
