//! The stock gate of a flash-sale SKU: one per stock row (a location's count of a SKU) that its
//! owner marked for a rush. Every checkout of that row asks the gate first; the gate grants
//! units from its own count, so the losers of a rush are answered from memory and never write
//! to D1, the one writer a whole store group shares. The winners then hold their units in D1
//! as every checkout does, and `stock`'s CHECK there stays the last word: the gate can grant
//! too much (after its count went stale) and D1 refuses the excess, but it never makes D1
//! sell more than it has.
//!
//! The gate's count is D1's, read in one snapshot: the units free there and which of the
//! gate's granted checkouts are already written (their units already counted as held). A
//! granted checkout not yet written is subtracted until it lands, is given back, or outlives
//! [`TICKET_LIFETIME_MS`] (its writer died). A refusal is only given on a count read at most
//! [`RESYNC_AFTER_MS`] ago, so units given back in D1 (an expired hold, a cancellation, a
//! restock) reach the gate within that time, and a rush of losers costs D1 at most one read
//! per interval.
//!
//! The Worker runs the gate in a Durable Object (`worker/src/hot_stock.rs`); everything that
//! decides is here.

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// How old the count may be when the gate refuses: older, and it reads D1 again first.
pub const RESYNC_AFTER_MS: i64 = 250;

/// How long a granted checkout may take to be written before the gate stops counting it: a
/// checkout's write batch takes milliseconds; one still unwritten after a minute is dead.
pub const TICKET_LIFETIME_MS: i64 = 60_000;

/// The largest number of granted checkouts a snapshot asks D1 about, so that its statement
/// stays one bounded read; the oldest are asked first.
pub const SNAPSHOT_TICKETS: usize = 500;

/// A checkout asking for units of the gate's row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ask {
    pub checkout_id: String,
    /// Whose checkout it is and under which Idempotency-Key, with the request's fingerprint:
    /// a refusal is the key's answer, told again to a retry.
    pub member_id: String,
    pub key: String,
    pub fingerprint: String,
    pub quantity: i64,
}

impl Ask {
    /// The name a kept refusal is stored under.
    pub fn refusal_name(&self) -> String {
        format!("refused:{}:{}", self.member_id, self.key)
    }
}

/// A refusal the gate gave, kept as the answer of the key that asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptRefusal {
    pub fingerprint: String,
    pub available: i64,
    pub requested: i64,
}

/// The gate's answer to an ask.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "admission", rename_all = "snake_case")]
pub enum Admission {
    /// The units are the checkout's to hold in D1.
    Granted,
    /// Not enough units: the checkout is refused without touching D1.
    Short { available: i64, requested: i64 },
    /// The key was refused before for a different request.
    KeyReused,
}

/// What the gate decided and what must be kept of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub admission: Admission,
    /// A new refusal, to keep under the ask's [`Ask::refusal_name`].
    pub keep: Option<KeptRefusal>,
}

/// A checkout granted units and not yet seen written in D1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub checkout_id: String,
    /// The ask's [`Ask::refusal_name`]: whose key the grant went to.
    pub asker: String,
    pub quantity: i64,
    pub granted_at: Timestamp,
}

/// A snapshot of D1 the gate asked for: which granted checkouts it asks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotAsk {
    pub sequence: u64,
    pub asked_at: Timestamp,
    pub checkouts: Vec<String>,
}

/// What D1 answered, in one read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// `on_hand - reserved` of the row; `None` when the row is gone.
    pub available: Option<i64>,
    /// Those of the asked checkouts that exist in D1.
    pub written: Vec<String>,
}

/// The gate's figures: what it holds and what it has done.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GateFigures {
    /// Units the gate may still grant.
    pub free: i64,
    /// Granted checkouts not yet seen written.
    pub outstanding: u64,
    pub granted: u64,
    pub refused: u64,
    pub given_back: u64,
    /// D1 snapshots read.
    pub snapshots: u64,
}

