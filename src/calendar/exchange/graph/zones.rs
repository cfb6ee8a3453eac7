//! Graph's `dateTimeTimeZone` read as an instant: `dateTime` is a local time without offset,
//! `timeZone` a Windows zone id (mapped to IANA by CLDR's windowsZones, territory 001) or an
//! IANA name; the zone's rules, daylight saving time included, come from jiff's bundled tzdb.

use crate::calendar::model::{parse_rfc3339, ProviderError};
use jiff::tz::TimeZone;
use time::OffsetDateTime;

/// CLDR windowsZones (`territory="001"`): Windows zone id → IANA zone.
const WINDOWS_ZONES: &[(&str, &str)] = &[
    ("AUS Central Standard Time", "Australia/Darwin"),
    ("AUS Eastern Standard Time", "Australia/Sydney"),
    ("Afghanistan Standard Time", "Asia/Kabul"),
    ("Alaskan Standard Time", "America/Anchorage"),
    ("Arab Standard Time", "Asia/Riyadh"),
    ("Arabian Standard Time", "Asia/Dubai"),
    ("Arabic Standard Time", "Asia/Baghdad"),
    ("Argentina Standard Time", "America/Argentina/Buenos_Aires"),
    ("Atlantic Standard Time", "America/Halifax"),
    ("Azerbaijan Standard Time", "Asia/Baku"),
    ("Azores Standard Time", "Atlantic/Azores"),
    ("Bangladesh Standard Time", "Asia/Dhaka"),
    ("Belarus Standard Time", "Europe/Minsk"),
    ("Canada Central Standard Time", "America/Regina"),
    ("Cape Verde Standard Time", "Atlantic/Cape_Verde"),
    ("Caucasus Standard Time", "Asia/Yerevan"),
    ("Cen. Australia Standard Time", "Australia/Adelaide"),
    ("Central America Standard Time", "America/Guatemala"),
    ("Central Asia Standard Time", "Asia/Almaty"),
    ("Central Brazilian Standard Time", "America/Cuiaba"),
    ("Central Europe Standard Time", "Europe/Budapest"),
    ("Central European Standard Time", "Europe/Warsaw"),
    ("Central Pacific Standard Time", "Pacific/Guadalcanal"),
    ("Central Standard Time", "America/Chicago"),
    ("Central Standard Time (Mexico)", "America/Mexico_City"),
    ("China Standard Time", "Asia/Shanghai"),
    ("Dateline Standard Time", "Etc/GMT+12"),
    ("E. Africa Standard Time", "Africa/Nairobi"),
    ("E. Australia Standard Time", "Australia/Brisbane"),
    ("E. Europe Standard Time", "Europe/Chisinau"),
    ("E. South America Standard Time", "America/Sao_Paulo"),
    ("Eastern Standard Time", "America/New_York"),
    ("Eastern Standard Time (Mexico)", "America/Cancun"),
    ("Egypt Standard Time", "Africa/Cairo"),
    ("Ekaterinburg Standard Time", "Asia/Yekaterinburg"),
    ("FLE Standard Time", "Europe/Kyiv"),
    ("Fiji Standard Time", "Pacific/Fiji"),
    ("GMT Standard Time", "Europe/London"),
    ("GTB Standard Time", "Europe/Bucharest"),
    ("Georgian Standard Time", "Asia/Tbilisi"),
    ("Greenland Standard Time", "America/Nuuk"),
    ("Greenwich Standard Time", "Atlantic/Reykjavik"),
    ("Hawaiian Standard Time", "Pacific/Honolulu"),
    ("India Standard Time", "Asia/Kolkata"),
    ("Iran Standard Time", "Asia/Tehran"),
    ("Israel Standard Time", "Asia/Jerusalem"),
    ("Jordan Standard Time", "Asia/Amman"),
    ("Kaliningrad Standard Time", "Europe/Kaliningrad"),
    ("Korea Standard Time", "Asia/Seoul"),
    ("Middle East Standard Time", "Asia/Beirut"),
    ("Montevideo Standard Time", "America/Montevideo"),
    ("Morocco Standard Time", "Africa/Casablanca"),
    ("Mountain Standard Time", "America/Denver"),
    ("Mountain Standard Time (Mexico)", "America/Mazatlan"),
    ("Myanmar Standard Time", "Asia/Yangon"),
    ("N. Central Asia Standard Time", "Asia/Novosibirsk"),
    ("Nepal Standard Time", "Asia/Kathmandu"),
    ("New Zealand Standard Time", "Pacific/Auckland"),
    ("Newfoundland Standard Time", "America/St_Johns"),
    ("North Asia East Standard Time", "Asia/Irkutsk"),
    ("North Asia Standard Time", "Asia/Krasnoyarsk"),
    ("Pacific SA Standard Time", "America/Santiago"),
    ("Pacific Standard Time", "America/Los_Angeles"),
    ("Pacific Standard Time (Mexico)", "America/Tijuana"),
    ("Pakistan Standard Time", "Asia/Karachi"),
    ("Paraguay Standard Time", "America/Asuncion"),
    ("Romance Standard Time", "Europe/Paris"),
    ("Russian Standard Time", "Europe/Moscow"),
    ("SA Eastern Standard Time", "America/Cayenne"),
    ("SA Pacific Standard Time", "America/Bogota"),
    ("SA Western Standard Time", "America/La_Paz"),
    ("SE Asia Standard Time", "Asia/Bangkok"),
    ("Samoa Standard Time", "Pacific/Apia"),
    ("Singapore Standard Time", "Asia/Singapore"),
    ("South Africa Standard Time", "Africa/Johannesburg"),
    ("Sri Lanka Standard Time", "Asia/Colombo"),
    ("Syria Standard Time", "Asia/Damascus"),
    ("Taipei Standard Time", "Asia/Taipei"),
    ("Tasmania Standard Time", "Australia/Hobart"),
    ("Tokyo Standard Time", "Asia/Tokyo"),
    ("Tonga Standard Time", "Pacific/Tongatapu"),
    ("Turkey Standard Time", "Europe/Istanbul"),
    ("US Eastern Standard Time", "America/Indiana/Indianapolis"),
    ("US Mountain Standard Time", "America/Phoenix"),
    ("UTC", "Etc/UTC"),
    ("UTC+12", "Etc/GMT-12"),
    ("UTC-02", "Etc/GMT+2"),
    ("UTC-11", "Etc/GMT+11"),
    ("Ulaanbaatar Standard Time", "Asia/Ulaanbaatar"),
    ("Venezuela Standard Time", "America/Caracas"),
    ("Vladivostok Standard Time", "Asia/Vladivostok"),
    ("W. Australia Standard Time", "Australia/Perth"),
    ("W. Central Africa Standard Time", "Africa/Lagos"),
    ("W. Europe Standard Time", "Europe/Berlin"),
    ("West Asia Standard Time", "Asia/Tashkent"),
    ("West Pacific Standard Time", "Pacific/Port_Moresby"),
    ("Yakutsk Standard Time", "Asia/Yakutsk"),
];

