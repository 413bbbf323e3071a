//! The optional language model: when an OpenAI-compatible endpoint is configured, a drafted
//! message (a follow-up, promotion copy) may be polished by it. The local draft is always made
//! first and is the answer whenever the model is absent, slow, or says something unusable; this
//! module builds the request and judges the reply, the Worker does the fetch under a time limit.

use serde::{Deserialize, Serialize};

/// How long the Worker waits for the model before answering with the local draft.
pub const TIME_LIMIT_MS: u32 = 4_000;

/// The model used when none is configured.
pub const DEFAULT_MODEL: &str = "gpt-4o-mini";

/// What the model is asked to do with a draft in `zh` or `en`.
pub fn instruction(chinese: bool) -> &'static str {
    if chinese {
        "你是门店导购的写作助手。请把下面这条发给顾客的跟进消息润色得更亲切自然，保留所有事实、商品名、价格和日期，不要添加新的承诺或优惠。只回复消息本身。"
    } else {
        "You help a shop assistant write to a customer. Polish the following follow-up message to sound warm and natural. Keep every fact, product name, price and date; add no new promises or offers. Reply with the message only."
    }
}

/// A `POST {url}/chat/completions` request of the OpenAI-compatible protocol, as far as Tandem
/// uses it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ChatRequest {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    pub messages: Vec<ChatMessage>,
}

/// One message of a chat: `system`, `user` or `assistant`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ChatMessage {
    pub role: String,
    #[serde(default)]
    pub content: Option<String>,
}

/// The protocol's answer: the first choice's message is the reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ChatReply {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub object: String,
    pub choices: Vec<ChatChoice>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ChatChoice {
    #[serde(default)]
    pub index: u32,
    pub message: ChatMessage,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
}

impl ChatMessage {
    pub fn new(role: &str, content: &str) -> ChatMessage {
        ChatMessage { role: role.to_owned(), content: Some(content.to_owned()) }
    }
}

/// The request that asks `model` to polish `draft` as `instruction` says.
pub fn chat_request(model: &str, instruction: &str, draft: &str) -> ChatRequest {
    ChatRequest {
        model: model.to_owned(),
        temperature: Some(0.3),
        max_tokens: Some(400),
        messages: vec![ChatMessage::new("system", instruction), ChatMessage::new("user", draft)],
    }
}

/// The polished message from a reply body, or `None` when it is not one to send: not the
/// expected JSON, empty, much longer than the draft (the model wandered off), or with numbers
/// other than the draft's (a price or a date must not change, and none may be made up).
pub fn polished(reply: &str, draft: &str) -> Option<String> {
    let reply: ChatReply = serde_json::from_str(reply).ok()?;
    let text = reply.choices.into_iter().next()?.message.content?.trim().trim_matches('"').trim().to_owned();
    if text.is_empty() || text.chars().count() > 2 * draft.chars().count() + 80 {
        return None;
    }
    let numbers = |s: &str| -> Vec<String> {
        s.split(|c: char| !c.is_ascii_digit()).filter(|n| !n.is_empty()).map(str::to_owned).collect()
    };
    let (mut before, mut after) = (numbers(draft), numbers(&text));
    before.sort_unstable();
    before.dedup();
    after.sort_unstable();
    after.dedup();
    (before == after).then_some(text)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn reply(content: &str) -> String {
        json!({"id": "x", "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}).to_string()
    }

    #[test]
    fn the_request_is_openai_shaped() {
        let body = serde_json::to_value(chat_request("m", instruction(true), "王女士您好")).unwrap();
        assert_eq!(body["model"], "m");
        assert_eq!(body["messages"][0]["role"], "system");
        assert_eq!(body["messages"][1]["content"], "王女士您好");
    }

    #[test]
    fn a_good_reply_is_taken_and_a_bad_one_falls_back() {
        let draft = "王女士您好，羽绒服 ¥899 本周有货，12月1日前都可以来试。";
        let good = "王女士您好呀！您喜欢的羽绒服（¥899）本周到货，12月1日前随时欢迎来试穿～";
        assert_eq!(polished(&reply(good), draft).as_deref(), Some(good));
        assert_eq!(polished(&reply(&format!("  \"{good}\" ")), draft).as_deref(), Some(good), "quotes trimmed");
        assert_eq!(polished(&reply("王女士您好，羽绒服 ¥799 本周有货。"), draft), None, "a changed price");
        assert_eq!(polished(&reply(&format!("{good} 再送您 50 元券")), draft), None, "a made-up number");
        assert_eq!(polished(&reply(""), draft), None);
        assert_eq!(polished(&reply(&"好".repeat(400)), draft), None, "wandered off");
        assert_eq!(polished("<html>502</html>", draft), None);
        assert_eq!(polished(r#"{"choices": []}"#, draft), None);
    }
}
