//! The branding host over real HTTP, as CMS and operators use it: template fallbacks, files,
//! HEAD, conditional requests, compression, path tricks, uploads and their limits, the request
//! log, roles.

use crate::common::{client, config_for, location, login, TestApp};
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use std::io::{Read, Write};
use switchboard::model::branding::TenantBranding;
use switchboard::model::Role;

/// A client that looks like CMS: no cookies, no session.
fn cms() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn operator(app: &TestApp) -> reqwest::Client {
    app.add_user("ann", "ann-password", Role::Operator).await;
    let c = client();
    assert_eq!(login(app, &c, "ann", "ann-password").await.status(), 303);
    let res = c.post(app.url("/api/branding/create_tenant")).form(&[("name", "acme")]).send().await.unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    c
}

async fn upload(
    app: &TestApp,
    c: &reqwest::Client,
    kind: &str,
    file_name: &str,
    bytes: Vec<u8>,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = Form::new().text("kind", kind.to_string()).part("file", Part::bytes(bytes).file_name(file_name.to_string()));
    for (k, v) in extra {
        form = form.text(k.to_string(), v.to_string());
    }
    c.post(app.url("/api/branding/acme/upload")).multipart(form).send().await.unwrap()
}

fn wav(rate: u32, channels: u16, samples: usize) -> Vec<u8> {
    let spec = hound::WavSpec { channels, sample_rate: rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut cur = std::io::Cursor::new(Vec::new());
    {
        let mut w = hound::WavWriter::new(&mut cur, spec).unwrap();
        for i in 0..samples * channels as usize {
            w.write_sample((i % 300) as i16).unwrap();
        }
        w.finalize().unwrap();
    }
    cur.into_inner()
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let mut v = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R'];
    v.extend_from_slice(&w.to_be_bytes());
    v.extend_from_slice(&h.to_be_bytes());
    v.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    v
}

async fn get_text(url: &str) -> (StatusCode, String) {
    let res = cms().get(url).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

#[tokio::test]
async fn templates_answer_the_exact_language_then_the_language_then_another_country_then_the_default_else_404() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let c = operator(&app).await;

    assert_eq!(get_text(&app.url("/invites/acme?language=en_US")).await.0, 404, "nothing yet: CMS uses its built-in");
    assert_eq!(upload(&app, &c, "template", "invitation_template_es.txt", b"Subject: es".to_vec(), &[]).await.status(), 201);
    assert_eq!(upload(&app, &c, "template", "mx.txt", b"Subject: mx".to_vec(), &[("language", "es_MX")]).await.status(), 201);

    assert_eq!(get_text(&app.url("/invites/acme?language=es_MX")).await, (StatusCode::OK, "Subject: mx".into()));
    assert_eq!(get_text(&app.url("/invites/acme?language=es_ES")).await, (StatusCode::OK, "Subject: es".into()));
    assert_eq!(get_text(&app.url("/invites/acme?language=da_DK")).await.0, 404, "no default yet");
    assert_eq!(get_text(&app.url("/invites/acme")).await.0, 404, "no language and no default: 404, not 500");

    assert_eq!(upload(&app, &c, "template", "invitation_template.txt", b"Subject: any".to_vec(), &[]).await.status(), 201);
    let res = cms().get(app.url("/invites/acme?language=da_DK")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/plain; charset=utf-8");
    assert!(res.headers()["cache-control"].to_str().unwrap().contains("max-age"));
    assert_eq!(res.text().await.unwrap(), "Subject: any");
    assert_eq!(get_text(&app.url("/invites/acme")).await.1, "Subject: any", "missing language means the default");
    assert_eq!(get_text(&app.url("/invites/acme?language=")).await.1, "Subject: any");
    assert_eq!(get_text(&app.url("/invites/acme?language=..%2F..%2Fetc%2Fpasswd")).await.1, "Subject: any");
    assert_eq!(get_text(&app.url("/invites/acme?language=es_MX&language=de")).await.1, "Subject: mx", "the first one counts");
    assert_eq!(get_text(&app.url("/invites/nobody?language=es_MX")).await.0, 404, "unknown tenant");

    // Same language, another country, before the default: fr_CA with only fr_FR gets French.
    assert_eq!(get_text(&app.url("/invites/acme?language=fr_CA")).await.1, "Subject: any");
    assert_eq!(upload(&app, &c, "template", "invitation_template_fr_FR.txt", b"Subject: fr".to_vec(), &[]).await.status(), 201);
    assert_eq!(get_text(&app.url("/invites/acme?language=fr_CA")).await.1, "Subject: fr", "served at once, not the cached default");
    // The language alone still comes before a sibling country.
    assert_eq!(get_text(&app.url("/invites/acme?language=es_AR")).await.1, "Subject: es");
    app.stop().await;
}

#[tokio::test]
async fn files_are_served_with_type_length_validators_and_head_and_304() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let c = operator(&app).await;
    let prompt = wav(16_000, 1, 8_000);
    assert_eq!(upload(&app, &c, "call", "welcome.wav", prompt.clone(), &[]).await.status(), 201);
    assert_eq!(upload(&app, &c, "ivr", "ivr_background.jpg.png", png(64, 64), &[("name", "ivr_logo.png")]).await.status(), 201);

    let url = app.url("/branding/acme/call/welcome.wav");
    let res = cms().get(&url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "audio/wav");
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    let modified = res.headers()["last-modified"].to_str().unwrap().to_string();
    assert!(etag.starts_with('"'), "{etag}");
    assert_eq!(res.bytes().await.unwrap().as_ref(), prompt.as_slice());

    let head = cms().head(&url).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-length"], prompt.len().to_string().as_str());
    assert_eq!(head.headers()["etag"], etag.as_str());
    assert!(head.bytes().await.unwrap().is_empty());

    let res = cms().get(&url).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(res.status(), 304);
    assert!(res.bytes().await.unwrap().is_empty());
    let res = cms().get(&url).header("if-modified-since", &modified).send().await.unwrap();
    assert_eq!(res.status(), 304);
    let res = cms().get(&url).header("if-none-match", "\"stale\"").header("if-modified-since", &modified).send().await.unwrap();
    assert_eq!(res.status(), 200, "If-None-Match wins over If-Modified-Since");
    let res = cms().get(&url).header("if-modified-since", "Mon, 01 Jan 2001 00:00:00 GMT").send().await.unwrap();
    assert_eq!(res.status(), 200);

    let res = cms().get(app.url("/branding/acme/ivr/ivr_logo.png")).send().await.unwrap();
    assert_eq!((res.status(), res.headers()["content-type"].to_str().unwrap()), (StatusCode::OK, "image/png"));
    assert_eq!(get_text(&app.url("/branding/acme/call/ivr_logo.png")).await.0, 404, "call and IVR are separate");
    assert_eq!(get_text(&app.url("/branding/acme/call/total_participant_3.wav")).await.0, 404);
    assert_eq!(cms().head(app.url("/branding/acme/call/timeout.wav")).send().await.unwrap().status(), 404);
    assert_eq!(get_text(&app.url("/branding/nobody/call/welcome.wav")).await.0, 404);
    app.stop().await;
}

/// The answers CMS gets are prepared once per file; they must still say everything an answer
/// built per request said: the security headers, a request id of their own, the validators.
#[tokio::test]
async fn cms_answers_carry_every_security_header_and_their_own_request_id_on_hits_304s_gzip_and_misses() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let c = operator(&app).await;
    let template = format!("Subject: %name%\n{}", "Join with %uri% from any video system.\n".repeat(20));
    upload(&app, &c, "template", "invitation_template.txt", template.into_bytes(), &[]).await;
    upload(&app, &c, "call", "welcome.wav", wav(8_000, 1, 100), &[]).await;
    let invite = app.url("/invites/acme?language=en_US");
    let etag = cms().get(&invite).send().await.unwrap().headers()["etag"].to_str().unwrap().to_string();
    let answers = [
        (cms().get(&invite), 200),
        (cms().get(&invite).header("accept-encoding", "gzip"), 200),
        (cms().get(&invite).header("if-none-match", &etag), 304),
        (cms().head(app.url("/branding/acme/call/welcome.wav")), 200),
        (cms().get(app.url("/branding/acme/call/welcome.wav")), 200),
        (cms().get(app.url("/branding/acme/call/timeout.wav")), 404),
        (cms().get(app.url("/branding/nobody/call/welcome.wav")), 404),
        (cms().get(app.url("/branding/acme/call/no-extension")), 400),
    ];
    let mut ids = std::collections::HashSet::new();
    for (i, (req, status)) in answers.into_iter().enumerate() {
        let res = req.send().await.unwrap();
        let h = |name: &str| res.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        assert_eq!(res.status(), status, "answer {i}");
        assert_eq!(h("content-security-policy"), server::ops::FALLBACK_POLICY, "answer {i}");
        assert_eq!(h("x-content-type-options"), "nosniff", "answer {i}");
        assert_eq!(h("referrer-policy"), "same-origin", "answer {i}");
        assert_eq!(h("x-frame-options"), "DENY", "answer {i}");
        assert!(ids.insert(h("x-request-id")) && !h("x-request-id").is_empty(), "answer {i}: an id of its own");
        if status != 404 && status != 400 {
            assert!(h("etag").starts_with('"') && !h("last-modified").is_empty(), "answer {i}");
            assert_eq!(h("cache-control"), "public, max-age=60", "answer {i}");
        }
        if i == 1 {
            assert_eq!((h("content-encoding").as_str(), h("vary").as_str()), ("gzip", "accept-encoding"));
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn replacing_a_file_changes_its_etag_and_old_copies_are_refetched() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let c = operator(&app).await;
    upload(&app, &c, "call", "welcome.wav", wav(8_000, 1, 100), &[]).await;
    let url = app.url("/branding/acme/call/welcome.wav");
    let first = cms().get(&url).send().await.unwrap().headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(upload(&app, &c, "call", "welcome.wav", wav(8_000, 1, 200), &[]).await.status(), 200, "replaced");
    let res = cms().get(&url).header("if-none-match", &first).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_ne!(res.headers()["etag"].to_str().unwrap(), first);
    app.stop().await;
}

#[tokio::test]
async fn text_is_gzipped_for_clients_that_accept_it() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let c = operator(&app).await;
    let template = format!("Subject: %name%\n{}", "Join with %uri% from any video system.\n".repeat(50));
    upload(&app, &c, "template", "invitation_template.txt", template.clone().into_bytes(), &[]).await;
    let raw = cms().get(app.url("/invites/acme?language=en_GB")).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(raw.headers()["content-encoding"], "gzip");
    assert_eq!(raw.headers()["vary"], "accept-encoding");
    let gz_etag = raw.headers()["etag"].to_str().unwrap().to_string();
    let bytes = raw.bytes().await.unwrap();
    assert!(bytes.len() < template.len());
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes.as_ref()).read_to_string(&mut text).unwrap();
    assert_eq!(text, template);
    let plain = cms().get(app.url("/invites/acme")).send().await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    assert_ne!(plain.headers()["etag"].to_str().unwrap(), gz_etag, "each encoding has its own ETag");
    app.stop().await;
}

