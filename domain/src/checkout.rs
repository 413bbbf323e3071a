//! Checkout: a cart becomes one order per fulfilment part, priced on the server. The store's
//! pickup part is one order; each supplier's delivery part is another, with that supplier's
//! shipping. Totals come only from shelf prices the Worker read, never from the client.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::auth::Phone;
use crate::catalog::{SkuId, StoreId, SupplierId};
use crate::crypto;
use crate::money::Fen;
use crate::order::Fulfilment;
use crate::time::Timestamp;

pub mod cart;
pub mod placing;

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
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CartLine {
    pub sku_id: SkuId,
    pub quantity: i64,
    pub fulfilment: Fulfilment,
}

/// A cart line with what the Worker read for it from the shelf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
    #[error("delivery needs an address")]
    AddressMissing,
    #[error("an address is only for delivery lines")]
    AddressUnused,
    #[error("the address's {field} must be 1 to {max} characters")]
    BadAddress { field: &'static str, max: usize },
}

/// Where a delivery goes. It holds a phone number, so the Worker stores it sealed. (The
/// default is the empty form a shopper fills in.)
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// The recipient.
    pub name: String,
    pub phone: String,
    /// Province, city and district, e.g. "上海市 静安区".
    pub region: String,
    /// Street, building and room.
    pub detail: String,
}

/// `POST /api/orders`: what to buy at which store, and where to deliver what is delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    pub store_id: StoreId,
    pub lines: Vec<CartLine>,
    #[serde(default)]
    pub address: Option<Address>,
}

impl CheckoutRequest {
    /// A digest of the request as understood (not as spelled): the same request sent with other
    /// whitespace or key order has the same fingerprint, so an `Idempotency-Key` replay matches.
    pub fn fingerprint(&self) -> String {
        let mut canonical = format!("store={}", self.store_id);
        for line in &self.lines {
            canonical.push_str(&format!(";line={}:{}:{:?}", line.sku_id, line.quantity, line.fulfilment));
        }
        if let Some(address) = &self.address {
            for part in [&address.name, &address.phone, &address.region, &address.detail] {
                canonical.push_str(&format!(";addr={}:{part}", part.len()));
            }
        }
        crypto::sha256_hex(canonical.as_bytes())
    }

    /// Checks the lines and that delivery lines, and only they, come with a usable address.
    pub fn validate(&self) -> Result<(), CheckoutError> {
        validate(&self.lines)?;
        let delivers = self.lines.iter().any(|line| line.fulfilment == Fulfilment::Delivery);
        match (&self.address, delivers) {
            (None, true) => Err(CheckoutError::AddressMissing),
            (Some(_), false) => Err(CheckoutError::AddressUnused),
            (Some(address), true) => address.validate(),
            (None, false) => Ok(()),
        }
    }
}

impl Address {
    fn validate(&self) -> Result<(), CheckoutError> {
        let field = |name: &'static str, value: &str, max: usize| {
            let chars = value.trim().chars().count();
            if chars == 0 || chars > max || value.chars().any(char::is_control) {
                Err(CheckoutError::BadAddress { field: name, max })
            } else {
                Ok(())
            }
        };
        field("name", &self.name, 40)?;
        field("region", &self.region, 60)?;
        field("detail", &self.detail, 200)?;
        Phone::parse(&self.phone).map_err(|_| CheckoutError::BadAddress { field: "phone", max: 11 })?;
        Ok(())
    }
}

/// How long a checkout holds its stock before the hold expires and the orders are cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldPolicy {
    pub minutes: i64,
}

impl Default for HoldPolicy {
    fn default() -> Self {
        Self { minutes: 15 }
    }
}

impl HoldPolicy {
    pub fn expires_at(self, now: Timestamp) -> Timestamp {
        now.plus_minutes(self.minutes)
    }
}

impl CheckoutError {
    /// The request field the error is about, for a 400 that names it.
    pub fn field(&self) -> String {
        match self {
            CheckoutError::Empty | CheckoutError::TooManyLines { .. } | CheckoutError::DuplicateLine { .. } => {
                "lines".to_owned()
            }
            CheckoutError::BadQuantity { .. } => "quantity".to_owned(),
            CheckoutError::AddressMissing | CheckoutError::AddressUnused => "address".to_owned(),
            CheckoutError::BadAddress { field, .. } => format!("address.{field}"),
        }
    }
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

    fn request(fulfilment: Fulfilment, address: Option<Address>) -> CheckoutRequest {
        CheckoutRequest {
            store_id: StoreId::parse("s-jingan").unwrap(),
            lines: vec![CartLine { sku_id: SkuId::parse("a-1").unwrap(), quantity: 2, fulfilment }],
            address,
        }
    }

    fn address() -> Address {
        Address {
            name: "王小明".into(),
            phone: "13800000000".into(),
            region: "上海市 静安区".into(),
            detail: "南京西路 1 号".into(),
        }
    }

    #[test]
    fn delivery_needs_an_address_and_pickup_refuses_one() {
        assert_eq!(request(Fulfilment::Delivery, None).validate(), Err(CheckoutError::AddressMissing));
        assert_eq!(request(Fulfilment::Pickup, Some(address())).validate(), Err(CheckoutError::AddressUnused));
        assert_eq!(request(Fulfilment::Delivery, Some(address())).validate(), Ok(()));
        let bad_phone = Address { phone: "12".into(), ..address() };
        let error = request(Fulfilment::Delivery, Some(bad_phone)).validate().unwrap_err();
        assert_eq!(error.field(), "address.phone");
        let blank = Address { detail: "  ".into(), ..address() };
        assert_eq!(request(Fulfilment::Delivery, Some(blank)).validate().unwrap_err().field(), "address.detail");
    }

    #[test]
    fn the_fingerprint_is_of_the_meaning_not_the_spelling() {
        let compact: CheckoutRequest = serde_json::from_str(
            r#"{"store_id":"s-jingan","lines":[{"sku_id":"a-1","quantity":2,"fulfilment":"pickup"}]}"#,
        )
        .unwrap();
        let spaced: CheckoutRequest = serde_json::from_str(
            r#"{ "lines": [ {"fulfilment":"pickup", "quantity":2, "sku_id":"a-1"} ], "store_id": "s-jingan" }"#,
        )
        .unwrap();
        assert_eq!(compact.fingerprint(), spaced.fingerprint());
        let mut more = compact.clone();
        more.lines[0].quantity = 3;
        assert_ne!(compact.fingerprint(), more.fingerprint());
        // Length prefixes keep one address field from running into the next.
        let split_one = Address { name: "王".into(), region: "小明上海".into(), ..address() };
        let split_two = Address { name: "王小明".into(), region: "上海".into(), ..address() };
        let with = |address| CheckoutRequest { address: Some(address), ..compact.clone() };
        assert_ne!(with(split_one).fingerprint(), with(split_two).fingerprint());
    }
}
