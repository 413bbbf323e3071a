//! Orders as the state machine moves them: every change of an order's state is written by
//! [`moved`], guarded by the state it was read in, with the fields the domain's
//! [`Order`] carries taken from the order the domain answered; and each step goes on the
//! order's timeline ([`event`]).

use tandem_domain::money::Fen;
use tandem_domain::order::{Order, OrderState};
use tandem_domain::time::Timestamp;

use serde::Deserialize;

use super::ledger::{self, MONEY_LINE_COLUMNS, MONEY_ORDER_COLUMNS, MoneyLine, MoneyOrder};
use super::sql::{self, Database, Statement, StoreError, Value, statement};

/// What else a step writes on the order beside its state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Also<'a> {
    /// Paid: when, and the pickup code of a pickup order.
    pub paid: Option<(Timestamp, Option<&'a str>)>,
    /// Shipped: carrier and tracking number.
    pub shipped: Option<(&'a str, &'a str)>,
    /// Refunded: goods and shipping this refund returns, added to what was refunded before.
    pub refunded: Option<(Fen, Fen)>,
}

/// The statement that moves order `id` from the state it was read in (`before`) to `after`,
/// as the domain decided: NULL, refused by `orders.state`'s NOT NULL, when the order moved on
/// meanwhile, so the whole batch writes nothing.
pub fn moved(id: &str, before: OrderState, after: &Order, also: &Also<'_>) -> Statement {
    let mut sql = String::from(
        "UPDATE orders SET state = CASE WHEN state = ?2 THEN ?3 END, state_before_refund = ?4, handed_over_at = ?5,
                completed_at = ?6",
    );
    let mut values: Vec<Value> = vec![
        id.into(),
        before.code().into(),
        after.state.code().into(),
        after.state_before_refund.map(OrderState::code).into(),
        after.handed_over_at.map(Timestamp::millis).into(),
        after.completed_at.map(Timestamp::millis).into(),
    ];
    let mut set = |column: &str, value: Value| {
        values.push(value);
        sql.push_str(&format!(", {column} = ?{}", values.len()));
    };
    if let Some((at, code)) = also.paid {
        set("paid_at", at.millis().into());
        set("pickup_code", code.into());
    }
    if let Some((carrier, tracking_no)) = also.shipped {
        set("carrier", carrier.into());
        set("tracking_no", tracking_no.into());
    }
    if let Some((goods, shipping)) = also.refunded {
        values.push(goods.get().into());
        sql.push_str(&format!(", refunded_goods_fen = refunded_goods_fen + ?{}", values.len()));
        values.push(shipping.get().into());
        sql.push_str(&format!(", refunded_shipping_fen = refunded_shipping_fen + ?{}", values.len()));
    }
    sql.push_str(" WHERE id = ?1");
    Statement::new(sql, values)
}

/// A step on an order's timeline.
pub fn event(
    order_id: &str,
    event: &str,
    state: OrderState,
    actor: &str,
    note: Option<&str>,
    at: Timestamp,
) -> Statement {
    statement!(
        "INSERT INTO order_events (order_id, event, state, actor, note, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        order_id,
        event,
        state.code(),
        actor,
        note,
        at.millis()
    )
}

/// What cancelling an unpaid checkout reads: its orders and their lines.
pub async fn for_release<D: Database>(
    db: &D,
    checkout_id: &str,
) -> Result<(Vec<MoneyOrder>, Vec<MoneyLine>), StoreError> {
    let mut results = sql::run(
        db,
        vec![
            statement!(
                format!("SELECT {MONEY_ORDER_COLUMNS} FROM orders WHERE checkout_id = ?1 ORDER BY id"),
                checkout_id
            ),
            statement!(
                format!(
                    "SELECT {MONEY_LINE_COLUMNS} FROM order_lines
                     WHERE order_id IN (SELECT id FROM orders WHERE checkout_id = ?1) ORDER BY order_id, position"
                ),
                checkout_id
            ),
        ],
    )
    .await?;
    Ok((results.all()?, results.all()?))
}

