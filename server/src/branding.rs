//! The CMS-facing branding endpoints (public, GET and HEAD): invitation templates, call and IVR
//! customization files, the web-app sign-in archive; with ETag/Last-Modified, 304s, gzip for
//! text, and a log line per request for the page. Also the operators' upload endpoint, which
//! needs a session and the operator role. Paths never reach a filesystem: names become keys.

use crate::client_addr::ClientAddr;
use crate::state::AppState;
use app::error::AppError;
use axum::body::Body;
use axum::extract::{Multipart, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use std::time::{Duration, SystemTime};
use switchboard::branding::{
    BrandingError, BrandingService, FileKind, Lookup, ResourceName, Served, ServedRequest, TemplateKey, TenantName,
};
use switchboard::model::AuditAction;
use switchboard::model::{Role, UserInfo};
use switchboard::store::{AuditRecord, AuditResult};

/// CMS re-fetches on every call; a minute keeps edits visible quickly while 304s keep it cheap.
const CACHE_FOUND: &str = "public, max-age=60";
/// A miss may be filled any moment by an operator.
const CACHE_MISSING: &str = "no-cache";

/// The public CMS-facing routes. They carry only the branding service as state (not the whole
/// app state, which would be cloned per request) and are meant to be merged outside the session
/// layers: CMS has no session, and skipping that machinery is most of the speed.
pub fn cms_routes<S: Clone + Send + Sync + 'static>(svc: &BrandingService) -> Router<S> {
    Router::new()
        .route_service("/invites/{tenant}", get(invite).with_state(svc.clone()))
        .route_service("/branding/{tenant}/call/{file}", get(call_file).with_state(svc.clone()))
        .route_service("/branding/{tenant}/ivr/{file}", get(ivr_file).with_state(svc.clone()))
        .route_service("/branding/{tenant}/webapp.zip", get(webapp_archive).with_state(svc.clone()))
}

/// The operators' upload endpoint; for the protected router.
pub fn manage_routes() -> Router<AppState> {
    Router::new().route("/api/branding/{tenant}/upload", post(upload))
}

// The handlers take the request itself last rather than `HeaderMap` and `Method` extractors,
// which would copy the headers on every request; its head is kept (the body is not `Sync`).

async fn invite(
    State(svc): State<BrandingService>,
    client: ClientAddr,
    Path(tenant): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    req: Request,
) -> Response {
    let (req, _) = req.into_parts();
    // CMS sends `?language=xx_YY`; a missing, repeated or malformed one means the default.
    let language = query.into_iter().find(|(k, _)| k == "language").map(|(_, v)| v);
    let result = match TenantName::parse(&tenant) {
        Ok(t) => svc.template(&t, language.as_deref()).await,
        Err(e) => Err(e.into()),
    };
    answer(&svc, &req, client, tenant, FileKind::Template, language.unwrap_or_default(), result)
}

async fn call_file(
    State(svc): State<BrandingService>,
    client: ClientAddr,
    Path((tenant, file)): Path<(String, String)>,
    req: Request,
) -> Response {
    resource(&svc, client, req.into_parts().0, tenant, FileKind::Call, file).await
}

async fn ivr_file(
    State(svc): State<BrandingService>,
    client: ClientAddr,
    Path((tenant, file)): Path<(String, String)>,
    req: Request,
) -> Response {
    resource(&svc, client, req.into_parts().0, tenant, FileKind::Ivr, file).await
}

async fn resource(svc: &BrandingService, client: ClientAddr, req: Parts, tenant: String, kind: FileKind, file: String) -> Response {
    let result = async {
        let t = TenantName::parse(&tenant)?;
        let name = ResourceName::parse(&file)?;
        svc.resource(&t, kind, &name).await
    }
    .await;
    answer(svc, &req, client, tenant, kind, file, result)
}

async fn webapp_archive(State(svc): State<BrandingService>, client: ClientAddr, Path(tenant): Path<String>, req: Request) -> Response {
    let (req, _) = req.into_parts();
    let result = match TenantName::parse(&tenant) {
        Ok(t) => svc.webapp_archive(&t).await,
        Err(e) => Err(e.into()),
    };
    answer(&svc, &req, client, tenant, FileKind::WebappArchive, "webapp.zip".into(), result)
}

/// Turns a lookup into the HTTP answer and logs the request (with the client as `client_addr`
/// decided it: behind a trusted proxy, the address the proxy names, not the proxy).
fn answer(
    svc: &BrandingService,
    req: &Parts,
    client: ClientAddr,
    tenant: String,
    kind: FileKind,
    name: String,
    result: Result<Lookup, BrandingError>,
) -> Response {
    let (res, served) = match result {
        Ok(Lookup::Found(s)) => (respond(&req.headers, &s), s.served.clone()),
        Ok(Lookup::Missing) => (not_found(&format!("{tenant} has no {} '{name}'", kind.label())), None),
        Ok(Lookup::UnknownTenant) => (not_found(&format!("there is no tenant '{tenant}'")), None),
        Err(e) => {
            let e = AppError::from(e);
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (plain(status, CACHE_MISSING, e.to_string()), None)
        }
    };
    svc.log(ServedRequest {
        tenant,
        kind,
        name,
        method: req.method.to_string(),
        status: res.status().as_u16(),
        served,
        remote: Some(client.to_string()),
    });
    res
}

