//! The double-entry ledger (`money.md`): each transaction is a set of entries whose debits equal
//! its credits; entries are appended, never changed; balances are sums of entries. This module
//! decides the entries; the Worker stores them in the same D1 batch as the change that causes
//! them.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::catalog::{StoreId, SupplierId};
use crate::money::{BasisPoints, Fen};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(into = "String")]
pub enum Account {
    /// Money the payment provider holds for the platform.
    Clearing {
        provider: String,
    },
    SupplierPayable(SupplierId),
    StorePayable(StoreId),
    PlatformFee,
    /// A sharer's rewards in one state (`chain21.md`): `member:{id}:pending`, `:frozen`,
    /// `:available`, `:paid_out`.
    Member {
        id: String,
        bucket: String,
    },
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Account::Clearing { provider } => write!(f, "clearing:{provider}"),
            Account::SupplierPayable(id) => write!(f, "supplier:{id}:payable"),
            Account::StorePayable(id) => write!(f, "store:{id}:payable"),
            Account::PlatformFee => f.write_str("platform:fee"),
            Account::Member { id, bucket } => write!(f, "member:{id}:{bucket}"),
        }
    }
}

impl From<Account> for String {
    fn from(account: Account) -> String {
        account.to_string()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Debit,
    Credit,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Entry {
    pub account: Account,
    pub side: Side,
    pub amount_fen: Fen,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Transaction {
    pub entries: Vec<Entry>,
}

impl Transaction {
    /// Debits minus credits; zero for every transaction this module makes.
    pub fn imbalance(&self) -> i128 {
        self.entries
            .iter()
            .map(|entry| match entry.side {
                Side::Debit => i128::from(entry.amount_fen.get()),
                Side::Credit => -i128::from(entry.amount_fen.get()),
            })
            .sum()
    }

    /// The net debit of one account in this transaction.
    pub fn net(&self, account: &Account) -> i64 {
        self.entries
            .iter()
            .filter(|entry| &entry.account == account)
            .map(|entry| match entry.side {
                Side::Debit => entry.amount_fen.get(),
                Side::Credit => -entry.amount_fen.get(),
            })
            .sum()
    }

    /// `amount` from `from` to `to`: one debit, one credit.
    pub fn transfer(from: Account, to: Account, amount: Fen) -> Transaction {
        let mut transaction = Transaction { entries: Vec::new() };
        transaction.push(from, Side::Debit, amount);
        transaction.push(to, Side::Credit, amount);
        transaction
    }

    pub fn push(&mut self, account: Account, side: Side, amount: Fen) {
        // Zero entries carry no information and would only clutter a settlement view.
        if amount != Fen::ZERO {
            self.entries.push(Entry { account, side, amount_fen: amount });
        }
    }
}

/// What the ledger needs to know of a paid order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OrderMoney {
    pub store: StoreId,
    pub provider: String,
    /// `G`: Σ line price × quantity.
    pub goods_fen: Fen,
    /// `H`: shipping charged, owed to the supplier that ships.
    pub shipping_fen: Fen,
    pub shipper: Option<SupplierId>,
    /// Σ supply price × quantity, per supplier.
    pub supply: Vec<(SupplierId, Fen)>,
    pub platform_fee: BasisPoints,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("the supply cost and the fee exceed the goods: store margin would be {margin_fen} fen")]
    NegativeMargin { margin_fen: i64 },
    #[error("shipping of {shipping_fen} fen with no supplier to ship it")]
    ShippingWithoutShipper { shipping_fen: i64 },
    #[error("refund of {wanted_fen} fen is more than the {left_fen} fen left to refund")]
    RefundTooLarge { wanted_fen: i64, left_fen: i64 },
    #[error("amounts must not be negative")]
    NegativeAmount,
}

impl OrderMoney {
    fn supply_total(&self) -> Fen {
        self.supply.iter().fold(Fen::ZERO, |sum, (_, amount)| sum + *amount)
    }

    fn fee(&self) -> Fen {
        self.goods_fen.share(self.platform_fee)
    }

    /// The store's margin on the goods: what is left after the suppliers and the platform.
    pub fn store_margin(&self) -> Fen {
        self.goods_fen - self.supply_total() - self.fee()
    }

