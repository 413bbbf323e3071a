//! Routes about the service itself.

use serde_json::json;
use worker::Response;

use super::{OPENAPI_JSON, json_response, json_text_response};
use crate::error::ApiError;

/// Answers without touching D1 or KV: the runtime's own ceiling in `cargo xtask bench`.
pub fn health() -> Result<Response, ApiError> {
    json_response(200, &json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}), "no-store")
}

pub fn openapi() -> Result<Response, ApiError> {
    json_text_response(200, OPENAPI_JSON.to_owned(), "public, max-age=300")
}