/// Sends a request line exactly as given, so no client normalises the path first.
async fn raw_get(app: &TestApp, target: &str) -> (u16, String) {
    let addr = app.base.trim_start_matches("http://").to_string();
    let target = target.to_string();
    tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        write!(s, "GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        let status = out.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        (status, out)
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn path_tricks_never_reach_a_file_and_get_a_clear_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let c = operator(&app).await;
    upload(&app, &c, "call", "welcome.wav", wav(8_000, 1, 100), &[]).await;
    // A file beside the database that a traversal would aim for.
    std::fs::write(dir.path().join("secret.txt"), "TOP-SECRET").unwrap();

    for target in [
        "/branding/acme/call/..%2f..%2fsecret.txt",
        "/branding/acme/call/..%2F..%2Fswitchboard.db",
        "/branding/acme/call/%2e%2e%2fsecret.txt",
        "/branding/acme/call/..%5csecret.txt",
        "/branding/acme/call/welcome.wav%00.jpg",
        "/branding/acme/call/%2fetc%2fpasswd",
        "/branding/..%2f..%2f/call/welcome.wav",
        "/branding/ACME/call/welcome.wav",
        "/invites/..%2fsecret.txt",
        "/branding/acme/call/%ff%fe.wav",
    ] {
        let (status, body) = raw_get(&app, target).await;
        assert!(status == 400 || status == 404, "{target}: {status}");
        assert!(!body.contains("TOP-SECRET") && !body.contains("SQLite format"), "{target} leaked: {body}");
    }
    let (status, body) = raw_get(&app, "/branding/acme/call/..%2f..%2fsecret.txt").await;
    assert_eq!(status, 400);
    assert!(body.contains("not a usable file name"), "{body}");

    // Literal dot segments: the path then matches no CMS route and is not public either.
    for target in ["/branding/acme/call/../../secret.txt", "/invites/../secret.txt", "/branding/acme/../../switchboard.db"] {
        let (status, body) = raw_get(&app, target).await;
        assert!(!body.contains("TOP-SECRET") && !body.contains("SQLite format"), "{target} leaked");
        assert_ne!(status, 200, "{target}");
    }
    app.stop().await;
}

async fn app_alive(app: &TestApp) -> u16 {
    reqwest::get(app.url("/healthz")).await.unwrap().status().as_u16()
}

#[tokio::test]
async fn uploads_are_validated_and_a_refusal_keeps_what_was_stored() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let c = operator(&app).await;
    let good = wav(16_000, 1, 100);
    assert_eq!(upload(&app, &c, "call", "waiting_for_host.wav", good.clone(), &[]).await.status(), 201);

    let res = upload(&app, &c, "call", "waiting_for_host.wav", wav(16_000, 2, 100), &[]).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("mono"));
    let res = upload(&app, &c, "call", "waiting_for_host.wav", wav(11_025, 1, 100), &[]).await;
    assert_eq!(res.status(), 422);
    // Over the prompt limit (about 1000 kB) but under the request limit.
    let res = upload(&app, &c, "call", "waiting_for_host.wav", wav(16_000, 1, 600_000), &[]).await;
    assert_eq!(res.status(), 413);
    assert!(res.text().await.unwrap().contains("limit"));
    let res = upload(&app, &c, "call", "background.jpg", png(100, 100), &[]).await;
    assert_eq!(res.status(), 422, "PNG bytes named .jpg");
    let res = upload(&app, &c, "call", "../../etc/cron.d/x.wav", good.clone(), &[]).await;
    assert_eq!(res.status(), 400);
    let res = upload(&app, &c, "webapp", "text_strings.json", br#"{"title":"x"}"#.to_vec(), &[]).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("brand_title"));
    let res = upload(&app, &c, "template", "notes.txt", b"Subject: x".to_vec(), &[]).await;
    assert_eq!(res.status(), 400, "a template needs a language");
    let res = upload(&app, &c, "template", "invitation_template.txt", vec![0xff, 0xfe, 0xfd], &[]).await;
    assert_eq!(res.status(), 422);
    // Used to overflow the stack and abort the whole server.
    let deep = format!("Subject: x\n#if {}name{}\nhi\n#endif\n", "(".repeat(30_000), ")".repeat(30_000));
    let res = upload(&app, &c, "template", "invitation_template.txt", deep.into_bytes(), &[]).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("more than 32 deep"));
    assert_eq!(app_alive(&app).await, 200, "the server is still up");

    let res = cms().get(app.url("/branding/acme/call/waiting_for_host.wav")).send().await.unwrap();
    assert_eq!(res.bytes().await.unwrap().as_ref(), good.as_slice(), "the stored prompt survived every refusal");
    app.stop().await;
}

