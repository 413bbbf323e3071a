//! The operator's side of the distribution network: rule sets (drafts, live compliance
//! findings, publishing with an acknowledgement of each finding, every version kept), the
//! withdrawal approvals, the whole tree with search, and which products count.

use tandem_domain::api::Problem;
use tandem_domain::api::rules::{
    DraftSaved, Preset, PublishRequest, Published, RulesChecked, RulesList, RulesText, RulesVersion, findings,
};
use tandem_domain::api::sharers::{
    ProductFlags, ProductFlagsSet, Tree, WithdrawalAnswer, WithdrawalDecision, Withdrawals,
};
use tandem_domain::chain21::rules::{self, Rules};
use tandem_domain::chain21::settle::{self, WithdrawalState};
use tandem_domain::time::Timestamp;
use worker::{Env, Request, Response};

use super::json_response;
use crate::error::ApiError;
use crate::session::{caller_with_access, require_operator};
use crate::store::catalog;
use crate::store::d1::D1;
use crate::store::rules as rules_store;
use crate::store::sharers::{self, Listing};
use crate::{body, chain, config, db};

async fn operator(env: &Env, req: &Request, now: Timestamp) -> Result<(), ApiError> {
    let (_, access) = caller_with_access(env, req, now).await?;
    require_operator(&access)
}

fn parse_rules(text: &str) -> Result<Rules, ApiError> {
    let trimmed = text.trim_start();
    let parsed = if trimmed.starts_with('{') { Rules::from_json(text) } else { Rules::from_toml(text) };
    parsed.map_err(|e| ApiError::bad_request("text", e.to_string()))
}

/// `GET /api/operator/chain/rules`: every version (newest first) as TOML with its findings, and
/// the presets to start a draft from.
pub async fn list_rules(env: &Env, req: &Request, now: Timestamp) -> Result<Response, ApiError> {
    operator(env, req, now).await?;
    let db = db::database(env)?;
    let mut versions = Vec::new();
    for row in rules_store::list(&D1(&db)).await? {
        let rules = row.rules()?;
        let acknowledged = row.acknowledged()?;
        versions.push(RulesVersion {
            version: row.version,
            state: row.state,
            created_at: row.created_at,
            published_at: row.published_at,
            acknowledged,
            text: rules.to_toml(),
            cap_bp: rules.cap.total_bp,
            findings: findings(&rules.compliance()),
        });
    }
    let presets: Vec<_> = ["chain21", "two_tier_retail"]
        .into_iter()
        .filter_map(|name| Rules::preset(name).ok().map(|r| Preset { name: name.to_owned(), text: r.to_toml() }))
        .collect();
    json_response(200, &RulesList { versions, presets }, "no-store")
}

/// `POST /api/operator/chain/rules/check`: the findings of a rule set being edited, without
/// saving it (400 names the key that is wrong).
pub async fn check_rules(env: &Env, req: &Request, text: &str, now: Timestamp) -> Result<Response, ApiError> {
    let form: RulesText = body::parse_json(text)?;
    operator(env, req, now).await?;
    let rules = parse_rules(&form.text)?;
    let checked = RulesChecked { cap_bp: rules.cap.total_bp, findings: findings(&rules.compliance()) };
    json_response(200, &checked, "no-store")
}

/// `POST /api/operator/chain/rules`: saves a draft as the next version.
pub async fn create_draft(env: &Env, req: &Request, text: &str, now: Timestamp) -> Result<Response, ApiError> {
    let form: RulesText = body::parse_json(text)?;
    if form.text.len() > 20_000 {
        return Err(ApiError::bad_request("text", "at most 20,000 bytes"));
    }
    operator(env, req, now).await?;
    let mut rules = parse_rules(&form.text)?;
    let db = db::database(env)?;
    let store = D1(&db);
    // The version is the next free number: two drafts saved at once cannot share it (the
    // primary key refuses the second, which tries again).
    for _ in 0..5 {
        rules.version = db::stored(u32::try_from(rules_store::next_version(&store).await?))?;
        if rules_store::insert_draft(&store, &rules, now).await?.written() {
            let saved = DraftSaved {
                version: rules.version,
                state: "draft".to_owned(),
                findings: findings(&rules.compliance()),
            };
            return json_response(201, &saved, "no-store");
        }
    }
    Err(ApiError::refused(Problem::Busy, "other drafts were saved at the same time; try again"))
}

/// `POST /api/operator/chain/rules/{version}/publish`: publishes a draft. Every compliance
/// finding must be acknowledged by its code (422 `unacknowledged_findings` lists the missing);
/// the version published before is retired and stays for the orders paid under it.
pub async fn publish(
    env: &Env,
    req: &Request,
    version: &str,
    text: &str,
    now: Timestamp,
) -> Result<Response, ApiError> {
    let form: PublishRequest = body::parse_json(text)?;
    operator(env, req, now).await?;
    let version: i64 = version.parse().map_err(|_| ApiError::NotFound { resource: "rules version" })?;
    let db = db::database(env)?;
    let store = D1(&db);
    let row = rules_store::version(&store, version).await?.ok_or(ApiError::NotFound { resource: "rules version" })?;
    if row.state != "draft" {
        return Err(ApiError::refused(Problem::NotADraft, format!("version {version} is {}", row.state)));
    }
    let rules = row.rules()?;
    let findings = rules.compliance();
    let missing = rules::unacknowledged(&findings, &form.acknowledged);
    if !missing.is_empty() {
        return Err(ApiError::refused(
            Problem::UnacknowledgedFindings,
            format!("acknowledge each compliance finding first: {}", missing.join(", ")),
        ));
    }
    let codes: Vec<&str> = findings.iter().map(|f| f.code).collect();
    if !rules_store::publish(&store, version, &codes, now).await?.written() {
        return Err(ApiError::refused(Problem::NotADraft, "the version was published meanwhile"));
    }
    let published = Published {
        version,
        state: "published".to_owned(),
        acknowledged: codes.into_iter().map(str::to_owned).collect(),
    };
    json_response(200, &published, "no-store")
}

