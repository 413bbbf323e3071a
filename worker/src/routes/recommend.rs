//! Recommendations over HTTP: the cron (and `POST /api/dev/jobs`) trains the recommender on
//! everyone's touches and keeps it in KV (with its summary in D1); `GET /api/recommendations`
//! serves a placement from it with the caller's own touches and profile. A clerk's notes of a
//! conversation are analysed here too, with suggestions from the same model.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use serde::Deserialize;
use serde_json::json;
use tandem_domain::catalog::{Category, ProductId, StoreId, Text};
use tandem_domain::conversation;
use tandem_domain::money::Fen;
use tandem_domain::profile::{Facts, Profile};
use tandem_domain::recommend::serve::{self, Card, FollowUp, Item, Placed, Recommendation, Touch, Trained};
use tandem_domain::time::Timestamp;
use worker::{Env, Request, Response};

use super::json_response;
use crate::error::ApiError;
use crate::memory::{self, Subject};
use crate::store::d1;
use crate::store::profiles;
use crate::store::sql::Results;
use crate::{config, db};

/// The KV key of the trained recommender, and of its build time (read first: the model is
/// fetched and parsed only when this isolate's copy is older).
const MODEL_KEY: &str = "recommender:model";
const BUILT_AT_KEY: &str = "recommender:built_at";
/// Touches older than this are not trained on.
const TRAINING_DAYS: i64 = 180;
/// A person's own touches read for a placement: the latest ones.
const OWN_TOUCHES: i64 = 300;
/// The cron retrains when the model is older than this.
pub const RETRAIN_AFTER_MINUTES: i64 = 60;

thread_local! {
    /// The parsed model of this isolate, by its build time: KV is read per request, the JSON
    /// parsed only when the cron has built a new one.
    static CACHE: RefCell<Option<Rc<Trained>>> = const { RefCell::new(None) };
}

#[derive(Deserialize)]
struct ItemRow {
    id: String,
    category: String,
    name_zh: String,
    name_en: String,
    price_fen: Option<i64>,
}

#[derive(Deserialize)]
struct TouchRow {
    subject: String,
    product_id: String,
    kind: String,
    at: i64,
    store_id: Option<String>,
    outcome: Option<String>,
}

impl TouchRow {
    fn touch(self) -> Option<Touch> {
        Some(Touch {
            signal: serve::signal_of(&self.kind, self.outcome.as_deref())?,
            product: ProductId::parse(&self.product_id).ok()?,
            store: self.store_id.as_deref().and_then(|s| StoreId::parse(s).ok()),
            subject: self.subject,
            at: Timestamp(self.at),
        })
    }
}

/// Everyone's touches since `?1` (behaviour events and paid order lines), newest first, at most `?2`.
const TOUCHES_SQL: &str = "SELECT subject, product_id, kind, at, store_id, json_extract(body, '$.outcome') AS outcome
     FROM behaviour_events WHERE product_id IS NOT NULL AND at >= ?1
     UNION ALL
     SELECT 'm:' || o.member_id, l.product_id, 'order', o.paid_at, o.store_id, NULL
     FROM orders o JOIN order_lines l ON l.order_id = o.id
     WHERE o.paid_at IS NOT NULL AND o.paid_at >= ?1
     ORDER BY 4 DESC LIMIT ?2";

/// One subject's touches since `?2` (`?1` the subject key, `?3` its member id or NULL), newest
/// first, at most `?4`: by the `(subject, at)` index and the orders' member index, never a scan.
const OWN_TOUCHES_SQL: &str =
    "SELECT subject, product_id, kind, at, store_id, json_extract(body, '$.outcome') AS outcome
     FROM behaviour_events WHERE subject = ?1 AND at >= ?2 AND product_id IS NOT NULL
     UNION ALL
     SELECT ?1, l.product_id, 'order', o.paid_at, o.store_id, NULL
     FROM orders o JOIN order_lines l ON l.order_id = o.id
     WHERE o.member_id = ?3 AND o.paid_at IS NOT NULL AND o.paid_at >= ?2
     ORDER BY 4 DESC LIMIT ?4";

/// What a rebuild did.
pub struct Rebuilt {
    pub items: usize,
    pub touches: usize,
    pub learned_from: usize,
}

