//! The consoles' API, by role. Every route names its store or supplier in the path and checks
//! that the caller works there; anyone else is told it does not exist (404), and an order of
//! another store or supplier is likewise "not found".

use tandem_domain::api::Problem;
use tandem_domain::api::commerce::{OrderAnswer, SettlementAnswer, StoreOrders, SupplierOrders, ToShip};
use tandem_domain::api::commerce::{PickupRequest, RefundDecision, WarehouseStock};
use tandem_domain::api::manage::StockSet;
use tandem_domain::checkout::Address;
use tandem_domain::fulfilment::{PickupCode, Shipment};
use tandem_domain::order::OrderEvent;
use tandem_domain::refund::{self, RefundRefused};
use tandem_domain::time::Timestamp;
use worker::{D1Database, Env, Request, Response};

use super::json_response;
use super::page_params;
use crate::error::ApiError;
use crate::session::{caller_with_access, require_operator, require_store, require_supplier};
use crate::store::catalog;
use crate::store::d1::D1;
use crate::store::ledger::{self, MoneyOrder};
use crate::store::order_views::{self, Page, Scope};
use crate::store::orders::{self, Also};
use crate::store::refunds::{self, Whose};
use crate::store::sql::{self, RACE_GUARDS};
use crate::{body, config, db};

/// `GET /api/store/{id}/orders`: the store's paid orders, newest first.
pub async fn store_orders(
    env: &Env,
    req: &Request,
    store: &str,
    query: &[(&str, &str)],
    now: Timestamp,
) -> Result<Response, ApiError> {
    let (before, limit) = page_params(query)?;
    let (_, access) = caller_with_access(env, req, now).await?;
    let (store, _) = require_store(&access, store)?;
    let db = db::database(env)?;
    let page = Page { only: None, before: before.as_deref(), limit };
    let orders = order_views::list(&D1(&db), Scope::Store(store.as_str()), page).await?;
    json_response(200, &StoreOrders { orders }, "no-store")
}

/// `POST /api/store/{id}/pickups`: a clerk verifies a pickup code; the order is picked up.
pub async fn verify_pickup(
    env: &Env,
    req: &Request,
    store: &str,
    text: &str,
    now: Timestamp,
) -> Result<Response, ApiError> {
    let form: PickupRequest = body::parse_json(text)?;
    let code = PickupCode::parse(&form.code).map_err(|e| ApiError::bad_request("code", e.to_string()))?;
    let (_, access) = caller_with_access(env, req, now).await?;
    let (store, _) = require_store(&access, store)?;
    let db = db::database(env)?;
    let order = order_views::by_pickup_code(&D1(&db), store.as_str(), code.as_str())
        .await?
        .ok_or(ApiError::NotFound { resource: "pickup" })?;
    let order = move_order(&db, &order, OrderEvent::PickUp, "store", None, config::order_policy(env), now).await?;
    json_response(
        200,
        &OrderAnswer { order: order_view(&db, Scope::Store(store.as_str()), &order.id).await? },
        "no-store",
    )
}

/// Applies `event` to a stored order if the domain allows it, conditionally on its state; the
/// order as it is afterwards.
async fn move_order(
    db: &D1Database,
    order: &MoneyOrder,
    order_event: OrderEvent,
    actor: &str,
    note: Option<&str>,
    policy: tandem_domain::order::OrderPolicy,
    now: Timestamp,
) -> Result<MoneyOrder, ApiError> {
    let machine = order.machine()?;
    let next = machine
        .apply(order_event, now, policy)
        .map_err(|e| ApiError::refused(Problem::IllegalTransition, e.to_string()))?;
    let writes = vec![
        orders::moved(&order.id, machine.state, &next, &Also::default()),
        orders::event(&order.id, order_event.code(), next.state, actor, note, now),
    ];
    if !sql::guarded(&D1(db), writes, RACE_GUARDS).await?.written() {
        return Err(ApiError::refused(Problem::IllegalTransition, "the order changed meanwhile"));
    }
    Ok(MoneyOrder {
        state: next.state.code().to_owned(),
        handed_over_at: next.handed_over_at.map(Timestamp::millis),
        ..order.clone()
    })
}

async fn order_view(db: &D1Database, scope: Scope<'_>, id: &str) -> Result<tandem_domain::views::OrderView, ApiError> {
    order_views::one(&D1(db), scope, id).await?.ok_or(ApiError::NotFound { resource: "order" })
}

