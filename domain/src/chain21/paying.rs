//! What a payment does to the distribution network, as one use case: the buyer's chain of
//! inviters as stored (with its team GMV and link conversion), the paid orders, and the clock
//! go in; the members that changed, the orders as the network saw them, the rewards posted and
//! their ledger transactions come out. The Worker writes them in the payment's own batch.

use crate::catalog::StoreId;
use crate::ledger::{Account, Transaction};
use crate::money::Fen;
use crate::time::Timestamp;

use super::engine::{Engine, EngineError, Identity, MemberRecord};
use super::events::{Event, EventKind, Line};
use super::rewards::Kind;
use super::rules::Rules;

/// The network as a payment read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    /// The published rules and their version; `None` when none are published.
    pub rules: Option<(u32, Rules)>,
    /// The buyer first, then its inviters up to the root; empty when the buyer has no place.
    pub chain: Vec<MemberRecord>,
    /// Team GMV per team leader of the chain, over the rules' peer period.
    pub team_gmv: Vec<(String, i64)>,
    /// Per sharer of the chain: distinct visitors and converted visitors in the rules' window.
    pub conversion: Vec<(String, u64, u64)>,
}

/// One order of the payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidOrder {
    pub id: String,
    pub store: StoreId,
    pub lines: Vec<Line>,
}

/// An order as the network saw it: the base its rewards are paid on and the team it counts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkOrder {
    pub order_id: String,
    pub store: StoreId,
    pub base_fen: i64,
    pub team_leader: Option<String>,
}

/// A reward posted by the payment, with the rates it was computed at (kept, so a refund
/// recomputes with the identities and rules of the payment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedReward {
    pub order_id: String,
    pub beneficiary: String,
    pub kind: Kind,
    pub generation: u8,
    pub position: u32,
    pub rate_bp: u32,
    pub of_team_bp: Option<u32>,
    pub amount_fen: i64,
}

/// Everything a payment changes in the network.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetworkChanges {
    /// The buyer had no place in the network: it gets one (with a fresh invite code).
    pub buyer_joins: bool,
    /// Members whose stored record changed, as they are now.
    pub members: Vec<MemberRecord>,
    /// The order by which the buyer became an agent, when one did.
    pub qualifying_order: Option<String>,
    /// The rules version the rewards were posted under; `None` when none are published.
    pub rules_version: Option<u32>,
    pub orders: Vec<NetworkOrder>,
    pub rewards: Vec<PostedReward>,
    /// Per order with rewards: the transfer from the store's payable to each beneficiary's
    /// pending bucket.
    pub transactions: Vec<(String, Transaction)>,
}

fn base_of(lines: &[Line]) -> i64 {
    lines.iter().filter(|l| l.commissionable).map(|l| l.amount_fen).sum()
}

/// A member that has just joined, as it is stored.
fn newcomer(id: &str) -> MemberRecord {
    MemberRecord {
        id: id.to_owned(),
        identity: Identity::Member,
        inviter: None,
        fixed: false,
        fixed_leader: None,
        origin_leader: None,
        qualifying_directs: 0,
        ever_qualified: false,
        spend_fen: 0,
        has_paid: false,
        last_paid_at: None,
    }
}

