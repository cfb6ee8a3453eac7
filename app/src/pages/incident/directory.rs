//! Who can be added to a space: people of the org directory (searched as you type) and the
//! external (phone-only) responders, linked to a space by those who run incidents. The
//! externals are created, edited, deleted and exported by admins only ([`ExternalDirectory`],
//! on `/incidents`).

use crate::error::AppError;
use leptos::prelude::*;
use switchboard::model::incident::{DirectoryPerson, ExternalResponder};

#[server(endpoint = "incidents/search_people", input = server_fn::codec::Json)]
pub async fn search_people(q: String) -> Result<Vec<DirectoryPerson>, AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        let user = ssr::permit(switchboard::model::IncidentAction::Run).await?;
        Ok(ssr::incidents()?.search_directory(&q, user.role).await?)
    })
    .await
}

#[server(endpoint = "incidents/add_internal", input = server_fn::codec::Json)]
pub async fn add_internal(room_id: String, person_id: String) -> Result<(), AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        let (i, c, _) = ssr::commanding().await?;
        Ok(i.add_internal(&c, &room_id, &person_id).await?)
    })
    .await
}

/// Every external responder, in full (admins).
#[server(endpoint = "incidents/list_externals", input = server_fn::codec::Json)]
pub async fn list_externals() -> Result<Vec<ExternalResponder>, AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        ssr::permit(switchboard::model::IncidentAction::EditDirectory).await?;
        Ok(ssr::incidents()?.externals().await?)
    })
    .await
}

/// Creates (no id) or updates an external responder.
#[server(endpoint = "incidents/save_external", input = server_fn::codec::Json)]
pub async fn save_external(
    id: Option<i64>,
    name: String,
    email: String,
    mobile: String,
    voice: String,
) -> Result<ExternalResponder, AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        let user = ssr::permit(switchboard::model::IncidentAction::EditDirectory).await?;
        let form = switchboard::incident::ExternalForm { name, email, mobile, voice };
        let i = ssr::incidents()?;
        Ok(match id {
            Some(id) => i.update_external(&user.actor(), id, &form).await?,
            None => i.create_external(&user.actor(), &form).await?,
        })
    })
    .await
}

#[server(endpoint = "incidents/delete_external", input = server_fn::codec::Json)]
pub async fn delete_external(id: i64) -> Result<(), AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        let user = ssr::permit(switchboard::model::IncidentAction::EditDirectory).await?;
        Ok(ssr::incidents()?.delete_external(&user.actor(), id).await?)
    })
    .await
}

#[server(endpoint = "incidents/link_external", input = server_fn::codec::Json)]
pub async fn link_external(room_id: String, id: i64) -> Result<(), AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        let (i, c, _) = ssr::commanding().await?;
        Ok(i.link_external(&c, &room_id, id).await?)
    })
    .await
}

