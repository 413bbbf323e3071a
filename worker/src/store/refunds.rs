//! Refunds: what paying one reads (the order, its lines, the provider that took its money, its
//! rewards, the refund waiting for a decision) and the writes of what the domain decided
//! (`refund::request_refund`, `refund::pay_refund`): the refund row, the order's step, the
//! reversing ledger transaction, the rewards' cuts, the stock put back. One open refund per
//! order (a UNIQUE index) and every state change guarded by the state it was read in.

use serde::Deserialize;
use tandem_domain::chain21::settle::OrderRewards;
use tandem_domain::ledger::OrderMoney;
use tandem_domain::order::OrderState;
use tandem_domain::refund::{OrderToRefund, RefundAmount, RefundPaid, RefundRequested};
use tandem_domain::time::Timestamp;

use super::ledger::{self, MONEY_LINE_COLUMNS, MONEY_ORDER_COLUMNS, MoneyLine, MoneyOrder};
use super::orders::{self, Also};
use super::payments::{self, ProviderRow};
use super::rewards;
use super::sql::{self, Database, Statement, StoreError, statement};

/// Whose order a refund is read for: a store's pickup orders, a supplier's deliveries, or any
/// (the shopper's own, checked before).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whose<'a> {
    Any,
    Store(&'a str),
    Shipper(&'a str),
}

/// What paying a refund of one order reads.
#[derive(Debug, Clone)]
pub struct ForRefund {
    /// `None` when the order does not exist or is not `Whose`.
    pub order: Option<MoneyOrder>,
    pub lines: Vec<MoneyLine>,
    /// The provider of the payment that paid it; `None` before it is paid.
    pub provider: Option<String>,
    pub rewards: Option<OrderRewards>,
    /// The refund waiting for a decision, if one is.
    pub open: Option<String>,
}

impl ForRefund {
    fn order(&self) -> Result<&MoneyOrder, StoreError> {
        self.order.as_ref().ok_or_else(|| StoreError::failed("a refund's writes without its order"))
    }

    /// The paid order's money as the ledger needs it (a paid order without a succeeded
    /// payment is a defect).
    pub fn money(&self) -> Result<OrderMoney, StoreError> {
        let order = self.order()?;
        let provider = self
            .provider
            .as_deref()
            .ok_or_else(|| StoreError::failed(format!("paid order {} has no succeeded payment", order.id)))?;
        order.money(provider, &self.lines)
    }

    /// The order a refund is paid out of, for the domain: its state, `money` and rewards.
    pub fn to_refund<'a>(&'a self, money: &'a OrderMoney) -> Result<OrderToRefund<'a>, StoreError> {
        let order = self.order()?;
        Ok(OrderToRefund {
            order: order.machine()?,
            money,
            refundable: order.refundable(),
            rewards: self.rewards.as_ref(),
        })
    }
}

#[derive(Deserialize)]
struct IdRow {
    id: String,
}

/// Reads what a refund of order `id` needs, in one round trip.
pub async fn for_refund<D: Database>(db: &D, id: &str, whose: Whose<'_>) -> Result<ForRefund, StoreError> {
    let order = match whose {
        Whose::Any => statement!(format!("SELECT {MONEY_ORDER_COLUMNS} FROM orders WHERE id = ?1"), id),
        // A pickup order's refunds are the store's to decide, a delivery order's the supplier's.
        Whose::Store(store) => statement!(
            format!("SELECT {MONEY_ORDER_COLUMNS} FROM orders WHERE id = ?1 AND store_id = ?2 AND shipper_id IS NULL"),
            id,
            store
        ),
        Whose::Shipper(supplier) => statement!(
            format!("SELECT {MONEY_ORDER_COLUMNS} FROM orders WHERE id = ?1 AND shipper_id = ?2"),
            id,
            supplier
        ),
    };
    let mut statements = vec![
        order,
        statement!(format!("SELECT {MONEY_LINE_COLUMNS} FROM order_lines WHERE order_id = ?1 ORDER BY position"), id),
        payments::provider_of_order(id),
        statement!("SELECT id FROM refunds WHERE order_id = ?1 AND status = 'requested'", id),
    ];
    statements.extend(rewards::reads(id));
    let mut results = sql::run(db, statements).await?;
    Ok(ForRefund {
        order: results.first()?,
        lines: results.all()?,
        provider: results.first::<ProviderRow>()?.map(|p| p.provider),
        open: results.first::<IdRow>()?.map(|r| r.id),
        rewards: rewards::from_results(&mut results)?,
    })
}

/// The writes of a refund paid out of `order` as the domain decided: the order's step and
/// refunded totals, the reversing ledger transaction, the rewards' cuts, the stock put back
/// when the goods never left, and the timeline.
pub fn paid_writes(
    read: &ForRefund,
    before: OrderState,
    refund_id: &str,
    paid: &RefundPaid,
    actor: &str,
    now: Timestamp,
) -> Result<Vec<Statement>, StoreError> {
    let order = read.order()?;
    let also = Also { refunded: Some((paid.amount.goods_fen, paid.amount.shipping_fen)), ..Also::default() };
    let mut writes = vec![orders::moved(&order.id, before, &paid.after, &also)];
    writes.extend(ledger::post(
        &format!("t-{refund_id}"),
        "refund",
        &format!("refund:{refund_id}"),
        Some(&order.id),
        now,
        &paid.transaction,
    )?);
    if let (Some(rewards), Some(changes)) = (&read.rewards, &paid.rewards) {
        writes.extend(rewards::writes(rewards, changes, now)?);
    }
    if paid.restock {
        writes.push(ledger::restock(&ledger::moves_of(&read.lines, Some(&order.id)))?);
    }
    let note = format!("{} fen", paid.amount.goods_fen.get() + paid.amount.shipping_fen.get());
    writes.push(orders::event(&order.id, "refund", paid.after.state, actor, Some(&note), now));
    Ok(writes)
}

/// The writes of the shopper's request for refund `refund_id` of `order` (read in state
/// `before`), with `reason`: the refund row (approved at once when the domain paid it), the
/// order's step and timeline, and what paying it writes.
pub fn request_writes(
    read: &ForRefund,
    before: OrderState,
    refund_id: &str,
    reason: &str,
    requested: &RefundRequested,
    now: Timestamp,
) -> Result<Vec<Statement>, StoreError> {
    let order = read.order()?;
    let amount = requested.paid.as_ref().map(|p| p.amount);
    let mut writes = vec![
        orders::moved(&order.id, before, &requested.requested, &Also::default()),
        statement!(
            "INSERT INTO refunds (id, order_id, status, reason, goods_fen, shipping_fen, requested_at, decided_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            refund_id,
            &order.id,
            if amount.is_some() { "approved" } else { "requested" },
            reason,
            amount.map_or(0, |a| a.goods_fen.get()),
            amount.map_or(0, |a| a.shipping_fen.get()),
            now.millis(),
            amount.map(|_| now.millis())
        ),
        orders::event(
            &order.id,
            "request_refund",
            requested.requested.state,
            "shopper",
            Some(reason).filter(|r| !r.is_empty()),
            now,
        ),
    ];
    if let Some(paid) = &requested.paid {
        writes.extend(paid_writes(read, requested.requested.state, refund_id, paid, "system", now)?);
    }
    Ok(writes)
}

/// The open refund `id` approved for `amount`, guarded by its being open.
pub fn approve(id: &str, amount: RefundAmount, now: Timestamp) -> Statement {
    statement!(
        "UPDATE refunds SET status = CASE WHEN status = 'requested' THEN 'approved' END, goods_fen = ?2,
                shipping_fen = ?3, decided_at = ?4
         WHERE id = ?1",
        id,
        amount.goods_fen.get(),
        amount.shipping_fen.get(),
        now.millis()
    )
}

/// The open refund `id` rejected, guarded by its being open.
pub fn reject(id: &str, now: Timestamp) -> Statement {
    statement!(
        "UPDATE refunds SET status = CASE WHEN status = 'requested' THEN 'rejected' END, decided_at = ?2 WHERE id = ?1",
        id,
        now.millis()
    )
}

#[cfg(test)]
mod tests {
    use tandem_domain::order::OrderPolicy;
    use tandem_domain::refund::{self, OrderToRefund};

    use super::*;
    use crate::store::fixtures;
    use crate::store::sql::RACE_GUARDS;
    use crate::store::sqlite::{Sqlite, block_on};

    const NOW: Timestamp = Timestamp(1_790_000_000_000);

    #[derive(Debug, Deserialize, PartialEq)]
    struct After {
        state: String,
        refunded_goods_fen: i64,
        on_hand: i64,
        refunds: i64,
        credited_fen: i64,
    }

    /// m-b's delivery order o-1 (two cups, 500 fen), paid by `dev`, the two units sold.
    fn paid() -> Sqlite {
        let db = fixtures::catalogue();
        fixtures::member(&db, "m-b", "CODEB1", None);
        fixtures::order(&db, "o-1", "m-b", "paid", 2);
        db.execute(
            "UPDATE checkouts SET state = 'paid' WHERE id = 'co-o-1';
             UPDATE stock SET on_hand = 3 WHERE sku_id = 'p-1-01';
             INSERT INTO payments (id, checkout_id, provider, amount_fen, status, created_at)
                 VALUES ('pay-1', 'co-o-1', 'dev', 500, 'succeeded', 0);",
        )
        .unwrap();
        db
    }

    fn request(db: &Sqlite, refund_id: &str) -> bool {
        let read = block_on(for_refund(db, "o-1", Whose::Any)).unwrap();
        let order = read.order.clone().unwrap();
        let money = order.money(read.provider.as_deref().unwrap(), &read.lines).unwrap();
        let machine = order.machine().unwrap();
        let to_refund = OrderToRefund { order: machine, money: &money, refundable: order.refundable(), rewards: None };
        let Ok(requested) = refund::request_refund(&to_refund, refund_id, OrderPolicy::default(), NOW) else {
            return false;
        };
        let writes = request_writes(&read, machine.state, refund_id, "broken", &requested, NOW).unwrap();
        block_on(sql::guarded(db, writes, RACE_GUARDS)).unwrap().written()
    }

    fn after(db: &Sqlite) -> After {
        let read = statement!(
            "SELECT state, refunded_goods_fen, (SELECT on_hand FROM stock WHERE sku_id = 'p-1-01') AS on_hand,
                    (SELECT count(*) FROM refunds WHERE order_id = 'o-1') AS refunds,
                    (SELECT coalesce(sum(credit_fen), 0) FROM ledger_entries WHERE account = 'clearing:dev') AS credited_fen
             FROM orders WHERE id = 'o-1'"
        );
        block_on(sql::run(db, vec![read])).unwrap().first().unwrap().unwrap()
    }

    #[test]
    fn a_request_before_hand_over_refunds_everything_once_and_restocks() {
        let db = paid();
        assert!(request(&db, "r-1"));
        assert_eq!(
            after(&db),
            After { state: "refunded".into(), refunded_goods_fen: 500, on_hand: 5, refunds: 1, credited_fen: 500 }
        );
        // A second request read the order refunded: the domain refuses it, nothing is written.
        assert!(!request(&db, "r-2"));
        assert_eq!(after(&db).refunds, 1);
    }

    #[test]
    fn after_delivery_the_request_waits_and_only_one_is_open() {
        let db = paid();
        db.execute("UPDATE orders SET state = 'delivered', handed_over_at = 0 WHERE id = 'o-1'").unwrap();
        assert!(request(&db, "r-1"));
        let read = block_on(for_refund(&db, "o-1", Whose::Shipper("sup-a"))).unwrap();
        assert_eq!(read.open.as_deref(), Some("r-1"));
        assert!(
            block_on(for_refund(&db, "o-1", Whose::Store("s-1"))).unwrap().order.is_none(),
            "a delivery is the supplier's"
        );
        assert_eq!(
            after(&db),
            After { state: "refund_requested".into(), refunded_goods_fen: 0, on_hand: 3, refunds: 1, credited_fen: 0 }
        );
        // Approving part of it: the goods stay sold.
        let order = read.order.clone().unwrap();
        let money = order.money("dev", &read.lines).unwrap();
        let machine = order.machine().unwrap();
        let to_refund = OrderToRefund { order: machine, money: &money, refundable: order.refundable(), rewards: None };
        let amount =
            RefundAmount { goods_fen: tandem_domain::money::Fen(200), shipping_fen: tandem_domain::money::Fen(0) };
        let paid = refund::pay_refund(&to_refund, "r-1", amount, false, OrderPolicy::default(), NOW).unwrap();
        let mut writes = vec![approve("r-1", amount, NOW)];
        writes.extend(paid_writes(&read, machine.state, "r-1", &paid, "supplier", NOW).unwrap());
        assert!(block_on(sql::guarded(&db, writes.clone(), RACE_GUARDS)).unwrap().written());
        assert!(!block_on(sql::guarded(&db, writes, RACE_GUARDS)).unwrap().written(), "decided once");
        let now = after(&db);
        assert_eq!((now.state.as_str(), now.refunded_goods_fen, now.on_hand), ("partially_refunded", 200, 3));
    }
}
