//! EWS streaming notifications: one long `GetStreamingEvents` response read as a sequence of
//! SOAP documents (each ends with the envelope's end tag, whatever its prefix), each read into
//! a [`StreamBatch`] — the notifications, whether the subscriptions are gone, whether Exchange
//! closed the connection — or the [`ProviderError`] it reports.

use super::client::EwsClient;
use super::read::outcome;
use super::soap;
use super::xml::{attr, last, local, under, walk, Ev, Ns};
use crate::calendar::model::ProviderError;
use futures::{Stream, StreamExt};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Created,
    Modified,
    /// The item is gone from the calendar for good (its id is no longer valid).
    Deleted,
    /// The item moved between the calendar and another folder (Outlook's delete moves it to
    /// Deleted Items; a restore moves it back): `item_id` is its id in its new folder.
    Moved,
    /// Copied, new mail, … (not subscribed to, but read as they come).
    Other,
}

/// A notification on a stream: an item of the subscription's mailbox changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub subscription_id: String,
    pub kind: EventKind,
    pub item_id: String,
    /// The folder the item is in now (`t:ParentFolderId`), when Exchange says.
    pub parent_folder_id: Option<String>,
}

/// What one SOAP document of a streaming response says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamBatch {
    pub notifications: Vec<Notification>,
    /// Exchange no longer knows (some of) the subscriptions, or missed events for them:
    /// subscribe again and catch up.
    pub subscriptions_lost: bool,
    /// Exchange closed the connection at its timeout (`ConnectionStatus` `Closed`).
    pub closed: bool,
}

/// Reads one streamed document: a batch, or what its refusal means.
pub fn stream_doc(xml: &str) -> Result<StreamBatch, ProviderError> {
    let o = outcome(xml).map_err(ProviderError::Protocol)?;
    let mut d = StreamBatch::default();
    if !o.ok() {
        return match o.code.as_str() {
            "ErrorSubscriptionNotFound" | "ErrorInvalidSubscription" | "ErrorMissedNotificationEvents" => {
                Ok(StreamBatch { subscriptions_lost: true, ..d })
            }
            "ErrorServerBusy" => Err(o.busy()),
            _ => Err(ProviderError::Refused { code: o.code, message: o.message }),
        };
    }
    // In a notification the subscription id comes first (its text ends before the events start);
    // in an event its ItemId comes before its ParentFolderId.
    let mut current_sub = String::new();
    let mut kind = None;
    walk(xml, |ev| match ev {
        Ev::Start(path, e) => {
            let n = last(path);
            if n == "Notification" {
                current_sub.clear();
            }
            let in_note = under(path, Ns::M, "Notification");
            if n.ends_with("Event") && in_note {
                kind = Some(match n {
                    "CreatedEvent" => EventKind::Created,
                    "ModifiedEvent" => EventKind::Modified,
                    "DeletedEvent" => EventKind::Deleted,
                    "MovedEvent" => EventKind::Moved,
                    _ => EventKind::Other,
                });
            }
            match (n, kind) {
                ("ItemId", Some(kind)) if in_note => {
                    if let Some(id) = attr(e, b"Id") {
                        let subscription_id = current_sub.clone();
                        d.notifications.push(Notification { subscription_id, kind, item_id: id, parent_folder_id: None });
                    }
                }
                ("ParentFolderId", Some(_)) if in_note => {
                    if let Some(last) = d.notifications.last_mut() {
                        last.parent_folder_id = attr(e, b"Id");
                    }
                }
                _ => {}
            }
        }
        Ev::Text(path, t) => match last(path) {
            "ConnectionStatus" => d.closed = t.trim().eq_ignore_ascii_case("Closed"),
            "SubscriptionId" if under(path, Ns::M, "Notification") => current_sub = t.trim().to_string(),
            "SubscriptionId" if under(path, Ns::M, "ErrorSubscriptionIds") => d.subscriptions_lost = true,
            _ => {}
        },
    })
    .map_err(ProviderError::Protocol)?;
    Ok(d)
}

/// Splits complete SOAP documents off the front of a streaming buffer: each ends with the
/// envelope's end tag, whatever its prefix. Returns the documents; `buf` keeps the rest.
pub fn take_documents(buf: &mut String) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(end) = find_envelope_end(buf) {
        let doc: String = buf.drain(..end).collect();
        let doc = doc.trim().to_string();
        if !doc.is_empty() {
            out.push(doc);
        }
    }
    out
}

