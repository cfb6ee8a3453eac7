//! The Webex REST API as Switchboard uses it (../shared/reference/webex.md §3): people, rooms and their
//! meeting details, memberships, 1:1 messages. One attempt per call; [`retrying`] repeats calls
//! that failed in a way worth repeating (429 with its `Retry-After`, 5xx, network), so that a
//! caller that must not deliver twice decides itself what is safe to repeat.

use super::{ApiError, Retry};
use crate::outbound::{read_body, ApiOrigin, HttpLimits};
use reqwest::header::{HeaderMap, AUTHORIZATION, LINK, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneNumber {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    pub id: String,
    #[serde(default)]
    pub emails: Vec<String>,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub phone_numbers: Vec<PhoneNumber>,
    #[serde(default)]
    pub org_id: String,
    /// Non-empty for org administrators.
    #[serde(default)]
    pub roles: Vec<String>,
}

impl Person {
    pub fn email(&self) -> &str {
        self.emails.first().map(String::as_str).unwrap_or("")
    }
    /// The first number of the given type (the sample's README says "first"; its loop kept the last).
    pub fn phone(&self, kind: &str) -> Option<&str> {
        self.phone_numbers.iter().find(|p| p.kind.eq_ignore_ascii_case(kind)).map(|p| p.value.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Room {
    pub id: String,
    pub title: String,
    #[serde(rename = "type", default)]
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeetingInfo {
    #[serde(default)]
    pub meeting_link: String,
    #[serde(default)]
    pub meeting_number: String,
    #[serde(default)]
    pub sip_address: String,
    #[serde(default)]
    pub call_in_toll_number: String,
    #[serde(default)]
    pub call_in_toll_free_number: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Membership {
    pub id: String,
    pub room_id: String,
    pub person_id: String,
    #[serde(default)]
    pub person_email: String,
    #[serde(default)]
    pub person_display_name: String,
    #[serde(default)]
    pub is_moderator: bool,
}

#[derive(Debug, Deserialize)]
struct Items<T> {
    items: Vec<T>,
}

#[derive(Debug, Deserialize)]
struct WebexErrorBody {
    #[serde(default)]
    message: String,
}

/// A client of one Webex API base (`https://webexapis.com/v1`, or a simulator's `/v1`).
#[derive(Clone)]
pub struct WebexApi {
    http: reqwest::Client,
    base: String,
    /// `Link`s are followed only here (`None`: the base is not a URL, so none is).
    origin: Option<ApiOrigin>,
    limits: HttpLimits,
}

impl WebexApi {
    /// `http` should be built from the limits given to [`Self::with_limits`].
    pub fn new(http: reqwest::Client, base: &str) -> Self {
        let base = base.trim_end_matches('/').to_string();
        Self { http, origin: ApiOrigin::of(&base).ok(), base, limits: HttpLimits::default() }
    }

    /// The answer cap and the timeouts errors name (the client's own are set where it is built).
    pub fn with_limits(mut self, limits: HttpLimits) -> Self {
        self.limits = limits;
        self
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    async fn send<T: DeserializeOwned>(
        &self,
        token: &str,
        method: Method,
        url: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(T, HeaderMap), ApiError> {
        let mut req = self.http.request(method, url).header(AUTHORIZATION, format!("Bearer {token}"));
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await.map_err(|e| ApiError::from(self.limits.error(e)))?;
        let status = res.status();
        let headers = res.headers().clone();
        if status.is_success() {
            let bytes = read_body(res, &self.limits).await?;
            let bytes = if bytes.is_empty() { &b"null"[..] } else { &bytes[..] };
            let v = serde_json::from_slice(bytes).map_err(|e| ApiError::Protocol(format!("unexpected answer from Webex: {e}")))?;
            return Ok((v, headers));
        }
        // A refusal is a refusal even when its text cannot be read.
        let text = read_body(res, &self.limits).await.unwrap_or_default();
        let message = serde_json::from_slice::<WebexErrorBody>(&text).map(|b| b.message).unwrap_or_default();
        Err(ApiError::from_status(status, retry_after(&headers), message))
    }

    async fn get<T: DeserializeOwned>(&self, token: &str, path: &str) -> Result<T, ApiError> {
        Ok(self.send(token, Method::GET, &format!("{}{path}", self.base), None).await?.0)
    }

    /// Every page of a list, following `Link: <…>; rel="next"`.
    async fn list<T: DeserializeOwned>(&self, token: &str, path: &str, retry: &Retry) -> Result<Vec<T>, ApiError> {
        let mut url = format!("{}{path}", self.base);
        let mut out = Vec::new();
        loop {
            let (page, headers): (Items<T>, HeaderMap) = retry.run(|| self.send(token, Method::GET, &url, None)).await?;
            out.extend(page.items);
            match next_link(&headers) {
                Some(next) => url = self.own_link(next)?,
                None => return Ok(out),
            }
        }
    }

    /// A `Link` target, when it is on the configured API's origin (the token goes with it).
    fn own_link(&self, link: String) -> Result<String, ApiError> {
        match &self.origin {
            Some(o) => o.check(&link).map(|_| link).map_err(ApiError::from),
            None => Err(ApiError::Protocol(format!("webex.api_url {} is not a URL; no link is followed", self.base))),
        }
    }

    pub async fn me(&self, token: &str) -> Result<Person, ApiError> {
        self.get(token, "/people/me").await
    }

    /// The whole directory (needs an admin token).
    pub async fn people(&self, token: &str, retry: &Retry) -> Result<Vec<Person>, ApiError> {
        self.list(token, "/people?max=100", retry).await
    }

    pub async fn person(&self, token: &str, id: &str) -> Result<Person, ApiError> {
        self.get(token, &format!("/people/{}", seg(id))).await
    }

    /// Group rooms the token's owner belongs to.
    pub async fn group_rooms(&self, token: &str, retry: &Retry) -> Result<Vec<Room>, ApiError> {
        self.list(token, "/rooms?type=group&max=100", retry).await
    }

    pub async fn room(&self, token: &str, id: &str) -> Result<Room, ApiError> {
        self.get(token, &format!("/rooms/{}", seg(id))).await
    }

    pub async fn meeting_info(&self, token: &str, room_id: &str) -> Result<MeetingInfo, ApiError> {
        self.get(token, &format!("/rooms/{}/meetingInfo", seg(room_id))).await
    }

    pub async fn memberships(&self, token: &str, room_id: &str, retry: &Retry) -> Result<Vec<Membership>, ApiError> {
        self.list(token, &format!("/memberships?roomId={}&max=100", q(room_id)), retry).await
    }

    pub async fn add_member(&self, token: &str, room_id: &str, person_id: &str, moderator: bool) -> Result<Membership, ApiError> {
        let body = serde_json::json!({"roomId": room_id, "personId": person_id, "isModerator": moderator});
        Ok(self.send(token, Method::POST, &format!("{}/memberships", self.base), Some(&body)).await?.0)
    }

    pub async fn set_moderator(&self, token: &str, membership_id: &str, moderator: bool) -> Result<Membership, ApiError> {
        let body = serde_json::json!({"isModerator": moderator});
        Ok(self.send(token, Method::PUT, &format!("{}/memberships/{}", self.base, seg(membership_id)), Some(&body)).await?.0)
    }

    pub async fn remove_member(&self, token: &str, membership_id: &str) -> Result<(), ApiError> {
        let _: (serde_json::Value, _) =
            self.send(token, Method::DELETE, &format!("{}/memberships/{}", self.base, seg(membership_id)), None).await?;
        Ok(())
    }

    /// A 1:1 message in markdown; returns the message id.
    pub async fn message_person(&self, token: &str, person_id: &str, markdown: &str) -> Result<String, ApiError> {
        #[derive(Deserialize)]
        struct Created {
            id: String,
        }
        let body = serde_json::json!({"toPersonId": person_id, "markdown": markdown});
        let (c, _): (Created, _) = self.send(token, Method::POST, &format!("{}/messages", self.base), Some(&body)).await?;
        Ok(c.id)
    }
}

use crate::url::{path_segment as seg, query_value as q};

/// `Retry-After` in seconds (Webex and Connect send seconds).
pub(crate) fn retry_after(h: &HeaderMap) -> Option<Duration> {
    h.get(RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok()).map(Duration::from_secs)
}

/// The `rel="next"` target of a `Link` header.
pub fn next_link(h: &HeaderMap) -> Option<String> {
    h.get_all(LINK).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).find_map(|part| {
        let (url, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim().replace(' ', "");
            p == "rel=\"next\"" || p == "rel=next"
        });
        let url = url.trim().strip_prefix('<')?.strip_suffix('>')?;
        is_next.then(|| url.to_string())
    })
}

impl ApiError {
    pub(crate) fn from_status(status: StatusCode, retry_after: Option<Duration>, message: String) -> Self {
        let message = if message.is_empty() { status.canonical_reason().unwrap_or("error").to_string() } else { message };
        match status.as_u16() {
            401 => ApiError::Unauthorized,
            429 => ApiError::Throttled { retry_after },
            s @ 500..=599 => ApiError::Server { status: s, retry_after },
            s => ApiError::Refused { status: s, message },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_page_is_found_in_any_link_header_form() {
        let mut h = HeaderMap::new();
        h.insert(LINK, r#"<https://webexapis.com/v1/people?cursor=abc&max=100>; rel="next""#.parse().unwrap());
        assert_eq!(next_link(&h).as_deref(), Some("https://webexapis.com/v1/people?cursor=abc&max=100"));
        h.insert(LINK, r#"<https://x/prev>; rel="prev", <https://x/next>; rel="next""#.parse().unwrap());
        assert_eq!(next_link(&h).as_deref(), Some("https://x/next"));
        h.insert(LINK, r#"<https://x/first>; rel="first""#.parse().unwrap());
        assert_eq!(next_link(&h), None);
        assert_eq!(next_link(&HeaderMap::new()), None);
    }

    #[test]
    fn first_phone_of_a_type_and_first_email() {
        let p: Person = serde_json::from_str(
            r#"{"id":"P","emails":["a@x","b@x"],"displayName":"A","phoneNumbers":[{"type":"work","value":"+1"},{"type":"mobile","value":"+2"},{"type":"mobile","value":"+3"}]}"#,
        )
        .unwrap();
        assert_eq!(p.email(), "a@x");
        assert_eq!(p.phone("mobile"), Some("+2"));
        assert_eq!(p.phone("fax"), None);
    }
}
