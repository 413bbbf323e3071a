//! Promotion copy by segment over HTTP: the rules in force for a store (its own, else the
//! platform's, else `domain::promote`'s defaults), editing them (store managers, the operator),
//! the preview of who would get what, and the caller's own message at a store.
//!
//! Only people who agreed to personalisation are targeted; the preview counts the others
//! without showing them.

use serde::Deserialize;
use serde_json::json;
use tandem_domain::api::Problem;
use tandem_domain::catalog::{StoreId, Text};
use tandem_domain::profile::{self, Profile};
use tandem_domain::promote::{self, Audience, Person, Rule};
use worker::{D1Database, Env, Request, Response};

use super::behaviour::{self, OrderTouch};
use super::json_response;
use crate::error::ApiError;
use crate::session::{self, caller_with_access, require_operator, require_store};
use crate::{body, config, db};

/// A preview looks at this many people at most.
const PREVIEW_PEOPLE: i64 = 300;

#[derive(Deserialize)]
struct RulesRow {
    scope: String,
    body: String,
    version: i64,
}

/// The rules in force for a scope: (rules, where they come from, the stored version of the
/// scope's own rules).
struct InForce {
    rules: Vec<Rule>,
    source: &'static str,
    own_version: Option<i64>,
}

async fn in_force(db: &D1Database, store: Option<&StoreId>) -> Result<InForce, ApiError> {
    let scope = store.map(|s| format!("store:{s}"));
    let rows: Vec<RulesRow> = db::all(db::prepare(
        db,
        "SELECT scope, body, version FROM promotion_rules WHERE scope = 'platform' OR scope = ?1",
        &[db::optional_text(scope.as_deref())],
    )?)
    .await?;
    let own = rows.iter().find(|r| Some(&r.scope) == scope.as_ref() || (scope.is_none() && r.scope == "platform"));
    let platform = rows.iter().find(|r| r.scope == "platform");
    let (row, source) = match (own, platform) {
        (Some(own), _) => (Some(own), if scope.is_some() { "store" } else { "platform" }),
        (None, Some(platform)) => (Some(platform), "platform"),
        (None, None) => (None, "default"),
    };
    let rules = match row {
        Some(row) => db::stored(serde_json::from_str(&row.body))?,
        None => promote::defaults(),
    };
    Ok(InForce { rules, source, own_version: own.map(|r| r.version) })
}

#[derive(Deserialize)]
struct PersonRow {
    subject: String,
    body: Option<String>,
    display_name: Option<String>,
    phone_enc: Option<String>,
}

#[derive(Deserialize)]
struct NamedRow {
    display_name: Option<String>,
}

#[derive(Deserialize)]
struct Count {
    people: i64,
}

/// The people a preview shows: a store's customers (offline events there, attributed by its
/// clerks, or buyers of its orders), or everyone for the platform, who agreed to
/// personalisation; and how many more were left out for lack of that consent.
async fn people(env: &Env, db: &D1Database, store: Option<&StoreId>) -> Result<(Vec<Person>, i64), ApiError> {
    let pool = "WITH pool AS (
            SELECT subject FROM behaviour_events WHERE ?1 IS NOT NULL AND store_id = ?1
            UNION SELECT subject FROM clerk_customers WHERE ?1 IS NOT NULL AND store_id = ?1
            UNION SELECT 'm:' || member_id FROM orders WHERE ?1 IS NOT NULL AND store_id = ?1 AND paid_at IS NOT NULL
            UNION SELECT subject FROM consents WHERE ?1 IS NULL)";
    let store_value = db::optional_text(store.map(StoreId::as_str));
    let results = db::batch(
        db,
        vec![
            db::prepare(
                db,
                &format!(
                    "{pool}
                     SELECT p.subject, pr.body, cm.display_name, m.phone_enc
                     FROM pool p JOIN consents c ON c.subject = p.subject AND c.behaviour = 1 AND c.personalised = 1
                     LEFT JOIN profiles pr ON pr.subject = p.subject
                     LEFT JOIN members m ON p.subject = 'm:' || m.id
                     LEFT JOIN chain_members cm ON cm.member_id = m.id
                     ORDER BY pr.updated_at DESC LIMIT ?2"
                ),
                &[store_value.clone(), db::integer(PREVIEW_PEOPLE)],
            )?,
            db::prepare(db, &format!("{pool} SELECT COUNT(*) AS people FROM pool"), &[store_value])?,
        ],
    )
    .await?;
    let rows: Vec<PersonRow> = db::nth(&results, 0)?;
    let pool_size = db::first::<Count>(&results, 1)?.map_or(0, |c| c.people);
    let subjects: Vec<&str> = rows.iter().map(|r| r.subject.as_str()).collect();
    let orders: Vec<OrderTouch> =
        db::all(behaviour::orders_read(db, &serde_json::to_string(&subjects).map_err(ApiError::internal)?)?).await?;
    let now = config::now(env).await?;
    let config = profile::Config::default();
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut profile: Profile = match &row.body {
            Some(body) => db::stored(serde_json::from_str(body))?,
            None => Profile::default(),
        };
        behaviour::with_orders(&mut profile, &row.subject, &orders, &config);
        let (name, known) = match (&row.display_name, row.phone_enc.as_deref()) {
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
    let left_out = pool_size - i64::try_from(rows.len()).unwrap_or(0);
    Ok((out, left_out.max(0)))
}

