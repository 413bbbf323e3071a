//! Small helpers over D1: the binding, bound values, and reading rows into structs. Every
//! failure becomes an internal [`ApiError`] carrying D1's message for the log.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::de::DeserializeOwned;
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result, Env};

use crate::error::ApiError;

/// D1 round trips since the isolate started, across all requests: the bench divides the change
/// over a run by the requests it made (`GET /api/dev/stats`).
static ROUND_TRIPS: AtomicU64 = AtomicU64::new(0);

pub fn count_round_trip() {
    ROUND_TRIPS.fetch_add(1, Ordering::Relaxed);
}

pub fn round_trips() -> u64 {
    ROUND_TRIPS.load(Ordering::Relaxed)
}

/// Runs one writing statement; its result carries the changed-row count.
pub async fn run(statement: D1PreparedStatement) -> Result<D1Result, ApiError> {
    count_round_trip();
    statement.run().await.map_err(ApiError::internal)
}

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
    count_round_trip();
    db.batch(statements).await.map_err(ApiError::internal)
}

pub fn rows<T: DeserializeOwned>(result: &D1Result) -> Result<Vec<T>, ApiError> {
    if let Some(error) = result.error() {
        return Err(ApiError::internal(error));
    }
    result.results().map_err(ApiError::internal)
}

pub async fn all<T: DeserializeOwned>(statement: D1PreparedStatement) -> Result<Vec<T>, ApiError> {
    count_round_trip();
    let result = statement.all().await.map_err(ApiError::internal)?;
    rows(&result)
}

/// Runs a batch whose statements are written to fail when the world changed under them (the
/// constraints of [`crate::store::sql::RACE_GUARDS`]). `Ok(None)` means one of those refused it
/// and nothing of it was written; the caller re-reads to learn why. Any other refusal is a
/// defect and an internal error.
pub async fn guarded_batch(
    db: &D1Database,
    statements: Vec<D1PreparedStatement>,
) -> Result<Option<Vec<D1Result>>, ApiError> {
    use crate::store::sql::{RACE_GUARDS, StoreError};
    count_round_trip();
    match db.batch(statements).await {
        Ok(results) => Ok(Some(results)),
        Err(error) => match StoreError::from_message(&error.to_string()) {
            StoreError::Refused(constraint) if RACE_GUARDS.iter().any(|g| g.matches(&constraint)) => {
                worker::console_log!("batch refused by its guard: {constraint:?}");
                Ok(None)
            }
            other => Err(ApiError::internal(other)),
        },
    }
}

/// The first row of a batch result, if any.
pub fn first<T: DeserializeOwned>(results: &[D1Result], index: usize) -> Result<Option<T>, ApiError> {
    match results.get(index) {
        Some(result) => Ok(rows::<T>(result)?.into_iter().next()),
        None => Err(ApiError::internal(format!("the batch has no result {index}"))),
    }
}

/// All rows of one result of a batch.
pub fn nth<T: DeserializeOwned>(results: &[D1Result], index: usize) -> Result<Vec<T>, ApiError> {
    match results.get(index) {
        Some(result) => rows(result),
        None => Err(ApiError::internal(format!("the batch has no result {index}"))),
    }
}

/// The first row a statement reads, if any.
pub async fn one<T: DeserializeOwned>(statement: D1PreparedStatement) -> Result<Option<T>, ApiError> {
    Ok(all(statement).await?.into_iter().next())
}

/// A value read back from the database that must parse, or an internal error: what the
/// Worker wrote, it can read.
pub fn stored<T, E: std::fmt::Display>(parsed: Result<T, E>) -> Result<T, ApiError> {
    parsed.map_err(|e| ApiError::internal(format!("a stored value does not parse: {e}")))
}