/// What `buyer` paying `orders` at `now` does to `network`.
///
/// # Errors
/// What the engine refuses (an order paid twice within one payment).
pub fn pay(
    network: &Network,
    buyer: &str,
    orders: &[PaidOrder],
    now: Timestamp,
) -> Result<NetworkChanges, EngineError> {
    let buyer_joins = network.chain.first().is_none_or(|m| m.id != buyer);
    let Some((version, rules)) = &network.rules else {
        // No rules published: nothing is paid, but the buyer has paid (it can no longer bind).
        let mut record = if buyer_joins { newcomer(buyer) } else { network.chain[0].clone() };
        record.has_paid = true;
        record.last_paid_at = Some(now);
        record.spend_fen += orders.iter().map(|o| base_of(&o.lines)).sum::<i64>();
        return Ok(NetworkChanges { buyer_joins, members: vec![record], ..NetworkChanges::default() });
    };
    let mut engine = Engine::restore(rules.clone(), now, &network.chain, &network.team_gmv, &network.conversion);
    let mut changes = NetworkChanges { buyer_joins, rules_version: Some(*version), ..NetworkChanges::default() };
    for (index, order) in orders.iter().enumerate() {
        let first_reward = engine.rewards().len();
        let identity_before = engine.find(buyer).map(|b| engine.identity(b));
        let kind = EventKind::Paid { order: order.id.clone(), buyer: buyer.to_owned(), lines: order.lines.clone() };
        engine.apply(&Event { at: now, kind })?;
        let index = u32::try_from(index).unwrap_or(u32::MAX);
        if engine.find(buyer).map(|b| engine.identity(b)) == Some(Identity::Agent)
            && identity_before != Some(Identity::Agent)
        {
            changes.qualifying_order = Some(order.id.clone());
        }
        changes.orders.push(NetworkOrder {
            order_id: order.id.clone(),
            store: order.store.clone(),
            base_fen: base_of(&order.lines),
            team_leader: engine.order_team(index).map(|t| engine.name(t).to_owned()),
        });
        let mut transaction = Transaction { entries: Vec::new() };
        let candidates = engine.order_candidates(index);
        for (position, (reward, candidate)) in engine.rewards()[first_reward..].iter().zip(candidates).enumerate() {
            let beneficiary = engine.name(reward.beneficiary).to_owned();
            let pending = Account::Member { id: beneficiary.clone(), bucket: "pending".to_owned() };
            let part =
                Transaction::transfer(Account::StorePayable(order.store.clone()), pending, Fen(reward.amount_fen));
            transaction.entries.extend(part.entries);
            changes.rewards.push(PostedReward {
                order_id: order.id.clone(),
                beneficiary,
                kind: reward.kind,
                generation: reward.generation,
                position: u32::try_from(position).unwrap_or(u32::MAX),
                rate_bp: candidate.rate_bp,
                of_team_bp: candidate.of_team_bp,
                amount_fen: reward.amount_fen,
            });
        }
        if !transaction.entries.is_empty() {
            changes.transactions.push((order.id.clone(), transaction));
        }
    }
    changes.members = (0..engine.member_count())
        .filter_map(|m| {
            let record = engine.record(u32::try_from(m).ok()?);
            let before = network.chain.iter().find(|r| r.id == record.id);
            (before != Some(&record)).then_some(record)
        })
        .collect();
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Side;

    const NOW: Timestamp = Timestamp(1_790_000_000_000);

    fn store() -> StoreId {
        StoreId::parse("s-1").unwrap()
    }

    fn order(id: &str, fen: i64) -> PaidOrder {
        PaidOrder {
            id: id.to_owned(),
            store: store(),
            lines: vec![Line { sku: "k-1".to_owned(), amount_fen: fen, designated: true, commissionable: true }],
        }
    }

    fn member(id: &str, inviter: Option<&str>, identity: Identity) -> MemberRecord {
        MemberRecord { identity, inviter: inviter.map(str::to_owned), has_paid: true, ..newcomer(id) }
    }

    #[test]
    fn without_rules_the_buyer_has_paid_and_nothing_is_posted() {
        let network = Network { rules: None, chain: vec![], team_gmv: vec![], conversion: vec![] };
        let changes = pay(&network, "m-b", &[order("o-1", 9_900), order("o-2", 100)], NOW).unwrap();
        assert!(changes.buyer_joins);
        assert_eq!(changes.members.len(), 1);
        assert_eq!(changes.members[0].spend_fen, 10_000);
        assert!(changes.members[0].has_paid);
        assert_eq!(changes.members[0].last_paid_at, Some(NOW));
        assert!(changes.rewards.is_empty() && changes.orders.is_empty() && changes.rules_version.is_none());
    }

    #[test]
    fn a_direct_of_an_agent_pays_its_inviter_into_pending_from_the_store() {
        let rules = Rules::chain21();
        let rate = rules.direct.agent_bp;
        let network = Network {
            rules: Some((3, rules)),
            chain: vec![member("m-b", Some("m-a"), Identity::Member), member("m-a", None, Identity::Agent)],
            team_gmv: vec![],
            conversion: vec![],
        };
        let changes = pay(&network, "m-b", &[order("o-1", 10_000)], NOW).unwrap();
        assert!(!changes.buyer_joins);
        assert_eq!(changes.rules_version, Some(3));
        let direct = changes.rewards.iter().find(|r| r.kind == Kind::Direct).expect("a direct reward");
        assert_eq!(direct.beneficiary, "m-a");
        assert_eq!(direct.amount_fen, 10_000 * i64::from(rate) / 10_000);
        assert_eq!(changes.orders[0].base_fen, 10_000);
        let (order_id, transaction) = &changes.transactions[0];
        assert_eq!(order_id, "o-1");
        let total: i64 = changes.rewards.iter().map(|r| r.amount_fen).sum();
        let credited: i64 = transaction.entries.iter().filter(|e| e.side == Side::Credit).map(|e| e.amount_fen.0).sum();
        assert_eq!(credited, total);
        let buyer = changes.members.iter().find(|m| m.id == "m-b").expect("the buyer changed");
        assert_eq!(buyer.spend_fen, 10_000);
        assert!(changes.members.iter().all(|m| m.id != "m-a" || m != &network.chain[1]), "only changed members");
    }
}
