//! An order's life: one state machine per order (a checkout holds one order per fulfilment
//! part). Every change goes through [`Order::apply`], which refuses what the state does not
//! allow, so the Worker can only store states this module produced.
//!
//! ```text
//! awaiting_payment ─pay─▶ paid ─prepare─▶ ready_for_pickup ─pick_up─▶ picked_up ─┐
//!        │                 └──ship──▶ shipped ─deliver─▶ delivered ─────────────┴─complete─▶ completed
//!        └─cancel/expire─▶ cancelled
//! any paid state, or completed inside the after-sale window ─request_refund─▶ refund_requested
//! refund_requested ─refund(all)─▶ refunded · ─refund(part)─▶ partially_refunded · ─reject─▶ back
//! ```

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// How the shopper gets the goods; decides which branch of the machine an order follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Fulfilment {
    /// Collected at the shelf's store with a pickup code.
    Pickup,
    /// Shipped by the supplier.
    Delivery,
}

impl Fulfilment {
    /// The stored and wire code: `pickup` or `delivery`.
    pub fn code(self) -> &'static str {
        match self {
            Fulfilment::Pickup => "pickup",
            Fulfilment::Delivery => "delivery",
        }
    }

    pub fn parse(code: &str) -> Option<Fulfilment> {
        [Fulfilment::Pickup, Fulfilment::Delivery].into_iter().find(|f| f.code() == code)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    AwaitingPayment,
    Paid,
    ReadyForPickup,
    PickedUp,
    Shipped,
    Delivered,
    Completed,
    Cancelled,
    RefundRequested,
    Refunded,
    PartiallyRefunded,
}

impl OrderState {
    pub const ALL: [OrderState; 11] = [
        OrderState::AwaitingPayment,
        OrderState::Paid,
        OrderState::ReadyForPickup,
        OrderState::PickedUp,
        OrderState::Shipped,
        OrderState::Delivered,
        OrderState::Completed,
        OrderState::Cancelled,
        OrderState::RefundRequested,
        OrderState::Refunded,
        OrderState::PartiallyRefunded,
    ];

    pub fn code(self) -> &'static str {
        match self {
            OrderState::AwaitingPayment => "awaiting_payment",
            OrderState::Paid => "paid",
            OrderState::ReadyForPickup => "ready_for_pickup",
            OrderState::PickedUp => "picked_up",
            OrderState::Shipped => "shipped",
            OrderState::Delivered => "delivered",
            OrderState::Completed => "completed",
            OrderState::Cancelled => "cancelled",
            OrderState::RefundRequested => "refund_requested",
            OrderState::Refunded => "refunded",
            OrderState::PartiallyRefunded => "partially_refunded",
        }
    }

    pub fn parse(code: &str) -> Option<OrderState> {
        OrderState::ALL.into_iter().find(|state| state.code() == code)
    }

    /// Money has been taken and not (wholly) given back.
    pub fn is_paid(self) -> bool {
        matches!(
            self,
            OrderState::Paid
                | OrderState::ReadyForPickup
                | OrderState::PickedUp
                | OrderState::Shipped
                | OrderState::Delivered
                | OrderState::Completed
                | OrderState::RefundRequested
                | OrderState::PartiallyRefunded
        )
    }

    /// No event moves the order any more.
    pub fn is_final(self) -> bool {
        matches!(self, OrderState::Cancelled | OrderState::Refunded)
    }
}

/// Something that happens to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OrderEvent {
    /// The payment notification was accepted.
    Pay,
    /// The shopper cancelled before paying, or the stock hold expired.
    Cancel,
    /// The store has the goods ready (pickup).
    Prepare,
    /// A clerk of the store verified the pickup code.
    PickUp,
    /// The supplier entered carrier and tracking number (delivery).
    Ship,
    Deliver,
    /// The auto-completion delay after pickup or delivery has passed.
    Complete,
    RequestRefund,
    /// The refund was paid out; `whole` when it returns everything left of the order.
    Refund {
        whole: bool,
    },
    RejectRefund,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error("an order in state {state} cannot take {event}")]
    IllegalTransition { state: &'static str, event: &'static str },
    #[error("the after-sale window closed at {closed_at_ms} ms")]
    AfterSaleWindowClosed { closed_at_ms: i64 },
}

impl OrderEvent {
    pub fn code(self) -> &'static str {
        match self {
            OrderEvent::Pay => "pay",
            OrderEvent::Cancel => "cancel",
            OrderEvent::Prepare => "prepare",
            OrderEvent::PickUp => "pick_up",
            OrderEvent::Ship => "ship",
            OrderEvent::Deliver => "deliver",
            OrderEvent::Complete => "complete",
            OrderEvent::RequestRefund => "request_refund",
            OrderEvent::Refund { .. } => "refund",
            OrderEvent::RejectRefund => "reject_refund",
        }
    }
}

/// The order timing rules a platform configures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderPolicy {
    /// Days after pickup or delivery when an order completes by itself.
    pub auto_complete_after_days: i64,
    /// Days after completion during which a refund may still be requested.
    pub after_sale_days: i64,
}

