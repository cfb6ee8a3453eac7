//! The incident parts' storage on both backends: each step's rows written together, claims that
//! hand a delivery out once, and (PostgreSQL) two instances claiming at once.

use super::acknowledgements::store::{AckStore, NewAck};
use super::deliveries::store::{DeliveryStore, Outcome};
use super::deliveries::NewDelivery;
use super::directory::store::DirectoryStore;
use super::lifecycle::store::{LifecycleStore, Stop};
use super::lifecycle::IncidentRow;
use super::spaces::store::{MemberRow, NewLink, SpacesStore, SyncedMember};
use crate::model::incident::{AckAnswer, Channel, DeliveryStatus, DirectoryPerson, ExternalResponder, TimelineKind};
use crate::store::{Store, StoreError};
use time::OffsetDateTime;

fn incident(room_id: &str) -> IncidentRow {
    IncidentRow {
        id: 0,
        room_id: room_id.into(),
        space_title: "INC Payments".into(),
        name: "Outage".into(),
        commander: "Cora".into(),
        commander_person_id: "p-cora".into(),
        meeting_link: "https://meet/1".into(),
        meeting_number: "123".into(),
        toll_number: "+1 555".into(),
        ack_salt: "salt".into(),
        started_at: OffsetDateTime::now_utc(),
        stopped_at: None,
    }
}

fn delivery(responder_id: i64, name: &str, channel: Channel) -> NewDelivery {
    NewDelivery { responder_id, responder_name: name.into(), channel, address: format!("{name}@{channel}") }
}

fn ack_hash(i: &IncidentRow, responder_id: i64) -> String {
    format!("hash-{}-{responder_id}", i.id)
}

/// Starts an incident in `room_id` notifying `items` (acknowledgements for responders 1 and 2).
async fn start(store: &Store, room_id: &str, items: &[NewDelivery]) -> Result<i64, StoreError> {
    let acks = |i: &IncidentRow| {
        vec![
            NewAck { responder_id: 1, name: "alice".into(), token_hash: ack_hash(i, 1) },
            NewAck { responder_id: 2, name: "Bob".into(), token_hash: ack_hash(i, 2) },
        ]
    };
    LifecycleStore::new(store.clone()).start(&incident(room_id), &acks, items, "Cora started").await
}

fn person(id: &str, name: &str) -> DirectoryPerson {
    DirectoryPerson {
        person_id: id.into(),
        display_name: name.into(),
        email: format!("{}@example.com", name.to_lowercase()),
        sms_number: Some("+15550001".into()),
        voice_number: None,
    }
}

fn member(p: DirectoryPerson, membership: &str, pre_if_first: bool, pre_otherwise: bool) -> SyncedMember {
    SyncedMember { person: p, membership_id: membership.into(), pre_existing_if_first: pre_if_first, pre_existing_otherwise: pre_otherwise }
}

