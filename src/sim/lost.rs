//! Answers that never arrive: a listener whose every connection carries a [`Cut`] that the
//! handler serving a request can pull after doing the work, so that not a byte of the answer is
//! written and the connection closes. That is what a client sees when a server or a proxy in
//! front of it dies between carrying a request out and answering it: it cannot tell whether the
//! request took effect.

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Pulled by a handler: the connection it serves writes nothing more and closes.
#[derive(Debug, Clone, Default)]
pub struct Cut(Arc<AtomicBool>);

impl Cut {
    pub fn pull(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    fn pulled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Who is connected, and the cut of their connection.
#[derive(Debug, Clone)]
pub struct Peer {
    pub addr: SocketAddr,
    pub cut: Cut,
}

/// A TCP listener whose connections can be cut (serve it with
/// `into_make_service_with_connect_info::<Cut>()`; handlers take `ConnectInfo<Cut>`).
pub struct CutListener(TcpListener);

impl CutListener {
    pub fn new(l: TcpListener) -> Self {
        Self(l)
    }
}

impl Listener for CutListener {
    type Io = CutStream;
    type Addr = Peer;

    async fn accept(&mut self) -> (CutStream, Peer) {
        loop {
            match self.0.accept().await {
                Ok((io, addr)) => {
                    let cut = Cut::default();
                    return (CutStream { io, cut: cut.clone() }, Peer { addr, cut });
                }
                // Out of file descriptors and the like: wait a moment, as axum's own listener does.
                Err(e) => {
                    tracing::debug!(error = %e, "simulator accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Peer> {
        Ok(Peer { addr: self.0.local_addr()?, cut: Cut::default() })
    }
}

impl Connected<IncomingStream<'_, CutListener>> for Cut {
    fn connect_info(stream: IncomingStream<'_, CutListener>) -> Self {
        stream.remote_addr().cut.clone()
    }
}

/// A connection that, once cut, reads end-of-stream and refuses every write.
pub struct CutStream {
    io: TcpStream,
    cut: Cut,
}

fn cut_error() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "the simulator cut this connection before answering")
}

impl AsyncRead for CutStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if self.cut.pulled() {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for CutStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if self.cut.pulled() {
            return Poll::Ready(Err(cut_error()));
        }
        Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.cut.pulled() {
            return Poll::Ready(Err(cut_error()));
        }
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Serves `app` on `listener` with cuttable connections.
pub async fn serve(listener: TcpListener, app: axum::Router) -> io::Result<()> {
    axum::serve(CutListener::new(listener), app.into_make_service_with_connect_info::<Cut>()).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::ConnectInfo;
    use axum::routing::post;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test]
    async fn a_pulled_cut_loses_the_answer_after_the_work_was_done() {
        let done = Arc::new(AtomicUsize::new(0));
        let seen = done.clone();
        let app = axum::Router::new().route(
            "/work",
            post(move |ConnectInfo(cut): ConnectInfo<Cut>| {
                let n = seen.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n == 0 {
                        cut.pull();
                    }
                    "done"
                }
            }),
        );
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/work", l.local_addr().unwrap());
        tokio::spawn(serve(l, app));
        let http = reqwest::Client::new();
        let first = http.post(&url).send().await;
        assert!(first.is_err(), "no status arrives: {first:?}");
        assert_eq!(done.load(Ordering::SeqCst), 1, "but the work was done");
        let second = http.post(&url).send().await.unwrap();
        assert_eq!(second.text().await.unwrap(), "done", "the next connection answers");
    }
}
