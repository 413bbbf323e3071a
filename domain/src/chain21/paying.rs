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
    /// The sharers whose links the buyer opened in the rules' conversion window: a first
    /// payment in the window converts the buyer for each of them.
    pub visited: Vec<String>,
}

/// Members of the network, their teams and their links, by member id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Keys {
    pub members: Vec<String>,
    pub teams: Vec<String>,
    pub conversions: Vec<String>,
}

/// What a payment's decisions read and what it changed, for the store's guard: two payments
/// conflict only when one changed what the other read (the same inviter chain, the same team
/// whose GMV decides a peer reward, the same links whose conversion decides a bonus), so
/// payments of unrelated buyers never wait for each other and concurrent ones still come out
/// as some serial order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Footprint {
    /// `members`: the buyer's chain as read, each record must be as read. `teams`: the team
    /// leaders whose GMV decided a peer reward (only with a threshold). `conversions`: the
    /// sharers whose conversion decided a dynamic bonus (only with tiers).
    pub read: Keys,
    /// `members`: those whose record changed. `teams`: the leaders of the teams whose GMV the
    /// orders count toward. `conversions`: the sharers the buyer converted for (only with tiers).
    pub changed: Keys,
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
    pub footprint: Footprint,
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
        let footprint = Footprint {
            read: Keys { members: network.chain.iter().map(|m| m.id.clone()).collect(), ..Keys::default() },
            changed: Keys { members: vec![record.id.clone()], ..Keys::default() },
        };
        return Ok(NetworkChanges { buyer_joins, members: vec![record], footprint, ..NetworkChanges::default() });
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
            team_leader: engine.order_team(index).map(|t| engine.name(t).into_owned()),
        });
        let mut transaction = Transaction { entries: Vec::new() };
        for (position, reward) in engine.rewards().iter_from(first_reward).enumerate() {
            let beneficiary = engine.name(reward.beneficiary).into_owned();
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
                rate_bp: reward.rate_bp,
                of_team_bp: reward.of_team_bp,
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
    changes.footprint = footprint(network, rules, &engine, &changes, buyer, now);
    Ok(changes)
}

