//! Payments, shaped like WeChat Pay and Alipay: create a payment for a checkout, the provider's
//! page, its signed asynchronous notification, a query. The `dev` provider is this Worker's own
//! hosted page (`/pay/{id}` in the app) that signs its notification with `PAYMENT_DEV_KEY`.
//!
//! Accepting a notification is one D1 batch: the payment, the checkout and each order change
//! state, stock is committed, each order's ledger transaction and timeline are written. Every
//! state change is conditional (`CASE WHEN state = … END`), so a repeated or concurrent
//! notification fails the whole batch and changes nothing.

use serde::Deserialize;
use serde_json::json;
use tandem_domain::fulfilment::PickupCode;
use tandem_domain::ledger as money;
use tandem_domain::money::Fen;
use tandem_domain::order::{Fulfilment, OrderEvent, OrderState};
use tandem_domain::payment::{Notification, PaymentError, PaymentStatus};
use tandem_domain::time::Timestamp;
use tandem_domain::views::PaymentView;
use worker::{D1Database, Env, Request, Response};

use super::json_response;
use super::orders::event;
use crate::error::ApiError;
use crate::ledger::{MONEY_LINE_COLUMNS, MONEY_ORDER_COLUMNS, MoneyLine, MoneyOrder};
use crate::{body, chain, config, db, ledger, session};

const PROVIDERS: [&str; 1] = ["dev"];

#[derive(Deserialize)]
struct PaymentRow {
    id: String,
    checkout_id: String,
    provider: String,
    amount_fen: i64,
    status: String,
}

impl PaymentRow {
    fn view(self) -> PaymentView {
        PaymentView {
            pay_url: format!("/pay/{}", self.id),
            id: self.id,
            checkout_id: self.checkout_id,
            provider: self.provider,
            amount_fen: Fen(self.amount_fen),
            status: self.status,
        }
    }
}

#[derive(Deserialize)]
struct CheckoutRow {
    id: String,
    member_id: String,
    state: String,
    total_fen: i64,
    hold_expires_at: i64,
}

/// `POST /api/checkouts/{id}/payments`: a payment for the caller's unpaid checkout; the open
/// one if it already has one.
pub async fn create(env: &Env, req: &Request, checkout_id: &str) -> Result<Response, ApiError> {
    let caller = session::caller(env, req).await?;
    let now = config::now(env).await?;
    let db = db::database(env)?;
    let checkout = db::prepare(
        &db,
        "SELECT id, member_id, state, total_fen, hold_expires_at FROM checkouts WHERE id = ?1 AND member_id = ?2",
        &[db::text(checkout_id), db::text(&caller.member_id)],
    )?;
    let open = db::prepare(
        &db,
        "SELECT id, checkout_id, provider, amount_fen, status FROM payments
         WHERE checkout_id = ?1 AND status = 'created' ORDER BY created_at DESC LIMIT 1",
        &[db::text(checkout_id)],
    )?;
    let results = db::batch(&db, vec![checkout, open]).await?;
    let checkout = db::first::<CheckoutRow>(&results, 0)?.ok_or(ApiError::NotFound { resource: "checkout" })?;
    if checkout.state != "awaiting_payment" {
        return Err(ApiError::conflict("checkout_closed", format!("the checkout is {}", checkout.state)));
    }
    if now.millis() >= checkout.hold_expires_at {
        return Err(ApiError::conflict("hold_expired", "the time to pay has run out; the goods were released"));
    }
    if let Some(open) = db::first::<PaymentRow>(&results, 1)? {
        return json_response(200, &json!({"payment": open.view()}), "no-store");
    }
    let payment = PaymentRow {
        id: config::new_id("pay")?,
        checkout_id: checkout.id,
        provider: "dev".to_owned(),
        amount_fen: checkout.total_fen,
        status: "created".to_owned(),
    };
    let statement = db::prepare(
        &db,
        "INSERT INTO payments (id, checkout_id, provider, amount_fen, status, created_at) VALUES (?1, ?2, ?3, ?4, 'created', ?5)",
        &[
            db::text(&payment.id),
            db::text(&payment.checkout_id),
            db::text(&payment.provider),
            db::integer(payment.amount_fen),
            db::integer(now.millis()),
        ],
    )?;
    db::run(statement).await?;
    json_response(201, &json!({"payment": payment.view()}), "no-store")
}

/// A payment of one of the caller's checkouts, or 404.
async fn own_payment(env: &Env, req: &Request, id: &str) -> Result<PaymentRow, ApiError> {
    let caller = session::caller(env, req).await?;
    let db = db::database(env)?;
    let statement = db::prepare(
        &db,
        "SELECT p.id, p.checkout_id, p.provider, p.amount_fen, p.status FROM payments p
         JOIN checkouts c ON c.id = p.checkout_id WHERE p.id = ?1 AND c.member_id = ?2",
        &[db::text(id), db::text(&caller.member_id)],
    )?;
    db::one::<PaymentRow>(statement).await?.ok_or(ApiError::NotFound { resource: "payment" })
}

