//! Checkout and the shopper's orders: placing them (idempotent, holding stock), listing them,
//! their detail and timeline, cancelling before payment, asking for a refund, the pickup QR.
//!
//! D1 round trips per checkout: 1 read batch (session, idempotency record, store, shelf rows
//! with both stock counts, platform fee) + 1 write batch (idempotency record, checkout,
//! orders, lines, holds, timeline, cart) = 2. A refused hold costs 2 more (re-read, record the
//! 409). The Worker counts them per request (`x-d1-round-trips`).

use serde::Deserialize;
use serde_json::json;
use tandem_domain::api::Problem;
use tandem_domain::catalog::{ProductId, SkuId, StoreId, SupplierId, Text, Variant};
use tandem_domain::checkout::{CheckoutRequest, OrderPart, PricedLine, ShippingPolicy, split};
use tandem_domain::crypto;
use tandem_domain::fulfilment::PickupCode;
use tandem_domain::ledger::{self as money, OrderMoney};
use tandem_domain::money::{BasisPoints, Fen};
use tandem_domain::order::{Fulfilment, OrderState};
use tandem_domain::time::Timestamp;
use tandem_domain::views::{CheckoutView, OrderLineView, OrderView, TimelineEntry};
use worker::{D1Database, Env, Request, Response};

use super::json_response;
use crate::error::ApiError;
use crate::session::{self, Caller};
use crate::store::ledger::{self, StockMove};
use crate::store::orders as store_orders;
use crate::store::sql::Results;
use crate::store::{d1, settings};
use crate::{body, config, db};

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

#[derive(Deserialize)]
struct MemberRow {
    id: Option<String>,
}

#[derive(Deserialize)]
struct IdempotencyRow {
    request_hash: String,
    status: u16,
    response: String,
}

#[derive(Deserialize)]
struct StoreRow {
    status: String,
}

/// A shelf row with what both fulfilment options would draw on.
#[derive(Deserialize)]
struct ShelfRow {
    sku_id: String,
    product_id: String,
    price_fen: i64,
    supply_fen: i64,
    supplier_id: String,
    supplier_status: String,
    name_zh: String,
    name_en: String,
    size: Option<String>,
    colour_zh: Option<String>,
    colour_en: Option<String>,
    store_location: Option<String>,
    store_available: Option<i64>,
    warehouse_location: Option<String>,
    warehouse_available: Option<i64>,
}

impl ShelfRow {
    /// Where a line of this SKU is served from and how many units are free there.
    fn source(&self, fulfilment: Fulfilment) -> (Option<&str>, i64) {
        match fulfilment {
            Fulfilment::Pickup => (self.store_location.as_deref(), self.store_available.unwrap_or(0)),
            Fulfilment::Delivery => (self.warehouse_location.as_deref(), self.warehouse_available.unwrap_or(0)),
        }
    }

    fn variant(&self) -> Text {
        Variant {
            size: self.size.clone(),
            colour: match (&self.colour_zh, &self.colour_en) {
                (Some(zh), Some(en)) => Some(Text { zh: zh.clone(), en: en.clone() }),
                _ => None,
            },
        }
        .label()
    }
}

const SHELF_SQL: &str = "SELECT si.sku_id, si.product_id, si.price_fen, k.supply_price_fen AS supply_fen,
        p.supplier_id, sup.status AS supplier_status, p.name_zh, p.name_en, k.size, k.colour_zh, k.colour_en,
        sl.id AS store_location, ss.on_hand - ss.reserved AS store_available,
        wl.id AS warehouse_location, ws.on_hand - ws.reserved AS warehouse_available
     FROM shelf_items si
     JOIN skus k ON k.id = si.sku_id
     JOIN products p ON p.id = si.product_id
     JOIN suppliers sup ON sup.id = p.supplier_id
     LEFT JOIN locations sl ON sl.store_id = si.store_id
     LEFT JOIN stock ss ON ss.location_id = sl.id AND ss.sku_id = si.sku_id
     LEFT JOIN locations wl ON wl.supplier_id = p.supplier_id
     LEFT JOIN stock ws ON ws.location_id = wl.id AND ws.sku_id = si.sku_id
     WHERE si.store_id = ?1 AND si.sku_id IN (SELECT value FROM json_each(?2))";

/// The member of a session token hash, for use inside other statements.
const SESSION_MEMBER: &str =
    "(SELECT member_id FROM sessions WHERE token_hash = ?1 AND revoked_at IS NULL AND expires_at > ?2)";