/// The gate of one stock row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gate {
    free: i64,
    tickets: Vec<Ticket>,
    /// When the count applied was read; `None` before the first snapshot or once a write
    /// showed the count stale.
    read_at: Option<Timestamp>,
    /// The snapshots asked for and the last one applied: an older answer arriving late is dropped.
    asked: u64,
    applied: u64,
    figures: GateFigures,
}

impl Gate {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `ask` needs a fresh snapshot before it is decided: always before the first, and
    /// before a refusal on a count older than [`RESYNC_AFTER_MS`].
    pub fn needs_snapshot(&self, ask: &Ask, now: Timestamp) -> bool {
        match self.read_at {
            None => true,
            Some(read_at) => {
                let mine = self.tickets.iter().any(|t| t.checkout_id == ask.checkout_id);
                !mine && self.free < ask.quantity && now.millis() - read_at.millis() >= RESYNC_AFTER_MS
            }
        }
    }

    /// The snapshot to read now: the row and the oldest granted checkouts.
    pub fn snapshot_ask(&mut self, now: Timestamp) -> SnapshotAsk {
        self.asked += 1;
        let checkouts = self.tickets.iter().take(SNAPSHOT_TICKETS).map(|t| t.checkout_id.clone()).collect();
        SnapshotAsk { sequence: self.asked, asked_at: now, checkouts }
    }

    /// Applies D1's answer to `ask`. The checkouts it found written leave the gate (D1 counts
    /// their units as held); those asked about, not written and older than
    /// [`TICKET_LIFETIME_MS`] leave too (their writer is gone); the rest, and any granted since
    /// the snapshot was asked, are subtracted from D1's free units.
    pub fn apply(&mut self, ask: &SnapshotAsk, snapshot: &Snapshot) {
        if ask.sequence <= self.applied {
            return;
        }
        self.applied = ask.sequence;
        self.figures.snapshots += 1;
        let expired_before = ask.asked_at.millis() - TICKET_LIFETIME_MS;
        self.tickets.retain(|ticket| {
            let asked = ask.checkouts.contains(&ticket.checkout_id);
            let written = snapshot.written.contains(&ticket.checkout_id);
            !(written || (asked && ticket.granted_at.millis() < expired_before))
        });
        let held: i64 = self.tickets.iter().map(|t| t.quantity).sum();
        self.free = snapshot.available.unwrap_or(0) - held;
        self.read_at = Some(ask.asked_at);
    }

    /// Decides `ask`, given the refusal its key was given before, if any.
    pub fn admit(&mut self, ask: &Ask, kept: Option<&KeptRefusal>, now: Timestamp) -> Decision {
        if let Some(kept) = kept {
            let admission = if kept.fingerprint == ask.fingerprint {
                Admission::Short { available: kept.available, requested: kept.requested }
            } else {
                Admission::KeyReused
            };
            return Decision { admission, keep: None };
        }
        // The same checkout asking again, or the same key raced in twice: the key's request is
        // let through without more units, and D1's key record lets only one of them write (the
        // other then answers with its answer).
        let asker = ask.refusal_name();
        if self.tickets.iter().any(|t| t.checkout_id == ask.checkout_id || t.asker == asker) {
            return Decision { admission: Admission::Granted, keep: None };
        }
        if ask.quantity > 0 && self.read_at.is_some() && self.free >= ask.quantity {
            self.free -= ask.quantity;
            let ticket =
                Ticket { checkout_id: ask.checkout_id.clone(), asker, quantity: ask.quantity, granted_at: now };
            self.tickets.push(ticket);
            self.figures.granted += 1;
            return Decision { admission: Admission::Granted, keep: None };
        }
        self.figures.refused += 1;
        let available = self.free.max(0);
        let keep = KeptRefusal { fingerprint: ask.fingerprint.clone(), available, requested: ask.quantity };
        Decision { admission: Admission::Short { available, requested: ask.quantity }, keep: Some(keep) }
    }

