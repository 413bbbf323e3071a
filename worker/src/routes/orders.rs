//! Checkout and the shopper's orders: placing them (idempotent, holding stock), listing them,
//! their detail and timeline, cancelling before payment, asking for a refund, the pickup QR.
//!
//! D1 round trips per checkout: 1 read batch (session, idempotency record, store, shelf rows
//! with both stock counts and flash-sale marks, platform fee) + 1 write batch (idempotency
//! record, checkout, orders, lines, holds, timeline, cart) = 2. A refused hold costs 2 more
//! (re-read, record the 409). A line held on a flash-sale row asks the row's stock gate (a
//! Durable Object, `hot_stock`) before the write: a checkout the gate refuses costs the read
//! alone, and its refusal is kept by the gate, not in D1.

use tandem_domain::api::Problem;
use tandem_domain::api::commerce::{CheckoutAnswer, OrderAnswer, OrderPage};
use tandem_domain::checkout::placing::{self, Refused, Terms};
use tandem_domain::checkout::{CheckoutRequest, ShippingPolicy};
use tandem_domain::crypto;
use tandem_domain::fulfilment::PickupCode;
use tandem_domain::stock::gate::Ask;
use tandem_domain::time::Timestamp;
use worker::{Env, Request, Response};

use super::json_response;
use crate::error::ApiError;
use crate::session;
use crate::store::checkouts::{self, KeptAnswer, Placer};
use crate::store::d1::D1;
use crate::store::order_views::{self, Page, Scope};
use crate::{body, config, db, hot_stock};

const MAX_IDEMPOTENCY_KEY: usize = 100;

fn idempotency_key(req: &Request) -> Result<String, ApiError> {
    let key = req.headers().get("idempotency-key").ok().flatten().unwrap_or_default();
    let valid = !key.is_empty() && key.len() <= MAX_IDEMPOTENCY_KEY && key.bytes().all(|b| b.is_ascii_graphic());
    if valid {
        Ok(key)
    } else {
        Err(ApiError::bad_request(
            "Idempotency-Key",
            "send an Idempotency-Key header: 1 to 100 visible ASCII characters",
        ))
    }
}

/// `POST /api/orders`: places a checkout as `checkout::placing::place` decides, in one read
/// batch and one guarded write batch.
pub async fn create(env: &Env, req: &Request, text: &str, now: Timestamp) -> Result<Response, ApiError> {
    let key = idempotency_key(req)?;
    let request: CheckoutRequest = body::parse_json(text)?;
    request.validate().map_err(|e| ApiError::bad_request(e.field(), e.to_string()))?;
    let token = session::token(req).ok_or(ApiError::Unauthenticated)?;
    let fingerprint = request.fingerprint();
    let db = db::database(env)?;
    let store = D1(&db);
    let store_id = request.store_id.as_str();
    let skus: Vec<&str> = request.lines.iter().map(|l| l.sku_id.as_str()).collect();

    let read = checkouts::for_placing(&store, &token.stored_hash(), now, &key, store_id, &skus).await?;
    let member = read.member.ok_or(ApiError::Unauthenticated)?;
    if let Some(kept) = read.kept {
        return replay(&kept, &fingerprint);
    }
    let store_active = read.store_active.ok_or(ApiError::NotFound { resource: "store" })?;
    let terms = Terms {
        shipping: ShippingPolicy::default(),
        platform_fee: read.pricing.platform_fee,
        hold_expires_at: config::hold_policy(env).expires_at(now),
    };
    let order_ids = request.lines.iter().map(|_| config::new_id("o")).collect::<Result<Vec<_>, _>>()?;
    let placement = placing::place(&request, store_active, &read.offers, terms, config::new_id("c")?, order_ids, now);
    let placement = match placement {
        Ok(placement) => placement,
        Err(refused @ Refused::OutOfStock { .. }) => {
            return remember_refusal(&store, &member, &key, &fingerprint, now, &refusal(refused)).await;
        }
        Err(refused) => return Err(refusal(refused)),
    };
    let sealed_address = match &request.address {
        Some(address) => Some(
            crypto::seal(
                &config::key(env, "PHONE_ENC_KEY")?,
                config::random_bytes::<12>()?,
                serde_json::to_string(address).map_err(ApiError::internal)?.as_bytes(),
            )
            .ok_or_else(|| ApiError::internal("could not seal an address"))?,
        ),
        None => None,
    };
    let response_text =
        serde_json::to_string(&CheckoutAnswer { checkout: placement.view() }).map_err(ApiError::internal)?;
    let placer =
        Placer { member: &member, key: &key, request_hash: &fingerprint, sealed_address: sealed_address.as_deref() };
    // Rows on flash sale admit the checkout through their gates first: a loser is answered
    // here, and nothing is written to D1 for it.
    let gated = placement.gated_holds();
    if !gated.is_empty() {
        let ask = Ask {
            checkout_id: placement.checkout_id.clone(),
            member_id: member.clone(),
            key: key.clone(),
            fingerprint: fingerprint.clone(),
            quantity: 0,
        };
        hot_stock::admit(env, &gated, &ask).await?;
    }
    // A write that fails (rather than being refused) may have landed: its units stay counted
    // by the gates until a snapshot sees the checkout or the grant's lifetime ends.
    if checkouts::place(&store, &placement, placer, &response_text).await?.written() {
        return super::json_text_response(201, response_text, "no-store");
    }
    hot_stock::give_back(env, &gated, &placement.checkout_id, true).await?;
    // Refused: either the same key raced in first, or stock ran out since the read.
    let (kept, offers) = checkouts::after_refusal(&store, &member, &key, store_id, &skus).await?;
    if let Some(kept) = kept {
        return replay(&kept, &fingerprint);
    }
    match placing::short_line(&request, &offers) {
        Some(short) => remember_refusal(&store, &member, &key, &fingerprint, now, &refusal(short)).await,
        None => Err(ApiError::internal("the checkout batch was refused, yet stock and key look fine")),
    }
}

