//! The ledger and stock: storing the domain's ledger transactions, and the statements that
//! move stock, each written to join any batch as one statement whatever the number of rows
//! (the rows travel as one JSON parameter of named fields, since D1 takes at most 100 bound
//! values per statement). Also the rows of an order as far as money and stock are concerned.

use serde::{Deserialize, Serialize};
use tandem_domain::catalog::{StoreId, SupplierId};
use tandem_domain::ledger::{AccountTotals, LedgerOverview, OrderMoney, Side, Transaction, Unbalanced};
use tandem_domain::money::{BasisPoints, Fen};
use tandem_domain::order::{Fulfilment, Order, OrderState};
use tandem_domain::refund::Refundable;
use tandem_domain::time::Timestamp;
use tandem_domain::views::{Settlement, SettlementLine};

use super::sql::{self, Database, Statement, StoreError, statement, stored};

/// One entry as its statement reads it.
#[derive(Serialize)]
struct EntryRow {
    account: String,
    debit_fen: i64,
    credit_fen: i64,
}

/// The two statements that store `transaction`: its header, whose `ref` is UNIQUE so the same
/// cause is never posted twice, and its entries. An unbalanced transaction is refused here
/// too, though the domain never makes one.
pub fn post(
    id: &str,
    kind: &str,
    reference: &str,
    order_id: Option<&str>,
    at: Timestamp,
    transaction: &Transaction,
) -> Result<Vec<Statement>, StoreError> {
    if transaction.imbalance() != 0 {
        return Err(StoreError::failed(format!("unbalanced {kind} transaction {reference}")));
    }
    let entries: Vec<EntryRow> = transaction
        .entries
        .iter()
        .map(|entry| {
            let (debit_fen, credit_fen) = match entry.side {
                Side::Debit => (entry.amount_fen.get(), 0),
                Side::Credit => (0, entry.amount_fen.get()),
            };
            EntryRow { account: entry.account.to_string(), debit_fen, credit_fen }
        })
        .collect();
    let entries = serde_json::to_string(&entries).map_err(StoreError::failed)?;
    Ok(vec![
        statement!(
            "INSERT INTO ledger_transactions (id, kind, ref, order_id, at) VALUES (?1, ?2, ?3, ?4, ?5)",
            id,
            kind,
            reference,
            order_id,
            at.millis()
        ),
        statement!(
            "INSERT INTO ledger_entries (transaction_id, position, account, debit_fen, credit_fen)
             SELECT ?1, key, value ->> '$.account', value ->> '$.debit_fen', value ->> '$.credit_fen' FROM json_each(?2)",
            id,
            entries
        ),
    ])
}

/// One stock row and a number of units.
#[derive(Debug, Clone, Serialize)]
pub struct StockMove<'a> {
    pub location_id: &'a str,
    pub sku_id: &'a str,
    pub quantity: i64,
}

/// One statement applying `set` (which reads the move's units as `moves.quantity`) to every
/// moved row.
fn stock_statement(set: &str, moves: &[StockMove<'_>]) -> Result<Statement, StoreError> {
    let moves = serde_json::to_string(moves).map_err(StoreError::failed)?;
    Ok(statement!(
        format!(
            "WITH moves AS (SELECT value ->> '$.location_id' AS location_id, value ->> '$.sku_id' AS sku_id,
                                   value ->> '$.quantity' AS quantity FROM json_each(?1))
             UPDATE stock SET {set}
             FROM moves WHERE stock.location_id = moves.location_id AND stock.sku_id = moves.sku_id"
        ),
        moves
    ))
}