    pub fn total(&self) -> Fen {
        self.goods_fen + self.shipping_fen
    }

    fn clearing(&self) -> Account {
        Account::Clearing { provider: self.provider.clone() }
    }
}

/// The transaction of an accepted payment: clearing is debited the total; suppliers are
/// credited their supply price (and shipping for the one that ships), the platform its fee,
/// the store the rest, which absorbs every fen of rounding.
pub fn payment(order: &OrderMoney) -> Result<Transaction, LedgerError> {
    if order.goods_fen.get() < 0 || order.shipping_fen.get() < 0 || order.supply.iter().any(|(_, a)| a.get() < 0) {
        return Err(LedgerError::NegativeAmount);
    }
    if order.shipping_fen != Fen::ZERO && order.shipper.is_none() {
        return Err(LedgerError::ShippingWithoutShipper { shipping_fen: order.shipping_fen.get() });
    }
    let margin = order.store_margin();
    if margin.get() < 0 {
        return Err(LedgerError::NegativeMargin { margin_fen: margin.get() });
    }
    let mut transaction = Transaction { entries: Vec::new() };
    transaction.push(order.clearing(), Side::Debit, order.total());
    for (supplier, amount) in &order.supply {
        transaction.push(Account::SupplierPayable(supplier.clone()), Side::Credit, *amount);
    }
    if let Some(shipper) = &order.shipper {
        transaction.push(Account::SupplierPayable(shipper.clone()), Side::Credit, order.shipping_fen);
    }
    transaction.push(Account::PlatformFee, Side::Credit, order.fee());
    transaction.push(Account::StorePayable(order.store.clone()), Side::Credit, margin);
    Ok(transaction)
}

/// What each party has given back once `refunded` fen of the order's goods are refunded, in
/// the order of `parts` (each party's share of the payment; they sum to the goods).
///
/// The parts are split off one at a time: the first part takes its floored proportion of the
/// amount, the rest of the parts share what is left the same way. Every party's cumulative
/// amount is then non-decreasing in `refunded` (so no refund debits a party a negative amount,
/// which splitting each party's share independently allowed when two floors rose on the same
/// fen), never exceeds its part, and equals its part exactly once the whole goods are refunded.
fn cumulative_refund(parts: &[Fen], refunded: Fen) -> Vec<Fen> {
    let mut weight_left: i128 = parts.iter().map(|part| i128::from(part.get())).sum();
    let mut amount_left = i128::from(refunded.get());
    parts
        .iter()
        .map(|part| {
            let part = i128::from(part.get());
            let taken = if weight_left == 0 { 0 } else { part * amount_left / weight_left };
            weight_left -= part;
            amount_left -= taken;
            // `taken` ≤ `part`, a Fen, so it fits.
            Fen(i64::try_from(taken).unwrap_or(i64::MAX))
        })
        .collect()
}

/// The transaction of a refund of `goods_fen` of goods and `shipping_fen` of shipping, after
/// `goods_before_fen` and `shipping_before_fen` were refunded by earlier refunds. Each party
/// gives back its share of the goods in proportion (the difference of its cumulative amounts
/// before and after this refund, so the refunds of an order never take back more than its
/// payment gave); the shipper gives back the shipping.
pub fn refund(
    order: &OrderMoney,
    goods_before_fen: Fen,
    shipping_before_fen: Fen,
    goods_fen: Fen,
    shipping_fen: Fen,
) -> Result<Transaction, LedgerError> {
    if [goods_before_fen, shipping_before_fen, goods_fen, shipping_fen].iter().any(|a| a.get() < 0) {
        return Err(LedgerError::NegativeAmount);
    }
    let goods_left = order.goods_fen - goods_before_fen;
    if goods_fen > goods_left {
        return Err(LedgerError::RefundTooLarge { wanted_fen: goods_fen.get(), left_fen: goods_left.get() });
    }
    let shipping_left = order.shipping_fen - shipping_before_fen;
    if shipping_fen > shipping_left {
        return Err(LedgerError::RefundTooLarge { wanted_fen: shipping_fen.get(), left_fen: shipping_left.get() });
    }
    let margin = order.store_margin();
    if margin.get() < 0 {
        return Err(LedgerError::NegativeMargin { margin_fen: margin.get() });
    }
    let mut accounts: Vec<Account> =
        order.supply.iter().map(|(supplier, _)| Account::SupplierPayable(supplier.clone())).collect();
    accounts.push(Account::PlatformFee);
    accounts.push(Account::StorePayable(order.store.clone()));
    let mut parts: Vec<Fen> = order.supply.iter().map(|(_, amount)| *amount).collect();
    parts.push(order.fee());
    parts.push(margin);
    let before = cumulative_refund(&parts, goods_before_fen);
    let after = cumulative_refund(&parts, goods_before_fen + goods_fen);
    let mut transaction = Transaction { entries: Vec::new() };
    for ((account, before), after) in accounts.into_iter().zip(before).zip(after) {
        transaction.push(account, Side::Debit, after - before);
    }
    if let Some(shipper) = &order.shipper {
        transaction.push(Account::SupplierPayable(shipper.clone()), Side::Debit, shipping_fen);
    }
    transaction.push(order.clearing(), Side::Credit, goods_fen + shipping_fen);
    Ok(transaction)
}

/// An account's debits and credits over every entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AccountTotals {
    pub account: String,
    pub debit_fen: i64,
    pub credit_fen: i64,
}

