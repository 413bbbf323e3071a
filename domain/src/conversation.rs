//! A clerk's notes of a conversation with a customer, understood without an external model:
//! which catalogue products were mentioned, what the customer intends, what holds them back
//! (price, size, timing, quality), their mood, and a drafted follow-up with suggested products
//! and a next contact date. Chinese and English notes both work (and notes mixing them).
//!
//! Products are matched by weighted overlap: a product's name is cut into tokens (Chinese
//! character pairs, English words), each weighted by how rare it is in the catalogue, and a
//! product is mentioned when the rare part of its name is in the note. Intent, objections and
//! mood come from small bilingual lexicons with negation ("不贵" is not a price objection).

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::catalog::{ProductId, Text};
use crate::time::Timestamp;

/// A product as the analysis knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Product {
    pub id: ProductId,
    pub name: Text,
}

/// What the customer means to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    /// Decided, or close to it.
    Buy,
    /// Interested but thinking it over.
    Considering,
    /// Buying for someone else.
    Gift,
    /// A return, an exchange or a complaint.
    AfterSale,
    /// Just looking.
    Browsing,
}

/// What holds the customer back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Objection {
    Price,
    Size,
    Timing,
    Quality,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Mood {
    Positive,
    Neutral,
    Negative,
}

/// A product the note mentions, with the words that matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Mention {
    pub product: ProductId,
    pub name: Text,
    /// 0…1: the share of the name's weight found in the note.
    pub score: f64,
}

/// Who is writing to whom, for the draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Parties {
    pub customer: Option<String>,
    pub clerk: Text,
    pub store: Text,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Analysis {
    pub mentions: Vec<Mention>,
    pub intent: Intent,
    pub objections: Vec<Objection>,
    pub mood: Mood,
    /// The follow-up message, in both languages.
    pub draft: Text,
    pub next_contact: Timestamp,
    /// Why that day.
    pub next_contact_reason: Text,
}

/// Notes longer than this are cut (a conversation's notes, not a transcript).
pub const MAX_NOTE_CHARS: usize = 4_000;

fn is_cjk(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c) || ('\u{3400}'..='\u{4dbf}').contains(&c)
}

/// Tokens of a text in order: pairs of adjacent Chinese characters (a letter or digit right
/// before a Chinese character pairs with it too: "T恤" gives "t恤"), and lowercase English words
/// or numbers (single letters are dropped).
fn token_list(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut previous: Option<char> = None;
    for c in text.chars().chain(std::iter::once(' ')) {
        if is_cjk(c)
            && let Some(before) = previous
        {
            out.push(format!("{}{c}", before.to_ascii_lowercase()));
        }
        previous = (is_cjk(c) || c.is_ascii_alphanumeric()).then_some(c);
        if c.is_ascii_alphanumeric() {
            word.push(c.to_ascii_lowercase());
        } else if !word.is_empty() {
            if word.len() > 1 || word.bytes().all(|b| b.is_ascii_digit()) {
                out.push(word.clone());
            }
            word.clear();
        }
    }
    out
}

fn tokens(text: &str) -> BTreeSet<String> {
    token_list(text).into_iter().collect()
}

/// The last Chinese pair of a name: Chinese product names end in what the thing is (羽绒服,
/// 牛仔裤, T恤, 2段), which is what a clerk writes down.
fn head(name: &str) -> Option<String> {
    token_list(name).into_iter().rev().find(|t| !t.is_ascii())
}

/// How much more a name's head counts than its other pairs.
const HEAD_WEIGHT: f64 = 3.0;

/// English words too common in product names to identify one.
const STOP_WORDS: [&str; 12] = ["the", "and", "with", "for", "of", "set", "pack", "new", "in", "a", "to", "style"];

