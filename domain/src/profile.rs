//! One profile from the shop and the screen: weighted tags that fade with time.
//!
//! Every tag is a weight and the time it was last brought up to date. An event adds to a tag;
//! the weight fades by half every `half_life_days`. Adding `s` at time `t` to a tag worth `w`
//! at `a` gives `w·2^(−(t−a)/h) + s` at `t` (or, for an event older than `a`, `w + s·2^(−(a−t)/h)`
//! at `a`), so the weight at any time is `Σ sᵢ·2^(−(now−tᵢ)/h)` whatever order the events came
//! in: a profile updated event by event equals one rebuilt from all its events.
//!
//! Tags: categories, price bands, life stage (母婴), clothing size (from a mirror's
//! measurements); and counters behind the derived labels — visits (→ "high-frequency
//! visitor"), purchases and spend (→ the RFM segment). A person may mute any tag or label: it
//! is removed and no longer inferred.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::behaviour::{Event, Measurements, Online, Outcome, What};
use crate::catalog::{Category, Text};
use crate::money::Fen;
use crate::recommend::Signal;
use crate::time::Timestamp;

/// How fast tags fade.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Config {
    pub half_life_days: f64,
    /// How fast purchases and spend fade for the RFM segment (buying is rarer than browsing).
    pub rfm_half_life_days: f64,
    /// Faded visits at or above this make a "high-frequency visitor" (4 with a 30-day half-life
    /// is about one visit a week, kept up).
    pub high_frequency_visits: f64,
}

impl Default for Config {
    fn default() -> Config {
        Config { half_life_days: 30.0, rfm_half_life_days: 180.0, high_frequency_visits: 4.0 }
    }
}

/// What the profile needs to know about a product an event names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Facts {
    pub category: Category,
    pub price: Fen,
}

/// A price band, by the product's price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum PriceBand {
    /// Under ¥100.
    Low,
    /// ¥100 to ¥499.99.
    Mid,
    /// ¥500 and up.
    High,
}

impl PriceBand {
    pub fn of(price: Fen) -> PriceBand {
        match price.0 {
            ..10_000 => PriceBand::Low,
            10_000..50_000 => PriceBand::Mid,
            _ => PriceBand::High,
        }
    }

    fn code(self) -> &'static str {
        match self {
            PriceBand::Low => "low",
            PriceBand::Mid => "mid",
            PriceBand::High => "high",
        }
    }
}

/// A tag's key as stored and shown: `category:baby`, `price:mid`, `life:mother_baby`,
/// `size:M`, and the derived labels `visits:high_frequency` and `rfm:{segment}`.
pub type TagKey = String;

const VISITS: &str = "count:visits";
const PURCHASES: &str = "count:purchases";
const SPEND: &str = "count:spend_yuan";
const MOTHER_BABY: &str = "life:mother_baby";
const HIGH_FREQUENCY: &str = "visits:high_frequency";

/// Words in a search that say "mother and baby".
const BABY_WORDS: [&str; 10] =
    ["母婴", "奶粉", "宝宝", "婴儿", "尿不湿", "纸尿裤", "baby", "infant", "diaper", "formula"];

/// A weight as of a time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Weighted {
    pub weight: f64,
    pub at: Timestamp,
}

fn fade(millis: i64, half_life_days: f64) -> f64 {
    if millis <= 0 || half_life_days <= 0.0 {
        return 1.0;
    }
    #[allow(clippy::cast_precision_loss)] // milliseconds of a lifetime fit 52 bits
    let days = millis as f64 / Timestamp::DAY_MS as f64;
    (-days / half_life_days).exp2()
}

impl Config {
    /// The half-life of one tag: the RFM counters remember longer than interests do.
    fn half_life_of(&self, key: &str) -> f64 {
        if key == PURCHASES || key == SPEND { self.rfm_half_life_days } else { self.half_life_days }
    }
}

impl Weighted {
    fn add(&mut self, amount: f64, at: Timestamp, half_life_days: f64) {
        if at >= self.at {
            self.weight = self.weight * fade(at.0 - self.at.0, half_life_days) + amount;
            self.at = at;
        } else {
            self.weight += amount * fade(self.at.0 - at.0, half_life_days);
        }
    }