/// What [`pay`] read and changed, from the engine that decided it.
fn footprint(
    network: &Network,
    rules: &Rules,
    engine: &Engine,
    changes: &NetworkChanges,
    buyer: &str,
    now: Timestamp,
) -> Footprint {
    let names = |members: Vec<u32>| members.into_iter().map(|m| engine.name(m).into_owned()).collect::<Vec<_>>();
    let consulted = engine.consulted();
    let mut teams: Vec<String> = changes.orders.iter().filter_map(|o| o.team_leader.clone()).collect();
    teams.sort();
    teams.dedup();
    let window_start = now.plus_days(-i64::from(rules.dynamic.window_days));
    let converted_before = network
        .chain
        .first()
        .filter(|m| m.id == buyer)
        .and_then(|m| m.last_paid_at)
        .is_some_and(|at| at > window_start);
    let conversions =
        if rules.dynamic.tiers.is_empty() || converted_before { Vec::new() } else { network.visited.clone() };
    Footprint {
        read: Keys {
            members: network.chain.iter().map(|m| m.id.clone()).collect(),
            teams: names(consulted.team_gmv),
            conversions: names(consulted.conversion),
        },
        changed: Keys { members: changes.members.iter().map(|m| m.id.clone()).collect(), teams, conversions },
    }
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
        let network = Network { rules: None, chain: vec![], team_gmv: vec![], conversion: vec![], visited: vec![] };
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
            visited: vec![],
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

    fn network(rules: Rules, chain: Vec<MemberRecord>) -> Network {
        Network { rules: Some((1, rules)), chain, team_gmv: vec![], conversion: vec![], visited: vec![] }
    }

    fn ids(names: &[&str]) -> Vec<String> {
        names.iter().map(|&n| n.to_owned()).collect()
    }

    #[test]
    fn a_buyer_without_an_inviter_reads_and_changes_only_itself() {
        let changes = pay(
            &network(Rules::chain21(), vec![member("m-b", None, Identity::Member)]),
            "m-b",
            &[order("o-1", 500)],
            NOW,
        )
        .unwrap();
        assert_eq!(changes.footprint.read, Keys { members: ids(&["m-b"]), ..Keys::default() });
        assert_eq!(changes.footprint.changed, Keys { members: ids(&["m-b"]), ..Keys::default() });
    }

    #[test]
    fn a_qualifying_direct_changes_its_inviter_and_a_plain_purchase_does_not() {
        let chain = vec![member("m-b", Some("m-a"), Identity::Member), member("m-a", None, Identity::Agent)];
        let plain = PaidOrder {
            lines: vec![Line { sku: "k-2".to_owned(), amount_fen: 500, designated: false, commissionable: true }],
            ..order("o-1", 0)
        };
        let changes = pay(&network(Rules::chain21(), chain.clone()), "m-b", &[plain], NOW).unwrap();
        assert_eq!(changes.footprint.read.members, ids(&["m-b", "m-a"]));
        assert_eq!(changes.footprint.changed.members, ids(&["m-b"]), "the sharer's record is read, not changed");
        let changes = pay(&network(Rules::chain21(), chain), "m-b", &[order("o-1", 39_900)], NOW).unwrap();
        let mut members = changes.footprint.changed.members.clone();
        members.sort();
        assert_eq!(members, ids(&["m-a", "m-b"]), "a qualifying direct counts for its inviter");
    }

    #[test]
    fn team_gmv_is_read_only_when_a_peer_threshold_is_set() {
        // p is a partner that detached from r; b is in p's team, so r's peer reward depends on
        // the GMV of r's team when there is a threshold.
        let chain = vec![
            member("m-b", Some("m-p"), Identity::Member),
            MemberRecord { origin_leader: Some("m-r".into()), ..member("m-p", Some("m-r"), Identity::Partner) },
            member("m-r", None, Identity::Partner),
        ];
        let mut rules = Rules::chain21();
        let changes = pay(&network(rules.clone(), chain.clone()), "m-b", &[order("o-1", 500)], NOW).unwrap();
        assert!(changes.rewards.iter().any(|r| r.kind == Kind::Peer));
        assert!(changes.footprint.read.teams.is_empty(), "threshold 0: every team passes, none is read");
        assert_eq!(changes.footprint.changed.teams, ids(&["m-p"]));
        rules.peer.team_gmv_threshold_fen = 1;
        let changes = pay(&network(rules, chain), "m-b", &[order("o-1", 500)], NOW).unwrap();
        assert_eq!(changes.footprint.read.teams, ids(&["m-r"]));
    }

    #[test]
    fn conversion_is_read_and_changed_only_with_dynamic_tiers() {
        let chain = vec![
            MemberRecord { has_paid: false, ..member("m-b", Some("m-a"), Identity::Member) },
            member("m-a", None, Identity::Agent),
        ];
        let mut with_visits = network(Rules::chain21(), chain.clone());
        with_visits.visited = ids(&["m-a", "m-c"]);
        let changes = pay(&with_visits, "m-b", &[order("o-1", 500)], NOW).unwrap();
        assert!(changes.footprint.read.conversions.is_empty() && changes.footprint.changed.conversions.is_empty());
        let mut rules = Rules::chain21();
        rules.dynamic.tiers = vec![super::super::rules::Tier { min_conversion_bp: 1, extra_bp: 100 }];
        with_visits.rules = Some((1, rules));
        let changes = pay(&with_visits, "m-b", &[order("o-1", 500)], NOW).unwrap();
        assert_eq!(changes.footprint.read.conversions, ids(&["m-a"]));
        assert_eq!(changes.footprint.changed.conversions, ids(&["m-a", "m-c"]), "a first payment converts");
        // Already paid in the window: the buyer was converted before; no sharer's figure moves.
        with_visits.chain[0].last_paid_at = Some(NOW.plus_days(-1));
        let changes = pay(&with_visits, "m-b", &[order("o-2", 500)], NOW).unwrap();
        assert!(changes.footprint.changed.conversions.is_empty());
    }
}