/// The products the note names, best first. A name is scored in each language on its own
/// (the share of its weight the note holds), so a Chinese note is not diluted by the English
/// name and the reverse.
pub fn mentions(note: &str, catalogue: &[Product]) -> Vec<Mention> {
    let note_tokens = tokens(note);
    let english = |text: &str| -> BTreeSet<String> {
        tokens(text).into_iter().filter(|t| t.is_ascii() && !STOP_WORDS.contains(&t.as_str())).collect()
    };
    let names: Vec<[BTreeSet<String>; 2]> =
        catalogue.iter().map(|p| [tokens(&p.name.zh), english(&p.name.en)]).collect();
    let heads: Vec<Option<String>> = catalogue.iter().map(|p| head(&p.name.zh)).collect();
    let mut document_frequency: HashMap<&str, usize> = HashMap::new();
    for name in &names {
        for token in name.iter().flatten() {
            *document_frequency.entry(token.as_str()).or_default() += 1;
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let products = catalogue.len().max(1) as f64;
    #[allow(clippy::cast_precision_loss)]
    let weight = |token: &str| (1.0 + products / document_frequency.get(token).copied().unwrap_or(1) as f64).ln();
    // The best single match must be a rare word: "有机" alone names no product.
    let rare = (1.0 + products / 3.0).ln();
    let mut found: Vec<Mention> = catalogue
        .iter()
        .zip(names.iter().zip(&heads))
        .filter_map(|(product, (name, head))| {
            let weigh = |token: &String| {
                if Some(token) == head.as_ref() { HEAD_WEIGHT * weight(token) } else { weight(token) }
            };
            let score = name
                .iter()
                .filter_map(|tokens| {
                    let total: f64 = tokens.iter().map(weigh).sum();
                    let matched: Vec<f64> = tokens.iter().filter(|t| note_tokens.contains(*t)).map(weigh).collect();
                    let rarest = matched.iter().copied().fold(0.0, f64::max);
                    (total > 0.0 && rarest >= rare).then(|| matched.iter().sum::<f64>() / total)
                })
                .fold(0.0, f64::max);
            (score >= 0.3).then(|| Mention {
                product: product.id.clone(),
                name: product.name.clone(),
                score: (score * 100.0).round() / 100.0,
            })
        })
        .collect();
    found.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.product.cmp(&b.product)));
    // A product that only matched because a better one shares its words is dropped.
    if let Some(best) = found.first().map(|m| m.score) {
        found.retain(|m| m.score >= best * 0.6);
    }
    found.truncate(5);
    found
}

/// Whether `word` occurs in `text` without a negation just before it.
fn says(text: &str, word: &str) -> bool {
    let mut from = 0;
    while let Some(at) = text[from..].find(word) {
        let start = from + at;
        let before: String = text[..start].chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
        let negated = before.ends_with('不')
            || before.ends_with("没")
            || before.ends_with("not ")
            || before.ends_with("n't ")
            || before.ends_with("no ");
        if !negated {
            return true;
        }
        from = start + word.len();
    }
    false
}

fn any(text: &str, words: &[&str]) -> bool {
    words.iter().any(|word| says(text, word))
}

const AFTER_SALE: [&str; 10] =
    ["退货", "退款", "换货", "投诉", "坏了", "return", "refund", "exchange", "broken", "complain"];
const GIFT: [&str; 9] = ["送给", "送人", "礼物", "生日", "gift", "present", "birthday", "for her", "for his"];
const BUY: [&str; 12] = [
    "要了",
    "买了",
    "下单",
    "就要",
    "定了",
    "拿一",
    "buy it",
    "take it",
    "ordered",
    "will buy",
    "wants to buy",
    "bought",
];
const CONSIDERING: [&str; 11] =
    ["考虑", "想想", "再看看", "商量", "犹豫", "think about", "consider", "maybe", "not sure", "undecided", "hesitat"];
const BROWSING: [&str; 5] = ["随便看看", "逛逛", "just looking", "browsing", "looking around"];

// Words that say the price is in the way ("价格" or "price" alone may be praise).
const PRICE: [&str; 14] = [
    "太贵",
    "贵了",
    "有点贵",
    "嫌贵",
    "便宜点",
    "优惠",
    "折扣",
    "打折",
    "预算",
    "expensive",
    "too much",
    "discount",
    "cheaper",
    "budget",
];
const SIZE: [&str; 13] =
    ["尺码", "大了", "小了", "偏大", "偏小", "太紧", "太松", "合身", "size", "fit", "too small", "too big", "tight"];