#[tokio::test]
async fn a_huge_upload_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config_for(dir.path());
    cfg.server.max_body_bytes = 256 * 1024;
    let app = TestApp::spawn_with(cfg).await;
    let c = operator(&app).await;
    let res = upload(&app, &c, "call", "welcome.wav", vec![0u8; 3 * 1024 * 1024], &[]).await;
    assert_eq!(res.status(), 413);
    assert_eq!(get_text(&app.url("/branding/acme/call/welcome.wav")).await.0, 404, "nothing stored");
    app.stop().await;
}

#[tokio::test]
async fn the_webapp_archive_is_zipped_from_parts() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let c = operator(&app).await;
    assert_eq!(get_text(&app.url("/branding/acme/webapp.zip")).await.0, 404);
    upload(&app, &c, "webapp", "sign_in_logo.png", png(300, 100), &[]).await;
    let strings = br#"{"brand_title":"Acme","brand_browser_tab_label":"Acme meetings"}"#;
    assert_eq!(upload(&app, &c, "webapp", "text_strings.json", strings.to_vec(), &[]).await.status(), 201);
    let res = cms().get(app.url("/branding/acme/webapp.zip")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/zip");
    let bytes = res.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut s = String::new();
    zip.by_name("text_strings.json").unwrap().read_to_string(&mut s).unwrap();
    assert_eq!(s.as_bytes(), strings);
    assert!(zip.by_name("sign_in_logo.png").is_ok());
    app.stop().await;
}

