//! The lifecycle of rewards already posted (`chain21.md`, "Reward lifecycle"), on stored rows:
//! what completion, the clock, a refund and a withdrawal do to them, as movements between a
//! member's buckets and the store's payable. The engine applies the same rules to its own state;
//! the Worker applies them to what it read from D1 and writes the result back.

use crate::catalog::StoreId;
use crate::ledger::{Account, Side, Transaction};
use crate::money::Fen;
use crate::time::Timestamp;

use super::engine::{Bucket, Identity, RewardState};
use super::paying::Keys;
use super::rewards::{self, Candidate, Kind};
use super::rules::{QualifyOn, Rules};

/// A reward as it is stored: its key, the rates of the payment, and where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReward {
    pub beneficiary: String,
    pub kind: Kind,
    pub generation: u8,
    pub rate_bp: u32,
    pub of_team_bp: Option<u32>,
    pub amount_fen: i64,
    pub state: RewardState,
    pub thaw_at: Option<Timestamp>,
}

/// One movement of one reward's money: `amount_fen` leaves `from` for `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The reward's index in the slice given.
    pub reward: usize,
    pub from: Bucket,
    pub to: Bucket,
    pub amount_fen: i64,
}

impl RewardState {
    pub fn as_str(self) -> &'static str {
        match self {
            RewardState::Pending => "pending",
            RewardState::Frozen => "frozen",
            RewardState::Available => "available",
        }
    }

    pub fn parse(text: &str) -> Option<RewardState> {
        [RewardState::Pending, RewardState::Frozen, RewardState::Available].into_iter().find(|s| s.as_str() == text)
    }

    /// The member's bucket a reward in this state sits in.
    pub fn bucket(self) -> Bucket {
        match self {
            RewardState::Pending => Bucket::Pending,
            RewardState::Frozen => Bucket::Frozen,
            RewardState::Available => Bucket::Available,
        }
    }
}

impl Bucket {
    /// The suffix of the member's ledger account (`member:{id}:{bucket}`).
    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::StorePayable => "payable",
            Bucket::Pending => "pending",
            Bucket::Frozen => "frozen",
            Bucket::Available => "available",
            Bucket::Withdrawing => "withdrawing",
            Bucket::PaidOut => "paid_out",
        }
    }
}

/// When the rewards of an order completed at `completed_at` become available.
pub fn thaw_time(rules: &Rules, completed_at: Timestamp) -> Timestamp {
    completed_at.plus_days(i64::from(rules.settle.after_sale_days))
}

/// Completion: every pending reward is frozen until [`thaw_time`].
pub fn freeze(rewards: &[StoredReward]) -> Vec<Step> {
    rewards
        .iter()
        .enumerate()
        .filter(|(_, r)| r.state == RewardState::Pending)
        .map(|(reward, r)| Step { reward, from: Bucket::Pending, to: Bucket::Frozen, amount_fen: r.amount_fen })
        .collect()
}

/// The clock at `now`: every frozen reward whose thaw time has come becomes available.
pub fn thaw(rewards: &[StoredReward], now: Timestamp) -> Vec<Step> {
    rewards
        .iter()
        .enumerate()
        .filter(|(_, r)| r.state == RewardState::Frozen && r.thaw_at.is_some_and(|t| t <= now))
        .map(|(reward, r)| Step { reward, from: Bucket::Frozen, to: Bucket::Available, amount_fen: r.amount_fen })
        .collect()
}

/// What is left of an order's commissionable base once `left_fen` of its `total_fen` is left:
/// `floor(base × left / total)`.
pub fn base_left(base_fen: i64, total_fen: i64, left_fen: i64) -> i64 {
    if total_fen <= 0 {
        return 0;
    }
    let left = i128::from(base_fen) * i128::from(left_fen.clamp(0, total_fen)) / i128::from(total_fen);
    i64::try_from(left).unwrap_or(0)
}