/// `POST /api/orders`.
pub async fn create(env: &Env, req: &Request, text: &str) -> Result<Response, ApiError> {
    let key = idempotency_key(req)?;
    let request: CheckoutRequest = body::parse_json(text)?;
    request.validate().map_err(|e| ApiError::bad_request(e.field(), e.to_string()))?;
    let token = session::token(req).ok_or(ApiError::Unauthenticated)?;
    let now = config::now(env).await?;
    let fingerprint = request.fingerprint();
    let db = db::database(env)?;

    let session_values = [db::text(&token.stored_hash()), db::integer(now.millis())];
    let skus: Vec<&str> = request.lines.iter().map(|l| l.sku_id.as_str()).collect();
    let mut reads = vec![
        db::prepare(&db, &format!("SELECT {SESSION_MEMBER} AS id"), &session_values)?,
        db::prepare(
            &db,
            &format!(
                "SELECT request_hash, status, response FROM idempotency_keys WHERE member_id = {SESSION_MEMBER} AND key = ?3"
            ),
            &[session_values[0].clone(), session_values[1].clone(), db::text(&key)],
        )?,
        db::prepare(&db, "SELECT status FROM stores WHERE id = ?1", &[db::text(request.store_id.as_str())])?,
        db::prepare(
            &db,
            SHELF_SQL,
            &[
                db::text(request.store_id.as_str()),
                db::text(&serde_json::to_string(&skus).map_err(ApiError::internal)?),
            ],
        )?,
    ];
    reads.extend(d1::prepared_all(&db, &settings::pricing_reads())?);
    let mut results = db::batch(&db, reads).await?;
    let fee = settings::pricing_from(&mut Results::new(results.split_off(4)))?.platform_fee;
    // `SELECT (subquery) AS id` gives one row whose id is NULL without a session.
    let member_id = db::first::<MemberRow>(&results, 0)?.and_then(|row| row.id).ok_or(ApiError::Unauthenticated)?;
    if let Some(stored) = db::first::<IdempotencyRow>(&results, 1)? {
        return replay(&stored, &fingerprint);
    }
    let store = db::first::<StoreRow>(&results, 2)?.ok_or(ApiError::NotFound { resource: "store" })?;
    if store.status != "active" {
        return Err(ApiError::refused(Problem::StoreSuspended, "this store is not taking orders"));
    }
    let shelf: Vec<ShelfRow> = db::nth(&results, 3)?;

    let mut priced = Vec::new();
    for line in &request.lines {
        let row = shelf.iter().find(|row| row.sku_id == line.sku_id.as_str()).ok_or_else(|| {
            ApiError::refused(
                Problem::NotFound { resource: "sku".to_owned() },
                format!("{} is not on this store's shelf", line.sku_id),
            )
        })?;
        if row.supplier_status != "active" {
            return Err(ApiError::refused(Problem::SupplierSuspended, format!("{} cannot be sold now", line.sku_id)));
        }
        let (location, available) = row.source(line.fulfilment);
        if location.is_none() || available < line.quantity {
            let refusal = out_of_stock(line.sku_id.as_str(), line.fulfilment, available.max(0), line.quantity);
            return remember_refusal(&db, &member_id, &key, &fingerprint, now, &refusal).await;
        }
        priced.push(PricedLine {
            sku_id: line.sku_id.clone(),
            supplier_id: db::stored(SupplierId::parse(&row.supplier_id))?,
            quantity: line.quantity,
            fulfilment: line.fulfilment,
            price_fen: Fen(row.price_fen),
            supply_fen: Fen(row.supply_fen),
        });
    }
    let parts = split(priced, ShippingPolicy::default());
    for part in &parts {
        // The shelf guard keeps every price above supply + fee; this refuses a checkout the
        // ledger could not post rather than fail at payment.
        money::payment(&order_money(&request.store_id, part, fee)).map_err(ApiError::internal)?;
    }

    let placement = Placement {
        checkout_id: config::new_id("c")?,
        order_ids: parts.iter().map(|_| config::new_id("o")).collect::<Result<Vec<_>, _>>()?,
        hold_expires_at: config::hold_policy(env).expires_at(now),
        sealed_address: match &request.address {
            Some(address) => Some(
                crypto::seal(
                    &config::key(env, "PHONE_ENC_KEY")?,
                    config::random_bytes::<12>()?,
                    serde_json::to_string(address).map_err(ApiError::internal)?.as_bytes(),
                )
                .ok_or_else(|| ApiError::internal("could not seal an address"))?,
            ),
            None => None,
        },
        member_id: member_id.clone(),
        request: &request,
        shelf: &shelf,
        parts,
        fee,
        now,
    };
    let response_text = serde_json::to_string(&json!({ "checkout": placement.view()? })).map_err(ApiError::internal)?;
    let writes = placement.writes(&db, &key, &fingerprint, &response_text)?;
    if db::guarded_batch(&db, writes).await?.is_some() {
        return super::json_text_response(201, response_text, "no-store");
    }
    // Refused: either the same key raced in first, or stock ran out since the read.
    let again = db::prepare(
        &db,
        "SELECT request_hash, status, response FROM idempotency_keys WHERE member_id = ?1 AND key = ?2",
        &[db::text(&member_id), db::text(&key)],
    )?;
    let shelf_again = db::prepare(
        &db,
        SHELF_SQL,
        &[db::text(request.store_id.as_str()), db::text(&serde_json::to_string(&skus).map_err(ApiError::internal)?)],
    )?;
    let results = db::batch(&db, vec![again, shelf_again]).await?;
    if let Some(stored) = db::first::<IdempotencyRow>(&results, 0)? {
        return replay(&stored, &fingerprint);
    }
    let shelf: Vec<ShelfRow> = db::nth(&results, 1)?;
    for line in &request.lines {
        let available =
            shelf.iter().find(|row| row.sku_id == line.sku_id.as_str()).map_or(0, |row| row.source(line.fulfilment).1);
        if available < line.quantity {
            let refusal = out_of_stock(line.sku_id.as_str(), line.fulfilment, available.max(0), line.quantity);
            return remember_refusal(&db, &member_id, &key, &fingerprint, now, &refusal).await;
        }
    }
    Err(ApiError::internal("the checkout batch was refused, yet stock and key look fine"))
}

