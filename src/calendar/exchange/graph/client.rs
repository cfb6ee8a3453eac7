//! Microsoft Graph over HTTP (../shared/reference/exchange.md §3): an app token by client
//! credentials (`oauth2`), kept until a minute before it expires and renewed once on a 401;
//! every status Graph answers read as a [`ProviderError`].

use crate::calendar::model::ProviderError;
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
    oauth: OAuthClient,
    token: std::sync::Arc<Mutex<Option<(String, Instant)>>>,
}

impl std::fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphClient").field("api", &self.api).finish_non_exhaustive()
    }
}

/// What Entra ID said when it refused the client credentials (its error and description, never the secret).
fn token_error<RE: std::error::Error + 'static>(
    e: &oauth2::RequestTokenError<RE, oauth2::StandardErrorResponse<oauth2::basic::BasicErrorResponseType>>,
) -> String {
    match e {
        oauth2::RequestTokenError::ServerResponse(r) => {
            format!("the app's sign-in was refused: {} {}", r.error(), r.error_description().map(String::as_str).unwrap_or_default())
        }
        other => format!("the app's sign-in failed: {other}"),
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
        Ok(Self { http, api: api.trim_end_matches('/').into(), oauth, token: Default::default() })
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
            .request_async(&self.http)
            .await
            .map_err(|e| ProviderError::SignIn(token_error(&e)))?;
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
                let v: serde_json::Value = res.json().await.unwrap_or_default();
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
            .map_err(|e| ProviderError::Unavailable(e.without_url().to_string()))
    }
}
