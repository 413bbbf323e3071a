//! Placing a checkout: what `checkout::placing::place` reads (the session's member, the
//! idempotency key's answer, the store, the shelf with the stock each fulfilment draws on,
//! the pricing policy) in one round trip, and the one batch that writes what it decided.
//! Idempotency: a key's first answer is kept (a refusal for stock too), and a retry with the
//! same request gets it again.

use serde::{Deserialize, Serialize};
use tandem_domain::catalog::{ProductId, SkuId, Text, Variant};
use tandem_domain::checkout::placing::{Offer, Placement, Source};
use tandem_domain::money::Fen;
use tandem_domain::order::OrderState;
use tandem_domain::pricing::PricingPolicy;
use tandem_domain::time::Timestamp;

use super::ledger::{self, StockMove};
use super::orders;
use super::settings;
use super::sql::{self, Database, Guarded, RACE_GUARDS, Results, Rows, Statement, StoreError, statement, stored};

/// A key's kept answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct KeptAnswer {
    /// The fingerprint of the request the answer was for.
    pub request_hash: String,
    pub status: u16,
    pub response: String,
}

#[derive(Deserialize)]
struct MemberRow {
    id: Option<String>,
}

#[derive(Deserialize)]
struct StoreRow {
    status: String,
}

/// A shelf row with what both fulfilment options would draw on.
#[derive(Deserialize)]
struct OfferRow {
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
    store_flash_sale: Option<i64>,
    warehouse_location: Option<String>,
    warehouse_available: Option<i64>,
    warehouse_flash_sale: Option<i64>,
}

impl OfferRow {
    fn offer(self) -> Result<Offer, StoreError> {
        let source = |location: Option<String>, available: Option<i64>, flash_sale: Option<i64>| {
            location.map(|location_id| Source {
                location_id,
                available: available.unwrap_or(0),
                flash_sale: flash_sale == Some(1),
            })
        };
        let variant = Variant {
            size: self.size,
            colour: match (self.colour_zh, self.colour_en) {
                (Some(zh), Some(en)) => Some(Text { zh, en }),
                _ => None,
            },
        }
        .label();
        Ok(Offer {
            sku_id: stored(SkuId::parse(&self.sku_id))?,
            product_id: stored(ProductId::parse(&self.product_id))?,
            price_fen: Fen(self.price_fen),
            supply_fen: Fen(self.supply_fen),
            supplier_id: stored(tandem_domain::catalog::SupplierId::parse(&self.supplier_id))?,
            supplier_active: self.supplier_status == "active",
            name: Text { zh: self.name_zh, en: self.name_en },
            variant,
            pickup: source(self.store_location, self.store_available, self.store_flash_sale),
            delivery: source(self.warehouse_location, self.warehouse_available, self.warehouse_flash_sale),
        })
    }
}

/// The offers of `skus` on `store`'s shelf: today's price and supply, the supplier, and the
/// units free in the store (pickup) and in the supplier's warehouse (delivery).
fn offers_read(store: &str, skus: &[&str]) -> Result<Statement, StoreError> {
    Ok(statement!(
        "SELECT si.sku_id, si.product_id, si.price_fen, k.supply_price_fen AS supply_fen,
                p.supplier_id, sup.status AS supplier_status, p.name_zh, p.name_en, k.size, k.colour_zh, k.colour_en,
                sl.id AS store_location, ss.on_hand - ss.reserved AS store_available, ss.flash_sale AS store_flash_sale,
                wl.id AS warehouse_location, ws.on_hand - ws.reserved AS warehouse_available,
                ws.flash_sale AS warehouse_flash_sale
         FROM shelf_items si
         JOIN skus k ON k.id = si.sku_id
         JOIN products p ON p.id = si.product_id
         JOIN suppliers sup ON sup.id = p.supplier_id
         LEFT JOIN locations sl ON sl.store_id = si.store_id
         LEFT JOIN stock ss ON ss.location_id = sl.id AND ss.sku_id = si.sku_id
         LEFT JOIN locations wl ON wl.supplier_id = p.supplier_id
         LEFT JOIN stock ws ON ws.location_id = wl.id AND ws.sku_id = si.sku_id
         WHERE si.store_id = ?1 AND si.sku_id IN (SELECT value FROM json_each(?2))",
        store,
        serde_json::to_string(skus).map_err(StoreError::failed)?
    ))
}

fn offers_from<R: Rows>(results: &mut Results<R>) -> Result<Vec<Offer>, StoreError> {
    results.all::<OfferRow>()?.into_iter().map(OfferRow::offer).collect()
}

