//! Development-only routes: they exist only when `DEV_MODE` is set (the route table marks them),
//! for tests and local use. Production configuration leaves `DEV_MODE` unset.

use serde::Deserialize;
use serde_json::json;
use tandem_domain::auth::Phone;
use worker::{Env, Response};

use super::json_response;
use crate::error::ApiError;
use crate::{body, config};

/// `GET /api/dev/otp?phone=…`: the live sign-in code of a phone, instead of an SMS.
pub async fn otp(env: &Env, params: &[(&str, &str)]) -> Result<Response, ApiError> {
    let raw = match params {
        [("phone", value)] => *value,
        [] => return Err(ApiError::bad_request("phone", "required")),
        [(key, _), ..] if *key != "phone" => return Err(ApiError::bad_request(*key, "unknown parameter")),
        _ => return Err(ApiError::bad_request("phone", "give it once")),
    };
    let phone = Phone::parse(raw).map_err(|e| ApiError::bad_request("phone", e.to_string()))?;
    let lookup = phone.lookup_hash(&config::key(env, "LOOKUP_KEY")?);
    let kv = env.kv("KV").map_err(ApiError::internal)?;
    let code = kv.get(&format!("dev:otp:{lookup}")).text().await.map_err(ApiError::internal)?;
    let code = code.ok_or(ApiError::NotFound { resource: "code" })?;
    json_response(200, &json!({"phone": phone.masked(), "code": code}), "no-store")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockForm {
    offset_ms: i64,
}

/// `GET /api/dev/clock`: the development clock.
pub async fn clock(env: &Env) -> Result<Response, ApiError> {
    let offset_ms = config::clock_offset(env).await?;
    let now = config::now(env).await?;
    json_response(200, &json!({"now_ms": now.millis(), "offset_ms": offset_ms}), "no-store")
}

/// `PUT /api/dev/clock`: moves the development clock `offset_ms` away from real time, so tests
/// reach expiries without waiting.
pub async fn set_clock(env: &Env, text: &str) -> Result<Response, ApiError> {
    let form: ClockForm = body::parse_json(text)?;
    config::set_clock_offset(env, form.offset_ms).await?;
    clock(env).await
}

/// `GET /api/dev/stats`: counters of this Worker isolate, for the bench.
pub fn stats() -> Result<Response, ApiError> {
    json_response(200, &json!({"d1_round_trips": crate::db::round_trips()}), "no-store")
}
