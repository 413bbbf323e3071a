//! The distribution network on D1: what a payment reads of it and writes to it. The domain's
//! engine decides; this module restores it from the buyer's chain of inviters (one recursive
//! query, so the depth of the tree costs no round trip), runs the paid orders through it and
//! turns what changed into statements for the payment's own batch.
//!
//! The reads ride in the payment's read batch and the writes in its write batch: posting an
//! order's rewards adds no round trip. A conditional bump of `chain_network.version` makes two
//! payments that read the same network unable to both write.

use serde::Deserialize;
use serde_json::json;
use tandem_domain::api::Problem;
use tandem_domain::catalog::StoreId;
use tandem_domain::chain21::binding::{self, Binding};
use tandem_domain::chain21::engine::{Identity, MemberRecord};
use tandem_domain::chain21::events::Line;
use tandem_domain::chain21::paying::{self, Network};
use tandem_domain::chain21::rules::Rules;
use tandem_domain::time::Timestamp;
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result};

use crate::error::ApiError;
use crate::store::chain as network;
use crate::store::d1::D1;
use crate::store::sql::Guarded;
use crate::store::{d1, ledger};
use crate::{config, db};

/// The published rules: version and body.
#[derive(Deserialize)]
struct RulesRow {
    version: i64,
    body: String,
}

#[derive(Deserialize)]
struct VersionRow {
    version: i64,
}

#[derive(Deserialize)]
pub struct MemberRow {
    member_id: String,
    identity: String,
    inviter: Option<String>,
    fixed: i64,
    fixed_leader: Option<String>,
    origin_leader: Option<String>,
    qualifying_directs: i64,
    ever_qualified: i64,
    spend_fen: i64,
    has_paid: i64,
    last_paid_at: Option<i64>,
}

pub const MEMBER_COLUMNS: &str = "member_id, identity, inviter, fixed, fixed_leader, origin_leader, \
     qualifying_directs, ever_qualified, spend_fen, has_paid, last_paid_at";

impl MemberRow {
    pub fn record(&self) -> Result<MemberRecord, ApiError> {
        Ok(MemberRecord {
            id: self.member_id.clone(),
            identity: db::stored(Identity::parse(&self.identity).ok_or("an unknown identity"))?,
            inviter: self.inviter.clone(),
            fixed: self.fixed != 0,
            fixed_leader: self.fixed_leader.clone(),
            origin_leader: self.origin_leader.clone(),
            qualifying_directs: u32::try_from(self.qualifying_directs).unwrap_or(0),
            ever_qualified: self.ever_qualified != 0,
            spend_fen: self.spend_fen,
            has_paid: self.has_paid != 0,
            last_paid_at: self.last_paid_at.map(Timestamp),
        })
    }
}

#[derive(Deserialize)]
struct GmvRow {
    team_leader: String,
    gmv_fen: i64,
}

#[derive(Deserialize)]
struct ConversionRow {
    sharer: String,
    visitors: i64,
    converted: i64,
}

#[derive(Deserialize)]
struct LineRow {
    order_id: String,
    sku_id: String,
    amount_fen: i64,
    designated: i64,
    commissionable: i64,
}

/// What a payment read of the network.
pub struct NetworkRead {
    rules: Option<(u32, Rules)>,
    version: i64,
    chain: Vec<MemberRecord>,
    gmv: Vec<(String, i64)>,
    conversion: Vec<(String, u64, u64)>,
    lines: Vec<LineRow>,
}

