//! Payments: opening one for a checkout (one open payment per checkout and provider, by a
//! UNIQUE index), finding a shopper's own, closing one that will not pay for anything, and the
//! statements that settle a payment inside the batch that pays its checkout.

use serde::Deserialize;
use tandem_domain::fulfilment::PickupCode;
use tandem_domain::money::Fen;
use tandem_domain::payment::{CheckoutPaid, Payable, PaymentState};
use tandem_domain::time::Timestamp;
use tandem_domain::views::PaymentView;

use super::chain::{self, ForPayment};
use super::ledger::{self, MONEY_LINE_COLUMNS, MONEY_ORDER_COLUMNS, MoneyLine, MoneyOrder};
use super::orders::{self, Also};
use super::sessions::{self, SessionMember};
use super::sql::{self, Database, Guard, Guarded, Statement, StoreError, statement};

/// The columns of [`PaymentRow`].
const PAYMENT_COLUMNS: &str = "id, checkout_id, provider, amount_fen, status";

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PaymentRow {
    pub id: String,
    pub checkout_id: String,
    pub provider: String,
    pub amount_fen: i64,
    pub status: String,
}

impl PaymentRow {
    pub fn state(&self) -> Result<PaymentState, StoreError> {
        PaymentState::parse(&self.status)
            .ok_or_else(|| StoreError::failed(format!("payment {} has the unknown status {}", self.id, self.status)))
    }

    pub fn view(self) -> PaymentView {
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

/// The columns of [`CheckoutRow`].
const CHECKOUT_COLUMNS: &str = "id, member_id, state, total_fen, hold_expires_at";

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CheckoutRow {
    pub id: String,
    pub member_id: String,
    pub state: String,
    pub total_fen: i64,
    pub hold_expires_at: i64,
}

impl CheckoutRow {
    pub fn payable(&self) -> Payable {
        Payable { open: self.state == "awaiting_payment", hold_expires_at: Timestamp(self.hold_expires_at) }
    }
}

/// What opening a payment reads: the session's member, its checkout and the payment already
/// open for it.
pub struct ForOpening {
    pub member: Option<SessionMember>,
    pub checkout: Option<CheckoutRow>,
    pub open: Option<PaymentRow>,
}

fn open_payment(checkout_id: &str, provider: &str) -> Statement {
    statement!(
        format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments WHERE checkout_id = ?1 AND provider = ?2 AND status = 'created'"
        ),
        checkout_id,
        provider
    )
}

/// Reads, in one round trip with the caller's session, what opening a payment for one of the
/// session member's checkouts needs.
pub async fn for_opening<D: Database>(
    db: &D,
    token_hash: &str,
    now: Timestamp,
    checkout_id: &str,
    provider: &str,
) -> Result<ForOpening, StoreError> {
    let mut results = sql::run(
        db,
        vec![
            sessions::member(token_hash, now),
            statement!(
                format!(
                    "SELECT {CHECKOUT_COLUMNS} FROM checkouts WHERE id = ?1 AND member_id = (
                         SELECT member_id FROM sessions WHERE token_hash = ?2 AND revoked_at IS NULL AND expires_at > ?3)"
                ),
                checkout_id,
                token_hash,
                now.millis()
            ),
            open_payment(checkout_id, provider),
        ],
    )
    .await?;
    Ok(ForOpening { member: results.first()?, checkout: results.first()?, open: results.first()? })
}

/// Opens `payment`, or answers the one a concurrent request opened first for the same checkout
/// and provider.
pub async fn open<D: Database>(db: &D, payment: &PaymentRow, now: Timestamp) -> Result<Opened, StoreError> {
    let insert = statement!(
        "INSERT INTO payments (id, checkout_id, provider, amount_fen, status, created_at) VALUES (?1, ?2, ?3, ?4, 'created', ?5)",
        &payment.id,
        &payment.checkout_id,
        &payment.provider,
        payment.amount_fen,
        now.millis()
    );
    let guard = [Guard::Unique("payments.checkout_id, payments.provider")];
    match sql::guarded(db, vec![insert], &guard).await? {
        Guarded::Written(_) => Ok(Opened::New),
        Guarded::Lost(_) => {
            let mut results = sql::run(db, vec![open_payment(&payment.checkout_id, &payment.provider)]).await?;
            let existing = results.first()?.ok_or_else(|| StoreError::failed("the open payment that won is gone"))?;
            Ok(Opened::Existing(existing))
        }
    }
}

/// What [`open`] came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Opened {
    New,
    Existing(PaymentRow),
}

