//! The payment-provider side of a checkout, shaped like WeChat Pay and Alipay: a payment is
//! created for a checkout's total; the provider later sends an asynchronous notification signed
//! with HMAC-SHA256, which must verify before anything is believed.

use serde::{Deserialize, Serialize};

use crate::crypto;
use crate::money::Fen;
use crate::time::Timestamp;

/// A provider's notification that a payment succeeded (or failed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
}