/// `GET /api/payments/{id}`: the provider's "query": a payment's status, for its shopper.
pub async fn query(env: &Env, req: &Request, id: &str) -> Result<Response, ApiError> {
    let payment = own_payment(env, req, id).await?;
    json_response(200, &json!({"payment": payment.view()}), "no-store")
}

/// `POST /api/payments/{id}/confirm`: the `dev` provider's pay page, confirmed. The provider
/// signs its notification and delivers it to this Worker's notification handler, and answers
/// both, so a test or load tool can deliver it again.
pub async fn dev_confirm(env: &Env, req: &Request, id: &str) -> Result<Response, ApiError> {
    if !config::dev_payments(env) {
        return Err(ApiError::NoRoute);
    }
    let payment = own_payment(env, req, id).await?;
    let now = config::now(env).await?;
    let notification = Notification {
        provider: payment.provider,
        payment_id: payment.id,
        checkout_id: payment.checkout_id,
        amount_fen: Fen(payment.amount_fen),
        status: PaymentStatus::Success,
        paid_at_ms: now.millis(),
        signature: String::new(),
    }
    .signed(&config::key(env, "PAYMENT_DEV_KEY")?);
    let outcome = accept(env, &notification).await?;
    json_response(200, &json!({"result": outcome, "notification": notification}), "no-store")
}

/// `POST /api/payments/notify/{provider}`: a provider's signed notification.
pub async fn notify(env: &Env, provider: &str, text: &str) -> Result<Response, ApiError> {
    if !PROVIDERS.contains(&provider) || (provider == "dev" && !config::dev_payments(env)) {
        return Err(ApiError::NotFound { resource: "provider" });
    }
    let notification: Notification = body::parse_json(text)?;
    if notification.provider != provider {
        return Err(ApiError::bad_request("provider", "the notification is for another provider"));
    }
    let outcome = accept(env, &notification).await?;
    json_response(200, &json!({"result": outcome}), "no-store")
}

/// What became of a notification.
#[derive(Debug, Clone, Copy, serde::Serialize)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    Paid,
    AlreadyProcessed,
    /// The checkout was no longer payable (its hold expired, or another payment won): the
    /// provider gives the money back, and nothing is posted.
    Returned,
    Failed,
}

/// What accepting a notification reads, in one round trip.
struct PaymentRead {
    payment: Option<PaymentRow>,
    checkout: Option<CheckoutRow>,
    orders: Vec<MoneyOrder>,
    lines: Vec<MoneyLine>,
    network: chain::NetworkRead,
}

async fn read_payment(db: &D1Database, id: &str, now: Timestamp) -> Result<PaymentRead, ApiError> {
    let checkout = "(SELECT checkout_id FROM payments WHERE id = ?1)";
    let mut statements = vec![
        db::prepare(
            db,
            "SELECT id, checkout_id, provider, amount_fen, status FROM payments WHERE id = ?1",
            &[db::text(id)],
        )?,
        db::prepare(
            db,
            &format!("SELECT id, member_id, state, total_fen, hold_expires_at FROM checkouts WHERE id = {checkout}"),
            &[db::text(id)],
        )?,
        db::prepare(
            db,
            &format!("SELECT {MONEY_ORDER_COLUMNS} FROM orders WHERE checkout_id = {checkout} ORDER BY id"),
            &[db::text(id)],
        )?,
        db::prepare(
            db,
            &format!(
                "SELECT {MONEY_LINE_COLUMNS} FROM order_lines
                 WHERE order_id IN (SELECT id FROM orders WHERE checkout_id = {checkout}) ORDER BY order_id, position"
            ),
            &[db::text(id)],
        )?,
    ];
    statements.extend(chain::read_statements(
        db,
        &format!("SELECT id FROM orders WHERE checkout_id = {checkout}"),
        &format!("(SELECT member_id FROM checkouts WHERE id = {checkout})"),
        &db::text(id),
        now,
    )?);
    let results = db::batch(db, statements).await?;
    Ok(PaymentRead {
        payment: db::first(&results, 0)?,
        checkout: db::first(&results, 1)?,
        orders: db::nth(&results, 2)?,
        lines: db::nth(&results, 3)?,
        network: chain::NetworkRead::from_results(&results, 4)?,
    })
}

