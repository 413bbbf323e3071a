//! Promotion copy by segment: rules that pick people by the tags their profile shows (母婴人群,
//! the high-frequency visitor, an RFM segment, a category), a message template in both
//! languages, and the offers that go with it (a coupon, an in-store event, the invitation to
//! become a sharer). The platform has default rules; an operator or a store edits their own, and
//! a preview shows who would get what before anything is saved.
//!
//! A person gets the first enabled rule whose tags they all show, and nothing when none
//! matches. Because rules read the tags a person sees, a tag they removed never targets them.

use serde::{Deserialize, Serialize};

use crate::catalog::{Category, Text};
use crate::money::Fen;
use crate::profile::{Segment, TagView, label_of};

pub const MAX_RULES: usize = 12;
const MAX_MESSAGE_CHARS: usize = 280;
const PLACEHOLDERS: [&str; 5] = ["name", "store", "coupon", "event", "days"];

/// What comes with a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Offer {
    /// Money off an order of at least `min_spend_fen` (of one category when named), for
    /// `valid_days` days.
    Coupon { amount_fen: Fen, min_spend_fen: Fen, category: Option<Category>, valid_days: u16 },
    /// An event in the store.
    Event { title: Text, when: Text },
    /// The invitation to share the store's goods and earn rewards.
    SharerInvitation,
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Short and stable: `mother_baby`, `come_back`.
    pub id: String,
    pub name: Text,
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// Tag keys the person must all show (`life:mother_baby`, `visits:high_frequency`,
    /// `rfm:lapsed`, `category:baby`…).
    pub when: Vec<String>,
    /// The template: `{name}`, `{store}`, `{coupon}`, `{event}` and `{days}` are filled in.
    pub message: Text,
    #[serde(default)]
    pub offers: Vec<Offer>,
}

fn enabled() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[error("rules[{index}].{field}: {message}")]
pub struct RuleError {
    pub index: usize,
    pub field: &'static str,
    pub message: String,
}

/// Whether a key is a tag a profile can show.
fn known_tag(key: &str) -> bool {
    match key.strip_prefix("rfm:") {
        // A prospect shows no segment tag.
        Some(code) => Segment::parse(code).is_some_and(|s| s != Segment::Prospect),
        None => key == "visits:high_frequency" || label_of(key).is_some(),
    }
}

fn placeholders(template: &str) -> Result<Vec<&str>, String> {
    let mut found = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or("a { without its }")?;
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "unknown placeholder {{{name}}}; use {{name}}, {{store}}, {{coupon}}, {{event}} or {{days}}"
            ));
        }
        found.push(name);
        rest = &after[close + 1..];
    }
    Ok(found)
}

