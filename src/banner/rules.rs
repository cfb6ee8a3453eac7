//! Banner rules: which participants are external, whether a call is restricted, and the
//! banner a meeting should show. Pure functions, shared by the enforcer and the pages.

use crate::model::{BannerDuration, BannerPosition, BannerRules, BannerRulesForm, LiveCall, LiveLeg, SecurityLevel};

/// The domain of a SIP/URI address: `sip:Ann@Example.COM:5061;transport=tls` -> `example.com`.
pub fn address_domain(addr: &str) -> Option<String> {
    let a = addr.trim();
    let a = a.strip_prefix("sip:").or_else(|| a.strip_prefix("sips:")).unwrap_or(a);
    let host = a.rsplit_once('@').map(|(_, h)| h).unwrap_or(a);
    let host = host.split([';', '>', '?']).next().unwrap_or(host);
    let host = host.split(':').next().unwrap_or(host).trim().trim_end_matches('.').to_ascii_lowercase();
    (!host.is_empty()).then_some(host)
}

/// `example.com` matches `example.com` and `eu.example.com`, not `notexample.com`.
fn in_domains(domain: &str, list: &[String]) -> bool {
    list.iter()
        .map(|d| d.trim().trim_start_matches("*.").trim_start_matches('.').to_ascii_lowercase())
        .any(|d| !d.is_empty() && (domain == d || domain.ends_with(&format!(".{d}"))))
}

/// The security level of a leg; `None` for the links between bridges, which are not people.
pub fn leg_level(leg: &LiveLeg, rules: &BannerRules) -> Option<SecurityLevel> {
    if leg.is_distribution_link() {
        return None;
    }
    if leg.is_web_app() || leg.guest {
        return Some(SecurityLevel::External);
    }
    let domain = leg.remote_address.as_deref().and_then(address_domain);
    Some(match domain {
        Some(d) if in_domains(&d, &rules.secure_domains) => SecurityLevel::Secure,
        Some(d) if in_domains(&d, &rules.internal_domains) => SecurityLevel::Internal,
        _ => SecurityLevel::External,
    })
}

pub fn is_restricted(name: &str, rules: &BannerRules) -> bool {
    let lower = name.to_lowercase();
    rules.restricted_keywords.iter().map(|k| k.trim().to_lowercase()).any(|k| !k.is_empty() && lower.contains(&k))
}

