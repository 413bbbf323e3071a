//! The payment-provider side of a checkout, shaped like WeChat Pay and Alipay: a payment is
//! created for a checkout's total; the provider later sends an asynchronous notification signed
//! with HMAC-SHA256, which must verify before anything is believed.

use serde::{Deserialize, Serialize};

use crate::chain21::engine::EngineError;
use crate::chain21::paying::{self, Network, NetworkChanges, PaidOrder};
use crate::crypto;
use crate::fulfilment::PickupCode;
use crate::ledger::{self, LedgerError, OrderMoney, Transaction};
use crate::money::Fen;
use crate::order::{Fulfilment, Order, OrderError, OrderEvent, OrderPolicy, OrderState};
use crate::time::Timestamp;

/// A provider's notification that a payment succeeded (or failed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Notification {
    pub provider: String,
    /// The provider's id of the payment: the key that makes a repeated notification a no-op.
    pub payment_id: String,
    pub checkout_id: String,
    pub amount_fen: Fen,
    pub status: PaymentStatus,
    pub paid_at_ms: i64,
    /// Lowercase hex HMAC-SHA256 of [`Notification::canonical`].
    pub signature: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Success,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    #[error("the notification's signature does not verify")]
    BadSignature,
    #[error("the notification is for {notified_fen} fen but the checkout is {expected_fen} fen")]
    AmountMismatch { notified_fen: i64, expected_fen: i64 },
}

impl Notification {
    /// The exact bytes that are signed: every field but the signature, in a fixed order.
    pub fn canonical(&self) -> String {
        let status = match self.status {
            PaymentStatus::Success => "success",
            PaymentStatus::Failed => "failed",
        };
        format!(
            "amount_fen={}&checkout_id={}&paid_at_ms={}&payment_id={}&provider={}&status={status}",
            self.amount_fen.get(),
            self.checkout_id,
            self.paid_at_ms,
            self.payment_id,
            self.provider
        )
    }

    #[must_use]
    pub fn signed(mut self, key: &[u8]) -> Self {
        self.signature = crypto::hmac_hex(key, self.canonical().as_bytes());
        self
    }

    /// Verifies the signature and that the amount is the checkout's total.
    pub fn verify(&self, key: &[u8], expected: Fen) -> Result<(), PaymentError> {
        if !crypto::hmac_verify(key, self.canonical().as_bytes(), &self.signature) {
            return Err(PaymentError::BadSignature);
        }
        if self.amount_fen != expected {
            return Err(PaymentError::AmountMismatch {
                notified_fen: self.amount_fen.get(),
                expected_fen: expected.get(),
            });
        }
        Ok(())
    }
}

/// Where a stored payment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum PaymentState {
    /// Opened, waiting for the provider's notification.
    Created,
    Succeeded,
    Failed,
    /// The checkout was no longer payable when the money came: the provider gives it back.
    Returned,
}

impl PaymentState {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentState::Created => "created",
            PaymentState::Succeeded => "succeeded",
            PaymentState::Failed => "failed",
            PaymentState::Returned => "returned",
        }
    }

    pub fn parse(text: &str) -> Option<PaymentState> {
        [PaymentState::Created, PaymentState::Succeeded, PaymentState::Failed, PaymentState::Returned]
            .into_iter()
            .find(|state| state.as_str() == text)
    }
}

/// What a checkout is, as far as paying it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payable {
    /// Still `awaiting_payment`.
    pub open: bool,
    /// When its stock hold runs out.
    pub hold_expires_at: Timestamp,
}

/// Why a checkout cannot be paid now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotPayable {
    #[error("the checkout is closed")]
    Closed,
    #[error("the time to pay has run out; the goods were released")]
    HoldExpired,
}

impl Payable {
    /// A checkout takes money while it is open and its hold has not run out, whether or not
    /// the job that releases expired holds has run yet.
    pub fn check(self, now: Timestamp) -> Result<(), NotPayable> {
        if !self.open {
            Err(NotPayable::Closed)
        } else if now >= self.hold_expires_at {
            Err(NotPayable::HoldExpired)
        } else {
            Ok(())
        }
    }
}

/// What a verified notification does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The payment was settled before: nothing changes, the earlier outcome stands.
    Settled(PaymentState),
    /// The payment closes without paying for anything (`Failed` or `Returned`).
    Close(PaymentState),
    /// The payment pays its checkout.
    Apply,
}

