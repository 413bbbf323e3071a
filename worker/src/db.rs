//! The D1 binding, and the isolate's counters: its round trips and the tries of its payments.
//! Every statement goes through the store layer (`crate::store`), which runs on
//! [`crate::store::d1::D1`].

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

/// Payment notifications applied, and their write tries a guard refused (each refused try is
/// read and decided again): how often payments wait for each other.
static PAYMENTS_APPLIED: AtomicU64 = AtomicU64::new(0);
static PAYMENT_TRIES_REFUSED: AtomicU64 = AtomicU64::new(0);

pub fn count_payment_try(written: bool) {
    let counter = if written { &PAYMENTS_APPLIED } else { &PAYMENT_TRIES_REFUSED };
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Payments applied and payment tries refused since the isolate started.
pub fn payment_tries() -> (u64, u64) {
    (PAYMENTS_APPLIED.load(Ordering::Relaxed), PAYMENT_TRIES_REFUSED.load(Ordering::Relaxed))
}

pub fn database(env: &Env) -> Result<D1Database, ApiError> {
    env.d1("DB").map_err(ApiError::internal)
}

/// A value read back that must parse, or an internal error: what the Worker wrote (to D1 or
/// KV), it can read.
pub fn stored<T, E: std::fmt::Display>(parsed: Result<T, E>) -> Result<T, ApiError> {
    parsed.map_err(|e| ApiError::internal(format!("a stored value does not parse: {e}")))
}
