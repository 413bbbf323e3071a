//! Routes about the service itself.

use serde_json::json;
use worker::Response;

use super::{OPENAPI_JSON, json_response};
use crate::error::ApiError;

/// Answers without touching D1 or KV: the runtime's own ceiling in `cargo xtask bench`.
pub fn health() -> Result<Response, ApiError> {
    json_response(200, &json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}), "no-store")
}

pub fn openapi() -> Result<Response, ApiError> {
    let mut response = Response::ok(OPENAPI_JSON).map_err(ApiError::internal)?;
    let headers = response.headers_mut();
    headers.set("content-type", "application/json; charset=utf-8").map_err(ApiError::internal)?;
    headers.set("cache-control", "public, max-age=300").map_err(ApiError::internal)?;
    Ok(response)
}
