//! The D1 binding, and the count of its round trips. Every statement goes through the store
//! layer (`crate::store`), which runs on [`crate::store::d1::D1`].

use std::sync::atomic::{AtomicU64, Ordering};

use worker::{D1Database, Env};

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

pub fn database(env: &Env) -> Result<D1Database, ApiError> {
    env.d1("DB").map_err(ApiError::internal)
}

/// A value read back that must parse, or an internal error: what the Worker wrote (to D1 or
/// KV), it can read.
pub fn stored<T, E: std::fmt::Display>(parsed: Result<T, E>) -> Result<T, ApiError> {
    parsed.map_err(|e| ApiError::internal(format!("a stored value does not parse: {e}")))
}