/// The writes of cancelling unpaid checkout `checkout_id`: the checkout closed (guarded by its
/// being unpaid), its holds released, and each order moved as the domain decided (`cancelled`:
/// id, state read, order after) with its timeline step.
pub fn release_writes(
    checkout_id: &str,
    lines: &[MoneyLine],
    cancelled: &[(&str, OrderState, Order)],
    event_name: &str,
    actor: &str,
    now: Timestamp,
) -> Result<Vec<Statement>, StoreError> {
    let mut writes = vec![
        statement!(
            "UPDATE checkouts SET state = CASE WHEN state = 'awaiting_payment' THEN 'cancelled' END, closed_at = ?2
             WHERE id = ?1",
            checkout_id,
            now.millis()
        ),
        ledger::release(&ledger::moves_of(lines, None))?,
    ];
    for (id, before, after) in cancelled {
        writes.push(moved(id, *before, after, &Also::default()));
        writes.push(event(id, event_name, after.state, actor, None, now));
    }
    Ok(writes)
}

/// Unpaid checkouts whose hold ran out by `now`, oldest first, at most 200.
pub async fn expired_checkouts<D: Database>(
    db: &D,
    buyer: Option<&str>,
    now: Timestamp,
) -> Result<Vec<String>, StoreError> {
    #[derive(Deserialize)]
    struct Id {
        id: String,
    }
    let read = statement!(
        "SELECT id FROM checkouts WHERE state = 'awaiting_payment' AND hold_expires_at <= ?1
             AND (?2 IS NULL OR member_id = ?2)
         ORDER BY hold_expires_at LIMIT 200",
        now.millis(),
        buyer
    );
    Ok(sql::run(db, vec![read]).await?.all::<Id>()?.into_iter().map(|r| r.id).collect())
}

