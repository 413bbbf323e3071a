//! The distribution network and its reward ledger as one deterministic state machine
//! (`chain21.md`): events go in one at a time, in order; the same rules and the same events always
//! give the same state. The replay (`tandem chain21 replay`) drives it from a file; the Worker
//! drives the same placement and reward code from D1 rows; the simulator drives it through its
//! dense calls ([`Engine::numbered`]), with members and orders numbered instead of named.
//!
//! Placement keeps, for each agent, whether its team leader is *fixed* (it slid, or was placed
//! under a partner) or *inherited* through its inviter; members are always inherited. The team
//! leader is then found by walking up inherited links to the first partner or fixed link, which
//! is exactly "the team of its inviter, evaluated at the time of each order", and makes the `nth`
//! variant's promotion move a whole line at once without rewriting anyone below it.
//!
//! The state is dense: members, orders and rewards are indices into flat arrays of small fixed
//! records (ids as `u32` with a sentinel for "none", times as `i64`), an order's rewards are a
//! contiguous run carrying the rates they were computed at, and what only a few orders have (a
//! refund, a void or a clawback) lives in side tables. A million members with a million orders
//! fit in well under 200 bytes per member.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use serde::Serialize;

use super::binding::{self, Binding, Refusal};
use super::events::{Event, EventKind, GrantIdentity, Line};
use super::rewards::{self, Candidate, Kind};
use super::rules::{EntryMode, PeerSource, QualifyOn, Rules, SlideVariant};
use super::settle;
use crate::time::Timestamp;

/// A member's index in the engine, in the order members were first seen.
pub type Member = u32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Identity {
    Member,
    Agent,
    Partner,
}

impl Identity {
    pub fn parse(text: &str) -> Option<Identity> {
        [Identity::Member, Identity::Agent, Identity::Partner].into_iter().find(|i| i.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Identity::Member => "member",
            Identity::Agent => "agent",
            Identity::Partner => "partner",
        }
    }

    /// Agents and partners earn; plain members do not.
    pub fn earns(self) -> bool {
        self != Identity::Member
    }
}

/// A member or order index that may be absent, in four bytes (`u32::MAX` is "none").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot(u32);

impl Slot {
    const NONE: Slot = Slot(u32::MAX);

    fn get(self) -> Option<u32> {
        (self != Slot::NONE).then_some(self.0)
    }
}

impl From<Option<u32>> for Slot {
    fn from(value: Option<u32>) -> Self {
        value.map_or(Slot::NONE, Slot)
    }
}

/// A moment that may be absent, in eight bytes (`i64::MIN` is "never").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct When(i64);

impl When {
    const NEVER: When = When(i64::MIN);

    fn get(self) -> Option<Timestamp> {
        (self != When::NEVER).then_some(Timestamp(self.0))
    }
}

impl From<Option<Timestamp>> for When {
    fn from(value: Option<Timestamp>) -> Self {
        value.map_or(When::NEVER, |t| When(t.0))
    }
}

/// Where an agent's team leader comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// Through the inviter: the inviter if it is a partner, else the inviter's team leader.
    Inherited,
    /// Set once (a slide, or placement under a partner) and kept for good.
    Fixed(Option<Member>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum RewardState {
    Pending,
    Frozen,
    Available,
}

/// Money in a member's hands, by state (`money.md`'s `member:{id}:…` accounts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Balance {
    pub pending_fen: i64,
    pub frozen_fen: i64,
    pub available_fen: i64,
    pub withdrawn_fen: i64,
}

/// One member's place in the network: 16 bytes, the hot part of a member (every payment walks
/// up these), kept apart from its [`Account`] so a million of them stay in cache.
#[derive(Debug, Clone)]
struct Place {
    inviter: Slot,
    /// The team leader when `fixed`.
    fixed_leader: Slot,
    origin_leader: Slot,
    identity: Identity,
    fixed: bool,
    /// Whether anyone was ever bound to it: only then can it be above another member, so a
    /// binding's cycle check walks the chain only then.
    has_directs: bool,
}

impl Place {
    fn new() -> Self {
        Place {
            inviter: Slot::NONE,
            fixed_leader: Slot::NONE,
            origin_leader: Slot::NONE,
            identity: Identity::Member,
            fixed: false,
            has_directs: false,
        }
    }

    fn link(&self) -> Link {
        if self.fixed { Link::Fixed(self.fixed_leader.get()) } else { Link::Inherited }
    }

    fn set_link(&mut self, link: Link) {
        (self.fixed, self.fixed_leader) = match link {
            Link::Fixed(leader) => (true, leader.into()),
            Link::Inherited => (false, Slot::NONE),
        };
    }
}

/// The rest of a member: 32 bytes (its money is in [`Engine::balances`], for members that
/// ever earned).
#[derive(Debug, Clone)]
struct Account {
    /// Paid base less refunds, for `entry.mode = cumulative_spend`.
    spend_fen: i64,
    last_paid_at: When,
    /// Directs that qualified while this member was an agent: what sliding and promotion count.
    qualifying_directs: u32,
    qualifying_order: Slot,
    has_paid: bool,
    /// Set at the first qualification; a member qualifying again neither counts nor slides.
    ever_qualified: bool,
}

impl Account {
    fn new() -> Self {
        Account {
            spend_fen: 0,
            last_paid_at: When::NEVER,
            qualifying_directs: 0,
            qualifying_order: Slot::NONE,
            has_paid: false,
            ever_qualified: false,
        }
    }
}

/// One paid order: 48 bytes. Its rewards are `rewards[first_reward..first_reward + reward_count]`.
#[derive(Debug, Clone)]
struct OrderState {
    paid_at: Timestamp,
    total_fen: i64,
    /// The commissionable base at payment (what refunds left of it: [`Engine::refunds_of`]).
    base_fen: i64,
    completed_at: When,
    buyer: Member,
    /// The team whose GMV this order counts toward.
    team: Slot,
    first_reward: u32,
    reward_count: u8,
    designated: bool,
    /// Whether the order is still in its team's trailing window.
    in_window: bool,
}

/// What refunds did to an order, for the few orders refunded.
#[derive(Debug, Clone, Copy)]
struct Refunded {
    refunded_fen: i64,
    base_left_fen: i64,
}

/// One reward as kept: 16 bytes, with the rate it was computed at (a refund recomputes with the
/// identities and rules of the payment; a peer reward's team rate is the rules').
#[derive(Debug, Clone, Copy)]
struct RewardSlot {
    amount_fen: i64,
    beneficiary: Member,
    rate_bp: u16,
    kind: Kind,
    /// The generation (low four bits) and the state (high four).
    phase: u8,
}

impl RewardSlot {
    const STATES: [RewardState; 3] = [RewardState::Pending, RewardState::Frozen, RewardState::Available];

    fn generation(self) -> u8 {
        self.phase & 0x0F
    }

    fn state(self) -> RewardState {
        Self::STATES[usize::from(self.phase >> 4).min(2)]
    }

    fn set_state(&mut self, state: RewardState) {
        let code = match state {
            RewardState::Pending => 0,
            RewardState::Frozen => 1,
            RewardState::Available => 2,
        };
        self.phase = (self.phase & 0x0F) | (code << 4);
    }
}

/// One reward: one row of the ledger, keyed by (order, beneficiary, kind, generation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Reward {
    pub order: u32,
    pub beneficiary: Member,
    pub kind: Kind,
    pub generation: u8,
    pub amount_fen: i64,
    pub state: RewardState,
    pub thaw_at: Option<Timestamp>,
    pub voided_fen: i64,
    pub clawback_fen: i64,
    /// The rates the reward was computed at.
    pub rate_bp: u32,
    pub of_team_bp: Option<u32>,
}

/// The accounts a reward moves between (`money.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    /// The order's store's payable: where rewards come from and voids go back to.
    StorePayable,
    Pending,
    Frozen,
    Available,
    /// Asked for by a withdrawal request, until the operator pays it out or rejects it.
    Withdrawing,
    PaidOut,
}

/// One double-entry movement: `amount_fen` debited from `from` and credited to `to`, for one
/// member (the store side is the order's store).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Movement {
    pub order: Option<u32>,
    pub member: Member,
    pub from: Bucket,
    pub to: Bucket,
    pub amount_fen: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Warning {
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("unknown order {order:?}")]
    UnknownOrder { order: String },
    #[error("refund {refund:?} of {wanted_fen} fen is more than the {left_fen} fen left of order {order:?}")]
    RefundTooLarge { order: String, refund: String, wanted_fen: i64, left_fen: i64 },
}

/// A hasher for maps keyed by member index: the index spread by one multiplication (the keys
/// are the engine's own dense numbers, not an attacker's).
#[derive(Default)]
struct MemberHasher(u64);

impl Hasher for MemberHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(byte)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, value: u32) {
        self.0 = (self.0 ^ u64::from(value)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type ByMember = BuildHasherDefault<MemberHasher>;

#[derive(Debug, Default)]
struct TeamWindow {
    orders: VecDeque<u32>,
    gmv_fen: i64,
}

/// Names given by events, interned: index `i` is `names[i]`.
#[derive(Debug, Default)]
struct Interned {
    names: Vec<String>,
    index: HashMap<String, u32>,
}

impl Interned {
    fn of(&mut self, name: &str) -> (u32, bool) {
        if let Some(&at) = self.index.get(name) {
            return (at, false);
        }
        let at = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.names.push(name.to_owned());
        self.index.insert(name.to_owned(), at);
        (at, true)
    }
}

/// How members and orders are named: by the events (interned), or numbered by the engine
/// (`m{i}` and `o{i}`), which keeps no string per member or order.
#[derive(Debug)]
enum Names {
    Given { members: Interned, orders: Interned },
    Numbered,
}

/// The whole network and its ledger.
#[derive(Debug)]
pub struct Engine {
    rules: Rules,
    clock: Timestamp,
    names: Names,
    members: Vec<Place>,
    /// Per member, where the team-leader walk goes from it ([`Walk`]): four bytes a member, so
    /// the walk every payment makes up the chain stays in cache.
    walk: Vec<u32>,
    accounts: Vec<Account>,
    /// Per member, its row in `balances`: only members that earned have one, so the balances
    /// every reward moves stay few and in cache (`u32::MAX`: none yet).
    earner: Vec<u32>,
    balances: Vec<Balance>,
    orders: Vec<OrderState>,
    rewards: Vec<RewardSlot>,
    refunded: HashMap<u32, Refunded, ByMember>,
    /// Voided and clawed-back amounts per reward, for the rewards a refund cut.
    cuts: HashMap<u32, (i64, i64), ByMember>,
    refunds: HashSet<String>,
    withdrawals: HashSet<String>,
    /// Bindings refused once: the same binding again is not reported again.
    refused_binds: HashSet<(Member, Member)>,
    /// Completed orders by thaw time: their frozen rewards become available then. The clock
    /// never goes back and every order thaws the same days after it completes, so the queue is
    /// in thaw order as it is pushed.
    thaw_queue: VecDeque<(Timestamp, u32)>,
    teams: HashMap<Member, TeamWindow, ByMember>,
    visits: HashMap<Member, VecDeque<(Timestamp, Member)>>,
    warnings: Vec<Warning>,
    journal: Option<Vec<Movement>>,
    /// For an engine restored from stored rows: the trailing team GMVs and link conversions the
    /// store computed, in place of the windows this engine has no orders or visits for.
    known_gmv: HashMap<Member, i64>,
    known_conversion: HashMap<Member, (u64, u64)>,
    /// For a restored engine: the stored figures its decisions depended on.
    consulted: Option<Consulted>,
    /// Buffers a payment reuses for its candidates and their amounts.
    scratch: (Vec<Candidate<Member>>, Vec<i64>),
}

/// The stored figures a restored engine's decisions depended on: whose team GMV decided a peer
/// reward (only when the rules set a threshold) and whose link conversion decided a dynamic
/// bonus (only when the rules have tiers). What the store must find unchanged when it writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Consulted {
    pub team_gmv: Vec<Member>,
    pub conversion: Vec<Member>,
}

/// One member as stored outside the engine (the Worker's D1 rows), enough to place and reward.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MemberRecord {
    pub id: String,
    pub identity: Identity,
    pub inviter: Option<String>,
    /// Whether the team leader is fixed (slid, or placed under a partner), to `fixed_leader`.
    pub fixed: bool,
    pub fixed_leader: Option<String>,
    pub origin_leader: Option<String>,
    pub qualifying_directs: u32,
    pub ever_qualified: bool,
    pub spend_fen: i64,
    pub has_paid: bool,
    pub last_paid_at: Option<Timestamp>,
}

