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

#[derive(Deserialize)]
struct ChatMessage {
    role: String,
    content: String,
}

#[derive(Deserialize)]
struct ChatRequest {
    messages: Vec<ChatMessage>,
}

/// `POST /api/dev/llm/chat/completions`: a stand-in for an OpenAI-compatible model, so tests can
/// exercise the refinement path without a network: it answers the user's message with a
/// closing line added in the instruction's language. A message containing `[llm:slow]` is answered after 6 s (past the time limit)
/// and one containing `[llm:garble]` with a changed number, so the fallbacks are tested too.
pub async fn llm(text: &str) -> Result<Response, ApiError> {
    let request: ChatRequest = serde_json::from_str(text).map_err(|e| ApiError::bad_request("body", e.to_string()))?;
    let draft = request
        .messages
        .iter()
        .rev()
        .find(|m| m.role == "user")
        .map(|m| m.content.clone())
        .ok_or_else(|| ApiError::bad_request("messages", "no user message"))?;
    let chinese = request
        .messages
        .iter()
        .find(|m| m.role == "system")
        .is_some_and(|m| m.content.chars().any(|c| c as u32 >= 0x4E00));
    if draft.contains("[llm:slow]") {
        worker::Delay::from(std::time::Duration::from_secs(6)).await;
    }
    let content = if draft.contains("[llm:garble]") {
        draft.replace(|c: char| c.is_ascii_digit(), "0") + " 12345"
    } else if chinese {
        format!("{draft}（期待再见到您！）")
    } else {
        format!("{draft} (Looking forward to seeing you!)")
    };
    json_response(
        200,
        &json!({"id": "dev", "object": "chat.completion", "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ]}),
        "no-store",
    )
}