/// The state machine of a payment on its provider's notification.
pub fn verdict(payment: PaymentState, checkout: Payable, notified: PaymentStatus, now: Timestamp) -> Verdict {
    match payment {
        PaymentState::Succeeded | PaymentState::Failed | PaymentState::Returned => Verdict::Settled(payment),
        PaymentState::Created if notified == PaymentStatus::Failed => Verdict::Close(PaymentState::Failed),
        PaymentState::Created => match checkout.check(now) {
            Ok(()) => Verdict::Apply,
            Err(_) => Verdict::Close(PaymentState::Returned),
        },
    }
}

/// One order of a checkout being paid, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderToPay {
    pub id: String,
    pub order: Order,
    pub money: OrderMoney,
    /// The order's lines as the distribution network counts them.
    pub lines: Vec<crate::chain21::events::Line>,
    /// Randomness for the pickup code of a pickup order.
    pub random: u64,
}

/// A step of an order's timeline on payment, with who took it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaidStep {
    pub event: OrderEvent,
    pub order: Order,
    /// `provider` for the payment itself, `system` for what follows from it.
    pub actor: &'static str,
}

/// What paying one order changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPaid {
    pub id: String,
    /// The state it was read in: the write's guard.
    pub before: OrderState,
    /// The order after the payment's steps.
    pub after: Order,
    pub steps: Vec<PaidStep>,
    /// A pickup order's code, which the shopper shows at the store.
    pub pickup_code: Option<PickupCode>,
    /// The payment's ledger transaction for this order.
    pub transaction: Transaction,
}

/// Everything paying a checkout changes: each order (state, timeline, pickup code, ledger)
/// and the distribution network. The checkout's holds become sales; the payment succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutPaid {
    pub orders: Vec<OrderPaid>,
    pub network: NetworkChanges,
}

/// Why a checkout could not be paid as read: each a defect of what was stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayError {
    #[error("order {id}: {error}")]
    Order { id: String, error: OrderError },
    #[error("order {id}: {error}")]
    Ledger { id: String, error: LedgerError },
    #[error("the distribution network: {0}")]
    Network(EngineError),
}