/// Checks a rule set: at most [`MAX_RULES`], distinct ids, known tags, messages in both
/// languages with known placeholders (`{coupon}` and `{days}` need a coupon, `{event}` an
/// event), coupons with an amount below their minimum spend.
pub fn check(rules: &[Rule]) -> Result<(), RuleError> {
    let refuse = |index, field, message: String| RuleError { index, field, message };
    if rules.len() > MAX_RULES {
        return Err(refuse(MAX_RULES, "id", format!("at most {MAX_RULES} rules")));
    }
    for (index, rule) in rules.iter().enumerate() {
        let id_ok = (1..=32).contains(&rule.id.len())
            && rule.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !id_ok {
            return Err(refuse(index, "id", "1 to 32 lowercase letters, digits or _".into()));
        }
        if rules[..index].iter().any(|other| other.id == rule.id) {
            return Err(refuse(index, "id", format!("{} is used twice", rule.id)));
        }
        for (text, field) in [(&rule.name.zh, "name"), (&rule.name.en, "name")] {
            if text.trim().is_empty() || text.chars().count() > 40 {
                return Err(refuse(index, field, "1 to 40 characters in both languages".into()));
            }
        }
        if rule.when.is_empty() || rule.when.len() > 4 {
            return Err(refuse(index, "when", "1 to 4 tags".into()));
        }
        if let Some(unknown) = rule.when.iter().find(|key| !known_tag(key)) {
            return Err(refuse(index, "when", format!("{unknown} is not a tag a profile shows")));
        }
        let coupon = rule.offers.iter().any(|o| matches!(o, Offer::Coupon { .. }));
        let event = rule.offers.iter().any(|o| matches!(o, Offer::Event { .. }));
        for text in [&rule.message.zh, &rule.message.en] {
            if text.trim().is_empty() || text.chars().count() > MAX_MESSAGE_CHARS {
                return Err(refuse(index, "message", format!("1 to {MAX_MESSAGE_CHARS} characters in both languages")));
            }
            let used = placeholders(text).map_err(|message| refuse(index, "message", message))?;
            if used.iter().any(|p| matches!(*p, "coupon" | "days")) && !coupon {
                return Err(refuse(index, "message", "{coupon} and {days} need a coupon among the offers".into()));
            }
            if used.contains(&"event") && !event {
                return Err(refuse(index, "message", "{event} needs an event among the offers".into()));
            }
        }
        if rule.offers.len() > 3 {
            return Err(refuse(index, "offers", "at most 3 offers".into()));
        }
        for offer in &rule.offers {
            match offer {
                Offer::Coupon { amount_fen, min_spend_fen, valid_days, .. } => {
                    if !amount_fen.is_positive() || *amount_fen >= *min_spend_fen {
                        return Err(refuse(
                            index,
                            "offers",
                            "a coupon's amount is above 0 and below its minimum spend".into(),
                        ));
                    }
                    if !(1..=90).contains(valid_days) {
                        return Err(refuse(index, "offers", "a coupon is valid for 1 to 90 days".into()));
                    }
                }
                Offer::Event { title, when } => {
                    if [&title.zh, &title.en, &when.zh, &when.en]
                        .iter()
                        .any(|t| t.trim().is_empty() || t.chars().count() > 40)
                    {
                        return Err(refuse(
                            index,
                            "offers",
                            "an event's title and time: 1 to 40 characters in both languages".into(),
                        ));
                    }
                }
                Offer::SharerInvitation => {}
            }
        }
    }
    Ok(())
}

/// Where the rules in force for a scope come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The store's own rules.
    Store,
    /// The platform's, for the platform or for a store without its own.
    Platform,
    /// None stored: [`defaults`].
    Default,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Store => "store",
            Source::Platform => "platform",
            Source::Default => "default",
        }
    }
}

/// The rules in force for a scope, where they come from, and the version of the scope's own
/// rules (what an edit must still find).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InForce {
    pub rules: Vec<Rule>,
    pub source: Source,
    pub own_version: Option<i64>,
}

/// The rules in force: the scope's own (`own`, with its version), else the platform's, else
/// [`defaults`]. `store` says whether the scope is a store (for the platform, its own rules
/// are the platform's).
pub fn in_force(store: bool, own: Option<(Vec<Rule>, i64)>, platform: Option<Vec<Rule>>) -> InForce {
    match (own, platform) {
        (Some((rules, version)), _) => {
            InForce { rules, source: if store { Source::Store } else { Source::Platform }, own_version: Some(version) }
        }
        (None, Some(rules)) => InForce { rules, source: Source::Platform, own_version: None },
        (None, None) => InForce { rules: defaults(), source: Source::Default, own_version: None },
    }
}

/// The platform's rules until an operator or a store writes their own: the three the paper
/// describes.
pub fn defaults() -> Vec<Rule> {
    vec![
        Rule {
            id: "mother_baby".into(),
            name: Text::new("母婴亲子", "Parents of young children"),
            enabled: true,
            when: vec!["life:mother_baby".into()],
            message: Text::new(
                "{name}，{store}本周六有亲子活动「{event}」，欢迎带宝宝来玩！另送你一张云店奶粉券：{coupon}，{days} 天内有效。",
                "{name}, {store} holds a parent-child event this weekend: {event}. Bring your little one! Plus a milk-powder coupon for our online shelf: {coupon}, valid {days} days.",
            ),
            offers: vec![
                Offer::Event {
                    title: Text::new("亲子绘本下午茶", "Picture-book afternoon tea"),
                    when: Text::new("周六 14:00", "Sat 2 pm"),
                },
                Offer::Coupon {
                    amount_fen: Fen(3_000),
                    min_spend_fen: Fen(19_900),
                    category: Some(Category::Baby),
                    valid_days: 14,
                },
            ],
        },
        Rule {
            id: "sharer_invite".into(),
            name: Text::new("常客邀请成为分享者", "Regulars invited to share"),
            enabled: true,
            when: vec!["visits:high_frequency".into()],
            message: Text::new(
                "{name}，感谢你常来{store}！邀请你成为分享达人：把喜欢的好物分享给朋友，朋友下单你就有奖励。",
                "{name}, thanks for visiting {store} so often! Become a sharer: share what you like with friends and earn a reward when they buy.",
            ),
            offers: vec![Offer::SharerInvitation],
        },
        Rule {
            id: "come_back".into(),
            name: Text::new("久未光顾回归礼", "Come-back offer"),
            enabled: true,
            when: vec!["rfm:lapsed".into()],
            message: Text::new(
                "{name}，好久不见！{store}为你准备了回归礼：{coupon}，{days} 天内有效，线上线下都能用。",
                "{name}, we've missed you! {store} has a welcome-back gift for you: {coupon}, valid {days} days, online or in store.",
            ),
            offers: vec![Offer::Coupon {
                amount_fen: Fen(2_000),
                min_spend_fen: Fen(9_900),
                category: None,
                valid_days: 7,
            }],
        },
    ]
}

