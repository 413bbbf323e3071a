//! The store layer: the only place with SQL. A module per table or aggregate turns what the
//! domain decided into statements (the state guards written once, here) and reads rows into
//! named structs. It runs on any [`sql::Database`]: D1 in the Worker, SQLite natively, where
//! its tests apply the real `migrations/` and run every guarded write in milliseconds.
//!
//! # Layout
//!
//! - [`sql`]: statements, bound values, batches, constraint refusals and the guards.
//! - `d1` (wasm32): D1 as a [`sql::Database`].
//! - `sqlite` (native): SQLite as a [`sql::Database`], with the migrations applied.
//! - [`auth`]: rate counters, sign-in codes (one per phone and requester), members, sessions.
//! - [`carts`]: carts by member or anonymous id, their view with today's prices and stock, the
//!   merge at sign-in.
//! - [`chain`]: the distribution network: what binding a member reads and writes.
//! - [`ledger`]: ledger transactions (append-only, one per cause), stock moves (never below zero),
//!   the money and stock rows of an order.
//! - [`orders`]: an order moved as the domain's state machine says, guarded by the state it was
//!   read in, and its timeline.
//! - [`payments`]: payments and what paying a checkout reads and writes of them.
//! - [`refunds`]: what paying a refund reads, and the writes of a refund asked for, paid,
//!   approved or rejected.
//! - [`rewards`]: an order's posted rewards read for `settle::OrderRewards`, and the writes of
//!   what completion, the clock and a refund did to them.
//! - [`rules`]: the distribution rules' versions: drafts, publishing, the published rules.
//! - [`settings`]: the platform's fee and cap, and the published rules' cap over it.
//! - [`sessions`]: the member of a live session, and where they work.

pub mod auth;
pub mod carts;
pub mod chain;
pub mod ledger;
pub mod orders;
pub mod payments;
pub mod refunds;
pub mod rewards;
pub mod rules;
pub mod sessions;
pub mod settings;
pub mod sql;

#[cfg(target_arch = "wasm32")]
pub mod d1;
#[cfg(test)]
mod fixtures;
#[cfg(not(target_arch = "wasm32"))]
pub mod sqlite;
