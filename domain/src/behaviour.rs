//! What people do, as events: online from the app (views, clicks, favourites, carts, shares,
//! searches) and offline from the store (check-ins, try-ons, in-store purchases, smart-mirror
//! measurements). A batch is checked whole: one bad event refuses the batch, with the index and
//! field at fault, so nothing is half-written.

use serde::{Deserialize, Serialize};

use crate::catalog::{ProductId, StoreId};
use crate::time::Timestamp;

/// Events per request, at most.
pub const MAX_BATCH: usize = 100;
/// How far back a device or a clerk may date an event (a device offline over a weekend).
pub const MAX_AGE_DAYS: i64 = 7;
/// How far ahead of the server's clock an event may be dated (clock skew).
pub const MAX_AHEAD_MINUTES: i64 = 5;
const MAX_QUERY_CHARS: usize = 100;
const MAX_SIZE_CHARS: usize = 16;

/// A client-made event id: 8 to 64 letters, digits, `-` or `_` (a UUID fits). The same id sent
/// twice by the same person is one event.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct EventId(String);

impl EventId {
    pub fn parse(raw: &str) -> Option<EventId> {
        let good =
            (8..=64).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        good.then(|| EventId(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a person did with a product on their phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Online {
    View,
    Click,
    Favourite,
    Cart,
    Share,
}

/// How a try-on ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "TryOnOutcome"))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    BoughtHere,
    Liked,
    NotForMe,
}

impl Outcome {
    /// An outcome by its wire name (`bought_here`, `liked`, `not_for_me`).
    pub fn parse(name: &str) -> Option<Outcome> {
        match name {
            "bought_here" => Some(Outcome::BoughtHere),
            "liked" => Some(Outcome::Liked),
            "not_for_me" => Some(Outcome::NotForMe),
            _ => None,
        }
    }
}

/// Body measurements from a smart mirror, in whole centimetres.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Measurements {
    pub height_cm: u16,
    pub chest_cm: u16,
    pub waist_cm: u16,
    pub hip_cm: u16,
}

impl Measurements {
    fn check(self) -> Result<(), &'static str> {
        let in_range = |value: u16, low: u16, high: u16| (low..=high).contains(&value);
        if !in_range(self.height_cm, 40, 250) {
            return Err("height_cm must be 40 to 250");
        }
        if !in_range(self.chest_cm, 30, 200) || !in_range(self.waist_cm, 30, 200) || !in_range(self.hip_cm, 30, 200) {
            return Err("chest_cm, waist_cm and hip_cm must be 30 to 200");
        }
        Ok(())
    }
}

/// One thing a person did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum What {
    Product { action: Online, product: ProductId },
    Search { query: String },
    CheckIn { store: StoreId },
    TryOn { store: StoreId, product: ProductId, size: Option<String>, outcome: Outcome },
    StorePurchase { store: StoreId, product: ProductId, amount_fen: i64 },
    Body { store: StoreId, measurements: Measurements },
}

impl What {
    /// The stored type name.
    pub fn kind(&self) -> &'static str {
        match self {
            What::Product { action: Online::View, .. } => "view",
            What::Product { action: Online::Click, .. } => "click",
            What::Product { action: Online::Favourite, .. } => "favourite",
            What::Product { action: Online::Cart, .. } => "cart",
            What::Product { action: Online::Share, .. } => "share",
            What::Search { .. } => "search",
            What::CheckIn { .. } => "check_in",
            What::TryOn { .. } => "try_on",
            What::StorePurchase { .. } => "store_purchase",
            What::Body { .. } => "body",
        }
    }

    pub fn product(&self) -> Option<&ProductId> {
        match self {
            What::Product { product, .. } | What::TryOn { product, .. } | What::StorePurchase { product, .. } => {
                Some(product)
            }
            _ => None,
        }
    }

    pub fn store(&self) -> Option<&StoreId> {
        match self {
            What::CheckIn { store }
            | What::TryOn { store, .. }
            | What::StorePurchase { store, .. }
            | What::Body { store, .. } => Some(store),
            _ => None,
        }
    }
}

/// A checked event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Event {
    pub id: EventId,
    pub at: Timestamp,
    #[serde(flatten)]
    pub what: What,
}

