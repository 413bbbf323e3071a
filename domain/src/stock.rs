//! What a stock count means to a shopper. Counts come from the stock table per location
//! (a supplier's warehouse, a store); a shopper sees availability per fulfilment option.

use serde::{Deserialize, Serialize};

/// At or below this many units, "only a few left" is shown instead of plain "in stock", so a
/// shopper is not surprised when the last units go at checkout.
pub const LOW_STOCK_UNITS: i64 = 5;

/// How a shopper can get a SKU by one fulfilment option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    fn serialises_with_a_status_tag() {
        let json = serde_json::to_string(&Availability::Low { units: 2 }).unwrap();
        assert_eq!(json, r#"{"status":"low","units":2}"#);
        let json = serde_json::to_string(&Availability::OutOfStock).unwrap();
        assert_eq!(json, r#"{"status":"out_of_stock"}"#);
    }
}
