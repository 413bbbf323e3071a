//! The development routes' wire types. They exist only where `DEV_MODE` is set: tests and local
//! use read sign-in codes, move a clock and run the scheduled jobs through them.

use serde::{Deserialize, Serialize};

/// The header a development request names its own clock with. A test that moves time moves its
/// own clock, so no other test's requests (nor the shared clock) move with it.
pub const CLOCK_HEADER: &str = "x-tandem-clock";

/// A development clock's name, spelled as an id is (1 to 40 of `a-z`, `0-9` and `-`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(extend("pattern" = "^[a-z0-9-]{1,40}$")))]
pub struct ClockName(String);

impl ClockName {
    /// The name, when it is one.
    pub fn parse(raw: &str) -> Option<ClockName> {
        crate::catalog::check_id(raw).is_ok().then(|| ClockName(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `GET /api/dev/otp`: the live sign-in code of a phone, instead of an SMS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DevCode {
    /// Masked, as everywhere.
    pub phone: String,
    pub code: String,
}

/// `PUT /api/dev/clock`: how far from real time the clock is to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ClockRequest {
    pub offset_ms: i64,
}

/// `GET` and `PUT /api/dev/clock`: a development clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Clock {
    pub now_ms: i64,
    pub offset_ms: i64,
    /// The clock's name (from `X-Tandem-Clock`); `null` for the shared clock.
    pub clock: Option<ClockName>,
}

/// `POST /api/dev/jobs`: the scheduled jobs, for everyone or for one buyer's checkouts and
/// orders (and the rewards those orders pay), so a test counts only what it made. The body may
/// be empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct JobsRequest {
    #[serde(default)]
    pub buyer: Option<String>,
}

/// What a run of the scheduled jobs did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct JobsRun {
    /// Checkouts whose stock hold expired unpaid, released.
    pub released_checkouts: u32,
    /// Orders handed over long enough ago, completed.
    pub completed_orders: u32,
    /// Rewards whose after-sale days passed, made available.
    pub thawed_rewards: u32,
    /// The recommender, retrained on every development run.
    pub recommender: Retrained,
}

/// A retrained recommender: over how many items and touches, from how many people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Retrained {
    pub items: u64,
    pub touches: u64,
    pub learned_from: u64,
}

/// `GET /api/dev/stats`: counters of the answering Worker isolate, for the bench.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Stats {
    pub d1_round_trips: u64,
    /// Payment notifications applied.
    pub payments_applied: u64,
    /// Payment write tries a guard refused because something the payment read had changed
    /// (each is read and decided again).
    pub payment_tries_refused: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_name_is_short_lowercase_and_plain() {
        assert_eq!(ClockName::parse("chain-201").map(|n| n.as_str().to_owned()).as_deref(), Some("chain-201"));
        for bad in ["", "Chain", "a b", "a_b", &"a".repeat(41), "时钟"] {
            assert_eq!(ClockName::parse(bad), None, "{bad:?}");
        }
    }
}
