//! The hold-out evaluation behind `tandem recommend eval`: every person's last date is the test
//! basket, everything before it (everyone's) is training, and the blend is compared with
//! popularity on hit rate, NDCG and catalogue coverage at `k`.

use std::collections::HashMap;

use serde::Serialize;

use super::{
    Basket, Blend, ItemIx, Params, Person, Signal, Signals, hold_out_last, learn, ndcg, relevant, top_k, train,
};
use crate::import::fields;
use crate::time::civil_day;

/// A purchase log: people and items by name, baskets by dense index.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Log {
    pub users: Vec<String>,
    pub items: Vec<String>,
    pub baskets: Vec<Basket>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    #[error("the file is empty")]
    Empty,
    #[error("the header has no {0:?} column (expected user,date,item)")]
    MissingColumn(&'static str),
    #[error("line {line}: {message}")]
    Row { line: usize, message: String },
}

/// Reads `YYYY-MM-DD` or `DD-MM-YYYY` as days since 1970-01-01.
pub fn parse_date(text: &str) -> Option<i64> {
    let parts: Vec<&str> = text.trim().split('-').collect();
    let [a, b, c] = parts.as_slice() else { return None };
    let number = |part: &str| -> Option<i64> {
        if !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit()) { part.parse().ok() } else { None }
    };
    let (year, month, day) = match (a.len(), c.len()) {
        (4, 2 | 1) => (number(a)?, number(b)?, number(c)?),
        (2 | 1, 4) => (number(c)?, number(b)?, number(a)?),
        _ => return None,
    };
    civil_day(year, month, day)
}

/// Builds a log row by row; the rows of one person on one day form one basket.
#[derive(Debug, Default)]
pub struct LogBuilder {
    log: Log,
    users: HashMap<String, u32>,
    items: HashMap<String, ItemIx>,
    baskets: HashMap<(u32, i64), usize>,
}

fn intern(names: &mut Vec<String>, index: &mut HashMap<String, u32>, name: &str) -> u32 {
    if let Some(&at) = index.get(name) {
        return at;
    }
    let at = u32::try_from(names.len()).unwrap_or(u32::MAX);
    names.push(name.to_owned());
    index.insert(name.to_owned(), at);
    at
}

impl LogBuilder {
    pub fn push(&mut self, user: &str, day: i64, item: &str, signal: Signal) {
        let user = intern(&mut self.log.users, &mut self.users, user);
        let item = intern(&mut self.log.items, &mut self.items, item);
        let baskets = &mut self.log.baskets;
        let at = *self.baskets.entry((user, day)).or_insert_with(|| {
            baskets.push(Basket { user, day, items: Vec::new() });
            baskets.len() - 1
        });
        let basket = &mut self.log.baskets[at];
        match basket.items.iter_mut().find(|(known, _)| *known == item) {
            Some(touch) => touch.1 = touch.1.max(signal),
            None => basket.items.push((item, signal)),
        }
    }

    pub fn finish(self) -> Log {
        self.log
    }
}

impl Log {
    /// Parses a CSV with a header naming `user`, `date` and `item` (any order, other columns
    /// ignored); every row is a purchase.
    pub fn parse_csv(text: &str) -> Result<Log, LogError> {
        let mut lines = text.lines().enumerate().filter(|(_, line)| !line.trim().is_empty());
        let (_, header) = lines.next().ok_or(LogError::Empty)?;
        let header = fields(header.trim_start_matches('\u{feff}')).map_err(|_| LogError::Empty)?;
        let column = |name: &'static str| {
            header.iter().position(|h| h.trim().eq_ignore_ascii_case(name)).ok_or(LogError::MissingColumn(name))
        };
        let (user_at, date_at, item_at) = (column("user")?, column("date")?, column("item")?);
        let mut builder = LogBuilder::default();
        for (number, line) in lines {
            let row = |message: String| LogError::Row { line: number + 1, message };
            let values = fields(line).map_err(row)?;
            let value = |at: usize, name: &str| -> Result<&str, LogError> {
                match values.get(at).map(|v| v.trim()) {
                    Some(v) if !v.is_empty() => Ok(v),
                    _ => Err(row(format!("{name} is empty"))),
                }
            };
            let (user, date, item) = (value(user_at, "user")?, value(date_at, "date")?, value(item_at, "item")?);
            let day = parse_date(date).ok_or_else(|| row(format!("date {date:?} is not YYYY-MM-DD or DD-MM-YYYY")))?;
            builder.push(user, day, item, Signal::Purchase);
        }
        Ok(builder.finish())
    }
}

/// Hit rate and NDCG at `k`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Scores {
    pub hit_rate: f64,
    pub ndcg: f64,
}

