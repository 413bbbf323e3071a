//! The Worker's API, over HTTP, against `wrangler dev` with the demo data. Run by
//! `cargo xtask test`, which starts the Worker on a fresh database and sets `TANDEM_BASE_URL`.

mod auth;
mod behaviour;
mod cards;
mod catalog;
mod chain;
mod commerce;
mod contract;
mod http;
mod manage;
mod production;