impl Default for OrderPolicy {
    fn default() -> Self {
        Self { auto_complete_after_days: 7, after_sale_days: 7 }
    }
}

/// The part of an order the state machine needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Order {
    pub fulfilment: Fulfilment,
    pub state: OrderState,
    /// The state a pending refund request came from, to return to when it is rejected.
    pub state_before_refund: Option<OrderState>,
    /// When the order reached `picked_up` or `delivered` (starts the auto-completion clock).
    pub handed_over_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
}

impl Order {
    pub fn new(fulfilment: Fulfilment) -> Self {
        Self {
            fulfilment,
            state: OrderState::AwaitingPayment,
            state_before_refund: None,
            handed_over_at: None,
            completed_at: None,
        }
    }

    /// The order after `event` at `now`, or why it cannot happen.
    /// What paying does: the order is paid, and a pickup order is then ready at once (its goods
    /// are on the store's shelf already). Each step with the order after it, for the timeline.
    pub fn pay(self, now: Timestamp, policy: OrderPolicy) -> Result<Vec<(OrderEvent, Order)>, OrderError> {
        let paid = self.apply(OrderEvent::Pay, now, policy)?;
        let mut steps = vec![(OrderEvent::Pay, paid)];
        if paid.fulfilment == Fulfilment::Pickup {
            steps.push((OrderEvent::Prepare, paid.apply(OrderEvent::Prepare, now, policy)?));
        }
        Ok(steps)
    }

