//! Ids of CMS objects. CMS names every call, leg and participant with a GUID
//! (`8-4-4-4-12` hex digits); anything else arriving from a CDR or a browser is refused where it
//! enters, before it could reach a CMS API path.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A CMS object id: a GUID, kept as CMS wrote it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Guid(String);

/// Why a text is not a CMS id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotAGuid(pub String);

impl fmt::Display for NotAGuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: String = self.0.chars().take(64).flat_map(char::escape_default).collect();
        write!(f, "'{shown}' is not a CMS id (a GUID such as 7a1e1cf8-0e3b-4b5e-9a44-3c1d2f6b9e10)")
    }
}

impl std::error::Error for NotAGuid {}

impl Guid {
    pub fn parse(s: &str) -> Result<Self, NotAGuid> {
        if is_guid(s) {
            Ok(Guid(s.to_string()))
        } else {
            Err(NotAGuid(s.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `8-4-4-4-12` hex digits, any case.
pub fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Guid {
    type Error = NotAGuid;
    fn try_from(s: String) -> Result<Self, NotAGuid> {
        Guid::parse(&s)
    }
}

impl From<Guid> for String {
    fn from(g: Guid) -> Self {
        g.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_guids_are_ids() {
        assert!(Guid::parse("7a1e1cf8-0e3b-4b5e-9a44-3c1d2f6b9e10").is_ok());
        assert!(Guid::parse("7A1E1CF8-0E3B-4B5E-9A44-3C1D2F6B9E10").is_ok());
        for bad in [
            "",
            "c-1",
            "../coSpaces/7a1e1cf8-0e3b-4b5e-9a44-3c1d2f6b9e10",
            "7a1e1cf8-0e3b-4b5e-9a44-3c1d2f6b9e1g",
            "7a1e1cf80e3b-4b5e-9a44-3c1d2f6b9e10-",
        ] {
            assert!(Guid::parse(bad).is_err(), "{bad:?}");
        }
        let err = Guid::parse("a\nb").unwrap_err().to_string();
        assert!(err.contains("a\\nb") && !err.contains('\n'), "shown escaped: {err}");
        assert!(serde_json::from_str::<Guid>("\"nope\"").is_err());
    }
}