fn kept(member_sql: &str) -> String {
    format!("SELECT request_hash, status, response FROM idempotency_keys WHERE member_id = {member_sql} AND key = ?3")
}

/// What placing a checkout reads.
#[derive(Debug, Clone, PartialEq)]
pub struct ForPlacing {
    /// The member of the session; `None` without a live one.
    pub member: Option<String>,
    /// The key's kept answer, if the key was used before.
    pub kept: Option<KeptAnswer>,
    /// Whether the store is taking orders; `None` for no such store.
    pub store_active: Option<bool>,
    pub offers: Vec<Offer>,
    pub pricing: PricingPolicy,
}

/// Reads what placing a checkout of `skus` in `store` under idempotency `key` needs, for the
/// session of `token_hash`, in one round trip.
pub async fn for_placing<D: Database>(
    db: &D,
    token_hash: &str,
    now: Timestamp,
    key: &str,
    store: &str,
    skus: &[&str],
) -> Result<ForPlacing, StoreError> {
    let session = "(SELECT member_id FROM sessions WHERE token_hash = ?1 AND revoked_at IS NULL AND expires_at > ?2)";
    let mut reads = vec![
        statement!(format!("SELECT {session} AS id"), token_hash, now.millis()),
        statement!(kept(session), token_hash, now.millis(), key),
        statement!("SELECT status FROM stores WHERE id = ?1", store),
        offers_read(store, skus)?,
    ];
    reads.extend(settings::pricing_reads());
    let mut results = sql::run(db, reads).await?;
    // `SELECT (subquery) AS id` gives one row whose id is NULL without a session.
    let member = results.first::<MemberRow>()?.and_then(|row| row.id);
    let kept = results.first()?;
    let store_active = results.first::<StoreRow>()?.map(|row| row.status == "active");
    let offers = offers_from(&mut results)?;
    let pricing = settings::pricing_from(&mut results)?;
    Ok(ForPlacing { member, kept, store_active, offers, pricing })
}

/// What a placement whose batch was refused reads again: the key's answer (the same key may
/// have raced in first) and the shelf (stock may have run out since).
pub async fn after_refusal<D: Database>(
    db: &D,
    member: &str,
    key: &str,
    store: &str,
    skus: &[&str],
) -> Result<(Option<KeptAnswer>, Vec<Offer>), StoreError> {
    let mut results = sql::run(db, vec![statement!(kept("?1"), member, "", key), offers_read(store, skus)?]).await?;
    Ok((results.first()?, offers_from(&mut results)?))
}

/// Keeps `status` and `response` as the answer of `member`'s `key` unless the key has one
/// already; the key's answer afterwards.
pub async fn keep_answer<D: Database>(
    db: &D,
    member: &str,
    key: &str,
    request_hash: &str,
    (status, response): (u16, &str),
    now: Timestamp,
) -> Result<Option<KeptAnswer>, StoreError> {
    let mut results = sql::run(
        db,
        vec![
            statement!(
                "INSERT INTO idempotency_keys (member_id, key, request_hash, status, response, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (member_id, key) DO NOTHING",
                member,
                key,
                request_hash,
                i64::from(status),
                response,
                now.millis()
            ),
            statement!(kept("?1"), member, "", key),
        ],
    )
    .await?;
    results.changes()?;
    results.first()
}

/// One placed line as its statement reads it.
#[derive(Serialize)]
struct LineRow<'a> {
    position: usize,
    sku_id: &'a str,
    product_id: &'a str,
    supplier_id: &'a str,
    location_id: &'a str,
    quantity: i64,
    price_fen: i64,
    supply_fen: i64,
    name_zh: &'a str,
    name_en: &'a str,
    variant_zh: &'a str,
    variant_en: &'a str,
}

/// A bought cart line, to take out of the cart.
#[derive(Serialize)]
struct Bought<'a> {
    sku_id: &'a str,
    fulfilment: &'a str,
}

/// Who placed the checkout and under which key.
#[derive(Debug, Clone, Copy)]
pub struct Placer<'a> {
    pub member: &'a str,
    pub key: &'a str,
    pub request_hash: &'a str,
    /// The delivery address, sealed.
    pub sealed_address: Option<&'a str>,
}

