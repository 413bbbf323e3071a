//! "My card" (`/me/card`): the signed-in person's own business card — its link, what it says
//! (title, bio, WeChat, email, whether the phone shows, featured products), its photo — and the
//! visitor radar: who opened the card or products shared from it, and how interested they seem;
//! for a clerk, also the customers who came through their card.

use leptos::prelude::*;
use leptos::task::spawn_local;
use tandem_app::api::{self, ApiFailure};
use tandem_app::components::{ErrorNotice, TopBar};
use tandem_app::i18n::Language;
use tandem_app::use_language;
use tandem_domain::api::cards::{MyCard, PhotoAnswer, Radar, StoreCard};
use tandem_domain::card::{CardForm, Level, RadarEntry};

use crate::text::{both, failure};

/// A product id from an id or a pasted product link (`…/p/{id}?store=…`).
fn product_id(text: &str) -> String {
    let text = text.trim();
    let after = text.rsplit_once("/p/").map_or(text, |(_, rest)| rest);
    after.split(['?', '#', '/']).next().unwrap_or_default().to_owned()
}

#[component]
pub fn MyCardPage() -> impl IntoView {
    let language = use_language();
    let card = LocalResource::new(|| async {
        crate::signed_in(api::send::<MyCard>("GET", "/api/me/card", None, None).await, "/me/card")
    });
    let radar = LocalResource::new(|| async { api::send::<Radar>("GET", "/api/me/radar", None, None).await });
    let title = Signal::derive(move || both(language.get(), "我的名片", "My card").to_owned());
    // Outside the editor, which is drawn again when the card reloads after a change.
    let note = RwSignal::new(None::<Result<(), ApiFailure>>);
    view! {
        <TopBar title=title back=Signal::derive(|| "/me".to_owned()) />
        <main class="page desk my-card">
            <Suspense fallback=move || view! { <p class="loading">"…"</p> }>
                {move || card.get().map(|result| match result {
                    Ok(mine) => view! { <CardEditor mine=mine note=note on_saved=Callback::new(move |()| card.refetch()) /> }.into_any(),
                    Err(error) => view! { <ErrorNotice failure=error /> }.into_any(),
                })}
            </Suspense>
            {move || note.get().map(|result| match result {
                Ok(()) => view! { <p class="note ok" role="status" data-test="card-saved">{both(language.get(), "已保存", "Saved")}</p> }.into_any(),
                Err(error) => view! { <p class="note error" role="alert" data-test="card-error">{failure(language.get(), &error)}</p> }.into_any(),
            })}
            <Suspense fallback=|| ()>
                {move || radar.get().map(|result| match result {
                    Ok(radar) => view! {
                        <RadarList title_zh="访客雷达" title_en="Visitor radar" test="radar" entries=radar.visitors />
                        {(!radar.customers.is_empty()).then(|| view! {
                            <RadarList title_zh="我的顾客" title_en="My customers" test="customers" entries=radar.customers.clone() />
                        })}
                    }.into_any(),
                    Err(error) => view! { <p class="note error">{failure(language.get(), &error)}</p> }.into_any(),
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn CardEditor(mine: MyCard, note: RwSignal<Option<Result<(), ApiFailure>>>, on_saved: Callback<()>) -> impl IntoView {
    let language = use_language();
    let card = mine.card.clone();
    let title = RwSignal::new(card.title.clone().unwrap_or_default());
    let bio = RwSignal::new(card.bio.clone().unwrap_or_default());
    let wechat = RwSignal::new(card.wechat.clone().unwrap_or_default());
    let email = RwSignal::new(card.email.clone().unwrap_or_default());
    let show_phone = RwSignal::new(mine.show_phone);
    let featured = RwSignal::new(mine.featured_ids.clone());
    let adding = RwSignal::new(String::new());
    let save = Action::new_local(move |(): &()| {
        let form = CardForm {
            title: Some(title.get_untracked()),
            bio: Some(bio.get_untracked()),
            wechat: Some(wechat.get_untracked()),
            email: Some(email.get_untracked()),
            show_phone: show_phone.get_untracked(),
            featured: featured.get_untracked(),
        };
        async move { api::send::<MyCard>("PUT", "/api/me/card", api::body(&form), None).await }
    });
    Effect::new(move |_| {
        if let Some(result) = save.value().get() {
            note.set(Some(result.map(drop)));
            on_saved.run(());
        }
    });
    let upload = move |ev: leptos::ev::Event| {
        use wasm_bindgen::JsCast;
        let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else { return };
        let Some(file) = input.files().and_then(|files| files.get(0)) else { return };
        spawn_local(async move {
            let result = put_photo(file).await;
            note.set(Some(result));
            on_saved.run(());
        });
    };
    let link = web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default() + &mine.links.card;
    let invite = mine.links.invite.clone();
    view! {
        <section class="panel card-preview" data-test="my-card">
            <h2>{move || both(language.get(), "名片链接", "Card link")}</h2>
            <p><a href=mine.links.card.clone() rel="external" data-test="my-card-link">{link}</a></p>
            {invite.map(|invite| view! { <p class="hint">{move || both(language.get(), "邀请链接：", "Invite link: ")} <code>{invite.clone()}</code></p> })}
            <p class="hint">{move || both(language.get(), "身份：", "Role: ")} {move || language.get().pick(&card.role_label)}</p>
        </section>
        <section class="panel">
            <h2>{move || both(language.get(), "编辑名片", "Edit card")}</h2>
            <form class="form" on:submit=move |ev| { ev.prevent_default(); save.dispatch(()); }>
                <label>{move || both(language.get(), "头衔", "Title")}
                    <input type="text" maxlength="30" data-test="card-title" prop:value=title on:input=move |ev| title.set(event_target_value(&ev)) />
                </label>
                <label>{move || both(language.get(), "简介", "About")}
                    <textarea rows="3" maxlength="200" data-test="card-bio" prop:value=bio on:input=move |ev| bio.set(event_target_value(&ev))></textarea>
                </label>
                <label>{move || both(language.get(), "微信号", "WeChat id")}
                    <input type="text" maxlength="20" data-test="card-wechat" prop:value=wechat on:input=move |ev| wechat.set(event_target_value(&ev)) />
                </label>
                <label>{move || both(language.get(), "邮箱", "Email")}
                    <input type="email" maxlength="80" data-test="card-email" prop:value=email on:input=move |ev| email.set(event_target_value(&ev)) />
                </label>
                <label class="check">
                    <input type="checkbox" data-test="card-show-phone" prop:checked=show_phone on:change=move |ev| show_phone.set(event_target_checked(&ev)) />
                    {move || both(language.get(), "在名片上显示手机号", "Show my phone number on the card")}
                </label>
                <fieldset>
                    <legend>{move || both(language.get(), "推荐商品（最多 6 件）", "Featured products (up to 6)")}</legend>
                    <ul class="featured-ids">
                        {move || featured.get().into_iter().map(|id| {
                            let remove = id.clone();
                            view! { <li><code>{id}</code> " " <button type="button" class="link" on:click=move |_| featured.update(|f| f.retain(|x| *x != remove))>"✕"</button></li> }
                        }).collect_view()}
                    </ul>
                    <div class="row">
                        <input type="text" data-test="card-add-product" placeholder=move || both(language.get(), "商品链接或编号", "Product link or id")
                            prop:value=adding on:input=move |ev| adding.set(event_target_value(&ev)) />
                        <button type="button" class="secondary" on:click=move |_| {
                            let id = product_id(&adding.get_untracked());
                            if !id.is_empty() { featured.update(|f| if !f.contains(&id) { f.push(id) }); }
                            adding.set(String::new());
                        }>{move || both(language.get(), "添加", "Add")}</button>
                    </div>
                </fieldset>
                <button type="submit" class="primary" data-test="card-save" disabled=move || save.pending().get()>{move || both(language.get(), "保存", "Save")}</button>
            </form>
            <label>{move || both(language.get(), "照片（PNG/JPEG/WebP，≤1 MB）", "Photo (PNG/JPEG/WebP, ≤ 1 MB)")}
                <input type="file" accept="image/png,image/jpeg,image/webp" data-test="card-photo" on:change=upload />
            </label>
        </section>
    }
}

async fn put_photo(file: web_sys::File) -> Result<(), ApiFailure> {
    api::send_raw::<PhotoAnswer>("PUT", "/api/me/card/photo", &file, &file.type_()).await.map(drop)
}

fn level_text(language: Language, level: Level) -> &'static str {
    match level {
        Level::Hot => both(language, "很感兴趣", "Very interested"),
        Level::Warm => both(language, "有兴趣", "Interested"),
        Level::Cool => both(language, "随便看看", "Browsing"),
    }
}

#[component]
fn RadarList(
    title_zh: &'static str,
    title_en: &'static str,
    test: &'static str,
    entries: Vec<RadarEntry>,
) -> impl IntoView {
    let language = use_language();
    let empty = entries.is_empty();
    view! {
        <section class="panel radar" data-test=test>
            <h2>{move || both(language.get(), title_zh, title_en)}</h2>
            {empty.then(|| view! { <p class="hint">{move || both(language.get(), "还没有人打开你的名片。分享名片链接试试！", "Nobody has opened your card yet. Share its link!")}</p> })}
            <ul class="radar-list">
                {entries.into_iter().map(|entry| {
                    let reason = entry.interest.reason.clone();
                    let level = entry.interest.level;
                    view! {
                        <li class=format!("radar-entry {}", format!("{level:?}").to_lowercase()) data-visitor=entry.visitor.clone()>
                            <div class="radar-head">
                                <strong>{entry.name.clone()}</strong>
                                <span class="score" data-test="interest">{entry.interest.score}</span>
                            </div>
                            <p class="radar-level">{move || level_text(language.get(), level)} " · " {entry.visits} {move || both(language.get(), " 次", " visits")}
                                " · " {crate::local_time(entry.last_at)}</p>
                            <p class="why">{move || language.get().pick(&reason)}</p>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
    }
}

/// The store console's card panel: the store's card link and its door code (print it by the
/// entrance: scanning it checks the shopper in), both as QR codes.
#[component]
pub fn StoreCardPanel(store: Memo<String>) -> impl IntoView {
    let language = use_language();
    let card = LocalResource::new(move || {
        let url = format!("/api/store/{}/card", api::encode(&store.get()));
        async move { api::send::<StoreCard>("GET", &url, None, None).await }
    });
    view! {
        <section class="panel store-card" data-test="store-card">
            <h2>{move || both(language.get(), "门店名片 · 进店签到码", "Store card · door check-in code")}</h2>
            {move || card.get().map(|result| match result {
                Ok(card) => view! {
                    <div class="qr-pair">
                        <figure>
                            <div class="qr" inner_html=card.door_qr_svg.clone()></div>
                            <figcaption>{move || both(language.get(), "进店扫码签到（贴在门口）", "Door check-in (put it by the entrance)")}
                                <br /><a href=card.door_url.clone() rel="external" data-test="door-link">{card.door_url.clone()}</a></figcaption>
                        </figure>
                        <figure>
                            <div class="qr" inner_html=card.card_qr_svg.clone()></div>
                            <figcaption>{move || both(language.get(), "门店名片", "Store card")}
                                <br /><a href=card.card_url.clone() rel="external" data-test="store-card-link">{card.card_url.clone()}</a></figcaption>
                        </figure>
                    </div>
                }.into_any(),
                Err(error) => view! { <p class="note error">{failure(language.get(), &error)}</p> }.into_any(),
            })}
            <p><a href="/me/card" rel="external" data-test="my-card-nav">{move || both(language.get(), "我的名片与访客雷达 →", "My card and visitor radar →")}</a></p>
        </section>
    }
}
