//! Binding a member to the sharer whose link it came through (`chain21.md`, "Binding"): only
//! an unbound member that has not paid an order, never to itself or into a cycle, and the
//! first binding wins. The engine and the Worker both ask [`decide`], so the rule is written
//! once.

/// What binding `member` to `sharer` comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding<M> {
    /// The member binds to the sharer.
    Binds,
    /// It is bound to that sharer already: nothing changes.
    AlreadyThere,
    /// Refused: the member stays as it is.
    Refused(Refusal<M>),
}

/// Why a binding is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal<M> {
    #[error("it is already bound to another sharer")]
    AlreadyBound { to: M },
    #[error("a member cannot invite itself")]
    ToItself,
    #[error("it has already paid an order")]
    AlreadyPaid,
    #[error("it would make a cycle")]
    Cycle,
}

/// Decides a binding of `member` (bound to `current`, having paid or not) to `sharer`;
/// `member_above_sharer` answers whether the member is among the sharer's inviters up to the
/// root (asked only when it matters, so the engine walks the chain only then).
pub fn decide<M: PartialEq + Clone>(
    member: &M,
    current: Option<&M>,
    has_paid: bool,
    sharer: &M,
    member_above_sharer: impl FnOnce() -> bool,
) -> Binding<M> {
    match current {
        Some(existing) if existing == sharer => Binding::AlreadyThere,
        Some(existing) => Binding::Refused(Refusal::AlreadyBound { to: existing.clone() }),
        None if member == sharer => Binding::Refused(Refusal::ToItself),
        None if has_paid => Binding::Refused(Refusal::AlreadyPaid),
        None if member_above_sharer() => Binding::Refused(Refusal::Cycle),
        None => Binding::Binds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_unbound_member_that_never_paid_binds_and_never_into_a_cycle() {
        let no = || false;
        assert_eq!(decide(&"y", None, false, &"x", no), Binding::Binds);
        assert_eq!(decide(&"y", Some(&"x"), false, &"x", no), Binding::AlreadyThere);
        assert_eq!(decide(&"y", Some(&"z"), false, &"x", no), Binding::Refused(Refusal::AlreadyBound { to: "z" }));
        assert_eq!(decide(&"x", None, false, &"x", no), Binding::Refused(Refusal::ToItself));
        assert_eq!(decide(&"y", None, true, &"x", no), Binding::Refused(Refusal::AlreadyPaid));
        // x was invited by w, w by y: y under x would close the circle.
        assert_eq!(decide(&"y", None, false, &"x", || ["w", "y"].contains(&"y")), Binding::Refused(Refusal::Cycle));
        assert_eq!(decide(&"y", None, false, &"x", || ["w", "v"].contains(&"y")), Binding::Binds);
    }
}
