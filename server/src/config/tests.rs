//! The loader: defaults, the file, the environment, and errors that name the key.

// figment's `Jail` closures return its own (large) error type.
#![allow(clippy::result_large_err)]

use super::*;
use figment::Jail;

#[test]
fn defaults_apply_without_a_file() {
    Jail::expect_with(|_| {
        let c = Config::load(None).map_err(|e| e.to_string())?;
        assert_eq!(c.server.addr.port(), 3000);
        assert_eq!(c.auth.max_failures, 5);
        assert!(c.database_url().ends_with("data/switchboard.db"));
        Ok(())
    });
}

#[test]
fn file_values_are_overridden_by_environment_variables() {
    Jail::expect_with(|jail| {
        jail.create_file("s.toml", "[server]\naddr = \"127.0.0.1:4000\"\n[auth]\nmax_failures = 3\n")?;
        jail.set_env("SWITCHBOARD_AUTH__MAX_FAILURES", "7");
        jail.set_env("SWITCHBOARD_ADMIN_PASSWORD", "not-a-config-key");
        let c = Config::load(Some(Path::new("s.toml"))).map_err(|e| e.to_string())?;
        assert_eq!(c.server.addr.port(), 4000);
        assert_eq!(c.auth.max_failures, 7);
        Ok(())
    });
}

#[test]
fn a_bad_value_or_unknown_key_is_reported_by_name() {
    Jail::expect_with(|jail| {
        jail.create_file("bad.toml", "[server]\naddr = \"nowhere\"\n")?;
        let err = Config::load(Some(Path::new("bad.toml"))).unwrap_err().to_string();
        assert!(err.contains("server.addr"), "{err}");

        jail.create_file("typo.toml", "[auth]\nidle_timeout = 5\n")?;
        let err = Config::load(Some(Path::new("typo.toml"))).unwrap_err().to_string();
        assert!(err.contains("idle_timeout"), "{err}");

        jail.create_file("cdr.toml", "[cdr]\nallowed_sources = [\"10.0.0.0/8\", \"cms.example.com\"]\n")?;
        let err = Config::load(Some(Path::new("cdr.toml"))).unwrap_err().to_string();
        assert!(err.contains("cdr.allowed_sources") && err.contains("cms.example.com"), "{err}");

        jail.create_file("cms.toml", "[cms]\nusername = \"api\"\n[[cms.nodes]]\nname = \"cb1\"\nurl = \"cb1:445\"\n")?;
        let err = Config::load(Some(Path::new("cms.toml"))).unwrap_err().to_string();
        assert!(err.contains("cms.nodes[0].url"), "{err}");
        Ok(())
    });
}

#[test]
fn secrets_never_show_in_debug_output() {
    Jail::expect_with(|jail| {
        jail.set_env("SWITCHBOARD_CMS__PASSWORD", "hunter2-secret");
        let c = Config::load(None).map_err(|e| e.to_string())?;
        assert_eq!(c.cms.password.0, "hunter2-secret");
        assert!(!format!("{c:?}").contains("hunter2"));
        Ok(())
    });
}

#[test]
fn a_missing_file_is_named() {
    Jail::expect_with(|_| {
        let err = Config::load(Some(Path::new("nope.toml"))).unwrap_err().to_string();
        assert!(err.contains("nope.toml"));
        Ok(())
    });
}

#[test]
fn the_annotated_example_parses() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../switchboard.example.toml");
    Jail::expect_with(|_| {
        Config::load(Some(Path::new(example))).map_err(|e| e.to_string())?;
        Ok(())
    });
}

#[test]
fn services_with_secrets_over_plain_http_are_refused_unless_allowed_and_https_passes() {
    let mut c = Config::default();
    assert!(c.check_secure_urls().is_ok(), "nothing enabled, nothing to check");
    c.webex.enabled = true;
    c.webex.api_url = "http://webex.example.com/v1".into();
    let err = c.check_secure_urls().unwrap_err().to_string();
    assert!(err.contains("webex.api_url") && err.contains("server.allow_insecure_http = true"), "{err}");
    c.webex.api_url = "HTTPS://webexapis.com/v1".into();
    c.webex.token_url = Some("http://idbroker.example.com/token".into());
    assert!(c.check_secure_urls().unwrap_err().to_string().contains("webex.token_url"));
    c.webex.token_url = None;
    c.connect.url = "http://connect.example.com".into();
    assert!(c.check_secure_urls().is_ok(), "without a service key Connect gets no secret");
    c.connect.service_key = Some(Secret("key".into()));
    assert!(c.check_secure_urls().unwrap_err().to_string().contains("connect.url"));
    c.server.allow_insecure_http = true;
    assert!(c.check_secure_urls().is_ok(), "a test set-up may");
}

#[test]
fn the_calendar_needs_a_key_to_seal_passcodes_and_falls_back_to_the_webex_one() {
    let mut c = Config::default();
    c.cms.nodes = vec![CmsNodeConfig {
        name: "cb1".into(),
        url: "https://cb1.example.com:445".into(),
        username: None,
        password: None,
        ca_file: None,
        insecure: false,
    }];
    c.calendar.enabled = true;
    c.calendar.ews_url = "https://exchange.example.com/EWS/Exchange.asmx".into();
    c.calendar.ews_user = "svc".into();
    let err = c.calendar_settings().err().expect("refused without a key").to_string();
    assert!(err.contains("calendar.secrets_key") && err.contains("SWITCHBOARD_CALENDAR__SECRETS_KEY"), "{err}");
    c.calendar.secrets_key = Some(Secret("c2hvcnQ=".into()));
    assert!(c.calendar_settings().err().expect("a short key is refused").to_string().contains("decodes to 5 bytes"));
    c.calendar.secrets_key = None;
    c.webex.secrets_key = Some(Secret(switchboard::secret::SecretBox::generate_key()));
    assert!(c.calendar_settings().is_ok_and(|s| s.is_some()), "webex.secrets_key serves the calendar too");
}
