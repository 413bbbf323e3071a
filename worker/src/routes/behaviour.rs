//! The AI business card's memory over HTTP: consent, behaviour events from the app, clerks and
//! in-store devices, the person's own profile (see, mute, export, erase), and device keys.
//!
//! Events are checked whole by `domain::behaviour` before anything is written; the new ones
//! (a repeated client id is ignored) are folded into the profile by `domain::profile`, and the
//! events and the profile are written in one batch guarded by the profile's version, retried
//! when another batch for the same person got there first.

use std::collections::{BTreeSet, HashMap};
use tandem_domain::api::Problem;

use serde::Deserialize;
use serde_json::{Value, json};
use tandem_domain::behaviour::{self, BatchError, Event, RawEvent, Source};
use tandem_domain::catalog::{Category, ProductId, StoreId};
use tandem_domain::crypto;
use tandem_domain::money::Fen;
use tandem_domain::profile::{self, Consent, Facts, Profile};
use tandem_domain::time::Timestamp;
use worker::{D1Database, D1PreparedStatement, Env, Request, Response};

use super::json_response;
use crate::error::ApiError;
use crate::{body, config, db, session};

/// The header an anonymous visitor's app sends its visitor id in.
const VISITOR_HEADER: &str = "x-tandem-visitor";
/// Tries of a profile update that lost a race to another batch for the same person.
const TRIES: usize = 5;

/// Whose behaviour it is: a signed-in member, or an anonymous visitor who consented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Member(String),
    Visitor(String),
}

impl Subject {
    pub fn key(&self) -> String {
        match self {
            Subject::Member(id) => format!("m:{id}"),
            Subject::Visitor(id) => format!("v:{id}"),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Subject::Member(_) => "member",
            Subject::Visitor(_) => "visitor",
        }
    }
}