/// A refund: the rewards recomputed on what is left of the base with the payment's rates and
/// the cap in force then, each only ever going down. What a reward loses goes back to the
/// store: voided from pending or frozen, clawed back from available (which may go negative).
pub fn refund(rewards: &[StoredReward], base_left_fen: i64, cap_bp: u32) -> Vec<Step> {
    let candidates: Vec<Candidate<()>> = rewards
        .iter()
        .map(|r| Candidate {
            beneficiary: (),
            kind: r.kind,
            generation: r.generation,
            rate_bp: r.rate_bp,
            of_team_bp: r.of_team_bp,
        })
        .collect();
    let amounts = rewards::amounts(&candidates, base_left_fen, cap_bp);
    cuts(rewards.iter().map(|r| (r.amount_fen, r.state)), amounts)
}

/// The steps that take each reward (current amount and state) down to its new amount.
pub(super) fn cuts(current: impl Iterator<Item = (i64, RewardState)>, amounts: Vec<i64>) -> Vec<Step> {
    current
        .zip(amounts)
        .enumerate()
        .filter_map(|(reward, ((amount, state), new_amount))| {
            let difference = amount - new_amount.min(amount);
            (difference > 0).then_some(Step {
                reward,
                from: state.bucket(),
                to: Bucket::StorePayable,
                amount_fen: difference,
            })
        })
        .collect()
}

/// Does a refund take the buyer's agent identity back? Only a full refund before completion,
/// when identity comes with payment (the order it qualified by is checked by the caller).
pub fn revokes(rules: &Rules, fully_refunded: bool, completed: bool) -> bool {
    fully_refunded && !completed && rules.qualify_on == QualifyOn::Paid
}

/// A stored reward after one step of its lifecycle: where it stands, what it is worth, and
/// what was voided and clawed back by the step (added to what was before).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RewardChange {
    pub state: RewardState,
    pub amount_fen: i64,
    pub voided_fen: i64,
    pub clawback_fen: i64,
}

impl Step {
    /// A cut that gives the store back money already available to the member (a clawback),
    /// not money still pending or frozen (a void).
    pub fn is_clawback(&self) -> bool {
        self.to == Bucket::StorePayable && self.from == Bucket::Available
    }

    /// What `reward` becomes by this step: a move to another bucket changes its state; a cut
    /// keeps the state and lowers the amount, as a void or as a clawback.
    pub fn change(&self, reward: &StoredReward) -> RewardChange {
        let unchanged =
            RewardChange { state: reward.state, amount_fen: reward.amount_fen, voided_fen: 0, clawback_fen: 0 };
        match self.to {
            Bucket::StorePayable if self.is_clawback() => RewardChange {
                amount_fen: reward.amount_fen - self.amount_fen,
                clawback_fen: self.amount_fen,
                ..unchanged
            },
            Bucket::StorePayable => RewardChange {
                amount_fen: reward.amount_fen - self.amount_fen,
                voided_fen: self.amount_fen,
                ..unchanged
            },
            Bucket::Pending => RewardChange { state: RewardState::Pending, ..unchanged },
            Bucket::Frozen => RewardChange { state: RewardState::Frozen, ..unchanged },
            Bucket::Available | Bucket::Withdrawing | Bucket::PaidOut => {
                RewardChange { state: RewardState::Available, ..unchanged }
            }
        }
    }
}

/// A refund's cuts as the ledger posts them: the voids, then the clawbacks.
pub fn voids_and_clawbacks(steps: &[Step]) -> (Vec<Step>, Vec<Step>) {
    steps.iter().partition(|step| !step.is_clawback())
}

/// The buyer's place as far as a revocation is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Qualification {
    pub identity: Identity,
    pub fixed: bool,
    pub fixed_leader: Option<String>,
    /// The order the buyer qualified as an agent by.
    pub qualifying_order: Option<String>,
}

