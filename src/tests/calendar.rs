//! The calendar's CMS user sync against the CMS simulator over real HTTP and a real SQLite file:
//! paging to `total` with short pages, the personal space found from the user's own spaces,
//! the naming fallback with an exact check, and the diff between runs.

use std::time::Duration;
use switchboard::calendar::users::{SyncConfig, UserSync};
use switchboard::cms::{CmsNode, NodeConfig};
use switchboard::sim::cms::{SimCms, SimConfig};
use switchboard::store::Store;

#[tokio::test]
async fn user_sync_pages_finds_personal_spaces_robustly_and_reports_the_diff() {
    let sim = SimCms::start(
        "127.0.0.1:0".parse().unwrap(),
        SimConfig { username: "api".into(), password: "pw".into(), max_page: 7, ..SimConfig::default() },
    )
    .await
    .unwrap();
    let c = &sim.cluster;
    // 23 users (pages of 7): most own an LDAP-made space; one has only a space by the naming
    // convention; one has nothing (and a look-alike space that must not match).
    for i in 0..21 {
        c.add_user(&format!("user{i}@cms.example.com"), &format!("User {i}"), &format!("user{i}@example.com"));
        c.add_co_space(
            &format!("User {i}'s space"),
            &format!("user{i}.space"),
            &format!("100{i:03}"),
            Some(&format!("user{i}@cms.example.com")),
            Some("1234"),
        );
    }
    c.add_user("legacy@cms.example.com", "Legacy", "");
    c.add_co_space("legacy.space", "legacy.space", "200001", None, None);
    c.add_user("jdoe@cms.example.com", "J Doe", "jdoe@example.com");
    c.add_co_space("ajdoe.space", "ajdoe.space", "200002", None, None);

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in_dir(dir.path()).await.unwrap();
    store.migrate().await.unwrap();
    let mut nc = NodeConfig::new("cb1", &sim.url(0), "api", "pw");
    nc.timeout = Duration::from_secs(5);
    let node = CmsNode::new(nc).unwrap();
    let cfg = SyncConfig {
        mail_domain: "example.com".into(),
        space_suffix: "space".into(),
        web_app_url: "https://join.example.com".into(),
        concurrency: 4,
    };
    let sync = UserSync::new(store.clone(), cfg, test_key());
    let r = sync.run(&node, "test").await.unwrap();
    assert_eq!((r.users, r.added, r.changed, r.gone, r.no_space), (23, 23, 0, 0, 1), "{r:?}");
    let users = sync.users().await.unwrap();
    let u5 = users.iter().find(|u| u.jid == "user5@cms.example.com").unwrap();
    assert_eq!(u5.mailbox, "user5@example.com");
    assert_eq!((u5.uri.as_deref(), u5.call_id.as_deref(), u5.passcode.as_deref()), (Some("user5.space"), Some("100005"), Some("1234")));
    assert!(u5.web_link.as_deref().unwrap().starts_with("https://join.example.com/meeting/100005?secret="));
    let legacy = sync.by_mailbox("legacy@example.com").await.unwrap().expect("mailbox from the JID when there is no email");
    assert_eq!(legacy.uri.as_deref(), Some("legacy.space"), "the naming fallback");
    let jdoe = users.iter().find(|u| u.jid == "jdoe@cms.example.com").unwrap();
    assert_eq!(jdoe.space_id, None, "ajdoe.space is not jdoe's");
    let asked: Vec<String> = sim.node(0).requests().into_iter().filter(|r| r.path == "/api/v1/users").map(|r| r.query).collect();
    assert!(asked.len() >= 4, "paged through short pages: {asked:?}");

    // Second run: one user changed their space, one left, one joined.
    let s5 = u5.space_id.clone().unwrap();
    let client = reqwest::Client::new();
    let res = client
        .put(format!("{}/api/v1/coSpaces/{s5}", sim.url(0)))
        .basic_auth("api", Some("pw"))
        .form(&[("passcode", "9999")])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let gone_id = sim.cluster.user_id("user7@cms.example.com").unwrap();
    sim.cluster.remove_user(&gone_id);
    c.add_user("new@cms.example.com", "New", "new@example.com");
    let r = sync.run(&node, "test").await.unwrap();
    assert_eq!((r.users, r.added, r.changed, r.gone, r.no_space), (23, 1, 1, 1, 2), "{r:?}");
    assert!(r.diff.iter().any(|d| d.jid == "user5@cms.example.com" && d.what == switchboard::model::calendar::DiffKind::Changed));
    assert!(r.diff.iter().any(|d| d.jid == "user7@cms.example.com" && d.what == switchboard::model::calendar::DiffKind::Gone));
    let runs: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, added FROM calendar_sync_runs ORDER BY id").fetch_all(store.pool()).await.unwrap();
    assert_eq!(runs, vec![("done".to_string(), 23), ("done".to_string(), 1)]);
}

/// Users synced from a CMS simulator into a fresh SQLite file, for the Exchange tests:
/// `user1@cms.example.com` … `user{n}@…` with mailboxes `user{i}@{domain}`; those `with_space`
/// picks own the personal space `user{i}.space` with call ID `{call_prefix}{i}`.
pub struct Synced {
    pub cms: SimCms,
    pub store: Store,
    pub users: std::sync::Arc<UserSync>,
    _dir: tempfile::TempDir,
}