crate::both_backends! {
    async fn an_incident_starts_with_its_acknowledgements_deliveries_and_entry_and_a_second_in_the_space_is_refused(store) {
        let items = [delivery(1, "alice", Channel::Webex), delivery(1, "alice", Channel::Sms), delivery(2, "Bob", Channel::Webex)];
        let id = start(&store, "room-1", &items).await.unwrap();
        let lifecycle = LifecycleStore::new(store.clone());
        assert_eq!(lifecycle.open_incident("room-1").await.unwrap().map(|i| i.id), Some(id));
        assert_eq!(lifecycle.open_incidents().await.unwrap().len(), 1);
        let timeline = lifecycle.timeline(id).await.unwrap();
        assert_eq!((timeline.len(), timeline[0].kind, timeline[0].detail.as_str()), (1, TimelineKind::Started, "Cora started"));
        let acks = AckStore::new(store.clone()).acks(id).await.unwrap();
        assert_eq!(acks.iter().map(|a| a.responder_name.as_str()).collect::<Vec<_>>(), ["alice", "Bob"], "by name, ignoring case");
        let views = DeliveryStore::new(store.clone()).views(id).await.unwrap();
        assert_eq!(views.len(), 3);
        assert!(views.iter().all(|v| v.status == DeliveryStatus::Queued && v.round == 0 && v.attempts == 0));

        match start(&store, "room-1", &items).await {
            Err(StoreError::Db(sqlx::Error::Database(d))) => assert!(d.is_unique_violation()),
            other => panic!("a second open incident in the space: {other:?}"),
        }
        assert_eq!(lifecycle.history(10).await.unwrap().len(), 1, "nothing of the refused start was kept");
        assert_eq!(DeliveryStore::new(store.clone()).next_round(id, 1).await.unwrap(), 1);
        assert_eq!(DeliveryStore::new(store.clone()).next_round(id, 9).await.unwrap(), 0);
    }

    async fn a_claimed_delivery_is_handed_out_once_and_its_outcome_lands_with_its_timeline_entry(store) {
        let items = [delivery(1, "alice", Channel::Webex), delivery(1, "alice", Channel::Sms), delivery(2, "Bob", Channel::Webex)];
        let id = start(&store, "room-1", &items).await.unwrap();
        let deliveries = DeliveryStore::new(store.clone());
        let mut claimed = deliveries.claim_due(10).await.unwrap();
        assert_eq!(claimed.len(), 3);
        assert!(claimed.iter().all(|d| d.attempts == 1 && !d.maybe_arrived && d.incident_id == id));
        assert!(deliveries.claim_due(10).await.unwrap().is_empty(), "sending rows are not claimed again");
        assert_eq!(deliveries.next_due().await.unwrap(), None);
        claimed.sort_by_key(|d| d.id);
        let (sent, retried, cut) = (&claimed[0], &claimed[1], &claimed[2]);

        let ok = Outcome { status: DeliveryStatus::Sent, reason: None, provider_id: Some("msg-1"), event: "Webex to alice: sent" };
        deliveries.finish(sent, ok).await.unwrap();
        deliveries.requeue(retried.id, OffsetDateTime::now_utc() - time::Duration::seconds(1), "503; retrying", true).await.unwrap();
        assert!(deliveries.next_due().await.unwrap().is_some());
        let again = deliveries.claim_due(10).await.unwrap();
        assert_eq!(again.iter().map(|d| (d.id, d.attempts, d.maybe_arrived)).collect::<Vec<_>>(), [(retried.id, 2, true)]);
        assert_eq!(again[0].send_key, retried.send_key, "a retry carries the same key");
        let failed = Outcome { status: DeliveryStatus::Failed, reason: Some("refused"), provider_id: None, event: "SMS to alice failed" };
        deliveries.finish(&again[0], failed).await.unwrap();
        assert_eq!(deliveries.fail_interrupted().await.unwrap(), 1, "the one still sending was cut by a restart");

        let status = |views: &[crate::model::incident::DeliveryView], id: i64| views.iter().find(|v| v.id == id).map(|v| v.status);
        let views = deliveries.views(id).await.unwrap();
        assert_eq!(status(&views, sent.id), Some(DeliveryStatus::Sent));
        assert_eq!(status(&views, retried.id), Some(DeliveryStatus::Failed));
        assert_eq!(status(&views, cut.id), Some(DeliveryStatus::Unknown));
        let lifecycle = LifecycleStore::new(store.clone());
        let kinds: Vec<_> = lifecycle.timeline(id).await.unwrap().into_iter().map(|e| (e.kind, e.detail)).collect();
        assert_eq!(kinds[1..], [(TimelineKind::Delivery, "Webex to alice: sent".into()), (TimelineKind::Delivery, "SMS to alice failed".into())]);

        // A person resends: a failed one under a new key, an unknown one under its own; a sent one never.
        let entry = |was: DeliveryStatus| format!("Cora resent a {was} delivery");
        assert_eq!(lifecycle.retry(retried.id, &entry).await.unwrap(), Some((id, DeliveryStatus::Failed)));
        assert_eq!(lifecycle.retry(cut.id, &entry).await.unwrap(), Some((id, DeliveryStatus::Unknown)));
        assert_eq!(lifecycle.retry(sent.id, &entry).await.unwrap(), None);
        assert_eq!(lifecycle.retry(9999, &entry).await.unwrap(), None);
        let resent = deliveries.claim_due(10).await.unwrap();
        let key = |id: i64| resent.iter().find(|d| d.id == id).map(|d| (d.send_key.clone(), d.attempts, d.maybe_arrived));
        let (failed_key, attempts, maybe) = key(retried.id).unwrap();
        assert!(failed_key != retried.send_key && attempts == 1 && !maybe, "a failed one starts over under a new key");
        assert_eq!(key(cut.id), Some((cut.send_key.clone(), 1, true)), "an unknown one keeps its key and may have arrived");
        let retries = lifecycle.timeline(id).await.unwrap().into_iter().filter(|e| e.kind == TimelineKind::Retry).count();
        assert_eq!(retries, 2);
    }

    async fn a_stop_unlinks_the_added_cancels_what_was_not_sent_clears_the_name_and_refuses_later_retries(store) {
        let spaces = SpacesStore::new(store.clone());
        spaces.sync_space("room-1", "INC Payments", &[member(person("p-a", "Alice"), "m-a", false, false)], &[], "cora").await.unwrap();
        assert!(spaces.set_incident_name("room-1", "Outage").await.unwrap());
        let rid = spaces.members("room-1").await.unwrap()[0].responder_id;
        let id = start(&store, "room-1", &[delivery(rid, "Alice", Channel::Webex), delivery(rid, "Alice", Channel::Sms)]).await.unwrap();
        let deliveries = DeliveryStore::new(store.clone());
        let one = deliveries.claim_due(1).await.unwrap();
        let failed = Outcome { status: DeliveryStatus::Failed, reason: Some("refused"), provider_id: None, event: "failed" };
        deliveries.finish(&one[0], failed).await.unwrap();

        let lifecycle = LifecycleStore::new(store.clone());
        lifecycle.stop(Stop { incident_id: id, room_id: "room-1", by: "Cora", unlinked: &[rid], event: "Cora stopped" }).await.unwrap();
        assert!(lifecycle.open_incident("room-1").await.unwrap().is_none());
        assert!(lifecycle.incident(id).await.unwrap().unwrap().stopped_at.is_some());
        assert!(spaces.members("room-1").await.unwrap().is_empty());
        assert_eq!(spaces.space_title("room-1").await.unwrap(), Some(("INC Payments".into(), String::new())));
        let views = deliveries.views(id).await.unwrap();
        assert!(views.iter().all(|v| v.status == DeliveryStatus::Failed));
        assert!(views.iter().any(|v| v.reason.as_deref() == Some("the incident was stopped before it went out")));
        assert!(deliveries.claim_due(10).await.unwrap().is_empty());
        assert_eq!(lifecycle.timeline(id).await.unwrap().last().map(|e| e.kind), Some(TimelineKind::Stopped));
        assert_eq!(lifecycle.retry(one[0].id, &|_| "retry".to_string()).await.unwrap(), None, "the incident is over");
        // A new incident may start in the space now.
        assert!(start(&store, "room-1", &[]).await.is_ok());
    }

    async fn an_answer_is_recorded_with_its_timeline_entry(store) {
        let id = start(&store, "room-1", &[]).await.unwrap();
        let acks = AckStore::new(store.clone());
        let hash = format!("hash-{id}-2");
        let row = acks.ack_by_hash(&hash).await.unwrap().unwrap();
        assert_eq!((row.incident_id, row.responder_name.as_str(), row.answer), (id, "Bob", None));
        assert!(acks.ack_by_hash("nope").await.unwrap().is_none());
        acks.answer(&hash, id, AckAnswer::Coming, "Bob: On my way").await.unwrap();
        assert_eq!(acks.ack_by_hash(&hash).await.unwrap().unwrap().answer, Some(AckAnswer::Coming));
        let views = acks.acks(id).await.unwrap();
        let bob = views.iter().find(|a| a.responder_id == 2).unwrap();
        assert!(bob.answer == Some(AckAnswer::Coming) && bob.answered_at.is_some());
        let last = LifecycleStore::new(store.clone()).timeline(id).await.unwrap().pop().unwrap();
        assert_eq!((last.kind, last.detail.as_str()), (TimelineKind::Ack, "Bob: On my way"));
        // A reminder issues no second acknowledgement for the same responder.
        let lifecycle = LifecycleStore::new(store.clone());
        let i = lifecycle.incident(id).await.unwrap().unwrap();
        let again = NewAck { responder_id: 2, name: "Bob".into(), token_hash: ack_hash(&i, 2) };
        lifecycle.remind(id, &again, 1, &[delivery(2, "Bob", Channel::Sms)], "Cora reminded Bob").await.unwrap();
        assert_eq!(acks.acks(id).await.unwrap().len(), 2);
        assert_eq!(acks.ack_by_hash(&hash).await.unwrap().unwrap().answer, Some(AckAnswer::Coming), "the answer stays");
        let views = DeliveryStore::new(store.clone()).views(id).await.unwrap();
        assert_eq!(views.iter().map(|v| (v.round, v.channel)).collect::<Vec<_>>(), [(1, Channel::Sms)]);
    }

    async fn a_space_sync_links_its_members_keeps_known_links_and_unlinks_those_gone(store) {
        let directory = DirectoryStore::new(store.clone());
        directory.replace_directory(&[person("p-a", "Alice"), person("p-b", "bob_smith")]).await.unwrap();
        assert_eq!(directory.directory_state().await.unwrap().0, 2);
        let found = directory.search_directory("ALI", 10).await.unwrap();
        assert_eq!(found.iter().map(|p| p.person_id.as_str()).collect::<Vec<_>>(), ["p-a"], "case is ignored");
        assert_eq!(directory.search_directory("b_s", 10).await.unwrap().len(), 1);
        assert!(directory.search_directory("a_i", 10).await.unwrap().is_empty(), "an underscore is not a wildcard");
        assert_eq!(directory.directory_person("p-b").await.unwrap().map(|p| p.display_name), Some("bob_smith".into()));
        directory.replace_directory(&[person("p-a", "Alice")]).await.unwrap();
        assert_eq!(directory.directory_state().await.unwrap().0, 1, "people who left the org drop out");

        let spaces = SpacesStore::new(store.clone());
        let first = [member(person("p-a", "Alice"), "m-a", true, false), member(person("p-b", "Bob"), "m-b", true, false)];
        spaces.sync_space("room-1", "INC Payments", &first, &[], "cora").await.unwrap();
        let members = spaces.members("room-1").await.unwrap();
        assert_eq!(members.len(), 2);
        assert!(members.iter().all(|m| m.pre_existing), "on the first sync, everyone there was there before");
        let ids: Vec<i64> = members.iter().map(|m| m.responder_id).collect();
        let responders = directory.responders(&ids).await.unwrap();
        let bob = responders.iter().find(|r| r.person_id.as_deref() == Some("p-b")).unwrap().id;

        let later = [member(person("p-a", "Alice"), "m-a2", false, false), member(person("p-c", "Cy"), "m-c", true, false)];
        spaces.sync_space("room-1", "INC Payments (renamed)", &later, &[bob], "cora").await.unwrap();
        let members = spaces.members("room-1").await.unwrap();
        assert_eq!(members.len(), 2);
        let alice = members.iter().find(|m| m.membership_id.as_deref() == Some("m-a2")).expect("a known link takes the new membership id");
        assert!(alice.pre_existing, "and keeps the rest");
        assert!(members.iter().any(|m| m.membership_id.as_deref() == Some("m-c") && !m.pre_existing), "a later sync uses the later flag");
        assert_eq!(spaces.space_title("room-1").await.unwrap().map(|t| t.0), Some("INC Payments (renamed)".into()));

        spaces.add_internal("room-1", &person("p-d", "Dee"), NewLink { membership_id: Some("m-d"), ..Default::default() }, "cora").await.unwrap();
        assert_eq!(spaces.members("room-1").await.unwrap().len(), 3);

        let mut e = ExternalResponder { id: 0, name: "Ext".into(), email: None, sms_number: Some("+15550002".into()), voice_number: Some("+15550003".into()) };
        e.id = directory.insert_external(&e).await.unwrap();
        let link = NewLink { membership_id: None, pre_existing: false, send_sms: true, send_voice: true };
        spaces.link("room-1", e.id, link, "cora").await.unwrap();
        spaces.set_channel("room-1", e.id, Channel::Voice, false).await.unwrap();
        let ext = |members: Vec<MemberRow>| members.into_iter().find(|m| m.responder_id == e.id).map(|m| (m.send_sms, m.send_voice));
        assert_eq!(ext(spaces.members("room-1").await.unwrap()), Some((true, false)));
        spaces.set_channel("room-1", e.id, Channel::Voice, true).await.unwrap();
        let without_sms = ExternalResponder { sms_number: None, ..e.clone() };
        assert!(directory.update_external(&without_sms).await.unwrap());
        assert_eq!(ext(spaces.members("room-1").await.unwrap()), Some((false, true)), "a channel without a number is turned off");
        assert!(!directory.update_external(&ExternalResponder { id: alice.responder_id, ..without_sms.clone() }).await.unwrap(), "not an external");
        assert_eq!(directory.externals().await.unwrap(), [without_sms]);
        assert!(directory.delete_external(e.id).await.unwrap());
        assert_eq!(ext(spaces.members("room-1").await.unwrap()), None, "its links go with it");
        spaces.unlink("room-1", alice.responder_id).await.unwrap();
        assert_eq!(spaces.members("room-1").await.unwrap().len(), 2);
    }
}

