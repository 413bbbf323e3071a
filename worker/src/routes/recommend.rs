//! Recommendations over HTTP: `GET /api/recommendations` serves a placement from the trained
//! model (`crate::model`) with the caller's own touches and profile. A clerk's notes of a
//! conversation are analysed here too, with suggestions from the same model.

use tandem_domain::api::memory::NoteRequest;
use tandem_domain::catalog::{ProductId, StoreId, Text};
use tandem_domain::conversation;
use tandem_domain::profile::{self, Profile};
use tandem_domain::promote;
use tandem_domain::recommend::serve::{self, FollowUp, Placed, Recommendation, RefinedBy};
use tandem_domain::time::Timestamp;
use worker::{Env, Request, Response};

use super::json_response;
use crate::db;
use crate::error::ApiError;
use crate::memory::{self, Subject};
use crate::model::{self, TRAINING_DAYS};
use crate::store::d1::D1;
use crate::store::{promotions, recommender};

/// A person's own touches read for a placement: the latest ones.
const OWN_TOUCHES: i64 = 300;

/// `GET /api/recommendations?store=…&placement=for_you|goes_with|tried_on[&product=…][&limit=…]`.
pub async fn recommendations(
    env: &Env,
    req: &Request,
    query: &[(&str, &str)],
    now: Timestamp,
) -> Result<Response, ApiError> {
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
    let subject = memory::subject(env, req, now).await?;
    let key = subject.as_ref().map(Subject::key).unwrap_or_default();
    let member = match &subject {
        Some(Subject::Member(id)) => Some(id.as_str()),
        _ => None,
    };
    let db = db::database(env)?;
    let read = recommender::placing(&D1(&db), &key, member, &store, now.plus_days(-TRAINING_DAYS), OWN_TOUCHES).await?;
    let personalised = subject.is_some() && read.stored.consent.is_some_and(|c| c.personalised);
    let profile: Option<Profile> = (personalised && read.stored.version.is_some()).then_some(read.stored.profile);
    let own = if personalised { read.own } else { Vec::new() };
    let (shelf, stores) = (read.shelf, read.stores);
    if shelf.is_empty() {
        return Err(ApiError::NotFound { resource: "store" });
    }
    let trained = model::trained(env, now).await?;
    let on_shelf = |product: &ProductId| shelf.contains(product);
    let picks: Vec<Recommendation> = match (placement, &product) {
        ("goes_with", Some(product)) => serve::goes_with(&trained, product, &on_shelf, limit),
        ("tried_on", _) => {
            let names = |store: &StoreId| stores.get(store).cloned();
            serve::tried_on(&trained, &own, &names, &on_shelf, limit)
        }
        _ => serve::for_you(&trained, &own, profile.as_ref(), personalised, now, &on_shelf, limit),
    };
    let items = recommender::cards(&D1(&db), &store, &picks).await?;
    let offer = match (placement, &profile) {
        ("tried_on", Some(profile)) if !items.is_empty() => {
            let store_name = stores.get(&store).cloned().unwrap_or_else(|| Text::new(store.as_str(), store.as_str()));
            let rules = promotions::in_force(&D1(&db), Some(&store)).await?.rules;
            let tags = profile.tags_shown(now, &profile::Config::default());
            promote::coupon_for(&rules, &tags, &store_name).map(Into::into)
        }
        _ => None,
    };
    let placed =
        Placed { placement: placement.to_owned(), personalised, items, model_built_at: trained.built_at, offer };
    json_response(200, &placed, "no-store")
}

/// `POST /api/store/{id}/conversations`: a clerk's notes of a conversation, understood by
/// `domain::conversation` (products, intent, objections, mood, a drafted follow-up and the next
/// contact date) with suggested products from the store's shelf. Nothing is stored.
pub async fn analyse_conversation(
    env: &Env,
    req: &Request,
    store: &str,
    text: &str,
    now: Timestamp,
) -> Result<Response, ApiError> {
    let form: NoteRequest = crate::body::parse_json(text)?;
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
    let (_, access) = crate::session::caller_with_access(env, req, now).await?;
    let (store_id, _) = crate::session::require_store(&access, store)?;
    let db = db::database(env)?;
    let (store_name, catalogue) =
        recommender::conversation_shelf(&D1(&db), &store_id).await?.ok_or(ApiError::NotFound { resource: "store" })?;
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
    let on_shelf = |product: &ProductId| catalogue.iter().any(|p| &p.id == product);
    let suggested = match analysis.mentions.first() {
        Some(first) => {
            let trained = model::trained(env, now).await?;
            let picks = serve::goes_with(&trained, &first.product, &on_shelf, 4);
            recommender::cards(&D1(&db), &store_id, &picks).await?
        }
        None => Vec::new(),
    };
    let refined_by = if refined { RefinedBy::Llm } else { RefinedBy::Local };
    json_response(200, &FollowUp { analysis, suggested, refined_by }, "no-store")
}
