//! Posted rewards after their payment: an order's rewards read with the rules they were posted
//! under and the buyer's place (`domain::chain21::settle::OrderRewards`, which decides what
//! completion, the clock and a refund do to them), and what it decided written as statements
//! that join the batch of the order's own change. Each reward update is guarded by the state
//! and amount it was read with, so a batch built on a stale read is refused whole and nothing
//! moves twice.

use serde::Deserialize;
use serde_json::json;
use tandem_domain::catalog::StoreId;
use tandem_domain::chain21::engine::{Identity, RewardState};
use tandem_domain::chain21::rewards::Kind;
use tandem_domain::chain21::rules::Rules;
use tandem_domain::chain21::settle::{OrderRewards, Qualification, RewardChanges, StoredReward};
use tandem_domain::time::Timestamp;

use super::ledger;
use super::sql::{self, Database, Results, Rows, Statement, StoreError, statement, stored};

#[derive(Deserialize)]
struct ChainOrderRow {
    order_id: String,
    store_id: String,
    buyer: String,
    base_fen: i64,
    base_left_fen: i64,
    team_leader: Option<String>,
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

impl RewardRow {
    fn reward(self) -> Result<StoredReward, StoreError> {
        Ok(StoredReward {
            kind: stored(Kind::parse(&self.kind).ok_or("an unknown reward kind"))?,
            generation: stored(u8::try_from(self.generation))?,
            rate_bp: stored(u32::try_from(self.rate_bp))?,
            of_team_bp: stored(self.of_team_bp.map(u32::try_from).transpose())?,
            amount_fen: self.amount_fen,
            state: stored(RewardState::parse(&self.state).ok_or("an unknown reward state"))?,
            thaw_at: self.thaw_at.map(Timestamp),
            beneficiary: self.beneficiary,
        })
    }
}

#[derive(Deserialize)]
struct PlaceRow {
    identity: String,
    fixed: i64,
    fixed_leader: Option<String>,
    qualifying_order: Option<String>,
}

/// The three reads of an order's rewards, to join a read batch; taken by [`from_results`].
pub fn reads(order_id: &str) -> Vec<Statement> {
    vec![
        statement!(
            "SELECT o.order_id, o.store_id, o.buyer, o.base_fen, o.base_left_fen, o.team_leader, r.body
             FROM chain_orders o JOIN chain_rules r ON r.version = o.rules_version WHERE o.order_id = ?1",
            order_id
        ),
        statement!(
            "SELECT beneficiary, kind, generation, rate_bp, of_team_bp, amount_fen, state, thaw_at
             FROM chain_rewards WHERE order_id = ?1 ORDER BY position",
            order_id
        ),
        statement!(
            "SELECT m.identity, m.fixed, m.fixed_leader, m.qualifying_order
             FROM chain_members m JOIN chain_orders o ON o.buyer = m.member_id WHERE o.order_id = ?1",
            order_id
        ),
    ]
}

/// An order's rewards from the results of [`reads`], taken next from `results`: `None` when
/// the order carries none (paid before any rules were published).
pub fn from_results<R: Rows>(results: &mut Results<R>) -> Result<Option<OrderRewards>, StoreError> {
    let order = results.first::<ChainOrderRow>()?;
    let rewards = results.all::<RewardRow>()?;
    let place = results.first::<PlaceRow>()?;
    let Some(order) = order else { return Ok(None) };
    let place = place.ok_or_else(|| StoreError::failed(format!("the buyer of {} has no place", order.order_id)))?;
    Ok(Some(OrderRewards {
        store: stored(StoreId::parse(&order.store_id))?,
        rules: stored(Rules::from_json(&order.body))?,
        buyer_place: Qualification {
            identity: stored(Identity::parse(&place.identity).ok_or("an unknown identity"))?,
            fixed: place.fixed != 0,
            fixed_leader: place.fixed_leader,
            qualifying_order: place.qualifying_order,
        },
        order_id: order.order_id,
        buyer: order.buyer,
        base_fen: order.base_fen,
        base_left_fen: order.base_left_fen,
        team_leader: order.team_leader,
        rewards: rewards.into_iter().map(RewardRow::reward).collect::<Result<_, _>>()?,
    }))
}

/// An order's rewards.
pub async fn of_order<D: Database>(db: &D, order_id: &str) -> Result<Option<OrderRewards>, StoreError> {
    from_results(&mut sql::run(db, reads(order_id)).await?)
}

/// The orders with frozen rewards whose thaw time has come, at most 200.
pub async fn thaw_due<D: Database>(db: &D, buyer: Option<&str>, now: Timestamp) -> Result<Vec<String>, StoreError> {
    #[derive(Deserialize)]
    struct Due {
        order_id: String,
    }
    let due = statement!(
        "SELECT DISTINCT order_id FROM chain_rewards WHERE state = 'frozen' AND thaw_at <= ?1
             AND (?2 IS NULL OR order_id IN (SELECT id FROM orders WHERE member_id = ?2))
         ORDER BY order_id LIMIT 200",
        now.millis(),
        buyer
    );
    Ok(sql::run(db, vec![due]).await?.all::<Due>()?.into_iter().map(|d| d.order_id).collect())
}

/// The writes of what an event did to `order`'s rewards, as the domain decided: the rewards
/// moved (each guarded by the state and amount read), their ledger transactions, and after a
/// refund the base left (guarded by the base read), the buyer's spend, a revocation (guarded
/// by the place read) and the versions of what payments in flight read that moved.
pub fn writes(order: &OrderRewards, changes: &RewardChanges, now: Timestamp) -> Result<Vec<Statement>, StoreError> {
    let mut writes = Vec::new();
    if !changes.steps.is_empty() {
        let rows: Vec<serde_json::Value> = changes
            .steps
            .iter()
            .map(|(index, change)| {
                let read = &order.rewards[*index];
                json!({
                    "beneficiary": read.beneficiary,
                    "kind": read.kind.as_str(),
                    "generation": read.generation,
                    "state_read": read.state.as_str(),
                    "amount_read": read.amount_fen,
                    "state": change.state.as_str(),
                    "amount_fen": change.amount_fen,
                    "voided_fen": change.voided_fen,
                    "clawback_fen": change.clawback_fen,
                })
            })
            .collect();
        writes.push(statement!(
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
            &order.order_id,
            serde_json::Value::Array(rows).to_string(),
            changes.thaw_at.map(Timestamp::millis)
        ));
    }
    for posting in &changes.postings {
        let id = format!("t-{}", posting.reference);
        writes.extend(ledger::post(
            &id,
            posting.kind,
            &posting.reference,
            Some(&order.order_id),
            now,
            &posting.transaction,
        )?);
    }
    if let Some((read, left)) = changes.base_left {
        writes.push(statement!(
            "UPDATE chain_orders SET base_left_fen = CASE WHEN base_left_fen = ?2 THEN ?3 END WHERE order_id = ?1",
            &order.order_id,
            read,
            left
        ));
    }
    if changes.spend_taken != 0 {
        writes.push(statement!(
            "UPDATE chain_members SET spend_fen = spend_fen - ?2 WHERE member_id = ?1",
            &order.buyer,
            changes.spend_taken
        ));
    }
    if let Some(place) = &changes.revoked {
        let read = &order.buyer_place;
        writes.push(statement!(
            "UPDATE chain_members SET identity = CASE WHEN identity = ?2 AND qualifying_order IS ?3 THEN ?4 END,
                 fixed = ?5, fixed_leader = ?6, qualifying_order = ?7
             WHERE member_id = ?1",
            &order.buyer,
            read.identity.as_str(),
            read.qualifying_order.as_deref(),
            place.identity.as_str(),
            i64::from(place.fixed),
            place.fixed_leader.as_deref(),
            place.qualifying_order.as_deref()
        ));
    }
    let moved = &changes.changed;
    if !moved.members.is_empty() || !moved.teams.is_empty() {
        // What payments in flight read moved: the buyer's record, the GMV of the order's team.
        let bumps: Vec<serde_json::Value> = moved
            .members
            .iter()
            .map(|id| json!({"id": id, "bump": 1, "tbump": 0}))
            .chain(moved.teams.iter().map(|id| json!({"id": id, "bump": 0, "tbump": 1})))
            .collect();
        writes.push(statement!(
            "UPDATE chain_members SET version = version + (b.value ->> '$.bump'),
                 team_version = team_version + (b.value ->> '$.tbump')
             FROM json_each(?1) AS b WHERE chain_members.member_id = b.value ->> '$.id'",
            serde_json::Value::Array(bumps).to_string()
        ));
    }
    Ok(writes)
}

#[cfg(test)]
mod tests {
    use tandem_domain::chain21::paying::{self, PaidOrder};

