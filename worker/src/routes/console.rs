//! The consoles' API, by role. Every route names its store or supplier in the path and checks
//! that the caller works there; anyone else is told it does not exist (404), and an order of
//! another store or supplier is likewise "not found".

use serde::Deserialize;
use serde_json::json;
use tandem_domain::api::Problem;
use tandem_domain::checkout::Address;
use tandem_domain::fulfilment::{PickupCode, Shipment};
use tandem_domain::money::Fen;
use tandem_domain::order::{OrderEvent, OrderState};
use tandem_domain::refund::{self, RefundAmount, RefundRefused};
use tandem_domain::time::Timestamp;
use tandem_domain::views::{Settlement, SettlementLine};
use worker::{D1Database, Env, Request, Response};

use super::json_response;
use super::orders::{Scope, load, page_params};
use crate::error::ApiError;
use crate::session::{caller_with_access, require_operator, require_store, require_supplier};
use crate::store::d1;
use crate::store::d1::D1;
use crate::store::ledger::{MONEY_ORDER_COLUMNS, MoneyOrder};
use crate::store::orders::{self, Also};
use crate::store::refunds::{self, Whose};
use crate::store::sql::{self, RACE_GUARDS};
use crate::{body, config, db};

#[derive(Deserialize)]
struct AddressRow {
    id: String,
    address: Option<String>,
}
#[derive(Deserialize, serde::Serialize)]
struct Balance {
    account: String,
    debit_fen: i64,
    credit_fen: i64,
}
#[derive(Deserialize, serde::Serialize)]
struct Unbalanced {
    transaction_id: String,
    imbalance_fen: i64,
}
#[derive(Deserialize, serde::Serialize)]
struct Totals {
    payments_fen: i64,
    refunds_fen: i64,
}

/// `GET /api/store/{id}/orders`: the store's paid orders, newest first.
pub async fn store_orders(env: &Env, req: &Request, store: &str, query: &[(&str, &str)]) -> Result<Response, ApiError> {
    let (before, limit) = page_params(query)?;
    let (_, access) = caller_with_access(env, req).await?;
    let (store, _) = require_store(&access, store)?;
    let db = db::database(env)?;
    let orders = load(&db, &Scope::Store(store.as_str()), None, before.as_deref(), limit).await?;
    json_response(200, &json!({"orders": orders}), "no-store")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PickupForm {
    /// What the clerk typed, or the scanned QR payload.
    code: String,
}

/// `POST /api/store/{id}/pickups`: a clerk verifies a pickup code; the order is picked up.
pub async fn verify_pickup(env: &Env, req: &Request, store: &str, text: &str) -> Result<Response, ApiError> {
    let form: PickupForm = body::parse_json(text)?;
    let code = PickupCode::parse(&form.code).map_err(|e| ApiError::bad_request("code", e.to_string()))?;
    let (_, access) = caller_with_access(env, req).await?;
    let (store, _) = require_store(&access, store)?;
    let now = config::now(env).await?;
    let db = db::database(env)?;
    let read = db::prepare(
        &db,
        &format!("SELECT {MONEY_ORDER_COLUMNS} FROM orders WHERE store_id = ?1 AND pickup_code = ?2"),
        &[db::text(store.as_str()), db::text(code.as_str())],
    )?;
    let order = db::one::<MoneyOrder>(read).await?.ok_or(ApiError::NotFound { resource: "pickup" })?;
    let order = move_order(&db, &order, OrderEvent::PickUp, "store", None, config::order_policy(env), now).await?;
    json_response(200, &json!({"order": order_view(&db, &Scope::Store(store.as_str()), &order.id).await?}), "no-store")
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
        d1::prepared(db, &orders::moved(&order.id, machine.state, &next, &Also::default()))?,
        d1::prepared(db, &orders::event(&order.id, order_event.code(), next.state, actor, note, now))?,
    ];
    if db::guarded_batch(db, writes).await?.is_none() {
        return Err(ApiError::refused(Problem::IllegalTransition, "the order changed meanwhile"));
    }
    Ok(MoneyOrder {
        state: next.state.code().to_owned(),
        handed_over_at: next.handed_over_at.map(Timestamp::millis),
        ..order.clone()
    })
}

