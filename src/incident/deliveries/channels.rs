//! The three ways a notification goes out: a 1:1 Webex message (from the commander when their
//! token is at hand, else from the org grant), an SMS and a text-to-speech call through Webex
//! Connect. Each returns the provider's id of what it accepted. Connect sends carry the
//! delivery's own key, so Connect recognises a repeat; the Webex messages API has no such key.

use super::templates::Rendered;
use crate::incident::IncidentConfig;
use crate::model::incident::Channel;
use crate::webex::connect::{Accepted, Voice};
use crate::webex::{ApiError, ConnectApi, OrgGrant, WebexApi};
use std::sync::Arc;

pub struct Channels {
    grant: Arc<OrgGrant>,
    api: WebexApi,
    connect: Option<ConnectApi>,
    sms_from: String,
    voice_from: String,
    voice: Voice,
}

impl Channels {
    pub fn new(grant: Arc<OrgGrant>, api: WebexApi, connect: Option<ConnectApi>, cfg: &IncidentConfig) -> Self {
        Self { grant, api, connect, sms_from: cfg.sms_from.clone(), voice_from: cfg.voice_from.clone(), voice: cfg.voice.clone() }
    }

    pub fn sms_enabled(&self) -> bool {
        self.connect.is_some() && !self.sms_from.is_empty()
    }

    pub fn voice_enabled(&self) -> bool {
        self.connect.is_some() && !self.voice_from.is_empty()
    }

    fn connect(&self) -> Result<&ConnectApi, ApiError> {
        self.connect.as_ref().ok_or_else(|| ApiError::Protocol("Webex Connect is not configured".into()))
    }

    /// Sends the channel's text to the address; `user_token` is the commander's Webex token,
    /// `send_key` the delivery's key (the same for every attempt of it).
    pub async fn send(
        &self,
        channel: Channel,
        address: &str,
        text: &Rendered,
        user_token: Option<String>,
        send_key: &str,
    ) -> Result<Accepted, ApiError> {
        match channel {
            Channel::Webex => {
                let token = match user_token {
                    Some(t) => t,
                    None => self.grant.access_token().await.map_err(|e| ApiError::Protocol(e.to_string()))?,
                };
                let id = self.api.message_person(&token, address, &text.webex).await?;
                Ok(Accepted { id: Some(id), earlier: false })
            }
            Channel::Sms => self.connect()?.sms(&self.sms_from, address, &text.sms, send_key).await,
            Channel::Voice => self.connect()?.voice(&self.voice_from, address, &text.voice, &self.voice, send_key).await,
        }
    }
}

/// Whether an attempt whose answer was lost may be repeated: Connect recognises the repeat by
/// its key; a Webex message sent twice arrives twice.
pub fn repeats_safely(channel: Channel) -> bool {
    matches!(channel, Channel::Sms | Channel::Voice)
}