/// Pays the orders of a checkout bought by `buyer` at `now`: each order is paid (and a pickup
/// order prepared, with its code), its money posted, and the network told, in one decision.
///
/// # Errors
/// When an order cannot be paid in the state it was read in, its money does not add up, or the
/// network refuses the orders: none of them happens with a payable checkout as stored.
pub fn pay_checkout(
    buyer: &str,
    orders: &[OrderToPay],
    network: &Network,
    policy: OrderPolicy,
    now: Timestamp,
) -> Result<CheckoutPaid, PayError> {
    let mut paid = Vec::with_capacity(orders.len());
    for order in orders {
        let steps = order.order.pay(now, policy).map_err(|error| PayError::Order { id: order.id.clone(), error })?;
        let after = steps.last().map_or(order.order, |(_, after)| *after);
        let transaction =
            ledger::payment(&order.money).map_err(|error| PayError::Ledger { id: order.id.clone(), error })?;
        paid.push(OrderPaid {
            id: order.id.clone(),
            before: order.order.state,
            after,
            steps: steps
                .into_iter()
                .map(|(event, order)| PaidStep {
                    event,
                    order,
                    actor: if event == OrderEvent::Pay { "provider" } else { "system" },
                })
                .collect(),
            pickup_code: (order.order.fulfilment == Fulfilment::Pickup).then(|| PickupCode::from_random(order.random)),
            transaction,
        });
    }
    let network_orders: Vec<PaidOrder> = orders
        .iter()
        .map(|o| PaidOrder { id: o.id.clone(), store: o.money.store.clone(), lines: o.lines.clone() })
        .collect();
    let network = paying::pay(network, buyer, &network_orders, now).map_err(PayError::Network)?;
    Ok(CheckoutPaid { orders: paid, network })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notification() -> Notification {
        Notification {
            provider: "dev".into(),
            payment_id: "pay-1".into(),
            checkout_id: "co-1".into(),
            amount_fen: Fen(10_900),
            status: PaymentStatus::Success,
            paid_at_ms: 1_790_000_000_000,
            signature: String::new(),
        }
        .signed(b"pay-key")
    }

    #[test]
    fn a_signed_notification_verifies_and_a_forged_one_does_not() {
        assert_eq!(notification().verify(b"pay-key", Fen(10_900)), Ok(()));
        assert_eq!(notification().verify(b"wrong-key", Fen(10_900)), Err(PaymentError::BadSignature));
        let mut forged = notification();
        forged.amount_fen = Fen(1);
        assert_eq!(forged.verify(b"pay-key", Fen(1)), Err(PaymentError::BadSignature));
        assert_eq!(
            notification().verify(b"pay-key", Fen(10_000)),
            Err(PaymentError::AmountMismatch { notified_fen: 10_900, expected_fen: 10_000 })
        );
    }

    #[test]
    fn money_after_the_hold_ran_out_is_returned_even_before_the_release_job() {
        let hold = Timestamp(1_000);
        let open = Payable { open: true, hold_expires_at: hold };
        assert_eq!(verdict(PaymentState::Created, open, PaymentStatus::Success, Timestamp(999)), Verdict::Apply);
        assert_eq!(
            verdict(PaymentState::Created, open, PaymentStatus::Success, Timestamp(1_000)),
            Verdict::Close(PaymentState::Returned)
        );
        let closed = Payable { open: false, hold_expires_at: hold };
        assert_eq!(
            verdict(PaymentState::Created, closed, PaymentStatus::Success, Timestamp(1)),
            Verdict::Close(PaymentState::Returned)
        );
        assert_eq!(
            verdict(PaymentState::Created, open, PaymentStatus::Failed, Timestamp(1)),
            Verdict::Close(PaymentState::Failed)
        );
        for settled in [PaymentState::Succeeded, PaymentState::Failed, PaymentState::Returned] {
            assert_eq!(verdict(settled, open, PaymentStatus::Success, Timestamp(1)), Verdict::Settled(settled));
            assert_eq!(PaymentState::parse(settled.as_str()), Some(settled));
        }
        assert_eq!(open.check(Timestamp(1_000)), Err(NotPayable::HoldExpired));
        assert_eq!(closed.check(Timestamp(1)), Err(NotPayable::Closed));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let mut json = serde_json::to_value(notification()).unwrap();
        json["extra"] = serde_json::json!(1);
        assert!(serde_json::from_value::<Notification>(json).is_err());
    }
    fn to_pay(id: &str, fulfilment: Fulfilment, random: u64) -> OrderToPay {
        use crate::catalog::{StoreId, SupplierId};
        use crate::money::BasisPoints;
        OrderToPay {
            id: id.to_owned(),
            order: Order {
                fulfilment,
                state: OrderState::AwaitingPayment,
                state_before_refund: None,
                handed_over_at: None,
                completed_at: None,
            },
            money: OrderMoney {
                store: StoreId::parse("s-1").unwrap(),
                provider: "dev".into(),
                goods_fen: Fen(1_000),
                shipping_fen: Fen(0),
                shipper: None,
                supply: vec![(SupplierId::parse("sup-a").unwrap(), Fen(600))],
                platform_fee: BasisPoints::new(500).unwrap(),
            },
            lines: vec![crate::chain21::events::Line {
                sku: "k".into(),
                amount_fen: 1_000,
                designated: false,
                commissionable: true,
            }],
            random,
        }
    }

    #[test]
    fn paying_a_checkout_pays_each_order_prepares_pickups_and_posts_its_money() {
        let network = Network {
            rules: None,
            chain: Vec::new(),
            team_gmv: Vec::new(),
            conversion: Vec::new(),
            visited: Vec::new(),
        };
        let orders = [to_pay("o-1", Fulfilment::Pickup, 123_456_789), to_pay("o-2", Fulfilment::Delivery, 7)];
        let now = Timestamp(1_790_000_000_000);
        let paid = pay_checkout("m-1", &orders, &network, OrderPolicy::default(), now).unwrap();
        let [pickup, delivery] = &paid.orders[..] else { panic!("two orders") };
        assert_eq!(pickup.after.state, OrderState::ReadyForPickup, "a pickup order is prepared when paid");
        assert_eq!(pickup.pickup_code.as_ref().map(PickupCode::as_str), Some("23456789"));
        let actors: Vec<(&str, &str)> = pickup.steps.iter().map(|s| (s.event.code(), s.actor)).collect();
        assert_eq!(actors, [("pay", "provider"), ("prepare", "system")]);
        assert_eq!((delivery.after.state, delivery.pickup_code.as_ref()), (OrderState::Paid, None));
        assert_eq!(pickup.transaction, ledger::payment(&orders[0].money).unwrap());
        assert!(paid.network.buyer_joins && paid.network.members[0].has_paid);
        assert_eq!(paid.network.members[0].spend_fen, 2_000);
        // An order read as paid already is not paid again.
        let mut twice = orders[1].clone();
        twice.order.state = OrderState::Paid;
        let refused = pay_checkout("m-1", &[twice], &network, OrderPolicy::default(), now);
        assert!(matches!(refused, Err(PayError::Order { .. })), "{refused:?}");
    }
}