    use super::*;
    use crate::store::sql::{Guarded, RACE_GUARDS};
    use crate::store::sqlite::{Sqlite, block_on};
    use crate::store::{chain, fixtures};

    const NOW: Timestamp = Timestamp(1_790_000_000_000);
    const DAY: i64 = 86_400_000;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Balance {
        account: String,
        fen: i64,
    }

    /// Agent p invited b; b paid order o-1 (two cups, 500 fen) under the chain21 preset.
    fn paid() -> Sqlite {
        let db = fixtures::catalogue();
        fixtures::member(&db, "m-p", "CODEP1", None);
        fixtures::member(&db, "m-b", "CODEB1", Some("m-p"));
        db.execute("UPDATE chain_members SET identity = 'agent', has_paid = 1 WHERE member_id = 'm-p'").unwrap();
        fixtures::order(&db, "o-1", "m-b", "paid", 2);
        fixtures::publish(&db, &Rules::chain21());
        let reads = chain::payment_reads(
            "SELECT id FROM orders WHERE id = ?1",
            "(SELECT member_id FROM orders WHERE id = ?1)",
            "o-1",
            NOW,
        );
        let read = chain::payment_read_from(&mut block_on(sql::run(&db, reads)).unwrap()).unwrap();
        let order = PaidOrder { id: "o-1".into(), store: StoreId::parse("s-1").unwrap(), lines: read.lines_of("o-1") };
        let changes = paying::pay(&read.network, "m-b", &[order], NOW).unwrap();
        let writes = chain::payment_writes(&read, "m-b", "UNUSED1", &changes, NOW).unwrap();
        block_on(sql::run(&db, writes)).unwrap();
        db
    }

