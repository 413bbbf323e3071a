//! A person's or a store's card, `/c/{code}`: photo (or initials), name, role and store, bio,
//! the contact channels the owner shows, featured products, the shelf, sharing and a vCard.
//! Opening it tells the Worker (the owner's radar, clerk attribution, binding); `?door=1` is
//! the store's door code and records a check-in for someone who agreed to be remembered.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Deserialize;
use tandem_domain::card::{CardView, Featured, Role};

use crate::api::{self, ApiFailure};
use crate::components::{ErrorNotice, Price, TopBar};
use crate::i18n::{Key, Language};
use crate::pages::picks::ConsentBanner;
use crate::{route, track, use_language};

#[derive(Clone, Deserialize)]
struct CardAnswer {
    card: CardView,
}

#[derive(Clone, Deserialize)]
struct Visited {
    checked_in: bool,
}

fn say(language: Language, zh: &'static str, en: &'static str) -> &'static str {
    if language == Language::Zh { zh } else { en }
}

/// Tells the Worker the card (or its door code) was opened; answers whether a check-in was
/// recorded.
async fn record_visit(code: &str, door: bool) -> Result<Visited, ApiFailure> {
    let body = format!(r#"{{"kind":"{}"}}"#, if door { "door" } else { "card" });
    api::send("POST", &format!("/api/cards/{}/visits", api::encode(code)), Some(body), None).await
}

#[component]
pub fn CardPage(code: String) -> impl IntoView {
    let language = use_language();
    let location = route::use_location();
    let door = location.with_untracked(|l| l.get("door").is_some());
    let code = StoredValue::new(code);
    let card = LocalResource::new(move || async move {
        api::send::<CardAnswer>("GET", &format!("/api/cards/{}", api::encode(&code.get_value())), None, None).await
    });
    let checked_in = RwSignal::new(false);
    let answered = RwSignal::new(0u32);
    // The visit is recorded once on arrival, and a door scan again once the visitor agreed.
    Effect::new(move |_| {
        let again = answered.get() > 0;
        if again && !door {
            return;
        }
        spawn_local(async move {
            if let Ok(visit) = record_visit(&code.get_value(), door).await {
                checked_in.set(visit.checked_in);
            }
        });
    });
    let title = Signal::derive(move || {
        card.get().and_then(Result::ok).map_or_else(|| language.get().t(Key::AppName).to_owned(), |a| a.card.name)
    });
    view! {
        <TopBar title=title />
        <main class="page card-page">
            <Suspense fallback=move || view! { <div class="skeleton-block"></div> }>
                {move || card.get().map(|result| match result {
                    Ok(answer) => view! { <CardBody card=answer.card code=code.get_value() /> }.into_any(),
                    Err(error) => view! { <ErrorNotice code=error.code /> }.into_any(),
                })}
            </Suspense>
            {move || (door && checked_in.get()).then(|| view! {
                <p class="note ok" role="status" data-test="checked-in">{move || say(language.get(), "已签到，欢迎光临！", "Checked in — welcome!")}</p>
            })}
            <ConsentBanner answered=answered />
        </main>
    }
}

#[component]
fn CardBody(card: CardView, code: String) -> impl IntoView {
    let language = use_language();
    let role = card.role_label.clone();
    let store = card.store.clone();
    let shelf = store.as_ref().map(|s| format!("/?store={}", s.id));
    let store_id = store.as_ref().map(|s| s.id.to_string()).unwrap_or_default();
    let vcard = format!("/api/cards/{code}/vcard");
    let vcard_en = format!("{vcard}?lang=en");
    let shared = RwSignal::new(false);
    let share = move |_| {
        if let Some(url) = web_sys::window().and_then(|w| w.location().href().ok()) {
            share_link(url.split('?').next().unwrap_or_default());
            shared.set(true);
        }
    };
    let is_store = card.role == Role::Store;
    view! {
        <article class="biz-card" data-test="card" data-role=format!("{:?}", card.role).to_lowercase()>
            <header class="biz-head">
                {match card.photo.clone() {
                    Some(src) => view! { <img class="avatar" src=src alt="" width="72" height="72" /> }.into_any(),
                    None => view! { <span class="avatar initials" aria-hidden="true">{card.initials.clone()}</span> }.into_any(),
                }}
                <div>
                    <h2 data-test="card-name">{card.name.clone()}</h2>
                    <p class="role" data-test="card-role">
                        {card.title.clone().unwrap_or_default()}
                        {card.title.is_some().then_some(" · ")}
                        {move || language.get().pick(&role)}
                        {(!is_store).then(|| store.clone().map(|s| view! { " · " <span data-test="card-store">{move || language.get().pick(&s.name)}</span> }))}
                    </p>
                </div>
            </header>
            {card.bio.clone().map(|bio| view! { <p class="bio">{bio}</p> })}
            <ul class="channels">
                {card.phone.clone().map(|phone| view! { <li><a href=format!("tel:{phone}")>"☎ " {phone.clone()}</a></li> })}
                {card.wechat.clone().map(|id| view! { <li>{move || say(language.get(), "微信", "WeChat")} ": " <strong>{id.clone()}</strong></li> })}
                {card.email.clone().map(|email| view! { <li><a href=format!("mailto:{email}")>"✉ " {email.clone()}</a></li> })}
                {is_store.then(|| card.store.clone().map(|s| view! { <li>{move || language.get().pick(&s.address)}</li> }))}
            </ul>
            <div class="biz-actions">
                {shelf.map(|href| view! {
                    <a class="button primary" href=href data-test="card-shelf">{move || say(language.get(), "逛云货架", "Browse the shelf")}</a>
                })}
                <button class="secondary" data-test="card-share" on:click=share>
                    {move || if shared.get() { say(language.get(), "链接已分享", "Link shared") } else { say(language.get(), "分享名片", "Share card") }}
                </button>
                <a class="button secondary" rel="external" download=format!("{code}.vcf")
                    href=move || if language.get() == Language::Zh { vcard.clone() } else { vcard_en.clone() } data-test="card-vcard">
                    {move || say(language.get(), "存入通讯录", "Save contact")}
                </a>
            </div>
            {(!card.featured.is_empty()).then(|| view! {
                <section class="picks featured">
                    <h2>{move || say(language.get(), "推荐好物", "Featured")}</h2>
                    <ul>
                        {card.featured.clone().into_iter().map(|item| view! { <FeaturedItem item=item store=store_id.clone() code=code.clone() /> }).collect_view()}
                    </ul>
                </section>
            })}
        </article>
    }
}

/// Opens the phone's share sheet for a link, or copies it where there is none.
fn share_link(url: &str) {
    use wasm_bindgen::{JsCast, JsValue};
    let Some(window) = web_sys::window() else { return };
    let Ok(navigator) = js_sys::Reflect::get(&window, &"navigator".into()) else { return };
    let call = |target: &JsValue, method: &str, argument: &JsValue| {
        js_sys::Reflect::get(target, &method.into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
            .is_some_and(|f| f.call1(target, argument).is_ok())
    };
    let data = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&data, &"url".into(), &url.into());
    if !call(&navigator, "share", &data)
        && let Ok(clipboard) = js_sys::Reflect::get(&navigator, &"clipboard".into())
    {
        call(&clipboard, "writeText", &url.into());
    }
}

#[component]
fn FeaturedItem(item: Featured, store: String, code: String) -> impl IntoView {
    let language = use_language();
    let href = format!("/p/{}?store={}&c={}", item.product_id, api::encode(&store), api::encode(&code));
    let name = item.name.clone();
    let price = tandem_domain::money::Fen(item.price_from_fen);
    let id = item.product_id.to_string();
    let clicked = id.clone();
    view! {
        <li class="pick" data-product=id>
            <a href=href on:click=move |_| track::record("click", Some(&clicked), None)>
                {item.image.clone().map(|src| view! { <img src=src alt="" loading="lazy" width="120" height="120" /> })}
                <span class="name">{move || language.get().pick(&name)}</span>
                <Price from=price to=price />
            </a>
        </li>
    }
}
