//! Adapters to Webex: the REST API ([`client`]), its OAuth integration ([`oauth`]), Webex
//! Connect's messaging API ([`connect`]), the logins under way ([`pending`]), the org grant
//! kept sealed at rest ([`grant`]) and the sealing itself ([`crate::secret`]). Nothing here
//! knows about incidents.

pub mod client;
pub mod connect;
pub mod grant;
pub mod oauth;
#[cfg(test)]
mod outbound_tests;
pub mod pending;

pub use crate::secret::{SecretBox, SecretError};
pub use client::{MeetingInfo, Membership, Person, Room, WebexApi};
pub use connect::ConnectApi;
pub use grant::OrgGrant;
pub use oauth::{LoginKind, OAuthError, PendingLogin, TokenSet, WebexOAuth};
pub use pending::PendingLogins;

use backon::{ExponentialBuilder, Retryable};
use std::time::Duration;

/// How a call to Webex or Webex Connect failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("the token was refused (expired or revoked)")]
    Unauthorized,
    #[error("rate limited (429){}", .retry_after.map(|d| format!(", retry after {} s", d.as_secs())).unwrap_or_default())]
    Throttled { retry_after: Option<Duration> },
    #[error("server error {status}")]
    Server { status: u16, retry_after: Option<Duration> },
    #[error("refused ({status}): {message}")]
    Refused { status: u16, message: String },
    #[error("cannot reach the service: {0}")]
    Network(String),
    /// No connection, or no whole answer, within the configured timeouts (`webex.http`, `connect.http`).
    #[error("the service did not answer in time: {0}")]
    TimedOut(String),
    /// The answer passed the configured `max_answer_bytes`; it was not read further.
    #[error("the service's answer is larger than {limit} bytes (max_answer_bytes)")]
    TooLarge { limit: usize },
    /// A `Link` to another origin than the configured API: not followed with the token.
    #[error("Webex sent {0}")]
    ForeignLink(#[from] crate::outbound::ForeignLink),
    /// The request went out but no answer came back: it may have taken effect.
    #[error("the request was sent but its answer was lost ({0}); it may have taken effect")]
    Unanswered(String),
    #[error("{0}")]
    Protocol(String),
}

impl From<crate::outbound::HttpError> for ApiError {
    fn from(e: crate::outbound::HttpError) -> Self {
        use crate::outbound::HttpError;
        match e {
            // No connection: nothing reached the service.
            HttpError::ConnectTimedOut(_) => ApiError::Network(e.to_string()),
            HttpError::TimedOut(_) => ApiError::TimedOut(e.to_string()),
            HttpError::TooLarge { limit } => ApiError::TooLarge { limit },
            HttpError::Network(m) => ApiError::Network(m),
        }
    }
}

impl ApiError {
    /// A request that failed on its way under `limits`: [`ApiError::Network`] when no
    /// connection was made (so nothing reached the service), [`ApiError::Unanswered`] or
    /// [`ApiError::TimedOut`] when it may have been sent.
    pub fn from_send(limits: &crate::outbound::HttpLimits, e: reqwest::Error) -> Self {
        let connected = !e.is_connect();
        match limits.error(e) {
            crate::outbound::HttpError::Network(m) if connected => ApiError::Unanswered(m),
            other => ApiError::from(other),
        }
    }

    /// Worth another attempt: throttling, a server error, or the network. Repeating an
    /// [`ApiError::Unanswered`] request is safe only where the service recognises the repeat.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ApiError::Throttled { .. } | ApiError::Server { .. } | ApiError::Network(_) | ApiError::TimedOut(_) | ApiError::Unanswered(_)
        )
    }

    /// The request may have taken effect although it failed (sent, but its answer was lost or
    /// did not come in time).
    pub fn may_have_taken_effect(&self) -> bool {
        matches!(self, ApiError::Unanswered(_) | ApiError::TimedOut(_))
    }
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::Throttled { retry_after } | ApiError::Server { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Unauthorized => Some(401),
            ApiError::Throttled { .. } => Some(429),
            ApiError::Server { status, .. } | ApiError::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Retries of transient failures: exponential backoff with jitter, replaced by the server's
/// `Retry-After` when it gives one (capped, so a silly value cannot park a job for an hour).
#[derive(Debug, Clone)]
pub struct Retry {
    pub attempts: usize,
    pub min_delay: Duration,
    pub max_delay: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Self { attempts: 6, min_delay: Duration::from_millis(200), max_delay: Duration::from_secs(30) }
    }
}

impl Retry {
    pub fn none() -> Self {
        Self { attempts: 0, ..Self::default() }
    }

    pub async fn run<T, F, Fut>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, ApiError>>,
    {
        let max = self.max_delay;
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.attempts)
            .with_jitter();
        f.retry(backoff)
            .when(ApiError::is_transient)
            .adjust(move |e: &ApiError, d| match e.retry_after() {
                Some(ra) => d.map(|_| ra.min(max)),
                None => d,
            })
            .notify(|e, d| tracing::debug!(error = %e, wait_ms = d.as_millis() as u64, "retrying a Webex call"))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn transient_failures_are_retried_and_refusals_are_not() {
        let r = Retry { attempts: 3, min_delay: Duration::from_millis(1), max_delay: Duration::from_millis(5) };
        let n = AtomicUsize::new(0);
        let out = r
            .run(|| async {
                match n.fetch_add(1, Ordering::SeqCst) {
                    0 => Err(ApiError::Throttled { retry_after: Some(Duration::from_secs(60)) }),
                    1 => Err(ApiError::Server { status: 503, retry_after: None }),
                    _ => Ok(7),
                }
            })
            .await;
        assert_eq!(out, Ok(7), "Retry-After is capped at max_delay, so this test does not wait a minute");
        assert_eq!(n.load(Ordering::SeqCst), 3);
        let m = AtomicUsize::new(0);
        let out: Result<(), _> = r
            .run(|| async {
                m.fetch_add(1, Ordering::SeqCst);
                Err(ApiError::Refused { status: 400, message: "bad number".into() })
            })
            .await;
        assert!(matches!(out, Err(ApiError::Refused { .. })));
        assert_eq!(m.load(Ordering::SeqCst), 1);
    }
}