    pub fn apply(self, event: OrderEvent, now: Timestamp, policy: OrderPolicy) -> Result<Order, OrderError> {
        use OrderEvent as E;
        use OrderState as S;
        let illegal = || OrderError::IllegalTransition { state: self.state.code(), event: event.code() };
        let mut next = self;
        next.state = match (self.state, event, self.fulfilment) {
            (S::AwaitingPayment, E::Pay, _) => S::Paid,
            (S::AwaitingPayment, E::Cancel, _) => S::Cancelled,
            (S::Paid, E::Prepare, Fulfilment::Pickup) => S::ReadyForPickup,
            (S::ReadyForPickup, E::PickUp, Fulfilment::Pickup) => {
                next.handed_over_at = Some(now);
                S::PickedUp
            }
            (S::Paid, E::Ship, Fulfilment::Delivery) => S::Shipped,
            (S::Shipped, E::Deliver, Fulfilment::Delivery) => {
                next.handed_over_at = Some(now);
                S::Delivered
            }
            (S::PickedUp | S::Delivered, E::Complete, _) => {
                let due = self.handed_over_at.map(|at| at.plus_days(policy.auto_complete_after_days));
                if due.is_some_and(|due| now < due) {
                    return Err(illegal());
                }
                next.completed_at = Some(now);
                S::Completed
            }
            (S::Completed, E::RequestRefund, _) => {
                let closes = self.completed_at.map_or(now, |at| at.plus_days(policy.after_sale_days));
                if now > closes {
                    return Err(OrderError::AfterSaleWindowClosed { closed_at_ms: closes.millis() });
                }
                next.state_before_refund = Some(self.state);
                S::RefundRequested
            }
            (
                S::Paid | S::ReadyForPickup | S::PickedUp | S::Shipped | S::Delivered | S::PartiallyRefunded,
                E::RequestRefund,
                _,
            ) => {
                next.state_before_refund = Some(self.state);
                S::RefundRequested
            }
            (S::RefundRequested, E::Refund { whole: true }, _) => {
                next.state_before_refund = None;
                S::Refunded
            }
            (S::RefundRequested, E::Refund { whole: false }, _) => {
                next.state_before_refund = None;
                S::PartiallyRefunded
            }
            (S::RefundRequested, E::RejectRefund, _) => {
                next.state_before_refund = None;
                self.state_before_refund.ok_or_else(illegal)?
            }
            _ => return Err(illegal()),
        };
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const NOW: Timestamp = Timestamp(1_790_000_000_000);

    fn run(fulfilment: Fulfilment, events: &[OrderEvent]) -> Result<Order, OrderError> {
        events.iter().try_fold(Order::new(fulfilment), |order, &event| order.apply(event, NOW, OrderPolicy::default()))
    }

    #[test]
    fn paying_readies_a_pickup_order_at_once_and_leaves_a_delivery_order_paid() {
        let policy = OrderPolicy::default();
        let pickup = Order::new(Fulfilment::Pickup).pay(NOW, policy).unwrap();
        let steps: Vec<_> = pickup.iter().map(|(event, order)| (*event, order.state)).collect();
        assert_eq!(steps, [(OrderEvent::Pay, OrderState::Paid), (OrderEvent::Prepare, OrderState::ReadyForPickup)]);
        let delivery = Order::new(Fulfilment::Delivery).pay(NOW, policy).unwrap();
        assert_eq!(delivery.iter().map(|(_, o)| o.state).collect::<Vec<_>>(), [OrderState::Paid]);
        let paid = delivery[0].1;
        assert!(paid.pay(NOW, policy).is_err(), "paid once");
    }

    #[test]
    fn a_pickup_order_runs_its_course() {
        let picked = run(Fulfilment::Pickup, &[OrderEvent::Pay, OrderEvent::Prepare, OrderEvent::PickUp]).unwrap();
        assert_eq!(picked.state, OrderState::PickedUp);
        let policy = OrderPolicy::default();
        assert!(picked.apply(OrderEvent::Complete, NOW.plus_days(6), policy).is_err(), "too early");
        let done = picked.apply(OrderEvent::Complete, NOW.plus_days(7), policy).unwrap();
        assert_eq!(done.state, OrderState::Completed);
    }

    #[test]
    fn a_delivery_order_cannot_be_picked_up_nor_a_pickup_shipped() {
        let paid = run(Fulfilment::Delivery, &[OrderEvent::Pay]).unwrap();
        assert!(paid.apply(OrderEvent::Prepare, NOW, OrderPolicy::default()).is_err());
        let shipped = paid.apply(OrderEvent::Ship, NOW, OrderPolicy::default()).unwrap();
        assert_eq!(shipped.state, OrderState::Shipped);
        let pickup = run(Fulfilment::Pickup, &[OrderEvent::Pay]).unwrap();
        assert_eq!(
            pickup.apply(OrderEvent::Ship, NOW, OrderPolicy::default()),
            Err(OrderError::IllegalTransition { state: "paid", event: "ship" })
        );
    }

    #[test]
    fn refunds_follow_the_after_sale_window() {
        let policy = OrderPolicy::default();
        let done = run(Fulfilment::Delivery, &[OrderEvent::Pay, OrderEvent::Ship, OrderEvent::Deliver])
            .unwrap()
            .apply(OrderEvent::Complete, NOW.plus_days(7), policy)
            .unwrap();
        assert!(done.apply(OrderEvent::RequestRefund, NOW.plus_days(14), policy).is_ok());
        assert!(matches!(
            done.apply(OrderEvent::RequestRefund, NOW.plus_days(14).plus_millis(1), policy),
            Err(OrderError::AfterSaleWindowClosed { .. })
        ));
        let requested = done.apply(OrderEvent::RequestRefund, NOW.plus_days(8), policy).unwrap();
        let rejected = requested.apply(OrderEvent::RejectRefund, NOW.plus_days(9), policy).unwrap();
        assert_eq!(rejected.state, OrderState::Completed);
    }

    #[test]
    fn unpaid_orders_cannot_be_refunded_and_cancelled_ones_stay_cancelled() {
        let policy = OrderPolicy::default();
        assert!(Order::new(Fulfilment::Pickup).apply(OrderEvent::RequestRefund, NOW, policy).is_err());
        let cancelled = run(Fulfilment::Pickup, &[OrderEvent::Cancel]).unwrap();
        for event in [OrderEvent::Pay, OrderEvent::Cancel, OrderEvent::RequestRefund] {
            assert!(cancelled.apply(event, NOW, policy).is_err());
        }
    }

    #[test]
    fn states_round_trip_through_their_codes() {
        for state in OrderState::ALL {
            assert_eq!(OrderState::parse(state.code()), Some(state));
        }
    }

    fn any_event() -> impl Strategy<Value = OrderEvent> {
        prop_oneof![
            Just(OrderEvent::Pay),
            Just(OrderEvent::Cancel),
            Just(OrderEvent::Prepare),
            Just(OrderEvent::PickUp),
            Just(OrderEvent::Ship),
            Just(OrderEvent::Deliver),
            Just(OrderEvent::Complete),
            Just(OrderEvent::RequestRefund),
            any::<bool>().prop_map(|whole| OrderEvent::Refund { whole }),
            Just(OrderEvent::RejectRefund),
        ]
    }

    proptest! {
        /// Whatever events arrive, in whatever order and at whatever times: a final state is never
        /// left, an order is never paid without passing through `pay`, a pickup order never ships
        /// and a delivery order is never picked up.
        #[test]
        fn the_machine_keeps_its_invariants(
            pickup in any::<bool>(),
            steps in proptest::collection::vec((any_event(), 0i64..30), 0..40),
        ) {
            let fulfilment = if pickup { Fulfilment::Pickup } else { Fulfilment::Delivery };
            let mut order = Order::new(fulfilment);
            let mut now = NOW;
            let mut was_paid = false;
            for (event, days) in steps {
                now = now.plus_days(days);
                let before = order;
                // A refused event leaves the order as it was: `apply` takes it by value.
                if let Ok(next) = order.apply(event, now, OrderPolicy::default()) {
                    prop_assert!(!before.state.is_final(), "left final state {:?}", before.state);
                    if event == OrderEvent::Pay { was_paid = true; }
                    if next.state.is_paid() { prop_assert!(was_paid); }
                    match fulfilment {
                        Fulfilment::Pickup => prop_assert!(!matches!(next.state, OrderState::Shipped | OrderState::Delivered)),
                        Fulfilment::Delivery => prop_assert!(!matches!(next.state, OrderState::ReadyForPickup | OrderState::PickedUp)),
                    }
                    order = next;
                }
            }
        }
    }
}
