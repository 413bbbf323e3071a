//! The distribution network's routes: the invite link, binding at sign-in, and the sharer
//! centre's data (the caller's own place, earnings and directs; never anyone else's ledger).

use serde::Deserialize;
use serde_json::json;
use tandem_domain::api::Problem;
use tandem_domain::auth::Phone;
use tandem_domain::chain21::engine::Bucket;
use tandem_domain::chain21::rules::Rules;
use tandem_domain::chain21::{poster, rewards, settle};
use tandem_domain::crypto;
use tandem_domain::time::Timestamp;
use worker::{D1Database, D1PreparedStatement, Env, Request, Response};

use super::json_response;
use crate::error::ApiError;
use crate::store::{d1, ledger};
use crate::{body, chain, config, db, session};

/// The cookie that remembers an invite code opened before signing in.
pub const REF_COOKIE: &str = "tandem_ref";
/// An anonymous visitor's key, so its visits count once toward the sharer's conversion.
pub const VISITOR_COOKIE: &str = "tandem_visitor";

use tandem_domain::card::well_formed_code;

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
/// way, and the answer is the app's page with the inviter's preview meta, which moves on to the
/// inviter's store's shelf (the store picker when they have none).
pub async fn open_invite(env: &Env, req: &Request, code: &str) -> Result<Response, ApiError> {
    if !well_formed_code(code) {
        return redirect_home(&[]);
    }
    let now = config::now(env).await?;
    let db = db::database(env)?;
    let max_age = 30 * 86_400;
    let (meta, land, owner) = super::cards::invite_meta(env, req, code).await?;
    let land = land.unwrap_or_else(|| "/".to_owned());
    if let Ok(caller) = session::caller(env, req).await {
        chain::bind_member(&db, &caller.member_id, code, now).await?;
        super::cards::invite_opened(env, owner.as_ref(), &format!("m:{}", caller.member_id), now).await?;
        return super::cards::page(env, req, &meta, Some(&land), &[]).await;
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
    super::cards::invite_opened(env, owner.as_ref(), &format!("anon:{visitor}"), now).await?;
    let cookies = [
        format!("{REF_COOKIE}={code}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}"),
        format!("{VISITOR_COOKIE}={visitor}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}", 365 * 86_400),
    ];
    super::cards::page(env, req, &meta, Some(&land), &cookies).await
}

/// The invite code an invite link left in the cookie, to bind the member to once signed in.
pub fn invite_cookie(req: &Request) -> Option<String> {
    session::cookie(req, REF_COOKIE).filter(|c| well_formed_code(c))
}

#[derive(Deserialize)]
struct PlaceRow {
    invite_code: String,
    identity: String,
    inviter: Option<String>,
    qualifying_directs: i64,
    joined_at: i64,
    display_name: Option<String>,
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

/// The published rules as `store::rules::published_read` reads them.
#[derive(Deserialize)]
struct PublishedRow {
    body: String,
}

#[derive(Deserialize)]
struct BucketRow {
    account: String,
    fen: i64,
}

#[derive(Deserialize, serde::Serialize)]
pub struct WithdrawalRow {
    pub id: String,
    pub member_id: String,
    pub amount_fen: i64,
    pub state: String,
    pub requested_at: i64,
    pub decided_at: Option<i64>,
    pub note: Option<String>,
}

pub const WITHDRAWAL_COLUMNS: &str = "id, member_id, amount_fen, state, requested_at, decided_at, note";

/// The member's balances by bucket, from the ledger: the one place money is counted.
fn balance_statement(db: &D1Database, member: &str) -> Result<D1PreparedStatement, ApiError> {
    let accounts: Vec<String> = BUCKETS.iter().map(|b| format!("member:{member}:{}", b.as_str())).collect();
    db::prepare(
        db,
        "SELECT account, sum(credit_fen) - sum(debit_fen) AS fen FROM ledger_entries
         WHERE account IN (SELECT value FROM json_each(?1)) GROUP BY account",
        &[db::text(&serde_json::Value::from(accounts).to_string())],
    )
}

const BUCKETS: [Bucket; 5] = [Bucket::Pending, Bucket::Frozen, Bucket::Available, Bucket::Withdrawing, Bucket::PaidOut];

fn balances(rows: &[BucketRow], member: &str) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for bucket in BUCKETS {
        let account = format!("member:{member}:{}", bucket.as_str());
        let fen = rows.iter().find(|r| r.account == account).map_or(0, |r| r.fen);
        out.insert(format!("{}_fen", bucket.as_str()), fen.into());
    }
    serde_json::Value::Object(out)
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
            "SELECT invite_code, identity, inviter, qualifying_directs, joined_at, display_name
             FROM chain_members WHERE member_id = ?1",
            std::slice::from_ref(&me),
        )?,
        db::prepare(
            &db,
            "SELECT order_id, kind, generation, amount_fen, state, thaw_at, voided_fen, clawback_fen, rules_version,
                    posted_at
             FROM chain_rewards WHERE beneficiary = ?1 ORDER BY posted_at DESC, order_id, position LIMIT 100",
            std::slice::from_ref(&me),
        )?,
        d1::prepared(&db, &crate::store::rules::published_read())?,
        balance_statement(&db, &caller.member_id)?,
        db::prepare(
            &db,
            &format!(
                "SELECT {WITHDRAWAL_COLUMNS} FROM chain_withdrawals WHERE member_id = ?1 ORDER BY requested_at DESC LIMIT 50"
            ),
            &[me],
        )?,
    ];
    let results = db::batch(&db, statements).await?;
    let place: PlaceRow = db::first(&results, 1)?.ok_or_else(|| ApiError::internal("no place in the network"))?;
    let rewards: Vec<RewardRow> = db::nth(&results, 2)?;
    let required = match db::first::<PublishedRow>(&results, 3)? {
        Some(row) => Some(i64::from(db::stored(Rules::from_json(&row.body))?.upgrade.required_directs)),
        None => None,
    };
    let buckets: Vec<BucketRow> = db::nth(&results, 4)?;
    let withdrawals: Vec<WithdrawalRow> = db::nth(&results, 5)?;
    let directs = team_nodes(env, &db, NodeQuery::ChildrenOf(&caller.member_id), now).await?;
    let own = team_nodes(env, &db, NodeQuery::One(&caller.member_id), now).await?.into_iter().next();
    json_response(
        200,
        &json!({
            "member_id": caller.member_id,
            "name": place.display_name.clone().unwrap_or_else(|| caller.phone.masked()),
            "display_name": place.display_name,
            "invite_code": place.invite_code,
            "invite_path": format!("/i/{}", place.invite_code),
            "identity": place.identity,
            "inviter": place.inviter,
            "qualifying_directs": place.qualifying_directs,
            "required_directs": required,
            "joined_at": place.joined_at,
            "balances": balances(&buckets, &caller.member_id),
            "rewards": rewards,
            "directs": directs,
            "stats": own,
            "period_days": METRICS_DAYS,
            "withdrawals": withdrawals,
        }),
        "no-store",
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileForm {
    display_name: Option<String>,
}

/// `PUT /api/chain/me`: the name the sharer's poster and team show (1 to 20 characters, or
/// null for the masked phone number).
pub async fn set_profile(env: &Env, req: &Request, text: &str) -> Result<Response, ApiError> {
    let form: ProfileForm = body::parse_json(text)?;
    let name = form.display_name.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if let Some(name) = name
        && (name.chars().count() > 20 || name.chars().any(char::is_control))
    {
        return Err(ApiError::bad_request("display_name", "1 to 20 characters, no control characters"));
    }
    let caller = session::caller(env, req).await?;
    let now = config::now(env).await?;
    let db = db::database(env)?;
    db::batch(
        &db,
        vec![
            chain::ensure_member(&db, &caller.member_id, now)?,
            db::prepare(
                &db,
                "UPDATE chain_members SET display_name = ?2 WHERE member_id = ?1",
                &[db::text(&caller.member_id), db::optional_text(name)],
            )?,
        ],
    )
    .await?;
    json_response(200, &json!({"display_name": name}), "no-store")
}

/// Which members a team listing shows.
pub enum NodeQuery<'a> {
    /// The directs of a member.
    ChildrenOf(&'a str),
    /// Members without an inviter who have directs: the roots of the operator's tree.
    Roots,
    /// One member.
    One(&'a str),
}

#[derive(Deserialize)]
struct NodeRow {
    member_id: String,
    display_name: Option<String>,
    phone_enc: String,
    identity: String,
    inviter: Option<String>,
    joined_at: i64,
    directs: i64,
    visitors: i64,
    converted: i64,
    new_paying_directs: i64,
    gmv_fen: i64,
}

/// The metrics' period (`chain21.md`, "Metrics"): the trailing 30 days.
pub const METRICS_DAYS: i64 = 30;

/// Team nodes with their metrics over the trailing [`METRICS_DAYS`]: identity, direct
/// invites, link visitors and conversion, viral coefficient (directs who paid their first order
/// in the period) and the GMV of the member's own and its directs' orders in the period.
pub async fn team_nodes(
    env: &Env,
    db: &D1Database,
    query: NodeQuery<'_>,
    now: Timestamp,
) -> Result<Vec<serde_json::Value>, ApiError> {
    let (filter, param) = match query {
        NodeQuery::ChildrenOf(parent) => ("c.inviter = ?1", parent),
        NodeQuery::Roots => (
            "c.inviter IS NULL AND ?1 = '' AND EXISTS (SELECT 1 FROM chain_members g WHERE g.inviter = c.member_id)",
            "",
        ),
        NodeQuery::One(member) => ("c.member_id = ?1", member),
    };
    let sql = format!(
        "SELECT c.member_id, c.display_name, m.phone_enc, c.identity, c.inviter, c.joined_at,
            (SELECT count(*) FROM chain_members g WHERE g.inviter = c.member_id) AS directs,
            (SELECT count(DISTINCT v.visitor) FROM chain_visits v WHERE v.sharer = c.member_id AND v.at > ?2) AS visitors,
            (SELECT count(DISTINCT v.visitor) FROM chain_visits v JOIN chain_members p ON p.member_id = v.visitor
              WHERE v.sharer = c.member_id AND v.at > ?2 AND p.last_paid_at > ?2) AS converted,
            (SELECT count(*) FROM chain_members g WHERE g.inviter = c.member_id
              AND (SELECT min(o.paid_at) FROM chain_orders o WHERE o.buyer = g.member_id) > ?2) AS new_paying_directs,
            (SELECT coalesce(sum(o.base_left_fen), 0) FROM chain_orders o WHERE o.paid_at > ?2
              AND (o.buyer = c.member_id OR o.buyer IN (SELECT g.member_id FROM chain_members g WHERE g.inviter = c.member_id)))
              AS gmv_fen
         FROM chain_members c JOIN members m ON m.id = c.member_id
         WHERE {filter} ORDER BY c.joined_at, c.member_id LIMIT 200"
    );
    let since = now.plus_days(-METRICS_DAYS);
    let statement = db::prepare(db, &sql, &[db::text(param), db::integer(since.millis())])?;
    let key = config::key(env, "PHONE_ENC_KEY")?;
    Ok(db::all::<NodeRow>(statement)
        .await?
        .into_iter()
        .map(|row| {
            let masked = crypto::open(&key, &row.phone_enc)
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .and_then(|text| Phone::parse(&text).ok())
                .map(|phone| phone.masked());
            let visitors = u64::try_from(row.visitors).unwrap_or(0);
            let converted = u64::try_from(row.converted).unwrap_or(0);
            json!({
                "member_id": row.member_id,
                "name": row.display_name.or(masked),
                "identity": row.identity,
                "inviter": row.inviter,
                "joined_at": row.joined_at,
                "directs": row.directs,
                "visitors": row.visitors,
                "conversions": row.converted,
                "conversion_bp": rewards::conversion_bp(visitors, converted),
                "k": row.new_paying_directs,
                "gmv_fen": row.gmv_fen,
            })
        })
        .collect())
}

/// `GET /api/chain/team?parent=ID`: the directs of a member of the caller's team (the caller's
/// own when absent), for the tree that opens on demand. A member outside the team is 404.
pub async fn team(env: &Env, req: &Request, query: &[(&str, &str)]) -> Result<Response, ApiError> {
    let caller = session::caller(env, req).await?;
    let now = config::now(env).await?;
    let db = db::database(env)?;
    let parent = query.iter().find(|(k, _)| *k == "parent").map_or(caller.member_id.as_str(), |(_, v)| v);
    if parent != caller.member_id {
        #[derive(Deserialize)]
        struct Found {
            found: i64,
        }
        let within = db::prepare(
            &db,
            "WITH RECURSIVE up(id, depth) AS (
                 SELECT inviter, 1 FROM chain_members WHERE member_id = ?1
                 UNION ALL SELECT m.inviter, up.depth + 1 FROM chain_members m JOIN up ON m.member_id = up.id
                 WHERE m.inviter IS NOT NULL AND up.depth < 100000)
             SELECT count(*) AS found FROM up WHERE id = ?2",
            &[db::text(parent), db::text(&caller.member_id)],
        )?;
        if db::one::<Found>(within).await?.is_none_or(|f| f.found == 0) {
            return Err(ApiError::NotFound { resource: "team member" });
        }
    }
    let nodes = team_nodes(env, &db, NodeQuery::ChildrenOf(parent), now).await?;
    json_response(200, &json!({"parent": parent, "members": nodes, "period_days": METRICS_DAYS}), "no-store")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WithdrawalForm {
    amount_fen: i64,
    /// The client's key: asking twice with the same key is one withdrawal.
    request_key: String,
}

/// `POST /api/chain/withdrawals`: the caller asks to withdraw part of its available balance.
/// The amount is held (`withdrawing`) until the operator pays it out or rejects it.
pub async fn request_withdrawal(env: &Env, req: &Request, text: &str) -> Result<Response, ApiError> {
    let form: WithdrawalForm = body::parse_json(text)?;
    let key = form.request_key.as_str();
    if !(8..=64).contains(&key.len()) || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(ApiError::bad_request("request_key", "8 to 64 letters, digits or dashes"));
    }
    let caller = session::caller(env, req).await?;
    let now = config::now(env).await?;
    let db = db::database(env)?;
    let member = caller.member_id.as_str();
    let existing = |db: &D1Database| {
        db::prepare(
            db,
            &format!("SELECT {WITHDRAWAL_COLUMNS} FROM chain_withdrawals WHERE member_id = ?1 AND request_key = ?2"),
            &[db::text(member), db::text(key)],
        )
    };
    let results = db::batch(&db, vec![existing(&db)?, balance_statement(&db, member)?]).await?;
    if let Some(done) = db::first::<WithdrawalRow>(&results, 0)? {
        return json_response(200, &json!({"withdrawal": done}), "no-store");
    }
    let available = balances(&db::nth(&results, 1)?, member)["available_fen"].as_i64().unwrap_or(0);
    settle::check_withdrawal(available, form.amount_fen).map_err(|e| match e {
        settle::WithdrawalError::NotCovered { .. } => ApiError::refused(Problem::InsufficientBalance, e.to_string()),
        _ => ApiError::bad_request("amount_fen", e.to_string()),
    })?;
    let id = config::new_id("w")?;
    let account = format!("member:{member}:available");
    let mut writes = vec![db::prepare(
        &db,
        "INSERT INTO chain_withdrawals (id, member_id, request_key, amount_fen, state, requested_at)
         VALUES (?1, ?2, ?3,
                 CASE WHEN (SELECT coalesce(sum(credit_fen) - sum(debit_fen), 0) FROM ledger_entries WHERE account = ?5) >= ?4
                      THEN ?4 END,
                 'requested', ?6)",
        &[
            db::text(&id),
            db::text(member),
            db::text(key),
            db::integer(form.amount_fen),
            db::text(&account),
            db::integer(now.millis()),
        ],
    )?];
    let transaction = settle::withdrawal_transaction(member, Bucket::Available, Bucket::Withdrawing, form.amount_fen);
    writes.extend(d1::prepared_all(
        &db,
        &ledger::post(&format!("t-{id}"), "withdrawal", &format!("withdrawal:{id}"), None, now, &transaction)?,
    )?);
    if db::guarded_batch(&db, writes).await?.is_none() {
        // The same key won meanwhile, or the balance no longer covers it.
        if let Some(done) = db::one::<WithdrawalRow>(existing(&db)?).await? {
            return json_response(200, &json!({"withdrawal": done}), "no-store");
        }
        return Err(ApiError::refused(Problem::InsufficientBalance, "the available balance changed meanwhile"));
    }
    let created =
        db::one::<WithdrawalRow>(existing(&db)?).await?.ok_or_else(|| ApiError::internal("lost withdrawal"))?;
    json_response(201, &json!({"withdrawal": created}), "no-store")
}

/// `GET /api/chain/poster.svg?store=ID`: the caller's poster for a store: the store's and the
/// sharer's names and the QR code of the invite link.
pub async fn poster(env: &Env, req: &Request, query: &[(&str, &str)]) -> Result<Response, ApiError> {
    #[derive(Deserialize)]
    struct Row {
        invite_code: String,
        display_name: Option<String>,
        store_name: Option<String>,
    }
    let caller = session::caller(env, req).await?;
    let now = config::now(env).await?;
    let db = db::database(env)?;
    let store = query.iter().find(|(k, _)| *k == "store").map_or("", |(_, v)| v);
    let results = db::batch(
        &db,
        vec![
            chain::ensure_member(&db, &caller.member_id, now)?,
            db::prepare(
                &db,
                "SELECT c.invite_code, c.display_name,
                        coalesce((SELECT name_zh FROM stores WHERE id = ?2 AND status = 'active'),
                                 (SELECT name_zh FROM stores WHERE status = 'active' ORDER BY id LIMIT 1)) AS store_name
                 FROM chain_members c WHERE c.member_id = ?1",
                &[db::text(&caller.member_id), db::text(store)],
            )?,
        ],
    )
    .await?;
    let row: Row = db::first(&results, 1)?.ok_or_else(|| ApiError::internal("no place in the network"))?;
    let url = req.url().map_err(ApiError::internal)?;
    let link = format!("{}/i/{}", url.origin().ascii_serialization(), row.invite_code);
    let sharer = row.display_name.unwrap_or_else(|| caller.phone.masked());
    let svg = poster::svg(row.store_name.as_deref().unwrap_or("Tandem"), &sharer, &link);
    let mut response = Response::ok(svg).map_err(ApiError::internal)?;
    let headers = response.headers_mut();
    headers.set("content-type", "image/svg+xml; charset=utf-8").map_err(ApiError::internal)?;
    headers.set("cache-control", "private, no-store").map_err(ApiError::internal)?;
    Ok(response)
}
