//! `/incidents/history?id=…`: one incident, running or past, live by push.

use super::panel::IncidentPanel;
use crate::components::{live_refresh, Frame};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use switchboard::model::incident::IncidentView;

#[server(endpoint = "incidents/get_incident", input = server_fn::codec::Json)]
pub async fn get_incident(id: i64) -> Result<IncidentView, AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        let user = ssr::permit(switchboard::model::IncidentAction::View).await?;
        Ok(ssr::incidents()?.incident(id, user.role).await?)
    })
    .await
}

#[component]
pub fn IncidentHistoryPage() -> impl IntoView {
    let query = use_query_map();
    let id = move || query.read().get("id").and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
    let pushed = live_refresh("/events/incidents", "incident");
    let data = Resource::new(move || (id(), pushed.get()), |(id, _)| get_incident(id));
    view! {
        <Frame title="Incident">
            <p><a href="/incidents">"← Incidents"</a></p>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || data.get().map(|r| match r {
                    Err(e) => view! { <p class="alert error">{e.to_string()}</p> }.into_any(),
                    Ok(v) => view! { <IncidentPanel v room_id=String::new() can_act=false on_change=Callback::new(|_| ())/> }.into_any(),
                })}
            </Transition>
        </Frame>
    }
}
