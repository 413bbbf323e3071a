//! Orders as the shopper and the consoles see them: a page of a scope's orders with their lines
//! (and one order's timeline), in one round trip; the sealed delivery addresses of orders; and
//! the money rows of one order found by its pickup code or its buyer.

use serde::Deserialize;
use tandem_domain::catalog::{ProductId, SkuId, StoreId, SupplierId, Text};
use tandem_domain::money::Fen;
use tandem_domain::order::{Fulfilment, OrderState};
use tandem_domain::time::Timestamp;
use tandem_domain::views::{OrderLineView, OrderView, TimelineEntry};

use super::ledger::{MONEY_ORDER_COLUMNS, MoneyOrder};
use super::sql::{self, Database, StoreError, statement, stored};

/// Whose orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// A shopper's: every order they placed.
    Member(&'a str),
    /// A store's: the paid ones.
    Store(&'a str),
    /// A shipping supplier's: the paid ones.
    Shipper(&'a str),
}

impl Scope<'_> {
    fn condition(self) -> (&'static str, String) {
        match self {
            Scope::Member(id) => ("o.member_id = ?1", id.to_owned()),
            Scope::Store(id) => ("o.store_id = ?1 AND o.state NOT IN ('awaiting_payment', 'cancelled')", id.to_owned()),
            Scope::Shipper(id) => {
                ("o.shipper_id = ?1 AND o.state NOT IN ('awaiting_payment', 'cancelled')", id.to_owned())
            }
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

/// Which orders of a scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page<'a> {
    /// Only this order (the detail view, with its timeline).
    pub only: Option<&'a str>,
    /// Orders placed before this one.
    pub before: Option<&'a str>,
    pub limit: u32,
}

impl<'a> Page<'a> {
    pub fn one(id: &'a str) -> Self {
        Page { only: Some(id), before: None, limit: 1 }
    }
}

/// The orders of `scope`, newest first. One round trip.
pub async fn list<D: Database>(db: &D, scope: Scope<'_>, page: Page<'_>) -> Result<Vec<OrderView>, StoreError> {
    let (condition, id) = scope.condition();
    let filter = format!(
        "{condition} AND (?2 IS NULL OR o.id = ?2)
         AND (?3 IS NULL OR (o.created_at, o.id) < (SELECT created_at, id FROM orders WHERE id = ?3))"
    );
    let ids = format!("SELECT o.id FROM orders o WHERE {filter} ORDER BY o.created_at DESC, o.id DESC LIMIT ?4");
    let read = |sql: String| statement!(sql, id.as_str(), page.only, page.before, i64::from(page.limit));
    let mut results = sql::run(
        db,
        vec![
            read(format!("SELECT {ORDER_COLUMNS} WHERE {filter} ORDER BY o.created_at DESC, o.id DESC LIMIT ?4")),
            read(format!(
                "SELECT order_id, sku_id, product_id, name_zh, name_en, variant_zh, variant_en, quantity, price_fen
                 FROM order_lines WHERE order_id IN ({ids}) ORDER BY order_id, position"
            )),
            read(format!(
                "SELECT order_id, event, state, actor, note, at FROM order_events
                 WHERE ?2 IS NOT NULL AND order_id IN ({ids}) ORDER BY id"
            )),
        ],
    )
    .await?;
    let orders: Vec<OrderRow> = results.all()?;
    let lines: Vec<LineRow> = results.all()?;
    let events: Vec<EventRow> = results.all()?;
    orders.into_iter().map(|row| view(row, &lines, &events)).collect()
}

/// One order of `scope`, with its timeline.
pub async fn one<D: Database>(db: &D, scope: Scope<'_>, id: &str) -> Result<Option<OrderView>, StoreError> {
    Ok(list(db, scope, Page::one(id)).await?.into_iter().next())
}

fn state(code: &str) -> Result<OrderState, StoreError> {
    stored(OrderState::parse(code).ok_or_else(|| format!("order state {code}")))
}

fn view(row: OrderRow, lines: &[LineRow], events: &[EventRow]) -> Result<OrderView, StoreError> {
    Ok(OrderView {
        lines: lines
            .iter()
            .filter(|line| line.order_id == row.id)
            .map(|line| {
                Ok(OrderLineView {
                    sku_id: stored(SkuId::parse(&line.sku_id))?,
                    product_id: stored(ProductId::parse(&line.product_id))?,
                    name: Text { zh: line.name_zh.clone(), en: line.name_en.clone() },
                    variant: Text { zh: line.variant_zh.clone(), en: line.variant_en.clone() },
                    quantity: line.quantity,
                    price_fen: Fen(line.price_fen),
                })
            })
            .collect::<Result<_, StoreError>>()?,
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
            .collect::<Result<_, StoreError>>()?,
        state: state(&row.state)?,
        fulfilment: stored(Fulfilment::parse(&row.fulfilment).ok_or("an unknown fulfilment"))?,
        store_id: stored(StoreId::parse(&row.store_id))?,
        store_name: Text { zh: row.store_zh, en: row.store_en },
        shipper_id: row.shipper_id.as_deref().map(SupplierId::parse).transpose().map_err(StoreError::failed)?,
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

/// The sealed delivery address of each of `orders` that has one, by order id.
pub async fn sealed_addresses<D: Database>(db: &D, orders: &[&str]) -> Result<Vec<(String, String)>, StoreError> {
    #[derive(Deserialize)]
    struct Row {
        id: String,
        address: Option<String>,
    }
    let read = statement!(
        "SELECT o.id, c.address FROM orders o JOIN checkouts c ON c.id = o.checkout_id
         WHERE o.id IN (SELECT value FROM json_each(?1))",
        serde_json::to_string(orders).map_err(StoreError::failed)?
    );
    let rows: Vec<Row> = sql::run(db, vec![read]).await?.all()?;
    Ok(rows.into_iter().filter_map(|row| row.address.map(|address| (row.id, address))).collect())
}

/// The money rows of the order of `store` whose pickup code is `code`.
pub async fn by_pickup_code<D: Database>(db: &D, store: &str, code: &str) -> Result<Option<MoneyOrder>, StoreError> {
    let read = statement!(
        format!("SELECT {MONEY_ORDER_COLUMNS} FROM orders WHERE store_id = ?1 AND pickup_code = ?2"),
        store,
        code
    );
    sql::run(db, vec![read]).await?.first()
}

/// The money rows of `member`'s order `id`.
pub async fn of_member<D: Database>(db: &D, member: &str, id: &str) -> Result<Option<MoneyOrder>, StoreError> {
    let read =
        statement!(format!("SELECT {MONEY_ORDER_COLUMNS} FROM orders WHERE id = ?1 AND member_id = ?2"), id, member);
    sql::run(db, vec![read]).await?.first()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixtures;
    use crate::store::sqlite::block_on;

    #[test]
    fn a_scope_sees_its_own_orders_and_a_console_only_the_paid_ones() {
        let db = fixtures::catalogue();
        fixtures::member(&db, "m-1", "CODE01", None);
        fixtures::member(&db, "m-2", "CODE02", None);
        fixtures::order(&db, "o-1", "m-1", "awaiting_payment", 1);
        fixtures::order(&db, "o-2", "m-1", "paid", 2);
        fixtures::order(&db, "o-3", "m-2", "paid", 1);
        db.execute(
            "UPDATE orders SET created_at = 1 WHERE id = 'o-2'; UPDATE orders SET created_at = 2 WHERE id = 'o-3'",
        )
        .unwrap();
        let page = Page { only: None, before: None, limit: 20 };
        let ids = |orders: Vec<OrderView>| orders.into_iter().map(|o| o.id).collect::<Vec<_>>();
        assert_eq!(ids(block_on(list(&db, Scope::Member("m-1"), page)).unwrap()), ["o-2", "o-1"]);
        assert_eq!(ids(block_on(list(&db, Scope::Store("s-1"), page)).unwrap()), ["o-3", "o-2"]);
        assert_eq!(ids(block_on(list(&db, Scope::Shipper("sup-a"), page)).unwrap()), ["o-3", "o-2"]);
        let older = Page { before: Some("o-3"), ..page };
        assert_eq!(ids(block_on(list(&db, Scope::Store("s-1"), older)).unwrap()), ["o-2"]);
        // Another member's order is not found, not shown.
        assert_eq!(block_on(one(&db, Scope::Member("m-2"), "o-2")).unwrap(), None);
        let mine = block_on(one(&db, Scope::Member("m-1"), "o-2")).unwrap().unwrap();
        assert_eq!((mine.lines.len(), mine.lines[0].quantity, mine.total_fen), (1, 2, Fen(500)));
        assert!(block_on(of_member(&db, "m-2", "o-2")).unwrap().is_none());
        assert!(block_on(of_member(&db, "m-1", "o-2")).unwrap().is_some());
        assert_eq!(block_on(sealed_addresses(&db, &["o-1", "o-2"])).unwrap(), []);
    }
}