fn find_envelope_end(s: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = s[from..].find("</") {
        let start = from + i + 2;
        let rest = &s[start..];
        let close = rest.find('>')?;
        let name = &rest[..close];
        if local(name.trim().as_bytes()) == b"Envelope" {
            return Some(start + close + 1);
        }
        from = start;
    }
    None
}

/// The most a streaming connection may hold without a complete document: a notification
/// document is a few KB; more means a broken or hostile peer, and the connection is dropped.
pub const MAX_PENDING: usize = 4 * 1024 * 1024;

/// What has arrived on a streaming connection and is not yet a whole document.
#[derive(Debug, Default)]
pub struct StreamBuffer {
    text: String,
    /// Bytes of a UTF-8 character a chunk ended inside.
    partial: Vec<u8>,
}

impl StreamBuffer {
    /// Adds a chunk and returns the documents it completes. Bytes that are not UTF-8 become
    /// U+FFFD (the stream goes on; a split character waits for the next chunk); more than
    /// [`MAX_PENDING`] without a document end is an error.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<String>, ProviderError> {
        self.partial.extend_from_slice(chunk);
        let mut rest: &[u8] = &self.partial;
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    self.text.push_str(s);
                    rest = &[];
                    break;
                }
                Err(e) => {
                    let (good, after) = rest.split_at(e.valid_up_to());
                    self.text.push_str(std::str::from_utf8(good).unwrap_or_default());
                    match e.error_len() {
                        Some(bad) => {
                            self.text.push(char::REPLACEMENT_CHARACTER);
                            rest = &after[bad..];
                        }
                        None => {
                            rest = after;
                            break;
                        }
                    }
                }
            }
        }
        self.partial = rest.to_vec();
        let docs = take_documents(&mut self.text);
        if self.text.len() + self.partial.len() > MAX_PENDING {
            return Err(ProviderError::Protocol(format!(
                "the event stream sent more than {} MB without a complete document",
                MAX_PENDING / (1024 * 1024)
            )));
        }
        Ok(docs)
    }
}