async fn store_name(db: &D1Database, store: Option<&StoreId>) -> Result<Text, ApiError> {
    #[derive(Deserialize)]
    struct Name {
        name_zh: String,
        name_en: String,
    }
    let Some(store) = store else { return Ok(Text::new("你常去的门店", "your store")) };
    let name: Option<Name> =
        db::one(db::prepare(db, "SELECT name_zh, name_en FROM stores WHERE id = ?1", &[db::text(store.as_str())])?)
            .await?;
    Ok(name.map_or_else(|| Text::new(store.as_str(), store.as_str()), |n| Text::new(n.name_zh, n.name_en)))
}

async fn answer(
    env: &Env,
    db: &D1Database,
    store: Option<&StoreId>,
    rules: Option<Vec<Rule>>,
) -> Result<Response, ApiError> {
    let force = in_force(db, store).await?;
    let draft = rules.is_some();
    let rules = rules.unwrap_or(force.rules);
    let (people, left_out) = people(env, db, store).await?;
    let preview = promote::preview(&rules, &people, &store_name(db, store).await?);
    json_response(
        200,
        &json!({
            "source": if draft { "draft" } else { force.source },
            "version": force.own_version,
            "rules": rules,
            "preview": preview,
            "without_consent": left_out,
        }),
        "no-store",
    )
}

