//! The Tandem client: a Leptos app compiled to WebAssembly, opened from a store's QR code in a
//! phone browser or an in-app WebView. It only shows what the Worker answers; every decision
//! (prices, stock, what is on a shelf) is made on the server by `tandem_domain`.
//!
//! # Layout
//!
//! - [`i18n`]: the two languages (Chinese first), remembered across visits.
//! - [`api`]: typed calls to the Worker and the errors they can end in.
//! - [`pages`]: one module per screen (store picker, shelf, product).
//! - [`components`]: pieces several screens share.
//! - [`route`]: the storefront's small router (the location signal, links, back button).
//! - [`remembered`]: the consent answer and the visitor id, kept in `localStorage`.
//! - [`track`]: behaviour events, sent only after the shopper agreed.

pub mod api;
pub mod components;
pub mod errors;
pub mod i18n;
pub mod pages;
pub mod remembered;
pub mod route;
pub mod track;

use leptos::prelude::*;

use crate::i18n::Language;

#[component]
pub fn App() -> impl IntoView {
    let language = RwSignal::new(i18n::remembered_language());
    provide_context(language);
    Effect::new(move |_| i18n::remember_language(language.get()));
    let location = route::provide_location();
    let path = Memo::new(move |_| location.with(|l| l.path.clone()));
    move || {
        let path = path.get();
        match path.strip_prefix("/p/").filter(|id| !id.is_empty() && !id.contains('/')) {
            Some(id) => view! { <pages::product::ProductPage id=id.to_owned() /> }.into_any(),
            None if path == "/" => view! { <pages::home::Home /> }.into_any(),
            None if path.starts_with("/c/") => {
                view! { <pages::card::CardPage code=path[3..].trim_end_matches('/').to_owned() /> }.into_any()
            }
            None => view! { <components::ErrorNotice failure=api::ApiFailure::local(tandem_domain::api::Problem::NotFound { resource: "route".to_owned() }) /> }.into_any(),
        }
    }
}

/// The current language, provided by [`App`].
pub fn use_language() -> RwSignal<Language> {
    use_context::<RwSignal<Language>>().unwrap_or_else(|| RwSignal::new(Language::Zh))
}

#[cfg(feature = "storefront")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    mount(App);
}

/// Mounts a bundle's root component over the skeleton in index.html.
pub fn mount<F, V>(root_view: F)
where
    F: FnOnce() -> V + 'static,
    V: IntoView + 'static,
{
    console_error_panic_hook::set_once();
    let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id("app")) else {
        return;
    };
    // The skeleton in index.html stays until the app is ready to draw over it.
    root.set_inner_html("");
    let Ok(root) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(root) else {
        return;
    };
    leptos::mount::mount_to(root, root_view).forget();
}
