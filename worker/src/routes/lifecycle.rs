//! What happens to orders after checkout, other than payment: the shopper cancels an unpaid
//! checkout or asks for a refund; holds expire and handed-over orders complete on a schedule
//! (the cron trigger, or `POST /api/dev/jobs` in development).

use serde::Deserialize;
use serde_json::json;
use tandem_domain::api::Problem;
use tandem_domain::ledger as money;
use tandem_domain::money::Fen;
use tandem_domain::order::{OrderEvent, OrderPolicy, OrderState};
use tandem_domain::refund::{self, RefundAmount};
use tandem_domain::time::Timestamp;
use worker::{D1Database, D1PreparedStatement, Env, Request, Response};

use super::json_response;
use super::orders::own_order;
use crate::error::ApiError;
use crate::rewards::{self, OrderRewards};
use crate::store::ledger::{MONEY_LINE_COLUMNS, MONEY_ORDER_COLUMNS, MoneyLine, MoneyOrder};
use crate::store::orders::{self, Also};
use crate::store::{d1, ledger};
use crate::{body, config, db, session};

#[derive(Deserialize)]
struct IdRow {
    id: String,
}

/// Cancels an unpaid checkout: every order of it, and its holds. `Ok(false)` when it was no
/// longer awaiting payment (paid, or cancelled already). Two D1 round trips.
async fn release_checkout(
    db: &D1Database,
    checkout_id: &str,
    event_name: &str,
    actor: &str,
    policy: OrderPolicy,
    now: Timestamp,
) -> Result<bool, ApiError> {
    let reads = vec![
        db::prepare(
            db,
            &format!("SELECT {MONEY_ORDER_COLUMNS} FROM orders WHERE checkout_id = ?1 ORDER BY id"),
            &[db::text(checkout_id)],
        )?,
        db::prepare(
            db,
            &format!(
                "SELECT {MONEY_LINE_COLUMNS} FROM order_lines WHERE order_id IN (SELECT id FROM orders WHERE checkout_id = ?1)"
            ),
            &[db::text(checkout_id)],
        )?,
    ];
    let results = db::batch(db, reads).await?;
    let orders: Vec<MoneyOrder> = db::nth(&results, 0)?;
    let lines: Vec<MoneyLine> = db::nth(&results, 1)?;
    let mut writes = vec![
        db::prepare(
            db,
            "UPDATE checkouts SET state = CASE WHEN state = 'awaiting_payment' THEN 'cancelled' END, closed_at = ?2 WHERE id = ?1",
            &[db::text(checkout_id), db::integer(now.millis())],
        )?,
        d1::prepared(db, &ledger::release(&ledger::moves_of(&lines, None))?)?,
    ];
    for order in &orders {
        let machine = order.machine()?;
        // An order of the checkout that moved on (paid meanwhile) refuses the whole release.
        let Ok(cancelled) = machine.apply(OrderEvent::Cancel, now, policy) else { return Ok(false) };
        writes.push(d1::prepared(db, &orders::moved(&order.id, machine.state, &cancelled, &Also::default()))?);
        writes.push(d1::prepared(db, &orders::event(&order.id, event_name, cancelled.state, actor, None, now))?);
    }
    Ok(db::guarded_batch(db, writes).await?.is_some())
}

