//! What the API answers about carts, checkouts, orders and settlements. The Worker builds these
//! from rows; the app reads them; both compile this one definition, so they cannot drift.

use serde::{Deserialize, Serialize};

use crate::catalog::{ProductId, SkuId, StoreId, SupplierId, Text, Variant};
use crate::money::Fen;
use crate::order::{Fulfilment, OrderState};
use crate::stock::Availability;
use crate::time::Timestamp;

/// One line of a cart, with today's price and availability at its store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CartLineView {
    pub store_id: StoreId,
    pub sku_id: SkuId,
    pub product_id: ProductId,
    pub fulfilment: Fulfilment,
    pub quantity: i64,
    pub name: Text,
    pub variant: Variant,
    pub image: String,
    pub price_fen: Fen,
    pub availability: Availability,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CartView {
    pub lines: Vec<CartLineView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OrderLineView {
    pub sku_id: SkuId,
    pub product_id: ProductId,
    pub name: Text,
    /// The variant as words, e.g. "M / 黑色".
    pub variant: Text,
    pub quantity: i64,
    pub price_fen: Fen,
}

/// One step of an order's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TimelineEntry {
    pub event: String,
    pub state: OrderState,
    pub actor: String,
    pub note: Option<String>,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OrderView {
    pub id: String,
    pub checkout_id: String,
    pub store_id: StoreId,
    pub store_name: Text,
    pub fulfilment: Fulfilment,
    pub shipper_id: Option<SupplierId>,
    pub shipper_name: Option<Text>,
    pub state: OrderState,
    pub goods_fen: Fen,
    pub shipping_fen: Fen,
    pub total_fen: Fen,
    pub refunded_fen: Fen,
    pub lines: Vec<OrderLineView>,
    /// Shown to the shopper once paid; the QR code is at `/api/orders/{id}/pickup-qr.svg`.
    pub pickup_code: Option<String>,
    pub carrier: Option<String>,
    pub tracking_no: Option<String>,
    pub created_at: Timestamp,
    /// Only in the detail view.
    #[serde(default)]
    pub timeline: Vec<TimelineEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CheckoutView {
    pub id: String,
    pub store_id: StoreId,
    pub state: String,
    pub total_fen: Fen,
    pub hold_expires_at: Timestamp,
    pub orders: Vec<OrderView>,
}

/// A payment asked of a provider; `pay_url` is the provider's page (the app's own for `dev`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PaymentView {
    pub id: String,
    pub checkout_id: String,
    pub provider: String,
    pub amount_fen: Fen,
    pub status: String,
    pub pay_url: String,
}

/// One order's entries on one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SettlementLine {
    pub order_id: Option<String>,
    pub kind: String,
    /// Credits minus debits: what the account was owed by this transaction.
    pub amount_fen: Fen,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Settlement {
    pub account: String,
    pub balance_fen: Fen,
    pub lines: Vec<SettlementLine>,
}
