//! `[retention]`: how long each kind of record is kept. The section is the domain's own
//! `RetentionPolicy` (one definition of its keys and defaults); here it is only checked.

use super::ConfigError;
use switchboard::retention::RetentionPolicy;

/// Every limit must be at least 1 (0 would delete everything, or never stop).
pub(super) fn validate(r: &RetentionPolicy) -> Result<(), ConfigError> {
    for (key, v) in [
        ("retention.cdr_days", u64::from(r.cdr_days)),
        ("retention.dead_letter_days", u64::from(r.dead_letter_days)),
        ("retention.dead_letter_max_rows", u64::from(r.dead_letter_max_rows)),
        ("retention.banner_history_days", u64::from(r.banner_history_days)),
        ("retention.gap_days", u64::from(r.gap_days)),
        ("retention.audit_days", u64::from(r.audit_days)),
        ("retention.interval_minutes", r.interval.as_secs() / 60),
        ("retention.batch_rows", u64::from(r.batch_rows)),
    ] {
        if v == 0 {
            return Err(ConfigError::Invalid(format!("{key} must be at least 1")));
        }
    }
    Ok(())
}

/// The policy in force: the section, with the live state's rebuild window from `cdr.rebuild_hours`.
pub(super) fn policy(r: &RetentionPolicy, rebuild_hours: i64) -> RetentionPolicy {
    RetentionPolicy { rebuild_hours: u32::try_from(rebuild_hours.max(0)).unwrap_or(u32::MAX), ..r.clone() }
}