fn plain(status: StatusCode, cache: &'static str, msg: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        msg + "\n",
    )
        .into_response()
}

fn not_found(msg: &str) -> Response {
    plain(StatusCode::NOT_FOUND, CACHE_MISSING, msg.to_string())
}

/// 200 with the body (gzipped when asked for and worth it), or 304 when the client's copy is
/// current. Every header comes ready-made from the file's [`Prepared`] answer; only the choice
/// between them is made per request.
fn respond(req: &HeaderMap, s: &Served) -> Response {
    match s.prepared.get_or_init(|| Box::new(Prepared::of(s))).downcast_ref::<Prepared>() {
        Some(p) => p.answer(req),
        // Something else in the slot cannot happen (only this module fills it); still answer.
        None => Prepared::of(s).answer(req),
    }
}

/// A branding file's answers, built once per change of the file (the cache rebuilds `Served`
/// then) and kept in `Served::prepared`: the body as shared bytes, and the complete header set
/// of each answer, security headers included (the layer in `ops` then finds them in place).
struct Prepared {
    identity: Variant,
    gzip: Option<Variant>,
    /// `Last-Modified` at the whole second HTTP dates have, for `If-Modified-Since`.
    modified: SystemTime,
}

/// One encoding of the file: its body, its ETag, and the headers of a 200 and of a 304.
struct Variant {
    body: axum::body::Bytes,
    etag: String,
    ok: HeaderMap,
    not_modified: HeaderMap,
}

