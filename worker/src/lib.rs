//! The Tandem Worker: the HTTP API over D1 and KV, and the server side of the app's pages.
//!
//! Every route parses its input into `tandem_domain` types, asks D1 for rows, hands them to the
//! domain for anything that decides, and answers JSON. Errors are [`error::ApiError`]: a status
//! and a tagged body the app matches on. Nothing on the request path panics; a panic would
//! reset the Wasm instance for every request in flight.
//!
//! # Layout
//!
//! - [`routes`]: the route table (also the source of truth the OpenAPI test checks) and one
//!   module per resource.
//! - [`error`]: `ApiError` and its mapping to HTTP.
//! - `db`: the D1 binding, a stored value read back, and the round-trip counter.
//! - [`body`]: size-limited, strict JSON request bodies.
//! - `session`: the caller behind the session cookie, and their roles.
//! - `chain`: the distribution network in the Worker: binding at an invite (read, decide, retry
//!   a lost race), fresh invite codes, team listings with their masked names.
//! - `memory`: the card's memory in the Worker: whose behaviour a request is, folding events
//!   into a profile (retrying a lost race), a visitor's rows moved to the member at sign-in.
//! - `hot_stock`: the stock gate of a flash-sale row as a Durable Object (`HotStock`), and the
//!   Worker's side of it: admitting a checkout's gated holds, giving them back.
//! - `model`: the trained recommender, built by the cron, kept in KV, cached per isolate.
//! - `pictures`: pictures in KV (a product's, a card owner's photo): read from a request as
//!   `domain::media` accepts them, kept, served, deleted.
//! - [`store`]: the store layer, the one place with SQL.
//! - `config`: development mode, secrets, limits, the (settable in development) clock, randomness.

pub mod body;
pub mod error;
pub mod routes;
pub mod store;

#[cfg(target_arch = "wasm32")]
mod chain;
#[cfg(target_arch = "wasm32")]
mod config;
#[cfg(target_arch = "wasm32")]
mod db;
#[cfg(target_arch = "wasm32")]
mod hot_stock;
#[cfg(target_arch = "wasm32")]
mod llm;
#[cfg(target_arch = "wasm32")]
mod memory;
#[cfg(target_arch = "wasm32")]
mod model;
#[cfg(target_arch = "wasm32")]
mod pictures;
#[cfg(target_arch = "wasm32")]
mod session;

#[cfg(target_arch = "wasm32")]
mod entry {
    use worker::{Context, Env, Request, Response, Result, ScheduleContext, ScheduledEvent, event};

    use crate::routes;

    #[event(start)]
    fn start() {
        console_error_panic_hook::set_once();
    }

    #[event(fetch)]
    async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
        routes::handle(req, env).await
    }

    /// The cron trigger: releases expired stock holds, completes handed-over orders, thaws
    /// rewards, and retrains the recommender when its model is an hour old.
    #[event(scheduled)]
    async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
        let now = match crate::config::shared_now(&env).await {
            Ok(now) => now,
            Err(error) => return worker::console_error!("jobs could not read the clock: {error:?}"),
        };
        match routes::lifecycle::run_jobs(&env, None, now).await {
            Ok(run) => worker::console_log!(
                "jobs: released {} checkouts, completed {} orders, thawed {} rewards",
                run.released,
                run.completed,
                run.thawed
            ),
            Err(error) => worker::console_error!("jobs failed: {error:?}"),
        }
        match crate::model::rebuild_if_stale(&env, now).await {
            Ok(Some(rebuilt)) => worker::console_log!(
                "recommender: trained on {} touches over {} items ({} people held out)",
                rebuilt.touches,
                rebuilt.items,
                rebuilt.learned_from
            ),
            Ok(None) => {}
            Err(error) => worker::console_error!("recommender rebuild failed: {error:?}"),
        }
    }
}
