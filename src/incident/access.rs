//! Who may sign in with Webex, and with which Switchboard role (default: nobody), and how
//! often a signed-in person's roles are asked of Webex again.

use crate::model::Role;
use crate::webex::Person;
use std::time::Duration;

/// A Webex session's roles are asked of Webex again after this long (and at every sign-in).
pub const DEFAULT_RECHECK: Duration = Duration::from_secs(600);

/// One rule; the first that matches gives the role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebexRoleRule {
    /// People holding this Webex admin role, named by its id as `/people` returns it in `roles`
    /// or by the name inside that id (`id_full_admin`, `id_readonly_admin` …).
    AdminRole(String, Role),
    /// Webex org administrators (people with any admin role).
    OrgAdmins(Role),
    Email(String, Role),
    Domain(String, Role),
}

#[derive(Debug, Clone)]
pub struct WebexAccess {
    /// Only people of this org; `None`: the org of the admin grant.
    pub org_id: Option<String>,
    pub rules: Vec<WebexRoleRule>,
    /// A signed-in person's roles are asked of Webex again at most this often: someone removed
    /// from an admin role (or the org) loses what it gave them within this time.
    pub recheck_every: Duration,
}

impl Default for WebexAccess {
    fn default() -> Self {
        Self { org_id: None, rules: Vec::new(), recheck_every: DEFAULT_RECHECK }
    }
}

impl WebexAccess {
    /// Whether a session whose roles Webex confirmed at `checked` (unix seconds) must ask again.
    pub fn recheck_due(&self, checked: i64, now: i64) -> bool {
        now.saturating_sub(checked) >= self.recheck_every.as_secs() as i64
    }

    /// The role of a Webex person, or `None` (not allowed in). `grant_org` is the connected org.
    pub fn role_for(&self, p: &Person, grant_org: Option<&str>) -> Option<Role> {
        let org = self.org_id.as_deref().or(grant_org)?;
        if p.org_id != org {
            return None;
        }
        let email = p.email().to_ascii_lowercase();
        let domain = email.rsplit_once('@').map(|(_, d)| d.to_string()).unwrap_or_default();
        self.rules.iter().find_map(|r| match r {
            WebexRoleRule::AdminRole(wanted, role) if p.roles.iter().any(|held| role_matches(held, wanted)) => Some(*role),
            WebexRoleRule::OrgAdmins(role) if !p.roles.is_empty() => Some(*role),
            WebexRoleRule::Email(e, role) if e.eq_ignore_ascii_case(&email) => Some(*role),
            WebexRoleRule::Domain(d, role) if d.eq_ignore_ascii_case(&domain) => Some(*role),
            _ => None,
        })
    }
}

/// Whether a role from `/people` is the role configured: the same id, or the same name.
/// Webex role ids are base64 of `ciscospark://us/ROLE/<name>`; the names (`id_full_admin`) are
/// what admins read in Webex's documentation, so either may be configured.
fn role_matches(held: &str, wanted: &str) -> bool {
    let name = |r: &str| role_name(r).unwrap_or_else(|| r.to_string());
    held == wanted || name(held).eq_ignore_ascii_case(&name(wanted))
}

