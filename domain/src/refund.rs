//! Refunds: when one goes through at once and how much it returns. An order whose goods never
//! left the seller (paid, or ready for pickup) is refunded whole at once and its stock comes
//! back; after hand-over the store (pickup) or the supplier (delivery) decides, whole or part.

use serde::{Deserialize, Serialize};

use crate::chain21::settle::{OrderRewards, RewardChanges};
use crate::ledger::{self, LedgerError, OrderMoney, Transaction};
use crate::money::Fen;
use crate::order::{Order, OrderError, OrderEvent, OrderPolicy, OrderState};
use crate::time::Timestamp;

/// An order's money as far as refunds are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refundable {
    pub goods_fen: Fen,
    pub shipping_fen: Fen,
    pub refunded_goods_fen: Fen,
    pub refunded_shipping_fen: Fen,
}

/// How much one refund returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RefundAmount {
    pub goods_fen: Fen,
    pub shipping_fen: Fen,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefundError {
    #[error("a refund returns something")]
    Nothing,
    #[error("amounts must not be negative")]
    Negative,
    #[error("at most {left_fen} fen of goods is left to refund")]
    GoodsTooLarge { left_fen: i64 },
    #[error("at most {left_fen} fen of shipping is left to refund")]
    ShippingTooLarge { left_fen: i64 },
}

impl Refundable {
    pub fn goods_left(self) -> Fen {
        self.goods_fen - self.refunded_goods_fen
    }

    pub fn shipping_left(self) -> Fen {
        self.shipping_fen - self.refunded_shipping_fen
    }

    /// Everything not yet refunded.
    pub fn remainder(self) -> RefundAmount {
        RefundAmount { goods_fen: self.goods_left(), shipping_fen: self.shipping_left() }
    }

    /// Checks an amount against what is left; `Ok(true)` when it returns everything left.
    pub fn check(self, amount: RefundAmount) -> Result<bool, RefundError> {
        if amount.goods_fen.get() < 0 || amount.shipping_fen.get() < 0 {
            return Err(RefundError::Negative);
        }
        if amount.goods_fen == Fen::ZERO && amount.shipping_fen == Fen::ZERO {
            return Err(RefundError::Nothing);
        }
        if amount.goods_fen > self.goods_left() {
            return Err(RefundError::GoodsTooLarge { left_fen: self.goods_left().get() });
        }
        if amount.shipping_fen > self.shipping_left() {
            return Err(RefundError::ShippingTooLarge { left_fen: self.shipping_left().get() });
        }
        Ok(amount == self.remainder())
    }
}

/// Whether a refund requested in `state` is paid at once, in full, with the stock returned:
/// only while the goods are still with the seller.
pub fn is_automatic(state: OrderState) -> bool {
    matches!(state, OrderState::Paid | OrderState::ReadyForPickup)
}

/// An order a refund is paid out of, as read.
#[derive(Debug, Clone, Copy)]
pub struct OrderToRefund<'a> {
    pub order: Order,
    pub money: &'a OrderMoney,
    pub refundable: Refundable,
    /// Its rewards, when it was paid under published rules.
    pub rewards: Option<&'a OrderRewards>,
}

/// What paying a refund changes: the order's state, the reversing ledger transaction, the
/// rewards cut to what is left of the order, and whether the goods go back on the shelf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundPaid {
    pub after: Order,
    pub amount: RefundAmount,
    pub transaction: Transaction,
    pub rewards: Option<RewardChanges>,
    pub restock: bool,
}

/// Why a refund cannot be paid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefundRefused {
    /// The amount is not one that can be refunded now.
    #[error("{0}")]
    Amount(RefundError),
    /// The order is not in a state a refund is paid in.
    #[error("{0}")]
    Transition(OrderError),
    /// The ledger refuses it (a stored order whose money does not add up).
    #[error("{0}")]
    Ledger(LedgerError),
}

/// Pays refund `refund_id` of `amount` out of `order` at `now`. Before hand-over
/// (`restock`), the goods return to the shelf.
///
/// # Errors
/// An amount beyond what is left, an order not awaiting a refund, or money that does not add up.
pub fn pay_refund(
    order: &OrderToRefund<'_>,
    refund_id: &str,
    amount: RefundAmount,
    restock: bool,
    policy: OrderPolicy,
    now: Timestamp,
) -> Result<RefundPaid, RefundRefused> {
    let whole = order.refundable.check(amount).map_err(RefundRefused::Amount)?;
    let after = order.order.apply(OrderEvent::Refund { whole }, now, policy).map_err(RefundRefused::Transition)?;
    let transaction = ledger::refund(
        order.money,
        order.refundable.refunded_goods_fen,
        order.refundable.refunded_shipping_fen,
        amount.goods_fen,
        amount.shipping_fen,
    )
    .map_err(RefundRefused::Ledger)?;
    let left_fen = (order.refundable.goods_left() - amount.goods_fen).get();
    let completed = order.order.completed_at.is_some();
    let rewards = order
        .rewards
        .map(|rewards| rewards.on_refund(refund_id, order.refundable.goods_fen.get(), left_fen, completed));
    Ok(RefundPaid { after, amount, transaction, rewards, restock })
}

/// What asking for a refund changes: the order awaits a decision, or, while the goods are still
/// with the seller, is refunded at once in full with the goods back on the shelf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequested {
    pub requested: Order,
    /// The refund paid at once, when it is automatic.
    pub paid: Option<RefundPaid>,
}

