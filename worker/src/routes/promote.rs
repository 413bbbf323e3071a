//! Promotion copy by segment over HTTP: the rules in force for a store (its own, else the
//! platform's, else `domain::promote`'s defaults), editing them (store managers, the operator),
//! the preview of who would get what, and the caller's own message at a store.
//!
//! Only people who agreed to personalisation are targeted; the preview counts the others
//! without showing them.

use tandem_domain::api::Problem;
use tandem_domain::api::promotions::RulesRequest;
use tandem_domain::api::promotions::{OfferAnswer, PromotionRules};
use tandem_domain::catalog::{StoreId, Text};
use tandem_domain::profile;
use tandem_domain::promote::{self, Audience, Message, Person, Rule};
use tandem_domain::time::Timestamp;
use worker::{D1Database, Env, Request, Response};

use super::json_response;
use crate::error::ApiError;
use crate::memory;
use crate::session::{self, caller_with_access, require_operator, require_store};
use crate::store::d1::D1;
use crate::store::sql::Guarded;
use crate::store::{profiles, promotions};
use crate::{body, db};

/// A preview looks at this many people at most.
const PREVIEW_PEOPLE: i64 = 300;

/// The people a preview shows: a store's customers (offline events there, attributed by its
/// clerks, or buyers of its orders), or everyone for the platform, who agreed to
/// personalisation; and how many more were left out for lack of that consent.
async fn people(
    env: &Env,
    db: &D1Database,
    store: Option<&StoreId>,
    now: Timestamp,
) -> Result<(Vec<Person>, i64), ApiError> {
    let (candidates, pool_size, purchases) = promotions::candidates(&D1(db), store, PREVIEW_PEOPLE).await?;
    let config = profile::Config::default();
    let mut out = Vec::with_capacity(candidates.len());
    for row in candidates {
        let mut profile = row.profile;
        profile.with_purchases(profiles::of_subject(&purchases, &row.subject), &config);
        let (name, known) = match (&row.display_name, row.phone_sealed.as_deref()) {
            (Some(name), _) => (name.clone(), true),
            (None, Some(sealed)) => (session::open_phone(env, sealed)?.masked(), false),
            (None, None) => {
                (format!("访客 · {}", &tandem_domain::crypto::sha256_hex(row.subject.as_bytes())[..4]), false)
            }
        };
        out.push(Person {
            name,
            known,
            segment: profile.segment(now, &config),
            tags: profile.tags_shown(now, &config),
        });
    }
    let left_out = pool_size - i64::try_from(out.len()).unwrap_or(0);
    Ok((out, left_out.max(0)))
}

async fn store_name(db: &D1Database, store: Option<&StoreId>) -> Result<Text, ApiError> {
    let Some(store) = store else { return Ok(Text::new("你常去的门店", "your store")) };
    let name = promotions::store_name(&D1(db), store).await?;
    Ok(name.unwrap_or_else(|| Text::new(store.as_str(), store.as_str())))
}

async fn answer(
    env: &Env,
    db: &D1Database,
    store: Option<&StoreId>,
    rules: Option<Vec<Rule>>,
    now: Timestamp,
) -> Result<Response, ApiError> {
    let force = promotions::in_force(&D1(db), store).await?;
    let draft = rules.is_some();
    let rules = rules.unwrap_or(force.rules);
    let (people, left_out) = people(env, db, store, now).await?;
    let preview = promote::preview(&rules, &people, &store_name(db, store).await?);
    let source = if draft { "draft" } else { force.source.as_str() };
    let answer = PromotionRules {
        source: source.to_owned(),
        version: force.own_version,
        rules,
        preview,
        without_consent: left_out,
    };
    json_response(200, &answer, "no-store")
}

