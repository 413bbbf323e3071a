//! The API's wire types, compiled once and shared: the Worker answers them, the app reads them,
//! the tests assert on them. This module holds the error every route can answer; request and
//! answer types live beside the concept they belong to (`views`, `catalog`, …) and move here as
//! their routes move into the store layer.
//!
//! An error is `{"error": "<tag>", …its fields, "message": "…"}`: [`ErrorBody`] is that body,
//! [`Problem`] the tag with its fields. The app matches on the [`Problem`] and says in the
//! shopper's language what went wrong; `message` is English for logs and other clients.

use serde::{Deserialize, Serialize};

pub mod account;
pub mod cards;
pub mod commerce;
pub mod dev;
pub mod manage;
pub mod memory;
pub mod promotions;
pub mod rules;
pub mod sharers;

/// Everything the API can refuse, with what the refusal names. Its `error` tag is the
/// variant's name in snake case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum Problem {
    /// 400: a parameter or body field could not be used; `field` is its path (`address.phone`,
    /// `lines[0].quantity`) or `body` when the body as a whole is at fault.
    BadRequest { field: String },
    /// 404: the resource (`order`, `sku`, `store`, `route`, …) does not exist or is not the
    /// caller's to see.
    NotFound { resource: String },
    /// 405: the path takes only the `allowed` methods (`GET, HEAD, PUT`).
    MethodNotAllowed { allowed: String },
    /// 401: no valid session.
    Unauthenticated,
    /// 401: no code was sent to this phone, or it was swept.
    NoCode,
    /// 401: the code is not this phone's; `attempts_left` tries remain in this window.
    WrongCode { attempts_left: u32 },
    /// 401: the code's five minutes are over.
    CodeExpired,
    /// 401: this requester (or everyone together) used this window's tries.
    TooManyAttempts { attempts_left: u32 },
    /// 401: the code was used already.
    CodeUsed,
    /// 401: not six digits.
    BadCode,
    /// 401: a device route without its `Authorization: Bearer` key.
    DeviceKeyRequired,
    /// 403: only the store's owner may do this.
    OwnerOnly,
    /// 403: only a store's owner or manager may do this.
    ManagerOnly,
    /// 413: the body is larger than the route takes.
    PayloadTooLarge { max_bytes: u64 },
    /// 415: an upload is not a picture or model this route takes.
    UnsupportedMedia,
    /// 429: a rate limit was reached; try again after `retry_after_s` seconds.
    RateLimited { retry_after_s: i64 },
    /// 409: a SKU does not have the units asked for; nothing was written.
    OutOfStock { sku_id: String, fulfilment: String, available: i64, requested: i64 },
    /// 409: the checkout was paid or cancelled.
    CheckoutClosed,
    /// 409: the checkout's time to pay ran out and its goods were released.
    HoldExpired,
    /// 409: the order's state does not allow this step (it changed meanwhile, or never could).
    IllegalTransition,
    /// 409: an order that is paid cannot be cancelled; a refund can be asked for instead.
    OrderNotCancellable,
    /// 409: the order cannot be refunded now, or a refund is already open.
    RefundNotAllowed,
    /// 409: no refund is waiting for a decision.
    NoOpenRefund,
    /// 409: it was decided already.
    AlreadyDecided,
    /// 409: more units than that are held by unpaid checkouts.
    StockHeld,
    /// 409: the id is taken.
    IdTaken,
    /// 409: the store is suspended.
    StoreSuspended,
    /// 409: the supplier is suspended.
    SupplierSuspended,
    /// 409: the product has as many pictures as it may.
    TooManyMedia,
    /// 409: the picture is the product's last image, which the shelf shows.
    LastImage,
    /// 409: the balance does not cover the withdrawal.
    InsufficientBalance,
    /// 409: the rules version is not a draft.
    NotADraft,
    /// 409: the rules changed since they were read.
    StaleRules,
    /// 409: the person has not agreed to be remembered.
    ConsentRequired,
    /// 409: too many writers at once; try again.
    Busy,
    /// 400: a payment notification's signature does not verify.
    BadSignature,
    /// 400: a payment notification's amount is not the payment's.
    AmountMismatch,
    /// 422: the `Idempotency-Key` was used for another request.
    IdempotencyKeyReused,
    /// 422: the shelf price is outside the supplier's band or leaves less than the distribution
    /// cap.
    PriceRefused,
    /// 422: the rules have compliance findings not acknowledged.
    UnacknowledgedFindings,
    /// 500: something failed inside; it is logged.
    Internal,
    /// A tag this build does not know (a newer Worker's): the app shows a generic message.
    Unknown,
}