/// Verifies a notification and applies it once.
async fn accept(env: &Env, notification: &Notification) -> Result<Outcome, ApiError> {
    let db = db::database(env)?;
    let key = config::key(env, "PAYMENT_DEV_KEY")?;
    // Some tries: the refusals worth retrying are a pickup code already in use at the store and
    // another payment that changed the distribution network since it was read.
    // Under a burst (the 200-buyer test) each winner makes every other reader retry once, so
    // the bound is generous; each try is one read and one write round trip.
    for _ in 0..120 {
        let now = config::now(env).await?;
        let read = read_payment(&db, &notification.payment_id, now).await?;
        let PaymentRead { payment, checkout, orders, lines, network } = read;
        let payment = payment.ok_or(ApiError::NotFound { resource: "payment" })?;
        let checkout = checkout.ok_or_else(|| ApiError::internal("a payment without its checkout"))?;
        if payment.checkout_id != notification.checkout_id {
            return Err(ApiError::refused(400, "bad_signature", "the notification does not match the payment"));
        }
        notification.verify(&key, Fen(payment.amount_fen)).map_err(|e| match e {
            PaymentError::BadSignature => ApiError::refused(400, "bad_signature", e.to_string()),
            PaymentError::AmountMismatch { .. } => ApiError::refused(400, "amount_mismatch", e.to_string()),
        })?;
        match payment.status.as_str() {
            "succeeded" => return Ok(Outcome::AlreadyProcessed),
            "returned" => return Ok(Outcome::Returned),
            "failed" => return Ok(Outcome::Failed),
            _ => {}
        }
        if notification.status == PaymentStatus::Failed {
            close_payment(&db, &payment.id, "failed", now).await?;
            return Ok(Outcome::Failed);
        }
        if checkout.state != "awaiting_payment" {
            close_payment(&db, &payment.id, "returned", now).await?;
            return Ok(Outcome::Returned);
        }
        let mut writes = payment_writes(&db, &payment, &checkout, &orders, &lines, now)?;
        let paid: Vec<chain::PaidOrder<'_>> =
            orders.iter().map(|o| chain::PaidOrder { id: &o.id, store_id: &o.store_id }).collect();
        writes.extend(chain::payment_writes(&db, &network, &checkout.member_id, &paid, now)?);
        if db::guarded_batch(&db, writes).await?.is_some() {
            return Ok(Outcome::Paid);
        }
    }
    Err(ApiError::internal(format!("payment {} could not be applied", notification.payment_id)))
}

/// Marks a payment that will not pay for anything.
async fn close_payment(db: &D1Database, id: &str, status: &str, now: Timestamp) -> Result<(), ApiError> {
    let statement = db::prepare(
        db,
        "UPDATE payments SET status = ?2, notified_at = ?3 WHERE id = ?1 AND status = 'created'",
        &[db::text(id), db::text(status), db::integer(now.millis())],
    )?;
    db::run(statement).await?;
    Ok(())
}

fn payment_writes(
    db: &D1Database,
    payment: &PaymentRow,
    checkout: &CheckoutRow,
    orders: &[MoneyOrder],
    lines: &[MoneyLine],
    now: Timestamp,
) -> Result<Vec<worker::D1PreparedStatement>, ApiError> {
    let mut writes = vec![
        db::prepare(
            db,
            "UPDATE payments SET status = CASE WHEN status = 'created' THEN 'succeeded' END, notified_at = ?2 WHERE id = ?1",
            &[db::text(&payment.id), db::integer(now.millis())],
        )?,
        db::prepare(
            db,
            "UPDATE checkouts SET state = CASE WHEN state = 'awaiting_payment' THEN 'paid' END, closed_at = ?2 WHERE id = ?1",
            &[db::text(&checkout.id), db::integer(now.millis())],
        )?,
    ];
    for order in orders {
        let fulfilment = order.fulfilment();
        let policy = tandem_domain::order::OrderPolicy::default();
        let paid = order.machine()?.apply(OrderEvent::Pay, now, policy).map_err(ApiError::internal)?;
        // Pickup goods are on the store's shelf already: the order is ready as soon as it is paid.
        let settled = match fulfilment {
            Fulfilment::Pickup => paid.apply(OrderEvent::Prepare, now, policy).map_err(ApiError::internal)?,
            Fulfilment::Delivery => paid,
        };
        let code = match fulfilment {
            Fulfilment::Pickup => Some(PickupCode::from_random(u64::from_le_bytes(config::random_bytes::<8>()?))),
            Fulfilment::Delivery => None,
        };
        writes.push(db::prepare(
            db,
            "UPDATE orders SET state = CASE WHEN state = 'awaiting_payment' THEN ?2 END, paid_at = ?3, pickup_code = ?4
             WHERE id = ?1",
            &[
                db::text(&order.id),
                db::text(settled.state.code()),
                db::integer(now.millis()),
                db::optional_text(code.as_ref().map(PickupCode::as_str)),
            ],
        )?);
        let order_money = order.money(&payment.provider, lines)?;
        let transaction = money::payment(&order_money).map_err(ApiError::internal)?;
        writes.extend(ledger::post(
            db,
            &format!("t-pay-{}", order.id),
            "payment",
            &format!("payment:{}", order.id),
            Some(&order.id),
            now,
            &transaction,
        )?);
        writes.push(event(db, &order.id, "pay", OrderState::Paid, "provider", None, now)?);
        if settled.state != paid.state {
            writes.push(event(db, &order.id, "prepare", settled.state, "system", None, now)?);
        }
    }
    writes.push(ledger::commit(db, &ledger::moves_of(lines, None))?);
    Ok(writes)
}
