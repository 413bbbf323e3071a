//! The lifecycle of posted rewards on D1: what an order's completion, the clock and a refund do
//! to them (`domain::chain21::settle` decides), written as statements that join the batch of
//! the order's own change. Each reward update is guarded by the state and amount it was read
//! with, so a batch built on a stale read is refused whole and nothing moves twice.

use serde::Deserialize;
use serde_json::json;
use tandem_domain::catalog::StoreId;
use tandem_domain::chain21::engine::{Identity, RewardState};
use tandem_domain::chain21::rewards::Kind;
use tandem_domain::chain21::rules::Rules;
use tandem_domain::chain21::settle::{self, Qualification, Step, StoredReward};
use tandem_domain::time::Timestamp;
use worker::{D1Database, D1PreparedStatement, D1Result};

use crate::db;
use crate::error::ApiError;
use crate::store::{d1, ledger};

#[derive(Deserialize)]
struct ChainOrderRow {
    order_id: String,
    store_id: String,
    buyer: String,
    base_fen: i64,
    base_left_fen: i64,
    body: String,
}

#[derive(Deserialize)]
struct RewardRow {
    beneficiary: String,
    kind: String,
    generation: i64,
    rate_bp: i64,
    of_team_bp: Option<i64>,
    amount_fen: i64,
    state: String,
    thaw_at: Option<i64>,
}

const REWARD_COLUMNS: &str = "beneficiary, kind, generation, rate_bp, of_team_bp, amount_fen, state, thaw_at";

impl RewardRow {
    fn stored(&self) -> Result<StoredReward, ApiError> {
        Ok(StoredReward {
            beneficiary: self.beneficiary.clone(),
            kind: db::stored(Kind::parse(&self.kind).ok_or("an unknown reward kind"))?,
            generation: db::stored(u8::try_from(self.generation))?,
            rate_bp: db::stored(u32::try_from(self.rate_bp))?,
            of_team_bp: self.of_team_bp.map(u32::try_from).transpose().map_err(ApiError::internal)?,
            amount_fen: self.amount_fen,
            state: db::stored(RewardState::parse(&self.state).ok_or("an unknown reward state"))?,
            thaw_at: self.thaw_at.map(Timestamp),
        })
    }
}

#[derive(Deserialize)]
struct QualificationRow {
    identity: String,
    fixed: i64,
    fixed_leader: Option<String>,
    qualifying_order: Option<String>,
}

/// An order's rewards as read, with the rules they were posted under and the buyer's place.
pub struct OrderRewards {
    order_id: String,
    store: StoreId,
    buyer: String,
    buyer_place: Qualification,
    base_fen: i64,
    base_left_fen: i64,
    rules: Rules,
    rows: Vec<RewardRow>,
    rewards: Vec<StoredReward>,
}

/// The three reads of [`OrderRewards`] for the order `?1`.
pub fn order_reads(db: &D1Database, order_id: &str) -> Result<Vec<D1PreparedStatement>, ApiError> {
    Ok(vec![
        db::prepare(
            db,
            "SELECT o.order_id, o.store_id, o.buyer, o.base_fen, o.base_left_fen, r.body
             FROM chain_orders o JOIN chain_rules r ON r.version = o.rules_version WHERE o.order_id = ?1",
            &[db::text(order_id)],
        )?,
        db::prepare(
            db,
            &format!("SELECT {REWARD_COLUMNS} FROM chain_rewards WHERE order_id = ?1 ORDER BY position"),
            &[db::text(order_id)],
        )?,
        db::prepare(
            db,
            "SELECT m.identity, m.fixed, m.fixed_leader, m.qualifying_order
             FROM chain_members m JOIN chain_orders o ON o.buyer = m.member_id WHERE o.order_id = ?1",
            &[db::text(order_id)],
        )?,
    ])
}