/// The rewards of an engine, in posting order.
#[derive(Clone, Copy)]
pub struct Rewards<'a> {
    engine: &'a Engine,
}

impl<'a> Rewards<'a> {
    pub fn len(&self) -> usize {
        self.engine.rewards.len()
    }

    pub fn is_empty(&self) -> bool {
        self.engine.rewards.is_empty()
    }

    /// Reward `index`, with its order, thaw time and cuts.
    pub fn get(&self, index: usize) -> Option<Reward> {
        let slot = self.engine.rewards.get(index)?;
        let index = u32::try_from(index).ok()?;
        let order = self.engine.orders.partition_point(|o| o.first_reward + u32::from(o.reward_count) <= index);
        let order = u32::try_from(order).ok()?;
        Some(self.engine.reward_at(order, index, slot))
    }

    /// Every reward from `start` on, in posting order.
    pub fn iter_from(&self, start: usize) -> impl Iterator<Item = Reward> + 'a {
        let engine = self.engine;
        let start = u32::try_from(start).unwrap_or(u32::MAX);
        let first_order = engine.orders.partition_point(|o| o.first_reward + u32::from(o.reward_count) <= start);
        engine.orders[first_order..].iter().zip(first_order..).flat_map(move |(o, order)| {
            let order = u32::try_from(order).unwrap_or(u32::MAX);
            (o.first_reward..o.first_reward + u32::from(o.reward_count))
                .filter(move |&r| r >= start)
                .map(move |r| engine.reward_at(order, r, &engine.rewards[r as usize]))
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = Reward> + 'a {
        self.iter_from(0)
    }

    /// What the rewards add up to now.
    pub fn total_fen(&self) -> i64 {
        self.engine.rewards.iter().map(|r| r.amount_fen).sum()
    }
}

impl Engine {
    pub fn new(rules: Rules) -> Self {
        Self::named(rules, Names::Given { members: Interned::default(), orders: Interned::default() })
    }

    /// An engine for the dense calls ([`Engine::add_member`], [`Engine::pay_at`], …): members
    /// and orders are numbered in the order they are added (`m{i}`, `o{i}` wherever a name is
    /// shown), with room made for `members` and `orders` up front.
    pub fn numbered(rules: Rules, members: usize, orders: usize) -> Self {
        let mut engine = Self::named(rules, Names::Numbered);
        engine.members.reserve_exact(members);
        engine.walk.reserve_exact(members);
        engine.accounts.reserve_exact(members);
        engine.earner.reserve_exact(members);
        engine.orders.reserve_exact(orders);
        engine
    }

    fn named(rules: Rules, names: Names) -> Self {
        Engine {
            rules,
            clock: Timestamp(i64::MIN),
            names,
            members: Vec::new(),
            walk: Vec::new(),
            accounts: Vec::new(),
            earner: Vec::new(),
            balances: Vec::new(),
            orders: Vec::new(),
            rewards: Vec::new(),
            refunded: HashMap::default(),
            cuts: HashMap::default(),
            refunds: HashSet::new(),
            withdrawals: HashSet::new(),
            refused_binds: HashSet::new(),
            thaw_queue: VecDeque::new(),
            teams: HashMap::default(),
            visits: HashMap::new(),
            warnings: Vec::new(),
            journal: None,
            known_gmv: HashMap::new(),
            known_conversion: HashMap::new(),
            consulted: None,
            scratch: (Vec::new(), Vec::new()),
        }
    }

    /// An engine holding only the given members (a buyer's chain of inviters, as stored), with
    /// the clock at `now` and the stored figures for team GMV (per partner) and link conversion
    /// (per sharer: distinct visitors, converted visitors). Members referred to but not given
    /// are created bare.
    pub fn restore(
        rules: Rules,
        now: Timestamp,
        records: &[MemberRecord],
        team_gmv: &[(String, i64)],
        conversion: &[(String, u64, u64)],
    ) -> Self {
        let mut engine = Engine::new(rules);
        engine.clock = now;
        engine.consulted = Some(Consulted::default());
        for record in records {
            engine.member(&record.id);
        }
        for record in records {
            let member = engine.member(&record.id);
            let inviter = record.inviter.as_deref().map(|name| engine.member(name));
            let fixed_leader = record.fixed_leader.as_deref().map(|name| engine.member(name));
            let origin_leader = record.origin_leader.as_deref().map(|name| engine.member(name));
            let place = &mut engine.members[member as usize];
            place.identity = record.identity;
            place.inviter = inviter.into();
            place.set_link(if record.fixed { Link::Fixed(fixed_leader) } else { Link::Inherited });
            place.origin_leader = origin_leader.into();
            // Stored members may have directs the engine was not given.
            place.has_directs = true;
            engine.refresh_walk(member);
            let state = &mut engine.accounts[member as usize];
            state.qualifying_directs = record.qualifying_directs;
            state.ever_qualified = record.ever_qualified;
            state.spend_fen = record.spend_fen;
            state.has_paid = record.has_paid;
            state.last_paid_at = record.last_paid_at.into();
        }
        for (leader, gmv) in team_gmv {
            let leader = engine.member(leader);
            engine.known_gmv.insert(leader, *gmv);
        }
        for (sharer, visitors, converted) in conversion {
            let sharer = engine.member(sharer);
            engine.known_conversion.insert(sharer, (*visitors, *converted));
        }
        engine
    }

    /// A member as it would be stored.
    pub fn record(&self, member: Member) -> MemberRecord {
        let (place, state) = (&self.members[member as usize], &self.accounts[member as usize]);
        let name = |m: Option<Member>| m.map(|m| self.name(m).into_owned());
        let (fixed, fixed_leader) = match place.link() {
            Link::Fixed(leader) => (true, name(leader)),
            Link::Inherited => (false, None),
        };
        MemberRecord {
            id: self.name(member).into_owned(),
            identity: place.identity,
            inviter: name(place.inviter.get()),
            fixed,
            fixed_leader,
            origin_leader: name(place.origin_leader.get()),
            qualifying_directs: state.qualifying_directs,
            ever_qualified: state.ever_qualified,
            spend_fen: state.spend_fen,
            has_paid: state.has_paid,
            last_paid_at: state.last_paid_at.get(),
        }
    }

    /// What a restored engine's decisions read of the stored team GMVs and conversions; empty
    /// for an engine that replays its own events.
    pub fn consulted(&self) -> Consulted {
        self.consulted.clone().unwrap_or_default()
    }

    pub fn order_team(&self, order: u32) -> Option<Member> {
        self.orders[order as usize].team.get()
    }

    /// Keeps every money movement, for checking the double entry (tests; costs memory).
    #[must_use]
    pub fn with_journal(mut self) -> Self {
        self.journal = Some(Vec::new());
        self
    }

    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    pub fn journal(&self) -> &[Movement] {
        self.journal.as_deref().unwrap_or_default()
    }

    pub fn rewards(&self) -> Rewards<'_> {
        Rewards { engine: self }
    }

    /// Reward `index` of `order`, materialised.
    fn reward_at(&self, order: u32, index: u32, slot: &RewardSlot) -> Reward {
        let o = &self.orders[order as usize];
        let thaw_at = match slot.state() {
            RewardState::Pending => None,
            RewardState::Frozen | RewardState::Available => {
                o.completed_at.get().map(|at| at.plus_days(i64::from(self.rules.settle.after_sale_days)))
            }
        };
        let (voided_fen, clawback_fen) = self.cuts.get(&index).copied().unwrap_or((0, 0));
        Reward {
            order,
            beneficiary: slot.beneficiary,
            kind: slot.kind,
            generation: slot.generation(),
            amount_fen: slot.amount_fen,
            state: slot.state(),
            thaw_at,
            voided_fen,
            clawback_fen,
            rate_bp: u32::from(slot.rate_bp),
            of_team_bp: self.of_team_bp(slot.kind),
        }
    }

    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    pub fn member_count(&self) -> usize {
        self.members.len()
    }

