//! Microsoft Graph over HTTP (../shared/reference/exchange.md §3): an app token by client
//! credentials (`oauth2`), kept until a minute before it expires and renewed once on a 401;
//! every status Graph answers read as a [`ProviderError`].

use crate::calendar::model::ProviderError;
use crate::outbound::{read_body, ApiOrigin, BoundedOAuthHttp, HttpError, HttpLimits};
use oauth2::basic::BasicClient;
use oauth2::{AuthUrl, ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};
use reqwest::header::AUTHORIZATION;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

type OAuthClient = oauth2::Client<
    oauth2::basic::BasicErrorResponse,
    oauth2::basic::BasicTokenResponse,
    oauth2::basic::BasicTokenIntrospectionResponse,
    oauth2::StandardRevocableToken,
    oauth2::basic::BasicRevocationErrorResponse,
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

#[derive(Clone)]
pub struct GraphClient {
    pub(super) http: reqwest::Client,
    pub(super) api: String,
    /// Links Graph hands back are followed only here.
    origin: ApiOrigin,
    oauth: OAuthClient,
    oauth_http: BoundedOAuthHttp,
    limits: HttpLimits,
    token: std::sync::Arc<Mutex<Option<(String, Instant)>>>,
}

impl std::fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphClient").field("api", &self.api).finish_non_exhaustive()
    }
}

/// What Entra ID said when it refused the client credentials (its error and description, never
/// the secret); a timeout or an oversized answer as such.
fn token_error(
    e: oauth2::RequestTokenError<HttpError, oauth2::StandardErrorResponse<oauth2::basic::BasicErrorResponseType>>,
) -> ProviderError {
    match e {
        oauth2::RequestTokenError::ServerResponse(r) => ProviderError::SignIn(format!(
            "the app's sign-in was refused: {} {}",
            r.error(),
            r.error_description().map(String::as_str).unwrap_or_default()
        )),
        oauth2::RequestTokenError::Request(e) => e.into(),
        other => ProviderError::SignIn(format!("the app's sign-in failed: {other}")),
    }
}

/// A path segment (a mailbox, an id) as it goes into a Graph URL.
pub(super) use crate::url::path_segment as segment;

impl GraphClient {
    /// `token_url`: `https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token`;
    /// `api`: `https://graph.microsoft.com/v1.0`.
    pub fn new(http: reqwest::Client, token_url: &str, api: &str, client_id: &str, client_secret: &str) -> Result<Self, String> {
        let oauth = BasicClient::new(ClientId::new(client_id.into()))
            .set_client_secret(ClientSecret::new(client_secret.into()))
            .set_auth_uri(AuthUrl::new(token_url.into()).map_err(|e| e.to_string())?)
            .set_token_uri(TokenUrl::new(token_url.into()).map_err(|e| e.to_string())?);
        let origin = ApiOrigin::of(api).map_err(|e| format!("{api}: {e}"))?;
        let limits = HttpLimits::default();
        Ok(Self {
            oauth_http: BoundedOAuthHttp::new(http.clone(), limits),
            http,
            api: api.trim_end_matches('/').into(),
            origin,
            oauth,
            limits,
            token: Default::default(),
        })
    }

    /// The answer cap and the timeouts errors name (the client's own timeouts are set where it
    /// is built), for the API and the token endpoint.
    pub fn with_limits(mut self, limits: HttpLimits) -> Self {
        self.oauth_http = BoundedOAuthHttp::new(self.http.clone(), limits);
        self.limits = limits;
        self
    }

    /// A link Graph handed back (`@odata.nextLink`, `@odata.deltaLink`), when it is on the
    /// configured API's origin; otherwise `ForeignLink`, and nothing is sent.
    pub(super) fn own_link(&self, link: &str) -> Result<reqwest::Url, ProviderError> {
        Ok(self.origin.check(link)?)
    }

    /// Whether `link` (a stored delta link) is on the configured API's origin.
    pub fn is_own_link(&self, link: &str) -> bool {
        self.origin.check(link).is_ok()
    }

    /// A success's body as JSON, read within the answer cap.
    pub(super) async fn json<T: serde::de::DeserializeOwned>(&self, res: reqwest::Response) -> Result<T, ProviderError> {
        let body = read_body(res, &self.limits).await?;
        serde_json::from_slice(&body).map_err(|e| ProviderError::Protocol(e.to_string()))
    }

    async fn bearer(&self) -> Result<String, ProviderError> {
        let mut t = self.token.lock().await;
        if let Some((tok, until)) = t.as_ref() {
            if Instant::now() < *until {
                return Ok(tok.clone());
            }
        }
        let res = self
            .oauth
            .exchange_client_credentials()
            .add_scope(Scope::new("https://graph.microsoft.com/.default".into()))
            .request_async(&self.oauth_http)
            .await
            .map_err(token_error)?;
        let life = res.expires_in().unwrap_or(Duration::from_secs(3600)).saturating_sub(Duration::from_secs(60));
        let tok = res.access_token().secret().clone();
        *t = Some((tok.clone(), Instant::now() + life));
        Ok(tok)
    }