async fn order_view(db: &D1Database, scope: &Scope<'_>, id: &str) -> Result<tandem_domain::views::OrderView, ApiError> {
    load(db, scope, Some(id), None, 1).await?.into_iter().next().ok_or(ApiError::NotFound { resource: "order" })
}

/// `GET /api/supplier/{id}/orders`: the supplier's delivery orders with their addresses.
pub async fn supplier_orders(
    env: &Env,
    req: &Request,
    supplier: &str,
    query: &[(&str, &str)],
) -> Result<Response, ApiError> {
    let (before, limit) = page_params(query)?;
    let (_, access) = caller_with_access(env, req).await?;
    let supplier = require_supplier(&access, supplier)?;
    let db = db::database(env)?;
    let orders = load(&db, &Scope::Shipper(supplier.as_str()), None, before.as_deref(), limit).await?;
    let ids: Vec<&str> = orders.iter().map(|o| o.id.as_str()).collect();
    let addresses = db::prepare(
        &db,
        "SELECT o.id, c.address FROM orders o JOIN checkouts c ON c.id = o.checkout_id
         WHERE o.id IN (SELECT value FROM json_each(?1))",
        &[db::text(&serde_json::to_string(&ids).map_err(ApiError::internal)?)],
    )?;
    let addresses = db::all::<AddressRow>(addresses).await?;
    let key = config::key(env, "PHONE_ENC_KEY")?;
    let with_addresses: Vec<_> = orders
        .into_iter()
        .map(|order| {
            let address: Option<Address> = addresses
                .iter()
                .find(|row| row.id == order.id)
                .and_then(|row| row.address.as_deref())
                .and_then(|sealed| tandem_domain::crypto::open(&key, sealed))
                .and_then(|bytes| serde_json::from_slice(&bytes).ok());
            json!({"order": order, "address": address})
        })
        .collect();
    json_response(200, &json!({"orders": with_addresses}), "no-store")
}