/// Which scope a route edits: a store (its staff see, its managers edit) or the platform.
async fn scope(
    env: &Env,
    req: &Request,
    store: Option<&str>,
    edit: bool,
    now: Timestamp,
) -> Result<Option<StoreId>, ApiError> {
    let (_, access) = caller_with_access(env, req, now).await?;
    let Some(store) = store else {
        require_operator(&access)?;
        return Ok(None);
    };
    let (store, right) = require_store(&access, store)?;
    if edit && right != tandem_domain::access::StoreRight::Manage {
        return Err(ApiError::refused(Problem::ManagerOnly, "only the store's manager edits its promotions"));
    }
    Ok(Some(store))
}

/// `GET /api/store/{id}/promotions` and `GET /api/operator/promotions`: the rules in force,
/// where they come from, and the preview.
pub async fn get(env: &Env, req: &Request, store: Option<&str>, now: Timestamp) -> Result<Response, ApiError> {
    let store = scope(env, req, store, false, now).await?;
    answer(env, &db::database(env)?, store.as_ref(), None, now).await
}

fn checked(text: &str) -> Result<RulesRequest, ApiError> {
    let form: RulesRequest = body::parse_json(text)?;
    promote::check(&form.rules)
        .map_err(|e| ApiError::bad_request(format!("rules[{}].{}", e.index, e.field), e.message))?;
    Ok(form)
}

/// `POST /api/store/{id}/promotions/preview` and `POST /api/operator/promotions/preview`: who
/// would get what under draft rules; nothing is saved.
pub async fn preview(
    env: &Env,
    req: &Request,
    store: Option<&str>,
    text: &str,
    now: Timestamp,
) -> Result<Response, ApiError> {
    let form = checked(text)?;
    let store = scope(env, req, store, false, now).await?;
    answer(env, &db::database(env)?, store.as_ref(), Some(form.rules), now).await
}

/// `PUT /api/store/{id}/promotions` and `PUT /api/operator/promotions`: saves the scope's rules,
/// only over the version the editor read (409 `stale_rules` otherwise).
pub async fn put(
    env: &Env,
    req: &Request,
    store: Option<&str>,
    text: &str,
    now: Timestamp,
) -> Result<Response, ApiError> {
    let form = checked(text)?;
    let store = scope(env, req, store, true, now).await?;
    let db = db::database(env)?;
    if promotions::save(&D1(&db), store.as_ref(), &form.rules, form.version, now).await? != Guarded::Written(true) {
        return Err(ApiError::refused(Problem::StaleRules, "the rules were changed by someone else; reload them"));
    }
    answer(env, &db, store.as_ref(), None, now).await
}

/// `GET /api/me/offers?store=ID`: the caller's own message at a store, when they agreed to
/// personalisation and a rule matches them (else `message: null`).
pub async fn mine(env: &Env, req: &Request, query: &[(&str, &str)], now: Timestamp) -> Result<Response, ApiError> {
    let store = query
        .iter()
        .find(|(k, _)| *k == "store")
        .map(|(_, v)| *v)
        .ok_or_else(|| ApiError::bad_request("store", "missing"))?;
    let store = StoreId::parse(store).map_err(|_| ApiError::NotFound { resource: "store" })?;
    let Some(subject) = memory::subject(env, req, now).await? else {
        return json_response(200, &OfferAnswer::<Message> { personalised: false, message: None }, "no-store");
    };
    let key = subject.key();
    let db = db::database(env)?;
    let (mut stored, purchases, name) = promotions::for_offer(&D1(&db), &key).await?;
    if !stored.consent.is_some_and(|c| c.behaviour && c.personalised) {
        return json_response(200, &OfferAnswer::<Message> { personalised: false, message: None }, "no-store");
    }
    let config = profile::Config::default();
    stored.profile.with_purchases(profiles::of_subject(&purchases, &key), &config);
    let name = name.map_or_else(promote::anonymous_name, |n| Text::new(n.clone(), n));
    let rules = promotions::in_force(&D1(&db), Some(&store)).await?.rules;
    let store_name = store_name(&db, Some(&store)).await?;
    let message = promote::message_for(
        &rules,
        &stored.profile.tags_shown(now, &config),
        &Audience { name: &name, store: &store_name },
    );
    json_response(200, &OfferAnswer { personalised: true, message }, "no-store")
}
