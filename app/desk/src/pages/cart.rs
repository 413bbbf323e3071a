//! The cart and checkout: quantities, the delivery address when something is delivered, and
//! "place order", which holds the stock, opens a payment and goes to the provider's page.

use leptos::prelude::*;
use tandem_app::api::{self, ApiFailure};
use tandem_app::components::{AvailabilityLine, ErrorNotice, TopBar};
use tandem_app::i18n::Key;
use tandem_app::remembered;
use tandem_app::use_language;
use tandem_domain::api::Problem;
use tandem_domain::api::commerce::{CartAnswer, CartLineAnswer, CheckoutAnswer, PaymentAnswer, SetLine};
use tandem_domain::checkout::{Address, CartLine, CheckoutRequest};
use tandem_domain::order::Fulfilment;
use tandem_domain::views::{CartLineView, CartView};

use crate::text::{T, failure, t};

const ADDRESS_KEY: &str = "tandem.address";

/// Sets one cart line's quantity (0 removes it); the whole cart after.
async fn set_cart_line(line: &CartLineView, quantity: i64) -> Result<CartView, ApiFailure> {
    let body =
        SetLine { store_id: line.store_id.clone(), sku_id: line.sku_id.clone(), fulfilment: line.fulfilment, quantity };
    api::send::<CartLineAnswer>("PUT", "/api/cart/lines", api::body(&body), None).await.map(|answer| answer.cart)
}

fn remembered_address() -> Address {
    remembered::stored(ADDRESS_KEY).and_then(|text| serde_json::from_str(&text).ok()).unwrap_or_default()
}

fn remember_address(address: &Address) {
    if let Ok(text) = serde_json::to_string(address) {
        remembered::store(ADDRESS_KEY, &text);
    }
}

/// Places the checkout and opens its payment; the provider's page to go to.
async fn place(lines: Vec<CartLineView>, address: Option<Address>, key: Option<String>) -> Result<String, ApiFailure> {
    let key = key.ok_or_else(crate::no_random_key)?;
    let store_id = lines
        .first()
        .map(|l| l.store_id.clone())
        .ok_or_else(|| ApiFailure::local(Problem::BadRequest { field: "lines".to_owned() }))?;
    let request = CheckoutRequest {
        store_id,
        lines: lines
            .iter()
            .map(|l| CartLine { sku_id: l.sku_id.clone(), quantity: l.quantity, fulfilment: l.fulfilment })
            .collect(),
        address,
    };
    let placed: CheckoutAnswer = api::send("POST", "/api/orders", api::body(&request), Some(&key)).await?;
    let opened: PaymentAnswer =
        api::send("POST", &format!("/api/checkouts/{}/payments", placed.checkout.id), None, None).await?;
    Ok(opened.payment.pay_url)
}

