//! A store's virtual shelf: category tabs, search, and products a page at a time. The category
//! and the search live in the URL, so the back button and a shared link restore them.

use leptos::prelude::*;
use leptos::task::spawn_local;
use tandem_domain::catalog::{Category, ShelfItem};

use crate::api::{self, ApiFailure};
use crate::components::{ErrorNotice, Price, TopBar};
use crate::i18n::Key;
use crate::pages::picks::{ConsentBanner, OfferNote, PicksStrip};
use crate::use_language;
use crate::{route, track};

fn shelf_href(store: &str, category: Option<&str>, search: Option<&str>) -> String {
    let mut href = format!("/?store={}", js_sys::encode_uri_component(store));
    if let Some(category) = category {
        href.push_str(&format!("&category={category}"));
    }
    if let Some(search) = search.filter(|s| !s.is_empty()) {
        href.push_str(&format!("&q={}", js_sys::encode_uri_component(search)));
    }
    href
}

#[component]
pub fn Shelf(store: String) -> impl IntoView {
    let language = use_language();
    let location = route::use_location();
    let category = Memo::new(move |_| location.with(|l| l.get("category")).filter(|c| !c.is_empty()));
    let search = Memo::new(move |_| location.with(|l| l.get("q")).unwrap_or_default());

    let store_id = StoredValue::new(store);
    let stores = LocalResource::new(api::stores);
    let title = Signal::derive(move || {
        let language = language.get();
        stores
            .get()
            .and_then(Result::ok)
            .and_then(|stores| stores.into_iter().find(|s| s.id.as_str() == store_id.get_value()))
            .map_or_else(|| language.t(Key::AppName).to_owned(), |s| language.pick(&s.name))
    });

    let items = RwSignal::new(Vec::<ShelfItem>::new());
    let next_cursor = RwSignal::new(None::<String>);
    let loading = RwSignal::new(false);
    let failure = RwSignal::new(None::<ApiFailure>);
    // Each new query bumps the generation; answers to an older query are dropped on arrival.
    let generation = StoredValue::new(0u64);

    let load = move |reset: bool| {
        if reset {
            generation.update_value(|g| *g += 1);
            items.set(Vec::new());
            next_cursor.set(None);
        }
        let this_generation = generation.get_value();
        let cursor = if reset { None } else { next_cursor.get_untracked() };
        let (category, search) = (category.get_untracked(), search.get_untracked());
        loading.set(true);
        failure.set(None);
        spawn_local(async move {
            let answer = api::shelf(&store_id.get_value(), category.as_deref(), Some(&search), cursor.as_deref()).await;
            if generation.get_value() != this_generation {
                return;
            }
            loading.set(false);
            match answer {
                Ok(page) => {
                    items.update(|items| items.extend(page.items));
                    next_cursor.set(page.next_cursor);
                }
                Err(error) => failure.set(Some(error)),
            }
        });
    };
    Effect::new(move |_| {
        category.track();
        let search = search.get();
        if !search.trim().is_empty() {
            track::record("search", None, Some(search.trim()));
        }
        load(true);
    });
    let answered = RwSignal::new(0u32);

    let search_input = NodeRef::<leptos::html::Input>::new();
    let on_search = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let text = search_input.get().map(|input| input.value()).unwrap_or_default();
        let href = shelf_href(&store_id.get_value(), category.get_untracked().as_deref(), Some(text.trim()));
        route::navigate(&href);
    };

    let tab = move |code: Option<Category>| {
        let href = move || shelf_href(&store_id.get_value(), code.map(Category::code), Some(&search.get()));
        let active = move || category.get().as_deref() == code.map(Category::code);
        let label =
            move || code.map_or_else(|| language.get().t(Key::All).to_owned(), |c| language.get().pick(&c.label()));
        view! {
            <a class="tab" class:active=active href=href data-category=code.map_or("all", Category::code)>{label}</a>
        }
    };

    view! {
        <TopBar title=title />
        <main class="page shelf">
            <div class="store-switch"><a href="/">{move || language.get().t(Key::ChangeStore)}</a></div>
            <form class="search" role="search" on:submit=on_search>
                <input
                    type="search"
                    name="q"
                    node_ref=search_input
                    prop:value=move || search.get()
                    placeholder=move || language.get().t(Key::SearchPlaceholder)
                    enterkeyhint="search"
                    maxlength="40"
                />
                <button type="submit">{move || language.get().t(Key::Search)}</button>
            </form>
            <nav class="tabs">
                {tab(None)}
                {Category::ALL.into_iter().map(|c| tab(Some(c))).collect_view()}
            </nav>
            {move || (category.get().is_none() && search.get().is_empty()).then(|| view! {
                <OfferNote store=store_id.get_value() refresh=answered />
                <PicksStrip store=store_id.get_value() placement="for_you" refresh=answered />
            })}
            <ConsentBanner answered=answered />
            <ul class="grid">
                <For each=move || items.get() key=|item| item.product_id.clone() let:item>
                    <ProductCard item=item store=store_id.get_value() />
                </For>
            </ul>
            {move || failure.get().map(|error| view! {
                <ErrorNotice failure=error retry=Callback::new(move |()| load(items.with_untracked(Vec::is_empty))) />
            })}
            <div class="list-end">
                {move || {
                    let language = language.get();
                    if loading.get() {
                        view! { <p class="loading">{language.t(Key::Loading)}</p> }.into_any()
                    } else if next_cursor.get().is_some() {
                        view! { <button class="load-more" on:click=move |_| load(false)>{language.t(Key::LoadMore)}</button> }.into_any()
                    } else if failure.get().is_some() {
                        ().into_any()
                    } else if items.with(Vec::is_empty) {
                        view! { <p class="empty">{language.t(Key::NoResults)}</p> }.into_any()
                    } else {
                        view! { <p class="end">{language.t(Key::EndOfShelf)}</p> }.into_any()
                    }
                }}
            </div>
        </main>
    }
}

#[component]
fn ProductCard(item: ShelfItem, store: String) -> impl IntoView {
    let language = use_language();
    let href = format!("/p/{}?store={}", item.product_id, js_sys::encode_uri_component(&store));
    let name = item.name.clone();
    let alt = item.name.clone();
    view! {
        <li class="card">
            <a href=href data-product=item.product_id.to_string()>
                <img src=item.image.clone() alt=move || language.get().pick(&alt) loading="lazy" width="300" height="300" />
                {item.has_model.then(|| view! { <span class="badge">"3D"</span> })}
                <span class="name">{move || language.get().pick(&name)}</span>
                <Price from=item.price_from_fen to=item.price_to_fen />
            </a>
        </li>
    }
}
