//! Tandem's pure core: every decision the product makes, with no I/O, no clock and no
//! randomness of its own. The Worker and the app translate between the world and these types;
//! everything here builds natively (and is tested natively) and for `wasm32-unknown-unknown`.
//!
//! # Layout
//!
//! - [`api`]: the wire error every route can answer (`Problem`, `ErrorBody`), shared with the app.
//! - [`money`]: integer fen, basis points and the one rounding rule for shares.
//! - [`catalog`]: ids, categories, products, SKUs and their variants, bilingual text.
//! - [`pricing`]: a supplier's price band and the shelf-price guard a store must pass.
//! - [`stock`]: what a stock count means to a shopper for each fulfilment option.
//! - [`shelf`]: the shelf query (category, search, cursor, page size) and its pages.
//! - [`cursor`]: opaque, validated pagination cursors.
//! - [`time`]: time as a value ("now" is always passed in).
//! - [`order`]: the order state machine, per fulfilment part.
//! - [`chain21`]: the distribution rules as data (presets, overrides, validation, compliance).
//! - [`checkout`]: a cart split into orders per fulfilment part, with server-side totals.
//! - [`fulfilment`]: pickup codes and their QR codes, shipments.
//! - [`import`]: a supplier's CSV of products, SKUs and stock, checked row by row.
//! - [`media`]: which uploaded pictures are accepted.
//! - [`ledger`]: the double-entry postings of payments and refunds.
//! - [`refund`]: when a refund goes through at once, and how much one may return.
//! - [`access`]: roles (store owner, clerk, supplier staff, operator) and what they reach.
//! - [`views`]: what the API answers about carts, orders, payments and settlements.
//! - [`auth`]: phone numbers, one-time codes, rate limits, session tokens.
//! - [`payment`]: signed payment notifications.
//! - [`crypto`]: HMAC-SHA256 and SHA-256 helpers.
//! - [`conversation`]: a clerk's notes understood: products, intent, objections, mood, follow-up.
//! - [`behaviour`]: what people do online and in the store, as checked event batches.
//! - [`profile`]: weighted tags that fade with time, the visit label and the RFM segment.
//! - [`recommend`]: the blended recommender, its learned weights and its hold-out evaluation.
//! - [`random`]: the seeded generator of the synthetic worlds.

pub mod access;
pub mod api;
pub mod auth;
pub mod behaviour;
pub mod card;
pub mod catalog;
pub mod chain21;
pub mod checkout;
pub mod conversation;
pub mod crypto;
pub mod cursor;
pub mod fulfilment;
pub mod import;
pub mod ledger;
pub mod llm;
pub mod media;
pub mod money;
pub mod order;
pub mod payment;
pub mod pricing;
pub mod profile;
pub mod promote;
pub mod random;
pub mod recommend;
pub mod refund;
pub mod shelf;
pub mod stock;
pub mod time;
pub mod views;