/// What a refund of `order_id` does to the buyer's identity (`chain21.md`, "Reward
/// lifecycle"): an agent that qualified by this order, refunded in full before completion when
/// identity comes with payment, is a member again, placed like any member; anyone else keeps
/// their place. `None` when nothing changes.
pub fn revocation(
    rules: &Rules,
    buyer: &Qualification,
    order_id: &str,
    fully_refunded: bool,
    completed: bool,
) -> Option<Qualification> {
    let qualified_by_it = buyer.identity == Identity::Agent && buyer.qualifying_order.as_deref() == Some(order_id);
    let member = Qualification { identity: Identity::Member, fixed: false, fixed_leader: None, qualifying_order: None };
    (qualified_by_it && revokes(rules, fully_refunded, completed)).then_some(member)
}

/// The ledger transaction of `steps` for the rewards of an order of `store`.
pub fn transaction(store: &StoreId, rewards: &[StoredReward], steps: &[Step]) -> Transaction {
    let mut transaction = Transaction { entries: Vec::new() };
    for step in steps {
        let member = &rewards[step.reward].beneficiary;
        transaction.push(account(store, member, step.from), Side::Debit, Fen(step.amount_fen));
        transaction.push(account(store, member, step.to), Side::Credit, Fen(step.amount_fen));
    }
    transaction
}

/// The ledger account of `bucket`: the store's payable, or one of the member's.
pub fn account(store: &StoreId, member: &str, bucket: Bucket) -> Account {
    match bucket {
        Bucket::StorePayable => Account::StorePayable(store.clone()),
        bucket => Account::Member { id: member.to_owned(), bucket: bucket.as_str().to_owned() },
    }
}

/// An order's rewards as stored, with the rules they were posted under and the buyer's place:
/// what completion, the clock and a refund of the order decide on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRewards {
    pub order_id: String,
    pub store: StoreId,
    pub buyer: String,
    pub buyer_place: Qualification,
    /// The base the rewards were paid on, and what refunds left of it.
    pub base_fen: i64,
    pub base_left_fen: i64,
    /// The team whose GMV the order counts toward.
    pub team_leader: Option<String>,
    pub rules: Rules,
    pub rewards: Vec<StoredReward>,
}

/// A ledger transaction of reward movements, with its kind and the cause it is posted once for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    pub kind: &'static str,
    pub reference: String,
    pub transaction: Transaction,
}

/// Everything one event does to an order's rewards.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RewardChanges {
    /// The rewards that move, each with what it becomes (the write is guarded by the state
    /// and amount it was read with).
    pub steps: Vec<(usize, RewardChange)>,
    /// Frozen rewards' thaw time (completion).
    pub thaw_at: Option<Timestamp>,
    pub postings: Vec<Posting>,
    /// The base left after a refund, when it changed: `(as read, now)`.
    pub base_left: Option<(i64, i64)>,
    /// What the refund takes off the buyer's spend.
    pub spend_taken: i64,
    /// The buyer's place after a revocation, guarded by the place as read.
    pub revoked: Option<Qualification>,
    /// What of the network others read changed (the buyer's spend or place, the GMV of the
    /// order's team), so payments in flight that read it must read it again.
    pub changed: Keys,
}

impl OrderRewards {
    fn changes_of(&self, steps: &[Step]) -> Vec<(usize, RewardChange)> {
        steps.iter().map(|step| (step.reward, step.change(&self.rewards[step.reward]))).collect()
    }

    fn posting(&self, kind: &'static str, reference: String, steps: &[Step]) -> Option<Posting> {
        (!steps.is_empty()).then(|| Posting {
            kind,
            reference,
            transaction: transaction(&self.store, &self.rewards, steps),
        })
    }

    /// The order completed at `now`: its pending rewards freeze until the after-sale window of
    /// the rules they were posted under closes.
    pub fn on_completion(&self, now: Timestamp) -> RewardChanges {
        let steps = freeze(&self.rewards);
        RewardChanges {
            steps: self.changes_of(&steps),
            thaw_at: Some(thaw_time(&self.rules, now)),
            postings: self.posting("freeze", format!("freeze:{}", self.order_id), &steps).into_iter().collect(),
            ..RewardChanges::default()
        }
    }

