//! The EWS simulator as other clients meet Exchange 2016 (Python's exchangelib above all): raw
//! SOAP over HTTP written the way such a client writes it — NTLM with a bare Negotiate, ConvertId
//! first to learn the version, GetItem of several ids in one shape, an item saved back, DeleteItem —
//! and Switchboard's own client meeting Exchange's awkward parts: comments stripped from bodies,
//! a front end's 503 page, ErrorServerBusy without a back-off, Moved and Deleted events, and the
//! limit of three streams per account.

use base64::Engine;
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard::calendar::exchange::ews::EwsClient;
use switchboard::calendar::rules::{Change, BLOCK_CLASS};
use switchboard::calendar::service::{CalendarConfig, CalendarService, Processed};
use switchboard::calendar::watch::ews::EwsWatcher;
use switchboard::calendar::ProviderError;
use switchboard::sim::ews::{EwsSimConfig, SimEws};
use switchboard::workers::{WorkerSpec, Workers};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const NS: &str = "xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:m=\"http://schemas.microsoft.com/exchange/services/2006/messages\" xmlns:t=\"http://schemas.microsoft.com/exchange/services/2006/types\"";

struct World {
    ews: SimEws,
    synced: super::Synced,
}

/// Users 1 and 2 own personal spaces (call IDs 900001, 900002); user 3 has none.
async fn world() -> World {
    let synced = super::synced("example.com", 3, "90000", |i| i != 3).await;
    let ews = SimEws::start("127.0.0.1:0".parse().unwrap(), EwsSimConfig::demo(3)).await.unwrap();
    World { ews, synced }
}

fn client(w: &World) -> EwsClient {
    EwsClient::new(reqwest::Client::new(), &w.ews.url(), "svc-switchboard", "svc-pass")
}

fn service(w: &World) -> Arc<CalendarService> {
    let cfg = CalendarConfig { sip_domain: "example.com".into(), ..CalendarConfig::default() };
    Arc::new(CalendarService::new(w.synced.store.clone(), w.synced.users.clone(), client(w), cfg))
}

fn soon() -> (OffsetDateTime, OffsetDateTime) {
    let s = OffsetDateTime::now_utc() + time::Duration::hours(2);
    (s, s + time::Duration::hours(1))
}

/// An envelope as exchangelib writes it: `s:`/`m:`/`t:` prefixes, the version and impersonation.
fn envelope(mailbox: &str, body: &str) -> String {
    format!(
        "<?xml version='1.0' encoding='utf-8'?>\n<s:Envelope {NS}><s:Header><t:RequestServerVersion Version=\"Exchange2016\"/>\
         <t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>{mailbox}</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>\
         </s:Header><s:Body>{body}</s:Body></s:Envelope>"
    )
}

async fn post(w: &World, mailbox: &str, body: &str) -> (u16, String) {
    let res = reqwest::Client::new()
        .post(w.ews.url())
        .basic_auth("svc-switchboard", Some("svc-pass"))
        .header("content-type", "text/xml; charset=utf-8")
        .body(envelope(mailbox, body))
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn until(what: &str, f: impl Fn() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < Duration::from_secs(15), "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One HTTP/1.1 exchange on a kept-alive connection (NTLM signs in the connection, not a request).
async fn exchange(conn: &mut tokio::net::TcpStream, host: &str, auth: Option<&str>, body: &str) -> (u16, String, String) {
    let auth = auth.map(|a| format!("Authorization: {a}\r\n")).unwrap_or_default();
    let req = format!(
        "POST /EWS/Exchange.asmx HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/xml; charset=utf-8\r\n{auth}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let head_end = loop {
        let mut chunk = [0u8; 4096];
        let n = conn.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let len: usize =
        head.lines().find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap())).unwrap_or(0);
    while buf.len() < head_end + len {
        let mut chunk = [0u8; 4096];
        let n = conn.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed mid-body");
        buf.extend_from_slice(&chunk[..n]);
    }
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, head, String::from_utf8_lossy(&buf[head_end..head_end + len]).to_string())
}

