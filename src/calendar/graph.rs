//! Microsoft Graph for Exchange Online (reference/exchange.md §3): an app token by client
//! credentials (`oauth2`), `users/{id}/calendarView/delta` per mailbox (pages followed to the
//! delta link, which is stored and used next time — works without a public URL), GET of one
//! event with its marker property, PATCH of the body with `If-Match` (412 = changed meanwhile).

use super::ews::{Item, MARKER_PROPERTY};
use super::ews_client::EwsError;
use oauth2::basic::BasicClient;
use oauth2::{AuthUrl, ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};
use reqwest::header::{AUTHORIZATION, IF_MATCH};
use serde::Deserialize;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// The code a 410 from a delta link becomes: start again without the link.
pub const RESYNC: &str = "SyncStateNotFound";

/// The extended property id Graph uses for the marker (a named string property).
pub fn marker_property_id() -> String {
    format!("String {{00020329-0000-0000-C000-000000000046}} Name {MARKER_PROPERTY}")
}

#[derive(Clone)]
pub struct GraphClient {
    http: reqwest::Client,
    api: String,
    oauth: oauth2::Client<
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
    >,
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

/// One page of a delta query: changed event ids (removed ones apart) and where to go next.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DeltaPage {
    /// The events to process: single events as they are, and for each occurrence or exception
    /// of a series its master (`seriesMasterId`) — calendarView never returns the master itself,
    /// and a series is handled once, on it. A master appears once a page however many of its
    /// occurrences do.
    pub changed: Vec<String>,
    pub removed: Vec<String>,
    pub next_link: Option<String>,
    pub delta_link: Option<String>,
}