/// The API's error for a checkout the domain refused.
fn refusal(refused: Refused) -> ApiError {
    let message = refused.to_string();
    match refused {
        Refused::StoreSuspended => ApiError::refused(Problem::StoreSuspended, message),
        Refused::NotOnShelf(_) => ApiError::refused(Problem::NotFound { resource: "sku".to_owned() }, message),
        Refused::SupplierSuspended(_) => ApiError::refused(Problem::SupplierSuspended, message),
        Refused::OutOfStock { sku_id, fulfilment, available, requested } => ApiError::OutOfStock {
            sku_id: sku_id.as_str().to_owned(),
            fulfilment: fulfilment.code(),
            available,
            requested,
        },
        Refused::Unpostable(e) => ApiError::internal(e),
    }
}

/// The answer to a repeated key: the first answer if the request is the same, else 422.
fn replay(kept: &KeptAnswer, fingerprint: &str) -> Result<Response, ApiError> {
    if kept.request_hash != fingerprint {
        return Err(ApiError::refused(
            Problem::IdempotencyKeyReused,
            "this Idempotency-Key was used for a different request",
        ));
    }
    super::json_text_response(kept.status, kept.response.clone(), "no-store")
}

/// Keeps a refusal as the key's answer (so a retry gets the same one), then answers it, or
/// whatever answer the key already had if a concurrent request kept one first.
async fn remember_refusal(
    store: &D1<'_>,
    member: &str,
    key: &str,
    fingerprint: &str,
    now: tandem_domain::time::Timestamp,
    refusal: &ApiError,
) -> Result<Response, ApiError> {
    let text = refusal.body().to_string();
    match checkouts::keep_answer(store, member, key, fingerprint, (refusal.status(), &text), now).await? {
        Some(kept) => replay(&kept, fingerprint),
        None => Err(refusal.clone()),
    }
}

/// `GET /api/orders`: the caller's orders, newest first.
pub async fn list(env: &Env, req: &Request, query: &[(&str, &str)], now: Timestamp) -> Result<Response, ApiError> {
    let (before, limit) = super::page_params(query)?;
    let caller = session::caller(env, req, now).await?;
    let db = db::database(env)?;
    let page = Page { only: None, before: before.as_deref(), limit };
    let orders = order_views::list(&D1(&db), Scope::Member(&caller.member_id), page).await?;
    let next = if orders.len() == limit as usize { orders.last().map(|o| o.id.clone()) } else { None };
    json_response(200, &OrderPage { orders, next_before: next }, "no-store")
}

/// `GET /api/orders/{id}`: one order with its timeline.
pub async fn detail(env: &Env, req: &Request, id: &str, now: Timestamp) -> Result<Response, ApiError> {
    let caller = session::caller(env, req, now).await?;
    let order = super::own_order(env, &caller, id).await?;
    json_response(200, &OrderAnswer { order }, "no-store")
}

/// `GET /api/orders/{id}/pickup-qr.svg`: the pickup code as a QR image, once there is one.
pub async fn pickup_qr(env: &Env, req: &Request, id: &str, now: Timestamp) -> Result<Response, ApiError> {
    let caller = session::caller(env, req, now).await?;
    let order = super::own_order(env, &caller, id).await?;
    let code = order.pickup_code.ok_or(ApiError::NotFound { resource: "pickup_code" })?;
    let code = db::stored(PickupCode::parse(&code))?;
    let mut response = Response::ok(code.qr_svg()).map_err(ApiError::internal)?;
    let headers = response.headers_mut();
    headers.set("content-type", "image/svg+xml").map_err(ApiError::internal)?;
    headers.set("cache-control", "private, no-store").map_err(ApiError::internal)?;
    headers.set("x-content-type-options", "nosniff").map_err(ApiError::internal)?;
    Ok(response)
}
