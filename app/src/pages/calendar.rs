//! `/calendar` (admins change, operators and viewers read): the CMS user sync (progress, runs,
//! the last diff, users without a personal space), the EWS connections per group of mailboxes,
//! the meetings processed with their event → invite latency, the dry-run switch, and the
//! join-details templates with a preview.

use crate::components::Frame;
use crate::components::LocalTime;
use crate::error::AppError;
use leptos::prelude::*;
use switchboard::model::calendar::{CalendarLogEntry, CalendarPage, GroupHealth, LogAction};
use switchboard::model::display_time;

/// The calendar capability, or the page's answer when it is not configured.
#[cfg(feature = "ssr")]
fn calendar() -> Result<std::sync::Arc<switchboard::calendar::Calendar>, AppError> {
    crate::api::ssr::services()?.calendar.clone().ok_or_else(|| AppError::NotFound("Calendar join details are not configured.".into()))
}

#[server(endpoint = "calendar/page")]
pub async fn get_calendar_page() -> Result<Option<CalendarPage>, AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        ssr::require(switchboard::model::Role::Viewer).await?;
        let Some(c) = ssr::services()?.calendar.clone() else { return Ok(None) };
        Ok(Some(c.page().await?))
    })
    .await
}

#[server(endpoint = "calendar/sync")]
pub async fn sync_calendar_users() -> Result<String, AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        let user = ssr::require(switchboard::model::Role::Operator).await?;
        Ok(calendar()?.sync_users(&format!("by {}", user.name)).await?.summary())
    })
    .await
}

#[server(endpoint = "calendar/dry_run")]
pub async fn set_calendar_dry_run(on: bool) -> Result<(), AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        let user = ssr::require(switchboard::model::Role::Admin).await?;
        calendar()?.service.switch_dry_run(on, &user.actor()).await;
        Ok(())
    })
    .await
}

#[server(endpoint = "calendar/template")]
pub async fn save_calendar_template(language: String, html: String) -> Result<String, AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        let user = ssr::require(switchboard::model::Role::Admin).await?;
        Ok(calendar()?.service.save_template(&language, &html, &user.actor()).await?)
    })
    .await
}

#[server(endpoint = "calendar/retry")]
pub async fn retry_calendar_item(log_id: i64) -> Result<String, AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        ssr::require(switchboard::model::Role::Operator).await?;
        Ok(format!("{:?}", calendar()?.service.retry(log_id).await?))
    })
    .await
}

#[component]
pub fn CalendarPageView() -> impl IntoView {
    let sync = Action::new(|_: &()| sync_calendar_users());
    let dry = Action::new(|on: &bool| set_calendar_dry_run(*on));
    let retry = Action::new(|id: &i64| retry_calendar_item(*id));
    let data = Resource::new(move || (sync.version().get(), dry.version().get(), retry.version().get()), |_| get_calendar_page());
    view! {
        <Frame title="Calendar join details">
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || data.get().map(|r| match r {
                    Err(e) => view! { <p class="alert error">{e.to_string()}</p> }.into_any(),
                    Ok(None) => view! { <p class="card muted" data-testid="calendar-off">"Calendar join details are not configured ([calendar] in the configuration)."</p> }.into_any(),
                    Ok(Some(p)) => view! { <Calendar p sync dry retry/> }.into_any(),
                })}
            </Transition>
        </Frame>
    }
}

#[component]
fn Calendar(
    p: CalendarPage,
    sync: Action<(), Result<String, AppError>>,
    dry: Action<bool, Result<(), AppError>>,
    retry: Action<i64, Result<String, AppError>>,
) -> impl IntoView {
    let mut p = p;
    let templates = std::mem::take(&mut p.templates);
    let keyword = std::mem::take(&mut p.keyword);
    let log = std::mem::take(&mut p.log);
    let groups = std::mem::take(&mut p.groups);
    let dry_on = p.dry_run;
    view! {
        <SyncCard p sync/>
        <ExchangeCard groups dry_on dry/>
        <LogCard keyword log retry/>
        <TemplateCard templates/>
    }
}