/// A checkout about to be written: everything decided, nothing stored yet.
struct Placement<'a> {
    checkout_id: String,
    order_ids: Vec<String>,
    hold_expires_at: Timestamp,
    sealed_address: Option<String>,
    member_id: String,
    request: &'a CheckoutRequest,
    shelf: &'a [ShelfRow],
    parts: Vec<OrderPart>,
    fee: BasisPoints,
    now: Timestamp,
}

impl Placement<'_> {
    fn total(&self) -> Fen {
        self.parts.iter().fold(Fen::ZERO, |sum, part| sum + part.total_fen)
    }

    fn view(&self) -> Result<CheckoutView, ApiError> {
        let orders = self
            .parts
            .iter()
            .zip(&self.order_ids)
            .map(|(part, id)| {
                Ok(OrderView {
                    id: id.clone(),
                    checkout_id: self.checkout_id.clone(),
                    store_id: self.request.store_id.clone(),
                    store_name: Text { zh: String::new(), en: String::new() },
                    fulfilment: part.fulfilment,
                    shipper_id: part.shipper.clone(),
                    shipper_name: None,
                    state: OrderState::AwaitingPayment,
                    goods_fen: part.goods_fen,
                    shipping_fen: part.shipping_fen,
                    total_fen: part.total_fen,
                    refunded_fen: Fen::ZERO,
                    lines: part.lines.iter().map(|line| line_view(line, self.shelf)).collect::<Result<_, _>>()?,
                    pickup_code: None,
                    carrier: None,
                    tracking_no: None,
                    created_at: self.now,
                    timeline: Vec::new(),
                })
            })
            .collect::<Result<_, ApiError>>()?;
        Ok(CheckoutView {
            id: self.checkout_id.clone(),
            store_id: self.request.store_id.clone(),
            state: "awaiting_payment".to_owned(),
            total_fen: self.total(),
            hold_expires_at: self.hold_expires_at,
            orders,
        })
    }

    /// The one batch that places the checkout: the key's answer, the checkout, its orders and
    /// lines, their timelines, the stock holds (refused by `stock`'s CHECK when short) and the
    /// bought lines out of the cart.
    fn writes(
        &self,
        db: &D1Database,
        key: &str,
        fingerprint: &str,
        response_text: &str,
    ) -> Result<Vec<worker::D1PreparedStatement>, ApiError> {
        let (member, store, now) = (&self.member_id, self.request.store_id.as_str(), self.now);
        let mut writes = vec![
            db::prepare(
                db,
                "INSERT INTO idempotency_keys (member_id, key, request_hash, status, response, created_at)
                 VALUES (?1, ?2, ?3, 201, ?4, ?5)",
                &[db::text(member), db::text(key), db::text(fingerprint), db::text(response_text), db::integer(now.millis())],
            )?,
            db::prepare(
                db,
                "INSERT INTO checkouts (id, member_id, store_id, state, total_fen, address, hold_expires_at, created_at)
                 VALUES (?1, ?2, ?3, 'awaiting_payment', ?4, ?5, ?6, ?7)",
                &[
                    db::text(&self.checkout_id),
                    db::text(member),
                    db::text(store),
                    db::integer(self.total().get()),
                    db::optional_text(self.sealed_address.as_deref()),
                    db::integer(self.hold_expires_at.millis()),
                    db::integer(now.millis()),
                ],
            )?,
        ];
        let mut moves = Vec::new();
        for (part, order_id) in self.parts.iter().zip(&self.order_ids) {
            writes.push(db::prepare(
                db,
                "INSERT INTO orders (id, checkout_id, member_id, store_id, fulfilment, shipper_id, state, goods_fen,
                                     shipping_fen, total_fen, platform_fee_bp, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'awaiting_payment', ?7, ?8, ?9, ?10, ?11)",
                &[
                    db::text(order_id),
                    db::text(&self.checkout_id),
                    db::text(member),
                    db::text(store),
                    db::text(fulfilment_code(part.fulfilment)),
                    db::optional_text(part.shipper.as_ref().map(SupplierId::as_str)),
                    db::integer(part.goods_fen.get()),
                    db::integer(part.shipping_fen.get()),
                    db::integer(part.total_fen.get()),
                    db::integer(i64::from(self.fee.get())),
                    db::integer(now.millis()),
                ],
            )?);
            let mut lines = Vec::new();
            for (position, line) in part.lines.iter().enumerate() {
                let row = self
                    .shelf
                    .iter()
                    .find(|row| row.sku_id == line.sku_id.as_str())
                    .ok_or_else(|| ApiError::internal("a priced line lost its shelf row"))?;
                let location =
                    row.source(line.fulfilment).0.ok_or_else(|| ApiError::internal("a line has no source"))?;
                moves.push(StockMove { location_id: location, sku_id: line.sku_id.as_str(), quantity: line.quantity });
                let variant = row.variant();
                lines.push(json!([
                    position,
                    line.sku_id.as_str(),
                    row.product_id,
                    line.supplier_id.as_str(),
                    location,
                    line.quantity,
                    line.price_fen.get(),
                    line.supply_fen.get(),
                    row.name_zh,
                    row.name_en,
                    variant.zh,
                    variant.en
                ]));
            }
            writes.push(db::prepare(
                db,
                "INSERT INTO order_lines (order_id, position, sku_id, product_id, supplier_id, location_id, quantity,
                                          price_fen, supply_fen, name_zh, name_en, variant_zh, variant_en)
                 SELECT ?1, value ->> '$[0]', value ->> '$[1]', value ->> '$[2]', value ->> '$[3]', value ->> '$[4]',
                        value ->> '$[5]', value ->> '$[6]', value ->> '$[7]', value ->> '$[8]', value ->> '$[9]',
                        value ->> '$[10]', value ->> '$[11]'
                 FROM json_each(?2)",
                &[db::text(order_id), db::text(&serde_json::Value::Array(lines).to_string())],
            )?);
            writes.push(d1::prepared(
                db,
                &store_orders::event(order_id, "place", OrderState::AwaitingPayment, "shopper", None, now),
            )?);
        }
        writes.push(d1::prepared(db, &ledger::hold(&moves)?)?);
        let bought: Vec<_> =
            self.request.lines.iter().map(|l| json!([l.sku_id.as_str(), fulfilment_code(l.fulfilment)])).collect();
        writes.push(db::prepare(
            db,
            "DELETE FROM cart_lines WHERE cart_id = (SELECT id FROM carts WHERE member_id = ?1) AND store_id = ?2
               AND EXISTS (SELECT 1 FROM json_each(?3) j
                           WHERE j.value ->> '$[0]' = cart_lines.sku_id AND j.value ->> '$[1]' = cart_lines.fulfilment)",
            &[db::text(member), db::text(store), db::text(&serde_json::Value::Array(bought).to_string())],
        )?);
        Ok(writes)
    }
}