    /// The weight at `now` (never more than it was: a time before `at` reads as `at`).
    pub fn at(&self, now: Timestamp, half_life_days: f64) -> f64 {
        self.weight * fade(now.0 - self.at.0, half_life_days)
    }
}

/// The RFM segment: how recently, how often and how much a person buys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Segment {
    /// Has not bought yet.
    Prospect,
    /// A first purchase in the last 30 days.
    New,
    /// Bought in the last 30 days and often (faded purchases ≥ 4) or much (faded spend ≥ ¥2,000).
    Champion,
    /// Bought in the last 60 days, more than once.
    Loyal,
    /// Bought in the last 90 days.
    Active,
    /// No purchase for more than 90 days.
    Lapsed,
}

impl Segment {
    pub fn code(self) -> &'static str {
        match self {
            Segment::Prospect => "prospect",
            Segment::New => "new",
            Segment::Champion => "champion",
            Segment::Loyal => "loyal",
            Segment::Active => "active",
            Segment::Lapsed => "lapsed",
        }
    }

    pub fn label(self) -> Text {
        match self {
            Segment::Prospect => Text::new("潜在顾客", "Prospect"),
            Segment::New => Text::new("新顾客", "New customer"),
            Segment::Champion => Text::new("核心顾客", "Champion"),
            Segment::Loyal => Text::new("忠实顾客", "Loyal"),
            Segment::Active => Text::new("活跃顾客", "Active"),
            Segment::Lapsed => Text::new("流失顾客", "Lapsed"),
        }
    }

    pub const ALL: [Segment; 6] =
        [Segment::Prospect, Segment::New, Segment::Champion, Segment::Loyal, Segment::Active, Segment::Lapsed];

    pub fn parse(code: &str) -> Option<Segment> {
        Segment::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// A person's profile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Profile {
    pub tags: BTreeMap<TagKey, Weighted>,
    /// Tags the person removed; they are not inferred again.
    pub muted: BTreeSet<TagKey>,
    pub last_purchase: Option<Timestamp>,
    pub last_visit: Option<Timestamp>,
    pub body: Option<Measurements>,
    pub events: u64,
}

/// A tag as the person (or a clerk) sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TagView {
    pub key: TagKey,
    pub label: Text,
    /// 0…1, the strongest shown tag being 1 (labels are 1).
    pub strength: f64,
}

/// What a person agreed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Consent {
    pub behaviour: bool,
    pub personalised: bool,
}

/// The person's own view of their profile (`GET /api/me/profile`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ProfileView {
    /// `member` or `visitor`.
    pub subject: String,
    pub consent: Option<Consent>,
    pub tags: Vec<TagView>,
    pub segment: Segment,
    pub high_frequency: bool,
    pub muted: BTreeSet<TagKey>,
    pub body: Option<Measurements>,
    pub events: u64,
}

impl Profile {
    /// The person's view of this profile at `now`.
    pub fn view(&self, subject: &str, consent: Option<Consent>, now: Timestamp, config: &Config) -> ProfileView {
        ProfileView {
            subject: subject.to_owned(),
            consent,
            tags: self.tags_shown(now, config),
            segment: self.segment(now, config),
            high_frequency: self.is_high_frequency(now, config),
            muted: self.muted.clone(),
            body: self.body,
            events: self.events,
        }
    }
}

/// Shown tags must weigh at least this much now (a single view of a category does not make an
/// interest).
const SHOWN_FROM: f64 = 0.3;

fn strength_of(event: &What) -> f64 {
    match event {
        What::Product { action, .. } => match action {
            Online::View => Signal::View,
            Online::Click => Signal::Click,
            Online::Share => Signal::Share,
            Online::Favourite => Signal::Favourite,
            Online::Cart => Signal::Cart,
        }
        .strength(),
        What::TryOn { outcome: Outcome::BoughtHere, .. } | What::StorePurchase { .. } => Signal::Purchase.strength(),
        What::TryOn { outcome: Outcome::Liked, .. } => Signal::TryOn.strength(),
        // Trying something on says the category interests them even when the item did not fit.
        What::TryOn { outcome: Outcome::NotForMe, .. } => 0.2,
        What::Search { .. } | What::CheckIn { .. } | What::Body { .. } => 0.0,
    }
}