/// Holds units for a checkout. `stock`'s CHECK refuses a hold beyond what is on hand, which
/// fails the whole batch: stock is never oversold.
pub fn hold(moves: &[StockMove<'_>]) -> Result<Statement, StoreError> {
    stock_statement("reserved = reserved + moves.quantity", moves)
}

/// Gives held units back (a cancelled or expired checkout).
pub fn release(moves: &[StockMove<'_>]) -> Result<Statement, StoreError> {
    stock_statement("reserved = reserved - moves.quantity", moves)
}

/// Turns held units into sold ones (a paid checkout): they leave the shelf.
pub fn commit(moves: &[StockMove<'_>]) -> Result<Statement, StoreError> {
    stock_statement("on_hand = on_hand - moves.quantity, reserved = reserved - moves.quantity", moves)
}

/// Puts sold units back on hand (a refund before the goods left the seller).
pub fn restock(moves: &[StockMove<'_>]) -> Result<Statement, StoreError> {
    stock_statement("on_hand = on_hand + moves.quantity", moves)
}

/// One stored order line as far as money and stock are concerned.
#[derive(Debug, Clone, Deserialize)]
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
#[derive(Debug, Clone, Deserialize)]
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
    pub fn machine(&self) -> Result<Order, StoreError> {
        let state = |code: &str| stored(OrderState::parse(code).ok_or(format!("unknown order state {code}")));
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
    pub fn money(&self, provider: &str, lines: &[MoneyLine]) -> Result<OrderMoney, StoreError> {
        let mut supply: Vec<(SupplierId, Fen)> = Vec::new();
        for line in lines.iter().filter(|line| line.order_id == self.id) {
            let amount =
                Fen(line.supply_fen).checked_mul(line.quantity).ok_or_else(|| StoreError::failed("supply overflow"))?;
            let supplier = stored(SupplierId::parse(&line.supplier_id))?;
            match supply.iter_mut().find(|(s, _)| *s == supplier) {
                Some((_, sum)) => *sum = *sum + amount,
                None => supply.push((supplier, amount)),
            }
        }
        Ok(OrderMoney {
            store: stored(StoreId::parse(&self.store_id))?,
            provider: provider.to_owned(),
            goods_fen: Fen(self.goods_fen),
            shipping_fen: Fen(self.shipping_fen),
            shipper: stored(self.shipper_id.as_deref().map(SupplierId::parse).transpose())?,
            supply,
            platform_fee: stored(BasisPoints::new(u32::try_from(self.platform_fee_bp).unwrap_or(u32::MAX)))?,
        })
    }
}

/// The stock moves of an order's lines (of one order, or of all of them).
pub fn moves_of<'a>(lines: &'a [MoneyLine], order_id: Option<&str>) -> Vec<StockMove<'a>> {
    lines
        .iter()
        .filter(|line| order_id.is_none_or(|id| line.order_id == id))
        .map(|line| StockMove { location_id: &line.location_id, sku_id: &line.sku_id, quantity: line.quantity })
        .collect()
}

#[derive(Deserialize)]
struct SettlementRow {
    order_id: Option<String>,
    kind: String,
    amount_fen: i64,
    at: i64,
}

#[derive(Deserialize)]
struct BalanceRow {
    balance_fen: i64,
}

/// An account's balance over every entry, and its newest 500 transactions, each as what it
/// brought the account (credits minus debits).
pub async fn settlement<D: Database>(db: &D, account: &str) -> Result<Settlement, StoreError> {
    let mut results = sql::run(
        db,
        vec![
            statement!(
                "SELECT coalesce(sum(credit_fen) - sum(debit_fen), 0) AS balance_fen FROM ledger_entries WHERE account = ?1",
                account
            ),
            statement!(
                "SELECT t.order_id, t.kind, SUM(e.credit_fen) - SUM(e.debit_fen) AS amount_fen, t.at
                 FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id
                 WHERE e.account = ?1 GROUP BY t.id ORDER BY t.at DESC, t.id LIMIT 500",
                account
            ),
        ],
    )
    .await?;
    let balance = results.first::<BalanceRow>()?.map_or(0, |row| row.balance_fen);
    let lines = results
        .all::<SettlementRow>()?
        .into_iter()
        .map(|row| SettlementLine {
            order_id: row.order_id,
            kind: row.kind,
            amount_fen: Fen(row.amount_fen),
            at: Timestamp(row.at),
        })
        .collect();
    Ok(Settlement { account: account.to_owned(), balance_fen: Fen(balance), lines })
}

#[derive(Deserialize)]
struct TotalsRow {
    payments_fen: i64,
    refunds_fen: i64,
}

/// Every account's debits and credits, the transactions whose entries do not balance, and
/// what succeeded payments took in and refunds paid back: what `money.md`'s invariants are
/// checked on.
pub async fn overview<D: Database>(db: &D) -> Result<LedgerOverview, StoreError> {
    let mut results = sql::run(
        db,
        vec![
            statement!(
                "SELECT account, SUM(debit_fen) AS debit_fen, SUM(credit_fen) AS credit_fen FROM ledger_entries
                 GROUP BY account ORDER BY account"
            ),
            statement!(
                "SELECT transaction_id, SUM(debit_fen) - SUM(credit_fen) AS imbalance_fen FROM ledger_entries
                 GROUP BY transaction_id HAVING SUM(debit_fen) <> SUM(credit_fen)"
            ),
            statement!(
                "SELECT COALESCE((SELECT SUM(amount_fen) FROM payments WHERE status = 'succeeded'), 0) AS payments_fen,
                        COALESCE((SELECT SUM(refunded_goods_fen + refunded_shipping_fen) FROM orders), 0) AS refunds_fen"
            ),
        ],
    )
    .await?;
    let balances: Vec<AccountTotals> = results.all()?;
    let unbalanced: Vec<Unbalanced> = results.all()?;
    let totals = results.first::<TotalsRow>()?.ok_or_else(|| StoreError::failed("no totals"))?;
    Ok(LedgerOverview::of(balances, unbalanced, Fen(totals.payments_fen), Fen(totals.refunds_fen)))
}

#[cfg(test)]
mod tests {
    use tandem_domain::ledger::{Account, Transaction};

    use super::*;
    use crate::store::sql::{self, Constraint, Guarded, RACE_GUARDS, StoreError};
    use crate::store::sqlite::{Sqlite, block_on};

    const NOW: Timestamp = Timestamp(1_790_000_000_000);

    #[derive(Deserialize)]
    struct Entry {
        account: String,
        debit_fen: i64,
        credit_fen: i64,
    }

    fn with_stock() -> Sqlite {
        let db = Sqlite::migrated().unwrap();
        db.execute(
            "INSERT INTO suppliers (id, name_zh, name_en, created_at) VALUES ('sup-a', '甲', 'A', '0');
             INSERT INTO products (id, supplier_id, category, name_zh, name_en, description_zh, description_en, created_at)
                 VALUES ('p-1', 'sup-a', 'home', '杯', 'Cup', '', '', '0');
             INSERT INTO skus (id, product_id, position, supply_price_fen, min_price_fen, max_price_fen)
                 VALUES ('p-1-01', 'p-1', 0, 100, 200, 300);
             INSERT INTO locations (id, kind, supplier_id, name_zh, name_en) VALUES ('w-a', 'supplier_warehouse', 'sup-a', '仓', 'Warehouse');
             INSERT INTO stock (location_id, sku_id, on_hand) VALUES ('w-a', 'p-1-01', 5);",
        )
        .unwrap();
        db
    }

    #[derive(Deserialize, Debug, PartialEq)]
    struct Stock {
        on_hand: i64,
        reserved: i64,
    }

    fn stock(db: &Sqlite) -> Stock {
        let mut results =
            block_on(sql::run(db, vec![statement!("SELECT on_hand, reserved FROM stock WHERE sku_id = 'p-1-01'")]))
                .unwrap();
        results.first().unwrap().unwrap()
    }

    fn moves(quantity: i64) -> Vec<StockMove<'static>> {
        vec![StockMove { location_id: "w-a", sku_id: "p-1-01", quantity }]
    }

    #[test]
    fn stock_is_held_committed_released_and_never_oversold() {
        let db = with_stock();
        block_on(sql::run(&db, vec![hold(&moves(3)).unwrap()])).unwrap();
        assert_eq!(stock(&db), Stock { on_hand: 5, reserved: 3 });
        let over = block_on(sql::guarded(&db, vec![hold(&moves(3)).unwrap()], RACE_GUARDS)).unwrap();
        assert!(matches!(over, Guarded::Lost(Constraint::Check(_))), "{over:?}");
        assert_eq!(stock(&db), Stock { on_hand: 5, reserved: 3 }, "the refused hold wrote nothing");
        block_on(sql::run(&db, vec![commit(&moves(2)).unwrap(), release(&moves(1)).unwrap()])).unwrap();
        assert_eq!(stock(&db), Stock { on_hand: 3, reserved: 0 });
        block_on(sql::run(&db, vec![restock(&moves(2)).unwrap()])).unwrap();
        assert_eq!(stock(&db), Stock { on_hand: 5, reserved: 0 });
        let under = block_on(sql::guarded(&db, vec![release(&moves(1)).unwrap()], RACE_GUARDS)).unwrap();
        assert!(matches!(under, Guarded::Lost(Constraint::Check(_))), "no negative holds: {under:?}");
    }

    #[test]
    fn a_transaction_is_posted_once_and_never_changed() {
        let db = Sqlite::migrated().unwrap();
        let transaction =
            Transaction::transfer(Account::PlatformFee, Account::Clearing { provider: "dev".into() }, Fen(500));
        let first = post("t-1", "payment", "payment:o-1", None, NOW, &transaction).unwrap();
        block_on(sql::run(&db, first)).unwrap();
        let again = post("t-2", "payment", "payment:o-1", None, NOW, &transaction).unwrap();
        let replay = block_on(sql::guarded(&db, again, RACE_GUARDS)).unwrap();
        assert!(
            matches!(replay, Guarded::Lost(Constraint::Unique(ref c)) if c == "ledger_transactions.ref"),
            "{replay:?}"
        );
        let mut results = block_on(sql::run(
            &db,
            vec![statement!("SELECT account, debit_fen, credit_fen FROM ledger_entries WHERE transaction_id = 't-1' ORDER BY position")],
        ))
        .unwrap();
        let entries: Vec<Entry> = results.all().unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(
            (entries[0].account.as_str(), entries[0].debit_fen, entries[0].credit_fen),
            ("platform:fee", 500, 0)
        );
        assert_eq!(
            (entries[1].account.as_str(), entries[1].debit_fen, entries[1].credit_fen),
            ("clearing:dev", 0, 500)
        );
        for tamper in [
            "UPDATE ledger_entries SET debit_fen = 1 WHERE transaction_id = 't-1'",
            "DELETE FROM ledger_entries WHERE transaction_id = 't-1'",
            "UPDATE ledger_transactions SET at = 0 WHERE id = 't-1'",
            "DELETE FROM ledger_transactions WHERE id = 't-1'",
        ] {
            let refused = block_on(sql::run(&db, vec![statement!(tamper)]));
            assert!(matches!(refused, Err(StoreError::Refused(Constraint::Trigger(_)))), "{tamper}: {refused:?}");
        }
    }

    #[test]
    fn a_negative_entry_is_a_defect_not_a_race() {
        let db = Sqlite::migrated().unwrap();
        let mut transaction =
            Transaction::transfer(Account::PlatformFee, Account::Clearing { provider: "dev".into() }, Fen(5));
        transaction.entries[0].amount_fen = Fen(-1);
        transaction.entries[1].amount_fen = Fen(-1);
        let statements = post("t-3", "refund", "refund:r-1", None, NOW, &transaction).unwrap();
        let outcome = block_on(sql::guarded(&db, statements, RACE_GUARDS));
        assert!(matches!(outcome, Err(StoreError::Refused(Constraint::Check(_)))), "{outcome:?}");
        let unbalanced = Transaction { entries: vec![transaction.entries[0].clone()] };
        assert!(post("t-4", "refund", "refund:r-2", None, NOW, &unbalanced).is_err());
    }
}