/// The shopper asks for refund `refund_id` of `order` at `now`.
///
/// # Errors
/// `Transition` when the order is not in a state a refund can be asked in.
pub fn request_refund(
    order: &OrderToRefund<'_>,
    refund_id: &str,
    policy: OrderPolicy,
    now: Timestamp,
) -> Result<RefundRequested, RefundRefused> {
    let requested = order.order.apply(OrderEvent::RequestRefund, now, policy).map_err(RefundRefused::Transition)?;
    let paid = if is_automatic(order.order.state) {
        let in_request = OrderToRefund { order: requested, ..*order };
        Some(pay_refund(&in_request, refund_id, order.refundable.remainder(), true, policy, now)?)
    } else {
        None
    };
    Ok(RefundRequested { requested, paid })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDER: Refundable = Refundable {
        goods_fen: Fen(10_000),
        shipping_fen: Fen(1_000),
        refunded_goods_fen: Fen(2_500),
        refunded_shipping_fen: Fen(0),
    };

    fn amount(goods: i64, shipping: i64) -> RefundAmount {
        RefundAmount { goods_fen: Fen(goods), shipping_fen: Fen(shipping) }
    }

    #[test]
    fn a_refund_fits_inside_what_is_left() {
        assert_eq!(ORDER.remainder(), amount(7_500, 1_000));
        assert_eq!(ORDER.check(amount(7_500, 1_000)), Ok(true));
        assert_eq!(ORDER.check(amount(7_500, 0)), Ok(false));
        assert_eq!(ORDER.check(amount(100, 0)), Ok(false));
        assert_eq!(ORDER.check(amount(7_501, 0)), Err(RefundError::GoodsTooLarge { left_fen: 7_500 }));
        assert_eq!(ORDER.check(amount(0, 1_001)), Err(RefundError::ShippingTooLarge { left_fen: 1_000 }));
        assert_eq!(ORDER.check(amount(0, 0)), Err(RefundError::Nothing));
        assert_eq!(ORDER.check(amount(-1, 5)), Err(RefundError::Negative));
    }

    #[test]
    fn only_undelivered_goods_are_refunded_automatically() {
        assert!(is_automatic(OrderState::Paid));
        assert!(is_automatic(OrderState::ReadyForPickup));
        for state in [OrderState::Shipped, OrderState::PickedUp, OrderState::Delivered, OrderState::Completed] {
            assert!(!is_automatic(state), "{state:?}");
        }
    }
    fn money() -> OrderMoney {
        use crate::catalog::{StoreId, SupplierId};
        OrderMoney {
            store: StoreId::parse("s-1").unwrap(),
            provider: "dev".into(),
            goods_fen: Fen(10_000),
            shipping_fen: Fen(1_000),
            shipper: Some(SupplierId::parse("sup-a").unwrap()),
            supply: vec![(SupplierId::parse("sup-a").unwrap(), Fen(6_000))],
            platform_fee: crate::money::BasisPoints::new(500).unwrap(),
        }
    }

    fn order_in(state: OrderState) -> Order {
        Order {
            fulfilment: crate::order::Fulfilment::Delivery,
            state,
            state_before_refund: None,
            handed_over_at: None,
            completed_at: None,
        }
    }

    #[test]
    fn a_request_before_hand_over_is_paid_at_once_in_full_with_the_goods_back() {
        let money = money();
        let now = Timestamp(1_790_000_000_000);
        let refundable = Refundable { refunded_goods_fen: Fen(0), ..ORDER };
        let paid = OrderToRefund { order: order_in(OrderState::Paid), money: &money, refundable, rewards: None };
        let requested = request_refund(&paid, "r-1", OrderPolicy::default(), now).unwrap();
        assert_eq!(requested.requested.state, OrderState::RefundRequested);
        let refund = requested.paid.unwrap();
        assert_eq!(
            (refund.after.state, refund.amount, refund.restock),
            (OrderState::Refunded, amount(10_000, 1_000), true)
        );
        assert_eq!(refund.transaction, ledger::refund(&money, Fen(0), Fen(0), Fen(10_000), Fen(1_000)).unwrap());
        // After delivery the supplier decides: the request waits.
        let delivered = OrderToRefund { order: order_in(OrderState::Delivered), ..paid };
        let waiting = request_refund(&delivered, "r-2", OrderPolicy::default(), now).unwrap();
        assert_eq!(waiting.paid, None);
        // Deciding it: part of what is left, then not more than is left.
        let asked = OrderToRefund { order: waiting.requested, ..delivered };
        let part = pay_refund(&asked, "r-2", amount(4_000, 0), false, OrderPolicy::default(), now).unwrap();
        assert_eq!(part.after.state, OrderState::PartiallyRefunded);
        let too_much = pay_refund(&asked, "r-2", amount(10_001, 0), false, OrderPolicy::default(), now);
        assert!(matches!(too_much, Err(RefundRefused::Amount(RefundError::GoodsTooLarge { .. }))));
        let unpaid = OrderToRefund { order: order_in(OrderState::AwaitingPayment), ..paid };
        assert!(matches!(
            request_refund(&unpaid, "r-3", OrderPolicy::default(), now),
            Err(RefundRefused::Transition(_))
        ));
    }
}
