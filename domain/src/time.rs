//! Time as a value. The domain never reads a clock: callers pass "now" in, so tests reach hold
//! expiry, code expiry and auto-completion without waiting, and the same inputs always give the
//! same outputs.

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const MINUTE_MS: i64 = 60_000;
    pub const DAY_MS: i64 = 86_400_000;

    pub fn millis(self) -> i64 {
        self.0
    }

    #[must_use]
    pub fn plus_millis(self, millis: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(millis))
    }

    #[must_use]
    pub fn plus_minutes(self, minutes: i64) -> Timestamp {
        self.plus_millis(minutes.saturating_mul(Self::MINUTE_MS))
    }

    #[must_use]
    pub fn plus_days(self, days: i64) -> Timestamp {
        self.plus_millis(days.saturating_mul(Self::DAY_MS))
    }
}
