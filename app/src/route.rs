//! The storefront's own router: two screens do not need a routing framework, and the bytes it
//! saves keep the first load inside its budget. The current location is one signal; links
//! inside the app change it with `history.pushState`, the back button with `popstate`, and a
//! link marked `rel="external"` (the desk's pages) loads normally.

use std::sync::OnceLock;

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

/// Where the shopper is: the path and the query's pairs, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    pub path: String,
    pub query: Vec<(String, String)>,
}

impl Location {
    fn current() -> Self {
        let Some(location) = web_sys::window().map(|w| w.location()) else { return Self::default() };
        let path = location.pathname().unwrap_or_default();
        let search = location.search().unwrap_or_default();
        let query = web_sys::UrlSearchParams::new_with_str(&search).map(|params| pairs(&params)).unwrap_or_default();
        Self { path, query }
    }

    pub fn get(&self, name: &str) -> Option<String> {
        self.query.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone())
    }
}

fn pairs(params: &web_sys::UrlSearchParams) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Ok(Some(entries)) = js_sys::try_iter(params) else { return out };
    for entry in entries.flatten() {
        let pair: js_sys::Array = entry.unchecked_into();
        if let (Some(key), Some(value)) = (pair.get(0).as_string(), pair.get(1).as_string()) {
            out.push((key, value));
        }
    }
    out
}

/// The one location signal: event listeners run outside the component tree, where a context
/// cannot be found, so it lives here.
static LOCATION: OnceLock<RwSignal<Location>> = OnceLock::new();

/// An invite link's page (`/i/{code}`) names where it lands in a `tandem:land` meta tag, put
/// there by the Worker: the address bar moves there before anything is drawn.
fn land() {
    let Some(window) = web_sys::window() else { return };
    if !window.location().pathname().is_ok_and(|p| p.starts_with("/i/")) {
        return;
    }
    let target = window
        .document()
        .and_then(|d| d.query_selector("meta[name='tandem:land']").ok().flatten())
        .and_then(|meta| meta.get_attribute("content"))
        .filter(|t| t.starts_with('/') && !t.starts_with("//"))
        .unwrap_or_else(|| "/".to_owned());
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&target));
    }
}

/// Creates the location signal and starts following links and the back button.
pub fn provide_location() -> RwSignal<Location> {
    land();
    let location = *LOCATION.get_or_init(|| RwSignal::new(Location::current()));
    if let Some(window) = web_sys::window() {
        let on_pop = Closure::<dyn Fn()>::new(move || location.set(Location::current()));
        let _ = window.add_event_listener_with_callback("popstate", on_pop.as_ref().unchecked_ref());
        on_pop.forget();
        let on_click = Closure::<dyn Fn(web_sys::MouseEvent)>::new(move |event: web_sys::MouseEvent| follow(&event));
        if let Some(document) = window.document() {
            let _ = document.add_event_listener_with_callback("click", on_click.as_ref().unchecked_ref());
        }
        on_click.forget();
    }
    location
}

/// The location signal made by [`provide_location`].
pub fn use_location() -> RwSignal<Location> {
    *LOCATION.get_or_init(|| RwSignal::new(Location::current()))
}

/// Goes to an in-app address without reloading.
pub fn navigate(href: &str) {
    let Some(window) = web_sys::window() else { return };
    if let Ok(history) = window.history() {
        let _ = history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(href));
        window.scroll_to_with_x_and_y(0.0, 0.0);
    }
    use_location().set(Location::current());
}

/// Takes over a plain left click on a same-site link that is not marked external.
fn follow(event: &web_sys::MouseEvent) {
    if event.default_prevented() || event.button() != 0 || event.ctrl_key() || event.meta_key() || event.shift_key() {
        return;
    }
    let anchor = event
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|e| e.closest("a[href]").ok().flatten());
    let Some(anchor) = anchor else { return };
    if anchor.get_attribute("rel").is_some_and(|r| r.contains("external")) || anchor.has_attribute("target") {
        return;
    }
    let href = anchor.get_attribute("href").unwrap_or_default();
    if href.starts_with('/') && !href.starts_with("//") {
        event.prevent_default();
        navigate(&href);
    }
}
