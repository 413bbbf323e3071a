//! The consoles' management panels: a store owner's shelf (prices, pickup stock) and clerks, a
//! supplier's SKUs and CSV import (sent in parts, with a progress bar), and the operator's fee,
//! stores and suppliers.

use leptos::prelude::*;
use serde::de::IgnoredAny;
use serde_json::Value;
use tandem_app::api::{self, ApiFailure};
use tandem_app::use_language;
use tandem_domain::api::Problem;
use tandem_domain::api::manage::{
    ClerkInvite, ConsoleSku, FeeRequest, ImportAnswer, ImportRequest, PriceSet, Removed, Settings, ShelfPrice,
    StaffList, StaffMember, StatusRequest, StockSet, StoreCatalog, StoreStock, Tenant, Tenants,
};
use tandem_domain::import::RowError;
use tandem_domain::money::Fen;

use crate::text::{T, failure, t};

fn label(sku: &ConsoleSku, language: tandem_app::i18n::Language) -> String {
    let name = match language {
        tandem_app::i18n::Language::Zh => &sku.name_zh,
        tandem_app::i18n::Language::En => &sku.name_en,
    };
    let variant: Vec<&str> = [sku.size.as_deref(), sku.colour_zh.as_deref()].into_iter().flatten().collect();
    if variant.is_empty() { name.clone() } else { format!("{name} · {}", variant.join(" / ")) }
}