pub async fn synced(domain: &str, n: usize, call_prefix: &str, with_space: impl Fn(usize) -> bool) -> Synced {
    let cms =
        SimCms::start("127.0.0.1:0".parse().unwrap(), SimConfig { username: "api".into(), password: "pw".into(), ..SimConfig::default() })
            .await
            .unwrap();
    for i in 1..=n {
        let jid = format!("user{i}@cms.example.com");
        cms.cluster.add_user(&jid, &format!("User {i}"), &format!("user{i}@{domain}"));
        if with_space(i) {
            cms.cluster.add_co_space(
                &format!("User {i}"),
                &format!("user{i}.space"),
                &format!("{call_prefix}{i}"),
                Some(&jid),
                Some("2468"),
            );
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in_dir(dir.path()).await.unwrap();
    store.migrate().await.unwrap();
    let node = CmsNode::new(NodeConfig::new("cb1", &cms.url(0), "api", "pw")).unwrap();
    let users = std::sync::Arc::new(UserSync::new(
        store.clone(),
        SyncConfig {
            mail_domain: domain.into(),
            space_suffix: "space".into(),
            web_app_url: "https://join.example.com".into(),
            concurrency: 4,
        },
        test_key(),
    ));
    users.run(&node, "test").await.unwrap();
    Synced { cms, store, users, _dir: dir }
}

impl Synced {
    /// User `i` (synced without a space) gets the personal space `user{i}.space` named `name`,
    /// and the users are synced again.
    pub async fn give_space(&self, i: usize, name: &str, call_id: &str) {
        let jid = format!("user{i}@cms.example.com");
        self.cms.cluster.add_co_space(name, &format!("user{i}.space"), call_id, Some(&jid), Some("2468"));
        let node = CmsNode::new(NodeConfig::new("cb1", &self.cms.url(0), "api", "pw")).unwrap();
        self.users.run(&node, "test").await.unwrap();
    }
}

/// A coSpace name is CMS data anyone with a space can set: in the HTML body Exchange sends to
/// every attendee it must arrive as text, never as markup.
pub const HOSTILE_SPACE: &str = "<img src=x onerror=alert(1)>";

pub fn assert_space_name_escaped(body: &str) {
    assert!(body.contains("&lt;img src=x onerror=alert(1)&gt;"), "the name arrives as text: {body}");
    assert!(!body.contains("<img"), "no markup from CMS data: {body}");
}

#[path = "calendar/ews_wire.rs"]
mod ews_wire;
#[path = "calendar/graph_wire.rs"]
mod graph_wire;

mod ews {
    use futures::StreamExt;
    use std::sync::Arc;
    use std::time::{Duration, Instant};
    use switchboard::calendar::exchange::ews::{EventKind, EwsClient};
    use switchboard::calendar::model::MeetingKind;
    use switchboard::calendar::rules::Change;
    use switchboard::calendar::service::Processed;
    use switchboard::calendar::service::{CalendarConfig, CalendarService};
    use switchboard::calendar::users::UserSync;
    use switchboard::calendar::watch::ews::EwsWatcher;
    use switchboard::calendar::ProviderError;
    use switchboard::model::calendar::LogAction;
    use switchboard::sim::ews::{EwsSimConfig, SimEws, SimMeeting, SimRange, SimRecurrence};
    use switchboard::store::Store;
    use switchboard::workers::{WorkerSpec, Workers};
    use time::OffsetDateTime;

    struct World {
        ews: SimEws,
        store: Store,
        users: Arc<UserSync>,
        _synced: super::Synced,
    }

    /// Users 1 and 2 own personal spaces (call IDs 900001, 900002); user 3 has none.
    async fn world() -> World {
        let synced = super::synced("example.com", 3, "90000", |i| i != 3).await;
        let ews = SimEws::start("127.0.0.1:0".parse().unwrap(), EwsSimConfig::demo(3)).await.unwrap();
        World { ews, store: synced.store.clone(), users: synced.users.clone(), _synced: synced }
    }

    fn service(w: &World, account: (&str, &str)) -> Arc<CalendarService> {
        let client = EwsClient::new(reqwest::Client::new(), &w.ews.url(), account.0, account.1);
        let cfg = CalendarConfig { sip_domain: "example.com".into(), dial_in: vec!["+1 408 555 0100".into()], ..CalendarConfig::default() };
        Arc::new(CalendarService::new(w.store.clone(), w.users.clone(), client, cfg))
    }

    fn watch(w: &World, svc: &Arc<CalendarService>, account: (&str, &str), mailboxes: &[&str]) -> (Workers, Arc<EwsWatcher>) {
        let client = EwsClient::new(reqwest::Client::new(), &w.ews.url(), account.0, account.1);
        let watcher = Arc::new(EwsWatcher::new(client, svc.clone(), w.store.clone()));
        let workers = Workers::new();
        let (wt, mbs) = (watcher.clone(), mailboxes.iter().map(|m| m.to_string()).collect::<Vec<_>>());
        workers.spawn(WorkerSpec::new("calendar-ews"), move |ctx| wt.clone().run(mbs.clone(), ctx));
        (workers, watcher)
    }

    async fn until(what: &str, f: impl Fn() -> bool) {
        let t = Instant::now();
        while !f() {
            assert!(t.elapsed() < Duration::from_secs(15), "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn soon() -> (OffsetDateTime, OffsetDateTime) {
        let s = OffsetDateTime::now_utc() + time::Duration::hours(2);
        (s, s + time::Duration::hours(1))
    }

    #[tokio::test]
    async fn a_meeting_gets_join_details_by_stream_keeps_them_on_edits_loses_them_with_the_keyword_and_restarts_catch_up_once() {
        let w = world().await;
        let svc = service(&w, ("svc-switchboard", "svc-pass"));
        let (workers, watcher) = watch(&w, &svc, ("svc-switchboard", "svc-pass"), &["user1@example.com", "user2@example.com"]);
        until("the stream", || w.ews.open_streams() >= 1).await;
        let (s, e) = soon();
        let id = w.ews.create_meeting("user1@example.com", "Budget", "Room 4 @CMS", "<html><body><p>Agenda</p></body></html>", s, e);
        until("the invite update", || w.ews.item(&id).is_some_and(|i| i.updates == 1)).await;
        let it = w.ews.item(&id).unwrap();
        assert!(
            it.body.contains("<p>Agenda</p>") && it.body.contains("900001") && it.body.contains("user1.space@example.com"),
            "{}",
            it.body
        );
        assert!(it.sent_to_all, "attendees get the update");
        assert!(it.marker.as_deref().is_some_and(|m| m.starts_with("h=")));
        // The organiser edits the agenda: the block stays, no second write.
        let body = it.body.replace("Agenda", "New agenda");
        w.ews.edit_meeting(&id, None, Some(&body), false);
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(w.ews.item(&id).unwrap().updates, 1, "nothing to change");
        // The keyword goes: the block goes.
        w.ews.edit_meeting(&id, Some("Room 4"), None, false);
        until("the block removed", || w.ews.item(&id).is_some_and(|i| i.updates == 2)).await;
        let it = w.ews.item(&id).unwrap();
        assert!(it.body.contains("New agenda") && !it.body.contains("900001"));
        // The other synced user's meeting is handled as well.
        let none = w.ews.create_meeting("user2@example.com", "x", "@cms", "<p>x</p>", s, e);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(w.ews.item(&none).unwrap().updates, 1, "user2 has a space: handled");
        assert!(watcher.health()[0].connected_since.is_some());

        // Down: two meetings created meanwhile are handled once each after the restart.
        workers.shutdown().await;
        let a = w.ews.create_meeting("user1@example.com", "While down 1", "@cms", "<p>a</p>", s, e);
        let b = w.ews.create_meeting("user2@example.com", "While down 2", "@cms", "<p>b</p>", s, e);
        let (workers, _) = watch(&w, &svc, ("svc-switchboard", "svc-pass"), &["user1@example.com", "user2@example.com"]);
        until("catch-up", || [&a, &b].iter().all(|i| w.ews.item(i).is_some_and(|i| i.updates == 1))).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            (w.ews.item(&a).unwrap().updates, w.ews.item(&b).unwrap().updates, w.ews.item(&id).unwrap().updates),
            (1, 1, 2),
            "exactly once"
        );
        // Exchange forgets the subscriptions: resubscribed, and meetings still arrive.
        w.ews.expire_subscriptions();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let c = w.ews.create_meeting("user1@example.com", "After expiry", "@cms", "<p>c</p>", s, e);
        until("after resubscribing", || w.ews.item(&c).is_some_and(|i| i.updates == 1)).await;
        workers.shutdown().await;
    }

    #[tokio::test]
    async fn a_saved_join_details_template_is_audited_and_a_broken_one_is_refused_unsaved() {
        let w = world().await;
        let svc = service(&w, ("svc-switchboard", "svc-pass"));
        let preview = svc.save_template("de", "<p>Konferenz {{ call_id }}</p>", "ann").await.unwrap();
        assert!(preview.contains("100200300"), "{preview}");
        assert!(svc.save_template("fr", "<p>{{ nope }}</p>", "ann").await.is_err());
        let audit = switchboard::store::AuditLog::new(w.store.clone());
        let page = audit.page(0, 10, Some(switchboard::model::AuditAction::CalendarTemplates)).await.unwrap();
        assert_eq!(page.total, 1, "only the saved one: {:?}", page.entries);
        assert_eq!((page.entries[0].actor.as_str(), page.entries[0].target.as_deref()), ("ann", Some("de")));
        assert!(svc.templates().await.unwrap().0.contains_key("de") && !svc.templates().await.unwrap().0.contains_key("fr"));
    }

    #[tokio::test]
    async fn join_details_carry_cms_values_as_text_never_as_markup_over_ews() {
        let w = world().await;
        w._synced.give_space(3, super::HOSTILE_SPACE, "900003").await;
        let svc = service(&w, ("svc-switchboard", "svc-pass"));
        let (workers, _) = watch(&w, &svc, ("svc-switchboard", "svc-pass"), &["user3@example.com"]);
        until("the stream", || w.ews.open_streams() >= 1).await;
        let (s, e) = soon();
        let id = w.ews.create_meeting("user3@example.com", "Plan", "@cms", "<html><body><p>Agenda</p></body></html>", s, e);
        until("the invite update", || w.ews.item(&id).is_some_and(|i| i.updates == 1)).await;
        let body = w.ews.item(&id).unwrap().body;
        assert!(body.contains("900003"), "{body}");
        super::assert_space_name_escaped(&body);
        workers.shutdown().await;
    }

    /// Five weeks ago, weekly on the same weekday, `range` (the first occurrence is long past).
    fn weekly_from_last_month(range: SimRange) -> (OffsetDateTime, OffsetDateTime, SimRecurrence) {
        let first = (OffsetDateTime::now_utc() - time::Duration::weeks(5)).replace_nanosecond(0).unwrap();
        (first, first + time::Duration::minutes(30), SimRecurrence::weekly(&[first.weekday()], range))
    }

    #[tokio::test]
    async fn a_weekly_series_begun_last_month_gets_the_block_once_on_its_master_and_occurrences_and_attendee_copies_are_left_alone() {
        let w = world().await;
        let svc = service(&w, ("svc-switchboard", "svc-pass"));
        let (workers, _) = watch(&w, &svc, ("svc-switchboard", "svc-pass"), &["user1@example.com", "user2@example.com"]);
        until("the stream", || w.ews.open_streams() >= 1).await;
        let (first, end, rec) = weekly_from_last_month(SimRange::EndDate((OffsetDateTime::now_utc() + time::Duration::days(180)).date()));
        let id = w.ews.create(SimMeeting {
            organizer: "user1@example.com".into(),
            attendees: vec!["user2@example.com".into()],
            subject: "Weekly sync".into(),
            location: "Room 4 @cms".into(),
            body_html: "<html><body><p>Weekly</p></body></html>".into(),
            start: first,
            end,
            recurrence: Some(rec),
        });
        until("the master written", || w.ews.item(&id).is_some_and(|i| i.updates == 1)).await;
        let master = w.ews.item(&id).unwrap();
        assert_eq!((master.item_type, master.start), ("RecurringMaster", first), "the master's Start is its first, past, occurrence");
        assert!(master.body.contains("<p>Weekly</p>") && master.body.contains("900001") && master.sent_to_all, "{}", master.body);
        // Exchange shows the occurrences with ids of their own; they are not items to write.
        let client = EwsClient::new(reqwest::Client::new(), &w.ews.url(), "svc-switchboard", "svc-pass");
        let second = client.meeting("user1@example.com", &w.ews.occurrence_id(&id, 2)).await.unwrap();
        assert_eq!((second.kind, second.start), (MeetingKind::Occurrence, Some(first + time::Duration::weeks(1))));

        // The organiser moves one week: an exception, and the master modified with it.
        let ex = w.ews.edit_occurrence(&id, 6, "<p>This week in room 5</p>").unwrap();
        // A later meeting on the same stream: once it is handled, the events before it were too.
        let (s, e) = soon();
        let later = w.ews.create_meeting("user1@example.com", "Later", "@cms", "<p>x</p>", s, e);
        until("the later meeting", || w.ews.item(&later).is_some_and(|i| i.updates == 1)).await;
        assert_eq!(w.ews.item(&id).unwrap().updates, 1, "the master written once");
        let ex = w.ews.item(&ex).unwrap();
        assert_eq!((ex.item_type, ex.updates, ex.body.as_str()), ("Exception", 0, "<p>This week in room 5</p>"), "the exception untouched");
        // The attendee's copy got the organiser's update (with the details) and no write of ours.
        let copy = w.ews.items_of("user2@example.com").into_iter().find(|i| i.uid == master.uid).expect("the attendee's copy");
        assert!(copy.is_attendee_copy() && copy.body.contains("900001"), "{}", copy.body);
        assert_eq!(copy.updates, 0, "an attendee's copy is never written");
        let log = svc.log_entries(50).await.unwrap();
        assert!(log.iter().any(|l| l.item_id == ex.id && l.detail.contains("occurrence")), "{log:?}");
        assert!(log.iter().any(|l| l.item_id == copy.id && l.detail.contains("attendee")), "{log:?}");
        workers.shutdown().await;

        // A series that ended last week is over; one without an end never is.
        let (first, end, rec) = weekly_from_last_month(SimRange::EndDate((OffsetDateTime::now_utc() - time::Duration::days(7)).date()));
        let ended = w.ews.create(SimMeeting {
            organizer: "user1@example.com".into(),
            attendees: vec![],
            subject: "Ended".into(),
            location: "@cms".into(),
            body_html: "<p>e</p>".into(),
            start: first,
            end,
            recurrence: Some(rec.clone()),
        });
        assert_eq!(svc.process("user1@example.com", &ended, None).await.unwrap(), Processed::Left("the meeting is over"));
        let endless = w.ews.create(SimMeeting {
            organizer: "user1@example.com".into(),
            attendees: vec![],
            subject: "Endless".into(),
            location: "@cms".into(),
            body_html: "<p>n</p>".into(),
            start: first,
            end,
            recurrence: Some(SimRecurrence { range: SimRange::NoEnd, ..rec }),
        });
        assert_eq!(svc.process("user1@example.com", &endless, None).await.unwrap(), Processed::Written(Change::Inserted));
    }

    #[tokio::test]
    async fn a_write_racing_the_organisers_edit_is_retried_and_keeps_the_edit_and_plain_text_bodies_become_html() {
        let w = world().await;
        let svc = service(&w, ("svc-switchboard", "svc-pass"));
        let (s, e) = soon();
        let id = w.ews.create_meeting("user1@example.com", "Race", "@cms", "<html><body><p>Plan</p></body></html>", s, e);
        w.ews.faults().edit_before_next_update();
        let r = svc.process("user1@example.com", &id, None).await.unwrap();
        assert_eq!(r, switchboard::calendar::service::Processed::Written(switchboard::calendar::rules::Change::Inserted));
        let it = w.ews.item(&id).unwrap();
        assert!(it.body.contains("Organiser's late edit") && it.body.contains("900001"), "the edit kept, the block in: {}", it.body);
        assert_eq!(it.updates, 1);

        let t = w.ews.create_meeting("user2@example.com", "Text", "@cms", "", s, e);
        w.ews.edit_meeting(&t, None, Some("Line 1\nLine <2>"), true);
        svc.process("user2@example.com", &t, None).await.unwrap();
        let it = w.ews.item(&t).unwrap();
        assert!(it.body_html && it.body.contains("Line 1<br>") && it.body.contains("Line &lt;2&gt;"), "{}", it.body);

        // A failure is logged; a retry from the log processes the meeting again.
        let f = w.ews.create_meeting("user1@example.com", "Flaky", "@cms", "<p>f</p>", s, e);
        w.ews.faults().set_busy_every(1);
        assert!(svc.process("user1@example.com", &f, None).await.is_err());
        w.ews.faults().set_busy_every(0);
        let log = svc.log_entries(10).await.unwrap();
        let failed =
            log.iter().find(|l| l.item_id == f && l.action == LogAction::Failed).expect("the failure is on the page with its reason");
        assert!(failed.detail.contains("busy"), "{}", failed.detail);
        assert_eq!(w.ews.item(&f).unwrap().updates, 0);
        svc.retry(failed.id).await.unwrap();
        assert_eq!(w.ews.item(&f).unwrap().updates, 1, "retried from the log");
        assert!(svc.retry(i64::MAX).await.is_err(), "an unknown log entry");
        let n = w.ews.create_meeting("user3@example.com", "No space", "@cms", "<p>x</p>", s, e);
        let r = svc.process("user3@example.com", &n, None).await.unwrap();
        assert!(matches!(r, switchboard::calendar::service::Processed::Left(why) if why.contains("personal space")), "{r:?}");
        assert_eq!(w.ews.item(&n).unwrap().updates, 0);
    }

    #[tokio::test]
    async fn a_mailbox_without_impersonation_rights_is_reported_and_the_others_go_on() {
        let w = world().await;
        let svc = service(&w, ("limited", "limited-pass"));
        let (workers, watcher) = watch(&w, &svc, ("limited", "limited-pass"), &["user1@example.com", "user2@example.com"]);
        until("the stream", || w.ews.open_streams() >= 1).await;
        assert_eq!(watcher.health()[0].no_impersonation, vec!["user2@example.com".to_string()]);
        let (s, e) = soon();
        let id = w.ews.create_meeting("user1@example.com", "Allowed", "@cms", "<p>x</p>", s, e);
        until("the allowed mailbox", || w.ews.item(&id).is_some_and(|i| i.updates == 1)).await;
        workers.shutdown().await;
    }

    #[tokio::test]
    async fn events_between_subscribe_and_the_stream_are_kept_for_the_next_connection_as_exchange_does() {
        let w = world().await;
        let client = EwsClient::new(reqwest::Client::new(), &w.ews.url(), "svc-switchboard", "svc-pass");
        let (sub, cookie) = client.subscribe("user1@example.com", None).await.unwrap();
        let (s, e) = soon();
        let id = w.ews.create_meeting("user1@example.com", "Before the stream", "@cms", "<p>x</p>", s, e);
        let stream = client.stream("user1@example.com", std::slice::from_ref(&sub), 1, cookie.as_deref()).await.unwrap();
        futures::pin_mut!(stream);
        let got = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(doc) = stream.next().await {
                if let Some(n) = doc.unwrap().notifications.into_iter().next() {
                    return n;
                }
            }
            panic!("the stream ended without the event");
        })
        .await
        .expect("the queued event arrives on connection");
        assert_eq!((got.subscription_id.as_str(), got.kind, got.item_id.as_str()), (sub.as_str(), EventKind::Created, id.as_str()));
    }

    /// A SOAP request as another client writes it (SoapUI-style prefixes, delegate access through
    /// the folder's mailbox instead of impersonation).
    async fn soap(w: &World, body: &str) -> (u16, String) {
        let envelope = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" \
             xmlns:typ=\"http://schemas.microsoft.com/exchange/services/2006/types\" xmlns:mes=\"http://schemas.microsoft.com/exchange/services/2006/messages\">\
             <soapenv:Header><typ:RequestServerVersion Version=\"Exchange2016\"/></soapenv:Header><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
        );
        let res = reqwest::Client::new()
            .post(w.ews.url())
            .basic_auth("svc-switchboard", Some("svc-pass"))
            .header("content-type", "text/xml; charset=utf-8")
            .body(envelope)
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }

    const CAL: &str = "<mes:ParentFolderIds><typ:DistinguishedFolderId Id=\"calendar\"><typ:Mailbox><typ:EmailAddress>user1@example.com</typ:EmailAddress></typ:Mailbox></typ:DistinguishedFolderId></mes:ParentFolderIds>";

    #[tokio::test]
    async fn other_clients_find_create_and_get_folders_as_in_exchange_and_a_stream_limit_is_refused() {
        let w = world().await;
        // CreateItem as Outlook sends it (SendMeetingInvitations), into the delegate's calendar.
        let (status, xml) = soap(
            &w,
            "<mes:CreateItem SendMeetingInvitations=\"SendToAllAndSaveCopy\"><mes:SavedItemFolderId><typ:DistinguishedFolderId Id=\"calendar\">\
             <typ:Mailbox><typ:EmailAddress>user1@example.com</typ:EmailAddress></typ:Mailbox></typ:DistinguishedFolderId></mes:SavedItemFolderId>\
             <mes:Items><typ:CalendarItem><typ:Subject>From another client</typ:Subject><typ:Body BodyType=\"HTML\">&lt;p&gt;x&lt;/p&gt;</typ:Body>\
             <typ:Start>2030-01-07T10:00:00Z</typ:Start><typ:End>2030-01-07T11:00:00Z</typ:End><typ:Location>@cms</typ:Location></typ:CalendarItem></mes:Items></mes:CreateItem>",
        )
        .await;
        assert_eq!(status, 200, "{xml}");
        assert!(xml.contains("ResponseClass=\"Success\"") && xml.contains("<t:ItemId"), "{xml}");
        for day in 8..=12 {
            w.ews.create_meeting(
                "user1@example.com",
                &format!("Day {day}"),
                "Room",
                "<p>y</p>",
                time::macros::datetime!(2030-01-01 09:00 UTC) + time::Duration::days(day - 1),
                time::macros::datetime!(2030-01-01 10:00 UTC) + time::Duration::days(day - 1),
            );
        }
        // GetFolder of the calendar: its count.
        let (_, xml) = soap(
            &w,
            &format!(
                "<mes:GetFolder><mes:FolderShape><typ:BaseShape>Default</typ:BaseShape></mes:FolderShape>{}</mes:GetFolder>",
                CAL.replace("ParentFolderIds", "FolderIds")
            ),
        )
        .await;
        assert!(xml.contains("<t:CalendarFolder>") && xml.contains("<t:TotalCount>6</t:TotalCount>"), "{xml}");
        // CalendarView over the week, cut at 4: the first four by start, and not the last.
        let (_, xml) = soap(
            &w,
            &format!("<mes:FindItem Traversal=\"Shallow\"><mes:ItemShape><typ:BaseShape>Default</typ:BaseShape></mes:ItemShape>\
                      <mes:CalendarView MaxEntriesReturned=\"4\" StartDate=\"2030-01-07T00:00:00Z\" EndDate=\"2030-01-14T00:00:00Z\"/>{CAL}</mes:FindItem>"),
        )
        .await;
        assert!(xml.contains("TotalItemsInView=\"6\"") && xml.contains("IncludesLastItemInRange=\"false\""), "{xml}");
        assert_eq!(xml.matches("<t:CalendarItem>").count(), 4);
        assert!(xml.contains("From another client") && !xml.contains("Day 12"), "{xml}");
        // Indexed paging: the second page of four starts at 4 and ends the view.
        let (_, xml) = soap(
            &w,
            &format!(
                "<mes:FindItem Traversal=\"Shallow\"><mes:ItemShape><typ:BaseShape>IdOnly</typ:BaseShape></mes:ItemShape>\
                      <mes:IndexedPageItemView MaxEntriesReturned=\"4\" Offset=\"4\" BasePoint=\"Beginning\"/>{CAL}</mes:FindItem>"
            ),
        )
        .await;
        assert!(xml.contains("IndexedPagingOffset=\"6\"") && xml.contains("IncludesLastItemInRange=\"true\""), "{xml}");
        assert_eq!(xml.matches("<t:CalendarItem>").count(), 2);
        // Without impersonation or a mailbox: Exchange's own complaint.
        let (_, xml) = soap(&w, "<mes:FindItem Traversal=\"Shallow\"><mes:ItemShape><typ:BaseShape>IdOnly</typ:BaseShape></mes:ItemShape><mes:ParentFolderIds><typ:DistinguishedFolderId Id=\"calendar\"/></mes:ParentFolderIds></mes:FindItem>").await;
        assert!(xml.contains("ErrorMissingEmailAddress"), "{xml}");

        // Exchange's limit of concurrent connections: the stream over the limit is refused.
        w.ews.faults().set_stream_limit(1);
        let client = EwsClient::new(reqwest::Client::new(), &w.ews.url(), "svc-switchboard", "svc-pass");
        let (sub, _) = client.subscribe("user1@example.com", None).await.unwrap();
        let first = client.stream("user1@example.com", std::slice::from_ref(&sub), 1, None).await.unwrap();
        futures::pin_mut!(first);
        assert!(first.next().await.unwrap().is_ok());
        let second = client.stream("user1@example.com", std::slice::from_ref(&sub), 1, None).await.unwrap();
        futures::pin_mut!(second);
        let refused = second.next().await.unwrap();
        assert!(matches!(&refused, Err(ProviderError::Refused { code, .. }) if code == "ErrorExceededConnectionCount"), "{refused:?}");
    }

    #[tokio::test]
    async fn with_basic_switched_off_ntlm_signs_in_per_connection_and_a_wrong_password_is_refused() {
        let w = world().await;
        w.ews.faults().set_ntlm_only(true);
        let basic = EwsClient::new(reqwest::Client::new(), &w.ews.url(), "svc-switchboard", "svc-pass");
        assert_eq!(basic.subscribe("user1@example.com", None).await.unwrap_err(), ProviderError::Unauthorized);
        let wrong = EwsClient::ntlm(&w.ews.url(), "EXAMPLE\\svc-switchboard", "not-the-password", 2, Default::default()).unwrap();
        assert_eq!(wrong.subscribe("user1@example.com", None).await.unwrap_err(), ProviderError::Unauthorized);

        // The whole path over NTLM: stream, read, write.
        let ntlm = EwsClient::ntlm(&w.ews.url(), "EXAMPLE\\svc-switchboard", "svc-pass", 2, Default::default()).unwrap();
        let cfg = CalendarConfig { sip_domain: "example.com".into(), ..CalendarConfig::default() };
        let svc = Arc::new(CalendarService::new(w.store.clone(), w.users.clone(), ntlm.clone(), cfg));
        let watcher = Arc::new(EwsWatcher::new(ntlm, svc, w.store.clone()));
        let workers = Workers::new();
        let wt = watcher.clone();
        workers.spawn(WorkerSpec::new("calendar-ews"), move |ctx| wt.clone().run(vec!["user1@example.com".to_string()], ctx));
        until("the stream", || w.ews.open_streams() >= 1).await;
        let (s, e) = soon();
        let ids: Vec<String> =
            (0..5).map(|i| w.ews.create_meeting("user1@example.com", &format!("NTLM {i}"), "@cms", "<p>x</p>", s, e)).collect();
        until("five invites", || ids.iter().all(|id| w.ews.item(id).is_some_and(|i| i.updates == 1))).await;
        assert!(w.ews.item(&ids[0]).unwrap().body.contains("900001"));
        // Signed in per connection, not per request: a handful of handshakes for 5 meetings
        // (subscribe, catch-up, stream, then GetItem/UpdateItem twice each on two lanes).
        let handshakes = w.ews.faults().ntlm_handshakes();
        assert!((2..=6).contains(&handshakes), "{handshakes} handshakes");
        workers.shutdown().await;
    }

    fn count(w: &World, op: &str) -> usize {
        w.ews.requests().iter().filter(|(o, _)| o == op).count()
    }

    #[tokio::test]
    async fn a_busy_exchange_is_waited_out_while_processing_and_a_meeting_it_could_not_serve_is_not_stepped_over() {
        let w = world().await;
        let svc = service(&w, ("svc-switchboard", "svc-pass"));
        let (s, e) = soon();
        // Busy twice on GetItem, once on UpdateItem: each back-off honoured, the meeting written once.
        let id = w.ews.create_meeting("user2@example.com", "Busy", "@cms", "<p>x</p>", s, e);
        w.ews.faults().set_busy_for("GetItem", 2);
        w.ews.faults().set_busy_for("UpdateItem", 1);
        assert_eq!(svc.process("user2@example.com", &id, None).await.unwrap(), Processed::Written(Change::Inserted));
        assert_eq!((count(&w, "GetItem"), count(&w, "UpdateItem"), w.ews.item(&id).unwrap().updates), (3, 2, 1));

        // Two meetings created while Switchboard was down (user1's calendar holds nothing else);
        // at the catch-up Exchange stays busy on the first longer than the retries. The catch-up does not save a SyncState past it: the
        // next one (after the back-off) handles both, each once.
        let a = w.ews.create_meeting("user1@example.com", "While down 1", "@cms", "<p>a</p>", s, e);
        let b = w.ews.create_meeting("user1@example.com", "While down 2", "@cms", "<p>b</p>", s, e);
        w.ews.faults().set_busy_for("GetItem", 5);
        let (workers, watcher) = watch(&w, &svc, ("svc-switchboard", "svc-pass"), &["user1@example.com"]);
        until("both caught up", || [&a, &b].iter().all(|i| w.ews.item(i).is_some_and(|i| i.updates == 1))).await;
        until("the stream", || w.ews.open_streams() >= 1).await;
        assert!(watcher.health()[0].catch_ups >= 1);

        // Busy beyond the retries on a streamed meeting: the watcher starts over, and its catch-up
        // processes the meeting.
        w.ews.faults().set_busy_for("GetItem", 4);
        let c = w.ews.create_meeting("user1@example.com", "Streamed while busy", "@cms", "<p>c</p>", s, e);
        until("the streamed meeting", || w.ews.item(&c).is_some_and(|i| i.updates == 1)).await;
        let d = w.ews.create_meeting("user1@example.com", "After", "@cms", "<p>d</p>", s, e);
        until("the next meeting", || w.ews.item(&d).is_some_and(|i| i.updates == 1)).await;
        for i in [&id, &a, &b, &c] {
            assert_eq!(w.ews.item(i).unwrap().updates, 1, "nothing twice");
        }
        workers.shutdown().await;
    }

    #[tokio::test]
    async fn a_stream_dropped_mid_way_reconnects_and_the_meeting_is_delivered_exactly_once() {
        let w = world().await;
        let svc = service(&w, ("svc-switchboard", "svc-pass"));
        let (workers, watcher) = watch(&w, &svc, ("svc-switchboard", "svc-pass"), &["user1@example.com"]);
        until("the stream", || w.ews.open_streams() >= 1).await;
        let (s, e) = soon();
        // Created as the connection is cut: whether or not the stream carried it, it is handled
        // once (the catch-up after the reconnect finds it too).
        let id = w.ews.create_meeting("user1@example.com", "Dropped", "@cms", "<p>x</p>", s, e);
        w.ews.drop_streams();
        until("the meeting", || w.ews.item(&id).is_some_and(|i| i.updates == 1)).await;
        until("a new stream", || count(&w, "GetStreamingEvents") >= 2 && w.ews.open_streams() >= 1).await;
        // Once a meeting made after the reconnect is handled, everything before it was.
        let later = w.ews.create_meeting("user1@example.com", "On the new stream", "@cms", "<p>y</p>", s, e);
        until("the next meeting", || w.ews.item(&later).is_some_and(|i| i.updates == 1)).await;
        assert_eq!(w.ews.item(&id).unwrap().updates, 1, "exactly once");
        assert!(watcher.health()[0].reconnects >= 1, "the drop counts as a reconnect");
        assert!(count(&w, "Subscribe") >= 2, "subscribed again after the gap");
        workers.shutdown().await;
    }

    #[tokio::test]
    async fn exchange_busy_then_back_means_back_off_and_catch_up_nothing_missed_nothing_twice() {
        let w = world().await;
        let svc = service(&w, ("svc-switchboard", "svc-pass"));
        // Exchange is overloaded from the start: every request answers ErrorServerBusy.
        w.ews.faults().set_busy_every(1);
        let (workers, watcher) = watch(&w, &svc, ("svc-switchboard", "svc-pass"), &["user1@example.com"]);
        let (s, e) = soon();
        let id = w.ews.create_meeting("user1@example.com", "During the outage", "@cms", "<p>x</p>", s, e);
        until("a busy answer seen", || {
            watcher.health().first().is_some_and(|h| h.last_error.as_deref().is_some_and(|m| m.contains("busy")))
        })
        .await;
        assert_eq!(w.ews.item(&id).unwrap().updates, 0);
        // Exchange recovers: the watcher subscribes, catches up, and handles the meeting once.
        w.ews.faults().set_busy_every(0);
        until("the catch-up", || w.ews.item(&id).is_some_and(|i| i.updates == 1)).await;
        let later = w.ews.create_meeting("user1@example.com", "After", "@cms", "<p>y</p>", s, e);
        until("the stream", || w.ews.item(&later).is_some_and(|i| i.updates == 1)).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(w.ews.item(&id).unwrap().updates, 1, "not twice");
        workers.shutdown().await;
    }

    #[tokio::test]
    async fn a_stream_that_goes_silent_makes_the_watcher_stale_and_the_supervisor_starts_it_again() {
        // Keep-alives an hour apart: after its first document the stream says nothing, as a
        // connection stalled somewhere on the network would.
        let synced = super::synced("example.com", 3, "90000", |i| i != 3).await;
        let cfg = EwsSimConfig { keepalive_seconds: 3600, ..EwsSimConfig::demo(3) };
        let ews = SimEws::start("127.0.0.1:0".parse().unwrap(), cfg).await.unwrap();
        let w = World { ews, store: synced.store.clone(), users: synced.users.clone(), _synced: synced };
        let svc = service(&w, ("svc-switchboard", "svc-pass"));
        let client = EwsClient::new(reqwest::Client::new(), &w.ews.url(), "svc-switchboard", "svc-pass");
        let watcher = Arc::new(EwsWatcher::new(client, svc, w.store.clone()));
        let workers = Workers::new();
        let spec = WorkerSpec::new("calendar-ews").restart_when_stale(Duration::from_secs(1));
        workers.spawn(spec, move |ctx| watcher.clone().run(vec!["user1@example.com".to_string()], ctx));
        until("the first stream", || count(&w, "GetStreamingEvents") >= 1).await;
        until("a restart: subscribed again and a new stream", || count(&w, "Subscribe") >= 2 && count(&w, "GetStreamingEvents") >= 2).await;
        let rep = workers.report().into_iter().find(|r| r.name == "calendar-ews").unwrap();
        assert!(rep.restarts >= 1, "{rep:?}");
        assert!(rep.last_panic.as_deref().is_some_and(|p| p.contains("stale heartbeat")), "{rep:?}");
        // Started again, it works: a meeting made now is handled.
        let (s, e) = soon();
        let id = w.ews.create_meeting("user1@example.com", "After the stall", "@cms", "<p>x</p>", s, e);
        until("the meeting", || w.ews.item(&id).is_some_and(|i| i.updates == 1)).await;
        workers.shutdown().await;
    }
}

