//! Recommendations: what to show a person next, and why.
//!
//! Five signals are blended, each scaled to 0…1 over the catalogue before they are weighed:
//!
//! - **popularity**: what everyone has been buying lately (the non-personalised fallback and the
//!   baseline every personal signal has to beat);
//! - **again**: what this person has already viewed, tried on or bought, most recent first;
//! - **with**: items that land in the same basket as theirs ("often bought with …");
//! - **also**: items the same people touch over time ("people who tried … also liked …");
//! - **affinity**: how well an item's tags (category, price band, life stage) match the
//!   person's profile; the caller turns the profile into one number per item.
//!
//! How much each personal signal is worth is not guessed: [`learn`] holds out the latest
//! basket of every person in the training data and picks the weights that rank those baskets
//! best, starting from popularity alone. Where people repeat themselves or buy in pairs the
//! personal weights come out high; in dense, habitual grocery baskets they stay small and the
//! blend ranks much like popularity does.
//!
//! Items are dense indexes (`0..items`); the caller maps its product ids to them.
//!
//! - [`eval`]: the hold-out evaluation behind `tandem recommend eval`.
//! - [`serve`]: the trained model as the Worker stores it, and the placements it serves.
//! - [`synthetic`]: generated logs with planted structure.

pub mod eval;
pub mod serve;
pub mod synthetic;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// A dense item index.
pub type ItemIx = u32;

/// What a person did with an item, from the weakest evidence of wanting it to the strongest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    View,
    Click,
    Share,
    Favourite,
    Cart,
    TryOn,
    Purchase,
}

impl Signal {
    /// How much one such touch says about wanting the item, a purchase being 1.
    pub fn strength(self) -> f64 {
        match self {
            Signal::View => 0.1,
            Signal::Click => 0.15,
            Signal::Share => 0.3,
            Signal::Favourite => 0.4,
            Signal::Cart => 0.5,
            Signal::TryOn => 0.7,
            Signal::Purchase => 1.0,
        }
    }

    /// Whether the touch counts as "together" evidence: orders, try-ons and carts do, views do
    /// not (a person browsing a category views everything in it).
    pub fn is_commitment(self) -> bool {
        self >= Signal::Cart
    }
}

/// One visit (a day) of one person: the items touched and the strongest touch of each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Basket {
    pub user: u32,
    /// Days since 1970-01-01.
    pub day: i64,
    pub items: Vec<(ItemIx, Signal)>,
}

/// The knobs of training that are not learned.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Params {
    /// Neighbours kept per item and relation.
    pub neighbours: usize,
    /// How fast a person's own history fades.
    pub history_half_life_days: f64,
    /// How fast popularity fades; `None` counts all time alike.
    pub popularity_half_life_days: Option<f64>,
    /// Larger baskets are cut to their first items before pairs are counted (pairs grow with
    /// the square of the basket).
    pub max_basket: usize,
    /// A person's most recent distinct items counted for "also".
    pub max_history: usize,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            neighbours: 30,
            history_half_life_days: 90.0,
            popularity_half_life_days: None,
            max_basket: 40,
            max_history: 60,
        }
    }
}

/// A related item and how strongly it is related (cosine of co-occurrence, 0…1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Neighbour {
    pub item: ItemIx,
    pub score: f32,
}

/// What training leaves behind: popularity and two neighbour lists per item. Small enough to
/// store per store (`items × neighbours × 2` entries) and rebuilt on a schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Model {
    /// Per item, 0…1 (the most popular item is 1).
    pub popularity: Vec<f32>,
    /// Per item, items in the same baskets.
    pub with: Vec<Vec<Neighbour>>,
    /// Per item, items the same people touch over time.
    pub also: Vec<Vec<Neighbour>>,
}

fn decay(age_days: i64, half_life_days: Option<f64>) -> f64 {
    match half_life_days {
        #[allow(clippy::cast_precision_loss)] // ages are far below 2^52 days
        Some(half_life) if half_life > 0.0 && age_days > 0 => (-(age_days as f64) / half_life).exp2(),
        _ => 1.0,
    }
}

/// Co-occurrence counts turned into top-N cosine neighbour lists.
struct Cooccurrence {
    pairs: HashMap<(ItemIx, ItemIx), f64>,
    counts: Vec<f64>,
}

