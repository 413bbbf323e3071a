//! The one error type at the HTTP boundary. Each variant has a status and a JSON body whose
//! `error` tag the app matches on; internal failures are logged in full and answered with an
//! opaque 500, so no database message ever reaches a client.

use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// 400: a parameter could not be used; `field` names it.
    BadRequest { field: String, message: String },
    /// 404: the resource does not exist, or is not the caller's to see.
    NotFound { resource: &'static str },
    /// 404 for a path no route answers.
    NoRoute,
    /// 405: the path exists but not with this method.
    MethodNotAllowed { allowed: &'static str },
    /// 401: no valid session.
    Unauthenticated,
    /// 401: a sign-in code was refused; `reason` is the tag (`wrong_code`, `code_expired`, …).
    SignInRefused { reason: &'static str, attempts_left: Option<u32> },
    /// 413: the request body is larger than the route accepts.
    PayloadTooLarge { max_bytes: usize },
    /// 429: a rate limit was reached.
    RateLimited { retry_after_s: i64 },
    /// 409: a SKU does not have the stock asked for; nothing was written.
    OutOfStock { sku_id: String, fulfilment: &'static str, available: i64, requested: i64 },
    /// 4xx with its own tag: the request is understood but the state of things refuses it
    /// (409 `order_not_cancellable`, 422 `idempotency_key_reused`, 400 `bad_signature`, …).
    Refused { status: u16, error: &'static str, message: String },
    /// 500: logged with `detail`; the client sees only the tag.
    Internal { detail: String },
}

impl ApiError {
    pub fn bad_request(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::BadRequest { field: field.into(), message: message.into() }
    }

    pub fn refused(status: u16, error: &'static str, message: impl Into<String>) -> Self {
        ApiError::Refused { status, error, message: message.into() }
    }

    pub fn conflict(error: &'static str, message: impl Into<String>) -> Self {
        Self::refused(409, error, message)
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        ApiError::Internal { detail: detail.to_string() }
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::BadRequest { .. } => 400,
            ApiError::NotFound { .. } | ApiError::NoRoute => 404,
            ApiError::Unauthenticated | ApiError::SignInRefused { .. } => 401,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::PayloadTooLarge { .. } => 413,
            ApiError::RateLimited { .. } => 429,
            ApiError::OutOfStock { .. } => 409,
            ApiError::Refused { status, .. } => *status,
            ApiError::Internal { .. } => 500,
        }
    }

    pub fn body(&self) -> Value {
        match self {
            ApiError::BadRequest { field, message } => {
                json!({"error": "bad_request", "field": field, "message": message})
            }
            ApiError::NotFound { resource } => {
                json!({"error": "not_found", "resource": resource, "message": format!("{resource} not found")})
            }
            ApiError::NoRoute => json!({"error": "not_found", "resource": "route", "message": "no such route"}),
            ApiError::MethodNotAllowed { allowed } => {
                json!({"error": "method_not_allowed", "allowed": allowed, "message": format!("use {allowed}")})
            }
            ApiError::Unauthenticated => json!({"error": "unauthenticated", "message": "sign in first"}),
            ApiError::SignInRefused { reason, attempts_left } => {
                json!({"error": reason, "attempts_left": attempts_left, "message": "the sign-in code was not accepted"})
            }
            ApiError::PayloadTooLarge { max_bytes } => {
                json!({"error": "payload_too_large", "max_bytes": max_bytes, "message": format!("at most {max_bytes} bytes")})
            }
            ApiError::RateLimited { retry_after_s } => {
                json!({"error": "rate_limited", "retry_after_s": retry_after_s, "message": "too many requests; try again later"})
            }
            ApiError::OutOfStock { sku_id, fulfilment, available, requested } => json!({
                "error": "out_of_stock", "sku_id": sku_id, "fulfilment": fulfilment,
                "available": available, "requested": requested,
                "message": format!("only {available} of {sku_id} left for {fulfilment}"),
            }),
            ApiError::Refused { error, message, .. } => json!({"error": error, "message": message}),
            ApiError::Internal { .. } => json!({"error": "internal", "message": "internal error"}),
        }
    }
}

impl From<tandem_domain::shelf::ParamError> for ApiError {
    fn from(error: tandem_domain::shelf::ParamError) -> Self {
        ApiError::BadRequest { field: error.field, message: error.reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_detail_never_reaches_the_body() {
        let error = ApiError::internal("D1_ERROR: no such table: secrets");
        assert_eq!(error.status(), 500);
        assert!(!error.body().to_string().contains("secrets"));
    }

    #[test]
    fn bad_request_names_the_field() {
        let error = ApiError::bad_request("limit", "a whole number from 1 to 50");
        assert_eq!(error.status(), 400);
        assert_eq!(error.body()["field"], "limit");
        assert_eq!(error.body()["error"], "bad_request");
    }
}