    /// A granted checkout that will not be written (D1 refused its batch, or it was refused for
    /// another reason): its units are free again. `stale` when D1 refused it for stock, which
    /// means the gate's count was too high: the next ask reads a fresh one.
    pub fn give_back(&mut self, checkout_id: &str, stale: bool) {
        if let Some(at) = self.tickets.iter().position(|t| t.checkout_id == checkout_id) {
            let ticket = self.tickets.remove(at);
            self.free += ticket.quantity;
            self.figures.given_back += 1;
        }
        if stale {
            self.read_at = None;
        }
    }

    pub fn figures(&self) -> GateFigures {
        GateFigures { free: self.free, outstanding: self.tickets.len() as u64, ..self.figures }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp(1_790_000_000_000);

    fn ask(checkout: &str, quantity: i64) -> Ask {
        Ask {
            checkout_id: checkout.to_owned(),
            member_id: format!("m-{checkout}"),
            key: "k".to_owned(),
            fingerprint: "f".repeat(64),
            quantity,
        }
    }

    fn synced(gate: &mut Gate, available: i64, written: &[&str], at: Timestamp) {
        let asked = gate.snapshot_ask(at);
        gate.apply(
            &asked,
            &Snapshot { available: Some(available), written: written.iter().map(|&s| s.to_owned()).collect() },
        );
    }

    #[test]
    fn grants_what_d1_has_and_refuses_the_rest_from_memory() {
        let mut gate = Gate::new();
        assert!(gate.needs_snapshot(&ask("c-1", 1), T0));
        synced(&mut gate, 3, &[], T0);
        assert_eq!(gate.admit(&ask("c-1", 2), None, T0).admission, Admission::Granted);
        assert_eq!(gate.admit(&ask("c-2", 1), None, T0).admission, Admission::Granted);
        // Asking again for a granted checkout is granted again, not counted twice; so is the
        // same key raced in under another checkout.
        assert_eq!(gate.admit(&ask("c-2", 1), None, T0).admission, Admission::Granted);
        let raced = Ask { checkout_id: "c-2b".to_owned(), ..ask("c-2", 1) };
        assert_eq!(gate.admit(&raced, None, T0).admission, Admission::Granted);
        assert!(!gate.needs_snapshot(&ask("c-3", 1), T0.plus_millis(RESYNC_AFTER_MS - 1)));
        let refused = gate.admit(&ask("c-3", 1), None, T0);
        assert_eq!(refused.admission, Admission::Short { available: 0, requested: 1 });
        assert_eq!(refused.keep, Some(KeptRefusal { fingerprint: "f".repeat(64), available: 0, requested: 1 }));
        let figures = gate.figures();
        assert_eq!((figures.free, figures.outstanding, figures.granted, figures.refused), (0, 2, 2, 1));
    }

    #[test]
    fn a_kept_refusal_is_told_again_and_guards_its_key() {
        let mut gate = Gate::new();
        synced(&mut gate, 5, &[], T0);
        let kept = KeptRefusal { fingerprint: "f".repeat(64), available: 0, requested: 1 };
        let again = gate.admit(&ask("c-9", 1), Some(&kept), T0);
        assert_eq!(again, Decision { admission: Admission::Short { available: 0, requested: 1 }, keep: None });
        let other = Ask { fingerprint: "e".repeat(64), ..ask("c-9", 1) };
        assert_eq!(gate.admit(&other, Some(&kept), T0).admission, Admission::KeyReused);
        assert_eq!(gate.figures().free, 5, "nothing was granted");
    }

    #[test]
    fn a_snapshot_counts_unwritten_grants_once_and_drops_written_and_dead_ones() {
        let mut gate = Gate::new();
        synced(&mut gate, 4, &[], T0);
        assert_eq!(gate.admit(&ask("c-1", 1), None, T0).admission, Admission::Granted);
        assert_eq!(gate.admit(&ask("c-2", 1), None, T0).admission, Admission::Granted);
        // c-1 landed in D1 (3 free there), c-2 has not yet: 3 - 1.
        synced(&mut gate, 3, &["c-1"], T0.plus_millis(10));
        assert_eq!((gate.figures().free, gate.figures().outstanding), (2, 1));
        // c-2's writer died: past its lifetime it is no longer subtracted.
        synced(&mut gate, 3, &[], T0.plus_millis(TICKET_LIFETIME_MS + 1));
        assert_eq!((gate.figures().free, gate.figures().outstanding), (3, 0));
    }

    #[test]
    fn a_late_snapshot_is_dropped_and_a_grant_during_one_is_subtracted() {
        let mut gate = Gate::new();
        synced(&mut gate, 10, &[], T0);
        let first = gate.snapshot_ask(T0.plus_millis(1));
        let second = gate.snapshot_ask(T0.plus_millis(2));
        assert_eq!(gate.admit(&ask("c-1", 4), None, T0.plus_millis(3)).admission, Admission::Granted);
        gate.apply(&second, &Snapshot { available: Some(10), written: Vec::new() });
        assert_eq!(gate.figures().free, 6, "c-1 was granted after the read: still subtracted");
        gate.apply(&first, &Snapshot { available: Some(99), written: Vec::new() });
        assert_eq!(gate.figures().free, 6, "an older snapshot arriving late changes nothing");
    }

    #[test]
    fn a_stale_count_is_read_again_before_refusing() {
        let mut gate = Gate::new();
        synced(&mut gate, 1, &[], T0);
        assert_eq!(gate.admit(&ask("c-1", 1), None, T0).admission, Admission::Granted);
        assert!(!gate.needs_snapshot(&ask("c-2", 1), T0.plus_millis(100)));
        assert!(gate.needs_snapshot(&ask("c-2", 1), T0.plus_millis(RESYNC_AFTER_MS)));
        // D1 refused c-1 for stock: its units come back and the count is read again.
        gate.give_back("c-1", true);
        assert_eq!(gate.figures().free, 1);
        assert!(gate.needs_snapshot(&ask("c-2", 1), T0.plus_millis(1)));
        assert_eq!(gate.admit(&ask("c-2", 1), None, T0).admission, Admission::Short { available: 1, requested: 1 });
    }

    proptest::proptest! {
        /// Whatever interleaving of asks, writes that land or fail, give-backs and snapshots,
        /// the gate never has more units granted and unwritten than D1 has free at its last
        /// snapshot, when D1 changes only by the gate's own checkouts.
        #[test]
        fn never_grants_past_d1(
            start in 0i64..30,
            steps in proptest::collection::vec((0u8..4, 1i64..4), 0..200),
        ) {
            let mut gate = Gate::new();
            let mut d1_free = start;
            let mut written: Vec<String> = Vec::new();
            let mut pending: Vec<(String, i64)> = Vec::new();
            synced(&mut gate, d1_free, &[], T0);
            for (n, (kind, quantity)) in steps.into_iter().enumerate() {
                let now = T0.plus_millis(i64::try_from(n).unwrap_or(i64::MAX));
                match kind {
                    0 => {
                        let id = format!("c-{n}");
                        if gate.admit(&ask(&id, quantity), None, now).admission == Admission::Granted {
                            pending.push((id, quantity));
                        }
                    }
                    1 => if let Some((id, quantity)) = pending.pop() {
                        // The write lands when D1 has the units, else D1 refuses and it is given back.
                        if d1_free >= quantity { d1_free -= quantity; written.push(id); } else { gate.give_back(&id, true); }
                    },
                    2 => if let Some((id, _)) = pending.pop() { gate.give_back(&id, false); },
                    _ => {
                        let seen: Vec<&str> = written.iter().map(String::as_str).collect();
                        synced(&mut gate, d1_free, &seen, now);
                    }
                }
                let unwritten: i64 = pending.iter().map(|(_, q)| q).sum();
                proptest::prop_assert!(unwritten <= d1_free, "{unwritten} granted and unwritten, {d1_free} free");
                proptest::prop_assert!(d1_free >= 0);
            }
        }
    }
}