    pub fn name(&self, member: Member) -> Cow<'_, str> {
        match &self.names {
            Names::Given { members, .. } => Cow::Borrowed(&members.names[member as usize]),
            Names::Numbered => Cow::Owned(format!("m{member}")),
        }
    }

    pub fn order_name(&self, order: u32) -> Cow<'_, str> {
        match &self.names {
            Names::Given { orders, .. } => Cow::Borrowed(&orders.names[order as usize]),
            Names::Numbered => Cow::Owned(format!("o{order}")),
        }
    }

    pub fn find(&self, name: &str) -> Option<Member> {
        match &self.names {
            Names::Given { members, .. } => members.index.get(name).copied(),
            Names::Numbered => numbered(name, 'm').filter(|&m| (m as usize) < self.members.len()),
        }
    }

    fn find_order(&self, name: &str) -> Option<u32> {
        match &self.names {
            Names::Given { orders, .. } => orders.index.get(name).copied(),
            Names::Numbered => numbered(name, 'o').filter(|&o| (o as usize) < self.orders.len()),
        }
    }

    pub fn identity(&self, member: Member) -> Identity {
        self.members[member as usize].identity
    }

    pub fn inviter(&self, member: Member) -> Option<Member> {
        self.members[member as usize].inviter.get()
    }

    pub fn origin_leader(&self, member: Member) -> Option<Member> {
        self.members[member as usize].origin_leader.get()
    }

    pub fn qualifying_directs(&self, member: Member) -> u32 {
        self.accounts[member as usize].qualifying_directs
    }

    pub fn balance(&self, member: Member) -> Balance {
        let row = self.earner[member as usize];
        self.balances.get(row as usize).copied().unwrap_or_default()
    }

    /// The partner whose team `member` belongs to now (a partner leads its own).
    pub fn team_leader(&self, member: Member) -> Option<Member> {
        let mut at = member;
        loop {
            match Walk::decode(self.walk[at as usize]).unwrap_or_else(|| Walk::of(&self.members[at as usize])) {
                Walk::Leads => return Some(at),
                Walk::Fixed(leader) => return leader,
                Walk::Up(inviter) => at = inviter?,
            }
        }
    }

    /// Writes `member`'s walk step after its place changed.
    fn refresh_walk(&mut self, member: Member) {
        self.walk[member as usize] = Walk::of(&self.members[member as usize]).encode();
    }

    /// The member named `name`, added when first seen.
    fn member(&mut self, name: &str) -> Member {
        let (member, new) = match &mut self.names {
            Names::Given { members, .. } => members.of(name),
            Names::Numbered => match numbered(name, 'm') {
                Some(member) if (member as usize) < self.members.len() => (member, false),
                Some(member) if member as usize == self.members.len() => (member, true),
                _ => {
                    self.intern_numbered();
                    return self.member(name);
                }
            },
        };
        if new {
            self.members.push(Place::new());
            self.walk.push(Walk::Up(None).encode());
            self.accounts.push(Account::new());
            self.earner.push(u32::MAX);
        }
        member
    }

    /// A numbered engine given a name it did not number: from now on it interns, starting with
    /// the names it numbered.
    fn intern_numbered(&mut self) {
        let mut members = Interned::default();
        for m in 0..self.members.len() {
            members.of(&format!("m{m}"));
        }
        let mut orders = Interned::default();
        for o in 0..self.orders.len() {
            orders.of(&format!("o{o}"));
        }
        self.names = Names::Given { members, orders };
    }

    /// Adds a member (a numbered engine's next number; a named engine's `m{i}`).
    pub fn add_member(&mut self) -> Member {
        let member = Member::try_from(self.members.len()).unwrap_or(Member::MAX);
        match &mut self.names {
            Names::Given { members, .. } => {
                members.of(&format!("m{member}"));
            }
            Names::Numbered => {}
        }
        self.members.push(Place::new());
        self.walk.push(Walk::Up(None).encode());
        self.accounts.push(Account::new());
        self.earner.push(u32::MAX);
        member
    }

    fn warn(&mut self, code: &'static str, message: String) {
        self.warnings.push(Warning { code, message });
    }

    /// Gives `member` a row of balances (its first reward); the row.
    #[cold]
    fn new_earner(&mut self, member: Member) -> u32 {
        let row = u32::try_from(self.balances.len()).unwrap_or(u32::MAX);
        self.earner[member as usize] = row;
        self.balances.push(Balance::default());
        row
    }

    #[inline]
    fn move_money(&mut self, order: Option<u32>, member: Member, from: Bucket, to: Bucket, amount_fen: i64) {
        if amount_fen == 0 {
            return;
        }
        let mut row = self.earner[member as usize];
        if row == u32::MAX {
            row = self.new_earner(member);
        }
        let balance = &mut self.balances[row as usize];
        for (bucket, sign) in [(from, -1), (to, 1)] {
            let slot = match bucket {
                // The replay approves a withdrawal at once: nothing waits in `Withdrawing`.
                Bucket::StorePayable | Bucket::Withdrawing => continue,
                Bucket::Pending => &mut balance.pending_fen,
                Bucket::Frozen => &mut balance.frozen_fen,
                Bucket::Available => &mut balance.available_fen,
                Bucket::PaidOut => &mut balance.withdrawn_fen,
            };
            *slot += sign * amount_fen;
        }
        if let Some(journal) = &mut self.journal {
            journal.push(Movement { order, member, from, to, amount_fen });
        }
    }

    /// Applies one event: first the clock moves to its time (never back), thawing what is due.
    pub fn apply(&mut self, event: &Event) -> Result<(), EngineError> {
        self.advance(event.at);
        match &event.kind {
            EventKind::Bind { member, inviter } => {
                let member = self.member(member);
                let inviter = inviter.as_deref().map(|name| self.member(name));
                if let Some(inviter) = inviter.filter(|&inviter| !self.refused_binds.contains(&(member, inviter))) {
                    self.bind(member, inviter);
                }
            }
            EventKind::Grant { member, identity } => {
                let member = self.member(member);
                self.grant(member, *identity);
            }
            EventKind::Paid { order, buyer, lines } => {
                let buyer = self.member(buyer);
                if self.find_order(order).is_none() {
                    self.name_order(order);
                    self.pay(buyer, &Paid::of(lines));
                }
            }
            EventKind::Completed { order } => {
                let order = self.order(order)?;
                self.complete(order);
            }
            EventKind::Refunded { order, refund, amount_fen } => {
                let index = self.order(order)?;
                if !self.refunds.contains(refund) {
                    let left_fen = self.total_left_fen(index);
                    if *amount_fen > left_fen {
                        return Err(EngineError::RefundTooLarge {
                            order: order.clone(),
                            refund: refund.clone(),
                            wanted_fen: *amount_fen,
                            left_fen,
                        });
                    }
                    self.refunds.insert(refund.clone());
                    self.refund(index, *amount_fen);
                }
            }
            EventKind::Withdraw { member, withdrawal, amount_fen } => {
                let member = self.member(member);
                if self.withdrawals.insert(withdrawal.clone()) {
                    self.withdraw(member, withdrawal, *amount_fen);
                }
            }
            EventKind::Visit { sharer, visitor } => {
                let sharer = self.member(sharer);
                let visitor = self.member(visitor);
                if sharer != visitor {
                    self.visits.entry(sharer).or_default().push_back((self.clock, visitor));
                }
            }
            EventKind::Tick => {}
        }
        Ok(())
    }

    /// Names the next order (a named engine interns it; a numbered one switches to interning
    /// when the name is not its next number).
    fn name_order(&mut self, name: &str) {
        let next = self.orders.len();
        if let Names::Numbered = self.names
            && numbered(name, 'o').map(|o| o as usize) != Some(next)
        {
            self.intern_numbered();
        }
        if let Names::Given { orders, .. } = &mut self.names {
            orders.of(name);
        }
    }

    fn order(&self, name: &str) -> Result<u32, EngineError> {
        self.find_order(name).ok_or_else(|| EngineError::UnknownOrder { order: name.to_owned() })
    }

    /// `member` binds to `inviter` at `at` (a dense call).
    pub fn bind_at(&mut self, at: Timestamp, member: Member, inviter: Member) {
        self.advance(at);
        if !self.refused_binds.contains(&(member, inviter)) {
            self.bind(member, inviter);
        }
    }

    /// The operator grants `member` an identity at `at` (a dense call).
    pub fn grant_at(&mut self, at: Timestamp, member: Member, identity: GrantIdentity) {
        self.advance(at);
        self.grant(member, identity);
    }

    /// `buyer` pays an order at `at` (a dense call): its number.
    pub fn pay_at(&mut self, at: Timestamp, buyer: Member, paid: &Paid) -> u32 {
        self.advance(at);
        if let Names::Given { orders, .. } = &mut self.names {
            orders.of(&format!("o{}", self.orders.len()));
        }
        self.pay(buyer, paid)
    }

    /// Order `order` completes at `at` (a dense call).
    pub fn complete_at(&mut self, at: Timestamp, order: u32) {
        self.advance(at);
        self.complete(order);
    }

    /// `amount_fen` of order `order` is refunded at `at` (a dense call; each call is a refund of
    /// its own).
    ///
    /// # Errors
    /// More than what is left of the order.
    pub fn refund_at(&mut self, at: Timestamp, order: u32, amount_fen: i64) -> Result<(), EngineError> {
        self.advance(at);
        let left_fen = self.total_left_fen(order);
        if amount_fen > left_fen {
            return Err(EngineError::RefundTooLarge {
                order: self.order_name(order).into_owned(),
                refund: String::new(),
                wanted_fen: amount_fen,
                left_fen,
            });
        }
        self.refund(order, amount_fen);
        Ok(())
    }

    fn grant(&mut self, member: Member, identity: GrantIdentity) {
        match identity {
            GrantIdentity::Agent => self.qualify(member, None),
            GrantIdentity::Partner => self.make_partner(member),
        }
    }

    fn refunds_of(&self, order: u32) -> Refunded {
        self.refunded
            .get(&order)
            .copied()
            .unwrap_or_else(|| Refunded { refunded_fen: 0, base_left_fen: self.orders[order as usize].base_fen })
    }

    fn total_left_fen(&self, order: u32) -> i64 {
        self.orders[order as usize].total_fen - self.refunds_of(order).refunded_fen
    }

    /// Moves the clock forward to `at` and makes available every frozen reward whose thaw time
    /// has come.
    pub fn advance(&mut self, at: Timestamp) {
        self.clock = self.clock.max(at);
        while let Some(&(thaw_at, order)) = self.thaw_queue.front() {
            if thaw_at > self.clock {
                break;
            }
            self.thaw_queue.pop_front();
            let o = &self.orders[order as usize];
            for reward in o.first_reward..o.first_reward + u32::from(o.reward_count) {
                let r = &mut self.rewards[reward as usize];
                if r.state() == RewardState::Frozen {
                    r.set_state(RewardState::Available);
                    let (member, amount) = (r.beneficiary, r.amount_fen);
                    self.move_money(Some(order), member, Bucket::Frozen, Bucket::Available, amount);
                }
            }
        }
    }

    /// Is `ancestor` on the inviter chain above `member` (or `member` itself)?
    fn is_ancestor(&self, ancestor: Member, member: Member) -> bool {
        let mut at = Some(member);
        while let Some(current) = at {
            if current == ancestor {
                return true;
            }
            at = self.members[current as usize].inviter.get();
        }
        false
    }

    fn bind(&mut self, member: Member, inviter: Member) {
        let place = &self.members[member as usize];
        let (current, has_directs) = (place.inviter.get(), place.has_directs);
        let has_paid = self.accounts[member as usize].has_paid;
        let decision = binding::decide(&member, current.as_ref(), has_paid, &inviter, || {
            (has_directs || member == inviter) && self.is_ancestor(member, inviter)
        });
        let refusal = match decision {
            Binding::Binds => {
                self.members[member as usize].inviter = Slot(inviter);
                self.members[inviter as usize].has_directs = true;
                self.refresh_walk(member);
                return;
            }
            Binding::AlreadyThere => return,
            Binding::Refused(Refusal::AlreadyBound { to }) => format!("already bound to {}", self.name(to)),
            Binding::Refused(other) => other.to_string(),
        };
        self.refused_binds.insert((member, inviter));
        let message = format!("binding {} to {} refused: {refusal}", self.name(member), self.name(inviter));
        self.warn("bind_refused", message);
    }

    /// Makes `member` an agent (its entry rule met, or granted), placing it (`chain21.md`,
    /// "Placement").
    fn qualify(&mut self, member: Member, order: Option<u32>) {
        if self.members[member as usize].identity != Identity::Member {
            return;
        }
        let first_time = !self.accounts[member as usize].ever_qualified;
        let inviter = self.members[member as usize].inviter.get();
        let link = match inviter {
            Some(x) if first_time => match self.members[x as usize].identity {
                Identity::Partner => Link::Fixed(Some(x)),
                Identity::Member => Link::Inherited,
                Identity::Agent => {
                    let count = {
                        let inviter_state = &mut self.accounts[x as usize];
                        inviter_state.qualifying_directs += 1;
                        inviter_state.qualifying_directs
                    };
                    let slide = self.rules.slide;
                    let slides = match slide.variant {
                        SlideVariant::FirstN => count <= slide.count,
                        SlideVariant::Nth => count == slide.count,
                    };
                    let link = if slides { Link::Fixed(self.team_leader(x)) } else { Link::Inherited };
                    if self.rules.upgrade.enabled && count >= self.rules.upgrade.required_directs {
                        self.make_partner(x);
                    }
                    link
                }
            },
            _ => Link::Inherited,
        };
        let place = &mut self.members[member as usize];
        place.identity = Identity::Agent;
        place.set_link(link);
        self.refresh_walk(member);
        let state = &mut self.accounts[member as usize];
        state.ever_qualified = true;
        state.qualifying_order = order.into();
    }

    /// Promotion or a grant: a partner detaches from the team it had.
    fn make_partner(&mut self, member: Member) {
        if self.members[member as usize].identity == Identity::Partner {
            return;
        }
        let origin = self.team_leader(member);
        let place = &mut self.members[member as usize];
        place.origin_leader = origin.into();
        place.identity = Identity::Partner;
        self.refresh_walk(member);
        self.accounts[member as usize].ever_qualified = true;
    }

    /// The GMV of `leader`'s team over the trailing peer period ending now.
    fn team_gmv(&mut self, leader: Member) -> i64 {
        if let Some(consulted) = &mut self.consulted
            && self.rules.peer.team_gmv_threshold_fen > 0
            && !consulted.team_gmv.contains(&leader)
        {
            consulted.team_gmv.push(leader);
        }
        if let Some(&known) = self.known_gmv.get(&leader) {
            return known;
        }
        let start = self.clock.plus_days(-i64::from(self.rules.peer.period_days));
        let Some(window) = self.teams.get_mut(&leader) else { return 0 };
        while let Some(&front) = window.orders.front() {
            let order = &mut self.orders[front as usize];
            if order.paid_at > start {
                break;
            }
            order.in_window = false;
            let left = self.refunded.get(&front).map_or(order.base_fen, |r| r.base_left_fen);
            window.gmv_fen -= left;
            window.orders.pop_front();
        }
        window.gmv_fen
    }

    /// Conversion of `sharer`'s links over the trailing dynamic window, in basis points; `None`
    /// with no visitors.
    fn conversion_bp(&mut self, sharer: Member) -> Option<u32> {
        if let Some(consulted) = &mut self.consulted
            && !consulted.conversion.contains(&sharer)
        {
            consulted.conversion.push(sharer);
        }
        if let Some(&(visitors, converted)) = self.known_conversion.get(&sharer) {
            return rewards::conversion_bp(visitors, converted);
        }
        let start = self.clock.plus_days(-i64::from(self.rules.dynamic.window_days));
        let visits = self.visits.get_mut(&sharer)?;
        while visits.front().is_some_and(|&(at, _)| at <= start) {
            visits.pop_front();
        }
        let mut seen = HashSet::new();
        let mut converted = 0_u64;
        for &(_, visitor) in visits.iter() {
            if seen.insert(visitor) && self.accounts[visitor as usize].last_paid_at.get().is_some_and(|at| at > start) {
                converted += 1;
            }
        }
        rewards::conversion_bp(u64::try_from(seen.len()).ok()?, converted)
    }

    /// Who an order by `buyer` (in `leader`'s team) on `base_fen` pays, and at which rates, as
    /// the network stands.
    fn candidates(
        &mut self,
        buyer: Member,
        leader: Option<Member>,
        base_fen: i64,
        mut candidates: Vec<Candidate<Member>>,
    ) -> Vec<Candidate<Member>> {
        candidates.clear();
        let buyer_state = &self.members[buyer as usize];
        let earns = |engine: &Self, m: Member| engine.members[m as usize].identity.earns();
        let (direct_to, indirect_to) = if self.rules.self_purchase && buyer_state.identity.earns() {
            (Some(buyer), buyer_state.inviter.get())
        } else {
            let inviter = buyer_state.inviter.get();
            (inviter, inviter.and_then(|i| self.members[i as usize].inviter.get()))
        };
        let direct_to = direct_to.filter(|&d| earns(self, d));
        if let Some(d) = direct_to {
            let rate_bp = match self.identity(d) {
                Identity::Partner => self.rules.direct.partner_bp,
                _ => self.rules.direct.agent_bp,
            };
            candidates.push(Candidate { beneficiary: d, kind: Kind::Direct, generation: 1, rate_bp, of_team_bp: None });
        }
        if let Some(i) = indirect_to.filter(|&i| earns(self, i) && i != buyer) {
            candidates.push(Candidate {
                beneficiary: i,
                kind: Kind::Indirect,
                generation: 1,
                rate_bp: self.rules.indirect.bp,
                of_team_bp: None,
            });
        }
        if let Some(t) = leader {
            let (team_bp, peer) = (self.rules.team.bp, self.rules.peer);
            candidates.push(Candidate {
                beneficiary: t,
                kind: Kind::Team,
                generation: 1,
                rate_bp: team_bp,
                of_team_bp: None,
            });
            let mut above = t;
            for generation in 1..=peer.generations.min(2) {
                let Some(origin) = self.origin_leader(above) else { break };
                above = origin;
                if self.identity(origin) != Identity::Partner || origin == buyer {
                    continue;
                }
                if peer.team_gmv_threshold_fen > 0 && self.team_gmv(origin) < peer.team_gmv_threshold_fen {
                    continue;
                }
                let of_team_bp = (peer.source == PeerSource::TeamReward).then_some(team_bp);
                candidates.push(Candidate {
                    beneficiary: origin,
                    kind: Kind::Peer,
                    generation: u8::try_from(generation).unwrap_or(2),
                    rate_bp: peer.bp,
                    of_team_bp,
                });
            }
        }
        let conversion = match direct_to {
            Some(d) if !self.rules.dynamic.tiers.is_empty() => self.conversion_bp(d).map(|c| (d, c)),
            _ => None,
        };
        if let Some((d, conversion)) = conversion
            && let Some(tier) = self.rules.dynamic.tiers.iter().rev().find(|t| t.min_conversion_bp <= conversion)
        {
            candidates.push(Candidate {
                beneficiary: d,
                kind: Kind::Bonus,
                generation: 1,
                rate_bp: tier.extra_bp,
                of_team_bp: None,
            });
        }
        if !self.rules.stack_direct_and_team {
            rewards::drop_unstacked(&mut candidates, base_fen);
        }
        candidates.retain(|c| c.rate_bp > 0);
        candidates
    }

    /// The team rate a reward of `kind` was computed on: a peer reward's, when the rules pay
    /// it on the team reward.
    fn of_team_bp(&self, kind: Kind) -> Option<u32> {
        (kind == Kind::Peer && self.rules.peer.source == PeerSource::TeamReward).then_some(self.rules.team.bp)
    }

    /// The candidates order `order` was rewarded with, from its rewards' kept rates.
    fn order_candidates(&self, order: u32) -> impl Iterator<Item = Candidate<Member>> + '_ {
        let o = &self.orders[order as usize];
        self.rewards[o.first_reward as usize..(o.first_reward + u32::from(o.reward_count)) as usize].iter().map(|r| {
            Candidate {
                beneficiary: r.beneficiary,
                kind: r.kind,
                generation: r.generation(),
                rate_bp: u32::from(r.rate_bp),
                of_team_bp: self.of_team_bp(r.kind),
            }
        })
    }

    fn pay(&mut self, buyer: Member, paid: &Paid) -> u32 {
        let Paid { total_fen, base_fen, designated } = *paid;
        let leader = self.team_leader(buyer).filter(|&t| t != buyer);
        let (candidates, mut amounts) = std::mem::take(&mut self.scratch);
        let candidates = self.candidates(buyer, leader, base_fen, candidates);
        rewards::amounts_into(&candidates, base_fen, self.rules.cap.total_bp, &mut amounts);
        let order = u32::try_from(self.orders.len()).unwrap_or(u32::MAX);
        let first_reward = u32::try_from(self.rewards.len()).unwrap_or(u32::MAX);
        for (candidate, &amount_fen) in candidates.iter().zip(&amounts) {
            self.rewards.push(RewardSlot {
                amount_fen,
                beneficiary: candidate.beneficiary,
                // Rates are basis points of at most 10 000 (the rules refuse more).
                rate_bp: u16::try_from(candidate.rate_bp).unwrap_or(u16::MAX),
                kind: candidate.kind,
                phase: candidate.generation & 0x0F,
            });
            self.move_money(Some(order), candidate.beneficiary, Bucket::StorePayable, Bucket::Pending, amount_fen);
        }
        self.orders.push(OrderState {
            paid_at: self.clock,
            total_fen,
            base_fen,
            completed_at: When::NEVER,
            buyer,
            team: leader.into(),
            first_reward,
            reward_count: u8::try_from(candidates.len()).unwrap_or(u8::MAX),
            designated,
            in_window: leader.is_some() && self.rules.peer.team_gmv_threshold_fen > 0,
        });
        self.scratch = (candidates, amounts);
        // Team GMV decides nothing without a threshold (it is never negative): no window then.
        if let Some(t) = leader.filter(|_| self.rules.peer.team_gmv_threshold_fen > 0) {
            let window = self.teams.entry(t).or_default();
            window.orders.push_back(order);
            window.gmv_fen += base_fen;
        }
        let clock = self.clock;
        let state = &mut self.accounts[buyer as usize];
        state.has_paid = true;
        state.last_paid_at = When(clock.0);
        state.spend_fen += base_fen;
        // Identity changes caused by an order take effect after its rewards are computed.
        if self.rules.qualify_on == QualifyOn::Paid && self.qualifies(order, 0) {
            self.qualify(buyer, Some(order));
        }
        order
    }

    /// Does this order, `refunded_fen` of it refunded, meet the entry rule for its buyer (an
    /// order-based mode)?
    fn qualifies(&self, order: u32, refunded_fen: i64) -> bool {
        let o = &self.orders[order as usize];
        if refunded_fen >= o.total_fen && o.total_fen > 0 {
            return false;
        }
        match self.rules.entry.mode {
            EntryMode::DesignatedProduct => o.designated,
            EntryMode::CumulativeSpend => self.accounts[o.buyer as usize].spend_fen >= self.rules.entry.min_spend_fen,
            EntryMode::FreeApply => false,
        }
    }

    fn complete(&mut self, order: u32) {
        if self.orders[order as usize].completed_at != When::NEVER {
            return;
        }
        self.orders[order as usize].completed_at = When(self.clock.0);
        let thaw_at = self.clock.plus_days(i64::from(self.rules.settle.after_sale_days));
        let o = &self.orders[order as usize];
        let mut frozen = false;
        for reward in o.first_reward..o.first_reward + u32::from(o.reward_count) {
            let r = &mut self.rewards[reward as usize];
            if r.state() == RewardState::Pending {
                r.set_state(RewardState::Frozen);
                frozen = true;
                let (member, amount) = (r.beneficiary, r.amount_fen);
                self.move_money(Some(order), member, Bucket::Pending, Bucket::Frozen, amount);
            }
        }
        if frozen {
            debug_assert!(self.thaw_queue.back().is_none_or(|&(last, _)| last <= thaw_at));
            self.thaw_queue.push_back((thaw_at, order));
        }
        // A thaw time of zero days is due at once.
        self.advance(self.clock);
        if self.rules.qualify_on == QualifyOn::Completed && self.qualifies(order, self.refunds_of(order).refunded_fen) {
            let buyer = self.orders[order as usize].buyer;
            self.qualify(buyer, Some(order));
        }
    }

    fn refund(&mut self, order: u32, amount_fen: i64) {
        let before = self.refunds_of(order);
        let o = &self.orders[order as usize];
        let refunded_fen = before.refunded_fen + amount_fen;
        let left_total = o.total_fen - refunded_fen;
        let base_left = settle::base_left(o.base_fen, o.total_fen, left_total);
        let taken = before.base_left_fen - base_left;
        self.refunded.insert(order, Refunded { refunded_fen, base_left_fen: base_left });
        let (buyer, team, in_window, completed) = (o.buyer, o.team.get(), o.in_window, o.completed_at != When::NEVER);
        if in_window && let Some(window) = team.and_then(|t| self.teams.get_mut(&t)) {
            window.gmv_fen -= taken;
        }
        self.accounts[buyer as usize].spend_fen -= taken;
        let candidates: Vec<Candidate<Member>> = self.order_candidates(order).collect();
        let amounts = rewards::amounts(&candidates, base_left, self.rules.cap.total_bp);
        let o = &self.orders[order as usize];
        let first = o.first_reward;
        let current = (first..first + u32::from(o.reward_count)).map(|r| {
            let r = &self.rewards[r as usize];
            (r.amount_fen, r.state())
        });
        for step in settle::cuts(current, amounts) {
            let reward = first + u32::try_from(step.reward).unwrap_or(u32::MAX);
            let r = &mut self.rewards[reward as usize];
            r.amount_fen -= step.amount_fen;
            let cut = self.cuts.entry(reward).or_insert((0, 0));
            if r.state() == RewardState::Available {
                cut.1 += step.amount_fen;
            } else {
                cut.0 += step.amount_fen;
            }
            let member = r.beneficiary;
            self.move_money(Some(order), member, step.from, step.to, step.amount_fen);
        }
        let fully_refunded = left_total == 0;
        if fully_refunded && !completed && self.rules.qualify_on == QualifyOn::Paid {
            let (place, state) = (&mut self.members[buyer as usize], &mut self.accounts[buyer as usize]);
            if place.identity == Identity::Agent && state.qualifying_order == Slot(order) {
                place.identity = Identity::Member;
                place.set_link(Link::Inherited);
                state.qualifying_order = Slot::NONE;
                self.refresh_walk(buyer);
                let message = format!(
                    "{}'s agent identity revoked: its qualifying order {} was refunded in full",
                    self.name(buyer),
                    self.order_name(order)
                );
                self.warn("qualification_revoked", message);
            }
        }
    }

    fn withdraw(&mut self, member: Member, withdrawal: &str, amount_fen: i64) {
        let available = self.balance(member).available_fen;
        if available >= amount_fen {
            self.move_money(None, member, Bucket::Available, Bucket::PaidOut, amount_fen);
        } else {
            let message = format!(
                "withdrawal {withdrawal} of {amount_fen} fen by {} refused: {available} fen available",
                self.name(member)
            );
            self.warn("withdraw_refused", message);
        }
    }

    /// The state as the replay prints it: members in first-seen order, the ledger in posting
    /// order, balances, and warnings (the rules' compliance findings first).
    pub fn report(&self) -> Report<'_> {
        Report { engine: self }
    }
}