/// The one batch that writes `placement`: the key's answer (`response`, 201), the checkout,
/// its orders and lines, their timelines, the stock holds (refused by `stock`'s CHECK when
/// short) and the bought lines out of the member's cart. `Lost` when the key raced in first
/// or the stock ran out since it was read.
pub async fn place<D: Database>(
    db: &D,
    placement: &Placement,
    placer: Placer<'_>,
    response: &str,
) -> Result<Guarded<()>, StoreError> {
    let Placer { member, key, request_hash, sealed_address } = placer;
    let (store, now) = (placement.store_id.as_str(), placement.placed_at);
    let mut writes = vec![
        statement!(
            "INSERT INTO idempotency_keys (member_id, key, request_hash, status, response, created_at)
             VALUES (?1, ?2, ?3, 201, ?4, ?5)",
            member,
            key,
            request_hash,
            response,
            now.millis()
        ),
        statement!(
            "INSERT INTO checkouts (id, member_id, store_id, state, total_fen, address, hold_expires_at, created_at)
             VALUES (?1, ?2, ?3, 'awaiting_payment', ?4, ?5, ?6, ?7)",
            placement.checkout_id.as_str(),
            member,
            store,
            placement.total_fen.get(),
            sealed_address,
            placement.hold_expires_at.millis(),
            now.millis()
        ),
    ];
    let mut moves = Vec::new();
    let mut bought = Vec::new();
    for order in &placement.orders {
        let part = &order.part;
        writes.push(statement!(
            "INSERT INTO orders (id, checkout_id, member_id, store_id, fulfilment, shipper_id, state, goods_fen,
                                 shipping_fen, total_fen, platform_fee_bp, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'awaiting_payment', ?7, ?8, ?9, ?10, ?11)",
            order.id.as_str(),
            placement.checkout_id.as_str(),
            member,
            store,
            part.fulfilment.code(),
            part.shipper.as_ref().map(tandem_domain::catalog::SupplierId::as_str),
            part.goods_fen.get(),
            part.shipping_fen.get(),
            part.total_fen.get(),
            i64::from(placement.platform_fee.get()),
            now.millis()
        ));
        let mut lines = Vec::new();
        for (position, placed) in order.lines.iter().enumerate() {
            let line = &placed.line;
            moves.push(StockMove {
                location_id: &placed.location_id,
                sku_id: line.sku_id.as_str(),
                quantity: line.quantity,
            });
            bought.push(Bought { sku_id: line.sku_id.as_str(), fulfilment: line.fulfilment.code() });
            lines.push(LineRow {
                position,
                sku_id: line.sku_id.as_str(),
                product_id: placed.product_id.as_str(),
                supplier_id: line.supplier_id.as_str(),
                location_id: &placed.location_id,
                quantity: line.quantity,
                price_fen: line.price_fen.get(),
                supply_fen: line.supply_fen.get(),
                name_zh: &placed.name.zh,
                name_en: &placed.name.en,
                variant_zh: &placed.variant.zh,
                variant_en: &placed.variant.en,
            });
        }
        writes.push(statement!(
            "INSERT INTO order_lines (order_id, position, sku_id, product_id, supplier_id, location_id, quantity,
                                      price_fen, supply_fen, name_zh, name_en, variant_zh, variant_en)
             SELECT ?1, value ->> '$.position', value ->> '$.sku_id', value ->> '$.product_id',
                    value ->> '$.supplier_id', value ->> '$.location_id', value ->> '$.quantity',
                    value ->> '$.price_fen', value ->> '$.supply_fen', value ->> '$.name_zh', value ->> '$.name_en',
                    value ->> '$.variant_zh', value ->> '$.variant_en'
             FROM json_each(?2)",
            order.id.as_str(),
            serde_json::to_string(&lines).map_err(StoreError::failed)?
        ));
        writes.push(orders::event(&order.id, "place", OrderState::AwaitingPayment, "shopper", None, now));
    }
    writes.push(ledger::hold(&moves)?);
    writes.push(statement!(
        "DELETE FROM cart_lines WHERE cart_id = (SELECT id FROM carts WHERE member_id = ?1) AND store_id = ?2
           AND EXISTS (SELECT 1 FROM json_each(?3) j
                       WHERE j.value ->> '$.sku_id' = cart_lines.sku_id AND j.value ->> '$.fulfilment' = cart_lines.fulfilment)",
        member,
        store,
        serde_json::to_string(&bought).map_err(StoreError::failed)?
    ));
    Ok(sql::guarded(db, writes, RACE_GUARDS).await?.map(|_| ()))
}

