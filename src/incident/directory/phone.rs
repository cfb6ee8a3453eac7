//! Phone numbers as people type them, checked and written as E.164 (`phonenumber`, Google's
//! libphonenumber metadata). A number without a country code is read in the configured region.

use phonenumber::country::Id;
use phonenumber::Mode;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("'{0}' is not a phone number")]
    Unparseable(String),
    #[error("'{0}' is not a valid number (wrong length or unknown area)")]
    Invalid(String),
}

/// The default region for numbers typed without `+`, from a two-letter code (`US`, `GB`, `DK`…).
pub fn region(code: &str) -> Option<Id> {
    code.trim().to_ascii_uppercase().parse().ok()
}

/// `+14085550123` from `(408) 555-0123` (region US) or `+1 408 555 0123`; an empty input is `None`.
pub fn normalise(input: &str, default_region: Option<Id>) -> Result<Option<String>, PhoneError> {
    let t = input.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let n = phonenumber::parse(default_region, t).map_err(|_| PhoneError::Unparseable(t.to_string()))?;
    if !phonenumber::is_valid(&n) {
        return Err(PhoneError::Invalid(t.to_string()));
    }
    Ok(Some(n.format().mode(Mode::E164).to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_e164_and_nonsense_is_refused_with_the_reason() {
        let us = region("us");
        assert_eq!(normalise("(201) 555-0123", us).unwrap().as_deref(), Some("+12015550123"));
        assert_eq!(normalise("+44 20 7946 0958", us).unwrap().as_deref(), Some("+442079460958"));
        assert_eq!(normalise("  ", us).unwrap(), None);
        assert!(matches!(normalise("call me", us), Err(PhoneError::Unparseable(_))));
        assert!(matches!(normalise("+1 201 555", us), Err(PhoneError::Invalid(_))));
        assert_eq!(normalise("20 30 40 50", region("DK")).unwrap().as_deref(), Some("+4520304050"));
    }
}