const CONVERT_DUMMY: &str = "<m:ConvertId DestinationFormat=\"EntryId\"><m:SourceIds><t:AlternateId Format=\"EwsId\" Id=\"DUMMY\" Mailbox=\"DUMMY\"/></m:SourceIds></m:ConvertId>";

#[tokio::test]
async fn a_bare_40_byte_ntlm_negotiate_without_domain_or_workstation_gets_a_challenge_and_the_connection_signs_in() {
    let w = world().await;
    w.ews.faults().set_ntlm_only(true);
    let host = w.ews.url().trim_start_matches("http://").split('/').next().unwrap().to_string();
    let mut conn = tokio::net::TcpStream::connect(&host).await.unwrap();
    // As common NTLM libraries write it: flags, empty domain and workstation fields, a version.
    let mut negotiate = b"NTLMSSP\0".to_vec();
    negotiate.extend_from_slice(&1u32.to_le_bytes());
    negotiate.extend_from_slice(&0xe208_8297u32.to_le_bytes());
    negotiate.extend_from_slice(&[0; 16]);
    negotiate.extend_from_slice(&[10, 0, 0x63, 0x45, 0, 0, 0, 15]);
    assert_eq!(negotiate.len(), 40);
    let b64 = base64::engine::general_purpose::STANDARD;
    let body = envelope("user1@example.com", CONVERT_DUMMY);
    let (status, head, _) = exchange(&mut conn, &host, Some(&format!("NTLM {}", b64.encode(&negotiate))), &body).await;
    assert_eq!(status, 401, "{head}");
    let challenge = head
        .lines()
        .find_map(|l| l.strip_prefix("www-authenticate: NTLM ").or_else(|| l.strip_prefix("WWW-Authenticate: NTLM ")))
        .unwrap_or_else(|| panic!("a challenge: {head}"));
    let Ok(ntlmclient::Message::Challenge(c)) = ntlmclient::Message::try_from(b64.decode(challenge.trim()).unwrap().as_slice()) else {
        panic!("not a challenge")
    };
    // The Authenticate on the same connection; then the request goes through.
    let creds = ntlmclient::Credentials { username: "svc-switchboard".into(), password: "svc-pass".into(), domain: "EXAMPLE".into() };
    let info: Vec<u8> = c.target_information.iter().flat_map(|e| e.to_bytes()).collect();
    let answer = ntlmclient::respond_challenge_ntlm_v2(c.challenge, &info, ntlmclient::get_ntlm_time(), &creds);
    let auth = answer.to_message(&creds, "PYHOST", ntlmclient::Flags::NEGOTIATE_UNICODE | ntlmclient::Flags::NEGOTIATE_NTLM);
    let auth = format!("NTLM {}", b64.encode(auth.to_bytes().unwrap()));
    let (status, _, xml) = exchange(&mut conn, &host, Some(&auth), &body).await;
    assert_eq!(status, 200, "{xml}");
    assert!(xml.contains("ServerVersionInfo") && xml.contains("MajorVersion=\"15\""), "{xml}");
    let (status, _, _) = exchange(&mut conn, &host, None, &body).await;
    assert_eq!(status, 200, "the connection stays signed in");
}

