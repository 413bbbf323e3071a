//! A cart's lines: what a shopper's change and the merge at sign-in do to a line's quantity. A
//! line holds 1 to [`MAX_LINE_QUANTITY`] units; a line at 0 is gone.

use super::MAX_LINE_QUANTITY;

/// A shopper's change to one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The line's quantity becomes this; 0 removes the line.
    Set(i64),
    /// This many more (at least one), up to the most a line holds.
    Add(i64),
}

/// Why a change is refused: the quantity is outside what it may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("from {least} to {most}")]
pub struct BadQuantity {
    pub least: i64,
    pub most: i64,
}

impl Change {
    /// The change a request asks for: an add of 1 to 99, or a set of 0 to 99.
    pub fn of(quantity: i64, add: bool) -> Result<Change, BadQuantity> {
        let least = i64::from(add);
        if !(least..=MAX_LINE_QUANTITY).contains(&quantity) {
            return Err(BadQuantity { least, most: MAX_LINE_QUANTITY });
        }
        Ok(if add { Change::Add(quantity) } else { Change::Set(quantity) })
    }

    /// The line's quantity after the change, from `current` (0 for no line): a set replaces
    /// it; an add adds, up to the most a line holds.
    pub fn applied(self, current: i64) -> i64 {
        match self {
            Change::Set(quantity) => quantity,
            Change::Add(more) => current.saturating_add(more).min(MAX_LINE_QUANTITY),
        }
    }

    /// Whether the change depends on what the line holds now (an add does; a set does not).
    pub fn reads_the_line(self) -> bool {
        matches!(self, Change::Add(_))
    }
}

/// A line of the anonymous cart as it goes into the member's at sign-in: the member's quantity
/// (`None` when they have no such line) and the anonymous one added, up to the most a line holds.
pub fn merged(member: Option<i64>, anonymous: i64) -> i64 {
    member.unwrap_or(0).saturating_add(anonymous).min(MAX_LINE_QUANTITY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_holds_one_to_ninety_nine_and_an_add_stops_there() {
        assert_eq!(Change::of(0, false), Ok(Change::Set(0)), "a set of 0 removes the line");
        assert_eq!(Change::of(0, true), Err(BadQuantity { least: 1, most: 99 }));
        assert_eq!(Change::of(100, false), Err(BadQuantity { least: 0, most: 99 }));
        assert_eq!(Change::Add(3).applied(0), 3);
        assert_eq!(Change::Add(90).applied(20), MAX_LINE_QUANTITY, "capped, never refused");
        assert_eq!(Change::Set(5).applied(80), 5);
        assert!(Change::Add(1).reads_the_line() && !Change::Set(1).reads_the_line());
        assert_eq!(merged(None, 4), 4);
        assert_eq!(merged(Some(98), 4), MAX_LINE_QUANTITY);
        assert_eq!(BadQuantity { least: 1, most: 99 }.to_string(), "from 1 to 99");
    }
}
