//! What happens to orders after checkout, other than payment: the shopper cancels an unpaid
//! checkout or asks for a refund; holds expire and handed-over orders complete on a schedule
//! (the cron trigger, or `POST /api/dev/jobs` in development).

use tandem_domain::api::Problem;
use tandem_domain::api::commerce::RefundRequest;
use tandem_domain::api::commerce::{OrderAnswer, RefundAsked};
use tandem_domain::api::dev::{self, JobsRequest};
use tandem_domain::order::{OrderEvent, OrderPolicy, OrderState};
use tandem_domain::refund::{self, RefundRefused};
use tandem_domain::time::Timestamp;
use worker::{Env, Request, Response};

use super::json_response;
use super::own_order;
use crate::error::ApiError;
use crate::store::d1::D1;
use crate::store::refunds::{self, Whose};
use crate::store::sql::{self, RACE_GUARDS};
use crate::store::{orders, rewards};
use crate::{body, config, db, session};

/// Cancels an unpaid checkout: every order of it, and its holds. `Ok(false)` when it was no
/// longer awaiting payment (paid, or cancelled already). Two D1 round trips.
async fn release_checkout(
    store: &D1<'_>,
    checkout_id: &str,
    event_name: &str,
    actor: &str,
    policy: OrderPolicy,
    now: Timestamp,
) -> Result<bool, ApiError> {
    let (read, lines) = orders::for_release(store, checkout_id).await?;
    let mut cancelled = Vec::with_capacity(read.len());
    for order in &read {
        let machine = order.machine()?;
        // An order of the checkout that moved on (paid meanwhile) refuses the whole release.
        let Ok(after) = machine.apply(OrderEvent::Cancel, now, policy) else { return Ok(false) };
        cancelled.push((order.id.as_str(), machine.state, after));
    }
    let writes = orders::release_writes(checkout_id, &lines, &cancelled, event_name, actor, now)?;
    Ok(sql::guarded(store, writes, RACE_GUARDS).await?.written())
}

/// `POST /api/orders/{id}/cancel`: cancels the unpaid checkout the order belongs to (all its
/// orders: they are paid together) and releases its stock.
pub async fn cancel(env: &Env, req: &Request, id: &str, now: Timestamp) -> Result<Response, ApiError> {
    let caller = session::caller(env, req, now).await?;
    let order = own_order(env, &caller, id).await?;
    if order.state != OrderState::AwaitingPayment {
        return Err(ApiError::refused(
            Problem::OrderNotCancellable,
            format!("an order in state {} cannot be cancelled; ask for a refund instead", order.state.code()),
        ));
    }
    let db = db::database(env)?;
    if !release_checkout(&D1(&db), &order.checkout_id, "cancel", "shopper", config::order_policy(env), now).await? {
        return Err(ApiError::refused(Problem::OrderNotCancellable, "the order was paid or cancelled meanwhile"));
    }
    let order = own_order(env, &caller, id).await?;
    json_response(200, &OrderAnswer { order }, "no-store")
}