#[tokio::test]
async fn convert_id_tells_the_version_and_converts_ids_and_unserved_operations_are_exchanges_fault() {
    let w = world().await;
    let (s, e) = soon();
    let id = w.ews.create_meeting("user1@example.com", "Plan", "Room", "<p>x</p>", s, e);
    // exchangelib's version probe: a dummy id answered with an error message, and the header.
    let (status, xml) = post(&w, "user1@example.com", CONVERT_DUMMY).await;
    assert_eq!(status, 200, "{xml}");
    assert!(xml.contains("<h:ServerVersionInfo") && xml.contains("ConvertIdResponseMessage ResponseClass=\"Error\""), "{xml}");
    assert!(xml.contains("ErrorInvalidSmtpAddress"), "{xml}");
    // A real id there and back.
    let hex = |xml: &str| xml.split("Id=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let ask = |from: &str, id: &str, to: &str| {
        format!("<m:ConvertId DestinationFormat=\"{to}\"><m:SourceIds><t:AlternateId Format=\"{from}\" Id=\"{id}\" Mailbox=\"user1@example.com\"/></m:SourceIds></m:ConvertId>")
    };
    let (_, xml) = post(&w, "user1@example.com", &ask("EwsId", &id, "HexEntryId")).await;
    assert!(xml.contains("Format=\"HexEntryId\"") && xml.contains("NoError"), "{xml}");
    let h = hex(&xml);
    assert!(h.chars().all(|c| c.is_ascii_hexdigit()), "{h}");
    let (_, xml) = post(&w, "user1@example.com", &ask("HexEntryId", &h, "EwsId")).await;
    assert_eq!(hex(&xml), id);
    let (_, xml) = post(&w, "user1@example.com", &ask("EwsId", "DUMMY", "EntryId")).await;
    assert!(xml.contains("ErrorInvalidIdMalformed"), "{xml}");

    // An operation the simulator does not serve: Exchange's fault, not an invented code.
    let (status, xml) = post(
        &w,
        "user1@example.com",
        "<m:ResolveNames ReturnFullContactData=\"false\"><m:UnresolvedEntry>ann</m:UnresolvedEntry></m:ResolveNames>",
    )
    .await;
    assert_eq!(status, 500, "{xml}");
    assert!(
        xml.contains("<faultcode") && xml.contains("a:ErrorInvalidRequest") && xml.contains(">ErrorInvalidRequest</e:ResponseCode>"),
        "{xml}"
    );
    assert!(!xml.contains("ErrorInvalidOperationType"));
}

fn get_item(shape: &str, ids: &[&str]) -> String {
    let ids: String = ids.iter().map(|i| format!("<t:ItemId Id=\"{i}\"/>")).collect();
    format!("<m:GetItem><m:ItemShape>{shape}</m:ItemShape><m:ItemIds>{ids}</m:ItemIds></m:GetItem>")
}

const MARKER_URI: &str =
    "<t:ExtendedFieldURI DistinguishedPropertySetId=\"PublicStrings\" PropertyName=\"SwitchboardCmsJoin\" PropertyType=\"String\"/>";

#[tokio::test]
async fn get_item_answers_one_message_per_id_in_order_in_the_shape_asked_for() {
    let w = world().await;
    let (s, e) = soon();
    let a = w.ews.create_meeting("user1@example.com", "First", "@cms", "<p>a</p>", s, e);
    let b = w.ews.create_meeting("user1@example.com", "Second", "Room", "<p>b</p>", s, e);
    assert_eq!(service(&w).process("user1@example.com", &a, None).await.unwrap(), Processed::Written(Change::Inserted));
    let shape = format!(
        "<t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI=\"item:Subject\"/><t:FieldURI FieldURI=\"item:DateTimeCreated\"/>{MARKER_URI}</t:AdditionalProperties>"
    );
    let (_, xml) = post(&w, "user1@example.com", &get_item(&shape, &[&a, "AAMkNoSuchItem", &b])).await;
    let messages: Vec<&str> = xml.split("<m:GetItemResponseMessage ").skip(1).collect();
    assert_eq!(messages.len(), 3, "{xml}");
    assert!(messages[0].contains("Success") && messages[0].contains("First") && messages[0].contains("SwitchboardCmsJoin"), "{xml}");
    assert!(messages[1].contains("ErrorItemNotFound"), "{xml}");
    assert!(messages[2].contains("Second") && !messages[2].contains("ExtendedProperty"), "no marker on an item without one");
    assert!(messages[0].contains("<t:DateTimeCreated>"), "{xml}");
    assert!(!xml.contains("<t:Body") && !xml.contains("<t:Location>"), "only what was asked for: {xml}");
    // IdOnly alone: the ids, nothing else; the marker only when its URI is asked for.
    let (_, xml) = post(&w, "user1@example.com", &get_item("<t:BaseShape>IdOnly</t:BaseShape>", &[&a])).await;
    assert!(xml.contains("<t:ItemId") && !xml.contains("<t:Subject>") && !xml.contains("ExtendedProperty"), "{xml}");
    // FindItem in its shape, and never with a body.
    let cal = "<m:ParentFolderIds><t:DistinguishedFolderId Id=\"calendar\"/></m:ParentFolderIds>";
    let find = |shape: &str| {
        format!("<m:FindItem Traversal=\"Shallow\"><m:ItemShape>{shape}</m:ItemShape><m:IndexedPageItemView MaxEntriesReturned=\"10\" Offset=\"0\" BasePoint=\"Beginning\"/>{cal}</m:FindItem>")
    };
    let (_, xml) = post(&w, "user1@example.com", &find("<t:BaseShape>IdOnly</t:BaseShape>")).await;
    assert!(xml.matches("<t:ItemId").count() == 2 && !xml.contains("<t:Subject>"), "{xml}");
    let (_, xml) = post(
        &w,
        "user1@example.com",
        &find(
            "<t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI=\"calendar:Start\"/></t:AdditionalProperties>",
        ),
    )
    .await;
    assert!(xml.matches("<t:Start>").count() == 2 && !xml.contains("<t:Subject>"), "{xml}");
    let (_, xml) = post(
        &w,
        "user1@example.com",
        &find("<t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI=\"item:Body\"/></t:AdditionalProperties>"),
    )
    .await;
    assert!(xml.contains("ErrorInvalidPropertyRequest"), "{xml}");
}

