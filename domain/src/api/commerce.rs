//! The buying path's answers, as the Worker writes them and the app reads them: a cart, a
//! placed checkout, a payment, what became of a payment notification, an order, a page of
//! orders.

use serde::{Deserialize, Serialize};

use crate::catalog::{SkuId, StoreId, StoreSummary};
use crate::checkout::Address;
use crate::order::Fulfilment;
use crate::payment::Notification;
use crate::refund::RefundAmount;
use crate::views::{CartView, CheckoutView, OrderView, PaymentView, Settlement};

/// `GET /api/stores`: the stores a shopper can pick, with their shelf sizes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StoreList {
    pub stores: Vec<StoreSummary>,
}

/// `GET /api/cart`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CartAnswer {
    pub cart: CartView,
}

/// `PUT` or `POST /api/cart/lines`: the line's quantity now, and the whole cart. (A reader
/// that only wants the quantity, like the storefront's "加入购物车", reads the cart as
/// `serde::de::IgnoredAny`.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CartLineAnswer<C = CartView> {
    pub quantity: i64,
    pub cart: C,
}

/// `POST /api/orders`: the placed checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CheckoutAnswer {
    pub checkout: CheckoutView,
}

/// A payment opened (`POST /api/checkouts/{id}/payments`) or queried (`GET /api/payments/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PaymentAnswer {
    pub payment: PaymentView,
}

/// What became of a payment notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "PaymentOutcome"))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Paid,
    AlreadyProcessed,
    /// The checkout was no longer payable (its hold expired, or another payment won): the
    /// provider gives the money back, and nothing is posted.
    Returned,
    Failed,
}

impl Outcome {
    /// The order is paid, by this notification or an earlier one.
    pub fn is_paid(self) -> bool {
        matches!(self, Outcome::Paid | Outcome::AlreadyProcessed)
    }
}

/// `POST /api/payments/notify/{provider}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NotificationAnswer {
    pub result: Outcome,
}

/// `POST /api/payments/{id}/confirm` (development): what became of the notification it
/// signed, and the notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Confirmed {
    pub result: Outcome,
    pub notification: Notification,
}

/// One order, with its timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OrderAnswer {
    pub order: OrderView,
}

/// `GET /api/store/{id}/orders`: the store's paid orders, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StoreOrders {
    pub orders: Vec<OrderView>,
}

/// A supplier's order to ship, with the address it goes to (opened for the shipper; none for
/// an order without one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ToShip {
    pub order: OrderView,
    pub address: Option<Address>,
}

/// `GET /api/supplier/{id}/orders`: the supplier's orders to ship, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SupplierOrders {
    pub orders: Vec<ToShip>,
}

/// `GET /api/orders`: the caller's orders, newest first; `next_before` pages on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OrderPage {
    pub orders: Vec<OrderView>,
    pub next_before: Option<String>,
}

/// `PUT /api/cart/lines` (set; 0 removes the line) and `POST /api/cart/lines` (add).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SetLine {
    pub store_id: StoreId,
    pub sku_id: SkuId,
    pub fulfilment: Fulfilment,
    pub quantity: i64,
}

/// `POST /api/orders/{id}/refund`: the shopper asks for a refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    pub reason: String,
}

/// `POST /api/store/{id}/pickups`: what the clerk typed, or the scanned QR payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PickupRequest {
    pub code: String,
}

/// `POST /api/{store|supplier}/{id}/orders/{order}/refund`: approve (the amount, everything
/// left when absent) or reject the refund asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RefundDecision {
    pub approve: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<RefundAmount>,
}

/// `PUT /api/supplier/{id}/stock`: a SKU's units in the supplier's warehouse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct WarehouseStock {
    pub sku_id: SkuId,
    pub on_hand: i64,
    /// Puts the row on flash sale (`true`) or takes it off; absent: as it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flash_sale: Option<bool>,
}

/// `POST /api/orders/{id}/refund`: the order now, the refund asked for, and whether it was
/// paid at once (before hand-over) rather than waiting for a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RefundAsked {
    pub order: OrderView,
    pub refund_id: String,
    pub automatic: bool,
}

/// `GET /api/{store|supplier}/{id}/settlement`: what the platform owes the tenant, entry by entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SettlementAnswer {
    pub settlement: Settlement,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_travel_as_their_snake_case_names() {
        let answer: NotificationAnswer = serde_json::from_str(r#"{"result":"already_processed"}"#).unwrap();
        assert!(answer.result.is_paid());
        assert_eq!(
            serde_json::to_string(&NotificationAnswer { result: Outcome::Returned }).unwrap(),
            r#"{"result":"returned"}"#
        );
        assert!(!Outcome::Failed.is_paid());
    }
}