fn well_formed_visitor(id: &str) -> bool {
    id.len() == 18 && id.starts_with("v-") && id[2..].bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// The request's subject: the session's member, else the visitor header's visitor.
pub async fn subject(env: &Env, req: &Request) -> Result<Option<Subject>, ApiError> {
    if session::token(req).is_some() {
        match session::caller(env, req).await {
            Ok(caller) => return Ok(Some(Subject::Member(caller.member_id))),
            Err(ApiError::Unauthenticated) => {}
            Err(other) => return Err(other),
        }
    }
    let visitor = req.headers().get(VISITOR_HEADER).ok().flatten();
    Ok(visitor.filter(|id| well_formed_visitor(id)).map(Subject::Visitor))
}

#[derive(Deserialize)]
struct ConsentRow {
    behaviour: i64,
    personalised: i64,
}

#[derive(Deserialize)]
struct ProfileRow {
    body: String,
    version: i64,
}

/// A subject's consent and stored profile (with the version a write must still find).
pub struct Stored {
    pub consent: Option<Consent>,
    pub profile: Profile,
    pub version: Option<i64>,
}

/// The two statements reading a subject's consent and profile, for a read batch; their results
/// are read back by [`stored_at`].
pub fn stored_reads(db: &D1Database, key: &str) -> Result<[D1PreparedStatement; 2], ApiError> {
    Ok([
        db::prepare(db, "SELECT behaviour, personalised FROM consents WHERE subject = ?1", &[db::text(key)])?,
        db::prepare(db, "SELECT body, version FROM profiles WHERE subject = ?1", &[db::text(key)])?,
    ])
}

/// The consent and profile of a batch whose results `at` and `at + 1` are [`stored_reads`].
pub fn stored_at(results: &[worker::D1Result], at: usize) -> Result<Stored, ApiError> {
    let consent = db::first::<ConsentRow>(results, at)?
        .map(|c| Consent { behaviour: c.behaviour == 1, personalised: c.personalised == 1 });
    let (profile, version) = match db::first::<ProfileRow>(results, at + 1)? {
        Some(row) => (db::stored(serde_json::from_str(&row.body))?, Some(row.version)),
        None => (Profile::default(), None),
    };
    Ok(Stored { consent, profile, version })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsentForm {
    behaviour: bool,
    personalised: bool,
}

/// `PUT /api/me/consent`: what the person agrees to. A caller with neither a session nor a
/// visitor id becomes a visitor here, and gets its id back.
pub async fn set_consent(env: &Env, req: &Request, text: &str) -> Result<Response, ApiError> {
    let form: ConsentForm = body::parse_json(text)?;
    let subject = match subject(env, req).await? {
        Some(subject) => subject,
        None => Subject::Visitor(config::new_id("v")?),
    };
    let now = config::now(env).await?;
    let db = db::database(env)?;
    let mut writes = vec![db::prepare(
        &db,
        "INSERT INTO consents (subject, behaviour, personalised, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (subject) DO UPDATE SET behaviour = ?2, personalised = ?3, updated_at = ?4",
        &[
            db::text(&subject.key()),
            db::integer(i64::from(form.behaviour)),
            db::integer(i64::from(form.personalised)),
            db::integer(now.millis()),
        ],
    )?];
    // The cards this browser opened before agreeing become the person's (their clerk keeps them).
    if form.behaviour
        && let Some(anon) = anonymous_key(req)
    {
        writes.extend(move_visits(&db, &anon, &subject.key())?);
    }
    db::batch(&db, writes).await?;
    let visitor = match &subject {
        Subject::Visitor(id) => Some(id.as_str()),
        Subject::Member(_) => None,
    };
    json_response(
        200,
        &json!({"subject": subject.kind(), "visitor": visitor, "behaviour": form.behaviour, "personalised": form.personalised}),
        "no-store",
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsForm {
    events: Vec<RawEvent>,
    /// For clerks and devices: whose events these are, by phone or by their card's code.
    #[serde(default)]
    customer_phone: Option<String>,
    #[serde(default)]
    customer_code: Option<String>,
}

fn batch_error(error: &BatchError) -> ApiError {
    match error {
        BatchError::BadEvent { index, field, message } => {
            ApiError::bad_request(format!("events[{index}].{field}"), message.clone())
        }
        other => ApiError::bad_request("events", other.to_string()),
    }
}

/// `POST /api/events`: a batch of the app's events for the caller.
pub async fn post_app_events(env: &Env, req: &Request, text: &str) -> Result<Response, ApiError> {
    let form: EventsForm = body::parse_json(text)?;
    if form.customer_phone.is_some() || form.customer_code.is_some() {
        return Err(ApiError::bad_request("customer_phone", "the app sends its own events only"));
    }
    let now = config::now(env).await?;
    let events = behaviour::check_batch(&form.events, &Source::App, now).map_err(|e| batch_error(&e))?;
    let subject = subject(env, req).await?.ok_or_else(consent_required)?;
    let stored = ingest(env, &subject, &events, "app", now).await?;
    json_response(200, &stored, "no-store")
}

/// `POST /api/store/{id}/events`: offline events a clerk records for a customer of the store.
pub async fn post_clerk_events(env: &Env, req: &Request, store: &str, text: &str) -> Result<Response, ApiError> {
    let form: EventsForm = body::parse_json(text)?;
    let (caller, access) = session::caller_with_access(env, req).await?;
    let (store_id, _) = session::require_store(&access, store)?;
    let now = config::now(env).await?;
    let events = behaviour::check_batch(&form.events, &Source::Clerk(store_id), now).map_err(|e| batch_error(&e))?;
    let member = customer(env, &form).await?;
    let source = format!("clerk:{}", &caller.phone_hash[..caller.phone_hash.len().min(12)]);
    let stored = ingest(env, &Subject::Member(member), &events, &source, now).await?;
    json_response(200, &stored, "no-store")
}

#[derive(Deserialize)]
struct DeviceRow {
    id: String,
    store_id: String,
}

/// `POST /api/devices/events`: events from an in-store device, authenticated by its store's
/// device key (`Authorization: Bearer …`).
pub async fn post_device_events(env: &Env, req: &Request, text: &str) -> Result<Response, ApiError> {
    let key = req
        .headers()
        .get("authorization")
        .ok()
        .flatten()
        .and_then(|value| value.strip_prefix("Bearer ").map(str::to_owned))
        .ok_or_else(device_refused)?;
    let db = db::database(env)?;
    let device: DeviceRow = db::one(db::prepare(
        &db,
        "SELECT id, store_id FROM store_devices WHERE key_hash = ?1 AND revoked_at IS NULL",
        &[db::text(&crypto::sha256_hex(key.trim().as_bytes()))],
    )?)
    .await?
    .ok_or_else(device_refused)?;
    let form: EventsForm = body::parse_json(text)?;
    let now = config::now(env).await?;
    let store = db::stored(StoreId::parse(&device.store_id))?;
    let events = behaviour::check_batch(&form.events, &Source::Device(store), now).map_err(|e| batch_error(&e))?;
    let member = customer(env, &form).await?;
    let stored = ingest(env, &Subject::Member(member), &events, &format!("device:{}", device.id), now).await?;
    json_response(200, &stored, "no-store")
}

fn device_refused() -> ApiError {
    ApiError::refused(Problem::DeviceKeyRequired, "send the store device's key as Authorization: Bearer …")
}

fn consent_required() -> ApiError {
    ApiError::refused(Problem::ConsentRequired, "the person has not agreed to their behaviour being recorded")
}

#[derive(Deserialize)]
struct IdRow {
    id: String,
}

/// The member a clerk or device names, by phone or by card code; 404 when there is none.
async fn customer(env: &Env, form: &EventsForm) -> Result<String, ApiError> {
    let db = db::database(env)?;
    let statement = match (&form.customer_phone, &form.customer_code) {
        (Some(phone), None) => {
            let phone = tandem_domain::auth::Phone::parse(phone)
                .map_err(|e| ApiError::bad_request("customer_phone", e.to_string()))?;
            let lookup = phone.lookup_hash(&config::key(env, "LOOKUP_KEY")?);
            db::prepare(&db, "SELECT id FROM members WHERE phone_hash = ?1", &[db::text(&lookup)])?
        }
        (None, Some(code)) => db::prepare(
            &db,
            "SELECT member_id AS id FROM chain_members WHERE invite_code = ?1",
            &[db::text(code.trim())],
        )?,
        _ => {
            return Err(ApiError::bad_request(
                "customer_phone",
                "name the customer by customer_phone or customer_code",
            ));
        }
    };
    let row: Option<IdRow> = db::one(statement).await?;
    row.map(|row| row.id).ok_or(ApiError::NotFound { resource: "customer" })
}

#[derive(Deserialize)]
struct EventIdRow {
    event_id: String,
}

#[derive(Deserialize)]
struct FactsRow {
    id: String,
    category: String,
    price_fen: Option<i64>,
}

/// What an ingest did.
#[derive(Debug, serde::Serialize)]
pub struct Ingested {
    pub accepted: usize,
    pub duplicates: usize,
}

/// Stores the new events of a checked batch and folds them into the subject's profile, in one
/// batch guarded by the profile's version.
pub async fn ingest(
    env: &Env,
    subject: &Subject,
    events: &[Event],
    source: &str,
    now: Timestamp,
) -> Result<Ingested, ApiError> {
    let db = db::database(env)?;
    let key = subject.key();
    let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    let ids_json = serde_json::to_string(&ids).map_err(ApiError::internal)?;
    let mut products: Vec<&str> = events.iter().filter_map(|e| e.what.product().map(ProductId::as_str)).collect();
    products.sort_unstable();
    products.dedup();
    let products_json = serde_json::to_string(&products).map_err(ApiError::internal)?;
    let config = profile::Config::default();
    for _ in 0..TRIES {
        let [consent_read, profile_read] = stored_reads(&db, &key)?;
        let results = db::batch(
            &db,
            vec![
                consent_read,
                profile_read,
                db::prepare(
                    &db,
                    "SELECT event_id FROM behaviour_events WHERE subject = ?1 AND event_id IN (SELECT value FROM json_each(?2))",
                    &[db::text(&key), db::text(&ids_json)],
                )?,
                db::prepare(
                    &db,
                    "SELECT p.id, p.category, (SELECT MIN(min_price_fen) FROM skus WHERE product_id = p.id) AS price_fen
                     FROM products p WHERE p.id IN (SELECT value FROM json_each(?1))",
                    &[db::text(&products_json)],
                )?,
            ],
        )
        .await?;
        let Stored { consent, mut profile, version } = stored_at(&results, 0)?;
        if !consent.is_some_and(|c| c.behaviour) {
            return Err(consent_required());
        }
        let known: BTreeSet<String> = db::nth::<EventIdRow>(&results, 2)?.into_iter().map(|r| r.event_id).collect();
        let facts: HashMap<String, Facts> = db::nth::<FactsRow>(&results, 3)?
            .into_iter()
            .filter_map(|row| {
                let category = Category::parse(&row.category).ok()?;
                Some((row.id, Facts { category, price: Fen(row.price_fen.unwrap_or(0)) }))
            })
            .collect();
        for (index, event) in events.iter().enumerate() {
            if let Some(product) = event.what.product()
                && !facts.contains_key(product.as_str())
            {
                return Err(ApiError::bad_request(
                    format!("events[{index}].product"),
                    format!("unknown product {product}"),
                ));
            }
        }
        let mut seen = known.clone();
        let mut writes: Vec<D1PreparedStatement> = Vec::new();
        let mut accepted = 0;
        for event in events {
            if !seen.insert(event.id.as_str().to_owned()) {
                continue;
            }
            accepted += 1;
            profile.apply(event, event.what.product().and_then(|p| facts.get(p.as_str())), &config);
            writes.push(insert_event(&db, &key, event, source)?);
        }
        let duplicates = events.len() - accepted;
        if accepted == 0 {
            return Ok(Ingested { accepted, duplicates });
        }
        writes.push(save_profile(&db, &key, &profile, version, now)?);
        if db::guarded_batch(&db, writes).await?.is_some() {
            return Ok(Ingested { accepted, duplicates });
        }
    }
    Err(ApiError::refused(Problem::Busy, "the profile is being updated by another request; try again"))
}

fn insert_event(db: &D1Database, subject: &str, event: &Event, source: &str) -> Result<D1PreparedStatement, ApiError> {
    db::prepare(
        db,
        "INSERT INTO behaviour_events (subject, event_id, kind, product_id, store_id, at, source, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        &[
            db::text(subject),
            db::text(event.id.as_str()),
            db::text(event.what.kind()),
            db::optional_text(event.what.product().map(ProductId::as_str)),
            db::optional_text(event.what.store().map(StoreId::as_str)),
            db::integer(event.at.millis()),
            db::text(source),
            db::text(&serde_json::to_string(event).map_err(ApiError::internal)?),
        ],
    )
}

/// Writes a profile: an insert when there was none (a concurrent insert fails the primary key),
/// else an update that only goes through at the version read (NOT NULL refuses a stale one).
fn save_profile(
    db: &D1Database,
    subject: &str,
    profile: &Profile,
    read_version: Option<i64>,
    now: Timestamp,
) -> Result<D1PreparedStatement, ApiError> {
    let body = serde_json::to_string(profile).map_err(ApiError::internal)?;
    match read_version {
        None => db::prepare(
            db,
            "INSERT INTO profiles (subject, body, version, updated_at) VALUES (?1, ?2, 1, ?3)",
            &[db::text(subject), db::text(&body), db::integer(now.millis())],
        ),
        Some(version) => db::prepare(
            db,
            "UPDATE profiles SET body = ?2, updated_at = ?4, version = CASE WHEN version = ?3 THEN version + 1 END
             WHERE subject = ?1",
            &[db::text(subject), db::text(&body), db::integer(version), db::integer(now.millis())],
        ),
    }
}

/// The subject of a "me" route, or 404 for a caller who never consented (there is nothing).
async fn known_subject(env: &Env, req: &Request) -> Result<Subject, ApiError> {
    subject(env, req).await?.ok_or(ApiError::NotFound { resource: "profile" })
}

/// `GET /api/me/profile`: the person's consent, tags, segment and how much was recorded.
pub async fn my_profile(env: &Env, req: &Request) -> Result<Response, ApiError> {
    let subject = known_subject(env, req).await?;
    let now = config::now(env).await?;
    let db = db::database(env)?;
    let key = subject.key();
    let [consent_read, profile_read] = stored_reads(&db, &key)?;
    let subjects = serde_json::to_string(&[&key]).map_err(ApiError::internal)?;
    let results = db::batch(&db, vec![consent_read, profile_read, orders_read(&db, &subjects)?]).await?;
    let Stored { consent, mut profile, .. } = stored_at(&results, 0)?;
    let config = profile::Config::default();
    with_orders(&mut profile, &key, &db::nth(&results, 2)?, &config);
    json_response(200, &profile.view(subject.kind(), consent, now, &config), "no-store")
}

/// A paid online order, as the RFM counters see it.
#[derive(Deserialize)]
pub struct OrderTouch {
    subject: String,
    amount_fen: i64,
    paid_at: i64,
}

/// The statement reading the paid online orders (what is left after refunds) of the members
/// among `subjects` (a JSON array of subject keys). Online orders are not behaviour events:
/// they join the profile when it is read (see [`with_orders`]), never its stored body.
pub fn orders_read(db: &D1Database, subjects: &str) -> Result<D1PreparedStatement, ApiError> {
    db::prepare(
        db,
        "SELECT 'm:' || member_id AS subject, goods_fen - refunded_goods_fen AS amount_fen, paid_at FROM orders
         WHERE paid_at IS NOT NULL AND goods_fen > refunded_goods_fen
           AND member_id IN (SELECT substr(value, 3) FROM json_each(?1) WHERE value LIKE 'm:%')",
        &[db::text(subjects)],
    )
}

/// Counts a subject's online orders into a profile read for showing or targeting.
pub fn with_orders(profile: &mut Profile, subject: &str, orders: &[OrderTouch], config: &profile::Config) {
    for order in orders.iter().filter(|o| o.subject == subject) {
        profile.purchased(Fen(order.amount_fen), Timestamp(order.paid_at), config);
    }
}

/// `DELETE /api/me/profile/tags/{key}`: removes a tag and stops inferring it.
pub async fn mute_tag(env: &Env, req: &Request, tag: &str) -> Result<Response, ApiError> {
    let tag = percent_decode(tag);
    if profile::label_of(&tag).is_none() {
        return Err(ApiError::bad_request("tag", format!("{tag:?} is not a profile tag")));
    }
    let subject = known_subject(env, req).await?;
    let now = config::now(env).await?;
    let db = db::database(env)?;
    let key = subject.key();
    for _ in 0..TRIES {
        let Stored { mut profile, version, .. } =
            stored_at(&db::batch(&db, stored_reads(&db, &key)?.into()).await?, 0)?;
        profile.mute(&tag);
        let write = save_profile(&db, &key, &profile, version, now)?;
        if db::guarded_batch(&db, vec![write]).await?.is_some() {
            return json_response(200, &json!({"muted": tag}), "no-store");
        }
    }
    Err(ApiError::refused(Problem::Busy, "the profile is being updated by another request; try again"))
}

/// A path segment as sent (`category%3Ababy`) decoded by the platform's decodeURIComponent;
/// a malformed one stays as it came (and is then no known tag).
fn percent_decode(text: &str) -> String {
    worker::js_sys::decode_uri_component(text)
        .ok()
        .and_then(|decoded| decoded.as_string())
        .unwrap_or_else(|| text.to_owned())
}

#[derive(Deserialize)]
struct StoredEventRow {
    body: String,
    source: String,
}

#[derive(Deserialize)]
struct OrderRow {
    id: String,
    store_id: String,
    state: String,
    total_fen: i64,
    created_at: i64,
}

/// `GET /api/me/export`: everything kept about the person, as one JSON document.
pub async fn export(env: &Env, req: &Request) -> Result<Response, ApiError> {
    let subject = known_subject(env, req).await?;
    let now = config::now(env).await?;
    let db = db::database(env)?;
    let key = subject.key();
    let member = match &subject {
        Subject::Member(id) => id.clone(),
        Subject::Visitor(_) => String::new(),
    };
    let [consent_read, profile_read] = stored_reads(&db, &key)?;
    let results = db::batch(
        &db,
        vec![
            consent_read,
            profile_read,
            db::prepare(&db, "SELECT body, source FROM behaviour_events WHERE subject = ?1 ORDER BY at, event_id", &[db::text(&key)])?,
            db::prepare(
                &db,
                "SELECT id, store_id, state, total_fen, created_at FROM orders WHERE member_id = ?1 ORDER BY created_at",
                &[db::text(&member)],
            )?,
        ],
    )
    .await?;
    let stored = stored_at(&results, 0)?;
    // A person with no stored profile exports `null`, not an empty one.
    let profile = stored.version.is_some().then_some(&stored.profile);
    let events: Vec<Value> = db::nth::<StoredEventRow>(&results, 2)?
        .into_iter()
        .map(|row| {
            let mut event: Value = db::stored(serde_json::from_str(&row.body))?;
            event["source"] = Value::String(row.source);
            Ok(event)
        })
        .collect::<Result<_, ApiError>>()?;
    let orders: Vec<Value> = db::nth::<OrderRow>(&results, 3)?
        .into_iter()
        .map(|o| json!({"id": o.id, "store_id": o.store_id, "state": o.state, "total_fen": o.total_fen, "created_at": o.created_at}))
        .collect();
    let mut response = json_response(
        200,
        &json!({
            "exported_at": now,
            "subject": subject.kind(),
            "member_id": (!member.is_empty()).then_some(member),
            "consent": stored.consent,
            "profile": profile,
            "events": events,
            "orders": orders,
        }),
        "no-store",
    )?;
    response
        .headers_mut()
        .set("content-disposition", "attachment; filename=\"tandem-my-data.json\"")
        .map_err(ApiError::internal)?;
    Ok(response)
}

/// `DELETE /api/me/behaviour`: erases the person's events and profile. Orders and the ledger
/// stay, as the law requires; so does the consent record (what they agreed to and when).
pub async fn erase(env: &Env, req: &Request) -> Result<Response, ApiError> {
    let subject = known_subject(env, req).await?;
    let db = db::database(env)?;
    let key = subject.key();
    let results = db::batch(
        &db,
        vec![
            db::prepare(&db, "DELETE FROM behaviour_events WHERE subject = ?1", &[db::text(&key)])?,
            db::prepare(&db, "DELETE FROM profiles WHERE subject = ?1", &[db::text(&key)])?,
        ],
    )
    .await?;
    let events = results.first().map_or(0, db::changes);
    json_response(
        200,
        &json!({"deleted_events": events, "deleted_profile": results.get(1).map_or(0, db::changes) > 0}),
        "no-store",
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceForm {
    name: String,
}

/// `POST /api/store/{id}/devices`: the store's owner registers a device and receives its key,
/// once (only its hash is kept).
pub async fn create_device(env: &Env, req: &Request, store: &str, text: &str) -> Result<Response, ApiError> {
    let form: DeviceForm = body::parse_json(text)?;
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 40 || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request("name", "1 to 40 characters"));
    }
    let store_id = store_manager(env, req, store).await?;
    let now = config::now(env).await?;
    let id = config::new_id("dev")?;
    let key = format!("tdk_{}", crypto::hex(&config::random_bytes::<24>()?));
    let db = db::database(env)?;
    db::run(db::prepare(
        &db,
        "INSERT INTO store_devices (id, store_id, name, key_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        &[
            db::text(&id),
            db::text(store_id.as_str()),
            db::text(name),
            db::text(&crypto::sha256_hex(key.as_bytes())),
            db::integer(now.millis()),
        ],
    )?)
    .await?;
    json_response(201, &json!({"id": id, "store_id": store_id, "name": name, "key": key}), "no-store")
}

#[derive(Deserialize, serde::Serialize)]
struct DeviceListRow {
    id: String,
    name: String,
    created_at: i64,
    revoked_at: Option<i64>,
}

/// The store's manager, or 403 `owner_only` (404 for another store).
async fn store_manager(env: &Env, req: &Request, store: &str) -> Result<StoreId, ApiError> {
    let (_, access) = session::caller_with_access(env, req).await?;
    let (store_id, right) = session::require_store(&access, store)?;
    if right != tandem_domain::access::StoreRight::Manage {
        return Err(ApiError::refused(Problem::OwnerOnly, "only the store's owner manages devices"));
    }
    Ok(store_id)
}

/// `GET /api/store/{id}/devices`: the store's devices (never their keys), newest first.
pub async fn list_devices(env: &Env, req: &Request, store: &str) -> Result<Response, ApiError> {
    let store_id = store_manager(env, req, store).await?;
    let db = db::database(env)?;
    let devices: Vec<DeviceListRow> = db::all(db::prepare(
        &db,
        "SELECT id, name, created_at, revoked_at FROM store_devices WHERE store_id = ?1 ORDER BY created_at DESC, id",
        &[db::text(store_id.as_str())],
    )?)
    .await?;
    json_response(200, &json!({"devices": devices}), "no-store")
}

/// `DELETE /api/store/{id}/devices/{device}`: revokes a device's key; its requests are refused
/// from then on. Revoking again is a no-op.
pub async fn revoke_device(env: &Env, req: &Request, store: &str, device: &str) -> Result<Response, ApiError> {
    let store_id = store_manager(env, req, store).await?;
    let now = config::now(env).await?;
    let db = db::database(env)?;
    let revoked: Option<DeviceListRow> = db::one(db::prepare(
        &db,
        "UPDATE store_devices SET revoked_at = COALESCE(revoked_at, ?3) WHERE id = ?1 AND store_id = ?2
         RETURNING id, name, created_at, revoked_at",
        &[db::text(device), db::text(store_id.as_str()), db::integer(now.millis())],
    )?)
    .await?;
    let revoked = revoked.ok_or(ApiError::NotFound { resource: "device" })?;
    json_response(200, &revoked, "no-store")
}

#[derive(Deserialize)]
struct CountRow {
    n: i64,
}

#[derive(Deserialize)]
struct BodyRow {
    body: String,
}

/// At sign-in: what an anonymous visitor did on this device becomes the member's. The
/// consented visitor's events, consent (unless the member has their own), card visits and clerk
/// attribution move to the member, and the member's profile is rebuilt from all their events
/// with both sets of removed tags kept removed; an anonymous browser's card visits and
/// attribution move too. Safe to run again: moved rows are gone from the visitor.
pub async fn merge_visitor(env: &Env, req: &Request, member: &str, now: Timestamp) -> Result<(), ApiError> {
    let to = format!("m:{member}");
    let visitor = req.headers().get(VISITOR_HEADER).ok().flatten().filter(|id| well_formed_visitor(id));
    let anon = anonymous_key(req);
    let from: Vec<String> = visitor.iter().map(|v| format!("v:{v}")).chain(anon).collect();
    if from.is_empty() {
        return Ok(());
    }
    let db = db::database(env)?;
    let mut writes = Vec::new();
    let mut muted: BTreeSet<String> = BTreeSet::new();
    let mut moved_events = false;
    for key in &from {
        let values = [db::text(key), db::text(&to)];
        if key.starts_with("v:") {
            let [_, profile_read] = stored_reads(&db, key)?;
            let counted =
                db::prepare(&db, "SELECT COUNT(*) AS n FROM behaviour_events WHERE subject = ?1", &[db::text(key)])?;
            let results = db::batch(&db, vec![profile_read, counted]).await?;
            if let Some(row) = db::first::<ProfileRow>(&results, 0)? {
                let profile: Profile = db::stored(serde_json::from_str(&row.body))?;
                muted.extend(profile.muted);
            }
            moved_events = db::first::<CountRow>(&results, 1)?.is_some_and(|n| n.n > 0);
            for sql in [
                "UPDATE OR IGNORE behaviour_events SET subject = ?2 WHERE subject = ?1",
                "DELETE FROM behaviour_events WHERE subject = ?1",
                "INSERT INTO consents (subject, behaviour, personalised, updated_at)
                 SELECT ?2, behaviour, personalised, updated_at FROM consents WHERE subject = ?1
                 ON CONFLICT (subject) DO NOTHING",
                "DELETE FROM consents WHERE subject = ?1",
                "DELETE FROM profiles WHERE subject = ?1",
            ] {
                writes.push(db::prepare(&db, sql, bound(sql, &values))?);
            }
        }
        writes.extend(move_visits(&db, key, &to)?);
    }
    db::batch(&db, writes).await?;
    if moved_events {
        rebuild_profile(&db, &to, muted, now).await?;
    }
    Ok(())
}

/// The anonymous browser key of the request's `tandem_visitor` cookie (`anon:…`).
fn anonymous_key(req: &Request) -> Option<String> {
    session::cookie(req, super::chain::VISITOR_COOKIE)
        .filter(|v| v.len() == 16 && v.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(|v| format!("anon:{v}"))
}

/// The statements that give `from`'s card visits and clerk attribution to `to` (where `to`
/// already has an attribution at a store, theirs stays).
fn move_visits(db: &D1Database, from: &str, to: &str) -> Result<Vec<D1PreparedStatement>, ApiError> {
    let values = [db::text(from), db::text(to)];
    [
        "UPDATE OR IGNORE card_visits SET visitor = ?2 WHERE visitor = ?1",
        "DELETE FROM card_visits WHERE visitor = ?1",
        "UPDATE OR IGNORE clerk_customers SET subject = ?2 WHERE subject = ?1",
        "DELETE FROM clerk_customers WHERE subject = ?1",
    ]
    .into_iter()
    .map(|sql| db::prepare(db, sql, bound(sql, &values)))
    .collect()
}

/// The values a statement uses: D1 refuses more bindings than the SQL has.
fn bound<'a>(sql: &str, values: &'a [worker::wasm_bindgen::JsValue; 2]) -> &'a [worker::wasm_bindgen::JsValue] {
    if sql.contains("?2") { values } else { &values[..1] }
}

/// Rebuilds a subject's profile from all their stored events, keeping its removed tags and
/// adding `muted`, under the profile's version guard.
async fn rebuild_profile(db: &D1Database, key: &str, muted: BTreeSet<String>, now: Timestamp) -> Result<(), ApiError> {
    let config = profile::Config::default();
    for _ in 0..TRIES {
        let [_, profile_read] = stored_reads(db, key)?;
        let results = db::batch(
            db,
            vec![
                profile_read,
                db::prepare(db, "SELECT body FROM behaviour_events WHERE subject = ?1 ORDER BY at", &[db::text(key)])?,
                db::prepare(
                    db,
                    "SELECT p.id, p.category, (SELECT MIN(min_price_fen) FROM skus WHERE product_id = p.id) AS price_fen
                     FROM products p WHERE p.id IN (SELECT DISTINCT product_id FROM behaviour_events WHERE subject = ?1)",
                    &[db::text(key)],
                )?,
            ],
        )
        .await?;
        let (mut all_muted, version) = match db::first::<ProfileRow>(&results, 0)? {
            Some(row) => (db::stored(serde_json::from_str::<Profile>(&row.body))?.muted, Some(row.version)),
            None => (BTreeSet::new(), None),
        };
        all_muted.extend(muted.iter().cloned());
        let events: Vec<Event> = db::nth::<BodyRow>(&results, 1)?
            .iter()
            .map(|row| db::stored(serde_json::from_str::<Event>(&row.body)))
            .collect::<Result<_, _>>()?;
        let facts: HashMap<String, Facts> = db::nth::<FactsRow>(&results, 2)?
            .into_iter()
            .filter_map(|row| {
                let category = Category::parse(&row.category).ok()?;
                Some((row.id, Facts { category, price: Fen(row.price_fen.unwrap_or(0)) }))
            })
            .collect();
        let rebuilt = Profile::rebuild(
            events.iter().map(|e| (e, e.what.product().and_then(|p| facts.get(p.as_str())))),
            all_muted,
            &config,
        );
        if db::guarded_batch(db, vec![save_profile(db, key, &rebuilt, version, now)?]).await?.is_some() {
            return Ok(());
        }
    }
    Err(ApiError::refused(Problem::Busy, "the profile is being updated by another request; try again"))
}
