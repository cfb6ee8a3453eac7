//! Requests to one node: ids made into safe path segments, the bounded and retried send, status
//! and transport failures mapped to `CmsError`, and the plain GET / PUT / POST / DELETE verbs.

use super::CmsNode;
use crate::cms::error::CmsError;
use crate::cms::xml::{failure_reason, parse_object};
use backon::{ExponentialBuilder, Retryable};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// One path segment from an object id. Ids of only dots are refused: URL parsers resolve `.`
/// and `..` (even percent-encoded) as relative steps.
pub(super) fn segment(id: &str) -> Result<String, CmsError> {
    if id.is_empty() || id.chars().all(|c| c == '.') {
        return Err(CmsError::BadId(id.chars().take(64).collect()));
    }
    Ok(crate::url::path_segment(id))
}

/// A raw answer: status, the `Location` header (for POST), the body.
pub(super) struct Answer {
    status: StatusCode,
    location: Option<String>,
    pub(super) body: String,
}

impl CmsNode {
    async fn send_once(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        form: Option<&[(&str, String)]>,
    ) -> Result<Answer, CmsError> {
        let _permit = self.permits.acquire().await.map_err(|_| self.unreachable("shutting down"))?;
        let url = format!("{}{}", self.api, path);
        let mut req = self.http.request(method, &url).basic_auth(&self.cfg.username, Some(&self.cfg.password));
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(form) = form {
            req = req.form(form);
        }
        let res = req.send().await.map_err(|e| self.transport_error(e))?;
        let status = res.status();
        let location = res.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = self.read_body(res).await?;
        Ok(Answer { status, location, body })
    }

    /// The answer's body, refused once it passes `max_answer_bytes` (by its Content-Length,
    /// or while it arrives when there is none).
    async fn read_body(&self, mut res: reqwest::Response) -> Result<String, CmsError> {
        let limit = self.cfg.max_answer_bytes;
        let too_large = || CmsError::TooLarge { node: self.cfg.name.clone(), limit };
        if res.content_length().is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(|e| self.transport_error(e))? {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    fn transport_error(&self, e: reqwest::Error) -> CmsError {
        if e.is_timeout() {
            CmsError::Timeout { node: self.cfg.name.clone(), seconds: self.cfg.timeout.as_secs_f64() }
        } else {
            // reqwest's Display hides the cause (refused, reset, TLS); walk the chain for it.
            let mut reason = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                reason = s.to_string();
                src = s.source();
            }
            self.unreachable(&reason)
        }
    }

    fn unreachable(&self, reason: &str) -> CmsError {
        CmsError::Unreachable { node: self.cfg.name.clone(), reason: reason.to_string() }
    }

    /// Sends a request; idempotent methods are retried with backoff on transient failures.
    pub(super) async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        form: Option<&[(&str, String)]>,
        what: &str,
    ) -> Result<Answer, CmsError> {
        let idempotent = method != Method::POST;
        let attempt = || async {
            let ans = self.send_once(method.clone(), path, query, form).await?;
            self.check_status(ans, what)
        };
        let result = if idempotent && self.cfg.retries > 0 {
            attempt
                .retry(
                    ExponentialBuilder::default()
                        .with_min_delay(Duration::from_millis(50))
                        .with_max_delay(Duration::from_secs(2))
                        .with_max_times(self.cfg.retries)
                        .with_jitter(),
                )
                .when(CmsError::is_transient)
                .notify(|err, wait| tracing::debug!(node = %self.cfg.name, %path, error = %err, ?wait, "retrying CMS request"))
                .await
        } else {
            attempt().await
        };
        if let Err(e) = &result {
            self.note_failure(e);
        }
        result
    }

    fn check_status(&self, ans: Answer, what: &str) -> Result<Answer, CmsError> {
        let node = self.cfg.name.clone();
        match ans.status {
            s if s.is_success() => Ok(ans),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(CmsError::Unauthorized { node }),
            StatusCode::NOT_FOUND => Err(CmsError::NotFound { node, what: what.to_string() }),
            s => Err(CmsError::Refused {
                node,
                status: s.as_u16(),
                detail: failure_reason(&ans.body).unwrap_or_else(|| s.canonical_reason().unwrap_or("error").to_string()),
            }),
        }
    }

    pub(super) fn malformed(&self, what: &str, reason: String) -> CmsError {
        CmsError::Malformed { node: self.cfg.name.clone(), what: what.to_string(), reason }
    }

    /// GET one object.
    pub async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> Result<T, CmsError> {
        let ans = self.send(Method::GET, path, query, None, path).await?;
        parse_object(&ans.body).map_err(|r| self.malformed(path, r))
    }

    pub async fn put_form(&self, path: &str, form: &[(&str, String)]) -> Result<(), CmsError> {
        self.send(Method::PUT, path, &[], Some(form), path).await.map(|_| ())
    }

    /// POST a form; returns the new object's id from the `Location` header when CMS sends one.
    pub async fn post_form(&self, path: &str, form: &[(&str, String)]) -> Result<Option<String>, CmsError> {
        let ans = self.send(Method::POST, path, &[], Some(form), path).await?;
        Ok(ans.location.and_then(|l| l.trim_end_matches('/').rsplit('/').next().map(str::to_string)))
    }

    pub async fn delete(&self, path: &str) -> Result<(), CmsError> {
        self.send(Method::DELETE, path, &[], None, path).await.map(|_| ())
    }
}