#[tokio::test]
async fn an_item_saved_back_as_exchangelib_saves_it_keeps_its_attendees_and_dates() {
    let w = world().await;
    let attendee = |a: &str| format!("<t:Attendee><t:Mailbox><t:EmailAddress>{a}</t:EmailAddress></t:Mailbox></t:Attendee>");
    let (status, xml) = post(
        &w,
        "user1@example.com",
        &format!(
            "<m:CreateItem SendMeetingInvitations=\"SendToAllAndSaveCopy\"><m:SavedItemFolderId><t:DistinguishedFolderId Id=\"calendar\"/></m:SavedItemFolderId>\
             <m:Items><t:CalendarItem><t:Subject>Review</t:Subject><t:Body BodyType=\"HTML\">&lt;p&gt;x&lt;/p&gt;</t:Body><t:Start>2030-01-07T10:00:00Z</t:Start>\
             <t:End>2030-01-07T11:00:00Z</t:End><t:Location>Room</t:Location><t:RequiredAttendees>{}</t:RequiredAttendees>\
             <t:OptionalAttendees>{}</t:OptionalAttendees></t:CalendarItem></m:Items></m:CreateItem>",
            attendee("user2@example.com"),
            attendee("guest@elsewhere.example")
        ),
    )
    .await;
    assert_eq!(status, 200, "{xml}");
    let id = xml.split("ItemId Id=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let all = get_item("<t:BaseShape>AllProperties</t:BaseShape>", &[&id]);
    let (_, xml) = post(&w, "user1@example.com", &all).await;
    assert!(xml.contains("<t:DateTimeCreated>") && xml.contains("<t:RequiredAttendees>") && xml.contains("user2@example.com"), "{xml}");
    assert!(xml.contains("<t:OptionalAttendees>") && xml.contains("guest@elsewhere.example"), "{xml}");
    let ck = xml.split("ChangeKey=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    // Saved back with every field, as read (exchangelib's item.save()): the attendees stay.
    let set = |uri: &str, inner: &str| {
        format!("<t:SetItemField><t:FieldURI FieldURI=\"{uri}\"/><t:CalendarItem>{inner}</t:CalendarItem></t:SetItemField>")
    };
    let updates = [
        set("item:Subject", "<t:Subject>Review (moved)</t:Subject>"),
        set("calendar:Location", "<t:Location>Room 2</t:Location>"),
        set("calendar:RequiredAttendees", &format!("<t:RequiredAttendees>{}</t:RequiredAttendees>", attendee("user2@example.com"))),
        set("calendar:OptionalAttendees", &format!("<t:OptionalAttendees>{}</t:OptionalAttendees>", attendee("guest@elsewhere.example"))),
    ]
    .concat();
    let update = |ck: &str, updates: &str| {
        format!(
            "<m:UpdateItem MessageDisposition=\"SaveOnly\" ConflictResolution=\"AutoResolve\" SendMeetingInvitationsOrCancellations=\"SendToAllAndSaveCopy\">\
             <m:ItemChanges><t:ItemChange><t:ItemId Id=\"{id}\" ChangeKey=\"{ck}\"/><t:Updates>{updates}</t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>"
        )
    };
    let (_, xml) = post(&w, "user1@example.com", &update(&ck, &updates)).await;
    assert!(xml.contains("NoError"), "{xml}");
    let it = w.ews.item(&id).unwrap();
    assert_eq!(
        (it.required_attendees.clone(), it.optional_attendees.clone()),
        (vec!["user2@example.com".to_string()], vec!["guest@elsewhere.example".to_string()])
    );
    // What a client clears is cleared.
    let (_, xml) = post(
        &w,
        "user1@example.com",
        &update(&it.change_key, "<t:DeleteItemField><t:FieldURI FieldURI=\"calendar:OptionalAttendees\"/></t:DeleteItemField>"),
    )
    .await;
    assert!(xml.contains("NoError"), "{xml}");
    let it = w.ews.item(&id).unwrap();
    assert!(it.optional_attendees.is_empty() && it.required_attendees.len() == 1);
}

#[tokio::test]
async fn comments_stripped_by_exchanges_sanitiser_neither_loop_the_update_nor_double_the_block() {
    let w = world().await;
    let svc = service(&w);
    let (s, e) = soon();
    let id = w.ews.create_meeting("user1@example.com", "Plan", "@cms", "<html><body><p>Agenda</p></body></html>", s, e);
    assert_eq!(svc.process("user1@example.com", &id, None).await.unwrap(), Processed::Written(Change::Inserted));
    let body = w.ews.item(&id).unwrap().body;
    assert!(!body.contains("<!--") && body.contains(BLOCK_CLASS) && body.contains("900001"), "stored without comments: {body}");
    // Our own write comes back as a change, and the organiser edits: done already, by the property.
    for _ in 0..3 {
        assert_eq!(svc.process("user1@example.com", &id, None).await.unwrap(), Processed::Left(switchboard::calendar::rules::UP_TO_DATE));
    }
    w.ews.edit_meeting(&id, None, Some(&body.replace("Agenda", "New agenda")), false);
    assert_eq!(svc.process("user1@example.com", &id, None).await.unwrap(), Processed::Left(switchboard::calendar::rules::UP_TO_DATE));
    assert_eq!(w.ews.item(&id).unwrap().updates, 1, "no update loop");
    // New details: the block (found by its div) is replaced, not added again.
    svc.save_template("en", "<div><p>Dial {{ call_id }} now</p></div>", "ann").await.unwrap();
    assert_eq!(svc.process("user1@example.com", &id, None).await.unwrap(), Processed::Written(Change::Replaced));
    let body = w.ews.item(&id).unwrap().body;
    assert_eq!(body.matches(BLOCK_CLASS).count(), 1, "{body}");
    assert!(body.contains("Dial 900001 now") && body.contains("New agenda"), "{body}");
}

#[tokio::test]
async fn a_front_ends_503_page_and_server_busy_without_a_back_off_are_retried() {
    let w = world().await;
    let svc = service(&w);
    let (s, e) = soon();
    let id = w.ews.create_meeting("user2@example.com", "Busy", "@cms", "<p>x</p>", s, e);
    w.ews.faults().set_unavailable_for("GetItem", 2);
    w.ews.faults().set_busy_without_back_off(true);
    w.ews.faults().set_busy_for("UpdateItem", 1);
    assert_eq!(svc.process("user2@example.com", &id, None).await.unwrap(), Processed::Written(Change::Inserted));
    assert_eq!(w.ews.item(&id).unwrap().updates, 1);
    // Beyond the retries: a transient "busy", never a protocol error.
    w.ews.faults().set_unavailable_for("GetItem", 10);
    let err = client(&w).meeting("user2@example.com", &id).await.unwrap_err();
    assert_eq!(err, ProviderError::Busy);
}

#[tokio::test]
async fn moved_and_deleted_meetings_are_not_read_where_they_are_gone_and_a_restored_one_is() {
    let w = world().await;
    let svc = service(&w);
    let watcher = Arc::new(EwsWatcher::new(client(&w), svc.clone(), w.synced.store.clone()));
    let workers = Workers::new();
    let wt = watcher.clone();
    let mailboxes = vec!["user3@example.com".to_string()];
    workers.spawn(WorkerSpec::new("calendar-ews"), move |ctx| wt.clone().run(mailboxes.clone(), ctx));
    until("the stream", || w.ews.open_streams() >= 1).await;
    let (s, e) = soon();
    // User 3 has no space: each time their meeting is read, the log says why it was left.
    let reads_of = |id: String| {
        let svc = svc.clone();
        async move { svc.log_entries(200).await.unwrap().into_iter().filter(|l| l.item_id == id).count() }
    };
    // A subscription's events arrive in order: once a later meeting is read, those before it were handled.
    let settle = |n: usize| {
        let id = w.ews.create_meeting("user3@example.com", &format!("Marker {n}"), "@cms", "<p>m</p>", s, e);
        let reads_of = &reads_of;
        async move {
            let t = Instant::now();
            while reads_of(id.clone()).await == 0 {
                assert!(t.elapsed() < Duration::from_secs(15), "timed out waiting for the marker meeting");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    let id = w.ews.create_meeting("user3@example.com", "Plan", "@cms", "<p>x</p>", s, e);
    settle(1).await;
    assert_eq!(reads_of(id.clone()).await, 1);
    // Deleted in Outlook: moved to Deleted Items under a new id — not read there.
    let moved = w.ews.delete_meeting(&id, false).unwrap();
    settle(2).await;
    assert_eq!(reads_of(moved.clone()).await, 0, "a meeting moved out of the calendar is not read");
    // Restored: moved back into the calendar under another id, and read there.
    let restored = w.ews.restore_meeting(&moved).unwrap();
    settle(3).await;
    assert_eq!(reads_of(restored.clone()).await, 1, "a meeting moved into the calendar is read");
    // Gone for good: a DeletedEvent, nothing read, nothing failed.
    w.ews.delete_meeting(&restored, true).unwrap();
    settle(4).await;
    assert_eq!(reads_of(restored).await, 1);
    let log = svc.log_entries(200).await.unwrap();
    assert!(log.iter().all(|l| l.action != switchboard::model::calendar::LogAction::Failed), "{log:?}");
    assert_eq!(w.ews.requests().iter().filter(|(o, _)| o == "GetFolder").count(), 1, "the calendar's id, asked once");
    workers.shutdown().await;
}

#[tokio::test]
async fn three_streams_per_account_by_default_and_the_fourth_is_refused() {
    let w = world().await;
    let c = client(&w);
    let (sub, _) = c.subscribe("user1@example.com", None).await.unwrap();
    let mut open = Vec::new();
    for _ in 0..3 {
        let s = Box::pin(c.stream("user1@example.com", std::slice::from_ref(&sub), 1, None).await.unwrap());
        open.push(s);
    }
    for s in &mut open {
        assert!(futures::StreamExt::next(s).await.unwrap().is_ok());
    }
    let mut fourth = Box::pin(c.stream("user1@example.com", std::slice::from_ref(&sub), 1, None).await.unwrap());
    let refused = futures::StreamExt::next(&mut fourth).await.unwrap();
    assert!(matches!(&refused, Err(ProviderError::Refused { code, .. }) if code == "ErrorExceededConnectionCount"), "{refused:?}");
    // Another mailbox's budget is its own.
    let (sub2, _) = c.subscribe("user2@example.com", None).await.unwrap();
    let mut other = Box::pin(c.stream("user2@example.com", std::slice::from_ref(&sub2), 1, None).await.unwrap());
    assert!(futures::StreamExt::next(&mut other).await.unwrap().is_ok());
}