impl EwsClient {
    /// A streaming connection for up to 200 subscriptions (as the group's first mailbox): the
    /// documents as they arrive. The stream ends when Exchange closes the connection.
    pub async fn stream(
        &self,
        anchor: &str,
        subscription_ids: &[String],
        timeout_minutes: u32,
        cookie: Option<&str>,
    ) -> Result<impl Stream<Item = Result<StreamBatch, ProviderError>>, ProviderError> {
        let envelope = soap::envelope(Some(anchor), &soap::get_streaming_events(subscription_ids, timeout_minutes));
        // Its overall timeout is the connection's own lifetime and a margin, not the short one.
        let timeout = Duration::from_secs(u64::from(timeout_minutes.clamp(1, 30)) * 60 + 60);
        let res = self.send_streaming(anchor, &envelope, cookie, timeout).await?;
        let limits = *self.limits();
        let bytes = res.bytes_stream();
        let start = (Some(bytes), StreamBuffer::default(), std::collections::VecDeque::<String>::new());
        let docs = futures::stream::unfold(start, move |(mut bytes, mut buf, mut ready)| async move {
            loop {
                if let Some(doc) = ready.pop_front() {
                    return Some((stream_doc(&doc), (bytes, buf, ready)));
                }
                match bytes.as_mut()?.next().await {
                    Some(Ok(chunk)) => match buf.push(&chunk) {
                        Ok(docs) => ready.extend(docs),
                        // Over the bound: this error, then the end of the stream.
                        Err(e) => return Some((Err(e), (None, buf, ready))),
                    },
                    Some(Err(e)) => return Some((Err(limits.error_within(e, timeout).into()), (bytes, buf, ready))),
                    None => return None,
                }
            }
        });
        Ok(docs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><soap11:Header xmlns:soap11="http://schemas.xmlsoap.org/soap/envelope/"><ServerVersionInfo xmlns="http://schemas.microsoft.com/exchange/services/2006/types" MajorVersion="15" MinorVersion="1"/></soap11:Header><soap11:Body xmlns:soap11="http://schemas.xmlsoap.org/soap/envelope/"><m:GetStreamingEventsResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages><m:GetStreamingEventsResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Notifications><m:Notification><t:SubscriptionId>SUB1</t:SubscriptionId><t:CreatedEvent><t:TimeStamp>2026-11-24T10:00:00Z</t:TimeStamp><t:ItemId Id="ITEM1" ChangeKey="CK1"/><t:ParentFolderId Id="F"/></t:CreatedEvent><t:ModifiedEvent><t:TimeStamp>2026-11-24T10:00:01Z</t:TimeStamp><t:ItemId Id="ITEM2" ChangeKey="CK2"/></t:ModifiedEvent></m:Notification></m:Notifications><m:ConnectionStatus>OK</m:ConnectionStatus></m:GetStreamingEventsResponseMessage></m:ResponseMessages></m:GetStreamingEventsResponse></soap11:Body></Envelope>"#;

    #[test]
    fn streamed_documents_are_split_and_their_notifications_read_whatever_the_prefixes() {
        let mut buf = format!("{STREAM}\r\n{}<s:Envel", STREAM.replace("ITEM1", "ITEM3"));
        let docs = take_documents(&mut buf);
        assert_eq!(docs.len(), 2);
        assert_eq!(buf, "<s:Envel", "an incomplete document waits for more bytes");
        let d = stream_doc(&docs[0]).unwrap();
        assert!(!d.closed && !d.subscriptions_lost);
        assert_eq!(
            d.notifications,
            vec![
                Notification {
                    subscription_id: "SUB1".into(),
                    kind: EventKind::Created,
                    item_id: "ITEM1".into(),
                    parent_folder_id: Some("F".into())
                },
                Notification { subscription_id: "SUB1".into(), kind: EventKind::Modified, item_id: "ITEM2".into(), parent_folder_id: None },
            ]
        );
        assert_eq!(stream_doc(&docs[1]).unwrap().notifications[0].item_id, "ITEM3");
        let closed = STREAM.replace("<m:ConnectionStatus>OK", "<m:ConnectionStatus>Closed");
        assert!(stream_doc(&closed).unwrap().closed);
    }

    #[test]
    fn refusals_on_a_stream_say_resubscribe_back_off_or_fail() {
        let refusal = |code: &str| {
            STREAM.replace("ResponseClass=\"Success\"><m:ResponseCode>NoError", &format!("ResponseClass=\"Error\"><m:ResponseCode>{code}"))
        };
        assert!(stream_doc(&refusal("ErrorSubscriptionNotFound")).unwrap().subscriptions_lost);
        assert!(stream_doc(&refusal("ErrorMissedNotificationEvents")).unwrap().subscriptions_lost);
        assert_eq!(stream_doc(&refusal("ErrorServerBusy")), Err(ProviderError::Busy), "busy, without a back-off");
        assert!(
            matches!(stream_doc(&refusal("ErrorExceededConnectionCount")), Err(ProviderError::Refused { code, .. }) if code == "ErrorExceededConnectionCount")
        );
    }

    #[test]
    fn a_character_split_across_chunks_waits_and_invalid_bytes_do_not_stall_the_stream() {
        let doc = STREAM.replace("SUB1", "SUB-é");
        let bytes = doc.as_bytes();
        let at = doc.find('é').unwrap() + 1; // inside the two bytes of é
        let mut b = StreamBuffer::default();
        assert!(b.push(&bytes[..at]).unwrap().is_empty());
        let docs = b.push(&bytes[at..]).unwrap();
        assert_eq!(docs.len(), 1);
        assert_eq!(stream_doc(&docs[0]).unwrap().notifications[0].subscription_id, "SUB-é");
        // A byte that is never UTF-8: replaced, and the documents after it still arrive.
        let mut b = StreamBuffer::default();
        let mut bad = b"\xff\xfe".to_vec();
        bad.extend_from_slice(STREAM.as_bytes());
        let docs = b.push(&bad).unwrap();
        assert_eq!(docs.len(), 1, "not stalled");
        assert_eq!(b.push(STREAM.as_bytes()).unwrap().len(), 1);
    }

    #[test]
    fn a_stream_that_never_ends_a_document_is_cut_off_at_the_bound() {
        let mut b = StreamBuffer::default();
        let chunk = vec![b'x'; 64 * 1024];
        let mut result = Ok(vec![]);
        for _ in 0..(MAX_PENDING / chunk.len() + 1) {
            result = b.push(&chunk);
            if result.is_err() {
                break;
            }
        }
        let err = result.unwrap_err();
        assert!(err.to_string().contains("more than 4 MB without a complete document"), "{err}");
    }
}