/// `GET /api/operator/chain/withdrawals?state=requested|paid|rejected`: withdrawals, oldest
/// request first for the ones waiting.
pub async fn list_withdrawals(
    env: &Env,
    req: &Request,
    query: &[(&str, &str)],
    now: Timestamp,
) -> Result<Response, ApiError> {
    operator(env, req, now).await?;
    let state = query.iter().find(|(k, _)| *k == "state").map_or("requested", |(_, v)| v);
    let state =
        WithdrawalState::parse(state).ok_or_else(|| ApiError::bad_request("state", "requested, paid or rejected"))?;
    let db = db::database(env)?;
    let withdrawals = sharers::withdrawals(&D1(&db), state).await?;
    json_response(200, &Withdrawals { withdrawals }, "no-store")
}

/// `POST /api/operator/chain/withdrawals/{id}`: pays a requested withdrawal out, or rejects it
/// (the amount goes back to the sharer's available balance). Deciding twice is 409.
pub async fn decide_withdrawal(
    env: &Env,
    req: &Request,
    id: &str,
    text: &str,
    now: Timestamp,
) -> Result<Response, ApiError> {
    let form: WithdrawalDecision = body::parse_json(text)?;
    let note = form.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > 200 || n.chars().any(char::is_control)) {
        return Err(ApiError::bad_request("note", "at most 200 characters, no control characters"));
    }
    operator(env, req, now).await?;
    let db = db::database(env)?;
    let store = D1(&db);
    let row = sharers::withdrawal(&store, id).await?.ok_or(ApiError::NotFound { resource: "withdrawal" })?;
    let (state, transaction) =
        settle::decide_withdrawal(&row.member_id, row.amount_fen, sharers::state_of(&row)?, form.approve).map_err(
            |state| ApiError::refused(Problem::AlreadyDecided, format!("the withdrawal is {}", state.as_str())),
        )?;
    if !sharers::decide_withdrawal(&store, id, (state, &transaction), note, now).await?.written() {
        return Err(ApiError::refused(Problem::AlreadyDecided, "the withdrawal was decided meanwhile"));
    }
    let withdrawal = sharers::withdrawal(&store, id).await?.ok_or(ApiError::NotFound { resource: "withdrawal" })?;
    json_response(200, &WithdrawalAnswer { withdrawal }, "no-store")
}

/// `GET /api/operator/chain/members?parent=ID | ?q=PHONE-OR-ID`: the whole tree, opened on
/// demand: the roots (members without an inviter who invited someone), a member's directs, or
/// one member found by phone number or id, with the path of inviters above it.
pub async fn members(env: &Env, req: &Request, query: &[(&str, &str)], now: Timestamp) -> Result<Response, ApiError> {
    operator(env, req, now).await?;
    let db = db::database(env)?;
    let store = D1(&db);
    let param = |key: &str| query.iter().find(|(k, _)| *k == key).map(|(_, v)| v.trim()).filter(|v| !v.is_empty());
    if let Some(q) = param("q") {
        let lookup = match tandem_domain::auth::Phone::parse(q) {
            Ok(phone) => phone.lookup_hash(&config::key(env, "LOOKUP_KEY")?),
            Err(_) => String::new(),
        };
        let Some(found) = sharers::find(&store, q, &lookup).await? else {
            return json_response(200, &Tree { members: vec![], path: Some(vec![]) }, "no-store");
        };
        let path = sharers::upline(&store, &found).await?;
        let members = chain::team(env, &db, Listing::One(&found), now).await?;
        return json_response(200, &Tree { members, path: Some(path) }, "no-store");
    }
    let members = match param("parent") {
        Some(parent) => chain::team(env, &db, Listing::DirectsOf(parent), now).await?,
        None => chain::team(env, &db, Listing::Roots, now).await?,
    };
    json_response(200, &Tree { members, path: None }, "no-store")
}

/// `PUT /api/operator/products/{id}/chain`: whether a product is a designated (entry) product
/// and whether its sales pay rewards. Orders already paid keep what they were paid with.
pub async fn set_product_flags(
    env: &Env,
    req: &Request,
    product: &str,
    text: &str,
    now: Timestamp,
) -> Result<Response, ApiError> {
    let form: ProductFlags = body::parse_json(text)?;
    operator(env, req, now).await?;
    let db = db::database(env)?;
    if !catalog::set_chain_flags(&D1(&db), product, form).await? {
        return Err(ApiError::NotFound { resource: "product" });
    }
    let set = ProductFlagsSet {
        product_id: product.to_owned(),
        designated: form.designated,
        commissionable: form.commissionable,
    };
    json_response(200, &set, "no-store")
}