/// The name inside a Webex role id, if it is one.
fn role_name(id: &str) -> Option<String> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    use base64::Engine;
    let raw = id.trim_end_matches('=');
    let bytes = STANDARD_NO_PAD.decode(raw).or_else(|_| URL_SAFE_NO_PAD.decode(raw)).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (_, name) = text.strip_prefix("ciscospark://")?.rsplit_once("/ROLE/")?;
    Some(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(email: &str, org: &str, admin: bool) -> Person {
        with_roles(email, org, if admin { &["id_full_admin"] } else { &[] })
    }

    fn with_roles(email: &str, org: &str, roles: &[&str]) -> Person {
        Person {
            id: "P".into(),
            emails: vec![email.into()],
            display_name: "X".into(),
            phone_numbers: vec![],
            org_id: org.into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
        }
    }

    /// A role id as Webex `/people` returns it.
    fn role_id(name: &str) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(format!("ciscospark://us/ROLE/{name}"))
    }

    #[test]
    fn specific_admin_roles_map_by_id_or_by_name_before_the_any_admin_rule() {
        let a = WebexAccess {
            org_id: Some("O".into()),
            rules: vec![
                WebexRoleRule::AdminRole("id_full_admin".into(), Role::Admin),
                WebexRoleRule::AdminRole(role_id("id_readonly_admin"), Role::Viewer),
                WebexRoleRule::OrgAdmins(Role::Operator),
            ],
            ..Default::default()
        };
        let full = role_id("id_full_admin");
        assert_eq!(a.role_for(&with_roles("a@x.com", "O", &[&full]), None), Some(Role::Admin), "configured by name, held as an id");
        assert_eq!(a.role_for(&with_roles("a@x.com", "O", &["ID_FULL_ADMIN"]), None), Some(Role::Admin), "a bare name too");
        let read_only = role_id("id_readonly_admin");
        assert_eq!(a.role_for(&with_roles("r@x.com", "O", &[&read_only]), None), Some(Role::Viewer), "configured by id");
        let user_admin = role_id("id_user_admin");
        assert_eq!(
            a.role_for(&with_roles("u@x.com", "O", &[&user_admin]), None),
            Some(Role::Operator),
            "another admin role: the any-admin rule"
        );
        assert_eq!(a.role_for(&with_roles("both@x.com", "O", &[&read_only, &full]), None), Some(Role::Admin), "the first rule wins");
        assert_eq!(a.role_for(&with_roles("n@x.com", "O", &[]), None), None, "no admin role, no rule");
        assert_eq!(a.role_for(&with_roles("a@x.com", "OTHER", &[&full]), None), None, "another org");

        let only = WebexAccess {
            org_id: Some("O".into()),
            rules: vec![WebexRoleRule::AdminRole("id_full_admin".into(), Role::Admin)],
            ..Default::default()
        };
        assert_eq!(only.role_for(&with_roles("u@x.com", "O", &[&user_admin]), None), None, "only the role named");
        assert_eq!(only.role_for(&with_roles("u@x.com", "O", &["not base64 at all!"]), None), None);
        assert_eq!(role_name(&full).as_deref(), Some("id_full_admin"));
        assert_eq!(role_name("aWRfZnVsbF9hZG1pbg"), None, "base64 of something that is not a role id");
    }

    #[test]
    fn nobody_enters_by_default_and_the_first_matching_rule_gives_the_role() {
        let none = WebexAccess::default();
        assert_eq!(none.role_for(&person("a@example.com", "O", true), Some("O")), None);
        let a = WebexAccess {
            org_id: None,
            rules: vec![
                WebexRoleRule::OrgAdmins(Role::Admin),
                WebexRoleRule::Email("Boss@Example.com".into(), Role::Admin),
                WebexRoleRule::Domain("example.com".into(), Role::Operator),
            ],
            ..Default::default()
        };
        assert_eq!(a.role_for(&person("x@example.com", "O", true), Some("O")), Some(Role::Admin));
        assert_eq!(a.role_for(&person("boss@example.com", "O", false), Some("O")), Some(Role::Admin));
        assert_eq!(a.role_for(&person("x@example.com", "O", false), Some("O")), Some(Role::Operator));
        assert_eq!(a.role_for(&person("x@other.com", "O", false), Some("O")), None);
        assert_eq!(a.role_for(&person("x@example.com", "OTHER", true), Some("O")), None, "another org");
        assert_eq!(a.role_for(&person("x@example.com", "O", true), None), None, "no org known: nobody");
    }

    #[test]
    fn webex_roles_are_asked_again_once_the_recheck_interval_has_passed_not_before() {
        let a = WebexAccess::default();
        assert_eq!(a.recheck_every, Duration::from_secs(600), "ten minutes unless configured");
        assert!(!a.recheck_due(1_000, 1_000));
        assert!(!a.recheck_due(1_000, 1_599));
        assert!(a.recheck_due(1_000, 1_600));
        assert!(a.recheck_due(0, 1_000), "a session from before checks were recorded is checked at once");
        let every_minute = WebexAccess { recheck_every: Duration::from_secs(60), ..Default::default() };
        assert!(every_minute.recheck_due(1_000, 1_060));
    }
}
