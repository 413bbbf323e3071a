//! The entry screen: a store's QR code opens `/?store=ID`, which shows that store's shelf;
//! without a store the shopper picks one.

use leptos::prelude::*;

use crate::components::{ErrorNotice, TopBar};
use crate::i18n::Key;
use crate::pages::shelf::Shelf;
use crate::{api, use_language};

#[component]
pub fn Home() -> impl IntoView {
    let location = crate::route::use_location();
    let store = Memo::new(move |_| location.with(|l| l.get("store")).filter(|s| !s.is_empty()));
    move || match store.get() {
        Some(store) => view! { <Shelf store=store /> }.into_any(),
        None => view! { <StorePicker /> }.into_any(),
    }
}

#[component]
fn StorePicker() -> impl IntoView {
    let language = use_language();
    let stores = LocalResource::new(api::stores);
    let title = Signal::derive(move || language.get().t(Key::ChooseStore).to_owned());
    view! {
        <TopBar title=title />
        <main class="page store-picker">
            <p class="hint">{move || language.get().t(Key::ChooseStoreHint)}</p>
            <Suspense fallback=move || view! { <p class="loading">{move || language.get().t(Key::Loading)}</p> }>
                {move || stores.get().map(|result| match result {
                    Ok(stores) => view! {
                        <ul class="stores">
                            {stores.into_iter().map(|store| {
                                let href = format!("/?store={}", store.id);
                                view! {
                                    <li>
                                        <a class="store-card" href=href data-store=store.id.to_string()>
                                            <strong>{move || language.get().pick(&store.name)}</strong>
                                            <span class="city">{move || language.get().pick(&store.city)}</span>
                                            <span class="address">{move || language.get().pick(&store.address)}</span>
                                            <span class="count">{store.shelf_size} " " {move || language.get().t(Key::Products)}</span>
                                        </a>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(failure) => view! {
                        <ErrorNotice failure=failure retry=Callback::new(move |()| stores.refetch()) />
                    }.into_any(),
                })}
            </Suspense>
        </main>
    }
}