const TIMING: [&str; 12] = [
    "下周",
    "下个月",
    "过几天",
    "发工资",
    "没时间",
    "以后",
    "next week",
    "next month",
    "later",
    "payday",
    "no time",
    "busy",
];
const QUALITY: [&str; 11] =
    ["质量", "材质", "面料", "起球", "褪色", "做工", "quality", "material", "fabric", "pilling", "durable"];

const POSITIVE: [&str; 12] =
    ["喜欢", "满意", "开心", "不错", "好看", "漂亮", "love", "like", "great", "happy", "nice", "pleased"];
const NEGATIVE: [&str; 10] =
    ["失望", "生气", "不满", "不喜欢", "难看", "disappointed", "angry", "unhappy", "upset", "dislike"];

/// The customer's intent in a lowercase note.
fn intent_of(text: &str) -> Intent {
    if any(text, &AFTER_SALE) {
        Intent::AfterSale
    } else if any(text, &GIFT) {
        Intent::Gift
    } else if any(text, &BUY) {
        Intent::Buy
    } else if any(text, &CONSIDERING) {
        Intent::Considering
    } else if any(text, &BROWSING) {
        Intent::Browsing
    } else {
        Intent::Considering
    }
}

fn objections_of(text: &str) -> Vec<Objection> {
    [
        (Objection::Price, &PRICE[..]),
        (Objection::Size, &SIZE[..]),
        (Objection::Timing, &TIMING[..]),
        (Objection::Quality, &QUALITY[..]),
    ]
    .into_iter()
    .filter(|(_, words)| any(text, words))
    .map(|(objection, _)| objection)
    .collect()
}

fn mood_of(text: &str) -> Mood {
    let count = |words: &[&str]| words.iter().filter(|w| says(text, w)).count();
    // "不喜欢" is negative even though "喜欢" inside it is negated: count both lists plainly.
    let (good, bad) = (count(&POSITIVE), count(&NEGATIVE) + usize::from(text.contains("不喜欢")));
    match good.cmp(&bad) {
        std::cmp::Ordering::Greater => Mood::Positive,
        std::cmp::Ordering::Less => Mood::Negative,
        std::cmp::Ordering::Equal => Mood::Neutral,
    }
}

/// The next day the clerk should get in touch, and why.
fn next_contact(text: &str, intent: Intent, objections: &[Objection], now: Timestamp) -> (Timestamp, Text) {
    let day = Timestamp::DAY_MS;
    let (days, why) = if text.contains("明天") || text.contains("tomorrow") {
        (1, Text::new("顾客说明天", "The customer mentioned tomorrow"))
    } else if text.contains("下周") || text.contains("next week") {
        (7, Text::new("顾客说下周", "The customer mentioned next week"))
    } else if text.contains("下个月")
        || text.contains("发工资")
        || text.contains("next month")
        || text.contains("payday")
    {
        (30, Text::new("顾客说下个月/发工资后", "The customer mentioned next month or payday"))
    } else {
        match intent {
            Intent::AfterSale => (1, Text::new("售后问题要尽快回复", "After-sale issues need a quick answer")),
            Intent::Buy => (1, Text::new("确认购买与取货", "Confirm the purchase and pickup")),
            Intent::Gift => (2, Text::new("礼物通常有时间点", "Gifts usually have a date")),
            Intent::Considering if objections.is_empty() => {
                (3, Text::new("顾客在考虑", "The customer is thinking it over"))
            }
            Intent::Considering => (2, Text::new("先解决顾客的顾虑", "Address the customer's concern first")),
            Intent::Browsing => (14, Text::new("只是随便看看", "The customer was only looking")),
        }
    };
    (Timestamp(now.0 - now.0.rem_euclid(day) + days * day), why)
}