#[cfg(test)]
mod tests {
    use tandem_domain::checkout::placing::{self, Refused, Terms};
    use tandem_domain::checkout::{CartLine, CheckoutRequest, ShippingPolicy};
    use tandem_domain::order::Fulfilment;

    use super::*;
    use crate::store::fixtures;
    use crate::store::sqlite::{Sqlite, block_on};

    const NOW: Timestamp = Timestamp(1_790_000_000_000);

    fn shelved() -> Sqlite {
        let db = fixtures::catalogue();
        fixtures::member(&db, "m-1", "CODE01", None);
        db.execute(&format!(
            "INSERT INTO shelf_items (store_id, sku_id, product_id, price_fen, listed_at) VALUES ('s-1', 'p-1-01', 'p-1', 250, '0');
             INSERT INTO sessions (token_hash, member_id, created_at, expires_at) VALUES ('{}', 'm-1', 0, {});",
            "t".repeat(64),
            NOW.plus_days(1).millis()
        ))
        .unwrap();
        db
    }

    fn request(quantity: i64) -> CheckoutRequest {
        let line = CartLine { sku_id: SkuId::parse("p-1-01").unwrap(), quantity, fulfilment: Fulfilment::Delivery };
        CheckoutRequest {
            store_id: tandem_domain::catalog::StoreId::parse("s-1").unwrap(),
            lines: vec![line],
            address: None,
        }
    }

    fn placement(read: &ForPlacing, quantity: i64, checkout: &str) -> Result<Placement, Refused> {
        let terms = Terms {
            shipping: ShippingPolicy::default(),
            platform_fee: read.pricing.platform_fee,
            hold_expires_at: NOW.plus_minutes(15),
        };
        let order = format!("o-{checkout}");
        placing::place(&request(quantity), true, &read.offers, terms, checkout.into(), vec![order], NOW)
    }

    #[test]
    fn a_placement_holds_its_stock_once_per_key_and_never_more_than_on_hand() {
        let db = shelved();
        let token = "t".repeat(64);
        let read = block_on(for_placing(&db, &token, NOW, "key-1", "s-1", &["p-1-01"])).unwrap();
        assert_eq!((read.member.as_deref(), read.kept.as_ref(), read.store_active), (Some("m-1"), None, Some(true)));
        assert_eq!(read.offers[0].delivery.as_ref().map(|s| s.available), Some(5));
        assert_eq!(read.offers[0].pickup, None, "the store has no stock location");
        let three = placement(&read, 3, "c-1").unwrap();
        let (h1, h2) = ("1".repeat(64), "2".repeat(64));
        let placer = Placer { member: "m-1", key: "key-1", request_hash: &h1, sealed_address: None };
        assert!(block_on(place(&db, &three, placer, "{}")).unwrap().written());
        // The same key again is refused whole by its UNIQUE.
        let again = placement(&read, 3, "c-2").unwrap();
        assert!(!block_on(place(&db, &again, placer, "{}")).unwrap().written());
        let (kept, offers) = block_on(after_refusal(&db, "m-1", "key-1", "s-1", &["p-1-01"])).unwrap();
        assert_eq!(kept.map(|k| (k.request_hash, k.status)), Some((h1.clone(), 201)));
        assert_eq!(offers[0].delivery.as_ref().map(|s| s.available), Some(2));
        // Another key for 3 more, placed on the stale read: the hold's CHECK refuses it.
        let stale = placement(&read, 3, "c-3").unwrap();
        let other = Placer { key: "key-2", ..placer };
        assert!(!block_on(place(&db, &stale, other, "{}")).unwrap().written());
        let fresh = block_on(for_placing(&db, &token, NOW, "key-2", "s-1", &["p-1-01"])).unwrap();
        assert!(matches!(placement(&fresh, 3, "c-3"), Err(Refused::OutOfStock { available: 2, .. })));
        // The refusal is kept as the key's answer; the first kept answer stays.
        let kept = block_on(keep_answer(&db, "m-1", "key-2", &h2, (409, "{\"error\":\"out_of_stock\"}"), NOW)).unwrap();
        assert_eq!(kept.map(|k| k.status), Some(409));
        let first = block_on(keep_answer(&db, "m-1", "key-2", &h2, (500, "{}"), NOW)).unwrap();
        assert_eq!(first.map(|k| k.status), Some(409));
        // No session: no member.
        let nobody = block_on(for_placing(&db, &"x".repeat(64), NOW, "key-3", "s-1", &["p-1-01"])).unwrap();
        assert_eq!(nobody.member, None);
    }
}
