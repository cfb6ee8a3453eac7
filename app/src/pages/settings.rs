//! `/settings`: the security banner rules (admins change them; everyone may read them).
//! Saved rules apply to live calls at once.

use crate::components::Frame;
use crate::error::AppError;
use leptos::prelude::*;
use switchboard::model::{BannerPosition, BannerRules};

/// The rules in force and whether this user may change them.
#[server]
pub async fn get_banner_settings() -> Result<(BannerRules, bool), AppError> {
    use crate::api::ssr;
    use switchboard::model::Role;
    ssr::edge(async {
        let user = ssr::require(Role::Viewer).await?;
        Ok((ssr::services()?.banners.rules(), user.role == Role::Admin))
    })
    .await
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
) -> Result<String, AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        let user = ssr::require(switchboard::model::Role::Admin).await?;
        let form = switchboard::model::BannerRulesForm {
            restricted_keywords,
            secure_domains,
            internal_domains,
            restricted_text,
            external_text,
            internal_text,
            position,
            duration,
        };
        ssr::services()?.banners.save_rules(&user.name, &form).await?;
        Ok("Saved. Live calls are being updated.".to_string())
    })
    .await
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
                                            {BannerPosition::ALL.into_iter().map(|p| view! {
                                                <option value=p.as_str() selected=rules.position == p>{p.as_str()}</option>
                                            }).collect_view()}
                                        </select>
                                    </label>
                                    <label>"Duration (seconds, or permanent)" <input name="duration" value=rules.duration.as_cms()/></label>
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
