//! Generated purchase logs with known structure, for testing the recommender and for
//! `tandem recommend generate`.
//!
//! With `personal` on, people have one or two favourite categories, a few staples they buy
//! again, and items come in pairs (`2n` and `2n+1` of a category) that are often bought
//! together; the rest of every basket follows a global popularity curve. With it off, every
//! item of every basket is drawn from that curve alone: there is nothing personal to learn, as
//! in dense grocery baskets.

use super::Signal;
use super::eval::{Log, LogBuilder};
use crate::random::Random;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    pub users: u32,
    pub categories: u32,
    /// Even, so that every item has its pair inside its category.
    pub items_per_category: u32,
    /// Visits per person, at least 2 (one is held out).
    pub visits: u32,
    pub personal: bool,
    pub seed: u64,
}

impl Default for Plan {
    fn default() -> Plan {
        Plan { users: 2_000, categories: 12, items_per_category: 24, visits: 6, personal: true, seed: 7 }
    }
}

/// The first day of the generated year, 2025-01-01.
const FIRST_DAY: i64 = 20_089;

struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(items: u32) -> Zipf {
        let mut total = 0.0;
        let cumulative = (0..items)
            .map(|rank| {
                total += 1.0 / f64::from(rank + 1).powf(0.9);
                total
            })
            .collect();
        Zipf { cumulative }
    }

    fn sample(&self, random: &mut Random) -> u32 {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        #[allow(clippy::cast_precision_loss)] // 53 random bits are plenty
        let point = (random.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * total;
        u32::try_from(self.cumulative.partition_point(|&c| c <= point)).unwrap_or(0)
    }
}

/// Generates the log; deterministic for a plan.
pub fn log(plan: &Plan) -> Log {
    let mut random = Random::new(plan.seed);
    let per_category = plan.items_per_category.max(2) & !1;
    let items = plan.categories.max(1) * per_category;
    // Popularity ranks are shuffled over the items so that popular items are spread over the
    // categories rather than all in the first.
    let mut by_rank: Vec<u32> = (0..items).collect();
    for at in (1..by_rank.len()).rev() {
        let other = usize::try_from(random.below(at as u64 + 1)).unwrap_or(0);
        by_rank.swap(at, other);
    }
    let zipf = Zipf::new(items);
    let name = |item: u32| format!("c{:02}-{:03}", item / per_category, item % per_category);
    let mut builder = LogBuilder::default();
    for user in 0..plan.users {
        let user_name = format!("u{user:05}");
        let favourites: Vec<u32> = (0..=random.below(2))
            .map(|_| u32::try_from(random.below(u64::from(plan.categories.max(1)))).unwrap_or(0))
            .collect();
        let in_favourite = |random: &mut Random| {
            let category = favourites[usize::try_from(random.below(favourites.len() as u64)).unwrap_or(0)];
            category * per_category + u32::try_from(random.below(u64::from(per_category))).unwrap_or(0)
        };
        let staples: Vec<u32> = (0..3).map(|_| in_favourite(&mut random)).collect();
        let mut days: Vec<i64> =
            (0..plan.visits.max(2)).map(|_| FIRST_DAY + i64::try_from(random.below(365)).unwrap_or(0)).collect();
        days.sort_unstable();
        days.dedup();
        for day in days {
            let slots = 2 + random.below(3);
            for _ in 0..slots {
                let item = if plan.personal {
                    match random.below(10) {
                        0..=2 => staples[usize::try_from(random.below(3)).unwrap_or(0)],
                        3..=6 => in_favourite(&mut random),
                        _ => by_rank[zipf.sample(&mut random) as usize],
                    }
                } else {
                    by_rank[zipf.sample(&mut random) as usize]
                };
                builder.push(&user_name, day, &name(item), Signal::Purchase);
                if plan.personal && random.chance(60) {
                    builder.push(&user_name, day, &name(item ^ 1), Signal::Purchase);
                }
            }
        }
    }
    builder.finish()
}

/// The log as `user,date,item` CSV (dates `YYYY-MM-DD`), the format `tandem recommend eval` reads.
pub fn to_csv(log: &Log) -> String {
    let mut csv = String::from("user,date,item\n");
    for basket in &log.baskets {
        for &(item, _) in &basket.items {
            csv.push_str(&format!(
                "{},{},{}\n",
                log.users[basket.user as usize],
                crate::time::civil_date(basket.day),
                log.items[item as usize]
            ));
        }
    }
    csv
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recommend::eval::evaluate;
    use crate::recommend::{Blend, Params, Signals, train};

    #[test]
    fn the_planted_pairs_are_recovered() {
        let log = log(&Plan::default());
        let model = train(log.items.len(), &log.baskets, FIRST_DAY + 365, &Params::default());
        let index = |name: &str| log.items.iter().position(|n| n == name).unwrap();
        let mut found = 0;
        for (at, name) in log.items.iter().enumerate() {
            let (category, number) = name[1..].split_once('-').unwrap();
            let number: u32 = number.parse().unwrap();
            let partner = index(&format!("c{category}-{:03}", number ^ 1));
            if model.with[at].first().map(|n| n.item as usize) == Some(partner) {
                found += 1;
            }
        }
        assert!(found * 10 >= log.items.len() * 9, "{found} of {} pairs recovered", log.items.len());
    }

    #[test]
    fn with_a_personal_signal_the_blend_clearly_beats_popularity() {
        let report = evaluate(&log(&Plan::default()), 10, &Params::default());
        assert!(report.users > 1_900, "{report:?}");
        assert!(report.tandem.ndcg > report.popularity.ndcg * 1.5, "{report:?}");
        assert!(report.tandem.hit_rate > report.popularity.hit_rate * 1.3, "{report:?}");
        assert!(report.tandem.coverage > 0.5, "{report:?}");
    }

    #[test]
    fn without_one_the_blend_does_not_fall_below_popularity() {
        let plan = Plan { personal: false, ..Plan::default() };
        let report = evaluate(&log(&plan), 10, &Params::default());
        assert!(report.tandem.ndcg >= report.popularity.ndcg * 0.98, "{report:?}");
        assert!(report.tandem.hit_rate >= report.popularity.hit_rate * 0.98, "{report:?}");
    }

    #[test]
    fn the_non_personalised_mode_ignores_the_profile() {
        let log = log(&Plan { users: 300, ..Plan::default() });
        let model = train(log.items.len(), &log.baskets, FIRST_DAY + 365, &Params::default());
        let anonymous = Signals::anonymous(&model).rank(&Blend::POPULAR, 10, |_| false);
        for user in [0, 1, 2] {
            let person = crate::recommend::Person::from_baskets(
                log.baskets.iter().filter(|b| b.user == user),
                FIRST_DAY + 365,
                90.0,
            );
            let signals = Signals::gather(&model, &person, None);
            assert_eq!(signals.rank(&Blend::POPULAR, 10, |_| false), anonymous);
            assert_ne!(signals.rank(&Blend::STARTER, 10, |_| false), anonymous);
        }
    }

    #[test]
    fn the_csv_reads_back_as_the_same_log() {
        let log = log(&Plan { users: 50, ..Plan::default() });
        assert_eq!(Log::parse_csv(&to_csv(&log)).unwrap(), log);
    }
}