/// What a person would get.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Message {
    pub rule_id: String,
    pub rule_name: Text,
    pub text: Text,
    pub offers: Vec<Offer>,
}

/// How a message addresses someone whose name is not known.
pub fn anonymous_name() -> Text {
    Text::new("亲爱的顾客", "Dear customer")
}

/// Who the message is for and where.
pub struct Audience<'a> {
    /// The person's name in each language (a member's name is the same in both).
    pub name: &'a Text,
    pub store: &'a Text,
}

/// An amount as a coupon says it: `30`, `12.50`.
fn yuan(amount: Fen) -> String {
    let fen = amount.0;
    if fen % 100 == 0 { (fen / 100).to_string() } else { format!("{}.{:02}", fen / 100, (fen % 100).abs()) }
}

fn coupon_words(amount: Fen, min_spend: Fen, category: Option<Category>) -> Text {
    let scope = category.map(Category::label);
    Text::new(
        format!(
            "{}满 ¥{} 减 ¥{}",
            scope.as_ref().map(|s| format!("{}类", s.zh)).unwrap_or_default(),
            yuan(min_spend),
            yuan(amount)
        ),
        format!(
            "¥{} off {}orders over ¥{}",
            yuan(amount),
            scope.as_ref().map(|s| format!("{} ", s.en.to_lowercase())).unwrap_or_default(),
            yuan(min_spend)
        ),
    )
}

fn fill(template: &str, rule: &Rule, audience: &Audience<'_>, en: bool) -> String {
    let pick = |text: &Text| if en { text.en.clone() } else { text.zh.clone() };
    let mut out = template.replace("{name}", &pick(audience.name)).replace("{store}", &pick(audience.store));
    for offer in &rule.offers {
        match offer {
            Offer::Coupon { amount_fen, min_spend_fen, category, valid_days } => {
                out = out
                    .replace("{coupon}", &pick(&coupon_words(*amount_fen, *min_spend_fen, *category)))
                    .replace("{days}", &valid_days.to_string());
            }
            Offer::Event { title, when } => {
                out = out.replace("{event}", &format!("{}（{}）", pick(title), pick(when)));
            }
            Offer::SharerInvitation => {}
        }
    }
    if en { out.replace('（', " (").replace('）', ")") } else { out }
}

/// The message of the first enabled rule whose tags the person all shows.
pub fn message_for(rules: &[Rule], tags: &[TagView], audience: &Audience<'_>) -> Option<Message> {
    let rule = rules
        .iter()
        .filter(|r| r.enabled)
        .find(|rule| rule.when.iter().all(|key| tags.iter().any(|t| &t.key == key)))?;
    Some(Message {
        rule_id: rule.id.clone(),
        rule_name: rule.name.clone(),
        text: Text::new(fill(&rule.message.zh, rule, audience, false), fill(&rule.message.en, rule, audience, true)),
        offers: rule.offers.clone(),
    })
}

/// What "tried on in store — buy online" offers a person at a store: their message, addressed
/// without a name, when it carries a coupon; else nothing.
pub fn coupon_for(rules: &[Rule], tags: &[TagView], store: &Text) -> Option<Message> {
    let name = anonymous_name();
    message_for(rules, tags, &Audience { name: &name, store })
        .filter(|m| m.offers.iter().any(|o| matches!(o, Offer::Coupon { .. })))
}

/// One person in a preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PreviewRow {
    pub name: String,
    pub segment: Segment,
    pub message: Option<Message>,
}

