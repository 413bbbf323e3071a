//! Pieces several screens share: the top bar, error notices, prices and availability.

use leptos::prelude::*;
use tandem_domain::money::Fen;
use tandem_domain::stock::Availability;

use crate::api::ApiFailure;
use crate::i18n::Key;
use crate::use_language;

/// The top bar: an optional back link, a title, and the language switch.
#[component]
pub fn TopBar(
    #[prop(into)] title: Signal<String>,
    #[prop(optional, into)] back: Option<Signal<String>>,
) -> impl IntoView {
    let language = use_language();
    view! {
        <header class="top-bar">
            {back.map(|href| view! {
                <a class="back" href=move || href.get() aria-label=move || language.get().t(Key::Back)>"‹"</a>
            })}
            <h1 class="title">{move || title.get()}</h1>
            <a class="cart-link" href="/cart" rel="external" data-test="cart-link">{move || language.get().t(Key::Cart)}</a>
            <a class="orders-link" href="/orders" rel="external">{move || language.get().t(Key::MyOrders)}</a>
            <button class="lang-switch" data-test="lang-switch" on:click=move |_| language.update(|l| *l = l.other())>
                {move || language.get().t(Key::SwitchLanguage)}
            </button>
        </header>
    }
}

/// What went wrong, in the shopper's language, with a retry button when retrying can help.
#[component]
pub fn ErrorNotice(failure: ApiFailure, #[prop(optional)] retry: Option<Callback<()>>) -> impl IntoView {
    let language = use_language();
    let code = failure.code();
    view! {
        <div class="notice error" role="alert" data-error=code>
            <p>{move || crate::errors::describe(language.get(), &failure)}</p>
            {retry.map(|retry| view! {
                <button on:click=move |_| retry.run(())>{move || language.get().t(Key::Retry)}</button>
            })}
        </div>
    }
}

/// A price, or a range shown as its lowest price with "from".
#[component]
pub fn Price(from: Fen, to: Fen) -> impl IntoView {
    let language = use_language();
    view! {
        <span class="price">
            {from.to_string()}
            {(from != to).then(|| view! { <small>" " {move || language.get().t(Key::From)}</small> })}
        </span>
    }
}

/// One fulfilment option's availability.
#[component]
pub fn AvailabilityLine(label: Key, availability: Availability) -> impl IntoView {
    let language = use_language();
    let class = if availability.can_buy() { "availability yes" } else { "availability no" };
    let status = move || {
        let language = language.get();
        match availability {
            Availability::InStock { .. } => language.t(Key::InStock).to_owned(),
            Availability::Low { units } => match language {
                crate::i18n::Language::Zh => format!("{}{units}{}", language.t(Key::LowStock), language.t(Key::Units)),
                crate::i18n::Language::En => {
                    format!("{} {units} {}", language.t(Key::LowStock), language.t(Key::Units))
                }
            },
            Availability::OutOfStock => language.t(Key::OutOfStock).to_owned(),
            Availability::Unavailable => language.t(Key::NotOffered).to_owned(),
        }
    };
    view! {
        <div class=class>
            <span class="option">{move || language.get().t(label)}</span>
            <span class="status">{status}</span>
        </div>
    }
}
