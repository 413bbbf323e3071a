//! The optional language model over HTTP: when `LLM_URL` (an OpenAI-compatible base address)
//! and `LLM_API_KEY` are set as Worker secrets (`LLM_MODEL` optional), a draft is sent to
//! `{LLM_URL}/chat/completions` and the polished text used if it comes back within
//! `domain::llm::TIME_LIMIT_MS` and passes `domain::llm::polished`. Anything else — no
//! configuration, an error, a slow or unusable answer — keeps the local draft.

use std::future::Future;
use std::task::Poll;
use std::time::Duration;

use tandem_domain::llm;
use worker::{Delay, Env, Fetch, Headers, Method, Request, RequestInit};

use crate::config;

/// Whether a model is configured.
pub fn configured(env: &Env) -> bool {
    config::optional(env, "LLM_URL").is_some() && config::optional(env, "LLM_API_KEY").is_some()
}

/// The draft polished by the model, or `None` (then the caller keeps its draft).
pub async fn polish(env: &Env, chinese: bool, draft: &str) -> Option<String> {
    let url = config::optional(env, "LLM_URL")?;
    let key = config::optional(env, "LLM_API_KEY")?;
    let model = config::optional(env, "LLM_MODEL").unwrap_or_else(|| llm::DEFAULT_MODEL.to_owned());
    let body = serde_json::to_string(&llm::chat_request(&model, llm::instruction(chinese), draft)).ok()?;
    let headers = Headers::new();
    headers.set("content-type", "application/json").ok()?;
    headers.set("authorization", &format!("Bearer {key}")).ok()?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_headers(headers).with_body(Some(body.into()));
    let request = Request::new_with_init(&format!("{}/chat/completions", url.trim_end_matches('/')), &init).ok()?;
    let answer = async move {
        let mut response = Fetch::Request(request).send().await.ok()?;
        if response.status_code() != 200 {
            return None;
        }
        response.text().await.ok()
    };
    let mut answer = std::pin::pin!(answer);
    let mut timer = std::pin::pin!(Delay::from(Duration::from_millis(u64::from(llm::TIME_LIMIT_MS))));
    let reply = std::future::poll_fn(|cx| {
        if let Poll::Ready(reply) = answer.as_mut().poll(cx) {
            return Poll::Ready(reply);
        }
        if timer.as_mut().poll(cx).is_ready() {
            worker::console_log!("llm: no answer within {} ms; the local draft stands", llm::TIME_LIMIT_MS);
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await?;
    llm::polished(&reply, draft)
}

/// Both drafts of a message polished at once (each under the time limit), and whether the
/// model changed either.
pub async fn polish_both(env: &Env, draft: &tandem_domain::catalog::Text) -> (tandem_domain::catalog::Text, bool) {
    if !configured(env) {
        return (draft.clone(), false);
    }
    let mut zh = std::pin::pin!(polish(env, true, &draft.zh));
    let mut en = std::pin::pin!(polish(env, false, &draft.en));
    let (mut zh_done, mut en_done) = (None, None);
    std::future::poll_fn(|cx| {
        if zh_done.is_none()
            && let Poll::Ready(text) = zh.as_mut().poll(cx)
        {
            zh_done = Some(text);
        }
        if en_done.is_none()
            && let Poll::Ready(text) = en.as_mut().poll(cx)
        {
            en_done = Some(text);
        }
        if zh_done.is_some() && en_done.is_some() { Poll::Ready(()) } else { Poll::Pending }
    })
    .await;
    let (zh, en) = (zh_done.flatten(), en_done.flatten());
    let refined = zh.is_some() || en.is_some();
    (
        tandem_domain::catalog::Text::new(
            zh.unwrap_or_else(|| draft.zh.clone()),
            en.unwrap_or_else(|| draft.en.clone()),
        ),
        refined,
    )
}
