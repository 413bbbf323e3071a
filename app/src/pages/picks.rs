//! Recommendations on the storefront: the consent question, and a strip of picks for a
//! placement ("for you" on the shelf, "goes with this" and "tried on in store" on product
//! pages), each with its reason.

use leptos::prelude::*;
use leptos::task::spawn_local;
use tandem_domain::api::promotions::OfferAnswer;
use tandem_domain::recommend::serve::{Card, OfferNote};

use crate::components::Price;
use crate::i18n::Key;
use crate::{api, track, use_language};

/// Asks once whether behaviour may be recorded to personalise the store; nothing is recorded
/// before the answer. `answered` is set when the shopper answers.
#[component]
pub fn ConsentBanner(answered: RwSignal<u32>) -> impl IntoView {
    let language = use_language();
    let open = RwSignal::new(track::consent().is_none());
    let failed = RwSignal::new(false);
    let reply = move |agree: bool| {
        spawn_local(async move {
            match track::answer(agree).await {
                Ok(()) => {
                    open.set(false);
                    answered.update(|n| *n += 1);
                }
                Err(_) => failed.set(true),
            }
        });
    };
    move || {
        open.get().then(|| {
            view! {
                <aside class="consent" data-test="consent" role="dialog" aria-live="polite">
                    <p>{move || language.get().t(Key::ConsentQuestion)}</p>
                    {move || failed.get().then(|| view! { <p class="error">{move || language.get().t(Key::ErrorNetwork)}</p> })}
                    <div class="consent-actions">
                        <button class="secondary" data-test="consent-no" on:click=move |_| reply(false)>
                            {move || language.get().t(Key::ConsentNo)}
                        </button>
                        <button data-test="consent-yes" on:click=move |_| reply(true)>
                            {move || language.get().t(Key::ConsentYes)}
                        </button>
                    </div>
                </aside>
            }
        })
    }
}

/// A strip of picks for `placement` at `store`; hidden when there are none. It reloads when
/// `refresh` changes (after the shopper answered the consent question).
#[component]
pub fn PicksStrip(
    store: String,
    placement: &'static str,
    #[prop(optional)] product: Option<String>,
    #[prop(optional)] refresh: Option<RwSignal<u32>>,
) -> impl IntoView {
    let language = use_language();
    let store = StoredValue::new(store);
    let product = StoredValue::new(product);
    let picks = LocalResource::new(move || {
        if let Some(refresh) = refresh {
            refresh.track();
        }
        async move {
            // Events queued on the way here count for what is shown.
            track::flush().await;
            api::recommendations(&store.get_value(), placement, product.get_value().as_deref(), 6).await
        }
    });
    let title = match placement {
        "goes_with" => Key::GoesWith,
        "tried_on" => Key::TriedOn,
        _ => Key::ForYou,
    };
    move || {
        let placed = picks.get().and_then(Result::ok)?;
        if placed.items.is_empty() {
            return None;
        }
        let personalised = placed.personalised;
        let offer = placed.offer.clone();
        Some(view! {
            <section class="picks" data-placement=placement data-personalised=personalised.to_string()>
                <h2>{move || language.get().t(title)}</h2>
                <ul>
                    {placed.items.into_iter().map(|card| view! { <PickCard card=card store=store.get_value() /> }).collect_view()}
                </ul>
                {offer.map(|offer| {
                    let text = offer.text.clone();
                    view! { <p class="offer" data-test="tried-on-offer" data-rule=offer.rule_id.clone()>{move || language.get().pick(&text)}</p> }
                })}
                {(placement == "for_you").then(|| view! {
                    <a class="manage" href="/me" rel="external" data-test="preferences-link">{move || language.get().t(Key::ManagePreferences)}</a>
                })}
            </section>
        })
    }
}

#[component]
fn PickCard(card: Card, store: String) -> impl IntoView {
    let language = use_language();
    let href = format!("/p/{}?store={}", card.product_id, js_sys::encode_uri_component(&store));
    let (name, alt, why) = (card.name.clone(), card.name.clone(), card.why.clone());
    view! {
        <li class="pick" data-product=card.product_id.to_string() data-category=card.category.code()>
            <a href=href>
                {card.image.map(|src| view! { <img src=src alt=move || language.get().pick(&alt) loading="lazy" width="120" height="120" /> })}
                <span class="name">{move || language.get().pick(&name)}</span>
                <Price from=card.price_from_fen to=card.price_from_fen />
                <span class="why">{move || language.get().pick(&why)}</span>
            </a>
        </li>
    }
}

/// The shopper's own message at this store (a segment's promotion), when they agreed to
/// personalisation and a rule matches them. It reloads when `refresh` changes.
#[component]
pub fn OfferNote(store: String, refresh: RwSignal<u32>) -> impl IntoView {
    let language = use_language();
    let store = StoredValue::new(store);
    let offer = LocalResource::new(move || {
        refresh.track();
        async move {
            track::flush().await;
            let url = format!("/api/me/offers?store={}", api::encode(&store.get_value()));
            api::send::<OfferAnswer<OfferNote>>("GET", &url, None, None).await
        }
    });
    move || {
        let message = offer.get().and_then(Result::ok)?.message?;
        let text = message.text.clone();
        Some(view! {
            <aside class="offer" data-test="offer" data-rule=message.rule_id.clone()>
                <p>{move || language.get().pick(&text)}</p>
            </aside>
        })
    }
}
