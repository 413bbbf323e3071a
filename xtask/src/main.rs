//! `cargo xtask`: the project's commands. Each does all of its own set-up on a fresh machine
//! (wasm target, cached tools, npm packages, Chromium, migrations, demo data), so the README's
//! two commands are all anyone needs.
//!
//! - `cargo xtask dev`: build, migrate, seed an empty database, serve on 127.0.0.1:8787 (`PORT`).
//! - `cargo xtask test`: fmt and clippy, native tests, then the integration and browser tests
//!   against a real `wrangler dev` on a free port with a fresh state folder.
//! - `cargo xtask bench`: criterion benchmarks of the domain and an HTTP load test of the Worker;
//!   `cargo xtask bench flash` the flash-sale part alone.
//! - `cargo xtask build`: the release builds of the app and the Worker (what `wrangler deploy` uploads).
//! - `cargo xtask crash`: the crash test alone (part of `test`): a Worker killed under a
//!   purchase load and restarted on the same state leaves nothing half-written.
//! - `cargo xtask openapi`: writes the request and answer schemas of `worker/openapi.json` from
//!   the wire types (a test fails when the committed document differs).
//!
//! # Layout
//!
//! - `setup`: tools and packages, installed once into a cache outside the clone.
//! - `build`: the app and Worker builds.
//! - `server`: starting and stopping `wrangler dev`, migrations and demo data.
//! - `load`: the HTTP load generator.
//! - `openapi`: the API document's bodies, generated from the wire types.
//! - `purchase`: the purchase bench.
//! - `crash`: the crash test.
//! - `flash`: the flash-sale bench (a row's stock gate against D1 alone).
//! - `behaviour`: the event-ingest and recommendation bench.

mod behaviour;
mod build;
mod crash;
mod flash;
mod load;
mod openapi;
mod purchase;
mod server;
mod setup;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