/// Trains the recommender on the last 180 days and stores it.
pub async fn rebuild(env: &Env) -> Result<Rebuilt, ApiError> {
    let now = config::now(env).await?;
    let db = db::database(env)?;
    let since = now.plus_days(-TRAINING_DAYS).millis();
    let results = db::batch(
        &db,
        vec![
            db::prepare(
                &db,
                "SELECT p.id, p.category, p.name_zh, p.name_en,
                        (SELECT MIN(min_price_fen) FROM skus WHERE product_id = p.id) AS price_fen
                 FROM products p ORDER BY p.id",
                &[],
            )?,
            db::prepare(&db, TOUCHES_SQL, &[db::integer(since), db::integer(500_000)])?,
        ],
    )
    .await?;
    let items: Vec<Item> = db::nth::<ItemRow>(&results, 0)?
        .into_iter()
        .filter_map(|row| {
            Some(Item {
                product: ProductId::parse(&row.id).ok()?,
                name: Text::new(row.name_zh, row.name_en),
                facts: Facts { category: Category::parse(&row.category).ok()?, price: Fen(row.price_fen.unwrap_or(0)) },
            })
        })
        .collect();
    let touches: Vec<Touch> = db::nth::<TouchRow>(&results, 1)?.into_iter().filter_map(TouchRow::touch).collect();
    let trained = serve::build(items, &touches, now);
    let body = serde_json::to_string(&trained).map_err(ApiError::internal)?;
    let kv = env.kv("KV").map_err(ApiError::internal)?;
    kv.put(MODEL_KEY, body).map_err(ApiError::internal)?.execute().await.map_err(ApiError::internal)?;
    kv.put(BUILT_AT_KEY, now.millis().to_string())
        .map_err(ApiError::internal)?
        .execute()
        .await
        .map_err(ApiError::internal)?;
    db::run(db::prepare(
        &db,
        "INSERT INTO recommender_models (id, body, events, built_at) VALUES (1, ?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET body = ?1, events = ?2, built_at = ?3",
        &[
            db::text(
                &json!({"blend": trained.blend, "learned_from": trained.learned_from, "items": trained.items.len()})
                    .to_string(),
            ),
            db::integer(i64::try_from(trained.touches).map_err(ApiError::internal)?),
            db::integer(now.millis()),
        ],
    )?)
    .await?;
    let rebuilt = Rebuilt { items: trained.items.len(), touches: trained.touches, learned_from: trained.learned_from };
    CACHE.with(|cache| *cache.borrow_mut() = Some(Rc::new(trained)));
    Ok(rebuilt)
}

#[derive(Deserialize)]
struct BuiltRow {
    built_at: i64,
}

/// The cron's step: retrains when the stored model is missing or older than an hour.
pub async fn rebuild_if_stale(env: &Env) -> Result<Option<Rebuilt>, ApiError> {
    let now = config::now(env).await?;
    let db = db::database(env)?;
    let built: Option<BuiltRow> =
        db::one(db::prepare(&db, "SELECT built_at FROM recommender_models WHERE id = 1", &[])?).await?;
    if built.is_some_and(|b| b.built_at > now.plus_minutes(-RETRAIN_AFTER_MINUTES).millis()) {
        return Ok(None);
    }
    rebuild(env).await.map(Some)
}

/// The trained model: this isolate's copy when it is the latest, else KV's, else a new one.
async fn model(env: &Env) -> Result<Rc<Trained>, ApiError> {
    let kv = env.kv("KV").map_err(ApiError::internal)?;
    let built_at = kv.get(BUILT_AT_KEY).text().await.map_err(ApiError::internal)?.and_then(|t| t.parse::<i64>().ok());
    let cached = CACHE.with(|cache| cache.borrow().clone());
    if let (Some(cached), Some(built_at)) = (&cached, built_at)
        && cached.built_at.millis() == built_at
    {
        return Ok(cached.clone());
    }
    let Some(text) = kv.get(MODEL_KEY).text().await.map_err(ApiError::internal)? else {
        rebuild(env).await?;
        return CACHE.with(|cache| cache.borrow().clone()).ok_or_else(|| ApiError::internal("the model was not kept"));
    };
    let trained: Rc<Trained> = Rc::new(db::stored(serde_json::from_str(&text))?);
    CACHE.with(|cache| *cache.borrow_mut() = Some(trained.clone()));
    Ok(trained)
}

#[derive(Deserialize)]
struct ShelfRow {
    product_id: String,
}

#[derive(Deserialize)]
struct StoreRow {
    id: String,
    name_zh: String,
    name_en: String,
}

#[derive(Deserialize)]
struct CardRow {
    id: String,
    category: String,
    name_zh: String,
    name_en: String,
    price_from_fen: i64,
    image: Option<String>,
}