fn line_view(line: &PricedLine, shelf: &[ShelfRow]) -> Result<OrderLineView, ApiError> {
    let row = shelf
        .iter()
        .find(|row| row.sku_id == line.sku_id.as_str())
        .ok_or_else(|| ApiError::internal("a priced line lost its shelf row"))?;
    Ok(OrderLineView {
        sku_id: line.sku_id.clone(),
        product_id: db::stored(ProductId::parse(&row.product_id))?,
        name: Text { zh: row.name_zh.clone(), en: row.name_en.clone() },
        variant: row.variant(),
        quantity: line.quantity,
        price_fen: line.price_fen,
    })
}

pub fn fulfilment_code(fulfilment: Fulfilment) -> &'static str {
    match fulfilment {
        Fulfilment::Pickup => "pickup",
        Fulfilment::Delivery => "delivery",
    }
}

fn out_of_stock(sku: &str, fulfilment: Fulfilment, available: i64, requested: i64) -> ApiError {
    ApiError::OutOfStock { sku_id: sku.to_owned(), fulfilment: fulfilment_code(fulfilment), available, requested }
}

/// The answer to a repeated key: the first answer if the request is the same, else 422.
fn replay(stored: &IdempotencyRow, fingerprint: &str) -> Result<Response, ApiError> {
    if stored.request_hash != fingerprint {
        return Err(ApiError::refused(
            Problem::IdempotencyKeyReused,
            "this Idempotency-Key was used for a different request",
        ));
    }
    super::json_text_response(stored.status, stored.response.clone(), "no-store")
}

