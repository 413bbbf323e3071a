//! Money is integer fen (1 yuan = 100 fen) and rates are basis points (1 bp = 0.01 %).
//!
//! Every share of an amount is `floor(amount × rate / 10000)` (`money.md`); whoever keeps the
//! remainder is the caller's decision, never this module's.

use std::fmt;
use std::ops::{Add, Sub};

use serde::{Deserialize, Serialize};

/// An amount of money in fen. Signed so that ledger entries and differences can be expressed,
/// but prices are checked to be positive where they are parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct Fen(pub i64);

/// A rate in basis points: 10000 bp is the whole amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct BasisPoints(u32);

/// The whole, in basis points.
pub const WHOLE_BP: u32 = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("rate of {bp} bp is above 10000 bp")]
    RateAboveWhole { bp: u32 },
    #[error("amount overflows")]
    Overflow,
}

impl BasisPoints {
    pub fn new(bp: u32) -> Result<Self, MoneyError> {
        if bp > WHOLE_BP {
            return Err(MoneyError::RateAboveWhole { bp });
        }
        Ok(Self(bp))
    }

    /// For constants: rates above the whole are clamped to it, so a typo cannot produce a
    /// share larger than the amount.
    pub const fn clamped(bp: u32) -> Self {
        if bp > WHOLE_BP { Self(WHOLE_BP) } else { Self(bp) }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl Fen {
    pub const ZERO: Fen = Fen(0);

    pub fn from_yuan(yuan: i64) -> Option<Self> {
        yuan.checked_mul(100).map(Fen)
    }

    /// A price as a person types it in yuan ("99", "99.5", "12.34"); `None` for anything else,
    /// including a third decimal that is not zero.
    pub fn parse_yuan(text: &str) -> Option<Fen> {
        let text = text.trim();
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        if whole.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let whole: i64 = whole.parse().ok()?;
        let padded = format!("{fraction:0<2}");
        if padded[2..].bytes().any(|b| b != b'0') {
            return None;
        }
        let cents: i64 = padded[..2].parse().ok()?;
        whole.checked_mul(100)?.checked_add(cents).map(Fen)
    }

    pub fn get(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Fen) -> Option<Fen> {
        self.0.checked_add(other.0).map(Fen)
    }

    pub fn checked_sub(self, other: Fen) -> Option<Fen> {
        self.0.checked_sub(other.0).map(Fen)
    }

    pub fn checked_mul(self, quantity: i64) -> Option<Fen> {
        self.0.checked_mul(quantity).map(Fen)
    }

    /// `floor(self × rate / 10000)`, computed in 128 bits so it cannot overflow. Floor, not
    /// truncation, so a negative amount's share rounds away from zero like a positive one's
    /// remainder does and the parts of a split always add back up to the whole.
    #[must_use]
    pub fn share(self, rate: BasisPoints) -> Fen {
        let product = i128::from(self.0) * i128::from(rate.0);
        let share = product.div_euclid(i128::from(WHOLE_BP));
        // |share| ≤ |self| because rate ≤ 10000, so it fits back into i64.
        Fen(i64::try_from(share).unwrap_or(self.0))
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }
}

impl Add for Fen {
    type Output = Fen;
    /// Saturating: sums of prices in a catalogue are far from `i64::MAX` (92 trillion yuan),
    /// and money arithmetic that could get near it must use [`Fen::checked_add`].
    fn add(self, rhs: Fen) -> Fen {
        Fen(self.0.saturating_add(rhs.0))
    }
}

impl Sub for Fen {
    type Output = Fen;
    fn sub(self, rhs: Fen) -> Fen {
        Fen(self.0.saturating_sub(rhs.0))
    }
}

/// Shows the amount as yuan with two decimals and the yuan sign, as prices are shown in China:
/// `¥129.00`, `-¥0.05`.
impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}¥{}.{:02}", abs / 100, abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn displays_as_yuan() {
        assert_eq!(Fen(12_900).to_string(), "¥129.00");
        assert_eq!(Fen(5).to_string(), "¥0.05");
        assert_eq!(Fen(-5).to_string(), "-¥0.05");
        assert_eq!(Fen(0).to_string(), "¥0.00");
        assert_eq!(Fen(i64::MIN).to_string(), "-¥92233720368547758.08");
    }

    #[test]
    fn share_floors() {
        let rate = BasisPoints::new(333).unwrap();
        assert_eq!(Fen(100).share(rate), Fen(3));
        assert_eq!(Fen(-100).share(rate), Fen(-4));
        assert_eq!(Fen(i64::MAX).share(BasisPoints::new(WHOLE_BP).unwrap()), Fen(i64::MAX));
    }

    #[test]
    fn rate_above_whole_is_refused() {
        assert_eq!(BasisPoints::new(10_001), Err(MoneyError::RateAboveWhole { bp: 10_001 }));
    }

    #[test]
    fn checked_arithmetic_reports_overflow() {
        assert_eq!(Fen(i64::MAX).checked_add(Fen(1)), None);
        assert_eq!(Fen(i64::MAX).checked_mul(2), None);
        assert_eq!(Fen::from_yuan(129), Some(Fen(12_900)));
    }

    proptest! {
        #[test]
        fn shares_never_exceed_the_whole(amount in 0i64..1_000_000_000_000, bp in 0u32..=10_000) {
            let share = Fen(amount).share(BasisPoints::new(bp).unwrap());
            prop_assert!(share.get() >= 0 && share.get() <= amount);
        }

        #[test]
        fn a_split_and_its_remainder_add_up(amount in -1_000_000_000i64..1_000_000_000, bp in 0u32..=10_000) {
            let share = Fen(amount).share(BasisPoints::new(bp).unwrap());
            let rest = Fen(amount) - share;
            prop_assert_eq!(share + rest, Fen(amount));
        }
    }

    #[test]
    fn yuan_as_typed_become_fen() {
        assert_eq!(Fen::parse_yuan("99"), Some(Fen(9_900)));
        assert_eq!(Fen::parse_yuan("99.5"), Some(Fen(9_950)));
        assert_eq!(Fen::parse_yuan(" 12.34 "), Some(Fen(1_234)));
        assert_eq!(Fen::parse_yuan("12.340"), Some(Fen(1_234)));
        for bad in ["12.345", "abc", "", "-1", "1.-5", ".5"] {
            assert_eq!(Fen::parse_yuan(bad), None, "{bad}");
        }
    }
}
