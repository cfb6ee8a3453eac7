//! `/branding`: the branding CMS fetches, per tenant. Templates by language (edited in the
//! browser with a live preview filled with sample meeting values), call/IVR files and the web-app
//! sign-in parts (uploaded through a plain multipart form to `POST /api/branding/{tenant}/upload`),
//! the URLs to put in CMS's profiles, and what CMS recently asked for, misses first.
//! Viewers see everything; operators and admins change things. State lives in the query string.

use crate::components::Frame;
use crate::components::LocalTime;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use switchboard::branding::preview::render_preview;
use switchboard::branding::FileKind;
use switchboard::model::branding::{BrandingFileInfo, BrandingTenant, TenantBranding};

#[cfg(feature = "ssr")]
mod ssr {
    /// How CMS reaches this server, as the browser did: the Host header (and a proxy's
    /// X-Forwarded-Proto), so the URLs shown are the ones that work from outside.
    pub async fn base_url() -> String {
        let headers = leptos_axum::extract::<axum::http::HeaderMap>().await.unwrap_or_default();
        let get = |h: &str| headers.get(h).and_then(|v| v.to_str().ok()).map(str::to_string);
        let host = get("x-forwarded-host").or_else(|| get("host")).unwrap_or_else(|| "localhost".into());
        let proto = get("x-forwarded-proto").unwrap_or_else(|| "http".into());
        format!("{proto}://{host}")
    }
}

#[server(endpoint = "branding/tenants")]
pub async fn list_branding_tenants() -> Result<Vec<BrandingTenant>, AppError> {
    use crate::api::ssr as edge;
    edge::edge(async {
        edge::require(switchboard::model::Role::Viewer).await?;
        Ok(edge::services()?.branding.tenants().await?)
    })
    .await
}

#[server(endpoint = "branding/tenant")]
pub async fn get_tenant_branding(tenant: String) -> Result<TenantBranding, AppError> {
    use crate::api::ssr as edge;
    use switchboard::model::Role;
    edge::edge(async {
        let user = edge::require(Role::Viewer).await?;
        let base = ssr::base_url().await;
        Ok(edge::services()?.branding.tenant_overview(&tenant, &base, user.role.allows(Role::Operator)).await?)
    })
    .await
}

#[server(endpoint = "branding/create_tenant")]
pub async fn create_branding_tenant(name: String) -> Result<String, AppError> {
    use crate::api::ssr as edge;
    edge::edge(async {
        let user = edge::require(switchboard::model::Role::Operator).await?;
        Ok(edge::services()?.branding.create_tenant(&name, &user.actor()).await?.sentence())
    })
    .await
}

#[server(endpoint = "branding/template")]
pub async fn branding_template_text(tenant: String, language: String) -> Result<Option<String>, AppError> {
    use crate::api::ssr as edge;
    edge::edge(async {
        edge::require(switchboard::model::Role::Viewer).await?;
        Ok(edge::services()?.branding.template_text(&tenant, &language).await?)
    })
    .await
}

#[server(endpoint = "branding/save_template")]
pub async fn save_branding_template(tenant: String, language: String, text: String) -> Result<String, AppError> {
    use crate::api::ssr as edge;
    edge::edge(async {
        let user = edge::require(switchboard::model::Role::Operator).await?;
        let s = edge::services()?;
        let out = s
            .branding
            .put(&tenant, FileKind::Template, &language, text.as_bytes(), &user.actor(), switchboard::model::AuditAction::BrandingTemplate)
            .await?;
        Ok(out.sentence())
    })
    .await
}

#[server(endpoint = "branding/delete")]
pub async fn delete_branding_item(tenant: String, kind: String, name: String) -> Result<String, AppError> {
    use crate::api::ssr as edge;
    edge::edge(async {
        let user = edge::require(switchboard::model::Role::Operator).await?;
        let kind = FileKind::parse(&kind).ok_or_else(|| AppError::Invalid(format!("'{kind}' is not a kind of branding file")))?;
        Ok(edge::services()?.branding.delete(&tenant, kind, &name, &user.actor()).await?)
    })
    .await
}