/// One step of the team-leader walk at a member: a partner leads its own team, an agent whose
/// link is fixed names its leader, anyone else goes up to its inviter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Walk {
    Leads,
    Fixed(Option<Member>),
    Up(Option<Member>),
}

impl Walk {
    const TAG: u32 = 0b11 << 30;
    const LEADS: u32 = 1 << 30;
    const FIXED: u32 = 2 << 30;
    /// A step that does not fit (a member index of 2³⁰ − 1 or more): read from the place.
    const SLOW: u32 = 3 << 30;
    const NO_ONE: u32 = !Self::TAG;

    fn of(place: &Place) -> Walk {
        match place.identity {
            Identity::Partner => Walk::Leads,
            Identity::Agent if place.fixed => Walk::Fixed(place.fixed_leader.get()),
            _ => Walk::Up(place.inviter.get()),
        }
    }

    /// The step in 30 bits of member index and 2 of kind.
    fn encode(self) -> u32 {
        let index = |m: Option<Member>| match m {
            None => Some(Self::NO_ONE),
            Some(m) if m < Self::NO_ONE => Some(m),
            Some(_) => None,
        };
        match self {
            Walk::Leads => Self::LEADS,
            Walk::Fixed(leader) => index(leader).map_or(Self::SLOW, |i| Self::FIXED | i),
            Walk::Up(inviter) => index(inviter).unwrap_or(Self::SLOW),
        }
    }