/// A clothing size from a mirror's chest measurement (the common Chinese 号型 steps).
pub fn size_of(measurements: &Measurements) -> &'static str {
    match measurements.chest_cm {
        ..84 => "S",
        84..92 => "M",
        92..100 => "L",
        100..108 => "XL",
        _ => "XXL",
    }
}

impl Profile {
    fn bump(&mut self, key: &str, amount: f64, at: Timestamp, config: &Config) {
        if amount <= 0.0 || self.muted.contains(key) {
            return;
        }
        let half_life = config.half_life_of(key);
        self.tags.entry(key.to_owned()).or_insert(Weighted { weight: 0.0, at }).add(amount, at, half_life);
    }

    /// Takes one event in; `facts` describes the product the event names, if any.
    pub fn apply(&mut self, event: &Event, facts: Option<&Facts>, config: &Config) {
        let at = event.at;
        self.events += 1;
        let strength = strength_of(&event.what);
        if let Some(facts) = facts {
            self.bump(&format!("category:{}", facts.category.code()), strength, at, config);
            self.bump(&format!("price:{}", PriceBand::of(facts.price).code()), strength * 0.5, at, config);
            if facts.category == Category::Baby {
                self.bump(MOTHER_BABY, strength, at, config);
            }
        }
        match &event.what {
            What::Search { query } => {
                let query = query.to_lowercase();
                if BABY_WORDS.iter().any(|word| query.contains(word)) {
                    self.bump(MOTHER_BABY, 0.3, at, config);
                }
                for category in Category::ALL {
                    let label = category.label();
                    if query.contains(&label.zh) || query.contains(&label.en.to_lowercase()) {
                        self.bump(&format!("category:{}", category.code()), 0.2, at, config);
                    }
                }
            }
            What::CheckIn { .. } => {
                self.bump(VISITS, 1.0, at, config);
                self.last_visit = self.last_visit.max(Some(at));
            }
            What::StorePurchase { amount_fen, .. } => {
                self.purchased(Fen(*amount_fen), at, config);
                self.last_visit = self.last_visit.max(Some(at));
            }
            What::Body { measurements, .. } => {
                if self.body.is_none() || self.last_visit <= Some(at) {
                    self.body = Some(*measurements);
                }
                self.bump(&format!("size:{}", size_of(measurements)), 1.0, at, config);
            }
            What::Product { .. } | What::TryOn { .. } => {}
        }
    }

    /// Counts a purchase (in the store, or an online order the Worker reports).
    pub fn purchased(&mut self, amount: Fen, at: Timestamp, config: &Config) {
        self.bump(PURCHASES, 1.0, at, config);
        #[allow(clippy::cast_precision_loss)] // a faded score in yuan, not money
        self.bump(SPEND, amount.0 as f64 / 100.0, at, config);
        self.last_purchase = self.last_purchase.max(Some(at));
    }