/// The preview: how many each rule reaches, and what each person would get.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Preview {
    pub people: usize,
    /// Per rule id, in the rules' order.
    pub reach: Vec<(String, usize)>,
    pub untouched: usize,
    pub rows: Vec<PreviewRow>,
}

/// One of the people a preview looks at.
pub struct Person {
    /// How the preview lists them (a member's name, else a visitor's handle).
    pub name: String,
    /// Whether messages may use the name (a member's); others are addressed as
    /// [`anonymous_name`].
    pub known: bool,
    pub segment: Segment,
    pub tags: Vec<TagView>,
}

/// Who would get what, for the store's customers.
pub fn preview(rules: &[Rule], people: &[Person], store: &Text) -> Preview {
    let mut reach: Vec<(String, usize)> = rules.iter().map(|r| (r.id.clone(), 0)).collect();
    let mut untouched = 0;
    let rows: Vec<PreviewRow> = people
        .iter()
        .map(|person| {
            let name =
                if person.known { Text::new(person.name.clone(), person.name.clone()) } else { anonymous_name() };
            let message = message_for(rules, &person.tags, &Audience { name: &name, store });
            match &message {
                Some(m) => {
                    if let Some(slot) = reach.iter_mut().find(|(id, _)| *id == m.rule_id) {
                        slot.1 += 1;
                    }
                }
                None => untouched += 1,
            }
            PreviewRow { name: person.name.clone(), segment: person.segment, message }
        })
        .collect();
    Preview { people: people.len(), reach, untouched, rows }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(key: &str) -> TagView {
        TagView { key: key.into(), label: label_of(key).unwrap_or_else(|| Text::new(key, key)), strength: 1.0 }
    }

    fn store() -> Text {
        Text::new("静安寺店", "Jing'an Temple")
    }

    #[test]
    fn the_rules_in_force_are_the_scope_s_own_else_the_platform_s_else_the_defaults() {
        let own = defaults()[..1].to_vec();
        let platform = defaults()[1..].to_vec();
        let store = in_force(true, Some((own.clone(), 3)), Some(platform.clone()));
        assert_eq!((store.rules, store.source, store.own_version), (own.clone(), Source::Store, Some(3)));
        let inherited = in_force(true, None, Some(platform.clone()));
        assert_eq!((inherited.rules, inherited.source, inherited.own_version), (platform, Source::Platform, None));
        assert_eq!(in_force(false, Some((own, 1)), None).source, Source::Platform);
        assert_eq!(in_force(true, None, None).rules, defaults());
    }

    #[test]
    fn the_defaults_are_valid_and_reach_the_three_segments() {
        let rules = defaults();
        check(&rules).unwrap();
        let person = |name: &str, known, segment, tags| Person { name: name.to_owned(), known, segment, tags };
        let people = vec![
            person("王芳", true, Segment::Active, vec![tag("category:baby"), tag("life:mother_baby")]),
            person("Li", true, Segment::Loyal, vec![tag("visits:high_frequency")]),
            person("访客 · 3f2a", false, Segment::Lapsed, vec![tag("category:clothing"), tag("rfm:lapsed")]),
            person("新客", true, Segment::Prospect, vec![tag("category:snacks")]),
        ];
        let preview = preview(&rules, &people, &store());
        assert_eq!(
            preview.reach,
            vec![("mother_baby".into(), 1), ("sharer_invite".into(), 1), ("come_back".into(), 1)]
        );
        assert_eq!(preview.untouched, 1);
        let baby = preview.rows[0].message.as_ref().unwrap();
        assert!(
            baby.text.zh.starts_with("王芳，静安寺店本周六有亲子活动「亲子绘本下午茶（周六 14:00）」"),
            "{}",
            baby.text.zh
        );
        assert!(baby.text.zh.contains("母婴类满 ¥199 减 ¥30，14 天内有效"), "{}", baby.text.zh);
        assert!(baby.text.en.contains("¥30 off mother & baby orders over ¥199, valid 14 days"), "{}", baby.text.en);
        assert!(baby.text.en.contains("Picture-book afternoon tea (Sat 2 pm)"));
        assert_eq!(baby.offers.len(), 2);
        let back = preview.rows[2].message.as_ref().unwrap();
        assert!(back.text.zh.contains("满 ¥99 减 ¥20，7 天内有效") && !back.text.zh.contains('{'));
        assert!(
            back.text.zh.starts_with("亲爱的顾客，") && back.text.en.starts_with("Dear customer,"),
            "a visitor is not named"
        );
        assert_eq!(preview.rows[2].name, "访客 · 3f2a");
        assert_eq!(preview.rows[1].message.as_ref().unwrap().offers, vec![Offer::SharerInvitation]);
        assert!(preview.rows[3].message.is_none());
    }

    #[test]
    fn a_tried_on_offer_is_a_coupon_message_addressed_without_a_name_or_nothing() {
        let rules = defaults();
        let mother = coupon_for(&rules, &[tag("life:mother_baby")], &store()).unwrap();
        assert_eq!(mother.rule_id, "mother_baby");
        assert!(mother.text.zh.starts_with("亲爱的顾客，"), "{}", mother.text.zh);
        // The sharer invitation is a message without a coupon: no offer.
        assert_eq!(
            message_for(
                &rules,
                &[tag("visits:high_frequency")],
                &Audience { name: &anonymous_name(), store: &store() }
            )
            .map(|m| m.rule_id),
            Some("sharer_invite".into())
        );
        assert_eq!(coupon_for(&rules, &[tag("visits:high_frequency")], &store()), None);
        assert_eq!(coupon_for(&rules, &[], &store()), None);
    }

    #[test]
    fn the_first_matching_enabled_rule_wins_and_every_tag_must_show() {
        let mut rules = defaults();
        let both = vec![tag("life:mother_baby"), tag("visits:high_frequency")];
        let name = Text::new("王芳", "王芳");
        let audience = Audience { name: &name, store: &store() };
        assert_eq!(message_for(&rules, &both, &audience).unwrap().rule_id, "mother_baby");
        rules[0].enabled = false;
        assert_eq!(message_for(&rules, &both, &audience).unwrap().rule_id, "sharer_invite");
        rules[1].when.push("category:beauty".into());
        assert!(message_for(&rules, &both, &audience).is_none(), "all the rule's tags must show");
    }

    #[test]
    fn bad_rules_are_refused_naming_the_rule_and_field() {
        let field = |edit: &dyn Fn(&mut Vec<Rule>)| {
            let mut rules = defaults();
            edit(&mut rules);
            let error = check(&rules).unwrap_err();
            (error.index, error.field)
        };
        assert_eq!(field(&|r| r[1].id = "Bad Id".into()), (1, "id"));
        assert_eq!(field(&|r| r[2].id = "mother_baby".into()), (2, "id"));
        assert_eq!(field(&|r| r[0].when = vec!["life:astronaut".into()]), (0, "when"));
        assert_eq!(field(&|r| r[0].when = vec!["rfm:prospect".into()]), (0, "when"));
        assert_eq!(field(&|r| r[1].message.zh = "{name} 你好 {wallet}".into()), (1, "message"));
        assert_eq!(field(&|r| r[1].message.en = "{coupon} for you".into()), (1, "message"));
        assert_eq!(
            field(&|r| {
                r[0].offers.remove(0);
            }),
            (0, "message"),
            "{{event}} without an event"
        );
        assert_eq!(field(&|r| r[0].message.en = "{name".into()), (0, "message"));
        assert_eq!(
            field(&|r| r[2].offers = vec![Offer::Coupon {
                amount_fen: Fen(5_000),
                min_spend_fen: Fen(5_000),
                category: None,
                valid_days: 7
            }]),
            (2, "offers")
        );
        assert_eq!(
            field(&|r| r[2].offers =
                vec![Offer::Coupon { amount_fen: Fen(500), min_spend_fen: Fen(5_000), category: None, valid_days: 0 }]),
            (2, "offers")
        );
        assert_eq!(field(&|r| r[0].name.en = String::new()), (0, "name"));
        let many: Vec<Rule> = (0..13).map(|i| Rule { id: format!("r{i}"), ..defaults()[1].clone() }).collect();
        assert!(check(&many).is_err());
        assert!(check(&[]).is_ok(), "a store may have no rules");
    }

    #[test]
    fn rules_round_trip_as_json() {
        let text = serde_json::to_string(&defaults()).unwrap();
        let back: Vec<Rule> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, defaults());
        let unknown = text.replacen("\"when\"", "\"whenever\"", 1);
        assert!(serde_json::from_str::<Vec<Rule>>(&unknown).is_err());
    }
}