/// Records a refusal as the key's answer (so a retry gets the same one), then answers it, or
/// whatever answer the key already had if a concurrent request recorded one first.
async fn remember_refusal(
    db: &D1Database,
    member: &str,
    key: &str,
    fingerprint: &str,
    now: Timestamp,
    refusal: &ApiError,
) -> Result<Response, ApiError> {
    let text = refusal.body().to_string();
    let insert = db::prepare(
        db,
        "INSERT INTO idempotency_keys (member_id, key, request_hash, status, response, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (member_id, key) DO NOTHING",
        &[
            db::text(member),
            db::text(key),
            db::text(fingerprint),
            db::integer(i64::from(refusal.status())),
            db::text(&text),
            db::integer(now.millis()),
        ],
    )?;
    let read = db::prepare(
        db,
        "SELECT request_hash, status, response FROM idempotency_keys WHERE member_id = ?1 AND key = ?2",
        &[db::text(member), db::text(key)],
    )?;
    let results = db::batch(db, vec![insert, read]).await?;
    match db::first::<IdempotencyRow>(&results, 1)? {
        Some(stored) => replay(&stored, fingerprint),
        None => Err(refusal.clone()),
    }
}

pub fn order_money(store: &StoreId, part: &OrderPart, fee: BasisPoints) -> OrderMoney {
    let mut supply: Vec<(SupplierId, Fen)> = Vec::new();
    for line in &part.lines {
        match supply.iter_mut().find(|(supplier, _)| supplier == &line.supplier_id) {
            Some((_, amount)) => *amount = *amount + line.supply_amount(),
            None => supply.push((line.supplier_id.clone(), line.supply_amount())),
        }
    }
    OrderMoney {
        store: store.clone(),
        provider: "dev".to_owned(),
        goods_fen: part.goods_fen,
        shipping_fen: part.shipping_fen,
        shipper: part.shipper.clone(),
        supply,
        platform_fee: fee,
    }
}

