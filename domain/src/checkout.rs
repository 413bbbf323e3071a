//! Checkout: a cart becomes one order per fulfilment part, priced on the server. The store's
//! pickup part is one order; each supplier's delivery part is another, with that supplier's
//! shipping. Totals come only from shelf prices the Worker read, never from the client.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalog::{SkuId, SupplierId};
use crate::money::Fen;
use crate::order::Fulfilment;

/// The most of one SKU in one checkout: enough for a family, small enough that a typo of
/// "1000" is caught rather than charged.
pub const MAX_LINE_QUANTITY: i64 = 99;
/// The most lines in one checkout.
pub const MAX_LINES: usize = 50;

/// A supplier's delivery charge: free from a threshold of goods, a flat fee below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShippingPolicy {
    pub flat_fen: Fen,
    pub free_from_fen: Fen,
}

impl Default for ShippingPolicy {
    fn default() -> Self {
        Self { flat_fen: Fen(1_000), free_from_fen: Fen(9_900) }
    }
}

impl ShippingPolicy {
    pub fn charge(self, goods: Fen) -> Fen {
        if goods >= self.free_from_fen { Fen::ZERO } else { self.flat_fen }
    }
}

/// One cart line as the shopper asked for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CartLine {
    pub sku_id: SkuId,
    pub quantity: i64,
    pub fulfilment: Fulfilment,
}

/// A cart line with what the Worker read for it from the shelf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedLine {
    pub sku_id: SkuId,
    pub supplier_id: SupplierId,
    pub quantity: i64,
    pub fulfilment: Fulfilment,
    /// The store's shelf price for one unit.
    pub price_fen: Fen,
    /// What the store owes the supplier for one unit.
    pub supply_fen: Fen,
}

impl PricedLine {
    pub fn amount(&self) -> Fen {
        self.price_fen.checked_mul(self.quantity).unwrap_or(Fen(i64::MAX))
    }

    pub fn supply_amount(&self) -> Fen {
        self.supply_fen.checked_mul(self.quantity).unwrap_or(Fen(i64::MAX))
    }
}

/// One order of a checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPart {
    pub fulfilment: Fulfilment,
    /// The supplier that ships a delivery part; `None` for the store's pickup part.
    pub shipper: Option<SupplierId>,
    pub lines: Vec<PricedLine>,
    pub goods_fen: Fen,
    pub shipping_fen: Fen,
    pub total_fen: Fen,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckoutError {
    #[error("the cart is empty")]
    Empty,
    #[error("at most {max} lines in one checkout")]
    TooManyLines { max: usize },
    #[error("quantity of {sku} must be from 1 to {max}, got {quantity}")]
    BadQuantity { sku: String, quantity: i64, max: i64 },
    #[error("{sku} appears twice for the same fulfilment")]
    DuplicateLine { sku: String },
}

/// Checks the shopper's lines before anything is read for them.
pub fn validate(lines: &[CartLine]) -> Result<(), CheckoutError> {
    if lines.is_empty() {
        return Err(CheckoutError::Empty);
    }
    if lines.len() > MAX_LINES {
        return Err(CheckoutError::TooManyLines { max: MAX_LINES });
    }
    for (index, line) in lines.iter().enumerate() {
        if !(1..=MAX_LINE_QUANTITY).contains(&line.quantity) {
            return Err(CheckoutError::BadQuantity {
                sku: line.sku_id.to_string(),
                quantity: line.quantity,
                max: MAX_LINE_QUANTITY,
            });
        }
        if lines[..index].iter().any(|other| other.sku_id == line.sku_id && other.fulfilment == line.fulfilment) {
            return Err(CheckoutError::DuplicateLine { sku: line.sku_id.to_string() });
        }
    }
    Ok(())
}