impl OrderRewards {
    /// Reads the results of [`order_reads`] at `offset`: `None` when the order carries no
    /// rewards (paid before any rules were published).
    pub fn from_results(results: &[D1Result], offset: usize) -> Result<Option<Self>, ApiError> {
        let Some(order) = db::first::<ChainOrderRow>(results, offset)? else { return Ok(None) };
        let rows: Vec<RewardRow> = db::nth(results, offset + 1)?;
        let rewards = rows.iter().map(RewardRow::stored).collect::<Result<Vec<_>, _>>()?;
        let place = db::first::<QualificationRow>(results, offset + 2)?
            .ok_or_else(|| ApiError::internal(format!("the buyer of {} has no place", order.order_id)))?;
        let buyer_place = Qualification {
            identity: db::stored(Identity::parse(&place.identity).ok_or("an unknown identity"))?,
            fixed: place.fixed != 0,
            fixed_leader: place.fixed_leader,
            qualifying_order: place.qualifying_order,
        };
        Ok(Some(OrderRewards {
            store: db::stored(StoreId::parse(&order.store_id))?,
            rules: db::stored(Rules::from_json(&order.body))?,
            order_id: order.order_id,
            buyer: order.buyer,
            buyer_place,
            base_fen: order.base_fen,
            base_left_fen: order.base_left_fen,
            rows,
            rewards,
        }))
    }

    /// The writes of the order's completion at `now`: pending rewards frozen until the thaw
    /// time of the rules they were posted under.
    pub fn freeze_writes(&self, db: &D1Database, now: Timestamp) -> Result<Vec<D1PreparedStatement>, ApiError> {
        let thaw_at = settle::thaw_time(&self.rules, now);
        let steps = settle::freeze(&self.rewards);
        let mut writes = self.step_writes(db, &steps, Some(thaw_at))?;
        writes.extend(self.post(db, "freeze", &format!("freeze:{}", self.order_id), &steps, now)?);
        Ok(writes)
    }

    /// The writes of a refund leaving `left_fen` of the order's `total_fen`: the rewards cut
    /// to what the rest of the base pays (voided, or clawed back once available), the base left
    /// and the buyer's spend, and the buyer's agent identity taken back when the order it
    /// qualified by is refunded in full before completion (`qualify_on = "paid"`).
    pub fn refund_writes(
        &self,
        db: &D1Database,
        refund_id: &str,
        total_fen: i64,
        left_fen: i64,
        completed: bool,
        now: Timestamp,
    ) -> Result<Vec<D1PreparedStatement>, ApiError> {
        let base_left = settle::base_left(self.base_fen, total_fen, left_fen).min(self.base_left_fen);
        let steps = settle::refund(&self.rewards, base_left, self.rules.cap.total_bp);
        let mut writes = self.step_writes(db, &steps, None)?;
        let (voids, clawbacks) = settle::voids_and_clawbacks(&steps);
        writes.extend(self.post(db, "void", &format!("void:{refund_id}"), &voids, now)?);
        writes.extend(self.post(db, "clawback", &format!("clawback:{refund_id}"), &clawbacks, now)?);
        let taken = self.base_left_fen - base_left;
        writes.push(db::prepare(
            db,
            "UPDATE chain_orders SET base_left_fen = CASE WHEN base_left_fen = ?2 THEN ?3 END WHERE order_id = ?1",
            &[db::text(&self.order_id), db::integer(self.base_left_fen), db::integer(base_left)],
        )?);
        writes.push(db::prepare(
            db,
            "UPDATE chain_members SET spend_fen = spend_fen - ?2 WHERE member_id = ?1",
            &[db::text(&self.buyer), db::integer(taken)],
        )?);
        let revoked = settle::revocation(&self.rules, &self.buyer_place, &self.order_id, left_fen == 0, completed);
        if let Some(place) = &revoked {
            // Guarded by the place as read: a concurrent change of the buyer refuses the batch.
            writes.push(db::prepare(
                db,
                "UPDATE chain_members SET identity = CASE WHEN identity = ?2 AND qualifying_order IS ?3 THEN ?4 END,
                     fixed = ?5, fixed_leader = ?6, qualifying_order = ?7
                 WHERE member_id = ?1",
                &[
                    db::text(&self.buyer),
                    db::text(self.buyer_place.identity.as_str()),
                    db::optional_text(self.buyer_place.qualifying_order.as_deref()),
                    db::text(place.identity.as_str()),
                    db::integer(i64::from(place.fixed)),
                    db::optional_text(place.fixed_leader.as_deref()),
                    db::optional_text(place.qualifying_order.as_deref()),
                ],
            )?);
        }
        if revoked.is_some() || taken > 0 {
            // What the buyer spent and who is an agent are read by the next payments.
            writes.push(db::prepare(db, "UPDATE chain_network SET version = version + 1 WHERE id = 1", &[])?);
        }
        Ok(writes)
    }