#[component]
pub(super) fn AddInternal(room_id: String, report: impl Fn(Result<String, AppError>) + Copy + Send + Sync + 'static) -> impl IntoView {
    let q = RwSignal::new(String::new());
    let results = Resource::new(
        move || q.get(),
        |q| async move {
            if q.trim().len() < 2 {
                Ok(vec![])
            } else {
                search_people(q).await
            }
        },
    );
    let add = Action::new(move |(room, pid, name): &(String, String, String)| {
        let (room, pid, name) = (room.clone(), pid.clone(), name.clone());
        async move { report(add_internal(room, pid).await.map(|_| format!("{name} added to the space."))) }
    });
    view! {
        <section class="card">
            <h2>"Add people of the org"</h2>
            <input type="search" placeholder="Type a name or email…" data-testid="people-search"
                prop:value=move || q.get() on:input=move |ev| q.set(event_target_value(&ev))/>
            <Transition fallback=|| ()>
                {move || results.get().map(|r| match r {
                    Err(e) => view! { <p class="alert error">{e.to_string()}</p> }.into_any(),
                    Ok(list) => view! {
                        <ul class="search-results" data-testid="people-results">
                            {list.into_iter().map(|p| {
                                let item = (room_id.clone(), p.person_id.clone(), p.display_name.clone());
                                view! {
                                    <li data-testid="person" data-name=p.display_name.clone()>
                                        {p.display_name.clone()}" "<span class="muted">{p.email.clone()}</span>" "
                                        <button class="secondary" data-testid="add-person" on:click=move |_| { add.dispatch(item.clone()); }>"Add"</button>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// The externals not yet in this space, to add (their numbers as the role may see them).
#[component]
pub(super) fn LinkExternals(
    externals: Signal<Vec<ExternalResponder>>,
    room_id: String,
    report: impl Fn(Result<String, AppError>) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let link = Action::new(move |(room, id): &(String, i64)| {
        let (room, id) = (room.clone(), *id);
        async move { report(link_external(room, id).await.map(|_| "Added to the space.".to_string())) }
    });
    view! {
        <section class="card">
            <h2>"External responders (phone only)"</h2>
            <p class="muted">"Admins keep this list on the Incidents page."</p>
            <table class="grid" data-testid="externals">
                <thead><tr><th>"Name"</th><th>"Email"</th><th>"Mobile"</th><th>"Voice"</th><th></th></tr></thead>
                <tbody>
                    {move || externals.get().into_iter().map(|e| {
                        let item = (room_id.clone(), e.id);
                        view! {
                            <tr data-testid="external" data-name=e.name.clone()>
                                <td>{e.name.clone()}</td>
                                <td>{e.email.clone().unwrap_or_default()}</td>
                                <td>{e.sms_number.clone().unwrap_or_default()}</td>
                                <td>{e.voice_number.clone().unwrap_or_default()}</td>
                                <td class="actions">
                                    <button class="secondary" data-testid="ext-add" on:click=move |_| { link.dispatch(item.clone()); }>"Add to space"</button>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

/// The external responders directory (admins): create, edit, delete, export.
#[component]
pub(super) fn ExternalDirectory() -> impl IntoView {
    let editing = RwSignal::new(None::<i64>);
    let (name, email, mobile, voice) =
        (RwSignal::new(String::new()), RwSignal::new(String::new()), RwSignal::new(String::new()), RwSignal::new(String::new()));
    let error = RwSignal::new(None::<String>);
    let message = RwSignal::new(None::<String>);
    let changed = RwSignal::new(0u32);
    let externals = Resource::new(move || changed.get(), |_| list_externals());
    let save = Action::new(move |_: &()| async move {
        let r = save_external(
            editing.get_untracked(),
            name.get_untracked(),
            email.get_untracked(),
            mobile.get_untracked(),
            voice.get_untracked(),
        )
        .await;
        match r {
            Ok(e) => {
                error.set(None);
                editing.set(None);
                for s in [name, email, mobile, voice] {
                    s.set(String::new());
                }
                message.set(Some(format!("{} saved.", e.name)));
                changed.update(|n| *n += 1);
            }
            Err(e) => error.set(Some(e.to_string())),
        }
    });
    let edit = Callback::new(move |e: ExternalResponder| {
        editing.set(Some(e.id));
        name.set(e.name);
        email.set(e.email.unwrap_or_default());
        mobile.set(e.sms_number.unwrap_or_default());
        voice.set(e.voice_number.unwrap_or_default());
    });
    let delete = Action::new(move |id: &i64| {
        let id = *id;
        async move {
            match delete_external(id).await {
                Ok(()) => message.set(Some("External responder deleted.".into())),
                Err(e) => error.set(Some(e.to_string())),
            }
            changed.update(|n| *n += 1);
        }
    });
    view! {
        <section class="card" data-testid="external-directory">
            <h2>"External responders (phone only)"</h2>
            <p class="muted">"People outside the org, reached by SMS and voice. Those who run incidents add them to a space. "
                <a href="/incidents/directory.csv" download="external-responders.csv" data-testid="export-directory">"Export (CSV)"</a></p>
            <form class="external-form" data-testid="external-form" on:submit=move |ev| { ev.prevent_default(); save.dispatch(()); }>
                <input placeholder="Name" data-testid="ext-name" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                <input placeholder="Email (optional)" data-testid="ext-email" prop:value=move || email.get() on:input=move |ev| email.set(event_target_value(&ev))/>
                <input placeholder="Mobile (SMS)" data-testid="ext-mobile" prop:value=move || mobile.get() on:input=move |ev| mobile.set(event_target_value(&ev))/>
                <input placeholder="Voice number" data-testid="ext-voice" prop:value=move || voice.get() on:input=move |ev| voice.set(event_target_value(&ev))/>
                <button type="submit" class="primary" data-testid="ext-save">{move || if editing.get().is_some() { "Save changes" } else { "Create" }}</button>
                {move || editing.get().is_some().then(|| view! {
                    <button type="button" class="link" on:click=move |_| editing.set(None)>"Cancel"</button>
                })}
            </form>
            {move || error.get().map(|e| view! { <p class="alert error" role="alert" data-testid="ext-error">{e}</p> })}
            {move || message.get().map(|m| view! { <p class="alert info" data-testid="ext-result">{m}</p> })}
            <Transition fallback=|| ()>
                {move || externals.get().map(|r| match r {
                    Err(e) => view! { <p class="alert error">{e.to_string()}</p> }.into_any(),
                    Ok(list) => view! { <DirectoryTable list edit delete=Callback::new(move |id| { delete.dispatch(id); })/> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn DirectoryTable(list: Vec<ExternalResponder>, edit: Callback<ExternalResponder>, delete: Callback<i64>) -> impl IntoView {
    view! {
        <table class="grid" data-testid="externals">
            <thead><tr><th>"Name"</th><th>"Email"</th><th>"Mobile"</th><th>"Voice"</th><th></th></tr></thead>
            <tbody>
                {list.into_iter().map(|e| {
                    let id = e.id;
                    let fill = e.clone();
                    view! {
                        <tr data-testid="external" data-name=e.name.clone()>
                            <td>{e.name.clone()}</td>
                            <td>{e.email.clone().unwrap_or_default()}</td>
                            <td>{e.sms_number.clone().unwrap_or_default()}</td>
                            <td>{e.voice_number.clone().unwrap_or_default()}</td>
                            <td class="actions">
                                <button class="link" data-testid="ext-edit" on:click=move |_| edit.run(fill.clone())>"Edit"</button>
                                <button class="link" data-testid="ext-delete" on:click=move |_| delete.run(id)>"Delete"</button>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}