pub type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let started = Instant::now();
    let outcome = match args.first().map(String::as_str) {
        Some("dev") => dev(),
        Some("test") => test(),
        Some("bench") if args.get(1).map(String::as_str) == Some("flash") => bench_flash(),
        Some("bench") => bench(),
        Some("build") => setup::for_build().and_then(|tools| build::all(&tools)),
        Some("setup") => setup::for_tests().map(|_| ()),
        Some("openapi") => openapi::write(),
        Some("crash") => setup::for_build().and_then(|tools| build::all(&tools).and_then(|()| crash::run(&tools))),
        _ => {
            eprintln!("usage: cargo xtask <dev|test|bench [flash]|build|setup|crash|openapi>");
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(()) => {
            eprintln!("xtask: done in {:.1} s", started.elapsed().as_secs_f64());
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (xtask lives one folder below it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Runs a command in the workspace root, failing with its name when it fails.
pub fn run(command: &mut Command) -> Result {
    let description = format!("{command:?}");
    eprintln!("xtask: $ {}", short(&description));
    let status = command.current_dir_if_unset().status().map_err(|e| format!("{description}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{} failed ({status})", short(&description))) }
}

/// Runs a command and returns its standard output.
pub fn output(command: &mut Command) -> Result<String> {
    let description = format!("{command:?}");
    let output = command.current_dir_if_unset().output().map_err(|e| format!("{description}: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!("{} failed: {}", short(&description), String::from_utf8_lossy(&output.stderr).trim()))
    }
}

fn short(description: &str) -> String {
    description.chars().take(200).collect()
}

trait InRoot {
    fn current_dir_if_unset(&mut self) -> &mut Self;
}

impl InRoot for Command {
    fn current_dir_if_unset(&mut self) -> &mut Self {
        if self.get_current_dir().is_none() {
            self.current_dir(root());
        }
        self
    }
}

fn dev() -> Result {
    let tools = setup::for_build()?;
    build::all(&tools)?;
    let port = std::env::var("PORT").ok().and_then(|p| p.parse::<u16>().ok()).unwrap_or(8787);
    let state = root().join(".wrangler/state");
    server::prepare_database(&tools, &state)?;
    server::serve_foreground(&tools, &state, port)
}

fn test() -> Result {
    let tools = setup::for_tests()?;
    run(Command::new("cargo").args(["fmt", "--all", "--", "--check"]))?;
    run(Command::new("cargo").args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    // The Worker's and the app's wasm-only code is invisible to a native clippy.
    run(Command::new("cargo").args([
        "clippy",
        "-p",
        "tandem-worker",
        "-p",
        "tandem-app",
        "--target",
        "wasm32-unknown-unknown",
        "--",
        "-D",
        "warnings",
    ]))?;
    run(Command::new("cargo").args(["test", "--workspace", "--exclude", "tandem-tests"]))?;
    build::all(&tools)?;
    let server = server::Server::start_fresh(&tools, "test", server::Profile::Development)?;
    let base_url = server.base_url();
    let production = server::Server::start_fresh(&tools, "production", server::Profile::Production)?;
    // One thread: the development clock is shared by the whole Worker, and the test that moves
    // it must not pull the ground from under the others.
    run(Command::new("cargo")
        .args(["test", "-p", "tandem-tests", "--", "--test-threads=1"])
        .env("TANDEM_BASE_URL", &base_url)
        .env("TANDEM_PRODUCTION_URL", production.base_url()))?;
    drop(production);
    crash::run(&tools)?;
    let screenshots = root().join("target/screenshots");
    std::fs::create_dir_all(&screenshots).map_err(|e| e.to_string())?;
    for script in [
        "tests/browser/storefront.mjs",
        "tests/browser/commerce.mjs",
        "tests/browser/chain.mjs",
        "tests/browser/recommend.mjs",
        "tests/browser/card.mjs",
    ] {
        run(Command::new(&tools.node)
            .arg(script)
            .env("TANDEM_BASE_URL", &base_url)
            .env("SCREENSHOT_DIR", &screenshots)
            .env("CHROMIUM", setup::CHROMIUM))?;
    }
    drop(server);
    Ok(())
}

/// Runs the `tandem` tool, built for release, with `args`.
fn tandem(args: &[&str]) -> Result {
    run(Command::new("cargo").args(["run", "--release", "-p", "tandem-cli", "--"]).args(args))
}

fn bench() -> Result {
    let tools = setup::for_build()?;
    run(Command::new("cargo").args(["bench", "-p", "tandem-domain", "--bench", "shelf", "--", "--quick"]))?;
    // The distribution engine natively: a million members and a million orders under the
    // chain21 preset (orders/s, peak memory, bytes per member), three runs, as a shared
    // machine's speed varies from run to run.
    let rules = "domain/src/chain21/examples/chain21.toml";
    for _ in 0..3 {
        tandem(&["chain21", "simulate", "--rules", rules, "--members", "1000000", "--orders", "1000000"])?;
    }
    // The recommender's hold-out evaluation: a generated log with planted structure, and the
    // public grocery baskets when they are beside the project.
    let planted = root().join("target/recommend-planted.csv").to_string_lossy().into_owned();
    tandem(&["recommend", "generate", "--out", &planted])?;
    let mut logs = vec![planted];
    let groceries = root().join("../shared/data/groceries.csv");
    if groceries.exists() {
        logs.push(groceries.to_string_lossy().into_owned());
    }
    for log in &logs {
        tandem(&["recommend", "eval", "--transactions", log])?;
    }
    build::all(&tools)?;
    let server = server::Server::start_fresh(&tools, "bench", server::Profile::Development)?;
    load::report(&server.base_url())?;
    let address = server.base_url().trim_start_matches("http://").to_owned();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    runtime.block_on(behaviour::report(&address))
}

/// The flash-sale bench alone, against a fresh Worker, or against the one `TANDEM_BASE_URL`
/// names (a running `cargo xtask dev`).
fn bench_flash() -> Result {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    if let Ok(base_url) = std::env::var("TANDEM_BASE_URL") {
        return runtime.block_on(flash::report(base_url.trim_start_matches("http://")));
    }
    let tools = setup::for_build()?;
    build::all(&tools)?;
    let server = server::Server::start_fresh(&tools, "bench", server::Profile::Development)?;
    let address = server.base_url().trim_start_matches("http://").to_owned();
    runtime.block_on(flash::report(&address))
}