    /// Rebuilds a profile from all of a person's events (any order), keeping their mutes.
    pub fn rebuild<'a>(
        events: impl IntoIterator<Item = (&'a Event, Option<&'a Facts>)>,
        muted: BTreeSet<TagKey>,
        config: &Config,
    ) -> Profile {
        let mut profile = Profile { muted, ..Profile::default() };
        for (event, facts) in events {
            profile.apply(event, facts, config);
        }
        profile
    }

    /// A tag's weight now (0 when absent).
    pub fn weight(&self, key: &str, now: Timestamp, config: &Config) -> f64 {
        self.tags.get(key).map_or(0.0, |w| w.at(now, config.half_life_of(key)))
    }

    /// The RFM segment at `now`.
    pub fn segment(&self, now: Timestamp, config: &Config) -> Segment {
        let Some(last) = self.last_purchase else { return Segment::Prospect };
        let days = (now.0 - last.0) / Timestamp::DAY_MS;
        let purchases = self.weight(PURCHASES, now, config);
        let spend_yuan = self.weight(SPEND, now, config);
        match days {
            ..=30 if purchases >= 4.0 || spend_yuan >= 2_000.0 => Segment::Champion,
            ..=30 if purchases < 1.5 => Segment::New,
            ..=60 if purchases >= 1.5 => Segment::Loyal,
            ..=90 => Segment::Active,
            _ => Segment::Lapsed,
        }
    }

    /// Whether faded visits make a high-frequency visitor now.
    pub fn is_high_frequency(&self, now: Timestamp, config: &Config) -> bool {
        !self.muted.contains(HIGH_FREQUENCY) && self.weight(VISITS, now, config) >= config.high_frequency_visits
    }

    /// Whether the person is tagged 母婴 now.
    pub fn is_mother_baby(&self, now: Timestamp, config: &Config) -> bool {
        self.weight(MOTHER_BABY, now, config) >= SHOWN_FROM
    }

    /// The tags to show at `now`, strongest first, then the derived labels.
    pub fn tags_shown(&self, now: Timestamp, config: &Config) -> Vec<TagView> {
        let mut shown: Vec<(TagKey, f64)> = self
            .tags
            .iter()
            .filter(|(key, _)| !key.starts_with("count:"))
            .map(|(key, w)| (key.clone(), w.at(now, config.half_life_of(key))))
            .filter(|(_, weight)| *weight >= SHOWN_FROM)
            .collect();
        shown.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let strongest = shown.first().map_or(1.0, |(_, w)| *w);
        let mut views: Vec<TagView> = shown
            .into_iter()
            .filter_map(|(key, weight)| {
                let label = label_of(&key)?;
                Some(TagView { key, label, strength: ((weight / strongest) * 100.0).round() / 100.0 })
            })
            .collect();
        if self.is_high_frequency(now, config) {
            views.push(TagView {
                key: HIGH_FREQUENCY.to_owned(),
                label: Text::new("高频到店", "High-frequency visitor"),
                strength: 1.0,
            });
        }
        let segment = self.segment(now, config);
        let key = format!("rfm:{}", segment.code());
        if segment != Segment::Prospect && !self.muted.contains(&key) {
            views.push(TagView { key, label: segment.label(), strength: 1.0 });
        }
        views
    }

    /// Removes a tag and stops inferring it. Returns false when the key is not a tag this
    /// profile shows or could show.
    pub fn mute(&mut self, key: &str) -> bool {
        if label_of(key).is_none() {
            return false;
        }
        self.tags.remove(key);
        self.muted.insert(key.to_owned());
        true
    }

    /// How well a product matches the profile now (0 when nothing matches): its category, its
    /// price band at half weight, and 母婴 for baby goods.
    #[allow(clippy::cast_possible_truncation)] // a ranking score
    pub fn affinity(&self, facts: &Facts, now: Timestamp, config: &Config) -> f32 {
        let mut score = self.weight(&format!("category:{}", facts.category.code()), now, config);
        score += 0.5 * self.weight(&format!("price:{}", PriceBand::of(facts.price).code()), now, config);
        if facts.category == Category::Baby {
            score += self.weight(MOTHER_BABY, now, config);
        }
        score as f32
    }
}

/// The words for a tag key, or `None` when the key is not one this module makes.
pub fn label_of(key: &str) -> Option<Text> {
    let (kind, value) = key.split_once(':')?;
    match kind {
        "category" => Category::parse(value).ok().map(Category::label),
        "price" => match value {
            "low" => Some(Text::new("平价", "Budget")),
            "mid" => Some(Text::new("中档", "Mid-range")),
            "high" => Some(Text::new("高端", "Premium")),
            _ => None,
        },
        // Not "母婴" alone: that is the category's name, shown beside it.
        "life" if value == "mother_baby" => Some(Text::new("母婴人群", "Parent of a young child")),
        "size" if ["S", "M", "L", "XL", "XXL"].contains(&value) => {
            Some(Text::new(format!("尺码 {value}"), format!("Size {value}")))
        }
        "visits" if value == "high_frequency" => Some(Text::new("高频到店", "High-frequency visitor")),
        "rfm" => Segment::parse(value).map(Segment::label),
        _ => None,
    }
}

/// A batch of events folded into a person's profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Ingest<'a> {
    pub profile: Profile,
    /// The events not recorded before, in the batch's order: the ones to store.
    pub new: Vec<&'a Event>,
    /// Events already recorded (by id) or repeated within the batch.
    pub duplicates: usize,
}