/// Orders handed over (picked up or delivered) by `due`, oldest first, at most 200.
pub async fn handed_over_by<D: Database>(
    db: &D,
    buyer: Option<&str>,
    due: Timestamp,
) -> Result<Vec<MoneyOrder>, StoreError> {
    let read = statement!(
        format!(
            "SELECT {MONEY_ORDER_COLUMNS} FROM orders WHERE state IN ('picked_up', 'delivered') AND handed_over_at <= ?1
                 AND (?2 IS NULL OR member_id = ?2)
             ORDER BY handed_over_at LIMIT 200"
        ),
        due.millis(),
        buyer
    );
    sql::run(db, vec![read]).await?.all()
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use tandem_domain::order::{Fulfilment, OrderEvent, OrderPolicy};

    use super::*;
    use crate::store::sql::{self, Constraint, Guarded, RACE_GUARDS};
    use crate::store::sqlite::{Sqlite, block_on};

    const NOW: Timestamp = Timestamp(1_790_000_000_000);

    #[derive(Deserialize)]
    struct Count {
        n: i64,
    }

    /// A paid-for-nothing-yet pickup order of 100 fen in store s-1.
    fn with_order() -> Sqlite {
        let db = Sqlite::migrated().unwrap();
        db.execute(&format!(
            "INSERT INTO stores (id, name_zh, name_en, city_zh, city_en, address_zh, address_en, created_at)
                 VALUES ('s-1', '店', 'Store', '上海', 'Shanghai', '路', 'Road', '0');
             INSERT INTO members (id, phone_hash, phone_enc, created_at) VALUES ('m-1', '{}', 'x', 0);
             INSERT INTO checkouts (id, member_id, store_id, state, total_fen, hold_expires_at, created_at)
                 VALUES ('co-1', 'm-1', 's-1', 'awaiting_payment', 100, 1, 0);
             INSERT INTO orders (id, checkout_id, member_id, store_id, fulfilment, state, goods_fen, shipping_fen,
                                 total_fen, platform_fee_bp, created_at)
                 VALUES ('o-1', 'co-1', 'm-1', 's-1', 'pickup', 'awaiting_payment', 100, 0, 100, 500, 0);",
            "a".repeat(64)
        ))
        .unwrap();
        db
    }

    #[test]
    fn the_jobs_find_what_is_due_for_everyone_or_for_one_buyer() {
        let db = with_order();
        db.execute(&format!(
            "INSERT INTO members (id, phone_hash, phone_enc, created_at) VALUES ('m-2', '{}', 'x', 0);
             INSERT INTO checkouts (id, member_id, store_id, state, total_fen, hold_expires_at, created_at)
                 VALUES ('co-2', 'm-2', 's-1', 'awaiting_payment', 100, 5, 0);
             UPDATE orders SET state = 'picked_up', handed_over_at = 10 WHERE id = 'o-1';",
            "b".repeat(64)
        ))
        .unwrap();
        assert_eq!(block_on(expired_checkouts(&db, None, Timestamp(1))).unwrap(), ["co-1"]);
        assert_eq!(block_on(expired_checkouts(&db, None, Timestamp(5))).unwrap(), ["co-1", "co-2"]);
        assert_eq!(block_on(expired_checkouts(&db, Some("m-2"), Timestamp(5))).unwrap(), ["co-2"]);
        assert!(block_on(expired_checkouts(&db, Some("m-3"), Timestamp(5))).unwrap().is_empty());
        let handed = |buyer, due| block_on(handed_over_by(&db, buyer, Timestamp(due))).unwrap().len();
        assert_eq!((handed(None, 9), handed(None, 10), handed(Some("m-1"), 10), handed(Some("m-2"), 10)), (0, 1, 1, 0));
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Row {
        state: String,
        state_before_refund: Option<String>,
        pickup_code: Option<String>,
        refunded_goods_fen: i64,
    }

    fn row(db: &Sqlite) -> Row {
        let read = statement!(
            "SELECT state, state_before_refund, pickup_code, refunded_goods_fen FROM orders WHERE id = 'o-1'"
        );
        block_on(sql::run(db, vec![read])).unwrap().first().unwrap().unwrap()
    }

    fn step(db: &Sqlite, order: Order, event: OrderEvent, also: &Also<'_>) -> Result<Order, Constraint> {
        let next = order.apply(event, NOW, OrderPolicy::default()).unwrap();
        let writes = vec![
            moved("o-1", order.state, &next, also),
            super::event("o-1", event.code(), next.state, "system", None, NOW),
        ];
        match block_on(sql::guarded(db, writes, RACE_GUARDS)).unwrap() {
            Guarded::Written(_) => Ok(next),
            Guarded::Lost(constraint) => Err(constraint),
        }
    }

    #[test]
    fn an_order_moves_as_the_domain_says_and_only_from_the_state_it_was_read_in() {
        let db = with_order();
        let unpaid = Order {
            fulfilment: Fulfilment::Pickup,
            state: OrderState::AwaitingPayment,
            state_before_refund: None,
            handed_over_at: None,
            completed_at: None,
        };
        let paid = step(&db, unpaid, OrderEvent::Pay, &Also { paid: Some((NOW, Some("12345678"))), ..Also::default() })
            .unwrap();
        assert_eq!(row(&db).pickup_code.as_deref(), Some("12345678"));
        // A second payment read the order unpaid too: its step is refused whole.
        let again = step(&db, unpaid, OrderEvent::Pay, &Also::default());
        assert_eq!(again, Err(Constraint::NotNull("orders.state".into())));
        let asked = step(&db, paid, OrderEvent::RequestRefund, &Also::default()).unwrap();
        assert_eq!(row(&db).state_before_refund.as_deref(), Some("paid"));
        step(
            &db,
            asked,
            OrderEvent::Refund { whole: false },
            &Also { refunded: Some((Fen(40), Fen(0))), ..Also::default() },
        )
        .unwrap();
        assert_eq!(
            row(&db),
            Row {
                state: "partially_refunded".into(),
                state_before_refund: None,
                pickup_code: Some("12345678".into()),
                refunded_goods_fen: 40
            }
        );
        let count = statement!("SELECT count(*) AS n FROM order_events WHERE order_id = 'o-1'");
        let events: Count = block_on(sql::run(&db, vec![count])).unwrap().first().unwrap().unwrap();
        assert_eq!(events.n, 3, "the refused step left no event");
    }

    #[test]
    fn a_refund_beyond_the_goods_is_a_defect_not_a_race() {
        let db = with_order();
        let order = Order {
            fulfilment: Fulfilment::Pickup,
            state: OrderState::RefundRequested,
            state_before_refund: Some(OrderState::Paid),
            handed_over_at: None,
            completed_at: None,
        };
        db.execute("UPDATE orders SET state = 'refund_requested', state_before_refund = 'paid' WHERE id = 'o-1'")
            .unwrap();
        let next = order.apply(OrderEvent::Refund { whole: true }, NOW, OrderPolicy::default()).unwrap();
        let too_much =
            moved("o-1", order.state, &next, &Also { refunded: Some((Fen(101), Fen(0))), ..Also::default() });
        let outcome = block_on(sql::guarded(&db, vec![too_much], RACE_GUARDS));
        assert!(matches!(outcome, Err(sql::StoreError::Refused(Constraint::Check(_)))), "{outcome:?}");
    }
}