/// The reads of the network for the orders of `orders_sql` (a subquery of order ids, with its
/// parameter as `?1`) bought by `buyer_sql` (a subquery giving one member id, also over `?1`).
pub fn read_statements(
    db: &D1Database,
    orders_sql: &str,
    buyer_sql: &str,
    param: &JsValue,
    now: Timestamp,
) -> Result<Vec<D1PreparedStatement>, ApiError> {
    let published = "(SELECT body FROM chain_rules WHERE state = 'published')";
    let since = |key: &str| format!("?2 - coalesce(json_extract({published}, '$.{key}'), 30) * 86400000");
    let chain = format!(
        "WITH RECURSIVE up(id, depth) AS (
             SELECT member_id, 0 FROM chain_members WHERE member_id = {buyer_sql}
             UNION ALL
             SELECT m.inviter, up.depth + 1 FROM chain_members m JOIN up ON m.member_id = up.id
             WHERE m.inviter IS NOT NULL AND up.depth < 100000)
         SELECT {MEMBER_COLUMNS} FROM up JOIN chain_members ON member_id = up.id ORDER BY up.depth"
    );
    let now = db::integer(now.millis());
    Ok(vec![
        db::prepare(db, "SELECT version, body FROM chain_rules WHERE state = 'published'", &[])?,
        db::prepare(db, "SELECT version FROM chain_network WHERE id = 1", &[])?,
        db::prepare(db, &chain, std::slice::from_ref(param))?,
        db::prepare(
            db,
            &format!(
                "WITH RECURSIVE up(id) AS (
                     SELECT member_id FROM chain_members WHERE member_id = {buyer_sql}
                     UNION ALL SELECT m.inviter FROM chain_members m JOIN up ON m.member_id = up.id
                     WHERE m.inviter IS NOT NULL)
                 SELECT team_leader, sum(base_left_fen) AS gmv_fen FROM chain_orders
                 WHERE team_leader IN (SELECT id FROM up) AND paid_at > {}
                 GROUP BY team_leader",
                since("peer.period_days")
            ),
            &[param.clone(), now.clone()],
        )?,
        db::prepare(
            db,
            &format!(
                "SELECT v.sharer, count(DISTINCT v.visitor) AS visitors,
                        count(DISTINCT CASE WHEN m.last_paid_at > {since} THEN v.visitor END) AS converted
                 FROM chain_visits v LEFT JOIN chain_members m ON m.member_id = v.visitor
                 WHERE v.at > {since} AND v.sharer IN (
                     SELECT {buyer_sql} UNION SELECT inviter FROM chain_members WHERE member_id = {buyer_sql})
                 GROUP BY v.sharer",
                since = since("dynamic.window_days")
            ),
            &[param.clone(), now],
        )?,
        db::prepare(
            db,
            &format!(
                "SELECT l.order_id, l.sku_id, l.price_fen * l.quantity AS amount_fen, p.designated, p.commissionable
                 FROM order_lines l JOIN products p ON p.id = l.product_id
                 WHERE l.order_id IN ({orders_sql}) ORDER BY l.order_id, l.position"
            ),
            std::slice::from_ref(param),
        )?,
    ])
}

impl NetworkRead {
    /// Reads the results of [`read_statements`] starting at `offset` in a batch's results.
    pub fn from_results(results: &[D1Result], offset: usize) -> Result<Self, ApiError> {
        let rules = match db::first::<RulesRow>(results, offset)? {
            Some(row) => {
                let rules = db::stored(Rules::from_json(&row.body))?;
                Some((db::stored(u32::try_from(row.version))?, rules))
            }
            None => None,
        };
        let version = db::first::<VersionRow>(results, offset + 1)?.map_or(0, |v| v.version);
        let rows: Vec<MemberRow> = db::nth(results, offset + 2)?;
        let chain = rows.iter().map(MemberRow::record).collect::<Result<Vec<_>, _>>()?;
        let gmv = db::nth::<GmvRow>(results, offset + 3)?.into_iter().map(|g| (g.team_leader, g.gmv_fen)).collect();
        let conversion = db::nth::<ConversionRow>(results, offset + 4)?
            .into_iter()
            .map(|c| (c.sharer, u64::try_from(c.visitors).unwrap_or(0), u64::try_from(c.converted).unwrap_or(0)))
            .collect();
        Ok(NetworkRead { rules, version, chain, gmv, conversion, lines: db::nth(results, offset + 5)? })
    }
}