/// Which orders a listing shows.
pub enum Scope<'a> {
    Member(&'a str),
    Store(&'a str),
    Shipper(&'a str),
}

impl Scope<'_> {
    fn condition(&self) -> (&'static str, &str) {
        match self {
            Scope::Member(id) => ("o.member_id = ?1", id),
            Scope::Store(id) => ("o.store_id = ?1", id),
            Scope::Shipper(id) => ("o.shipper_id = ?1", id),
        }
    }
}

#[derive(Deserialize)]
struct OrderRow {
    id: String,
    checkout_id: String,
    store_id: String,
    store_zh: String,
    store_en: String,
    fulfilment: String,
    shipper_id: Option<String>,
    shipper_zh: Option<String>,
    shipper_en: Option<String>,
    state: String,
    goods_fen: i64,
    shipping_fen: i64,
    total_fen: i64,
    refunded_goods_fen: i64,
    refunded_shipping_fen: i64,
    pickup_code: Option<String>,
    carrier: Option<String>,
    tracking_no: Option<String>,
    created_at: i64,
}

#[derive(Deserialize)]
struct LineRow {
    order_id: String,
    sku_id: String,
    product_id: String,
    name_zh: String,
    name_en: String,
    variant_zh: String,
    variant_en: String,
    quantity: i64,
    price_fen: i64,
}

#[derive(Deserialize)]
struct EventRow {
    order_id: String,
    event: String,
    state: String,
    actor: String,
    note: Option<String>,
    at: i64,
}

const ORDER_COLUMNS: &str = "o.id, o.checkout_id, o.store_id, st.name_zh AS store_zh, st.name_en AS store_en,
    o.fulfilment, o.shipper_id, su.name_zh AS shipper_zh, su.name_en AS shipper_en, o.state, o.goods_fen,
    o.shipping_fen, o.total_fen, o.refunded_goods_fen, o.refunded_shipping_fen, o.pickup_code, o.carrier,
    o.tracking_no, o.created_at
    FROM orders o JOIN stores st ON st.id = o.store_id LEFT JOIN suppliers su ON su.id = o.shipper_id";

/// The orders of a scope, newest first, at most `limit`, before the order `before` when given;
/// `only` narrows to one order (the detail view, with its timeline). One D1 round trip.
pub async fn load(
    db: &D1Database,
    scope: &Scope<'_>,
    only: Option<&str>,
    before: Option<&str>,
    limit: u32,
) -> Result<Vec<OrderView>, ApiError> {
    let (condition, id) = scope.condition();
    // The shopper sees every order they placed; a console sees only orders that were paid.
    let paid_only =
        if matches!(scope, Scope::Member(_)) { "" } else { "AND o.state NOT IN ('awaiting_payment', 'cancelled')" };
    let filter = format!(
        "{condition} {paid_only} AND (?2 IS NULL OR o.id = ?2)
         AND (?3 IS NULL OR (o.created_at, o.id) < (SELECT created_at, id FROM orders WHERE id = ?3))"
    );
    let values = [db::text(id), db::optional_text(only), db::optional_text(before), db::integer(i64::from(limit))];
    let page = format!("SELECT o.id FROM orders o WHERE {filter} ORDER BY o.created_at DESC, o.id DESC LIMIT ?4");
    let orders = db::prepare(
        db,
        &format!("SELECT {ORDER_COLUMNS} WHERE {filter} ORDER BY o.created_at DESC, o.id DESC LIMIT ?4"),
        &values,
    )?;
    let lines = db::prepare(
        db,
        &format!(
            "SELECT order_id, sku_id, product_id, name_zh, name_en, variant_zh, variant_en, quantity, price_fen
             FROM order_lines WHERE order_id IN ({page}) ORDER BY order_id, position"
        ),
        &values,
    )?;
    let events = db::prepare(
        db,
        &format!(
            "SELECT order_id, event, state, actor, note, at FROM order_events
             WHERE ?2 IS NOT NULL AND order_id IN ({page}) ORDER BY id"
        ),
        &values,
    )?;
    let results = db::batch(db, vec![orders, lines, events]).await?;
    let orders: Vec<OrderRow> = db::nth(&results, 0)?;
    let lines: Vec<LineRow> = db::nth(&results, 1)?;
    let events: Vec<EventRow> = db::nth(&results, 2)?;
    orders.into_iter().map(|row| view(row, &lines, &events)).collect()
}

fn view(row: OrderRow, lines: &[LineRow], events: &[EventRow]) -> Result<OrderView, ApiError> {
    let state = |code: &str| OrderState::parse(code).ok_or_else(|| ApiError::internal(format!("stored state {code}")));
    Ok(OrderView {
        lines: lines
            .iter()
            .filter(|line| line.order_id == row.id)
            .map(|line| {
                Ok(OrderLineView {
                    sku_id: db::stored(SkuId::parse(&line.sku_id))?,
                    product_id: db::stored(ProductId::parse(&line.product_id))?,
                    name: Text { zh: line.name_zh.clone(), en: line.name_en.clone() },
                    variant: Text { zh: line.variant_zh.clone(), en: line.variant_en.clone() },
                    quantity: line.quantity,
                    price_fen: Fen(line.price_fen),
                })
            })
            .collect::<Result<_, ApiError>>()?,
        timeline: events
            .iter()
            .filter(|e| e.order_id == row.id)
            .map(|e| {
                Ok(TimelineEntry {
                    event: e.event.clone(),
                    state: state(&e.state)?,
                    actor: e.actor.clone(),
                    note: e.note.clone(),
                    at: Timestamp(e.at),
                })
            })
            .collect::<Result<_, ApiError>>()?,
        state: state(&row.state)?,
        fulfilment: if row.fulfilment == "pickup" { Fulfilment::Pickup } else { Fulfilment::Delivery },
        store_id: db::stored(StoreId::parse(&row.store_id))?,
        store_name: Text { zh: row.store_zh, en: row.store_en },
        shipper_id: row.shipper_id.as_deref().map(SupplierId::parse).transpose().map_err(ApiError::internal)?,
        shipper_name: match (row.shipper_zh, row.shipper_en) {
            (Some(zh), Some(en)) => Some(Text { zh, en }),
            _ => None,
        },
        id: row.id,
        checkout_id: row.checkout_id,
        goods_fen: Fen(row.goods_fen),
        shipping_fen: Fen(row.shipping_fen),
        total_fen: Fen(row.total_fen),
        refunded_fen: Fen(row.refunded_goods_fen + row.refunded_shipping_fen),
        pickup_code: row.pickup_code,
        carrier: row.carrier,
        tracking_no: row.tracking_no,
        created_at: Timestamp(row.created_at),
    })
}

/// `limit` and `before` of a listing.
pub fn page_params(query: &[(&str, &str)]) -> Result<(Option<String>, u32), ApiError> {
    let mut before = None;
    let mut limit = 20;
    for (name, value) in query {
        match *name {
            "before" => before = Some((*value).to_owned()),
            "limit" => {
                limit = value
                    .parse::<u32>()
                    .ok()
                    .filter(|l| (1..=50).contains(l))
                    .ok_or_else(|| ApiError::bad_request("limit", "a whole number from 1 to 50"))?;
            }
            other => return Err(ApiError::bad_request(other, "unknown parameter")),
        }
    }
    Ok((before, limit))
}

/// `GET /api/orders`: the caller's orders, newest first.
pub async fn list(env: &Env, req: &Request, query: &[(&str, &str)]) -> Result<Response, ApiError> {
    let (before, limit) = page_params(query)?;
    let caller = session::caller(env, req).await?;
    let db = db::database(env)?;
    let orders = load(&db, &Scope::Member(&caller.member_id), None, before.as_deref(), limit).await?;
    let next = if orders.len() == limit as usize { orders.last().map(|o| o.id.clone()) } else { None };
    json_response(200, &json!({"orders": orders, "next_before": next}), "no-store")
}

/// One of the caller's orders, or 404 (also for someone else's order).
pub async fn own_order(env: &Env, caller: &Caller, id: &str) -> Result<OrderView, ApiError> {
    let db = db::database(env)?;
    load(&db, &Scope::Member(&caller.member_id), Some(id), None, 1)
        .await?
        .into_iter()
        .next()
        .ok_or(ApiError::NotFound { resource: "order" })
}

/// `GET /api/orders/{id}`: one order with its timeline.
pub async fn detail(env: &Env, req: &Request, id: &str) -> Result<Response, ApiError> {
    let caller = session::caller(env, req).await?;
    let order = own_order(env, &caller, id).await?;
    json_response(200, &json!({"order": order}), "no-store")
}

/// `GET /api/orders/{id}/pickup-qr.svg`: the pickup code as a QR image, once there is one.
pub async fn pickup_qr(env: &Env, req: &Request, id: &str) -> Result<Response, ApiError> {
    let caller = session::caller(env, req).await?;
    let order = own_order(env, &caller, id).await?;
    let code = order.pickup_code.ok_or(ApiError::NotFound { resource: "pickup_code" })?;
    let code = db::stored(PickupCode::parse(&code))?;
    let mut response = Response::ok(code.qr_svg()).map_err(ApiError::internal)?;
    let headers = response.headers_mut();
    headers.set("content-type", "image/svg+xml").map_err(ApiError::internal)?;
    headers.set("cache-control", "private, no-store").map_err(ApiError::internal)?;
    headers.set("x-content-type-options", "nosniff").map_err(ApiError::internal)?;
    Ok(response)
}
