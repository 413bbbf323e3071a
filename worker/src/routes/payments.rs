//! Payments, shaped like WeChat Pay and Alipay: create a payment for a checkout, the provider's
//! page, its signed asynchronous notification, a query. The `dev` provider is this Worker's own
//! hosted page (`/pay/{id}` in the app) that signs its notification with `PAYMENT_DEV_KEY`.
//!
//! Accepting a notification is one read and one write round trip: `store::payments::for_paying`
//! reads the payment, its checkout, orders and lines and the network; `payment::pay_checkout`
//! decides everything paying changes; `store::payments::paid_writes` writes it as one batch,
//! each change guarded by what it was read with, so a repeated or concurrent notification
//! fails the whole batch and changes nothing.

use tandem_domain::api::Problem;
use tandem_domain::api::commerce::{Confirmed, NotificationAnswer, Outcome, PaymentAnswer};
use tandem_domain::money::Fen;
use tandem_domain::payment::{
    self, NotPayable, Notification, OrderToPay, PaymentError, PaymentState, PaymentStatus, Verdict,
};
use tandem_domain::time::Timestamp;
use worker::{Env, Request, Response};

use super::json_response;
use crate::error::ApiError;
use crate::store::d1::D1;
use crate::store::payments::{self as stored, ForPaying, Opened, PaymentRow};
use crate::store::sql::{self, RACE_GUARDS};
use crate::{body, chain, config, db, session};

const PROVIDERS: [&str; 1] = ["dev"];

/// `POST /api/checkouts/{id}/payments`: a payment for the caller's unpaid checkout; the open
/// one if it already has one.
pub async fn create(env: &Env, req: &Request, checkout_id: &str, now: Timestamp) -> Result<Response, ApiError> {
    let token = session::token(req).ok_or(ApiError::Unauthenticated)?;
    let db = db::database(env)?;
    let store = D1(&db);
    let provider = "dev";
    // The session and the checkout in one round trip.
    let read = stored::for_opening(&store, &token.stored_hash(), now, checkout_id, provider).await?;
    read.member.ok_or(ApiError::Unauthenticated)?;
    let checkout = read.checkout.ok_or(ApiError::NotFound { resource: "checkout" })?;
    checkout.payable().check(now).map_err(|e| match e {
        NotPayable::Closed => ApiError::refused(Problem::CheckoutClosed, format!("the checkout is {}", checkout.state)),
        NotPayable::HoldExpired => ApiError::refused(Problem::HoldExpired, e.to_string()),
    })?;
    if let Some(open) = read.open {
        return json_response(200, &PaymentAnswer { payment: open.view() }, "no-store");
    }
    let payment = PaymentRow {
        id: config::new_id("pay")?,
        checkout_id: checkout.id,
        provider: provider.to_owned(),
        amount_fen: checkout.total_fen,
        status: PaymentState::Created.as_str().to_owned(),
    };
    match stored::open(&store, &payment, now).await.map_err(ApiError::internal)? {
        Opened::New => json_response(201, &PaymentAnswer { payment: payment.view() }, "no-store"),
        Opened::Existing(open) => json_response(200, &PaymentAnswer { payment: open.view() }, "no-store"),
    }
}

/// A payment of one of the caller's checkouts, or 404.
async fn own_payment(env: &Env, req: &Request, id: &str, now: Timestamp) -> Result<PaymentRow, ApiError> {
    let caller = session::caller(env, req, now).await?;
    let db = db::database(env)?;
    stored::own(&D1(&db), id, &caller.member_id)
        .await
        .map_err(ApiError::internal)?
        .ok_or(ApiError::NotFound { resource: "payment" })
}

/// `GET /api/payments/{id}`: the provider's "query": a payment's status, for its shopper.
pub async fn query(env: &Env, req: &Request, id: &str, now: Timestamp) -> Result<Response, ApiError> {
    let payment = own_payment(env, req, id, now).await?;
    json_response(200, &PaymentAnswer { payment: payment.view() }, "no-store")
}

