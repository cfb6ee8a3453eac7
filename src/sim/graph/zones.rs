//! Time zones as Graph reads and writes them: `dateTimeTimeZone` (`{dateTime, timeZone}`, a
//! local time without offset) and `Prefer: outlook.timezone="…"`, with Windows names (the
//! simulator's own excerpt of CLDR's windowsZones, territory 001) or IANA names; the rules,
//! daylight saving time included, from jiff's bundled tzdb.

use super::error;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use jiff::tz::TimeZone;
use serde_json::{json, Value};
use time::OffsetDateTime;

/// A zone as a request named it (the name Graph writes back) and its rules.
#[derive(Clone)]
pub(super) struct Zone {
    pub(super) name: String,
    tz: TimeZone,
}

/// CLDR windowsZones, `territory="001"`: the Windows zone id → the IANA zone for it.
fn iana_of_windows(name: &str) -> Option<&'static str> {
    let n = name.to_ascii_lowercase();
    Some(match n.as_str() {
        "utc" | "coordinated universal time" => "Etc/UTC",
        "dateline standard time" => "Etc/GMT+12",
        "utc-11" => "Etc/GMT+11",
        "hawaiian standard time" => "Pacific/Honolulu",
        "alaskan standard time" => "America/Anchorage",
        "pacific standard time" => "America/Los_Angeles",
        "pacific standard time (mexico)" => "America/Tijuana",
        "us mountain standard time" => "America/Phoenix",
        "mountain standard time" => "America/Denver",
        "central america standard time" => "America/Guatemala",
        "central standard time" => "America/Chicago",
        "central standard time (mexico)" => "America/Mexico_City",
        "canada central standard time" => "America/Regina",
        "sa pacific standard time" => "America/Bogota",
        "eastern standard time" => "America/New_York",
        "us eastern standard time" => "America/Indiana/Indianapolis",
        "atlantic standard time" => "America/Halifax",
        "sa western standard time" => "America/La_Paz",
        "pacific sa standard time" => "America/Santiago",
        "newfoundland standard time" => "America/St_Johns",
        "e. south america standard time" => "America/Sao_Paulo",
        "argentina standard time" => "America/Argentina/Buenos_Aires",
        "utc-02" => "Etc/GMT+2",
        "azores standard time" => "Atlantic/Azores",
        "gmt standard time" => "Europe/London",
        "greenwich standard time" => "Atlantic/Reykjavik",
        "morocco standard time" => "Africa/Casablanca",
        "w. europe standard time" => "Europe/Berlin",
        "central europe standard time" => "Europe/Budapest",
        "romance standard time" => "Europe/Paris",
        "central european standard time" => "Europe/Warsaw",
        "w. central africa standard time" => "Africa/Lagos",
        "gtb standard time" => "Europe/Bucharest",
        "fle standard time" => "Europe/Kyiv",
        "israel standard time" => "Asia/Jerusalem",
        "egypt standard time" => "Africa/Cairo",
        "south africa standard time" => "Africa/Johannesburg",
        "turkey standard time" => "Europe/Istanbul",
        "arab standard time" => "Asia/Riyadh",
        "russian standard time" => "Europe/Moscow",
        "e. africa standard time" => "Africa/Nairobi",
        "iran standard time" => "Asia/Tehran",
        "arabian standard time" => "Asia/Dubai",
        "pakistan standard time" => "Asia/Karachi",
        "india standard time" => "Asia/Kolkata",
        "nepal standard time" => "Asia/Kathmandu",
        "bangladesh standard time" => "Asia/Dhaka",
        "se asia standard time" => "Asia/Bangkok",
        "china standard time" => "Asia/Shanghai",
        "singapore standard time" => "Asia/Singapore",
        "taipei standard time" => "Asia/Taipei",
        "w. australia standard time" => "Australia/Perth",
        "tokyo standard time" => "Asia/Tokyo",
        "korea standard time" => "Asia/Seoul",
        "cen. australia standard time" => "Australia/Adelaide",
        "e. australia standard time" => "Australia/Brisbane",
        "aus eastern standard time" => "Australia/Sydney",
        "new zealand standard time" => "Pacific/Auckland",
        "utc+12" => "Etc/GMT-12",
        _ => return None,
    })
}

/// The zone `name` names (a Windows id or an IANA name), or `None` when Graph would refuse it.
pub(super) fn zone(name: &str) -> Option<Zone> {
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    let iana = iana_of_windows(name).unwrap_or(name);
    TimeZone::get(iana).ok().map(|tz| Zone { name: name.to_string(), tz })
}

/// UTC, as Graph answers without `Prefer: outlook.timezone`.
pub(super) fn utc() -> Zone {
    Zone { name: "UTC".into(), tz: TimeZone::UTC }
}

/// Graph's 400 for a zone it does not know (in a `dateTimeTimeZone` or in `Prefer`).
pub(super) fn unsupported(name: &str) -> Box<Response> {
    Box::new(error(
        StatusCode::BAD_REQUEST,
        "TimeZoneNotSupportedException",
        &format!("A valid TimeZone value must be specified. The following TimeZone value is not supported: '{name}'."),
    ))
}