#[tokio::test]
async fn the_page_data_shows_urls_files_and_what_cms_missed() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let c = operator(&app).await;
    upload(&app, &c, "template", "invitation_template.txt", b"Subject: any".to_vec(), &[]).await;
    cms().get(app.url("/invites/acme?language=da_DK")).send().await.unwrap();
    cms().get(app.url("/branding/acme/call/locked_you_are_waiting.wav")).send().await.unwrap();
    cms().get(app.url("/branding/acme/call/locked_you_are_waiting.wav")).send().await.unwrap();

    let res = c.post(app.url("/api/branding/tenant")).form(&[("tenant", "acme")]).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let b: TenantBranding = res.json().await.unwrap();
    assert_eq!(b.urls.invitation_template, format!("{}/invites/acme", app.base));
    assert_eq!(b.urls.call_resource_location, format!("{}/branding/acme/call", app.base));
    assert_eq!(b.urls.ivr_resource_location, format!("{}/branding/acme/ivr", app.base));
    assert_eq!(b.urls.web_resource_archive, format!("{}/branding/acme/webapp.zip", app.base));
    assert_eq!(b.templates[0].name, "default");
    let missing: Vec<(&str, i64, Option<&str>)> = b.missing.iter().map(|m| (m.name.as_str(), m.count, m.served.as_deref())).collect();
    assert!(missing.contains(&("locked_you_are_waiting.wav", 2, None)), "{missing:?}");
    assert!(missing.contains(&("da_DK", 1, Some("default"))), "{missing:?}");
    assert_eq!(b.recent.len(), 3);
    assert!(b.recent.iter().all(|r| r.remote.as_deref() == Some("127.0.0.1")));

    // The page itself renders for the operator.
    let html = c.get(app.url("/branding?tenant=acme")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("callBrandingProfile"), "page lists the profile fields");
    app.stop().await;
}

