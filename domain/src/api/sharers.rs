//! The distribution network's wire types: the sharer centre, a team listing, withdrawals and
//! the operator's tree. The Worker answers them, the app reads them, the tests assert on them.

use serde::{Deserialize, Serialize};

use crate::chain21::rewards::conversion_bp;

/// The metrics' period (`chain21.md`, "Metrics"): the trailing 30 days.
pub const PERIOD_DAYS: i64 = 30;

/// What a member's earnings are, by bucket, from the ledger.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Balances {
    pub pending_fen: i64,
    pub frozen_fen: i64,
    pub available_fen: i64,
    pub withdrawing_fen: i64,
    pub paid_out_fen: i64,
}

/// One reward the member earned, as posted (and voided or clawed back since).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Reward {
    pub order_id: String,
    /// `direct`, `indirect`, `team`, `peer` or `dynamic`.
    pub kind: String,
    pub generation: i64,
    pub amount_fen: i64,
    /// `pending`, `frozen`, `available`, `void` or `clawed_back`.
    pub state: String,
    pub thaw_at: Option<i64>,
    pub voided_fen: i64,
    pub clawback_fen: i64,
    pub rules_version: i64,
    pub posted_at: i64,
}

/// A withdrawal asked for by a sharer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Withdrawal {
    pub id: String,
    pub member_id: String,
    pub amount_fen: i64,
    /// `requested`, `paid` or `rejected`.
    pub state: String,
    pub requested_at: i64,
    pub decided_at: Option<i64>,
    pub note: Option<String>,
}

/// What the store counts for one member over the period (everything strictly after its start).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TeamCounts {
    /// Members the member invited (ever).
    pub directs: i64,
    /// Distinct visitors of the member's links in the period.
    pub visitors: i64,
    /// Of those, the ones who paid an order in the period.
    pub converted: i64,
    /// Directs who paid their first order in the period.
    pub new_paying_directs: i64,
    /// What the member and its directs paid in the period, less refunds.
    pub gmv_fen: i64,
}

/// A member in a team listing, with its figures over [`PERIOD_DAYS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TeamMember {
    pub member_id: String,
    /// The name it chose, else its masked phone number.
    pub name: Option<String>,
    pub identity: String,
    pub inviter: Option<String>,
    pub joined_at: i64,
    pub directs: i64,
    pub visitors: i64,
    pub conversions: i64,
    /// Conversion of its links (`chain21.md`, "Metrics"); `None` with no visitors.
    pub conversion_bp: Option<u32>,
    /// Viral coefficient: directs who paid their first order in the period.
    pub k: i64,
    pub gmv_fen: i64,
}

/// Who a team member is, as its place in the network says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamPlace {
    pub member_id: String,
    pub name: Option<String>,
    pub identity: String,
    pub inviter: Option<String>,
    pub joined_at: i64,
}

impl TeamMember {
    /// The member's figures from its counts: the metrics as `chain21.md` defines them.
    pub fn of(place: TeamPlace, counts: TeamCounts) -> TeamMember {
        let visitors = u64::try_from(counts.visitors).unwrap_or(0);
        let converted = u64::try_from(counts.converted).unwrap_or(0);
        TeamMember {
            member_id: place.member_id,
            name: place.name,
            identity: place.identity,
            inviter: place.inviter,
            joined_at: place.joined_at,
            directs: counts.directs,
            visitors: counts.visitors,
            conversions: counts.converted,
            conversion_bp: conversion_bp(visitors, converted),
            k: counts.new_paying_directs,
            gmv_fen: counts.gmv_fen,
        }
    }
}

/// `GET /api/chain/me`: the sharer centre.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Centre {
    pub member_id: String,
    /// The name it chose, else its masked phone number.
    pub name: String,
    pub display_name: Option<String>,
    pub invite_code: String,
    pub invite_path: String,
    pub identity: String,
    pub inviter: Option<String>,
    pub qualifying_directs: i64,
    /// Qualifying directs the published rules ask of an agent to become a partner; `None`
    /// before any rules were published.
    pub required_directs: Option<i64>,
    pub joined_at: i64,
    pub balances: Balances,
    /// The newest 100.
    pub rewards: Vec<Reward>,
    pub directs: Vec<TeamMember>,
    /// The member's own figures.
    pub stats: Option<TeamMember>,
    pub period_days: i64,
    /// The newest 50.
    pub withdrawals: Vec<Withdrawal>,
}

/// `PUT /api/chain/me`, asked and answered: the name the poster and the team show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub display_name: Option<String>,
}

/// `GET /api/chain/team`: the directs of a member of the caller's team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Team {
    pub parent: String,
    pub members: Vec<TeamMember>,
    pub period_days: i64,
}

/// `POST /api/chain/withdrawals`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct WithdrawalRequest {
    pub amount_fen: i64,
    /// The client's key: asking twice with the same key is one withdrawal.
    pub request_key: String,
}

/// A withdrawal asked for or decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct WithdrawalAnswer {
    pub withdrawal: Withdrawal,
}

/// `GET /api/operator/chain/withdrawals`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Withdrawals {
    pub withdrawals: Vec<Withdrawal>,
}

/// `POST /api/operator/chain/withdrawals/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct WithdrawalDecision {
    pub approve: bool,
    #[serde(default)]
    pub note: Option<String>,
}

/// `GET /api/operator/chain/members`: roots, a member's directs, or one member found with the
/// path of inviters above it (root first; only for a search).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Tree {
    pub members: Vec<TeamMember>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<Vec<String>>,
}

/// `PUT /api/operator/products/{id}/chain`, asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ProductFlags {
    pub designated: bool,
    pub commissionable: bool,
}

/// `PUT /api/operator/products/{id}/chain`, answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ProductFlagsSet {
    pub product_id: String,
    pub designated: bool,
    pub commissionable: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_team_member_s_figures_follow_the_metrics_definitions() {
        let place =
            TeamPlace { member_id: "m-1".into(), name: None, identity: "agent".into(), inviter: None, joined_at: 0 };
        let counts = TeamCounts { directs: 3, visitors: 8, converted: 2, new_paying_directs: 1, gmv_fen: 500 };
        let member = TeamMember::of(place.clone(), counts);
        assert_eq!(member.conversion_bp, Some(2_500));
        assert_eq!((member.conversions, member.k, member.gmv_fen), (2, 1, 500));
        assert_eq!(TeamMember::of(place, TeamCounts::default()).conversion_bp, None, "no visitors, no conversion");
    }

    #[test]
    fn a_search_answer_has_a_path_and_a_listing_has_none() {
        let listing = serde_json::to_value(Tree { members: vec![], path: None }).unwrap();
        assert_eq!(listing, serde_json::json!({"members": []}));
        let found: Tree = serde_json::from_value(serde_json::json!({"members": [], "path": ["a"]})).unwrap();
        assert_eq!(found.path, Some(vec!["a".to_owned()]));
    }
}
