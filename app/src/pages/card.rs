//! A person's or a store's card, `/c/{code}`: photo (or initials), name, role and store, bio,
//! the contact channels the owner shows, featured products, the shelf, sharing and a vCard.
//! Opening it tells the Worker (the owner's radar, clerk attribution, binding); `?door=1` is
//! the store's door code and records a check-in for someone who agreed to be remembered.

use leptos::prelude::*;
use leptos::task::spawn_local;
use tandem_domain::api::cards::{CardAnswer, VisitRequest, Visited};
use tandem_domain::card::{CardView, Role, html_escape as escape};
use tandem_domain::catalog::Text;

use crate::api::{self, ApiFailure};
use crate::components::{ErrorNotice, TopBar};
use crate::i18n::{Key, Language};
use crate::pages::picks::ConsentBanner;
use crate::{route, use_language};

fn say(language: Language, zh: &'static str, en: &'static str) -> &'static str {
    if language == Language::Zh { zh } else { en }
}

/// Tells the Worker the card (or its door code) was opened; answers whether a check-in was
/// recorded.
async fn record_visit(code: &str, door: bool) -> Result<Visited, ApiFailure> {
    let visit = VisitRequest { kind: if door { "door" } else { "card" }.to_owned(), product: None };
    api::send("POST", &format!("/api/cards/{}/visits", api::encode(code)), api::body(&visit), None).await
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
                    Err(error) => view! { <ErrorNotice failure=error /> }.into_any(),
                })}
            </Suspense>
            {move || (door && checked_in.get()).then(|| view! {
                <p class="note ok" role="status" data-test="checked-in">{move || say(language.get(), "已签到，欢迎光临！", "Checked in — welcome!")}</p>
            })}
            <ConsentBanner answered=answered />
        </main>
    }
}

/// What the card says, as HTML (who, bio, channels; then the featured products): it does not
/// change while shown, and markup written out costs the storefront far fewer bytes than the same
/// elements built by the view macro. Every value from the card is escaped.
fn card_html(card: &CardView, code: &str, zh: bool) -> (String, String) {
    let pick = |text: &Text| escape(if zh { &text.zh } else { &text.en });
    let is_store = card.role == Role::Store;
    let mut html = String::from("<header class=\"biz-head\">");
    match &card.photo {
        Some(src) => html
            .push_str(&format!("<img class=\"avatar\" src=\"{}\" alt=\"\" width=\"72\" height=\"72\">", escape(src))),
        None => html.push_str(&format!(
            "<span class=\"avatar initials\" aria-hidden=\"true\">{}</span>",
            escape(&card.initials)
        )),
    }
    let title = card.title.as_deref().map(|t| format!("{} · ", escape(t))).unwrap_or_default();
    html.push_str(&format!(
        "<div><h2 data-test=\"card-name\">{}</h2><p class=\"role\" data-test=\"card-role\">{title}{}",
        escape(&card.name),
        pick(&card.role_label)
    ));
    if let Some(store) = card.store.as_ref().filter(|_| !is_store) {
        html.push_str(&format!(" · <span data-test=\"card-store\">{}</span>", pick(&store.name)));
    }
    html.push_str("</p></div></header>");
    if let Some(bio) = &card.bio {
        html.push_str(&format!("<p class=\"bio\">{}</p>", escape(bio)));
    }
    html.push_str("<ul class=\"channels\">");
    if let Some(phone) = &card.phone {
        html.push_str(&format!("<li><a href=\"tel:{0}\">☎ {0}</a></li>", escape(phone)));
    }
    if let Some(id) = &card.wechat {
        html.push_str(&format!("<li>{}: <strong>{}</strong></li>", if zh { "微信" } else { "WeChat" }, escape(id)));
    }
    if let Some(email) = &card.email {
        html.push_str(&format!("<li><a href=\"mailto:{0}\">✉ {0}</a></li>", escape(email)));
    }
    if let Some(store) = card.store.as_ref().filter(|_| is_store) {
        html.push_str(&format!("<li>{}</li>", pick(&store.address)));
    }
    html.push_str("</ul>");
    let mut featured = String::new();
    if !card.featured.is_empty() {
        let store = card.store.as_ref().map(|s| s.id.to_string()).unwrap_or_default();
        featured.push_str(&format!(
            "<section class=\"picks featured\"><h2>{}</h2><ul>",
            if zh { "推荐好物" } else { "Featured" }
        ));
        for item in &card.featured {
            let href = format!("/p/{}?store={}&c={}", item.product_id, api::encode(&store), api::encode(code));
            let image = item
                .image
                .as_deref()
                .map(|src| {
                    format!("<img src=\"{}\" alt=\"\" loading=\"lazy\" width=\"120\" height=\"120\">", escape(src))
                })
                .unwrap_or_default();
            featured.push_str(&format!(
                "<li class=\"pick\" data-product=\"{id}\"><a href=\"{href}\">{image}<span class=\"name\">{name}</span><span class=\"price\">{price}</span></a></li>",
                id = escape(item.product_id.as_str()),
                href = escape(&href),
                name = pick(&item.name),
                price = tandem_domain::money::Fen(item.price_from_fen),
            ));
        }
        featured.push_str("</ul></section>");
    }
    (html, featured)
}

/// The card, drawn again when the language changes.
#[component]
fn CardBody(card: CardView, code: String) -> impl IntoView {
    let language = use_language();
    let shared = RwSignal::new(false);
    let share = move |_| {
        if let Some(url) = web_sys::window().and_then(|w| w.location().href().ok()) {
            share_link(url.split('?').next().unwrap_or_default());
            shared.set(true);
        }
    };
    let shelf = card.store.as_ref().map(|s| format!("/?store={}", s.id));
    move || {
        let zh = language.get() == Language::Zh;
        let say = move |a: &'static str, b: &'static str| if zh { a } else { b };
        let vcard = format!("/api/cards/{code}/vcard{}", if zh { "" } else { "?lang=en" });
        let (who, featured) = card_html(&card, &code, zh);
        view! {
            <article class="biz-card" data-test="card">
                <div inner_html=who></div>
                <div class="biz-actions">
                    {shelf.clone().map(|href| view! { <a class="button primary" href=href data-test="card-shelf">{say("逛云货架", "Browse the shelf")}</a> })}
                    <button class="secondary" data-test="card-share" on:click=share>
                        {move || if shared.get() { say("链接已分享", "Link shared") } else { say("分享名片", "Share card") }}
                    </button>
                    <a class="button secondary" rel="external" download=format!("{code}.vcf") href=vcard data-test="card-vcard">{say("存入通讯录", "Save contact")}</a>
                </div>
                <div inner_html=featured></div>
            </article>
        }
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
