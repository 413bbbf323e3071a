//! What one paid order pays (`chain21.md`, "Rewards on a paid order"), once the network has said
//! who stands where: the candidates with their rates, then the amounts on a base with the cap's
//! reverse-priority cut. The same candidates give the amounts again on what is left of the base
//! after a refund, so a recomputation uses the identities and rules of the payment.

use serde::{Deserialize, Serialize};

use crate::money::WHOLE_BP;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Direct,
    Indirect,
    Team,
    Peer,
    Bonus,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Direct => "direct",
            Kind::Indirect => "indirect",
            Kind::Team => "team",
            Kind::Peer => "peer",
            Kind::Bonus => "bonus",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        [Kind::Direct, Kind::Indirect, Kind::Team, Kind::Peer, Kind::Bonus].into_iter().find(|k| k.as_str() == text)
    }

    /// The cap cuts the highest first: peer (the farther generation before the nearer), then
    /// dynamic bonus, team, indirect, direct.
    fn cut_rank(self, generation: u8) -> u8 {
        match self {
            Kind::Peer => 6_u8.saturating_add(generation),
            Kind::Bonus => 5,
            Kind::Team => 4,
            Kind::Indirect => 3,
            Kind::Direct => 2,
        }
    }
}

/// One reward an order may pay, before amounts: who, what, and at which rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Candidate<M> {
    pub beneficiary: M,
    pub kind: Kind,
    pub generation: u8,
    pub rate_bp: u32,
    /// For a peer reward paid on the team reward (`peer.source = "team_reward"`): the team rate
    /// the team reward had before any stacking choice, so the peer amount is
    /// `floor(floor(base × team_bp) × rate_bp)`.
    pub of_team_bp: Option<u32>,
}

/// `floor(amount × rate / 10000)` for non-negative amounts, in 128 bits.
pub fn share(amount_fen: i64, rate_bp: u32) -> i64 {
    let product = i128::from(amount_fen.max(0)) * i128::from(rate_bp);
    i64::try_from(product / i128::from(WHOLE_BP)).unwrap_or(amount_fen)
}

/// A share link's conversion (`chain21.md`, "Metrics"): distinct visitors who paid ÷ distinct
/// visitors, in basis points; `None` with no visitors.
pub fn conversion_bp(visitors: u64, converted: u64) -> Option<u32> {
    (visitors > 0).then(|| u32::try_from(converted.min(visitors) * u64::from(WHOLE_BP) / visitors).unwrap_or(0))
}

impl<M> Candidate<M> {
    /// The amount before the cap.
    pub fn uncapped_fen(&self, base_fen: i64) -> i64 {
        match self.of_team_bp {
            Some(team_bp) => share(share(base_fen, team_bp), self.rate_bp),
            None => share(base_fen, self.rate_bp),
        }
    }
}

/// The amounts of `candidates` on `base_fen`, in the same order, their sum at most
/// `cap_bp` × base: the cut takes peer rewards first, then the bonus, team, indirect and direct,
/// each down to zero as needed.
pub fn amounts<M>(candidates: &[Candidate<M>], base_fen: i64, cap_bp: u32) -> Vec<i64> {
    let mut amounts = Vec::with_capacity(candidates.len());
    amounts_into(candidates, base_fen, cap_bp, &mut amounts);
    amounts
}

/// [`amounts`] written into `amounts` (cleared first), so a caller can keep one buffer.
pub fn amounts_into<M>(candidates: &[Candidate<M>], base_fen: i64, cap_bp: u32, amounts: &mut Vec<i64>) {
    amounts.clear();
    amounts.extend(candidates.iter().map(|c| c.uncapped_fen(base_fen)));
    let cap = share(base_fen, cap_bp);
    let mut excess = amounts.iter().sum::<i64>() - cap;
    if excess > 0 {
        let mut order: Vec<usize> = (0..candidates.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(candidates[i].kind.cut_rank(candidates[i].generation)));
        for i in order {
            let cut = amounts[i].min(excess);
            amounts[i] -= cut;
            excess -= cut;
            if excess == 0 {
                break;
            }
        }
    }
}