#[tokio::test]
async fn management_needs_a_session_and_changes_need_the_operator_role() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let _ann = operator(&app).await;
    let anon = cms();
    let res = anon.get(app.url("/branding")).send().await.unwrap();
    assert_eq!(res.status(), 303, "the page needs a session");
    let form = Form::new().text("kind", "call").part("file", Part::bytes(wav(8_000, 1, 10)).file_name("welcome.wav"));
    let res = anon.post(app.url("/api/branding/acme/upload")).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), 403, "not even from this site");
    let form = Form::new().text("kind", "call").part("file", Part::bytes(wav(8_000, 1, 10)).file_name("welcome.wav"));
    let res = anon.post(app.url("/api/branding/acme/upload")).header("sec-fetch-site", "same-origin").multipart(form).send().await.unwrap();
    assert_eq!(res.status(), 401, "from this site, but not signed in");

    app.add_user("vic", "viewer-password", Role::Viewer).await;
    let viewer = client();
    login(&app, &viewer, "vic", "viewer-password").await;
    let res = upload(&app, &viewer, "call", "welcome.wav", wav(8_000, 1, 10), &[]).await;
    assert_eq!(res.status(), 403);
    let res = viewer
        .post(app.url("/api/branding/save_template"))
        .form(&[("tenant", "acme"), ("language", "default"), ("text", "Subject: x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = viewer.post(app.url("/api/branding/tenant")).form(&[("tenant", "acme")]).send().await.unwrap();
    assert_eq!(res.status(), 200, "viewers may look");
    assert!(!res.json::<TenantBranding>().await.unwrap().can_edit);
    assert_eq!(get_text(&app.url("/branding/acme/call/welcome.wav")).await.0, 404, "nothing stored by the refused attempts");
    app.stop().await;
}

#[tokio::test]
async fn a_browser_upload_returns_to_the_page_with_the_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let c = operator(&app).await;
    let form = Form::new().text("kind", "call").part("file", Part::bytes(wav(16_000, 2, 10)).file_name("welcome.wav"));
    let res = c.post(app.url("/api/branding/acme/upload")).header("accept", "text/html").multipart(form).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let to = location(&res);
    assert!(to.starts_with("/branding?tenant=acme&error="), "{to}");
    assert!(to.contains("mono"), "{to}");
    app.stop().await;
}

#[tokio::test]
async fn template_edits_and_deletes_are_served_at_once_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let c = operator(&app).await;
    let save = |text: &'static str| {
        c.post(app.url("/api/branding/save_template")).form(&[("tenant", "acme"), ("language", "fr_FR"), ("text", text)]).send()
    };
    assert_eq!(save("Subject: un").await.unwrap().status(), 200);
    assert_eq!(get_text(&app.url("/invites/acme?language=fr_FR")).await.1, "Subject: un");
    assert_eq!(save("Subject: deux").await.unwrap().status(), 200);
    assert_eq!(get_text(&app.url("/invites/acme?language=fr_FR")).await.1, "Subject: deux", "no stale cache");
    let res =
        c.post(app.url("/api/branding/delete")).form(&[("tenant", "acme"), ("kind", "template"), ("name", "fr_FR")]).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(get_text(&app.url("/invites/acme?language=fr_FR")).await.0, 404);

    let store = switchboard::store::Store::open_in_dir(&app.data_dir).await.unwrap();
    let log = switchboard::store::AuditLog::new(store.clone()).page(0, 50, None).await.unwrap();
    let actions: Vec<(&str, &str, &str)> = log
        .entries
        .iter()
        .filter(|e| e.action.starts_with("branding."))
        .map(|e| (e.actor.as_str(), e.action.as_str(), e.target.as_deref().unwrap_or("")))
        .collect();
    assert!(actions.contains(&("ann", "branding.template", "acme/template/fr_FR")), "{actions:?}");
    assert!(actions.contains(&("ann", "branding.delete", "acme/template/fr_FR")), "{actions:?}");
    assert!(actions.contains(&("ann", "branding.tenant.create", "acme")), "{actions:?}");
    store.close().await;
    app.stop().await;
}
