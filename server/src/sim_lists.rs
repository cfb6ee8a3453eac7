//! The lists `switchboard sim …` takes so that simulators started apart make one world: the
//! mailbox addresses of `sim ews` / `sim graph` and the users `sim cms` holds, each given on the
//! command line (repeatable) and/or in a file, one a line (blank lines and `#` comments skipped).

use clap::Args;
use std::path::{Path, PathBuf};

/// Which mailboxes a calendar simulator holds.
#[derive(Debug, Clone, Args)]
pub struct MailboxArgs {
    /// Generated mailboxes user1@… to userN@… at the simulator's domain (10 when no list is
    /// given; with a list, only when asked for).
    #[arg(long, value_name = "N")]
    pub mailboxes: Option<usize>,
    /// A mailbox address (repeatable), e.g. `--mailbox ann@example.com --mailbox bob@example.com`.
    #[arg(long = "mailbox", value_name = "ADDRESS")]
    pub mailbox: Vec<String>,
    /// A file of mailbox addresses, one a line.
    #[arg(long, value_name = "FILE")]
    pub mailboxes_file: Option<PathBuf>,
}

impl MailboxArgs {
    /// The mailboxes: the generated ones (`user<i>@<domain>`), then those listed, each once.
    pub fn resolve(&self, domain: &str) -> anyhow::Result<Vec<String>> {
        let mut listed: Vec<String> = Vec::new();
        for (i, a) in self.mailbox.iter().enumerate() {
            listed.push(address(a).map_err(|e| anyhow::anyhow!("--mailbox #{}: {e}", i + 1))?);
        }
        if let Some(path) = &self.mailboxes_file {
            for (line, text) in lines(path)? {
                listed.push(address(&text).map_err(|e| anyhow::anyhow!("{}, line {line}: {e}", path.display()))?);
            }
        }
        let generated = match (self.mailboxes, listed.is_empty()) {
            (Some(n), _) => n,
            (None, true) => 10,
            (None, false) => 0,
        };
        let all = (1..=generated).map(|i| format!("user{i}@{domain}")).chain(listed);
        Ok(dedup(all, |m| m.clone()))
    }
}

/// One user of the simulated CMS, as an LDAP import leaves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedUser {
    pub jid: String,
    pub name: String,
}

/// Which users the CMS simulator holds besides its scenario's.
#[derive(Debug, Clone, Args)]
pub struct CmsUserArgs {
    /// A user to hold, as if imported from LDAP (repeatable): `name@example.com` or
    /// `name@example.com,Display Name`. Its email is its JID.
    #[arg(long = "cms-user", value_name = "JID[,NAME]")]
    pub cms_user: Vec<String>,
    /// A file of users, one a line, written as for `--cms-user`.
    #[arg(long, value_name = "FILE")]
    pub user_list: Option<PathBuf>,
    /// Each listed user gets the personal space `<local part>.<suffix>` (name and URI), the
    /// naming the calendar's `space_suffix` expects.
    #[arg(long, default_value = "space")]
    pub space_suffix: String,
}

impl CmsUserArgs {
    pub fn resolve(&self) -> anyhow::Result<Vec<ListedUser>> {
        let mut users = Vec::new();
        for (i, u) in self.cms_user.iter().enumerate() {
            users.push(user(u).map_err(|e| anyhow::anyhow!("--cms-user #{}: {e}", i + 1))?);
        }
        if let Some(path) = &self.user_list {
            for (line, text) in lines(path)? {
                users.push(user(&text).map_err(|e| anyhow::anyhow!("{}, line {line}: {e}", path.display()))?);
            }
        }
        if !self.space_suffix.is_empty() && !self.space_suffix.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            anyhow::bail!("--space-suffix '{}': only letters, digits, '-', '_' and '.' make a space URI", self.space_suffix);
        }
        Ok(dedup(users.into_iter(), |u| u.jid.clone()))
    }
}

/// The non-blank, non-comment lines of a list file with their line numbers.
fn lines(path: &Path) -> anyhow::Result<Vec<(usize, String)>> {
    let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    Ok(text.lines().enumerate().map(|(i, l)| (i + 1, l.trim().to_string())).filter(|(_, l)| !l.is_empty() && !l.starts_with('#')).collect())
}