/// The rules of a zone Graph names (a Windows id, or an IANA name).
pub fn time_zone(name: &str) -> Option<TimeZone> {
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    let iana = WINDOWS_ZONES.iter().find(|(w, _)| w.eq_ignore_ascii_case(name)).map_or(name, |(_, i)| i);
    TimeZone::get(iana).ok()
}

/// A `dateTimeTimeZone` (`{"dateTime": "2026-01-05T09:00:00.0000000", "timeZone": "Pacific
/// Standard Time"}`) as an instant. `Ok(None)` when it or its `dateTime` is missing or
/// unreadable (an event without times); a zone not known here is a protocol error rather than a
/// guess (UTC would put the meeting hours off). No `timeZone` is read as UTC, and a `dateTime`
/// with its own offset by that offset.
pub fn instant(v: Option<&serde_json::Value>) -> Result<Option<OffsetDateTime>, ProviderError> {
    let Some(v) = v.filter(|v| !v.is_null()) else { return Ok(None) };
    let local = v.get("dateTime").and_then(|d| d.as_str()).unwrap_or_default().trim();
    if let Some(t) = parse_rfc3339(local) {
        return Ok(Some(t));
    }
    let zone_name = v.get("timeZone").and_then(|z| z.as_str()).unwrap_or("UTC");
    let tz = time_zone(zone_name)
        .ok_or_else(|| ProviderError::Protocol(format!("Graph gave a time in the time zone '{zone_name}', which is not known here")))?;
    let Ok(civil) = local.parse::<jiff::civil::DateTime>() else { return Ok(None) };
    // A local time a DST change skips or repeats reads as jiff's "compatible" choice: the later
    // one for a gap, the earlier for a fold (what Windows and Exchange do).
    let zoned = civil.to_zoned(tz).map_err(|e| ProviderError::Protocol(format!("Graph gave the time {local} in '{zone_name}': {e}")))?;
    Ok(OffsetDateTime::from_unix_timestamp_nanos(zoned.timestamp().as_nanosecond()).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn graph_times_in_a_windows_zone_or_an_iana_zone_are_read_in_that_zone_with_dst() {
        let at = |dt: &str, zone: &str| instant(Some(&json!({ "dateTime": dt, "timeZone": zone }))).unwrap();
        assert_eq!(at("2026-01-05T09:00:00.0000000", "Pacific Standard Time"), parse_rfc3339("2026-01-05T17:00:00Z"));
        assert_eq!(at("2026-07-06T09:00:00.0000000", "Pacific Standard Time"), parse_rfc3339("2026-07-06T16:00:00Z"));
        assert_eq!(at("2026-07-06T09:00:00.0000000", "America/Los_Angeles"), parse_rfc3339("2026-07-06T16:00:00Z"));
        assert_eq!(at("2026-01-05T18:00:00.0000000", "W. Europe Standard Time"), parse_rfc3339("2026-01-05T17:00:00Z"));
        assert_eq!(at("2026-01-05T09:00:00.0000000", "UTC"), parse_rfc3339("2026-01-05T09:00:00Z"));
        assert_eq!(at("2026-01-05T09:00:00.0000000", "india standard time"), parse_rfc3339("2026-01-05T03:30:00Z"));
    }

    #[test]
    fn a_graph_time_in_an_unknown_zone_is_a_protocol_error_not_utc() {
        let err = instant(Some(&json!({ "dateTime": "2026-01-05T09:00:00.0000000", "timeZone": "Mars Standard Time" }))).unwrap_err();
        assert!(matches!(&err, ProviderError::Protocol(m) if m.contains("Mars Standard Time")), "{err:?}");
        assert_eq!(instant(None).unwrap(), None);
        assert_eq!(instant(Some(&json!({ "timeZone": "UTC" }))).unwrap(), None);
    }

    #[test]
    fn every_windows_zone_in_the_table_has_rules() {
        for (w, i) in WINDOWS_ZONES {
            assert!(TimeZone::get(i).is_ok(), "{w} → {i}");
        }
    }
}
