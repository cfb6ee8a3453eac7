//! The typed operations Switchboard uses on a node: calls, legs and participants, banners and
//! admitting, spaces and users, branding profiles and CDR receivers.

use super::transport::segment;
use super::CmsNode;
use crate::cms::error::CmsError;
use crate::cms::model;
use futures::stream::{self, StreamExt, TryStreamExt};

impl CmsNode {
    pub async fn calls(&self) -> Result<Vec<model::CallSummary>, CmsError> {
        self.list_all("/calls", &[]).await
    }

    pub async fn call(&self, id: &str) -> Result<model::CallDetail, CmsError> {
        self.get(&format!("/calls/{}", segment(id)?), &[]).await
    }

    pub async fn call_legs_of(&self, call_id: &str) -> Result<Vec<model::CallLegSummary>, CmsError> {
        self.list_all(&format!("/calls/{}/callLegs", segment(call_id)?), &[]).await
    }

    pub async fn call_leg(&self, id: &str) -> Result<model::CallLeg, CmsError> {
        self.get(&format!("/callLegs/{}", segment(id)?), &[]).await
    }

    /// Every leg of a call with its details (lobby state), fetched concurrently.
    pub async fn call_legs_detailed(&self, call_id: &str) -> Result<Vec<model::CallLeg>, CmsError> {
        let legs = self.call_legs_of(call_id).await?;
        stream::iter(legs).map(|l| async move { self.call_leg(&l.id).await }).buffered(self.cfg.max_concurrency.max(1)).try_collect().await
    }

    pub async fn participants_of(&self, call_id: &str) -> Result<Vec<model::Participant>, CmsError> {
        self.list_all(&format!("/calls/{}/participants", segment(call_id)?), &[]).await
    }

    /// The call legs of one participant (`GET /participants/<id>/callLegs`).
    pub async fn participant_legs(&self, participant_id: &str) -> Result<Vec<model::CallLegSummary>, CmsError> {
        self.list_all(&format!("/participants/{}/callLegs", segment(participant_id)?), &[]).await
    }

    /// Which participant each leg of a call belongs to (leg id -> participant id). CDRs name legs,
    /// admitting needs participants; matching by id, never by display name.
    pub async fn participant_by_leg(&self, call_id: &str) -> Result<std::collections::HashMap<String, String>, CmsError> {
        let participants = self.participants_of(call_id).await?;
        let pairs: Vec<(String, Vec<model::CallLegSummary>)> = stream::iter(participants)
            .map(|p| async move { self.participant_legs(&p.id).await.map(|legs| (p.id, legs)) })
            .buffer_unordered(self.cfg.max_concurrency.max(1))
            .try_collect()
            .await?;
        Ok(pairs.into_iter().flat_map(|(p, legs)| legs.into_iter().map(move |l| (l.id, p.clone()))).collect())
    }

    pub async fn set_call_message(&self, call_id: &str, text: &str, position: &str, duration: &str) -> Result<(), CmsError> {
        self.put_form(
            &format!("/calls/{}", segment(call_id)?),
            &[("messageText", text.to_string()), ("messagePosition", position.to_string()), ("messageDuration", duration.to_string())],
        )
        .await
    }

    /// Lets a lobby participant in (`deactivated=false`).
    pub async fn admit_participant(&self, participant_id: &str) -> Result<(), CmsError> {
        self.put_form(&format!("/participants/{}", segment(participant_id)?), &[("deactivated", "false".to_string())]).await
    }

    pub async fn co_spaces(&self, filter: Option<&str>) -> Result<Vec<model::CoSpace>, CmsError> {
        let q: Vec<(&str, String)> = filter.map(|f| vec![("filter", f.to_string())]).unwrap_or_default();
        self.list_all("/coSpaces", &q).await
    }

    pub async fn co_space(&self, id: &str) -> Result<model::CoSpace, CmsError> {
        self.get(&format!("/coSpaces/{}", segment(id)?), &[]).await
    }

    pub async fn users(&self) -> Result<Vec<model::User>, CmsError> {
        self.list_all("/users", &[]).await
    }

    pub async fn user(&self, id: &str) -> Result<model::User, CmsError> {
        self.get(&format!("/users/{}", segment(id)?), &[]).await
    }

    pub async fn user_co_spaces(&self, user_id: &str) -> Result<Vec<model::UserCoSpace>, CmsError> {
        self.list_all(&format!("/users/{}/usercoSpaces", segment(user_id)?), &[]).await
    }

    pub async fn cdr_receivers(&self) -> Result<Vec<model::CdrReceiver>, CmsError> {
        self.list_all("/system/cdrReceivers", &[]).await
    }

    pub async fn call_branding_profiles(&self) -> Result<Vec<model::BrandingProfile>, CmsError> {
        self.list_all("/callBrandingProfiles", &[]).await
    }

    pub async fn ivr_branding_profiles(&self) -> Result<Vec<model::BrandingProfile>, CmsError> {
        self.list_all("/ivrBrandingProfiles", &[]).await
    }

    pub async fn web_bridge_profiles(&self) -> Result<Vec<model::WebBridgeProfile>, CmsError> {
        self.list_all("/webBridgeProfiles", &[]).await
    }

    /// Adds `url` as a CDR receiver unless this node already has it. Returns whether it added.
    pub async fn ensure_cdr_receiver(&self, url: &str) -> Result<bool, CmsError> {
        let existing = self.cdr_receivers().await?;
        if existing.iter().any(|r| r.target() == Some(url)) {
            return Ok(false);
        }
        self.post_form("/system/cdrReceivers", &[("url", url.to_string())]).await?;
        Ok(true)
    }
}