/// `POST /api/payments/{id}/confirm`: the `dev` provider's pay page, confirmed. The provider
/// signs its notification and delivers it to this Worker's notification handler, and answers
/// both, so a test or load tool can deliver it again.
pub async fn dev_confirm(env: &Env, req: &Request, id: &str, now: Timestamp) -> Result<Response, ApiError> {
    if !config::dev_payments(env) {
        return Err(ApiError::NoRoute);
    }
    let payment = own_payment(env, req, id, now).await?;
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
    let outcome = accept(env, &notification, now).await?;
    json_response(200, &Confirmed { result: outcome, notification }, "no-store")
}

/// `POST /api/payments/notify/{provider}`: a provider's signed notification.
pub async fn notify(env: &Env, provider: &str, text: &str, now: Timestamp) -> Result<Response, ApiError> {
    if !PROVIDERS.contains(&provider) || (provider == "dev" && !config::dev_payments(env)) {
        return Err(ApiError::NotFound { resource: "provider" });
    }
    let notification: Notification = body::parse_json(text)?;
    if notification.provider != provider {
        return Err(ApiError::bad_request("provider", "the notification is for another provider"));
    }
    let outcome = accept(env, &notification, now).await?;
    json_response(200, &NotificationAnswer { result: outcome }, "no-store")
}

/// Verifies a notification and applies it once.
async fn accept(env: &Env, notification: &Notification, now: Timestamp) -> Result<Outcome, ApiError> {
    let db = db::database(env)?;
    let store = D1(&db);
    let key = config::key(env, "PAYMENT_DEV_KEY")?;
    // Some tries: the refusals worth retrying are a pickup code already in use at the store and
    // another payment that changed what this one read of the network (the buyer's chain, a
    // team's GMV or a sharer's conversion when the rules depend on them). Payments of unrelated
    // buyers do not refuse each other; under a burst of directs of one sharer (the 200-buyer
    // test) each winner makes the others retry, so the bound is generous; each try is one
    // read and one write round trip.
    for _ in 0..120 {
        let ForPaying { payment, checkout, orders, lines, network } =
            stored::for_paying(&store, &notification.payment_id, now).await?;
        let payment = payment.ok_or(ApiError::NotFound { resource: "payment" })?;
        let checkout = checkout.ok_or_else(|| ApiError::internal("a payment without its checkout"))?;
        if payment.checkout_id != notification.checkout_id {
            return Err(ApiError::refused(Problem::BadSignature, "the notification does not match the payment"));
        }
        notification.verify(&key, Fen(payment.amount_fen)).map_err(|e| match e {
            PaymentError::BadSignature => ApiError::refused(Problem::BadSignature, e.to_string()),
            PaymentError::AmountMismatch { .. } => ApiError::refused(Problem::AmountMismatch, e.to_string()),
        })?;
        match payment::verdict(
            payment.state().map_err(ApiError::internal)?,
            checkout.payable(),
            notification.status,
            now,
        ) {
            Verdict::Settled(PaymentState::Succeeded) => return Ok(Outcome::AlreadyProcessed),
            Verdict::Settled(PaymentState::Failed) => return Ok(Outcome::Failed),
            Verdict::Settled(_) => return Ok(Outcome::Returned),
            Verdict::Close(state) => {
                stored::close(&store, &payment.id, state, now).await?;
                return Ok(if state == PaymentState::Failed { Outcome::Failed } else { Outcome::Returned });
            }
            Verdict::Apply => {}
        }
        let to_pay = orders
            .iter()
            .map(|order| {
                Ok(OrderToPay {
                    id: order.id.clone(),
                    order: order.machine()?,
                    money: order.money(&payment.provider, &lines)?,
                    lines: network.lines_of(&order.id),
                    random: u64::from_le_bytes(config::random_bytes::<8>()?),
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        let paid =
            payment::pay_checkout(&checkout.member_id, &to_pay, &network.network, config::order_policy(env), now)
                .map_err(ApiError::internal)?;
        let invite_code = chain::new_invite_code()?;
        let writes = stored::paid_writes(&payment, &checkout, &paid, &lines, &network, &invite_code, now)?;
        let written = sql::guarded(&store, writes, RACE_GUARDS).await?.written();
        db::count_payment_try(written);
        if written {
            return Ok(Outcome::Paid);
        }
    }
    Err(ApiError::internal(format!("payment {} could not be applied", notification.payment_id)))
}