impl Cooccurrence {
    fn new(items: usize) -> Cooccurrence {
        Cooccurrence { pairs: HashMap::new(), counts: vec![0.0; items] }
    }

    /// Counts one group of distinct, sorted items, each pair with `weight`.
    fn add(&mut self, group: &[ItemIx], weight: f64) {
        for (at, &a) in group.iter().enumerate() {
            self.counts[a as usize] += 1.0;
            for &b in &group[at + 1..] {
                *self.pairs.entry((a, b)).or_insert(0.0) += weight;
            }
        }
    }

    fn neighbours(self, keep: usize) -> Vec<Vec<Neighbour>> {
        let mut lists: Vec<Vec<Neighbour>> = vec![Vec::new(); self.counts.len()];
        for ((a, b), together) in self.pairs {
            let norm = (self.counts[a as usize] * self.counts[b as usize]).sqrt();
            // One shared basket between two rare items says little: a small shrink keeps such
            // pairs below pairs seen together many times.
            #[allow(clippy::cast_possible_truncation)] // a 0…1 score
            let score = (together / (norm + 1.0)) as f32;
            lists[a as usize].push(Neighbour { item: b, score });
            lists[b as usize].push(Neighbour { item: a, score });
        }
        for list in &mut lists {
            list.sort_by(|x, y| y.score.total_cmp(&x.score).then(x.item.cmp(&y.item)));
            list.truncate(keep);
        }
        lists
    }
}

/// Trains on `baskets` as of `as_of_day`. Items outside `0..items` are skipped.
pub fn train(items: usize, baskets: &[Basket], as_of_day: i64, params: &Params) -> Model {
    let mut popularity = vec![0.0f64; items];
    let mut with = Cooccurrence::new(items);
    let mut also = Cooccurrence::new(items);
    let mut histories: HashMap<u32, Vec<(i64, ItemIx)>> = HashMap::new();
    let mut group = Vec::new();
    for basket in baskets {
        let weight = decay(as_of_day - basket.day, params.popularity_half_life_days);
        group.clear();
        for &(item, signal) in &basket.items {
            if (item as usize) < items {
                popularity[item as usize] += signal.strength() * weight;
                if signal.is_commitment() {
                    group.push(item);
                }
            }
        }
        group.sort_unstable();
        group.dedup();
        group.truncate(params.max_basket);
        with.add(&group, 1.0);
        histories.entry(basket.user).or_default().extend(group.iter().map(|&item| (basket.day, item)));
    }
    let mut users: Vec<_> = histories.into_iter().collect();
    users.sort_unstable_by_key(|(user, _)| *user);
    for (_, mut touches) in users {
        touches.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        group.clear();
        for (_, item) in touches {
            if !group.contains(&item) {
                group.push(item);
                if group.len() == params.max_history {
                    break;
                }
            }
        }
        group.sort_unstable();
        // Heavy users touch everything; their pairs say less each.
        #[allow(clippy::cast_precision_loss)]
        let weight = 1.0 / (2.0 + group.len() as f64).ln();
        also.add(&group, weight);
    }
    Model {
        popularity: scaled(&popularity),
        with: with.neighbours(params.neighbours),
        also: also.neighbours(params.neighbours),
    }
}

#[allow(clippy::cast_possible_truncation)] // 0…1 scores
fn scaled(values: &[f64]) -> Vec<f32> {
    let max = values.iter().copied().fold(0.0, f64::max);
    values.iter().map(|&v| if max > 0.0 { (v / max) as f32 } else { 0.0 }).collect()
}

/// A person's own history: per item, how much they want it now and their strongest touch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Person {
    pub touches: Vec<Touch>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Touch {
    pub item: ItemIx,
    pub weight: f64,
    pub strongest: Signal,
}