/// A payment of one of `member_id`'s checkouts.
pub async fn own<D: Database>(db: &D, id: &str, member_id: &str) -> Result<Option<PaymentRow>, StoreError> {
    let mut results = sql::run(
        db,
        vec![statement!(
            "SELECT p.id, p.checkout_id, p.provider, p.amount_fen, p.status FROM payments p
             JOIN checkouts c ON c.id = p.checkout_id WHERE p.id = ?1 AND c.member_id = ?2",
            id,
            member_id
        )],
    )
    .await?;
    results.first()
}

/// A payment by its id, and its checkout.
pub fn read(id: &str) -> Vec<Statement> {
    vec![
        statement!(format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE id = ?1"), id),
        statement!(
            format!(
                "SELECT {CHECKOUT_COLUMNS} FROM checkouts WHERE id = (SELECT checkout_id FROM payments WHERE id = ?1)"
            ),
            id
        ),
    ]
}

/// The provider of the payment that paid an order.
pub fn provider_of_order(order_id: &str) -> Statement {
    statement!(
        "SELECT p.provider FROM payments p JOIN orders o ON o.checkout_id = p.checkout_id
         WHERE o.id = ?1 AND p.status = 'succeeded'",
        order_id
    )
}

#[derive(Debug, Deserialize)]
pub struct ProviderRow {
    pub provider: String,
}

/// Closes an open payment as `state` (failed, or returned because its checkout was no longer
/// payable); a payment already settled stays as it is. Answers whether it was still open.
pub async fn close<D: Database>(db: &D, id: &str, state: PaymentState, now: Timestamp) -> Result<bool, StoreError> {
    let mut results = sql::run(
        db,
        vec![statement!(
            "UPDATE payments SET status = ?2, notified_at = ?3 WHERE id = ?1 AND status = 'created'",
            id,
            state.as_str(),
            now.millis()
        )],
    )
    .await?;
    Ok(results.changes()? == 1)
}

/// The statements of a paying batch that settle the payment and its checkout, each guarded by
/// the state it was read in.
pub fn settle(payment_id: &str, checkout_id: &str, now: Timestamp) -> Vec<Statement> {
    vec![
        statement!(
            "UPDATE payments SET status = CASE WHEN status = 'created' THEN 'succeeded' END, notified_at = ?2 WHERE id = ?1",
            payment_id,
            now.millis()
        ),
        statement!(
            "UPDATE checkouts SET state = CASE WHEN state = 'awaiting_payment' THEN 'paid' END, closed_at = ?2 WHERE id = ?1",
            checkout_id,
            now.millis()
        ),
    ]
}

/// What paying a checkout by one of its payments reads, in one round trip: the payment, its
/// checkout, the checkout's orders and lines, and the distribution network as the buyer's
/// payment needs it.
pub struct ForPaying {
    pub payment: Option<PaymentRow>,
    pub checkout: Option<CheckoutRow>,
    pub orders: Vec<MoneyOrder>,
    pub lines: Vec<MoneyLine>,
    pub network: ForPayment,
}

/// Reads what paying the checkout of payment `id` at `now` needs.
pub async fn for_paying<D: Database>(db: &D, id: &str, now: Timestamp) -> Result<ForPaying, StoreError> {
    let checkout = "(SELECT checkout_id FROM payments WHERE id = ?1)";
    let mut statements = read(id);
    statements.push(statement!(
        format!("SELECT {MONEY_ORDER_COLUMNS} FROM orders WHERE checkout_id = {checkout} ORDER BY id"),
        id
    ));
    statements.push(statement!(
        format!(
            "SELECT {MONEY_LINE_COLUMNS} FROM order_lines
             WHERE order_id IN (SELECT id FROM orders WHERE checkout_id = {checkout}) ORDER BY order_id, position"
        ),
        id
    ));
    statements.extend(chain::payment_reads(
        &format!("SELECT id FROM orders WHERE checkout_id = {checkout}"),
        &format!("(SELECT member_id FROM checkouts WHERE id = {checkout})"),
        id,
        now,
    ));
    let mut results = sql::run(db, statements).await?;
    Ok(ForPaying {
        payment: results.first()?,
        checkout: results.first()?,
        orders: results.all()?,
        lines: results.all()?,
        network: chain::payment_read_from(&mut results)?,
    })
}

/// The writes of paying `checkout` by `payment` as the domain decided (`payment::pay_checkout`),
/// each guarded by what it was read with: the payment and the checkout settled, each order
/// moved with its pickup code, its ledger transaction and its timeline, the holds of `lines`
/// become sales, and the network's changes guarded by the network as read. `invite_code` is
/// the buyer's should it join the network.
pub fn paid_writes(
    payment: &PaymentRow,
    checkout: &CheckoutRow,
    paid: &CheckoutPaid,
    lines: &[MoneyLine],
    network: &ForPayment,
    invite_code: &str,
    now: Timestamp,
) -> Result<Vec<Statement>, StoreError> {
    let mut writes = settle(&payment.id, &checkout.id, now);
    for order in &paid.orders {
        let code = order.pickup_code.as_ref().map(PickupCode::as_str);
        let also = Also { paid: Some((now, code)), ..Also::default() };
        writes.push(orders::moved(&order.id, order.before, &order.after, &also));
        writes.extend(ledger::post(
            &format!("t-pay-{}", order.id),
            "payment",
            &format!("payment:{}", order.id),
            Some(&order.id),
            now,
            &order.transaction,
        )?);
        for step in &order.steps {
            writes.push(orders::event(&order.id, step.event.code(), step.order.state, step.actor, None, now));
        }
    }
    writes.push(ledger::commit(&ledger::moves_of(lines, None))?);
    writes.extend(chain::payment_writes(network, &checkout.member_id, invite_code, &paid.network, now)?);
    Ok(writes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sql::{Constraint, RACE_GUARDS};
    use crate::store::sqlite::{Sqlite, block_on};

    const NOW: Timestamp = Timestamp(1_790_000_000_000);
    /// The session token hashes of m-1 and m-2.
    const ONE: &str = "1111111111111111111111111111111111111111111111111111111111111111";
    const TWO: &str = "2222222222222222222222222222222222222222222222222222222222222222";

    fn with_checkout() -> Sqlite {
        let db = Sqlite::migrated().unwrap();
        db.execute(&format!(
            "INSERT INTO stores (id, name_zh, name_en, city_zh, city_en, address_zh, address_en, created_at)
                 VALUES ('s-1', '店', 'Store', '上海', 'Shanghai', '路', 'Road', '2026-01-01T00:00:00Z');
             INSERT INTO members (id, phone_hash, phone_enc, created_at) VALUES ('m-1', '{}', 'x', 0);
             INSERT INTO members (id, phone_hash, phone_enc, created_at) VALUES ('m-2', '{}', 'x', 0);
             INSERT INTO checkouts (id, member_id, store_id, state, total_fen, hold_expires_at, created_at)
                 VALUES ('co-1', 'm-1', 's-1', 'awaiting_payment', 10900, {}, 0);
             INSERT INTO sessions (token_hash, member_id, created_at, expires_at) VALUES ('{}', 'm-1', 0, {});
             INSERT INTO sessions (token_hash, member_id, created_at, expires_at) VALUES ('{}', 'm-2', 0, {});",
            "a".repeat(64),
            "b".repeat(64),
            NOW.millis() + 900_000,
            ONE,
            NOW.millis() + 1,
            TWO,
            NOW.millis() + 1
        ))
        .unwrap();
        db
    }

    fn payment(id: &str) -> PaymentRow {
        PaymentRow {
            id: id.into(),
            checkout_id: "co-1".into(),
            provider: "dev".into(),
            amount_fen: 10_900,
            status: "created".into(),
        }
    }

    #[test]
    fn a_checkout_has_one_open_payment_per_provider_however_many_ask() {
        let db = with_checkout();
        assert_eq!(block_on(open(&db, &payment("pay-1"), NOW)).unwrap(), Opened::New);
        assert_eq!(block_on(open(&db, &payment("pay-2"), NOW)).unwrap(), Opened::Existing(payment("pay-1")));
        let read = block_on(for_opening(&db, ONE, NOW, "co-1", "dev")).unwrap();
        assert_eq!(read.member.map(|m| m.id).as_deref(), Some("m-1"));
        assert_eq!(read.open, Some(payment("pay-1")));
        assert_eq!(read.checkout.unwrap().payable().hold_expires_at, Timestamp(NOW.millis() + 900_000));
        // Once it is closed, a new one may open.
        assert!(block_on(close(&db, "pay-1", PaymentState::Failed, NOW)).unwrap());
        assert!(!block_on(close(&db, "pay-1", PaymentState::Returned, NOW)).unwrap(), "closed once");
        assert_eq!(block_on(open(&db, &payment("pay-3"), NOW)).unwrap(), Opened::New);
    }

    #[test]
    fn a_shopper_sees_only_their_own_payments_and_checkouts() {
        let db = with_checkout();
        block_on(open(&db, &payment("pay-1"), NOW)).unwrap();
        assert_eq!(block_on(own(&db, "pay-1", "m-1")).unwrap(), Some(payment("pay-1")));
        assert_eq!(block_on(own(&db, "pay-1", "m-2")).unwrap(), None);
        assert!(block_on(for_opening(&db, TWO, NOW, "co-1", "dev")).unwrap().checkout.is_none());
        let expired = block_on(for_opening(&db, ONE, NOW.plus_millis(1), "co-1", "dev")).unwrap();
        assert!(expired.member.is_none() && expired.checkout.is_none(), "an expired session reads nothing");
    }

    #[test]
    fn settling_twice_is_refused_by_the_state_guard_and_writes_nothing() {
        let db = with_checkout();
        block_on(open(&db, &payment("pay-1"), NOW)).unwrap();
        let first = block_on(sql::guarded(&db, settle("pay-1", "co-1", NOW), RACE_GUARDS)).unwrap();
        assert!(matches!(first, Guarded::Written(_)));
        let again = block_on(sql::guarded(&db, settle("pay-1", "co-1", NOW), RACE_GUARDS)).unwrap();
        assert!(matches!(again, Guarded::Lost(Constraint::NotNull(ref c)) if c == "payments.status"));
        let mut results = block_on(sql::run(&db, read("pay-1"))).unwrap();
        let row: PaymentRow = results.first().unwrap().unwrap();
        assert_eq!(row.state().unwrap(), PaymentState::Succeeded);
        let checkout: CheckoutRow = results.first().unwrap().unwrap();
        assert!(!checkout.payable().open);
    }

    #[test]
    fn a_refusal_that_is_not_a_guard_stays_an_error() {
        let db = with_checkout();
        let negative = statement!(
            "INSERT INTO payments (id, checkout_id, provider, amount_fen, status, created_at) VALUES ('p', 'co-1', 'dev', -1, 'created', 0)"
        );
        let outcome = block_on(sql::guarded(&db, vec![negative], RACE_GUARDS));
        assert!(matches!(outcome, Err(StoreError::Refused(Constraint::Check(_)))), "{outcome:?}");
    }
    #[test]
    fn paying_a_checkout_writes_what_the_domain_decided_once() {
        #[derive(Deserialize, Debug, PartialEq)]
        struct After {
            order: String,
            checkout: String,
            payment: String,
            on_hand: i64,
            reserved: i64,
            posted: i64,
            events: i64,
        }
        let db = crate::store::fixtures::catalogue();
        crate::store::fixtures::member(&db, "m-b", "CODEB1", None);
        crate::store::fixtures::order(&db, "o-1", "m-b", "awaiting_payment", 2);
        db.execute(
            "UPDATE checkouts SET hold_expires_at = 1790000600000 WHERE id = 'co-o-1';
             UPDATE stock SET reserved = 2 WHERE sku_id = 'p-1-01';
             INSERT INTO payments (id, checkout_id, provider, amount_fen, status, created_at)
                 VALUES ('pay-1', 'co-o-1', 'dev', 500, 'created', 0);",
        )
        .unwrap();
        let read = block_on(for_paying(&db, "pay-1", NOW)).unwrap();
        let (payment, checkout) = (read.payment.unwrap(), read.checkout.unwrap());
        assert!(checkout.payable().check(NOW).is_ok());
        let to_pay: Vec<_> = read
            .orders
            .iter()
            .map(|o| tandem_domain::payment::OrderToPay {
                id: o.id.clone(),
                order: o.machine().unwrap(),
                money: o.money(&payment.provider, &read.lines).unwrap(),
                lines: read.network.lines_of(&o.id),
                random: 1,
            })
            .collect();
        let paid = tandem_domain::payment::pay_checkout(
            &checkout.member_id,
            &to_pay,
            &read.network.network,
            tandem_domain::order::OrderPolicy::default(),
            NOW,
        )
        .unwrap();
        let writes = paid_writes(&payment, &checkout, &paid, &read.lines, &read.network, "NEWCODE", NOW).unwrap();
        assert!(block_on(sql::guarded(&db, writes.clone(), RACE_GUARDS)).unwrap().written());
        let replay = block_on(sql::guarded(&db, writes, RACE_GUARDS)).unwrap();
        assert!(!replay.written(), "a replayed payment is refused whole");
        let after = statement!(
            "SELECT (SELECT state FROM orders WHERE id = 'o-1') AS 'order',
                    (SELECT state FROM checkouts WHERE id = 'co-o-1') AS checkout,
                    (SELECT status FROM payments WHERE id = 'pay-1') AS payment,
                    on_hand, reserved,
                    (SELECT sum(credit_fen) FROM ledger_entries WHERE transaction_id = 't-pay-o-1') AS posted,
                    (SELECT count(*) FROM order_events WHERE order_id = 'o-1') AS events
             FROM stock WHERE sku_id = 'p-1-01'"
        );
        let after: After = block_on(sql::run(&db, vec![after])).unwrap().first().unwrap().unwrap();
        assert_eq!(
            after,
            After {
                order: "paid".into(),
                checkout: "paid".into(),
                payment: "succeeded".into(),
                on_hand: 3,
                reserved: 0,
                posted: 500,
                events: 1
            }
        );
    }
}
