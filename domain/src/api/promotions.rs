//! The segment promotions over the API: a scope's rules with their preview, and a shopper's
//! own message at a store.

use serde::{Deserialize, Serialize};

use crate::promote::{Message, Preview, Rule};

/// A scope's promotion rules (`GET`, `PUT` and the preview of `/api/store/{id}/promotions` or
/// `/api/operator/promotions`): where they come from, the scope's own version, the rules, who
/// they reach, and how many people are left out for want of consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PromotionRules {
    /// `store`, `platform`, `default` or `draft` (a preview of rules not saved).
    pub source: String,
    pub version: Option<i64>,
    pub rules: Vec<Rule>,
    pub preview: Preview,
    pub without_consent: i64,
}

/// `GET /api/me/offers?store=…`: the caller's own message at the store, when they agreed to
/// personalisation and a rule matches them. The Worker writes the whole [`Message`]; a reader
/// may take only the part it shows (the storefront reads `recommend::serve::OfferNote`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OfferAnswer<M = Message> {
    pub personalised: bool,
    pub message: Option<M>,
}

/// `PUT` (save over `version`, the scope's own version the editor started from; none when it
/// has no rules of its own yet) and `POST …/preview` (only `rules`) of a scope's promotions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RulesRequest {
    pub rules: Vec<Rule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Text;
    use crate::recommend::serve::OfferNote;

    #[test]
    fn the_storefront_reads_the_note_of_the_message_the_worker_writes() {
        let message = Message {
            rule_id: "r-1".into(),
            rule_name: Text::new("新客", "New"),
            text: Text::new("送你一张券", "A coupon for you"),
            offers: Vec::new(),
        };
        let written = serde_json::to_string(&OfferAnswer { personalised: true, message: Some(message) }).unwrap();
        let read: OfferAnswer<OfferNote> = serde_json::from_str(&written).unwrap();
        assert_eq!(read.message.map(|m| m.rule_id), Some("r-1".to_owned()));
    }
}
