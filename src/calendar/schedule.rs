//! When the daily CMS user sync runs: at a local time in a configured time zone (`jiff`, with
//! the time-zone database bundled), so "02:30 Europe/Copenhagen" stays 02:30 across DST.

use jiff::civil::Time;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

#[derive(Debug, Clone)]
pub struct Daily {
    pub at: Time,
    pub zone: TimeZone,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScheduleError {
    #[error("'{0}' is not a time of day (HH:MM)")]
    Time(String),
    #[error("'{0}' is not a time zone (e.g. Europe/Copenhagen)")]
    Zone(String),
}

impl Daily {
    pub fn parse(at: &str, zone: &str) -> Result<Self, ScheduleError> {
        let at = at.trim().parse::<Time>().map_err(|_| ScheduleError::Time(at.to_string()))?;
        let zone = TimeZone::get(zone.trim()).map_err(|_| ScheduleError::Zone(zone.to_string()))?;
        Ok(Self { at, zone })
    }

    /// The first run strictly after `now`.
    pub fn next_after(&self, now: Timestamp) -> Timestamp {
        let local = now.to_zoned(self.zone.clone());
        let today = local.date().to_datetime(self.at);
        let candidate = today.to_zoned(self.zone.clone()).map(|z| z.timestamp()).unwrap_or(now);
        if candidate > now {
            return candidate;
        }
        let tomorrow = local.date().checked_add(1.day()).unwrap_or(local.date()).to_datetime(self.at);
        tomorrow.to_zoned(self.zone.clone()).map(|z| z.timestamp()).unwrap_or(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_run_is_at_the_local_time_across_a_dst_change() {
        let d = Daily::parse("02:30", "Europe/Copenhagen").unwrap();
        // On 2026-10-25 02:30 happens twice (CEST, then CET): the first one.
        let now: Timestamp = "2026-10-24T12:00:00Z".parse().unwrap();
        assert_eq!(d.next_after(now).to_string(), "2026-10-25T00:30:00Z");
        // After the switch to CET (UTC+1), 02:30 local is 01:30 UTC.
        let now: Timestamp = "2026-10-25T12:00:00Z".parse().unwrap();
        assert_eq!(d.next_after(now).to_string(), "2026-10-26T01:30:00Z");
        // In summer (CEST, UTC+2), the same local time is 00:30 UTC.
        let now: Timestamp = "2026-07-01T00:00:00Z".parse().unwrap();
        assert_eq!(d.next_after(now).to_string(), "2026-07-01T00:30:00Z");
        let now: Timestamp = "2026-07-01T00:30:00Z".parse().unwrap();
        assert_eq!(d.next_after(now).to_string(), "2026-07-02T00:30:00Z", "strictly after");
        assert_eq!(Daily::parse("25:00", "UTC").unwrap_err(), ScheduleError::Time("25:00".into()));
        assert!(matches!(Daily::parse("02:00", "Mars/Olympus"), Err(ScheduleError::Zone(_))));
    }
}
