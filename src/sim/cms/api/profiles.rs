//! `/api/v1/callBrandingProfiles`, `/ivrBrandingProfiles` and `/webBridgeProfiles`: one set of
//! handlers for the three, picked by a const parameter; fields kept as the form sent them.

use super::{created, not_found, only, page, xml_ok, Ctx, F, Q};
use crate::sim::cms::db::{self, Profile};
use crate::sim::cms::lock;
use crate::sim::cms::xml;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use std::collections::BTreeMap;

fn profile_kind(k: usize) -> (&'static str, &'static str, &'static str, &'static [&'static str]) {
    match k {
        0 => ("callBrandingProfiles", "callBrandingProfile", "/api/v1/callBrandingProfiles", &["invitationTemplate", "resourceLocation"]),
        1 => ("ivrBrandingProfiles", "ivrBrandingProfile", "/api/v1/ivrBrandingProfiles", &["resourceLocation"]),
        _ => (
            "webBridgeProfiles",
            "webBridgeProfile",
            "/api/v1/webBridgeProfiles",
            &[
                "name",
                "resourceArchive",
                "allowPasscodes",
                "allowSecrets",
                "userPortalEnabled",
                "allowUnauthenticatedGuests",
                "resolveCoSpaceCallIds",
                "resolveLyncConferenceIds",
                "resolveCoSpaceUris",
            ],
        ),
    }
}

fn profiles_of(shared: &mut crate::sim::cms::db::Shared, k: usize) -> &mut BTreeMap<String, Profile> {
    match k {
        0 => &mut shared.call_branding_profiles,
        1 => &mut shared.ivr_branding_profiles,
        _ => &mut shared.web_bridge_profiles,
    }
}

pub(super) async fn list_profiles<const K: usize>(State(ctx): State<Ctx>, Query(q): Q) -> Response {
    let (coll, tag, _, _) = profile_kind(K);
    let mut shared = lock(&ctx.cluster.shared);
    let v: Vec<_> = profiles_of(&mut shared, K).values().cloned().collect();
    let (a, b) = match page(&q, v.len(), &ctx) {
        Ok(r) => r,
        Err(e) => return e,
    };
    xml_ok(xml::collection(coll, v.len(), &v[a..b].iter().map(|p| xml::profile(tag, p)).collect::<Vec<_>>()))
}

pub(super) async fn get_profile<const K: usize>(State(ctx): State<Ctx>, Path(id): Path<String>) -> Response {
    let (_, tag, _, _) = profile_kind(K);
    let mut shared = lock(&ctx.cluster.shared);
    match profiles_of(&mut shared, K).get(&id) {
        Some(p) => xml_ok(xml::object(xml::profile(tag, p))),
        None => not_found(tag),
    }
}

pub(super) async fn post_profile<const K: usize>(State(ctx): State<Ctx>, Form(f): F) -> Response {
    let (_, _, path, fields) = profile_kind(K);
    if let Err(e) = only(&f, fields) {
        return e;
    }
    let id = db::new_id();
    let p = Profile { id: id.clone(), fields: f.into_iter().filter(|(_, v)| !v.is_empty()).collect() };
    profiles_of(&mut lock(&ctx.cluster.shared), K).insert(id.clone(), p);
    created(format!("{path}/{id}"))
}

pub(super) async fn put_profile<const K: usize>(State(ctx): State<Ctx>, Path(id): Path<String>, Form(f): F) -> Response {
    let (_, tag, _, fields) = profile_kind(K);
    if let Err(e) = only(&f, fields) {
        return e;
    }
    let mut shared = lock(&ctx.cluster.shared);
    let Some(p) = profiles_of(&mut shared, K).get_mut(&id) else { return not_found(tag) };
    for (k, v) in f {
        if v.is_empty() {
            p.fields.remove(&k);
        } else {
            p.fields.insert(k, v);
        }
    }
    StatusCode::OK.into_response()
}

pub(super) async fn delete_profile<const K: usize>(State(ctx): State<Ctx>, Path(id): Path<String>) -> Response {
    let (_, tag, _, _) = profile_kind(K);
    match profiles_of(&mut lock(&ctx.cluster.shared), K).remove(&id) {
        Some(_) => StatusCode::OK.into_response(),
        None => not_found(tag),
    }
}