/// Two instances' workers claiming from one queue at once, each in small batches until nothing
/// is left: every delivery is claimed, none by both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_claiming_at_once_on_postgres_never_get_the_same_delivery() {
    use crate::store::testing::{TestBackend, TestDb};
    let db = TestDb::fresh(TestBackend::Postgres).await;
    let items: Vec<NewDelivery> = (0..120).map(|r| delivery(r, "r", Channel::Webex)).collect();
    start(&db.store, "room-1", &items).await.unwrap();
    let other = Store::connect(&db.url).await.unwrap();
    // The three start claiming together (not one after the other has drained the queue).
    let together = std::sync::Arc::new(tokio::sync::Barrier::new(3));
    let drain = |store: Store| {
        let together = together.clone();
        async move {
            let deliveries = DeliveryStore::new(store);
            let mut ids = Vec::new();
            together.wait().await;
            loop {
                let batch = deliveries.claim_due(3).await.unwrap();
                if batch.is_empty() {
                    return ids;
                }
                ids.extend(batch.into_iter().map(|d| d.id));
            }
        }
    };
    let (a, b, c) = (tokio::spawn(drain(db.store.clone())), tokio::spawn(drain(other.clone())), tokio::spawn(drain(other.clone())));
    let (a, b, c) = (a.await.unwrap(), b.await.unwrap(), c.await.unwrap());
    let (mine, theirs) = (a.len(), b.len() + c.len());
    assert!(mine > 0 && theirs > 0, "both instances took part: {mine} / {theirs}");
    let mut all: Vec<i64> = a.into_iter().chain(b).chain(c).collect();
    all.sort();
    let claimed = all.len();
    all.dedup();
    assert_eq!(claimed, all.len(), "a delivery was handed to two claimers");
    assert_eq!(all.len(), 120);
    other.close().await;
}
