//! What the Worker reads from its environment: development mode, secrets, limits, the clock,
//! and randomness. Missing secrets are internal errors (logged), never panics.

use tandem_domain::auth::{OtpPolicy, RateLimit};
use tandem_domain::checkout::HoldPolicy;
use tandem_domain::order::OrderPolicy;
use tandem_domain::time::Timestamp;
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::{Env, js_sys};

use crate::error::ApiError;

/// The KV key of the development clock's offset from real time.
const CLOCK_OFFSET_KEY: &str = "dev:clock_offset_ms";

fn text(env: &Env, name: &str) -> Option<String> {
    env.var(name).ok().map(|v| v.to_string()).or_else(|| env.secret(name).ok().map(|s| s.to_string()))
}

/// A variable or secret that may be absent.
pub fn optional(env: &Env, name: &str) -> Option<String> {
    text(env, name).filter(|v| !v.is_empty())
}

/// `DEV_MODE` set to anything but empty or `0`: development routes exist and the clock can be moved.
pub fn dev_mode(env: &Env) -> bool {
    text(env, "DEV_MODE").is_some_and(|v| !v.is_empty() && v != "0")
}

pub fn secret(env: &Env, name: &str) -> Result<String, ApiError> {
    text(env, name).filter(|v| !v.is_empty()).ok_or_else(|| ApiError::internal(format!("the secret {name} is not set")))
}

/// A 32-byte key kept as 64 hex digits in a secret.
pub fn key(env: &Env, name: &str) -> Result<[u8; 32], ApiError> {
    tandem_domain::crypto::key_from_hex(&secret(env, name)?)
        .ok_or_else(|| ApiError::internal(format!("the secret {name} is not 64 hex digits")))
}

fn number(env: &Env, name: &str) -> Option<i64> {
    text(env, name).and_then(|v| v.trim().parse().ok())
}

/// Codes one requester may ask for one phone per window: production's limit unless configured.
pub fn otp_phone_limit(env: &Env) -> RateLimit {
    let max = number(env, "OTP_PHONE_LIMIT").and_then(|n| u32::try_from(n).ok()).unwrap_or(5);
    RateLimit { max, window_ms: 60 * Timestamp::MINUTE_MS }
}

/// Codes a phone may be sent per window by all requesters together (SMS costs money, and a
/// phone should not be flooded): `OTP_PHONE_TOTAL_LIMIT`, 20 unless configured. A stranger
/// needs several addresses to reach it, and the owner's code already sent stays valid.
pub fn otp_phone_total_limit(env: &Env) -> RateLimit {
    let max = number(env, "OTP_PHONE_TOTAL_LIMIT").and_then(|n| u32::try_from(n).ok()).unwrap_or(20);
    RateLimit { max, window_ms: 60 * Timestamp::MINUTE_MS }
}

/// Codes one client address may ask for per window; the test configuration raises it so load
/// tests can run from one address.
pub fn otp_address_limit(env: &Env) -> RateLimit {
    let max = number(env, "OTP_ADDRESS_LIMIT").and_then(|n| u32::try_from(n).ok()).unwrap_or(20);
    RateLimit { max, window_ms: 60 * Timestamp::MINUTE_MS }
}

pub fn otp_policy() -> OtpPolicy {
    OtpPolicy::default()
}

/// How long a checkout holds stock: `HOLD_MINUTES`, 15 unless configured.
pub fn hold_policy(env: &Env) -> HoldPolicy {
    let minutes = number(env, "HOLD_MINUTES").filter(|m| (1..=24 * 60).contains(m));
    minutes.map_or_else(HoldPolicy::default, |minutes| HoldPolicy { minutes })
}

/// `AUTO_COMPLETE_DAYS` and `AFTER_SALE_DAYS`, 7 each unless configured.
pub fn order_policy(env: &Env) -> OrderPolicy {
    let default = OrderPolicy::default();
    let days = |name, fallback| number(env, name).filter(|d| (0..=365).contains(d)).unwrap_or(fallback);
    OrderPolicy {
        auto_complete_after_days: days("AUTO_COMPLETE_DAYS", default.auto_complete_after_days),
        after_sale_days: days("AFTER_SALE_DAYS", default.after_sale_days),
    }
}

/// The development payment provider runs where `DEV_MODE` is set or `PAYMENT_PROVIDER` is `dev`.
pub fn dev_payments(env: &Env) -> bool {
    dev_mode(env) || optional(env, "PAYMENT_PROVIDER").is_some_and(|p| p == "dev")
}

/// Now: the real time, plus in development mode the offset a test set with `/api/dev/clock`.
pub async fn now(env: &Env) -> Result<Timestamp, ApiError> {
    #[allow(clippy::cast_possible_truncation)]
    let real = js_sys::Date::now() as i64;
    if !dev_mode(env) {
        return Ok(Timestamp(real));
    }
    Ok(Timestamp(real.saturating_add(clock_offset(env).await?)))
}

pub async fn clock_offset(env: &Env) -> Result<i64, ApiError> {
    let kv = env.kv("KV").map_err(ApiError::internal)?;
    let stored = kv.get(CLOCK_OFFSET_KEY).text().await.map_err(ApiError::internal)?;
    Ok(stored.and_then(|v| v.parse().ok()).unwrap_or(0))
}

pub async fn set_clock_offset(env: &Env, offset_ms: i64) -> Result<(), ApiError> {
    let kv = env.kv("KV").map_err(ApiError::internal)?;
    kv.put(CLOCK_OFFSET_KEY, offset_ms.to_string())
        .map_err(ApiError::internal)?
        .execute()
        .await
        .map_err(ApiError::internal)
}

/// Bytes from the runtime's cryptographic generator (`crypto.getRandomValues`).
pub fn random_bytes<const N: usize>() -> Result<[u8; N], ApiError> {
    let fail = |e: JsValue| ApiError::internal(format!("crypto.getRandomValues failed: {e:?}"));
    let crypto = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("crypto")).map_err(fail)?;
    let function: js_sys::Function =
        js_sys::Reflect::get(&crypto, &JsValue::from_str("getRandomValues")).map_err(fail)?.dyn_into().map_err(fail)?;
    let array = js_sys::Uint8Array::new_with_length(u32::try_from(N).map_err(ApiError::internal)?);
    function.call1(&crypto, &array).map_err(fail)?;
    let mut bytes = [0u8; N];
    array.copy_to(&mut bytes);
    Ok(bytes)
}

/// A new random id with a kind prefix: `o-3f9a…` (64 random bits, 16 hex digits).
pub fn new_id(prefix: &str) -> Result<String, ApiError> {
    Ok(format!("{prefix}-{}", tandem_domain::crypto::hex(&random_bytes::<8>()?)))
}
