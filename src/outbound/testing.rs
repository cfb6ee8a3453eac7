//! Tiny TCP servers for the clients' tests: one that accepts and never answers, one that streams
//! an answer without end, and one that gives canned answers by path and records every request
//! (so a test can tell whether a host got a request, and with which headers).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Aborts the server task when dropped.
pub struct Server(tokio::task::JoinHandle<()>);

impl Drop for Server {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn listen() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let addr = l.local_addr().expect("bound");
    (l, addr)
}

/// Accepts connections, reads nothing, answers nothing, keeps them open.
pub async fn silent_server() -> (SocketAddr, Server) {
    let (l, addr) = listen().await;
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            held.push(s);
        }
    });
    (addr, Server(task))
}

/// Reads one request's head and body; `None` when the peer closed.
async fn read_request(s: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap_or(0)))
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = s.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// Answers every request with a chunked body that never ends.
pub async fn endless_server() -> (SocketAddr, Server) {
    let (l, addr) = listen().await;
    let task = tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                if read_request(&mut s).await.is_none() {
                    return;
                }
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                if s.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = format!("2000\r\n{}\r\n", "x".repeat(0x2000));
                while s.write_all(chunk.as_bytes()).await.is_ok() {}
            });
        }
    });
    (addr, Server(task))
}

/// Canned answers by path prefix (the first that matches, else the default); each answer is a
/// whole HTTP/1.1 response (status line, headers, blank line, body; `{self}` becomes the
/// server's own `host:port`) and the connection closes after it. Every request is recorded.
#[derive(Clone)]
pub struct Canned {
    default: String,
    routes: Vec<(String, String)>,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Canned {
    pub fn new(default: &str) -> Self {
        Self { default: default.to_string(), routes: Vec::new(), seen: Arc::default() }
    }

    pub fn on(mut self, path_prefix: &str, answer: &str) -> Self {
        self.routes.push((path_prefix.to_string(), answer.to_string()));
        self
    }

    /// A JSON answer with this status (`headers`: more lines, each ending in `\r\n`).
    pub fn json(status: u16, headers: &str, body: &str) -> String {
        format!("HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n{headers}\r\n{body}")
    }

    /// Every request so far: request line, headers, body.
    pub fn requests(&self) -> Vec<String> {
        crate::sync::lock(&self.seen).clone()
    }

    pub async fn start(&self) -> (SocketAddr, Server) {
        let (l, addr) = listen().await;
        let me = self.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let me = me.clone();
                tokio::spawn(async move {
                    let Some(req) = read_request(&mut s).await else { return };
                    let path = req.split_whitespace().nth(1).unwrap_or_default().to_string();
                    crate::sync::lock(&me.seen).push(req);
                    let answer = me.routes.iter().find(|(p, _)| path.starts_with(p.as_str())).map(|(_, a)| a).unwrap_or(&me.default);
                    // One request per connection, said so, so no client reuses a closed one.
                    let answer = whole(&answer.replace("{self}", &addr.to_string()));
                    let _ = s.write_all(answer.as_bytes()).await;
                    let _ = s.shutdown().await;
                });
            }
        });
        (addr, Server(task))
    }
}

/// A canned answer as sent: `connection: close`, and its `content-length` unless it has one.
fn whole(answer: &str) -> String {
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((answer, ""));
    let mut head = format!("{head}\r\nconnection: close");
    if !head.to_ascii_lowercase().contains("\r\ncontent-length:") {
        head.push_str(&format!("\r\ncontent-length: {}", body.len()));
    }
    format!("{head}\r\n\r\n{body}")
}
