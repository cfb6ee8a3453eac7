//! What every response says to the browser: the security headers, and how the browser bundle is
//! sent (a content-named directory, precompressed copies, cached for good).

use crate::common::{client, config_for, TestApp};

fn header<'a>(res: &'a reqwest::Response, name: &str) -> &'a str {
    res.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

#[tokio::test]
async fn pages_allow_only_their_own_nonce_scripts_and_no_framing_and_other_responses_run_no_script() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let c = client();

    let res = c.get(app.url("/login")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let csp = header(&res, "content-security-policy").to_string();
    assert_eq!(header(&res, "x-content-type-options"), "nosniff");
    assert_eq!(header(&res, "referrer-policy"), "same-origin");
    assert_eq!(header(&res, "x-frame-options"), "DENY");
    let html = res.text().await.unwrap();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap_or_else(|| panic!("a page's policy names its nonce: {csp}"));
    assert!(nonce.len() >= 16, "{nonce}");
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("'wasm-unsafe-eval'") && csp.contains("object-src 'none'"), "{csp}");
    assert!(!csp.contains("script-src 'self'") && !csp.contains("'unsafe-inline' 'strict"), "scripts only by nonce: {csp}");
    // The hydration script carries this response's nonce; every inline script does.
    let scripts = html.matches("<script").count();
    assert!(scripts >= 1, "{html}");
    assert_eq!(html.matches(&format!("nonce=\"{nonce}\"")).count(), scripts, "{html}");

    // A second page gets another nonce.
    let again = c.get(app.url("/login")).send().await.unwrap();
    assert!(!header(&again, "content-security-policy").contains(nonce));

    // Responses not rendered by the app: a policy that runs no script at all.
    for path in ["/healthz", "/ack/not-a-token", "/no-such-page-here.txt"] {
        let res = c.get(app.url(path)).send().await.unwrap();
        let csp = header(&res, "content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        if path != "/no-such-page-here.txt" {
            assert!(csp.contains("script-src 'none'"), "{path}: {csp}");
        }
        assert_eq!(header(&res, "x-content-type-options"), "nosniff", "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_bundle_is_sent_precompressed_from_a_content_named_directory_cached_for_a_year() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    let pkg = site.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    let wasm = b"\0asm\x01\0\0\0 the app".repeat(100);
    std::fs::write(pkg.join("switchboard.wasm"), &wasm).unwrap();
    std::fs::write(pkg.join("switchboard.wasm.br"), b"brotli bytes as made by scripts/precompress").unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut gz, &wasm).unwrap();
    std::fs::write(pkg.join("switchboard.wasm.gz"), gz.finish().unwrap()).unwrap();
    std::fs::write(pkg.join("switchboard.js"), b"export default function(){}").unwrap();
    std::fs::write(pkg.join("switchboard.css"), b"body{}").unwrap();

    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    let mut cfg = config_for(&dir.path().join("data"));
    cfg.server.site_root = site.clone();
    let app = TestApp::spawn_with(cfg).await;
    let c = client();

    let html = c.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    let start = html.find("/pkg/").expect("the page links the bundle");
    let dir_name: String = html[start + 5..].chars().take_while(|ch| ch.is_ascii_hexdigit()).collect();
    assert_eq!(dir_name.len(), 12, "a content-named directory: {}", &html[start..start + 40]);
    assert!(html.contains(&format!("/pkg/{dir_name}/switchboard.wasm")) && html.contains(&format!("/pkg/{dir_name}/switchboard.css")));
    let url = app.url(&format!("/pkg/{dir_name}/switchboard.wasm"));

    let br = c.get(&url).header("accept-encoding", "gzip, deflate, br").send().await.unwrap();
    assert_eq!(br.status(), 200);
    assert_eq!(header(&br, "content-encoding"), "br");
    assert_eq!(header(&br, "cache-control"), "public, max-age=31536000, immutable");
    assert_eq!(header(&br, "content-type"), "application/wasm");
    assert_eq!(&br.bytes().await.unwrap()[..], std::fs::read(pkg.join("switchboard.wasm.br")).unwrap());

    let gz = c.get(&url).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(header(&gz, "content-encoding"), "gzip");
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz.bytes().await.unwrap()[..]), &mut plain).unwrap();
    assert_eq!(plain, wasm);

    let raw = c.get(&url).send().await.unwrap();
    assert_eq!(header(&raw, "content-encoding"), "");
    assert_eq!(&raw.bytes().await.unwrap()[..], &wasm[..]);

    // The plain path (pages outside the app link the stylesheet there) is revalidated, not kept.
    let css = c.get(app.url("/pkg/switchboard.css")).send().await.unwrap();
    assert_eq!(css.status(), 200);
    assert_eq!(header(&css, "cache-control"), "no-cache");
    // Another build is another directory: the old name is not served.
    assert_eq!(c.get(app.url("/pkg/000000000000/switchboard.wasm")).send().await.unwrap().status(), 404);
    app.stop().await;
}
