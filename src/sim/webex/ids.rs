//! Webex-style ids: base64 (standard alphabet, no padding) of `ciscospark://us/<KIND>/<uuid>`,
//! which is what the real API hands out for people, rooms, memberships, messages and orgs.

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

pub fn encode(kind: &str, tail: &str) -> String {
    STANDARD_NO_PAD.encode(format!("ciscospark://us/{kind}/{tail}"))
}

/// The part after `ciscospark://us/<KIND>/` when `id` is such an id, else the id itself (so
/// hand-built orgs with plain ids still work).
pub fn tail(id: &str) -> String {
    let decoded = STANDARD_NO_PAD.decode(id.trim_end_matches('=')).ok().and_then(|b| String::from_utf8(b).ok());
    match decoded.as_deref().and_then(|s| s.strip_prefix("ciscospark://us/")).and_then(|s| s.split_once('/')) {
        Some((_, t)) => t.to_string(),
        None => id.to_string(),
    }
}

/// A stable v4-shaped uuid for the n-th thing of a kind (no randomness: the demo org is the
/// same on every run).
pub fn uuid_for(kind: &str, n: usize) -> String {
    let h = Sha256::digest(format!("switchboard-sim-webex/{kind}/{n}"));
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    uuid::Builder::from_random_bytes(b).into_uuid().to_string()
}

/// A stable hex digest of a string, for values derived from an id (meeting links and numbers).
pub fn digest_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The membership id Webex uses: `MEMBERSHIP/<personUuid>:<roomUuid>`.
pub fn membership(person_id: &str, room_id: &str) -> String {
    encode("MEMBERSHIP", &format!("{}:{}", tail(person_id), tail(room_id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_look_like_webex() {
        let id = encode("PEOPLE", "f5b36187-c8dd-4727-8b2f-f9c447f29046");
        assert_eq!(id, "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9mNWIzNjE4Ny1jOGRkLTQ3MjctOGIyZi1mOWM0NDdmMjkwNDY");
        assert_eq!(tail(&id), "f5b36187-c8dd-4727-8b2f-f9c447f29046");
        assert_eq!(tail("plain"), "plain");
        assert_eq!(uuid_for("person", 3), uuid_for("person", 3));
        assert_ne!(uuid_for("person", 3), uuid_for("person", 4));
    }
}