/// Why a batch of events is not recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    #[error("the person has not agreed to their behaviour being recorded")]
    NoConsent,
    /// `events[index]` names a product the catalogue does not have.
    #[error("unknown product {product}")]
    UnknownProduct { index: usize, product: String },
}

/// Folds a checked batch into `profile`: only with consent to record behaviour, only when every
/// product it names has `facts`, and only the events whose ids are neither `known` (recorded
/// before) nor repeated within the batch.
pub fn ingest<'a>(
    consent: Option<Consent>,
    mut profile: Profile,
    known: &BTreeSet<String>,
    facts: &BTreeMap<String, Facts>,
    events: &'a [Event],
    config: &Config,
) -> Result<Ingest<'a>, IngestError> {
    if !consent.is_some_and(|c| c.behaviour) {
        return Err(IngestError::NoConsent);
    }
    for (index, event) in events.iter().enumerate() {
        if let Some(product) = event.what.product()
            && !facts.contains_key(product.as_str())
        {
            return Err(IngestError::UnknownProduct { index, product: product.as_str().to_owned() });
        }
    }
    let mut seen = known.clone();
    let mut new = Vec::new();
    for event in events {
        if seen.insert(event.id.as_str().to_owned()) {
            profile.apply(event, event.what.product().and_then(|p| facts.get(p.as_str())), config);
            new.push(event);
        }
    }
    let duplicates = events.len() - new.len();
    Ok(Ingest { profile, new, duplicates })
}