/// Splits priced lines into orders: all pickup lines into one, delivery lines one per supplier.
/// Parts come in a fixed order (pickup first, then suppliers by id) so the same cart always
/// gives the same orders.
pub fn split(lines: Vec<PricedLine>, shipping: ShippingPolicy) -> Vec<OrderPart> {
    let mut pickup = Vec::new();
    let mut deliveries: BTreeMap<SupplierId, Vec<PricedLine>> = BTreeMap::new();
    for line in lines {
        match line.fulfilment {
            Fulfilment::Pickup => pickup.push(line),
            Fulfilment::Delivery => deliveries.entry(line.supplier_id.clone()).or_default().push(line),
        }
    }
    let part = |fulfilment, shipper: Option<SupplierId>, lines: Vec<PricedLine>| {
        let goods_fen = lines.iter().map(PricedLine::amount).fold(Fen::ZERO, |sum, amount| sum + amount);
        let shipping_fen = if shipper.is_some() { shipping.charge(goods_fen) } else { Fen::ZERO };
        OrderPart { fulfilment, shipper, lines, goods_fen, shipping_fen, total_fen: goods_fen + shipping_fen }
    };
    let mut parts = Vec::new();
    if !pickup.is_empty() {
        parts.push(part(Fulfilment::Pickup, None, pickup));
    }
    for (supplier, lines) in deliveries {
        parts.push(part(Fulfilment::Delivery, Some(supplier), lines));
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(sku: &str, supplier: &str, quantity: i64, fulfilment: Fulfilment, price: i64) -> PricedLine {
        PricedLine {
            sku_id: SkuId::parse(sku).unwrap(),
            supplier_id: SupplierId::parse(supplier).unwrap(),
            quantity,
            fulfilment,
            price_fen: Fen(price),
            supply_fen: Fen(price / 2),
        }
    }

    #[test]
    fn splits_pickup_from_each_suppliers_delivery() {
        let parts = split(
            vec![
                line("a-1", "sup-b", 2, Fulfilment::Delivery, 3_000),
                line("b-1", "sup-a", 1, Fulfilment::Pickup, 9_900),
                line("c-1", "sup-a", 1, Fulfilment::Delivery, 12_000),
                line("d-1", "sup-b", 1, Fulfilment::Pickup, 500),
            ],
            ShippingPolicy::default(),
        );
        assert_eq!(parts.len(), 3);
        assert_eq!(
            (parts[0].fulfilment, parts[0].lines.len(), parts[0].total_fen),
            (Fulfilment::Pickup, 2, Fen(10_400))
        );
        assert_eq!(parts[1].shipper.as_ref().map(SupplierId::as_str), Some("sup-a"));
        assert_eq!((parts[1].shipping_fen, parts[1].total_fen), (Fen::ZERO, Fen(12_000)));
        assert_eq!(parts[2].shipper.as_ref().map(SupplierId::as_str), Some("sup-b"));
        assert_eq!(
            (parts[2].goods_fen, parts[2].shipping_fen, parts[2].total_fen),
            (Fen(6_000), Fen(1_000), Fen(7_000))
        );
    }

    #[test]
    fn refuses_bad_carts() {
        let cart =
            |quantity| CartLine { sku_id: SkuId::parse("a-1").unwrap(), quantity, fulfilment: Fulfilment::Pickup };
        assert_eq!(validate(&[]), Err(CheckoutError::Empty));
        assert!(matches!(validate(&[cart(0)]), Err(CheckoutError::BadQuantity { .. })));
        assert!(matches!(validate(&[cart(-1)]), Err(CheckoutError::BadQuantity { .. })));
        assert!(matches!(validate(&[cart(100)]), Err(CheckoutError::BadQuantity { .. })));
        assert!(matches!(validate(&[cart(1), cart(2)]), Err(CheckoutError::DuplicateLine { .. })));
        assert_eq!(validate(&vec![cart(1); 51]), Err(CheckoutError::TooManyLines { max: 50 }));
        assert_eq!(validate(&[cart(99)]), Ok(()));
        let unknown_field = r#"{"sku_id":"a-1","quantity":1,"fulfilment":"pickup","price_fen":1}"#;
        assert!(serde_json::from_str::<CartLine>(unknown_field).is_err());
    }
}