#[component]
pub fn CartPage() -> impl IntoView {
    let language = use_language();
    let cart = LocalResource::new(|| async { api::send::<CartAnswer>("GET", "/api/cart", None, None).await });
    view! {
        <TopBar title=Signal::derive(move || t(language.get(), T::Cart).to_owned()) />
        <main class="page desk cart">
            <Suspense fallback=move || view! { <p class="loading">{move || language.get().t(Key::Loading)}</p> }>
                {move || cart.get().map(|result| match result {
                    Ok(answer) => view! { <CartView cart=answer.cart reload=Callback::new(move |()| cart.refetch()) /> }.into_any(),
                    Err(failure) => view! { <ErrorNotice failure=failure retry=Callback::new(move |()| cart.refetch()) /> }.into_any(),
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn CartView(cart: CartView, reload: Callback<()>) -> impl IntoView {
    let language = use_language();
    let lines = RwSignal::new(cart.lines);
    // One key per attempt at this cart: a retry after a lost answer cannot order twice.
    let key = RwSignal::new(crate::random_key());
    let address = RwSignal::new(remembered_address());
    let message = RwSignal::new(None::<String>);
    let delivers = move || lines.with(|lines| lines.iter().any(|l| l.fulfilment == Fulfilment::Delivery));
    let total = move || lines.with(|lines| lines.iter().map(|l| l.price_fen.get() * l.quantity).sum::<i64>());

    let change = Action::new_local(move |(index, quantity): &(usize, i64)| {
        let line = lines.with_untracked(|lines| lines.get(*index).cloned());
        let quantity = *quantity;
        async move {
            let line = line.ok_or_else(|| ApiFailure::local(Problem::NotFound { resource: "sku".to_owned() }))?;
            set_cart_line(&line, quantity).await
        }
    });
    Effect::new(move |_| {
        if let Some(result) = change.value().get() {
            match result {
                Ok(cart) => {
                    lines.set(cart.lines);
                    key.set(crate::random_key());
                }
                Err(error) => message.set(Some(failure(language.get_untracked(), &error))),
            }
        }
    });
    let submit = Action::new_local(move |(): &()| {
        let lines = lines.get_untracked();
        let address = delivers().then(|| address.get_untracked());
        if let Some(address) = &address {
            remember_address(address);
        }
        place(lines, address, key.get_untracked())
    });
    Effect::new(move |_| match submit.value().get() {
        Some(Ok(pay_url)) => crate::go(&pay_url),
        Some(Err(error)) if error.is(&Problem::Unauthenticated) => crate::go("/signin?next=/cart"),
        // The cart shows each line's stock again, so the shopper sees which one is short.
        Some(Err(error)) if matches!(error.problem(), Some(Problem::OutOfStock { .. })) => {
            message.set(Some(t(language.get_untracked(), T::OutOfStockNamed).to_owned()));
            reload.run(());
        }
        Some(Err(error)) => message.set(Some(failure(language.get_untracked(), &error))),
        None => {}
    });

    view! {
        <Show when=move || lines.with(|l| !l.is_empty())
            fallback=move || view! {
                <div class="empty"><p>{move || t(language.get(), T::CartEmpty)}</p><a href="/" rel="external">{move || t(language.get(), T::BackToShelf)}</a></div>
            }>
            <ul class="lines" data-test="cart-lines">
                {move || lines.get().into_iter().enumerate().map(|(index, line)| {
                    let name = line.name.clone();
                    let variant = line.variant.label();
                    let fulfilment = if line.fulfilment == Fulfilment::Pickup { Key::Pickup } else { Key::Delivery };
                    view! {
                        <li class="line" data-sku=line.sku_id.as_str().to_owned()>
                            <img src=line.image.clone() alt="" width="64" height="64" />
                            <div class="what">
                                <p class="name">{move || language.get().pick(&name)}</p>
                                <p class="variant">{move || language.get().pick(&variant)} " · " {move || language.get().t(fulfilment)}</p>
                                <AvailabilityLine label=fulfilment availability=line.availability />
                            </div>
                            <div class="how-many">
                                <span class="price">{line.price_fen.to_string()}</span>
                                <div class="stepper">
                                    <button aria-label="-" on:click=move |_| { change.dispatch((index, line.quantity - 1)); }>"−"</button>
                                    <span data-test="quantity">{line.quantity}</span>
                                    <button aria-label="+" on:click=move |_| { change.dispatch((index, line.quantity + 1)); }>"+"</button>
                                </div>
                            </div>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <Show when=delivers>
                <fieldset class="form address">
                    <legend>{move || t(language.get(), T::Address)}</legend>
                    <AddressInput label=T::Recipient field=|a| &mut a.name get=|a| a.name.clone() address=address test="addr-name" />
                    <AddressInput label=T::Phone field=|a| &mut a.phone get=|a| a.phone.clone() address=address test="addr-phone" />
                    <AddressInput label=T::Region field=|a| &mut a.region get=|a| a.region.clone() address=address test="addr-region" />
                    <AddressInput label=T::Detail field=|a| &mut a.detail get=|a| a.detail.clone() address=address test="addr-detail" />
                </fieldset>
            </Show>
            <div class="checkout-bar">
                <span>{move || t(language.get(), T::Total)} " " <strong class="price" data-test="cart-total">{move || tandem_domain::money::Fen(total()).to_string()}</strong></span>
                <button class="primary" data-test="place-order" disabled=move || submit.pending().get()
                    on:click=move |_| { submit.dispatch(()); }>
                    {move || if submit.pending().get() { t(language.get(), T::Placing) } else { t(language.get(), T::PlaceOrder) }}
                </button>
            </div>
        </Show>
        {move || message.get().map(|m| view! { <p class="note error" role="alert" data-test="cart-message">{m}</p> })}
    }
}

#[component]
fn AddressInput(
    label: T,
    field: fn(&mut Address) -> &mut String,
    get: fn(&Address) -> String,
    address: RwSignal<Address>,
    test: &'static str,
) -> impl IntoView {
    let language = use_language();
    view! {
        <label>{move || t(language.get(), label)}
            <input type="text" data-test=test prop:value=move || address.with(get)
                on:input=move |ev| address.update(|a| *field(a) = event_target_value(&ev)) />
        </label>
    }
}
