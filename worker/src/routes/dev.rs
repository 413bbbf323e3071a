//! Development-only routes: they exist only when `DEV_MODE` is set (the route table marks them),
//! for tests and local use. Production configuration leaves `DEV_MODE` unset.

use tandem_domain::api::dev::{Clock, ClockRequest, DevCode, Stats};
use tandem_domain::auth::Phone;
use tandem_domain::llm::{ChatChoice, ChatMessage, ChatReply, ChatRequest};
use tandem_domain::time::Timestamp;
use worker::{Env, Request, Response};

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
    json_response(200, &DevCode { phone: phone.masked(), code }, "no-store")
}

/// `GET /api/dev/clock`: the development clock the request names (`X-Tandem-Clock`), or the
/// shared one.
pub async fn clock(env: &Env, req: &Request, now: Timestamp) -> Result<Response, ApiError> {
    let clock = config::clock_of(req)?;
    let offset_ms = config::clock_offset(env, clock.as_ref()).await?;
    json_response(200, &Clock { now_ms: now.millis(), offset_ms, clock }, "no-store")
}

/// `PUT /api/dev/clock`: moves that clock `offset_ms` away from real time, so tests reach
/// expiries without waiting.
pub async fn set_clock(env: &Env, req: &Request, text: &str, now: Timestamp) -> Result<Response, ApiError> {
    let form: ClockRequest = body::parse_json(text)?;
    let clock = config::clock_of(req)?;
    let before = config::clock_offset(env, clock.as_ref()).await?;
    config::set_clock_offset(env, clock.as_ref(), form.offset_ms).await?;
    let now_ms = now.millis().saturating_sub(before).saturating_add(form.offset_ms);
    json_response(200, &Clock { now_ms, offset_ms: form.offset_ms, clock }, "no-store")
}

/// `GET /api/dev/stats`: counters of this Worker isolate, for the bench.
pub fn stats() -> Result<Response, ApiError> {
    let (payments_applied, payment_tries_refused) = crate::db::payment_tries();
    let stats = Stats { d1_round_trips: crate::db::round_trips(), payments_applied, payment_tries_refused };
    json_response(200, &stats, "no-store")
}

/// `POST /api/dev/llm/chat/completions`: a stand-in for an OpenAI-compatible model, so tests can
/// exercise the refinement path without a network: it answers the user's message with a
/// closing line added in the instruction's language. A message containing `[llm:slow]` is answered after 6 s (past the time limit)
/// and one containing `[llm:garble]` with a changed number, so the fallbacks are tested too.
pub async fn llm(text: &str) -> Result<Response, ApiError> {
    let request: ChatRequest = body::parse_json(text)?;
    let said = |role: &'static str| {
        request.messages.iter().filter(move |m| m.role == role).filter_map(|m| m.content.as_deref())
    };
    let draft =
        said("user").next_back().ok_or_else(|| ApiError::bad_request("messages", "no user message"))?.to_owned();
    let chinese = said("system").next().is_some_and(|c| c.chars().any(|c| c as u32 >= 0x4E00));
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
    let reply = ChatReply {
        id: "dev".into(),
        object: "chat.completion".into(),
        choices: vec![ChatChoice {
            index: 0,
            message: ChatMessage::new("assistant", &content),
            finish_reason: Some("stop".into()),
        }],
    };
    json_response(200, &reply, "no-store")
}