/// `GET /api/recommendations?store=…&placement=for_you|goes_with|tried_on[&product=…][&limit=…]`.
pub async fn recommendations(env: &Env, req: &Request, query: &[(&str, &str)]) -> Result<Response, ApiError> {
    let param = |name: &str| query.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    let store = StoreId::parse(param("store").unwrap_or_default())
        .map_err(|e| ApiError::bad_request("store", e.to_string()))?;
    let placement = param("placement").unwrap_or("for_you");
    if !matches!(placement, "for_you" | "goes_with" | "tried_on") {
        return Err(ApiError::bad_request("placement", "one of for_you, goes_with, tried_on"));
    }
    let product = match (placement, param("product")) {
        ("goes_with", Some(id)) => {
            Some(ProductId::parse(id).map_err(|e| ApiError::bad_request("product", e.to_string()))?)
        }
        ("goes_with", None) => return Err(ApiError::bad_request("product", "goes_with needs the product")),
        _ => None,
    };
    let limit = match param("limit") {
        None => 8,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=24).contains(n))
            .ok_or_else(|| ApiError::bad_request("limit", "1 to 24"))?,
    };
    let subject = memory::subject(env, req).await?;
    let key = subject.as_ref().map(Subject::key).unwrap_or_default();
    let member = match &subject {
        Some(Subject::Member(id)) => Some(id.as_str()),
        _ => None,
    };
    let now = config::now(env).await?;
    let db = db::database(env)?;
    let stored_read = profiles::stored_reads(&key);
    let mut results = db::batch(
        &db,
        vec![
            d1::prepared(&db, &stored_read[0])?,
            d1::prepared(&db, &stored_read[1])?,
            db::prepare(
                &db,
                OWN_TOUCHES_SQL,
                &[
                    db::text(&key),
                    db::integer(now.plus_days(-TRAINING_DAYS).millis()),
                    db::optional_text(member),
                    db::integer(OWN_TOUCHES),
                ],
            )?,
            db::prepare(
                &db,
                "SELECT DISTINCT product_id FROM shelf_items WHERE store_id = ?1",
                &[db::text(store.as_str())],
            )?,
            db::prepare(&db, "SELECT id, name_zh, name_en FROM stores", &[])?,
        ],
    )
    .await?;
    let rest = results.split_off(2);
    let mine = profiles::stored_from(&mut Results::new(results))?;
    let results = rest;
    let personalised = subject.is_some() && mine.consent.is_some_and(|c| c.personalised);
    let profile: Option<Profile> = (personalised && mine.version.is_some()).then_some(mine.profile);
    let own: Vec<Touch> = if personalised {
        db::nth::<TouchRow>(&results, 0)?.into_iter().filter_map(TouchRow::touch).collect()
    } else {
        Vec::new()
    };
    let shelf: HashSet<String> = db::nth::<ShelfRow>(&results, 1)?.into_iter().map(|r| r.product_id).collect();
    if shelf.is_empty() {
        return Err(ApiError::NotFound { resource: "store" });
    }
    let stores: HashMap<String, Text> =
        db::nth::<StoreRow>(&results, 2)?.into_iter().map(|r| (r.id, Text::new(r.name_zh, r.name_en))).collect();
    let trained = model(env).await?;
    let on_shelf = |product: &ProductId| shelf.contains(product.as_str());
    let picks: Vec<Recommendation> = match (placement, &product) {
        ("goes_with", Some(product)) => serve::goes_with(&trained, product, &on_shelf, limit),
        ("tried_on", _) => {
            let names = |store: &StoreId| stores.get(store.as_str()).cloned();
            serve::tried_on(&trained, &own, &names, &on_shelf, limit)
        }
        _ => serve::for_you(&trained, &own, profile.as_ref(), personalised, now, &on_shelf, limit),
    };
    let items = cards(env, &store, &picks).await?;
    let offer = match (placement, &profile) {
        ("tried_on", Some(profile)) if !items.is_empty() => {
            let store_name =
                stores.get(store.as_str()).cloned().unwrap_or_else(|| Text::new(store.as_str(), store.as_str()));
            super::promote::coupon_for(&db, &store, profile, &store_name, now).await?.map(Into::into)
        }
        _ => None,
    };
    let placed =
        Placed { placement: placement.to_owned(), personalised, items, model_built_at: trained.built_at, offer };
    json_response(200, &placed, "no-store")
}