impl Profile {
    /// Counts online orders (what is left of each after refunds, and when it was paid) into a
    /// profile read for showing or targeting; they are never part of its stored body.
    pub fn with_purchases(&mut self, purchases: impl IntoIterator<Item = (Fen, Timestamp)>, config: &Config) {
        for (amount, at) in purchases {
            self.purchased(amount, at, config);
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::behaviour::EventId;
    use crate::catalog::{ProductId, StoreId};

    const DAY: i64 = Timestamp::DAY_MS;
    const T0: Timestamp = Timestamp(1_780_000_000_000);

    fn event(n: u32, at: Timestamp, what: What) -> Event {
        Event { id: EventId::parse(&format!("event-{n:04}")).unwrap(), at, what }
    }

    fn view(n: u32, at: Timestamp) -> Event {
        event(n, at, What::Product { action: Online::View, product: ProductId::parse("p-milk").unwrap() })
    }

    fn check_in(n: u32, at: Timestamp) -> Event {
        event(n, at, What::CheckIn { store: StoreId::parse("s-jingan").unwrap() })
    }

    fn purchase(n: u32, at: Timestamp, fen: i64) -> Event {
        let store = StoreId::parse("s-jingan").unwrap();
        event(n, at, What::StorePurchase { store, product: ProductId::parse("p-milk").unwrap(), amount_fen: fen })
    }

    const BABY: Facts = Facts { category: Category::Baby, price: Fen(19_900) };

    #[test]
    fn a_batch_is_folded_once_with_consent_and_known_products_only() {
        let config = Config::default();
        let raw: Vec<crate::behaviour::RawEvent> = serde_json::from_str(
            r#"[{"id":"e-000001","type":"view","product":"p-1"},{"id":"e-000002","type":"view","product":"p-1"}]"#,
        )
        .unwrap();
        let events = crate::behaviour::check_batch(&raw, &crate::behaviour::Source::App, Timestamp(10_000)).unwrap();
        let facts: BTreeMap<String, Facts> =
            [("p-1".to_owned(), Facts { category: Category::Baby, price: Fen(9_900) })].into();
        let agreed = Some(Consent { behaviour: true, personalised: false });
        let known: BTreeSet<String> = ["e-000002".to_owned()].into();
        let folded = ingest(agreed, Profile::default(), &known, &facts, &events, &config).unwrap();
        assert_eq!((folded.new.len(), folded.duplicates), (1, 1));
        assert_eq!(folded.new[0].id.as_str(), "e-000001");
        assert_eq!(folded.profile.events, 1);
        let refused = ingest(None, Profile::default(), &known, &facts, &events, &config);
        assert_eq!(refused, Err(IngestError::NoConsent));
        let unknown = ingest(agreed, Profile::default(), &known, &BTreeMap::new(), &events, &config);
        assert_eq!(unknown, Err(IngestError::UnknownProduct { index: 0, product: "p-1".into() }));
        let mut bought = Profile::default();
        bought.with_purchases([(Fen(5_000), Timestamp(3_000))], &config);
        assert_eq!(bought.last_purchase, Some(Timestamp(3_000)));
    }

    #[test]
    fn weights_halve_every_half_life() {
        let config = Config::default();
        let mut profile = Profile::default();
        profile.apply(&view(1, T0), Some(&BABY), &config);
        let now = T0.plus_days(30);
        assert!((profile.weight("category:baby", T0, &config) - 0.1).abs() < 1e-12);
        assert!((profile.weight("category:baby", now, &config) - 0.05).abs() < 1e-12);
        assert!((profile.weight("price:mid", now, &config) - 0.025).abs() < 1e-12);
        assert!((profile.weight("life:mother_baby", T0.plus_days(60), &config) - 0.025).abs() < 1e-12);
    }

    #[test]
    fn a_late_event_counts_as_of_its_own_time() {
        let config = Config::default();
        let mut in_order = Profile::default();
        in_order.apply(&view(1, T0), Some(&BABY), &config);
        in_order.apply(&view(2, T0.plus_days(10)), Some(&BABY), &config);
        let mut late = Profile::default();
        late.apply(&view(2, T0.plus_days(10)), Some(&BABY), &config);
        late.apply(&view(1, T0), Some(&BABY), &config);
        let now = T0.plus_days(40);
        let expected = 0.1 * (0.5f64.powf(40.0 / 30.0) + 0.5);
        assert!((in_order.weight("category:baby", now, &config) - expected).abs() < 1e-12);
        assert!((late.weight("category:baby", now, &config) - expected).abs() < 1e-12);
    }

    #[test]
    fn visits_make_a_high_frequency_visitor_and_purchases_a_segment() {
        let config = Config::default();
        let mut profile = Profile::default();
        for n in 0..5 {
            profile.apply(&check_in(n, T0.plus_days(i64::from(n) * 3)), None, &config);
        }
        let now = T0.plus_days(14);
        assert!(profile.is_high_frequency(now, &config));
        assert!(!profile.is_high_frequency(now.plus_days(60), &config));
        assert_eq!(profile.segment(now, &config), Segment::Prospect);
        profile.apply(&purchase(10, now, 9_900), Some(&BABY), &config);
        assert_eq!(profile.segment(now, &config), Segment::New);
        profile.apply(&purchase(11, now.plus_days(20), 9_900), Some(&BABY), &config);
        assert_eq!(profile.segment(now.plus_days(50), &config), Segment::Loyal);
        assert_eq!(profile.segment(now.plus_days(100), &config), Segment::Active);
        assert_eq!(profile.segment(now.plus_days(120), &config), Segment::Lapsed);
        let keys: Vec<String> = profile.tags_shown(now.plus_days(20), &config).into_iter().map(|t| t.key).collect();
        assert!(
            keys.contains(&"category:baby".to_owned()) && keys.contains(&"life:mother_baby".to_owned()),
            "{keys:?}"
        );
        assert!(keys.contains(&"rfm:loyal".to_owned()), "{keys:?}");
        assert!(!keys.iter().any(|k| k.starts_with("count:")));
    }

    #[test]
    fn searches_and_mirrors_add_tags() {
        let config = Config::default();
        let mut profile = Profile::default();
        profile.apply(&event(1, T0, What::Search { query: "婴儿奶粉 1段".into() }), None, &config);
        profile.apply(&event(2, T0, What::Search { query: "Beauty gift".into() }), None, &config);
        let measurements = Measurements { height_cm: 168, chest_cm: 88, waist_cm: 70, hip_cm: 94 };
        profile.apply(
            &event(3, T0, What::Body { store: StoreId::parse("s-jingan").unwrap(), measurements }),
            None,
            &config,
        );
        assert!(profile.is_mother_baby(T0, &config));
        assert!(profile.weight("category:beauty", T0, &config) > 0.0);
        assert_eq!(profile.body, Some(measurements));
        assert!((profile.weight("size:M", T0, &config) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn a_muted_tag_is_gone_and_stays_gone() {
        let config = Config::default();
        let mut profile = Profile::default();
        profile.apply(&purchase(1, T0, 19_900), Some(&BABY), &config);
        assert!(profile.mute("life:mother_baby"));
        assert!(!profile.mute("count:visits"));
        assert!(!profile.mute("nonsense"));
        profile.apply(&purchase(2, T0, 19_900), Some(&BABY), &config);
        assert!(profile.weight("life:mother_baby", T0, &config).abs() < f64::EPSILON);
        assert!(profile.tags_shown(T0, &config).iter().all(|t| t.key != "life:mother_baby"));
        let segment = format!("rfm:{}", profile.segment(T0, &config).code());
        assert!(profile.mute(&segment));
        assert!(profile.tags_shown(T0, &config).iter().all(|t| !t.key.starts_with("rfm:")));
    }

    #[test]
    fn affinity_follows_category_band_and_life_stage() {
        let config = Config::default();
        let mut profile = Profile::default();
        profile.apply(&purchase(1, T0, 19_900), Some(&BABY), &config);
        let snacks = Facts { category: Category::Snacks, price: Fen(1_000) };
        let baby_cheap = Facts { category: Category::Baby, price: Fen(1_000) };
        assert!(profile.affinity(&BABY, T0, &config) > profile.affinity(&baby_cheap, T0, &config));
        assert!(profile.affinity(&baby_cheap, T0, &config) > profile.affinity(&snacks, T0, &config));
        assert!(profile.affinity(&snacks, T0, &config).abs() < f32::EPSILON);
    }

    fn arbitrary_event() -> impl Strategy<Value = (u8, i64, u8)> {
        (0u8..6, 0i64..200, 0u8..5)
    }

    proptest! {
        /// Updated event by event, in any order, a profile equals the one rebuilt from its
        /// events in time order.
        #[test]
        fn rebuild_equals_incremental_updates(raw in proptest::collection::vec(arbitrary_event(), 1..40)) {
            let config = Config::default();
            let facts: Vec<Facts> = Category::ALL.iter().map(|&category| Facts { category, price: Fen(9_900) }).collect();
            let events: Vec<(Event, Option<Facts>)> = raw
                .iter()
                .enumerate()
                .map(|(n, &(kind, day, category))| {
                    let at = T0.plus_millis(day * DAY / 3);
                    let n = u32::try_from(n).unwrap();
                    let event = match kind {
                        0 | 1 => view(n, at),
                        2 => check_in(n, at),
                        3 => purchase(n, at, 5_000 + i64::from(category) * 1_000),
                        4 => event(n, at, What::Search { query: "宝宝 辅食".into() }),
                        _ => event(n, at, What::TryOn {
                            store: StoreId::parse("s-jingan").unwrap(),
                            product: ProductId::parse("p-dress").unwrap(),
                            size: None,
                            outcome: Outcome::Liked,
                        }),
                    };
                    let facts = (kind != 2 && kind != 4).then(|| facts[usize::from(category)]);
                    (event, facts)
                })
                .collect();
            let mut incremental = Profile::default();
            for (event, facts) in &events {
                incremental.apply(event, facts.as_ref(), &config);
            }
            let mut sorted: Vec<&(Event, Option<Facts>)> = events.iter().collect();
            sorted.sort_by_key(|(event, _)| event.at);
            let rebuilt = Profile::rebuild(sorted.iter().map(|(e, f)| (e, f.as_ref())), BTreeSet::new(), &config);
            let now = T0.plus_days(80);
            prop_assert_eq!(incremental.tags.len(), rebuilt.tags.len());
            for key in rebuilt.tags.keys() {
                let (a, b) = (incremental.weight(key, now, &config), rebuilt.weight(key, now, &config));
                prop_assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{}: {} vs {}", key, a, b);
            }
            prop_assert_eq!(incremental.segment(now, &config), rebuilt.segment(now, &config));
            prop_assert_eq!(incremental.last_purchase, rebuilt.last_purchase);
            prop_assert_eq!(incremental.events, rebuilt.events);
        }
    }
}