/// `POST /api/orders/{id}/refund`: the shopper asks for a refund. Before hand-over it is paid
/// at once, in full, and the goods go back on the shelf; afterwards the store (pickup) or the
/// supplier (delivery) decides.
pub async fn request_refund(
    env: &Env,
    req: &Request,
    id: &str,
    text: &str,
    now: Timestamp,
) -> Result<Response, ApiError> {
    let form: RefundRequest = body::parse_json(text)?;
    let reason = form.reason.trim();
    if reason.chars().count() > 500 || reason.chars().any(char::is_control) {
        return Err(ApiError::bad_request("reason", "at most 500 characters, no control characters"));
    }
    let caller = session::caller(env, req, now).await?;
    own_order(env, &caller, id).await?;
    let db = db::database(env)?;
    let store = D1(&db);
    let read = refunds::for_refund(&store, id, Whose::Any).await?;
    let order = read.order.as_ref().ok_or(ApiError::NotFound { resource: "order" })?;
    let before = order.machine()?.state;
    if read.provider.is_none() {
        // Never paid: the state machine says why no refund can be asked.
        let refused = order.machine()?.apply(OrderEvent::RequestRefund, now, config::order_policy(env)).err();
        let message = refused.map_or_else(|| "the order has not been paid".to_owned(), |e| e.to_string());
        return Err(ApiError::refused(Problem::RefundNotAllowed, message));
    }
    let money = read.money()?;
    let refund_id = config::new_id("r")?;
    let requested = refund::request_refund(&read.to_refund(&money)?, &refund_id, config::order_policy(env), now)
        .map_err(|e| match e {
            RefundRefused::Transition(e) => ApiError::refused(Problem::RefundNotAllowed, e.to_string()),
            other => ApiError::internal(other),
        })?;
    let automatic = requested.paid.is_some();
    let writes = refunds::request_writes(&read, before, &refund_id, reason, &requested, now)?;
    if !sql::guarded(&store, writes, RACE_GUARDS).await?.written() {
        return Err(ApiError::refused(
            Problem::RefundNotAllowed,
            "the order changed meanwhile, or a refund is already open",
        ));
    }
    let order = own_order(env, &caller, id).await?;
    json_response(200, &RefundAsked { order, refund_id, automatic }, "no-store")
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
pub async fn run_jobs(env: &Env, buyer: Option<&str>, now: Timestamp) -> Result<JobsRun, ApiError> {
    let db = db::database(env)?;
    let store = D1(&db);
    let policy = config::order_policy(env);
    let mut released = 0;
    for checkout in orders::expired_checkouts(&store, buyer, now).await? {
        if release_checkout(&store, &checkout, "expire", "system", policy, now).await? {
            released += 1;
        }
    }
    let due = now.plus_days(-policy.auto_complete_after_days);
    let mut completed = 0;
    for order in orders::handed_over_by(&store, buyer, due).await? {
        let machine = order.machine()?;
        let Ok(next) = machine.apply(OrderEvent::Complete, now, policy) else { continue };
        let mut writes = vec![
            orders::moved(&order.id, machine.state, &next, &orders::Also::default()),
            orders::event(&order.id, "complete", next.state, "system", None, now),
        ];
        if let Some(order_rewards) = rewards::of_order(&store, &order.id).await? {
            writes.extend(rewards::writes(&order_rewards, &order_rewards.on_completion(now), now)?);
        }
        if sql::guarded(&store, writes, RACE_GUARDS).await?.written() {
            completed += 1;
        }
    }
    let mut thawed = 0;
    for order_id in rewards::thaw_due(&store, buyer, now).await? {
        let Some(order_rewards) = rewards::of_order(&store, &order_id).await? else { continue };
        let changes = order_rewards.on_clock(now);
        let count = u32::try_from(changes.steps.len()).unwrap_or(0);
        let writes = rewards::writes(&order_rewards, &changes, now)?;
        if !writes.is_empty() && sql::guarded(&store, writes, RACE_GUARDS).await?.written() {
            thawed += count;
        }
    }
    Ok(JobsRun { released, completed, thawed })
}

/// `POST /api/dev/jobs`: runs the scheduled jobs now (by the request's development clock), for
/// everyone or for one buyer.
pub async fn dev_jobs(env: &Env, text: &str, now: Timestamp) -> Result<Response, ApiError> {
    let scope: JobsRequest = if text.trim().is_empty() { JobsRequest::default() } else { body::parse_json(text)? };
    let run = run_jobs(env, scope.buyer.as_deref(), now).await?;
    // Development runs retrain every time, so a test sees the touches it just made.
    let rebuilt = crate::model::rebuild(env, now).await?;
    let answer = dev::JobsRun {
        released_checkouts: run.released,
        completed_orders: run.completed,
        thawed_rewards: run.thawed,
        recommender: rebuilt,
    };
    json_response(200, &answer, "no-store")
}