/// `POST /api/orders/{id}/cancel`: cancels the unpaid checkout the order belongs to (all its
/// orders: they are paid together) and releases its stock.
pub async fn cancel(env: &Env, req: &Request, id: &str) -> Result<Response, ApiError> {
    let caller = session::caller(env, req).await?;
    let order = own_order(env, &caller, id).await?;
    if order.state != OrderState::AwaitingPayment {
        return Err(ApiError::refused(
            Problem::OrderNotCancellable,
            format!("an order in state {} cannot be cancelled; ask for a refund instead", order.state.code()),
        ));
    }
    let now = config::now(env).await?;
    let db = db::database(env)?;
    if !release_checkout(&db, &order.checkout_id, "cancel", "shopper", config::order_policy(env), now).await? {
        return Err(ApiError::refused(Problem::OrderNotCancellable, "the order was paid or cancelled meanwhile"));
    }
    let order = own_order(env, &caller, id).await?;
    json_response(200, &json!({"order": order}), "no-store")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefundRequest {
    reason: String,
}

/// An order with its lines, the provider that took its payment, and its rewards.
/// An order, its lines, the provider of the payment that paid it (none before it is paid) and
/// its rewards.
type ReadOrder = (MoneyOrder, Vec<MoneyLine>, Option<String>, Option<OrderRewards>);

async fn read_order(db: &D1Database, id: &str) -> Result<ReadOrder, ApiError> {
    let mut reads = vec![
        db::prepare(db, &format!("SELECT {MONEY_ORDER_COLUMNS} FROM orders WHERE id = ?1"), &[db::text(id)])?,
        db::prepare(db, &format!("SELECT {MONEY_LINE_COLUMNS} FROM order_lines WHERE order_id = ?1"), &[db::text(id)])?,
        crate::store::d1::prepared(db, &crate::store::payments::provider_of_order(id)).map_err(ApiError::internal)?,
    ];
    reads.extend(rewards::order_reads(db, id)?);
    let results = db::batch(db, reads).await?;
    let order = db::first::<MoneyOrder>(&results, 0)?.ok_or(ApiError::NotFound { resource: "order" })?;
    let provider = db::first::<crate::store::payments::ProviderRow>(&results, 2)?.map(|p| p.provider);
    Ok((order, db::nth(&results, 1)?, provider, OrderRewards::from_results(&results, 3)?))
}

/// The writes of a refund of `amount` out of `order` that stand in state `from`: the order's
/// new state and refunded totals, the refund row, the reversing ledger transaction, the stock
/// put back when the goods never left, and the order's rewards cut to what is left of it.
#[allow(clippy::too_many_arguments)]
pub fn refund_writes(
    db: &D1Database,
    order: &MoneyOrder,
    lines: &[MoneyLine],
    order_rewards: Option<&OrderRewards>,
    provider: &str,
    refund_id: &str,
    amount: RefundAmount,
    whole: bool,
    restock: bool,
    actor: &str,
    policy: OrderPolicy,
    now: Timestamp,
) -> Result<Vec<D1PreparedStatement>, ApiError> {
    let machine = order.machine()?;
    let refunded = machine
        .apply(OrderEvent::Refund { whole }, now, policy)
        .map_err(|e| ApiError::refused(Problem::IllegalTransition, e.to_string()))?;
    let transaction = money::refund(
        &order.money(provider, lines)?,
        Fen(order.refunded_goods_fen),
        Fen(order.refunded_shipping_fen),
        amount.goods_fen,
        amount.shipping_fen,
    )
    .map_err(|e| ApiError::bad_request("goods_fen", e.to_string()))?;
    let also = Also { refunded: Some((amount.goods_fen, amount.shipping_fen)), ..Also::default() };
    let mut writes = vec![d1::prepared(db, &orders::moved(&order.id, machine.state, &refunded, &also))?];
    writes.extend(d1::prepared_all(
        db,
        &ledger::post(
            &format!("t-{refund_id}"),
            "refund",
            &format!("refund:{refund_id}"),
            Some(&order.id),
            now,
            &transaction,
        )?,
    )?);
    if let Some(order_rewards) = order_rewards {
        let left_fen = order.goods_fen - order.refunded_goods_fen - amount.goods_fen.get();
        let completed = order.completed_at.is_some();
        writes.extend(order_rewards.refund_writes(db, refund_id, order.goods_fen, left_fen, completed, now)?);
    }
    if restock {
        writes.push(d1::prepared(db, &ledger::restock(&ledger::moves_of(lines, Some(&order.id)))?)?);
    }
    let note = format!("{} fen", amount.goods_fen.get() + amount.shipping_fen.get());
    writes.push(d1::prepared(db, &orders::event(&order.id, "refund", refunded.state, actor, Some(&note), now))?);
    Ok(writes)
}

/// `POST /api/orders/{id}/refund`: the shopper asks for a refund. Before hand-over it is paid
/// at once, in full, and the goods go back on the shelf; afterwards the store (pickup) or the
/// supplier (delivery) decides.
pub async fn request_refund(env: &Env, req: &Request, id: &str, text: &str) -> Result<Response, ApiError> {
    let form: RefundRequest = body::parse_json(text)?;
    let reason = form.reason.trim();
    if reason.chars().count() > 500 || reason.chars().any(char::is_control) {
        return Err(ApiError::bad_request("reason", "at most 500 characters, no control characters"));
    }
    let caller = session::caller(env, req).await?;
    own_order(env, &caller, id).await?;
    let now = config::now(env).await?;
    let db = db::database(env)?;
    let (order, lines, provider, order_rewards) = read_order(&db, id).await?;
    let machine = order.machine()?;
    let requested = machine
        .apply(OrderEvent::RequestRefund, now, config::order_policy(env))
        .map_err(|e| ApiError::refused(Problem::RefundNotAllowed, e.to_string()))?;
    let refund_id = config::new_id("r")?;
    let automatic = refund::is_automatic(machine.state);
    let in_request = MoneyOrder {
        state: OrderState::RefundRequested.code().to_owned(),
        state_before_refund: Some(machine.state.code().to_owned()),
        ..order
    };
    // An automatic refund returns everything left, decided once for the refund row and its
    // postings alike.
    let amount = automatic.then(|| in_request.refundable().remainder());
    let mut writes = vec![
        d1::prepared(&db, &orders::moved(id, machine.state, &requested, &Also::default()))?,
        db::prepare(
            &db,
            "INSERT INTO refunds (id, order_id, status, reason, goods_fen, shipping_fen, requested_at, decided_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            &[
                db::text(&refund_id),
                db::text(id),
                db::text(if automatic { "approved" } else { "requested" }),
                db::text(reason),
                db::integer(amount.map_or(0, |a| a.goods_fen.get())),
                db::integer(amount.map_or(0, |a| a.shipping_fen.get())),
                db::integer(now.millis()),
                if automatic { db::integer(now.millis()) } else { worker::wasm_bindgen::JsValue::NULL },
            ],
        )?,
        d1::prepared(
            &db,
            &orders::event(
                id,
                "request_refund",
                requested.state,
                "shopper",
                Some(reason).filter(|r| !r.is_empty()),
                now,
            ),
        )?,
    ];
    if let Some(amount) = amount {
        let provider =
            provider.ok_or_else(|| ApiError::internal(format!("paid order {id} has no succeeded payment")))?;
        writes.extend(refund_writes(
            &db,
            &in_request,
            &lines,
            order_rewards.as_ref(),
            &provider,
            &refund_id,
            amount,
            true,
            true,
            "system",
            config::order_policy(env),
            now,
        )?);
    }
    if db::guarded_batch(&db, writes).await?.is_none() {
        return Err(ApiError::refused(
            Problem::RefundNotAllowed,
            "the order changed meanwhile, or a refund is already open",
        ));
    }
    let order = own_order(env, &caller, id).await?;
    json_response(200, &json!({"order": order, "refund_id": refund_id, "automatic": automatic}), "no-store")
}

