//! The one error type at the HTTP boundary. Each variant has a status and a JSON body whose
//! `error` tag the app matches on; internal failures are logged in full and answered with an
//! opaque 500, so no database message ever reaches a client.

use serde_json::Value;
use tandem_domain::api::{ErrorBody, Problem};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// 400: a parameter could not be used; `field` names it.
    BadRequest { field: String, message: String },
    /// 404: the resource does not exist, or is not the caller's to see.
    NotFound { resource: &'static str },
    /// 404 for a path no route answers.
    NoRoute,
    /// 405: the path exists but not with this method; `allowed` lists the methods it takes
    /// (`GET, HEAD, PUT`), as the `Allow` header does.
    MethodNotAllowed { allowed: String },
    /// 401: no valid session.
    Unauthenticated,
    /// 413: the request body is larger than the route accepts.
    PayloadTooLarge { max_bytes: usize },
    /// 429: a rate limit was reached.
    RateLimited { retry_after_s: i64 },
    /// 409: a SKU does not have the stock asked for; nothing was written.
    OutOfStock { sku_id: String, fulfilment: &'static str, available: i64, requested: i64 },
    /// Any other [`Problem`] (409 `checkout_closed`, 422 `idempotency_key_reused`, 401
    /// `wrong_code`, …) with its message; the status is the problem's.
    Refused { problem: Problem, message: String },
    /// 500: logged with `detail`; the client sees only the tag.
    Internal { detail: String },
}

impl ApiError {
    pub fn bad_request(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::BadRequest { field: field.into(), message: message.into() }
    }

    pub fn refused(problem: Problem, message: impl Into<String>) -> Self {
        ApiError::Refused { problem, message: message.into() }
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        ApiError::Internal { detail: detail.to_string() }
    }

    /// What the client is told, and the message beside it.
    pub fn problem(&self) -> (Problem, String) {
        match self {
            ApiError::BadRequest { field, message } => (Problem::BadRequest { field: field.clone() }, message.clone()),
            ApiError::NotFound { resource } => {
                (Problem::NotFound { resource: (*resource).to_owned() }, format!("{resource} not found"))
            }
            ApiError::NoRoute => (Problem::NotFound { resource: "route".to_owned() }, "no such route".to_owned()),
            ApiError::MethodNotAllowed { allowed } => {
                (Problem::MethodNotAllowed { allowed: allowed.clone() }, format!("use one of {allowed}"))
            }
            ApiError::Unauthenticated => (Problem::Unauthenticated, "sign in first".to_owned()),
            ApiError::PayloadTooLarge { max_bytes } => (
                Problem::PayloadTooLarge { max_bytes: u64::try_from(*max_bytes).unwrap_or(u64::MAX) },
                format!("at most {max_bytes} bytes"),
            ),
            ApiError::RateLimited { retry_after_s } => (
                Problem::RateLimited { retry_after_s: *retry_after_s },
                "too many requests; try again later".to_owned(),
            ),
            ApiError::OutOfStock { sku_id, fulfilment, available, requested } => (
                Problem::OutOfStock {
                    sku_id: sku_id.clone(),
                    fulfilment: (*fulfilment).to_owned(),
                    available: *available,
                    requested: *requested,
                },
                format!("only {available} of {sku_id} left for {fulfilment}"),
            ),
            ApiError::Refused { problem, message } => (problem.clone(), message.clone()),
            ApiError::Internal { .. } => (Problem::Internal, "internal error".to_owned()),
        }
    }

    pub fn status(&self) -> u16 {
        self.problem().0.status()
    }

    pub fn body(&self) -> Value {
        let (problem, message) = self.problem();
        serde_json::to_value(ErrorBody { problem, message })
            .unwrap_or_else(|_| serde_json::json!({"error": "internal", "message": "internal error"}))
    }
}

/// A database failure on a path with no guard of its own is an internal error, logged.
impl From<crate::store::sql::StoreError> for ApiError {
    fn from(error: crate::store::sql::StoreError) -> Self {
        ApiError::internal(error)
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
