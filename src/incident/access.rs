//! Who may sign in with Webex, and with which Switchboard role (default: nobody).

use crate::model::Role;
use crate::webex::Person;

/// One rule; the first that matches gives the role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebexRoleRule {
    /// Webex org administrators (people with any admin role).
    OrgAdmins(Role),
    Email(String, Role),
    Domain(String, Role),
}

#[derive(Debug, Clone, Default)]
pub struct WebexAccess {
    /// Only people of this org; `None`: the org of the admin grant.
    pub org_id: Option<String>,
    pub rules: Vec<WebexRoleRule>,
}

impl WebexAccess {
    /// The role of a Webex person, or `None` (not allowed in). `grant_org` is the connected org.
    pub fn role_for(&self, p: &Person, grant_org: Option<&str>) -> Option<Role> {
        let org = self.org_id.as_deref().or(grant_org)?;
        if p.org_id != org {
            return None;
        }
        let email = p.email().to_ascii_lowercase();
        let domain = email.rsplit_once('@').map(|(_, d)| d.to_string()).unwrap_or_default();
        self.rules.iter().find_map(|r| match r {
            WebexRoleRule::OrgAdmins(role) if !p.roles.is_empty() => Some(*role),
            WebexRoleRule::Email(e, role) if e.eq_ignore_ascii_case(&email) => Some(*role),
            WebexRoleRule::Domain(d, role) if d.eq_ignore_ascii_case(&domain) => Some(*role),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(email: &str, org: &str, admin: bool) -> Person {
        Person {
            id: "P".into(),
            emails: vec![email.into()],
            display_name: "X".into(),
            phone_numbers: vec![],
            org_id: org.into(),
            roles: if admin { vec!["id_full_admin".into()] } else { vec![] },
        }
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
        };
        assert_eq!(a.role_for(&person("x@example.com", "O", true), Some("O")), Some(Role::Admin));
        assert_eq!(a.role_for(&person("boss@example.com", "O", false), Some("O")), Some(Role::Admin));
        assert_eq!(a.role_for(&person("x@example.com", "O", false), Some("O")), Some(Role::Operator));
        assert_eq!(a.role_for(&person("x@other.com", "O", false), Some("O")), None);
        assert_eq!(a.role_for(&person("x@example.com", "OTHER", true), Some("O")), None, "another org");
        assert_eq!(a.role_for(&person("x@example.com", "O", true), None), None, "no org known: nobody");
    }
}
