//! The distribution network's routes: the invite link, binding at sign-in, and the sharer
//! centre's data (the caller's own place, earnings and directs; never anyone else's ledger).

use serde::Deserialize;
use serde_json::json;
use worker::{Env, Request, Response};

use super::json_response;
use crate::error::ApiError;
use crate::{chain, config, db, session};

/// The cookie that remembers an invite code opened before signing in.
pub const REF_COOKIE: &str = "tandem_ref";
/// An anonymous visitor's key, so its visits count once toward the sharer's conversion.
const VISITOR_COOKIE: &str = "tandem_visitor";

fn well_formed_code(code: &str) -> bool {
    (6..=16).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn redirect_home(cookies: &[String]) -> Result<Response, ApiError> {
    let mut response = Response::empty().map_err(ApiError::internal)?.with_status(302);
    let headers = response.headers_mut();
    headers.set("location", "/").map_err(ApiError::internal)?;
    headers.set("cache-control", "no-store").map_err(ApiError::internal)?;
    for cookie in cookies {
        headers.append("set-cookie", cookie).map_err(ApiError::internal)?;
    }
    Ok(response)
}

/// `GET /i/{code}`: a sharer's invite link. A signed-in visitor is bound at once (if the rules
/// allow); anyone else keeps the code in a cookie until sign-in. The visit is recorded either
/// way, and the visitor lands on the storefront.
pub async fn open_invite(env: &Env, req: &Request, code: &str) -> Result<Response, ApiError> {
    if !well_formed_code(code) {
        return redirect_home(&[]);
    }
    let now = config::now(env).await?;
    let db = db::database(env)?;
    let max_age = 30 * 86_400;
    if let Ok(caller) = session::caller(env, req).await {
        db::batch(&db, chain::bind_statements(&db, "?1", &db::text(&caller.member_id), code, now)?).await?;
        return redirect_home(&[]);
    }
    let visitor = match session::cookie(req, VISITOR_COOKIE).filter(|v| v.len() == 16) {
        Some(visitor) => visitor,
        None => tandem_domain::crypto::hex(&config::random_bytes::<8>()?),
    };
    let visit = db::prepare(
        &db,
        "INSERT INTO chain_visits (sharer, visitor, at)
         SELECT member_id, ?2, ?3 FROM chain_members WHERE invite_code = ?1 ON CONFLICT DO NOTHING",
        &[db::text(code), db::text(&format!("anon:{visitor}")), db::integer(now.millis())],
    )?;
    db::run(visit).await?;
    redirect_home(&[
        format!("{REF_COOKIE}={code}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}"),
        format!("{VISITOR_COOKIE}={visitor}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}", 365 * 86_400),
    ])
}

/// The statements sign-in adds to its batch: a place in the network for the member of phone
/// hash `lookup`, and the binding an invite link left in the cookie.
pub fn sign_in_statements(
    db: &worker::D1Database,
    req: &Request,
    lookup: &str,
    now: tandem_domain::time::Timestamp,
) -> Result<Vec<worker::D1PreparedStatement>, ApiError> {
    let member_sql = "(SELECT id FROM members WHERE phone_hash = ?1)";
    let mut statements = vec![db::prepare(
        db,
        &format!(
            "INSERT INTO chain_members (member_id, invite_code, joined_at) SELECT {member_sql}, ?2, ?3
             ON CONFLICT (member_id) DO NOTHING"
        ),
        &[db::text(lookup), db::text(&chain::new_invite_code()?), db::integer(now.millis())],
    )?];
    if let Some(code) = session::cookie(req, REF_COOKIE).filter(|c| well_formed_code(c)) {
        statements.extend(chain::bind_statements(db, member_sql, &db::text(lookup), &code, now)?);
    }
    Ok(statements)
}

#[derive(Deserialize)]
struct PlaceRow {
    invite_code: String,
    identity: String,
    inviter: Option<String>,
    qualifying_directs: i64,
    joined_at: i64,
}

#[derive(Deserialize, serde::Serialize)]
struct RewardRow {
    order_id: String,
    kind: String,
    generation: i64,
    amount_fen: i64,
    state: String,
    thaw_at: Option<i64>,
    voided_fen: i64,
    clawback_fen: i64,
    rules_version: i64,
    posted_at: i64,
}

#[derive(Deserialize, serde::Serialize)]
struct DirectRow {
    member_id: String,
    identity: String,
    bound_at: Option<i64>,
    has_paid: i64,
    directs: i64,
}

#[derive(Deserialize)]
struct RequiredRow {
    required_directs: Option<i64>,
}

/// `GET /api/chain/me`: the sharer centre's data for the caller.
pub async fn me(env: &Env, req: &Request) -> Result<Response, ApiError> {
    let caller = session::caller(env, req).await?;
    let now = config::now(env).await?;
    let db = db::database(env)?;
    let me = db::text(&caller.member_id);
    let statements = vec![
        chain::ensure_member(&db, &caller.member_id, now)?,
        db::prepare(
            &db,
            "SELECT invite_code, identity, inviter, qualifying_directs, joined_at FROM chain_members WHERE member_id = ?1",
            std::slice::from_ref(&me),
        )?,
        db::prepare(
            &db,
            "SELECT order_id, kind, generation, amount_fen, state, thaw_at, voided_fen, clawback_fen, rules_version,
                    posted_at
             FROM chain_rewards WHERE beneficiary = ?1 ORDER BY posted_at DESC, order_id, position LIMIT 100",
            std::slice::from_ref(&me),
        )?,
        db::prepare(
            &db,
            "SELECT d.member_id, d.identity, d.bound_at, d.has_paid,
                    (SELECT count(*) FROM chain_members g WHERE g.inviter = d.member_id) AS directs
             FROM chain_members d WHERE d.inviter = ?1 ORDER BY d.bound_at, d.member_id LIMIT 200",
            &[me],
        )?,
        db::prepare(
            &db,
            "SELECT json_extract(body, '$.upgrade.required_directs') AS required_directs
             FROM chain_rules WHERE state = 'published'",
            &[],
        )?,
    ];
    let results = db::batch(&db, statements).await?;
    let place: PlaceRow = db::first(&results, 1)?.ok_or_else(|| ApiError::internal("no place in the network"))?;
    let rewards: Vec<RewardRow> = db::nth(&results, 2)?;
    let directs: Vec<DirectRow> = db::nth(&results, 3)?;
    let required = db::first::<RequiredRow>(&results, 4)?.and_then(|r| r.required_directs);
    let sum = |state: &str| rewards.iter().filter(|r| r.state == state).map(|r| r.amount_fen).sum::<i64>();
    let balances = json!({
        "pending_fen": sum("pending"),
        "frozen_fen": sum("frozen"),
        "available_fen": sum("available"),
    });
    json_response(
        200,
        &json!({
            "member_id": caller.member_id,
            "invite_code": place.invite_code,
            "invite_path": format!("/i/{}", place.invite_code),
            "identity": place.identity,
            "inviter": place.inviter,
            "qualifying_directs": place.qualifying_directs,
            "required_directs": required,
            "joined_at": place.joined_at,
            "balances": balances,
            "rewards": rewards,
            "directs": directs,
        }),
        "no-store",
    )
}