impl Problem {
    /// The HTTP status the API answers this problem with.
    pub fn status(&self) -> u16 {
        match self {
            Problem::BadRequest { .. } | Problem::BadSignature | Problem::AmountMismatch => 400,
            Problem::Unauthenticated
            | Problem::NoCode
            | Problem::WrongCode { .. }
            | Problem::CodeExpired
            | Problem::TooManyAttempts { .. }
            | Problem::CodeUsed
            | Problem::BadCode
            | Problem::DeviceKeyRequired => 401,
            Problem::OwnerOnly | Problem::ManagerOnly => 403,
            Problem::NotFound { .. } => 404,
            Problem::MethodNotAllowed { .. } => 405,
            Problem::PayloadTooLarge { .. } => 413,
            Problem::UnsupportedMedia => 415,
            Problem::IdempotencyKeyReused | Problem::PriceRefused | Problem::UnacknowledgedFindings => 422,
            Problem::RateLimited { .. } => 429,
            Problem::OutOfStock { .. }
            | Problem::CheckoutClosed
            | Problem::HoldExpired
            | Problem::IllegalTransition
            | Problem::OrderNotCancellable
            | Problem::RefundNotAllowed
            | Problem::NoOpenRefund
            | Problem::AlreadyDecided
            | Problem::StockHeld
            | Problem::IdTaken
            | Problem::StoreSuspended
            | Problem::SupplierSuspended
            | Problem::TooManyMedia
            | Problem::LastImage
            | Problem::InsufficientBalance
            | Problem::NotADraft
            | Problem::StaleRules
            | Problem::ConsentRequired
            | Problem::Busy => 409,
            Problem::Internal | Problem::Unknown => 500,
        }
    }

    /// One problem of every kind, those that name something with sample values: for the tests
    /// that must cover every refusal (the app's messages, reading them back).
    pub fn samples() -> Vec<Problem> {
        let mut all = vec![
            Problem::BadRequest { field: "address.phone".into() },
            Problem::NotFound { resource: "sku".into() },
            Problem::MethodNotAllowed { allowed: "GET, HEAD".into() },
            Problem::WrongCode { attempts_left: 3 },
            Problem::TooManyAttempts { attempts_left: 0 },
            Problem::PayloadTooLarge { max_bytes: 16_384 },
            Problem::RateLimited { retry_after_s: 90 },
            Problem::OutOfStock { sku_id: "p-0101-01".into(), fulfilment: "pickup".into(), available: 2, requested: 3 },
        ];
        all.extend(UNIT);
        all
    }

    /// The `error` tag.
    pub fn tag(&self) -> &'static str {
        match self {
            Problem::BadRequest { .. } => "bad_request",
            Problem::NotFound { .. } => "not_found",
            Problem::MethodNotAllowed { .. } => "method_not_allowed",
            Problem::Unauthenticated => "unauthenticated",
            Problem::NoCode => "no_code",
            Problem::WrongCode { .. } => "wrong_code",
            Problem::CodeExpired => "code_expired",
            Problem::TooManyAttempts { .. } => "too_many_attempts",
            Problem::CodeUsed => "code_used",
            Problem::BadCode => "bad_code",
            Problem::DeviceKeyRequired => "device_key_required",
            Problem::OwnerOnly => "owner_only",
            Problem::ManagerOnly => "manager_only",
            Problem::PayloadTooLarge { .. } => "payload_too_large",
            Problem::UnsupportedMedia => "unsupported_media",
            Problem::RateLimited { .. } => "rate_limited",
            Problem::OutOfStock { .. } => "out_of_stock",
            Problem::CheckoutClosed => "checkout_closed",
            Problem::HoldExpired => "hold_expired",
            Problem::IllegalTransition => "illegal_transition",
            Problem::OrderNotCancellable => "order_not_cancellable",
            Problem::RefundNotAllowed => "refund_not_allowed",
            Problem::NoOpenRefund => "no_open_refund",
            Problem::AlreadyDecided => "already_decided",
            Problem::StockHeld => "stock_held",
            Problem::IdTaken => "id_taken",
            Problem::StoreSuspended => "store_suspended",
            Problem::SupplierSuspended => "supplier_suspended",
            Problem::TooManyMedia => "too_many_media",
            Problem::LastImage => "last_image",
            Problem::InsufficientBalance => "insufficient_balance",
            Problem::NotADraft => "not_a_draft",
            Problem::StaleRules => "stale_rules",
            Problem::ConsentRequired => "consent_required",
            Problem::Busy => "busy",
            Problem::BadSignature => "bad_signature",
            Problem::AmountMismatch => "amount_mismatch",
            Problem::IdempotencyKeyReused => "idempotency_key_reused",
            Problem::PriceRefused => "price_refused",
            Problem::UnacknowledgedFindings => "unacknowledged_findings",
            Problem::Internal => "internal",
            Problem::Unknown => "unknown",
        }
    }
}

/// An error body as it travels: the tag and every field any problem names, all optional, so
/// reading one takes a plain struct (no buffering of an internally tagged enum, which costs the
/// storefront's Wasm several kilobytes).
#[derive(Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
struct Wire {
    error: String,
    field: Option<String>,
    resource: Option<String>,
    allowed: Option<String>,
    attempts_left: Option<u32>,
    max_bytes: Option<u64>,
    retry_after_s: Option<i64>,
    sku_id: Option<String>,
    fulfilment: Option<String>,
    available: Option<i64>,
    requested: Option<i64>,
}

