//! The AI business card's memory over HTTP: consent, behaviour events from the app, clerks and
//! in-store devices, the person's own profile (see, mute, export, erase), and device keys.
//!
//! Events are checked whole by `domain::behaviour` before anything is written; the new ones
//! (a repeated client id is ignored) are folded into the profile by `profile::ingest`, and the
//! events and the profile are written in one batch guarded by the profile's version, retried
//! when another batch for the same person got there first (`crate::memory`).

use tandem_domain::api::Problem;
use tandem_domain::api::memory::{ConsentAnswer, DeviceCreated, Devices, Erased, Export, Muted};
use tandem_domain::api::memory::{ConsentRequest, EventsRequest, NewDevice};
use tandem_domain::behaviour::{self, BatchError, Source};
use tandem_domain::catalog::StoreId;
use tandem_domain::crypto;
use tandem_domain::profile::{self, Consent};
use tandem_domain::time::Timestamp;
use worker::{Env, Request, Response};

use super::json_response;
use crate::error::ApiError;
use crate::memory::{self, Subject};
use crate::store::d1::D1;
use crate::store::profiles;
use crate::{body, config, db, session};

/// Tries of a profile update that lost a race to another write for the same person.
const TRIES: usize = 5;

/// `PUT /api/me/consent`: what the person agrees to. A caller with neither a session nor a
/// visitor id becomes a visitor here, and gets its id back.
pub async fn set_consent(env: &Env, req: &Request, text: &str, now: Timestamp) -> Result<Response, ApiError> {
    let form: ConsentRequest = body::parse_json(text)?;
    let subject = match memory::subject(env, req, now).await? {
        Some(subject) => subject,
        None => Subject::Visitor(config::new_id("v")?),
    };
    let db = db::database(env)?;
    let consent = Consent { behaviour: form.behaviour, personalised: form.personalised };
    profiles::set_consent(&D1(&db), &subject.key(), consent, now).await?;
    let visitor = match &subject {
        Subject::Visitor(id) => Some(id.as_str()),
        Subject::Member(_) => None,
    };
    json_response(
        200,
        &ConsentAnswer {
            subject: subject.kind().to_owned(),
            visitor: visitor.map(str::to_owned),
            behaviour: form.behaviour,
            personalised: form.personalised,
        },
        "no-store",
    )
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
pub async fn post_app_events(env: &Env, req: &Request, text: &str, now: Timestamp) -> Result<Response, ApiError> {
    let form: EventsRequest = body::parse_json(text)?;
    if form.customer_phone.is_some() || form.customer_code.is_some() {
        return Err(ApiError::bad_request("customer_phone", "the app sends its own events only"));
    }
    let events = behaviour::check_batch(&form.events, &Source::App, now).map_err(|e| batch_error(&e))?;
    let subject = memory::subject(env, req, now).await?.ok_or_else(memory::consent_required)?;
    let stored = memory::ingest(env, &subject, &events, "app", now).await?;
    json_response(200, &stored, "no-store")
}

/// `POST /api/store/{id}/events`: offline events a clerk records for a customer of the store.
pub async fn post_clerk_events(
    env: &Env,
    req: &Request,
    store: &str,
    text: &str,
    now: Timestamp,
) -> Result<Response, ApiError> {
    let form: EventsRequest = body::parse_json(text)?;
    let (caller, access) = session::caller_with_access(env, req, now).await?;
    let (store_id, _) = session::require_store(&access, store)?;
    let events = behaviour::check_batch(&form.events, &Source::Clerk(store_id), now).map_err(|e| batch_error(&e))?;
    let member = customer(env, &form).await?;
    let source = format!("clerk:{}", &caller.phone_hash[..caller.phone_hash.len().min(12)]);
    let stored = memory::ingest(env, &Subject::Member(member), &events, &source, now).await?;
    json_response(200, &stored, "no-store")
}

/// `POST /api/devices/events`: events from an in-store device, authenticated by its store's
/// device key (`Authorization: Bearer …`).
pub async fn post_device_events(env: &Env, req: &Request, text: &str, now: Timestamp) -> Result<Response, ApiError> {
    let key = req
        .headers()
        .get("authorization")
        .ok()
        .flatten()
        .and_then(|value| value.strip_prefix("Bearer ").map(str::to_owned))
        .ok_or_else(device_refused)?;
    let db = db::database(env)?;
    let (device, store) = profiles::device_by_key(&D1(&db), &crypto::sha256_hex(key.trim().as_bytes()))
        .await?
        .ok_or_else(device_refused)?;
    let form: EventsRequest = body::parse_json(text)?;
    let store = db::stored(StoreId::parse(&store))?;
    let events = behaviour::check_batch(&form.events, &Source::Device(store), now).map_err(|e| batch_error(&e))?;
    let member = customer(env, &form).await?;
    let stored = memory::ingest(env, &Subject::Member(member), &events, &format!("device:{device}"), now).await?;
    json_response(200, &stored, "no-store")
}

fn device_refused() -> ApiError {
    ApiError::refused(Problem::DeviceKeyRequired, "send the store device's key as Authorization: Bearer …")
}

/// The member a clerk or device names, by phone or by card code; 404 when there is none.
async fn customer(env: &Env, form: &EventsRequest) -> Result<String, ApiError> {
    let db = db::database(env)?;
    let store = D1(&db);
    let member = match (&form.customer_phone, &form.customer_code) {
        (Some(phone), None) => {
            let phone = tandem_domain::auth::Phone::parse(phone)
                .map_err(|e| ApiError::bad_request("customer_phone", e.to_string()))?;
            profiles::member_by_phone(&store, &phone.lookup_hash(&config::key(env, "LOOKUP_KEY")?)).await?
        }
        (None, Some(code)) => profiles::member_by_code(&store, code.trim()).await?,
        _ => {
            return Err(ApiError::bad_request(
                "customer_phone",
                "name the customer by customer_phone or customer_code",
            ));
        }
    };
    member.ok_or(ApiError::NotFound { resource: "customer" })
}

/// The subject of a "me" route, or 404 for a caller who never consented (there is nothing).
async fn known_subject(env: &Env, req: &Request, now: Timestamp) -> Result<Subject, ApiError> {
    memory::subject(env, req, now).await?.ok_or(ApiError::NotFound { resource: "profile" })
}

/// `GET /api/me/profile`: the person's consent, tags, segment and how much was recorded.
pub async fn my_profile(env: &Env, req: &Request, now: Timestamp) -> Result<Response, ApiError> {
    let subject = known_subject(env, req, now).await?;
    let db = db::database(env)?;
    let key = subject.key();
    let (stored, purchases) = profiles::with_purchases(&D1(&db), &key).await?;
    let config = profile::Config::default();
    let mut profile = stored.profile;
    profile.with_purchases(profiles::of_subject(&purchases, &key), &config);
    json_response(200, &profile.view(subject.kind(), stored.consent, now, &config), "no-store")
}

/// `DELETE /api/me/profile/tags/{key}`: removes a tag and stops inferring it.
pub async fn mute_tag(env: &Env, req: &Request, tag: &str, now: Timestamp) -> Result<Response, ApiError> {
    let tag = percent_decode(tag);
    if profile::label_of(&tag).is_none() {
        return Err(ApiError::bad_request("tag", format!("{tag:?} is not a profile tag")));
    }
    let subject = known_subject(env, req, now).await?;
    let db = db::database(env)?;
    let store = D1(&db);
    let key = subject.key();
    for _ in 0..TRIES {
        let profiles::Stored { mut profile, version, .. } = profiles::stored_of(&store, &key).await?;
        profile.mute(&tag);
        if profiles::save_profile(&store, &key, &profile, version, now).await?.written() {
            return json_response(200, &Muted { muted: tag.clone() }, "no-store");
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

/// `GET /api/me/export`: everything kept about the person, as one JSON document.
pub async fn export(env: &Env, req: &Request, now: Timestamp) -> Result<Response, ApiError> {
    let subject = known_subject(env, req, now).await?;
    let db = db::database(env)?;
    let key = subject.key();
    let member = match &subject {
        Subject::Member(id) => id.clone(),
        Subject::Visitor(_) => String::new(),
    };
    let (stored, events, orders) = profiles::export(&D1(&db), &key, &member).await?;
    let export = Export {
        exported_at: now,
        subject: subject.kind().to_owned(),
        member_id: (!member.is_empty()).then_some(member),
        consent: stored.consent,
        // A person with no stored profile exports `null`, not an empty one.
        profile: stored.version.is_some().then_some(stored.profile),
        events,
        orders,
    };
    let mut response = json_response(200, &export, "no-store")?;
    response
        .headers_mut()
        .set("content-disposition", "attachment; filename=\"tandem-my-data.json\"")
        .map_err(ApiError::internal)?;
    Ok(response)
}

/// `DELETE /api/me/behaviour`: erases the person's events and profile. Orders and the ledger
/// stay, as the law requires; so does the consent record (what they agreed to and when).
pub async fn erase(env: &Env, req: &Request, now: Timestamp) -> Result<Response, ApiError> {
    let subject = known_subject(env, req, now).await?;
    let db = db::database(env)?;
    let (events, profile) = profiles::erase(&D1(&db), &subject.key()).await?;
    json_response(200, &Erased { deleted_events: events, deleted_profile: profile }, "no-store")
}

/// `POST /api/store/{id}/devices`: the store's owner registers a device and receives its key,
/// once (only its hash is kept).
pub async fn create_device(
    env: &Env,
    req: &Request,
    store: &str,
    text: &str,
    now: Timestamp,
) -> Result<Response, ApiError> {
    let form: NewDevice = body::parse_json(text)?;
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 40 || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request("name", "1 to 40 characters"));
    }
    let store_id = store_manager(env, req, store, now).await?;
    let id = config::new_id("dev")?;
    let key = format!("tdk_{}", crypto::hex(&config::random_bytes::<24>()?));
    let db = db::database(env)?;
    let device = (id.as_str(), store_id.as_str(), name);
    profiles::add_device(&D1(&db), device, &crypto::sha256_hex(key.as_bytes()), now).await?;
    let created = DeviceCreated { id, store_id: store_id.as_str().to_owned(), name: name.to_owned(), key };
    json_response(201, &created, "no-store")
}

/// The store's manager, or 403 `owner_only` (404 for another store).
async fn store_manager(env: &Env, req: &Request, store: &str, now: Timestamp) -> Result<StoreId, ApiError> {
    let (_, access) = session::caller_with_access(env, req, now).await?;
    let (store_id, right) = session::require_store(&access, store)?;
    if right != tandem_domain::access::StoreRight::Manage {
        return Err(ApiError::refused(Problem::OwnerOnly, "only the store's owner manages devices"));
    }
    Ok(store_id)
}

/// `GET /api/store/{id}/devices`: the store's devices (never their keys), newest first.
pub async fn list_devices(env: &Env, req: &Request, store: &str, now: Timestamp) -> Result<Response, ApiError> {
    let store_id = store_manager(env, req, store, now).await?;
    let db = db::database(env)?;
    let devices = profiles::devices(&D1(&db), store_id.as_str()).await?;
    json_response(200, &Devices { devices }, "no-store")
}

/// `DELETE /api/store/{id}/devices/{device}`: revokes a device's key; its requests are refused
/// from then on. Revoking again is a no-op.
pub async fn revoke_device(
    env: &Env,
    req: &Request,
    store: &str,
    device: &str,
    now: Timestamp,
) -> Result<Response, ApiError> {
    let store_id = store_manager(env, req, store, now).await?;
    let db = db::database(env)?;
    let revoked = profiles::revoke_device(&D1(&db), store_id.as_str(), device, now)
        .await?
        .ok_or(ApiError::NotFound { resource: "device" })?;
    json_response(200, &revoked, "no-store")
}
