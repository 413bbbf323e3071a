//! A product as one store offers it: gallery (pictures and, where there is one, a 3D model),
//! variant picker, the store's price, and availability for pickup and for delivery.

use leptos::prelude::*;
use tandem_domain::api::cards::VisitRequest;
use tandem_domain::catalog::{Media, MediaKind, ProductDetail, SkuOffer, Text};
use tandem_domain::order::Fulfilment;

use crate::api;
use crate::components::{AvailabilityLine, ErrorNotice, Price, TopBar};
use crate::i18n::{Key, Language};
use crate::pages::picks::PicksStrip;
use crate::{track, use_language};

#[component]
pub fn ProductPage(id: String) -> impl IntoView {
    let language = use_language();
    let location = crate::route::use_location();
    let id = Memo::new(move |_| id.clone());
    let store = Memo::new(move |_| location.with(|l| l.get("store")).unwrap_or_default());
    let product = LocalResource::new(move || {
        let (id, store) = (id.get(), store.get());
        async move { api::product(&id, &store).await }
    });
    let title = Signal::derive(move || {
        product
            .get()
            .and_then(Result::ok)
            .map_or_else(|| language.get().t(Key::AppName).to_owned(), |p| language.get().pick(&p.name))
    });
    let back = Signal::derive(move || format!("/?store={}", js_sys::encode_uri_component(&store.get())));
    view! {
        <TopBar title=title back=back />
        <main class="page product">
            <Suspense fallback=move || view! { <div class="skeleton-block"></div><p class="loading">{move || language.get().t(Key::Loading)}</p> }>
                {move || product.get().map(|result| match result {
                    Ok(detail) => {
                        track::record("view", Some(detail.product_id.as_str()), None);
                        let (store, id) = (store.get_untracked(), detail.product_id.to_string());
                        // Opened from someone's card: their radar hears of it.
                        if let Some(card) = location.with_untracked(|l| l.get("c")) {
                            let visit = VisitRequest { kind: "product".to_owned(), product: Some(id.clone()) };
                            leptos::task::spawn_local(async move {
                                let url = format!("/api/cards/{}/visits", api::encode(&card));
                                let _ = api::send::<serde::de::IgnoredAny>("POST", &url, api::body(&visit), None).await;
                            });
                        }
                        view! {
                            <ProductView detail=detail />
                            <PicksStrip store=store.clone() placement="goes_with" product=id />
                            <PicksStrip store=store placement="tried_on" />
                        }.into_any()
                    }
                    Err(failure) => view! {
                        <ErrorNotice failure=failure retry=Callback::new(move |()| product.refetch()) />
                    }.into_any(),
                })}
            </Suspense>
        </main>
    }
}

/// Distinct values in first-seen order.
fn distinct<T: PartialEq + Clone>(values: impl Iterator<Item = T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for value in values {
        if !out.contains(&value) {
            out.push(value);
        }
    }
    out
}

#[component]
fn ProductView(detail: ProductDetail) -> impl IntoView {
    let language = use_language();
    let skus = StoredValue::new(detail.skus.clone());
    let sizes: Vec<String> = distinct(detail.skus.iter().filter_map(|s| s.variant.size.clone()));
    let colours: Vec<Text> = distinct(detail.skus.iter().filter_map(|s| s.variant.colour.clone()));
    let first = detail.skus.first();
    let size = RwSignal::new(first.and_then(|s| s.variant.size.clone()));
    let colour = RwSignal::new(first.and_then(|s| s.variant.colour.clone()));

    // The SKU with the chosen size and colour; when that combination does not exist, the first
    // with the chosen size, so a choice always shows a price.
    let selected = Memo::new(move |_| {
        let (size, colour) = (size.get(), colour.get());
        skus.with_value(|skus| {
            skus.iter()
                .find(|s| s.variant.size == size && s.variant.colour == colour)
                .or_else(|| skus.iter().find(|s| s.variant.size == size))
                .or_else(|| skus.first())
                .cloned()
        })
    });
    let price_range = (
        detail.skus.iter().map(|s| s.price_fen).min().unwrap_or_default(),
        detail.skus.iter().map(|s| s.price_fen).max().unwrap_or_default(),
    );
    let name = detail.name.clone();
    let description = detail.description.clone();
    let supplier = detail.supplier.clone();

    view! {
        <Gallery media=detail.media.clone() />
        <section class="summary">
            <h2 class="product-name" data-test="product-name">{move || language.get().pick(&name)}</h2>
            <p class="product-price" data-test="product-price">
                {move || match selected.get() {
                    Some(sku) => view! { <Price from=sku.price_fen to=sku.price_fen /> }.into_any(),
                    None => view! { <Price from=price_range.0 to=price_range.1 /> }.into_any(),
                }}
            </p>
        </section>
        <VariantPicker heading=Key::Size test_id="sizes" values=sizes chosen=size label=|size: &String, _| size.clone() />
        <VariantPicker heading=Key::Colour test_id="colours" values=colours chosen=colour label=|colour: &Text, language: Language| language.pick(colour) />
        <section class="fulfilment" data-test="availability">
            {move || selected.get().map(|sku: SkuOffer| view! {
                <AvailabilityLine label=Key::Pickup availability=sku.pickup />
                <AvailabilityLine label=Key::Delivery availability=sku.delivery />
            })}
        </section>
        <AddToCart store=detail.store_id.as_str().to_owned() product=detail.product_id.to_string() selected=selected />
        <section class="description">
            <p>{move || language.get().pick(&description)}</p>
            <p class="supplier">{move || language.get().t(Key::Supplier)} ": " {move || language.get().pick(&supplier)}</p>
        </section>
    }
}

