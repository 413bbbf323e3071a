//! The recommender as the Worker runs it: [`build`] trains on everyone's touches (behaviour
//! events and paid orders) into a [`Trained`] document the cron stores, and the placements
//! read it with one person's own touches and profile:
//!
//! - [`for_you`]: the storefront's "for you" (popularity alone when the person has no profile
//!   or turned personalisation off);
//! - [`goes_with`]: "goes with this" on a product page;
//! - [`tried_on`]: "tried on in store — buy online", the person's try-ons they did not buy.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::{Basket, Blend, ItemIx, Params, Person, Reason, Signal, Signals, hold_out_last, learn, train};
use crate::catalog::{Category, ProductId, StoreId, Text};
use crate::profile::{self, Facts, Profile};
use crate::time::Timestamp;

/// Below this many held-out people the learned blend is noise; the starter blend serves.
pub const MIN_LEARNING_CASES: usize = 50;
/// Ranked per placement for learning (the storefront shows fewer).
const LEARNING_K: usize = 10;

/// A product as the recommender knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Item {
    pub product: ProductId,
    pub name: Text,
    pub facts: Facts,
}

/// One touch of a product by someone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Touch {
    pub subject: String,
    pub product: ProductId,
    pub signal: Signal,
    pub at: Timestamp,
    /// The store, for touches in a store (try-ons, purchases there).
    pub store: Option<StoreId>,
}

/// The recommender signal of a stored behaviour event (`None` for events about no product).
pub fn signal_of(kind: &str, outcome: Option<&str>) -> Option<Signal> {
    Some(match kind {
        "view" => Signal::View,
        "click" => Signal::Click,
        "share" => Signal::Share,
        "favourite" => Signal::Favourite,
        "cart" => Signal::Cart,
        "try_on" => match outcome {
            Some("bought_here") => Signal::Purchase,
            Some("liked") => Signal::TryOn,
            // Not for them: it still says which category they shop in, as a look does.
            _ => Signal::View,
        },
        "store_purchase" | "order" => Signal::Purchase,
        _ => return None,
    })
}

/// What the cron leaves for the placements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Trained {
    pub items: Vec<Item>,
    pub model: super::Model,
    pub blend: Blend,
    pub params: Params,
    /// People held out to learn the blend (fewer than [`MIN_LEARNING_CASES`]: the starter blend).
    pub learned_from: usize,
    pub touches: usize,
    pub built_at: Timestamp,
}

fn day_of(at: Timestamp) -> i64 {
    at.0.div_euclid(Timestamp::DAY_MS)
}

/// Groups touches into baskets per person and day over the items' indexes.
fn baskets_of(touches: &[Touch], index: &HashMap<&ProductId, ItemIx>) -> Vec<Basket> {
    let mut subjects: HashMap<&str, u32> = HashMap::new();
    let mut baskets: BTreeMap<(u32, i64), Vec<(ItemIx, Signal)>> = BTreeMap::new();
    for touch in touches {
        let Some(&item) = index.get(&touch.product) else { continue };
        let next = u32::try_from(subjects.len()).unwrap_or(u32::MAX);
        let user = *subjects.entry(touch.subject.as_str()).or_insert(next);
        let basket = baskets.entry((user, day_of(touch.at))).or_default();
        match basket.iter_mut().find(|(known, _)| *known == item) {
            Some(slot) => slot.1 = slot.1.max(touch.signal),
            None => basket.push((item, touch.signal)),
        }
    }
    baskets.into_iter().map(|((user, day), items)| Basket { user, day, items }).collect()
}

/// Per-item affinity from a person's own baskets: the strength they gave each category.
fn category_affinity(items: &[Item], baskets: &[&Basket]) -> Vec<f32> {
    let mut by_category: HashMap<Category, f64> = HashMap::new();
    for basket in baskets {
        for &(item, signal) in &basket.items {
            if let Some(known) = items.get(item as usize) {
                *by_category.entry(known.facts.category).or_default() += signal.strength();
            }
        }
    }
    #[allow(clippy::cast_possible_truncation)] // a ranking score
    items.iter().map(|item| by_category.get(&item.facts.category).copied().unwrap_or(0.0) as f32).collect()
}

/// Trains on everyone's touches at `now`.
pub fn build(items: Vec<Item>, touches: &[Touch], now: Timestamp) -> Trained {
    let index: HashMap<&ProductId, ItemIx> = items
        .iter()
        .enumerate()
        .map(|(at, item)| (&item.product, ItemIx::try_from(at).unwrap_or(ItemIx::MAX)))
        .collect();
    let baskets = baskets_of(touches, &index);
    let params = Params { history_half_life_days: 30.0, ..Params::default() };
    let learned_from = hold_out_last(&baskets).held_out.len();
    let (blend, params) = if learned_from >= MIN_LEARNING_CASES {
        let affinity = |before: &[&Basket]| category_affinity(&items, before);
        let learned = learn(items.len(), &baskets, LEARNING_K, &params, Some(&affinity));
        (learned.blend, learned.params(&params))
    } else {
        (Blend::STARTER, Params { popularity_half_life_days: Some(30.0), ..params })
    };
    let model = train(items.len(), &baskets, day_of(now), &params);
    Trained { items, model, blend, params, learned_from, touches: touches.len(), built_at: now }
}