/// With `stack_direct_and_team = false` a beneficiary that is both the direct inviter and the
/// team leader keeps only the larger reward (equal: the direct). Decided before the cap; a peer
/// reward keeps its own team rate, so it is computed from the team reward as it was.
pub fn drop_unstacked<M: PartialEq>(candidates: &mut Vec<Candidate<M>>, base_fen: i64) {
    let direct = candidates.iter().position(|c| c.kind == Kind::Direct);
    let team = candidates.iter().position(|c| c.kind == Kind::Team);
    if let (Some(d), Some(t)) = (direct, team)
        && candidates[d].beneficiary == candidates[t].beneficiary
    {
        let drop = if candidates[t].uncapped_fen(base_fen) > candidates[d].uncapped_fen(base_fen) { d } else { t };
        candidates.remove(drop);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(who: &'static str, kind: Kind, generation: u8, rate_bp: u32) -> Candidate<&'static str> {
        Candidate { beneficiary: who, kind, generation, rate_bp, of_team_bp: None }
    }

    #[test]
    fn the_cap_cuts_peer_then_team_as_in_the_worked_example() {
        let mut peer = candidate("P", Kind::Peer, 1, 1_000);
        peer.of_team_bp = Some(1_000);
        let step4 = vec![
            candidate("A", Kind::Direct, 1, 1_500),
            candidate("P", Kind::Indirect, 1, 500),
            candidate("A", Kind::Team, 1, 1_000),
            peer,
        ];
        assert_eq!(amounts(&step4, 39_900, 3_500), [5_985, 1_995, 3_990, 399]);
        assert_eq!(amounts(&step4, 39_900, 2_500), [5_985, 1_995, 1_995, 0]);
        assert_eq!(amounts(&step4, 0, 2_500), [0, 0, 0, 0]);
        assert_eq!(amounts(&step4, 39_900, 0), [0, 0, 0, 0]);
    }

    #[test]
    fn the_cap_cuts_the_farther_peer_generation_before_the_nearer() {
        let mut near = candidate("P", Kind::Peer, 1, 1_000);
        near.of_team_bp = Some(1_000);
        let mut far = candidate("R", Kind::Peer, 2, 1_000);
        far.of_team_bp = Some(1_000);
        let order = vec![candidate("A", Kind::Direct, 1, 1_500), candidate("A", Kind::Team, 1, 1_000), near, far];
        // 1500 + 1000 + 100 + 100 = 2700 on 10000; a cap of 2650 cuts 50, all from R.
        assert_eq!(amounts(&order, 10_000, 2_650), [1_500, 1_000, 100, 50]);
        assert_eq!(amounts(&order, 10_000, 2_550), [1_500, 1_000, 50, 0]);
    }

    #[test]
    fn unstacked_keeps_the_larger_and_the_direct_on_a_tie() {
        let mut both = vec![candidate("A", Kind::Direct, 1, 1_500), candidate("A", Kind::Team, 1, 1_000)];
        drop_unstacked(&mut both, 10_000);
        assert_eq!(both, [candidate("A", Kind::Direct, 1, 1_500)]);
        let mut tie = vec![candidate("A", Kind::Direct, 1, 1_000), candidate("A", Kind::Team, 1, 1_000)];
        drop_unstacked(&mut tie, 10_000);
        assert_eq!(tie[0].kind, Kind::Direct);
        let mut larger_team = vec![candidate("A", Kind::Direct, 1, 500), candidate("A", Kind::Team, 1, 1_000)];
        drop_unstacked(&mut larger_team, 10_000);
        assert_eq!(larger_team[0].kind, Kind::Team);
        let mut different = vec![candidate("A", Kind::Direct, 1, 500), candidate("P", Kind::Team, 1, 1_000)];
        drop_unstacked(&mut different, 10_000);
        assert_eq!(different.len(), 2);
    }
}