/// `POST /api/supplier/{id}/orders/{order}/shipment`: carrier and tracking number; shipped.
pub async fn ship(env: &Env, req: &Request, supplier: &str, id: &str, text: &str) -> Result<Response, ApiError> {
    let form: Shipment = body::parse_json(text)?;
    form.validate().map_err(|e| {
        let field =
            if matches!(e, tandem_domain::fulfilment::FulfilmentError::BadCarrier) { "carrier" } else { "tracking_no" };
        ApiError::bad_request(field, e.to_string())
    })?;
    let (_, access) = caller_with_access(env, req).await?;
    let supplier = require_supplier(&access, supplier)?;
    let now = config::now(env).await?;
    let db = db::database(env)?;
    let read = refunds::for_refund(&D1(&db), id, Whose::Shipper(supplier.as_str())).await?;
    let order = read.order.ok_or(ApiError::NotFound { resource: "order" })?;
    let machine = order.machine()?;
    let next = machine
        .apply(OrderEvent::Ship, now, config::order_policy(env))
        .map_err(|e| ApiError::refused(Problem::IllegalTransition, e.to_string()))?;
    let note = format!("{} {}", form.carrier.trim(), form.tracking_no);
    let writes = vec![
        d1::prepared(
            &db,
            &orders::moved(
                id,
                machine.state,
                &next,
                &Also { shipped: Some((form.carrier.trim(), &form.tracking_no)), ..Also::default() },
            ),
        )?,
        d1::prepared(&db, &orders::event(id, "ship", next.state, "supplier", Some(&note), now))?,
    ];
    if db::guarded_batch(&db, writes).await?.is_none() {
        return Err(ApiError::refused(Problem::IllegalTransition, "the order changed meanwhile"));
    }
    json_response(200, &json!({"order": order_view(&db, &Scope::Shipper(supplier.as_str()), id).await?}), "no-store")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Decision {
    approve: bool,
    /// The amount to refund; everything left when absent.
    #[serde(default)]
    amount: Option<RefundAmount>,
}

/// `POST /api/store/{id}/orders/{order}/refund` and the supplier's: decides an open refund.
pub async fn decide_refund(
    env: &Env,
    req: &Request,
    scope: &str,
    owner: &str,
    id: &str,
    text: &str,
) -> Result<Response, ApiError> {
    let form: Decision = body::parse_json(text)?;
    let (_, access) = caller_with_access(env, req).await?;
    let (column, actor, owner) = if scope == "store" {
        ("store_id", "store", require_store(&access, owner)?.0.as_str().to_owned())
    } else {
        ("shipper_id", "supplier", require_supplier(&access, owner)?.as_str().to_owned())
    };
    let whose = if column == "store_id" { Whose::Store(&owner) } else { Whose::Shipper(&owner) };
    let now = config::now(env).await?;
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
        let money = super::lifecycle::money_of(&read)?;
        let paid =
            refund::pay_refund(&super::lifecycle::to_refund(&read, &money)?, &refund_id, amount, false, policy, now)
                .map_err(|e| match e {
                    RefundRefused::Amount(e) => ApiError::bad_request("amount", e.to_string()),
                    RefundRefused::Transition(e) => ApiError::refused(Problem::IllegalTransition, e.to_string()),
                    RefundRefused::Ledger(e) => ApiError::internal(e),
                })?;
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
    json_response(200, &json!({"order": order_view(&db, &scope, id).await?}), "no-store")
}

#[derive(Deserialize)]
struct EntryRow {
    order_id: Option<String>,
    kind: String,
    amount_fen: i64,
    at: i64,
}

async fn settlement(db: &D1Database, account: String) -> Result<Settlement, ApiError> {
    let statement = db::prepare(
        db,
        "SELECT t.order_id, t.kind, SUM(e.credit_fen) - SUM(e.debit_fen) AS amount_fen, t.at
         FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id
         WHERE e.account = ?1 GROUP BY t.id ORDER BY t.at DESC, t.id LIMIT 500",
        &[db::text(&account)],
    )?;
    let rows = db::all::<EntryRow>(statement).await?;
    let lines: Vec<SettlementLine> = rows
        .into_iter()
        .map(|row| SettlementLine {
            order_id: row.order_id,
            kind: row.kind,
            amount_fen: Fen(row.amount_fen),
            at: Timestamp(row.at),
        })
        .collect();
    let balance = lines.iter().fold(Fen::ZERO, |sum, line| sum + line.amount_fen);
    Ok(Settlement { account, balance_fen: balance, lines })
}

/// `GET /api/store/{id}/settlement`: the store's margin account, by order.
pub async fn store_settlement(env: &Env, req: &Request, store: &str) -> Result<Response, ApiError> {
    let (_, access) = caller_with_access(env, req).await?;
    let (store, _) = require_store(&access, store)?;
    let db = db::database(env)?;
    json_response(200, &json!({"settlement": settlement(&db, format!("store:{store}:payable")).await?}), "no-store")
}

/// `GET /api/supplier/{id}/settlement`: what the platform owes the supplier, by order.
pub async fn supplier_settlement(env: &Env, req: &Request, supplier: &str) -> Result<Response, ApiError> {
    let (_, access) = caller_with_access(env, req).await?;
    let supplier = require_supplier(&access, supplier)?;
    let db = db::database(env)?;
    json_response(
        200,
        &json!({"settlement": settlement(&db, format!("supplier:{supplier}:payable")).await?}),
        "no-store",
    )
}

/// `GET /api/operator/ledger`: every account's balance and the invariants of `money.md`.
pub async fn operator_ledger(env: &Env, req: &Request) -> Result<Response, ApiError> {
    let (_, access) = caller_with_access(env, req).await?;
    require_operator(&access)?;
    let db = db::database(env)?;
    let reads = vec![
        db::prepare(
            &db,
            "SELECT account, SUM(debit_fen) AS debit_fen, SUM(credit_fen) AS credit_fen FROM ledger_entries GROUP BY account ORDER BY account",
            &[],
        )?,
        db::prepare(
            &db,
            "SELECT transaction_id, SUM(debit_fen) - SUM(credit_fen) AS imbalance_fen FROM ledger_entries
             GROUP BY transaction_id HAVING SUM(debit_fen) <> SUM(credit_fen)",
            &[],
        )?,
        db::prepare(
            &db,
            "SELECT COALESCE((SELECT SUM(amount_fen) FROM payments WHERE status = 'succeeded'), 0) AS payments_fen,
                    COALESCE((SELECT SUM(refunded_goods_fen + refunded_shipping_fen) FROM orders), 0) AS refunds_fen",
            &[],
        )?,
    ];
    let results = db::batch(&db, reads).await?;
    let balances: Vec<Balance> = db::nth(&results, 0)?;
    let unbalanced: Vec<Unbalanced> = db::nth(&results, 1)?;
    let totals = db::first::<Totals>(&results, 2)?.ok_or_else(|| ApiError::internal("no totals"))?;
    let sum: i64 = balances.iter().map(|b| b.debit_fen - b.credit_fen).sum();
    let clearing: i64 =
        balances.iter().filter(|b| b.account.starts_with("clearing:")).map(|b| b.debit_fen - b.credit_fen).sum();
    json_response(
        200,
        &json!({
            "balances": balances,
            "sum_fen": sum,
            "unbalanced_transactions": unbalanced,
            "clearing_fen": clearing,
            "payments_fen": totals.payments_fen,
            "refunds_fen": totals.refunds_fen,
        }),
        "no-store",
    )
}

/// `POST /api/orders/{id}/received`: the shopper confirms a delivery arrived.
pub async fn confirm_received(env: &Env, req: &Request, id: &str) -> Result<Response, ApiError> {
    let caller = crate::session::caller(env, req).await?;
    let now = config::now(env).await?;
    let db = db::database(env)?;
    let read = db::prepare(
        &db,
        &format!("SELECT {MONEY_ORDER_COLUMNS} FROM orders WHERE id = ?1 AND member_id = ?2"),
        &[db::text(id), db::text(&caller.member_id)],
    )?;
    let order = db::one::<MoneyOrder>(read).await?.ok_or(ApiError::NotFound { resource: "order" })?;
    if order.state != OrderState::Shipped.code() {
        return Err(ApiError::refused(
            Problem::IllegalTransition,
            format!("an order in state {} cannot be received", order.state),
        ));
    }
    move_order(&db, &order, OrderEvent::Deliver, "shopper", None, config::order_policy(env), now).await?;
    json_response(200, &json!({"order": order_view(&db, &Scope::Member(&caller.member_id), id).await?}), "no-store")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StockForm {
    sku_id: tandem_domain::catalog::SkuId,
    on_hand: i64,
}

/// `PUT /api/supplier/{id}/stock`: sets the units on hand of one of the supplier's SKUs in its
/// warehouse. Units held by unpaid checkouts cannot be counted away (409).
pub async fn set_warehouse_stock(env: &Env, req: &Request, supplier: &str, text: &str) -> Result<Response, ApiError> {
    let form: StockForm = body::parse_json(text)?;
    if !(0..=1_000_000).contains(&form.on_hand) {
        return Err(ApiError::bad_request("on_hand", "from 0 to 1000000"));
    }
    let (_, access) = caller_with_access(env, req).await?;
    let supplier = require_supplier(&access, supplier)?;
    let db = db::database(env)?;
    let statement = db::prepare(
        &db,
        "INSERT INTO stock (location_id, sku_id, on_hand)
         SELECT l.id, k.id, ?3 FROM locations l JOIN skus k ON k.id = ?2 JOIN products p ON p.id = k.product_id
         WHERE l.supplier_id = ?1 AND p.supplier_id = ?1
         ON CONFLICT (location_id, sku_id) DO UPDATE SET on_hand = excluded.on_hand",
        &[db::text(supplier.as_str()), db::text(form.sku_id.as_str()), db::integer(form.on_hand)],
    )?;
    let Some(results) = db::guarded_batch(&db, vec![statement]).await? else {
        return Err(ApiError::refused(Problem::StockHeld, "more units than that are held by unpaid checkouts"));
    };
    let changed = results.first().map_or(0, db::changes);
    if changed == 0 {
        return Err(ApiError::NotFound { resource: "sku" });
    }
    json_response(200, &json!({"sku_id": form.sku_id, "on_hand": form.on_hand}), "no-store")
}
