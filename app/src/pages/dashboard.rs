//! `/`: is everything up? Database, each integration, version, uptime, and the way to each area
//! (the areas as the server reports them: configured or not, running or failing).

use crate::api::get_system_status;
use crate::components::{format_duration, Frame, StatePill};
use leptos::prelude::*;
use switchboard::model::{AreaStatus, ComponentState, ComponentStatus};

#[component]
pub fn DashboardPage() -> impl IntoView {
    let refresh = RwSignal::new(0u32);
    let status = Resource::new(move || refresh.get(), |_| get_system_status());

    view! {
        <Frame title="Dashboard">
            <section class="toolbar">
                <button
                    class="secondary"
                    data-testid="refresh-status"
                    on:click=move |_| refresh.update(|n| *n += 1)
                >
                    "Check again"
                </button>
                <span class="muted" data-testid="refresh-count">
                    {move || match refresh.get() { 0 => String::new(), n => format!("checked {n}× since the page opened") }}
                </span>
            </section>
            <Transition fallback=|| view! { <p class="muted">"Checking…"</p> }>
                {move || status.get().map(|r| match r {
                    Err(e) => view! { <p class="alert error">{e.to_string()}</p> }.into_any(),
                    Ok(s) => view! {
                        <section class="cards">
                            <div class="card stat"><h2>"Version"</h2><p data-testid="version">{s.version.clone()}</p></div>
                            <div class="card stat"><h2>"Uptime"</h2><p data-testid="uptime">{format_duration(s.uptime_seconds)}</p></div>
                            <div class="card stat"><h2>"Mode"</h2><p data-testid="mode">{s.mode.clone()}</p></div>
                        </section>
                        <section class="card">
                            <h2>"Health"</h2>
                            <table class="status">
                                <tbody>
                                    <StatusRow c=s.database.clone()/>
                                    <StatusRow c=s.storage.clone()/>
                                    {s.integrations.iter().cloned().map(|c| view! { <StatusRow c/> }).collect_view()}
                                </tbody>
                            </table>
                            {s.integrations.is_empty().then(|| view! {
                                <p class="muted">"No CMS nodes or other integrations are configured."</p>
                            })}
                        </section>
                        <section class="card">
                            <h2>"Background work"</h2>
                            <table class="status" data-testid="workers">
                                <tbody>
                                    {s.workers.iter().cloned().map(|c| view! { <StatusRow c/> }).collect_view()}
                                </tbody>
                            </table>
                        </section>
                        <section class="card">
                            <h2>"Areas"</h2>
                            <ul class="areas" data-testid="areas">
                                {s.areas.iter().cloned().map(|a| view! { <AreaItem a/> }).collect_view()}
                            </ul>
                        </section>
                    }.into_any(),
                })}
            </Transition>
        </Frame>
    }
}

#[component]
fn StatusRow(c: ComponentStatus) -> impl IntoView {
    view! {
        <tr data-testid="status-row">
            <th>{c.name}</th>
            <td><StatePill state=c.state/></td>
            <td class="muted">{c.detail}</td>
        </tr>
    }
}

/// An area: a link when it can be used, its name and why not otherwise.
#[component]
fn AreaItem(a: AreaStatus) -> impl IntoView {
    let name = match a.state {
        ComponentState::Disabled => view! { <strong>{a.name}</strong> }.into_any(),
        _ => view! { <a href=a.path>{a.name}</a> }.into_any(),
    };
    view! {
        <li data-testid="area" data-state=a.state.label()>
            {name}" — "{a.summary}" "
            {(!a.detail.is_empty()).then(|| view! { <span class="muted">{a.detail}</span> })}
        </li>
    }
}