/// A store owner's shelf: every SKU with its band, price (save / take off) and pickup stock.
#[component]
pub fn ShelfPanel(store: String) -> impl IntoView {
    let language = use_language();
    let store = StoredValue::new(store);
    let catalog = LocalResource::new(move || {
        let store = store.get_value();
        async move {
            api::send::<StoreCatalog>("GET", &format!("/api/store/{}/catalog", api::encode(&store)), None, None).await
        }
    });
    let save = Action::new_local(move |(sku, price, stock, flash_sale): &(String, Option<i64>, Option<i64>, bool)| {
        let (store, sku, price, stock, flash_sale) = (store.get_value(), sku.clone(), *price, *stock, *flash_sale);
        async move {
            if let Some(price) = price {
                let body = api::body(&ShelfPrice { price_fen: price });
                api::send::<PriceSet>("PUT", &format!("/api/store/{store}/shelf/{sku}"), body, None).await?;
            }
            if let Some(stock) = stock {
                let body = api::body(&StoreStock { on_hand: stock, flash_sale: Some(flash_sale) });
                api::send::<StockSet>("PUT", &format!("/api/store/{store}/stock/{sku}"), body, None).await?;
            }
            Ok::<(), ApiFailure>(())
        }
    });
    view! {
        <section class="panel" data-test="shelf-panel">
            <h2>{move || t(language.get(), T::Shelf)}</h2>
            {move || save.value().get().map(|r| match r {
                Ok(()) => view! { <p class="note ok" role="status" data-test="shelf-result">{move || t(language.get(), T::Saved)}</p> }.into_any(),
                Err(e) => view! { <p class="note error" role="alert" data-test="shelf-result">{failure(language.get(), &e)}</p> }.into_any(),
            })}
            <Suspense fallback=|| ()>
                {move || catalog.get().map(|result| match result {
                    Ok(catalog) => view! {
                        <ul class="sku-list">
                            {catalog.skus.into_iter().map(|sku| {
                                let price = RwSignal::new(sku.price_fen.map(|p| format!("{}.{:02}", p / 100, p % 100)).unwrap_or_default());
                                let stock = RwSignal::new(sku.on_hand.map(|n| n.to_string()).unwrap_or_default());
                                let flash_sale = RwSignal::new(sku.flash_sale);
                                let id = sku.sku_id.clone();
                                let data_sku = id.clone();
                                let band = format!("{} – {}", Fen(sku.min_price_fen), Fen(sku.max_price_fen));
                                let on_shelf = sku.price_fen.is_some();
                                let name = sku.clone();
                                view! {
                                    <li class="sku" data-sku=data_sku class:on-shelf=on_shelf>
                                        <p class="name">{move || label(&name, language.get())}</p>
                                        <p class="band">{band}</p>
                                        <form class="row" on:submit=move |ev| {
                                            ev.prevent_default();
                                            save.dispatch((id.clone(), Fen::parse_yuan(&price.get_untracked()).map(Fen::get), stock.get_untracked().trim().parse().ok(), flash_sale.get_untracked()));
                                        }>
                                            <input type="text" inputmode="decimal" aria-label="price" data-test="price" prop:value=price on:input=move |ev| price.set(event_target_value(&ev)) />
                                            <input type="number" min="0" aria-label="stock" data-test="stock" prop:value=stock on:input=move |ev| stock.set(event_target_value(&ev)) />
                                            <label class="flash"><input type="checkbox" data-test="flash-sale" prop:checked=flash_sale on:change=move |ev| flash_sale.set(event_target_checked(&ev)) />{move || t(language.get(), T::FlashSaleShort)}</label>
                                            <button type="submit" class="secondary">{move || t(language.get(), T::Save)}</button>
                                        </form>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(e) => view! { <p class="note error">{failure(language.get(), &e)}</p> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// A store owner's clerks: invite by phone, remove.
#[component]
pub fn ClerksPanel(store: String) -> impl IntoView {
    let language = use_language();
    let store = StoredValue::new(store);
    let staff = LocalResource::new(move || {
        let store = store.get_value();
        async move { api::send::<StaffList>("GET", &format!("/api/store/{}/clerks", api::encode(&store)), None, None).await }
    });
    let phone = RwSignal::new(String::new());
    let change = Action::new_local(move |(invite, value): &(bool, String)| {
        let (store, invite, value) = (store.get_value(), *invite, value.clone());
        async move {
            if invite {
                let body = api::body(&ClerkInvite { phone: value });
                api::send::<StaffMember>("POST", &format!("/api/store/{store}/clerks"), body, None).await.map(drop)
            } else {
                api::send::<Removed>("DELETE", &format!("/api/store/{store}/clerks/{value}"), None, None)
                    .await
                    .map(drop)
            }
        }
    });
    Effect::new(move |_| {
        if matches!(change.value().get(), Some(Ok(()))) {
            phone.set(String::new());
            staff.refetch();
        }
    });
    view! {
        <section class="panel" data-test="clerks-panel">
            <h2>{move || t(language.get(), T::Clerks)}</h2>
            <Suspense fallback=|| ()>
                {move || staff.get().and_then(Result::ok).map(|list| view! {
                    <ul class="staff">
                        {list.staff.into_iter().map(|member| {
                            let id = member.id.clone();
                            let clerk = member.role == "clerk";
                            view! {
                                <li>{member.phone.unwrap_or_default()} " · " {member.role}
                                    {clerk.then(|| view! { <button class="secondary" on:click=move |_| { change.dispatch((false, id.clone())); }>{move || t(language.get(), T::Remove)}</button> })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                })}
            </Suspense>
            <form class="row" on:submit=move |ev| { ev.prevent_default(); change.dispatch((true, phone.get_untracked())); }>
                <input type="tel" inputmode="numeric" data-test="clerk-phone" placeholder=move || t(language.get(), T::PhonePlaceholder) prop:value=phone on:input=move |ev| phone.set(event_target_value(&ev)) />
                <button type="submit" class="secondary" data-test="invite-clerk">{move || t(language.get(), T::Invite)}</button>
            </form>
            {move || change.value().get().and_then(Result::err).map(|e| view! { <p class="note error" role="alert">{failure(language.get(), &e)}</p> })}
        </section>
    }
}

/// Rows sent per request: far below the Worker's 200-row and 16 KiB limits.
const ROWS_PER_PART: usize = 40;

/// A supplier's CSV import: the file is read in the browser and sent in parts; the bar shows
/// how far it got, and every refused row is listed with its line and column.
#[component]
pub fn ImportPanel(supplier: String) -> impl IntoView {
    let language = use_language();
    let supplier = StoredValue::new(supplier);
    let text = RwSignal::new(String::new());
    let progress = RwSignal::new((0usize, 0usize));
    let applied = RwSignal::new(0usize);
    let errors = RwSignal::new(Vec::<RowError>::new());
    let failed = RwSignal::new(None::<ApiFailure>);
    let run = Action::new_local(move |(): &()| {
        let csv = text.get_untracked();
        let supplier = supplier.get_value();
        async move {
            let mut lines = csv.lines().filter(|l| !l.trim().is_empty());
            let header = lines.next().unwrap_or_default().to_owned();
            let rows: Vec<&str> = lines.collect();
            progress.set((0, rows.len()));
            applied.set(0);
            errors.set(Vec::new());
            failed.set(None);
            for (part, chunk) in rows.chunks(ROWS_PER_PART).enumerate() {
                let body = api::body(&ImportRequest { csv: format!("{header}\n{}", chunk.join("\n")) });
                match api::send::<ImportAnswer>("POST", &format!("/api/supplier/{supplier}/import"), body, None).await {
                    Ok(answer) => {
                        applied.update(|n| *n += answer.applied);
                        // Line numbers in a part count from its own header; shift them back.
                        let offset = part * ROWS_PER_PART;
                        errors.update(|all| {
                            all.extend(answer.errors.into_iter().map(|e| RowError { line: e.line + offset, ..e }));
                        });
                    }
                    Err(error) => {
                        failed.set(Some(error));
                        return;
                    }
                }
                progress.set(((part * ROWS_PER_PART + chunk.len()).min(rows.len()), rows.len()));
            }
        }
    });
    view! {
        <section class="panel" data-test="import-panel">
            <h2>{move || t(language.get(), T::ImportCsv)}</h2>
            <p class="note"><code>"product_id,category,name_zh,name_en,sku_id,size,colour_zh,colour_en,supply_fen,min_fen,max_fen,stock"</code></p>
            <input type="file" accept=".csv,text/csv" on:change=move |ev| {
                let input: web_sys::HtmlInputElement = event_target(&ev);
                if let Some(file) = input.files().and_then(|files| files.get(0)) {
                    leptos::task::spawn_local(async move {
                        if let Ok(value) = wasm_bindgen_futures::JsFuture::from(file.text()).await {
                            text.set(value.as_string().unwrap_or_default());
                        }
                    });
                }
            } />
            <textarea rows="5" data-test="csv" prop:value=text on:input=move |ev| text.set(event_target_value(&ev))></textarea>
            <button class="primary" data-test="import" disabled=move || run.pending().get() on:click=move |_| { run.dispatch(()); }>{move || t(language.get(), T::ImportCsv)}</button>
            <progress data-test="import-progress" max=move || progress.get().1.max(1) value=move || progress.get().0></progress>
            <p class="note" data-test="import-result">{move || format!("{} {} / {}", t(language.get(), T::Applied), applied.get(), progress.get().1)}</p>
            <ul class="row-errors" data-test="import-errors">
                {move || errors.get().into_iter().map(|e| view! { <li>{format!("{} {} · {}: {}", t(language.get(), T::Line), e.line, e.column, e.message)}</li> }).collect_view()}
            </ul>
            {move || failed.get().map(|error| view! { <p class="note error" role="alert">{failure(language.get(), &error)}</p> })}
        </section>
    }
}

/// Sends a picture file as the raw body of an upload; the stored picture's address.
async fn upload_picture(supplier: &str, product: &str, file: web_sys::File) -> Result<String, ApiFailure> {
    let url = format!("/api/supplier/{}/products/{}/media", api::encode(supplier), api::encode(product));
    let stored = api::send_raw::<Value>("POST", &url, &file, &file.type_()).await?;
    Ok(stored["url"].as_str().unwrap_or_default().to_owned())
}

/// A supplier's product pictures: pick a product id and a PNG, JPEG or WebP file.
#[component]
pub fn PicturesPanel(supplier: String) -> impl IntoView {
    let language = use_language();
    let supplier = StoredValue::new(supplier);
    let product = RwSignal::new(String::new());
    let file = RwSignal::new_local(None::<web_sys::File>);
    let upload = Action::new_local(move |(): &()| {
        let (supplier, product, file) = (supplier.get_value(), product.get_untracked(), file.get_untracked());
        async move {
            match file {
                Some(file) => upload_picture(&supplier, product.trim(), file).await,
                None => Err(ApiFailure::local(Problem::BadRequest { field: "file".to_owned() })),
            }
        }
    });
    view! {
        <section class="panel" data-test="pictures-panel">
            <h2>{move || t(language.get(), T::Pictures)}</h2>
            <div class="row">
                <input type="text" placeholder="p-0101" prop:value=product on:input=move |ev| product.set(event_target_value(&ev)) />
                <input type="file" accept="image/png,image/jpeg,image/webp" on:change=move |ev| {
                    let input: web_sys::HtmlInputElement = event_target(&ev);
                    file.set(input.files().and_then(|files| files.get(0)));
                } />
            </div>
            <button class="secondary" disabled=move || upload.pending().get() on:click=move |_| { upload.dispatch(()); }>{move || t(language.get(), T::Upload)}</button>
            {move || upload.value().get().map(|r| match r {
                Ok(url) => view! { <img class="uploaded" src=url alt="" width="96" height="96" /> }.into_any(),
                Err(e) => view! { <p class="note error" role="alert">{failure(language.get(), &e)}</p> }.into_any(),
            })}
        </section>
    }
}

/// The operator's platform fee, new stores and suppliers, and suspending either.
#[component]
pub fn OperatorPanels() -> impl IntoView {
    let language = use_language();
    let settings =
        LocalResource::new(|| async { api::send::<Settings>("GET", "/api/operator/settings", None, None).await });
    let fee = RwSignal::new(String::new());
    let form = RwSignal::new(String::new());
    let act = Action::new_local(move |(method, path, body): &(&'static str, String, Option<String>)| {
        let (method, path, body) = (*method, path.clone(), body.clone());
        async move { api::send::<IgnoredAny>(method, &path, body, None).await.map(drop) }
    });
    Effect::new(move |_| {
        if matches!(act.value().get(), Some(Ok(()))) {
            settings.refetch();
        }
    });
    let tenants =
        LocalResource::new(|| async { api::send::<Tenants>("GET", "/api/operator/tenants", None, None).await });
    Effect::new(move |_| {
        if matches!(act.value().get(), Some(Ok(()))) {
            tenants.refetch();
        }
    });
    let tenant_list = move |table: &'static str, list: Vec<Tenant>| {
        view! {
            <ul class="staff" data-test=table>
                {list.into_iter().map(|tenant| {
                    let active = tenant.status == "active";
                    let (id, next) = (tenant.id.clone(), if active { "suspended" } else { "active" });
                    let name = (tenant.name_zh.clone(), tenant.name_en.clone());
                    view! {
                        <li data-status=tenant.status.clone()>
                            <code>{tenant.id.clone()}</code> " " {move || if language.get() == tandem_app::i18n::Language::Zh { name.0.clone() } else { name.1.clone() }}
                            <button class="secondary" on:click=move |_| {
                                act.dispatch(("PUT", format!("/api/operator/{table}/{id}/status"), api::body(&StatusRequest { status: next.to_owned() })));
                            }>{move || t(language.get(), if active { T::Suspend } else { T::Activate })}</button>
                        </li>
                    }
                }).collect_view()}
            </ul>
        }
    };
    let example = r#"{"id":"s-xuhui","name_zh":"徐汇店","name_en":"Xuhui store","city_zh":"上海","city_en":"Shanghai","address_zh":"漕溪北路 1 号","address_en":"1 North Caoxi Road","owner_phone":"13900000031"}"#;
    view! {
        <section class="panel">
            <h2>{move || t(language.get(), T::PlatformFee)}</h2>
            <Suspense fallback=|| ()>
                {move || settings.get().and_then(Result::ok).map(|s| view! {
                    <p class="note" data-test="fee">{format!("{} bp · cap {} bp", s.platform_fee_bp, s.distribution_cap_bp)}</p>
                })}
            </Suspense>
            <form class="row" on:submit=move |ev| {
                ev.prevent_default();
                let bp: u32 = fee.get_untracked().trim().parse().unwrap_or(u32::MAX);
                act.dispatch(("PUT", "/api/operator/settings".to_owned(), api::body(&FeeRequest { platform_fee_bp: bp })));
            }>
                <input type="number" min="0" max="2000" prop:value=fee on:input=move |ev| fee.set(event_target_value(&ev)) />
                <button type="submit" class="secondary">{move || t(language.get(), T::Save)}</button>
            </form>
        </section>
        <section class="panel">
            <h2>{move || t(language.get(), T::NewStoreOrSupplier)}</h2>
            <textarea rows="5" placeholder=example prop:value=form on:input=move |ev| form.set(event_target_value(&ev))></textarea>
            <div class="row">
                <button class="secondary" on:click=move |_| { act.dispatch(("POST", "/api/operator/stores".to_owned(), Some(form.get_untracked()))); }>{move || t(language.get(), T::CreateStore)}</button>
                <button class="secondary" on:click=move |_| { act.dispatch(("POST", "/api/operator/suppliers".to_owned(), Some(form.get_untracked()))); }>{move || t(language.get(), T::CreateSupplier)}</button>
            </div>
            <Suspense fallback=|| ()>
                {move || tenants.get().and_then(Result::ok).map(|all| view! {
                    {tenant_list("stores", all.stores)}
                    {tenant_list("suppliers", all.suppliers)}
                })}
            </Suspense>
            {move || act.value().get().map(|r| match r {
                Ok(()) => view! { <p class="note ok" role="status">{move || t(language.get(), T::Saved)}</p> }.into_any(),
                Err(e) => view! { <p class="note error" role="alert">{failure(language.get(), &e)}</p> }.into_any(),
            })}
        </section>
    }
}