/// A recommended product as the storefront shows it (the API's answer, the app's input).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Card {
    pub product_id: ProductId,
    pub category: Category,
    pub name: Text,
    pub price_from_fen: crate::money::Fen,
    pub image: Option<String>,
    pub reason: Reason,
    pub why: Text,
}

/// The answer of `GET /api/recommendations`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Placed {
    pub placement: String,
    /// False when the person has no consent to personalise (or turned it off): the items are
    /// what everyone gets.
    pub personalised: bool,
    pub items: Vec<Card>,
    pub model_built_at: Timestamp,
    /// "Tried on in store — buy online": the person's own offer at this store, when a segment
    /// rule gives them a coupon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer: Option<OfferNote>,
}

/// A person's offer as the storefront shows it: the rule it comes from and its words (the
/// offers themselves are in `promote::Message`, which the storefront does not need).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OfferNote {
    pub rule_id: String,
    pub text: Text,
}

impl From<crate::promote::Message> for OfferNote {
    fn from(message: crate::promote::Message) -> OfferNote {
        OfferNote { rule_id: message.rule_id, text: message.text }
    }
}

/// The answer of `POST /api/store/{id}/conversations`: the notes understood, and products from
/// the shelf to suggest with them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FollowUp {
    pub analysis: crate::conversation::Analysis,
    pub suggested: Vec<Card>,
    /// Who wrote the draft's final words.
    pub refined_by: RefinedBy,
}

/// Who wrote a drafted message's final words: the configured language model, or the local
/// draft when there is none (or it failed, was slow, or changed a number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum RefinedBy {
    Llm,
    Local,
}

/// A recommended product and why, in words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Recommendation {
    pub product: ProductId,
    pub reason: Reason,
    pub words: Text,
}

impl Trained {
    fn index(&self) -> HashMap<&ProductId, ItemIx> {
        self.items
            .iter()
            .enumerate()
            .map(|(at, item)| (&item.product, ItemIx::try_from(at).unwrap_or(ItemIx::MAX)))
            .collect()
    }

    fn name(&self, item: ItemIx) -> Text {
        self.items.get(item as usize).map_or_else(|| Text::new("", ""), |i| i.name.clone())
    }

    fn words(&self, item: ItemIx, reason: Reason, tried_at: Option<&Text>) -> Text {
        match reason {
            Reason::Again { signal } => match signal {
                Signal::TryOn => match tried_at {
                    Some(store) => {
                        Text::new(format!("你在{}试穿过", store.zh), format!("You tried this on at {}", store.en))
                    }
                    None => Text::new("你在店里试穿过", "You tried this on in store"),
                },
                Signal::Purchase => Text::new("再买一次", "Buy it again"),
                Signal::Cart => Text::new("你加入过购物车", "You put this in your cart"),
                Signal::Favourite => Text::new("你收藏过", "In your favourites"),
                Signal::View | Signal::Click | Signal::Share => Text::new("你最近看过", "You looked at this recently"),
            },
            Reason::With { item: from } => {
                let name = self.name(from);
                Text::new(format!("常与「{}」一起购买", name.zh), format!("Often bought with {}", name.en))
            }
            Reason::Also { item: from } => {
                let name = self.name(from);
                Text::new(
                    format!("喜欢「{}」的人也喜欢", name.zh),
                    format!("People who liked {} also like this", name.en),
                )
            }
            Reason::Affinity => {
                let label =
                    self.items.get(item as usize).map_or_else(|| Text::new("", ""), |i| i.facts.category.label());
                Text::new(
                    format!("符合你对{}的兴趣", label.zh),
                    format!("Matches your interest in {}", label.en.to_lowercase()),
                )
            }
            Reason::Similar { .. } => Text::new("同类好物", "More like this"),
            Reason::Popular => Text::new("近期热销", "Popular right now"),
            Reason::OnShelf => Text::new("本店在售", "On this store's shelf"),
        }
    }

    fn person(&self, own: &[Touch], now: Timestamp) -> Person {
        let index = self.index();
        let baskets = baskets_of(own, &index);
        Person::from_baskets(&baskets, day_of(now), self.params.history_half_life_days)
    }
}

