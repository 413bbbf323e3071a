//! The store layer: the only place with SQL. A module per table or aggregate turns what the
//! domain decided into statements (the state guards written once, here) and reads rows into
//! named structs. It runs on any [`sql::Database`]: D1 in the Worker, SQLite natively, where
//! its tests apply the real `migrations/` and run every guarded write in milliseconds.
//!
//! # Layout
//!
//! - [`tenants`]: stores and suppliers (created whole, suspended), a store's clerks.
//! - [`sql`]: statements, bound values, batches, constraint refusals and the guards.
//! - `d1` (wasm32): D1 as a [`sql::Database`].
//! - `sqlite` (native): SQLite as a [`sql::Database`], with the migrations applied.
//! - [`auth`]: rate counters, sign-in codes (one per phone and requester), members, sessions,
//!   and a whole sign-in in one guarded batch.
//! - [`cards`]: whose card a code is, what a card shows, visits and attributions, the owner's
//!   edits and photo, the radar's visits, a store's card, a product page's preview.
//! - [`carts`]: carts by member or anonymous id, their view with today's prices and stock, the
//!   merge at sign-in.
//! - [`catalog`]: products, and what the distribution network counts of them.
//! - [`checkouts`]: what placing a checkout reads (session, key, store, the shelf's offers with
//!   their stock, pricing) and the one batch that writes the placement; kept key answers.
//! - [`chain`]: the distribution network: what binding a member reads and writes.
//! - [`flash_sales`]: what a flash-sale row's stock gate reads of D1, in one snapshot.
//! - [`ledger`]: ledger transactions (append-only, one per cause), stock moves (never below zero),
//!   the money and stock rows of an order.
//! - [`media`]: a product's gallery, read and changed only as read (`media::Gallery` decides).
//! - [`order_views`]: orders as the shopper and the consoles see them, a page at a time; their
//!   sealed addresses; one order's money rows by pickup code or buyer.
//! - [`orders`]: an order moved as the domain's state machine says, guarded by the state it was
//!   read in, and its timeline.
//! - [`payments`]: payments and what paying a checkout reads and writes of them.
//! - [`profiles`]: consent, behaviour events and profiles (over the version read), purchases as a
//!   profile counts them, export and erasure, store devices, a visitor merged into a member.
//! - [`promotions`]: a scope's promotion rules for `promote::in_force`, saved over the version read.
//! - [`recommender`]: the training window (items, touches), builds recorded, what a placement
//!   reads (the stored answer, the member's own touches, the shelf, the stores' names), the
//!   cards it shows, the shelf a clerk's notes are analysed against.
//! - [`refunds`]: what paying a refund reads, and the writes of a refund asked for, paid,
//!   approved or rejected.
//! - [`rewards`]: an order's posted rewards read for `settle::OrderRewards`, and the writes of
//!   what completion, the clock and a refund did to them.
//! - [`rules`]: the distribution rules' versions: drafts, publishing, the published rules.
//! - [`settings`]: the platform's fee and cap, and the published rules' cap over it.
//! - [`sharers`]: the sharer centre (place, earnings, balances), team listings with their
//!   metrics' counts, the operator's tree search, withdrawals asked for and decided.
//! - [`sessions`]: the member of a live session, and where they work.

pub mod auth;
pub mod cards;
pub mod carts;
pub mod catalog;
pub mod chain;
pub mod checkouts;
pub mod flash_sales;
pub mod ledger;
pub mod media;
pub mod order_views;
pub mod orders;
pub mod payments;
pub mod profiles;
pub mod promotions;
pub mod recommender;
pub mod refunds;
pub mod rewards;
pub mod rules;
pub mod sessions;
pub mod settings;
pub mod sharers;
pub mod sql;
pub mod tenants;

#[cfg(target_arch = "wasm32")]
pub mod d1;
#[cfg(test)]
mod fixtures;
#[cfg(not(target_arch = "wasm32"))]
pub mod sqlite;
