//! What an organiser does in Outlook, from a test or a demo scenario: meetings and series
//! created (with attendees' copies), a meeting edited, one occurrence of a series changed —
//! each with the events Exchange would send.

use super::items::create;
use super::model::{lookup, occurrence_id, SimMeeting};
use super::subscriptions::{publish, Event};
use super::{new_id, Shared};
use crate::sync::lock;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use time::OffsetDateTime;

/// Creates meetings in a running simulator from another task.
#[derive(Clone)]
pub struct EwsHandle(pub(super) Arc<Shared>);

impl EwsHandle {
    /// Open streams are cut mid-way (no `Closed`), once.
    pub fn drop_streams(&self) {
        self.0.faults.drop_streams.store(true, Ordering::Relaxed);
        self.0.epoch.fetch_add(1, Ordering::Relaxed);
    }

    pub fn create_meeting(
        &self,
        organizer: &str,
        subject: &str,
        location: &str,
        body_html: &str,
        start: OffsetDateTime,
        end: OffsetDateTime,
    ) -> String {
        self.create(SimMeeting::single(organizer, subject, location, body_html, start, end))
    }

    /// A meeting or series created by its organiser (Created events in the organiser's and the
    /// attendees' calendars); returns the organiser's item id.
    pub fn create(&self, m: SimMeeting) -> String {
        create(&self.0, &m, true).0
    }

    /// The organiser changes one occurrence of a series (instance `index`, from 1): it becomes an
    /// exception with `body`, the master is modified with it. Modified events for both, as
    /// Exchange sends. Returns the exception's id.
    pub fn edit_occurrence(&self, master_id: &str, index: u32, body: &str) -> Option<String> {
        let s = &self.0;
        let mut items = lock(&s.items);
        let mailbox = items.iter().find(|i| i.id == master_id)?.mailbox.clone();
        let id = occurrence_id(master_id, index);
        let mut ex = lookup(&items, &id, &mailbox)?;
        ex.body = body.into();
        ex.item_type = "Exception";
        ex.change_key = new_id("DwAA");
        ex.seq = s.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let mut events = vec![Event::of(&ex, "ModifiedEvent")];
        items.retain(|i| i.id != id);
        items.push(ex);
        if let Some(m) = items.iter_mut().find(|i| i.id == master_id) {
            m.change_key = new_id("DwAA");
            m.seq = s.seq.fetch_add(1, Ordering::Relaxed) + 1;
            events.push(Event::of(m, "ModifiedEvent"));
        }
        drop(items);
        for ev in events {
            publish(s, ev);
        }
        Some(id)
    }

    /// See [`SimEws::edit_meeting`].
    pub fn edit_meeting(&self, id: &str, location: Option<&str>, body: Option<&str>, text_body: bool) -> Option<String> {
        let s = &self.0;
        let mut items = lock(&s.items);
        let it = items.iter_mut().find(|i| i.id == id)?;
        if let Some(l) = location {
            it.location = l.into();
        }
        if let Some(b) = body {
            it.body = b.into();
            it.body_html = !text_body;
        }
        it.change_key = new_id("DwAA");
        it.seq = s.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let ev = Event::of(it, "ModifiedEvent");
        let ck = it.change_key.clone();
        drop(items);
        publish(s, ev);
        Some(ck)
    }
}