/// An event as it arrives: every field optional, so that a missing one gets a clear message
/// rather than a parser's. (The app and the in-store console write it as they send it.)
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawEvent {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_fen: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measurements: Option<Measurements>,
}

/// Who is sending: the app (online events only), a clerk or an in-store device (offline events
/// for their own store; the store comes from the sender, never from the event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    App,
    Clerk(StoreId),
    Device(StoreId),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum BatchError {
    #[error("the batch is empty")]
    EmptyBatch,
    #[error("at most {max} events per batch")]
    BatchTooLarge { max: usize },
    #[error("event {index}: {field}: {message}")]
    BadEvent { index: usize, field: &'static str, message: String },
}

fn bad(index: usize, field: &'static str, message: impl Into<String>) -> BatchError {
    BatchError::BadEvent { index, field, message: message.into() }
}

/// Checks a whole batch at `now`; the events keep their order.
pub fn check_batch(raw: &[RawEvent], source: &Source, now: Timestamp) -> Result<Vec<Event>, BatchError> {
    if raw.is_empty() {
        return Err(BatchError::EmptyBatch);
    }
    if raw.len() > MAX_BATCH {
        return Err(BatchError::BatchTooLarge { max: MAX_BATCH });
    }
    raw.iter().enumerate().map(|(index, event)| check_event(index, event, source, now)).collect()
}

fn check_event(index: usize, raw: &RawEvent, source: &Source, now: Timestamp) -> Result<Event, BatchError> {
    let id = raw.id.as_deref().ok_or_else(|| bad(index, "id", "missing"))?;
    let id = EventId::parse(id).ok_or_else(|| bad(index, "id", "8 to 64 letters, digits, - or _"))?;
    let at = match raw.at.as_deref() {
        None => now,
        Some(text) => {
            let at = Timestamp::parse_rfc3339(text).ok_or_else(|| bad(index, "at", "not an RFC 3339 time"))?;
            if at < now.plus_days(-MAX_AGE_DAYS) || at > now.plus_minutes(MAX_AHEAD_MINUTES) {
                return Err(bad(index, "at", format!("must be within the last {MAX_AGE_DAYS} days")));
            }
            at
        }
    };
    let kind = raw.kind.as_deref().ok_or_else(|| bad(index, "type", "missing"))?;
    let product = || -> Result<ProductId, BatchError> {
        let text = raw.product.as_deref().ok_or_else(|| bad(index, "product", "missing"))?;
        ProductId::parse(text).map_err(|e| bad(index, "product", e.to_string()))
    };
    let store = || -> Result<StoreId, BatchError> {
        match source {
            Source::Clerk(store) | Source::Device(store) => Ok(store.clone()),
            Source::App => Err(bad(index, "type", format!("{kind:?} events come from the store, not the app"))),
        }
    };
    let online = |action| -> Result<What, BatchError> {
        if source == &Source::App {
            Ok(What::Product { action, product: product()? })
        } else {
            Err(not_here(index, kind))
        }
    };
    let what = match kind {
        "view" => online(Online::View)?,
        "click" => online(Online::Click)?,
        "favourite" => online(Online::Favourite)?,
        "cart" => online(Online::Cart)?,
        "share" => online(Online::Share)?,
        "search" => {
            if source != &Source::App {
                return Err(not_here(index, kind));
            }
            let query = raw.query.as_deref().map(str::trim).unwrap_or_default();
            if query.is_empty() || query.chars().count() > MAX_QUERY_CHARS {
                return Err(bad(index, "query", format!("1 to {MAX_QUERY_CHARS} characters")));
            }
            What::Search { query: query.to_owned() }
        }
        "check_in" => What::CheckIn { store: store()? },
        "try_on" => {
            let store = store()?;
            let outcome =
                raw.outcome.ok_or_else(|| bad(index, "outcome", "missing (bought_here, liked or not_for_me)"))?;
            let size = match raw.size.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(size) if size.chars().count() <= MAX_SIZE_CHARS => Some(size.to_owned()),
                Some(_) => return Err(bad(index, "size", format!("at most {MAX_SIZE_CHARS} characters"))),
            };
            What::TryOn { store, product: product()?, size, outcome }
        }
        "store_purchase" => {
            if matches!(source, Source::Device(_)) {
                return Err(not_here(index, kind));
            }
            let store = store()?;
            let amount_fen = raw.amount_fen.ok_or_else(|| bad(index, "amount_fen", "missing"))?;
            if !(1..=100_000_000).contains(&amount_fen) {
                return Err(bad(index, "amount_fen", "1 fen to ¥1,000,000"));
            }
            What::StorePurchase { store, product: product()?, amount_fen }
        }
        "body" => {
            if !matches!(source, Source::Device(_)) {
                return Err(not_here(index, kind));
            }
            let measurements = raw.measurements.ok_or_else(|| bad(index, "measurements", "missing"))?;
            measurements.check().map_err(|message| bad(index, "measurements", message))?;
            What::Body { store: store()?, measurements }
        }
        other => return Err(bad(index, "type", format!("unknown event type {other:?}"))),
    };
    Ok(Event { id, at, what })
}

