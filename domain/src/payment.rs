//! The payment-provider side of a checkout, shaped like WeChat Pay and Alipay: a payment is
//! created for a checkout's total; the provider later sends an asynchronous notification signed
//! with HMAC-SHA256, which must verify before anything is believed.

use serde::{Deserialize, Serialize};

use crate::crypto;
use crate::money::Fen;

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
    fn unknown_fields_are_refused() {
        let mut json = serde_json::to_value(notification()).unwrap();
        json["extra"] = serde_json::json!(1);
        assert!(serde_json::from_value::<Notification>(json).is_err());
    }
}
