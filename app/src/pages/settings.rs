//! `/settings`: the security banner rules (admins change them; everyone may read them).
//! Saved rules apply to live calls at once.

use crate::components::Frame;
use leptos::prelude::*;
use switchboard::model::BannerRules;

/// The rules in force and whether this user may change them.
#[server]
pub async fn get_banner_settings() -> Result<(BannerRules, bool), ServerFnError> {
    use switchboard::model::Role;
    let user = crate::api::ssr::require(Role::Viewer).await?;
    let s = crate::api::ssr::services()?;
    let rules = match &s.enforcer {
        Some(e) => e.rules(),
        None => s.store.setting(switchboard::banner::RULES_SETTING).await.ok().flatten().unwrap_or_default(),
    };
    Ok((rules, user.role == Role::Admin))
}

#[cfg_attr(not(feature = "ssr"), allow(dead_code))]
/// Splits a textarea of words or domains (commas or new lines) into a clean list.
pub fn split_list(s: &str) -> Vec<String> {
    s.split([',', '\n', ';']).map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect()
}

#[server]
#[allow(clippy::too_many_arguments)]
pub async fn save_banner_settings(
    restricted_keywords: String,
    secure_domains: String,
    internal_domains: String,
    restricted_text: String,
    external_text: String,
    internal_text: String,
    position: String,
    duration: String,
) -> Result<String, ServerFnError> {
    use crate::api::ssr;
    use switchboard::model::Role;
    use switchboard::store::{AuditRecord, AuditResult};
    let user = ssr::require(Role::Admin).await?;
    let s = ssr::services()?;
    let rules = BannerRules {
        restricted_keywords: split_list(&restricted_keywords),
        secure_domains: split_list(&secure_domains),
        internal_domains: split_list(&internal_domains),
        restricted_text: restricted_text.trim().to_string(),
        external_text: external_text.trim().to_string(),
        internal_text: internal_text.trim().to_string(),
        position: position.trim().to_string(),
        duration: duration.trim().to_string(),
    };
    if let Err(msg) = switchboard::banner::rules::validate(&rules) {
        let _ = s.store.audit(AuditRecord::new(&user.name, "settings.banner", AuditResult::Failed).detail(&msg)).await;
        if let Some(r) = use_context::<leptos_axum::ResponseOptions>() {
            r.set_status(axum::http::StatusCode::BAD_REQUEST);
        }
        return Err(ServerFnError::new(msg));
    }
    s.store.put_setting(switchboard::banner::RULES_SETTING, &rules, &user.name).await.map_err(|e| ssr::internal("Saving the rules", e))?;
    if let Some(e) = &s.enforcer {
        e.set_rules(rules.clone());
    }
    let detail = serde_json_like(&rules);
    let _ = s.store.audit(AuditRecord::new(&user.name, "settings.banner", AuditResult::Ok).detail(&detail)).await;
    Ok("Saved. Live calls are being updated.".into())
}

#[cfg(feature = "ssr")]
fn serde_json_like(r: &BannerRules) -> String {
    format!(
        "keywords={:?} secure={:?} internal={:?} position={} duration={}",
        r.restricted_keywords, r.secure_domains, r.internal_domains, r.position, r.duration
    )
}

#[component]
pub fn SettingsPage() -> impl IntoView {
    let save = ServerAction::<SaveBannerSettings>::new();
    let settings = Resource::new(move || save.version().get(), |_| get_banner_settings());
    view! {
        <Frame title="Settings">
            <section class="card">
                <h2>"Security banners"</h2>
                <p class="muted">
                    "A banner appears in a call when its name contains a restricted keyword, or when someone external is in it: "
                    "anyone in the web app, any guest, and SIP callers whose domain is in neither list below. "
                    "Domains match themselves and their subdomains."
                </p>
                <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || settings.get().map(|r| match r {
                        Err(e) => view! { <p class="alert error">{e.to_string()}</p> }.into_any(),
                        Ok((rules, can_edit)) => view! {
                            <ActionForm action=save attr:class="settings-form" attr:data-testid="banner-form">
                                <fieldset disabled=!can_edit>
                                    <label>"Restricted keywords (comma or one per line)"
                                        <textarea name="restricted_keywords" rows="2">{rules.restricted_keywords.join("\n")}</textarea></label>
                                    <label>"Secure domains — on-premises endpoints (level 1)"
                                        <textarea name="secure_domains" rows="2">{rules.secure_domains.join("\n")}</textarea></label>
                                    <label>"Internal domains — internal clients such as Jabber (level 2)"
                                        <textarea name="internal_domains" rows="2">{rules.internal_domains.join("\n")}</textarea></label>
                                    <label>"Text for a restricted call" <input name="restricted_text" value=rules.restricted_text.clone()/></label>
                                    <label>"Text when someone external is in" <input name="external_text" value=rules.external_text.clone()/></label>
                                    <label>"Text when only internal clients (level 2) are in — empty for none" <input name="internal_text" value=rules.internal_text.clone()/></label>
                                    <label>"Position"
                                        <select name="position">
                                            {["top", "middle", "bottom"].into_iter().map(|p| view! {
                                                <option value=p selected=rules.position == p>{p}</option>
                                            }).collect_view()}
                                        </select>
                                    </label>
                                    <label>"Duration (seconds, or permanent)" <input name="duration" value=rules.duration.clone()/></label>
                                    <button type="submit" class="primary narrow">"Save rules"</button>
                                </fieldset>
                                {(!can_edit).then(|| view! { <p class="muted">"Only admins can change these rules."</p> })}
                            </ActionForm>
                        }.into_any(),
                    })}
                </Transition>
                {move || save.value().get().map(|r| match r {
                    Ok(msg) => view! { <p class="alert info" data-testid="settings-result">{msg}</p> }.into_any(),
                    Err(e) => view! { <p class="alert error" data-testid="settings-result">{e.to_string()}</p> }.into_any(),
                })}
            </section>
        </Frame>
    }
}

#[cfg(test)]
mod tests {
    use super::split_list;

    #[test]
    fn lists_split_on_commas_and_lines_and_drop_blanks() {
        assert_eq!(split_list("restricted, secret\n\n  board ;x"), vec!["restricted", "secret", "board", "x"]);
        assert!(split_list(" \n , ").is_empty());
    }
}