/// A transaction whose entries do not balance (never, while the ledger is right).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Unbalanced {
    pub transaction_id: String,
    /// Debits minus credits.
    pub imbalance_fen: i64,
}

/// `GET /api/operator/ledger`: every account's totals and the invariants of `money.md`: the
/// balances sum to zero, no transaction is unbalanced, and the clearing accounts hold what
/// succeeded payments took in less what refunds paid back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LedgerOverview {
    pub balances: Vec<AccountTotals>,
    /// Debits minus credits over every account: 0.
    pub sum_fen: i64,
    pub unbalanced_transactions: Vec<Unbalanced>,
    /// Debits minus credits of the clearing accounts: `payments_fen - refunds_fen`.
    pub clearing_fen: i64,
    pub payments_fen: i64,
    pub refunds_fen: i64,
}

impl LedgerOverview {
    pub fn of(balances: Vec<AccountTotals>, unbalanced: Vec<Unbalanced>, payments: Fen, refunds: Fen) -> Self {
        let net = |b: &AccountTotals| b.debit_fen - b.credit_fen;
        let sum_fen = balances.iter().map(net).sum();
        let clearing_fen = balances.iter().filter(|b| b.account.starts_with("clearing:")).map(net).sum();
        LedgerOverview {
            balances,
            sum_fen,
            unbalanced_transactions: unbalanced,
            clearing_fen,
            payments_fen: payments.get(),
            refunds_fen: refunds.get(),
        }
    }

