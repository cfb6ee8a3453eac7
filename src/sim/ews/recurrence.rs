//! A series' pattern and range as EWS's `t:Recurrence` (daily, or weekly on some days; an end
//! date, a number of occurrences, or none), expanded into occurrences and written back as XML.

use time::OffsetDateTime;

/// How a series repeats, as EWS's `t:Recurrence`: a pattern (every `interval` days, or every
/// `interval` weeks on `days`) and a range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimRecurrence {
    pub interval: u32,
    /// Empty: a daily pattern; else weekly on these days.
    pub days: Vec<time::Weekday>,
    pub range: SimRange,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimRange {
    /// `EndDateRecurrence`: the last occurrence is on or before this date.
    EndDate(time::Date),
    /// `NumberedRecurrence`: this many occurrences.
    Numbered(u32),
    /// `NoEndRecurrence`.
    NoEnd,
}

/// How far a series without an end is expanded (a calendar view asks at most two years).
const EXPAND_DAYS: i64 = 3 * 366;

impl SimRecurrence {
    pub fn weekly(days: &[time::Weekday], range: SimRange) -> Self {
        Self { interval: 1, days: days.to_vec(), range }
    }

    /// The occurrences as (instance number from 1, start, end) from the series' `start`, up to
    /// `until` (or the range's end), at most `max`.
    pub fn expand(
        &self,
        start: OffsetDateTime,
        end: OffsetDateTime,
        until: Option<OffsetDateTime>,
        max: usize,
    ) -> Vec<(u32, OffsetDateTime, OffsetDateTime)> {
        let (first, length, interval) = (start.date(), end - start, i64::from(self.interval.max(1)));
        // Weeks are counted from the Sunday before the start (FirstDayOfWeek Sunday).
        let week0 = first - time::Duration::days(i64::from(first.weekday().number_days_from_sunday()));
        let mut out = Vec::new();
        for k in 0..EXPAND_DAYS {
            let day = first + time::Duration::days(k);
            let at = day.with_time(start.time()).assume_offset(start.offset());
            if until.is_some_and(|u| at > u) || matches!(self.range, SimRange::EndDate(d) if day > d) || out.len() >= max {
                break;
            }
            if matches!(self.range, SimRange::Numbered(n) if out.len() >= n as usize) {
                break;
            }
            let hit = if self.days.is_empty() {
                k % interval == 0
            } else {
                self.days.contains(&day.weekday()) && ((day - week0).whole_days() / 7) % interval == 0
            };
            if hit {
                out.push((out.len() as u32 + 1, at, at + length));
            }
        }
        out
    }

    /// The last occurrence (`None` for a series without an end).
    pub fn last(&self, start: OffsetDateTime, end: OffsetDateTime) -> Option<(u32, OffsetDateTime, OffsetDateTime)> {
        match self.range {
            SimRange::NoEnd => None,
            _ => self.expand(start, end, None, usize::MAX).pop(),
        }
    }

    pub(super) fn xml(&self, start: OffsetDateTime) -> String {
        let pattern = if self.days.is_empty() {
            format!("<t:DailyRecurrence><t:Interval>{}</t:Interval></t:DailyRecurrence>", self.interval)
        } else {
            let days: Vec<String> = self.days.iter().map(|d| d.to_string()).collect();
            format!(
                "<t:WeeklyRecurrence><t:Interval>{}</t:Interval><t:DaysOfWeek>{}</t:DaysOfWeek><t:FirstDayOfWeek>Sunday</t:FirstDayOfWeek></t:WeeklyRecurrence>",
                self.interval,
                days.join(" ")
            )
        };
        let from = format!("<t:StartDate>{}Z</t:StartDate>", start.date());
        let range = match self.range {
            SimRange::EndDate(d) => format!("<t:EndDateRecurrence>{from}<t:EndDate>{d}Z</t:EndDate></t:EndDateRecurrence>"),
            SimRange::Numbered(n) => {
                format!("<t:NumberedRecurrence>{from}<t:NumberOfOccurrences>{n}</t:NumberOfOccurrences></t:NumberedRecurrence>")
            }
            SimRange::NoEnd => format!("<t:NoEndRecurrence>{from}</t:NoEndRecurrence>"),
        };
        format!("<t:Recurrence>{pattern}{range}</t:Recurrence>")
    }
}
