//! `/settings`: the security banner rules (admins change them; everyone may read them).
//! Saved rules apply to live calls at once.

use crate::components::Frame;
use crate::error::AppError;
use leptos::prelude::*;
use switchboard::model::incident::IncidentTemplates;
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
        ssr::services()?.banners.save_rules(&user.actor(), &form).await?;
        Ok("Saved. Live calls are being updated.".to_string())
    })
    .await
}

/// The incident notification templates, whether this user may change them, and their preview.
#[server(endpoint = "incidents/templates")]
pub async fn get_incident_templates() -> Result<Option<(IncidentTemplates, bool)>, AppError> {
    use crate::api::ssr;
    use switchboard::model::Role;
    ssr::edge(async {
        let user = ssr::require(Role::Viewer).await?;
        let Some(i) = ssr::services()?.incidents().cloned() else { return Ok(None) };
        Ok(Some((i.templates().await?, user.role == Role::Admin)))
    })
    .await
}

/// Renders the templates with sample values (operators and admins); `save` also stores them
/// (admins). A template that does not render is refused with the reason.
#[server(endpoint = "incidents/preview_templates")]
pub async fn preview_incident_templates(webex: String, sms: String, voice: String, save: bool) -> Result<IncidentPreview, AppError> {
    use crate::api::ssr;
    use switchboard::model::Role;
    ssr::edge(async {
        let t = IncidentTemplates { webex, sms, voice };
        let i = ssr::incidents()?;
        let r = if save {
            let user = ssr::require(Role::Admin).await?;
            i.save_templates(t, &user.actor()).await?
        } else {
            ssr::require(Role::Operator).await?;
            switchboard::incident::deliveries::templates::validate(&t).map_err(|e| AppError::Invalid(e.to_string()))?
        };
        Ok(IncidentPreview { webex: r.webex, sms: r.sms, voice: r.voice, saved: save })
    })
    .await
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IncidentPreview {
    pub webex: String,
    pub sms: String,
    pub voice: String,
    pub saved: bool,
}

#[component]
fn IncidentTemplatesCard() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_incident_templates());
    let (webex, sms, voice) = (RwSignal::new(String::new()), RwSignal::new(String::new()), RwSignal::new(String::new()));
    let preview = Action::new(move |save: &bool| {
        let save = *save;
        async move { preview_incident_templates(webex.get_untracked(), sms.get_untracked(), voice.get_untracked(), save).await }
    });
    view! {
        <Transition fallback=|| ()>
            {move || data.get().and_then(|r| r.ok()).flatten().map(|(t, can_edit)| {
                webex.set(t.webex.clone());
                sms.set(t.sms.clone());
                voice.set(t.voice.clone());
                view! {
                    <section class="card" data-testid="incident-templates">
                        <h2>"Incident notifications"</h2>
                        <p class="muted">
                            "Templates (minijinja) for the Webex message (markdown), the SMS and the voice call. They can use "
                            <code>"incident_name, space_title, meeting_link, meeting_number, toll_number, responder_name, commander, ack_link"</code>"."
                        </p>
                        <fieldset disabled=!can_edit class="settings-form">
                            <label>"Webex message" <textarea rows="5" data-testid="tpl-webex" prop:value=move || webex.get() on:input=move |ev| webex.set(event_target_value(&ev))></textarea></label>
                            <label>"SMS" <textarea rows="3" data-testid="tpl-sms" prop:value=move || sms.get() on:input=move |ev| sms.set(event_target_value(&ev))></textarea></label>
                            <label>"Voice call (spoken)" <textarea rows="3" data-testid="tpl-voice" prop:value=move || voice.get() on:input=move |ev| voice.set(event_target_value(&ev))></textarea></label>
                            <p>
                                <button type="button" class="secondary" data-testid="tpl-preview" on:click=move |_| { preview.dispatch(false); }>"Preview"</button>" "
                                <button type="button" class="primary narrow" data-testid="tpl-save" on:click=move |_| { preview.dispatch(true); }>"Save templates"</button>
                            </p>
                        </fieldset>
                        {(!can_edit).then(|| view! { <p class="muted">"Only admins can change these templates."</p> })}
                        {move || preview.value().get().map(|r| match r {
                            Ok(p) => view! {
                                <div class="alert info" data-testid="tpl-result">
                                    {p.saved.then_some("Saved. ")}"Preview with sample values:"
                                    <h3>"Webex message"</h3><pre>{p.webex}</pre>
                                    <h3>"SMS"</h3><pre>{p.sms}</pre>
                                    <h3>"Voice"</h3><pre>{p.voice}</pre>
                                </div>
                            }.into_any(),
                            Err(e) => view! { <p class="alert error" data-testid="tpl-result">{e.to_string()}</p> }.into_any(),
                        })}
                    </section>
                }
            })}
        </Transition>
    }
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
            <IncidentTemplatesCard/>
        </Frame>
    }
}