    /// Whether every invariant holds.
    pub fn holds(&self) -> bool {
        self.sum_fen == 0
            && self.unbalanced_transactions.is_empty()
            && self.clearing_fen == self.payments_fen - self.refunds_fen
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn order(goods: i64, shipping: i64, supplies: &[(&str, i64)], fee_bp: u32) -> OrderMoney {
        OrderMoney {
            store: StoreId::parse("s-jingan").unwrap(),
            provider: "dev".to_owned(),
            goods_fen: Fen(goods),
            shipping_fen: Fen(shipping),
            shipper: (shipping > 0).then(|| SupplierId::parse(supplies[0].0).unwrap()),
            supply: supplies.iter().map(|(s, a)| (SupplierId::parse(s).unwrap(), Fen(*a))).collect(),
            platform_fee: BasisPoints::new(fee_bp).unwrap(),
        }
    }

    #[test]
    fn a_payment_splits_as_money_md_says() {
        // ¥99 of goods, ¥49.50 supply, 5 % fee, ¥10 shipping by the supplier.
        let money = order(9_900, 1_000, &[("sup-a", 4_950)], 500);
        let tx = payment(&money).unwrap();
        assert_eq!(tx.imbalance(), 0);
        assert_eq!(tx.net(&Account::Clearing { provider: "dev".into() }), 10_900);
        assert_eq!(tx.net(&Account::SupplierPayable(SupplierId::parse("sup-a").unwrap())), -(4_950 + 1_000));
        assert_eq!(tx.net(&Account::PlatformFee), -495);
        assert_eq!(tx.net(&Account::StorePayable(StoreId::parse("s-jingan").unwrap())), -(9_900 - 4_950 - 495));
        assert_eq!(Account::StorePayable(StoreId::parse("s-jingan").unwrap()).to_string(), "store:s-jingan:payable");
    }

    #[test]
    fn refunds_reverse_in_proportion_and_never_exceed_the_order() {
        let money = order(10_000, 1_000, &[("sup-a", 3_333), ("sup-b", 2_000)], 500);
        let half = refund(&money, Fen::ZERO, Fen::ZERO, Fen(5_000), Fen::ZERO).unwrap();
        assert_eq!(half.imbalance(), 0);
        assert_eq!(half.net(&Account::SupplierPayable(SupplierId::parse("sup-a").unwrap())), 1_666);
        assert_eq!(
            refund(&money, Fen(5_000), Fen::ZERO, Fen(5_001), Fen::ZERO),
            Err(LedgerError::RefundTooLarge { wanted_fen: 5_001, left_fen: 5_000 })
        );
        assert!(refund(&money, Fen::ZERO, Fen(1_000), Fen::ZERO, Fen(1)).is_err());
    }

    /// Found by a test client: after 19 fen of a ¥99 order were refunded, a refund of 1 more fen
    /// made the supplier's and the platform's floors both rise, debiting the store −1 fen.
    #[test]
    fn a_one_fen_refund_never_debits_anyone_a_negative_amount() {
        let money = order(9_900, 0, &[("sup-a", 4_950)], 500);
        let tx = refund(&money, Fen(19), Fen::ZERO, Fen(1), Fen::ZERO).unwrap();
        assert_eq!(tx.imbalance(), 0);
        assert!(tx.entries.iter().all(|e| e.amount_fen.get() > 0), "{tx:?}");
        for fen in 0..9_900 {
            let tx = refund(&money, Fen(fen), Fen::ZERO, Fen(1), Fen::ZERO).unwrap();
            assert!(tx.entries.iter().all(|e| e.amount_fen.get() > 0), "after {fen} fen: {tx:?}");
        }
    }

    #[test]
    fn a_margin_below_zero_is_refused() {
        let money = order(1_000, 0, &[("sup-a", 990)], 500);
        assert_eq!(payment(&money), Err(LedgerError::NegativeMargin { margin_fen: -40 }));
    }

    proptest! {
        /// Every payment and every refund balances, and refunding an order in any number of
        /// pieces brings every account back to exactly zero.
        #[test]
        fn every_transaction_sums_to_zero_and_full_refunds_net_out(
            goods in 1i64..10_000_000,
            supply_percent in proptest::collection::vec(0i64..30, 1..4),
            fee_bp in 0u32..2_000,
            shipping in 0i64..5_000,
            cuts in proptest::collection::vec(1i64..100, 0..6),
        ) {
            let supplies: Vec<(String, i64)> = supply_percent
                .iter()
                .enumerate()
                .map(|(i, percent)| (format!("sup-{i}"), goods * percent / 100))
                .collect();
            let supplies: Vec<(&str, i64)> = supplies.iter().map(|(s, a)| (s.as_str(), *a)).collect();
            let money = order(goods, shipping, &supplies, fee_bp);
            let paid = payment(&money);
            prop_assume!(paid.is_ok());
            let paid = paid.unwrap();
            prop_assert_eq!(paid.imbalance(), 0);

            let mut transactions = vec![paid];
            let (mut goods_before, mut shipping_before) = (Fen::ZERO, Fen::ZERO);
            for cut in cuts {
                let left = goods - goods_before.get();
                let piece = Fen(left * cut / 100);
                let tx = refund(&money, goods_before, shipping_before, piece, Fen::ZERO).unwrap();
                prop_assert_eq!(tx.imbalance(), 0);
                prop_assert!(tx.entries.iter().all(|e| e.amount_fen.get() >= 0));
                goods_before = goods_before + piece;
                transactions.push(tx);
            }
            let last = refund(&money, goods_before, shipping_before, Fen(goods) - goods_before, Fen(shipping)).unwrap();
            prop_assert_eq!(last.imbalance(), 0);
            shipping_before = shipping_before + Fen(shipping);
            prop_assert_eq!(shipping_before, Fen(shipping));
            transactions.push(last);

            let mut accounts: Vec<Account> = transactions.iter().flat_map(|t| t.entries.iter().map(|e| e.account.clone())).collect();
            accounts.sort();
            accounts.dedup();
            for account in accounts {
                let net: i64 = transactions.iter().map(|t| t.net(&account)).sum();
                prop_assert_eq!(net, 0, "{} does not net out", account);
            }
        }

        /// Any sequence of small partial refunds: no entry is negative, no party ever gives back
        /// more than the payment gave it, and the last refund brings everyone back to zero.
        #[test]
        fn cumulative_refunds_never_exceed_the_payment_shares(
            goods in 1i64..20_000,
            supply_percent in proptest::collection::vec(0i64..40, 1..4),
            fee_bp in 0u32..2_000,
            shipping in 0i64..2_000,
            pieces in proptest::collection::vec((0i64..60, 0i64..300), 1..40),
        ) {
            let supplies: Vec<(String, i64)> = supply_percent
                .iter()
                .enumerate()
                .map(|(i, percent)| (format!("sup-{i}"), goods * percent / 100))
                .collect();
            let supplies: Vec<(&str, i64)> = supplies.iter().map(|(s, a)| (s.as_str(), *a)).collect();
            let money = order(goods, shipping, &supplies, fee_bp);
            let paid = payment(&money);
            prop_assume!(paid.is_ok());
            let paid = paid.unwrap();
            let (mut goods_before, mut shipping_before) = (Fen::ZERO, Fen::ZERO);
            let mut given_back: std::collections::BTreeMap<Account, i64> = std::collections::BTreeMap::new();
            let mut pieces: Vec<(Fen, Fen)> = pieces
                .into_iter()
                .map(|(g, s)| (Fen(g), Fen(s)))
                .collect();
            pieces.push((Fen(goods), Fen(shipping)));
            for (goods_piece, shipping_piece) in pieces {
                let goods_piece = Fen(goods_piece.get().min(goods - goods_before.get()));
                let shipping_piece = Fen(shipping_piece.get().min(shipping - shipping_before.get()));
                let tx = refund(&money, goods_before, shipping_before, goods_piece, shipping_piece).unwrap();
                prop_assert_eq!(tx.imbalance(), 0);
                prop_assert!(tx.entries.iter().all(|e| e.amount_fen.get() > 0), "{:?}", tx);
                for entry in tx.entries.iter().filter(|e| e.side == Side::Debit) {
                    let total = given_back.entry(entry.account.clone()).or_default();
                    *total += entry.amount_fen.get();
                    prop_assert!(*total <= -paid.net(&entry.account), "{} gave back more than it got", entry.account);
                }
                goods_before = goods_before + goods_piece;
                shipping_before = shipping_before + shipping_piece;
            }
            for (account, total) in &given_back {
                prop_assert_eq!(*total, -paid.net(account), "{} is not back to zero", account);
            }
        }
    }

    #[test]
    fn the_overview_sums_the_accounts_and_checks_clearing_against_payments() {
        let totals =
            |account: &str, debit_fen, credit_fen| AccountTotals { account: account.into(), debit_fen, credit_fen };
        let right = LedgerOverview::of(
            vec![
                totals("clearing:dev", 1_000, 200),
                totals("platform:fee", 0, 50),
                totals("store:s-1:payable", 200, 950),
            ],
            vec![],
            Fen(1_000),
            Fen(200),
        );
        assert_eq!((right.sum_fen, right.clearing_fen), (0, 800));
        assert!(right.holds());
        let short = LedgerOverview::of(
            vec![totals("clearing:dev", 1_000, 0), totals("platform:fee", 0, 1_000)],
            vec![],
            Fen(900),
            Fen(0),
        );
        assert!(!short.holds(), "clearing holds more than was paid");
    }
}
