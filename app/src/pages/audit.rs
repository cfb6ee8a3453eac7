//! `/audit`: the audit log, read-only, for admins. Paging and the action filter live in the
//! query string so the page works (and links) without JavaScript.

use crate::api::audit_log;
use crate::components::Frame;
use crate::components::LocalTime;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use switchboard::model::AuditAction;

#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let params = move || {
        let q = query.read();
        let offset = q.get("offset").and_then(|o| o.parse::<i64>().ok()).unwrap_or(0).max(0);
        (offset, q.get("action").filter(|a| !a.is_empty()))
    };
    let page = Resource::new(params, |(offset, action)| audit_log(offset, action));

    view! {
        <Frame title="Audit log">
            <form method="get" action="/audit" class="toolbar">
                <label>"Action "
                    <select name="action" data-testid="audit-action">
                        <option value="">"any"</option>
                        {AuditAction::ALL.iter().map(|a| {
                            let a = a.as_str();
                            view! { <option value=a selected=move || params().1.as_deref() == Some(a)>{a}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <button type="submit" class="secondary">"Filter"</button>
            </form>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || page.get().map(|r| match r {
                    Err(e) => view! { <p class="alert error" data-testid="audit-error">{e.to_string()}</p> }.into_any(),
                    Ok(p) => {
                        let action = params().1.map(|a| format!("&action={a}")).unwrap_or_default();
                        let prev = (p.offset > 0).then(|| format!("/audit?offset={}{action}", (p.offset - p.limit).max(0)));
                        let next = (p.offset + p.limit < p.total).then(|| format!("/audit?offset={}{action}", p.offset + p.limit));
                        let shown = p.entries.len() as i64;
                        view! {
                            <table class="grid" data-testid="audit-table">
                                <thead><tr><th>"When (UTC)"</th><th>"Who"</th><th>"Action"</th><th>"Target"</th><th>"Result"</th><th>"Detail"</th></tr></thead>
                                <tbody>
                                    {p.entries.into_iter().map(|e| view! {
                                        <tr>
                                            <td><LocalTime at=e.at/></td>
                                            <td data-testid="audit-actor">
                                                {e.actor}" "
                                                <span class="muted" data-testid="audit-provider">
                                                    {format!("({})", e.provider.map(|p| p.label()).unwrap_or("provider not recorded"))}
                                                </span>
                                            </td>
                                            <td>{e.action}</td>
                                            <td>{e.target.unwrap_or_default()}</td>
                                            <td class=format!("result-{}", e.result)>{e.result.clone()}</td>
                                            <td>{e.detail.unwrap_or_default()}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            <p class="muted">
                                {if p.total == 0 { "Nothing recorded yet.".to_string() } else { format!("{}–{} of {}", p.offset + 1, p.offset + shown, p.total) }}
                                " "
                                {prev.map(|h| view! { <a href=h>"Newer"</a> })}
                                " "
                                {next.map(|h| view! { <a href=h>"Older"</a> })}
                            </p>
                        }.into_any()
                    }
                })}
            </Transition>
        </Frame>
    }
}