fn draft(parties: &Parties, mentions: &[Mention], intent: Intent, objections: &[Objection]) -> Text {
    let greeting_zh = parties.customer.as_deref().map_or_else(|| "您好".to_owned(), |name| format!("{name}您好"));
    let greeting_en = parties.customer.as_deref().map_or_else(|| "Hello".to_owned(), |name| format!("Hello {name}"));
    let mut zh = format!("{greeting_zh}，我是{}的{}。", parties.store.zh, parties.clerk.zh);
    let mut en = format!("{greeting_en}, this is {} from {}. ", parties.clerk.en, parties.store.en);
    let product_zh = mentions.first().map(|m| format!("「{}」", m.name.zh));
    let product_en = mentions.first().map(|m| m.name.en.clone());
    match intent {
        Intent::AfterSale => {
            zh.push_str("关于您反映的问题，我已经在跟进，会尽快给您满意的处理。");
            en.push_str(
                "I am following up on the problem you told us about and will get it resolved for you quickly. ",
            );
        }
        Intent::Buy => {
            zh.push_str(&format!(
                "谢谢您选择{}，到货或可取货时我第一时间通知您。",
                product_zh.as_deref().unwrap_or("我们")
            ));
            en.push_str(&format!(
                "Thank you for choosing {}; I will let you know as soon as it is ready. ",
                product_en.as_deref().unwrap_or("us")
            ));
        }
        Intent::Gift => {
            zh.push_str(&format!(
                "您挑的{}很适合送人，我们可以免费礼盒包装。",
                product_zh.as_deref().unwrap_or("礼物")
            ));
            en.push_str(&format!(
                "{} makes a lovely gift, and we can gift-wrap it for free. ",
                product_en.as_deref().unwrap_or("Your choice")
            ));
        }
        Intent::Considering | Intent::Browsing => {
            zh.push_str(&format!("上次您看的{}我帮您留意着。", product_zh.as_deref().unwrap_or("商品")));
            en.push_str(&format!(
                "I am keeping an eye on {} you looked at. ",
                product_en.as_deref().map_or_else(|| "the items".to_owned(), |n| format!("the {n}"))
            ));
        }
    }
    for objection in objections {
        let (z, e) = match objection {
            Objection::Price => (
                "这周会员有专属优惠，我可以帮您申请。",
                "Members have an offer this week, and I can apply it for you. ",
            ),
            Objection::Size => {
                ("我可以帮您调来合适的尺码，到店再试一次。", "I can get your size in for you to try again in store. ")
            }
            Objection::Timing => {
                ("您方便的时候告诉我，我先帮您预留。", "Tell me when suits you, and I will keep one aside. ")
            }
            Objection::Quality => (
                "支持七天无理由退换，质量您可以放心。",
                "It comes with a 7-day no-questions return, so you can buy with confidence. ",
            ),
        };
        zh.push_str(z);
        en.push_str(e);
    }
    zh.push_str("有任何问题随时找我。");
    en.push_str("Any questions, just ask me.");
    Text::new(zh, en)
}