    /// `None` for a step kept as [`Walk::SLOW`].
    fn decode(code: u32) -> Option<Walk> {
        let index = code & !Self::TAG;
        let member = (index != Self::NO_ONE).then_some(index);
        match code & Self::TAG {
            0 => Some(Walk::Up(member)),
            Self::LEADS => Some(Walk::Leads),
            Self::FIXED => Some(Walk::Fixed(member)),
            _ => None,
        }
    }
}

/// The number of a name written `{prefix}{number}` the way a numbered engine writes it.
fn numbered(name: &str, prefix: char) -> Option<u32> {
    let digits = name.strip_prefix(prefix)?;
    let number = digits.parse::<u32>().ok()?;
    (number.to_string() == digits).then_some(number)
}

/// What an order paid, as the network counts it: its total, its commissionable base, and
/// whether a line is of a designated product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paid {
    pub total_fen: i64,
    pub base_fen: i64,
    pub designated: bool,
}

impl Paid {
    pub fn of(lines: &[Line]) -> Paid {
        Paid {
            total_fen: lines.iter().map(|l| l.amount_fen).sum(),
            base_fen: lines.iter().filter(|l| l.commissionable).map(|l| l.amount_fen).sum(),
            designated: lines.iter().any(|l| l.designated),
        }
    }
}

/// Serializes an [`Engine`] as `tandem chain21 replay` prints it.
pub struct Report<'a> {
    engine: &'a Engine,
}

impl Serialize for Report<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let engine = self.engine;
        let mut map = serializer.serialize_map(Some(4))?;
        map.serialize_entry("members", &Members(engine))?;
        map.serialize_entry("ledger", &Ledger(engine))?;
        map.serialize_entry("balances", &Balances(engine))?;
        let mut warnings: Vec<Warning> = engine
            .rules
            .compliance()
            .into_iter()
            .map(|f| Warning { code: f.code, message: format!("{}: {}", f.risk, f.reference) })
            .collect();
        warnings.extend(engine.warnings.iter().cloned());
        map.serialize_entry("warnings", &warnings)?;
        map.end()
    }
}

struct Members<'a>(&'a Engine);
struct Ledger<'a>(&'a Engine);
struct Balances<'a>(&'a Engine);

#[derive(Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
struct MemberRow<'a> {
    identity: &'static str,
    inviter: Option<Cow<'a, str>>,
    team_leader: Option<Cow<'a, str>>,
    origin_leader: Option<Cow<'a, str>>,
    qualifying_directs: u32,
}

#[derive(Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
struct LedgerRow<'a> {
    order: Cow<'a, str>,
    beneficiary: Cow<'a, str>,
    kind: &'static str,
    generation: u8,
    amount_fen: i64,
    state: RewardState,
    voided_fen: i64,
    clawback_fen: i64,
}

impl Serialize for Members<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let engine = self.0;
        let name = |m: Option<Member>| m.map(|m| engine.name(m));
        serializer.collect_map((0..engine.members.len()).map(|i| {
            let m = Member::try_from(i).unwrap_or(Member::MAX);
            let state = &engine.members[i];
            let row = MemberRow {
                identity: state.identity.as_str(),
                inviter: name(state.inviter.get()),
                team_leader: name(engine.team_leader(m)),
                origin_leader: name(state.origin_leader.get()),
                qualifying_directs: engine.accounts[i].qualifying_directs,
            };
            (engine.name(m), row)
        }))
    }
}

impl Serialize for Ledger<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let engine = self.0;
        serializer.collect_seq(engine.rewards().iter().map(|r| LedgerRow {
            order: engine.order_name(r.order),
            beneficiary: engine.name(r.beneficiary),
            kind: r.kind.as_str(),
            generation: r.generation,
            amount_fen: r.amount_fen,
            state: r.state,
            voided_fen: r.voided_fen,
            clawback_fen: r.clawback_fen,
        }))
    }
}

