//! The consoles: a signed-in person's roles, the store console (verify pickups, orders, refund
//! decisions), the supplier console (orders to ship with their addresses, shipping, stock,
//! refund decisions) and the operator's ledger.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use tandem_app::api::{self, ApiFailure};
use tandem_app::components::{ErrorNotice, TopBar};
use tandem_app::i18n::Key;
use tandem_app::use_language;
use tandem_domain::access::Role;
use tandem_domain::api::Problem;
use tandem_domain::api::account::Me;
use tandem_domain::api::commerce::{
    OrderAnswer, PickupRequest, RefundDecision, StoreOrders, SupplierOrders, ToShip, WarehouseStock,
};
use tandem_domain::api::manage::StockSet;
use tandem_domain::catalog::SkuId;
use tandem_domain::fulfilment::Shipment;
use tandem_domain::ledger::LedgerOverview;
use tandem_domain::order::OrderState;
use tandem_domain::views::OrderView;

use crate::text::{self, T, failure, t};

#[component]
pub fn ConsoleHome() -> impl IntoView {
    let language = use_language();
    let me = LocalResource::new(|| async {
        crate::signed_in(api::send::<Me>("GET", "/api/me", None, None).await, "/console")
    });
    view! {
        <TopBar title=Signal::derive(move || t(language.get(), T::Consoles).to_owned()) />
        <main class="page desk console">
            <Suspense fallback=move || view! { <p class="loading">{move || language.get().t(Key::Loading)}</p> }>
                {move || me.get().map(|result| match result {
                    Ok(me) if me.roles.is_empty() => view! { <p class="note">{move || t(language.get(), T::NoRoles)}</p> }.into_any(),
                    Ok(me) => view! {
                        <ul class="roles" data-test="roles">
                            {me.roles.into_iter().map(|role| {
                                let (href, key, name) = match role {
                                    Role::StoreOwner { store_id } | Role::Clerk { store_id } => (format!("/console/store/{store_id}"), T::StoreConsole, store_id.to_string()),
                                    Role::SupplierStaff { supplier_id } => (format!("/console/supplier/{supplier_id}"), T::SupplierConsole, supplier_id.to_string()),
                                    Role::Operator => ("/console/operator".to_owned(), T::OperatorConsole, String::new()),
                                };
                                view! { <li><a href=href>{move || t(language.get(), key)} " " {name}</a></li> }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(failure) => view! { <ErrorNotice failure=failure /> }.into_any(),
                })}
            </Suspense>
        </main>
    }
}

/// A refund decision: approve what is left, or reject.
async fn decide(scope: &'static str, owner: String, order: String, approve: bool) -> Result<(), ApiFailure> {
    let body = api::body(&RefundDecision { approve, amount: None });
    api::send::<OrderAnswer>("POST", &format!("/api/{scope}/{owner}/orders/{order}/refund"), body, None).await.map(drop)
}

#[component]
pub fn StoreConsole() -> impl IntoView {
    let language = use_language();
    let params = use_params_map();
    let store = Memo::new(move |_| params.with(|p| p.get("id")).unwrap_or_default());
    let orders = LocalResource::new(move || {
        let store = store.get();
        async move {
            let here = format!("/console/store/{store}");
            crate::signed_in(
                api::send::<StoreOrders>("GET", &format!("/api/store/{}/orders", api::encode(&store)), None, None)
                    .await,
                &here,
            )
        }
    });
    let code = RwSignal::new(String::new());
    let verify = Action::new_local(move |code: &String| {
        let (store, body) = (store.get_untracked(), api::body(&PickupRequest { code: code.clone() }));
        async move {
            api::send::<OrderAnswer>("POST", &format!("/api/store/{}/pickups", api::encode(&store)), body, None).await
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = verify.value().get() {
            code.set(String::new());
            orders.refetch();
        }
    });
    let decision = Action::new_local(move |(order, approve): &(String, bool)| {
        decide("store", store.get_untracked(), order.clone(), *approve)
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = decision.value().get() {
            orders.refetch();
        }
    });
    // The shelf and clerks panels are the owner's.
    let me = LocalResource::new(|| async { api::send::<Me>("GET", "/api/me", None, None).await });
    let owner = move || {
        me.get().and_then(Result::ok).is_some_and(|me| {
            me.roles.iter().any(|r| matches!(r, Role::StoreOwner { store_id } if store_id.as_str() == store.get()))
        })
    };
    view! {
        <TopBar title=Signal::derive(move || format!("{} {}", t(language.get(), T::StoreConsole), store.get())) back=Signal::derive(|| "/console".to_owned()) />
        <main class="page desk console store">
            <form class="form pickup-verify" on:submit=move |ev| { ev.prevent_default(); verify.dispatch(code.get_untracked()); }>
                <label>{move || t(language.get(), T::VerifyPickup)}
                    <input type="text" inputmode="numeric" autocomplete="off" data-test="pickup-input" prop:value=code on:input=move |ev| code.set(event_target_value(&ev)) />
                </label>
                <button type="submit" class="primary" data-test="verify-pickup" disabled=move || verify.pending().get()>{move || t(language.get(), T::Verify)}</button>
                {move || verify.value().get().map(|result| match result {
                    Ok(_) => view! { <p class="note ok" role="status" data-test="pickup-result">{move || t(language.get(), T::PickupDone)}</p> }.into_any(),
                    Err(error) => view! { <p class="note error" role="alert" data-test="pickup-result">{failure(language.get(), &error)}</p> }.into_any(),
                })}
            </form>
            <crate::pages::mycard::StoreCardPanel store=store />
            <crate::pages::instore::InStorePanel store=store />
            <crate::pages::followup::FollowUpPanel store=store />
            {move || owner().then(|| view! {
                <crate::pages::promotions::PromotionsPanel store=Some(store) />
                <crate::pages::instore::DevicesPanel store=store />
            })}
            <h2>{move || t(language.get(), T::Orders)}</h2>
            <Suspense fallback=move || view! { <p class="loading">{move || language.get().t(Key::Loading)}</p> }>
                {move || orders.get().map(|result| match result {
                    Ok(list) => view! {
                        <ul class="order-list" data-test="store-orders">
                            {list.orders.into_iter().map(|order| {
                                let id = order.id.clone();
                                let refund = (order.state == OrderState::RefundRequested && order.shipper_id.is_none()).then(|| {
                                    let (yes, no) = (id.clone(), id.clone());
                                    view! {
                                        <button class="secondary" on:click=move |_| { decision.dispatch((yes.clone(), true)); }>{move || t(language.get(), T::Approve)}</button>
                                        <button class="secondary" on:click=move |_| { decision.dispatch((no.clone(), false)); }>{move || t(language.get(), T::Reject)}</button>
                                    }
                                });
                                let state = order.state.code();
                                view! { <li class="order-card" data-state=state><ConsoleOrder order=order />{refund}</li> }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(failure) => view! { <ErrorNotice failure=failure /> }.into_any(),
                })}
            </Suspense>
            <Suspense fallback=|| ()>
                {move || owner().then(|| view! {
                    <super::manage::ShelfPanel store=store.get() />
                    <super::manage::ClerksPanel store=store.get() />
                })}
            </Suspense>
        </main>
    }
}

/// An order's summary line in a console.
#[component]
fn ConsoleOrder(order: OrderView) -> impl IntoView {
    let language = use_language();
    let state = order.state;
    let lines = order.lines.clone();
    view! {
        <p class="state">{move || text::state(language.get(), state)} " · " <code>{order.id.clone()}</code></p>
        <p class="name">{move || lines.iter().map(|l| format!("{} {} ×{}", language.get().pick(&l.name), language.get().pick(&l.variant), l.quantity)).collect::<Vec<_>>().join("，")}</p>
        <p class="price">{order.total_fen.to_string()}</p>
    }
}

#[component]
pub fn SupplierConsole() -> impl IntoView {
    let language = use_language();
    let params = use_params_map();
    let supplier = Memo::new(move |_| params.with(|p| p.get("id")).unwrap_or_default());
    let orders = LocalResource::new(move || {
        let supplier = supplier.get();
        async move {
            let here = format!("/console/supplier/{supplier}");
            crate::signed_in(
                api::send::<SupplierOrders>(
                    "GET",
                    &format!("/api/supplier/{}/orders", api::encode(&supplier)),
                    None,
                    None,
                )
                .await,
                &here,
            )
        }
    });
    let ship = Action::new_local(move |(order, carrier, tracking): &(String, String, String)| {
        let supplier = supplier.get_untracked();
        let body = api::body(&Shipment { carrier: carrier.clone(), tracking_no: tracking.clone() });
        let order = order.clone();
        async move {
            api::send::<OrderAnswer>("POST", &format!("/api/supplier/{supplier}/orders/{order}/shipment"), body, None)
                .await
                .map(drop)
        }
    });
    let decision = Action::new_local(move |(order, approve): &(String, bool)| {
        decide("supplier", supplier.get_untracked(), order.clone(), *approve)
    });
    Effect::new(move |_| {
        if matches!(ship.value().get(), Some(Ok(()))) || matches!(decision.value().get(), Some(Ok(()))) {
            orders.refetch();
        }
    });
    let sku = RwSignal::new(String::new());
    let on_hand = RwSignal::new(String::new());
    let flash_sale = RwSignal::new("keep".to_owned());
    let save_stock = Action::new_local(move |(): &()| {
        let supplier = supplier.get_untracked();
        let units = on_hand.get_untracked().trim().parse::<i64>().unwrap_or(-1);
        let flash_sale = match flash_sale.get_untracked().as_str() {
            "on" => Some(true),
            "off" => Some(false),
            _ => None,
        };
        let sku_id = SkuId::parse(sku.get_untracked().trim());
        async move {
            let sku_id = sku_id.map_err(|_| ApiFailure::local(Problem::BadRequest { field: "sku_id".to_owned() }))?;
            let body = api::body(&WarehouseStock { sku_id, on_hand: units, flash_sale });
            api::send::<StockSet>("PUT", &format!("/api/supplier/{supplier}/stock"), body, None).await.map(drop)
        }
    });
    view! {
        <TopBar title=Signal::derive(move || format!("{} {}", t(language.get(), T::SupplierConsole), supplier.get())) back=Signal::derive(|| "/console".to_owned()) />
        <main class="page desk console supplier">
            <h2>{move || t(language.get(), T::Orders)}</h2>
            <Suspense fallback=move || view! { <p class="loading">{move || language.get().t(Key::Loading)}</p> }>
                {move || orders.get().map(|result| match result {
                    Ok(list) => view! {
                        <ul class="order-list" data-test="supplier-orders">
                            {list.orders.into_iter().map(|entry| view! { <ShipmentCard entry=entry ship=ship decision=decision /> }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(failure) => view! { <ErrorNotice failure=failure /> }.into_any(),
                })}
            </Suspense>
            {move || ship.value().get().and_then(Result::err).map(|e| view! { <p class="note error" role="alert">{failure(language.get(), &e)}</p> })}
            <form class="form stock" on:submit=move |ev| { ev.prevent_default(); save_stock.dispatch(()); }>
                <h2>{move || t(language.get(), T::Stock)}</h2>
                <label>{move || t(language.get(), T::SkuId)}<input type="text" prop:value=sku on:input=move |ev| sku.set(event_target_value(&ev)) /></label>
                <label>{move || t(language.get(), T::OnHand)}<input type="number" min="0" prop:value=on_hand on:input=move |ev| on_hand.set(event_target_value(&ev)) /></label>
                <label>{move || t(language.get(), T::FlashSale)}
                    <select data-test="flash-sale" prop:value=flash_sale on:change=move |ev| flash_sale.set(event_target_value(&ev))>
                        <option value="keep">{move || t(language.get(), T::FlashSaleKeep)}</option>
                        <option value="on">{move || t(language.get(), T::FlashSaleOn)}</option>
                        <option value="off">{move || t(language.get(), T::FlashSaleOff)}</option>
                    </select>
                </label>
                <button type="submit" class="secondary">{move || t(language.get(), T::Save)}</button>
                {move || save_stock.value().get().map(|r| match r {
                    Ok(()) => view! { <p class="note ok" role="status">{move || t(language.get(), T::Saved)}</p> }.into_any(),
                    Err(e) => view! { <p class="note error" role="alert">{failure(language.get(), &e)}</p> }.into_any(),
                })}
            </form>
            <super::manage::ImportPanel supplier=supplier.get_untracked() />
            <super::manage::PicturesPanel supplier=supplier.get_untracked() />
        </main>
    }
}

#[component]
fn ShipmentCard(
    entry: ToShip,
    ship: Action<(String, String, String), Result<(), ApiFailure>>,
    decision: Action<(String, bool), Result<(), ApiFailure>>,
) -> impl IntoView {
    let language = use_language();
    let order = entry.order;
    let id = order.id.clone();
    let state = order.state;
    let carrier = RwSignal::new("顺丰速运".to_owned());
    let tracking = RwSignal::new(String::new());
    let address = entry.address.map(|a| format!("{} {} · {} {}", a.name, a.phone, a.region, a.detail));
    let shipping = (state == OrderState::Paid).then(|| {
        let id = id.clone();
        view! {
            <form class="form ship" on:submit=move |ev| { ev.prevent_default(); ship.dispatch((id.clone(), carrier.get_untracked(), tracking.get_untracked())); }>
                <label>{move || t(language.get(), T::Carrier)}<input type="text" data-test="carrier" prop:value=carrier on:input=move |ev| carrier.set(event_target_value(&ev)) /></label>
                <label>{move || t(language.get(), T::TrackingNo)}<input type="text" data-test="tracking-no" prop:value=tracking on:input=move |ev| tracking.set(event_target_value(&ev)) /></label>
                <button type="submit" class="primary" data-test="ship">{move || t(language.get(), T::Ship)}</button>
            </form>
        }
    });
    let refund = (state == OrderState::RefundRequested).then(|| {
        let (yes, no) = (id.clone(), id.clone());
        view! {
            <button class="secondary" on:click=move |_| { decision.dispatch((yes.clone(), true)); }>{move || t(language.get(), T::Approve)}</button>
            <button class="secondary" on:click=move |_| { decision.dispatch((no.clone(), false)); }>{move || t(language.get(), T::Reject)}</button>
        }
    });
    view! {
        <li class="order-card" data-state=state.code() data-order=id.clone()>
            <ConsoleOrder order=order.clone() />
            {address.map(|a| view! { <p class="address">{a}</p> })}
            {order.tracking_no.clone().map(|t| view! { <p class="tracking">{order.carrier.clone().unwrap_or_default()} " " {t}</p> })}
            {shipping}
            {refund}
        </li>
    }
}

#[component]
pub fn OperatorConsole() -> impl IntoView {
    let language = use_language();
    let ledger = LocalResource::new(|| async {
        crate::signed_in(
            api::send::<LedgerOverview>("GET", "/api/operator/ledger", None, None).await,
            "/console/operator",
        )
    });
    view! {
        <TopBar title=Signal::derive(move || t(language.get(), T::OperatorConsole).to_owned()) back=Signal::derive(|| "/console".to_owned()) />
        <main class="page desk console operator">
            <p class="note"><a href="/console/operator/network" data-test="network-link">{move || crate::text::both(language.get(), "分销网络：规则、提现审核、分销树 →", "Distribution network: rules, withdrawals, tree →")}</a></p>
            <super::manage::OperatorPanels />
            <crate::pages::promotions::PromotionsPanel store=None />
            <h2>{move || t(language.get(), T::Ledger)}</h2>
            <Suspense fallback=move || view! { <p class="loading">{move || language.get().t(Key::Loading)}</p> }>
                {move || ledger.get().map(|result| match result {
                    Ok(ledger) => view! {
                        <p class="note" data-test="ledger-sum">{move || t(language.get(), T::LedgerBalanced)} ": " {ledger.sum_fen == 0}</p>
                        <table class="ledger">
                            <thead><tr><th>{move || t(language.get(), T::Account)}</th><th>{move || t(language.get(), T::Balance)}</th></tr></thead>
                            <tbody>
                                {ledger.balances.into_iter().map(|b| view! {
                                    <tr><td><code>{b.account}</code></td><td class="price">{tandem_domain::money::Fen(b.credit_fen - b.debit_fen).to_string()}</td></tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(failure) => view! { <ErrorNotice failure=failure /> }.into_any(),
                })}
            </Suspense>
        </main>
    }
}