/// A mail address, lower-cased: one `@` between a local part and a dotted-or-not domain, no
/// spaces or markup.
fn address(raw: &str) -> Result<String, String> {
    let a = raw.trim();
    let ok = match a.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && a.chars().all(|c| c.is_ascii_graphic() && !"<>\"'(),;:[]\\".contains(c))
        }
        None => false,
    };
    if ok {
        Ok(a.to_ascii_lowercase())
    } else {
        Err(format!("'{a}' is not a mail address (name@domain)"))
    }
}

/// `jid` or `jid,Display Name`; without a name, one made from the local part (`ann.lee` → `Ann Lee`).
fn user(raw: &str) -> Result<ListedUser, String> {
    let (jid, name) = match raw.split_once(',') {
        Some((j, n)) => (j, n.trim()),
        None => (raw, ""),
    };
    let jid = address(jid)?;
    let name = if name.is_empty() { name_of(&jid) } else { name.to_string() };
    if name.chars().any(char::is_control) {
        return Err(format!("the name of {jid} has control characters"));
    }
    Ok(ListedUser { jid, name })
}

fn name_of(jid: &str) -> String {
    let local = jid.split('@').next().unwrap_or(jid);
    local
        .split(['.', '_', '-'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_uppercase().chain(c).collect::<String>()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The first of each key, in order (addresses are compared lower-cased already).
fn dedup<T>(items: impl Iterator<Item = T>, key: impl Fn(&T) -> String) -> Vec<T> {
    let mut seen = std::collections::HashSet::new();
    items.filter(|i| seen.insert(key(i))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    #[test]
    fn mailboxes_come_from_flags_and_a_file_each_once_and_the_count_only_when_asked_with_a_list() {
        let f = file("# on premises\nann@example.com\n\n  Bob@Example.com  \nann@example.com\n");
        let a = MailboxArgs { mailboxes: None, mailbox: vec!["cy@example.com".into()], mailboxes_file: Some(f.path().into()) };
        assert_eq!(a.resolve("example.com").unwrap(), vec!["cy@example.com", "ann@example.com", "bob@example.com"]);
        let a = MailboxArgs { mailboxes: Some(2), ..a };
        assert_eq!(a.resolve("example.com").unwrap()[..3], ["user1@example.com", "user2@example.com", "cy@example.com"]);
        let none = MailboxArgs { mailboxes: None, mailbox: vec![], mailboxes_file: None };
        assert_eq!(none.resolve("x.org").unwrap().len(), 10, "no list: today's ten");
    }

    #[test]
    fn a_bad_line_is_refused_naming_the_file_and_line() {
        let f = file("ann@example.com\nnot an address\n");
        let a = MailboxArgs { mailboxes: None, mailbox: vec![], mailboxes_file: Some(f.path().into()) };
        let e = a.resolve("example.com").unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("'not an address' is not a mail address"), "{e}");
        let a = MailboxArgs { mailboxes: None, mailbox: vec!["a@b@c".into()], mailboxes_file: None };
        assert!(a.resolve("example.com").unwrap_err().to_string().contains("--mailbox #1"));
        let missing = MailboxArgs { mailboxes: None, mailbox: vec![], mailboxes_file: Some("/nonexistent/list".into()) };
        assert!(missing.resolve("example.com").unwrap_err().to_string().contains("cannot read /nonexistent/list"));
    }

    #[test]
    fn cms_users_take_a_name_or_get_one_from_their_jid() {
        let f = file("ann.lee@example.com\nbob@example.com, Robert Builder\n");
        let a = CmsUserArgs { cms_user: vec!["cy_d-e@example.com".into()], user_list: Some(f.path().into()), space_suffix: "space".into() };
        let u = a.resolve().unwrap();
        let names: Vec<(&str, &str)> = u.iter().map(|u| (u.jid.as_str(), u.name.as_str())).collect();
        assert_eq!(
            names,
            vec![("cy_d-e@example.com", "Cy D E"), ("ann.lee@example.com", "Ann Lee"), ("bob@example.com", "Robert Builder")]
        );
        let bad = CmsUserArgs { cms_user: vec![], user_list: None, space_suffix: "my space".into() };
        assert!(bad.resolve().unwrap_err().to_string().contains("--space-suffix"));
    }
}