    fn balances(db: &Sqlite) -> Vec<Balance> {
        let read = statement!(
            "SELECT account, sum(credit_fen) - sum(debit_fen) AS fen FROM ledger_entries
             WHERE account LIKE 'member:m-p:%' GROUP BY account HAVING fen != 0 ORDER BY account"
        );
        block_on(sql::run(db, vec![read])).unwrap().all().unwrap()
    }

    fn apply(db: &Sqlite, order: &OrderRewards, changes: &RewardChanges, now: Timestamp) -> bool {
        let writes = writes(order, changes, now).unwrap();
        matches!(block_on(sql::guarded(db, writes, RACE_GUARDS)).unwrap(), Guarded::Written(_))
    }

    #[test]
    fn completion_freezes_the_clock_thaws_and_nothing_moves_twice() {
        let db = paid();
        let order = block_on(of_order(&db, "o-1")).unwrap().unwrap();
        let earned = order.rewards[0].amount_fen;
        assert!(earned > 0);
        assert_eq!(balances(&db), [Balance { account: "member:m-p:pending".into(), fen: earned }]);
        let frozen = order.on_completion(NOW);
        assert!(apply(&db, &order, &frozen, NOW));
        assert!(!apply(&db, &order, &frozen, NOW), "a completion read before the first is refused whole");
        assert_eq!(balances(&db), [Balance { account: "member:m-p:frozen".into(), fen: earned }]);
        let order = block_on(of_order(&db, "o-1")).unwrap().unwrap();
        let after_sale = Timestamp(NOW.millis() + i64::from(order.rules.settle.after_sale_days) * DAY);
        assert!(block_on(thaw_due(&db, None, Timestamp(after_sale.millis() - 1))).unwrap().is_empty());
        assert_eq!(block_on(thaw_due(&db, None, after_sale)).unwrap(), ["o-1"]);
        // Scoped to a buyer, only that buyer's orders are due.
        assert_eq!(block_on(thaw_due(&db, Some("m-b"), after_sale)).unwrap(), ["o-1"]);
        assert!(block_on(thaw_due(&db, Some("m-p"), after_sale)).unwrap().is_empty());
        assert!(apply(&db, &order, &order.on_clock(after_sale), after_sale));
        assert_eq!(balances(&db), [Balance { account: "member:m-p:available".into(), fen: earned }]);
        assert!(block_on(thaw_due(&db, None, after_sale)).unwrap().is_empty());
    }

    #[test]
    fn a_refund_cuts_the_rewards_the_base_and_the_spend() {
        #[derive(Deserialize)]
        struct Left {
            base_left_fen: i64,
            spend_fen: i64,
        }
        let db = paid();
        let order = block_on(of_order(&db, "o-1")).unwrap().unwrap();
        let whole = order.rewards[0].amount_fen;
        // Half the goods come back before completion: half the reward is voided.
        let refund = order.on_refund("r-1", 500, 250, false);
        assert_eq!(refund.changed.members, ["m-b"]);
        assert!(apply(&db, &order, &refund, NOW));
        assert!(!apply(&db, &order, &refund, NOW), "the same refund read twice is refused");
        assert_eq!(balances(&db), [Balance { account: "member:m-p:pending".into(), fen: whole - whole / 2 }]);
        let left = statement!(
            "SELECT base_left_fen, (SELECT spend_fen FROM chain_members WHERE member_id = 'm-b') AS spend_fen
             FROM chain_orders WHERE order_id = 'o-1'"
        );
        let left: Left = block_on(sql::run(&db, vec![left])).unwrap().first().unwrap().unwrap();
        assert_eq!((left.base_left_fen, left.spend_fen), (250, 250));
    }
}