/// Exchange Online through Graph, against the Graph simulator over real HTTP: the delta query
/// followed over short pages, the link kept in SQLite across a restart, the etag race, expired
/// tokens, throttling, a forgotten delta link, and a mailbox outside the app's access policy.
mod graph {
    use std::sync::Arc;
    use std::time::{Duration, Instant};
    use switchboard::calendar::exchange::graph::GraphClient;
    use switchboard::calendar::service::{CalendarConfig, CalendarService};
    use switchboard::calendar::watch::graph::GraphPoller;
    use switchboard::calendar::watch::WatchError;
    use switchboard::calendar::ProviderError;
    use switchboard::sim::ews::{SimMeeting, SimRange, SimRecurrence};
    use switchboard::sim::graph::{GraphSimConfig, SimGraph};
    use switchboard::store::Store;
    use switchboard::workers::{WorkerSpec, Workers};
    use time::OffsetDateTime;

    struct World {
        graph: SimGraph,
        store: Store,
        svc: Arc<CalendarService>,
        client: GraphClient,
        _synced: super::Synced,
    }

    /// Users 1 and 2 in Exchange Online (`cloud.example.com`), with personal spaces 800001, 800002.
    async fn world(allowed: &[&str]) -> World {
        world_of(2, allowed, |_| true).await
    }

