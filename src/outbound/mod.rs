//! Limits every outbound HTTP client keeps to (Exchange, Graph, Webex, Webex Connect): a connect
//! timeout, an overall request timeout, no redirects, and an answer read through one bounded
//! reader ([`body`]); links a service hands back are followed only on its own origin
//! ([`links`]); and the same bound for the OAuth token endpoints ([`oauth`]). A service that
//! stalls or streams without end costs a timeout or a typed error, never a hung task or memory.

pub mod body;
pub mod links;
pub mod oauth;
#[cfg(test)]
pub(crate) mod testing;

pub use body::read_body;
pub use links::{ApiOrigin, ForeignLink};
pub use oauth::BoundedOAuthHttp;

use std::time::Duration;

/// How long an outbound request may take and how much of an answer is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Until the TCP (and TLS) connection is up.
    pub connect_timeout: Duration,
    /// The whole request: connecting, sending, and reading the answer to its end.
    pub request_timeout: Duration,
    /// Answers longer than this are refused ([`HttpError::TooLarge`]).
    pub max_answer_bytes: usize,
}

/// 16 MB: a Graph delta page of 50 events with their bodies, or an EWS page of 200 items, is a
/// few MB at most.
pub const DEFAULT_MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            max_answer_bytes: DEFAULT_MAX_ANSWER_BYTES,
        }
    }
}

/// Why an outbound request failed below the service's own answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    #[error("could not connect within {} s", .0.as_secs_f64())]
    ConnectTimedOut(Duration),
    #[error("no complete answer within {} s", .0.as_secs_f64())]
    TimedOut(Duration),
    #[error("the answer is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("{0}")]
    Network(String),
}

impl HttpLimits {
    /// A client builder with these timeouts and no redirects (a redirect would carry the
    /// request, and on the same host its credentials, somewhere nobody configured).
    pub fn client_builder(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .timeout(self.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
    }

    pub fn client(&self) -> Result<reqwest::Client, HttpError> {
        self.client_builder().build().map_err(|e| HttpError::Network(format!("cannot build the HTTP client: {e}")))
    }

    /// A transport error as an [`HttpError`]; `timeout`: the overall timeout the request had
    /// (a streaming request has its own).
    pub fn error_within(&self, e: reqwest::Error, timeout: Duration) -> HttpError {
        if e.is_timeout() {
            return if e.is_connect() { HttpError::ConnectTimedOut(self.connect_timeout) } else { HttpError::TimedOut(timeout) };
        }
        // reqwest's Display hides the cause (refused, reset, TLS); the innermost source says it.
        let e = e.without_url();
        let mut reason = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            reason = s.to_string();
            src = s.source();
        }
        HttpError::Network(reason)
    }

    /// A transport error of a request under the overall timeout.
    pub fn error(&self, e: reqwest::Error) -> HttpError {
        self.error_within(e, self.request_timeout)
    }

    /// Sends `req` and reads its whole answer within the limits: status, headers, body.
    pub async fn fetch(&self, req: reqwest::RequestBuilder) -> Result<Answer, HttpError> {
        let res = req.send().await.map_err(|e| self.error(e))?;
        let (status, headers) = (res.status(), res.headers().clone());
        let body = read_body(res, self).await?;
        Ok(Answer { status, headers, body })
    }
}

/// A whole answer, read within the limits.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: reqwest::StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as text (bytes that are not UTF-8 become U+FFFD).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}