fn not_here(index: usize, kind: &str) -> BatchError {
    bad(index, "type", format!("{kind:?} events are not accepted from this sender"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp(1_780_000_000_000);

    fn raw(json: &str) -> Vec<RawEvent> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn online_events_from_the_app() {
        let events = check_batch(
            &raw(r#"[{"id":"e-000001","type":"view","product":"p-dress"},{"id":"e-000002","type":"search","query":" 奶粉 "}]"#),
            &Source::App,
            NOW,
        )
        .unwrap();
        assert_eq!(events[0].what.kind(), "view");
        assert_eq!(events[0].at, NOW);
        assert_eq!(events[1].what, What::Search { query: "奶粉".into() });
    }

    #[test]
    fn the_store_comes_from_the_sender() {
        let store = StoreId::parse("s-jingan").unwrap();
        let events = check_batch(
            &raw(r#"[{"id":"e-000003","type":"try_on","product":"p-dress","size":"M","outcome":"liked"},{"id":"e-000004","type":"body","measurements":{"height_cm":168,"chest_cm":88,"waist_cm":70,"hip_cm":94}}]"#),
            &Source::Device(store.clone()),
            NOW,
        )
        .unwrap();
        assert_eq!(events[0].what.store(), Some(&store));
        assert_eq!(events[1].what.kind(), "body");
    }

    #[test]
    fn bad_batches_say_which_event_and_field() {
        let app = Source::App;
        assert_eq!(check_batch(&[], &app, NOW), Err(BatchError::EmptyBatch));
        let many: Vec<RawEvent> = (0..101).map(|_| RawEvent::default()).collect();
        assert_eq!(check_batch(&many, &app, NOW), Err(BatchError::BatchTooLarge { max: 100 }));
        let cases = [
            (r#"[{"id":"e-000001","type":"poke","product":"p-dress"}]"#, "type"),
            (r#"[{"id":"short","type":"view","product":"p-dress"}]"#, "id"),
            (r#"[{"id":"e-000001","type":"view"}]"#, "product"),
            (r#"[{"id":"e-000001","type":"view","product":"P DRESS"}]"#, "product"),
            (r#"[{"id":"e-000001","type":"check_in"}]"#, "type"),
            (r#"[{"id":"e-000001","type":"search","query":""}]"#, "query"),
            (r#"[{"id":"e-000001","type":"view","product":"p-dress","at":"2020-01-01T00:00:00Z"}]"#, "at"),
        ];
        for (json, field) in cases {
            match check_batch(&raw(json), &app, NOW) {
                Err(BatchError::BadEvent { index: 0, field: got, .. }) => assert_eq!(got, field, "{json}"),
                other => panic!("{json}: {other:?}"),
            }
        }
        let store = Source::Clerk(StoreId::parse("s-jingan").unwrap());
        let error = check_batch(
            &raw(
                r#"[{"id":"e-000001","type":"check_in"},{"id":"e-000002","type":"body","measurements":{"height_cm":168,"chest_cm":88,"waist_cm":70,"hip_cm":94}}]"#,
            ),
            &store,
            NOW,
        );
        assert!(matches!(error, Err(BatchError::BadEvent { index: 1, field: "type", .. })));
        assert!(serde_json::from_str::<Vec<RawEvent>>(r#"[{"id":"e-000001","type":"view","colour":"red"}]"#).is_err());
    }
}