    /// One statement moving the rewards of `steps`, each guarded by the state and amount read.
    fn step_writes(
        &self,
        db: &D1Database,
        steps: &[Step],
        thaw_at: Option<Timestamp>,
    ) -> Result<Vec<D1PreparedStatement>, ApiError> {
        if steps.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<serde_json::Value> = steps
            .iter()
            .map(|step| {
                let row = &self.rows[step.reward];
                let change = step.change(&self.rewards[step.reward]);
                json!({
                    "beneficiary": row.beneficiary,
                    "kind": row.kind,
                    "generation": row.generation,
                    "state_read": row.state,
                    "amount_read": row.amount_fen,
                    "state": change.state.as_str(),
                    "amount_fen": change.amount_fen,
                    "voided_fen": change.voided_fen,
                    "clawback_fen": change.clawback_fen,
                })
            })
            .collect();
        Ok(vec![db::prepare(
            db,
            "UPDATE chain_rewards SET
                 state = CASE WHEN state = r.value ->> '$.state_read' AND amount_fen = r.value ->> '$.amount_read'
                              THEN r.value ->> '$.state' END,
                 amount_fen = r.value ->> '$.amount_fen',
                 voided_fen = voided_fen + (r.value ->> '$.voided_fen'),
                 clawback_fen = clawback_fen + (r.value ->> '$.clawback_fen'),
                 thaw_at = coalesce(?3, thaw_at)
             FROM json_each(?2) AS r
             WHERE chain_rewards.order_id = ?1 AND beneficiary = r.value ->> '$.beneficiary'
               AND kind = r.value ->> '$.kind' AND generation = r.value ->> '$.generation'",
            &[
                db::text(&self.order_id),
                db::text(&serde_json::Value::Array(rows).to_string()),
                thaw_at.map_or(worker::wasm_bindgen::JsValue::NULL, |t| db::integer(t.millis())),
            ],
        )?])
    }

    fn post(
        &self,
        db: &D1Database,
        kind: &str,
        reference: &str,
        steps: &[Step],
        now: Timestamp,
    ) -> Result<Vec<D1PreparedStatement>, ApiError> {
        if steps.is_empty() {
            return Ok(Vec::new());
        }
        let transaction = settle::transaction(&self.store, &self.rewards, steps);
        Ok(d1::prepared_all(
            db,
            &ledger::post(&format!("t-{reference}"), kind, reference, Some(&self.order_id), now, &transaction)?,
        )?)
    }
}

/// Makes available the frozen rewards whose thaw time has come, order by order (one batch
/// each, so a thaw is all or nothing per order). Returns how many rewards thawed.
pub async fn thaw_due(db: &D1Database, now: Timestamp) -> Result<u32, ApiError> {
    #[derive(Deserialize)]
    struct Due {
        order_id: String,
    }
    let due = db::prepare(
        db,
        "SELECT DISTINCT order_id FROM chain_rewards WHERE state = 'frozen' AND thaw_at <= ?1 LIMIT 200",
        &[db::integer(now.millis())],
    )?;
    let mut thawed = 0;
    for order in db::all::<Due>(due).await? {
        let results = db::batch(db, order_reads(db, &order.order_id)?).await?;
        let Some(rewards) = OrderRewards::from_results(&results, 0)? else { continue };
        let steps = settle::thaw(&rewards.rewards, now);
        let mut writes = rewards.step_writes(db, &steps, None)?;
        let first = steps.first().map_or(0, |s| s.reward);
        let reference =
            format!("thaw:{}:{}", order.order_id, rewards.rows.get(first).and_then(|r| r.thaw_at).unwrap_or(0));
        writes.extend(rewards.post(db, "thaw", &reference, &steps, now)?);
        let count = u32::try_from(steps.len()).unwrap_or(0);
        if !writes.is_empty() && db::guarded_batch(db, writes).await?.is_some() {
            thawed += count;
        }
    }
    Ok(thawed)
}
