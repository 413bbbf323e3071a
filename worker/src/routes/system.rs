//! Routes about the service itself.

use tandem_domain::api::Health;
use worker::Response;

use super::{OPENAPI_JSON, json_response, json_text_response};
use crate::error::ApiError;

/// Answers without touching D1 or KV: the runtime's own ceiling in `cargo xtask bench`.
pub fn health() -> Result<Response, ApiError> {
    json_response(200, &Health { status: "ok".to_owned(), version: env!("CARGO_PKG_VERSION").to_owned() }, "no-store")
}

pub fn openapi() -> Result<Response, ApiError> {
    json_text_response(200, OPENAPI_JSON.to_owned(), "public, max-age=300")
}