fn human_size(n: i64) -> String {
    match n {
        n if n >= 1024 * 1024 => format!("{:.1} MB", n as f64 / 1048576.0),
        n if n >= 1024 => format!("{:.1} kB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

#[component]
pub fn BrandingPage() -> impl IntoView {
    let query = use_query_map();
    let tenant = move || query.read().get("tenant").filter(|t| !t.is_empty());
    let refresh = RwSignal::new(0u32);
    let tenants = Resource::new(move || refresh.get(), |_| list_branding_tenants());
    let create = ServerAction::<CreateBrandingTenant>::new();
    Effect::new(move |_| {
        if create.version().get() > 0 {
            refresh.update(|n| *n += 1);
        }
    });

    view! {
        <Frame title="Branding">
            <p class="muted">"Invitation templates, call and IVR customization files and the web-app sign-in archive that CMS fetches, per tenant."</p>
            {move || query.read().get("notice").map(|n| view! { <p class="alert info" data-testid="branding-notice">{n}</p> })}
            {move || query.read().get("error").map(|e| view! { <p class="alert error" role="alert" data-testid="branding-error">{e}</p> })}
            <div class="branding-layout">
                <aside class="card">
                    <h2>"Tenants"</h2>
                    <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                        {move || tenants.get().map(|r| match r {
                            Err(e) => view! { <p class="alert error">{e.to_string()}</p> }.into_any(),
                            Ok(list) if list.is_empty() => view! { <p class="muted">"No tenants yet."</p> }.into_any(),
                            Ok(list) => view! {
                                <ul class="tenant-list" data-testid="tenant-list">
                                    {list.into_iter().map(|t| {
                                        let selected = tenant().as_deref() == Some(t.name.as_str());
                                        view! {
                                            <li class:selected=selected>
                                                <a href=format!("/branding?tenant={}", t.name)>{t.name.clone()}</a>
                                                <span class="muted">{format!(" {} templates, {} files", t.templates, t.files)}</span>
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                            }.into_any(),
                        })}
                    </Transition>
                    <ActionForm action=create attr:class="stack">
                        <label>"New tenant" <input name="name" placeholder="e.g. acme" pattern="[a-z0-9][a-z0-9_-]{0,63}" required/></label>
                        <button type="submit" class="secondary">"Create"</button>
                    </ActionForm>
                    {move || create.value().get().map(|r| match r {
                        Ok(m) => view! { <p class="alert info">{m}</p> }.into_any(),
                        Err(e) => view! { <p class="alert error">{e.to_string()}</p> }.into_any(),
                    })}
                </aside>
                <section class="branding-main">
                    {move || match tenant() {
                        None => view! { <p class="muted">"Choose a tenant on the left, or create one."</p> }.into_any(),
                        Some(t) => view! { <TenantView tenant=t/> }.into_any(),
                    }}
                </section>
            </div>
        </Frame>
    }
}

#[component]
fn TenantView(tenant: String) -> impl IntoView {
    let query = use_query_map();
    let refresh = RwSignal::new(0u32);
    let t = tenant.clone();
    let data = Resource::new(move || refresh.get(), move |_| get_tenant_branding(t.clone()));
    let delete = ServerAction::<DeleteBrandingItem>::new();
    Effect::new(move |_| {
        if delete.version().get() > 0 {
            refresh.update(|n| *n += 1);
        }
    });
    let editing = move || query.read().get("lang").filter(|l| !l.is_empty());

    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="alert error" data-testid="tenant-error">{e.to_string()}</p> }.into_any(),
                Ok(b) => {
                    let can_edit = b.can_edit;
                    view! {
                        <h2 class="tenant-title">{format!("Tenant {}", b.tenant)}</h2>
                        {move || delete.value().get().map(|r| match r {
                            Ok(m) => view! { <p class="alert info">{m}</p> }.into_any(),
                            Err(e) => view! { <p class="alert error">{e.to_string()}</p> }.into_any(),
                        })}
                        <ProfileUrlsCard b=b.clone()/>
                        <TemplatesCard b=b.clone() delete=delete/>
                        <FilesCard b=b.clone() delete=delete/>
                        <RequestsCard b=b.clone()/>
                        {(!can_edit).then(|| view! { <p class="muted">"Your role may look but not change branding."</p> })}
                    }.into_any()
                }
            })}
        </Transition>
        {move || editing().map(|lang| view! { <EditorLoader tenant=tenant.clone() language=lang on_saved=move || refresh.update(|n| *n += 1)/> })}
    }
}

#[component]
fn ProfileUrlsCard(b: TenantBranding) -> impl IntoView {
    view! {
        <section class="card" data-testid="profile-urls">
            <h2>"URLs for CMS profiles"</h2>
            <table class="status">
                <tbody>
                    <tr><th>"callBrandingProfile invitationTemplate"</th><td><code data-testid="url-invitation">{b.urls.invitation_template}</code></td></tr>
                    <tr><th>"callBrandingProfile resourceLocation"</th><td><code data-testid="url-call">{b.urls.call_resource_location}</code></td></tr>
                    <tr><th>"ivrBrandingProfile resourceLocation"</th><td><code data-testid="url-ivr">{b.urls.ivr_resource_location}</code></td></tr>
                    <tr><th>"webBridgeProfile resourceArchive"</th><td><code data-testid="url-webapp">{b.urls.web_resource_archive}</code></td></tr>
                </tbody>
            </table>
            <p class="muted">"CMS adds "<code>"?language=xx_YY"</code>" to the template URL; Switchboard answers the exact language (fr_CA), then the language alone (fr), then the same language for another country (fr_FR first, then the others by tag), then the default, else 404 (CMS then uses its built-in template)."</p>
        </section>
    }
}

#[component]
fn DeleteButton(tenant: String, kind: FileKind, name: String, delete: ServerAction<DeleteBrandingItem>) -> impl IntoView {
    view! {
        <ActionForm action=delete attr:class="inline">
            <input type="hidden" name="tenant" value=tenant/>
            <input type="hidden" name="kind" value=kind.as_str()/>
            <input type="hidden" name="name" value=name.clone()/>
            <button type="submit" class="secondary small" aria-label=format!("Delete {name}")>"Delete"</button>
        </ActionForm>
    }
}

#[component]
fn TemplatesCard(b: TenantBranding, delete: ServerAction<DeleteBrandingItem>) -> impl IntoView {
    let tenant = b.tenant.clone();
    let can_edit = b.can_edit;
    let rows = b.templates.clone();
    let new_tenant = tenant.clone();
    view! {
        <section class="card">
            <h2>"Invitation templates"</h2>
            {rows.is_empty().then(|| view! { <p class="muted">"No templates: CMS uses its built-in invitation for every language."</p> })}
            <table class="grid" data-testid="templates-table">
                <thead><tr><th>"Language"</th><th>"Size"</th><th>"Changed (UTC)"</th><th>"By"</th><th></th></tr></thead>
                <tbody>
                    {rows.into_iter().map(|f| {
                        let edit = format!("/branding?tenant={}&lang={}#editor", tenant, f.name);
                        let del = can_edit.then(|| view! { <DeleteButton tenant=tenant.clone() kind=FileKind::Template name=f.name.clone() delete/> });
                        view! {
                            <tr data-testid="template-row">
                                <td><strong>{f.name.clone()}</strong></td>
                                <td>{human_size(f.size)}" · "{f.detail.clone()}</td>
                                <td><LocalTime at=f.updated_at/></td>
                                <td>{f.updated_by.clone()}</td>
                                <td class="actions">
                                    <a href=f.path.clone() target="_blank">"Fetch as CMS"</a>" "
                                    <a href=edit>{if can_edit { "Edit" } else { "View" }}</a>" "
                                    {del}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            {can_edit.then(|| view! {
                <form method="get" action="/branding" class="toolbar">
                    <input type="hidden" name="tenant" value=new_tenant/>
                    <label>"Write a template for language " <input name="lang" placeholder="de_DE or default" required/></label>
                    <button type="submit" class="secondary">"Open editor"</button>
                </form>
            })}
        </section>
    }
}

#[component]
fn FilesCard(b: TenantBranding, delete: ServerAction<DeleteBrandingItem>) -> impl IntoView {
    let tenant = b.tenant.clone();
    let can_edit = b.can_edit;
    let upload_url = format!("/api/branding/{}/upload", b.tenant);
    let files = b.files.clone();
    let row = move |f: BrandingFileInfo| {
        let del = can_edit.then(|| view! { <DeleteButton tenant=tenant.clone() kind=f.kind name=f.name.clone() delete/> });
        view! {
            <tr data-testid="file-row">
                <td>{f.kind.label()}</td>
                <td><strong>{f.name.clone()}</strong>{(!f.known && matches!(f.kind, FileKind::Call | FileKind::Ivr)).then(|| view! { <span class="pill pill-unknown" title="CMS is not known to ask for this name">" unknown name"</span> })}</td>
                <td>{f.detail.clone()}</td>
                <td>{human_size(f.size)}</td>
                <td><LocalTime at=f.updated_at/></td>
                <td class="actions"><a href=f.path.clone() target="_blank">"Fetch as CMS"</a>" "{del}</td>
            </tr>
        }
    };
    view! {
        <section class="card">
            <h2>"Files"</h2>
            <p class="muted">"Web app sign-in archive: " <span data-testid="archive-source">{b.archive_source.clone()}</span></p>
            {files.is_empty().then(|| view! { <p class="muted">"No call, IVR or web app files: CMS uses its defaults."</p> })}
            <table class="grid" data-testid="files-table">
                <thead><tr><th>"Kind"</th><th>"Name"</th><th>"Format"</th><th>"Size"</th><th>"Changed (UTC)"</th><th></th></tr></thead>
                <tbody>{files.into_iter().map(row).collect_view()}</tbody>
            </table>
            {can_edit.then(|| view! {
                <form method="post" action=upload_url enctype="multipart/form-data" class="upload" data-testid="upload-form">
                    <label>"Kind"
                        <select name="kind" data-testid="upload-kind">
                            <option value="call">"Call customization (.wav, .jpg)"</option>
                            <option value="ivr">"IVR (.wav, .jpg)"</option>
                            <option value="webapp">"Web app sign-in part"</option>
                            <option value="archive">"Web app archive (.zip, whole)"</option>
                            <option value="template">"Invitation template (.txt)"</option>
                        </select>
                    </label>
                    <label>"File" <input type="file" name="file" required data-testid="upload-file"/></label>
                    <label>"Store as (optional)" <input name="name" placeholder="e.g. background.jpg; default: the file's name"/></label>
                    <label>"Template language (templates only)" <input name="language" placeholder="en_US or default; default: from invitation_template_en_US.txt"/></label>
                    <button type="submit" class="secondary" data-testid="upload-submit">"Upload"</button>
                    <p class="muted small">"WAV: 16-bit PCM mono, 8–48 kHz, at most 1000 kB. JPG/PNG: the name's type, 16–4096 px a side, at most 1.5 MB. Web app parts: sign_in_background.jpg, sign_in_logo.png, favicon.png, text_strings.json (keys brand_title, brand_subtitle, brand_tag_line, brand_browser_tab_label)."</p>
                </form>
            })}
        </section>
    }
}

#[component]
fn RequestsCard(b: TenantBranding) -> impl IntoView {
    let missing = b.missing.clone();
    let recent = b.recent.clone();
    view! {
        <section class="card">
            <h2>"What CMS asked for"</h2>
            <h3>"Missing"</h3>
            {missing.is_empty().then(|| view! { <p class="muted">"Nothing missing in the recent requests."</p> })}
            <table class="grid" data-testid="missing-table">
                <thead><tr><th>"Kind"</th><th>"Asked for"</th><th>"Times"</th><th>"Last (UTC)"</th><th>"Answered with"</th></tr></thead>
                <tbody>
                    {missing.into_iter().map(|m| view! {
                        <tr>
                            <td>{m.kind}</td>
                            <td><strong>{if m.name.is_empty() { "(no language)".to_string() } else { m.name }}</strong></td>
                            <td>{m.count}</td>
                            <td><LocalTime at=m.last_at/></td>
                            <td>{m.served.map(|s| format!("the {s} template")).unwrap_or_else(|| "404".into())}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            <h3>"Recent requests"</h3>
            <table class="grid" data-testid="requests-table">
                <thead><tr><th>"When (UTC)"</th><th>"From"</th><th>"Request"</th><th>"Asked for"</th><th>"Status"</th><th>"Served"</th></tr></thead>
                <tbody>
                    {recent.into_iter().map(|r| {
                        let class = if r.status >= 400 { "result-failed" } else { "" };
                        view! {
                            <tr>
                                <td><LocalTime at=r.at/></td>
                                <td>{r.remote.unwrap_or_default()}</td>
                                // Served requests are counted: one row for a burst of the same fetch.
                                <td>{if r.count > 1 { format!("{} {} ×{}", r.method, r.kind, r.count) } else { format!("{} {}", r.method, r.kind) }}</td>
                                <td>{r.name}</td>
                                <td class=class>{r.status}</td>
                                <td>{r.served.unwrap_or_default()}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

#[component]
fn EditorLoader(tenant: String, language: String, on_saved: impl Fn() + Send + Sync + Copy + 'static) -> impl IntoView {
    let (t, l) = (tenant.clone(), language.clone());
    let text = Resource::new(|| (), move |_| branding_template_text(t.clone(), l.clone()));
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading the template…"</p> }>
            {move || text.get().map(|r| match r {
                Err(e) => view! { <p class="alert error">{e.to_string()}</p> }.into_any(),
                Ok(existing) => view! {
                    <TemplateEditor tenant=tenant.clone() language=language.clone() initial=existing.unwrap_or_default() on_saved/>
                }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn TemplateEditor(tenant: String, language: String, initial: String, on_saved: impl Fn() + Send + Sync + Copy + 'static) -> impl IntoView {
    let text = RwSignal::new(initial.clone());
    let preview = Memo::new(move |_| render_preview(&text.get()));
    let save = ServerAction::<SaveBrandingTemplate>::new();
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            on_saved();
        }
    });
    view! {
        <section class="card" id="editor" data-testid="template-editor">
            <h2>{format!("Template: {language}")}</h2>
            <div class="editor">
                <ActionForm action=save attr:class="editor-form">
                    <input type="hidden" name="tenant" value=tenant/>
                    <input type="hidden" name="language" value=language.clone()/>
                    <textarea
                        name="text"
                        rows="22"
                        spellcheck="false"
                        data-testid="template-text"
                        prop:value=move || text.get()
                        on:input:target=move |ev| text.set(ev.target().value())
                    >{initial}</textarea>
                    <button type="submit" class="secondary" data-testid="template-save">"Save template"</button>
                    {move || save.value().get().map(|r| match r {
                        Ok(m) => view! { <p class="alert info" data-testid="template-saved">{m}</p> }.into_any(),
                        Err(e) => view! { <p class="alert error" data-testid="template-save-error">{e.to_string()}</p> }.into_any(),
                    })}
                </ActionForm>
                <div class="preview" data-testid="template-preview">
                    <h3>"Preview with sample values"</h3>
                    <p class="subject"><strong>"Subject: "</strong><span data-testid="preview-subject">{move || preview.get().subject.unwrap_or_default()}</span></p>
                    <pre data-testid="preview-body">{move || preview.get().body}</pre>
                    {move || {
                        let w = preview.get().warnings;
                        (!w.is_empty()).then(|| view! {
                            <ul class="warnings" data-testid="preview-warnings">{w.into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}</ul>
                        })
                    }}
                    <p class="muted small">"Sample: name “Quarterly review”, uri, numeric_id 4455667788, passcode 2468, two web_bridge_addresses."</p>
                </div>
            </div>
        </section>
    }
}
