//! The `oauth2` crate's HTTP client for token endpoints (Entra ID's, Webex's), with the same
//! limits as every other outbound request: the client's timeouts, and the answer read through
//! the bounded reader instead of whole into memory.

use super::{read_body, HttpError, HttpLimits};
use std::future::Future;
use std::pin::Pin;

/// Pass `&BoundedOAuthHttp` to `request_async`.
#[derive(Clone)]
pub struct BoundedOAuthHttp {
    http: reqwest::Client,
    limits: HttpLimits,
}

impl BoundedOAuthHttp {
    /// `http` should be built from `limits` ([`HttpLimits::client`]), so its timeouts hold too.
    pub fn new(http: reqwest::Client, limits: HttpLimits) -> Self {
        Self { http, limits }
    }
}

type Answer<'c> = Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, HttpError>> + Send + 'c>>;

impl<'c> oauth2::AsyncHttpClient<'c> for BoundedOAuthHttp {
    type Error = HttpError;
    type Future = Answer<'c>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request = reqwest::Request::try_from(request).map_err(|e| HttpError::Network(e.without_url().to_string()))?;
            let res = self.http.execute(request).await.map_err(|e| self.limits.error(e))?;
            let mut answer = oauth2::http::Response::builder().status(res.status());
            for (name, value) in res.headers() {
                answer = answer.header(name, value);
            }
            let body = read_body(res, &self.limits).await?;
            answer.body(body).map_err(|e| HttpError::Network(e.to_string()))
        })
    }
}