/// `GET /api/supplier/{id}/orders`: the supplier's delivery orders with their addresses.
pub async fn supplier_orders(
    env: &Env,
    req: &Request,
    supplier: &str,
    query: &[(&str, &str)],
    now: Timestamp,
) -> Result<Response, ApiError> {
    let (before, limit) = page_params(query)?;
    let (_, access) = caller_with_access(env, req, now).await?;
    let supplier = require_supplier(&access, supplier)?;
    let db = db::database(env)?;
    let store = D1(&db);
    let page = Page { only: None, before: before.as_deref(), limit };
    let orders = order_views::list(&store, Scope::Shipper(supplier.as_str()), page).await?;
    let ids: Vec<&str> = orders.iter().map(|o| o.id.as_str()).collect();
    let addresses = order_views::sealed_addresses(&store, &ids).await?;
    let key = config::key(env, "PHONE_ENC_KEY")?;
    let with_addresses: Vec<_> = orders
        .into_iter()
        .map(|order| {
            let address: Option<Address> = addresses
                .iter()
                .find(|(id, _)| *id == order.id)
                .and_then(|(_, sealed)| tandem_domain::crypto::open(&key, sealed))
                .and_then(|bytes| serde_json::from_slice(&bytes).ok());
            ToShip { order, address }
        })
        .collect();
    json_response(200, &SupplierOrders { orders: with_addresses }, "no-store")
}

/// `POST /api/supplier/{id}/orders/{order}/shipment`: carrier and tracking number; shipped.
pub async fn ship(
    env: &Env,
    req: &Request,
    supplier: &str,
    id: &str,
    text: &str,
    now: Timestamp,
) -> Result<Response, ApiError> {
    let form: Shipment = body::parse_json(text)?;
    form.validate().map_err(|e| {
        let field =
            if matches!(e, tandem_domain::fulfilment::FulfilmentError::BadCarrier) { "carrier" } else { "tracking_no" };
        ApiError::bad_request(field, e.to_string())
    })?;
    let (_, access) = caller_with_access(env, req, now).await?;
    let supplier = require_supplier(&access, supplier)?;
    let db = db::database(env)?;
    let read = refunds::for_refund(&D1(&db), id, Whose::Shipper(supplier.as_str())).await?;
    let order = read.order.ok_or(ApiError::NotFound { resource: "order" })?;
    let machine = order.machine()?;
    let next = machine
        .apply(OrderEvent::Ship, now, config::order_policy(env))
        .map_err(|e| ApiError::refused(Problem::IllegalTransition, e.to_string()))?;
    let note = format!("{} {}", form.carrier.trim(), form.tracking_no);
    let shipped = Also { shipped: Some((form.carrier.trim(), &form.tracking_no)), ..Also::default() };
    let writes = vec![
        orders::moved(id, machine.state, &next, &shipped),
        orders::event(id, "ship", next.state, "supplier", Some(&note), now),
    ];
    if !sql::guarded(&D1(&db), writes, RACE_GUARDS).await?.written() {
        return Err(ApiError::refused(Problem::IllegalTransition, "the order changed meanwhile"));
    }
    json_response(
        200,
        &OrderAnswer { order: order_view(&db, Scope::Shipper(supplier.as_str()), id).await? },
        "no-store",
    )
}

/// `POST /api/store/{id}/orders/{order}/refund` and the supplier's: decides an open refund.
pub async fn decide_refund(
    env: &Env,
    req: &Request,
    scope: &str,
    owner: &str,
    id: &str,
    text: &str,
    now: Timestamp,
) -> Result<Response, ApiError> {
    let form: RefundDecision = body::parse_json(text)?;
    let (_, access) = caller_with_access(env, req, now).await?;
    let (column, actor, owner) = if scope == "store" {
        ("store_id", "store", require_store(&access, owner)?.0.as_str().to_owned())
    } else {
        ("shipper_id", "supplier", require_supplier(&access, owner)?.as_str().to_owned())
    };
    let whose = if column == "store_id" { Whose::Store(&owner) } else { Whose::Shipper(&owner) };
    let db = db::database(env)?;
    let store = D1(&db);
    let read = refunds::for_refund(&store, id, whose).await?;
    let order = read.order.as_ref().ok_or(ApiError::NotFound { resource: "order" })?;
    let refund_id = read
        .open
        .clone()
        .ok_or_else(|| ApiError::refused(Problem::NoOpenRefund, "no refund is waiting for a decision"))?;
    let machine = order.machine()?;
    let policy = config::order_policy(env);
    let writes = if form.approve {
        let amount = form.amount.unwrap_or_else(|| order.refundable().remainder());
        let money = read.money()?;
        let paid = refund::pay_refund(&read.to_refund(&money)?, &refund_id, amount, false, policy, now).map_err(
            |e| match e {
                RefundRefused::Amount(e) => ApiError::bad_request("amount", e.to_string()),
                RefundRefused::Transition(e) => ApiError::refused(Problem::IllegalTransition, e.to_string()),
                RefundRefused::Ledger(e) => ApiError::internal(e),
            },
        )?;
        let mut writes = vec![refunds::approve(&refund_id, amount, now)];
        writes.extend(refunds::paid_writes(&read, machine.state, &refund_id, &paid, actor, now)?);
        writes
    } else {
        let next = machine
            .apply(OrderEvent::RejectRefund, now, policy)
            .map_err(|e| ApiError::refused(Problem::IllegalTransition, e.to_string()))?;
        vec![
            refunds::reject(&refund_id, now),
            orders::moved(id, machine.state, &next, &Also::default()),
            orders::event(id, "reject_refund", next.state, actor, None, now),
        ]
    };
    if !sql::guarded(&store, writes, RACE_GUARDS).await?.written() {
        return Err(ApiError::refused(Problem::IllegalTransition, "the order changed meanwhile"));
    }
    let scope = if column == "store_id" { Scope::Store(&owner) } else { Scope::Shipper(&owner) };
    json_response(200, &OrderAnswer { order: order_view(&db, scope, id).await? }, "no-store")
}