/// The banner one meeting (all its call instances) should show, or `None`.
pub fn desired_banner(instances: &[LiveCall], rules: &BannerRules) -> Option<String> {
    let restricted = instances.iter().any(|c| is_restricted(&c.name, rules));
    let highest = instances.iter().flat_map(|c| c.legs.iter()).filter_map(|l| leg_level(l, rules)).max();
    let mut parts: Vec<&str> = Vec::new();
    if restricted && !rules.restricted_text.trim().is_empty() {
        parts.push(rules.restricted_text.trim());
    }
    match highest {
        Some(SecurityLevel::External) if !rules.external_text.trim().is_empty() => parts.push(rules.external_text.trim()),
        Some(SecurityLevel::Internal) if !rules.internal_text.trim().is_empty() => parts.push(rules.internal_text.trim()),
        _ => {}
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// Splits a textarea of words or domains (commas, semicolons or new lines) into a clean list.
pub fn split_list(s: &str) -> Vec<String> {
    s.split([',', '\n', ';']).map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect()
}

/// Reads the settings form into rules; the message names the field that is wrong.
pub fn parse_form(f: &BannerRulesForm) -> Result<BannerRules, String> {
    let rules = BannerRules {
        restricted_keywords: split_list(&f.restricted_keywords),
        secure_domains: split_list(&f.secure_domains),
        internal_domains: split_list(&f.internal_domains),
        restricted_text: f.restricted_text.trim().to_string(),
        external_text: f.external_text.trim().to_string(),
        internal_text: f.internal_text.trim().to_string(),
        position: BannerPosition::parse(&f.position)?,
        duration: BannerDuration::parse(&f.duration)?,
    };
    validate(&rules)?;
    Ok(rules)
}

/// Checks the free-text parts of the rules; the message names the problem.
pub fn validate(rules: &BannerRules) -> Result<(), String> {
    for t in [&rules.restricted_text, &rules.external_text, &rules.internal_text] {
        if t.chars().count() > 200 {
            return Err("Banner texts are at most 200 characters.".into());
        }
    }
    for d in rules.secure_domains.iter().chain(&rules.internal_domains) {
        if d.contains(['@', '/', ' ']) {
            return Err(format!("'{d}' is not a domain (write e.g. example.com)."));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leg(remote: &str, sub: Option<&str>, guest: bool) -> LiveLeg {
        LiveLeg {
            id: remote.into(),
            bridge: String::new(),
            call: Some("C".into()),
            participant: None,
            display_name: remote.into(),
            local_address: None,
            remote_address: Some(remote.into()),
            leg_type: Some("sip".into()),
            sub_type: sub.map(Into::into),
            guest,
            direction: None,
            connected: true,
            in_lobby: false,
            in_ivr: false,
            started: None,
        }
    }

    fn call(name: &str, legs: Vec<LiveLeg>) -> LiveCall {
        LiveCall {
            id: "C".into(),
            bridge: String::new(),
            node: None,
            name: name.into(),
            co_space: None,
            owner: None,
            correlator: None,
            call_type: None,
            started: None,
            legs,
            message_text: None,
        }
    }

    fn rules() -> BannerRules {
        BannerRules {
            secure_domains: vec!["rooms.example.com".into()],
            internal_domains: vec!["example.com".into()],
            internal_text: "Internal".into(),
            ..BannerRules::default()
        }
    }

    #[test]
    fn domains_are_read_from_sip_addresses() {
        assert_eq!(address_domain("sip:Ann@Example.COM:5061;transport=tls").as_deref(), Some("example.com"));
        assert_eq!(address_domain("bob@partner.example").as_deref(), Some("partner.example"));
        assert_eq!(address_domain("10.0.0.5").as_deref(), Some("10.0.0.5"));
        assert_eq!(address_domain(" ").as_deref(), None);
    }

    #[test]
    fn levels_follow_web_app_guest_and_domain_lists() {
        let r = rules();
        assert_eq!(leg_level(&leg("x@webapp", Some("webApp"), false), &r), Some(SecurityLevel::External));
        assert_eq!(leg_level(&leg("oslo@rooms.example.com", None, true), &r), Some(SecurityLevel::External), "guests are external");
        assert_eq!(leg_level(&leg("oslo@rooms.example.com", None, false), &r), Some(SecurityLevel::Secure));
        assert_eq!(leg_level(&leg("jo@eu.example.com", None, false), &r), Some(SecurityLevel::Internal), "subdomains count");
        assert_eq!(leg_level(&leg("eve@notexample.com", None, false), &r), Some(SecurityLevel::External), "no substring matches");
        assert_eq!(leg_level(&leg("link", Some("distributionLink"), false), &r), None);
    }

    #[test]
    fn the_banner_names_each_condition_and_the_highest_level() {
        let r = rules();
        assert_eq!(desired_banner(&[call("Team", vec![leg("oslo@rooms.example.com", None, false)])], &r), None);
        assert_eq!(desired_banner(&[call("Team", vec![leg("jo@example.com", None, false)])], &r).as_deref(), Some("Internal"));
        assert_eq!(
            desired_banner(&[call("Team", vec![leg("jo@example.com", None, false), leg("g@webapp", Some("webApp"), false)])], &r)
                .as_deref(),
            Some("External Participant(s) in Meeting")
        );
        assert_eq!(desired_banner(&[call("RESTRICTED board", vec![])], &r).as_deref(), Some("Restricted Meeting"));
        // Two instances of one meeting: the external is on the other bridge.
        let both = [call("Project Restricted", vec![]), call("Project Restricted", vec![leg("p@partner.example", None, false)])];
        assert_eq!(desired_banner(&both, &r).as_deref(), Some("Restricted Meeting, External Participant(s) in Meeting"));
    }

    #[test]
    fn the_form_is_parsed_into_rules_and_each_mistake_is_named() {
        let form = |position: &str, duration: &str, secure: &str| BannerRulesForm {
            restricted_keywords: "restricted, secret\n\n  board ;x".into(),
            secure_domains: secure.into(),
            position: position.into(),
            duration: duration.into(),
            ..BannerRulesForm::default()
        };
        let r = parse_form(&form("top", "30", "rooms.example.com")).unwrap();
        assert_eq!(r.restricted_keywords, vec!["restricted", "secret", "board", "x"]);
        assert_eq!((r.position, r.duration), (BannerPosition::Top, BannerDuration::Seconds(30)));
        assert!(parse_form(&form("left", "30", "")).unwrap_err().contains("Position"));
        assert!(parse_form(&form("top", "forever", "")).unwrap_err().contains("Duration"));
        assert!(parse_form(&form("top", "permanent", "ann@example.com")).unwrap_err().contains("ann@example.com"));
        assert!(split_list(" \n , ").is_empty());
    }
}