/// Which scope a route edits: a store (its staff see, its managers edit) or the platform.
async fn scope(env: &Env, req: &Request, store: Option<&str>, edit: bool) -> Result<Option<StoreId>, ApiError> {
    let (_, access) = caller_with_access(env, req).await?;
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
pub async fn get(env: &Env, req: &Request, store: Option<&str>) -> Result<Response, ApiError> {
    let store = scope(env, req, store, false).await?;
    answer(env, &db::database(env)?, store.as_ref(), None).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesForm {
    rules: Vec<Rule>,
    /// The version the editor started from (none when the scope has no rules of its own yet).
    #[serde(default)]
    version: Option<i64>,
}

fn checked(text: &str) -> Result<RulesForm, ApiError> {
    let form: RulesForm = body::parse_json(text)?;
    promote::check(&form.rules)
        .map_err(|e| ApiError::bad_request(format!("rules[{}].{}", e.index, e.field), e.message))?;
    Ok(form)
}

/// `POST /api/store/{id}/promotions/preview` and `POST /api/operator/promotions/preview`: who
/// would get what under draft rules; nothing is saved.
pub async fn preview(env: &Env, req: &Request, store: Option<&str>, text: &str) -> Result<Response, ApiError> {
    let form = checked(text)?;
    let store = scope(env, req, store, false).await?;
    answer(env, &db::database(env)?, store.as_ref(), Some(form.rules)).await
}

/// `PUT /api/store/{id}/promotions` and `PUT /api/operator/promotions`: saves the scope's rules,
/// only over the version the editor read (409 `stale_rules` otherwise).
pub async fn put(env: &Env, req: &Request, store: Option<&str>, text: &str) -> Result<Response, ApiError> {
    let form = checked(text)?;
    let store = scope(env, req, store, true).await?;
    let scope_key = store.as_ref().map_or_else(|| "platform".to_owned(), |s| format!("store:{s}"));
    let body = serde_json::to_string(&form.rules).map_err(ApiError::internal)?;
    let now = config::now(env).await?;
    let db = db::database(env)?;
    let write = match form.version {
        None => db::prepare(
            &db,
            "INSERT INTO promotion_rules (scope, body, version, updated_at) VALUES (?1, ?2, 1, ?3)",
            &[db::text(&scope_key), db::text(&body), db::integer(now.millis())],
        )?,
        Some(version) => db::prepare(
            &db,
            "UPDATE promotion_rules SET body = ?2, updated_at = ?4, version = CASE WHEN version = ?3 THEN version + 1 END
             WHERE scope = ?1",
            &[db::text(&scope_key), db::text(&body), db::integer(version), db::integer(now.millis())],
        )?,
    };
    let written = db::guarded_batch(&db, vec![write]).await?;
    if written.is_none_or(|results| results.first().is_none_or(|r| db::changes(r) == 0)) {
        return Err(ApiError::refused(Problem::StaleRules, "the rules were changed by someone else; reload them"));
    }
    answer(env, &db, store.as_ref(), None).await
}

/// `GET /api/me/offers?store=ID`: the caller's own message at a store, when they agreed to
/// personalisation and a rule matches them (else `message: null`).
pub async fn mine(env: &Env, req: &Request, query: &[(&str, &str)]) -> Result<Response, ApiError> {
    let store = query
        .iter()
        .find(|(k, _)| *k == "store")
        .map(|(_, v)| *v)
        .ok_or_else(|| ApiError::bad_request("store", "missing"))?;
    let store = StoreId::parse(store).map_err(|_| ApiError::NotFound { resource: "store" })?;
    let Some(subject) = behaviour::subject(env, req).await? else {
        return json_response(200, &json!({"personalised": false, "message": null}), "no-store");
    };
    let key = subject.key();
    let db = db::database(env)?;
    let [consent_read, profile_read] = behaviour::stored_reads(&db, &key)?;
    let subjects = serde_json::to_string(&[&key]).map_err(ApiError::internal)?;
    let name_read =
        db::prepare(&db, "SELECT display_name FROM chain_members WHERE 'm:' || member_id = ?1", &[db::text(&key)])?;
    let results =
        db::batch(&db, vec![consent_read, profile_read, behaviour::orders_read(&db, &subjects)?, name_read]).await?;
    let mut stored = behaviour::stored_at(&results, 0)?;
    if !stored.consent.is_some_and(|c| c.behaviour && c.personalised) {
        return json_response(200, &json!({"personalised": false, "message": null}), "no-store");
    }
    let config = profile::Config::default();
    let orders: Vec<OrderTouch> = db::nth(&results, 2)?;
    behaviour::with_orders(&mut stored.profile, &key, &orders, &config);
    let name = db::first::<NamedRow>(&results, 3)?
        .and_then(|n| n.display_name)
        .map_or_else(promote::anonymous_name, |n| Text::new(n.clone(), n));
    let now = config::now(env).await?;
    let rules = in_force(&db, Some(&store)).await?.rules;
    let store_name = store_name(&db, Some(&store)).await?;
    let message = promote::message_for(
        &rules,
        &stored.profile.tags_shown(now, &config),
        &Audience { name: &name, store: &store_name },
    );
    json_response(200, &json!({"personalised": true, "message": message}), "no-store")
}

/// The person's message at a store when it carries a coupon (for "tried on in store — buy
/// online"), addressed without a name.
pub async fn coupon_for(
    db: &D1Database,
    store: &StoreId,
    profile: &Profile,
    store_name: &Text,
    now: tandem_domain::time::Timestamp,
) -> Result<Option<promote::Message>, ApiError> {
    let rules = in_force(db, Some(store)).await?.rules;
    let tags = profile.tags_shown(now, &profile::Config::default());
    let name = promote::anonymous_name();
    let message = promote::message_for(&rules, &tags, &Audience { name: &name, store: store_name });
    Ok(message.filter(|m| m.offers.iter().any(|o| matches!(o, promote::Offer::Coupon { .. }))))
}
