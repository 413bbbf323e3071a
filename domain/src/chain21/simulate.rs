//! A synthetic network for seeing what a rule set does at scale (`tandem chain21 simulate`, and
//! the bench): members join under a random earlier member, buy the designated product or
//! ordinary goods, and some orders are completed or refunded. Deterministic for a seed.

use serde::Serialize;

use std::collections::VecDeque;

use super::engine::{Engine, EngineError, Identity, Member, Paid, RewardState};
use super::events::GrantIdentity;
use super::rules::Rules;
use crate::random::Random;
use crate::time::Timestamp;

#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub members: u32,
    pub orders: u32,
    pub seed: u64,
    pub start: Timestamp,
}

/// What the rules did to the synthetic network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Outcome {
    pub members: u64,
    pub orders: u64,
    pub agents: u64,
    pub partners: u64,
    pub rewards: u64,
    pub gmv_fen: i64,
    pub refunded_fen: i64,
    pub rewards_fen: i64,
    /// Rewards as a share of the GMV left after refunds.
    pub rewards_bp_of_gmv: i64,
    pub pending_fen: i64,
    pub frozen_fen: i64,
    pub available_fen: i64,
}

const GIFT_FEN: i64 = 39_900;

/// Runs the plan through a fresh numbered engine (members `m{i}`, orders `o{i}`, driven by
/// its dense calls, so no string is made per member or order); the caller times it.
pub fn run(rules: Rules, plan: Plan) -> Result<(Engine, Outcome), EngineError> {
    let members = u64::from(plan.members.max(1));
    let orders = u64::from(plan.orders);
    let capacity = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    let mut engine = Engine::numbered(rules, capacity(members), capacity(orders));
    let mut random = Random::new(plan.seed);
    let mut at = plan.start;
    let mut outcome = Outcome::default();
    let root = engine.add_member();
    engine.grant_at(at, root, GrantIdentity::Partner);
    let mut joined = 1_u64;
    let mut paid: VecDeque<u32> = VecDeque::new();
    // Orders and members arrive interleaved, so that by the last order everyone has joined.
    let steps = members.max(orders);
    let mut order_count = 0_u64;
    let member = |n: u64| Member::try_from(n).unwrap_or(Member::MAX);
    for step in 0..steps {
        at = at.plus_millis(30_000);
        if joined < members && step * members / steps >= joined - 1 {
            let inviter = random.below(joined);
            let newcomer = engine.add_member();
            engine.bind_at(at, newcomer, member(inviter));
            joined += 1;
        }
        if order_count < orders && step * orders / steps >= order_count {
            // Newer members buy more often: half the orders come from the latest tenth.
            let buyer = if random.below(2) == 0 {
                joined - 1 - random.below(joined.div_ceil(10))
            } else {
                random.below(joined)
            };
            let designated = random.below(5) == 0;
            let amount_fen =
                if designated { GIFT_FEN } else { 5_000 + i64::try_from(random.below(25_000)).unwrap_or(0) };
            let order =
                engine.pay_at(at, member(buyer), &Paid { total_fen: amount_fen, base_fen: amount_fen, designated });
            outcome.gmv_fen += amount_fen;
            paid.push_back(order);
            order_count += 1;
            // 3 in 100 are refunded in full soon after; the rest complete a few days later.
            if random.below(100) < 3 {
                engine.refund_at(at, order, amount_fen)?;
                outcome.refunded_fen += amount_fen;
            }
        }
        // Complete orders from about three days back.
        if step + 1 == steps {
            for order in std::mem::take(&mut paid) {
                engine.complete_at(at, order);
            }
        } else if paid.len() > 8_640
            && let Some(order) = paid.pop_front()
        {
            engine.complete_at(at, order);
        }
    }
    engine.advance(at.plus_days(30));
    outcome.members = engine.member_count() as u64;
    outcome.orders = order_count;
    for member in 0..u32::try_from(engine.member_count()).unwrap_or(u32::MAX) {
        match engine.identity(member) {
            Identity::Agent => outcome.agents += 1,
            Identity::Partner => outcome.partners += 1,
            Identity::Member => {}
        }
        let balance = engine.balance(member);
        outcome.pending_fen += balance.pending_fen;
        outcome.frozen_fen += balance.frozen_fen;
        outcome.available_fen += balance.available_fen;
    }
    outcome.rewards = engine.rewards().len() as u64;
    outcome.rewards_fen = engine.rewards().total_fen();
    let net = outcome.gmv_fen - outcome.refunded_fen;
    outcome.rewards_bp_of_gmv = if net > 0 { outcome.rewards_fen * 10_000 / net } else { 0 };
    debug_assert!(engine.rewards().iter().all(|r| r.state != RewardState::Frozen || r.thaw_at.is_some()));
    Ok((engine, outcome))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_simulation_is_deterministic_and_within_the_cap() {
        let plan = Plan { members: 2_000, orders: 3_000, seed: 7, start: Timestamp(1_790_000_000_000) };
        let (_, first) = run(Rules::chain21(), plan).unwrap();
        let (_, second) = run(Rules::chain21(), plan).unwrap();
        assert_eq!(first, second);
        assert_eq!((first.members, first.orders), (2_000, 3_000));
        assert!(first.partners > 1 && first.agents > 10, "{first:?}");
        assert!(first.rewards_bp_of_gmv > 0 && first.rewards_bp_of_gmv <= 3_500, "{first:?}");
        assert_eq!(first.pending_fen + first.frozen_fen, 0, "everything completed and thawed: {first:?}");
        assert_eq!(first.available_fen, first.rewards_fen);
        let (_, retail) = run(Rules::two_tier_retail(), plan).unwrap();
        assert_eq!(retail.partners, 1, "only the granted root");
        assert!(retail.rewards_bp_of_gmv <= 1_500);
    }
}
