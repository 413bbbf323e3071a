//! Tests of the real Worker under `wrangler dev`: `api.rs` over HTTP, `browser/` in headless
//! Chromium. `cargo xtask test` starts the Worker with a fresh database and the demo data, and
//! passes its address in `TANDEM_BASE_URL`.