/// An order of the payment, as the network needs it.
pub struct PaidOrder<'a> {
    pub id: &'a str,
    pub store_id: &'a str,
}

/// A fresh invite code (the person's card code too).
pub fn new_invite_code() -> Result<String, ApiError> {
    Ok(tandem_domain::card::code_of(&config::random_bytes::<{ tandem_domain::card::PERSON_CODE_LEN }>()?))
}

/// The statement that gives `member` a place in the network if it has none.
pub fn ensure_member(db: &D1Database, member: &str, now: Timestamp) -> Result<D1PreparedStatement, ApiError> {
    db::prepare(
        db,
        "INSERT INTO chain_members (member_id, invite_code, joined_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (member_id) DO NOTHING",
        &[db::text(member), db::text(&new_invite_code()?), db::integer(now.millis())],
    )
}

/// The writes of a payment for the network (`chain21::paying::pay` decides): the guard, the
/// changed members, the orders as the network saw them, the rewards and their ledger
/// transactions. Rows travel as JSON objects with named fields.
pub fn payment_writes(
    db: &D1Database,
    read: &NetworkRead,
    buyer: &str,
    orders: &[PaidOrder<'_>],
    now: Timestamp,
) -> Result<Vec<D1PreparedStatement>, ApiError> {
    let network = Network {
        rules: read.rules.clone(),
        chain: read.chain.clone(),
        team_gmv: read.gmv.clone(),
        conversion: read.conversion.clone(),
    };
    let paid = orders
        .iter()
        .map(|order| {
            Ok(paying::PaidOrder {
                id: order.id.to_owned(),
                store: db::stored(StoreId::parse(order.store_id))?,
                lines: read
                    .lines
                    .iter()
                    .filter(|l| l.order_id == order.id)
                    .map(|l| Line {
                        sku: l.sku_id.clone(),
                        amount_fen: l.amount_fen,
                        designated: l.designated != 0,
                        commissionable: l.commissionable != 0,
                    })
                    .collect(),
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let changes = paying::pay(&network, buyer, &paid, now).map_err(ApiError::internal)?;
    let mut writes = vec![db::prepare(
        db,
        "UPDATE chain_network SET version = CASE WHEN version = ?1 THEN version + 1 END WHERE id = 1",
        &[db::integer(read.version)],
    )?];
    if changes.buyer_joins {
        writes.push(ensure_member(db, buyer, now)?);
    }
    for (order_id, transaction) in &changes.transactions {
        let id = format!("t-reward-{order_id}");
        let reference = format!("reward:{order_id}");
        writes
            .extend(d1::prepared_all(db, &ledger::post(&id, "reward", &reference, Some(order_id), now, transaction)?)?);
    }
    let members: Vec<serde_json::Value> = changes.members.iter().map(member_json).collect();
    writes.push(db::prepare(
        db,
        "UPDATE chain_members SET identity = c.value ->> '$.identity', fixed = c.value ->> '$.fixed',
             fixed_leader = c.value ->> '$.fixed_leader', origin_leader = c.value ->> '$.origin_leader',
             qualifying_directs = c.value ->> '$.qualifying_directs',
             ever_qualified = c.value ->> '$.ever_qualified', spend_fen = c.value ->> '$.spend_fen',
             has_paid = c.value ->> '$.has_paid', last_paid_at = c.value ->> '$.last_paid_at',
             qualifying_order = CASE WHEN member_id = ?3 AND ?2 IS NOT NULL THEN ?2 ELSE qualifying_order END
         FROM json_each(?1) AS c WHERE chain_members.member_id = c.value ->> '$.id'",
        &[
            db::text(&serde_json::Value::Array(members).to_string()),
            db::optional_text(changes.qualifying_order.as_deref()),
            db::text(buyer),
        ],
    )?);
    let Some(version) = changes.rules_version else { return Ok(writes) };
    let order_rows: Vec<serde_json::Value> = changes
        .orders
        .iter()
        .map(|o| {
            json!({"order_id": o.order_id, "store_id": o.store.as_str(), "base_fen": o.base_fen, "team_leader": o.team_leader})
        })
        .collect();
    writes.push(db::prepare(
        db,
        "INSERT INTO chain_orders (order_id, store_id, base_fen, base_left_fen, team_leader, buyer, rules_version, paid_at)
         SELECT value ->> '$.order_id', value ->> '$.store_id', value ->> '$.base_fen', value ->> '$.base_fen',
                value ->> '$.team_leader', ?2, ?3, ?4
         FROM json_each(?1)",
        &[
            db::text(&serde_json::Value::Array(order_rows).to_string()),
            db::text(buyer),
            db::integer(i64::from(version)),
            db::integer(now.millis()),
        ],
    )?);
    let reward_rows: Vec<serde_json::Value> = changes
        .rewards
        .iter()
        .map(|r| {
            json!({
                "order_id": r.order_id,
                "beneficiary": r.beneficiary,
                "kind": r.kind.as_str(),
                "generation": r.generation,
                "position": r.position,
                "rate_bp": r.rate_bp,
                "of_team_bp": r.of_team_bp,
                "amount_fen": r.amount_fen,
            })
        })
        .collect();
    writes.push(db::prepare(
        db,
        "INSERT INTO chain_rewards (order_id, beneficiary, kind, generation, position, rate_bp, of_team_bp, amount_fen,
             state, rules_version, posted_at)
         SELECT value ->> '$.order_id', value ->> '$.beneficiary', value ->> '$.kind', value ->> '$.generation',
                value ->> '$.position', value ->> '$.rate_bp', value ->> '$.of_team_bp', value ->> '$.amount_fen',
                'pending', ?2, ?3
         FROM json_each(?1)",
        &[
            db::text(&serde_json::Value::Array(reward_rows).to_string()),
            db::integer(i64::from(version)),
            db::integer(now.millis()),
        ],
    )?);
    Ok(writes)
}

fn member_json(record: &MemberRecord) -> serde_json::Value {
    json!({
        "id": record.id,
        "identity": record.identity.as_str(),
        "fixed": i64::from(record.fixed),
        "fixed_leader": record.fixed_leader,
        "origin_leader": record.origin_leader,
        "qualifying_directs": record.qualifying_directs,
        "ever_qualified": i64::from(record.ever_qualified),
        "spend_fen": record.spend_fen,
        "has_paid": i64::from(record.has_paid),
        "last_paid_at": record.last_paid_at.map(Timestamp::millis),
    })
}

/// Binds `member_id` to the owner of invite code `code` when the distribution rules allow it
/// (`chain21::binding::decide`: unbound, never paid, not to itself, not into a cycle; the first
/// binding wins). The binding is written guarded by the network's version as read; when
/// another binding or a payment changed the network meanwhile, it is read and decided again.
/// `None` when the member or the code has no place in the network.
pub async fn bind_member(
    db: &D1Database,
    member_id: &str,
    code: &str,
    now: Timestamp,
) -> Result<Option<Binding<String>>, ApiError> {
    let store = D1(db);
    for _ in 0..20 {
        let read = network::for_binding(&store, member_id, code).await?;
        let (Some((current, has_paid)), Some(sharer)) = (&read.member, &read.sharer) else { return Ok(None) };
        let member = member_id.to_owned();
        let decision =
            binding::decide(&member, current.as_ref(), *has_paid, sharer, || read.sharer_upline.contains(&member));
        if decision != Binding::Binds {
            // The member opened the link all the same: a visitor of it (never of its own).
            if sharer != member_id {
                network::record_visit(&store, sharer, member_id, now).await?;
            }
            return Ok(Some(decision));
        }
        if let Guarded::Written(()) = network::bind(&store, member_id, sharer, read.version, now).await? {
            return Ok(Some(Binding::Binds));
        }
    }
    Err(ApiError::refused(Problem::Busy, "the network is busy; try again"))
}
