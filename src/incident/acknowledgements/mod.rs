//! Acknowledgement links (`/ack/{token}`, no login): each responder of an incident gets a token
//! derived (HMAC) from the secrets key and the incident's salt, so only its hash is stored; the
//! page shows the incident and takes "On my way" / "Can't join" until the incident is over.

pub(crate) mod store;

use super::lifecycle::IncidentRow;
use super::{IncidentConfig, IncidentError, IncidentService};
use crate::model::incident::{AckAnswer, AckView};
use crate::store::{Store, StoreError};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use store::{AckRow, AckStore, NewAck};

/// What an acknowledgement link shows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AckPage {
    pub incident_name: String,
    pub responder_name: String,
    pub over: bool,
    pub answer: Option<AckAnswer>,
    pub meeting_link: String,
}

pub struct Acknowledgements {
    db: AckStore,
    key: [u8; 32],
    /// Where responders open their links (`https://switchboard.example.com`).
    public_url: String,
}

impl Acknowledgements {
    pub fn new(store: Store, key: [u8; 32], cfg: &IncidentConfig) -> Self {
        Self { db: AckStore::new(store), key, public_url: cfg.public_url.clone() }
    }

    /// The acknowledgement token of a responder in an incident.
    fn token(&self, i: &IncidentRow, responder_id: i64) -> String {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("any key length");
        mac.update(format!("ack:{}:{}:{}", i.id, responder_id, i.ack_salt).as_bytes());
        URL_SAFE_NO_PAD.encode(&mac.finalize().into_bytes()[..24])
    }

    fn token_hash(token: &str) -> String {
        let d = Sha256::digest(token.as_bytes());
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The responder's personal link, for the notification texts.
    pub fn link(&self, i: &IncidentRow, responder_id: i64) -> String {
        format!("{}/ack/{}", self.public_url.trim_end_matches('/'), self.token(i, responder_id))
    }

    /// Makes sure the responder has an acknowledgement (awaiting an answer) in the incident.
    pub fn new_ack(&self, i: &IncidentRow, responder_id: i64, name: &str) -> NewAck {
        NewAck { responder_id, name: name.to_string(), token_hash: Self::token_hash(&self.token(i, responder_id)) }
    }

    pub async fn views(&self, incident_id: i64) -> Result<Vec<AckView>, StoreError> {
        self.db.acks(incident_id).await
    }

    /// The acknowledgement of a token and the token's hash, or "not valid".
    async fn lookup(&self, token: &str) -> Result<(AckRow, String), IncidentError> {
        if token.is_empty() || token.len() > 64 {
            return Err(not_valid());
        }
        let hash = Self::token_hash(token);
        let row = self.db.ack_by_hash(&hash).await?.ok_or_else(not_valid)?;
        Ok((row, hash))
    }
}

fn not_valid() -> IncidentError {
    IncidentError::NotFound("This link is not valid. Check that it was copied whole.".into())
}

impl IncidentService {
    async fn ack_lookup(&self, token: &str) -> Result<(IncidentRow, AckRow, String), IncidentError> {
        let (ack, hash) = self.acks.lookup(token).await?;
        let i = self.lifecycle.incident(ack.incident_id).await?.ok_or_else(not_valid)?;
        Ok((i, ack, hash))
    }

    pub async fn ack_page(&self, token: &str) -> Result<AckPage, IncidentError> {
        let (i, ack, _) = self.ack_lookup(token).await?;
        Ok(AckPage {
            incident_name: i.name.clone(),
            responder_name: ack.responder_name,
            over: i.stopped_at.is_some(),
            answer: ack.answer,
            meeting_link: i.meeting_link.clone(),
        })
    }

    /// Records a responder's answer; refused once the incident is over.
    pub async fn ack(&self, token: &str, answer: AckAnswer) -> Result<AckPage, IncidentError> {
        let (i, ack, hash) = self.ack_lookup(token).await?;
        if i.stopped_at.is_some() {
            return Err(IncidentError::Conflict(format!("The incident \"{}\" is over; no answer is needed.", i.name)));
        }
        self.acks.db.answer(&hash, i.id, answer, &format!("{}: {}", ack.responder_name, answer.label())).await?;
        self.lifecycle.changed(i.id);
        self.ack_page(token).await
    }
}

#[cfg(test)]
mod tests {
    use crate::model::incident::AckAnswer;
    use crate::store::assert_round_trips;

    crate::both_backends! {
        async fn every_acknowledgement_answer_round_trips_through_the_database_as_its_stable_string(store) {
            assert_round_trips(&store, AckAnswer::ALL).await;
            assert_eq!(AckAnswer::ALL.iter().map(|a| a.as_str()).collect::<Vec<_>>(), ["coming", "declined"]);
        }
    }
}
