//! Small helpers over D1: the binding, bound values, and reading rows into structs. Every
//! failure becomes an internal [`ApiError`] carrying D1's message for the log.

use serde::de::DeserializeOwned;
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result, Env};

use crate::error::ApiError;

pub fn database(env: &Env) -> Result<D1Database, ApiError> {
    env.d1("DB").map_err(ApiError::internal)
}

pub fn text(value: &str) -> JsValue {
    JsValue::from_str(value)
}

pub fn optional_text(value: Option<&str>) -> JsValue {
    value.map_or(JsValue::NULL, JsValue::from_str)
}

/// Binds an integer; every integer this API binds (page sizes, fen) is far below 2^53, where
/// JavaScript numbers stop being exact.
#[allow(clippy::cast_precision_loss)]
pub fn integer(value: i64) -> JsValue {
    JsValue::from_f64(value as f64)
}

pub fn prepare(db: &D1Database, sql: &str, values: &[JsValue]) -> Result<D1PreparedStatement, ApiError> {
    db.prepare(sql).bind(values).map_err(ApiError::internal)
}

/// Runs statements in one round trip. D1 runs a batch as one transaction, so reads in a batch
/// see one consistent state.
pub async fn batch(db: &D1Database, statements: Vec<D1PreparedStatement>) -> Result<Vec<D1Result>, ApiError> {
    db.batch(statements).await.map_err(ApiError::internal)
}

pub fn rows<T: DeserializeOwned>(result: &D1Result) -> Result<Vec<T>, ApiError> {
    if let Some(error) = result.error() {
        return Err(ApiError::internal(error));
    }
    result.results().map_err(ApiError::internal)
}

pub async fn all<T: DeserializeOwned>(statement: D1PreparedStatement) -> Result<Vec<T>, ApiError> {
    let result = statement.all().await.map_err(ApiError::internal)?;
    rows(&result)
}