impl Person {
    /// Sums the person's baskets, each touch faded by its age at `as_of_day`.
    pub fn from_baskets<'a>(
        baskets: impl IntoIterator<Item = &'a Basket>,
        as_of_day: i64,
        half_life_days: f64,
    ) -> Person {
        let mut by_item: HashMap<ItemIx, Touch> = HashMap::new();
        for basket in baskets {
            let fade = decay(as_of_day - basket.day, Some(half_life_days));
            for &(item, signal) in &basket.items {
                let touch = by_item.entry(item).or_insert(Touch { item, weight: 0.0, strongest: signal });
                touch.weight += signal.strength() * fade;
                touch.strongest = touch.strongest.max(signal);
            }
        }
        let mut touches: Vec<Touch> = by_item.into_values().collect();
        touches.sort_unstable_by_key(|t| t.item);
        Person { touches }
    }
}

/// How much each signal counts in the final score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Blend {
    pub popularity: f32,
    pub again: f32,
    pub with: f32,
    pub also: f32,
    pub affinity: f32,
}

impl Blend {
    /// Popularity alone: the non-personalised ranking.
    pub const POPULAR: Blend = Blend { popularity: 1.0, again: 0.0, with: 0.0, also: 0.0, affinity: 0.0 };

    /// A blend for a catalogue too young to learn from: personal signals count, popularity
    /// breaks ties.
    pub const STARTER: Blend = Blend { popularity: 0.3, again: 0.5, with: 1.0, also: 0.5, affinity: 1.0 };

    fn get(&self, signal: Part) -> f32 {
        match signal {
            Part::Again => self.again,
            Part::With => self.with,
            Part::Also => self.also,
            Part::Affinity => self.affinity,
        }
    }