    /// The clock at `now`: the frozen rewards whose thaw time has come become available.
    pub fn on_clock(&self, now: Timestamp) -> RewardChanges {
        let steps = thaw(&self.rewards, now);
        let due = steps.first().and_then(|s| self.rewards[s.reward].thaw_at).map_or(0, Timestamp::millis);
        RewardChanges {
            steps: self.changes_of(&steps),
            postings: self.posting("thaw", format!("thaw:{}:{due}", self.order_id), &steps).into_iter().collect(),
            ..RewardChanges::default()
        }
    }

    /// Refund `refund_id` leaves `left_fen` of the order's goods `total_fen`: the rewards are cut
    /// to what the rest of the base pays (voided while pending or frozen, clawed back once
    /// available), the base left and the buyer's spend follow, and an agent that qualified by
    /// this order is taken back to member when the rules say so.
    pub fn on_refund(&self, refund_id: &str, total_fen: i64, left_fen: i64, completed: bool) -> RewardChanges {
        let base_left = base_left(self.base_fen, total_fen, left_fen).min(self.base_left_fen);
        let steps = refund(&self.rewards, base_left, self.rules.cap.total_bp);
        let (voids, clawbacks) = voids_and_clawbacks(&steps);
        let postings = [
            self.posting("void", format!("void:{refund_id}"), &voids),
            self.posting("clawback", format!("clawback:{refund_id}"), &clawbacks),
        ];
        let revoked = revocation(&self.rules, &self.buyer_place, &self.order_id, left_fen == 0, completed);
        let spend_taken = self.base_left_fen - base_left;
        let changed = Keys {
            members: (revoked.is_some() || spend_taken > 0).then(|| self.buyer.clone()).into_iter().collect(),
            teams: self.team_leader.clone().filter(|_| base_left != self.base_left_fen).into_iter().collect(),
            conversions: Vec::new(),
        };
        RewardChanges {
            steps: self.changes_of(&steps),
            thaw_at: None,
            postings: postings.into_iter().flatten().collect(),
            base_left: Some((self.base_left_fen, base_left)),
            spend_taken,
            changed,
            revoked,
        }
    }
}

/// Why a withdrawal cannot be requested.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WithdrawalError {
    #[error("a withdrawal is at least {min_fen} fen")]
    TooSmall { min_fen: i64 },
    #[error("a withdrawal is at most {max_fen} fen")]
    TooLarge { max_fen: i64 },
    #[error("{available_fen} fen available, {wanted_fen} fen asked")]
    NotCovered { available_fen: i64, wanted_fen: i64 },
}

/// The smallest and largest single withdrawal (1 yuan, 50,000 yuan).
pub const WITHDRAWAL_MIN_FEN: i64 = 100;
pub const WITHDRAWAL_MAX_FEN: i64 = 5_000_000;

/// Checks a withdrawal of `amount_fen` against the member's available balance (which a
/// clawback may have made negative: then nothing can be withdrawn).
pub fn check_withdrawal(available_fen: i64, amount_fen: i64) -> Result<(), WithdrawalError> {
    if amount_fen < WITHDRAWAL_MIN_FEN {
        return Err(WithdrawalError::TooSmall { min_fen: WITHDRAWAL_MIN_FEN });
    }
    if amount_fen > WITHDRAWAL_MAX_FEN {
        return Err(WithdrawalError::TooLarge { max_fen: WITHDRAWAL_MAX_FEN });
    }
    if available_fen < amount_fen {
        return Err(WithdrawalError::NotCovered { available_fen, wanted_fen: amount_fen });
    }
    Ok(())
}

/// The movements of a withdrawal: requested (available → withdrawing), paid out (withdrawing →
/// paid out) or rejected (withdrawing → available).
pub fn withdrawal_transaction(member: &str, from: Bucket, to: Bucket, amount_fen: i64) -> Transaction {
    let bucket = |b: Bucket| Account::Member { id: member.to_owned(), bucket: b.as_str().to_owned() };
    Transaction::transfer(bucket(from), bucket(to), Fen(amount_fen))
}

/// Where a withdrawal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WithdrawalState {
    Requested,
    Paid,
    Rejected,
}