/// What one run of the scheduled jobs did.
pub struct JobsRun {
    pub released: u32,
    pub completed: u32,
    pub thawed: u32,
}

/// Releases expired holds, completes orders whose after-delivery delay has passed (freezing
/// their rewards) and thaws the rewards whose after-sale window has closed. Runs from the cron
/// trigger and `POST /api/dev/jobs`.
pub async fn run_jobs(env: &Env) -> Result<JobsRun, ApiError> {
    let now = config::now(env).await?;
    let db = db::database(env)?;
    let policy = config::order_policy(env);
    let expired = db::prepare(
        &db,
        "SELECT id FROM checkouts WHERE state = 'awaiting_payment' AND hold_expires_at <= ?1 ORDER BY hold_expires_at LIMIT 200",
        &[db::integer(now.millis())],
    )?;
    let mut released = 0;
    for checkout in db::all::<IdRow>(expired).await? {
        if release_checkout(&db, &checkout.id, "expire", "system", policy, now).await? {
            released += 1;
        }
    }
    let policy = config::order_policy(env);
    let due = now.plus_days(-policy.auto_complete_after_days);
    let handed_over = db::prepare(
        &db,
        &format!(
            "SELECT {MONEY_ORDER_COLUMNS} FROM orders WHERE state IN ('picked_up', 'delivered') AND handed_over_at <= ?1
             ORDER BY handed_over_at LIMIT 200"
        ),
        &[db::integer(due.millis())],
    )?;
    let mut completed = 0;
    for order in db::all::<MoneyOrder>(handed_over).await? {
        let machine = order.machine()?;
        let Ok(next) = machine.apply(OrderEvent::Complete, now, policy) else { continue };
        let results = db::batch(&db, rewards::order_reads(&db, &order.id)?).await?;
        let order_rewards = OrderRewards::from_results(&results, 0)?;
        let mut writes = vec![
            d1::prepared(&db, &orders::moved(&order.id, machine.state, &next, &Also::default()))?,
            d1::prepared(&db, &orders::event(&order.id, "complete", next.state, "system", None, now))?,
        ];
        if let Some(order_rewards) = &order_rewards {
            writes.extend(order_rewards.freeze_writes(&db, now)?);
        }
        if db::guarded_batch(&db, writes).await?.is_some() {
            completed += 1;
        }
    }
    let thawed = rewards::thaw_due(&db, now).await?;
    Ok(JobsRun { released, completed, thawed })
}

/// `POST /api/dev/jobs`: runs the scheduled jobs now (with the development clock).
pub async fn dev_jobs(env: &Env) -> Result<Response, ApiError> {
    let run = run_jobs(env).await?;
    // Development runs retrain every time, so a test sees the touches it just made.
    let rebuilt = super::recommend::rebuild(env).await?;
    let body = json!({
        "released_checkouts": run.released,
        "completed_orders": run.completed,
        "thawed_rewards": run.thawed,
        "recommender": {"items": rebuilt.items, "touches": rebuilt.touches, "learned_from": rebuilt.learned_from},
    });
    json_response(200, &body, "no-store")
}