    fn set(&mut self, signal: Part, value: f32) {
        match signal {
            Part::Again => self.again = value,
            Part::With => self.with = value,
            Part::Also => self.also = value,
            Part::Affinity => self.affinity = value,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Part {
    Again,
    With,
    Also,
    Affinity,
}

/// The five signals for one person over the whole catalogue, each scaled to 0…1, with the
/// item behind each "with"/"also" score (for the reason).
#[derive(Debug, Clone, PartialEq)]
pub struct Signals {
    popularity: Vec<f32>,
    again: Vec<f32>,
    with: Vec<f32>,
    with_from: Vec<ItemIx>,
    also: Vec<f32>,
    also_from: Vec<ItemIx>,
    affinity: Vec<f32>,
    strongest: Vec<Option<Signal>>,
}

impl Signals {
    /// Gathers the signals; `affinity` is the caller's per-item tag match (any scale), `None`
    /// when the person has no profile or has turned personalisation off.
    pub fn gather(model: &Model, person: &Person, affinity: Option<&[f32]>) -> Signals {
        let items = model.popularity.len();
        let mut again = vec![0.0f64; items];
        let mut strongest = vec![None; items];
        let (mut with, mut with_from) = (vec![0.0f64; items], vec![0; items]);
        let (mut also, mut also_from) = (vec![0.0f64; items], vec![0; items]);
        let mut best_with = vec![0.0f64; items];
        let mut best_also = vec![0.0f64; items];
        for touch in &person.touches {
            let Some(slot) = again.get_mut(touch.item as usize) else { continue };
            *slot += touch.weight;
            strongest[touch.item as usize] = Some(touch.strongest);
            for (lists, sums, from, best) in [
                (&model.with, &mut with, &mut with_from, &mut best_with),
                (&model.also, &mut also, &mut also_from, &mut best_also),
            ] {
                for neighbour in &lists[touch.item as usize] {
                    let part = touch.weight * f64::from(neighbour.score);
                    let at = neighbour.item as usize;
                    sums[at] += part;
                    if part > best[at] {
                        best[at] = part;
                        from[at] = touch.item;
                    }
                }
            }
        }
        let affinity = match affinity {
            Some(values) if values.len() == items => {
                scaled(&values.iter().map(|&v| f64::from(v.max(0.0))).collect::<Vec<_>>())
            }
            _ => vec![0.0; items],
        };
        Signals {
            popularity: model.popularity.clone(),
            again: scaled(&again),
            with: scaled(&with),
            with_from,
            also: scaled(&also),
            also_from,
            affinity,
            strongest,
        }
    }

    /// Only popularity: what a person without a profile (or with personalisation off) gets.
    pub fn anonymous(model: &Model) -> Signals {
        Signals::gather(model, &Person::default(), None)
    }

    fn score(&self, item: usize, blend: &Blend) -> f32 {
        blend.popularity * self.popularity[item]
            + blend.again * self.again[item]
            + blend.with * self.with[item]
            + blend.also * self.also[item]
            + blend.affinity * self.affinity[item]
    }

    /// The `k` best items under `blend`, skipping those `skip` names, best first (ties go to the
    /// lower index, so rankings are stable).
    pub fn rank(&self, blend: &Blend, k: usize, skip: impl Fn(ItemIx) -> bool) -> Vec<Pick> {
        let top = top_k(
            self.popularity.len(),
            k,
            |item| {
                if skip(to_ix(item)) { None } else { Some(self.score(item, blend)) }
            },
        );
        top.into_iter()
            .map(|(item, score)| Pick { item: to_ix(item), score, reason: self.reason(item, blend) })
            .collect()
    }

    /// The signal that contributed most to an item's score.
    fn reason(&self, item: usize, blend: &Blend) -> Reason {
        let parts = [
            (blend.again * self.again[item], 0),
            (blend.with * self.with[item], 1),
            (blend.also * self.also[item], 2),
            (blend.affinity * self.affinity[item], 3),
            (blend.popularity * self.popularity[item], 4),
        ];
        let mut best = parts[4];
        for part in parts {
            if part.0 > best.0 {
                best = part;
            }
        }
        match best.1 {
            // Nothing speaks for the item (a catalogue nobody has touched yet): it is only on
            // the shelf, and saying "popular" would not be true.
            _ if best.0 <= 0.0 => Reason::OnShelf,
            0 => Reason::Again { signal: self.strongest[item].unwrap_or(Signal::View) },
            1 => Reason::With { item: self.with_from[item] },
            2 => Reason::Also { item: self.also_from[item] },
            3 => Reason::Affinity,
            _ => Reason::Popular,
        }
    }
}

fn to_ix(item: usize) -> ItemIx {
    ItemIx::try_from(item).unwrap_or(ItemIx::MAX)
}

/// The `k` largest scores (`None` = not a candidate), best first, ties to the lower index.
fn top_k(items: usize, k: usize, mut score: impl FnMut(usize) -> Option<f32>) -> Vec<(usize, f32)> {
    let mut top: Vec<(usize, f32)> = Vec::with_capacity(k + 1);
    if k == 0 {
        return top;
    }
    for item in 0..items {
        let Some(value) = score(item) else { continue };
        if top.len() == k && top[k - 1].1 >= value {
            continue;
        }
        let at = top.partition_point(|&(_, other)| other >= value);
        top.insert(at, (item, value));
        top.truncate(k);
    }
    top
}

/// Why an item is shown; the app words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// The person touched it before (their strongest touch: tried on, bought, viewed …).
    Again {
        signal: Signal,
    },
    /// Often in the same basket as this item of theirs.
    With {
        item: ItemIx,
    },
    /// People who touched this item of theirs also touch it.
    Also {
        item: ItemIx,
    },
    /// It matches their tags.
    Affinity,
    /// Of the same kind as this item (a product page's fallback when nothing is bought with it).
    Similar {
        item: ItemIx,
    },
    Popular,
    /// No signal at all yet: the shelf's own order.
    OnShelf,
}

/// A recommended item.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Pick {
    pub item: ItemIx,
    pub score: f32,
    pub reason: Reason,
}

/// Normalised discounted cumulative gain of a ranking against a set of relevant items.
pub fn ndcg(ranked: &[ItemIx], relevant: &[ItemIx]) -> f64 {
    let gain = |rank: usize| {
        #[allow(clippy::cast_precision_loss)]
        let position = (rank + 2) as f64;
        1.0 / position.log2()
    };
    let dcg: f64 =
        ranked.iter().enumerate().filter(|(_, item)| relevant.contains(item)).map(|(rank, _)| gain(rank)).sum();
    let ideal: f64 = (0..relevant.len().min(ranked.len())).map(gain).sum();
    if ideal > 0.0 { dcg / ideal } else { 0.0 }
}

/// One held-out case: the person's signals before a basket, and what the basket held.
pub struct Case {
    pub signals: Signals,
    pub relevant: Vec<ItemIx>,
}

/// Mean NDCG@k of `blend` over `cases`.
pub fn mean_ndcg(cases: &[Case], blend: &Blend, k: usize) -> f64 {
    if cases.is_empty() {
        return 0.0;
    }
    let total: f64 = cases
        .iter()
        .map(|case| {
            let ranked: Vec<ItemIx> = case.signals.rank(blend, k, |_| false).iter().map(|p| p.item).collect();
            ndcg(&ranked, &case.relevant)
        })
        .sum();
    #[allow(clippy::cast_precision_loss)]
    let count = cases.len() as f64;
    total / count
}

/// The weights tried for each personal signal (popularity stays at 1; the ranking only depends
/// on the ratios, so a large personal weight is "popularity barely counts").
const STEPS: [f32; 15] = [0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0];

/// A change of weights must win by this share of the current score to be taken: noise in the
/// held-out baskets must not talk the blend out of popularity where the personal signal is weak.
const MARGIN: f64 = 0.01;

/// Picks the blend that ranks `cases` best, by coordinate ascent from popularity alone.
/// `with_affinity` is false when the cases carry no tags (the weight stays 0).
pub fn fit_blend(cases: &[Case], k: usize, with_affinity: bool) -> Blend {
    let mut blend = Blend::POPULAR;
    let mut best = mean_ndcg(cases, &blend, k);
    let parts: &[Part] = if with_affinity {
        &[Part::Again, Part::With, Part::Also, Part::Affinity]
    } else {
        &[Part::Again, Part::With, Part::Also]
    };
    for _round in 0..3 {
        let mut moved = false;
        for &part in parts {
            let current = blend.get(part);
            for &step in &STEPS {
                if step.total_cmp(&current).is_eq() {
                    continue;
                }
                let mut trial = blend;
                trial.set(part, step);
                let value = mean_ndcg(cases, &trial, k);
                if value > best * (1.0 + MARGIN) + 1e-12 {
                    best = value;
                    blend = trial;
                    moved = true;
                }
            }
        }
        if !moved {
            break;
        }
    }
    blend
}

/// At most this many people are held out when learning a blend; more cost time and change
/// little.
pub const MAX_LEARNING_CASES: usize = 4_000;

/// How fast popularity may fade, tried in this order (all time first: a shorter memory has to
/// earn its place by the same margin as a personal signal).
const POPULARITY_HALF_LIVES: [Option<f64>; 5] = [None, Some(365.0), Some(180.0), Some(90.0), Some(30.0)];

/// Turns a person's earlier baskets into their per-item tag match.
pub type AffinityOf<'a> = dyn Fn(&[&Basket]) -> Vec<f32> + 'a;

/// What [`learn`] settles: the blend, and how fast popularity fades.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Learned {
    pub blend: Blend,
    pub popularity_half_life_days: Option<f64>,
}