impl Prepared {
    fn of(s: &Served) -> Self {
        let modified = whole_seconds(s.last_modified);
        let last_modified = HeaderValue::from_str(&httpdate::fmt_http_date(modified)).ok();
        let content_type = HeaderValue::from_str(&s.content_type).unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
        let variant = |body: &axum::body::Bytes, etag: &str, gzip: bool| {
            let mut common = HeaderMap::with_capacity(12);
            if let Ok(v) = HeaderValue::from_str(etag) {
                common.insert(header::ETAG, v);
            }
            if let Some(v) = &last_modified {
                common.insert(header::LAST_MODIFIED, v.clone());
            }
            common.insert(header::CACHE_CONTROL, HeaderValue::from_static(CACHE_FOUND));
            if s.gzip.is_some() {
                common.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            }
            for (name, value) in crate::ops::static_security_headers() {
                common.insert(name, value);
            }
            let not_modified = common.clone();
            let mut ok = common;
            if gzip {
                ok.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
            ok.insert(header::CONTENT_TYPE, content_type.clone());
            ok.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
            Variant { body: body.clone(), etag: etag.to_string(), ok, not_modified }
        };
        Prepared { identity: variant(&s.body, &s.etag, false), gzip: s.gzip.as_ref().map(|g| variant(g, &s.etag_gzip, true)), modified }
    }

    fn answer(&self, req: &HeaderMap) -> Response {
        let v = match &self.gzip {
            Some(g) if accepts_gzip(req) => g,
            _ => &self.identity,
        };
        let fresh = match req.get(header::IF_NONE_MATCH) {
            Some(inm) => etag_matches(inm, &v.etag),
            None => req
                .get(header::IF_MODIFIED_SINCE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| httpdate::parse_http_date(v).ok())
                .is_some_and(|since| self.modified <= since),
        };
        let (status, headers, body) = if fresh {
            (StatusCode::NOT_MODIFIED, v.not_modified.clone(), Body::empty())
        } else {
            (StatusCode::OK, v.ok.clone(), Body::from(v.body.clone()))
        };
        let mut res = Response::new(body);
        *res.status_mut() = status;
        *res.headers_mut() = headers;
        res
    }
}

/// HTTP dates have whole seconds; compare at that precision or a fresh copy would look stale.
fn whole_seconds(t: SystemTime) -> SystemTime {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

fn accepts_gzip(req: &HeaderMap) -> bool {
    req.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(|item| {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim();
        let q_zero = parts.any(|p| {
            let p = p.trim().replace(' ', "");
            p == "q=0" || p == "q=0.0" || p == "q=0.00" || p == "q=0.000"
        });
        (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !q_zero
    })
}

/// `If-None-Match` uses the weak comparison: `W/` is ignored, `*` matches anything.
fn etag_matches(header_value: &HeaderValue, etag: &str) -> bool {
    let Ok(v) = header_value.to_str() else { return false };
    v.split(',').map(str::trim).any(|t| t == "*" || t.trim_start_matches("W/") == etag)
}

// ---------------------------------------------------------------------------------------------
// Operators' upload: a plain multipart form post, so it works without JavaScript and from tests.

#[derive(Default)]
struct UploadForm {
    kind: Option<String>,
    language: Option<String>,
    name: Option<String>,
    file: Option<(String, Vec<u8>)>,
}

async fn read_form(mut mp: Multipart) -> Result<UploadForm, (StatusCode, String)> {
    let mut form = UploadForm::default();
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err((e.status(), format!("The upload could not be read: {}", e.body_text()))),
        };
        let field_name = field.name().unwrap_or("").to_string();
        let file_name = field.file_name().map(str::to_string);
        let data = field.bytes().await.map_err(|e| (e.status(), format!("The upload could not be read: {}", e.body_text())))?;
        let text = || String::from_utf8_lossy(&data).trim().to_string();
        match field_name.as_str() {
            "kind" => form.kind = Some(text()),
            "language" => form.language = Some(text()).filter(|s| !s.is_empty()),
            "name" => form.name = Some(text()).filter(|s| !s.is_empty()),
            "file" => form.file = Some((file_name.unwrap_or_default(), data.to_vec())),
            _ => {}
        }
    }
    Ok(form)
}

/// `POST /api/branding/{tenant}/upload` (multipart: `kind`, `file`, optional `language`/`name`).
/// Browsers (Accept: text/html) are sent back to the page with a notice; other callers get the
/// status and a one-line message.
async fn upload(
    State(state): State<AppState>,
    user: Option<Extension<UserInfo>>,
    headers: HeaderMap,
    Path(tenant): Path<String>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let browser = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    let reply = |status: StatusCode, msg: String| -> Response {
        if browser {
            let key = if status.is_success() { "notice" } else { "error" };
            let tenant_q = TenantName::parse(&tenant).map(|t| format!("tenant={t}&")).unwrap_or_default();
            Redirect::to(&format!("/branding?{tenant_q}{key}={}", switchboard::url::query_value(&msg))).into_response()
        } else {
            (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], msg + "\n").into_response()
        }
    };
    let Some(Extension(user)) = user else {
        return reply(StatusCode::UNAUTHORIZED, "Sign in first.".into());
    };
    if !user.role.allows(Role::Operator) {
        state
            .services
            .audit
            .record(AuditRecord::new(&user.actor(), AuditAction::BrandingUpload, AuditResult::Denied).target(&tenant))
            .await;
        return reply(StatusCode::FORBIDDEN, format!("Your role ({}) may not change branding; it needs operator.", user.role));
    }
    let multipart = match multipart {
        Ok(m) => m,
        Err(e) => return reply(e.status(), format!("Send the upload as multipart/form-data ({})", e.body_text())),
    };
    let form = match read_form(multipart).await {
        Ok(f) => f,
        Err((status, msg)) => return reply(status, msg),
    };
    let Some((file_name, content)) = form.file else {
        return reply(StatusCode::BAD_REQUEST, "Choose a file to upload.".into());
    };
    let Some(kind) = form.kind.as_deref().and_then(FileKind::parse) else {
        return reply(StatusCode::BAD_REQUEST, "Say what the file is (kind: template, call, ivr, webapp or archive).".into());
    };
    // The stored name: explicit, else from the file's own name (templates: the language in it).
    let name = match kind {
        FileKind::Template => match (form.language, TemplateKey::from_file_name(&file_name)) {
            (Some(l), _) => l,
            (None, Some(Ok(key))) => key.label(),
            (None, Some(Err(e))) => return reply(StatusCode::BAD_REQUEST, e.to_string()),
            (None, None) => {
                return reply(
                    StatusCode::BAD_REQUEST,
                    "Give the template's language (or 'default'), or name the file invitation_template_<ll_CC>.txt.".into(),
                )
            }
        },
        FileKind::WebappArchive => "webapp.zip".into(),
        _ => form.name.unwrap_or(file_name),
    };
    match state.services.branding.put(&tenant, kind, &name, &content, &user.actor(), AuditAction::BrandingUpload).await {
        Ok(out) => reply(if out.replaced { StatusCode::OK } else { StatusCode::CREATED }, out.sentence()),
        Err(e) => {
            let e = AppError::from(e);
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            reply(status, format!("Not stored: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_compares_weakly_and_accepts_lists_and_star() {
        let m = |v: &str| etag_matches(&HeaderValue::from_str(v).unwrap(), "\"abc\"");
        assert!(m("\"abc\""));
        assert!(m("W/\"abc\""));
        assert!(m("\"x\", \"abc\""));
        assert!(m("*"));
        assert!(!m("\"abcd\""));
    }

    #[test]
    fn gzip_is_used_only_when_accepted() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
            accepts_gzip(&m)
        };
        assert!(h("gzip, deflate, br"));
        assert!(h("br;q=1.0, gzip;q=0.8"));
        assert!(!h("gzip;q=0"));
        assert!(!h("br"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