/// `GET /api/store/{id}/settlement`: the store's margin account, by order.
pub async fn store_settlement(env: &Env, req: &Request, store: &str, now: Timestamp) -> Result<Response, ApiError> {
    let (_, access) = caller_with_access(env, req, now).await?;
    let (store, _) = require_store(&access, store)?;
    let db = db::database(env)?;
    json_response(
        200,
        &SettlementAnswer { settlement: ledger::settlement(&D1(&db), &format!("store:{store}:payable")).await? },
        "no-store",
    )
}

/// `GET /api/supplier/{id}/settlement`: what the platform owes the supplier, by order.
pub async fn supplier_settlement(
    env: &Env,
    req: &Request,
    supplier: &str,
    now: Timestamp,
) -> Result<Response, ApiError> {
    let (_, access) = caller_with_access(env, req, now).await?;
    let supplier = require_supplier(&access, supplier)?;
    let db = db::database(env)?;
    json_response(
        200,
        &SettlementAnswer { settlement: ledger::settlement(&D1(&db), &format!("supplier:{supplier}:payable")).await? },
        "no-store",
    )
}

/// `GET /api/operator/ledger`: every account's balance and the invariants of `money.md`.
pub async fn operator_ledger(env: &Env, req: &Request, now: Timestamp) -> Result<Response, ApiError> {
    let (_, access) = caller_with_access(env, req, now).await?;
    require_operator(&access)?;
    let db = db::database(env)?;
    json_response(200, &ledger::overview(&D1(&db)).await?, "no-store")
}

/// `POST /api/orders/{id}/received`: the shopper confirms a delivery arrived.
pub async fn confirm_received(env: &Env, req: &Request, id: &str, now: Timestamp) -> Result<Response, ApiError> {
    let caller = crate::session::caller(env, req, now).await?;
    let db = db::database(env)?;
    let order = order_views::of_member(&D1(&db), &caller.member_id, id)
        .await?
        .ok_or(ApiError::NotFound { resource: "order" })?;
    move_order(&db, &order, OrderEvent::Deliver, "shopper", None, config::order_policy(env), now).await?;
    json_response(200, &OrderAnswer { order: order_view(&db, Scope::Member(&caller.member_id), id).await? }, "no-store")
}

/// `PUT /api/supplier/{id}/stock`: sets the units on hand of one of the supplier's SKUs in its
/// warehouse. Units held by unpaid checkouts cannot be counted away (409).
pub async fn set_warehouse_stock(
    env: &Env,
    req: &Request,
    supplier: &str,
    text: &str,
    now: Timestamp,
) -> Result<Response, ApiError> {
    let form: WarehouseStock = body::parse_json(text)?;
    if !(0..=1_000_000).contains(&form.on_hand) {
        return Err(ApiError::bad_request("on_hand", "from 0 to 1000000"));
    }
    let (_, access) = caller_with_access(env, req, now).await?;
    let supplier = require_supplier(&access, supplier)?;
    let db = db::database(env)?;
    let store = D1(&db);
    let set =
        catalog::set_warehouse_stock(&store, supplier.as_str(), form.sku_id.as_str(), form.on_hand, form.flash_sale);
    let flash_sale = match set.await? {
        sql::Guarded::Written(Some(flash_sale)) => flash_sale,
        sql::Guarded::Written(None) => return Err(ApiError::NotFound { resource: "sku" }),
        sql::Guarded::Lost(_) => {
            return Err(ApiError::refused(Problem::StockHeld, "more units than that are held by unpaid checkouts"));
        }
    };
    json_response(200, &StockSet { sku_id: form.sku_id, on_hand: form.on_hand, flash_sale }, "no-store")
}
