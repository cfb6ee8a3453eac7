//! Links a service hands back (Graph's `@odata.nextLink` / `@odata.deltaLink`, Webex's `Link:
//! rel="next"`) are requests we send with our token: they are followed only when they point at
//! the configured API's origin — the same scheme, host and port — so an answer (or whoever
//! forged it) cannot send the token anywhere else.

use oauth2::url;
use reqwest::Url;

/// The scheme, host and port of a configured API base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiOrigin(url::Origin);

/// A link outside the API's origin, not followed (its origin only: the link's query may hold a
/// token of the other host's).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a link to {origin} (not the configured {expected}) was not followed with our token")]
pub struct ForeignLink {
    pub origin: String,
    pub expected: String,
}

impl ApiOrigin {
    /// The origin of `base` (`https://graph.microsoft.com/v1.0` → `https://graph.microsoft.com`).
    pub fn of(base: &str) -> Result<Self, url::ParseError> {
        Ok(Self(Url::parse(base)?.origin()))
    }

    /// `link` as a URL when it is on this origin.
    pub fn check(&self, link: &str) -> Result<Url, ForeignLink> {
        let foreign = |origin: String| ForeignLink { origin, expected: self.0.ascii_serialization() };
        let url = Url::parse(link).map_err(|_| foreign("an unreadable URL".into()))?;
        let origin = url.origin();
        // An opaque origin (`data:`, `file:`) never equals a tuple origin.
        if origin != self.0 {
            return Err(foreign(origin.ascii_serialization()));
        }
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_links_on_the_same_scheme_host_and_port_are_followed() {
        let o = ApiOrigin::of("https://graph.microsoft.com/v1.0").unwrap();
        assert!(o.check("https://graph.microsoft.com/v1.0/users/a/calendarView/delta?$skiptoken=x").is_ok());
        assert!(o.check("https://GRAPH.microsoft.com:443/v1.0/x").is_ok(), "the default port and host case are the same origin");
        for bad in [
            "http://graph.microsoft.com/v1.0/x",
            "https://graph.microsoft.com:8443/v1.0/x",
            "https://graph.microsoft.com.evil.example/v1.0/x",
            "https://evil.example/?u=https://graph.microsoft.com/",
            "https://graph.microsoft.com@evil.example/v1.0/x",
            "/v1.0/relative",
            "data:text/plain,hi",
        ] {
            let e = o.check(bad).unwrap_err();
            assert_eq!(e.expected, "https://graph.microsoft.com", "{bad}");
            assert!(!e.to_string().contains('?'), "the link's query is never repeated: {e}");
        }
    }
}
