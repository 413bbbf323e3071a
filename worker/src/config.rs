//! What the Worker reads from its environment: development mode, secrets, limits, the clock,
//! and randomness. Missing secrets are internal errors (logged), never panics.

use tandem_domain::api::dev::{CLOCK_HEADER, ClockName};
use tandem_domain::auth::{OtpPolicy, RateLimit};
use tandem_domain::checkout::HoldPolicy;
use tandem_domain::order::OrderPolicy;
use tandem_domain::time::Timestamp;
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::{Env, Request, js_sys};

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

/// The real clock, never moved by development: for what measures elapsed time (a stock gate's
/// windows), not business time.
pub fn real_now() -> Timestamp {
    #[allow(clippy::cast_possible_truncation)]
    Timestamp(js_sys::Date::now() as i64)
}

/// The development clock a request names with `X-Tandem-Clock`; `None` for the shared clock.
pub fn clock_of(req: &Request) -> Result<Option<ClockName>, ApiError> {
    match req.headers().get(CLOCK_HEADER).map_err(ApiError::internal)? {
        None => Ok(None),
        Some(raw) => ClockName::parse(&raw)
            .map(Some)
            .ok_or_else(|| ApiError::bad_request(CLOCK_HEADER, "1 to 40 of a-z, 0-9 and -")),
    }
}

/// Now, for a request: the real time, plus in development mode the offset of the clock the
/// request names (or of the shared one) as set with `PUT /api/dev/clock`.
pub async fn now(env: &Env, req: &Request) -> Result<Timestamp, ApiError> {
    if !dev_mode(env) {
        return Ok(real_now());
    }
    let clock = clock_of(req)?;
    Ok(Timestamp(real_now().0.saturating_add(clock_offset(env, clock.as_ref()).await?)))
}

/// Now, for the scheduled jobs: the real time, plus in development mode the shared clock's offset.
pub async fn shared_now(env: &Env) -> Result<Timestamp, ApiError> {
    if !dev_mode(env) {
        return Ok(real_now());
    }
    Ok(Timestamp(real_now().0.saturating_add(clock_offset(env, None).await?)))
}

fn clock_key(clock: Option<&ClockName>) -> String {
    match clock {
        None => CLOCK_OFFSET_KEY.to_owned(),
        Some(name) => format!("{CLOCK_OFFSET_KEY}:{}", name.as_str()),
    }
}

/// A development clock's offset from real time (0 until one is set).
pub async fn clock_offset(env: &Env, clock: Option<&ClockName>) -> Result<i64, ApiError> {
    let kv = env.kv("KV").map_err(ApiError::internal)?;
    let stored = kv.get(&clock_key(clock)).text().await.map_err(ApiError::internal)?;
    Ok(stored.and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// Sets a development clock's offset. A named clock is forgotten after a day unused.
pub async fn set_clock_offset(env: &Env, clock: Option<&ClockName>, offset_ms: i64) -> Result<(), ApiError> {
    let kv = env.kv("KV").map_err(ApiError::internal)?;
    let put = kv.put(&clock_key(clock), offset_ms.to_string()).map_err(ApiError::internal)?;
    let put = if clock.is_some() { put.expiration_ttl(86_400) } else { put };
    put.execute().await.map_err(ApiError::internal)
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