    /// `n` users in Exchange Online; those `with_space` picks own personal spaces `80000{i}`.
    async fn world_of(n: usize, allowed: &[&str], with_space: impl Fn(usize) -> bool) -> World {
        let synced = super::synced("cloud.example.com", n, "80000", with_space).await;
        let cfg = GraphSimConfig { page_max: 3, allowed: allowed.iter().map(|a| a.to_string()).collect(), ..GraphSimConfig::demo(n) };
        let graph = SimGraph::start("127.0.0.1:0".parse().unwrap(), cfg).await.unwrap();
        let client =
            GraphClient::new(reqwest::Client::new(), &graph.token_url(), &graph.api_url(), "switchboard-app", "app-secret").unwrap();
        let cfg = CalendarConfig { sip_domain: "example.com".into(), dial_in: vec!["+1 408 555 0100".into()], ..CalendarConfig::default() };
        let svc = Arc::new(CalendarService::new(synced.store.clone(), synced.users.clone(), client.clone(), cfg));
        World { graph, store: synced.store.clone(), svc, client, _synced: synced }
    }

    fn poller(w: &World) -> GraphPoller {
        GraphPoller::new(w.client.clone(), w.svc.clone(), w.store.clone(), Duration::from_millis(200))
    }

    fn soon() -> (OffsetDateTime, OffsetDateTime) {
        let s = OffsetDateTime::now_utc() + time::Duration::hours(3);
        (s, s + time::Duration::hours(1))
    }

