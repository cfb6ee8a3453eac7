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
        ("retention.incident_days", u64::from(r.incident_days)),
        ("retention.directory_stale_days", u64::from(r.directory_stale_days)),
        ("retention.calendar_log_days", u64::from(r.calendar_log_days)),
        ("retention.calendar_sync_run_days", u64::from(r.calendar_sync_run_days)),
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

#[cfg(test)]
// figment's `Jail` closures return its own (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use crate::config::Config;
    use figment::Jail;
    use std::path::Path;
    use std::time::Duration;

    #[test]
    fn the_section_is_the_domain_policy_with_the_rebuild_window_from_cdr() {
        Jail::expect_with(|jail| {
            jail.create_file("r.toml", "[retention]\ncdr_days = 30\ninterval_minutes = 15\n[cdr]\nrebuild_hours = 48\n")?;
            let c = Config::load(Some(Path::new("r.toml"))).map_err(|e| e.to_string())?;
            let p = c.retention_policy();
            assert_eq!((p.cdr_days, p.audit_days, p.rebuild_hours), (30, 365, 48));
            assert_eq!(p.interval, Duration::from_secs(15 * 60));

            jail.create_file("zero.toml", "[retention]\ninterval_minutes = 0\n")?;
            let err = Config::load(Some(Path::new("zero.toml"))).unwrap_err().to_string();
            assert!(err.contains("retention.interval_minutes must be at least 1"), "{err}");
            jail.create_file("typo.toml", "[retention]\nrebuild_hours = 5\n")?;
            let err = Config::load(Some(Path::new("typo.toml"))).unwrap_err().to_string();
            assert!(err.contains("rebuild_hours"), "not a retention key: {err}");
            Ok(())
        });
    }
}
