//! Refunds: when one goes through at once and how much it returns. An order whose goods never
//! left the seller (paid, or ready for pickup) is refunded whole at once and its stock comes
//! back; after hand-over the store (pickup) or the supplier (delivery) decides, whole or part.

use serde::{Deserialize, Serialize};

use crate::money::Fen;
use crate::order::OrderState;

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
}
