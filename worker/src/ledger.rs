//! Storing the domain's ledger transactions, and the statements that move stock, written so
//! they can join any batch: each is one statement whatever the number of rows, with the rows
//! passed as one JSON parameter (D1 allows at most 100 bound values per statement).

use serde_json::json;
use tandem_domain::catalog::{StoreId, SupplierId};
use tandem_domain::ledger::{OrderMoney, Side, Transaction};
use tandem_domain::money::{BasisPoints, Fen};
use tandem_domain::order::{Fulfilment, Order, OrderState};
use tandem_domain::refund::Refundable;
use tandem_domain::time::Timestamp;
use worker::{D1Database, D1PreparedStatement};

use crate::db;
use crate::error::ApiError;

/// The two statements that store `transaction`: its header, whose `ref` is UNIQUE so the same
/// cause is never posted twice, and its entries.
pub fn post(
    db: &D1Database,
    id: &str,
    kind: &str,
    reference: &str,
    order_id: Option<&str>,
    at: Timestamp,
    transaction: &Transaction,
) -> Result<Vec<D1PreparedStatement>, ApiError> {
    if transaction.imbalance() != 0 {
        return Err(ApiError::internal(format!("unbalanced {kind} transaction {reference}")));
    }
    let entries: Vec<_> = transaction
        .entries
        .iter()
        .map(|entry| {
            let (debit, credit) = match entry.side {
                Side::Debit => (entry.amount_fen.get(), 0),
                Side::Credit => (0, entry.amount_fen.get()),
            };
            json!([entry.account.to_string(), debit, credit])
        })
        .collect();
    Ok(vec![
        db::prepare(
            db,
            "INSERT INTO ledger_transactions (id, kind, ref, order_id, at) VALUES (?1, ?2, ?3, ?4, ?5)",
            &[db::text(id), db::text(kind), db::text(reference), db::optional_text(order_id), db::integer(at.millis())],
        )?,
        db::prepare(
            db,
            "INSERT INTO ledger_entries (transaction_id, position, account, debit_fen, credit_fen)
             SELECT ?1, key, value ->> '$[0]', value ->> '$[1]', value ->> '$[2]' FROM json_each(?2)",
            &[db::text(id), db::text(&serde_json::Value::Array(entries).to_string())],
        )?,
    ])
}

/// One stock row and a number of units.
pub struct StockMove<'a> {
    pub location_id: &'a str,
    pub sku_id: &'a str,
    pub quantity: i64,
}

