//! The shopper's orders: the list, and one order with its pickup code and QR, tracking,
//! timeline, and what can be done next (pay, cancel, confirm receipt, ask for a refund).

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use tandem_app::api::{self, ApiFailure};
use tandem_app::components::{ErrorNotice, TopBar};
use tandem_app::i18n::Key;
use tandem_app::use_language;
use tandem_domain::api::commerce::{OrderAnswer, OrderPage, PaymentAnswer, RefundAsked, RefundRequest};
use tandem_domain::order::{Fulfilment, OrderState};
use tandem_domain::views::OrderView;

use crate::text::{self, T, failure, t};

#[component]
pub fn OrderList() -> impl IntoView {
    let language = use_language();
    let orders = LocalResource::new(|| async {
        crate::signed_in(api::send::<OrderPage>("GET", "/api/orders", None, None).await, "/orders")
    });
    view! {
        <TopBar title=Signal::derive(move || t(language.get(), T::MyOrders).to_owned()) />
        <main class="page desk orders">
            <p class="note"><a href="/share" data-test="share-link">{move || crate::text::both(language.get(), "分享中心：邀请好友、查看收益 →", "Sharer centre: invite friends, see earnings →")}</a></p>
            <Suspense fallback=move || view! { <p class="loading">{move || language.get().t(Key::Loading)}</p> }>
                {move || orders.get().map(|result| match result {
                    Ok(list) if list.orders.is_empty() => view! {
                        <div class="empty"><p>{move || t(language.get(), T::NoOrders)}</p><a href="/" rel="external">{move || t(language.get(), T::BackToShelf)}</a></div>
                    }.into_any(),
                    Ok(list) => view! {
                        <ul class="order-list" data-test="order-list">
                            {list.orders.into_iter().map(|order| view! { <OrderCard order=order /> }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(failure) => view! { <ErrorNotice failure=failure /> }.into_any(),
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn OrderCard(order: OrderView) -> impl IntoView {
    let language = use_language();
    let first = order.lines.first().map(|l| l.name.clone());
    let count: i64 = order.lines.iter().map(|l| l.quantity).sum();
    let state = order.state;
    let fulfilment = if order.fulfilment == Fulfilment::Pickup { Key::Pickup } else { Key::Delivery };
    view! {
        <li class="order-card" data-state=state.code()>
            <a href=format!("/orders/{}", order.id)>
                <p class="state">{move || text::state(language.get(), state)} " · " {move || language.get().t(fulfilment)}</p>
                <p class="name">{move || first.as_ref().map(|n| language.get().pick(n)).unwrap_or_default()} {(count > 1).then(|| format!(" ×{count}"))}</p>
                <p class="price">{order.total_fen.to_string()}</p>
            </a>
        </li>
    }
}

#[component]
pub fn OrderPage() -> impl IntoView {
    let language = use_language();
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id")).unwrap_or_default());
    let order = LocalResource::new(move || {
        let id = id.get();
        async move {
            let here = format!("/orders/{id}");
            crate::signed_in(
                api::send::<OrderAnswer>("GET", &format!("/api/orders/{}", api::encode(&id)), None, None).await,
                &here,
            )
        }
    });
    view! {
        <TopBar title=Signal::derive(move || t(language.get(), T::Order).to_owned()) back=Signal::derive(|| "/orders".to_owned()) />
        <main class="page desk order">
            <Suspense fallback=move || view! { <p class="loading">{move || language.get().t(Key::Loading)}</p> }>
                {move || order.get().map(|result| match result {
                    Ok(OrderAnswer { order: detail }) => view! { <OrderDetail order=detail reload=Callback::new(move |()| order.refetch()) /> }.into_any(),
                    Err(failure) => view! { <ErrorNotice failure=failure /> }.into_any(),
                })}
            </Suspense>
        </main>
    }
}

/// What the shopper can do to an order.
#[derive(Clone, Copy)]
enum Act {
    Pay,
    Cancel,
    Received,
    Refund,
}

#[component]
fn OrderDetail(order: OrderView, reload: Callback<()>) -> impl IntoView {
    let language = use_language();
    let id = order.id.clone();
    let checkout = order.checkout_id.clone();
    let reason = RwSignal::new(String::new());
    let act = Action::new_local(move |act: &Act| {
        let (id, checkout, act) = (id.clone(), checkout.clone(), *act);
        let reason = reason.get_untracked();
        async move {
            match act {
                Act::Pay => {
                    let opened: PaymentAnswer =
                        api::send("POST", &format!("/api/checkouts/{checkout}/payments"), None, None).await?;
                    crate::go(&opened.payment.pay_url);
                }
                Act::Cancel => {
                    api::send::<OrderAnswer>("POST", &format!("/api/orders/{id}/cancel"), None, None)
                        .await
                        .map(drop)?;
                }
                Act::Received => {
                    api::send::<OrderAnswer>("POST", &format!("/api/orders/{id}/received"), None, None)
                        .await
                        .map(drop)?;
                }
                Act::Refund => {
                    let body = api::body(&RefundRequest { reason });
                    api::send::<RefundAsked>("POST", &format!("/api/orders/{id}/refund"), body, None)
                        .await
                        .map(drop)?;
                }
            }
            Ok::<(), ApiFailure>(())
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = act.value().get() {
            reload.run(());
        }
    });
    let state = order.state;
    let refundable = state.is_paid() && state != OrderState::RefundRequested;
    let qr = format!("/api/orders/{}/pickup-qr.svg", order.id);
    view! {
        <section class="order-head">
            <p class="state" data-test="order-state" data-state=state.code()>{move || text::state(language.get(), state)}</p>
            <p class="store">{let store = order.store_name.clone(); move || language.get().pick(&store)}</p>
        </section>
        {order.pickup_code.clone().filter(|_| state == OrderState::ReadyForPickup).map(|code| view! {
            <section class="pickup">
                <h3>{move || t(language.get(), T::PickupCode)}</h3>
                <p class="pickup-code" data-test="pickup-code">{code}</p>
                <img class="qr" src=qr.clone() alt="QR" width="180" height="180" />
                <p class="note">{move || t(language.get(), T::ShowCodeAtCounter)}</p>
            </section>
        })}
        {order.tracking_no.clone().map(|tracking| {
            let carrier = order.carrier.clone().unwrap_or_default();
            view! {
                <section class="tracking"><h3>{move || t(language.get(), T::Tracking)}</h3><p data-test="tracking">{carrier} " " {tracking}</p></section>
            }
        })}
        <ul class="lines">
            {order.lines.iter().map(|line| {
                let (name, variant) = (line.name.clone(), line.variant.clone());
                view! {
                    <li class="line">
                        <div class="what"><p class="name">{move || language.get().pick(&name)}</p><p class="variant">{move || language.get().pick(&variant)}</p></div>
                        <div class="how-many"><span class="price">{line.price_fen.to_string()}</span><span>"×" {line.quantity}</span></div>
                    </li>
                }
            }).collect_view()}
        </ul>
        <dl class="totals">
            <dt>{move || t(language.get(), T::Shipping)}</dt><dd>{order.shipping_fen.to_string()}</dd>
            <dt>{move || t(language.get(), T::Total)}</dt><dd class="price" data-test="order-total">{order.total_fen.to_string()}</dd>
            {(order.refunded_fen.get() > 0).then(|| view! { <dt>{move || t(language.get(), T::Refunded)}</dt><dd>{order.refunded_fen.to_string()}</dd> })}
        </dl>
        <div class="actions">
            {(state == OrderState::AwaitingPayment).then(|| view! {
                <button class="primary" data-test="pay-order" on:click=move |_| { act.dispatch(Act::Pay); }>{move || t(language.get(), T::Pay)}</button>
                <button class="secondary" data-test="cancel-order" on:click=move |_| { act.dispatch(Act::Cancel); }>{move || t(language.get(), T::CancelOrder)}</button>
            })}
            {(state == OrderState::Shipped).then(|| view! {
                <button class="primary" data-test="confirm-received" on:click=move |_| { act.dispatch(Act::Received); }>{move || t(language.get(), T::ConfirmReceived)}</button>
            })}
            {refundable.then(|| view! {
                <div class="refund">
                    <input type="text" maxlength="500" placeholder=move || t(language.get(), T::RefundReason) prop:value=reason on:input=move |ev| reason.set(event_target_value(&ev)) />
                    <button class="secondary" data-test="request-refund" on:click=move |_| { act.dispatch(Act::Refund); }>{move || t(language.get(), T::RequestRefund)}</button>
                </div>
            })}
        </div>
        {move || act.value().get().and_then(Result::err).map(|error| view! { <p class="note error" role="alert">{failure(language.get(), &error)}</p> })}
        <section class="timeline">
            <h3>{move || t(language.get(), T::Timeline)}</h3>
            <ol data-test="timeline">
                {order.timeline.iter().map(|entry| {
                    let state = entry.state;
                    let at = crate::local_time(entry.at);
                    let note = entry.note.clone();
                    view! { <li><span class="when">{at}</span> " " {move || text::state(language.get(), state)} {note.map(|n| format!(" · {n}"))}</li> }
                }).collect_view()}
            </ol>
        </section>
    }
}
