//! The desk: every screen behind a sign-in — the shopper's cart, checkout, pay page and orders,
//! and the consoles of stores, suppliers and operators. It is a second Wasm bundle that
//! index.html loads on these paths, so the storefront's first load stays small; it shares the
//! storefront's API client, languages and components through `tandem_app`.
//!
//! # Layout
//!
//! - [`text`]: the desk's own texts, in both languages.
//! - [`pages`]: sign-in, cart, pay, orders, the sharer centre, the person's preferences,
//!   consoles (with the operator's distribution network).

pub mod pages;
pub mod text;

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;
use tandem_app::components::ErrorNotice;
use tandem_app::i18n;
use wasm_bindgen::prelude::wasm_bindgen;

#[component]
pub fn Desk() -> impl IntoView {
    let language = RwSignal::new(i18n::remembered_language());
    provide_context(language);
    Effect::new(move |_| i18n::remember_language(language.get()));
    view! {
        <Router>
            <Routes fallback=move || view! { <ErrorNotice failure=tandem_app::api::ApiFailure::local(tandem_domain::api::Problem::NotFound { resource: "route".to_owned() }) /> }>
                <Route path=path!("/signin") view=pages::signin::SignIn />
                <Route path=path!("/cart") view=pages::cart::CartPage />
                <Route path=path!("/pay/:id") view=pages::pay::PayPage />
                <Route path=path!("/orders") view=pages::orders::OrderList />
                <Route path=path!("/orders/:id") view=pages::orders::OrderPage />
                <Route path=path!("/console") view=pages::console::ConsoleHome />
                <Route path=path!("/console/store/:id") view=pages::console::StoreConsole />
                <Route path=path!("/console/supplier/:id") view=pages::console::SupplierConsole />
                <Route path=path!("/console/operator") view=pages::console::OperatorConsole />
                <Route path=path!("/console/operator/network") view=pages::network::NetworkConsole />
                <Route path=path!("/share") view=pages::share::SharePage />
                <Route path=path!("/me") view=pages::me::PreferencesPage />
                <Route path=path!("/me/card") view=pages::mycard::MyCardPage />
            </Routes>
        </Router>
    }
}

#[wasm_bindgen(start)]
pub fn start() {
    tandem_app::mount(Desk);
}

/// Leaves the desk for a page of either bundle with a full load.
pub fn go(href: &str) {
    if let Some(window) = web_sys::window() {
        let _ = window.location().set_href(href);
    }
}

/// Sends the person to sign in (and back to `here` after) when the session is missing; the
/// answer as it was otherwise.
pub fn signed_in<T>(
    result: Result<T, tandem_app::api::ApiFailure>,
    here: &str,
) -> Result<T, tandem_app::api::ApiFailure> {
    if matches!(&result, Err(failure) if failure.is(&tandem_domain::api::Problem::Unauthenticated)) {
        go(&format!("/signin?next={}", tandem_app::api::encode(here)));
    }
    result
}

/// A fresh random key, for an `Idempotency-Key` header or a request key; `None` when the
/// platform's crypto is unavailable, since a key of zeros would make every request one request.
pub fn random_key() -> Option<String> {
    let crypto = web_sys::window()?.crypto().ok()?;
    let mut bytes = [0u8; 16];
    crypto.get_random_values_with_u8_array(&mut bytes).ok()?;
    Some(tandem_domain::crypto::hex(&bytes))
}

/// The failure a request shows when [`random_key`] has no key to give.
pub fn no_random_key() -> tandem_app::api::ApiFailure {
    tandem_app::api::ApiFailure::NoSecureRandom
}

/// A time as the shopper's clock shows it: `2026-11-24 21:05`.
pub fn local_time(at: tandem_domain::time::Timestamp) -> String {
    #[allow(clippy::cast_precision_loss)]
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at.millis() as f64));
    format!(
        "{}-{:02}-{:02} {:02}:{:02}",
        date.get_full_year(),
        date.get_month() + 1,
        date.get_date(),
        date.get_hours(),
        date.get_minutes()
    )
}