/// The blend's scores, the share of the catalogue it recommends to someone, and its weights.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TandemScores {
    pub hit_rate: f64,
    pub ndcg: f64,
    pub coverage: f64,
    pub blend: Blend,
    /// How fast popularity fades in the learned blend (`null`: all time alike).
    pub popularity_half_life_days: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Report {
    /// People evaluated: those with a last date and at least one earlier date.
    pub users: usize,
    pub k: usize,
    pub items: usize,
    pub popularity: Scores,
    pub tandem: TandemScores,
}

fn round4(value: f64) -> f64 {
    (value * 10_000.0).round() / 10_000.0
}

#[derive(Default)]
struct Tally {
    hits: usize,
    ndcg: f64,
}

impl Tally {
    fn add(&mut self, ranked: &[ItemIx], relevant: &[ItemIx]) {
        if ranked.iter().any(|item| relevant.contains(item)) {
            self.hits += 1;
        }
        self.ndcg += ndcg(ranked, relevant);
    }

    #[allow(clippy::cast_precision_loss)]
    fn scores(&self, users: usize) -> Scores {
        let users = users.max(1) as f64;
        Scores { hit_rate: round4(self.hits as f64 / users), ndcg: round4(self.ndcg / users) }
    }
}

/// Evaluates the blend against popularity on `log`.
pub fn evaluate(log: &Log, k: usize, params: &Params) -> Report {
    let items = log.items.len();
    let split = hold_out_last(&log.baskets);
    let fit: Vec<Basket> = split.fit.iter().map(|&at| log.baskets[at].clone()).collect();

    let mut counts = vec![0u64; items];
    for basket in &fit {
        for &(item, signal) in &basket.items {
            if signal.is_commitment() {
                counts[item as usize] += 1;
            }
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let popular: Vec<ItemIx> =
        top_k(items, k, |item| Some(counts[item] as f32)).into_iter().map(|(item, _)| super::to_ix(item)).collect();

    let learned = learn(items, &fit, k, params, None);
    let blend = learned.blend;
    let as_of = fit.iter().map(|b| b.day).max().unwrap_or(0);
    let model = train(items, &fit, as_of, &learned.params(params));

    let (mut baseline, mut tandem) = (Tally::default(), Tally::default());
    let mut shown = vec![false; items];
    for held in &split.held_out {
        let truth = relevant(held.after.iter().map(|&at| &log.baskets[at]));
        baseline.add(&popular, &truth);
        let person = Person::from_baskets(
            held.before.iter().map(|&at| &log.baskets[at]),
            held.day,
            params.history_half_life_days,
        );
        let ranked: Vec<ItemIx> =
            Signals::gather(&model, &person, None).rank(&blend, k, |_| false).iter().map(|pick| pick.item).collect();
        for &item in &ranked {
            shown[item as usize] = true;
        }
        tandem.add(&ranked, &truth);
    }
    let users = split.held_out.len();
    #[allow(clippy::cast_precision_loss)]
    let coverage = round4(shown.iter().filter(|s| **s).count() as f64 / items.max(1) as f64);
    let scores = tandem.scores(users);
    Report {
        users,
        k,
        items,
        popularity: baseline.scores(users),
        tandem: TandemScores {
            hit_rate: scores.hit_rate,
            ndcg: scores.ndcg,
            coverage,
            blend,
            popularity_half_life_days: learned.popularity_half_life_days,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_both_orders() {
        assert_eq!(parse_date("1970-01-02"), Some(1));
        assert_eq!(parse_date("02-01-1970"), Some(1));
        assert_eq!(parse_date("21-07-2015"), parse_date("2015-07-21"));
        assert_eq!(parse_date("31-02-2015"), None);
        assert_eq!(parse_date("2015/07/21"), None);
        assert_eq!(parse_date("15-07-21"), None);
    }

    #[test]
    fn a_csv_becomes_baskets_per_person_and_day() {
        let log = Log::parse_csv(
            "item,user,date\nmilk,1,21-07-2015\nbread,1,21-07-2015\nmilk,1,21-07-2015\nmilk,2,2015-07-22\n",
        )
        .unwrap();
        assert_eq!(log.users, vec!["1", "2"]);
        assert_eq!(log.items, vec!["milk", "bread"]);
        assert_eq!(log.baskets.len(), 2);
        assert_eq!(log.baskets[0].items.len(), 2);
    }

    #[test]
    fn bad_csv_says_where() {
        assert_eq!(Log::parse_csv(""), Err(LogError::Empty));
        assert_eq!(Log::parse_csv("user,item\n1,milk\n"), Err(LogError::MissingColumn("date")));
        let error = Log::parse_csv("user,date,item\n1,2015-07-21,milk\n2,yesterday,milk\n").unwrap_err();
        assert_eq!(error.to_string(), "line 3: date \"yesterday\" is not YYYY-MM-DD or DD-MM-YYYY");
        let error = Log::parse_csv("user,date,item\n1,2015-07-21,\n").unwrap_err();
        assert_eq!(error.to_string(), "line 2: item is empty");
    }
}