/// The CMS user sync: progress, the runs, the last diff, users without a personal space.
#[component]
fn SyncCard(p: CalendarPage, sync: Action<(), Result<String, AppError>>) -> impl IntoView {
    view! {
        <section class="card" data-testid="calendar-sync">
            <h2>"CMS users"</h2>
            <p>
                {format!("{} users synced; {} without a personal space. ", p.users, p.users_without_space.len())}
                {p.sync_progress.map(|(d, t)| view! { <progress max=t.max(1).to_string() value=d.to_string()></progress>{format!(" {d} of {t}")} })}
                <button class="secondary" on:click=move |_| { sync.dispatch(()); } disabled=move || sync.pending().get()>
                    {move || if sync.pending().get() { "Syncing…" } else { "Sync now" }}
                </button>
                {move || sync.value().get().map(|r| match r {
                    Ok(m) => view! { <span class="muted" data-testid="sync-result">" "{m}</span> }.into_any(),
                    Err(e) => view! { <span class="result-failed" data-testid="sync-result">" "{e.to_string()}</span> }.into_any(),
                })}
            </p>
            <table class="grid">
                <thead><tr><th>"Started"</th><th>"Trigger"</th><th>"Status"</th><th>"Users"</th><th>"Added"</th><th>"Changed"</th><th>"Gone"</th><th>"No space"</th></tr></thead>
                <tbody>
                    {p.runs.iter().map(|r| view! {
                        <tr><td><LocalTime at=r.started_at/></td><td>{r.trigger.clone()}</td><td>{r.status.as_str()}{r.error.clone().map(|e| format!(": {e}"))}</td>
                            <td>{r.users}</td><td>{r.added}</td><td>{r.changed}</td><td>{r.gone}</td><td>{r.no_space}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
            {(!p.last_diff.is_empty()).then(|| view! {
                <details><summary>"Last sync's changes"</summary>
                    <ul>{p.last_diff.iter().map(|d| view! { <li>{format!("{}: {}", d.jid, d.what)}</li> }).collect_view()}</ul>
                </details>
            })}
            {(!p.users_without_space.is_empty()).then(|| view! {
                <p class="muted">"Without a personal space (their invitations are left alone): "{p.users_without_space.join(", ")}</p>
            })}
        </section>
    }
}

/// The Exchange connections per group of mailboxes, and the dry-run switch.
#[component]
fn ExchangeCard(groups: Vec<GroupHealth>, dry_on: bool, dry: Action<bool, Result<(), AppError>>) -> impl IntoView {
    view! {
        <section class="card" data-testid="calendar-ews">
            <h2>"Exchange: EWS streaming (on premises), Graph polling (Exchange Online)"</h2>
            <table class="grid">
                <thead><tr><th>"Group (first mailbox)"</th><th>"Mailboxes"</th><th>"Connected (stream) / answering (Graph) since"</th><th>"Last change"</th><th>"Catch-ups / Graph rounds"</th><th>"Reconnects"</th><th>"Problems"</th></tr></thead>
                <tbody>
                    {groups.iter().map(|g| view! {
                        <tr>
                            <td>{g.first_mailbox.clone()}</td><td>{g.mailboxes}</td>
                            <td>{g.connected_since.as_ref().map(display_time).unwrap_or_else(|| "not connected".into())}</td>
                            <td>{g.last_event.as_ref().map(display_time).unwrap_or_else(|| "—".into())}</td>
                            <td>{g.catch_ups}</td><td>{g.reconnects}</td>
                            <td class="result-failed">
                                {g.last_error.clone().unwrap_or_default()}
                                {(!g.no_impersonation.is_empty()).then(|| format!(" No access (EWS impersonation right or Graph application access policy): {}", g.no_impersonation.join(", ")))}
                            </td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            <p>
                <label><input type="checkbox" data-testid="dry-run" prop:checked=dry_on on:change=move |ev| { dry.dispatch(event_target_checked(&ev)); }/>
                    " Dry run: log what would be written, change nothing"</label>
                {move || dry.value().get().and_then(|r| r.err()).map(|e| view! { <span class="result-failed">" "{e.to_string()}</span> })}
            </p>
        </section>
    }
}

/// The meetings processed, with a Retry on each failure.
#[component]
fn LogCard(keyword: String, log: Vec<CalendarLogEntry>, retry: Action<i64, Result<String, AppError>>) -> impl IntoView {
    view! {
        <section class="card">
            <h2>{format!("Meetings with \u{201c}{}\u{201d}", keyword)}</h2>
            <table class="grid" data-testid="calendar-log">
                <thead><tr><th>"When"</th><th>"Mailbox"</th><th>"Meeting"</th><th>"Action"</th><th>"Detail"</th><th>"Event → invite"</th><th></th></tr></thead>
                <tbody>
                    {log.iter().map(|l| view! {
                        <tr data-testid="calendar-entry" data-action=l.action.as_str()>
                            <td><LocalTime at=l.at/></td><td>{l.mailbox.clone()}</td><td>{l.subject.clone()}</td>
                            <td class=if l.action == LogAction::Failed { "result-failed" } else { "" }>{l.action.as_str()}</td><td>{l.detail.clone()}</td>
                            <td>{l.latency_ms.map(|ms| format!("{:.1} s", ms as f64 / 1000.0)).unwrap_or_default()}</td>
                            <td>{(l.action == LogAction::Failed).then(|| {
                                let id = l.id;
                                view! { <button class="secondary" data-testid="calendar-retry" on:click=move |_| { retry.dispatch(id); }>"Retry"</button> }
                            })}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            {move || retry.value().get().and_then(|r| r.err()).map(|e| view! { <p class="alert error">{e.to_string()}</p> })}
        </section>
    }
}

/// The join-details template of one language, saved with a preview.
#[component]
fn TemplateCard(templates: std::collections::BTreeMap<String, String>) -> impl IntoView {
    let lang = RwSignal::new("en".to_string());
    let html = RwSignal::new(templates.get("en").cloned().unwrap_or_default());
    let save = Action::new(move |_: &()| save_calendar_template(lang.get_untracked(), html.get_untracked()));
    view! {
        <section class="card">
            <h2>"Join-details template"</h2>
            <p class="muted">"HTML (minijinja): space_name, sip_uri, secondary_uri, call_id, passcode, web_link, dial_in, organizer."</p>
            <label>"Language " <input prop:value=move || lang.get() on:input=move |ev| lang.set(event_target_value(&ev)) size="6"/></label>
            <textarea rows="10" prop:value=move || html.get() on:input=move |ev| html.set(event_target_value(&ev))></textarea>
            <p><button class="primary narrow" on:click=move |_| { save.dispatch(()); }>"Save and preview"</button></p>
            {move || save.value().get().map(|r| match r {
                Ok(preview) => view! { <div class="alert info"><p>"Saved. Preview with a sample user:"</p><div inner_html=preview></div></div> }.into_any(),
                Err(e) => view! { <p class="alert error">{e.to_string()}</p> }.into_any(),
            })}
        </section>
    }
}
