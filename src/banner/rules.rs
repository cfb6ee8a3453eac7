//! Banner rules: which participants are external, whether a call is restricted, and the
//! banner a meeting should show. Pure functions, shared by the enforcer and the pages.

use crate::model::{BannerRules, LiveCall, LiveLeg, SecurityLevel};

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
    list.iter().map(|d| d.trim().trim_start_matches("*.").trim_start_matches('.').to_ascii_lowercase()).any(|d| {
        !d.is_empty() && (domain == d || domain.ends_with(&format!(".{d}")))
    })
}

/// The security level of a leg; `None` for the links between bridges, which are not people.
pub fn leg_level(leg: &LiveLeg, rules: &BannerRules) -> Option<SecurityLevel> {
    if leg.is_distribution_link() {
        return None;
    }
    if leg.sub_type.as_deref() == Some("webApp") || leg.guest {
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

/// Checks rules from the settings form; the message names the field.
pub fn validate(rules: &BannerRules) -> Result<(), String> {
    if !matches!(rules.position.as_str(), "top" | "middle" | "bottom") {
        return Err("Position must be top, middle or bottom.".into());
    }
    if rules.duration != "permanent" && rules.duration.parse::<u32>().is_err() {
        return Err("Duration must be a number of seconds or 'permanent'.".into());
    }
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
            sub_type: sub.map(str::to_string),
            guest,
            direction: None,
            connected: true,
            in_lobby: false,
            in_ivr: false,
            started: String::new(),
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
            started: String::new(),
            legs,
            message_text: None,
        }
    }

    fn rules() -> BannerRules {
        BannerRules { secure_domains: vec!["rooms.example.com".into()], internal_domains: vec!["example.com".into()], internal_text: "Internal".into(), ..BannerRules::default() }
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
            desired_banner(&[call("Team", vec![leg("jo@example.com", None, false), leg("g@webapp", Some("webApp"), false)])], &r).as_deref(),
            Some("External Participant(s) in Meeting")
        );
        assert_eq!(desired_banner(&[call("RESTRICTED board", vec![])], &r).as_deref(), Some("Restricted Meeting"));
        // Two instances of one meeting: the external is on the other bridge.
        let both = [call("Project Restricted", vec![]), call("Project Restricted", vec![leg("p@partner.example", None, false)])];
        assert_eq!(desired_banner(&both, &r).as_deref(), Some("Restricted Meeting, External Participant(s) in Meeting"));
    }

    #[test]
    fn rule_validation_names_the_problem() {
        let mut r = BannerRules::default();
        assert!(validate(&r).is_ok());
        r.position = "left".into();
        assert!(validate(&r).unwrap_err().contains("Position"));
        r.position = "top".into();
        r.duration = "forever".into();
        assert!(validate(&r).unwrap_err().contains("Duration"));
        r.duration = "30".into();
        r.secure_domains = vec!["ann@example.com".into()];
        assert!(validate(&r).unwrap_err().contains("ann@example.com"));
    }
}