impl WithdrawalState {
    pub fn as_str(self) -> &'static str {
        match self {
            WithdrawalState::Requested => "requested",
            WithdrawalState::Paid => "paid",
            WithdrawalState::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Option<WithdrawalState> {
        [WithdrawalState::Requested, WithdrawalState::Paid, WithdrawalState::Rejected]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// A withdrawal asked for: `amount_fen` of the member's available balance held (withdrawing)
/// until the operator decides.
pub fn request_withdrawal(member: &str, available_fen: i64, amount_fen: i64) -> Result<Transaction, WithdrawalError> {
    check_withdrawal(available_fen, amount_fen)?;
    Ok(withdrawal_transaction(member, Bucket::Available, Bucket::Withdrawing, amount_fen))
}

/// The operator's decision on a requested withdrawal: paid out, or rejected with the amount
/// back in the available balance. Only a requested withdrawal can be decided.
pub fn decide_withdrawal(
    member: &str,
    amount_fen: i64,
    state: WithdrawalState,
    approve: bool,
) -> Result<(WithdrawalState, Transaction), WithdrawalState> {
    if state != WithdrawalState::Requested {
        return Err(state);
    }
    let (state, to) =
        if approve { (WithdrawalState::Paid, Bucket::PaidOut) } else { (WithdrawalState::Rejected, Bucket::Available) };
    Ok((state, withdrawal_transaction(member, Bucket::Withdrawing, to, amount_fen)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain21::rules::Rules;

    fn reward(beneficiary: &str, kind: Kind, rate_bp: u32, amount_fen: i64, state: RewardState) -> StoredReward {
        StoredReward {
            beneficiary: beneficiary.to_owned(),
            kind,
            generation: 1,
            rate_bp,
            of_team_bp: None,
            amount_fen,
            state,
            thaw_at: None,
        }
    }

    #[test]
    fn a_half_refund_voids_half_of_pending_and_claws_back_available() {
        let rewards = [
            reward("P", Kind::Direct, 1500, 5985, RewardState::Pending),
            reward("Q", Kind::Indirect, 500, 1995, RewardState::Available),
        ];
        let steps = refund(&rewards, base_left(39_900, 39_900, 19_950), 3500);
        assert_eq!(
            steps,
            vec![
                Step { reward: 0, from: Bucket::Pending, to: Bucket::StorePayable, amount_fen: 5985 - 2992 },
                Step { reward: 1, from: Bucket::Available, to: Bucket::StorePayable, amount_fen: 1995 - 997 },
            ]
        );
        let store = StoreId::parse("st-a").unwrap();
        let transaction = transaction(&store, &rewards, &steps);
        assert_eq!(transaction.imbalance(), 0);
        assert_eq!(transaction.entries[0].account.to_string(), "member:P:pending");
        assert_eq!(transaction.entries[3].account.to_string(), "store:st-a:payable");
    }

    #[test]
    fn a_full_refund_takes_everything_and_revokes_only_before_completion() {
        let rewards = [reward("P", Kind::Direct, 1500, 5985, RewardState::Frozen)];
        let steps = refund(&rewards, base_left(39_900, 39_900, 0), 3500);
        assert_eq!(steps[0].amount_fen, 5985);
        let rules = Rules::preset("chain21").unwrap();
        assert!(revokes(&rules, true, false));
        assert!(!revokes(&rules, true, true));
        assert!(!revokes(&rules, false, false));
    }

    #[test]
    fn freezing_and_thawing_move_whole_rewards_once() {
        let at = Timestamp(1_000);
        let mut rewards = vec![reward("P", Kind::Direct, 1500, 5985, RewardState::Pending)];
        assert_eq!(freeze(&rewards).len(), 1);
        rewards[0].state = RewardState::Frozen;
        rewards[0].thaw_at = Some(at);
        assert!(freeze(&rewards).is_empty());
        assert!(thaw(&rewards, Timestamp(999)).is_empty());
        assert_eq!(thaw(&rewards, at)[0].to, Bucket::Available);
    }

    #[test]
    fn a_withdrawal_is_decided_once_and_moves_the_held_amount() {
        let (state, paid) = decide_withdrawal("m", 500, WithdrawalState::Requested, true).unwrap();
        assert_eq!(state, WithdrawalState::Paid);
        assert_eq!(paid, withdrawal_transaction("m", Bucket::Withdrawing, Bucket::PaidOut, 500));
        let (state, back) = decide_withdrawal("m", 500, WithdrawalState::Requested, false).unwrap();
        assert_eq!(state, WithdrawalState::Rejected);
        assert_eq!(back, withdrawal_transaction("m", Bucket::Withdrawing, Bucket::Available, 500));
        assert_eq!(decide_withdrawal("m", 500, WithdrawalState::Paid, false), Err(WithdrawalState::Paid));
        assert_eq!(WithdrawalState::parse("rejected"), Some(WithdrawalState::Rejected));
        assert_eq!(WithdrawalState::parse("void"), None);
        assert!(request_withdrawal("m", 99, 100).is_err());
        assert_eq!(
            request_withdrawal("m", 100, 100),
            Ok(withdrawal_transaction("m", Bucket::Available, Bucket::Withdrawing, 100))
        );
    }

    #[test]
    fn withdrawals_need_cover_and_sane_amounts() {
        assert_eq!(check_withdrawal(1_000, 1_000), Ok(()));
        assert!(matches!(check_withdrawal(-50, 100), Err(WithdrawalError::NotCovered { .. })));
        assert!(matches!(check_withdrawal(1_000, 99), Err(WithdrawalError::TooSmall { .. })));
        assert!(matches!(check_withdrawal(i64::MAX, WITHDRAWAL_MAX_FEN + 1), Err(WithdrawalError::TooLarge { .. })));
    }

    #[test]
    fn a_step_changes_a_reward_by_its_kind() {
        let pending = reward("P", Kind::Direct, 1500, 5985, RewardState::Pending);
        let void = Step { reward: 0, from: Bucket::Pending, to: Bucket::StorePayable, amount_fen: 985 };
        assert_eq!(
            void.change(&pending),
            RewardChange { state: RewardState::Pending, amount_fen: 5000, voided_fen: 985, clawback_fen: 0 }
        );
        let available = reward("P", Kind::Direct, 1500, 5985, RewardState::Available);
        let clawback = Step { reward: 0, from: Bucket::Available, to: Bucket::StorePayable, amount_fen: 985 };
        assert_eq!(clawback.change(&available).clawback_fen, 985);
        let freeze = Step { reward: 0, from: Bucket::Pending, to: Bucket::Frozen, amount_fen: 5985 };
        assert_eq!(freeze.change(&pending).state, RewardState::Frozen);
        assert_eq!(freeze.change(&pending).amount_fen, 5985);
        let (voids, clawbacks) = voids_and_clawbacks(&[void, clawback]);
        assert_eq!((voids, clawbacks), (vec![void], vec![clawback]));
    }

    #[test]
    fn only_the_agent_that_qualified_by_the_refunded_order_is_revoked() {
        let rules = Rules::preset("chain21").unwrap();
        let agent = Qualification {
            identity: Identity::Agent,
            fixed: true,
            fixed_leader: Some("P".into()),
            qualifying_order: Some("o-1".into()),
        };
        let member =
            Qualification { identity: Identity::Member, fixed: false, fixed_leader: None, qualifying_order: None };
        assert_eq!(revocation(&rules, &agent, "o-1", true, false), Some(member.clone()));
        assert_eq!(revocation(&rules, &agent, "o-2", true, false), None, "another order");
        assert_eq!(revocation(&rules, &agent, "o-1", false, false), None, "a partial refund");
        assert_eq!(revocation(&rules, &agent, "o-1", true, true), None, "after completion");
        let partner = Qualification { identity: Identity::Partner, ..agent.clone() };
        assert_eq!(revocation(&rules, &partner, "o-1", true, false), None, "a partner stays a partner");
        assert_eq!(revocation(&rules, &member, "o-1", true, false), None);
    }
}