/// The picked products as storefront cards, in the picked order.
async fn cards(env: &Env, store: &StoreId, picks: &[Recommendation]) -> Result<Vec<Card>, ApiError> {
    if picks.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = picks.iter().map(|p| p.product.as_str()).collect();
    let db = db::database(env)?;
    let rows: Vec<CardRow> = db::all(db::prepare(
        &db,
        "SELECT p.id, p.category, p.name_zh, p.name_en, MIN(si.price_fen) AS price_from_fen,
                (SELECT m.url FROM media m WHERE m.product_id = p.id AND m.kind = 'image' ORDER BY m.position LIMIT 1) AS image
         FROM shelf_items si JOIN products p ON p.id = si.product_id
         WHERE si.store_id = ?1 AND p.id IN (SELECT value FROM json_each(?2))
         GROUP BY p.id",
        &[db::text(store.as_str()), db::text(&serde_json::to_string(&ids).map_err(ApiError::internal)?)],
    )?)
    .await?;
    let by_id: HashMap<&str, &CardRow> = rows.iter().map(|row| (row.id.as_str(), row)).collect();
    Ok(picks
        .iter()
        .filter_map(|pick| {
            let row = by_id.get(pick.product.as_str())?;
            Some(Card {
                product_id: pick.product.clone(),
                category: Category::parse(&row.category).ok()?,
                name: Text::new(row.name_zh.clone(), row.name_en.clone()),
                price_from_fen: Fen(row.price_from_fen),
                image: row.image.clone(),
                reason: pick.reason,
                why: pick.words.clone(),
            })
        })
        .collect())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteForm {
    note: String,
    #[serde(default)]
    customer_name: Option<String>,
    #[serde(default)]
    clerk_name: Option<String>,
}

#[derive(Deserialize)]
struct NamedRow {
    id: String,
    name_zh: String,
    name_en: String,
}

/// `POST /api/store/{id}/conversations`: a clerk's notes of a conversation, understood by
/// `domain::conversation` (products, intent, objections, mood, a drafted follow-up and the next
/// contact date) with suggested products from the store's shelf. Nothing is stored.
pub async fn analyse_conversation(env: &Env, req: &Request, store: &str, text: &str) -> Result<Response, ApiError> {
    let form: NoteForm = crate::body::parse_json(text)?;
    let note = form.note.trim();
    if note.is_empty() || note.chars().count() > conversation::MAX_NOTE_CHARS {
        return Err(ApiError::bad_request("note", format!("1 to {} characters", conversation::MAX_NOTE_CHARS)));
    }
    let short = |value: Option<&str>, field: &'static str| -> Result<Option<String>, ApiError> {
        match value.map(str::trim).filter(|v| !v.is_empty()) {
            Some(v) if v.chars().count() > 20 || v.chars().any(char::is_control) => {
                Err(ApiError::bad_request(field, "at most 20 characters"))
            }
            other => Ok(other.map(str::to_owned)),
        }
    };
    let customer = short(form.customer_name.as_deref(), "customer_name")?;
    let clerk = short(form.clerk_name.as_deref(), "clerk_name")?;
    let (_, access) = crate::session::caller_with_access(env, req).await?;
    let (store_id, _) = crate::session::require_store(&access, store)?;
    let now = config::now(env).await?;
    let db = db::database(env)?;
    let results = db::batch(
        &db,
        vec![
            db::prepare(
                &db,
                "SELECT DISTINCT p.id, p.name_zh, p.name_en FROM shelf_items si JOIN products p ON p.id = si.product_id
                 WHERE si.store_id = ?1 ORDER BY p.id",
                &[db::text(store_id.as_str())],
            )?,
            db::prepare(&db, "SELECT id, name_zh, name_en FROM stores WHERE id = ?1", &[db::text(store_id.as_str())])?,
        ],
    )
    .await?;
    let catalogue: Vec<conversation::Product> = db::nth::<NamedRow>(&results, 0)?
        .into_iter()
        .filter_map(|row| {
            Some(conversation::Product {
                id: ProductId::parse(&row.id).ok()?,
                name: Text::new(row.name_zh, row.name_en),
            })
        })
        .collect();
    let store_name = db::first::<NamedRow>(&results, 1)?
        .map(|row| Text::new(row.name_zh, row.name_en))
        .ok_or(ApiError::NotFound { resource: "store" })?;
    let parties = conversation::Parties {
        customer,
        clerk: clerk.map_or_else(|| Text::new("店员", "your store assistant"), |name| Text::new(name.clone(), name)),
        store: store_name,
    };
    let mut analysis = conversation::analyse(note, &catalogue, &parties, now);
    // An LLM, where one is configured, may polish the draft; the local draft is the fallback.
    let (draft, refined) = crate::llm::polish_both(env, &analysis.draft).await;
    analysis.draft = draft;
    // Suggested: what goes with the first product mentioned, from the shelf.
    let shelf: HashSet<&str> = catalogue.iter().map(|p| p.id.as_str()).collect();
    let on_shelf = |product: &ProductId| shelf.contains(product.as_str());
    let suggested = match analysis.mentions.first() {
        Some(first) => {
            let trained = model(env).await?;
            let picks = serve::goes_with(&trained, &first.product, &on_shelf, 4);
            cards(env, &store_id, &picks).await?
        }
        None => Vec::new(),
    };
    let mut answer = serde_json::to_value(FollowUp { analysis, suggested }).map_err(ApiError::internal)?;
    answer["refined_by"] = serde_json::Value::from(if refined { "llm" } else { "local" });
    json_response(200, &answer, "no-store")
}