impl Serialize for Balances<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let engine = self.0;
        serializer.collect_map((0..engine.members.len()).map(|i| {
            let m = Member::try_from(i).unwrap_or(Member::MAX);
            (engine.name(m), engine.balance(m))
        }))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::chain21::replay;

    const WORKED: &str = include_str!("examples/worked-example.jsonl");

    fn report(engine: &Engine) -> Value {
        serde_json::to_value(engine.report()).unwrap()
    }

    /// The ledger as (order, beneficiary, kind, generation, amount, voided) tuples.
    fn rows(engine: &Engine) -> Vec<(String, String, &'static str, u8, i64, i64)> {
        engine
            .rewards()
            .iter()
            .map(|r| {
                let order = engine.order_name(r.order).into_owned();
                (
                    order,
                    engine.name(r.beneficiary).into_owned(),
                    r.kind.as_str(),
                    r.generation,
                    r.amount_fen,
                    r.voided_fen,
                )
            })
            .collect()
    }

    fn row(
        order: &str,
        who: &str,
        kind: &'static str,
        amount: i64,
        voided: i64,
    ) -> (String, String, &'static str, u8, i64, i64) {
        (order.to_owned(), who.to_owned(), kind, 1, amount, voided)
    }

    /// Events written compactly: `at` is minutes after a fixed start.
    struct Script {
        events: Vec<Event>,
    }

    const START: Timestamp = Timestamp(1_790_000_000_000);

    impl Script {
        fn new() -> Self {
            Script { events: Vec::new() }
        }
        fn at(&mut self, minutes: i64, kind: EventKind) -> &mut Self {
            self.events.push(Event { at: START.plus_minutes(minutes), kind });
            self
        }
        fn bind(&mut self, minutes: i64, member: &str, inviter: &str) -> &mut Self {
            self.at(minutes, EventKind::Bind { member: member.into(), inviter: Some(inviter.into()) })
        }
        fn grant(&mut self, minutes: i64, member: &str, identity: GrantIdentity) -> &mut Self {
            self.at(minutes, EventKind::Grant { member: member.into(), identity })
        }
        fn paid(&mut self, minutes: i64, order: &str, buyer: &str, amount_fen: i64, designated: bool) -> &mut Self {
            let lines = vec![Line { sku: "SKU".into(), amount_fen, designated, commissionable: true }];
            self.at(minutes, EventKind::Paid { order: order.into(), buyer: buyer.into(), lines })
        }
        fn completed(&mut self, minutes: i64, order: &str) -> &mut Self {
            self.at(minutes, EventKind::Completed { order: order.into() })
        }
        fn refunded(&mut self, minutes: i64, order: &str, refund: &str, amount_fen: i64) -> &mut Self {
            self.at(minutes, EventKind::Refunded { order: order.into(), refund: refund.into(), amount_fen })
        }
        fn withdraw(&mut self, minutes: i64, member: &str, id: &str, amount_fen: i64) -> &mut Self {
            self.at(minutes, EventKind::Withdraw { member: member.into(), withdrawal: id.into(), amount_fen })
        }
        fn visit(&mut self, minutes: i64, sharer: &str, visitor: &str) -> &mut Self {
            self.at(minutes, EventKind::Visit { sharer: sharer.into(), visitor: visitor.into() })
        }
        fn run(&self, rules: Rules) -> Engine {
            let mut engine = Engine::new(rules).with_journal();
            for event in &self.events {
                engine.apply(event).unwrap();
            }
            engine
        }
    }

    const DAY: i64 = 24 * 60;

    /// The byte budget of the dense state: a million members with a million orders stay under
    /// 200 bytes a member only while these records stay this small.
    #[test]
    fn the_dense_records_keep_their_sizes() {
        use std::mem::size_of;
        assert_eq!(size_of::<Place>(), 16);
        assert_eq!(size_of::<Account>(), 32);
        assert_eq!(size_of::<OrderState>(), 48);
        assert_eq!(size_of::<RewardSlot>(), 16);
        assert_eq!(size_of::<Balance>(), 32);
    }

    #[test]
    fn a_numbered_engine_names_its_members_and_orders_and_learns_other_names() {
        let mut engine = Engine::numbered(Rules::chain21(), 4, 4);
        let p = engine.add_member();
        let a = engine.add_member();
        engine.grant_at(START, p, GrantIdentity::Partner);
        engine.bind_at(START, a, p);
        let order = engine.pay_at(START, a, &Paid { total_fen: 39_900, base_fen: 39_900, designated: true });
        assert_eq!((engine.name(a).as_ref(), engine.order_name(order).as_ref()), ("m1", "o0"));
        assert_eq!((engine.find("m1"), engine.find("m01"), engine.find("m2")), (Some(a), None, None));
        assert_eq!(engine.identity(a), Identity::Agent);
        assert_eq!(engine.rewards().len(), 2, "direct and team to the partner");
        // A named event on a numbered engine: it interns from then on, keeping the numbers.
        let kind = EventKind::Bind { member: "Zoe".into(), inviter: Some("m1".into()) };
        engine.apply(&Event { at: START, kind }).unwrap();
        assert_eq!((engine.find("Zoe"), engine.find("m1")), (Some(2), Some(a)));
        assert_eq!(engine.inviter(2), Some(a));
        engine.complete_at(START.plus_days(1), order);
        engine.advance(START.plus_days(30));
        assert!(engine.rewards().iter().all(|r| r.state == RewardState::Available && r.thaw_at.is_some()));
        assert_eq!(engine.balance(p).available_fen, engine.rewards().total_fen());
    }

    #[test]
    fn the_worked_example_step_by_step() {
        let engine = replay(Rules::chain21(), WORKED).unwrap();
        assert_eq!(
            rows(&engine),
            [
                row("o1", "P", "direct", 5_985, 0),
                row("o1", "P", "team", 3_990, 0),
                row("o2", "A", "direct", 3_990, 0),
                row("o2", "P", "indirect", 1_995, 0),
                row("o2", "P", "team", 3_990, 0),
                row("o3", "A", "direct", 3_990, 0),
                row("o3", "P", "indirect", 1_995, 0),
                row("o3", "P", "team", 3_990, 0),
                row("o4", "A", "direct", 0, 5_985),
                row("o4", "P", "indirect", 0, 1_995),
                row("o4", "A", "team", 0, 3_990),
                row("o4", "P", "peer", 0, 399),
                row("o5", "B", "direct", 1_000, 0),
                row("o5", "A", "indirect", 500, 0),
                row("o5", "P", "team", 1_000, 0),
            ]
        );
        let doc = report(&engine);
        let members = &doc["members"];
        let text = serde_json::to_string(&engine.report()).unwrap();
        let position = |name: &str| text.find(&format!("\"{name}\":{{\"identity\"")).unwrap();
        let positions: Vec<usize> = ["P", "A", "B", "C", "D", "E"].into_iter().map(position).collect();
        assert!(positions.is_sorted(), "members in first-seen order: {positions:?}");
        assert_eq!(
            members["A"],
            json!({"identity": "partner", "inviter": "P", "team_leader": "A", "origin_leader": "P", "qualifying_directs": 2})
        );
        assert_eq!(members["B"]["team_leader"], "P", "B slid");
        assert_eq!(members["C"]["team_leader"], "P", "C slid");
        assert_eq!(members["D"]["identity"], "member", "D's qualification was revoked");
        assert_eq!(members["D"]["team_leader"], "A");
        assert_eq!(members["E"]["identity"], "member");
        assert_eq!(members["E"]["team_leader"], "P");
        assert_eq!(members["P"]["identity"], "partner");
        assert_eq!(doc["balances"]["P"]["pending_fen"], 5_985 + 3_990 * 3 + 1_995 * 2 + 1_000);
        assert_eq!(doc["balances"]["A"]["pending_fen"], 3_990 * 2 + 500);
        assert_eq!(doc["ledger"][11]["state"], "pending");
        let codes: Vec<&str> =
            doc["warnings"].as_array().unwrap().iter().map(|w| w["code"].as_str().unwrap()).collect();
        assert_eq!(
            codes,
            ["entry_fee", "head_count", "team_pay", "multi_level", "detachment_peer", "qualification_revoked"]
        );
    }

    #[test]
    fn the_worked_example_before_the_refund_and_with_the_lower_cap() {
        let without_refund: String = WORKED.lines().take(11).flat_map(|l| [l, "\n"]).collect();
        let engine = replay(Rules::chain21(), &without_refund).unwrap();
        let step4: Vec<_> = rows(&engine).into_iter().filter(|r| r.0 == "o4").collect();
        assert_eq!(
            step4,
            [
                row("o4", "A", "direct", 5_985, 0),
                row("o4", "P", "indirect", 1_995, 0),
                row("o4", "A", "team", 3_990, 0),
                row("o4", "P", "peer", 399, 0),
            ]
        );
        assert_eq!(report(&engine)["members"]["D"]["identity"], "agent");
        let capped = Rules::from_toml(include_str!("examples/cap-2500.toml")).unwrap();
        let engine = replay(capped, &without_refund).unwrap();
        let step4: Vec<_> = rows(&engine).into_iter().filter(|r| r.0 == "o4").map(|r| (r.1, r.2, r.4)).collect();
        assert_eq!(
            step4,
            [
                ("A".to_owned(), "direct", 5_985),
                ("P".to_owned(), "indirect", 1_995),
                ("A".to_owned(), "team", 1_995),
                ("P".to_owned(), "peer", 0),
            ]
        );
        assert_eq!(step4.iter().map(|r| r.2).sum::<i64>(), 9_975);
    }

    #[test]
    fn an_engine_restored_from_records_rewards_like_the_whole_one() {
        let without_refund: String = WORKED.lines().take(7).flat_map(|l| [l, "\n"]).collect();
        let whole = replay(Rules::chain21(), &without_refund).unwrap();
        let records: Vec<MemberRecord> = ["P", "A"].iter().map(|n| whole.record(whole.find(n).unwrap())).collect();
        let mut part = Engine::restore(Rules::chain21(), START, &records, &[], &[]);
        let lines = vec![Line { sku: "GIFT".into(), amount_fen: 39_900, designated: true, commissionable: true }];
        part.apply(&Event { at: START, kind: EventKind::Bind { member: "D".into(), inviter: Some("A".into()) } })
            .unwrap();
        part.apply(&Event { at: START, kind: EventKind::Paid { order: "o4".into(), buyer: "D".into(), lines } })
            .unwrap();
        let got: Vec<_> = rows(&part).into_iter().map(|r| (r.1, r.2, r.4)).collect();
        assert_eq!(
            got,
            [
                ("A".to_owned(), "direct", 5_985),
                ("P".to_owned(), "indirect", 1_995),
                ("A".to_owned(), "team", 3_990),
                ("P".to_owned(), "peer", 399)
            ]
        );
        let d = part.record(part.find("D").unwrap());
        assert_eq!((d.identity, d.fixed, d.fixed_leader.as_deref()), (Identity::Agent, true, Some("A")));
        let mut threshold = Rules::chain21();
        threshold.peer.team_gmv_threshold_fen = 1;
        let low = Engine::restore(threshold, START, &records, &[("P".into(), 0)], &[]);
        assert_eq!(low.record(0).id, "P");
    }

    #[test]
    fn the_same_events_give_byte_identical_output() {
        let first = serde_json::to_string(&replay(Rules::chain21(), WORKED).unwrap().report()).unwrap();
        let second = serde_json::to_string(&replay(Rules::chain21(), WORKED).unwrap().report()).unwrap();
        assert_eq!(first, second);
    }

    #[test]
    fn rewards_freeze_thaw_and_can_be_withdrawn() {
        let mut script = Script::new();
        script
            .grant(0, "P", GrantIdentity::Partner)
            .bind(1, "A", "P")
            .paid(2, "o1", "A", 10_000, true)
            .completed(DAY, "o1")
            .withdraw(DAY + 1, "P", "w0", 100)
            .at(8 * DAY - 1, EventKind::Tick);
        let engine = script.run(Rules::chain21());
        let p = engine.find("P").unwrap();
        assert_eq!(engine.balance(p), Balance { frozen_fen: 2_500, ..Balance::default() });
        assert_eq!(engine.rewards().get(0).unwrap().thaw_at, Some(START.plus_minutes(DAY).plus_days(7)));
        assert_eq!(engine.warnings()[0].code, "withdraw_refused");
        script.at(8 * DAY, EventKind::Tick).withdraw(8 * DAY + 1, "P", "w1", 1_000).withdraw(
            8 * DAY + 2,
            "P",
            "w1",
            1_000,
        );
        let engine = script.run(Rules::chain21());
        assert_eq!(engine.balance(p), Balance { available_fen: 1_500, withdrawn_fen: 1_000, ..Balance::default() });
        assert!(engine.rewards().iter().all(|r| r.state == RewardState::Available));
    }

    #[test]
    fn a_refund_after_availability_claws_back_and_a_negative_balance_blocks_withdrawals() {
        let mut script = Script::new();
        script
            .grant(0, "P", GrantIdentity::Partner)
            .bind(1, "A", "P")
            .paid(2, "o1", "A", 10_000, true)
            .completed(3, "o1")
            .at(8 * DAY, EventKind::Tick)
            .withdraw(8 * DAY, "P", "w1", 2_500)
            .refunded(9 * DAY, "o1", "r1", 4_000);
        let engine = script.run(Rules::chain21());
        let p = engine.find("P").unwrap();
        // 6000 left: direct 900 + team 600 = 1500; 1000 is clawed back from what was withdrawn.
        assert_eq!(engine.balance(p), Balance { available_fen: -1_000, withdrawn_fen: 2_500, ..Balance::default() });
        assert_eq!(
            (engine.rewards().get(0).unwrap().clawback_fen, engine.rewards().get(1).unwrap().clawback_fen),
            (600, 400)
        );
        assert_eq!(engine.identity(engine.find("A").unwrap()), Identity::Agent, "completed: not revoked");
        script.withdraw(9 * DAY, "P", "w2", 1);
        let engine = script.run(Rules::chain21());
        assert_eq!(engine.warnings().last().unwrap().code, "withdraw_refused");
    }

    #[test]
    fn a_refund_larger_than_what_is_left_is_an_error_and_repeats_are_no_ops() {
        let mut script = Script::new();
        script.paid(0, "o1", "A", 10_000, false).refunded(1, "o1", "r1", 6_000).refunded(2, "o1", "r1", 6_000);
        let mut engine = script.run(Rules::chain21());
        let error = engine
            .apply(&Event {
                at: START.plus_minutes(3),
                kind: EventKind::Refunded { order: "o1".into(), refund: "r2".into(), amount_fen: 4_001 },
            })
            .unwrap_err();
        assert!(matches!(error, EngineError::RefundTooLarge { left_fen: 4_000, .. }), "{error}");
        let unknown = engine.apply(&Event { at: START, kind: EventKind::Completed { order: "o9".into() } });
        assert!(matches!(unknown, Err(EngineError::UnknownOrder { .. })));
    }

    #[test]
    fn binding_first_wins_and_refuses_self_cycles_and_paid_members() {
        let mut script = Script::new();
        script
            .bind(0, "A", "P")
            .bind(1, "A", "Q")
            .bind(2, "P", "P")
            .bind(3, "P", "A")
            .paid(4, "o1", "B", 100, false)
            .bind(5, "B", "A")
            .bind(6, "A", "P");
        let engine = script.run(Rules::chain21());
        let doc = report(&engine);
        assert_eq!(doc["members"]["A"]["inviter"], "P");
        assert_eq!(doc["members"]["P"]["inviter"], Value::Null);
        assert_eq!(doc["members"]["B"]["inviter"], Value::Null);
        let refused: Vec<&str> =
            engine.warnings().iter().filter(|w| w.code == "bind_refused").map(|w| w.message.as_str()).collect();
        assert_eq!(refused.len(), 4, "{refused:?}");
        assert!(refused[0].contains("already bound") && refused[1].contains("itself"));
        assert!(refused[2].contains("cycle") && refused[3].contains("paid"));
    }

    /// P partner; A under P; `directs` of A each buy the designated product.
    fn line_of_a(directs: &[&str]) -> Script {
        let mut script = Script::new();
        script.grant(0, "P", GrantIdentity::Partner).bind(1, "A", "P").paid(2, "oA", "A", 10_000, true);
        for (i, name) in directs.iter().enumerate() {
            let minutes = 10 * (i64::try_from(i).unwrap() + 1);
            script.bind(minutes, name, "A").paid(minutes + 1, &format!("o{name}"), name, 10_000, true);
        }
        script
    }

    #[test]
    fn nth_slides_only_the_nth_and_promotion_moves_the_rest_of_the_line() {
        let mut rules = Rules::chain21();
        rules.slide.variant = SlideVariant::Nth;
        rules.upgrade.required_directs = 3;
        let mut script = line_of_a(&["B", "C"]);
        script.bind(100, "X", "B").paid(101, "oX", "X", 10_000, true);
        let engine = script.run(rules.clone());
        let leader = |e: &Engine, n: &str| e.team_leader(e.find(n).unwrap()).map(|m| e.name(m).into_owned());
        assert_eq!(leader(&engine, "B").as_deref(), Some("P"), "B stays in A's line, under A's leader for now");
        assert_eq!(leader(&engine, "C").as_deref(), Some("P"), "C, the 2nd, slides");
        assert_eq!(leader(&engine, "X").as_deref(), Some("P"));
        script.bind(200, "D", "A").paid(201, "oD", "D", 10_000, true);
        let engine = script.run(rules);
        assert_eq!(engine.identity(engine.find("A").unwrap()), Identity::Partner);
        assert_eq!(leader(&engine, "B").as_deref(), Some("A"), "B moves into A's team");
        assert_eq!(leader(&engine, "X").as_deref(), Some("A"), "and so does the line below B");
        assert_eq!(leader(&engine, "C").as_deref(), Some("P"), "C slid for good");
        assert_eq!(leader(&engine, "D").as_deref(), Some("A"), "D, the 3rd, stayed in A's line: now A's team");
    }

    /// `chain21.md`: members that slid stay in the old leader's team for good, also when the member
    /// they slid from stood in another agent's `nth` line; that agent's promotion moves only
    /// members reached through links that did not slide.
    #[test]
    fn members_that_slid_from_inside_an_nth_line_stay_when_its_agent_is_promoted() {
        let mut rules = Rules::chain21();
        rules.slide.variant = SlideVariant::Nth;
        rules.upgrade.required_directs = 3;
        // B (A's 1st) stays in A's line; C (A's 2nd) slides. Inside B's line: X (B's 1st) stays,
        // Y (B's 2nd) slides to B's leader, P.
        let mut script = line_of_a(&["B", "C"]);
        script.bind(100, "X", "B").paid(101, "oX", "X", 10_000, true);
        script.bind(110, "Y", "B").paid(111, "oY", "Y", 10_000, true);
        script.bind(200, "D", "A").paid(201, "oD", "D", 10_000, true);
        let engine = script.run(rules);
        let leader = |n: &str| engine.team_leader(engine.find(n).unwrap()).map(|m| engine.name(m).into_owned());
        assert_eq!(engine.identity(engine.find("A").unwrap()), Identity::Partner);
        assert_eq!(leader("B").as_deref(), Some("A"), "B was in A's line");
        assert_eq!(leader("X").as_deref(), Some("A"), "X is reached from A through links that did not slide");
        assert_eq!(leader("Y").as_deref(), Some("P"), "Y slid from B's line and stays with P for good");
        assert_eq!(leader("C").as_deref(), Some("P"));
    }

    /// `chain21.md`: a member's own visits to its links are not counted in its conversion.
    #[test]
    fn a_members_own_visits_do_not_count_toward_its_conversion() {
        let mut rules = Rules::chain21();
        rules.dynamic.tiers = vec![super::super::rules::Tier { min_conversion_bp: 5_000, extra_bp: 300 }];
        let mut script = line_of_a(&[]);
        // A opens its own link three times; V1 and V2 visit; V1 pays. Counting A's own visits
        // would give 1 of 3 (below the tier); without them it is 1 of 2 = 5000 bp.
        script.visit(20, "A", "A").visit(21, "A", "A").visit(22, "A", "V1").visit(23, "A", "V2").visit(24, "A", "A");
        script.bind(25, "V1", "A").paid(26, "o1", "V1", 10_000, false);
        script.bind(27, "V2", "A").paid(28, "o2", "V2", 10_000, false);
        let engine = script.run(rules);
        let bonuses: Vec<_> = rows(&engine).into_iter().filter(|r| r.2 == "bonus").map(|r| (r.0, r.1, r.4)).collect();
        assert_eq!(bonuses, [("o2".to_owned(), "A".to_owned(), 300)]);
    }

    #[test]
    fn first_n_beyond_the_count_stays_in_the_line_until_promotion() {
        let mut rules = Rules::chain21();
        rules.upgrade.required_directs = 3;
        let engine = line_of_a(&["B", "C", "D"]).run(rules);
        let leader = |n: &str| engine.team_leader(engine.find(n).unwrap()).map(|m| engine.name(m).into_owned());
        assert_eq!((leader("B"), leader("C")), (Some("P".to_owned()), Some("P".to_owned())));
        assert_eq!(leader("D").as_deref(), Some("A"), "the third did not slide; A's promotion took it along");
        assert_eq!(engine.qualifying_directs(engine.find("A").unwrap()), 3);
    }

    #[test]
    fn directs_that_qualify_while_the_inviter_is_a_member_do_not_count() {
        let mut script = Script::new();
        script
            .grant(0, "P", GrantIdentity::Partner)
            .bind(1, "A", "P")
            .bind(2, "B", "A")
            .paid(3, "oB", "B", 10_000, true)
            .paid(4, "oA", "A", 10_000, true)
            .bind(5, "C", "A")
            .paid(6, "oC", "C", 10_000, true);
        let engine = script.run(Rules::chain21());
        let a = engine.find("A").unwrap();
        assert_eq!((engine.identity(a), engine.qualifying_directs(a)), (Identity::Agent, 1));
        // B's order: A was a member, so no direct; P, a partner, is the indirect and, through A,
        // the team leader.
        let b_rows: Vec<_> = rows(&engine).into_iter().filter(|r| r.0 == "oB").map(|r| (r.1, r.2)).collect();
        assert_eq!(b_rows, [("P".to_owned(), "indirect"), ("P".to_owned(), "team")]);
    }

    #[test]
    fn a_revoked_member_that_qualifies_again_neither_counts_nor_slides() {
        let mut rules = Rules::chain21();
        rules.upgrade.required_directs = 3;
        let mut script = line_of_a(&["B"]);
        script.refunded(20, "oB", "rB", 10_000).paid(30, "oB2", "B", 10_000, true);
        let engine = script.run(rules);
        let (a, b) = (engine.find("A").unwrap(), engine.find("B").unwrap());
        assert_eq!(engine.qualifying_directs(a), 1, "not reduced by the revocation, not raised by the return");
        assert_eq!(engine.identity(b), Identity::Agent);
        assert_eq!(engine.team_leader(b), engine.team_leader(a), "inherited, not slid");
    }

    #[test]
    fn self_purchase_pays_the_buyer_direct_and_its_inviter_indirect() {
        let mut rules = Rules::chain21();
        rules.self_purchase = true;
        let mut script = line_of_a(&[]);
        script.paid(50, "o2", "A", 10_000, false);
        let engine = script.run(rules);
        let o2: Vec<_> = rows(&engine).into_iter().filter(|r| r.0 == "o2").map(|r| (r.1, r.2, r.4)).collect();
        assert_eq!(
            o2,
            [("A".to_owned(), "direct", 1_000), ("P".to_owned(), "indirect", 500), ("P".to_owned(), "team", 1_000)]
        );
        let engine = line_of_a(&[]).run(Rules::chain21());
        assert!(engine.rewards().iter().all(|r| engine.name(r.beneficiary) != "A"), "never from its own order");
    }

    #[test]
    fn unstacked_direct_and_team_pays_the_larger_and_peer_keeps_its_source() {
        let mut rules = Rules::chain21();
        rules.stack_direct_and_team = false;
        let engine = Script::new()
            .grant(0, "P", GrantIdentity::Partner)
            .bind(1, "A", "P")
            .paid(2, "o1", "A", 10_000, true)
            .run(rules.clone());
        assert_eq!(rows(&engine), [row("o1", "P", "direct", 1_500, 0)]);
        let engine = line_of_a(&["B", "C", "D"]).run(rules);
        let o_d: Vec<_> = rows(&engine).into_iter().filter(|r| r.0 == "oD").map(|r| (r.1, r.2, r.4)).collect();
        assert_eq!(
            o_d,
            [("A".to_owned(), "direct", 1_500), ("P".to_owned(), "indirect", 500), ("P".to_owned(), "peer", 100)]
        );
    }

    #[test]
    fn peer_needs_the_team_gmv_threshold_over_its_period_and_reaches_two_generations() {
        let mut rules = Rules::chain21();
        rules.peer.team_gmv_threshold_fen = 30_000;
        rules.peer.generations = 2;
        rules.cap.total_bp = 10_000;
        // R partner; P under R promoted by grant; A under P promoted; D buys in A's team.
        let mut script = Script::new();
        script
            .grant(0, "R", GrantIdentity::Partner)
            .bind(1, "P", "R")
            .paid(2, "oP", "P", 10_000, true)
            .grant(3, "P", GrantIdentity::Partner)
            .bind(4, "A", "P")
            .paid(5, "oA", "A", 10_000, true)
            .grant(6, "A", GrantIdentity::Partner)
            .bind(7, "D", "A")
            .paid(8, "oD", "D", 10_000, false);
        let engine = script.run(rules.clone());
        // P's team GMV: A's 10000 (A bought while in P's team); R's: P's 10000. Both below.
        assert!(engine.rewards().iter().all(|r| r.kind != Kind::Peer));
        script
            .bind(10, "Y", "R")
            .paid(11, "oY", "Y", 30_000, false)
            .bind(12, "Z", "P")
            .paid(13, "oZ", "Z", 20_000, false)
            .paid(14, "oD2", "D", 10_000, false);
        let engine = script.run(rules.clone());
        let peers: Vec<_> =
            rows(&engine).into_iter().filter(|r| r.0 == "oD2" && r.2 == "peer").map(|r| (r.1, r.3, r.4)).collect();
        assert_eq!(peers, [("P".to_owned(), 1, 100), ("R".to_owned(), 2, 100)]);
        // 31 days later the window is empty again.
        script.paid(31 * DAY, "oD3", "D", 10_000, false);
        let engine = script.run(rules);
        assert!(!rows(&engine).iter().any(|r| r.0 == "oD3" && r.2 == "peer"));
    }

    #[test]
    fn the_cap_cuts_the_farther_peer_generation_first() {
        let mut rules = Rules::chain21();
        rules.peer.generations = 2;
        // R partner ← P partner ← A partner ← D buys 10000: direct A 1500, indirect P 500, team A
        // 1000, peer P 100 (generation 1), peer R 100 (generation 2) = 3200; a cap of 3150 cuts 50
        // from R.
        rules.cap.total_bp = 3_150;
        let mut script = Script::new();
        script
            .grant(0, "R", GrantIdentity::Partner)
            .bind(1, "P", "R")
            .paid(2, "oP", "P", 10_000, true)
            .grant(3, "P", GrantIdentity::Partner)
            .bind(4, "A", "P")
            .paid(5, "oA", "A", 10_000, true)
            .grant(6, "A", GrantIdentity::Partner)
            .bind(7, "D", "A")
            .paid(8, "oD", "D", 10_000, false);
        let engine = script.run(rules);
        let peers: Vec<_> =
            rows(&engine).into_iter().filter(|r| r.0 == "oD" && r.2 == "peer").map(|r| (r.1, r.3, r.4)).collect();
        assert_eq!(peers, [("P".to_owned(), 1, 100), ("R".to_owned(), 2, 50)]);
    }

    #[test]
    fn the_dynamic_bonus_follows_the_conversion_of_the_direct_beneficiarys_links() {
        let mut rules = Rules::chain21();
        rules.dynamic.tiers = vec![
            super::super::rules::Tier { min_conversion_bp: 2_000, extra_bp: 100 },
            super::super::rules::Tier { min_conversion_bp: 5_000, extra_bp: 300 },
        ];
        let mut script = line_of_a(&[]);
        script.visit(20, "A", "V1").visit(21, "A", "V2").visit(21, "A", "V2").visit(22, "A", "V3");
        script.bind(23, "V1", "A").paid(24, "o1", "V1", 10_000, false);
        // Before o1: 0 of 3 converted, no bonus. Before o2: 1 of 3 = 3333 bp, the first tier.
        script.bind(25, "V2", "A").paid(26, "o2", "V2", 10_000, false);
        script.bind(27, "V3", "A").paid(28, "o3", "V3", 10_000, false);
        let engine = script.run(rules);
        let bonuses: Vec<_> = rows(&engine).into_iter().filter(|r| r.2 == "bonus").map(|r| (r.0, r.1, r.4)).collect();
        assert_eq!(bonuses, [("o2".to_owned(), "A".to_owned(), 100), ("o3".to_owned(), "A".to_owned(), 300)]);
    }

    #[test]
    fn cumulative_spend_and_qualify_on_completed() {
        let mut rules = Rules::chain21();
        rules.entry = super::super::rules::Entry { mode: EntryMode::CumulativeSpend, min_spend_fen: 15_000 };
        rules.qualify_on = QualifyOn::Completed;
        let mut script = Script::new();
        script.paid(0, "o1", "A", 10_000, false).paid(1, "o2", "A", 10_000, false).completed(2, "o1");
        let engine = script.run(rules.clone());
        assert_eq!(engine.identity(0), Identity::Agent, "20000 paid by the time o1 completes");
        let mut partly = Script::new();
        partly.paid(0, "o1", "A", 10_000, false).paid(1, "o2", "A", 10_000, false).refunded(2, "o2", "r", 6_000);
        partly.completed(3, "o1");
        assert_eq!(partly.run(rules).identity(0), Identity::Member, "14000 after the refund");
    }

    #[test]
    fn two_tier_retail_pays_two_levels_and_grants_qualify() {
        let mut script = Script::new();
        script
            .grant(0, "P", GrantIdentity::Agent)
            .bind(1, "A", "P")
            .grant(2, "A", GrantIdentity::Agent)
            .bind(3, "B", "A")
            .paid(4, "o1", "B", 10_000, true)
            .completed(5, "o1");
        let engine = script.run(Rules::two_tier_retail());
        assert_eq!(rows(&engine), [row("o1", "A", "direct", 1_000, 0), row("o1", "P", "indirect", 500, 0)]);
        assert_eq!(engine.identity(engine.find("B").unwrap()), Identity::Member, "free_apply: only a grant qualifies");
        assert!(report(&engine)["warnings"].as_array().unwrap().is_empty());
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        const NAMES: [&str; 8] = ["P", "A", "B", "C", "D", "E", "F", "G"];

        fn name() -> impl Strategy<Value = String> {
            prop::sample::select(NAMES.to_vec()).prop_map(str::to_owned)
        }

        fn order() -> impl Strategy<Value = String> {
            (0..6_u8).prop_map(|i| format!("o{i}"))
        }

        fn kind() -> impl Strategy<Value = EventKind> {
            prop_oneof![
                (name(), name()).prop_map(|(member, inviter)| EventKind::Bind { member, inviter: Some(inviter) }),
                (name(), prop::bool::weighted(0.2)).prop_map(|(member, partner)| EventKind::Grant {
                    member,
                    identity: if partner { GrantIdentity::Partner } else { GrantIdentity::Agent },
                }),
                (order(), name(), 0..50_000_i64, any::<bool>(), any::<bool>()).prop_map(
                    |(order, buyer, amount_fen, designated, commissionable)| EventKind::Paid {
                        order,
                        buyer,
                        lines: vec![
                            Line { sku: "X".into(), amount_fen, designated, commissionable },
                            Line {
                                sku: "Y".into(),
                                amount_fen: amount_fen / 3,
                                designated: false,
                                commissionable: true
                            },
                        ],
                    }
                ),
                order().prop_map(|order| EventKind::Completed { order }),
                (order(), 0..4_u8, 1..40_000_i64).prop_map(|(order, r, amount_fen)| EventKind::Refunded {
                    refund: format!("{order}-r{r}"),
                    order,
                    amount_fen,
                }),
                (name(), 0..4_u8, 1..5_000_i64).prop_map(|(member, w, amount_fen)| EventKind::Withdraw {
                    member,
                    withdrawal: format!("w{w}"),
                    amount_fen,
                }),
                (name(), name()).prop_map(|(sharer, visitor)| EventKind::Visit { sharer, visitor }),
                Just(EventKind::Tick),
            ]
        }

        fn events() -> impl Strategy<Value = Vec<Event>> {
            prop::collection::vec((0..3 * 24 * 60_i64, kind()), 1..60).prop_map(|mut steps| {
                steps.sort_by_key(|(minutes, _)| *minutes);
                steps.into_iter().map(|(minutes, kind)| Event { at: START.plus_minutes(minutes), kind }).collect()
            })
        }

        fn rules() -> impl Strategy<Value = Rules> {
            (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>(), 1_000..3_600_u32, 1..3_u32, 0..3_u32).prop_map(
                |(retail, nth, unstacked, self_purchase, cap_bp, generations, after_sale_days)| {
                    let mut rules = if retail { Rules::two_tier_retail() } else { Rules::chain21() };
                    if nth {
                        rules.slide.variant = SlideVariant::Nth;
                        rules.upgrade.required_directs = 3;
                    }
                    rules.stack_direct_and_team = !unstacked;
                    rules.self_purchase = self_purchase;
                    rules.cap.total_bp = cap_bp;
                    rules.peer.generations = generations;
                    rules.settle.after_sale_days = after_sale_days;
                    rules.dynamic.tiers =
                        vec![super::super::super::rules::Tier { min_conversion_bp: 1, extra_bp: 200 }];
                    rules
                },
            )
        }

        fn run(rules: &Rules, events: &[Event]) -> Engine {
            let mut engine = Engine::new(rules.clone()).with_journal();
            for event in events {
                // Errors (unknown orders, refunds too large) leave the state as it was.
                let _ = engine.apply(event);
            }
            engine
        }

        fn text(engine: &Engine) -> String {
            serde_json::to_string(&engine.report()).unwrap()
        }

        proptest! {
            #[test]
            fn the_ledger_balances_and_rewards_stay_under_the_cap(rules in rules(), events in events()) {
                let engine = run(&rules, &events);
                let mut from_journal = vec![Balance::default(); engine.member_count()];
                let mut store_fen = 0_i64;
                for movement in engine.journal() {
                    prop_assert!(movement.amount_fen > 0);
                    prop_assert_ne!(movement.from, movement.to);
                    let balance = &mut from_journal[movement.member as usize];
                    for (bucket, sign) in [(movement.from, -1), (movement.to, 1)] {
                        match bucket {
                            Bucket::StorePayable => store_fen += sign * movement.amount_fen,
                            Bucket::Pending => balance.pending_fen += sign * movement.amount_fen,
                            Bucket::Frozen => balance.frozen_fen += sign * movement.amount_fen,
                            Bucket::Available => balance.available_fen += sign * movement.amount_fen,
                            Bucket::PaidOut => balance.withdrawn_fen += sign * movement.amount_fen,
                            Bucket::Withdrawing => prop_assert!(false, "the replay never holds a withdrawal"),
                        }
                    }
                }
                let members_fen: i64 = from_journal
                    .iter()
                    .map(|b| b.pending_fen + b.frozen_fen + b.available_fen + b.withdrawn_fen)
                    .sum();
                prop_assert_eq!(members_fen + store_fen, 0, "the store pays exactly what members hold");
                for (member, balance) in from_journal.iter().enumerate() {
                    prop_assert_eq!(*balance, engine.balance(Member::try_from(member).unwrap()));
                    prop_assert!(balance.pending_fen >= 0 && balance.frozen_fen >= 0);
                }
                for (index, order) in engine.orders.iter().enumerate() {
                    let rewards = &engine.rewards
                        [order.first_reward as usize..(order.first_reward + u32::from(order.reward_count)) as usize];
                    let paid: i64 = rewards.iter().map(|r| r.amount_fen).sum();
                    let base_left = engine.refunds_of(u32::try_from(index).unwrap()).base_left_fen;
                    prop_assert!(paid <= rewards::share(base_left, rules.cap.total_bp));
                    prop_assert!(rewards.iter().all(|r| r.amount_fen >= 0));
                }
                for reward in engine.rewards().iter() {
                    let order = &engine.orders[reward.order as usize];
                    // With self_purchase the buyer is the direct beneficiary, and so also takes its bonus.
                    let own = matches!(reward.kind, Kind::Direct | Kind::Bonus) && rules.self_purchase;
                    prop_assert!(reward.beneficiary != order.buyer || own);
                }
            }

            #[test]
            fn placement_stays_a_forest(rules in rules(), events in events()) {
                let engine = run(&rules, &events);
                for m in 0..Member::try_from(engine.member_count()).unwrap() {
                    let mut seen = HashSet::new();
                    let mut at = Some(m);
                    while let Some(current) = at {
                        prop_assert!(seen.insert(current), "a cycle through {}", engine.name(current));
                        at = engine.inviter(current);
                    }
                    if let Some(leader) = engine.team_leader(m) {
                        prop_assert_eq!(engine.identity(leader), Identity::Partner);
                        prop_assert!(engine.is_ancestor(leader, m), "a team leader is on the inviter chain");
                    }
                    if let Some(origin) = engine.origin_leader(m) {
                        prop_assert!(origin != m && engine.is_ancestor(origin, m));
                        prop_assert_eq!(engine.identity(m), Identity::Partner);
                    }
                }
            }

            #[test]
            fn replaying_any_event_twice_changes_nothing(rules in rules(), events in events(), pick in any::<prop::sample::Index>()) {
                let twice = pick.index(events.len());
                let mut doubled = events.clone();
                doubled.insert(twice, events[twice].clone());
                prop_assert_eq!(text(&run(&rules, &events)), text(&run(&rules, &doubled)));
            }

            #[test]
            fn a_full_refund_before_availability_restores_every_balance(
                rules in rules(),
                events in events(),
                buyer in name(),
                amount_fen in 1..60_000_i64,
                designated in any::<bool>(),
            ) {
                let mut engine = run(&rules, &events);
                let at = START.plus_days(3);
                // Thaw what is due by then first: the clock moving is not the order's doing.
                engine.advance(at);
                let before: Vec<Balance> = (0..engine.member_count()).map(|m| engine.balance(Member::try_from(m).unwrap())).collect();
                let lines = vec![Line { sku: "X".into(), amount_fen, designated, commissionable: true }];
                engine.apply(&Event { at, kind: EventKind::Paid { order: "new".into(), buyer, lines } }).unwrap();
                let refund = EventKind::Refunded { order: "new".into(), refund: "new-r".into(), amount_fen };
                engine.apply(&Event { at, kind: refund }).unwrap();
                let after: Vec<Balance> = (0..before.len()).map(|m| engine.balance(Member::try_from(m).unwrap())).collect();
                prop_assert_eq!(before, after);
            }
        }
    }
}
