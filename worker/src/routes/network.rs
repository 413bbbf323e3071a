//! The operator's side of the distribution network: rule sets (drafts, live compliance
//! findings, publishing with an acknowledgement of each finding, every version kept), the
//! withdrawal approvals, the whole tree with search, and which products count.

use serde::Deserialize;
use serde_json::json;
use tandem_domain::api::Problem;
use tandem_domain::chain21::engine::Bucket;
use tandem_domain::chain21::rules::{self, Rules};
use tandem_domain::chain21::settle;
use worker::{D1Database, Env, Request, Response};

use super::chain::{NodeQuery, WITHDRAWAL_COLUMNS, WithdrawalRow, team_nodes};
use super::json_response;
use crate::error::ApiError;
use crate::session::{caller_with_access, require_operator};
use crate::store::d1::D1;
use crate::store::rules as rules_store;
use crate::store::{d1, ledger};
use crate::{body, config, db};

async fn operator(env: &Env, req: &Request) -> Result<(), ApiError> {
    let (_, access) = caller_with_access(env, req).await?;
    require_operator(&access)
}

fn parse_rules(text: &str) -> Result<Rules, ApiError> {
    let trimmed = text.trim_start();
    let parsed = if trimmed.starts_with('{') { Rules::from_json(text) } else { Rules::from_toml(text) };
    parsed.map_err(|e| ApiError::bad_request("text", e.to_string()))
}