/// The storefront's "for you": `own` are the person's touches, `profile` their profile, both
/// ignored when `personalised` is false; only products `on_shelf` are shown.
pub fn for_you(
    trained: &Trained,
    own: &[Touch],
    profile: Option<&Profile>,
    personalised: bool,
    now: Timestamp,
    on_shelf: &dyn Fn(&ProductId) -> bool,
    k: usize,
) -> Vec<Recommendation> {
    let skip = |item: ItemIx| !trained.items.get(item as usize).is_some_and(|i| on_shelf(&i.product));
    let (signals, blend) = if personalised {
        let config = profile::Config::default();
        let affinity: Option<Vec<f32>> =
            profile.map(|p| trained.items.iter().map(|item| p.affinity(&item.facts, now, &config)).collect());
        (Signals::gather(&trained.model, &trained.person(own, now), affinity.as_deref()), trained.blend)
    } else {
        (Signals::anonymous(&trained.model), Blend::POPULAR)
    };
    signals
        .rank(&blend, k, skip)
        .into_iter()
        .filter_map(|pick| {
            let item = trained.items.get(pick.item as usize)?;
            Some(Recommendation {
                product: item.product.clone(),
                reason: pick.reason,
                // Try-ons are worded with their store by `tried_on`; here "in store" is enough.
                words: trained.words(pick.item, pick.reason, None),
            })
        })
        .collect()
}

/// "Goes with this": the products bought with (and, less, liked with) `product`; where few
/// are, products of its category come before merely popular ones.
pub fn goes_with(
    trained: &Trained,
    product: &ProductId,
    on_shelf: &dyn Fn(&ProductId) -> bool,
    k: usize,
) -> Vec<Recommendation> {
    let index = trained.index();
    let Some(&item) = index.get(product) else { return Vec::new() };
    let person = Person { touches: vec![super::Touch { item, weight: 1.0, strongest: Signal::Purchase }] };
    let category = trained.items[item as usize].facts.category;
    let same_kind: Vec<f32> =
        trained.items.iter().map(|i| if i.facts.category == category { 1.0 } else { 0.0 }).collect();
    let signals = Signals::gather(&trained.model, &person, Some(&same_kind));
    let blend = Blend { popularity: 0.05, again: 0.0, with: 1.0, also: 0.5, affinity: 0.1 };
    let skip =
        |other: ItemIx| other == item || !trained.items.get(other as usize).is_some_and(|i| on_shelf(&i.product));
    signals
        .rank(&blend, k, skip)
        .into_iter()
        .filter_map(|pick| {
            let found = trained.items.get(pick.item as usize)?;
            let reason = if pick.reason == Reason::Affinity { Reason::Similar { item } } else { pick.reason };
            Some(Recommendation {
                product: found.product.clone(),
                reason,
                words: trained.words(pick.item, reason, None),
            })
        })
        .collect()
}