fn moves_json(moves: &[StockMove<'_>]) -> String {
    serde_json::Value::Array(
        moves.iter().map(|m| json!({"loc": m.location_id, "sku": m.sku_id, "q": m.quantity})).collect(),
    )
    .to_string()
}

/// One statement applying `sql_set` (which reads the move's units as `q`) to every moved row.
fn stock_statement(db: &D1Database, set: &str, moves: &[StockMove<'_>]) -> Result<D1PreparedStatement, ApiError> {
    let sql = format!(
        "WITH moves AS (SELECT value ->> '$.loc' AS loc, value ->> '$.sku' AS sku, value ->> '$.q' AS q FROM json_each(?1))
         UPDATE stock SET {set}
         FROM moves WHERE stock.location_id = moves.loc AND stock.sku_id = moves.sku"
    );
    db::prepare(db, &sql, &[db::text(&moves_json(moves))])
}

/// Holds units for a checkout. `stock`'s CHECK refuses a hold beyond what is on hand, which
/// fails the whole batch: stock is never oversold.
pub fn hold(db: &D1Database, moves: &[StockMove<'_>]) -> Result<D1PreparedStatement, ApiError> {
    stock_statement(db, "reserved = reserved + moves.q", moves)
}

/// Gives held units back (a cancelled or expired checkout).
pub fn release(db: &D1Database, moves: &[StockMove<'_>]) -> Result<D1PreparedStatement, ApiError> {
    stock_statement(db, "reserved = reserved - moves.q", moves)
}

/// Turns held units into sold ones (a paid checkout): they leave the shelf.
pub fn commit(db: &D1Database, moves: &[StockMove<'_>]) -> Result<D1PreparedStatement, ApiError> {
    stock_statement(db, "on_hand = on_hand - moves.q, reserved = reserved - moves.q", moves)
}

/// Puts sold units back on hand (a refund before the goods left the seller).
pub fn restock(db: &D1Database, moves: &[StockMove<'_>]) -> Result<D1PreparedStatement, ApiError> {
    stock_statement(db, "on_hand = on_hand + moves.q", moves)
}

/// One stored order line as far as money is concerned.
#[derive(serde::Deserialize)]
pub struct MoneyLine {
    pub order_id: String,
    pub supplier_id: String,
    pub location_id: String,
    pub sku_id: String,
    pub quantity: i64,
    pub supply_fen: i64,
}

/// The columns of [`MoneyLine`], for `SELECT`s over `order_lines`.
pub const MONEY_LINE_COLUMNS: &str = "order_id, supplier_id, location_id, sku_id, quantity, supply_fen";

/// One stored order as far as money is concerned.
#[derive(Clone, serde::Deserialize)]
pub struct MoneyOrder {
    pub id: String,
    pub store_id: String,
    pub fulfilment: String,
    pub shipper_id: Option<String>,
    pub goods_fen: i64,
    pub shipping_fen: i64,
    pub refunded_goods_fen: i64,
    pub refunded_shipping_fen: i64,
    pub platform_fee_bp: i64,
    pub state: String,
    pub state_before_refund: Option<String>,
    pub handed_over_at: Option<i64>,
    pub completed_at: Option<i64>,
}

/// The columns of [`MoneyOrder`], for `SELECT`s over `orders`.
pub const MONEY_ORDER_COLUMNS: &str = "id, store_id, fulfilment, shipper_id, goods_fen, shipping_fen,
    refunded_goods_fen, refunded_shipping_fen, platform_fee_bp, state, state_before_refund, handed_over_at, completed_at";

impl MoneyOrder {
    pub fn fulfilment(&self) -> Fulfilment {
        if self.fulfilment == "pickup" { Fulfilment::Pickup } else { Fulfilment::Delivery }
    }

    /// The order as the domain's state machine sees it.
    pub fn machine(&self) -> Result<Order, ApiError> {
        let state = |code: &str| db::stored(OrderState::parse(code).ok_or(format!("unknown order state {code}")));
        Ok(Order {
            fulfilment: self.fulfilment(),
            state: state(&self.state)?,
            state_before_refund: self.state_before_refund.as_deref().map(state).transpose()?,
            handed_over_at: self.handed_over_at.map(Timestamp),
            completed_at: self.completed_at.map(Timestamp),
        })
    }

    pub fn refundable(&self) -> Refundable {
        Refundable {
            goods_fen: Fen(self.goods_fen),
            shipping_fen: Fen(self.shipping_fen),
            refunded_goods_fen: Fen(self.refunded_goods_fen),
            refunded_shipping_fen: Fen(self.refunded_shipping_fen),
        }
    }

    /// What the ledger needs of this order, with its lines' supply cost per supplier.
    pub fn money(&self, provider: &str, lines: &[MoneyLine]) -> Result<OrderMoney, ApiError> {
        let mut supply: Vec<(SupplierId, Fen)> = Vec::new();
        for line in lines.iter().filter(|line| line.order_id == self.id) {
            let amount =
                Fen(line.supply_fen).checked_mul(line.quantity).ok_or_else(|| ApiError::internal("supply overflow"))?;
            let supplier = db::stored(SupplierId::parse(&line.supplier_id))?;
            match supply.iter_mut().find(|(s, _)| *s == supplier) {
                Some((_, sum)) => *sum = *sum + amount,
                None => supply.push((supplier, amount)),
            }
        }
        Ok(OrderMoney {
            store: db::stored(StoreId::parse(&self.store_id))?,
            provider: provider.to_owned(),
            goods_fen: Fen(self.goods_fen),
            shipping_fen: Fen(self.shipping_fen),
            shipper: self.shipper_id.as_deref().map(SupplierId::parse).transpose().map_err(ApiError::internal)?,
            supply,
            platform_fee: db::stored(BasisPoints::new(u32::try_from(self.platform_fee_bp).unwrap_or(u32::MAX)))?,
        })
    }
}

/// The stock moves of an order's lines.
pub fn moves_of<'a>(lines: &'a [MoneyLine], order_id: Option<&str>) -> Vec<StockMove<'a>> {
    lines
        .iter()
        .filter(|line| order_id.is_none_or(|id| line.order_id == id))
        .map(|line| StockMove { location_id: &line.location_id, sku_id: &line.sku_id, quantity: line.quantity })
        .collect()
}