#[derive(Deserialize)]
struct DeltaBody {
    #[serde(default)]
    value: Vec<serde_json::Value>,
    #[serde(rename = "@odata.nextLink")]
    next: Option<String>,
    #[serde(rename = "@odata.deltaLink")]
    delta: Option<String>,
}

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

    async fn bearer(&self) -> Result<String, EwsError> {
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
            .map_err(|e| EwsError::Exchange { code: "token".into(), message: token_error(&e) })?;
        let life = res.expires_in().unwrap_or(Duration::from_secs(3600)).saturating_sub(Duration::from_secs(60));
        let tok = res.access_token().secret().clone();
        *t = Some((tok.clone(), Instant::now() + life));
        Ok(tok)
    }

    /// Sends with the app token; a 401 (the token expired early or was revoked) gets one retry
    /// with a new token. Statuses become [`EwsError`]s the watcher and service already handle.
    async fn send(&self, req: reqwest::RequestBuilder) -> Result<reqwest::Response, EwsError> {
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
                Err(EwsError::Unauthorized)
            }
            403 => Err(EwsError::NoImpersonation(String::new())),
            412 => Err(EwsError::Conflict),
            410 => Err(EwsError::Exchange { code: RESYNC.into(), message: "Graph no longer knows the delta link".into() }),
            429 | 503 | 504 => {
                let wait = res.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(5);
                Err(EwsError::Busy(Duration::from_secs(wait)))
            }
            _ => {
                let v: serde_json::Value = res.json().await.unwrap_or_default();
                let code = v.pointer("/error/code").and_then(|c| c.as_str()).unwrap_or_default();
                let message = v.pointer("/error/message").and_then(|c| c.as_str()).unwrap_or_default();
                Err(EwsError::Exchange {
                    code: if code.is_empty() { status.to_string() } else { code.to_string() },
                    message: message.chars().take(300).collect(),
                })
            }
        }
    }

    async fn send_once(&self, req: reqwest::RequestBuilder) -> Result<reqwest::Response, EwsError> {
        req.header(AUTHORIZATION, format!("Bearer {}", self.bearer().await?))
            .header("Prefer", "outlook.timezone=\"UTC\"")
            .send()
            .await
            .map_err(|e| EwsError::Network(e.without_url().to_string()))
    }

    /// The first page of a mailbox's delta (a window from now to `days` ahead), or the page at `link`.
    pub async fn delta(&self, mailbox: &str, link: Option<&str>, days: i64) -> Result<DeltaPage, EwsError> {
        let url = match link {
            Some(l) => l.to_string(),
            None => {
                let now = time::OffsetDateTime::now_utc();
                let f = |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
                format!(
                    "{}/users/{}/calendarView/delta?startDateTime={}&endDateTime={}",
                    self.api,
                    percent_encoding::utf8_percent_encode(mailbox, percent_encoding::NON_ALPHANUMERIC),
                    f(now - time::Duration::days(1)),
                    f(now + time::Duration::days(days))
                )
            }
        };
        let res = self.send(self.http.get(url).header("Prefer", "odata.maxpagesize=50")).await?;
        // (Both Prefer headers are sent; Graph reads each preference.)
        let body: DeltaBody = res.json().await.map_err(|e| EwsError::Protocol(e.to_string()))?;
        let mut page = DeltaPage { next_link: body.next, delta_link: body.delta, ..Default::default() };
        for v in body.value {
            let id = v.get("id").and_then(|i| i.as_str()).unwrap_or_default().to_string();
            let master = v.get("seriesMasterId").and_then(|i| i.as_str()).filter(|m| !m.is_empty());
            let in_series = matches!(v.get("type").and_then(|t| t.as_str()), Some("occurrence" | "exception"));
            if v.get("@removed").is_some() {
                page.removed.push(id);
            } else if let (true, Some(master)) = (in_series, master) {
                if !page.changed.iter().any(|c| c == master) {
                    page.changed.push(master.to_string());
                }
            } else if !id.is_empty() && !page.changed.contains(&id) {
                page.changed.push(id);
            }
        }
        Ok(page)
    }

    /// One event, as the rules need it (the marker property expanded).
    pub async fn item(&self, mailbox: &str, id: &str) -> Result<Item, EwsError> {
        let url = format!(
            "{}/users/{}/events/{}?$expand=singleValueExtendedProperties($filter=id eq '{}')",
            self.api,
            percent_encoding::utf8_percent_encode(mailbox, percent_encoding::NON_ALPHANUMERIC),
            percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC),
            marker_property_id()
        );
        let res = self.send(self.http.get(url)).await?;
        let v: serde_json::Value = res.json().await.map_err(|e| EwsError::Protocol(e.to_string()))?;
        let s = |p: &str| v.pointer(p).and_then(|x| x.as_str()).unwrap_or_default().to_string();
        let marker = v
            .get("singleValueExtendedProperties")
            .and_then(|a| a.as_array())
            .and_then(|a| {
                a.iter().find(|p| p.get("id").and_then(|i| i.as_str()).is_some_and(|i| i.eq_ignore_ascii_case(&marker_property_id())))
            })
            .and_then(|p| p.get("value").and_then(|x| x.as_str()))
            .map(String::from);
        let end = s("/end/dateTime");
        Ok(Item {
            id: s("/id"),
            change_key: s("/@odata.etag"),
            subject: s("/subject"),
            location: s("/location/displayName"),
            body: s("/body/content"),
            body_html: s("/body/contentType").eq_ignore_ascii_case("html"),
            organizer: s("/organizer/emailAddress/address").to_ascii_lowercase(),
            start: s("/start/dateTime"),
            // Graph gives UTC without an offset when asked for UTC.
            end: if end.is_empty() || end.ends_with('Z') || end.contains('+') {
                end
            } else {
                format!("{}Z", end.trim_end_matches(".0000000"))
            },
            item_type: match s("/type").as_str() {
                "occurrence" => "Occurrence".into(),
                "exception" => "Exception".into(),
                "seriesMaster" => "RecurringMaster".into(),
                _ => "Single".into(),
            },
            is_organizer: v.get("isOrganizer").and_then(|b| b.as_bool()),
            marker,
            // A seriesMaster's start/end are its first occurrence's; its range says how long it runs.
            recurrence_range: match v.pointer("/recurrence/range/type").and_then(|t| t.as_str()) {
                Some("endDate") => "EndDateRecurrence".into(),
                Some("numbered") => "NumberedRecurrence".into(),
                Some("noEnd") => "NoEndRecurrence".into(),
                _ => String::new(),
            },
            recurrence_end_date: s("/recurrence/range/endDate"),
            last_occurrence_end: String::new(),
        })
    }

    /// Writes the body and marker if the event is still as read (`If-Match` its etag).
    pub async fn update_body(&self, mailbox: &str, id: &str, etag: &str, html: &str, marker: &str) -> Result<String, EwsError> {
        let url = format!(
            "{}/users/{}/events/{}",
            self.api,
            percent_encoding::utf8_percent_encode(mailbox, percent_encoding::NON_ALPHANUMERIC),
            percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC)
        );
        let body = serde_json::json!({
            "body": {"contentType": "HTML", "content": html},
            "singleValueExtendedProperties": [{"id": marker_property_id(), "value": marker}],
        });
        let mut req = self.http.patch(url).json(&body);
        if !etag.is_empty() {
            req = req.header(IF_MATCH, etag);
        }
        let res = self.send(req).await?;
        let v: serde_json::Value = res.json().await.unwrap_or_default();
        Ok(v.get("@odata.etag").and_then(|e| e.as_str()).unwrap_or_default().to_string())
    }

    /// Change notifications for a mailbox's events (created, updated, deleted) to
    /// `notification_url` (Graph checks it first with a validation request), lifecycle
    /// notifications to the same URL. Returns the subscription id and its expiry.
    pub async fn subscribe(
        &self,
        mailbox: &str,
        notification_url: &str,
        client_state: &str,
        expires: time::OffsetDateTime,
    ) -> Result<(String, time::OffsetDateTime), EwsError> {
        let body = serde_json::json!({
            "changeType": "created,updated,deleted",
            "notificationUrl": notification_url,
            "lifecycleNotificationUrl": notification_url,
            "resource": format!("users/{mailbox}/events"),
            "expirationDateTime": rfc3339(expires),
            "clientState": client_state,
        });
        let res = self.send(self.http.post(format!("{}/subscriptions", self.api)).json(&body)).await?;
        subscription_of(res).await
    }

    /// Moves a subscription's expiry (renewal, or after `reauthorizationRequired`).
    pub async fn renew(&self, id: &str, expires: time::OffsetDateTime) -> Result<(String, time::OffsetDateTime), EwsError> {
        let url = format!("{}/subscriptions/{}", self.api, percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC));
        let res = self.send(self.http.patch(url).json(&serde_json::json!({ "expirationDateTime": rfc3339(expires) }))).await?;
        subscription_of(res).await
    }
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

async fn subscription_of(res: reqwest::Response) -> Result<(String, time::OffsetDateTime), EwsError> {
    let v: serde_json::Value = res.json().await.map_err(|e| EwsError::Protocol(e.to_string()))?;
    let id = v.get("id").and_then(|i| i.as_str()).ok_or_else(|| EwsError::Protocol("a subscription without an id".into()))?;
    let expires = v
        .get("expirationDateTime")
        .and_then(|e| e.as_str())
        .and_then(|e| time::OffsetDateTime::parse(e, &time::format_description::well_known::Rfc3339).ok())
        .ok_or_else(|| EwsError::Protocol("a subscription without its expirationDateTime".into()))?;
    Ok((id.to_string(), expires))
}