/// The zone an answer writes times in: `Prefer: outlook.timezone="…"`'s, else UTC.
pub(super) struct Answering {
    pub(super) zone: Zone,
    asked: bool,
}

impl Answering {
    /// Reads `Prefer` (several headers, or preferences separated by commas); an unknown zone is a 400.
    pub(super) fn of(headers: &HeaderMap) -> Result<Self, Box<Response>> {
        let asked = headers
            .get_all("prefer")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .find_map(|p| p.trim().strip_prefix("outlook.timezone="))
            .map(|v| v.trim().trim_matches('"').to_string());
        match asked {
            None => Ok(Self { zone: utc(), asked: false }),
            Some(name) => zone(&name).map(|zone| Self { zone, asked: true }).ok_or_else(|| unsupported(&name)),
        }
    }

    /// The answer, saying which zone it is in (`Preference-Applied`) when one was asked for.
    pub(super) fn mark(&self, mut r: Response) -> Response {
        if self.asked {
            if let Ok(v) = HeaderValue::from_str(&format!("outlook.timezone=\"{}\"", self.zone.name)) {
                r.headers_mut().append("preference-applied", v);
            }
        }
        r
    }
}

/// A `dateTimeTimeZone` from a request body as an instant and the zone it was given in (UTC
/// when `timeZone` is absent); `None` without a readable `dateTime`, `Err` for an unknown zone.
pub(super) fn read_time(v: Option<&Value>) -> Result<Option<(OffsetDateTime, String)>, Box<Response>> {
    let Some(v) = v else { return Ok(None) };
    let name = v.get("timeZone").and_then(|z| z.as_str()).unwrap_or("UTC");
    let z = zone(name).ok_or_else(|| unsupported(name))?;
    Ok(v.get("dateTime").and_then(|d| d.as_str()).and_then(|d| z.instant(d)).map(|t| (t, z.name)))
}

impl Zone {
    /// A local `dateTime` (seven fractional digits or none; an offset or `Z` is ignored, as the
    /// zone says what it means) as the instant it is in this zone. A time skipped by a DST
    /// change reads as the later one, one repeated as the earlier (what Exchange does).
    pub(super) fn instant(&self, local: &str) -> Option<OffsetDateTime> {
        let local = local.trim();
        let bare = local.strip_suffix('Z').unwrap_or(local);
        // An explicit offset after the time (`…T09:00:00+02:00`) is dropped: Graph reads the zone.
        let bare = match bare.rfind(['+', '-']) {
            Some(i) if bare[..i].contains('T') => &bare[..i],
            _ => bare,
        };
        let civil: jiff::civil::DateTime = bare.parse().ok()?;
        let zoned = civil.to_zoned(self.tz.clone()).ok()?;
        OffsetDateTime::from_unix_timestamp_nanos(zoned.timestamp().as_nanosecond()).ok()
    }

    /// `t` as Graph writes it in this zone: `{"dateTime": "2026-01-05T09:00:00.0000000", "timeZone": name}`.
    pub(super) fn write(&self, t: OffsetDateTime) -> Value {
        let local = jiff::Timestamp::from_second(t.unix_timestamp()).map(|ts| ts.to_zoned(self.tz.clone()).datetime()).unwrap_or_default();
        json!({ "dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.0000000").to_string(), "timeZone": self.name })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc_of(s: &str) -> OffsetDateTime {
        OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap()
    }

    #[test]
    fn pacific_standard_time_is_read_with_its_daylight_saving_time() {
        let pst = zone("Pacific Standard Time").unwrap();
        assert_eq!(pst.instant("2026-01-05T09:00:00.0000000"), Some(utc_of("2026-01-05T17:00:00Z")));
        assert_eq!(pst.instant("2026-07-06T09:00:00"), Some(utc_of("2026-07-06T16:00:00Z")));
        let la = zone("America/Los_Angeles").unwrap();
        assert_eq!(la.instant("2026-07-06T09:00:00"), Some(utc_of("2026-07-06T16:00:00Z")));
    }

    #[test]
    fn an_instant_is_written_in_the_zone_under_the_name_it_was_asked_by() {
        let w = zone("W. Europe Standard Time").unwrap();
        let v = w.write(utc_of("2026-01-05T17:00:00Z"));
        assert_eq!(v, json!({ "dateTime": "2026-01-05T18:00:00.0000000", "timeZone": "W. Europe Standard Time" }));
        assert_eq!(utc().write(utc_of("2026-01-05T17:00:00Z"))["dateTime"], "2026-01-05T17:00:00.0000000");
    }

    #[test]
    fn unknown_zone_names_are_refused() {
        assert!(zone("Mars Standard Time").is_none());
        assert!(zone("").is_none());
        assert!(zone("EST5EDT,M3.2.0,M11.1.0").is_none());
        assert!(zone("UTC").is_some());
    }
}