impl Learned {
    /// `params` with the learned popularity memory, for training the model to serve.
    #[must_use]
    pub fn params(&self, params: &Params) -> Params {
        Params { popularity_half_life_days: self.popularity_half_life_days, ..*params }
    }
}

/// Learns a blend from `baskets`: every person's latest day with an earlier one is held out,
/// models are trained on the rest, and the popularity memory and then the weights that rank
/// the held-out baskets best win. `affinity` turns a person's earlier baskets into their
/// per-item tag match, when the caller has tags.
pub fn learn(
    items: usize,
    baskets: &[Basket],
    k: usize,
    params: &Params,
    affinity: Option<&AffinityOf<'_>>,
) -> Learned {
    let mut learned = Learned { blend: Blend::POPULAR, popularity_half_life_days: params.popularity_half_life_days };
    let split = hold_out_last(baskets);
    if split.held_out.is_empty() {
        return learned;
    }
    let fit: Vec<Basket> = split.fit.iter().map(|&at| baskets[at].clone()).collect();
    let as_of = fit.iter().map(|b| b.day).max().unwrap_or(0);
    let stride = split.held_out.len().div_ceil(MAX_LEARNING_CASES).max(1);
    let held_out: Vec<&HeldOut> = split.held_out.iter().step_by(stride).collect();
    let cases_under = |params: &Params| -> Vec<Case> {
        let model = train(items, &fit, as_of, params);
        held_out
            .iter()
            .map(|held| {
                let before: Vec<&Basket> = held.before.iter().map(|&at| &baskets[at]).collect();
                let person = Person::from_baskets(before.iter().copied(), held.day, params.history_half_life_days);
                let tags = affinity.map(|of| of(&before));
                let signals = Signals::gather(&model, &person, tags.as_deref());
                Case { signals, relevant: relevant(held.after.iter().map(|&at| &baskets[at])) }
            })
            .collect()
    };
    let mut best_cases = cases_under(&learned.params(params));
    let mut best = mean_ndcg(&best_cases, &Blend::POPULAR, k);
    for half_life in POPULARITY_HALF_LIVES {
        if half_life == learned.popularity_half_life_days {
            continue;
        }
        let trial = Learned { popularity_half_life_days: half_life, ..learned };
        let cases = cases_under(&trial.params(params));
        let value = mean_ndcg(&cases, &Blend::POPULAR, k);
        if value > best * (1.0 + MARGIN) + 1e-12 {
            (best, best_cases, learned) = (value, cases, trial);
        }
    }
    learned.blend = fit_blend(&best_cases, k, affinity.is_some());
    learned
}