/// "Add to cart" for pickup or for delivery, each offered only when the chosen SKU can be had
/// that way; after adding, a link to the cart (the desk bundle, so a full page load).
#[component]
fn AddToCart(store: String, product: String, selected: Memo<Option<SkuOffer>>) -> impl IntoView {
    let product_id = StoredValue::new(product);
    let language = use_language();
    let added = RwSignal::new(None::<Result<(), api::ApiFailure>>);
    let add = Action::new_local(move |(sku, fulfilment): &(String, Fulfilment)| {
        let (store, sku, pickup) = (store.clone(), sku.clone(), *fulfilment == Fulfilment::Pickup);
        async move {
            let added = api::add_to_cart(&store, &sku, pickup).await.map(drop);
            if added.is_ok() {
                track::record("cart", Some(product_id.get_value().as_str()), None);
            }
            added
        }
    });
    Effect::new(move |_| added.set(add.value().get()));
    let button = move |fulfilment: Fulfilment, key: Key, test: &'static str| {
        view! {
            <button class="add" data-test=test
                disabled=move || add.pending().get() || !selected.get().is_some_and(|s| match fulfilment {
                    Fulfilment::Pickup => s.pickup.can_buy(),
                    Fulfilment::Delivery => s.delivery.can_buy(),
                })
                on:click=move |_| {
                    if let Some(sku) = selected.get_untracked() {
                        add.dispatch((sku.sku_id.as_str().to_owned(), fulfilment));
                    }
                }>
                {move || language.get().t(Key::AddToCart)} " · " {move || language.get().t(key)}
            </button>
        }
    };
    view! {
        <section class="buy">
            {button(Fulfilment::Pickup, Key::Pickup, "add-pickup")}
            {button(Fulfilment::Delivery, Key::Delivery, "add-delivery")}
            {move || added.get().map(|result| match result {
                Ok(()) => view! {
                    <p class="note" role="status" data-test="added">{move || language.get().t(Key::Added)} " "
                        <a href="/cart" rel="external" data-test="go-to-cart">{move || language.get().t(Key::GoToCart)}</a></p>
                }.into_any(),
                Err(failure) => view! { <p class="note error" role="alert">{move || crate::errors::describe(language.get(), &failure)}</p> }.into_any(),
            })}
        </section>
    }
}

/// One attribute's choices as chips (sizes, colours); nothing when the product has none.
#[component]
fn VariantPicker<T>(
    heading: Key,
    test_id: &'static str,
    values: Vec<T>,
    chosen: RwSignal<Option<T>>,
    label: fn(&T, Language) -> String,
) -> impl IntoView
where
    T: Clone + PartialEq + Send + Sync + 'static,
{
    let language = use_language();
    (!values.is_empty()).then(|| {
        view! {
            <section class="variants">
                <h3>{move || language.get().t(heading)}</h3>
                <div class="chips" data-test=test_id>
                    {values.into_iter().map(|value| {
                        let value = StoredValue::new(value);
                        view! {
                            <button class="chip"
                                class:active=move || chosen.with(|c| c.as_ref() == Some(&value.get_value()))
                                on:click=move |_| chosen.set(Some(value.get_value()))>
                                {move || label(&value.get_value(), language.get())}
                            </button>
                        }
                    }).collect_view()}
                </div>
            </section>
        }
    })
}

/// Loads the 3D viewer's script the first time a model is shown; pages without a model never
/// pay for it.
fn ensure_model_viewer() {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
    if document.get_element_by_id("model-viewer-script").is_some() {
        return;
    }
    if let Ok(script) = document.create_element("script") {
        let _ = script.set_attribute("id", "model-viewer-script");
        let _ = script.set_attribute("type", "module");
        let _ = script.set_attribute("src", "/vendor/model-viewer.min.js");
        if let Some(head) = document.head() {
            let _ = head.append_child(&script);
        }
    }
}

#[component]
fn Gallery(media: Vec<Media>) -> impl IntoView {
    let language = use_language();
    let media = StoredValue::new(media);
    let current = RwSignal::new(0usize);
    let shown = move || media.with_value(|m| m.get(current.get()).cloned());
    view! {
        <div class="gallery">
            <div class="stage">
                {move || shown().map(|item| {
                    let alt = item.alt.clone();
                    match item.kind {
                        MediaKind::Image => view! {
                            <img src=item.url.clone() alt=move || language.get().pick(&alt) width="600" height="600" />
                        }.into_any(),
                        MediaKind::Model => {
                            ensure_model_viewer();
                            view! {
                                <model-viewer src=item.url.clone() alt=move || language.get().pick(&alt)
                                    camera-controls="" auto-rotate="" shadow-intensity="1"></model-viewer>
                            }.into_any()
                        }
                    }
                })}
            </div>
            <div class="thumbs">
                {move || media.with_value(|items| items.iter().enumerate().map(|(index, item)| {
                    let label = match item.kind {
                        MediaKind::Image => view! { <img src=item.url.clone() alt="" width="64" height="64" /> }.into_any(),
                        MediaKind::Model => view! { <span class="thumb-3d">{move || language.get().t(Key::View3d)}</span> }.into_any(),
                    };
                    view! {
                        <button class="thumb" class:active=move || current.get() == index on:click=move |_| current.set(index)
                            data-kind=if item.kind == MediaKind::Model { "model" } else { "image" }>{label}</button>
                    }
                }).collect_view())}
            </div>
        </div>
    }
}
