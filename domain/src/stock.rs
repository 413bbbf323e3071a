//! What a stock count means to a shopper. Counts come from the stock table per location
//! (a supplier's warehouse, a store); a shopper sees availability per fulfilment option.

use serde::{Deserialize, Serialize};

pub mod gate;

/// At or below this many units, "only a few left" is shown instead of plain "in stock", so a
/// shopper is not surprised when the last units go at checkout.
pub const LOW_STOCK_UNITS: i64 = 5;

/// How a shopper can get a SKU by one fulfilment option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Availability {
    InStock {
        units: i64,
    },
    Low {
        units: i64,
    },
    OutOfStock,
    /// The option is not offered at all (for example the store keeps none of this SKU and has
    /// no stock row for it).
    Unavailable,
}

impl Availability {
    /// `on_hand` and `reserved` as stored for one location; `None` when there is no stock row.
    /// Reserved units are held by unpaid checkouts and cannot be sold again.
    pub fn from_counts(counts: Option<(i64, i64)>) -> Self {
        let Some((on_hand, reserved)) = counts else {
            return Availability::Unavailable;
        };
        match on_hand.saturating_sub(reserved) {
            units if units <= 0 => Availability::OutOfStock,
            units if units <= LOW_STOCK_UNITS => Availability::Low { units },
            units => Availability::InStock { units },
        }
    }

    pub fn can_buy(self) -> bool {
        matches!(self, Availability::InStock { .. } | Availability::Low { .. })
    }
}

/// One location's count of one SKU, and the three things checkout does to it. The Worker runs
/// the same checks as conditional SQL updates (`… WHERE on_hand - reserved >= ?`) inside D1
/// batches; this is their statement and the model the property test exercises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StockLevel {
    pub on_hand: i64,
    pub reserved: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StockError {
    #[error("quantity must be positive, got {quantity}")]
    QuantityNotPositive { quantity: i64 },
    #[error("only {available} available, {wanted} wanted")]
    Short { available: i64, wanted: i64 },
    #[error("only {reserved} held, {wanted} to release or commit")]
    NotHeld { reserved: i64, wanted: i64 },
}

impl StockLevel {
    pub fn available(self) -> i64 {
        self.on_hand - self.reserved
    }

    fn positive(quantity: i64) -> Result<i64, StockError> {
        if quantity > 0 { Ok(quantity) } else { Err(StockError::QuantityNotPositive { quantity }) }
    }

    /// Holds units for an unpaid checkout: they stay on hand but cannot be sold again.
    pub fn hold(self, quantity: i64) -> Result<Self, StockError> {
        let quantity = Self::positive(quantity)?;
        if self.available() < quantity {
            return Err(StockError::Short { available: self.available(), wanted: quantity });
        }
        Ok(Self { reserved: self.reserved + quantity, ..self })
    }

    /// Gives held units back (cancellation, hold expiry).
    pub fn release(self, quantity: i64) -> Result<Self, StockError> {
        let quantity = Self::positive(quantity)?;
        if self.reserved < quantity {
            return Err(StockError::NotHeld { reserved: self.reserved, wanted: quantity });
        }
        Ok(Self { reserved: self.reserved - quantity, ..self })
    }

    /// Turns held units into sold ones (payment): they leave the shelf for good.
    pub fn commit(self, quantity: i64) -> Result<Self, StockError> {
        let quantity = Self::positive(quantity)?;
        if self.reserved < quantity {
            return Err(StockError::NotHeld { reserved: self.reserved, wanted: quantity });
        }
        Ok(Self { on_hand: self.on_hand - quantity, reserved: self.reserved - quantity })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_units_are_not_available() {
        assert_eq!(Availability::from_counts(Some((10, 0))), Availability::InStock { units: 10 });
        assert_eq!(Availability::from_counts(Some((10, 6))), Availability::Low { units: 4 });
        assert_eq!(Availability::from_counts(Some((3, 3))), Availability::OutOfStock);
        assert_eq!(Availability::from_counts(Some((0, 0))), Availability::OutOfStock);
        assert_eq!(Availability::from_counts(None), Availability::Unavailable);
        assert!(!Availability::OutOfStock.can_buy());
        assert!(Availability::Low { units: 1 }.can_buy());
    }

    #[test]
    fn hold_release_commit() {
        let level = StockLevel { on_hand: 5, reserved: 0 };
        let held = level.hold(3).unwrap();
        assert_eq!(held.available(), 2);
        assert_eq!(held.hold(3), Err(StockError::Short { available: 2, wanted: 3 }));
        assert_eq!(held.commit(2).unwrap(), StockLevel { on_hand: 3, reserved: 1 });
        assert_eq!(held.release(4), Err(StockError::NotHeld { reserved: 3, wanted: 4 }));
        assert_eq!(level.hold(0), Err(StockError::QuantityNotPositive { quantity: 0 }));
    }

    proptest::proptest! {
        /// Under any sequence of holds, releases and commits, stock is never negative, never more
        /// is held than is on hand, and units only leave by being committed.
        #[test]
        fn stock_never_goes_below_zero(
            start in 0i64..50,
            operations in proptest::collection::vec((0u8..3, -3i64..20), 0..100),
        ) {
            let mut level = StockLevel { on_hand: start, reserved: 0 };
            let mut committed = 0;
            for (kind, quantity) in operations {
                let next = match kind {
                    0 => level.hold(quantity),
                    1 => level.release(quantity),
                    _ => level.commit(quantity),
                };
                if let Ok(next) = next {
                    if kind == 2 { committed += quantity; }
                    level = next;
                }
                proptest::prop_assert!(level.on_hand >= 0 && level.reserved >= 0);
                proptest::prop_assert!(level.reserved <= level.on_hand);
                proptest::prop_assert_eq!(level.on_hand + committed, start);
            }
        }
    }

    #[test]
    fn serialises_with_a_status_tag() {
        let json = serde_json::to_string(&Availability::Low { units: 2 }).unwrap();
        assert_eq!(json, r#"{"status":"low","units":2}"#);
        let json = serde_json::to_string(&Availability::OutOfStock).unwrap();
        assert_eq!(json, r#"{"status":"out_of_stock"}"#);
    }
}