/// Understands a clerk's note at `now`.
pub fn analyse(note: &str, catalogue: &[Product], parties: &Parties, now: Timestamp) -> Analysis {
    let note: String = note.chars().take(MAX_NOTE_CHARS).collect();
    let lower = note.to_lowercase();
    let mentions = mentions(&note, catalogue);
    let intent = intent_of(&lower);
    let objections = objections_of(&lower);
    let mood = mood_of(&lower);
    let (next_contact, next_contact_reason) = next_contact(&lower, intent, &objections, now);
    let draft = draft(parties, &mentions, intent, &objections);
    Analysis { mentions, intent, objections, mood, draft, next_contact, next_contact_reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp(1_780_000_000_000);

    fn catalogue() -> Vec<Product> {
        let product =
            |id: &str, zh: &str, en: &str| Product { id: ProductId::parse(id).unwrap(), name: Text::new(zh, en) };
        vec![
            product("p-0101", "新疆长绒棉圆领T恤", "Xinjiang long-staple cotton crew-neck T-shirt"),
            product("p-0102", "轻薄羽绒服", "Light down jacket"),
            product("p-0103", "高腰直筒牛仔裤", "High-waist straight jeans"),
            product("p-0301", "有机婴儿配方奶粉 1段", "Organic infant formula, stage 1"),
            product("p-0302", "有机较大婴儿奶粉 2段", "Organic follow-on formula, stage 2"),
            product("p-0208", "护手霜礼盒", "Hand cream gift set"),
        ]
    }

    fn parties() -> Parties {
        Parties {
            customer: Some("王女士".into()),
            clerk: Text::new("小李", "Xiao Li"),
            store: Text::new("静安寺店", "the Jing'an Temple store"),
        }
    }

    fn ids(analysis: &Analysis) -> Vec<&str> {
        analysis.mentions.iter().map(|m| m.product.as_str()).collect()
    }

    #[test]
    fn a_chinese_note_with_a_price_objection_and_a_date() {
        let note = "王女士今天试了羽绒服，很喜欢，但觉得有点贵，说下个月发工资再来。还问了牛仔裤的尺码。";
        let analysis = analyse(note, &catalogue(), &parties(), NOW);
        assert_eq!(ids(&analysis), vec!["p-0102", "p-0103"]);
        assert_eq!(analysis.intent, Intent::Considering);
        assert_eq!(analysis.objections, vec![Objection::Price, Objection::Size, Objection::Timing]);
        assert_eq!(analysis.mood, Mood::Positive);
        assert_eq!((analysis.next_contact.0 - NOW.0) / Timestamp::DAY_MS, 29);
        assert!(analysis.draft.zh.starts_with("王女士您好，我是静安寺店的小李。"), "{}", analysis.draft.zh);
        assert!(analysis.draft.zh.contains("「轻薄羽绒服」") && analysis.draft.zh.contains("会员有专属优惠"));
        assert!(analysis.draft.en.contains("Light down jacket") || analysis.draft.en.contains("light down jacket"));
    }

    #[test]
    fn an_english_note_buying_a_gift() {
        let note = "Customer wants the hand cream gift set as a birthday present for her mother. Happy with the price, not expensive at all.";
        let analysis = analyse(note, &catalogue(), &parties(), NOW);
        assert_eq!(ids(&analysis), vec!["p-0208"]);
        assert_eq!(analysis.intent, Intent::Gift);
        assert!(analysis.objections.is_empty(), "'not expensive' is no objection: {:?}", analysis.objections);
        assert_eq!(analysis.mood, Mood::Positive);
        assert!(analysis.draft.en.contains("gift-wrap"));
        assert_eq!((analysis.next_contact.0 - NOW.0) / Timestamp::DAY_MS, 1);
    }

    #[test]
    fn formula_stages_are_told_apart_and_negation_is_read() {
        let note = "宝妈想买2段奶粉，较大婴儿喝的，质量不错，不贵。";
        let analysis = analyse(note, &catalogue(), &parties(), NOW);
        assert_eq!(ids(&analysis)[0], "p-0302");
        assert_eq!(analysis.intent, Intent::Considering);
        assert!(!analysis.objections.contains(&Objection::Price), "不贵 is no price objection");
        let note = "顾客很失望，说T恤洗了一次就起球，要退货。";
        let analysis = analyse(note, &catalogue(), &parties(), NOW);
        assert_eq!(ids(&analysis), vec!["p-0101"]);
        assert_eq!(analysis.intent, Intent::AfterSale);
        assert_eq!(analysis.objections, vec![Objection::Quality]);
        assert_eq!(analysis.mood, Mood::Negative);
        assert!(analysis.draft.zh.contains("跟进"));
    }

    #[test]
    fn a_note_naming_nothing_names_nothing() {
        let analysis = analyse("随便看看，没说什么。", &catalogue(), &parties(), NOW);
        assert!(analysis.mentions.is_empty());
        assert_eq!(analysis.intent, Intent::Browsing);
        assert_eq!(analysis.mood, Mood::Neutral);
        assert_eq!((analysis.next_contact.0 - NOW.0) / Timestamp::DAY_MS, 13);
        let long = "好".repeat(MAX_NOTE_CHARS * 2);
        assert!(analyse(&long, &catalogue(), &parties(), NOW).mentions.is_empty());
    }
}