/// The distinct committed items of some baskets (what a held-out basket "bought").
pub fn relevant<'a>(baskets: impl IntoIterator<Item = &'a Basket>) -> Vec<ItemIx> {
    let mut items: Vec<ItemIx> = baskets
        .into_iter()
        .flat_map(|b| b.items.iter().filter(|(_, s)| s.is_commitment()).map(|&(item, _)| item))
        .collect();
    items.sort_unstable();
    items.dedup();
    items
}

/// One person's hold-out: the baskets before their last day and those on it.
pub struct HeldOut {
    pub user: u32,
    pub day: i64,
    pub before: Vec<usize>,
    pub after: Vec<usize>,
}

/// The split of a log: indexes of the baskets to fit on, and each person's held-out last day
/// (only people with an earlier day are held out; others are all "fit").
pub struct Split {
    pub fit: Vec<usize>,
    pub held_out: Vec<HeldOut>,
}

/// Splits `baskets` by holding out each person's last day.
pub fn hold_out_last(baskets: &[Basket]) -> Split {
    let mut by_user: HashMap<u32, Vec<usize>> = HashMap::new();
    for (at, basket) in baskets.iter().enumerate() {
        by_user.entry(basket.user).or_default().push(at);
    }
    let mut users: Vec<_> = by_user.into_iter().collect();
    users.sort_unstable_by_key(|(user, _)| *user);
    let mut split = Split { fit: Vec::new(), held_out: Vec::new() };
    for (user, indexes) in users {
        let last = indexes.iter().map(|&at| baskets[at].day).max().unwrap_or(0);
        let (after, before): (Vec<usize>, Vec<usize>) = indexes.into_iter().partition(|&at| baskets[at].day == last);
        let has_commitment = after.iter().any(|&at| baskets[at].items.iter().any(|(_, s)| s.is_commitment()));
        if before.is_empty() || !has_commitment {
            split.fit.extend(before);
            split.fit.extend(after);
        } else {
            split.fit.extend(before.iter().copied());
            split.held_out.push(HeldOut { user, day: last, before, after });
        }
    }
    split.fit.sort_unstable();
    split
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basket(user: u32, day: i64, items: &[ItemIx]) -> Basket {
        Basket { user, day, items: items.iter().map(|&i| (i, Signal::Purchase)).collect() }
    }

    #[test]
    fn pairs_in_the_same_basket_become_neighbours() {
        let baskets =
            vec![basket(0, 1, &[0, 1]), basket(1, 1, &[0, 1, 2]), basket(2, 2, &[2, 3]), basket(3, 3, &[0, 1])];
        let model = train(4, &baskets, 3, &Params::default());
        assert_eq!(model.with[0][0].item, 1);
        assert_eq!(model.with[3][0].item, 2);
        assert!(model.with[0].iter().all(|n| n.item != 3));
        assert!((model.popularity[0] - 1.0).abs() < 1e-6 && model.popularity[3] < model.popularity[0]);
    }

    #[test]
    fn views_count_for_popularity_and_history_but_not_for_pairs() {
        let viewed = Basket { user: 0, day: 1, items: vec![(0, Signal::View), (1, Signal::View)] };
        let model = train(2, std::slice::from_ref(&viewed), 1, &Params::default());
        assert!(model.with[0].is_empty());
        assert!(model.popularity[0] > 0.0);
        let person = Person::from_baskets([&viewed], 1, 30.0);
        assert_eq!(person.touches.len(), 2);
        assert_eq!(person.touches[0].strongest, Signal::View);
    }

    #[test]
    fn history_fades_by_its_half_life() {
        let old = basket(0, 0, &[0]);
        let new = basket(0, 30, &[1]);
        let person = Person::from_baskets([&old, &new], 30, 30.0);
        assert!((person.touches[0].weight - 0.5).abs() < 1e-9);
        assert!((person.touches[1].weight - 1.0).abs() < 1e-9);
    }

    #[test]
    fn ranking_is_stable_skips_and_names_its_reason() {
        let baskets = vec![
            basket(0, 1, &[0, 1]),
            basket(1, 1, &[0, 1]),
            basket(2, 1, &[2]),
            basket(3, 1, &[2]),
            basket(4, 1, &[2]),
        ];
        let model = train(4, &baskets, 1, &Params::default());
        let anonymous = Signals::anonymous(&model);
        let picks = anonymous.rank(&Blend::POPULAR, 3, |_| false);
        assert_eq!(picks.iter().map(|p| p.item).collect::<Vec<_>>(), vec![2, 0, 1]);
        assert_eq!(picks[0].reason, Reason::Popular);

        let person = Person::from_baskets([&basket(9, 1, &[0])], 1, 30.0);
        let signals = Signals::gather(&model, &person, None);
        let blend = Blend { popularity: 0.1, again: 0.0, with: 1.0, also: 0.0, affinity: 0.0 };
        let picks = signals.rank(&blend, 2, |item| item == 0);
        assert_eq!(picks[0].item, 1);
        assert_eq!(picks[0].reason, Reason::With { item: 0 });
        assert!(picks.iter().all(|p| p.item != 0));

        let untouched = train(2, &[], 1, &Params::default());
        let picks = Signals::anonymous(&untouched).rank(&Blend::POPULAR, 2, |_| false);
        let reasons: Vec<(ItemIx, Reason)> = picks.iter().map(|p| (p.item, p.reason)).collect();
        assert_eq!(reasons, vec![(0, Reason::OnShelf), (1, Reason::OnShelf)]);
    }

    #[test]
    fn affinity_lifts_the_items_that_match_the_tags() {
        let baskets = vec![basket(0, 1, &[0]), basket(1, 1, &[0]), basket(2, 1, &[1])];
        let model = train(3, &baskets, 1, &Params::default());
        let signals = Signals::gather(&model, &Person::default(), Some(&[0.0, 0.0, 4.0]));
        let blend = Blend { affinity: 2.0, ..Blend::POPULAR };
        let picks = signals.rank(&blend, 1, |_| false);
        assert_eq!((picks[0].item, picks[0].reason), (2, Reason::Affinity));
    }

    #[test]
    fn ndcg_rewards_early_hits() {
        assert!((ndcg(&[1, 2, 3], &[1]) - 1.0).abs() < 1e-12);
        assert!((ndcg(&[2, 1, 3], &[1]) - 1.0 / 3f64.log2()).abs() < 1e-12);
        assert!(ndcg(&[4, 5], &[1]).abs() < 1e-12);
        assert!((ndcg(&[1, 2], &[1, 2, 3]) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn the_hold_out_keeps_each_persons_last_day() {
        let baskets = vec![basket(0, 1, &[0]), basket(0, 5, &[1]), basket(1, 3, &[2]), basket(0, 5, &[2])];
        let split = hold_out_last(&baskets);
        assert_eq!(split.fit, vec![0, 2]);
        assert_eq!(split.held_out.len(), 1);
        assert_eq!((split.held_out[0].user, split.held_out[0].day), (0, 5));
        assert_eq!(split.held_out[0].after, vec![1, 3]);
        assert_eq!(relevant(split.held_out[0].after.iter().map(|&at| &baskets[at])), vec![1, 2]);
    }
}