/// "Tried on in store — buy online": what the person tried on (and liked, or left undecided)
/// without buying it since, latest first, with the store's name.
pub fn tried_on(
    trained: &Trained,
    own: &[Touch],
    store_names: &dyn Fn(&StoreId) -> Option<Text>,
    on_shelf: &dyn Fn(&ProductId) -> bool,
    k: usize,
) -> Vec<Recommendation> {
    let index = trained.index();
    let mut latest: Vec<&Touch> = own.iter().filter(|t| t.signal == Signal::TryOn).collect();
    latest.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.product.cmp(&b.product)));
    let mut shown: Vec<Recommendation> = Vec::new();
    for touch in latest {
        let bought_since =
            own.iter().any(|t| t.product == touch.product && t.signal == Signal::Purchase && t.at >= touch.at);
        if bought_since || !on_shelf(&touch.product) || shown.iter().any(|r| r.product == touch.product) {
            continue;
        }
        let Some(&item) = index.get(&touch.product) else { continue };
        let store = touch.store.as_ref().and_then(store_names);
        let reason = Reason::Again { signal: Signal::TryOn };
        shown.push(Recommendation {
            product: touch.product.clone(),
            reason,
            words: trained.words(item, reason, store.as_ref()),
        });
        if shown.len() == k {
            break;
        }
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behaviour::{Event, EventId, Online, What};
    use crate::money::Fen;

    const NOW: Timestamp = Timestamp(1_780_000_000_000);

    fn product(id: &str) -> ProductId {
        ProductId::parse(id).unwrap()
    }

    fn items() -> Vec<Item> {
        let item = |id: &str, category, zh: &str, en: &str| Item {
            product: product(id),
            name: Text::new(zh, en),
            facts: Facts { category, price: Fen(9_900) },
        };
        vec![
            item("p-dress", Category::Clothing, "连衣裙", "Dress"),
            item("p-belt", Category::Clothing, "腰带", "Belt"),
            item("p-milk", Category::Baby, "奶粉", "Formula"),
            item("p-bottle", Category::Baby, "奶瓶", "Bottle"),
            item("p-chips", Category::Snacks, "薯片", "Crisps"),
        ]
    }

    fn touch(subject: &str, id: &str, signal: Signal, days_ago: i64) -> Touch {
        Touch { subject: subject.into(), product: product(id), signal, at: NOW.plus_days(-days_ago), store: None }
    }

    /// Many people buy crisps; some buy the dress with the belt.
    fn world() -> Vec<Touch> {
        let mut touches = Vec::new();
        for n in 0..30 {
            touches.push(touch(&format!("m:{n}"), "p-chips", Signal::Purchase, 3));
        }
        for n in 0..6 {
            touches.push(touch(&format!("m:d{n}"), "p-dress", Signal::Purchase, 5));
            touches.push(touch(&format!("m:d{n}"), "p-belt", Signal::Purchase, 5));
        }
        touches.push(touch("m:x", "p-milk", Signal::Purchase, 2));
        touches
    }

    fn everything(_: &ProductId) -> bool {
        true
    }

    #[test]
    fn for_you_changes_after_viewing_a_category_and_not_when_switched_off() {
        let trained = build(items(), &world(), NOW);
        assert_eq!(trained.blend, Blend::STARTER, "too few people to learn from");
        let before = for_you(&trained, &[], None, true, NOW, &everything, 3);
        assert_eq!(before[0].product, product("p-chips"));
        assert_eq!(before[0].words.en, "Popular right now");

        let config = profile::Config::default();
        let mut profile = Profile::default();
        let views: Vec<Touch> = (0..4).map(|_| touch("m:me", "p-milk", Signal::View, 0)).collect();
        for (n, _) in views.iter().enumerate() {
            let event = Event {
                id: EventId::parse(&format!("view-000{n}")).unwrap(),
                at: NOW,
                what: What::Product { action: Online::View, product: product("p-milk") },
            };
            profile.apply(&event, Some(&items()[2].facts), &config);
        }
        let after = for_you(&trained, &views, Some(&profile), true, NOW, &everything, 3);
        assert_ne!(after, before);
        let baby: Vec<&Recommendation> =
            after.iter().filter(|r| r.product == product("p-milk") || r.product == product("p-bottle")).collect();
        assert_eq!(baby.len(), 2, "{after:?}");
        assert!(after.iter().any(|r| r.words.zh == "符合你对母婴的兴趣"), "{after:?}");

        let off = for_you(&trained, &views, Some(&profile), false, NOW, &everything, 3);
        assert_eq!(off, before, "personalisation off is the anonymous ranking");
    }

    #[test]
    fn goes_with_finds_the_pair_and_skips_what_is_not_on_the_shelf() {
        let trained = build(items(), &world(), NOW);
        let with = goes_with(&trained, &product("p-dress"), &everything, 2);
        assert_eq!(with[0].product, product("p-belt"));
        assert_eq!(with[0].words.zh, "常与「连衣裙」一起购买");
        let no_belt = |p: &ProductId| p.as_str() != "p-belt";
        assert!(goes_with(&trained, &product("p-dress"), &no_belt, 2).iter().all(|r| r.product != product("p-belt")));
        assert!(goes_with(&trained, &product("p-unknown"), &everything, 2).is_empty());
        // Nothing is bought with the bottle: baby goods come before the popular crisps.
        let bottle = goes_with(&trained, &product("p-bottle"), &everything, 2);
        assert_eq!(bottle[0].product, product("p-milk"));
        assert_eq!(bottle[0].words.en, "More like this");
    }

    #[test]
    fn tried_on_lists_what_was_not_bought_since_with_the_store() {
        let trained = build(items(), &world(), NOW);
        let jingan = StoreId::parse("s-jingan").unwrap();
        let mut dress = touch("m:me", "p-dress", Signal::TryOn, 1);
        dress.store = Some(jingan.clone());
        let belt = touch("m:me", "p-belt", Signal::TryOn, 2);
        let belt_bought = touch("m:me", "p-belt", Signal::Purchase, 1);
        let names = |store: &StoreId| (store == &jingan).then(|| Text::new("静安店", "Jing'an")).or(None);
        let shown = tried_on(&trained, &[dress, belt, belt_bought], &names, &everything, 5);
        assert_eq!(shown.len(), 1);
        assert_eq!(shown[0].product, product("p-dress"));
        assert_eq!(shown[0].words.zh, "你在静安店试穿过");
    }

    #[test]
    fn event_kinds_become_signals() {
        assert_eq!(signal_of("try_on", Some("bought_here")), Some(Signal::Purchase));
        assert_eq!(signal_of("try_on", Some("not_for_me")), Some(Signal::View));
        assert_eq!(signal_of("check_in", None), None);
        assert_eq!(signal_of("order", None), Some(Signal::Purchase));
    }
}