/// `GET /api/operator/chain/rules`: every version (newest first) as TOML with its findings, and
/// the presets to start a draft from.
pub async fn list_rules(env: &Env, req: &Request) -> Result<Response, ApiError> {
    operator(env, req).await?;
    let db = db::database(env)?;
    let mut versions = Vec::new();
    for row in rules_store::list(&D1(&db)).await? {
        let rules = row.rules()?;
        let acknowledged = row.acknowledged()?;
        versions.push(json!({
            "version": row.version,
            "state": row.state,
            "created_at": row.created_at,
            "published_at": row.published_at,
            "acknowledged": acknowledged,
            "text": rules.to_toml(),
            "cap_bp": rules.cap.total_bp,
            "findings": rules.compliance(),
        }));
    }
    let presets: Vec<_> = ["chain21", "two_tier_retail"]
        .into_iter()
        .filter_map(|name| Rules::preset(name).ok().map(|r| json!({"name": name, "text": r.to_toml()})))
        .collect();
    json_response(200, &json!({"versions": versions, "presets": presets}), "no-store")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesText {
    /// The rule set as TOML (the CLI's format) or JSON.
    text: String,
}

/// `POST /api/operator/chain/rules/check`: the findings of a rule set being edited, without
/// saving it (400 names the key that is wrong).
pub async fn check_rules(env: &Env, req: &Request, text: &str) -> Result<Response, ApiError> {
    let form: RulesText = body::parse_json(text)?;
    operator(env, req).await?;
    let rules = parse_rules(&form.text)?;
    json_response(200, &json!({"cap_bp": rules.cap.total_bp, "findings": rules.compliance()}), "no-store")
}

/// `POST /api/operator/chain/rules`: saves a draft as the next version.
pub async fn create_draft(env: &Env, req: &Request, text: &str) -> Result<Response, ApiError> {
    let form: RulesText = body::parse_json(text)?;
    if form.text.len() > 20_000 {
        return Err(ApiError::bad_request("text", "at most 20,000 bytes"));
    }
    operator(env, req).await?;
    let mut rules = parse_rules(&form.text)?;
    let now = config::now(env).await?;
    let db = db::database(env)?;
    let store = D1(&db);
    // The version is the next free number: two drafts saved at once cannot share it (the
    // primary key refuses the second, which tries again).
    for _ in 0..5 {
        rules.version = db::stored(u32::try_from(rules_store::next_version(&store).await?))?;
        if rules_store::insert_draft(&store, &rules, now).await?.written() {
            let body = json!({"version": rules.version, "state": "draft", "findings": rules.compliance()});
            return json_response(201, &body, "no-store");
        }
    }
    Err(ApiError::refused(Problem::Busy, "other drafts were saved at the same time; try again"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Publish {
    /// The codes of the findings the operator acknowledged.
    acknowledged: Vec<String>,
}

/// `POST /api/operator/chain/rules/{version}/publish`: publishes a draft. Every compliance
/// finding must be acknowledged by its code (422 `unacknowledged_findings` lists the missing);
/// the version published before is retired and stays for the orders paid under it.
pub async fn publish(env: &Env, req: &Request, version: &str, text: &str) -> Result<Response, ApiError> {
    let form: Publish = body::parse_json(text)?;
    operator(env, req).await?;
    let version: i64 = version.parse().map_err(|_| ApiError::NotFound { resource: "rules version" })?;
    let now = config::now(env).await?;
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
    json_response(200, &json!({"version": version, "state": "published", "acknowledged": codes}), "no-store")
}

/// `GET /api/operator/chain/withdrawals?state=requested|paid|rejected`: withdrawals, oldest
/// request first for the ones waiting.
pub async fn list_withdrawals(env: &Env, req: &Request, query: &[(&str, &str)]) -> Result<Response, ApiError> {
    operator(env, req).await?;
    let state = query.iter().find(|(k, _)| *k == "state").map_or("requested", |(_, v)| v);
    if !["requested", "paid", "rejected"].contains(&state) {
        return Err(ApiError::bad_request("state", "requested, paid or rejected"));
    }
    let db = db::database(env)?;
    let statement = db::prepare(
        &db,
        &format!(
            "SELECT {WITHDRAWAL_COLUMNS} FROM chain_withdrawals WHERE state = ?1
             ORDER BY CASE WHEN state = 'requested' THEN requested_at ELSE -decided_at END LIMIT 200"
        ),
        &[db::text(state)],
    )?;
    json_response(200, &json!({"withdrawals": db::all::<WithdrawalRow>(statement).await?}), "no-store")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Decision {
    approve: bool,
    #[serde(default)]
    note: Option<String>,
}

/// `POST /api/operator/chain/withdrawals/{id}`: pays a requested withdrawal out, or rejects it
/// (the amount goes back to the sharer's available balance). Deciding twice is 409.
pub async fn decide_withdrawal(env: &Env, req: &Request, id: &str, text: &str) -> Result<Response, ApiError> {
    let form: Decision = body::parse_json(text)?;
    let note = form.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > 200 || n.chars().any(char::is_control)) {
        return Err(ApiError::bad_request("note", "at most 200 characters, no control characters"));
    }
    operator(env, req).await?;
    let now = config::now(env).await?;
    let db = db::database(env)?;
    let read = |db: &D1Database| {
        db::prepare(db, &format!("SELECT {WITHDRAWAL_COLUMNS} FROM chain_withdrawals WHERE id = ?1"), &[db::text(id)])
    };
    let row = db::one::<WithdrawalRow>(read(&db)?).await?.ok_or(ApiError::NotFound { resource: "withdrawal" })?;
    if row.state != "requested" {
        return Err(ApiError::refused(Problem::AlreadyDecided, format!("the withdrawal is {}", row.state)));
    }
    let (state, to) = if form.approve { ("paid", Bucket::PaidOut) } else { ("rejected", Bucket::Available) };
    let transaction = settle::withdrawal_transaction(&row.member_id, Bucket::Withdrawing, to, row.amount_fen);
    let mut writes = vec![db::prepare(
        &db,
        "UPDATE chain_withdrawals SET state = CASE WHEN state = 'requested' THEN ?2 END, decided_at = ?3, note = ?4
         WHERE id = ?1",
        &[db::text(id), db::text(state), db::integer(now.millis()), db::optional_text(note)],
    )?];
    let reference = format!("withdrawal:{id}:{state}");
    writes.extend(d1::prepared_all(
        &db,
        &ledger::post(&format!("t-{id}-{state}"), "withdrawal", &reference, None, now, &transaction)?,
    )?);
    if db::guarded_batch(&db, writes).await?.is_none() {
        return Err(ApiError::refused(Problem::AlreadyDecided, "the withdrawal was decided meanwhile"));
    }
    let row = db::one::<WithdrawalRow>(read(&db)?).await?.ok_or(ApiError::NotFound { resource: "withdrawal" })?;
    json_response(200, &json!({"withdrawal": row}), "no-store")
}

/// `GET /api/operator/chain/members?parent=ID | ?q=PHONE-OR-ID`: the whole tree, opened on
/// demand: the roots (members without an inviter who invited someone), a member's directs, or
/// one member found by phone number or id, with the path of inviters above it.
pub async fn members(env: &Env, req: &Request, query: &[(&str, &str)]) -> Result<Response, ApiError> {
    #[derive(Deserialize)]
    struct Found {
        member_id: String,
    }
    operator(env, req).await?;
    let now = config::now(env).await?;
    let db = db::database(env)?;
    let param = |key: &str| query.iter().find(|(k, _)| *k == key).map(|(_, v)| v.trim()).filter(|v| !v.is_empty());
    if let Some(q) = param("q") {
        let lookup = match tandem_domain::auth::Phone::parse(q) {
            Ok(phone) => phone.lookup_hash(&config::key(env, "LOOKUP_KEY")?),
            Err(_) => String::new(),
        };
        let find = db::prepare(
            &db,
            "SELECT c.member_id FROM chain_members c JOIN members m ON m.id = c.member_id
             WHERE c.member_id = ?1 OR m.phone_hash = ?2 OR c.invite_code = ?1 LIMIT 1",
            &[db::text(q), db::text(&lookup)],
        )?;
        let Some(found) = db::one::<Found>(find).await? else {
            return json_response(200, &json!({"members": [], "path": []}), "no-store");
        };
        let path = db::prepare(
            &db,
            "WITH RECURSIVE up(id, depth) AS (
                 SELECT inviter, 1 FROM chain_members WHERE member_id = ?1
                 UNION ALL SELECT m.inviter, up.depth + 1 FROM chain_members m JOIN up ON m.member_id = up.id
                 WHERE m.inviter IS NOT NULL AND up.depth < 100000)
             SELECT id AS member_id FROM up WHERE id IS NOT NULL ORDER BY depth DESC",
            &[db::text(&found.member_id)],
        )?;
        let path: Vec<String> = db::all::<Found>(path).await?.into_iter().map(|f| f.member_id).collect();
        let nodes = team_nodes(env, &db, NodeQuery::One(&found.member_id), now).await?;
        return json_response(200, &json!({"members": nodes, "path": path}), "no-store");
    }
    let nodes = match param("parent") {
        Some(parent) => team_nodes(env, &db, NodeQuery::ChildrenOf(parent), now).await?,
        None => team_nodes(env, &db, NodeQuery::Roots, now).await?,
    };
    json_response(200, &json!({"members": nodes}), "no-store")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductFlags {
    designated: bool,
    commissionable: bool,
}

/// `PUT /api/operator/products/{id}/chain`: whether a product is a designated (entry) product
/// and whether its sales pay rewards. Orders already paid keep what they were paid with.
pub async fn set_product_flags(env: &Env, req: &Request, product: &str, text: &str) -> Result<Response, ApiError> {
    let form: ProductFlags = body::parse_json(text)?;
    operator(env, req).await?;
    let db = db::database(env)?;
    let result = db::run(db::prepare(
        &db,
        "UPDATE products SET designated = ?2, commissionable = ?3 WHERE id = ?1",
        &[db::text(product), db::integer(i64::from(form.designated)), db::integer(i64::from(form.commissionable))],
    )?)
    .await?;
    if db::changes(&result) == 0 {
        return Err(ApiError::NotFound { resource: "product" });
    }
    let body = json!({"product_id": product, "designated": form.designated, "commissionable": form.commissionable});
    json_response(200, &body, "no-store")
}