impl<'de> Deserialize<'de> for Problem {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = Wire::deserialize(deserializer)?;
        let text = |value: Option<String>| value.unwrap_or_default();
        Ok(match wire.error.as_str() {
            "bad_request" => Problem::BadRequest { field: text(wire.field) },
            "not_found" => Problem::NotFound { resource: text(wire.resource) },
            "method_not_allowed" => Problem::MethodNotAllowed { allowed: text(wire.allowed) },
            "wrong_code" => Problem::WrongCode { attempts_left: wire.attempts_left.unwrap_or(0) },
            "too_many_attempts" => Problem::TooManyAttempts { attempts_left: wire.attempts_left.unwrap_or(0) },
            "payload_too_large" => Problem::PayloadTooLarge { max_bytes: wire.max_bytes.unwrap_or(0) },
            "rate_limited" => Problem::RateLimited { retry_after_s: wire.retry_after_s.unwrap_or(0) },
            "out_of_stock" => Problem::OutOfStock {
                sku_id: text(wire.sku_id),
                fulfilment: text(wire.fulfilment),
                available: wire.available.unwrap_or(0),
                requested: wire.requested.unwrap_or(0),
            },
            tag => UNIT.iter().find(|problem| problem.tag() == tag).cloned().unwrap_or(Problem::Unknown),
        })
    }
}

/// The problems that name nothing, to read back by their tag.
const UNIT: [Problem; 33] = [
    Problem::Unauthenticated,
    Problem::NoCode,
    Problem::CodeExpired,
    Problem::CodeUsed,
    Problem::BadCode,
    Problem::DeviceKeyRequired,
    Problem::OwnerOnly,
    Problem::ManagerOnly,
    Problem::UnsupportedMedia,
    Problem::CheckoutClosed,
    Problem::HoldExpired,
    Problem::IllegalTransition,
    Problem::OrderNotCancellable,
    Problem::RefundNotAllowed,
    Problem::NoOpenRefund,
    Problem::AlreadyDecided,
    Problem::StockHeld,
    Problem::IdTaken,
    Problem::StoreSuspended,
    Problem::SupplierSuspended,
    Problem::TooManyMedia,
    Problem::LastImage,
    Problem::InsufficientBalance,
    Problem::NotADraft,
    Problem::StaleRules,
    Problem::ConsentRequired,
    Problem::Busy,
    Problem::BadSignature,
    Problem::AmountMismatch,
    Problem::IdempotencyKeyReused,
    Problem::PriceRefused,
    Problem::UnacknowledgedFindings,
    Problem::Internal,
];

/// `GET /api/health`: the Worker answers, and which version it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Health {
    pub status: String,
    pub version: String,
}

/// An error's JSON body, as the Worker writes it (a reader takes the [`Problem`] from it
/// directly: the message is for logs and other clients).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ErrorBody {
    #[serde(flatten)]
    pub problem: Problem,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_error_body_is_its_tag_its_fields_and_a_message() {
        let body = ErrorBody {
            problem: Problem::OutOfStock {
                sku_id: "p-1-01".into(),
                fulfilment: "pickup".into(),
                available: 2,
                requested: 3,
            },
            message: "only 2 left".into(),
        };
        let value = serde_json::to_value(&body).unwrap();
        assert_eq!(
            value,
            json!({"error": "out_of_stock", "sku_id": "p-1-01", "fulfilment": "pickup", "available": 2, "requested": 3,
                   "message": "only 2 left"})
        );
        assert_eq!(serde_json::from_value::<Problem>(value).unwrap(), body.problem);
        assert_eq!(body.problem.status(), 409);
        assert_eq!(body.problem.tag(), "out_of_stock");
    }

    #[test]
    fn unit_problems_and_unknown_tags_read_back() {
        let read = |v| serde_json::from_value::<Problem>(v).unwrap();
        assert_eq!(read(json!({"error": "hold_expired", "message": "m"})), Problem::HoldExpired);
        assert_eq!(read(json!({"error": "something_new", "extra": 1, "message": "m"})), Problem::Unknown);
        assert_eq!(
            read(json!({"error": "bad_request", "field": "address.phone", "message": "m"})),
            Problem::BadRequest { field: "address.phone".into() }
        );
        assert_eq!(Problem::IdempotencyKeyReused.tag(), "idempotency_key_reused");
        assert_eq!(Problem::NotADraft.tag(), "not_a_draft");
        // Every problem reads back as itself from what the Worker writes, and its tag is the
        // one serde writes.
        for problem in Problem::samples() {
            let body = serde_json::to_value(ErrorBody { problem: problem.clone(), message: "m".into() }).unwrap();
            assert_eq!(body["error"], problem.tag());
            assert_eq!(serde_json::from_value::<Problem>(body).unwrap(), problem);
        }
    }
}