    /// Sends with the app token; a 401 (the token expired early or was revoked) gets one retry
    /// with a new token. Statuses become [`ProviderError`]s.
    pub(super) async fn send(&self, req: reqwest::RequestBuilder) -> Result<reqwest::Response, ProviderError> {
        let again = req.try_clone();
        let mut res = self.send_once(req).await?;
        if res.status() == reqwest::StatusCode::UNAUTHORIZED {
            *self.token.lock().await = None;
            if let Some(again) = again {
                res = self.send_once(again).await?;
            }
        }
        let status = res.status().as_u16();
        match status {
            200..=299 => Ok(res),
            401 => {
                *self.token.lock().await = None;
                Err(ProviderError::Unauthorized)
            }
            403 => Err(ProviderError::NoAccess(String::new())),
            412 => Err(ProviderError::Conflict),
            410 => Err(ProviderError::SyncStateLost {
                code: "SyncStateNotFound".into(),
                message: "Graph no longer knows the delta link".into(),
            }),
            429 | 503 | 504 => {
                let wait = res.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(5);
                Err(ProviderError::throttled(Duration::from_secs(wait)))
            }
            _ => {
                let v: serde_json::Value = self.json(res).await.unwrap_or_default();
                let code = v.pointer("/error/code").and_then(|c| c.as_str()).unwrap_or_default();
                let message = v.pointer("/error/message").and_then(|c| c.as_str()).unwrap_or_default();
                let code = if code.is_empty() { status.to_string() } else { code.to_string() };
                let message = message.chars().take(300).collect();
                Err(if status == 404 { ProviderError::NotFound { code, message } } else { ProviderError::Refused { code, message } })
            }
        }
    }

    async fn send_once(&self, req: reqwest::RequestBuilder) -> Result<reqwest::Response, ProviderError> {
        req.header(AUTHORIZATION, format!("Bearer {}", self.bearer().await?))
            .header("Prefer", "outlook.timezone=\"UTC\"")
            .send()
            .await
            .map_err(|e| self.limits.error(e).into())
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::outbound::testing::{endless_server, silent_server, Canned};

    pub(crate) const TOKEN: &str = r#"{"access_token":"app-token","token_type":"Bearer","expires_in":3600}"#;

    pub(crate) fn limits(timeout: Duration) -> HttpLimits {
        HttpLimits { connect_timeout: Duration::from_secs(2), request_timeout: timeout, max_answer_bytes: 64 * 1024 }
    }

    /// A client of the token endpoint at `login` and the API at `api` (`host:port`).
    pub(crate) fn client(login: std::net::SocketAddr, api: std::net::SocketAddr, l: HttpLimits) -> GraphClient {
        let token = format!("http://{login}/t/oauth2/v2.0/token");
        GraphClient::new(l.client().unwrap(), &token, &format!("http://{api}/v1.0"), "id", "secret").unwrap().with_limits(l)
    }

    #[tokio::test]
    async fn graph_gives_up_on_a_silent_token_endpoint_or_api_with_a_timeout() {
        let (silent, _s) = silent_server().await;
        let l = limits(Duration::from_millis(300));
        let err = client(silent, silent, l).meeting("ann@example.com", "E1").await.unwrap_err();
        assert!(matches!(&err, ProviderError::TimedOut(m) if m.contains("0.3 s")), "the token endpoint: {err:?}");
        let login = Canned::new(&Canned::json(200, "", TOKEN));
        let (login, _l) = login.start().await;
        let err = client(login, silent, l).meeting("ann@example.com", "E1").await.unwrap_err();
        assert!(matches!(&err, ProviderError::TimedOut(m) if m.contains("0.3 s")), "the API: {err:?}");
    }

    #[tokio::test]
    async fn a_graph_answer_that_streams_forever_is_refused_at_the_cap_from_the_token_endpoint_or_api() {
        let (endless, _e) = endless_server().await;
        let l = limits(Duration::from_secs(30));
        let err = client(endless, endless, l).meeting("ann@example.com", "E1").await.unwrap_err();
        assert_eq!(err, ProviderError::TooLarge { limit: 64 * 1024 }, "the token endpoint");
        let (login, _l) = Canned::new(&Canned::json(200, "", TOKEN)).start().await;
        let err = client(login, endless, l).meeting("ann@example.com", "E1").await.unwrap_err();
        assert_eq!(err, ProviderError::TooLarge { limit: 64 * 1024 }, "the API");
    }
}