    fn delta_requests(w: &World) -> Vec<String> {
        w.graph.requests().into_iter().filter(|(_, p)| p.contains("/calendarView/delta")).map(|(_, p)| p).collect()
    }

    #[tokio::test]
    async fn join_details_carry_cms_values_as_text_never_as_markup_over_graph() {
        let w = world_of(3, &[], |i| i != 3).await;
        w._synced.give_space(3, super::HOSTILE_SPACE, "800003").await;
        let (s, e) = soon();
        let id = w.graph.create_meeting("user3@cloud.example.com", "Plan", "@cms", "<p>Agenda</p>", s, e);
        assert_eq!(poller(&w).poll("user3@cloud.example.com").await.unwrap(), 1);
        let body = w.graph.event(&id).unwrap().body;
        assert!(body.contains("800003"), "{body}");
        super::assert_space_name_escaped(&body);
    }

    /// A meeting an organiser in California creates through Graph (times in Pacific time): its
    /// real end is in two hours, while its local clock read as UTC would put it hours ago.
    #[tokio::test]
    async fn a_meeting_created_in_pacific_time_gets_join_details_and_is_read_at_its_real_hours() {
        let w = world(&[]).await;
        let start = OffsetDateTime::now_utc() + time::Duration::hours(1);
        let end = start + time::Duration::hours(1);
        let local = |t: OffsetDateTime| {
            let ts = jiff::Timestamp::from_second(t.unix_timestamp()).unwrap();
            ts.to_zoned(jiff::tz::TimeZone::get("America/Los_Angeles").unwrap())
                .datetime()
                .strftime("%Y-%m-%dT%H:%M:%S.0000000")
                .to_string()
        };
        let tok: serde_json::Value = reqwest::Client::new()
            .post(w.graph.token_url())
            .form(&[
                ("client_id", "switchboard-app"),
                ("client_secret", "app-secret"),
                ("grant_type", "client_credentials"),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let created: serde_json::Value = reqwest::Client::new()
            .post(format!("{}/users/user1@cloud.example.com/events", w.graph.api_url()))
            .bearer_auth(tok["access_token"].as_str().unwrap())
            .json(&serde_json::json!({
                "subject": "West coast sync", "location": {"displayName": "@cms"},
                "body": {"contentType": "html", "content": "<p>Agenda</p>"},
                "start": {"dateTime": local(start), "timeZone": "Pacific Standard Time"},
                "end": {"dateTime": local(end), "timeZone": "Pacific Standard Time"},
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = created["id"].as_str().expect("created").to_string();
        assert_eq!(poller(&w).poll("user1@cloud.example.com").await.unwrap(), 1);
        let ev = w.graph.event(&id).unwrap();
        assert_eq!(ev.updates, 1, "written, not left alone as over: {}", ev.body);
        assert!(ev.body.contains("800001"), "{}", ev.body);
        let m = w.client.meeting("user1@cloud.example.com", &id).await.unwrap();
        assert_eq!(m.end.map(|t| t.unix_timestamp()), Some(end.unix_timestamp()));
    }

    #[tokio::test]
    async fn meetings_get_join_details_over_short_delta_pages_and_a_restart_goes_on_from_the_stored_link() {
        let w = world(&[]).await;
        let (s, e) = soon();
        let ids: Vec<String> = (0..7)
            .map(|i| w.graph.create_meeting("user1@cloud.example.com", &format!("Meeting {i}"), "Teams room @cms", "<p>Agenda</p>", s, e))
            .collect();
        let plain = w.graph.create_meeting("user1@cloud.example.com", "No keyword", "Room 2", "<p>x</p>", s, e);
        let p = poller(&w);
        assert_eq!(p.poll("user1@cloud.example.com").await.unwrap(), 8, "eight meetings over pages of three");
        assert!(delta_requests(&w).len() >= 3, "short pages were followed: {:?}", delta_requests(&w));
        for id in &ids {
            let ev = w.graph.event(id).unwrap();
            assert_eq!(ev.updates, 1);
            assert!(
                ev.body.contains("<p>Agenda</p>") && ev.body.contains("800001") && ev.body.contains("user1.space@example.com"),
                "{}",
                ev.body
            );
            assert!(
                ev.properties.get(switchboard::calendar::model::MARKER_PROPERTY).is_some_and(|m| m.starts_with("h=")),
                "{:?}",
                ev.properties
            );
        }
        assert_eq!(w.graph.event(&plain).unwrap().updates, 0, "no keyword: left alone");
        // The next round sees our own writes come back as changes, and writes nothing again.
        p.poll("user1@cloud.example.com").await.unwrap();
        assert!(ids.iter().all(|id| w.graph.event(id).unwrap().updates == 1), "not twice");
        // The log lists what was done and what was refused, not our own writes coming back.
        let log: Vec<(String, String)> =
            sqlx::query_as("SELECT action, detail FROM calendar_log ORDER BY id").fetch_all(w.store.pool()).await.unwrap();
        assert_eq!(log.iter().filter(|(a, _)| a == "inserted").count(), 7, "{log:?}");
        assert_eq!(log.iter().filter(|(a, _)| a == "left alone").count(), 1, "only the meeting without the keyword: {log:?}");

        // A restart (a new poller, the same database): it asks from the stored delta link, not a new window.
        let later = w.graph.create_meeting("user1@cloud.example.com", "After the restart", "@CMS", "<p>y</p>", s, e);
        let before = delta_requests(&w).len();
        let p = poller(&w);
        p.poll("user1@cloud.example.com").await.unwrap();
        let asked = &delta_requests(&w)[before..];
        assert!(asked.iter().all(|q| q.contains("%24deltatoken=") || q.contains("$deltatoken=")), "{asked:?}");
        assert_eq!(w.graph.event(&later).unwrap().updates, 1);
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM calendar_graph_delta WHERE mailbox = 'user1@cloud.example.com'")
            .fetch_one(w.store.pool())
            .await
            .unwrap();
        assert_eq!(stored, 1);
    }

    #[tokio::test]
    async fn a_weekly_series_begun_last_month_is_found_by_its_occurrences_and_written_once_on_its_master_not_on_the_attendees_copy() {
        let w = world(&[]).await;
        let first = (OffsetDateTime::now_utc() - time::Duration::weeks(5)).replace_nanosecond(0).unwrap();
        let until_date = (OffsetDateTime::now_utc() + time::Duration::days(120)).date();
        let id = w.graph.create(SimMeeting {
            organizer: "user1@cloud.example.com".into(),
            attendees: vec!["user2@cloud.example.com".into()],
            subject: "Weekly sync".into(),
            location: "@cms".into(),
            body_html: "<p>Weekly</p>".into(),
            start: first,
            end: first + time::Duration::minutes(30),
            recurrence: Some(SimRecurrence::weekly(&[first.weekday()], SimRange::EndDate(until_date))),
        });
        let p = poller(&w);
        // The window (from yesterday) holds about 17 occurrences over pages of three; one series.
        assert_eq!(p.poll("user1@cloud.example.com").await.unwrap(), 1, "one series, however many occurrences");
        let master = w.graph.event(&id).unwrap();
        assert_eq!((master.kind, master.updates), ("seriesMaster", 1));
        assert!(master.body.contains("<p>Weekly</p>") && master.body.contains("800001"), "{}", master.body);
        let paths: Vec<(String, String)> = w
            .graph
            .requests()
            .into_iter()
            .map(|(m, p)| (m, percent_encoding::percent_decode_str(&p).decode_utf8_lossy().into_owned()))
            .collect();
        let on = |method: &str, what: &str| paths.iter().filter(|(m, p)| m == method && p.contains(what)).count();
        assert_eq!(on("GET", &format!("/events/{id}")), 1, "the master read once: {paths:?}");
        assert_eq!(on("PATCH", &format!("/events/{id}")), 1, "and written once");
        assert_eq!(on("GET", "/events/AAMkAGOcc") + on("PATCH", "/events/AAMkAGOcc"), 0, "no occurrence read or written");
        assert_eq!(w.graph.events_of("user1@cloud.example.com").len(), 1, "no occurrence turned into an exception");
        // Our write comes back as every occurrence changed: the master is read again, not written.
        p.poll("user1@cloud.example.com").await.unwrap();
        assert_eq!(w.graph.event(&id).unwrap().updates, 1);

        // The attendee's copy: its occurrences lead to its master, an attendee's copy: left alone.
        let copy = w.graph.events_of("user2@cloud.example.com").into_iter().find(|e| e.uid == master.uid).expect("the copy");
        assert!(copy.body.contains("800001"), "the organiser's update reached it");
        p.poll("user2@cloud.example.com").await.unwrap();
        assert_eq!(w.graph.event(&copy.id).unwrap().updates, 0, "an attendee's copy is never written");
        assert_eq!(w.graph.event(&id).unwrap().updates, 1);
    }

    #[tokio::test]
    async fn an_edit_racing_the_write_is_kept_and_expired_tokens_throttling_and_a_forgotten_link_are_survived() {
        let w = world(&[]).await;
        let (s, e) = soon();
        let p = poller(&w);
        p.poll("user1@cloud.example.com").await.unwrap();

        // The organiser edits just before our PATCH: 412, read again, the edit kept.
        let raced = w.graph.create_meeting("user1@cloud.example.com", "Raced", "@cms", "<p>Agenda</p>", s, e);
        w.graph.edit_before_next_patch();
        p.poll("user1@cloud.example.com").await.unwrap();
        let ev = w.graph.event(&raced).unwrap();
        assert_eq!(ev.updates, 1);
        assert!(ev.body.contains("Organiser's late edit") && ev.body.contains("800001"), "{}", ev.body);

        // The app token stops working: the client gets a new one and goes on.
        w.graph.expire_tokens();
        let after_expiry = w.graph.create_meeting("user1@cloud.example.com", "Token", "@cms", "<p>t</p>", s, e);
        p.poll("user1@cloud.example.com").await.unwrap();
        assert_eq!(w.graph.event(&after_expiry).unwrap().updates, 1);

        // Throttled: the poll says how long Graph asked to wait, and writes nothing meanwhile.
        w.graph.faults().set_retry_after_secs(7);
        w.graph.faults().set_throttle_every(1);
        let throttled = w.graph.create_meeting("user1@cloud.example.com", "Busy", "@cms", "<p>b</p>", s, e);
        let busy = p.poll("user1@cloud.example.com").await;
        assert!(
            matches!(busy, Err(WatchError::Provider(ProviderError::Throttled { retry_after })) if retry_after == Duration::from_secs(7)),
            "{busy:?}"
        );
        assert_eq!(w.graph.event(&throttled).unwrap().updates, 0);
        w.graph.faults().set_throttle_every(0);
        p.poll("user1@cloud.example.com").await.unwrap();
        assert_eq!(w.graph.event(&throttled).unwrap().updates, 1, "handled once Graph is back");

        // Graph forgets the delta link (410): the window is read again; nothing is written twice.
        w.graph.forget_delta_tokens();
        let forgotten = w.graph.create_meeting("user1@cloud.example.com", "Forgotten", "@cms", "<p>f</p>", s, e);
        p.poll("user1@cloud.example.com").await.unwrap();
        assert_eq!(w.graph.event(&forgotten).unwrap().updates, 1);
        for id in [&raced, &after_expiry, &throttled] {
            assert_eq!(w.graph.event(id).unwrap().updates, 1, "not twice");
        }
        assert!(delta_requests(&w).iter().filter(|q| q.contains("startDateTime")).count() >= 2, "a new window after the 410");
    }

    #[tokio::test]
    async fn a_mailbox_outside_the_app_access_policy_is_reported_and_the_others_go_on() {
        let w = world(&["user1@cloud.example.com"]).await;
        let (s, e) = soon();
        let ok = w.graph.create_meeting("user1@cloud.example.com", "Allowed", "@cms", "<p>a</p>", s, e);
        let p = Arc::new(poller(&w));
        let workers = Workers::new();
        let (pp, mbs) = (p.clone(), vec!["user1@cloud.example.com".to_string(), "user2@cloud.example.com".to_string()]);
        workers.spawn(WorkerSpec::new("calendar-graph"), move |ctx| pp.clone().run(mbs.clone(), ctx));
        let t = Instant::now();
        while !(w.graph.event(&ok).is_some_and(|e| e.updates == 1) && p.health().catch_ups >= 1) {
            assert!(t.elapsed() < Duration::from_secs(15), "timed out");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(p.health().no_impersonation, vec!["user2@cloud.example.com".to_string()]);
        assert_eq!(p.health().mailboxes, 2);
        workers.shutdown().await;
    }

    #[tokio::test]
    async fn a_huge_retry_after_is_capped_and_the_poller_keeps_running() {
        let w = world(&[]).await;
        w.graph.faults().set_retry_after_secs(u64::MAX);
        w.graph.faults().set_throttle_every(1);
        match poller(&w).poll("user1@cloud.example.com").await {
            Err(WatchError::Provider(ProviderError::Throttled { retry_after })) => {
                assert!(retry_after <= Duration::from_secs(3600), "capped at an hour: {retry_after:?}")
            }
            other => panic!("throttled expected: {other:?}"),
        }
        let p = Arc::new(poller(&w));
        let workers = Workers::new();
        let (pp, mbs) = (p.clone(), vec!["user1@cloud.example.com".to_string()]);
        workers.spawn(WorkerSpec::new("calendar-graph"), move |ctx| pp.clone().run(mbs.clone(), ctx));
        let t = Instant::now();
        while p.health().catch_ups < 1 {
            assert!(t.elapsed() < Duration::from_secs(15), "timed out");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let report = workers.report();
        assert_eq!(report[0].restarts, 0, "no panic on the huge wait: {:?}", report[0].last_panic);
        assert!(p.health().last_error.as_deref().is_some_and(|e| e.contains("busy")), "{:?}", p.health().last_error);
        workers.shutdown().await;
    }
}

/// A fresh vault key for a test's store.
fn test_key() -> switchboard::secret::SecretBox {
    switchboard::secret::SecretBox::from_base64(&switchboard::secret::SecretBox::generate_key()).unwrap()
}
